// 1×1 convolutions (any stride, no padding) for float32 NHWC tensors: forward (with optional
// bias and ReLU), backward data and backward weights (with the bias's gradient). A ResNet's
// projection shortcuts are these. They are small matrix products per pixel, but oneDNN wants its
// blocked layouts for them on AVX2 and reorders every operand in and out: 4 reorders around each
// call cost more than the product (ResNet20: 8 ms a step for its two shortcuts' three passes).
// Here they run in tfjs' layout with AVX2+FMA; used only where the CPU has both (fits).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

namespace pointwise {

#define PW_AVX2 __attribute__((target("avx2,fma")))

// x [n, h, w, c] → y [n, ho, wo, k], y[n, i, j] from x[n, i·stride, j·stride].
struct Shape {
  int64_t n, h, w, c, ho, wo, k, stride;
};

inline bool fits(int64_t kh, int64_t kw, int64_t strideH, int64_t strideW, int64_t padSum, int64_t dilated, int64_t c, int64_t k) {
  static const bool cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return cpu && kh == 1 && kw == 1 && strideH == strideW && padSum == 0 && !dilated && c % 8 == 0 && k % 8 == 0;
}

// out[r][0..m) = bias + Σ_i in[r][i]·mat[i][0..m) for 4 rows r (row r at in + r·inStride) and
// m in 8s; with relu, as tfjs: NaN passes and −0 becomes +0 (a mask of "not ≤ 0", unordered).
// The accumulators are named variables: as an array GCC kept them on the stack (winograd.h).
PW_AVX2 inline __m256 activate(__m256 v, bool relu) {
  return relu ? _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ)) : v;
}

PW_AVX2 inline void fourRowsTimesMatrix(const float* in, int64_t inStride, const float* mat, int64_t n, int64_t m, const float* bias,
                                        bool relu, float* out, int64_t outStride) {
  const float *in0 = in, *in1 = in + inStride, *in2 = in + 2 * inStride, *in3 = in + 3 * inStride;
  for (int64_t j = 0; j < m; j += 8) {
    const __m256 b = bias ? _mm256_loadu_ps(bias + j) : _mm256_setzero_ps();
    __m256 a0 = b, a1 = b, a2 = b, a3 = b;
    const float* wp = mat + j;
    for (int64_t i = 0; i < n; i++, wp += m) {
      const __m256 w = _mm256_loadu_ps(wp);
      a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(in0 + i), w, a0);
      a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(in1 + i), w, a1);
      a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(in2 + i), w, a2);
      a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(in3 + i), w, a3);
    }
    _mm256_storeu_ps(out + j, activate(a0, relu));
    _mm256_storeu_ps(out + outStride + j, activate(a1, relu));
    _mm256_storeu_ps(out + 2 * outStride + j, activate(a2, relu));
    _mm256_storeu_ps(out + 3 * outStride + j, activate(a3, relu));
  }
}

PW_AVX2 inline void oneRowTimesMatrix(const float* in, const float* mat, int64_t n, int64_t m, const float* bias, bool relu, float* out) {
  for (int64_t j = 0; j < m; j += 8) {
    __m256 a = bias ? _mm256_loadu_ps(bias + j) : _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i++) a = _mm256_fmadd_ps(_mm256_broadcast_ss(in + i), _mm256_loadu_ps(mat + i * m + j), a);
    _mm256_storeu_ps(out + j, activate(a, relu));
  }
}

// One output image row: `count` pixels, input pixels `step` floats apart.
PW_AVX2 inline void rowTimesMatrix(const float* in, int64_t step, int64_t count, const float* mat, int64_t n, int64_t m, const float* bias,
                                   bool relu, float* out, int64_t outStep) {
  int64_t p = 0;
  for (; p + 4 <= count; p += 4) fourRowsTimesMatrix(in + p * step, step, mat, n, m, bias, relu, out + p * outStep, outStep);
  for (; p < count; p++) oneRowTimesMatrix(in + p * step, mat, n, m, bias, relu, out + p * outStep);
}

PW_AVX2 inline void forward(const float* x, const float* w, const float* bias, bool relu, float* y, const Shape& s) {
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < s.n * s.ho; row++) {
    const int64_t img = row / s.ho, i = row % s.ho;
    const float* in = x + ((img * s.h + i * s.stride) * s.w) * s.c;
    rowTimesMatrix(in, s.stride * s.c, s.wo, w, s.c, s.k, bias, relu, y + row * s.wo * s.k, s.k);
  }
}

// dx at the sampled pixels is W·dy (the filter transposed to [k][c]); every other pixel is 0.
PW_AVX2 inline void backwardData(const float* dy, const float* w, float* dx, const Shape& s) {
  std::vector<float> wt(s.k * s.c);
  for (int64_t ci = 0; ci < s.c; ci++)
    for (int64_t co = 0; co < s.k; co++) wt[co * s.c + ci] = w[ci * s.k + co];
  const float* t = wt.data();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < s.n * s.h; row++) {
    const int64_t img = row / s.h, iy = row % s.h;
    float* out = dx + row * s.w * s.c;
    // Without padding, ho = (h − 1) / stride + 1: every row and column that is a multiple of the
    // stride is sampled, and only those.
    const int64_t oy = iy / s.stride;
    if (iy % s.stride != 0) {
      std::memset(out, 0, sizeof(float) * s.w * s.c);
      continue;
    }
    if (s.stride > 1)
      for (int64_t ix = 0; ix < s.w; ix++)
        if (ix % s.stride != 0) std::memset(out + ix * s.c, 0, sizeof(float) * s.c);
    const float* g = dy + ((img * s.ho + oy) * s.wo) * s.k;
    rowTimesMatrix(g, s.k, s.wo, t, s.k, s.c, nullptr, false, out, s.stride * s.c);
  }
}

// dW[c][k] = Σ x[sampled p][c]·dy[p][k], db[k] = Σ dy[p][k]: per-thread partials over blocks of
// pixels (4 input channels × 16 outputs in registers while a block streams past), summed after.
PW_AVX2 inline void backwardWeights(const float* x, const float* dy, float* dw, float* db, const Shape& s) {
  const int64_t pixels = s.n * s.ho * s.wo, size = s.c * s.k;
  const int threads = omp_get_max_threads();
  std::vector<float> parts(static_cast<size_t>(threads) * (size + s.k), 0.f);
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (pixels + kBlock - 1) / kBlock;
#pragma omp parallel
  {
    float* mine = parts.data() + static_cast<int64_t>(omp_get_thread_num()) * (size + s.k);
    float* bias = mine + size;
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
      const int64_t p0 = blk * kBlock, p1 = std::min(pixels, p0 + kBlock);
      // The sampled input pixel of each output pixel of the block.
      const float* in[kBlock];
      for (int64_t p = p0; p < p1; p++) {
        const int64_t j = p % s.wo, rest = p / s.wo, i = rest % s.ho, img = rest / s.ho;
        in[p - p0] = x + ((img * s.h + i * s.stride) * s.w + j * s.stride) * s.c;
      }
      for (int64_t k0 = 0; k0 < s.k; k0 += 8) {
        __m256 acc = _mm256_loadu_ps(bias + k0);
        for (int64_t p = p0; p < p1; p++) acc = _mm256_add_ps(acc, _mm256_loadu_ps(dy + p * s.k + k0));
        _mm256_storeu_ps(bias + k0, acc);
      }
      for (int64_t c0 = 0; c0 < s.c; c0 += 4) {
        for (int64_t k0 = 0; k0 < s.k; k0 += 8) {
          float* d = mine + c0 * s.k + k0;
          __m256 a0 = _mm256_loadu_ps(d), a1 = _mm256_loadu_ps(d + s.k), a2 = _mm256_loadu_ps(d + 2 * s.k), a3 = _mm256_loadu_ps(d + 3 * s.k);
          for (int64_t p = p0; p < p1; p++) {
            const float* xp = in[p - p0] + c0;
            const __m256 g = _mm256_loadu_ps(dy + p * s.k + k0);
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp), g, a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 1), g, a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 2), g, a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(xp + 3), g, a3);
          }
          _mm256_storeu_ps(d, a0), _mm256_storeu_ps(d + s.k, a1);
          _mm256_storeu_ps(d + 2 * s.k, a2), _mm256_storeu_ps(d + 3 * s.k, a3);
        }
      }
    }
  }
  for (int64_t i = 0; i < size; i++) {
    float v = 0;
    for (int t = 0; t < threads; t++) v += parts[static_cast<size_t>(t) * (size + s.k) + i];
    dw[i] = v;
  }
  if (db)
    for (int64_t k = 0; k < s.k; k++) {
      float v = 0;
      for (int t = 0; t < threads; t++) v += parts[static_cast<size_t>(t) * (size + s.k) + size + k];
      db[k] = v;
    }
}

}  // namespace pointwise
