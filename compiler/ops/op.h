// One class per op (as Caffe has one class per layer): its attributes, its
// shape rule, its parameters and their initialization, its forward pass and
// its adjoint. Each op lives in one file, compiler/ops/<op>.cpp.
//
// This header is Halide-free so that the front end (parsing, shape checks,
// `netc summary`) compiles without Halide.h; the Halide side of an op sees a
// LayerLowering, defined in compiler/lower/lowering.h.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace netc {

class LayerLowering;

enum class AttrKind {
  PositiveInt,  // an integer >= 1
  Pair,         // an integer >= 1, or [h, w] of them
  Padding,      // an integer >= 0, or [h, w] of them, or `valid` / `same`
  Float,        // any finite number
  Bool,
};

// What an op knows of one of its inputs while checking shapes.
struct InputInfo {
  std::string name;        // the producing layer, or "input" for the graph input
  Shape shape;
  std::string description; // for messages: "16 x 28 x 28", or "512 values (32 x 4 x 4)"
                           // for a flattened image, "10 values" for other vectors
};

struct AttrSpec {
  std::string name;
  AttrKind kind;
  bool required = false;
};

class Op {
 public:
  virtual ~Op() = default;

  virtual std::string name() const = 0;
  virtual std::vector<AttrSpec> attributes() const { return {}; }
  // How many inputs the op takes. A single-input op takes `input: name`; a
  // multi-input op (max_inputs > 1) takes `input: [a, b, ...]`.
  virtual int min_inputs() const { return 1; }
  virtual int max_inputs() const { return 1; }

  // The shape rule. Also validates attribute values against each other and
  // against the input shapes; problems are reported with fail_at() at the
  // attribute (layer.loc_of(...)) or the layer. Arithmetic must not overflow.
  virtual Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const = 0;

  // The layer's parameters (PyTorch layouts and fan-ins), after infer_shape.
  virtual std::vector<ParamSpec> params(const Layer& layer, const std::vector<InputInfo>& inputs) const {
    (void)layer;
    (void)inputs;
    return {};
  }

  // Multiply-adds of one image's forward pass, counting the op's main product
  // only (what GFLOP/s figures count, as PyTorch's profilers do): the
  // weight and input gradients each cost as much again.
  virtual int64_t multiply_adds(const Layer& layer, const std::vector<Shape>& inputs) const {
    (void)layer;
    (void)inputs;
    return 0;
  }

  // The passes of the stages its lowering creates ("forward", "grad_input",
  // ...): stage kinds are "<op>.<pass>", and schedule files may name them.
  virtual std::vector<std::string> passes() const { return {"forward", "grad_input"}; }

  // Defines l.output from l.inputs and l.param(...).
  virtual void forward(LayerLowering& l) const = 0;
  // From l.grad_output (and forward values), defines the gradient of every
  // input that l.needs_grad_input(i) and of every parameter.
  virtual void adjoint(LayerLowering& l) const = 0;
};

// Fails at the layer unless `in` is an image (C x H x W).
void require_image(const Layer& layer, const InputInfo& in);

// The op called `name`, or nullptr.
const Op* find_op(const std::string& name);
// Every op name, sorted (for messages: "expected one of ...").
std::vector<std::string> op_names();

}  // namespace netc
