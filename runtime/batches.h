// Which training images make up each step's batch: the same on every
// platform and standard library for a given seed, so runs are reproducible.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "idx.h"

namespace netc {

// The images form an endless sequence, one permutation of 0..count-1 per
// epoch; step k's batch is its elements [k*B, (k+1)*B), so every image comes
// exactly once per epoch and a batch may straddle two epochs.
// shuffle: each epoch a fresh Fisher-Yates shuffle of 0..count-1, drawn from
// one std::mt19937_64 seeded with `seed` (its output is fixed by the C++
// standard; the reduction to a range is ours, as std's distributions are not).
// No shuffle: the identity, i.e. batch k is images [k*B, (k+1)*B) mod count.
class BatchOrder {
 public:
  // std::invalid_argument unless 1 <= count <= INT32_MAX and batch_size >= 1.
  BatchOrder(int64_t count, int64_t batch_size, bool shuffle, uint64_t seed);

  // The images of step `step` (0-based). Any order of calls gives the same
  // answers; moving forward is cheapest, going back replays from the seed.
  std::vector<int32_t> batch(int64_t step);

  // The generator's position (epoch and state at its start) as one line of
  // text, so that a resumed run need not replay earlier epochs. restore()
  // takes what state() gave for the same count, batch size, shuffle and seed
  // after batches 0..steps_done-1; anything else is an InputError, whatever
  // vouches for the text: an epoch other than those batches end in, or a
  // generator state that yields only zeros (on which shuffling never ends).
  std::string state() const;
  void restore(const std::string& state, int64_t steps_done);

 private:
  int32_t at(int64_t position);
  void go_to_epoch(int64_t epoch);
  void shuffle_next_epoch();
  int64_t epoch_after(int64_t steps_done) const;

  int64_t count_, batch_size_;
  bool shuffle_;
  uint64_t seed_;
  std::mt19937_64 rng_;          // after shuffling epoch_
  std::mt19937_64 epoch_start_;  // before shuffling epoch_ (epoch_ -1: as seeded)
  int64_t epoch_ = -1;           // -1: none shuffled yet
  std::vector<int32_t> permutation_;
};

// A translation of one image: its pixel (x, y) moves to (x + dx, y + dy);
// pixels moved out are lost, and those left without a source are 0.
struct ImageShift {
  int32_t dx = 0, dy = 0;
  bool operator==(const ImageShift& o) const { return dx == o.dx && dy == o.dy; }
};

// The shift of the image in slot `slot` (0-based) of the batch of step
// `step` (1-based, as the metrics count), dx and dy each uniform in
// [-max_shift, max_shift]: a pure function of its arguments (a counter-based
// hash, no generator state), so that a resumed run shifts as an
// uninterrupted one and a GPU's batches as the host's. The draws: 32-bit
// numbers u_k (k = 0, 1, ...), the low half of
// h(h(h(h(seed ^ 0x61756700) + step) + slot) + k) with h SplitMix64's mixing
// function; a u_k below 2^32 mod (2 max_shift + 1) is skipped (so that what
// is left is uniform), dx is the first kept u mod (2 max_shift + 1) minus
// max_shift, dy the second. std::invalid_argument unless 0 <= max_shift < 2^31 - 1.
ImageShift augment_shift(uint64_t seed, int64_t step, int64_t slot, int64_t max_shift);
// Those of slots 0..batch-1 of step `step`.
std::vector<ImageShift> augment_shifts(uint64_t seed, int64_t step, int64_t batch, int64_t max_shift);

// Fills `images_out` (N x C x H x W floats, N = idx.size(), C = 1) with the
// images idx[i] as pixel / 255 (as torchvision's ToTensor), each translated by
// shifts[i] if `shifts` is not empty, and `labels_out` with their labels.
// std::out_of_range if an index is not an image; std::invalid_argument if
// `shifts` is neither empty nor one per image.
void gather_batch(const IdxImages& images, const std::vector<uint8_t>& labels, const std::vector<int32_t>& idx,
                  float* images_out, int32_t* labels_out, const std::vector<ImageShift>& shifts = {});

}  // namespace netc
