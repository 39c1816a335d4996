// Winograd F(4×4, 3×3) convolutions for float32 NHWC tensors with HWIO filters: forward (with
// optional bias and ReLU), backward data and backward weights of 3×3, stride-1 convolutions —
// 16 of ResNet20's 21. oneDNN 2.x has Winograd only for AVX-512; on AVX2 its direct kernels
// spend 144 multiplies per 4×4 outputs and channel pair where this spends 36 (4× fewer), and
// work in tfjs' own layout, so no reorders either side.
//
// Each thread takes a block of TB output tiles at a time and keeps it in cache: transform the
// input tiles (V = Bᵀ d B, 36 values per channel), multiply by the transformed filter for each
// of the 36 positions (a [TB×C]·[C×K] product), transform back (Y = Aᵀ M A). The weight
// gradient is the same product in reverse: dU = Σ_tiles V ⊙ (A dY Aᵀ), dW = Gᵀ dU G.
// (Lavin & Gray 2015; the points 0, ±1, ±2, ∞.) Against a direct convolution:
// - the error is about 1e-6 of the output's scale, a few times F(2×2, 3×3)'s; F(2×2, 3×3)
//   measured up to 1.3× slower here;
// - a NaN or infinity in an input tile makes that tile's whole 4×4 output NaN, where a direct
//   convolution poisons only the outputs whose window holds it. The loss is NaN either way.
//
// Compiled for AVX2+FMA by function attribute and used only where the CPU has them (fits), so
// the addon still loads on any x86-64 CPU.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

#include "microkernels.h"
#include "moments.h"

namespace winograd {

#define WINO_AVX2 __attribute__((target("avx2,fma")))

constexpr int kOut = 4;               // output tile edge
constexpr int kIn = kOut + 2;         // input tile edge
constexpr int kPos = kIn * kIn;       // transformed values per tile and channel
constexpr int kRows = micro::kPx;          // tiles per forward product (6)
constexpr int kGradRows = micro::kGradRows;  // input channels per weight-gradient product (4)

// One convolution's geometry, as the forward pass sees it: x [n, h, w, c] → y [n, ho, wo, k].
struct Shape {
  int64_t n, h, w, c, ho, wo, k, padT, padL;
};

inline bool cpuHasAvx2Fma() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}

// Channels in whole vectors of 8; a 3×3 stride-1 undilated filter.
inline bool fits(int64_t kh, int64_t kw, int64_t stride, int64_t dilation, int64_t c, int64_t k) {
  return kh == 3 && kw == 3 && stride == 1 && dilation == 1 && c % 8 == 0 && k % 8 == 0 && cpuHasAvx2Fma();
}

// Tiles per block: V [36][TB][C] and M [36][TB][K] together about 128 KB, a quarter of a Zen 3
// core's L2 (96–192 KB measured alike; 64 and 256 KB slower).
inline int64_t tilesPerBlock(int64_t c, int64_t k) {
  int64_t tb = (128 * 1024) / (kPos * 4 * (c + k));
  return std::max<int64_t>(kRows, tb / kRows * kRows);
}

inline float* scratch(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// ---- The 1-D transforms, on 8 channels at a time ----

// v = Bᵀ d: Bᵀ = [[4,0,−5,0,1,0], [0,−4,−4,1,1,0], [0,4,−4,−1,1,0], [0,−2,−1,2,1,0],
// [0,2,−1,−2,1,0], [0,4,0,−5,0,1]].
WINO_AVX2 inline void inputRow(const __m256 d[kIn], __m256 v[kIn]) {
  const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  const __m256 t1 = _mm256_fnmadd_ps(four, d[2], d[4]);  // d4 − 4 d2
  const __m256 t2 = _mm256_fnmadd_ps(four, d[1], d[3]);  // d3 − 4 d1
  const __m256 t3 = _mm256_sub_ps(d[4], d[2]);
  const __m256 t4 = _mm256_mul_ps(two, _mm256_sub_ps(d[3], d[1]));
  v[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
  v[1] = _mm256_add_ps(t1, t2);
  v[2] = _mm256_sub_ps(t1, t2);
  v[3] = _mm256_add_ps(t3, t4);
  v[4] = _mm256_sub_ps(t3, t4);
  v[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

// o = Aᵀ m: Aᵀ = [[1,1,1,1,1,0], [0,1,−1,2,−2,0], [0,1,1,4,4,0], [0,1,−1,8,−8,1]].
WINO_AVX2 inline void outputRow(const __m256 m[kIn], __m256 o[kOut]) {
  const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
  o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
  o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m[5]);
}

// r = A g for an output-gradient column g (A = (Aᵀ)ᵀ, 6×4).
WINO_AVX2 inline void gradientRow(const __m256 g[kOut], __m256 r[kIn]) {
  const __m256 s02 = _mm256_add_ps(g[0], g[2]), s13 = _mm256_add_ps(g[1], g[3]);
  const __m256 q02 = _mm256_fmadd_ps(_mm256_set1_ps(4.f), g[2], g[0]);   // g0 + 4 g2
  const __m256 q13 = _mm256_fmadd_ps(_mm256_set1_ps(4.f), g[3], g[1]);   // g1 + 4 g3
  const __m256 two = _mm256_set1_ps(2.f);
  r[0] = g[0];
  r[1] = _mm256_add_ps(s02, s13);
  r[2] = _mm256_sub_ps(s02, s13);
  r[3] = _mm256_fmadd_ps(two, q13, q02);
  r[4] = _mm256_fnmadd_ps(two, q13, q02);
  r[5] = g[3];
}

// U[p][c][k] = (G g Gᵀ)[p] for the HWIO filter w [3][3][c][k]; G = [[¼,0,0], [−⅙,−⅙,−⅙],
// [−⅙,⅙,−⅙], [1/24,1/12,⅙], [1/24,−1/12,⅙], [0,0,1]].
inline void transformFilter(const float* w, int64_t c, int64_t k, float* u) {
  const int64_t ck = c * k;
  auto col = [](const float g[3], float out[kIn]) {
    out[0] = g[0] / 4.f;
    out[1] = -(g[0] + g[1] + g[2]) / 6.f;
    out[2] = -(g[0] - g[1] + g[2]) / 6.f;
    out[3] = g[0] / 24.f + g[1] / 12.f + g[2] / 6.f;
    out[4] = g[0] / 24.f - g[1] / 12.f + g[2] / 6.f;
    out[5] = g[2];
  };
  for (int64_t i = 0; i < ck; i++) {
    float g[3][3], t[3][kIn];  // t[b] = G · (column b of g)
    for (int b = 0; b < 3; b++) {
      float column[3] = {w[(0 * 3 + b) * ck + i], w[(1 * 3 + b) * ck + i], w[(2 * 3 + b) * ck + i]};
      col(column, t[b]);
    }
    for (int a = 0; a < kIn; a++) {
      for (int b = 0; b < 3; b++) g[0][b] = t[b][a];
      float row[kIn];
      col(g[0], row);
      for (int b = 0; b < kIn; b++) u[(a * kIn + b) * ck + i] = row[b];
    }
  }
}

// ---- Tiles ----

struct Tiles {
  int64_t rows, cols, total;
  Tiles(const Shape& s, int64_t n) : rows((s.ho + kOut - 1) / kOut), cols((s.wo + kOut - 1) / kOut), total(n * rows * cols) {}
};

// Zeroes rows count … tb−1 of the kPos planes of tb × width floats at v: the products read whole
// blocks.
inline void zeroTail(float* v, int64_t count, int64_t tb, int64_t width) {
  if (count < tb)
    for (int p = 0; p < kPos; p++) std::memset(v + (p * tb + count) * width, 0, (tb - count) * width * sizeof(float));
}

// The transforms below are plain loops over a micro::Cursor with every size in a local: as lambdas
// called per tile, GCC kept them out of line and reloaded the captured sizes through the closure
// after every store (the stores might alias it), two dependent loads per store.

// V[p][j][·] = (Bᵀ d B)[p] for the input tiles t0 … t0+count−1 (rows past count are zero).
WINO_AVX2 inline void transformInput(const float* __restrict x, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count,
                                     int64_t tb, float* __restrict v) {
  const int64_t c = s.c, plane = tb * c, h = s.h, w = s.w, rowStride = w * c, padT = s.padT, padL = s.padL;
  micro::Cursor at(tiles.rows, tiles.cols, t0);
  for (int64_t j = 0; j < count; j++, at.next()) {
    const int64_t iy = at.r * kOut - padT, ix = at.c * kOut - padL;
    // Most tiles lie wholly inside the image: loads without a bounds test for them. The rest
    // (44% of a 32×32 image's tiles, all of an 8×8's) load each pixel from where it would be,
    // clamped into the image, and mask it to zero outside: no branch per pixel to mispredict.
    const bool inside = iy >= 0 && ix >= 0 && iy + kIn <= h && ix + kIn <= w;
    int64_t rowAt[kIn], colAt[kIn];
    __m256 rowIn[kIn], colIn[kIn];
    if (!inside)
      for (int a = 0; a < kIn; a++) {
        rowAt[a] = (at.img * h + std::clamp<int64_t>(iy + a, 0, h - 1)) * rowStride;
        colAt[a] = std::clamp<int64_t>(ix + a, 0, w - 1) * c;
        rowIn[a] = _mm256_castsi256_ps(_mm256_set1_epi32(iy + a >= 0 && iy + a < h ? -1 : 0));
        colIn[a] = _mm256_castsi256_ps(_mm256_set1_epi32(ix + a >= 0 && ix + a < w ? -1 : 0));
      }
    const float* corner = inside ? x + ((at.img * h + iy) * w + ix) * c : nullptr;
    float* o = v + j * c;
    for (int64_t ch = 0; ch < c; ch += 8) {
      // Rows first (each row's 6 pixels → 6 values, kept in t), then the columns of t.
      __m256 t[kIn][kIn];
      if (inside) {
        const float* px = corner + ch;
#pragma GCC unroll 6
        for (int a = 0; a < kIn; a++) {
          const float* r = px + a * rowStride;
          const __m256 d[kIn] = {_mm256_loadu_ps(r),         _mm256_loadu_ps(r + c),     _mm256_loadu_ps(r + 2 * c),
                                 _mm256_loadu_ps(r + 3 * c), _mm256_loadu_ps(r + 4 * c), _mm256_loadu_ps(r + 5 * c)};
          inputRow(d, t[a]);
        }
      } else {
        const float* px = x + ch;
        for (int a = 0; a < kIn; a++) {
          __m256 d[kIn];
          const float* r = px + rowAt[a];
#pragma GCC unroll 6
          for (int b = 0; b < kIn; b++) d[b] = _mm256_and_ps(_mm256_loadu_ps(r + colAt[b]), _mm256_and_ps(rowIn[a], colIn[b]));
          inputRow(d, t[a]);
        }
      }
      float* oc = o + ch;
#pragma GCC unroll 6
      for (int b = 0; b < kIn; b++) {
        const __m256 column[kIn] = {t[0][b], t[1][b], t[2][b], t[3][b], t[4][b], t[5][b]};
        __m256 out[kIn];
        inputRow(column, out);
        for (int a = 0; a < kIn; a++) _mm256_storeu_ps(oc + (a * kIn + b) * plane, out[a]);
      }
    }
  }
  zeroTail(v, count, tb, c);
}

// Stores a product's kRows rows of 8·vectors floats, ld apart.
WINO_AVX2 inline void storeRows(const micro::Block16& r, float* out, int64_t ld, int vectors) {
  for (int j = 0; j < kRows; j++)
    for (int q = 0; q < vectors; q++) _mm256_storeu_ps(out + j * ld + 8 * q, r.v[j][q]);
}

// M[p] = V[p] · U[p] for the kPos positions: rows of 6 tiles × 16 (then 8) output channels.
WINO_AVX2 inline void multiplyBlock(const float* v, const float* u, int64_t tb, int64_t c, int64_t k, float* m) {
  for (int p = 0; p < kPos; p++) {
    const float* vp = v + p * tb * c;
    const float* up = u + p * c * k;
    float* mp = m + p * tb * k;
    for (int64_t j = 0; j < tb; j += kRows) {
      const float* rows[kRows];
      for (int r = 0; r < kRows; r++) rows[r] = vp + (j + r) * c;
      int64_t kk = 0;
      for (; kk + 16 <= k; kk += 16) storeRows(micro::product<2>(rows, 1, c, up + kk, 0, k), mp + j * k + kk, k, 2);
      if (kk < k) storeRows(micro::product<1>(rows, 1, c, up + kk, 0, k), mp + j * k + kk, k, 1);
    }
  }
}

// y tiles = Aᵀ M A (+ bias, ReLU), written where they fall inside the output; the values written
// added to `moments` (a block's, moments.h) when given.
WINO_AVX2 inline void transformOutput(const float* __restrict m, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count,
                                      int64_t tb, const float* bias, bool relu, float* __restrict y, float* __restrict moments) {
  const int64_t k = s.k, plane = tb * k, ho = s.ho, wo = s.wo, rowStride = wo * k;
  const __m256 zero = _mm256_setzero_ps();
  micro::Cursor at(tiles.rows, tiles.cols, t0);
  for (int64_t j = 0; j < count; j++, at.next()) {
    const int64_t oy = at.r * kOut, ox = at.c * kOut;
    float* base = y + (at.img * ho * wo + oy * wo + ox) * k;
    const int64_t rows = std::min<int64_t>(kOut, ho - oy), cols = std::min<int64_t>(kOut, wo - ox);
    for (int64_t ch = 0; ch < k; ch += 8) {
      const float* in = m + j * k + ch;
      __m256 t[kOut][kIn];  // t[·][b] = Aᵀ · (column b of M)
#pragma GCC unroll 6
      for (int b = 0; b < kIn; b++) {
        const __m256 column[kIn] = {_mm256_loadu_ps(in + b * plane),           _mm256_loadu_ps(in + (kIn + b) * plane),
                                    _mm256_loadu_ps(in + (2 * kIn + b) * plane), _mm256_loadu_ps(in + (3 * kIn + b) * plane),
                                    _mm256_loadu_ps(in + (4 * kIn + b) * plane), _mm256_loadu_ps(in + (5 * kIn + b) * plane)};
        __m256 out[kOut];
        outputRow(column, out);
        for (int a = 0; a < kOut; a++) t[a][b] = out[a];
      }
      const __m256 bv = bias ? _mm256_loadu_ps(bias + ch) : zero;
      __m256 sum = zero, squares = zero;
      for (int a = 0; a < rows; a++) {
        __m256 o[kOut];
        outputRow(t[a], o);
        float* row = base + a * rowStride + ch;
        for (int b = 0; b < cols; b++) {
          __m256 r = _mm256_add_ps(o[b], bv);
          // tfjs' ReLU: NaN passes (an unordered compare keeps it), −0 becomes 0.
          if (relu) r = _mm256_and_ps(r, _mm256_cmp_ps(r, zero, _CMP_NLE_UQ));
          _mm256_storeu_ps(row + b * k, r);
          sum = _mm256_add_ps(sum, r);
          squares = _mm256_fmadd_ps(r, r, squares);
        }
      }
      if (moments) moments::add(moments, k, ch, sum, squares);
    }
  }
}

// y = conv(x, w) + bias, ReLU if asked; w HWIO [3][3][c][k]; y's moments (Σy, Σy²; moments.h)
// into moments [2k] when given.
WINO_AVX2 inline void forward(const float* x, const float* w, const float* bias, bool relu, float* y, const Shape& s,
                              double* moments = nullptr) {
  static std::vector<float> uBuf;
  float* u = scratch(uBuf, kPos * s.c * s.k);
  transformFilter(w, s.c, s.k, u);
  const Tiles tiles(s, s.n);
  const int64_t tb = tilesPerBlock(s.c, s.k);
  const int64_t blocks = (tiles.total + tb - 1) / tb;
  moments::Sums sums(moments, s.k);
#pragma omp parallel
  {
    static thread_local std::vector<float> vBuf, mBuf;
    float* v = scratch(vBuf, kPos * tb * s.c);
    float* m = scratch(mBuf, kPos * tb * s.k);
    moments::Sums::Block block(sums);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t t0 = b * tb, count = std::min(tb, tiles.total - t0);
      transformInput(x, s, tiles, t0, count, tb, v);
      multiplyBlock(v, u, tb, s.c, s.k, m);
      transformOutput(m, s, tiles, t0, count, tb, bias, relu, y, block.data());
      block.flush();
    }
  }
  sums.finish();
}

// dx = the transposed convolution of dy: a forward one with the filter turned 180° and its
// channels swapped, padded by 2 − pad. x is [n, h, w, c]; dy is the forward's y.
WINO_AVX2 inline void backwardData(const float* dy, const float* w, float* dx, const Shape& s) {
  static std::vector<float> flipped;
  float* f = scratch(flipped, 9 * s.c * s.k);
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      for (int64_t ci = 0; ci < s.c; ci++)
        for (int64_t ko = 0; ko < s.k; ko++)
          f[((a * 3 + b) * s.k + ko) * s.c + ci] = w[(((2 - a) * 3 + (2 - b)) * s.c + ci) * s.k + ko];
  Shape t{s.n, s.ho, s.wo, s.k, s.h, s.w, s.c, 2 - s.padT, 2 - s.padL};
  forward(dy, f, nullptr, false, dx, t);
}

// M[p][j][·] = (A dY Aᵀ)[p] for the output tiles t0 … (rows past count are zero); adds each
// channel's sum of dY over these tiles to sums[·] when given.
WINO_AVX2 inline void transformGradient(const float* __restrict dy, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count,
                                        int64_t tb, float* __restrict m, float* __restrict sums) {
  const int64_t k = s.k, plane = tb * k, ho = s.ho, wo = s.wo, rowStride = wo * k;
  const __m256 zero = _mm256_setzero_ps();
  micro::Cursor at(tiles.rows, tiles.cols, t0);
  for (int64_t j = 0; j < count; j++, at.next()) {
    const int64_t oy = at.r * kOut, ox = at.c * kOut;
    const int64_t corner = (at.img * ho * wo + oy * wo + ox) * k;  // an offset: rows may lie past dy
    const int64_t rows = std::min<int64_t>(kOut, ho - oy), cols = std::min<int64_t>(kOut, wo - ox);
    const bool whole = rows == kOut && cols == kOut;
    float* o = m + j * k;
    for (int64_t ch = 0; ch < k; ch += 8) {
      const float* g0 = dy + ch;
      __m256 t[kIn][kOut];  // t[·][b] = A · (column b of dY)
      // The bias gradient's running sum, in the order the columns come (the same bits as before).
      __m256 sum = sums ? _mm256_loadu_ps(sums + ch) : zero;
#pragma GCC unroll 4
      for (int b = 0; b < kOut; b++) {
        __m256 g[kOut], r[kIn];
        const int64_t column = corner + b * k;
        if (whole)
          for (int a = 0; a < kOut; a++) g[a] = _mm256_loadu_ps(g0 + (column + a * rowStride));
        else
          for (int a = 0; a < kOut; a++) g[a] = a < rows && b < cols ? _mm256_loadu_ps(g0 + (column + a * rowStride)) : zero;
        gradientRow(g, r);
        for (int a = 0; a < kIn; a++) t[a][b] = r[a];
        // r[1] = g0 + g1 + g2 + g3 (zeros outside dy): the column's sum, for the bias gradient.
        sum = _mm256_add_ps(sum, r[1]);
      }
      if (sums) _mm256_storeu_ps(sums + ch, sum);
      float* oc = o + ch;
#pragma GCC unroll 6
      for (int a = 0; a < kIn; a++) {
        __m256 r[kIn];
        gradientRow(t[a], r);
        for (int b = 0; b < kIn; b++) _mm256_storeu_ps(oc + (a * kIn + b) * plane, r[b]);
      }
    }
  }
  zeroTail(m, count, tb, k);
}

// dW = Gᵀ dU G for one (c, k) pair: dU [6][6] → dw [3][3] (Gᵀ's rows: [¼,−⅙,−⅙,1/24,1/24,0],
// [0,−⅙,⅙,1/12,−1/12,0], [0,−⅙,−⅙,⅙,⅙,1]).
inline void gradientToFilter(const float du[kIn][kIn], float dw[3][3]) {
  auto gt = [](const float d[kIn], float out[3]) {
    out[0] = d[0] / 4.f - (d[1] + d[2]) / 6.f + (d[3] + d[4]) / 24.f;
    out[1] = (d[2] - d[1]) / 6.f + (d[3] - d[4]) / 12.f;
    out[2] = (d[3] + d[4] - d[1] - d[2]) / 6.f + d[5];
  };
  float t[3][kIn];  // t[·][b] = Gᵀ · (column b of dU)
  for (int b = 0; b < kIn; b++) {
    float column[kIn], out[3];
    for (int a = 0; a < kIn; a++) column[a] = du[a][b];
    gt(column, out);
    for (int a = 0; a < 3; a++) t[a][b] = out[a];
  }
  for (int a = 0; a < 3; a++) gt(t[a], dw[a]);
}

// dw [3][3][c][k] = Gᵀ (Σ_tiles V ⊙ A dY Aᵀ) G; db[k] = Σ dY[·][k] when db is given (summed
// in float per block of tiles, in double across blocks, as channelSum does).
WINO_AVX2 inline void backwardWeights(const float* x, const float* dy, float* dw, float* db, const Shape& s) {
  const Tiles tiles(s, s.n);
  const int64_t tb = tilesPerBlock(s.c, s.k);
  const int64_t blocks = (tiles.total + tb - 1) / tb;
  const int64_t ck = s.c * s.k, duSize = kPos * ck;
  const int threads = omp_get_max_threads();
  static std::vector<float> partsBuf;
  float* parts = scratch(partsBuf, threads * duSize);
  std::fill(parts, parts + threads * duSize, 0.f);
  std::vector<double> biasParts(db ? threads * s.k : 0, 0.0);
#pragma omp parallel num_threads(threads)
  {
    static thread_local std::vector<float> vBuf, mBuf;
    float* v = scratch(vBuf, kPos * tb * s.c);
    float* m = scratch(mBuf, kPos * tb * s.k);
    float* du = parts + omp_get_thread_num() * duSize;
    static thread_local std::vector<float> sumBuf;
    float* blockSums = db ? scratch(sumBuf, s.k) : nullptr;
    double* threadSums = db ? biasParts.data() + omp_get_thread_num() * s.k : nullptr;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t t0 = b * tb, count = std::min(tb, tiles.total - t0);
      transformInput(x, s, tiles, t0, count, tb, v);
      if (blockSums) std::fill(blockSums, blockSums + s.k, 0.f);
      transformGradient(dy, s, tiles, t0, count, tb, m, blockSums);
      if (blockSums)
        for (int64_t q = 0; q < s.k; q++) threadSums[q] += blockSums[q];
      for (int p = 0; p < kPos; p++) {
        const float* vp = v + p * tb * s.c;
        const float* mp = m + p * tb * s.k;
        float* dup = du + p * ck;
        const micro::EvenRows rows{vp, s.c};
        // du[c…c+4][k…k+16] += Σ_j V[p][j][c…c+4] · M[p][j][k…k+16] over the block's tiles.
        for (int64_t ch = 0; ch < s.c; ch += kGradRows) {
          int64_t kk = 0;
          for (; kk + 16 <= s.k; kk += 16) micro::accumulate<2>(rows, ch, mp + kk, s.k, tb, dup + ch * s.k + kk, s.k);
          if (kk < s.k) micro::accumulate<1>(rows, ch, mp + kk, s.k, tb, dup + ch * s.k + kk, s.k);
        }
      }
    }
  }
  for (int t = 1; t < threads; t++)
    for (int64_t i = 0; i < duSize; i++) parts[i] += parts[t * duSize + i];
  if (db)
    for (int64_t q = 0; q < s.k; q++) {
      double sum = 0;
      for (int t = 0; t < threads; t++) sum += biasParts[t * s.k + q];
      db[q] = static_cast<float>(sum);
    }
  for (int64_t i = 0; i < ck; i++) {
    float d[kIn][kIn], out[3][3];
    for (int p = 0; p < kPos; p++) d[p / kIn][p % kIn] = parts[p * ck + i];
    gradientToFilter(d, out);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) dw[(a * 3 + b) * ck + i] = out[a][b];
  }
}

#undef WINO_AVX2

}  // namespace winograd
