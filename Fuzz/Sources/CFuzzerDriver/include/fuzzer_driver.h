// libFuzzer's entry for programs that have their own main (compiler-rt, FuzzerInterface.h).
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
// glibc's backtrace and backtrace_symbols_fd: where a forked reader is stuck (ForkedRead).
#include <execinfo.h>
