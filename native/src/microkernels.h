// What pretext's convolution kernels share (winograd.h, strided.h): a walk over a grid, and the
// register-blocked products, their rows addressed through pointers, so that one kernel serves
// rows laid out evenly (Winograd's transformed tiles) and rows gathered from under a filter's taps
// (strided).
// - product<V>: 6 rows × 8V columns of Σ_t Σ_i src[t][j][i] · f[t][i][·];
// - accumulate<V>: 4 rows × 8V columns of Σ_p src[p][i] · g[p][·], added into du.
// The accumulators are named variables: as arrays, GCC stored them to the stack every iteration.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace micro {

#define MICRO_AVX2 __attribute__((target("avx2,fma")))

constexpr int kPx = 6;        // rows per product
constexpr int kGradRows = 4;  // rows (input channels) per accumulation

// Walks the cells (image, row, column) of n images' rows × cols grids in order from cell p,
// without a division per cell: output pixels (strided.h), 4×4 output tiles (winograd.h).
struct Cursor {
  int64_t rows, cols, img, r, c;
  Cursor(int64_t rows_, int64_t cols_, int64_t p) : rows(rows_), cols(cols_) {
    img = p / (rows * cols);
    r = p / cols % rows;
    c = p % cols;
  }
  void next() {
    if (++c < cols) return;
    c = 0;
    if (++r < rows) return;
    r = 0;
    img++;
  }
};

// Accumulators a<r>0 and, for 16 columns (V = 2), a<r>1.
#define MICRO_ACC(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = _mm256_setzero_ps();
#define MICRO_FMA(r, src)                                           \
  {                                                                 \
    const __m256 s = _mm256_broadcast_ss(src);                      \
    a##r##0 = _mm256_fmadd_ps(s, b0, a##r##0);                      \
    if constexpr (V == 2) a##r##1 = _mm256_fmadd_ps(s, b1, a##r##1); \
  }

// Up to 6 rows × 16 columns of results (v[·][1] unused for 8 columns).
struct Block16 {
  __m256 v[kPx][2];
};

// out[j][0…8V) = Σ_t Σ_i src[t][j][i] · f[t][i][0…8V) for kPx rows j: src[t] holds the rows' data
// for tap t (len floats each), f[t] = filter + t·tapStride, its rows ld apart. V = 2: 16 columns,
// V = 1: the last 8 where a width is not a multiple of 16.
template <int V>
MICRO_AVX2 inline Block16 product(const float* const* src, int64_t taps, int64_t len, const float* filter, int64_t tapStride,
                                  int64_t ld) {
  static_assert(V == 1 || V == 2);
  MICRO_ACC(0) MICRO_ACC(1) MICRO_ACC(2) MICRO_ACC(3) MICRO_ACC(4) MICRO_ACC(5)
  for (int64_t t = 0; t < taps; t++) {
    const float* const* s = src + t * kPx;
    const float *s0 = s[0], *s1 = s[1], *s2 = s[2], *s3 = s[3], *s4 = s[4], *s5 = s[5];
    const float* f = filter + t * tapStride;
    for (int64_t i = 0; i < len; i++) {
      const __m256 b0 = _mm256_loadu_ps(f + i * ld);
      const __m256 b1 = V == 2 ? _mm256_loadu_ps(f + i * ld + 8) : b0;
      MICRO_FMA(0, s0 + i) MICRO_FMA(1, s1 + i) MICRO_FMA(2, s2 + i)
      MICRO_FMA(3, s3 + i) MICRO_FMA(4, s4 + i) MICRO_FMA(5, s5 + i)
    }
  }
  return {{{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}}};
}

// Where accumulate's rows lie: evenly spaced (Winograd's tiles: no pointer to load per row), or
// through a table (strided's gathered pixels).
struct EvenRows {
  const float* base;
  int64_t stride;
  const float* operator[](int64_t p) const { return base + p * stride; }
};
struct TableRows {
  const float* const* rows;
  const float* operator[](int64_t p) const { return rows[p]; }
};

// du[r][0…8V) += Σ_p src[p][ci + r] · g[p][0…8V) for kGradRows (4) rows r, du's rows duLd apart.
template <int V, typename Rows>
MICRO_AVX2 inline void accumulate(Rows src, int64_t ci, const float* g, int64_t ld, int64_t count, float* du, int64_t duLd) {
  static_assert(V == 1 || V == 2);
  MICRO_ACC(0) MICRO_ACC(1) MICRO_ACC(2) MICRO_ACC(3)
  for (int64_t p = 0; p < count; p++) {
    const __m256 b0 = _mm256_loadu_ps(g + p * ld);
    const __m256 b1 = V == 2 ? _mm256_loadu_ps(g + p * ld + 8) : b0;
    const float* v = src[p] + ci;
    MICRO_FMA(0, v) MICRO_FMA(1, v + 1) MICRO_FMA(2, v + 2) MICRO_FMA(3, v + 3)
  }
  const __m256 acc[kGradRows][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
  for (int r = 0; r < kGradRows; r++)
    for (int q = 0; q < V; q++) {
      float* o = du + r * duLd + 8 * q;
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[r][q]));
    }
}

#undef MICRO_ACC
#undef MICRO_FMA
#undef MICRO_AVX2

}  // namespace micro
