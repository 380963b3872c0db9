/* Declarations only: LLVMFuzzerRunDriver is defined by the libFuzzer runtime that
   -sanitize=fuzzer links in. A C target needs one source file. */
#include "cfuzz_driver.h"
