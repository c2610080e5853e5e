// The tables of schedule_specs.h (docs/schedules.md describes each row).
#include "front/schedule_specs.h"

#include <algorithm>

namespace netc {
namespace {

const std::vector<std::string> kAnyTarget = {"host", "cuda"};
const std::vector<std::string> kHost = {"host"};
const std::vector<std::string> kImageReductions = {"conv2d.forward", "conv2d.grad_input"};

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

template <typename Spec>
const Spec* find_named(const std::vector<Spec>& specs, const std::string& name) {
  for (const Spec& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

template <typename Spec>
std::vector<std::string> names_of(const std::vector<Spec>& specs) {
  std::vector<std::string> names;
  for (const Spec& s : specs) names.push_back(s.name);
  return names;
}

}  // namespace

bool RecipeSpec::for_target(const std::string& target) const { return contains(targets, target); }

bool RecipeSpec::fits_kind(const std::string& kind) const { return kinds.empty() || contains(kinds, kind); }

bool RecipeSpec::has_option(const std::string& option) const { return contains(options, option); }

const std::vector<RecipeSpec>& recipe_specs() {
  static const std::vector<RecipeSpec> specs = {
      {"root", kAnyTarget, {}, {}},
      {"inline", kAnyTarget, {}, {}},  // a stage without update definitions
      {"plain", kAnyTarget, {}, {}},
      // x_tile: output positions per register tile, at most a row (default:
      // of what the accumulators hold next to every channel's vectors, the
      // tile a row issues fewest instructions for).
      {"channel_tiles", kHost, kImageReductions, {"x_tile"}},
      // x_vector: lanes along x (default: a machine vector); channel_block:
      // output channels per tile (default: what the accumulators hold).
      {"position_tiles", kHost, kImageReductions, {"x_vector", "channel_block"}},
      // co_vectors: vectors of output channels per tile (default: what the
      // accumulators hold next to the kx taps); batch_blocks: blocks of images
      // summed apart (default: default_batch_blocks in schedule/recipes.h);
      // ci_block: input channels per tile (default 1); x_partials: interleaved
      // positions of a row summed apart (default: default_x_partials).
      {"weight_gradient_tiles", kHost, {"conv2d.grad_weight"}, {"co_vectors", "ci_block", "batch_blocks", "x_partials"}},
      {"row_sums", kHost, {"conv2d.grad_bias"}, {}},
      // x_tile, kx_taps: output positions and kx taps per register tile
      // (default: what the accumulators hold next to the input channels'
      // vectors, with the fewest loads).
      {"scatter_tiles", kHost, {"conv2d.grad_input"}, {"x_tile", "kx_taps"}, "scatter",
       {"grad_columns", "scattered_grad_input"}},
      {"matrix_tiles", kHost, {"linear.forward", "linear.grad_input", "linear.grad_weight"}, {}},
      {"gpu", {"cuda"}, {}, {}},
  };
  return specs;
}

const RecipeSpec* find_recipe(const std::string& name) { return find_named(recipe_specs(), name); }

std::vector<std::string> recipe_names() { return names_of(recipe_specs()); }

const std::vector<DirectiveSpec>& directive_specs() {
  static const std::vector<DirectiveSpec> specs = {
      {"compute_root", {""}, true},
      {"compute_inline", {""}, true},
      {"compute_at", {"sv"}, true},
      {"store_root", {""}, true},
      {"store_at", {"sv"}, true},
      {"split", {"vnnit?"}},
      {"tile", {"vvnnnniit?"}},
      {"fuse", {"vvn"}},
      {"reorder", {"vv+"}},
      {"vectorize", {"vi?"}, false, false, kMaxUnrolledFactor},
      {"unroll", {"vi?"}, false, false, kMaxUnrolledFactor},
      {"parallel", {"vi?"}},
      {"serial", {"v"}},
      {"reorder_storage", {"vv+"}, true},
      {"bound", {"vzi"}, true, false, INT32_MAX},  // an extent, not a loop factor
      {"rfactor", {"vn"}, false, true},
      {"gpu_blocks", {"v", "vv", "vvv"}},
      {"gpu_threads", {"v", "vv", "vvv"}},
      {"gpu_tile", {"vnni", "vvnnnnii", "vvvnnnnnniii"}},
      {"gpu_single_thread", {""}},
  };
  return specs;
}

const DirectiveSpec* find_directive(const std::string& name) { return find_named(directive_specs(), name); }

std::vector<std::string> directive_names() { return names_of(directive_specs()); }

// im2col: a convolution as a matrix product over unrolled patches: the
// forward pass multiplies them by the weight matrix, the weight gradient by
// the output gradient's; both passes of a layer share its patches.
// scatter: the input gradient as Caffe's col2im: each output position's
// gradient times the weights (its columns), added into the input positions
// its window covers, so that no work lands in the padding of a valid
// convolution's output gradient.
const std::vector<LoweringVariant>& lowering_variants() {
  static const std::vector<LoweringVariant> variants = {
      {"conv2d.forward", "im2col", {"patches", "weight_matrix"}},
      {"conv2d.grad_weight", "im2col", {"patches", "grad_weight_matrix"}},
      {"conv2d.grad_input", "scatter", {"grad_columns", "scattered_grad_input"}},
  };
  return variants;
}

std::vector<LoweringVariant> lowering_variants_of(const std::string& kind) {
  std::vector<LoweringVariant> offered;
  for (const LoweringVariant& v : lowering_variants())
    if (v.kind == kind) offered.push_back(v);
  return offered;
}

std::vector<std::string> lowering_names() {
  std::vector<std::string> names = {kDirectLowering};
  for (const LoweringVariant& v : lowering_variants())
    if (!contains(names, v.name)) names.push_back(v.name);
  return names;
}

std::vector<std::string> kinds_offering(const std::string& name) {
  std::vector<std::string> kinds;
  for (const LoweringVariant& v : lowering_variants())
    if (v.name == name) kinds.push_back(v.kind);
  return kinds;
}

}  // namespace netc
