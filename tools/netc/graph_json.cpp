#include "graph_json.h"

#include <map>
#include <string>

#include "front/op_spec.h"

namespace netc {
namespace {

using Json = nlohmann::ordered_json;

Json pair_json(HW p) { return Json::array({p.h, p.w}); }

Json attribute_json(const AttrValue& v) {
  switch (v.kind) {
    case AttrValue::Kind::Int: return v.i;
    case AttrValue::Kind::Pair: return pair_json(v.pair);
    case AttrValue::Kind::Float: return v.f;
    case AttrValue::Kind::Bool: return v.b;
    case AttrValue::Kind::String: return v.s;
  }
  return nullptr;
}

std::string input_name(const Graph& g, int input) {
  return input == Layer::kGraphInput ? "input" : g.layers[static_cast<size_t>(input)].name;
}

}  // namespace

Json layer_json(const Graph& g, int index) {
  const Layer& l = g.layers[static_cast<size_t>(index)];
  Json inputs = Json::array();
  for (int in : l.inputs) inputs.push_back(input_name(g, in));
  Json attrs = Json::object();
  for (const auto& [name, value] : find_op(l.op)->resolved_attributes(l, g.input_shapes(index)))
    attrs[name] = attribute_json(value);
  Json params = Json::array();
  for (const ParamSpec& p : g.params)
    if (p.layer == index) params.push_back({{"name", p.name}, {"shape", p.shape}, {"fan_in", p.fan_in}});
  return {{"name", l.name}, {"op", l.op},          {"inputs", inputs},
          {"attributes", attrs}, {"output", l.output.dims()}, {"params", params}};
}

Json optimizer_json(const OptimizerSettings& o) {
  Json j = {{"type", optimizer_name(o.type)}, {"lr", o.lr}};
  if (o.type == OptimizerType::Sgd) {
    j["momentum"] = o.momentum;
    j["nesterov"] = o.nesterov;
  } else {
    j["betas"] = Json::array({o.beta1, o.beta2});
    j["eps"] = o.eps;
  }
  j["weight_decay"] = o.weight_decay;
  return j;
}

Json lr_schedule_json(const LrSchedule& s) {
  Json j = {{"type", lr_schedule_type_name(s.type)}};
  switch (s.type) {
    case LrSchedule::Type::Constant: break;
    case LrSchedule::Type::Step: j["step_size"] = s.step_size, j["gamma"] = s.gamma; break;
    case LrSchedule::Type::MultiStep: j["milestones"] = s.milestones, j["gamma"] = s.gamma; break;
    case LrSchedule::Type::Cosine: j["t_max"] = s.t_max, j["eta_min"] = s.eta_min; break;
  }
  j["warmup"] = s.warmup;
  return j;
}

Json train_json(const TrainConfig& t) {
  return {{"dataset", t.dataset}, {"batch_size", t.batch_size}, {"iterations", t.iterations},
          {"eval_every", t.eval_every}, {"shuffle", t.shuffle}, {"seed", t.seed},
          {"optimizer", optimizer_json(t.optimizer)}, {"lr_schedule", lr_schedule_json(t.lr_schedule)},
          {"validation", t.validation}, {"augment", {{"shift", t.augment.shift}}}};
}

Json graph_json(const Graph& g) {
  Json layers = Json::array();
  for (size_t i = 0; i < g.layers.size(); ++i) layers.push_back(layer_json(g, static_cast<int>(i)));
  return {{"name", g.name},
          {"description", g.description},
          {"input", g.input.dims()},
          {"layers", layers},
          {"output", g.layers[static_cast<size_t>(g.output)].name},
          {"loss", g.loss},
          {"train", train_json(g.train)},
          {"fingerprint", graph_fingerprint(g)}};
}

}  // namespace netc
