// What the register-tiling recipes choose where a file gives no option: the
// choices the comments of schedule/recipes/ measured, on the machines they
// name, and the rules that keep every choice valid.
#include <catch2/catch.hpp>

#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

const Machine kAvx512{16, 24, 32, 2 << 20}, kAvx2{8, 12, 16, 2 << 20};

}  // namespace

TEST_CASE("recipe choices: channel tiles whose accumulators and broadcast inputs fit the registers",
          "[schedule][recipes]") {
  CHECK(channel_tile_positions(2, 14, kAvx512) == 7);  // Model A's second layer
  CHECK(channel_tile_positions(4, 14, kAvx2) == 3);    // 12 accumulators, 3 broadcasts
  CHECK(channel_tile_positions(4, 8, kAvx2) == 2);     // Model C's second layer
  CHECK(channel_tile_positions(2, 12, kAvx512) == 6);  // 2 x 12 would hold 24 accumulators and 12 broadcasts
  CHECK(channel_tile_positions(2, 24, kAvx2) == 4);    // Model C's first layer: 2 x 6 spilled
  CHECK(channel_tile_positions(1, 28, kAvx512) > 1);   // one vector: broadcasts come from memory
  for (int vectors : {1, 2, 3, 4})
    for (int64_t width : {1, 5, 8, 12, 14, 24, 28, 100})
      for (const Machine& m : {kAvx512, kAvx2}) {
        const int64_t t = channel_tile_positions(vectors, width, m);
        CHECK(t >= 1);
        CHECK(t <= width);
        CHECK((t == 1 || vectors * t <= m.accumulators));
        CHECK((t == 1 || vectors == 1 || vectors * t + t <= m.registers));
      }
}

TEST_CASE("recipe choices: register tiles of vectors and broadcast columns that fit the registers",
          "[schedule][recipes]") {
  // A scattered input gradient of 32 channels on 24-wide rows (AVX-512): 2
  // vectors x 12 positions would keep 24 accumulators and 12 broadcasts.
  const RegisterTile wide = register_tile(2, 24, kAvx512, true);
  CHECK(wide.size() == 24);
  CHECK(wide.vectors == 1);
  CHECK(register_tile(2, 8, kAvx2, true).vectors == 2);  // Model C's: 2 x 4, 12 registers
  CHECK(register_tile(2, 14, kAvx2, true, 5).columns == 2);  // Model A's across 5 taps: 1 x 2
  for (int64_t vectors : {1, 2, 3, 4, 6, 8, 98})
    for (int64_t columns : {1, 2, 7, 10, 14, 24, 64, 100})
      for (int64_t taps : {1, 3, 5})
        for (const Machine& m : {kAvx512, kAvx2}) {
          const RegisterTile t = register_tile(vectors, columns, m, false, taps);
          INFO(vectors << " x " << columns << " x " << taps << " taps, " << m.registers << " registers");
          CHECK(columns % t.columns == 0);
          CHECK(t.vectors <= vectors);
          CHECK((t.size() == 1 || taps * t.size() <= m.accumulators));
          CHECK((t.columns == 1 || broadcasts_fit(taps * t.vectors, t.columns, m)));
        }
}

TEST_CASE("recipe choices: weight-gradient image blocks divide the batch and fit half the core's cache",
          "[schedule][recipes]") {
  const int64_t model_a_cnn2 = 32 * 14 * 14 * 4;  // bytes of output gradient per image
  CHECK(default_batch_blocks(100, model_a_cnn2, 2 << 20) == 4);
  CHECK(default_batch_blocks(125, model_a_cnn2, 2 << 20) == 5);   // 125 has no divisor from 2 to 4
  CHECK(default_batch_blocks(100, model_a_cnn2, 512 << 10) == 10);  // 25 images would fill a 512 KB L2
  CHECK(default_batch_blocks(1, int64_t(1) << 30, 2 << 20) == 1);
  for (int64_t batch : {1, 7, 64, 97, 100, 125, 1000})
    for (int64_t cache : {int64_t(256) << 10, int64_t(2) << 20})
      for (int64_t bytes : {int64_t(1), model_a_cnn2, int64_t(5) << 20}) {
        const int64_t blocks = default_batch_blocks(batch, bytes, cache);
        INFO(batch << " images, " << bytes << " bytes each, " << cache << " bytes of cache");
        CHECK(batch % blocks == 0);
        CHECK((batch / blocks == 1 || batch / blocks * bytes <= cache / 2 || blocks == std::min<int64_t>(batch, 4)));
      }
  CHECK(machine_of(Halide::get_host_target()).cache_bytes >= (256 << 10));
}

TEST_CASE("recipe choices: partial sums over a row's positions where a tile has too few accumulators",
          "[schedule][recipes]") {
  CHECK(default_x_partials(5, 28, kAvx512.accumulators) == 2);   // a first layer: 5 taps x 1 vector
  CHECK(default_x_partials(10, 28, kAvx2.accumulators) == 1);    // 5 taps x 2 vectors hide the latency
  CHECK(default_x_partials(10, 14, kAvx512.accumulators) == 1);
  CHECK(default_x_partials(5, 7, kAvx512.accumulators) == 1);    // 7 positions: 35 accumulators do not fit
  CHECK(default_x_partials(3, 24, kAvx512.accumulators) == 3);   // 3x3 taps: 9
}

TEST_CASE("recipe choices: scatter tiles span the kernel row's taps where one tap loads more than it multiplies",
          "[schedule][recipes]") {
  CHECK(scatter_tile_taps(16, 14, 5, kAvx2) == 5);    // Model A's second layer
  CHECK(scatter_tile_taps(16, 14, 5, kAvx512) == 1);  // 1 vector x 14 positions: more accumulators
  CHECK(scatter_tile_taps(16, 8, 5, kAvx2) == 1);     // Model C's: 2 vectors x 4 positions load less
  CHECK(scatter_tile_taps(6, 10, 5, kAvx512) == 1);   // LeNet-5's 6 channels fill no vector
  CHECK(tiles_channels("conv2d.forward", 16, 16, kAvx512));
  CHECK_FALSE(tiles_channels("conv2d.forward", 6, 6, kAvx2));
  CHECK_FALSE(tiles_channels("conv2d.grad_input", 16, 8, kAvx512));  // sums 8 output channels
}

}  // namespace netc
