// Built-in schedule generators that schedule files name per stage
// (`conv2d.forward: channel_tiles`): schedules that depend on the stage's
// extents and the machine's registers, which a fixed list of directives
// cannot say. Each recipe is a row of the front end's table
// (front/schedule_specs.h: the stages, targets and options it takes) and a
// function in schedule/recipes/, grouped by target and op.
#pragma once

#include <set>
#include <string>

#include "lower/lowering.h"
#include "front/schedule_file.h"

namespace netc {

struct Machine {
  int vector_width;     // floats per vector register
  int accumulators;     // vector registers a register tile may use
  int registers;        // vector registers in all
  int64_t cache_bytes;  // a core's own cache (L2) on the machine that compiles
};

// The target's vectors and registers; the cache of the machine netc runs on,
// where the pipelines built for the host run.
Machine machine_of(const Halide::Target& target);

// The x positions channel_tiles gives a register tile of `vectors` vectors
// of channels on rows `width` wide when its x_tile option is not given.
int64_t channel_tile_positions(int vectors, int64_t width, const Machine& m);

// Whether channel_tiles tiles the channels of a convolution's stage of
// `kind` that has `channels` channels of its own, in a layer of
// `out_channels` output channels; otherwise it computes position tiles.
bool tiles_channels(const std::string& kind, int64_t channels, int64_t out_channels, const Machine& m);

// The kx taps a register tile of scatter_tiles spans when its kx_taps option
// is not given: for `in_channels` input channels, output rows `out_width`
// wide and kernel rows `kernel_width` wide.
int64_t scatter_tile_taps(int64_t in_channels, int64_t out_width, int64_t kernel_width, const Machine& m);

// The interleaved positions of a row weight_gradient_tiles sums apart when
// its x_partials option is not given, for a tile of `tile` accumulators on
// rows `row` wide: enough to hide the multiply-adds' latency, if they fit.
int64_t default_x_partials(int64_t tile, int64_t row, int accumulators);

// The blocks of images whose weight gradients weight_gradient_tiles sums
// separately when its batch_blocks option is not given, for a stage whose
// output gradient holds `gradient_bytes` per image, on a core with
// `cache_bytes` of cache.
int64_t default_batch_blocks(int64_t batch, int64_t gradient_bytes, int64_t cache_bytes);

// The bytes per image of the output gradient a weight gradient
// g(kx, ky, ci, co) sums over (reduction ro.x, ro.y over positions, ro.z
// over images).
int64_t weight_gradient_image_bytes(const std::vector<int64_t>& extents, const std::vector<int64_t>& reduction);

// Applies `recipe` (its options checked by the parser) to `stage` (not a
// reference). `rule` is the stage's merged rule (recipes for particular stage
// kinds schedule the direct lowering only). Fails at the recipe's location
// when the recipe does not fit the stage.
void apply_recipe(const Recipe& recipe, const StageRule& rule, const Stage& stage, const StageTable& table,
                  const Machine& m, const std::set<std::string>& channel_innermost);

// The recipes that have a function, sorted: one for every row of
// recipe_specs() (tests check both ways).
std::vector<std::string> recipe_function_names();

}  // namespace netc
