// Everything is in include/cprefetch.h (static inline); SwiftPM wants a source file per C target.
#include "cprefetch.h"
