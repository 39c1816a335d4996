// Per-channel moments (Σy and Σy²) of a convolution's output, made by the kernel as it writes
// the output, so that the training batch norm after it (bnForward with them) need not read the
// whole output once more for its mean and variance. Summed in float over a block of pixels, in
// double across a thread's blocks, and across threads in thread order (as channelSums does).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <vector>

#include <omp.h>

namespace moments {

// One kernel call's: each thread's running sums, then their total.
class Sums {
 public:
  // out: [2k] (Σy, then Σy²), or null when not asked for (then every method does nothing).
  Sums(double* out, int64_t k) : out_(out), k_(k), parts_(out ? omp_get_max_threads() * 2 * k : 0, 0.0) {}
  bool on() const { return out_ != nullptr; }

  // A thread's block accumulator: add() pixels' values into it, flush() it into the thread's total.
  class Block {
   public:
    Block(Sums& s) : k_(s.k_), total_(s.on() ? s.parts_.data() + omp_get_thread_num() * 2 * s.k_ : nullptr), sums_(total_ ? 2 * s.k_ : 0, 0.f) {}
    float* data() { return total_ ? sums_.data() : nullptr; }
    void flush() {
      if (!total_) return;
      for (int64_t i = 0; i < 2 * k_; i++) total_[i] += sums_[i], sums_[i] = 0.f;
    }

   private:
    int64_t k_;
    double* total_;
    std::vector<float> sums_;
  };

  // The threads' totals, added in thread order, into out.
  void finish() {
    if (!out_) return;
    for (int64_t i = 0; i < 2 * k_; i++) {
      double v = 0;
      for (size_t t = 0; t < parts_.size() / (2 * k_); t++) v += parts_[t * 2 * k_ + i];
      out_[i] = v;
    }
  }

 private:
  double* out_;
  int64_t k_;
  std::vector<double> parts_;
};

// block[ch…ch+8) += Σ of the vectors given; block[k + ch…) += Σ of their squares.
__attribute__((target("avx2,fma"))) inline void add(float* block, int64_t k, int64_t ch, __m256 sum, __m256 squares) {
  _mm256_storeu_ps(block + ch, _mm256_add_ps(_mm256_loadu_ps(block + ch), sum));
  _mm256_storeu_ps(block + k + ch, _mm256_add_ps(_mm256_loadu_ps(block + k + ch), squares));
}

}  // namespace moments
