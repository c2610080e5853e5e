// Images a user gives to classify (netc predict): PNG (through libpng) and
// PGM (P2 plain and P5 binary, by a strict parser of our own), read with
// bounded memory, and converted to a graph's input as training data is:
// pixel values in [0, 1] (pixel / maxval: 8-bit pixels / 255, as the
// training images), channels as the graph takes them, resampled to its size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

struct Image {
  int64_t width = 0, height = 0;
  int64_t channels = 0;        // 1 (gray) or 3 (RGB)
  std::vector<float> samples;  // row by row, channels interleaved, each in [0, 1]
};

// The largest image read: 2^24 pixels (4096 x 4096), decoded in at most
// about 200 MB; a larger one is refused from its header, before any pixel
// is allocated. And the largest image file (a plain PGM of 2^24 pixels).
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 24;
inline constexpr uint64_t kMaxImageFileBytes = uint64_t(128) << 20;

// The image in `path`, a PNG or PGM file told by its first bytes.
// InputError "PATH: ..." (one line) for anything else: another format, a
// truncated or damaged file, sizes past the limits above, samples above a
// PGM's maxval. PNG: every color type and bit depth; palettes expanded,
// 16-bit samples scaled to 8 bits, transparency composited over black, gray
// kept gray and color as RGB. PGM: maxval 1 to 65535.
Image read_image(const std::string& path);
// The same for the bytes of a file (`path` names it in messages).
Image decode_image(const std::string& bytes, const std::string& path);

// `image` as one input of a graph: channels x height x width floats, planes
// one after the other (the layout of a batch's image). Gray becomes RGB by
// copying it into each channel; RGB becomes gray by ITU-R BT.601 luma
// (0.299 R + 0.587 G + 0.114 B, as PIL's convert("L")). The size changes by
// area resampling: each output pixel is the mean of the input area it
// covers, pixels cut by its border weighted by the part inside (OpenCV's
// INTER_AREA, PIL's BOX filter); the aspect ratio is not kept. An image of
// the graph's size is taken as it is. `channels` must be 1 or 3.
std::vector<float> image_to_input(const Image& image, int64_t channels, int64_t height, int64_t width);

}  // namespace netc
