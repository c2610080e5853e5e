// model_abi.h: how a pipeline that netc compiled is called, for every caller:
// the runtime (compiled_model.h, device_training.h), the header-only API that
// `netc compile` ships (netc_model.hpp) and the headers it generates.
//
// Header-only and standalone (the C++17 standard library alone), since
// `netc compile` copies it into its output next to netc_model.hpp. The
// compiler makes the pipelines this way (its compiler/lower/pipeline.h).
//
// Buffers are Halide's halide_buffer_t, with Halide's dimensions: PyTorch's
// layout reversed (images x, y, c, n).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct halide_buffer_t;  // HalideRuntime.h

namespace netc {

// One parameter of a graph, as the manifest and the generated headers list it.
struct ParameterSpec {
  std::string name;            // "cnn1.weight"
  std::vector<int64_t> shape;  // PyTorch's layout
  int64_t fan_in = 1;          // PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The optimizers of a graph's train.optimizer: PyTorch's torch.optim.SGD,
// Adam and AdamW (of PyTorch 1.13, amsgrad and maximize off).
enum class OptimizerType { Sgd, Adam, AdamW };

// What a train step is compiled for: an optimizer's update rule. AdamW's is
// Adam's, its decoupled weight decay being one of the step's scalars.
enum class UpdateRule { Sgd, Adam };

inline UpdateRule update_rule(OptimizerType type) {
  return type == OptimizerType::Sgd ? UpdateRule::Sgd : UpdateRule::Adam;
}
inline const char* optimizer_name(OptimizerType type) {
  return type == OptimizerType::Sgd ? "sgd" : type == OptimizerType::Adam ? "adam" : "adamw";
}
inline const char* update_rule_name(UpdateRule rule) { return rule == UpdateRule::Sgd ? "sgd" : "adam"; }
// The type named `name` ("sgd", "adam", "adamw"); false if none is.
inline bool parse_optimizer_type(const std::string& name, OptimizerType* type) {
  for (OptimizerType t : {OptimizerType::Sgd, OptimizerType::Adam, OptimizerType::AdamW})
    if (name == optimizer_name(t)) return *type = t, true;
  return false;
}
inline bool parse_update_rule(const std::string& name, UpdateRule* rule) {
  for (UpdateRule r : {UpdateRule::Sgd, UpdateRule::Adam})
    if (name == update_rule_name(r)) return *rule = r, true;
  return false;
}

// The state an update rule keeps per parameter: its slots, each a tensor of
// the parameter's shape, in this order, named as in PyTorch's
// optimizer.state_dict()["state"]. They start at zero.
inline std::vector<std::string> update_slots(UpdateRule rule) {
  if (rule == UpdateRule::Sgd) return {"momentum_buffer"};
  return {"exp_avg", "exp_avg_sq"};
}

// An optimizer's hyper-parameters, as PyTorch's constructors take them;
// each type reads its own (SGD: lr, momentum, weight_decay, nesterov; Adam
// and AdamW: lr, beta1, beta2, eps, weight_decay). `{0.01, 0.9}` is SGD with
// momentum.
struct OptimizerSettings {
  double lr = 0.01, momentum = 0, weight_decay = 0;
  bool nesterov = false;
  OptimizerType type = OptimizerType::Sgd;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// The scalar arguments of one train step: the numbers PyTorch's step()
// computes on the host in double precision, as the float32 its kernels use.
struct StepScalars {
  // SGD: d = g + weight_decay p; b = momentum b + d;
  //      p -= lr (nesterov ? d + momentum b : b).
  float lr = 0, momentum = 0, weight_decay = 0;
  bool nesterov = false;
  // Adam and AdamW: g += weight_decay p (Adam's L2 term; 0 for AdamW);
  //   p *= decay (AdamW's 1 - lr weight_decay; 1 for Adam);
  //   m = beta1 m + one_minus_beta1 g;  v = beta2 v + one_minus_beta2 g g;
  //   p += -step_size m / (sqrt(v) / bias_correction2_sqrt + eps),
  // with step_size = lr / (1 - beta1^t), bias_correction2_sqrt = sqrt(1 - beta2^t).
  float decay = 1, beta1 = 0, one_minus_beta1 = 0, beta2 = 0, one_minus_beta2 = 0, step_size = 0,
        bias_correction2_sqrt = 0, eps = 0;
};

// The scalars of step `step` (1-based: PyTorch's state["step"] once
// incremented) at learning rate `lr` (the schedule's for that step).
inline StepScalars step_scalars(const OptimizerSettings& o, double lr, int64_t step) {
  StepScalars s;
  s.lr = float(lr);
  if (o.type == OptimizerType::Sgd) {
    s.momentum = float(o.momentum);
    s.weight_decay = float(o.weight_decay);
    s.nesterov = o.nesterov;
    return s;
  }
  const double t = double(step);
  s.weight_decay = o.type == OptimizerType::Adam ? float(o.weight_decay) : 0.0f;
  s.decay = o.type == OptimizerType::AdamW ? float(1 - lr * o.weight_decay) : 1.0f;
  s.beta1 = float(o.beta1);
  s.one_minus_beta1 = float(1 - o.beta1);
  s.beta2 = float(o.beta2);
  s.one_minus_beta2 = float(1 - o.beta2);
  s.step_size = float(lr / (1 - std::pow(o.beta1, t)));
  s.bias_correction2_sqrt = float(std::sqrt(1 - std::pow(o.beta2, t)));
  s.eps = float(o.eps);
  return s;
}

// The names of a train step's scalar arguments, in call order: the
// compiler's Params (every one float32 but nesterov, a bool).
inline std::vector<std::string> train_step_scalar_names(UpdateRule rule) {
  if (rule == UpdateRule::Sgd) return {"lr", "momentum", "weight_decay", "nesterov"};
  return {"weight_decay", "decay", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "step_size",
          "bias_correction2_sqrt", "eps"};
}

// The scalars of `rule` (train_step_scalar_names), appended to `args`.
inline void append_scalars(UpdateRule rule, StepScalars& s, std::vector<void*>& args) {
  if (rule == UpdateRule::Sgd)
    args.insert(args.end(), {&s.lr, &s.momentum, &s.weight_decay, &s.nesterov});
  else
    args.insert(args.end(), {&s.weight_decay, &s.decay, &s.beta1, &s.one_minus_beta1, &s.beta2, &s.one_minus_beta2,
                             &s.step_size, &s.bias_correction2_sqrt, &s.eps});
}
// Each parameter followed by its slots (slots[s][k]: slot s of parameter k).
inline void append_with_slots(const std::vector<halide_buffer_t*>& params,
                              const std::vector<std::vector<halide_buffer_t*>>& slots, std::vector<void*>& args) {
  for (size_t k = 0; k < params.size(); ++k) {
    args.push_back(params[k]);
    for (const std::vector<halide_buffer_t*>& slot : slots) args.push_back(slot[k]);
  }
}

// The train step of `rule`: images (x, y, c, n) f32, labels (n) i32, the
// scalars (train_step_scalar_names), each parameter followed by its slots
// (update_slots; slots[s][k] is slot s of parameter k, in the manifest's
// order), then the outputs: the batch's mean loss (0-dim f32) and each
// updated parameter followed by its updated slots. Outputs must not alias
// inputs.
inline std::vector<void*> train_step_arguments(UpdateRule rule, halide_buffer_t* images, halide_buffer_t* labels,
                                               StepScalars& s, const std::vector<halide_buffer_t*>& params,
                                               const std::vector<std::vector<halide_buffer_t*>>& slots,
                                               halide_buffer_t* loss, const std::vector<halide_buffer_t*>& params_out,
                                               const std::vector<std::vector<halide_buffer_t*>>& slots_out) {
  std::vector<void*> args = {images, labels};
  append_scalars(rule, s, args);
  append_with_slots(params, slots, args);
  args.push_back(loss);
  append_with_slots(params_out, slots_out, args);
  return args;
}
inline size_t train_step_argument_count(UpdateRule rule, size_t params) {
  const size_t tensors = params * (1 + update_slots(rule).size());
  return 2 + train_step_scalar_names(rule).size() + tensors + 1 + tensors;
}

// Data-parallel training (docs/distributed.md) splits the train step in two
// around the sum of the ranks' gradients; a model compiled for it
// (BuildOptions::data_parallel) has both halves besides the fused step.
// The gradients: images, labels, each parameter, then the outputs: the
// batch's mean loss (0-dim f32) and each parameter's gradient of that mean
// (zeros for a parameter that has none).
inline std::vector<void*> gradients_arguments(halide_buffer_t* images, halide_buffer_t* labels,
                                              const std::vector<halide_buffer_t*>& params, halide_buffer_t* loss,
                                              const std::vector<halide_buffer_t*>& grads) {
  std::vector<void*> args = {images, labels};
  args.insert(args.end(), params.begin(), params.end());
  args.push_back(loss);
  args.insert(args.end(), grads.begin(), grads.end());
  return args;
}
constexpr size_t gradients_argument_count(size_t params) { return 2 + params + 1 + params; }

// The update of `rule` from given gradients: the scalars, each parameter
// followed by its slots, each parameter's gradient, then the outputs: each
// updated parameter followed by its updated slots; the train step's update
// exactly, a parameter without a gradient left alone as there.
inline std::vector<void*> update_arguments(UpdateRule rule, StepScalars& s, const std::vector<halide_buffer_t*>& params,
                                           const std::vector<std::vector<halide_buffer_t*>>& slots,
                                           const std::vector<halide_buffer_t*>& grads,
                                           const std::vector<halide_buffer_t*>& params_out,
                                           const std::vector<std::vector<halide_buffer_t*>>& slots_out) {
  std::vector<void*> args;
  append_scalars(rule, s, args);
  append_with_slots(params, slots, args);
  args.insert(args.end(), grads.begin(), grads.end());
  append_with_slots(params_out, slots_out, args);
  return args;
}
inline size_t update_argument_count(UpdateRule rule, size_t params) {
  const size_t tensors = params * (1 + update_slots(rule).size());
  return train_step_scalar_names(rule).size() + tensors + params + tensors;
}

// Inference: images, labels, each parameter, then the outputs: logits
// (classes, n) and each image's loss (n).
inline std::vector<void*> inference_arguments(halide_buffer_t* images, halide_buffer_t* labels,
                                              const std::vector<halide_buffer_t*>& params, halide_buffer_t* logits,
                                              halide_buffer_t* losses) {
  std::vector<void*> args = {images, labels};
  args.insert(args.end(), params.begin(), params.end());
  args.push_back(logits);
  args.push_back(losses);
  return args;
}
constexpr size_t inference_argument_count(size_t params) { return 2 + params + 2; }

// The batch gatherer of a GPU target, which keeps a whole data set on the
// device: pixels (x, y, image) u8 and labels (image) u8 of the set, order
// (i32): the images of consecutive batches, shifts (2, position) i32: the
// translation (dx, dy) of the image at each position of order
// (runtime/batches.h's ImageShift: pixel (x, y) moves to (x + dx, y + dy),
// zeros fill in), first: where this batch starts in order; outputs the
// batch's images (pixel / 255) and labels (i32).
inline std::vector<void*> gather_arguments(halide_buffer_t* pixels, halide_buffer_t* labels, halide_buffer_t* order,
                                           halide_buffer_t* shifts, int32_t& first, halide_buffer_t* images,
                                           halide_buffer_t* batch_labels) {
  return {pixels, labels, order, shifts, &first, images, batch_labels};
}
constexpr size_t kGatherArgumentCount = 7;

}  // namespace netc
