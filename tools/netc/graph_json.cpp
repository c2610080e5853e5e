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

Json train_json(const TrainConfig& t) {
  const OptimizerConfig& o = t.optimizer;
  Json optimizer = {{"type", o.type},
                    {"lr", o.lr},
                    {"momentum", o.momentum},
                    {"weight_decay", o.weight_decay},
                    {"nesterov", o.nesterov}};
  return {{"dataset", t.dataset}, {"batch_size", t.batch_size}, {"iterations", t.iterations},
          {"eval_every", t.eval_every}, {"shuffle", t.shuffle}, {"seed", t.seed},
          {"optimizer", optimizer}, {"validation", t.validation}, {"augment", {{"shift", t.augment.shift}}}};
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
