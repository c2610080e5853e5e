#include "lower/pipeline.h"

#include <climits>
#include <map>

#include <fmt/format.h>

#include "lower/losses.h"
#include "lower/op_lowering.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::ImageParam;

// Halide's dimensions of a tensor of PyTorch shape `shape`: the same memory,
// dimension 0 innermost.
std::vector<int64_t> halide_extents(const std::vector<int64_t>& shape) {
  return std::vector<int64_t>(shape.rbegin(), shape.rend());
}

// An input buffer of static, dense shape: fixed extents and strides let
// Halide unroll, vectorize and address without run-time checks.
ImageParam static_input(Halide::Type type, const std::string& name, const std::vector<int64_t>& extents) {
  ImageParam p(type, int(extents.size()), name);
  int64_t stride = 1;
  for (size_t d = 0; d < extents.size(); ++d) {
    p.dim(int(d)).set_bounds(0, int(extents[d])).set_stride(int(stride)).set_estimate(0, int(extents[d]));
    stride *= extents[d];
  }
  return p;
}

// The same promise for an output.
void bound_output(Func f, const std::vector<int64_t>& extents) {
  int64_t stride = 1;
  for (size_t d = 0; d < extents.size(); ++d) {
    f.bound(f.args()[d], 0, int(extents[d])).set_estimate(f.args()[d], 0, int(extents[d]));
    f.output_buffer().dim(int(d)).set_bounds(0, int(extents[d])).set_stride(int(stride));
    stride *= extents[d];
  }
}

// A copy of `f` as a Func of its own: a pipeline output must be defined in the
// pipeline (not be one of its inputs) and must not be an output twice. It is
// the stage "output.<name>" of kind "output.copy", so that schedules place it
// too (on a GPU target, an unscheduled copy would run on the host).
Func output_copy(const Func& f, const std::string& name, const std::vector<int64_t>& extents, StageTable& stages) {
  std::vector<Halide::Var> args;
  for (size_t d = 0; d < extents.size(); ++d) args.push_back(Halide::Var("d" + std::to_string(d)));
  Func out = stages.add("output." + name, "output.copy", extents);
  out(args) = f(args);
  return out;
}

// The suffix of a parameter's name: "weight" for "cnn1.weight".
std::string param_role(const ParamSpec& p, const Graph& graph) {
  return p.name.substr(graph.layers[p.layer].name.size() + 1);
}

// Halide indexes buffers with 32-bit integers: a tensor of the batch must
// fit, which a graph that passed the (64-bit) shape checks may still not.
void check_buffer_sizes(const Graph& graph, int64_t batch) {
  const int64_t limit = INT32_MAX / int64_t(sizeof(float));
  auto check = [&](const SourceLoc& loc, const std::string& what, int64_t elements, int64_t copies) {
    if (elements > limit / copies)
      fail_at(loc, fmt::format("{} needs {} x {} values, more than the {} a compiled buffer can hold", what,
                               copies, elements, limit));
  };
  check(graph.layers.front().loc, "the graph input", graph.input.size(), batch);
  for (const Layer& l : graph.layers) check(l.loc, fmt::format("layer '{}'", l.name), l.output.size(), batch);
  for (const ParamSpec& p : graph.params) check(graph.layers[p.layer].loc, p.name, p.size(), 1);
}

// The forward and backward lowering of a whole graph.
class GraphLowering {
 public:
  GraphLowering(const Graph& graph, int64_t batch, VariantChooser variants)
      : graph_(graph),
        batch_(batch),
        variants_(std::move(variants)),
        images_(static_input(Halide::Float(32), "images", extents_of(graph.input, batch))),
        labels_(static_input(Halide::Int(32), "labels", {batch})) {
    for (size_t k = 0; k < graph.params.size(); ++k)
      params_.push_back(static_input(Halide::Float(32), "param_" + std::to_string(k),
                                     halide_extents(graph.params[k].shape)));
    check_buffer_sizes(graph, batch);
    if (!graph.layers[graph.output].output.flat)
      fail_at(graph.layers[graph.output].loc,
              fmt::format("layer '{}': the output layer must give a vector of class scores (add a flatten and a "
                          "linear layer), not an image {}",
                          graph.layers[graph.output].name, graph.layers[graph.output].output.str()));
  }

  void forward() {
    for (size_t li = 0; li < graph_.layers.size(); ++li) {
      const Layer& layer = graph_.layers[li];
      auto l = std::make_unique<LayerLowering>(layer, graph_.input_shapes(int(li)), batch_, Halide::Float(32), stages_);
      l->choose_variant = variants_;
      for (int in : layer.inputs) l->inputs.push_back(in == Layer::kGraphInput ? Func(images_) : layers_[in]->output);
      for (size_t k = 0; k < graph_.params.size(); ++k)
        if (graph_.params[k].layer == int(li)) {
          std::string role = param_role(graph_.params[k], graph_);
          l->params[role] = Func(params_[k]);
          stages_.add_reference(layer.name + "." + role, layer.op + "." + role, l->params[role],
                                halide_extents(graph_.params[k].shape));
        }
      lowering_of(layer.op).forward(*l);
      layers_.push_back(std::move(l));
    }
  }

  // The gradient of every parameter from the logits' gradient; undefined for
  // parameters that do not influence the output.
  std::vector<Func> backward(const Func& grad_logits) {
    std::vector<bool> needs_grad = layers_needing_grad();
    std::vector<std::vector<Func>> contributions(graph_.layers.size());
    contributions[graph_.output].push_back(grad_logits);
    std::vector<Func> param_grads(graph_.params.size());
    for (size_t li = graph_.layers.size(); li-- > 0;) {
      if (contributions[li].empty() || !needs_grad[li]) continue;
      LayerLowering& l = *layers_[li];
      l.grad_output = sum_of(contributions[li], l);
      stages_.add_reference(l.layer.name + ".grad_output", l.layer.op + ".grad_output", l.grad_output,
                            extents_of(l.out_shape, batch_));
      for (size_t k = 0; k < l.layer.inputs.size(); ++k) {
        int in = l.layer.inputs[k];
        l.input_needs_grad[k] = in != Layer::kGraphInput && needs_grad[in];
      }
      lowering_of(l.layer.op).adjoint(l);
      for (size_t k = 0; k < l.layer.inputs.size(); ++k)
        if (l.input_needs_grad[k]) contributions[l.layer.inputs[k]].push_back(l.grad_inputs[k]);
      for (size_t k = 0; k < graph_.params.size(); ++k)
        if (graph_.params[k].layer == int(li)) param_grads[k] = l.grad_params.at(param_role(graph_.params[k], graph_));
    }
    return param_grads;
  }

  Func logits() const { return layers_[graph_.output]->output; }
  const ImageParam& images() const { return images_; }
  const ImageParam& labels() const { return labels_; }
  const std::vector<ImageParam>& params() const { return params_; }
  StageTable& stages() { return stages_; }

 private:
  // Like PyTorch's requires_grad: a layer's output needs a gradient when the
  // layer or anything before it has parameters.
  std::vector<bool> layers_needing_grad() const {
    std::vector<bool> needs(graph_.layers.size(), false);
    for (const ParamSpec& p : graph_.params) needs[p.layer] = true;
    for (size_t li = 0; li < graph_.layers.size(); ++li)
      for (int in : graph_.layers[li].inputs)
        if (in != Layer::kGraphInput && needs[in]) needs[li] = true;
    return needs;
  }

  // The gradient of a layer's output consumed by several layers is the sum of
  // what each consumer sends back.
  Func sum_of(const std::vector<Func>& grads, LayerLowering& l) {
    if (grads.size() == 1) return grads[0];
    auto args = l.output_vars();
    Halide::Expr sum = grads[0](args);
    for (size_t k = 1; k < grads.size(); ++k) sum += grads[k](args);
    Func total = l.output_stage("grad_sum");
    total(args) = sum;
    return total;
  }

  const Graph& graph_;
  const int64_t batch_;
  const VariantChooser variants_;
  ImageParam images_, labels_;
  std::vector<ImageParam> params_;
  std::vector<std::unique_ptr<LayerLowering>> layers_;
  StageTable stages_;
};

// A scalar argument of the train step: a float32, or a bool (nesterov).
struct ScalarParam {
  Halide::Argument argument;
  Halide::Expr value;
};

ScalarParam update_scalar(const std::string& name) {
  if (name == "nesterov") {
    Halide::Param<bool> p(name);
    // Param<bool>::set_estimate(false) would make an int32 constant.
    p.parameter().set_estimate(Halide::Internal::make_const(Halide::Bool(), 0));
    return {p, p};
  }
  // What the autoschedulers plan for: the tutorial's SGD, PyTorch's Adam defaults.
  static const std::map<std::string, float> kTypical = {
      {"lr", 0.01f},  {"momentum", 0.0f},         {"weight_decay", 0.0f}, {"decay", 1.0f},
      {"beta1", 0.9f}, {"one_minus_beta1", 0.1f}, {"beta2", 0.999f},      {"one_minus_beta2", 0.001f},
      {"step_size", 0.001f}, {"bias_correction2_sqrt", 1.0f}, {"eps", 1e-8f}};
  Halide::Param<float> p(name);
  p.set_estimate(kTypical.at(name));
  return {p, p};
}

std::string symbol(const Graph& graph, const std::string& what) { return "netc_" + graph.name + "_" + what; }

// Which parameters have a gradient: those of a layer the output depends on
// (GraphLowering::backward leaves the others undefined).
std::vector<bool> params_with_gradients(const Graph& graph) {
  std::vector<bool> feeds_output(graph.layers.size(), false);
  feeds_output[graph.output] = true;
  for (size_t li = graph.layers.size(); li-- > 0;)
    if (feeds_output[li])
      for (int in : graph.layers[li].inputs)
        if (in != Layer::kGraphInput) feeds_output[in] = true;
  std::vector<bool> has(graph.params.size());
  for (size_t k = 0; k < graph.params.size(); ++k) has[k] = feeds_output[graph.params[k].layer];
  return has;
}

// The optimizer's update of every parameter from `grads` (undefined: no
// gradient, the parameter and its state left alone, as PyTorch's optimizers
// do): appends the scalars, each parameter and its slots to p's arguments,
// each updated parameter and its slots to its outputs.
void add_update(const Graph& graph, const std::vector<ImageParam>& params, const std::vector<Func>& grads,
                LoweredPipeline& p, StageTable& stages) {
  const UpdateRule rule = update_rule(graph.train.optimizer.type);
  UpdateScalars scalars;
  for (const std::string& name : train_step_scalar_names(rule)) {
    ScalarParam scalar = update_scalar(name);
    scalars[name] = scalar.value;
    p.arguments.push_back(scalar.argument);
  }
  const std::vector<std::string> slot_names = update_slots(rule);
  for (size_t k = 0; k < graph.params.size(); ++k) {
    const ParamSpec& spec = graph.params[k];
    std::vector<int64_t> extents = halide_extents(spec.shape);
    p.arguments.push_back(params[k]);
    std::vector<Func> slots;
    for (const std::string& slot : slot_names) {
      ImageParam buf = static_input(Halide::Float(32), slot + "_" + std::to_string(k), extents);
      p.arguments.push_back(buf);
      slots.push_back(Func(buf));
    }
    ParamUpdate u;
    if (grads[k].defined()) {
      u = lower_update(rule, spec.name, Func(params[k]), grads[k], slots, scalars, extents, stages);
    } else {
      u.param = output_copy(Func(params[k]), "param_" + std::to_string(k) + "_unchanged", extents, stages);
      for (size_t s = 0; s < slots.size(); ++s)
        u.slots.push_back(
            output_copy(slots[s], slot_names[s] + "_" + std::to_string(k) + "_unchanged", extents, stages));
    }
    bound_output(u.param, extents);
    p.outputs.push_back(u.param);
    for (Func& slot : u.slots) {
      bound_output(slot, extents);
      p.outputs.push_back(slot);
    }
  }
}

}  // namespace

LoweredPipeline lower_train_step(const Graph& graph, int64_t batch, const VariantChooser& variants) {
  GraphLowering g(graph, batch, variants);
  g.forward();
  CrossEntropy ce = lower_cross_entropy(g.logits(), Func(g.labels()), graph.num_classes(), batch, g.stages());
  std::vector<Func> grads = g.backward(ce.grad_logits);

  LoweredPipeline p;
  p.function_name = symbol(graph, "train_step");
  p.arguments = {g.images(), g.labels()};
  p.outputs.push_back(ce.loss);
  add_update(graph, g.params(), grads, p, g.stages());
  p.pipeline = Halide::Pipeline(p.outputs);
  p.stages = std::move(g.stages());
  return p;
}

LoweredPipeline lower_gradients(const Graph& graph, int64_t batch, const VariantChooser& variants) {
  GraphLowering g(graph, batch, variants);
  g.forward();
  CrossEntropy ce = lower_cross_entropy(g.logits(), Func(g.labels()), graph.num_classes(), batch, g.stages());
  std::vector<Func> grads = g.backward(ce.grad_logits);

  LoweredPipeline p;
  p.function_name = symbol(graph, "gradients");
  p.arguments = {g.images(), g.labels()};
  for (const ImageParam& param : g.params()) p.arguments.push_back(param);
  p.outputs.push_back(ce.loss);
  for (size_t k = 0; k < graph.params.size(); ++k) {
    const std::vector<int64_t> extents = halide_extents(graph.params[k].shape);
    Func grad = grads[k];
    if (!grad.defined()) {  // a parameter that does not influence the loss: zeros, which the update ignores
      std::vector<Halide::Var> args(extents.size());
      grad = Func("no_gradient_" + std::to_string(k));
      grad(args) = 0.0f;
    }
    p.outputs.push_back(output_copy(grad, "grad_" + std::to_string(k), extents, g.stages()));
    bound_output(p.outputs.back(), extents);
  }
  p.pipeline = Halide::Pipeline(p.outputs);
  p.stages = std::move(g.stages());
  return p;
}

LoweredPipeline lower_update_step(const Graph& graph) {
  const std::vector<bool> has_gradient = params_with_gradients(graph);
  LoweredPipeline p;
  p.function_name = symbol(graph, "update");
  std::vector<ImageParam> params, grad_inputs;
  std::vector<Func> grads;
  for (size_t k = 0; k < graph.params.size(); ++k) {
    const std::vector<int64_t> extents = halide_extents(graph.params[k].shape);
    params.push_back(static_input(Halide::Float(32), "param_" + std::to_string(k), extents));
    grad_inputs.push_back(static_input(Halide::Float(32), "grad_" + std::to_string(k), extents));
    grads.push_back(has_gradient[k] ? Func(grad_inputs.back()) : Func());
  }
  add_update(graph, params, grads, p, p.stages);
  // The gradients follow the parameters and slots.
  p.arguments.insert(p.arguments.end(), grad_inputs.begin(), grad_inputs.end());
  p.pipeline = Halide::Pipeline(p.outputs);
  return p;
}

LoweredPipeline lower_inference(const Graph& graph, int64_t batch, const VariantChooser& variants) {
  GraphLowering g(graph, batch, variants);
  g.forward();
  CrossEntropy ce = lower_cross_entropy(g.logits(), Func(g.labels()), graph.num_classes(), batch, g.stages());

  LoweredPipeline p;
  p.function_name = symbol(graph, "inference");
  p.arguments = {g.images(), g.labels()};
  for (const ImageParam& param : g.params()) p.arguments.push_back(param);
  Func logits = output_copy(g.logits(), "logits", {graph.num_classes(), batch}, g.stages());
  bound_output(logits, {graph.num_classes(), batch});
  bound_output(ce.losses, {batch});
  p.outputs = {logits, ce.losses};
  p.pipeline = Halide::Pipeline(p.outputs);
  p.stages = std::move(g.stages());
  return p;
}

LoweredPipeline lower_gather_batch(const Graph& graph, int64_t batch) {
  const auto& v = kVars;
  const int width = int(graph.input.w), height = int(graph.input.h);
  // MNIST's training set, for the autoschedulers' estimates.
  const int typical_images = 60000;
  ImageParam pixels(Halide::UInt(8), 3, "pixels"), labels(Halide::UInt(8), 1, "dataset_labels");
  pixels.dim(0).set_bounds(0, width).set_stride(1).set_estimate(0, width);
  pixels.dim(1).set_bounds(0, height).set_stride(width).set_estimate(0, height);
  pixels.dim(2).set_min(0).set_stride(width * height).set_estimate(0, typical_images);
  labels.dim(0).set_min(0).set_stride(1).set_estimate(0, typical_images);
  ImageParam order(Halide::Int(32), 1, "order");
  order.dim(0).set_min(0).set_stride(1).set_estimate(0, int(batch));
  ImageParam shifts(Halide::Int(32), 2, "shifts");
  shifts.dim(0).set_bounds(0, 2).set_stride(1).set_estimate(0, 2);
  shifts.dim(1).set_min(0).set_stride(2).set_estimate(0, int(batch));
  Halide::Param<int32_t> first("first");
  first.set_estimate(0);

  LoweredPipeline p;
  p.function_name = symbol(graph, "gather");
  p.arguments = {pixels, labels, order, shifts, first};
  p.buffers = {pixels, labels, order, shifts};
  // Clamped, so that a bad index reads some image rather than past the set.
  Halide::Expr image = Halide::clamp(order(first + v.n), 0, pixels.dim(2).extent() - 1);
  // Pixel (x, y) of the batch comes from (x - dx, y - dy) of the image, or is 0.
  Halide::Expr source_x = v.x - shifts(0, first + v.n), source_y = v.y - shifts(1, first + v.n);
  Halide::Expr inside = source_x >= 0 && source_x < width && source_y >= 0 && source_y < height;
  Halide::Expr pixel = pixels(Halide::clamp(source_x, 0, width - 1), Halide::clamp(source_y, 0, height - 1), image);
  Func images = p.stages.add("gather.images", "gather.images", extents_of(graph.input, batch));
  // Strict, as the host's division (Halide would multiply by 1/255 instead),
  // so that a GPU trains on exactly the host's batches.
  images(v.x, v.y, v.c, v.n) = Halide::select(inside, Halide::strict_float(Halide::cast<float>(pixel) / 255.0f), 0.0f);
  Func batch_labels = p.stages.add("gather.labels", "gather.labels", {batch});
  batch_labels(v.n) = Halide::cast<int32_t>(labels(Halide::clamp(image, 0, labels.dim(0).extent() - 1)));
  bound_output(images, extents_of(graph.input, batch));
  bound_output(batch_labels, {batch});
  p.outputs = {images, batch_labels};
  p.pipeline = Halide::Pipeline(p.outputs);
  return p;
}

LoweredPipeline lower_layer(const Layer& layer, const std::vector<Shape>& in_shapes, int64_t batch,
                            Halide::Type type, const VariantChooser& variants) {
  LoweredPipeline p;
  p.function_name = "netc_layer_" + layer.name;
  LayerLowering l(layer, in_shapes, batch, type, p.stages);
  l.choose_variant = variants;
  for (size_t k = 0; k < in_shapes.size(); ++k) {
    ImageParam x = static_input(type, "x" + std::to_string(k), extents_of(in_shapes[k], batch));
    l.inputs.push_back(Func(x));
    p.arguments.push_back(x);
    p.buffers.push_back(x);
  }
  std::vector<InputInfo> infos;
  for (const Shape& s : in_shapes) infos.push_back({"x", s, s.str()});
  std::vector<std::pair<std::string, std::vector<int64_t>>> roles;  // with their extents
  for (const ParameterSpec& spec : find_op(layer.op)->params(layer, infos)) {
    std::string role = spec.name.substr(layer.name.size() + 1);
    ImageParam w = static_input(type, role, halide_extents(spec.shape));
    l.params[role] = Func(w);
    p.arguments.push_back(w);
    p.buffers.push_back(w);
    // As the graph lowering does, so that recipes reading a layer's
    // parameters (channel_tiles repacks the weight) schedule one layer too.
    p.stages.add_reference(layer.name + "." + role, layer.op + "." + role, l.params[role],
                           halide_extents(spec.shape));
    roles.emplace_back(role, halide_extents(spec.shape));
  }
  lowering_of(layer.op).forward(l);
  ImageParam gy = static_input(type, "gy", extents_of(l.out_shape, batch));
  p.arguments.push_back(gy);
  p.buffers.push_back(gy);
  l.grad_output = Func(gy);
  p.stages.add_reference(layer.name + ".grad_output", layer.op + ".grad_output", l.grad_output,
                         extents_of(l.out_shape, batch));
  lowering_of(layer.op).adjoint(l);

  // Bounded as the graph pipelines' outputs are: recipes unroll over extents
  // they take to be constant.
  auto add_output = [&](const Func& f, const std::string& name, const std::vector<int64_t>& extents) {
    p.outputs.push_back(output_copy(f, name, extents, p.stages));
    bound_output(p.outputs.back(), extents);
  };
  add_output(l.output, "y", extents_of(l.out_shape, batch));
  for (size_t k = 0; k < in_shapes.size(); ++k)
    add_output(l.grad_inputs[k], "gx" + std::to_string(k), extents_of(in_shapes[k], batch));
  for (const auto& [role, extents] : roles) add_output(l.grad_params.at(role), "g" + role, extents);
  p.pipeline = Halide::Pipeline(p.outputs);
  return p;
}

}  // namespace netc
