// pretext's wasm kernels: SIMD-128 loops that run inside tfjs-wasm's own memory (imported), so
// that tensors are read and written in place, by the main thread and by helper workers that
// instantiate this same module on the same (shared) memory.
//
// Built by scripts/build-wasm-kernels.mjs (clang --target=wasm32) into gen/wasm/, twice: with
// atomics for tfjs' threaded build, whose memory is shared, and without for its single-threaded
// one. Rules that keep it safe inside another module's memory:
// - no static data and no C stack (no arrays or address-taken locals): lld's data segments
//   and stack would land in memory that emscripten owns. The build checks the module for both;
// - every buffer comes from the caller (tfjs' malloc), as byte offsets.
//
// Work is split into tasks that threads claim from one counter. Reductions (the convolution's
// filter gradient, channel sums) give each task its own partial result, summed in task order
// afterwards: the results are the same bits whatever the number of threads.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

#ifdef PRETEXT_SHARED
#define CLAIM(p) __atomic_fetch_add((p), 1, __ATOMIC_SEQ_CST)
#define FINISHED(p) __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define WAKE(p) __builtin_wasm_memory_atomic_notify((int *)(p), 1u)
#else
#define CLAIM(p) ((*(p))++)
#define FINISHED(p) (++(*(p)))
#define WAKE(p) ((void)0)
#endif

enum Kind {
  CONV_FILTER_GRAD = 1,
  BN_FORWARD_SUMS = 2,
  BN_FORWARD_APPLY = 3,
  BN_BACKWARD_SUMS = 4,
  BN_BACKWARD_APPLY = 5,
  CONV_INPUT_GRAD = 6,
  CONV_FORWARD = 7,
};

// One job at a time, written by the main thread (see wasm-kernels/simd-pool.ts for the layout).
typedef struct {
  int32_t kind;
  int32_t tasks;
  int32_t next; // the next task to claim
  int32_t done; // tasks finished; the main thread waits on it
  int32_t i[28];
} Job;

// ---------------------------------------------------------------------------------------------
// Per-channel sums over a range of pixels (channels last, c a multiple of 4). Summed in float32
// SIMD over blocks of pixels, then added into float64 totals per block: float32 alone would lose
// digits over 100k pixels, float64 throughout would halve the vector width.

#define SUM_BLOCK 64

/** s1 += Σ (x − shift), s2 += Σ (x − shift)² (the shift avoids the variance's cancellation). */
static void shifted_moments(const float *x, const float *shift, int32_t p0, int32_t p1, int32_t c, double *s1, double *s2) {
  for (int32_t b0 = p0; b0 < p1; b0 += SUM_BLOCK) {
    int32_t b1 = b0 + SUM_BLOCK < p1 ? b0 + SUM_BLOCK : p1;
    for (int32_t k = 0; k < c; k += 4) {
      v128_t k4 = wasm_v128_load(shift + k);
      v128_t a = wasm_f32x4_splat(0.f), q = wasm_f32x4_splat(0.f);
      const float *px = x + (int64_t)b0 * c + k;
      for (int32_t p = b0; p < b1; p++, px += c) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(px), k4);
        a = wasm_f32x4_add(a, d);
        q = wasm_f32x4_add(q, wasm_f32x4_mul(d, d));
      }
      s1[k] += wasm_f32x4_extract_lane(a, 0), s1[k + 1] += wasm_f32x4_extract_lane(a, 1);
      s1[k + 2] += wasm_f32x4_extract_lane(a, 2), s1[k + 3] += wasm_f32x4_extract_lane(a, 3);
      s2[k] += wasm_f32x4_extract_lane(q, 0), s2[k + 1] += wasm_f32x4_extract_lane(q, 1);
      s2[k + 2] += wasm_f32x4_extract_lane(q, 2), s2[k + 3] += wasm_f32x4_extract_lane(q, 3);
    }
  }
}

/** g = dy·step(y) (or dy without y): s1 += Σ g, s2 += Σ g·(x − mean). */
static void gradient_dots(const float *dy, const float *y, const float *x, const float *mean, int32_t p0, int32_t p1,
                          int32_t c, double *s1, double *s2) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int32_t b0 = p0; b0 < p1; b0 += SUM_BLOCK) {
    int32_t b1 = b0 + SUM_BLOCK < p1 ? b0 + SUM_BLOCK : p1;
    for (int32_t k = 0; k < c; k += 4) {
      v128_t m4 = wasm_v128_load(mean + k);
      v128_t a = zero, q = zero;
      int64_t at = (int64_t)b0 * c + k;
      for (int32_t p = b0; p < b1; p++, at += c) {
        v128_t g = wasm_v128_load(dy + at);
        if (y) g = wasm_v128_and(g, wasm_f32x4_gt(wasm_v128_load(y + at), zero));
        a = wasm_f32x4_add(a, g);
        q = wasm_f32x4_add(q, wasm_f32x4_mul(g, wasm_f32x4_sub(wasm_v128_load(x + at), m4)));
      }
      s1[k] += wasm_f32x4_extract_lane(a, 0), s1[k + 1] += wasm_f32x4_extract_lane(a, 1);
      s1[k + 2] += wasm_f32x4_extract_lane(a, 2), s1[k + 3] += wasm_f32x4_extract_lane(a, 3);
      s2[k] += wasm_f32x4_extract_lane(q, 0), s2[k + 1] += wasm_f32x4_extract_lane(q, 1);
      s2[k + 2] += wasm_f32x4_extract_lane(q, 2), s2[k + 3] += wasm_f32x4_extract_lane(q, 3);
    }
  }
}

/** s += Σ v per channel. */
static void channel_sums(const float *v, int32_t p0, int32_t p1, int32_t c, double *s) {
  for (int32_t b0 = p0; b0 < p1; b0 += SUM_BLOCK) {
    int32_t b1 = b0 + SUM_BLOCK < p1 ? b0 + SUM_BLOCK : p1;
    for (int32_t k = 0; k < c; k += 4) {
      v128_t a = wasm_f32x4_splat(0.f);
      const float *pv = v + (int64_t)b0 * c + k;
      for (int32_t p = b0; p < b1; p++, pv += c) a = wasm_f32x4_add(a, wasm_v128_load(pv));
      s[k] += wasm_f32x4_extract_lane(a, 0), s[k + 1] += wasm_f32x4_extract_lane(a, 1);
      s[k + 2] += wasm_f32x4_extract_lane(a, 2), s[k + 3] += wasm_f32x4_extract_lane(a, 3);
    }
  }
}

// A 4×8 block of float32 in registers (4 rows of two vectors), grown by rank-1 products: the
// micro-kernel of both convolution gradients. Inlined, its fields stay in locals (registers).
typedef struct {
  v128_t r0a, r0b, r1a, r1b, r2a, r2b, r3a, r3b;
} Block;

#define INLINE static inline __attribute__((always_inline))

INLINE Block block_load(const float *r0, const float *r1, const float *r2, const float *r3) {
  return (Block){wasm_v128_load(r0), wasm_v128_load(r0 + 4), wasm_v128_load(r1), wasm_v128_load(r1 + 4),
                 wasm_v128_load(r2), wasm_v128_load(r2 + 4), wasm_v128_load(r3), wasm_v128_load(r3 + 4)};
}

INLINE void block_store(Block k, float *r0, float *r1, float *r2, float *r3) {
  wasm_v128_store(r0, k.r0a), wasm_v128_store(r0 + 4, k.r0b);
  wasm_v128_store(r1, k.r1a), wasm_v128_store(r1 + 4, k.r1b);
  wasm_v128_store(r2, k.r2a), wasm_v128_store(r2 + 4, k.r2b);
  wasm_v128_store(r3, k.r3a), wasm_v128_store(r3 + 4, k.r3b);
}

/** Row i += s_i · (v0, v1). */
INLINE Block block_madd(Block k, v128_t s0, v128_t s1, v128_t s2, v128_t s3, v128_t v0, v128_t v1) {
  k.r0a = wasm_f32x4_add(k.r0a, wasm_f32x4_mul(s0, v0)), k.r0b = wasm_f32x4_add(k.r0b, wasm_f32x4_mul(s0, v1));
  k.r1a = wasm_f32x4_add(k.r1a, wasm_f32x4_mul(s1, v0)), k.r1b = wasm_f32x4_add(k.r1b, wasm_f32x4_mul(s1, v1));
  k.r2a = wasm_f32x4_add(k.r2a, wasm_f32x4_mul(s2, v0)), k.r2b = wasm_f32x4_add(k.r2b, wasm_f32x4_mul(s2, v1));
  k.r3a = wasm_f32x4_add(k.r3a, wasm_f32x4_mul(s3, v0)), k.r3b = wasm_f32x4_add(k.r3b, wasm_f32x4_mul(s3, v1));
  return k;
}

static void zero_f64(double *p, int32_t n) {
  for (int32_t i = 0; i < n; i++) p[i] = 0;
}

static void zero_f32(float *p, int32_t n) {
  for (int32_t i = 0; i < n; i++) p[i] = 0;
}

/** The pixel range [p0, p1) of task t when m pixels are split into `tasks` parts. */
static void task_range(int32_t t, int32_t tasks, int32_t m, int32_t *p0, int32_t *p1) {
  *p0 = (int32_t)((int64_t)m * t / tasks);
  *p1 = (int32_t)((int64_t)m * (t + 1) / tasks);
}

// ---------------------------------------------------------------------------------------------
// Convolution filter gradient, channels last: dW[i,j,ci,co] = Σ_{n,y,x} X[n, y·sh+i−pt,
// x·sw+j−pl, ci] · dY[n,y,x,co]. Per tap, a GEMM whose long dimension is the pixels: a 4×8
// block of dW stays in registers while a few output rows of pixels stream past (the rows are
// the K-block: they sit in L1 across the taps and channel blocks). Needs ci % 4 == 0, co % 8 == 0.
// Task t takes images [n·t/T, n·(t+1)/T) into its own dW (and bias-gradient) partial.

static void filter_grad_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *X = (const float *)(intptr_t)a[0];
  const float *DY = (const float *)(intptr_t)a[1];
  float *part = (float *)(intptr_t)a[2];
  double *bias_part = (double *)(intptr_t)a[3];
  const int32_t n = a[4], h = a[5], w = a[6], c = a[7], ho = a[8], wo = a[9], o = a[10];
  const int32_t kh = a[11], kw = a[12], sh = a[13], sw = a[14], pt = a[15], pl = a[16];
  const int32_t size = kh * kw * c * o;
  float *D = part + (int64_t)t * size;
  zero_f32(D, size);
  int32_t n0, n1;
  task_range(t, tasks, n, &n0, &n1);
  if (bias_part) {
    double *b = bias_part + (int64_t)t * o;
    zero_f64(b, o);
    channel_sums(DY, n0 * ho * wo, n1 * ho * wo, o, b);
  }
  // Rows per K-block: about 64 output pixels.
  const int32_t rows = wo >= 64 ? 1 : 64 / wo;
  for (int32_t img = n0; img < n1; img++) {
    const float *Xn = X + (int64_t)img * h * w * c;
    const float *DYn = DY + (int64_t)img * ho * wo * o;
    for (int32_t y0 = 0; y0 < ho; y0 += rows) {
      const int32_t y1 = y0 + rows < ho ? y0 + rows : ho;
      for (int32_t i = 0; i < kh; i++) {
        for (int32_t j = 0; j < kw; j++) {
          // The output columns whose input column x·sw + j − pl lies inside the image.
          int32_t lo = pl - j > 0 ? (pl - j + sw - 1) / sw : 0;
          int32_t top = w - 1 + pl - j;
          if (top < 0) continue;
          int32_t hi = top / sw + 1;
          if (hi > wo) hi = wo;
          if (lo >= hi) continue;
          float *Dt = D + (int64_t)(i * kw + j) * c * o;
          for (int32_t ci = 0; ci < c; ci += 4) {
            for (int32_t co = 0; co < o; co += 8) {
              float *d0 = Dt + (int64_t)ci * o + co;
              float *d1 = d0 + o, *d2 = d1 + o, *d3 = d2 + o;
              Block acc = block_load(d0, d1, d2, d3);
              for (int32_t y = y0; y < y1; y++) {
                const int32_t iy = y * sh + i - pt;
                if (iy < 0 || iy >= h) continue;
                const float *xp = Xn + ((int64_t)iy * w + (lo * sw + j - pl)) * c + ci;
                const float *gp = DYn + ((int64_t)y * wo + lo) * o + co;
                const int32_t xstep = sw * c;
                for (int32_t x = lo; x < hi; x++, xp += xstep, gp += o) {
                  acc = block_madd(acc, wasm_v128_load32_splat(xp), wasm_v128_load32_splat(xp + 1), wasm_v128_load32_splat(xp + 2),
                                   wasm_v128_load32_splat(xp + 3), wasm_v128_load(gp), wasm_v128_load(gp + 4));
                }
              }
              block_store(acc, d0, d1, d2, d3);
            }
          }
        }
      }
    }
  }
}

// Convolution input gradient, channels last: dX[n, y·sh+i−pt, x·sw+j−pl, ci] += Σ_co
// W[i,j,ci,co] · dY[n,y,x,co], for every tap and output pixel. For one tap and dY row, four
// output pixels (input pixels sw apart) by 8 input channels stay in registers over the co loop,
// reading the filter transposed to [kh][kw][co][ci] (transpose_filter). Needs ci % 8 == 0.
// Task t takes images [n·t/T, n·(t+1)/T): no two tasks write the same pixel.

static void input_grad_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *DY = (const float *)(intptr_t)a[0];
  const float *WT = (const float *)(intptr_t)a[1];
  float *DX = (float *)(intptr_t)a[2];
  const int32_t n = a[3], h = a[4], w = a[5], c = a[6], ho = a[7], wo = a[8], o = a[9];
  const int32_t kh = a[10], kw = a[11], sh = a[12], sw = a[13], pt = a[14], pl = a[15];
  int32_t n0, n1;
  task_range(t, tasks, n, &n0, &n1);
  zero_f32(DX + (int64_t)n0 * h * w * c, (n1 - n0) * h * w * c);
  for (int32_t img = n0; img < n1; img++) {
    float *Xn = DX + (int64_t)img * h * w * c;
    const float *DYn = DY + (int64_t)img * ho * wo * o;
    for (int32_t y = 0; y < ho; y++) {
      for (int32_t i = 0; i < kh; i++) {
        const int32_t iy = y * sh + i - pt;
        if (iy < 0 || iy >= h) continue;
        for (int32_t j = 0; j < kw; j++) {
          int32_t lo = pl - j > 0 ? (pl - j + sw - 1) / sw : 0;
          int32_t top = w - 1 + pl - j;
          if (top < 0) continue;
          int32_t hi = top / sw + 1;
          if (hi > wo) hi = wo;
          const float *Wt = WT + (int64_t)(i * kw + j) * o * c;
          const int64_t xstep = (int64_t)sw * c;
          int32_t x = lo;
          for (; x + 4 <= hi; x += 4) {
            const float *g = DYn + ((int64_t)y * wo + x) * o;
            float *d0 = Xn + ((int64_t)iy * w + (x * sw + j - pl)) * c;
            for (int32_t ci = 0; ci < c; ci += 8) {
              float *e0 = d0 + ci, *e1 = e0 + xstep, *e2 = e1 + xstep, *e3 = e2 + xstep;
              Block acc = block_load(e0, e1, e2, e3);
              const float *wp = Wt + ci;
              for (int32_t co = 0; co < o; co++, wp += c)
                acc = block_madd(acc, wasm_v128_load32_splat(g + co), wasm_v128_load32_splat(g + o + co),
                                 wasm_v128_load32_splat(g + 2 * o + co), wasm_v128_load32_splat(g + 3 * o + co), wasm_v128_load(wp),
                                 wasm_v128_load(wp + 4));
              block_store(acc, e0, e1, e2, e3);
            }
          }
          for (; x < hi; x++) {
            const float *g = DYn + ((int64_t)y * wo + x) * o;
            float *e0 = Xn + ((int64_t)iy * w + (x * sw + j - pl)) * c;
            for (int32_t ci = 0; ci < c; ci += 8) {
              v128_t a00 = wasm_v128_load(e0 + ci), a01 = wasm_v128_load(e0 + ci + 4);
              const float *wp = Wt + ci;
              for (int32_t co = 0; co < o; co++, wp += c) {
                const v128_t g0 = wasm_v128_load32_splat(g + co);
                a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(g0, wasm_v128_load(wp)));
                a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(g0, wasm_v128_load(wp + 4)));
              }
              wasm_v128_store(e0 + ci, a00), wasm_v128_store(e0 + ci + 4, a01);
            }
          }
        }
      }
    }
  }
}

// Convolution forward, channels last, with optional bias and ReLU: y[n,y,x,co] = Σ_{i,j,ci}
// X[n, y·sh+i−pt, x·sw+j−pl, ci] · W[i,j,ci,co] + b[co]. Four output pixels of a row by 8 output
// channels stay in registers over every tap and input channel (no partial sums in memory); the
// pixels whose window crosses the image's edge take a checked path, one at a time. Needs
// co % 8 == 0. Task t takes images [n·t/T, n·(t+1)/T).

// ReLU as tfjs: NaN passes, −0 becomes +0.
INLINE v128_t relu4(v128_t v) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  return wasm_v128_bitselect(v, zero, wasm_v128_or(wasm_f32x4_gt(v, zero), wasm_f32x4_ne(v, v)));
}

static void forward_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *X = (const float *)(intptr_t)a[0];
  const float *W = (const float *)(intptr_t)a[1];
  const float *B = (const float *)(intptr_t)a[2];
  float *Y = (float *)(intptr_t)a[3];
  const int32_t n = a[4], h = a[5], w = a[6], c = a[7], ho = a[8], wo = a[9], o = a[10];
  const int32_t kh = a[11], kw = a[12], sh = a[13], sw = a[14], pt = a[15], pl = a[16], relu = a[17];
  // Output columns whose whole window lies inside the image: [inLo, inHi).
  const int32_t inLo = (pl + sw - 1) / sw;
  int32_t inHi = w - kw + pl >= 0 ? (w - kw + pl) / sw + 1 : 0;
  if (inHi > wo) inHi = wo;
  int32_t n0, n1;
  task_range(t, tasks, n, &n0, &n1);
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int32_t img = n0; img < n1; img++) {
    const float *Xn = X + (int64_t)img * h * w * c;
    for (int32_t y = 0; y < ho; y++) {
      float *out = Y + (((int64_t)img * ho + y) * wo) * o;
      const int32_t i0 = pt - y * sh > 0 ? pt - y * sh : 0;
      const int32_t i1 = h + pt - y * sh < kh ? h + pt - y * sh : kh;
      for (int32_t co = 0; co < o; co += 8) {
        const v128_t b0 = B ? wasm_v128_load(B + co) : zero, b1 = B ? wasm_v128_load(B + co + 4) : zero;
        int32_t x = 0;
        while (x < wo) {
          if (x >= inLo && x + 4 <= inHi) {
            Block acc = {b0, b1, b0, b1, b0, b1, b0, b1};
            for (int32_t i = i0; i < i1; i++) {
              const float *row = Xn + ((int64_t)(y * sh + i - pt) * w + (x * sw - pl)) * c;
              const int64_t step = (int64_t)sw * c;
              for (int32_t j = 0; j < kw; j++) {
                const float *xp = row + (int64_t)j * c;
                const float *wp = W + ((int64_t)(i * kw + j) * c) * o + co;
                for (int32_t ci = 0; ci < c; ci++, xp++, wp += o)
                  acc = block_madd(acc, wasm_v128_load32_splat(xp), wasm_v128_load32_splat(xp + step), wasm_v128_load32_splat(xp + 2 * step),
                                   wasm_v128_load32_splat(xp + 3 * step), wasm_v128_load(wp), wasm_v128_load(wp + 4));
              }
            }
            if (relu) {
              acc.r0a = relu4(acc.r0a), acc.r0b = relu4(acc.r0b), acc.r1a = relu4(acc.r1a), acc.r1b = relu4(acc.r1b);
              acc.r2a = relu4(acc.r2a), acc.r2b = relu4(acc.r2b), acc.r3a = relu4(acc.r3a), acc.r3b = relu4(acc.r3b);
            }
            float *o0 = out + (int64_t)x * o + co;
            block_store(acc, o0, o0 + o, o0 + 2 * o, o0 + 3 * o);
            x += 4;
            continue;
          }
          // One pixel, taps checked against the image's edges.
          v128_t s0 = b0, s1 = b1;
          for (int32_t i = i0; i < i1; i++) {
            const int32_t iy = y * sh + i - pt;
            for (int32_t j = 0; j < kw; j++) {
              const int32_t ix = x * sw + j - pl;
              if (ix < 0 || ix >= w) continue;
              const float *xp = Xn + ((int64_t)iy * w + ix) * c;
              const float *wp = W + ((int64_t)(i * kw + j) * c) * o + co;
              for (int32_t ci = 0; ci < c; ci++, wp += o) {
                const v128_t v = wasm_v128_load32_splat(xp + ci);
                s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(v, wasm_v128_load(wp)));
                s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(v, wasm_v128_load(wp + 4)));
              }
            }
          }
          if (relu) s0 = relu4(s0), s1 = relu4(s1);
          wasm_v128_store(out + (int64_t)x * o + co, s0), wasm_v128_store(out + (int64_t)x * o + co + 4, s1);
          x++;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training batch norm, channels last (c % 4 == 0), over m pixels. Forward: shifted moments per
// task, then (in the finaliser) mean, variance, and y = a·x + b [+ residual] [ReLU] per pixel.
// Backward: with g = dy·step(y) (through the ReLU when there is one), Σg and Σg·(x−μ) per task,
// then dx = p·g + q·x + r and, with a residual, dResidual = g.

static void bn_forward_sums_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *x = (const float *)(intptr_t)a[0];
  const float *shift = (const float *)(intptr_t)a[1];
  double *part = (double *)(intptr_t)a[2];
  const int32_t m = a[3], c = a[4];
  double *s1 = part + (int64_t)t * 2 * c, *s2 = s1 + c;
  zero_f64(s1, 2 * c);
  int32_t p0, p1;
  task_range(t, tasks, m, &p0, &p1);
  shifted_moments(x, shift, p0, p1, c, s1, s2);
}

static void bn_forward_apply_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *x = (const float *)(intptr_t)a[0];
  const float *res = (const float *)(intptr_t)a[1];
  float *y = (float *)(intptr_t)a[2];
  const float *sa = (const float *)(intptr_t)a[3];
  const float *sb = (const float *)(intptr_t)a[4];
  const int32_t m = a[5], c = a[6], relu = a[7];
  int32_t p0, p1;
  task_range(t, tasks, m, &p0, &p1);
  for (int32_t p = p0; p < p1; p++) {
    const int64_t row = (int64_t)p * c;
    for (int32_t k = 0; k < c; k += 4) {
      v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + row + k), wasm_v128_load(sa + k)), wasm_v128_load(sb + k));
      if (res) v = wasm_f32x4_add(v, wasm_v128_load(res + row + k));
      if (relu) v = relu4(v);
      wasm_v128_store(y + row + k, v);
    }
  }
}

static void bn_backward_sums_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *dy = (const float *)(intptr_t)a[0];
  const float *y = (const float *)(intptr_t)a[1];
  const float *x = (const float *)(intptr_t)a[2];
  const float *mean = (const float *)(intptr_t)a[3];
  double *part = (double *)(intptr_t)a[4];
  const int32_t m = a[5], c = a[6];
  double *s1 = part + (int64_t)t * 2 * c, *s2 = s1 + c;
  zero_f64(s1, 2 * c);
  int32_t p0, p1;
  task_range(t, tasks, m, &p0, &p1);
  gradient_dots(dy, y, x, mean, p0, p1, c, s1, s2);
}

static void bn_backward_apply_task(const int32_t *a, int32_t t, int32_t tasks) {
  const float *dy = (const float *)(intptr_t)a[0];
  const float *y = (const float *)(intptr_t)a[1];
  const float *x = (const float *)(intptr_t)a[2];
  const float *sp = (const float *)(intptr_t)a[3];
  const float *sq = (const float *)(intptr_t)a[4];
  const float *sr = (const float *)(intptr_t)a[5];
  float *dx = (float *)(intptr_t)a[6];
  float *dres = (float *)(intptr_t)a[7];
  const int32_t m = a[8], c = a[9];
  int32_t p0, p1;
  task_range(t, tasks, m, &p0, &p1);
  const v128_t zero = wasm_f32x4_splat(0.f);
  for (int32_t p = p0; p < p1; p++) {
    const int64_t row = (int64_t)p * c;
    for (int32_t k = 0; k < c; k += 4) {
      v128_t g = wasm_v128_load(dy + row + k);
      if (y) g = wasm_v128_and(g, wasm_f32x4_gt(wasm_v128_load(y + row + k), zero));
      if (dres) wasm_v128_store(dres + row + k, g);
      v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(sp + k), g), wasm_f32x4_mul(wasm_v128_load(sq + k), wasm_v128_load(x + row + k)));
      wasm_v128_store(dx + row + k, wasm_f32x4_add(v, wasm_v128_load(sr + k)));
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Claims and runs the job's tasks until none is left; every thread calls it. */
EXPORT(run_job) void run_job(Job *job) {
  for (;;) {
    const int32_t t = CLAIM(&job->next);
    // Read after the claim: a claim below `tasks` happens after the main thread wrote this job.
    const int32_t tasks = job->tasks;
    if (t >= tasks) return;
    switch (job->kind) {
    case CONV_FILTER_GRAD: filter_grad_task(job->i, t, tasks); break;
    case BN_FORWARD_SUMS: bn_forward_sums_task(job->i, t, tasks); break;
    case BN_FORWARD_APPLY: bn_forward_apply_task(job->i, t, tasks); break;
    case BN_BACKWARD_SUMS: bn_backward_sums_task(job->i, t, tasks); break;
    case BN_BACKWARD_APPLY: bn_backward_apply_task(job->i, t, tasks); break;
    case CONV_INPUT_GRAD: input_grad_task(job->i, t, tasks); break;
    case CONV_FORWARD: forward_task(job->i, t, tasks); break;
    default: break;
    }
    if (FINISHED(&job->done) == tasks) WAKE(&job->done);
  }
}

/** dst[tap][co][ci] = src[tap][ci][co]: the filter as the input gradient reads it. */
EXPORT(transpose_filter) void transpose_filter(float *dst, const float *src, int32_t taps, int32_t c, int32_t o) {
  for (int32_t t = 0; t < taps; t++)
    for (int32_t ci = 0; ci < c; ci++)
      for (int32_t co = 0; co < o; co++) dst[((int64_t)t * o + co) * c + ci] = src[((int64_t)t * c + ci) * o + co];
}

/** out[k] = Σ_t parts[t][k], in task order (k < len). */
EXPORT(sum_parts_f32) void sum_parts_f32(float *out, const float *parts, int32_t count, int32_t len) {
  for (int32_t k = 0; k < len; k++) out[k] = parts[k];
  for (int32_t t = 1; t < count; t++) {
    const float *p = parts + (int64_t)t * len;
    for (int32_t k = 0; k < len; k++) out[k] += p[k];
  }
}

/** out[k] = Σ_t parts[t][k] in float64, in task order, then rounded to float32. */
EXPORT(sum_parts_f64) void sum_parts_f64(float *out, const double *parts, int32_t count, int32_t len) {
  for (int32_t k = 0; k < len; k++) {
    double s = 0;
    for (int32_t t = 0; t < count; t++) s += parts[(int64_t)t * len + k];
    out[k] = (float)s;
  }
}
