// The graph front end on arbitrary text: YAML parsing, validation, shape
// inference and the parameter table (parse_graph), plus what `netc summary`
// derives from them. Never lowers into Halide. A result must be a consistent
// graph; a rejection an InputError at FILE:LINE:COLUMN inside the text.
#include <algorithm>
#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "front/graph.h"

namespace netc::fuzz {
namespace {

constexpr const char* kFile = "fuzz.yaml";

void check_graph(const Graph& g) {
  require(!g.layers.empty(), "a graph without layers");
  require(g.output >= 0 && g.output < int(g.layers.size()), "output index out of range");
  require(g.layers[g.output].output.flat && g.num_classes() >= 1, "the output is not a vector of classes");
  for (int i = 0; i < int(g.layers.size()); ++i) {
    const Layer& l = g.layers[i];
    require(l.output.c >= 1 && l.output.h >= 1 && l.output.w >= 1, "layer " + l.name + " has shape " + l.output.str());
    require(!l.output.flat || (l.output.h == 1 && l.output.w == 1), "a flat shape with h or w > 1");
    require(!l.inputs.empty(), "layer " + l.name + " has no inputs");
    for (int in : l.inputs)
      require(in == Layer::kGraphInput || (in >= 0 && in < i), "layer " + l.name + " reads a later layer");
    require(g.find_layer(l.name) == i, "layer names are not unique");
    require(g.layer_param_count(i) >= 0, "negative parameter count");
  }
  int previous_layer = 0;
  for (const ParamSpec& p : g.params) {
    require(p.layer >= previous_layer && p.layer < int(g.layers.size()), "parameters out of layer order");
    require(p.fan_in >= 1 && p.size() >= 1, "parameter " + p.name + " is empty");
    previous_layer = p.layer;
  }
  require(g.param_count() >= 0, "negative parameter count");
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    netc::fuzz::check_graph(netc::parse_graph(text, netc::fuzz::kFile));
  } catch (const netc::InputError& e) {
    netc::fuzz::require_located(e.what(), text, netc::fuzz::kFile);
  }
  return 0;
}
