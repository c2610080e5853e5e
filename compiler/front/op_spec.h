// The spec of an op, one class per op (as Caffe keeps a layer's shape logic
// in its class): its attributes, how many inputs it takes, its shape rule,
// its parameters and their initialization, its cost, and the stages its
// lowering makes. Each op's spec lives in compiler/front/ops/<op>.cpp; its
// Halide forward pass and adjoint in compiler/lower/ops/<op>.cpp
// (lower/op_lowering.h), both found by the op's name.
//
// The front end is Halide-free: parsing, shape checks and `netc summary`
// need no Halide.h and no libHalide.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "front/graph.h"

namespace netc {

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

class OpSpec {
 public:
  virtual ~OpSpec() = default;

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
  virtual std::vector<ParameterSpec> params(const Layer& layer, const std::vector<InputInfo>& inputs) const {
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

  // Every attribute as the lowering reads it, defaults filled in and `same`
  // or `valid` padding resolved to numbers (what `netc describe` prints, so
  // that other programs never re-implement a default).
  virtual std::map<std::string, AttrValue> resolved_attributes(const Layer& layer,
                                                               const std::vector<Shape>& inputs) const {
    (void)inputs;
    return layer.attrs;
  }

  // The passes of the stages its lowering creates ("forward", "grad_input",
  // ...): stage kinds are "<op>.<pass>", and schedule files may name them.
  virtual std::vector<std::string> passes() const { return {"forward", "grad_input"}; }
};

// Attribute values made in code (resolved_attributes), located nowhere.
AttrValue int_value(int64_t i);
AttrValue pair_value(HW pair);
AttrValue float_value(double f);
AttrValue bool_value(bool b);

// Fails at the layer unless `in` is an image (C x H x W).
void require_image(const Layer& layer, const InputInfo& in);

// The spec of the op called `name`, or nullptr.
const OpSpec* find_op(const std::string& name);
// Every op name, sorted (for messages: "expected one of ...").
std::vector<std::string> op_names();

}  // namespace netc
