// Direct convolutions with a stride of 2 or more, for float32 NHWC tensors with HWIO filters:
// forward (with optional bias and ReLU), backward data and backward weights (with the bias's
// gradient) — a ResNet's downsampling 3×3 convolutions, which Winograd does not take. oneDNN's
// AVX2 kernels for them want blocked layouts and reorders either side (16→32 channels at 32×32,
// batch 128: 5.3 / 4.9 / 6.6 ms for the three passes).
//
// Each kernel keeps a block of results in registers and streams the operands past it:
// - forward: 6 output pixels × 16 output channels; per tap and input channel, 6 broadcasts of
//   x and 12 FMAs with a row of the filter;
// - backward data: the same for 6 dx pixels × 16 input channels of one phase (the pixels whose
//   row and column leave the same remainder by the stride, so the same taps reach them), over
//   the taps and output channels, with the filter transposed;
// - backward weights: 4 input channels × 16 output channels of one tap, over a chunk of pixels.
// Pixels are addressed through a table of pointers per block; a tap that falls in the padding
// points at a row of zeros, so edges need no branch in the inner loops.
//
// Compiled for AVX2+FMA by function attribute and used only where the CPU has them (fits).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "microkernels.h"
#include "moments.h"

namespace strided {

#define STRIDED_AVX2 __attribute__((target("avx2,fma")))

using micro::Block16;
using micro::kGradRows;  // input channels per weight-gradient block
using micro::kPx;        // pixels per forward and backward-data block
constexpr int64_t kChunk = 64;  // pixels per weight-gradient chunk (its dy rows stay in L1)

// x [n, h, w, c] → y [n, ho, wo, k] through a kh × kw filter with strides sy, sx.
struct Shape {
  int64_t n, h, w, c, ho, wo, k, kh, kw, sy, sx, padT, padL;
};

inline bool cpuHasAvx2Fma() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}

// A stride of 2 or more, undilated, channels in whole vectors of 8 on both sides.
inline bool fits(int64_t sy, int64_t sx, int64_t dilations, int64_t c, int64_t k) {
  return (sy > 1 || sx > 1) && dilations == 0 && c > 0 && k > 0 && c % 8 == 0 && k % 8 == 0 && cpuHasAvx2Fma();
}

// Zeros for taps that fall in the padding: as long as the longest row a kernel reads.
inline const float* zeros(int64_t len) {
  static thread_local std::vector<float> z;
  if (static_cast<int64_t>(z.size()) < len) z.assign(len, 0.f);
  return z.data();
}

// src[t·stride + j] = the row of x under tap t of output pixel (img, oy, ox), or zero in the padding.
STRIDED_AVX2 inline void gatherTaps(const float* x, const Shape& s, const micro::Cursor& at, const float* zero, const float** src,
                                    int64_t stride) {
  const int64_t iy0 = at.r * s.sy - s.padT, ix0 = at.c * s.sx - s.padL;
  const float* base = x + at.img * s.h * s.w * s.c;
  for (int64_t ky = 0; ky < s.kh; ky++) {
    const int64_t iy = iy0 + ky;
    const bool rowIn = iy >= 0 && iy < s.h;
    for (int64_t kx = 0; kx < s.kw; kx++) {
      const int64_t ix = ix0 + kx;
      src[(ky * s.kw + kx) * stride] = rowIn && ix >= 0 && ix < s.w ? base + (iy * s.w + ix) * s.c : zero;
    }
  }
}

// Writes a block's `rows` pixels (out[j] for j < rows) over `width` channels from column col:
// + bias, then tfjs' ReLU (NaN passes, −0 becomes 0) when asked; the values written added to
// `moments` (a block's of `all` channels, moments.h) when given.
STRIDED_AVX2 inline void store(const Block16& r, float* const* out, int rows, int64_t col, int64_t width, const float* bias,
                               bool relu, float* moments, int64_t all) {
  const __m256 zero = _mm256_setzero_ps();
  for (int q = 0; q * 8 < width; q++) {
    const __m256 bv = bias ? _mm256_loadu_ps(bias + col + 8 * q) : zero;
    __m256 sum = zero, squares = zero;
    for (int j = 0; j < rows; j++) {
      __m256 v = _mm256_add_ps(r.v[j][q], bv);
      if (relu) v = _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_NLE_UQ));
      _mm256_storeu_ps(out[j] + col + 8 * q, v);
      sum = _mm256_add_ps(sum, v);
      squares = _mm256_fmadd_ps(v, v, squares);
    }
    if (moments) moments::add(moments, all, col + 8 * q, sum, squares);
  }
}

// out[j][0…width) for every column block: the products of one block of pixels.
STRIDED_AVX2 inline void blockProducts(const float* const* src, int64_t taps, int64_t len, const float* filter, int64_t tapStride,
                                       int64_t width, float* const* out, int rows, const float* bias, bool relu,
                                       float* moments = nullptr) {
  int64_t col = 0;
  for (; col + 16 <= width; col += 16)
    store(micro::product<2>(src, taps, len, filter + col, tapStride, width), out, rows, col, 16, bias, relu, moments, width);
  if (col < width) store(micro::product<1>(src, taps, len, filter + col, tapStride, width), out, rows, col, 8, bias, relu, moments, width);
}

// y = conv(x, w) + bias, ReLU if asked; w HWIO [kh][kw][c][k]; y's moments (Σy, Σy²;
// moments.h) into moments [2k] when given.
STRIDED_AVX2 inline void forward(const float* x, const float* w, const float* bias, bool relu, float* y, const Shape& s,
                                 double* moments = nullptr) {
  const int64_t taps = s.kh * s.kw, pixels = s.n * s.ho * s.wo, blocks = (pixels + kPx - 1) / kPx;
  moments::Sums sums(moments, s.k);
#pragma omp parallel
  {
    moments::Sums::Block block(sums);
    // Blocks of 6 pixels are short: flushed to double every 64 of them.
    int64_t unflushed = 0;
    const float* zero = zeros(s.c);
    std::vector<const float*> src(taps * kPx);
    float* out[kPx];
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t p0 = b * kPx;
      const int rows = static_cast<int>(std::min<int64_t>(kPx, pixels - p0));
      micro::Cursor at(s.ho, s.wo, p0);
      for (int j = 0; j < kPx; j++) {
        // Past the end: the last block's spare rows repeat its last pixel, and are not stored.
        if (j < rows) {
          out[j] = y + (p0 + j) * s.k;
          gatherTaps(x, s, at, zero, src.data() + j, kPx);
          if (j + 1 < rows) at.next();
        } else {
          for (int64_t t = 0; t < taps; t++) src[t * kPx + j] = src[t * kPx + rows - 1];
        }
      }
      blockProducts(src.data(), taps, s.c, w, s.c * s.k, s.k, out, rows, bias, relu, block.data());
      if (++unflushed == 64) block.flush(), unflushed = 0;
    }
    block.flush();
  }
  sums.finish();
}

// dx = the transposed convolution of dy. dx pixel (iy, ix) gathers tap (ky, kx) from dy pixel
// ((iy + padT − ky) / sy, (ix + padL − kx) / sx) where both divide exactly, so pixels are taken
// by phase (iy mod sy, ix mod sx), whose taps are the same. Threads take (image, phase) pairs in
// order, so that one image's dy stays in cache across its phases.
STRIDED_AVX2 inline void backwardData(const float* dy, const float* w, float* dx, const Shape& s) {
  const int64_t taps = s.kh * s.kw, phases = s.sy * s.sx, ck = s.c * s.k;
  struct Phase {
    int64_t py, px, first, count, rows, cols;  // taps first … first+count−1 of the order below
  };
  std::vector<Phase> phase(phases);
  std::vector<int64_t> rowShift, colShift;  // tap t reaches dy (a + rowShift[t], b + colShift[t]) from phase pixel (a, b)
  // wt: each tap's filter with its channels swapped ([k][c]), the taps grouped by phase.
  std::vector<float> wt(taps * ck);
  for (int64_t py = 0, q = 0; py < s.sy; py++)
    for (int64_t px = 0; px < s.sx; px++, q++) {
      Phase& f = phase[q];
      f = {py, px, static_cast<int64_t>(rowShift.size()), 0, py < s.h ? (s.h - py + s.sy - 1) / s.sy : 0,
           px < s.w ? (s.w - px + s.sx - 1) / s.sx : 0};
      for (int64_t ky = 0; ky < s.kh; ky++)
        for (int64_t kx = 0; kx < s.kw; kx++) {
          const int64_t dyRow = py + s.padT - ky, dyCol = px + s.padL - kx;
          if ((dyRow % s.sy + s.sy) % s.sy || (dyCol % s.sx + s.sx) % s.sx) continue;
          float* o = wt.data() + (f.first + f.count) * ck;
          const float* tap = w + (ky * s.kw + kx) * ck;
          for (int64_t ci = 0; ci < s.c; ci++)
            for (int64_t ko = 0; ko < s.k; ko++) o[ko * s.c + ci] = tap[ci * s.k + ko];
          rowShift.push_back(dyRow / s.sy);  // exact, so truncation is harmless
          colShift.push_back(dyCol / s.sx);
          f.count++;
        }
    }
  const int64_t items = s.n * phases;
#pragma omp parallel
  {
    const float* zero = zeros(s.k);
    std::vector<const float*> src(taps * kPx);
    float* out[kPx];
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; item++) {
      const int64_t img = item / phases;
      const Phase& f = phase[item % phases];
      const float* image = dy + img * s.ho * s.wo * s.k;
      float* dxImage = dx + img * s.h * s.w * s.c;
      const int64_t pixels = f.rows * f.cols;
      for (int64_t p0 = 0; p0 < pixels; p0 += kPx) {
        const int rows = static_cast<int>(std::min<int64_t>(kPx, pixels - p0));
        int64_t a = p0 / f.cols, b = p0 % f.cols;
        for (int j = 0; j < kPx; j++) {
          if (j >= rows) {  // the last block's spare rows: its last pixel again, not stored
            for (int64_t t = 0; t < f.count; t++) src[t * kPx + j] = src[t * kPx + rows - 1];
            continue;
          }
          out[j] = dxImage + ((f.py + a * s.sy) * s.w + f.px + b * s.sx) * s.c;
          for (int64_t t = 0; t < f.count; t++) {
            const int64_t oy = a + rowShift[f.first + t], ox = b + colShift[f.first + t];
            src[t * kPx + j] = oy >= 0 && oy < s.ho && ox >= 0 && ox < s.wo ? image + (oy * s.wo + ox) * s.k : zero;
          }
          if (++b == f.cols) b = 0, a++;
        }
        blockProducts(src.data(), f.count, s.k, wt.data() + f.first * ck, ck, s.c, out, rows, nullptr, false);
      }
    }
  }
}

// dw [kh][kw][c][k] = Σ_pixels x(tap) ⊗ dy; db[k] = Σ dy[·][k] when db is given (in float per
// chunk, in double across chunks, as channelSum does). Each thread sums its chunks into its own
// dw, added in thread order at the end.
STRIDED_AVX2 inline void backwardWeights(const float* x, const float* dy, float* dw, float* db, const Shape& s) {
  const int64_t taps = s.kh * s.kw, pixels = s.n * s.ho * s.wo, chunks = (pixels + kChunk - 1) / kChunk;
  const int64_t size = taps * s.c * s.k;
  const int threads = omp_get_max_threads();
  std::vector<float> parts(threads * size, 0.f);
  std::vector<double> biasParts(db ? threads * s.k : 0, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const float* zero = zeros(s.c);
    float* du = parts.data() + omp_get_thread_num() * size;
    double* sums = db ? biasParts.data() + omp_get_thread_num() * s.k : nullptr;
    std::vector<float> chunkSums(db ? s.k : 0);
    std::vector<const float*> src(taps * kChunk);
#pragma omp for schedule(static)
    for (int64_t ch = 0; ch < chunks; ch++) {
      const int64_t p0 = ch * kChunk, count = std::min(kChunk, pixels - p0);
      micro::Cursor at(s.ho, s.wo, p0);
      for (int64_t j = 0; j < count; j++, at.next()) gatherTaps(x, s, at, zero, src.data() + j, kChunk);
      const float* g = dy + p0 * s.k;
      for (int64_t t = 0; t < taps; t++)
        for (int64_t ci = 0; ci < s.c; ci += kGradRows) {
          float* d = du + (t * s.c + ci) * s.k;
          int64_t kk = 0;
          const micro::TableRows rows{src.data() + t * kChunk};
          for (; kk + 16 <= s.k; kk += 16) micro::accumulate<2>(rows, ci, g + kk, s.k, count, d + kk, s.k);
          if (kk < s.k) micro::accumulate<1>(rows, ci, g + kk, s.k, count, d + kk, s.k);
        }
      if (sums) {
        std::fill(chunkSums.begin(), chunkSums.end(), 0.f);
        for (int64_t j = 0; j < count; j++)
          for (int64_t q = 0; q < s.k; q++) chunkSums[q] += g[j * s.k + q];
        for (int64_t q = 0; q < s.k; q++) sums[q] += chunkSums[q];
      }
    }
  }
  for (int64_t i = 0; i < size; i++) {
    float v = parts[i];
    for (int t = 1; t < threads; t++) v += parts[t * size + i];
    dw[i] = v;
  }
  if (db)
    for (int64_t q = 0; q < s.k; q++) {
      double sum = 0;
      for (int t = 0; t < threads; t++) sum += biasParts[t * s.k + q];
      db[q] = static_cast<float>(sum);
    }
}

#undef STRIDED_AVX2

}  // namespace strided
