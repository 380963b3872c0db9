#ifndef CFUZZ_DRIVER_H
#define CFUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry for programs that have their own main (compiler-rt, LLVM 11 and later).
   SwiftPM gives every executable a main of its own, so the fuzzers start libFuzzer through this. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
