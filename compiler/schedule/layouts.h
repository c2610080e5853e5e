// Where a host schedule stores images channel-innermost. Lowering defines
// every image stage (x, y, c, n), which Halide stores x innermost. A
// convolution in channel tiles computes every channel of a position in one
// tile, and its weight gradient reads the output gradient channels
// innermost: copying the tiles out into x-innermost rows and the gradient
// back took 0.8 ms of Model A's 17 ms step (one AVX-512 thread; 14-wide rows
// in 16-lane vectors gathered). Such a tensor stays channel-innermost, as in
// oneDNN's blocked layouts: the tiled output, and the pointwise and pooling
// stages that read it or its gradient, which `plain` then vectorizes along
// the channels.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "lower/lowering.h"
#include "schedule/recipes.h"

namespace netc {

// The Halide names of the stages stored channel-innermost, given each
// stage's recipe by name ("" for none), in the table's order (producers
// first):
//   - a conv2d.forward in channel_tiles that really tiles its channels;
//   - an input gradient in scatter_tiles whose channels fill whole vectors
//     (its scattered sums are channel-innermost);
//   - a `plain` image stage without update, whose channels fill whole
//     vectors, that reads such a stage (directly, or through stages computed
//     inline).
std::set<std::string> channel_innermost_stages(const StageTable& table,
                                               const std::function<std::string(const Stage&)>& recipe_of,
                                               const Machine& m);

}  // namespace netc
