// The spec table: op name -> OpSpec, one row per line of ops/op_list.h.
#include <map>

#include <fmt/format.h>

#include "front/op_spec.h"

namespace netc {

#define NETC_OP(name) const OpSpec& name##_spec();
#include "front/ops/op_list.h"
#undef NETC_OP

namespace {

const std::map<std::string, const OpSpec*>& spec_table() {
  static const std::map<std::string, const OpSpec*> table = {
#define NETC_OP(name) {#name, &name##_spec()},
#include "front/ops/op_list.h"
#undef NETC_OP
  };
  return table;
}

}  // namespace

// Every member given: an Int is also readable as a pair and a float.
AttrValue int_value(int64_t i) { return {AttrValue::Kind::Int, i, {i, i}, double(i), false, "", {}}; }

AttrValue pair_value(HW pair) { return {AttrValue::Kind::Pair, 0, pair, 0, false, "", {}}; }

AttrValue float_value(double f) { return {AttrValue::Kind::Float, 0, {}, f, false, "", {}}; }

AttrValue bool_value(bool b) { return {AttrValue::Kind::Bool, 0, {}, 0, b, "", {}}; }

void require_image(const Layer& layer, const InputInfo& in) {
  if (in.shape.flat)
    fail_at(layer.loc, fmt::format("layer '{}': {} needs an image (C x H x W) input, but '{}' gives {}", layer.name,
                                   layer.op, in.name, in.description));
}

const OpSpec* find_op(const std::string& name) {
  auto it = spec_table().find(name);
  return it == spec_table().end() ? nullptr : it->second;
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : spec_table()) names.push_back(name);
  return names;
}

}  // namespace netc
