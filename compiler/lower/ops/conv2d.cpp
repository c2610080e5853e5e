// conv2d: PyTorch's Conv2d (cross-correlation), weight [O, I, kh, kw].
#include "front/ops/window.h"
#include "lower/op_lowering.h"

namespace netc {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;

class Conv2d : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    const auto& v = kVars;
    Window win = conv2d_window(l.layer);
    const Shape& in = l.in_shapes[0];
    Func input = l.input_stage("padded_input", 0);
    define_padded(input, l.inputs[0], in.w, in.h, l.constant(0));
    const Func& w = l.param("weight");

    Func out = l.output_stage("forward");
    out(v.x, v.y, v.c, v.n) = l.has_param("bias") ? l.param("bias")(v.c) : l.constant(0);
    if (l.variant("forward") == "im2col") {
      // A matrix product: (out channels x patch elements) x (patch elements x positions).
      const int64_t elements = win.kernel.w * win.kernel.h * in.c;
      Func wmat = l.stage("weight_matrix", {elements, l.out_shape.c});
      wmat(v.k, v.co) = w(v.k % int(win.kernel.w), (v.k / int(win.kernel.w)) % int(win.kernel.h),
                          v.k / int(win.kernel.w * win.kernel.h), v.co);
      RDom r(0, int(elements), "r");
      out(v.x, v.y, v.c, v.n) += wmat(r, v.c) * patches(l, win)(v.x + v.y * int(l.out_shape.w), r, v.n);
    } else {
      RDom r(0, int(win.kernel.w), 0, int(win.kernel.h), 0, int(in.c), "r");
      const Expr y = v.y * int(win.stride.h) + r.y - int(win.padding.h);
      r.where(inside_rows(y, in));
      out(v.x, v.y, v.c, v.n) += w(r.x, r.y, r.z, v.c) * input(v.x * int(win.stride.w) + r.x - int(win.padding.w), y,
                                                               r.z, v.n);
    }
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    const auto& v = kVars;
    Window win = conv2d_window(l.layer);
    const Shape& in = l.in_shapes[0];
    const Shape& out = l.out_shape;
    const Func& g = l.grad_output;
    const int sx = int(win.stride.w), sy = int(win.stride.h), px = int(win.padding.w), py = int(win.padding.h);

    // Reductions over every output position of every image.
    RDom ro(0, int(out.w), 0, int(out.h), 0, int(l.batch), "ro");
    if (l.has_param("bias")) {
      Func gb = l.stage("grad_bias", {out.c});
      gb(v.o) = l.constant(0);
      gb(v.o) += g(ro.x, ro.y, v.o, ro.z);
      l.grad_params["bias"] = gb;
    }

    Func gw = l.stage("grad_weight", {win.kernel.w, win.kernel.h, in.c, out.c});
    if (l.variant("grad_weight") == "im2col") {
      // (out channels x positions) x (positions x patch elements), reshaped.
      const int kw = int(win.kernel.w), kh = int(win.kernel.h);
      Func gwm = l.stage("grad_weight_matrix", {win.kernel.w * win.kernel.h * in.c, out.c});
      gwm(v.k, v.co) = l.constant(0);
      gwm(v.k, v.co) += g(ro.x, ro.y, v.co, ro.z) * patches(l, win)(ro.x + ro.y * int(out.w), v.k, ro.z);
      gw(v.kx, v.ky, v.ci, v.co) = gwm(v.kx + kw * (v.ky + kh * v.ci), v.co);
    } else {
      const Func input = l.stage_of("padded_input");  // what the forward pass read
      RDom rw(0, int(out.w), 0, int(out.h), 0, int(l.batch), "ro");
      const Expr y = rw.y * sy + v.ky - py;
      rw.where(inside_rows(y, in));
      gw(v.kx, v.ky, v.ci, v.co) = l.constant(0);
      gw(v.kx, v.ky, v.ci, v.co) += g(rw.x, rw.y, v.co, rw.z) * input(rw.x * sx + v.kx - px, y, v.ci, rw.z);
    }
    l.grad_params["weight"] = gw;

    if (!l.needs_grad_input(0)) return;
    l.grad_inputs[0] = l.variant("grad_input") == "scatter" ? scattered_grad_input(l, win) : gathered_grad_input(l, win);
  }

 private:
  // Whether input row y is inside the image, not in its padding: a reduction
  // over kernel rows restricted by it leaves out the rows of zeros (Halide
  // trims the row loop per output row instead of testing each tap). Model A's
  // 14-row layers with 2 rows of padding: 8.6% of the taps.
  static Expr inside_rows(const Expr& y, const Shape& in) { return y >= 0 && y < int(in.h); }

  // The input gradient as a gather: a convolution of the zero-padded output
  // gradient with the flipped kernel, evaluated on the unpadded input only.
  // The default on GPUs, where a thread per input position needs no atomics.
  static Func gathered_grad_input(LayerLowering& l, const Window& win) {
    const auto& v = kVars;
    const Shape& out = l.out_shape;
    const int sx = int(win.stride.w), sy = int(win.stride.h), px = int(win.padding.w), py = int(win.padding.h);
    // With a stride, only the kernel taps that land on an output position count.
    Func gpad = l.stage("padded_grad_output", extents_of(out, l.batch));
    define_padded(gpad, l.grad_output, out.w, out.h, l.constant(0));
    const Func& w = l.param("weight");
    RDom rk(0, int(win.kernel.w), 0, int(win.kernel.h), 0, int(out.c), "rk");
    Expr ox = v.x + px - rk.x, oy = v.y + py - rk.y;
    // Rows whose taps all land in the padding add nothing: leaving them out
    // of the reduction (Halide trims the tap loop per row) saves, after a
    // valid 5x5 convolution of 8 rows, a third of the work.
    rk.where(oy >= 0 && oy <= (int(out.h) - 1) * sy);
    Expr term = w(rk.x, rk.y, v.c, rk.z) * gpad(ox / sx, oy / sy, rk.z, v.n);
    if (sx != 1 || sy != 1) term = Halide::select(ox % sx == 0 && oy % sy == 0, term, l.constant(0));
    Func gi = l.input_stage("grad_input", 0);
    gi(v.x, v.y, v.c, v.n) = l.constant(0);
    gi(v.x, v.y, v.c, v.n) += term;
    return gi;
  }

  // The input gradient as a scatter (Caffe's col2im): the columns
  // columns(ci, ox, kx, ky, oy, n), each output position's gradient times the
  // weights of every tap, added into the input positions the taps cover. The
  // sums run over x from the left edge of the padding (the rows are trimmed
  // to the input instead), so that no tap is tested; the input gradient is
  // their unpadded part.
  static Func scattered_grad_input(LayerLowering& l, const Window& win) {
    const auto& v = kVars;
    const Shape& in = l.in_shapes[0];
    const Shape& out = l.out_shape;
    const int sx = int(win.stride.w), sy = int(win.stride.h), px = int(win.padding.w), py = int(win.padding.h);
    const Func& w = l.param("weight");
    Func columns = l.stage("grad_columns", {in.c, out.w, win.kernel.w, win.kernel.h, out.h, l.batch});
    RDom rc(0, int(out.c), "rc");
    columns(v.ci, v.x, v.kx, v.ky, v.y, v.n) = l.constant(0);
    columns(v.ci, v.x, v.kx, v.ky, v.y, v.n) += w(v.kx, v.ky, v.ci, rc) * l.grad_output(v.x, v.y, rc, v.n);

    const int64_t padded_width = (out.w - 1) * sx + win.kernel.w;
    Func sums = l.stage("scattered_grad_input", {padded_width, in.h, in.c, l.batch});
    RDom r(0, int(win.kernel.w), 0, int(win.kernel.h), 0, int(out.w), 0, int(out.h), "rs");  // kx, ky, ox, oy
    const Expr y = r.w * sy + r.y - py;
    r.where(inside_rows(y, in));
    sums(v.x, v.y, v.c, v.n) = l.constant(0);
    sums(r.z * sx + r.x, y, v.c, v.n) += columns(v.c, r.z, r.x, r.y, r.w, v.n);

    Func gi = l.input_stage("grad_input", 0);
    gi(v.x, v.y, v.c, v.n) = sums(v.x + px, v.y, v.c, v.n);
    return gi;
  }

  // The unrolled patches of the padded input, patches(p, k, n): position
  // p = x + y * out_w, element k = kx + kw * (ky + kh * ci). Made once per
  // layer, shared by the forward pass and the weight gradient.
  static Func patches(LayerLowering& l, const Window& win) {
    if (l.has_stage("patches")) return l.stage_of("patches");
    const auto& v = kVars;
    const int kw = int(win.kernel.w), kh = int(win.kernel.h), ow = int(l.out_shape.w);
    Func p = l.stage("patches", {l.out_shape.w * l.out_shape.h, win.kernel.w * win.kernel.h * l.in_shapes[0].c, l.batch});
    Expr x = v.p % ow, y = v.p / ow, kx = v.k % kw, ky = (v.k / kw) % kh, ci = v.k / (kw * kh);
    p(v.p, v.k, v.n) = l.stage_of("padded_input")(x * int(win.stride.w) + kx - int(win.padding.w),
                                                  y * int(win.stride.h) + ky - int(win.padding.h), ci, v.n);
    return p;
  }
};

}  // namespace

const OpLowering& conv2d_lowering() {
  static const Conv2d lowering;
  return lowering;
}

}  // namespace netc
