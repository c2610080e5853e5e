#include "batches.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "input_error.h"

namespace netc {
namespace {

constexpr const char* kStateFormat = "netc-batch-order/1";

// Uniform in [0, bound) without bias, by rejection as OpenBSD's
// arc4random_uniform: draws below 2^64 mod bound are redrawn, so what is left
// is a whole number of copies of [0, bound).
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t x = rng();
    if (x >= threshold) return x % bound;
  }
}

// Whether a generator is stuck at zero. Each 312 draws of std::mt19937_64
// regenerate its whole state, which the tempering maps one to one onto the
// outputs: 624 zero draws mean a state of zeros, which stays zero forever;
// any other state is on the generator's single full-length cycle.
bool yields_only_zeros(std::mt19937_64 rng) {
  for (size_t k = 0; k < 2 * std::mt19937_64::state_size; ++k)
    if (rng() != 0) return false;
  return true;
}

}  // namespace

BatchOrder::BatchOrder(int64_t count, int64_t batch_size, bool shuffle, uint64_t seed)
    : count_(count), batch_size_(batch_size), shuffle_(shuffle), seed_(seed), rng_(seed), epoch_start_(seed) {
  if (count < 1 || count > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument(fmt::format("BatchOrder: {} images", count));
  if (batch_size < 1) throw std::invalid_argument(fmt::format("BatchOrder: batch size {}", batch_size));
}

std::vector<int32_t> BatchOrder::batch(int64_t step) {
  if (step < 0 || step > (std::numeric_limits<int64_t>::max() - batch_size_) / batch_size_)
    throw std::out_of_range(fmt::format("BatchOrder: step {}", step));
  std::vector<int32_t> indices(static_cast<size_t>(batch_size_));
  for (int64_t i = 0; i < batch_size_; ++i) indices[size_t(i)] = at(step * batch_size_ + i);
  return indices;
}

int32_t BatchOrder::at(int64_t position) {
  if (!shuffle_) return int32_t(position % count_);
  go_to_epoch(position / count_);
  return permutation_[size_t(position % count_)];
}

void BatchOrder::go_to_epoch(int64_t epoch) {
  if (epoch < epoch_) {
    rng_.seed(seed_);
    epoch_ = -1;
  }
  while (epoch_ < epoch) shuffle_next_epoch();
}

void BatchOrder::shuffle_next_epoch() {
  epoch_start_ = rng_;
  permutation_.resize(size_t(count_));
  std::iota(permutation_.begin(), permutation_.end(), 0);
  for (size_t i = permutation_.size() - 1; i > 0; --i) std::swap(permutation_[i], permutation_[uniform_below(rng_, i + 1)]);
  ++epoch_;
}

std::string BatchOrder::state() const {
  std::ostringstream out;
  out << kStateFormat << ' ' << count_ << ' ' << batch_size_ << ' ' << int(shuffle_) << ' ' << seed_ << ' ' << epoch_
      << ' ' << epoch_start_;
  return out.str();
}

// The epoch that state() reports once batches 0..steps_done-1 were drawn in
// order: that of their last image (-1 before any, and always without shuffle).
int64_t BatchOrder::epoch_after(int64_t steps_done) const {
  if (steps_done < 0 || steps_done > std::numeric_limits<int64_t>::max() / batch_size_)
    throw InputError(fmt::format("step {} is beyond any run of batches of {}", steps_done, batch_size_));
  if (!shuffle_ || steps_done == 0) return -1;
  return (steps_done * batch_size_ - 1) / count_;
}

void BatchOrder::restore(const std::string& state, int64_t steps_done) {
  std::istringstream in(state);
  std::string format;
  int64_t count = 0, batch_size = 0, epoch = 0;
  int shuffle = 0;
  uint64_t seed = 0;
  std::mt19937_64 rng;
  in >> format >> count >> batch_size >> shuffle >> seed >> epoch >> rng;
  if (in.fail() || !(in >> std::ws).eof() || format != kStateFormat || epoch < -1)
    throw InputError("the saved batch order is malformed");
  if (count != count_ || batch_size != batch_size_ || bool(shuffle) != shuffle_ || seed != seed_)
    throw InputError(fmt::format(
        "the saved batch order is for {} images, batches of {}, shuffle {}, seed {}; this run has {}, {}, {}, {}",
        count, batch_size, bool(shuffle), seed, count_, batch_size_, shuffle_, seed_));
  if (epoch != epoch_after(steps_done))
    throw InputError(fmt::format("the saved batch order is at epoch {}, but {} batches of {} from {} images end in "
                                 "epoch {}",
                                 epoch, steps_done, batch_size_, count_, epoch_after(steps_done)));
  if (shuffle_ && yields_only_zeros(rng))
    throw InputError("the saved batch order's generator state yields only zeros, which no seed gives");
  rng_ = epoch_start_ = rng;
  epoch_ = std::max<int64_t>(epoch - 1, -1);
  if (epoch >= 0) shuffle_next_epoch();
}

namespace {

// SplitMix64's mixing function (Steele, Lea and Flood, 2014): a bijection of
// 64-bit words in which every input bit flips about half the output bits.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Keeps the augmentation's numbers apart from other uses of the seed ("aug").
constexpr uint64_t kAugmentDomain = 0x61756700;

// Division, not multiplication by 1/255: bit-identical to ToTensor's div(255).
const std::array<float, 256> kScaled = [] {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v) t[size_t(v)] = float(v) / 255.f;
  return t;
}();

// One image of rows x cols pixels into `out`, translated by `shift`.
void copy_shifted(const uint8_t* src, int64_t rows, int64_t cols, ImageShift shift, float* out) {
  // Columns [x0, x1) of every row have a source; the rest are 0.
  const int64_t x0 = std::clamp<int64_t>(shift.dx, 0, cols), x1 = std::clamp<int64_t>(cols + shift.dx, 0, cols);
  for (int64_t y = 0; y < rows; ++y) {
    float* row = out + y * cols;
    const int64_t source_y = y - shift.dy;
    if (source_y < 0 || source_y >= rows) {
      std::fill(row, row + cols, 0.f);
      continue;
    }
    const uint8_t* source = src + source_y * cols - shift.dx;
    std::fill(row, row + x0, 0.f);
    for (int64_t x = x0; x < x1; ++x) row[x] = kScaled[source[x]];
    std::fill(row + std::max(x0, x1), row + cols, 0.f);
  }
}

}  // namespace

ImageShift augment_shift(uint64_t seed, int64_t step, int64_t slot, int64_t max_shift) {
  if (max_shift < 0 || max_shift >= std::numeric_limits<int32_t>::max())
    throw std::invalid_argument(fmt::format("augment_shift: a shift of up to {} pixels", max_shift));
  const uint64_t range = 2 * uint64_t(max_shift) + 1;
  const uint64_t key = mix64(mix64(mix64(seed ^ kAugmentDomain) + uint64_t(step)) + uint64_t(slot));
  const uint64_t threshold = (uint64_t(1) << 32) % range;
  uint64_t draw = 0;
  auto next = [&] {
    for (;;) {
      const uint64_t u = mix64(key + draw++) & 0xffffffffu;
      if (u >= threshold) return int32_t(int64_t(u % range) - max_shift);
    }
  };
  ImageShift shift;
  shift.dx = next();
  shift.dy = next();
  return shift;
}

std::vector<ImageShift> augment_shifts(uint64_t seed, int64_t step, int64_t batch, int64_t max_shift) {
  std::vector<ImageShift> shifts;
  for (int64_t slot = 0; slot < batch; ++slot) shifts.push_back(augment_shift(seed, step, slot, max_shift));
  return shifts;
}

// NCHW with C = 1 is each image's rows one after the other, as IDX stores them.
void gather_batch(const IdxImages& images, const std::vector<uint8_t>& labels, const std::vector<int32_t>& idx,
                  float* images_out, int32_t* labels_out, const std::vector<ImageShift>& shifts) {
  if (!shifts.empty() && shifts.size() != idx.size())
    throw std::invalid_argument(fmt::format("gather_batch: {} shifts for {} images", shifts.size(), idx.size()));
  const size_t image_size = size_t(images.rows * images.cols);
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= images.count || size_t(idx[i]) >= labels.size())
      throw std::out_of_range(fmt::format("gather_batch: image {} of {}", idx[i], images.count));
    const uint8_t* src = images.pixels.data() + size_t(idx[i]) * image_size;
    float* out = images_out + i * image_size;
    if (shifts.empty())
      for (size_t p = 0; p < image_size; ++p) out[p] = kScaled[src[p]];
    else
      copy_shifted(src, images.rows, images.cols, shifts[i], out);
    labels_out[i] = labels[size_t(idx[i])];
  }
}

}  // namespace netc
