// Host-side costs of one b256 run's input path on the GPU machine (issue 9, helper io256): the host copy of the user's
// bytes into page-locked staging (1 thread, and split over 4/8 OpenMP threads that spin between runs), the page-locked
// and pageable H2D, and the graph launch + wait of a graph holding only that H2D. Median µs of 2000 runs each.
// Build: nvcc -O2 -Xcompiler -fopenmp io-probe.cu -o io-probe
#include <cuda_runtime.h>
#include <omp.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>
#include <functional>
static double now() { return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
static double median(std::function<void()> f, int n = 2000) {
  for (int i = 0; i < 50; i++) f();
  std::vector<double> t(n);
  for (int i = 0; i < n; i++) { double t0 = now(); f(); t[i] = now() - t0; }
  std::sort(t.begin(), t.end());
  return t[n / 2];
}
int main() {
  size_t sizes[] = {200704, 786432};
  cudaStream_t s; cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  for (size_t n : sizes) {
    std::vector<unsigned char> user(n, 7), user2(n * 64, 3);
    unsigned char *pinned, *dev;
    cudaHostAlloc(&pinned, n, cudaHostAllocDefault);
    cudaMalloc(&dev, n);
    printf("== %zu bytes\n", n);
    printf("host memcpy user->pinned, 1 thread, warm source: %.1f us\n", median([&] { memcpy(pinned, user.data(), n); }));
    int k = 0;
    printf("host memcpy user->pinned, 1 thread, source rotating over 64 buffers: %.1f us\n",
           median([&] { memcpy(pinned, user2.data() + (k++ % 64) * n, n); }));
    for (int th : {2, 4, 8, 16}) {
      omp_set_num_threads(th);
      printf("host memcpy, %d OpenMP threads (active wait): %.1f us\n", th, median([&] {
        #pragma omp parallel
        {
          int i = omp_get_thread_num(), m = omp_get_num_threads();
          size_t a = n * i / m, b = n * (i + 1) / m;
          memcpy(pinned + a, user.data() + a, b - a);
        }
      }));
    }
    printf("H2D page-locked + sync: %.1f us\n", median([&] { cudaMemcpyAsync(dev, pinned, n, cudaMemcpyHostToDevice, s); cudaStreamSynchronize(s); }));
    printf("H2D pageable + sync: %.1f us\n", median([&] { cudaMemcpyAsync(dev, user.data(), n, cudaMemcpyHostToDevice, s); cudaStreamSynchronize(s); }));
    for (int chunks : {2, 4, 8}) {
      printf("memcpy + H2D in %d chunks overlapped (1 thread) + sync: %.1f us\n", chunks, median([&] {
        for (int c = 0; c < chunks; c++) {
          size_t a = n * c / chunks, b = n * (c + 1) / chunks;
          memcpy(pinned + a, user.data() + a, b - a);
          cudaMemcpyAsync(dev + a, pinned + a, b - a, cudaMemcpyHostToDevice, s);
        }
        cudaStreamSynchronize(s);
      }));
    }
    cudaGraph_t g; cudaGraphExec_t e;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    cudaMemcpyAsync(dev, pinned, n, cudaMemcpyHostToDevice, s);
    cudaStreamEndCapture(s, &g);
    cudaGraphInstantiate(&e, g, 0);
    printf("graph(H2D page-locked) launch + sync: %.1f us\n", median([&] { cudaGraphLaunch(e, s); cudaStreamSynchronize(s); }));
    printf("memcpy 1 thread + graph(H2D) + sync: %.1f us\n", median([&] { memcpy(pinned, user.data(), n); cudaGraphLaunch(e, s); cudaStreamSynchronize(s); }));
    cudaFreeHost(pinned); cudaFree(dev);
  }
  printf("cuda error state: %s\n", cudaGetErrorString(cudaGetLastError()));
  return 0;
}
