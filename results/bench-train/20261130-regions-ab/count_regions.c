// Counts the OpenMP parallel regions a program starts with more than one thread, per outlined
// function, by wrapping libgomp's GOMP_parallel (LD_PRELOAD). Prints "CNT <count> <offset>" per
// function at exit; count_regions.sh turns the offsets into names. Built and run by count_regions.sh.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef void (*parallel_fn)(void (*)(void*), void*, unsigned, unsigned);
static void* fns[512];
static long counts[512];
static int nfns = 0;
static long total = 0;

void GOMP_parallel(void (*fn)(void*), void* data, unsigned threads, unsigned flags) {
  static parallel_fn real = 0;
  if (!real) real = (parallel_fn)dlsym(RTLD_NEXT, "GOMP_parallel");
  if (threads != 1) {  // 1: the region's if() was false, no thread is woken
    int i = 0;
    while (i < nfns && fns[i] != (void*)fn) ++i;
    if (i == nfns && nfns < 512) fns[nfns++] = (void*)fn;
    if (i < 512) ++counts[i];
    ++total;
  }
  real(fn, data, threads, flags);
}

__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "TOTAL %ld\n", total);
  for (int i = 0; i < nfns; ++i) {
    Dl_info info;
    dladdr(fns[i], &info);
    fprintf(stderr, "CNT %ld %lx\n", counts[i], (unsigned long)((char*)fns[i] - (char*)info.dli_fbase));
  }
}
