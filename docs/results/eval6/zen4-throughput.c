#include <stdio.h>
#include <time.h>
#include <stdint.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static uint32_t mem[64] __attribute__((aligned(64)));
#define N 100000000L
int main(){
  double t0,t1; long i; unsigned long x=0;
  t0=now(); for(i=0;i<N;i++) __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0":"+r"(x)); t1=now();
  double ghz=8.0*N/(t1-t0)/1e9; printf("clock %.2f GHz\n",ghz);
#define T(name, body, k) t0=now(); for(i=0;i<N;i++) __asm__ volatile(body ::"r"(mem):"xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11","xmm16","xmm17"); t1=now(); printf("%-28s %.2f per cycle\n", name, (double)k*N/((t1-t0)*ghz*1e9));
  T("tern zmm x8 indep", "vpternlogq $0x96,%%zmm8,%%zmm9,%%zmm0\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm1\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm2\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm3\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm4\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm5\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm6\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm7", 8)
  T("vpxorq bcast x8", "vpxorq (%0)%{1to8%},%%zmm8,%%zmm0\n\tvpxorq 8(%0)%{1to8%},%%zmm8,%%zmm1\n\tvpxorq 16(%0)%{1to8%},%%zmm8,%%zmm2\n\tvpxorq 24(%0)%{1to8%},%%zmm8,%%zmm3\n\tvpxorq 32(%0)%{1to8%},%%zmm8,%%zmm4\n\tvpxorq 40(%0)%{1to8%},%%zmm8,%%zmm5\n\tvpxorq 48(%0)%{1to8%},%%zmm8,%%zmm6\n\tvpxorq 56(%0)%{1to8%},%%zmm8,%%zmm7", 8)
  T("vpbroadcastd m32 x8", "vpbroadcastd (%0),%%zmm0\n\tvpbroadcastd 4(%0),%%zmm1\n\tvpbroadcastd 8(%0),%%zmm2\n\tvpbroadcastd 12(%0),%%zmm3\n\tvpbroadcastd 16(%0),%%zmm4\n\tvpbroadcastd 20(%0),%%zmm5\n\tvpbroadcastd 24(%0),%%zmm6\n\tvpbroadcastd 28(%0),%%zmm7", 8)
  T("zmm load x8", "vmovdqu64 (%0),%%zmm0\n\tvmovdqu64 64(%0),%%zmm1\n\tvmovdqu64 128(%0),%%zmm2\n\tvmovdqu64 (%0),%%zmm3\n\tvmovdqu64 64(%0),%%zmm4\n\tvmovdqu64 128(%0),%%zmm5\n\tvmovdqu64 (%0),%%zmm6\n\tvmovdqu64 64(%0),%%zmm7", 8)
  T("tern4+bcast4", "vpbroadcastd (%0),%%zmm0\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm1\n\tvpbroadcastd 4(%0),%%zmm2\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm3\n\tvpbroadcastd 8(%0),%%zmm4\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm5\n\tvpbroadcastd 12(%0),%%zmm6\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm7", 4)
  T("tern4+mov4", "vmovdqa64 %%zmm10,%%zmm0\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm1\n\tvmovdqa64 %%zmm10,%%zmm2\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm3\n\tvmovdqa64 %%zmm11,%%zmm4\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm5\n\tvmovdqa64 %%zmm11,%%zmm6\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm7", 4)
  T("tern4+xorbc4", "vpxorq (%0)%{1to8%},%%zmm8,%%zmm0\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm1\n\tvpxorq 8(%0)%{1to8%},%%zmm8,%%zmm2\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm3\n\tvpxorq 16(%0)%{1to8%},%%zmm8,%%zmm4\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm5\n\tvpxorq 24(%0)%{1to8%},%%zmm8,%%zmm6\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm7", 4)
  T("tern4+load4", "vmovdqu64 (%0),%%zmm0\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm1\n\tvmovdqu64 64(%0),%%zmm2\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm3\n\tvmovdqu64 128(%0),%%zmm4\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm5\n\tvmovdqu64 192(%0),%%zmm6\n\tvpternlogq $0x96,%%zmm8,%%zmm9,%%zmm7", 4)
  T("vpermb x8 (vpermt2b)", "vpermt2b %%zmm8,%%zmm9,%%zmm0\n\tvpermt2b %%zmm8,%%zmm9,%%zmm1\n\tvpermt2b %%zmm8,%%zmm9,%%zmm2\n\tvpermt2b %%zmm8,%%zmm9,%%zmm3\n\tvpermt2b %%zmm8,%%zmm9,%%zmm4\n\tvpermt2b %%zmm8,%%zmm9,%%zmm5\n\tvpermt2b %%zmm8,%%zmm9,%%zmm6\n\tvpermt2b %%zmm8,%%zmm9,%%zmm7", 8)
  T("vpopcntq x8", "vpopcntq %%zmm8,%%zmm0\n\tvpopcntq %%zmm8,%%zmm1\n\tvpopcntq %%zmm8,%%zmm2\n\tvpopcntq %%zmm8,%%zmm3\n\tvpopcntq %%zmm8,%%zmm4\n\tvpopcntq %%zmm8,%%zmm5\n\tvpopcntq %%zmm8,%%zmm6\n\tvpopcntq %%zmm8,%%zmm7", 8)
  return 0;}
