// pretext's optional native CPU kernels: convolutions (forward, backward data, backward weights)
// through oneDNN and training-mode batch normalisation, on float32 channels-last (NHWC) tensors
// with HWIO filters — tfjs' layouts, so tensors are used in place, never copied or reordered by
// the caller. Built only where Debian's libdnnl-dev is present (scripts/build-native.mjs).
#include <node_api.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

// ---- N-API argument helpers (throw a JS TypeError and return false on bad input) ----

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

  void fail(const std::string& msg) {
    if (ok) napi_throw_type_error(env, nullptr, msg.c_str());
    ok = false;
  }

  float* f32(size_t i, size_t* length = nullptr) {
    if (!ok) return nullptr;
    if (i >= argc) return fail("missing argument " + std::to_string(i)), nullptr;
    bool is = false;
    napi_is_typedarray(env, argv[i], &is);
    if (!is) return fail("argument " + std::to_string(i) + " must be a Float32Array"), nullptr;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env, argv[i], &type, &len, &data, nullptr, nullptr);
    if (type != napi_float32_array) return fail("argument " + std::to_string(i) + " must be a Float32Array"), nullptr;
    if (length) *length = len;
    return static_cast<float*>(data);
  }

  bool isNull(size_t i) {
    if (i >= argc) return true;
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  double num(size_t i) {
    if (!ok) return 0;
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }

  std::vector<int64_t> ints(size_t i, size_t n) {
    std::vector<int64_t> out(n, 0);
    if (!ok) return out;
    bool is = false;
    if (i < argc) napi_is_array(env, argv[i], &is);
    uint32_t len = 0;
    if (is) napi_get_array_length(env, argv[i], &len);
    if (!is || len != n) return fail("argument " + std::to_string(i) + " must be an array of " + std::to_string(n) + " integers"), out;
    for (uint32_t k = 0; k < n; k++) {
      napi_value el;
      napi_get_element(env, argv[i], k, &el);
      int64_t v = 0;
      if (napi_get_value_int64(env, el, &v) != napi_ok) return fail("argument " + std::to_string(i) + " must hold integers"), out;
      out[k] = v;
    }
    return out;
  }
};

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (auto d : v) p *= d;
  return p;
}

// ---- Convolution geometry: tfjs shapes → oneDNN descriptors ----

struct ConvGeom {
  std::vector<int64_t> x, w, y;  // NHWC, HWIO, NHWC as tfjs holds them
  std::vector<int64_t> strides, padL, padR, dil;  // dil in oneDNN's convention (0 = dense)

  memory::desc src() const { return {{x[0], x[3], x[1], x[2]}, dt::f32, tag::nhwc}; }
  memory::desc dst() const { return {{y[0], y[3], y[1], y[2]}, dt::f32, tag::nhwc}; }
  memory::desc wei() const { return {{w[3], w[2], w[0], w[1]}, dt::f32, tag::hwio}; }
  memory::desc bias() const { return {{w[3]}, dt::f32, tag::x}; }

  std::string key(const char* kind, bool withBias) const {
    std::string k = kind;
    for (const auto* v : {&x, &w, &y, &strides, &padL, &padR, &dil})
      for (auto d : *v) k += "," + std::to_string(d);
    return k + (withBias ? "b" : "");
  }

  // Consistency of the shapes the caller passed (a mismatch would read out of bounds).
  std::string check() const {
    if (x[3] != w[2]) return "input channels differ from the filter's";
    if (y[3] != w[3]) return "output channels differ from the filter's";
    if (x[0] != y[0]) return "batch sizes differ";
    for (int i = 0; i < 2; i++) {
      int64_t k = (w[i] - 1) * (dil[i] + 1) + 1;
      int64_t out = (x[1 + i] + padL[i] + padR[i] - k) / strides[i] + 1;
      if (out != y[1 + i] || strides[i] < 1) return "output size does not match input, filter, strides and padding";
    }
    return "";
  }
};

bool readGeom(Args& a, size_t first, ConvGeom& g) {
  // (xShape, wShape, yShape, strides, padTopLeft, padBottomRight, dilations)
  g.x = a.ints(first, 4);
  g.w = a.ints(first + 1, 4);
  g.y = a.ints(first + 2, 4);
  g.strides = a.ints(first + 3, 2);
  g.padL = a.ints(first + 4, 2);
  g.padR = a.ints(first + 5, 2);
  auto d = a.ints(first + 6, 2);
  if (!a.ok) return false;
  g.dil = {d[0] - 1, d[1] - 1};
  std::string err = g.check();
  if (!err.empty()) return a.fail("convolution: " + err), false;
  return true;
}

bool sized(Args& a, size_t len, int64_t want, const char* what) {
  if (!a.ok) return false;
  if (static_cast<int64_t>(len) < want) return a.fail(std::string(what) + " is smaller than its shape"), false;
  return true;
}

// Primitives are built once per geometry (a ResNet has a handful of distinct ones). oneDNN may
// prefer its own blocked layouts (e.g. nChw16c), far faster than plain NHWC for few channels;
// operands are then reordered into and out of scratch buffers around the call.
bool preferBlocked() {
  static const bool v = [] {
    const char* e = std::getenv("PRETEXT_DNNL_LAYOUT");
    return !(e && std::string(e) == "nhwc");
  }();
  return v;
}

memory::desc anyOr(const memory::desc& md) {
  return preferBlocked() ? memory::desc(md.dims(), dt::f32, tag::any) : md;
}

struct Operand {
  int arg;
  memory::desc user;
  void* ptr;
  bool output;
};

struct Cached {
  dnnl::primitive prim;
  memory::desc scratch;
  std::unordered_map<int, memory::desc> want;  // the layout the primitive chose, per argument
  std::unordered_map<int, dnnl::reorder> toPrim, fromPrim;
};
std::unordered_map<std::string, Cached> cache;

// Buffers reused across calls (kernels run one at a time, on the JS thread).
std::vector<std::vector<uint8_t>> pool(8);
void* buffer(size_t slot, size_t bytes) {
  auto& b = pool.at(slot);
  if (b.size() < bytes) b.resize(bytes);
  return b.data();
}

void run(Cached& c, const std::vector<Operand>& ops) {
  auto& s = stream();
  std::unordered_map<int, memory> args;
  struct WriteBack {
    int arg;
    memory tmp, user;
  };
  std::vector<WriteBack> writeBack;
  size_t slot = 1;  // slot 0 is the scratchpad's
  for (const auto& op : ops) {
    memory user(op.user, engine(), op.ptr);
    const memory::desc& want = c.want.at(op.arg);
    if (want == op.user) {
      args.emplace(op.arg, user);
      continue;
    }
    memory tmp(want, engine(), buffer(slot++, want.get_size()));
    if (op.output) {
      if (!c.fromPrim.count(op.arg)) c.fromPrim.emplace(op.arg, dnnl::reorder(tmp, user));
      writeBack.push_back({op.arg, tmp, user});
    } else {
      if (!c.toPrim.count(op.arg)) c.toPrim.emplace(op.arg, dnnl::reorder(user, tmp));
      c.toPrim.at(op.arg).execute(s, user, tmp);
    }
    args.emplace(op.arg, tmp);
  }
  if (c.scratch.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, memory(c.scratch, engine(), buffer(0, c.scratch.get_size())));
  c.prim.execute(s, args);
  for (auto& w : writeBack) c.fromPrim.at(w.arg).execute(s, w.tmp, w.user);
  s.wait();
}

dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc fwdPd(const ConvGeom& g, bool withBias) {
  auto desc = withBias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                         anyOr(g.src()), anyOr(g.wei()), g.bias(), anyOr(g.dst()), g.strides,
                                                         g.dil, g.padL, g.padR)
                       : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                         anyOr(g.src()), anyOr(g.wei()), anyOr(g.dst()), g.strides, g.dil, g.padL,
                                                         g.padR);
  return {desc, userScratchpad(), engine()};
}

napi_value wrapErrors(napi_env env, const std::function<void()>& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// The cached primitive for `key`, built on first use; `args` are the arguments whose layout
// the primitive chose (what `run` reorders into and out of).
template <typename Prim, typename Build>
Cached& cached(const std::string& key, std::initializer_list<int> args, Build build) {
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto pd = build();
    Cached c{Prim(pd), pd.scratchpad_desc(), {}, {}, {}};
    for (int arg : args) c.want.emplace(arg, pd.query_md(dnnl::query::exec_arg_md, arg));
    it = cache.emplace(key, std::move(c)).first;
  }
  return it->second;
}

// convForward(x, w, bias|null, y, xShape, wShape, yShape, strides, padTL, padBR, dilations)
napi_value ConvForward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lw, lb = 0, ly;
  float* x = a.f32(0, &lx);
  float* w = a.f32(1, &lw);
  bool withBias = !a.isNull(2);
  float* b = withBias ? a.f32(2, &lb) : nullptr;
  float* y = a.f32(3, &ly);
  ConvGeom g;
  if (!readGeom(a, 4, g)) return nullptr;
  if (!sized(a, lx, product(g.x), "x") || !sized(a, lw, product(g.w), "filter") || !sized(a, ly, product(g.y), "y")) return nullptr;
  if (withBias && !sized(a, lb, g.w[3], "bias")) return nullptr;
  return wrapErrors(env, [&] {
    auto& prim = withBias ? cached<dnnl::convolution_forward>(g.key("f", true), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
                                                              [&] { return fwdPd(g, true); })
                          : cached<dnnl::convolution_forward>(g.key("f", false), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                                              [&] { return fwdPd(g, false); });
    std::vector<Operand> ops{{DNNL_ARG_SRC, g.src(), x, false}, {DNNL_ARG_WEIGHTS, g.wei(), w, false}, {DNNL_ARG_DST, g.dst(), y, true}};
    if (withBias) ops.push_back({DNNL_ARG_BIAS, g.bias(), b, false});
    run(prim, ops);
  });
}

// convBackwardData(dy, w, dx, xShape, wShape, yShape, strides, padTL, padBR, dilations)
napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ldy, lw, ldx;
  float* dy = a.f32(0, &ldy);
  float* w = a.f32(1, &lw);
  float* dx = a.f32(2, &ldx);
  ConvGeom g;
  if (!readGeom(a, 3, g)) return nullptr;
  if (!sized(a, ldy, product(g.y), "dy") || !sized(a, lw, product(g.w), "filter") || !sized(a, ldx, product(g.x), "dx")) return nullptr;
  return wrapErrors(env, [&] {
    auto& prim = cached<dnnl::convolution_backward_data>(g.key("d", false), {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC}, [&] {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, anyOr(g.src()), anyOr(g.wei()),
                                                 anyOr(g.dst()), g.strides, g.dil, g.padL, g.padR);
      return dnnl::convolution_backward_data::primitive_desc(desc, userScratchpad(), engine(), fwdPd(g, false));
    });
    run(prim, {{DNNL_ARG_DIFF_DST, g.dst(), dy, false}, {DNNL_ARG_WEIGHTS, g.wei(), w, false}, {DNNL_ARG_DIFF_SRC, g.src(), dx, true}});
  });
}

// convBackwardWeights(x, dy, dw, xShape, wShape, yShape, strides, padTL, padBR, dilations)
napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, ldy, ldw;
  float* x = a.f32(0, &lx);
  float* dy = a.f32(1, &ldy);
  float* dw = a.f32(2, &ldw);
  ConvGeom g;
  if (!readGeom(a, 3, g)) return nullptr;
  if (!sized(a, lx, product(g.x), "x") || !sized(a, ldy, product(g.y), "dy") || !sized(a, ldw, product(g.w), "dw")) return nullptr;
  return wrapErrors(env, [&] {
    auto& prim = cached<dnnl::convolution_backward_weights>(g.key("w", false), {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}, [&] {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, anyOr(g.src()), anyOr(g.wei()),
                                                    anyOr(g.dst()), g.strides, g.dil, g.padL, g.padR);
      return dnnl::convolution_backward_weights::primitive_desc(desc, userScratchpad(), engine(), fwdPd(g, false));
    });
    run(prim, {{DNNL_ARG_SRC, g.src(), x, false}, {DNNL_ARG_DIFF_DST, g.dst(), dy, false}, {DNNL_ARG_DIFF_WEIGHTS, g.wei(), dw, true}});
  });
}

// ---- Training-mode batch normalisation over the last axis (same math as fused-batchnorm.ts) ----

// Per-channel sums of f(row) over all rows, threads splitting the rows; float64 accumulators.
template <typename F>
void channelSums(int64_t rows, int64_t c, double* s1, double* s2, F f) {
  int nt = omp_get_max_threads();
  std::vector<double> part(static_cast<size_t>(nt) * 2 * c, 0.0);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    double* p1 = part.data() + static_cast<size_t>(t) * 2 * c;
    double* p2 = p1 + c;
    std::vector<float> a1(c), a2(c);  // float partials per block of rows, flushed to double
#pragma omp for schedule(static)
    for (int64_t blk = 0; blk < (rows + 63) / 64; blk++) {
      std::fill(a1.begin(), a1.end(), 0.f);
      std::fill(a2.begin(), a2.end(), 0.f);
      int64_t end = std::min(rows, (blk + 1) * 64);
      for (int64_t r = blk * 64; r < end; r++) f(r, a1.data(), a2.data());
      for (int64_t k = 0; k < c; k++) p1[k] += a1[k], p2[k] += a2[k];
    }
  }
  for (int t = 0; t < nt; t++)
    for (int64_t k = 0; k < c; k++) s1[k] += part[t * 2 * c + k], s2[k] += part[t * 2 * c + c + k];
}

// bnForward(x, gamma, beta, y, mean, variance, channels, epsilon)
napi_value BnForward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lg, lb, ly, lm, lv;
  const float* x = a.f32(0, &lx);
  const float* gamma = a.f32(1, &lg);
  const float* beta = a.f32(2, &lb);
  float* y = a.f32(3, &ly);
  float* meanOut = a.f32(4, &lm);
  float* varOut = a.f32(5, &lv);
  int64_t c = static_cast<int64_t>(a.num(6));
  double eps = a.num(7);
  if (!a.ok) return nullptr;
  if (c <= 0 || lx % c != 0 || ly < lx || lg < (size_t)c || lb < (size_t)c || lm < (size_t)c || lv < (size_t)c)
    return a.fail("batchNorm: sizes do not match the channel count"), nullptr;
  int64_t rows = lx / c;
  std::vector<double> s1(c, 0.0), s2(c, 0.0);
  channelSums(rows, c, s1.data(), s2.data(), [&](int64_t r, float* a1, float* a2) {
    const float* xr = x + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) a1[k] += xr[k], a2[k] += xr[k] * xr[k];
  });
  std::vector<float> sc(c), sh(c);
  for (int64_t k = 0; k < c; k++) {
    double mu = s1[k] / rows;
    double var = std::max(s2[k] / rows - mu * mu, 0.0);
    meanOut[k] = static_cast<float>(mu);
    varOut[k] = static_cast<float>(var);
    double s = gamma[k] / std::sqrt(var + eps);
    sc[k] = static_cast<float>(s);
    sh[k] = static_cast<float>(beta[k] - mu * s);
  }
  const float* pa = sc.data();
  const float* pb = sh.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) yr[k] = xr[k] * pa[k] + pb[k];
  }
  return nullptr;
}

// bnBackward(dy, x, mean, variance, gamma, dx, dGamma, dBeta, channels, epsilon)
napi_value BnBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ldy, lx, lm, lv, lg, ldx, ldg, ldb;
  const float* dy = a.f32(0, &ldy);
  const float* x = a.f32(1, &lx);
  const float* mean = a.f32(2, &lm);
  const float* var = a.f32(3, &lv);
  const float* gamma = a.f32(4, &lg);
  float* dx = a.f32(5, &ldx);
  float* dGamma = a.f32(6, &ldg);
  float* dBeta = a.f32(7, &ldb);
  int64_t c = static_cast<int64_t>(a.num(8));
  double eps = a.num(9);
  if (!a.ok) return nullptr;
  if (c <= 0 || lx % c != 0 || ldy < lx || ldx < lx || lm < (size_t)c || lv < (size_t)c || lg < (size_t)c || ldg < (size_t)c ||
      ldb < (size_t)c)
    return a.fail("batchNorm gradient: sizes do not match the channel count"), nullptr;
  int64_t rows = lx / c;
  std::vector<double> sumDy(c, 0.0), sumDyX(c, 0.0);
  channelSums(rows, c, sumDy.data(), sumDyX.data(), [&](int64_t r, float* a1, float* a2) {
    const float* gr = dy + r * c;
    const float* xr = x + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) a1[k] += gr[k], a2[k] += gr[k] * xr[k];
  });
  std::vector<float> p(c), q(c), rr(c);
  for (int64_t k = 0; k < c; k++) {
    double inv = 1.0 / std::sqrt(var[k] + eps);
    double db = sumDy[k];
    double dg = (sumDyX[k] - mean[k] * db) * inv;
    dBeta[k] = static_cast<float>(db);
    dGamma[k] = static_cast<float>(dg);
    double s = gamma[k] * inv;
    double qk = (-s * inv * dg) / rows;
    p[k] = static_cast<float>(s);
    q[k] = static_cast<float>(qk);
    rr[k] = static_cast<float>((-s * db) / rows - qk * mean[k]);
  }
  const float* pp = p.data();
  const float* pq = q.data();
  const float* pr = rr.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* gr = dy + r * c;
    const float* xr = x + r * c;
    float* o = dx + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) o[k] = pp[k] * gr[k] + pq[k] * xr[k] + pr[k];
  }
  return nullptr;
}

// channelSum(x, out, channels): the sum over every axis but the last (conv bias gradients).
napi_value ChannelSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lo;
  const float* x = a.f32(0, &lx);
  float* out = a.f32(1, &lo);
  int64_t c = static_cast<int64_t>(a.num(2));
  if (!a.ok) return nullptr;
  if (c <= 0 || lx % c != 0 || lo < (size_t)c) return a.fail("channelSum: sizes do not match the channel count"), nullptr;
  std::vector<double> s1(c, 0.0), unused(c, 0.0);
  channelSums(static_cast<int64_t>(lx) / c, c, s1.data(), unused.data(), [&](int64_t r, float* a1, float*) {
    const float* xr = x + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) a1[k] += xr[k];
  });
  for (int64_t k = 0; k < c; k++) out[k] = static_cast<float>(s1[k]);
  return nullptr;
}

// info() → { onednn: "2.6.3", threads: n, isa: "..." }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  const dnnl_version_t* ver = dnnl_version();
  std::string s = std::to_string(ver->major) + "." + std::to_string(ver->minor) + "." + std::to_string(ver->patch);
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  napi_set_named_property(env, obj, "onednn", v);
  napi_create_int32(env, omp_get_max_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "isa", v);
  return obj;
}

// setThreads(n): OpenMP threads for all later kernels.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  double n = a.num(0);
  if (!a.ok) return nullptr;
  if (n < 1) return a.fail("threads must be ≥ 1"), nullptr;
  omp_set_num_threads(static_cast<int>(n));
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnForward", nullptr, BnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnBackward", nullptr, BnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSum", nullptr, ChannelSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
