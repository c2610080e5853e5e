// What an op sees while it is lowered into Halide: its layer, the Funcs of its
// inputs and parameters, and a way to create named stages.
//
// Dimension order (Halide's dimension 0 is innermost, PyTorch's is outermost,
// so the same memory reads the other way round):
//   images       (x, y, c, n)      = PyTorch NCHW
//   flat vectors (i, n)            = PyTorch [N, F]
//   conv weight  (kx, ky, ci, co)  = PyTorch [O, I, kh, kw]
//   linear weight(i, o)            = PyTorch [out, in]
//   bias         (o)
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "Halide.h"
#include "front/op_spec.h"

namespace netc {

// The pure variables every op uses, so that schedules can name them.
struct Vars {
  Halide::Var x{"x"}, y{"y"}, c{"c"}, n{"n"};  // images
  Halide::Var i{"i"}, o{"o"};                  // vectors, linear weights
  Halide::Var kx{"kx"}, ky{"ky"}, ci{"ci"}, co{"co"};  // conv weights
  Halide::Var p{"p"}, k{"k"};  // im2col: output positions, patch elements
};
extern const Vars kVars;

// A Func the schedule layer can address by name ("cnn2.grad_input") or by
// kind ("conv2d.grad_input").
struct Stage {
  std::string name;  // "<layer>.<pass>", or "loss.*", "update"
  std::string kind;  // "<op>.<pass>"
  Halide::Func func;
  std::vector<int64_t> extents;  // of its pure dimensions, innermost first
  // A Func defined elsewhere (a parameter, or another stage) that this name
  // refers to, so that a schedule can say how its consumer reads it
  // ("cnn2.weight", "cnn2.grad_output"); schedules never compute these.
  bool reference = false;
};

class StageTable {
 public:
  // A new Func named after the stage, registered in the table.
  Halide::Func add(const std::string& name, const std::string& kind, std::vector<int64_t> extents);
  // Registers `f`, defined elsewhere, under another name (see Stage::reference).
  void add_reference(const std::string& name, const std::string& kind, Halide::Func f, std::vector<int64_t> extents);
  const std::vector<Stage>& stages() const { return stages_; }
  const Stage* find(const std::string& name) const;

 private:
  std::vector<Stage> stages_;
};

// Which lowering variant the stage `name` of kind `kind` takes: "direct", or
// another the op offers ("im2col" for a convolution). A schedule choice: a
// variant changes how a stage is computed, never what.
using VariantChooser = std::function<std::string(const std::string& name, const std::string& kind)>;

// Halide extents of a layer output of shape `s` with batch `batch`.
std::vector<int64_t> extents_of(const Shape& s, int64_t batch);

class LayerLowering {
 public:
  LayerLowering(const Layer& layer, std::vector<Shape> in_shapes, int64_t batch, Halide::Type type,
                StageTable& stages);

  const Layer& layer;
  const std::vector<Shape> in_shapes;
  const Shape out_shape;
  const int64_t batch;
  const Halide::Type type;  // float32 for training, float64 in gradient checks

  // Forward: the op reads these and defines `output`.
  std::vector<Halide::Func> inputs;
  std::map<std::string, Halide::Func> params;  // "weight", "bias"
  Halide::Func output;

  // Backward: the op reads `grad_output` and defines `grad_inputs[i]` for
  // every input with needs_grad_input(i), and grad_params[p] for every param.
  Halide::Func grad_output;
  std::vector<bool> input_needs_grad;
  std::vector<Halide::Func> grad_inputs;
  std::map<std::string, Halide::Func> grad_params;

  // The schedule's choice of variant for this layer's pass (default direct).
  VariantChooser choose_variant;
  std::string variant(const std::string& pass) const;

  bool needs_grad_input(size_t i) const { return input_needs_grad.at(i); }
  bool has_param(const std::string& p) const { return params.count(p) != 0; }
  const Halide::Func& param(const std::string& p) const { return params.at(p); }

  // A stage "<layer>.<pass>" of kind "<op>.<pass>" with the given extents.
  Halide::Func stage(const std::string& pass, std::vector<int64_t> extents);
  // This layer's stage "<layer>.<pass>", defined earlier (e.g. by forward).
  Halide::Func stage_of(const std::string& pass) const;
  bool has_stage(const std::string& pass) const;
  // The same with the extents of the layer's output.
  Halide::Func output_stage(const std::string& pass);
  // The same with the extents of input i; an op with several inputs gets
  // one stage "<layer>.<pass><i>" per input, all of kind "<op>.<pass>".
  Halide::Func input_stage(const std::string& pass, size_t i);

  // The pure variables of the output: (x, y, c, n) or (i, n).
  std::vector<Halide::Var> output_vars() const { return vars_of(out_shape); }
  // The same for input i.
  std::vector<Halide::Var> input_vars(size_t i) const { return vars_of(in_shapes.at(i)); }
  static std::vector<Halide::Var> vars_of(const Shape& s);

  Halide::Expr constant(double v) const { return Halide::cast(type, Halide::Expr(v)); }

 private:
  StageTable& stages_;
};

// Defines `dest` as `src` over (x, y, c, n) with `value` outside [0, w) x [0, h).
void define_padded(Halide::Func dest, const Halide::Func& src, int64_t w, int64_t h, Halide::Expr value);

}  // namespace netc
