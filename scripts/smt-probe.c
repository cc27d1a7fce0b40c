// Issue 10: do the Xeon host's 16 vCPUs have 16 cores' worth of vector throughput, or are they SMT siblings?
// Runs a port-bound AVX-512 loop (12 independent VPTERNLOGQ chains: throughput-bound on any core) and a latency-bound
// one (1 chain) on threads pinned to given CPU sets, all at once, and prints each set's per-thread and total rate.
// Two threads on SMT siblings share one core's vector ports: port-bound per-thread rate halves, latency-bound does not.
// Build: gcc -O2 -mavx512f -pthread smt-probe.c -o smt-probe   Usage: ./smt-probe "0" "0,1" "0,8" "0-7" "0-15" ...
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
typedef struct { int cpu; int chains; double rate; pthread_barrier_t *bar; } job;

static void *run(void *p)
{
    job *j = p;
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(j->cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
    __m512i k = _mm512_set1_epi64(0x5555aaaa3333ccccULL), m = _mm512_set1_epi64(0x0f0f0f0ff0f0f0f0ULL);
    __m512i v0 = _mm512_set1_epi64(1), v1 = _mm512_set1_epi64(2), v2 = _mm512_set1_epi64(3), v3 = _mm512_set1_epi64(4),
            v4 = _mm512_set1_epi64(5), v5 = _mm512_set1_epi64(6), v6 = _mm512_set1_epi64(7), v7 = _mm512_set1_epi64(8),
            v8 = _mm512_set1_epi64(9), v9 = _mm512_set1_epi64(10), v10 = _mm512_set1_epi64(11), v11 = _mm512_set1_epi64(12);
    pthread_barrier_wait(j->bar);
    const long iters = 20000000;
    double t0 = now();
#define T(x) x = _mm512_ternarylogic_epi64(x, k, m, 0x96);
    if (j->chains == 12)
        for (long n = 0; n < iters; n++) {
            T(v0) T(v1) T(v2) T(v3) T(v4) T(v5) T(v6) T(v7) T(v8) T(v9) T(v10) T(v11)
            __asm__ volatile("" : "+v"(v0), "+v"(v1), "+v"(v2), "+v"(v3), "+v"(v4), "+v"(v5));
            __asm__ volatile("" : "+v"(v6), "+v"(v7), "+v"(v8), "+v"(v9), "+v"(v10), "+v"(v11));
        }
    else
        for (long n = 0; n < iters * 3; n++) { T(v0) T(v0) T(v0) T(v0) __asm__ volatile("" : "+v"(v0)); }
    double t = now() - t0;
    long long sink = _mm512_reduce_add_epi64(_mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(v0, v1), _mm512_xor_si512(v2, v3)),
        _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(v4, v5), _mm512_xor_si512(v6, v7)), _mm512_xor_si512(_mm512_xor_si512(v8, v9), _mm512_xor_si512(v10, v11)))));
    if (sink == 42) printf("!");
    j->rate = iters * 12.0 / t / 1e9; // G instructions/s
    return NULL;
}

static int parse(const char *spec, int *cpus)
{
    int n = 0; char buf[256]; strncpy(buf, spec, 255); buf[255] = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int a, b; if (sscanf(tok, "%d-%d", &a, &b) == 2) for (int c = a; c <= b; c++) cpus[n++] = c; else cpus[n++] = atoi(tok);
    }
    return n;
}

int main(int argc, char **argv)
{
    for (int chains = 12; chains >= 1; chains -= 11)
        for (int a = 1; a < argc; a++) {
            int cpus[256], n = parse(argv[a], cpus);
            pthread_t th[256]; job jobs[256]; pthread_barrier_t bar; pthread_barrier_init(&bar, NULL, n);
            for (int i = 0; i < n; i++) { jobs[i] = (job){cpus[i], chains, 0, &bar}; pthread_create(&th[i], NULL, run, &jobs[i]); }
            double sum = 0, lo = 1e9, hi = 0;
            for (int i = 0; i < n; i++) { pthread_join(th[i], NULL); sum += jobs[i].rate; if (jobs[i].rate < lo) lo = jobs[i].rate; if (jobs[i].rate > hi) hi = jobs[i].rate; }
            printf("%s cpus %-12s threads %2d: total %7.2f G ternlog/s, per thread %.2f..%.2f\n",
                   chains == 12 ? "port-bound   " : "latency-bound", argv[a], n, sum, lo, hi);
            fflush(stdout);
        }
    return 0;
}
