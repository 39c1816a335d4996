// pretext's optional native CPU kernels: convolutions (forward, backward data, backward weights)
// through oneDNN, or for 3×3 stride-1 ones pretext's Winograd kernels (winograd.h), and
// training-mode batch normalisation, on float32 channels-last (NHWC) tensors
// with HWIO filters — tfjs' layouts, so tensors are used in place, never copied or reordered by
// the caller. Built only where Debian's libdnnl-dev is present (scripts/build-native.mjs).
#include <node_api.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cerrno>
#include <climits>
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

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "fewchannels.h"
#include "pointwise.h"
#include "strided.h"
#include "winograd.h"

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
  std::string prefix;  // names what is being read in messages, e.g. "planCreate: step 3: "

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

  // The elements of a JS array (at most 16), read with the same helpers.
  Args(napi_env e, napi_value array, const std::string& what) : env(e), argc(0), prefix(what + ": ") {
    bool is = false;
    napi_is_array(env, array, &is);
    uint32_t len = 0;
    if (is) napi_get_array_length(env, array, &len);
    if (!is || len > 16) {
      fail("must be an array of at most 16 elements");
      return;
    }
    argc = len;
    for (uint32_t k = 0; k < len; k++) napi_get_element(env, array, k, &argv[k]);
  }

  void fail(const std::string& msg) {
    if (ok) napi_throw_type_error(env, nullptr, (prefix + msg).c_str());
    ok = false;
  }

  float* f32(size_t i, size_t* length = nullptr) {
    return static_cast<float*>(typed(i, napi_float32_array, "Float32Array", length));
  }
  double* f64(size_t i, size_t* length = nullptr) {
    return static_cast<double*>(typed(i, napi_float64_array, "Float64Array", length));
  }

  void* typed(size_t i, napi_typedarray_type want, const char* name, size_t* length) {
    if (!ok) return nullptr;
    if (i >= argc) return fail("missing argument " + std::to_string(i)), nullptr;
    bool is = false;
    napi_is_typedarray(env, argv[i], &is);
    if (!is) return fail("argument " + std::to_string(i) + " must be a " + name), nullptr;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env, argv[i], &type, &len, &data, nullptr, nullptr);
    if (type != want) return fail("argument " + std::to_string(i) + " must be a " + name), nullptr;
    if (length) *length = len;
    return data;
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

// Convolutions that our own kernels take, fp32 with output channels in 8s: Winograd's
// (winograd.h) 3×3 stride 1, pointwise.h's 1×1 without padding, fewchannels.h's for inputs of
// 1–7 channels (forward and backward weights), and strided.h's for strides of 2 or more.
// setWinograd(false) (or PRETEXT_WINOGRAD=0) sends every convolution to oneDNN instead.
bool winogradOn = [] {
  const char* e = std::getenv("PRETEXT_WINOGRAD");
  return !(e && std::string(e) == "0");
}();
bool bf16Convs = false;

// Convolution calls per implementation since load (info().convCalls): what a benchmark or test
// reads to know which kernels ran.
int64_t winogradCalls = 0, onednnCalls = 0, pointwiseCalls = 0, fewChannelsCalls = 0, stridedCalls = 0;

bool useWinograd(const ConvGeom& g) {
  bool yes = winogradOn && !bf16Convs && g.strides[0] == g.strides[1] && g.dil[0] == 0 && g.dil[1] == 0 && g.padL[0] <= 2 && g.padL[1] <= 2 &&
         winograd::fits(g.w[0], g.w[1], g.strides[0], 1, g.w[2], g.w[3]);
  ++(yes ? winogradCalls : onednnCalls);
  return yes;
}

// 1×1 convolutions without padding (pointwise.h): a ResNet's projection shortcuts, in NHWC.
bool usePointwise(const ConvGeom& g) {
  bool yes = winogradOn && !bf16Convs &&
             pointwise::fits(g.w[0], g.w[1], g.strides[0], g.strides[1], g.padL[0] + g.padL[1] + g.padR[0] + g.padR[1],
                             g.dil[0] + g.dil[1], g.w[2], g.w[3]);
  if (yes) ++pointwiseCalls;
  return yes;
}

// Inputs with 1–7 channels (a first layer's images; fewchannels.h), forward and backward weights.
bool useFewChannels(const ConvGeom& g) {
  bool yes = winogradOn && !bf16Convs && fewchannels::fits(g.x[3], g.w[3], g.strides[0], g.strides[1], g.dil[0] + g.dil[1]);
  if (yes) ++fewChannelsCalls;
  return yes;
}

// Strides of 2 or more with channels in 8s (strided.h): a ResNet's downsampling 3×3 convolutions.
bool useStrided(const ConvGeom& g) {
  bool yes = winogradOn && !bf16Convs && strided::fits(g.strides[0], g.strides[1], g.dil[0] + g.dil[1], g.x[3], g.w[3]);
  if (yes) ++stridedCalls;
  return yes;
}

strided::Shape stridedShape(const ConvGeom& g) {
  return {g.x[0], g.x[1], g.x[2], g.x[3], g.y[1], g.y[2], g.y[3], g.w[0], g.w[1], g.strides[0], g.strides[1], g.padL[0], g.padL[1]};
}

fewchannels::Shape fewChannelsShape(const ConvGeom& g) {
  return {g.x[0], g.x[1], g.x[2], g.x[3], g.y[1], g.y[2], g.y[3], g.w[0], g.w[1], g.strides[0], g.padL[0], g.padL[1], g.padR[0], g.padR[1]};
}

pointwise::Shape pointwiseShape(const ConvGeom& g) {
  return {g.x[0], g.x[1], g.x[2], g.x[3], g.y[1], g.y[2], g.y[3], g.strides[0]};
}

winograd::Shape winogradShape(const ConvGeom& g) {
  return {g.x[0], g.x[1], g.x[2], g.x[3], g.y[1], g.y[2], g.y[3], g.padL[0], g.padL[1]};
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

// Convolution precision (setPrecision): in bf16, the convolutions read their inputs (images,
// weights, incoming gradients) as bf16 and write float32 outputs and gradients; everything else
// — master weights, batch norm, the loss, the optimizer — stays float32. The float32 tensors are
// converted by the same reorders that convert layouts. (bf16Convs is declared with the
// Winograd gate above, which it turns off.)

bool cpuHasBf16() {
  auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

dt lowp() { return bf16Convs ? dt::bf16 : dt::f32; }

// PRETEXT_DNNL_LAYOUT=nhwc trades speed for memory where activations are large: the SimCLR
// encoder (96×96, 512 views) peaked at 1.50 GB in NHWC against 1.90 GB blocked, but trained at
// 40–43 img/s against 47–49 (measured interleaved, 2 cores).
memory::desc anyOr(const memory::desc& md, dt type = dt::f32) {
  return preferBlocked() || type != dt::f32 ? memory::desc(md.dims(), type, tag::any) : md;
}

// An input that the next call may take already reordered: tfjs computes a convolution's two
// gradients back to back from the same incoming gradient dy (backward data, then backward
// weights), so the second call skips reordering dy again.
enum Share { kNone = 0, kKeep = 1, kReuse = 2 };

struct Operand {
  int arg;
  memory::desc user;
  void* ptr;
  bool output;
  int share = kNone;
};

struct SharedInput {
  bool valid = false;
  const void* ptr = nullptr;
  memory::desc user, want;
  uint32_t print = 0;
} shared;
constexpr size_t kSharedSlot = 7;

// A sample of the values (FNV over ~256 words): the shared copy is used only for the same
// memory with the same contents, never for another tensor that took its place.
uint32_t fingerprint(const memory::desc& md, const void* p) {
  const uint32_t* u = static_cast<const uint32_t*>(p);
  size_t n = md.get_size() / 4;
  uint32_t h = 2166136261u;
  if (n == 0) return h;
  size_t step = std::max<size_t>(1, n / 256);
  for (size_t i = 0; i < n; i += step) h = (h ^ u[i]) * 16777619u;
  return (h ^ u[n - 1]) * 16777619u;
}

struct Cached {
  dnnl::primitive prim;
  memory::desc scratch;
  std::unordered_map<int, memory::desc> want;  // the layout the primitive chose, per argument
  std::unordered_map<int, dnnl::reorder> toPrim, fromPrim;
};
std::unordered_map<std::string, Cached> cache;

// Buffers reused across calls (kernels run one at a time, on the JS thread). Uninitialised:
// every use writes before it reads.
struct PoolBuffer {
  std::unique_ptr<uint8_t[]> data;
  size_t size = 0;
};
std::vector<PoolBuffer> pool(8);
void* buffer(size_t slot, size_t bytes) {
  auto& b = pool.at(slot);
  if (b.size < bytes) {
    b.data.reset();
    b.data.reset(new uint8_t[bytes]);
    b.size = bytes;
  }
  return b.data.get();
}

void run(Cached& c, const std::vector<Operand>& ops) {
  auto& s = stream();
  std::unordered_map<int, memory> args;
  struct WriteBack {
    int arg;
    memory tmp, user;
  };
  std::vector<WriteBack> writeBack;
  // One call's reorder copies share one arena (slot 1) at offsets: a buffer per slot, each kept
  // at the largest size any call gave it, held ~1.1 GB beside tfjs' heap for SimCLR at 96×96 /
  // batch 256, the arena about half. (Freeing them after each call instead cost 20 % of that
  // workload's speed in page faults.)
  auto aligned = [](size_t n) { return (n + 63) & ~size_t{63}; };
  auto reusable = [&](const Operand& op, const memory::desc& want) {
    return op.share == kReuse && shared.valid && shared.ptr == op.ptr && shared.user == op.user && shared.want == want &&
           shared.print == fingerprint(op.user, op.ptr);
  };
  size_t arenaBytes = 0;
  for (const auto& op : ops) {
    const memory::desc& want = c.want.at(op.arg);
    if (want != op.user && !reusable(op, want) && op.share != kKeep) arenaBytes += aligned(want.get_size());
  }
  uint8_t* arena = arenaBytes > 0 ? static_cast<uint8_t*>(buffer(1, arenaBytes)) : nullptr;
  size_t offset = 0;
  bool kept = false;
  for (const auto& op : ops) {
    memory user(op.user, engine(), op.ptr);
    const memory::desc& want = c.want.at(op.arg);
    if (want == op.user) {
      args.emplace(op.arg, user);
      continue;
    }
    if (reusable(op, want)) {
      args.emplace(op.arg, memory(want, engine(), pool.at(kSharedSlot).data.get()));
      continue;
    }
    void* where = nullptr;
    if (op.share == kKeep) {
      where = buffer(kSharedSlot, want.get_size());
    } else {
      where = arena + offset;
      offset += aligned(want.get_size());
    }
    memory tmp(want, engine(), where);
    if (op.share == kKeep) {
      shared = {true, op.ptr, op.user, want, fingerprint(op.user, op.ptr)};
      kept = true;
    }
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
  if (!kept) shared.valid = false;  // offered to the very next call only
}

dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::convolution_forward::primitive_desc fwdPd(const ConvGeom& g, bool withBias, bool relu = false) {
  auto desc = withBias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                         anyOr(g.src(), lowp()), anyOr(g.wei(), lowp()), g.bias(), anyOr(g.dst()), g.strides,
                                                         g.dil, g.padL, g.padR)
                       : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                         anyOr(g.src(), lowp()), anyOr(g.wei(), lowp()), anyOr(g.dst()), g.strides, g.dil, g.padL,
                                                         g.padR);
  auto attr = userScratchpad();
  if (relu) {
    // tfjs' fused ReLU (the small conv encoder's Conv2D(activation: relu)) as a post-op.
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return {desc, attr, engine()};
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

// convForward(x, w, bias|null, y, xShape, wShape, yShape, strides, padTL, padBR, dilations[, relu][, moments])
// With moments (a Float64Array of 2 × output channels) and no ReLU, the kernels of our own that
// can (Winograd, strided, few-channel) also write y's per-channel Σy and Σy² there (moments.h),
// for the batch norm after the convolution; returns whether they did. (Exported as
// convForwardMoments too: that name tells JS that this build takes them.)
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
  bool relu = !a.isNull(11) && a.num(11) != 0;
  size_t lm = 0;
  double* moments = a.isNull(12) ? nullptr : a.f64(12, &lm);
  if (moments && lm < static_cast<size_t>(2 * g.w[3])) return a.fail("convolution: moments must hold 2 × output channels"), nullptr;
  if (!a.ok) return nullptr;
  if (relu) moments = nullptr;  // the moments of y before its ReLU are what a batch norm wants; none here
  bool filled = false;  // whether the kernel that ran wrote the moments
  napi_value done = wrapErrors(env, [&] {
    if (usePointwise(g)) return pointwise::forward(x, w, b, relu, y, pointwiseShape(g));
    // These three write the moments when asked; oneDNN's convolutions (below) do not.
    filled = moments != nullptr;
    if (useFewChannels(g)) return fewchannels::forward(x, w, b, relu, y, fewChannelsShape(g), moments);
    if (useStrided(g)) return strided::forward(x, w, b, relu, y, stridedShape(g), moments);
    if (useWinograd(g)) return winograd::forward(x, w, b, relu, y, winogradShape(g), moments);
    filled = false;
    std::string kind = relu ? "fr" : "f";
    auto& prim = withBias ? cached<dnnl::convolution_forward>(g.key(kind.c_str(), true), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
                                                              [&] { return fwdPd(g, true, relu); })
                          : cached<dnnl::convolution_forward>(g.key(kind.c_str(), false), {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                                              [&] { return fwdPd(g, false, relu); });
    std::vector<Operand> ops{{DNNL_ARG_SRC, g.src(), x, false}, {DNNL_ARG_WEIGHTS, g.wei(), w, false}, {DNNL_ARG_DST, g.dst(), y, true}};
    if (withBias) ops.push_back({DNNL_ARG_BIAS, g.bias(), b, false});
    run(prim, ops);
  });
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending || a.argc <= 12) return done;
  napi_value v;
  napi_get_boolean(env, filled, &v);
  return v;
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
    if (usePointwise(g)) return pointwise::backwardData(dy, w, dx, pointwiseShape(g));
    if (useStrided(g)) return strided::backwardData(dy, w, dx, stridedShape(g));
    if (useWinograd(g)) return winograd::backwardData(dy, w, dx, winogradShape(g));
    auto& prim = cached<dnnl::convolution_backward_data>(g.key("d", false), {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC}, [&] {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, anyOr(g.src()), anyOr(g.wei(), lowp()),
                                                 anyOr(g.dst(), lowp()), g.strides, g.dil, g.padL, g.padR);
      return dnnl::convolution_backward_data::primitive_desc(desc, userScratchpad(), engine(), fwdPd(g, false));
    });
    run(prim, {{DNNL_ARG_DIFF_DST, g.dst(), dy, false, kKeep}, {DNNL_ARG_WEIGHTS, g.wei(), w, false}, {DNNL_ARG_DIFF_SRC, g.src(), dx, true}});
  });
}

// convBackwardWeights(x, dy, dw, xShape, wShape, yShape, strides, padTL, padBR, dilations[, db][, y])
// With db, also the bias gradient (dy summed over all but the channel axis), from the same pass.
// With y (the output of a ReLU after the convolution), the gradient is dy·step(y): the
// few-channel kernels mask dy row by row, so that a first layer's masked gradient (580 MB for
// the SimCLR encoder at 512 views) never exists whole; the others mask a temporary copy.
// (Exported as convBackwardWeightsBias and convBackwardWeightsMasked too: those names tell JS
// that this build takes db and y.)
napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, ldy, ldw, ldb = 0;
  float* x = a.f32(0, &lx);
  float* dy = a.f32(1, &ldy);
  float* dw = a.f32(2, &ldw);
  ConvGeom g;
  if (!readGeom(a, 3, g)) return nullptr;
  float* db = a.isNull(10) ? nullptr : a.f32(10, &ldb);
  size_t lmask = 0;
  const float* mask = a.argc > 11 && !a.isNull(11) ? a.f32(11, &lmask) : nullptr;
  if (!sized(a, lx, product(g.x), "x") || !sized(a, ldy, product(g.y), "dy") || !sized(a, ldw, product(g.w), "dw")) return nullptr;
  if (db && !sized(a, ldb, g.w[3], "db")) return nullptr;
  if (mask && !sized(a, lmask, product(g.y), "y")) return nullptr;
  return wrapErrors(env, [&] {
    if (useFewChannels(g)) return fewchannels::backwardWeights(x, dy, mask, dw, db, fewChannelsShape(g));
    std::vector<float> masked;
    if (mask) {
      masked.resize(static_cast<size_t>(product(g.y)));
      const int64_t n = product(g.y);
      float* m = masked.data();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; i++) m[i] = mask[i] > 0 ? dy[i] : dy[i] * 0.f;  // as reluGradOf
      dy = m;
    }
    if (usePointwise(g)) return pointwise::backwardWeights(x, dy, dw, db, pointwiseShape(g));
    if (useStrided(g)) return strided::backwardWeights(x, dy, dw, db, stridedShape(g));
    if (useWinograd(g)) return winograd::backwardWeights(x, dy, dw, db, winogradShape(g));
    const bool withBias = db != nullptr;
    auto build = [&] {
      using Desc = dnnl::convolution_backward_weights::desc;
      const auto algo = dnnl::algorithm::convolution_direct;
      auto desc = withBias ? Desc(algo, anyOr(g.src(), lowp()), anyOr(g.wei()), g.bias(), anyOr(g.dst(), lowp()), g.strides, g.dil,
                                  g.padL, g.padR)
                           : Desc(algo, anyOr(g.src(), lowp()), anyOr(g.wei()), anyOr(g.dst(), lowp()), g.strides, g.dil, g.padL, g.padR);
      return dnnl::convolution_backward_weights::primitive_desc(desc, userScratchpad(), engine(), fwdPd(g, withBias));
    };
    auto& prim = withBias ? cached<dnnl::convolution_backward_weights>(
                                g.key("w", true), {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS}, build)
                          : cached<dnnl::convolution_backward_weights>(g.key("w", false),
                                                                       {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS}, build);
    std::vector<Operand> ops{
        {DNNL_ARG_SRC, g.src(), x, false}, {DNNL_ARG_DIFF_DST, g.dst(), dy, false, kReuse}, {DNNL_ARG_DIFF_WEIGHTS, g.wei(), dw, true}};
    if (withBias) ops.push_back({DNNL_ARG_DIFF_BIAS, g.bias(), db, true});
    run(prim, ops);
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

// f(i) for i < n: blocks of 64 Ki elements, threads only where there is enough work for them,
// each block one vectorised loop (f inlines: the selects stay vector code).
template <typename F>
void elementwise(int64_t n, F f) {
  const int64_t block = 1 << 16;
#pragma omp parallel for schedule(static) if (n > 2 * block)
  for (int64_t b = 0; b < n; b += block) {
    const int64_t end = std::min(n, b + block);
#pragma omp simd
    for (int64_t i = b; i < end; i++) f(i);
  }
}

// ReLU and its gradient as tfjs defines them, for every kernel here that applies them. Both are
// selects between computed values, which GCC vectorises (cmpps, and/andnot) given
// -fno-trapping-math; written as branches or as a multiply by a selected constant they compiled
// to a branch per element, which random signs mispredict (4–9× slower).
// relu: tfjs' cpu kernel, Math.max(0, v): NaN passes, −0 becomes 0.
inline float reluOf(float v) { return v <= 0.f ? 0.f : v; }
// Gradient, dy · step(y): dy · 0 where y ≤ 0 keeps tfjs' −0 and NaN.
inline float reluGradOf(float dy, float y) { return y > 0.f ? dy : dy * 0.f; }

// bnForward(x, gamma, beta, y, mean, variance, channels, epsilon[, residual, relu][, moments])
// y = bn(x) [+ residual], then ReLU when relu: a ResNet's BN → ReLU and BN → add → ReLU in one
// pass, with no pre-activation tensor. (Exported as bnActForward too: that name tells JS that
// this build takes the trailing arguments.)
napi_value BnForward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lg, lb, ly, lm, lv, lr = 0;
  const float* x = a.f32(0, &lx);
  const float* gamma = a.f32(1, &lg);
  const float* beta = a.f32(2, &lb);
  float* y = a.f32(3, &ly);
  float* meanOut = a.f32(4, &lm);
  float* varOut = a.f32(5, &lv);
  int64_t c = static_cast<int64_t>(a.num(6));
  double eps = a.num(7);
  const float* res = a.isNull(8) ? nullptr : a.f32(8, &lr);
  const bool relu = !a.isNull(9) && a.num(9) != 0;
  // x's per-channel Σx and Σx², from the convolution that wrote it (convForward's moments).
  size_t lmo = 0;
  const double* known = a.isNull(10) ? nullptr : a.f64(10, &lmo);
  if (!a.ok) return nullptr;
  if (c <= 0 || lx % c != 0 || ly < lx || lg < (size_t)c || lb < (size_t)c || lm < (size_t)c || lv < (size_t)c ||
      (res && lr < lx) || (known && lmo < static_cast<size_t>(2 * c)))
    return a.fail("batchNorm: sizes do not match the channel count"), nullptr;
  int64_t rows = lx / c;
  std::vector<double> s1(c, 0.0), s2(c, 0.0);
  if (known) {
    std::copy(known, known + c, s1.begin());
    std::copy(known + c, known + 2 * c, s2.begin());
  } else {
    channelSums(rows, c, s1.data(), s2.data(), [&](int64_t r, float* a1, float* a2) {
      const float* xr = x + r * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) a1[k] += xr[k], a2[k] += xr[k] * xr[k];
    });
  }
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
    // One loop per case, each branch-free.
    if (res && relu) {
      const float* rr = res + r * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) yr[k] = reluOf(xr[k] * pa[k] + pb[k] + rr[k]);
    } else if (res) {
      const float* rr = res + r * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) yr[k] = xr[k] * pa[k] + pb[k] + rr[k];
    } else if (relu) {
#pragma omp simd
      for (int64_t k = 0; k < c; k++) yr[k] = reluOf(xr[k] * pa[k] + pb[k]);
    } else {
#pragma omp simd
      for (int64_t k = 0; k < c; k++) yr[k] = xr[k] * pa[k] + pb[k];
    }
  }
  return nullptr;
}

// bnBackward(dy, x, mean, variance, gamma, dx, dGamma, dBeta, channels, epsilon[, y, dResidual])
// With y (a bnForward's output with relu), dy first goes through ReLU's gradient, dy · step(y)
// (step(y) = step(pre-activation)); dResidual, when given, receives that (the residual's
// gradient). Exported as bnActBackward too.
napi_value BnBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ldy, lx, lm, lv, lg, ldx, ldg, ldb, lyo = 0, ldr = 0;
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
  const float* yo = a.isNull(10) ? nullptr : a.f32(10, &lyo);
  float* dRes = a.isNull(11) ? nullptr : a.f32(11, &ldr);
  if (!a.ok) return nullptr;
  if (c <= 0 || lx % c != 0 || ldy < lx || ldx < lx || lm < (size_t)c || lv < (size_t)c || lg < (size_t)c || ldg < (size_t)c ||
      ldb < (size_t)c || (yo && lyo < lx) || (dRes && (ldr < lx || !yo)))
    return a.fail("batchNorm gradient: sizes do not match the channel count"), nullptr;
  int64_t rows = lx / c;
  std::vector<double> sumDy(c, 0.0), sumDyX(c, 0.0);
  if (yo) {
    // ReLU's gradient, written into dResidual if wanted, else into dx (overwritten below, row by
    // row after reading it), in the same pass as the sums. Then the last pass reads that masked dy.
    float* g = dRes ? dRes : dx;
    channelSums(rows, c, sumDy.data(), sumDyX.data(), [&](int64_t r, float* a1, float* a2) {
      const float* dr = dy + r * c;
      const float* yr = yo + r * c;
      const float* xr = x + r * c;
      float* gr = g + r * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) {
        const float v = reluGradOf(dr[k], yr[k]);
        gr[k] = v;
        a1[k] += v, a2[k] += v * xr[k];
      }
    });
    dy = g;
  } else {
    channelSums(rows, c, sumDy.data(), sumDyX.data(), [&](int64_t r, float* a1, float* a2) {
      const float* gr = dy + r * c;
      const float* xr = x + r * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) a1[k] += gr[k], a2[k] += gr[k] * xr[k];
    });
  }
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

// adamUpdate(x, m, v, g, outX, outM, outV, c1, c2, learningRate, beta1, beta2, epsilon)
// fused-adam.ts' update, threaded: in double from the float32 inputs, in the same order as its JS
// (and built without FMA contraction), so the float32 results are the same bits.
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lm, lv, lg, ox, om, ov;
  const float* x = a.f32(0, &lx);
  const float* m = a.f32(1, &lm);
  const float* v = a.f32(2, &lv);
  const float* g = a.f32(3, &lg);
  float* nx = a.f32(4, &ox);
  float* nm = a.f32(5, &om);
  float* nv = a.f32(6, &ov);
  const double c1 = a.num(7), c2 = a.num(8), lr = a.num(9), b1 = a.num(10), b2 = a.num(11), eps = a.num(12);
  if (!a.ok) return nullptr;
  if (lm < lx || lv < lx || lg < lx || ox < lx || om < lx || ov < lx) return a.fail("adamUpdate: arrays smaller than x"), nullptr;
  elementwise(static_cast<int64_t>(lx), [=](int64_t i) {
    const double gi = g[i];
    const double mi = b1 * m[i] + (1 - b1) * gi;
    const double vi = b2 * v[i] + (1 - b2) * gi * gi;
    nm[i] = static_cast<float>(mi);
    nv[i] = static_cast<float>(vi);
    nx[i] = static_cast<float>(x[i] - (lr * (mi / c1)) / (std::sqrt(vi / c2) + eps));
  });
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

// reluGrad(dy, x, dx): dx = dy · step(x) — ReLU's gradient in one vectorised pass.
// In JavaScript the same loop took 12 ns an element (a quarter of a ResNet20 training step).
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ldy, lx, ldx;
  const float* __restrict dy = a.f32(0, &ldy);
  const float* __restrict x = a.f32(1, &lx);
  float* __restrict dx = a.f32(2, &ldx);
  if (!a.ok) return nullptr;
  if (ldy != lx || ldx != lx) return a.fail("reluGrad: dy, x and dx must have one length"), nullptr;
  elementwise(static_cast<int64_t>(lx), [=](int64_t i) { dx[i] = reluGradOf(dy[i], x[i]); });
  return nullptr;
}

// relu(x, y): y = max(x, 0). Under the native backend tfjs-wasm runs its own on one thread.
napi_value Relu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, ly;
  const float* __restrict x = a.f32(0, &lx);
  float* __restrict y = a.f32(1, &ly);
  if (!a.ok) return nullptr;
  if (ly != lx) return a.fail("relu: x and y must have one length"), nullptr;
  elementwise(static_cast<int64_t>(lx), [=](int64_t i) { y[i] = reluOf(x[i]); });
  return nullptr;
}

// add(a, b, out): out = a + b, one shape (a ResNet's residual sums and gradient accumulation).
napi_value Add(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t la, lb, lo;
  const float* __restrict x = a.f32(0, &la);
  const float* __restrict y = a.f32(1, &lb);
  float* __restrict out = a.f32(2, &lo);
  if (!a.ok) return nullptr;
  if (lb != la || lo != la) return a.fail("add: a, b and out must have one length"), nullptr;
  elementwise(static_cast<int64_t>(la), [=](int64_t i) { out[i] = x[i] + y[i]; });
  return nullptr;
}

// ---- Inference plans: a chain of convolutions, each with its batch norm folded into its weights
// and bias, ReLU and a residual sum as post-ops, whose activations stay in the layout oneDNN
// chose (blocked, e.g. nChw8c) from the first convolution to the last: no reorder between layers,
// one pass over each activation. Primitives and buffers are prepared once per batch size.

struct PlanConv {
  int src = 0, sum = -1;  // tensor indices (0 = the plan's input; step i writes tensor i + 1)
  bool relu = false;
  std::vector<int64_t> w, strides, padL, padR;  // HWIO filter shape
  std::vector<float> weights, bias;
};

struct Prepared {
  std::vector<dnnl::convolution_forward> prims;
  std::vector<memory> weights, bias;
  std::vector<memory> tensors;  // tensor t's memory (tensor 0: the caller's input, set per run)
  std::vector<memory> srcTmp;   // a step's source reordered into its primitive's layout (if needed)
  std::vector<bool> srcReorder, sumCopy;
  std::vector<dnnl::reorder> srcReorders, sumCopies;  // per step (unused entries default-built)
  dnnl::reorder toOut;
  memory out;  // the caller's output (NHWC), set per run
  memory scratch;
  std::vector<std::vector<uint8_t>> buffers;  // the activations' storage, shared by liveness
};

struct Plan {
  std::vector<int64_t> in;                // H, W, C of the input
  std::vector<std::vector<int64_t>> dims;  // H, W, C of each tensor
  std::vector<PlanConv> steps;
  int output = 0;
  std::unordered_map<int64_t, std::unique_ptr<Prepared>> byBatch;
};

std::unordered_map<int32_t, Plan> plans;
int32_t nextPlan = 1;

memory::desc nhwcDesc(int64_t n, const std::vector<int64_t>& hwc) { return {{n, hwc[2], hwc[0], hwc[1]}, dt::f32, tag::nhwc}; }

Prepared& prepare(Plan& p, int64_t n) {
  auto found = p.byBatch.find(n);
  if (found != p.byBatch.end()) return *found->second;
  auto prep = std::make_unique<Prepared>();
  Prepared& r = *prep;
  auto& eng = engine();
  auto& s = stream();
  size_t nt = p.steps.size() + 1;
  std::vector<memory::desc> mds(nt);
  mds[0] = nhwcDesc(n, p.in);
  // Last reader of each tensor, for sharing buffers between activations that are never alive at once.
  std::vector<int64_t> lastUse(nt, -1);
  for (size_t i = 0; i < p.steps.size(); i++) {
    lastUse[p.steps[i].src] = static_cast<int64_t>(i);
    if (p.steps[i].sum >= 0) lastUse[p.steps[i].sum] = static_cast<int64_t>(i);
  }
  lastUse[p.output] = INT64_MAX;
  std::vector<int> bufferOf(nt, -1);
  std::vector<int> freeBuffers;
  r.tensors.resize(nt);
  r.srcTmp.resize(p.steps.size());
  size_t scratchBytes = 0;
  for (size_t i = 0; i < p.steps.size(); i++) {
    const PlanConv& c = p.steps[i];
    const auto& od = p.dims[i + 1];
    memory::dims srcDims{n, p.dims[c.src][2], p.dims[c.src][0], p.dims[c.src][1]};
    memory::desc src(srcDims, dt::f32, tag::any), wei({c.w[3], c.w[2], c.w[0], c.w[1]}, dt::f32, tag::any),
        dst({n, od[2], od[0], od[1]}, dt::f32, tag::any), bias({c.w[3]}, dt::f32, tag::x);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, bias,
                                         dst, c.strides, {0, 0}, c.padL, c.padR);
    dnnl::post_ops po;
    if (c.sum >= 0) po.append_sum(1.f);
    if (c.relu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    r.prims.emplace_back(pd);
    scratchBytes = std::max(scratchBytes, pd.scratchpad_desc().get_size());
    // Weights and bias into the primitive's layout, once.
    memory userW({{c.w[3], c.w[2], c.w[0], c.w[1]}, dt::f32, tag::hwio}, eng, const_cast<float*>(c.weights.data()));
    memory w(pd.weights_desc(), eng);
    dnnl::reorder(userW, w).execute(s, userW, w);
    r.weights.push_back(w);
    memory b(pd.bias_desc(), eng);
    std::memcpy(b.get_data_handle(), c.bias.data(), c.bias.size() * sizeof(float));
    r.bias.push_back(b);
    // The source: the producer's layout, or a reorder into the one this primitive wants.
    bool reorderSrc = pd.src_desc() != mds[c.src];
    r.srcReorder.push_back(reorderSrc);
    if (reorderSrc) r.srcTmp[i] = memory(pd.src_desc(), eng);
    r.srcReorders.push_back(reorderSrc ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, mds[c.src], eng, pd.src_desc()))
                                       : dnnl::reorder());
    // The destination: the residual's own buffer when this is its last use (the sum happens in
    // place), else a free buffer; the residual is copied in first otherwise.
    mds[i + 1] = pd.dst_desc();
    size_t bytes = pd.dst_desc().get_size();
    bool inPlace = c.sum > 0 && c.sum != c.src && lastUse[c.sum] == static_cast<int64_t>(i) && mds[c.sum] == pd.dst_desc();
    r.sumCopy.push_back(c.sum >= 0 && !inPlace);
    r.sumCopies.push_back(c.sum >= 0 && !inPlace
                              ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, mds[c.sum], eng, pd.dst_desc()))
                              : dnnl::reorder());
    int buf = -1;
    if (inPlace) {
      buf = bufferOf[c.sum];
      bufferOf[c.sum] = -1;
    } else {
      for (size_t k = 0; k < freeBuffers.size(); k++) {
        if (r.buffers[freeBuffers[k]].size() >= bytes) {
          buf = freeBuffers[k];
          freeBuffers.erase(freeBuffers.begin() + static_cast<int64_t>(k));
          break;
        }
      }
      if (buf < 0) {
        r.buffers.emplace_back(bytes);
        buf = static_cast<int>(r.buffers.size()) - 1;
      }
    }
    bufferOf[i + 1] = buf;
    // (Moving a std::vector keeps its storage, so this pointer survives the pool growing.)
    r.tensors[i + 1] = memory(pd.dst_desc(), eng, r.buffers[buf].data());
    // Tensors read for the last time here give their buffers back (never the one just written).
    for (int t : {c.src, c.sum}) {
      if (t > 0 && lastUse[t] == static_cast<int64_t>(i) && bufferOf[t] >= 0) {
        freeBuffers.push_back(bufferOf[t]);
        bufferOf[t] = -1;
      }
    }
  }
  r.scratch = memory({{static_cast<int64_t>(std::max<size_t>(scratchBytes, 1))}, dt::u8, tag::x}, eng);
  r.out = memory(nhwcDesc(n, p.dims[p.output]), eng, nullptr);
  r.toOut = dnnl::reorder(dnnl::reorder::primitive_desc(eng, mds[p.output], eng, r.out.get_desc()));
  r.tensors[0] = memory(mds[0], eng, nullptr);
  p.byBatch.emplace(n, std::move(prep));
  return r;
}


// planCreate([h, w, c], steps, output) → plan id. Each step: [src, sum (-1: none), relu (0/1),
// weights (HWIO, batch norm folded in), bias, [kh, kw, cin, cout], strides, padTopLeft,
// padBottomRight]; step i writes tensor i + 1, tensor 0 is the input; `output` is returned.
napi_value PlanCreate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Plan p;
  p.in = a.ints(0, 3);
  if (!a.ok) return nullptr;
  if (a.argc < 3) return a.fail("planCreate: (input shape, steps, output)"), nullptr;
  for (auto d : p.in)
    if (d < 1) return a.fail("planCreate: input dimensions must be positive"), nullptr;
  p.dims.push_back(p.in);
  bool isArr = false;
  napi_is_array(env, a.argv[1], &isArr);
  uint32_t count = 0;
  if (isArr) napi_get_array_length(env, a.argv[1], &count);
  if (!isArr || count == 0) return a.fail("planCreate: steps must be a non-empty array"), nullptr;
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    napi_get_element(env, a.argv[1], i, &el);
    std::string where = "planCreate: step " + std::to_string(i);
    Args st(env, el, where);
    if (!st.ok) return nullptr;
    PlanConv c;
    c.src = static_cast<int>(st.num(0));
    c.sum = static_cast<int>(st.num(1));
    c.relu = st.num(2) != 0;
    size_t lw = 0, lb = 0;
    const float* w = st.f32(3, &lw);
    const float* b = st.f32(4, &lb);
    c.w = st.ints(5, 4);
    c.strides = st.ints(6, 2);
    c.padL = st.ints(7, 2);
    c.padR = st.ints(8, 2);
    if (!st.ok) return nullptr;  // st threw, naming the step and the argument
    int64_t tensors = static_cast<int64_t>(p.dims.size());
    if (c.src < 0 || c.src >= tensors || c.sum < -1 || c.sum >= tensors)
      return a.fail(where + ": src and sum must name earlier tensors"), nullptr;
    const auto& sd = p.dims[c.src];
    if (c.w[2] != sd[2]) return a.fail(where + ": filter input channels differ from its source's"), nullptr;
    if (static_cast<int64_t>(lw) != product(c.w) || static_cast<int64_t>(lb) != c.w[3])
      return a.fail(where + ": weights or bias do not match the filter shape"), nullptr;
    std::vector<int64_t> od(3);
    for (int k = 0; k < 2; k++) {
      if (c.strides[k] < 1 || c.padL[k] < 0 || c.padR[k] < 0 || c.w[k] < 1)
        return a.fail(where + ": strides, paddings or filter size out of range"), nullptr;
      int64_t span = sd[k] + c.padL[k] + c.padR[k] - c.w[k];
      if (span < 0) return a.fail(where + ": filter larger than its padded input"), nullptr;
      od[k] = span / c.strides[k] + 1;
    }
    od[2] = c.w[3];
    if (c.sum >= 0 && p.dims[c.sum] != od) return a.fail(where + ": the residual's shape differs from the output's"), nullptr;
    c.weights.assign(w, w + lw);
    c.bias.assign(b, b + lb);
    p.steps.push_back(std::move(c));
    p.dims.push_back(od);
  }
  double out = a.num(2);
  if (!a.ok) return nullptr;
  if (out < 1 || out >= static_cast<double>(p.dims.size())) return a.fail("planCreate: output must name a step's tensor"), nullptr;
  p.output = static_cast<int>(out);
  int32_t id = nextPlan++;
  plans.emplace(id, std::move(p));
  napi_value v;
  napi_create_int32(env, id, &v);
  return v;
}

Plan* planArg(Args& a, size_t i) {
  double id = a.num(i);
  if (!a.ok) return nullptr;
  auto it = plans.find(static_cast<int32_t>(id));
  if (it == plans.end()) return a.fail("no such plan (freed?)"), nullptr;
  return &it->second;
}

// planOutputShape(id) → [h, w, c] of the plan's output.
napi_value PlanOutputShape(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Plan* p = planArg(a, 0);
  if (!p) return nullptr;
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  for (uint32_t k = 0; k < 3; k++) {
    napi_create_int64(env, p->dims[p->output][k], &v);
    napi_set_element(env, arr, k, v);
  }
  return arr;
}

// planRun(id, x (NHWC), n, out (NHWC)): the whole chain, activations kept in oneDNN's layouts.
napi_value PlanRun(napi_env env, napi_callback_info info) {
  Args a(env, info);
  Plan* p = planArg(a, 0);
  size_t lx = 0, lo = 0;
  float* x = a.f32(1, &lx);
  double nd = a.num(2);
  float* out = a.f32(3, &lo);
  if (!p || !a.ok) return nullptr;
  int64_t n = static_cast<int64_t>(nd);
  if (n < 1 || static_cast<double>(n) != nd) return a.fail("planRun: batch size must be a positive integer"), nullptr;
  if (!sized(a, lx, n * product(p->in), "x") || !sized(a, lo, n * product(p->dims[p->output]), "out")) return nullptr;
  return wrapErrors(env, [&] {
    Prepared& r = prepare(*p, n);
    auto& s = stream();
    r.tensors[0].set_data_handle(x);
    r.out.set_data_handle(out);
    for (size_t i = 0; i < p->steps.size(); i++) {
      const PlanConv& c = p->steps[i];
      memory src = r.tensors[c.src];
      if (r.srcReorder[i]) {
        r.srcReorders[i].execute(s, src, r.srcTmp[i]);
        src = r.srcTmp[i];
      }
      if (r.sumCopy[i]) r.sumCopies[i].execute(s, r.tensors[c.sum], r.tensors[i + 1]);
      r.prims[i].execute(s, {{DNNL_ARG_SRC, src},
                             {DNNL_ARG_WEIGHTS, r.weights[i]},
                             {DNNL_ARG_BIAS, r.bias[i]},
                             {DNNL_ARG_DST, r.tensors[i + 1]},
                             {DNNL_ARG_SCRATCHPAD, r.scratch}});
    }
    r.toOut.execute(s, r.tensors[p->output], r.out);
    s.wait();
  });
}

// planFree(id): drops the plan, its primitives and buffers.
napi_value PlanFree(napi_env env, napi_callback_info info) {
  Args a(env, info);
  double id = a.num(0);
  if (!a.ok) return nullptr;
  plans.erase(static_cast<int32_t>(id));
  return nullptr;
}

// info() → { onednn: "2.6.3", threads: n, isa: "...", bf16, precision, winograd, convCalls }
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
  napi_get_boolean(env, cpuHasBf16(), &v);
  napi_set_named_property(env, obj, "bf16", v);
  napi_create_string_utf8(env, bf16Convs ? "bf16" : "fp32", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "precision", v);
  napi_get_boolean(env, winogradOn && winograd::cpuHasAvx2Fma(), &v);
  napi_set_named_property(env, obj, "winograd", v);
  napi_value calls;
  napi_create_object(env, &calls);
  napi_create_int64(env, winogradCalls, &v);
  napi_set_named_property(env, calls, "winograd", v);
  napi_create_int64(env, onednnCalls, &v);
  napi_set_named_property(env, calls, "onednn", v);
  napi_create_int64(env, pointwiseCalls, &v);
  napi_set_named_property(env, calls, "pointwise", v);
  napi_create_int64(env, fewChannelsCalls, &v);
  napi_set_named_property(env, calls, "fewChannels", v);
  napi_create_int64(env, stridedCalls, &v);
  napi_set_named_property(env, calls, "strided", v);
  napi_set_named_property(env, obj, "convCalls", calls);
  return obj;
}

// setPrecision("fp32" | "bf16"): the convolutions' input precision for all later calls. bf16 is
// refused (an Error) on CPUs without AVX512-BF16 or AMX, where oneDNN would emulate it slowly
// or not at all.
napi_value SetPrecision(napi_env env, napi_callback_info info) {
  Args a(env, info);
  std::string p;
  if (a.argc >= 1) {
    size_t len = 0;
    char buf[16] = {0};
    if (napi_get_value_string_utf8(env, a.argv[0], buf, sizeof buf, &len) == napi_ok) p.assign(buf, len);
  }
  if (p != "fp32" && p != "bf16") return a.fail("precision must be \"fp32\" or \"bf16\""), nullptr;
  if (p == "bf16" && !cpuHasBf16()) {
    const char* isa = "this CPU";
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx2: isa = "this CPU (oneDNN: avx2)"; break;
      case dnnl::cpu_isa::avx512_core: isa = "this CPU (oneDNN: avx512_core)"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "this CPU (oneDNN: avx512_core_vnni)"; break;
      default: break;
    }
    napi_throw_error(env, nullptr,
                     (std::string("precision bf16 needs a CPU with AVX512-BF16 or AMX, which ") + isa + " lacks; use fp32").c_str());
    return nullptr;
  }
  bool want = p == "bf16";
  if (want != bf16Convs) cache.clear();  // primitives of the other precision
  bf16Convs = want;
  return nullptr;
}

// setWinograd(on) → whether it was on: 3×3 stride-1 convolutions through winograd.h (on, the
// default where the CPU has AVX2 and FMA) or oneDNN's direct kernels.
napi_value SetWinograd(napi_env env, napi_callback_info info) {
  Args a(env, info);
  bool on = false;
  if (a.argc < 1 || napi_get_value_bool(env, a.argv[0], &on) != napi_ok) return a.fail("argument 0 must be a boolean"), nullptr;
  napi_value was;
  napi_get_boolean(env, winogradOn, &was);
  winogradOn = on;
  return was;
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

// adviseHugePages(view, bytes): asks Linux to back [view's start, + bytes) with 2 MB pages
// (madvise MADV_HUGEPAGE; transparent huge pages are commonly set to "madvise"). For the wasm
// heap that holds every tensor: the kernels stream over 4–8 MB activations with many strided
// rows at once, and 4 KB pages cost a TLB miss every 4 KB (ResNet20 training 3–6% faster,
// interleaved). Called with the heap's whole reservation (V8 keeps 4 GB of address space for a
// wasm32 memory, grown in place), so pages the heap grows into later are huge from their first
// touch. Returns 0, or the errno (ENOSYS where this is not Linux).
napi_value AdviseHugePages(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len;
  float* p = a.f32(0, &len);
  const double bytes = a.num(1);
  if (!a.ok) return nullptr;
  if (!(bytes > 0)) return a.fail("adviseHugePages: bytes must be > 0"), nullptr;
  int err = ENOSYS;
#ifdef __linux__
  const uintptr_t page = 4096, start = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  err = madvise(reinterpret_cast<void*>(start), static_cast<size_t>(bytes), MADV_HUGEPAGE) == 0 ? 0 : errno;
#endif
  napi_value v;
  napi_create_int32(env, err, &v);
  return v;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeightsBias", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeightsMasked", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnForward", nullptr, BnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnBackward", nullptr, BnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSum", nullptr, ChannelSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluGrad", nullptr, ReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActForward", nullptr, BnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnForwardMoments", nullptr, BnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convForwardMoments", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActBackward", nullptr, BnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"relu", nullptr, Relu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add", nullptr, Add, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planCreate", nullptr, PlanCreate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planOutputShape", nullptr, PlanOutputShape, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planRun", nullptr, PlanRun, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planFree", nullptr, PlanFree, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setPrecision", nullptr, SetPrecision, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWinograd", nullptr, SetWinograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adviseHugePages", nullptr, AdviseHugePages, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
