#include "image.h"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "atomic_file.h"
#include "input_error.h"

namespace netc {
namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";

void check_size(const std::string& path, int64_t width, int64_t height) {
  if (width < 1 || height < 1) throw InputError(fmt::format("{}: an image of {} x {} pixels", path, width, height));
  if (width > kMaxImagePixels || height > kMaxImagePixels || width * height > kMaxImagePixels)
    throw InputError(fmt::format("{}: an image of {} x {} pixels, more than netc's limit of {} pixels", path, width,
                                 height, kMaxImagePixels));
}

// --- PNG, through libpng's simplified API, which reports errors in the
// image's message instead of jumping out of C++ frames.

class PngImage {
 public:
  PngImage() {
    std::memset(&image_, 0, sizeof image_);
    image_.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image_); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;
  png_image* operator->() { return &image_; }
  png_image* get() { return &image_; }

 private:
  png_image image_;
};

Image decode_png(const std::string& bytes, const std::string& path) {
  PngImage png;
  if (!png_image_begin_read_from_memory(png.get(), bytes.data(), bytes.size()))
    throw InputError(fmt::format("{}: not a readable PNG image: {}", path, png->message));
  check_size(path, png->width, png->height);
  const bool color = png->format & PNG_FORMAT_FLAG_COLOR;
  png->format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  // 16-bit samples are taken as encoded (scaled to 8 bits), not as linear light.
  png->flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(*png.get()));
  const png_color black = {0, 0, 0};
  if (!png_image_finish_read(png.get(), &black, pixels.data(), 0, nullptr))
    throw InputError(fmt::format("{}: not a readable PNG image: {}", path, png->message));
  Image image{png->width, png->height, color ? 3 : 1, std::vector<float>(pixels.size())};
  std::transform(pixels.begin(), pixels.end(), image.samples.begin(), [](uint8_t v) { return float(v) / 255.f; });
  return image;
}

// --- PGM (netpbm's format), P2 and P5.

class PgmReader {
 public:
  PgmReader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  Image read() {
    const bool plain = bytes_[1] == '2';
    pos_ = 2;
    const int64_t width = header_number("width"), height = header_number("height");
    check_size(path_, width, height);
    const int64_t maxval = header_number("maxval");
    if (maxval < 1 || maxval > 65535) fail(fmt::format("maxval {} is not from 1 to 65535", maxval));
    Image image{width, height, 1, {}};
    const int64_t count = width * height;
    if (plain) {
      image.samples.reserve(size_t(std::min<uint64_t>(count, bytes_.size() / 2 + 1)));
      for (int64_t k = 0; k < count; ++k) image.samples.push_back(sample(plain_sample(k), maxval));
    } else {
      // One whitespace character ends the header; then the raster.
      const int64_t sample_bytes = maxval < 256 ? 1 : 2;
      if (pos_ < bytes_.size() && !std::isspace(uint8_t(bytes_[pos_]))) fail("expected one blank after its maxval");
      const uint64_t start = pos_ + 1;
      if (pos_ >= bytes_.size() || bytes_.size() - start < uint64_t(count * sample_bytes))
        fail(fmt::format("truncated: {} x {} samples of {} byte(s) need {} bytes after the header", width, height,
                         sample_bytes, count * sample_bytes));
      image.samples.resize(size_t(count));
      const auto* raster = reinterpret_cast<const uint8_t*>(bytes_.data() + start);
      for (int64_t k = 0; k < count; ++k) {
        const int64_t v = sample_bytes == 1 ? raster[k] : raster[2 * k] << 8 | raster[2 * k + 1];
        image.samples[size_t(k)] = sample(v, maxval);
      }
      pos_ = start + uint64_t(count * sample_bytes);
    }
    while (pos_ < bytes_.size() && std::isspace(uint8_t(bytes_[pos_]))) ++pos_;
    if (pos_ != bytes_.size()) fail("more data than its header declares (netc reads one image per file)");
    return image;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(fmt::format("{}: PGM image: {}", path_, what)); }

  // Blanks and # comments (to the end of the line) before a header number.
  void skip_blanks_and_comments() {
    while (pos_ < bytes_.size()) {
      if (bytes_[pos_] == '#')
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
      else if (std::isspace(uint8_t(bytes_[pos_])))
        ++pos_;
      else
        return;
    }
  }

  // A decimal number of at most 9 digits, ended by a blank, a comment or the end.
  int64_t number(const std::string& what) {
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < bytes_.size() && std::isdigit(uint8_t(bytes_[pos_])) && pos_ - start < 9)
      v = v * 10 + (bytes_[pos_++] - '0');
    if (pos_ == start) fail(pos_ >= bytes_.size() ? "truncated before its " + what : "expected its " + what + " (a number)");
    if (pos_ < bytes_.size() && !std::isspace(uint8_t(bytes_[pos_])) && bytes_[pos_] != '#')
      fail(fmt::format("its {} is not a number of at most 9 digits", what));
    return v;
  }

  int64_t header_number(const std::string& what) {
    const size_t before = pos_;
    skip_blanks_and_comments();
    if (pos_ == before && pos_ < bytes_.size()) fail("expected a blank before its " + what);
    return number(what);
  }

  int64_t plain_sample(int64_t k) {
    const size_t before = pos_;
    while (pos_ < bytes_.size() && std::isspace(uint8_t(bytes_[pos_]))) ++pos_;
    if (pos_ == before && pos_ < bytes_.size()) fail(fmt::format("expected a blank before sample {}", k));
    if (pos_ >= bytes_.size()) fail(fmt::format("truncated after {} samples", k));
    return number(fmt::format("sample {}", k));
  }

  float sample(int64_t v, int64_t maxval) const {
    if (v > maxval) fail(fmt::format("a sample of {} is above its maxval {}", v, maxval));
    return float(double(v) / double(maxval));
  }

  const std::string& bytes_;
  const std::string& path_;
  size_t pos_ = 0;
};

// --- Resampling.

// For each of `out` pixels along an axis of `in`: the input pixels its span
// [k * in / out, (k + 1) * in / out) covers, each with the part of it inside.
struct Tap {
  int64_t index;
  float weight;
};
std::vector<std::vector<Tap>> area_taps(int64_t in, int64_t out) {
  std::vector<std::vector<Tap>> taps{size_t(out)};
  const double scale = double(in) / double(out);
  for (int64_t k = 0; k < out; ++k) {
    const double begin = double(k) * scale, end = double(k + 1) * scale;
    for (int64_t i = int64_t(begin); i < in && double(i) < end; ++i) {
      const double inside = std::min(end, double(i + 1)) - std::max(begin, double(i));
      if (inside > 0) taps[size_t(k)].push_back({i, float(inside / scale)});
    }
  }
  return taps;
}

// One plane of `in_h` x `in_w` resampled to `out_h` x `out_w`: rows, then columns.
std::vector<float> resample(const std::vector<float>& plane, int64_t in_h, int64_t in_w, int64_t out_h,
                            int64_t out_w) {
  if (in_h == out_h && in_w == out_w) return plane;
  const auto x_taps = area_taps(in_w, out_w), y_taps = area_taps(in_h, out_h);
  std::vector<float> rows(size_t(in_h * out_w), 0.f);
  for (int64_t y = 0; y < in_h; ++y)
    for (int64_t x = 0; x < out_w; ++x)
      for (const Tap& t : x_taps[size_t(x)]) rows[size_t(y * out_w + x)] += t.weight * plane[size_t(y * in_w + t.index)];
  std::vector<float> out(size_t(out_h * out_w), 0.f);
  for (int64_t y = 0; y < out_h; ++y)
    for (const Tap& t : y_taps[size_t(y)])
      for (int64_t x = 0; x < out_w; ++x) out[size_t(y * out_w + x)] += t.weight * rows[size_t(t.index * out_w + x)];
  return out;
}

// Channel `c` of the `channels` an image is converted to, as one plane.
std::vector<float> plane(const Image& image, int64_t channels, int64_t c) {
  const int64_t pixels = image.width * image.height;
  std::vector<float> p(static_cast<size_t>(pixels));
  const float* s = image.samples.data();
  if (image.channels == channels)
    for (int64_t k = 0; k < pixels; ++k) p[size_t(k)] = s[k * channels + c];
  else if (image.channels == 1)
    for (int64_t k = 0; k < pixels; ++k) p[size_t(k)] = s[k];
  else
    for (int64_t k = 0; k < pixels; ++k) p[size_t(k)] = 0.299f * s[3 * k] + 0.587f * s[3 * k + 1] + 0.114f * s[3 * k + 2];
  return p;
}

}  // namespace

Image decode_image(const std::string& bytes, const std::string& path) {
  if (bytes.compare(0, 8, kPngSignature, 8) == 0) return decode_png(bytes, path);
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5'))
    return PgmReader(bytes, path).read();
  if (bytes.empty()) throw InputError(path + ": the file is empty");
  throw InputError(path + ": not a PNG or PGM image (P2 or P5)");
}

Image read_image(const std::string& path) { return decode_image(read_file(path, kMaxImageFileBytes, "image"), path); }

std::vector<float> image_to_input(const Image& image, int64_t channels, int64_t height, int64_t width) {
  if (channels != 1 && channels != 3)
    throw std::invalid_argument(fmt::format("image_to_input: {} channels, not 1 or 3", channels));
  std::vector<float> input;
  input.reserve(size_t(channels * height * width));
  for (int64_t c = 0; c < channels; ++c) {
    const std::vector<float> p = resample(plane(image, channels, c), image.height, image.width, height, width);
    input.insert(input.end(), p.begin(), p.end());
  }
  return input;
}

}  // namespace netc
