// Winograd F(2×2, 3×3) convolutions for float32 NHWC tensors with HWIO filters: forward (with
// optional bias and ReLU), backward data and backward weights of 3×3, stride-1 convolutions —
// 17 of ResNet20's 21. oneDNN 2.x has Winograd only for AVX-512; on AVX2 its direct kernels
// spend 36 multiplies per 2×2 outputs and channel pair where this spends 16 (2.25× fewer), and
// work in tfjs' own layout, so no reorders either side.
//
// Each thread takes a block of TB output tiles at a time and keeps it in L2: transform the input
// tiles (V = Bᵀ d B, 16 values per channel), multiply by the transformed filter for each of the
// 16 positions (a [TB×C]·[C×K] product), transform back (Y = Aᵀ M A). The weight gradient is the
// same product in reverse: dU = Σ_tiles V ⊙ (A dY Aᵀ), dW = Gᵀ dU G.
//
// Compiled for AVX2+FMA by function attribute and used only where the CPU has them
// (winograd::usable), so the addon still loads on any x86-64 CPU.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <omp.h>

namespace winograd {

#define WINO_AVX2 __attribute__((target("avx2,fma")))

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

constexpr int kRows = 6;  // tiles per micro-kernel row block

// Tiles per block: V [16][TB][C] and M [16][TB][K] together about 192 KB.
inline int64_t tilesPerBlock(int64_t c, int64_t k) {
  int64_t tb = (192 * 1024) / (16 * 4 * (c + k));
  return std::max<int64_t>(kRows, tb / kRows * kRows);
}

inline float* scratch(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// U[p][c][k] = (G g Gᵀ)[p] for the HWIO filter w [3][3][c][k].
inline void transformFilter(const float* w, int64_t c, int64_t k, float* u) {
  const int64_t ck = c * k;
  for (int64_t i = 0; i < ck; i++) {
    float g[3][3], t[4][3];
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) g[a][b] = w[(a * 3 + b) * ck + i];
    for (int b = 0; b < 3; b++) {
      t[0][b] = g[0][b];
      t[1][b] = 0.5f * (g[0][b] + g[1][b] + g[2][b]);
      t[2][b] = 0.5f * (g[0][b] - g[1][b] + g[2][b]);
      t[3][b] = g[2][b];
    }
    for (int a = 0; a < 4; a++) {
      u[(a * 4 + 0) * ck + i] = t[a][0];
      u[(a * 4 + 1) * ck + i] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
      u[(a * 4 + 2) * ck + i] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
      u[(a * 4 + 3) * ck + i] = t[a][2];
    }
  }
}

// Tile t of the output grid: image, and the top-left corner of its 2×2 outputs.
struct Tiles {
  int64_t rows, cols, total;
  Tiles(const Shape& s, int64_t n) : rows((s.ho + 1) / 2), cols((s.wo + 1) / 2), total(n * rows * cols) {}
};

// Walks the tiles from t0 in order without a division per tile.
struct TileCursor {
  const Tiles& tiles;
  int64_t img, oy, ox;
  TileCursor(const Tiles& t, int64_t t0) : tiles(t) {
    img = t0 / (t.rows * t.cols);
    int64_t r = t0 % (t.rows * t.cols);
    oy = (r / t.cols) * 2;
    ox = (r % t.cols) * 2;
  }
  void next() {
    if ((ox += 2) < tiles.cols * 2) return;
    ox = 0;
    if ((oy += 2) < tiles.rows * 2) return;
    oy = 0;
    img++;
  }
};

// V[p][j][·] = (Bᵀ d B)[p] for the input tiles t0 … t0+count−1 (rows past count are zero).
WINO_AVX2 inline void transformInput(const float* x, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count, int64_t tb,
                                     float* v) {
  const int64_t c = s.c, plane = tb * c;
  const __m256 zero = _mm256_setzero_ps();
  TileCursor at(tiles, t0);
  for (int64_t j = 0; j < tb; j++) {
    if (j >= count) {
      for (int p = 0; p < 16; p++) std::memset(v + p * plane + j * c, 0, c * sizeof(float));
      continue;
    }
    const int64_t img = at.img, oy = at.oy, ox = at.ox;
    at.next();
    const int64_t iy = oy - s.padT, ix = ox - s.padL;
    const float* base = x + img * s.h * s.w * c;
    bool rowOk[4], colOk[4];
    for (int a = 0; a < 4; a++) {
      rowOk[a] = iy + a >= 0 && iy + a < s.h;
      colOk[a] = ix + a >= 0 && ix + a < s.w;
    }
    // Rows in the order 1, 2, 0, 3, each transformed along x as it is loaded (r = d B), so that
    // at most three rows of four vectors are live: holding all sixteen spilled to the stack.
    auto load = [&](int a, int64_t ch, __m256 r[4]) WINO_AVX2 {
      __m256 d[4];
      for (int b = 0; b < 4; b++) d[b] = rowOk[a] && colOk[b] ? _mm256_loadu_ps(base + ((iy + a) * s.w + (ix + b)) * c + ch) : zero;
      r[0] = _mm256_sub_ps(d[0], d[2]);
      r[1] = _mm256_add_ps(d[1], d[2]);
      r[2] = _mm256_sub_ps(d[2], d[1]);
      r[3] = _mm256_sub_ps(d[1], d[3]);
    };
    float* o = v + j * c;
    for (int64_t ch = 0; ch < c; ch += 8) {
      __m256 r1[4], r2[4], r[4];
      load(1, ch, r1);
      load(2, ch, r2);
      for (int b = 0; b < 4; b++) {
        _mm256_storeu_ps(o + ch + (4 + b) * plane, _mm256_add_ps(r1[b], r2[b]));
        _mm256_storeu_ps(o + ch + (8 + b) * plane, _mm256_sub_ps(r2[b], r1[b]));
      }
      load(0, ch, r);
      for (int b = 0; b < 4; b++) _mm256_storeu_ps(o + ch + b * plane, _mm256_sub_ps(r[b], r2[b]));
      load(3, ch, r);
      for (int b = 0; b < 4; b++) _mm256_storeu_ps(o + ch + (12 + b) * plane, _mm256_sub_ps(r1[b], r[b]));
    }
  }
}

// The micro-kernels keep their accumulators in named variables: as arrays, GCC stored them to
// the stack on every iteration (half the forward's time).
#define WINO_ACC2(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = _mm256_setzero_ps();
#define WINO_FMA2(r, src)                      \
  {                                            \
    __m256 s = _mm256_broadcast_ss(src);       \
    a##r##0 = _mm256_fmadd_ps(s, b0, a##r##0); \
    a##r##1 = _mm256_fmadd_ps(s, b1, a##r##1); \
  }

// m[j][k…k+16] = Σ_c v[j][c] · u[c][k…k+16] for kRows (6) rows j: the forward product of one
// position, 16 output channels at a time.
WINO_AVX2 inline void rowsTimesFilter16(const float* v, int64_t c, const float* u, int64_t k, float* m) {
  WINO_ACC2(0) WINO_ACC2(1) WINO_ACC2(2) WINO_ACC2(3) WINO_ACC2(4) WINO_ACC2(5)
  for (int64_t ch = 0; ch < c; ch++) {
    const __m256 b0 = _mm256_loadu_ps(u + ch * k), b1 = _mm256_loadu_ps(u + ch * k + 8);
    WINO_FMA2(0, v + ch) WINO_FMA2(1, v + c + ch) WINO_FMA2(2, v + 2 * c + ch)
    WINO_FMA2(3, v + 3 * c + ch) WINO_FMA2(4, v + 4 * c + ch) WINO_FMA2(5, v + 5 * c + ch)
  }
  float* o = m;
  for (__m256* pair : {&a00, &a10, &a20, &a30, &a40, &a50}) {
    _mm256_storeu_ps(o, pair[0]);
    o += k;
  }
  _mm256_storeu_ps(m + 8, a01);
  _mm256_storeu_ps(m + k + 8, a11);
  _mm256_storeu_ps(m + 2 * k + 8, a21);
  _mm256_storeu_ps(m + 3 * k + 8, a31);
  _mm256_storeu_ps(m + 4 * k + 8, a41);
  _mm256_storeu_ps(m + 5 * k + 8, a51);
}

// The same for the last 8 output channels when k is not a multiple of 16.
WINO_AVX2 inline void rowsTimesFilter8(const float* v, int64_t c, const float* u, int64_t k, float* m) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  for (int64_t ch = 0; ch < c; ch++) {
    const __m256 b = _mm256_loadu_ps(u + ch * k);
    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + ch), b, a0);
    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + c + ch), b, a1);
    a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 2 * c + ch), b, a2);
    a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 3 * c + ch), b, a3);
    a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 4 * c + ch), b, a4);
    a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + 5 * c + ch), b, a5);
  }
  _mm256_storeu_ps(m, a0);
  _mm256_storeu_ps(m + k, a1);
  _mm256_storeu_ps(m + 2 * k, a2);
  _mm256_storeu_ps(m + 3 * k, a3);
  _mm256_storeu_ps(m + 4 * k, a4);
  _mm256_storeu_ps(m + 5 * k, a5);
}

WINO_AVX2 inline void multiplyBlock(const float* v, const float* u, int64_t tb, int64_t c, int64_t k, float* m) {
  for (int p = 0; p < 16; p++) {
    const float* vp = v + p * tb * c;
    const float* up = u + p * c * k;
    float* mp = m + p * tb * k;
    for (int64_t j = 0; j < tb; j += kRows) {
      int64_t kk = 0;
      for (; kk + 16 <= k; kk += 16) rowsTimesFilter16(vp + j * c, c, up + kk, k, mp + j * k + kk);
      if (kk < k) rowsTimesFilter8(vp + j * c, c, up + kk, k, mp + j * k + kk);
    }
  }
}

// y tiles = Aᵀ M A (+ bias, ReLU), written where they fall inside the output.
WINO_AVX2 inline void transformOutput(const float* m, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count, int64_t tb,
                                      const float* bias, bool relu, float* y) {
  const int64_t k = s.k, plane = tb * k;
  const __m256 zero = _mm256_setzero_ps();
  TileCursor at(tiles, t0);
  for (int64_t j = 0; j < count; j++) {
    const int64_t img = at.img, oy = at.oy, ox = at.ox;
    at.next();
    float* base = y + img * s.ho * s.wo * k;
    const bool down = oy + 1 < s.ho, right = ox + 1 < s.wo;
    for (int64_t ch = 0; ch < k; ch += 8) {
      const float* in = m + j * k + ch;
      __m256 t[2][4];
      for (int b = 0; b < 4; b++) {
        __m256 m0 = _mm256_loadu_ps(in + (0 * 4 + b) * plane), m1 = _mm256_loadu_ps(in + (1 * 4 + b) * plane);
        __m256 m2 = _mm256_loadu_ps(in + (2 * 4 + b) * plane), m3 = _mm256_loadu_ps(in + (3 * 4 + b) * plane);
        t[0][b] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        t[1][b] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
      }
      __m256 bv = bias ? _mm256_loadu_ps(bias + ch) : zero;
      for (int a = 0; a < 2; a++) {
        if (a == 1 && !down) break;
        __m256 o0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(t[a][0], t[a][1]), t[a][2]), bv);
        __m256 o1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(t[a][1], t[a][2]), t[a][3]), bv);
        // tfjs' ReLU: NaN passes, −0 becomes 0 (max(x, 0) with x second returns x for NaN).
        if (relu) {
          o0 = _mm256_and_ps(o0, _mm256_cmp_ps(o0, zero, _CMP_NLE_UQ));
          o1 = _mm256_and_ps(o1, _mm256_cmp_ps(o1, zero, _CMP_NLE_UQ));
        }
        float* row = base + ((oy + a) * s.wo + ox) * k + ch;
        _mm256_storeu_ps(row, o0);
        if (right) _mm256_storeu_ps(row + k, o1);
      }
    }
  }
}

// y = conv(x, w) + bias, ReLU if asked; w HWIO [3][3][c][k].
WINO_AVX2 inline void forward(const float* x, const float* w, const float* bias, bool relu, float* y, const Shape& s) {
  static std::vector<float> uBuf;
  float* u = scratch(uBuf, 16 * s.c * s.k);
  transformFilter(w, s.c, s.k, u);
  const Tiles tiles(s, s.n);
  const int64_t tb = tilesPerBlock(s.c, s.k);
  const int64_t blocks = (tiles.total + tb - 1) / tb;
#pragma omp parallel
  {
    static thread_local std::vector<float> vBuf, mBuf;
    float* v = scratch(vBuf, 16 * tb * s.c);
    float* m = scratch(mBuf, 16 * tb * s.k);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t t0 = b * tb, count = std::min(tb, tiles.total - t0);
      transformInput(x, s, tiles, t0, count, tb, v);
      multiplyBlock(v, u, tb, s.c, s.k, m);
      transformOutput(m, s, tiles, t0, count, tb, bias, relu, y);
    }
  }
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

// M[p][j][·] = (A dY Aᵀ)[p] for the output tiles t0 … (rows past count are zero).
WINO_AVX2 inline void transformGradient(const float* dy, const Shape& s, const Tiles& tiles, int64_t t0, int64_t count, int64_t tb,
                                        float* m) {
  const int64_t k = s.k, plane = tb * k;
  const __m256 zero = _mm256_setzero_ps();
  TileCursor at(tiles, t0);
  for (int64_t j = 0; j < tb; j++) {
    if (j >= count) {
      for (int p = 0; p < 16; p++) std::memset(m + p * plane + j * k, 0, k * sizeof(float));
      continue;
    }
    const int64_t img = at.img, oy = at.oy, ox = at.ox;
    at.next();
    const float* base = dy + img * s.ho * s.wo * k;
    const bool down = oy + 1 < s.ho, right = ox + 1 < s.wo;
    for (int64_t ch = 0; ch < k; ch += 8) {
      const float* at = base + (oy * s.wo + ox) * k + ch;
      __m256 g[2][2];
      g[0][0] = _mm256_loadu_ps(at);
      g[0][1] = right ? _mm256_loadu_ps(at + k) : zero;
      g[1][0] = down ? _mm256_loadu_ps(at + s.wo * k) : zero;
      g[1][1] = down && right ? _mm256_loadu_ps(at + s.wo * k + k) : zero;
      // A = [[1,0],[1,1],[1,−1],[0,−1]]: rows then columns.
      __m256 r[4][2];
      for (int b = 0; b < 2; b++) {
        r[0][b] = g[0][b];
        r[1][b] = _mm256_add_ps(g[0][b], g[1][b]);
        r[2][b] = _mm256_sub_ps(g[0][b], g[1][b]);
        r[3][b] = _mm256_sub_ps(zero, g[1][b]);
      }
      float* o = m + j * k + ch;
      for (int a = 0; a < 4; a++) {
        _mm256_storeu_ps(o + (a * 4 + 0) * plane, r[a][0]);
        _mm256_storeu_ps(o + (a * 4 + 1) * plane, _mm256_add_ps(r[a][0], r[a][1]));
        _mm256_storeu_ps(o + (a * 4 + 2) * plane, _mm256_sub_ps(r[a][0], r[a][1]));
        _mm256_storeu_ps(o + (a * 4 + 3) * plane, _mm256_sub_ps(zero, r[a][1]));
      }
    }
  }
}

constexpr int kGradRows = 4;  // input channels per weight-gradient micro-kernel

// du[c…c+4][k…k+16] += Σ_j v[j][c…c+4] · m[j][k…k+16] over tb tiles: one position's product.
WINO_AVX2 inline void accumulateGradient16(const float* v, int64_t c, const float* m, int64_t k, int64_t tb, float* du) {
  WINO_ACC2(0) WINO_ACC2(1) WINO_ACC2(2) WINO_ACC2(3)
  for (int64_t j = 0; j < tb; j++) {
    const __m256 b0 = _mm256_loadu_ps(m + j * k), b1 = _mm256_loadu_ps(m + j * k + 8);
    const float* vj = v + j * c;
    WINO_FMA2(0, vj) WINO_FMA2(1, vj + 1) WINO_FMA2(2, vj + 2) WINO_FMA2(3, vj + 3)
  }
  const __m256 acc[kGradRows][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
  for (int r = 0; r < kGradRows; r++)
    for (int q = 0; q < 2; q++) {
      float* o = du + r * k + 8 * q;
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[r][q]));
    }
}

// The same for the last 8 output channels when k is not a multiple of 16.
WINO_AVX2 inline void accumulateGradient8(const float* v, int64_t c, const float* m, int64_t k, int64_t tb, float* du) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t j = 0; j < tb; j++) {
    const __m256 b = _mm256_loadu_ps(m + j * k);
    const float* vj = v + j * c;
    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vj), b, a0);
    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(vj + 1), b, a1);
    a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(vj + 2), b, a2);
    a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(vj + 3), b, a3);
  }
  const __m256 acc[kGradRows] = {a0, a1, a2, a3};
  for (int r = 0; r < kGradRows; r++) _mm256_storeu_ps(du + r * k, _mm256_add_ps(_mm256_loadu_ps(du + r * k), acc[r]));
}

#undef WINO_ACC2
#undef WINO_FMA2

// dw [3][3][c][k] = Gᵀ (Σ_tiles V ⊙ A dY Aᵀ) G.
WINO_AVX2 inline void backwardWeights(const float* x, const float* dy, float* dw, const Shape& s) {
  const Tiles tiles(s, s.n);
  const int64_t tb = tilesPerBlock(s.c, s.k);
  const int64_t blocks = (tiles.total + tb - 1) / tb;
  const int64_t ck = s.c * s.k, duSize = 16 * ck;
  const int threads = omp_get_max_threads();
  static std::vector<float> partsBuf;
  float* parts = scratch(partsBuf, threads * duSize);
  std::fill(parts, parts + threads * duSize, 0.f);
#pragma omp parallel num_threads(threads)
  {
    static thread_local std::vector<float> vBuf, mBuf;
    float* v = scratch(vBuf, 16 * tb * s.c);
    float* m = scratch(mBuf, 16 * tb * s.k);
    float* du = parts + omp_get_thread_num() * duSize;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t t0 = b * tb, count = std::min(tb, tiles.total - t0);
      transformInput(x, s, tiles, t0, count, tb, v);
      transformGradient(dy, s, tiles, t0, count, tb, m);
      for (int p = 0; p < 16; p++) {
        const float* vp = v + p * tb * s.c;
        const float* mp = m + p * tb * s.k;
        float* dup = du + p * ck;
        for (int64_t ch = 0; ch < s.c; ch += kGradRows) {
          int64_t kk = 0;
          for (; kk + 16 <= s.k; kk += 16) accumulateGradient16(vp + ch, s.c, mp + kk, s.k, tb, dup + ch * s.k + kk);
          if (kk < s.k) accumulateGradient8(vp + ch, s.c, mp + kk, s.k, tb, dup + ch * s.k + kk);
        }
      }
    }
  }
  for (int t = 1; t < threads; t++)
    for (int64_t i = 0; i < duSize; i++) parts[i] += parts[t * duSize + i];
  // dW = Gᵀ dU G with Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]].
  for (int64_t i = 0; i < ck; i++) {
    float d[4][4], t[3][4];
    for (int p = 0; p < 16; p++) d[p / 4][p % 4] = parts[p * ck + i];
    for (int b = 0; b < 4; b++) {
      t[0][b] = d[0][b] + 0.5f * (d[1][b] + d[2][b]);
      t[1][b] = 0.5f * (d[1][b] - d[2][b]);
      t[2][b] = 0.5f * (d[1][b] + d[2][b]) + d[3][b];
    }
    for (int a = 0; a < 3; a++) {
      dw[(a * 3 + 0) * ck + i] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
      dw[(a * 3 + 1) * ck + i] = 0.5f * (t[a][1] - t[a][2]);
      dw[(a * 3 + 2) * ck + i] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
    }
  }
}

#undef WINO_AVX2

}  // namespace winograd
