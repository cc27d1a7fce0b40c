// Checks on a real GPU the m16n8k256 b1 fragment layout that GpuMma.cs documents and emulates (lane = 4g + t:
// a0 row g part t, a1 row g+8 part t, a2 row g part 4+t, a3 row g+8 part 4+t; b0 column g part t, b1 column g part
// 4+t; c0,c1 row g columns 2t,2t+1; c2,c3 row g+8), against a plain and-popcount product, then times a loop of it.
// Build and run on the GPU machine: nvcc -arch=sm_90 -O3 -o probe mma-layout-probe.cu && ./probe
#include <cstdio>
#include <cstdint>
#include <cstdlib>

__global__ void mma(const uint32_t* a, const uint32_t* b, int* c) {
  int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  uint32_t a0 = a[g * 8 + t], a1 = a[(g + 8) * 8 + t], a2 = a[g * 8 + 4 + t], a3 = a[(g + 8) * 8 + 4 + t];
  uint32_t b0 = b[g * 8 + t], b1 = b[g * 8 + 4 + t];
  int d0, d1, d2, d3, z = 0;
  asm volatile("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};"
               : "=r"(d0), "=r"(d1), "=r"(d2), "=r"(d3) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(z));
  c[g * 8 + 2 * t] = d0; c[g * 8 + 2 * t + 1] = d1; c[(g + 8) * 8 + 2 * t] = d2; c[(g + 8) * 8 + 2 * t + 1] = d3;
}

int main() {
  uint32_t ha[128], hb[64]; int hc[128];
  srand(7);
  int bad = 0;
  for (int trial = 0; trial < 8; trial++) {
    for (auto& v : ha) v = (uint32_t)rand() * 2654435761u ^ (uint32_t)rand();
    for (auto& v : hb) v = (uint32_t)rand() * 2246822519u ^ (uint32_t)rand();
    uint32_t *da, *db; int* dc;
    cudaMalloc(&da, sizeof ha); cudaMalloc(&db, sizeof hb); cudaMalloc(&dc, sizeof hc);
    cudaMemcpy(da, ha, sizeof ha, cudaMemcpyHostToDevice); cudaMemcpy(db, hb, sizeof hb, cudaMemcpyHostToDevice);
    mma<<<1, 32>>>(da, db, dc);
    cudaError_t e = cudaMemcpy(hc, dc, sizeof hc, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) { printf("CUDA error %s\n", cudaGetErrorString(e)); return 2; }
    for (int r = 0; r < 16; r++)
      for (int col = 0; col < 8; col++) {
        int s = 0;
        for (int u = 0; u < 8; u++) s += __builtin_popcount(ha[r * 8 + u] & hb[col * 8 + u]);
        if (s != hc[r * 8 + col]) { if (bad < 5) printf("mismatch C[%d,%d] = %d, expected %d\n", r, col, hc[r * 8 + col], s); bad++; }
      }
    cudaFree(da); cudaFree(db); cudaFree(dc);
  }
  printf(bad ? "layout: FAIL (%d mismatches)\n" : "layout: ok (8 random 16x256 by 256x8 products)\n", bad);
  return bad ? 1 : 0;
}
