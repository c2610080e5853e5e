#include <algorithm>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

// Each op file defines one of these. The list is explicit (not static
// registration) so that linking the static library never drops an op.
const Op& conv2d_op();
const Op& maxpool2d_op();
const Op& avgpool2d_op();
const Op& relu_op();
const Op& leaky_relu_op();
const Op& tanh_op();
const Op& sigmoid_op();
const Op& flatten_op();
const Op& linear_op();
const Op& add_op();
const Op& concat_op();

namespace {

const std::map<std::string, const Op*>& registry() {
  static const std::map<std::string, const Op*> ops = [] {
    std::map<std::string, const Op*> m;
    for (const Op* op : {&conv2d_op(), &maxpool2d_op(), &avgpool2d_op(), &relu_op(), &leaky_relu_op(), &tanh_op(),
                         &sigmoid_op(), &flatten_op(), &linear_op(), &add_op(), &concat_op()})
      m[op->name()] = op;
    return m;
  }();
  return ops;
}

}  // namespace

void require_image(const Layer& layer, const InputInfo& in) {
  if (in.shape.flat)
    fail_at(layer.loc, fmt::format("layer '{}': {} needs an image (C x H x W) input, but '{}' gives {}", layer.name,
                                   layer.op, in.name, in.description));
}

const Op* find_op(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const auto& [name, op] : registry()) names.push_back(name);
  return names;
}

}  // namespace netc
