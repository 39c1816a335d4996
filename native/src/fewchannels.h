// Direct convolutions of inputs with few channels (images: 1–7), float32 NHWC with HWIO filters
// and output channels in 8s: forward (with optional bias and ReLU) and backward weights (with the
// bias's gradient). A network's first layer is one: ResNet20's 3→16 (3×3, stride 1) and the
// SimCLR encoder's 3→128 (3×3, stride 2). oneDNN's AVX2 kernels want a planar copy of the images
// and a blocked output there, reordered around every call; here a zero-padded copy of the images
// (when there is padding) is all. The input's own gradient is never asked of a first layer, so
// backward data stays on oneDNN.
//
// Forward: 4 output pixels of a row × 16 output channels in registers, over every tap and input
// channel. Backward weights: dW has kh·kw·c rows (tap, channel) of k; 4 rows × 16 channels stay in
// registers while a row of output pixels streams past; per-thread partials, summed in order.
// Compiled for AVX2+FMA by function attribute and used only where the CPU has them (fits).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "moments.h"

namespace fewchannels {

#define FC_AVX2 __attribute__((target("avx2,fma")))

struct Shape {
  int64_t n, h, w, c, ho, wo, k, kh, kw, stride, padT, padL, padB, padR;
};

inline bool fits(int64_t c, int64_t k, int64_t strideH, int64_t strideW, int64_t dilated) {
  static const bool cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return cpu && c >= 1 && c < 8 && k % 8 == 0 && strideH == strideW && !dilated;
}

// The images with their padding as zeros, [n][hp][wp][c]; or x itself when there is none.
struct Padded {
  const float* data;
  int64_t hp, wp;
  std::vector<float> copy;
};

inline Padded pad(const float* x, const Shape& s) {
  const int64_t hp = s.padT + s.h + std::max<int64_t>(0, s.padB), wp = s.padL + s.w + std::max<int64_t>(0, s.padR);
  if (s.padT == 0 && s.padL == 0 && hp == s.h && wp == s.w) return {x, s.h, s.w, {}};
  Padded p{nullptr, hp, wp, std::vector<float>(static_cast<size_t>(s.n * hp * wp * s.c), 0.f)};
  float* d = p.copy.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < s.n * s.h; r++) {
    const int64_t img = r / s.h, y = r % s.h;
    std::memcpy(d + ((img * hp + y + s.padT) * wp + s.padL) * s.c, x + r * s.w * s.c, sizeof(float) * s.w * s.c);
  }
  p.data = d;
  return p;
}

FC_AVX2 inline __m256 activate(__m256 v, bool relu) {
  return relu ? _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ)) : v;
}

// y[p..p+P)[k0..k0+8·V) for P output pixels whose windows start at `in` (pixels `step` apart).
template <int P, int V>
FC_AVX2 inline void tile(const float* in, int64_t step, int64_t rowStride, const float* w, const float* bias, bool relu, float* y,
                         int64_t k0, const Shape& s) {
  __m256 acc[P][V];
  for (int v = 0; v < V; v++) {
    const __m256 b = bias ? _mm256_loadu_ps(bias + k0 + 8 * v) : _mm256_setzero_ps();
    for (int p = 0; p < P; p++) acc[p][v] = b;
  }
  for (int64_t i = 0; i < s.kh; i++) {
    const float* row = in + i * rowStride;
    for (int64_t j = 0; j < s.kw; j++) {
      for (int64_t ci = 0; ci < s.c; ci++) {
        const float* wp = w + ((i * s.kw + j) * s.c + ci) * s.k + k0;
        __m256 wv[V];
        for (int v = 0; v < V; v++) wv[v] = _mm256_loadu_ps(wp + 8 * v);
        const float* xp = row + j * s.c + ci;
        for (int p = 0; p < P; p++) {
          const __m256 a = _mm256_broadcast_ss(xp + p * step);
          for (int v = 0; v < V; v++) acc[p][v] = _mm256_fmadd_ps(a, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < P; p++)
    for (int v = 0; v < V; v++) _mm256_storeu_ps(y + p * s.k + k0 + 8 * v, activate(acc[p][v], relu));
}

// tile<4, 2> with named accumulators: as an array, GCC keeps them on the stack (winograd.h).
FC_AVX2 inline void tile4x16(const float* in, int64_t step, int64_t rowStride, const float* w, const float* bias, bool relu, float* y,
                             int64_t k0, const Shape& s) {
  const __m256 b0 = bias ? _mm256_loadu_ps(bias + k0) : _mm256_setzero_ps();
  const __m256 b1 = bias ? _mm256_loadu_ps(bias + k0 + 8) : _mm256_setzero_ps();
  __m256 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
  const int64_t taps = s.kw * s.c;
  for (int64_t i = 0; i < s.kh; i++) {
    // Within a row of the window, (j, ci) are consecutive floats of the padded image.
    const float* xp = in + i * rowStride;
    const float* wp = w + i * taps * s.k + k0;
    for (int64_t q = 0; q < taps; q++, xp++, wp += s.k) {
      const __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
      __m256 a = _mm256_broadcast_ss(xp);
      a00 = _mm256_fmadd_ps(a, w0, a00), a01 = _mm256_fmadd_ps(a, w1, a01);
      a = _mm256_broadcast_ss(xp + step);
      a10 = _mm256_fmadd_ps(a, w0, a10), a11 = _mm256_fmadd_ps(a, w1, a11);
      a = _mm256_broadcast_ss(xp + 2 * step);
      a20 = _mm256_fmadd_ps(a, w0, a20), a21 = _mm256_fmadd_ps(a, w1, a21);
      a = _mm256_broadcast_ss(xp + 3 * step);
      a30 = _mm256_fmadd_ps(a, w0, a30), a31 = _mm256_fmadd_ps(a, w1, a31);
    }
  }
  float* o = y + k0;
  _mm256_storeu_ps(o, activate(a00, relu)), _mm256_storeu_ps(o + 8, activate(a01, relu));
  o += s.k;
  _mm256_storeu_ps(o, activate(a10, relu)), _mm256_storeu_ps(o + 8, activate(a11, relu));
  o += s.k;
  _mm256_storeu_ps(o, activate(a20, relu)), _mm256_storeu_ps(o + 8, activate(a21, relu));
  o += s.k;
  _mm256_storeu_ps(o, activate(a30, relu)), _mm256_storeu_ps(o + 8, activate(a31, relu));
}

FC_AVX2 inline void forward(const float* x, const float* w, const float* bias, bool relu, float* y, const Shape& s,
                            double* moments = nullptr) {
  Padded px = pad(x, s);
  const int64_t step = s.stride * s.c, rowStride = px.wp * s.c;
  moments::Sums sums(moments, s.k);
#pragma omp parallel
  {
  moments::Sums::Block block(sums);
#pragma omp for schedule(static)
  for (int64_t r = 0; r < s.n * s.ho; r++) {
    const int64_t img = r / s.ho, oy = r % s.ho;
    const float* in = px.data + ((img * px.hp + oy * s.stride) * px.wp) * s.c;
    float* out = y + r * s.wo * s.k;
    int64_t ox = 0;
    for (; ox + 4 <= s.wo; ox += 4) {
      int64_t k0 = 0;
      for (; k0 + 16 <= s.k; k0 += 16) tile4x16(in + ox * step, step, rowStride, w, bias, relu, out + ox * s.k, k0, s);
      if (k0 < s.k) tile<4, 1>(in + ox * step, step, rowStride, w, bias, relu, out + ox * s.k, k0, s);
    }
    for (; ox < s.wo; ox++)
      for (int64_t k0 = 0; k0 < s.k; k0 += 8) tile<1, 1>(in + ox * step, step, rowStride, w, bias, relu, out + ox * s.k, k0, s);
    // The row just written, from L1: its moments (moments.h) when asked.
    if (float* m = block.data()) {
      for (int64_t k0 = 0; k0 < s.k; k0 += 8) {
        __m256 sum = _mm256_setzero_ps(), squares = sum;
        for (int64_t p = 0; p < s.wo; p++) {
          const __m256 v = _mm256_loadu_ps(out + p * s.k + k0);
          sum = _mm256_add_ps(sum, v);
          squares = _mm256_fmadd_ps(v, v, squares);
        }
        moments::add(m, s.k, k0, sum, squares);
      }
      block.flush();
    }
  }
  }
  sums.finish();
}

// With mask (a ReLU's output after the convolution), the gradient is dy·step(mask), made one row
// of output pixels at a time.
FC_AVX2 inline void backwardWeights(const float* x, const float* dy, const float* mask, float* dw, float* db, const Shape& s) {
  Padded px = pad(x, s);
  const int64_t rows = s.kh * s.kw * s.c, groups = (rows + 3) / 4, partSize = groups * 4 * s.k + s.k;
  // Where row r = (i, j, ci) of dW reads the padded images, relative to an output pixel's
  // window; the rows past the last repeat row 0, and their sums are dropped.
  std::vector<int64_t> offset(static_cast<size_t>(groups * 4));
  for (int64_t r = 0; r < groups * 4; r++) {
    const int64_t q = r < rows ? r : 0, ci = q % s.c, j = (q / s.c) % s.kw, i = q / (s.c * s.kw);
    offset[static_cast<size_t>(r)] = (i * px.wp + j) * s.c + ci;
  }
  const int threads = omp_get_max_threads();
  std::vector<float> parts(static_cast<size_t>(threads * partSize), 0.f);
  const int64_t step = s.stride * s.c;
#pragma omp parallel
  {
    float* mine = parts.data() + static_cast<int64_t>(omp_get_thread_num()) * partSize;
    float* bias = mine + groups * 4 * s.k;
    std::vector<float> maskedRow(mask ? static_cast<size_t>(s.wo * s.k) : 0);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < s.n * s.ho; r++) {
      const int64_t img = r / s.ho, oy = r % s.ho;
      const float* in = px.data + ((img * px.hp + oy * s.stride) * px.wp) * s.c;
      const float* g = dy + r * s.wo * s.k;
      if (mask) {
        const float* m = mask + r * s.wo * s.k;
        for (int64_t i = 0; i < s.wo * s.k; i += 8) {
          // As the addon's ReLU gradient: dy where the output is positive, else dy·0 (NaN stays NaN).
          const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(m + i), _mm256_setzero_ps(), _CMP_GT_OQ);
          const __m256 d = _mm256_loadu_ps(g + i);
          _mm256_storeu_ps(maskedRow.data() + i, _mm256_blendv_ps(_mm256_mul_ps(d, _mm256_setzero_ps()), d, keep));
        }
        g = maskedRow.data();
      }
      for (int64_t k0 = 0; k0 < s.k; k0 += 8) {
        __m256 acc = _mm256_loadu_ps(bias + k0);
        for (int64_t ox = 0; ox < s.wo; ox++) acc = _mm256_add_ps(acc, _mm256_loadu_ps(g + ox * s.k + k0));
        _mm256_storeu_ps(bias + k0, acc);
      }
      for (int64_t gr = 0; gr < groups; gr++) {
        const float *x0 = in + offset[static_cast<size_t>(4 * gr)], *x1 = in + offset[static_cast<size_t>(4 * gr + 1)];
        const float *x2 = in + offset[static_cast<size_t>(4 * gr + 2)], *x3 = in + offset[static_cast<size_t>(4 * gr + 3)];
        int64_t k0 = 0;
        for (; k0 + 16 <= s.k; k0 += 16) {
          float* d = mine + 4 * gr * s.k + k0;
          __m256 a00 = _mm256_loadu_ps(d), a01 = _mm256_loadu_ps(d + 8);
          __m256 a10 = _mm256_loadu_ps(d + s.k), a11 = _mm256_loadu_ps(d + s.k + 8);
          __m256 a20 = _mm256_loadu_ps(d + 2 * s.k), a21 = _mm256_loadu_ps(d + 2 * s.k + 8);
          __m256 a30 = _mm256_loadu_ps(d + 3 * s.k), a31 = _mm256_loadu_ps(d + 3 * s.k + 8);
          for (int64_t ox = 0; ox < s.wo; ox++) {
            const __m256 g0 = _mm256_loadu_ps(g + ox * s.k + k0), g1 = _mm256_loadu_ps(g + ox * s.k + k0 + 8);
            const int64_t at = ox * step;
            __m256 a = _mm256_broadcast_ss(x0 + at);
            a00 = _mm256_fmadd_ps(a, g0, a00), a01 = _mm256_fmadd_ps(a, g1, a01);
            a = _mm256_broadcast_ss(x1 + at);
            a10 = _mm256_fmadd_ps(a, g0, a10), a11 = _mm256_fmadd_ps(a, g1, a11);
            a = _mm256_broadcast_ss(x2 + at);
            a20 = _mm256_fmadd_ps(a, g0, a20), a21 = _mm256_fmadd_ps(a, g1, a21);
            a = _mm256_broadcast_ss(x3 + at);
            a30 = _mm256_fmadd_ps(a, g0, a30), a31 = _mm256_fmadd_ps(a, g1, a31);
          }
          _mm256_storeu_ps(d, a00), _mm256_storeu_ps(d + 8, a01);
          _mm256_storeu_ps(d + s.k, a10), _mm256_storeu_ps(d + s.k + 8, a11);
          _mm256_storeu_ps(d + 2 * s.k, a20), _mm256_storeu_ps(d + 2 * s.k + 8, a21);
          _mm256_storeu_ps(d + 3 * s.k, a30), _mm256_storeu_ps(d + 3 * s.k + 8, a31);
        }
        if (k0 < s.k) {
          float* d = mine + 4 * gr * s.k + k0;
          __m256 a0 = _mm256_loadu_ps(d), a1 = _mm256_loadu_ps(d + s.k), a2 = _mm256_loadu_ps(d + 2 * s.k), a3 = _mm256_loadu_ps(d + 3 * s.k);
          for (int64_t ox = 0; ox < s.wo; ox++) {
            const __m256 gv = _mm256_loadu_ps(g + ox * s.k + k0);
            const int64_t at = ox * step;
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x0 + at), gv, a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x1 + at), gv, a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x2 + at), gv, a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x3 + at), gv, a3);
          }
          _mm256_storeu_ps(d, a0), _mm256_storeu_ps(d + s.k, a1);
          _mm256_storeu_ps(d + 2 * s.k, a2), _mm256_storeu_ps(d + 3 * s.k, a3);
        }
      }
    }
  }
  for (int64_t i = 0; i < rows * s.k; i++) {
    float v = 0;
    for (int t = 0; t < threads; t++) v += parts[static_cast<size_t>(t * partSize + i)];
    dw[i] = v;
  }
  if (db)
    for (int64_t k = 0; k < s.k; k++) {
      float v = 0;
      for (int t = 0; t < threads; t++) v += parts[static_cast<size_t>(t * partSize + groups * 4 * s.k + k)];
      db[k] = v;
    }
}

}  // namespace fewchannels
