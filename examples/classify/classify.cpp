// classify: predicts the classes of images with a graph compiled by
// `netc compile` and trained weights (safetensors); given labels, it prints
// the accuracy and mean loss too.
//
//   classify WEIGHTS IMAGES [LABELS] [--quiet] [--json] [--threads N]
//   classify WEIGHTS IMAGE.pgm... [--json] [--threads N]
//
// IMAGES and LABELS are IDX files as MNIST's (uncompressed): unsigned bytes,
// images N x H x W (one channel) or N x C x H x W, labels N. PGM files are
// binary (P5) or plain (P2), of the graph's height and width. Pixels enter
// the network as value / maxval (255 for IDX), as in `netc eval`.
//
// Exit codes: 0 success; 2 bad input (arguments, weights, image or label
// files), with "classify: error: ..." on stderr; 1 any other failure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include NETC_GRAPH_HEADER

namespace {

using netc::InvalidInput;

constexpr uint64_t kMaxFileBytes = uint64_t(1) << 31;

struct Images {
  std::vector<float> pixels;  // count x C x H x W
  std::vector<std::string> names;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InvalidInput("cannot open " + path);
  const std::streamoff size = in.tellg();
  if (size < 0 || uint64_t(size) > kMaxFileBytes) throw InvalidInput(path + ": not a readable file of at most 2 GiB");
  std::string bytes(size_t(size), '\0');
  in.seekg(0);
  if (!in.read(&bytes[0], size)) throw InvalidInput(path + ": read error");
  return bytes;
}

bool is_idx(const std::string& bytes) { return bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0; }

// An IDX file of unsigned bytes: its dimensions, and its payload's offset.
struct Idx {
  std::vector<uint64_t> dims;
  size_t payload = 0;
};

Idx parse_idx(const std::string& path, const std::string& bytes) {
  if (!is_idx(bytes)) throw InvalidInput(path + ": not an IDX file");
  if (uint8_t(bytes[2]) != 0x08) throw InvalidInput(path + ": IDX data must be unsigned bytes (type 0x08)");
  Idx idx;
  const size_t rank = uint8_t(bytes[3]);
  idx.payload = 4 + 4 * rank;
  if (rank < 1 || bytes.size() < idx.payload) throw InvalidInput(path + ": truncated IDX header");
  uint64_t values = 1;
  for (size_t d = 0; d < rank; ++d) {
    uint64_t n = 0;
    for (int k = 0; k < 4; ++k) n = n << 8 | uint8_t(bytes[4 + 4 * d + size_t(k)]);
    idx.dims.push_back(n);
    values = n == 0 || values <= kMaxFileBytes / n ? values * n : kMaxFileBytes + 1;
  }
  if (values != bytes.size() - idx.payload)
    throw InvalidInput(path + ": the IDX header promises " + std::to_string(values) + " values but the file holds " +
                       std::to_string(bytes.size() - idx.payload));
  return idx;
}

// Division, not multiplication by 1/255: the same floats as netc (and ToTensor).
float pixel(unsigned value, unsigned maxval) { return float(value) / float(maxval); }

Images read_idx_images(const std::string& path, const std::string& bytes, const netc::CompiledGraph& g) {
  Idx idx = parse_idx(path, bytes);
  std::vector<uint64_t> image(idx.dims.begin() + 1, idx.dims.end());
  if (image.size() == 2) image.insert(image.begin(), 1);  // N x H x W: one channel
  if (image != std::vector<uint64_t>{uint64_t(g.channels), uint64_t(g.height), uint64_t(g.width)})
    throw InvalidInput(path + ": its images are not " + std::to_string(g.channels) + " x " + std::to_string(g.height) +
                       " x " + std::to_string(g.width) + ", the input of " + g.name);
  Images images;
  images.pixels.reserve(bytes.size() - idx.payload);
  for (size_t k = idx.payload; k < bytes.size(); ++k) images.pixels.push_back(pixel(uint8_t(bytes[k]), 255));
  for (uint64_t k = 0; k < idx.dims[0]; ++k) images.names.push_back("image " + std::to_string(k));
  return images;
}

std::vector<int32_t> read_idx_labels(const std::string& path, size_t count) {
  const std::string bytes = read_file(path);
  Idx idx = parse_idx(path, bytes);
  if (idx.dims.size() != 1) throw InvalidInput(path + ": a label file has one dimension");
  if (idx.dims[0] != count)
    throw InvalidInput(path + ": " + std::to_string(idx.dims[0]) + " labels for " + std::to_string(count) + " images");
  std::vector<int32_t> labels;
  for (size_t k = idx.payload; k < bytes.size(); ++k) labels.push_back(uint8_t(bytes[k]));
  return labels;
}

// The next header number of a PGM file, past blanks and # comments.
unsigned pgm_number(std::istringstream& in, const std::string& path) {
  while (true) {
    in >> std::ws;
    if (in.peek() != '#') break;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  long long v = -1;
  if (!(in >> v) || v < 0 || v > 65535) throw InvalidInput(path + ": bad PGM header or pixel");
  return unsigned(v);
}

void append_pgm(const std::string& path, const std::string& bytes, const netc::CompiledGraph& g, Images& images) {
  const std::string magic = bytes.substr(0, 2);
  if (magic != "P5" && magic != "P2") throw InvalidInput(path + ": neither an IDX file nor a PGM image (P5 or P2)");
  if (g.channels != 1) throw InvalidInput(path + ": a PGM image has one channel; " + g.name + " takes " + std::to_string(g.channels));
  std::istringstream in(bytes.substr(2));
  const unsigned width = pgm_number(in, path), height = pgm_number(in, path), maxval = pgm_number(in, path);
  if (width != g.width || height != g.height)
    throw InvalidInput(path + ": the image is " + std::to_string(width) + " x " + std::to_string(height) + ", " + g.name +
                       " takes " + std::to_string(g.width) + " x " + std::to_string(g.height));
  if (maxval < 1 || maxval > 255) throw InvalidInput(path + ": PGM maxval must be 1..255");
  const size_t count = size_t(width) * height;
  if (magic == "P5") {
    in.get();  // the single blank after maxval
    std::string raster(count, '\0');
    if (!in.read(&raster[0], std::streamsize(count))) throw InvalidInput(path + ": truncated PGM image");
    for (char c : raster) images.pixels.push_back(pixel(std::min<unsigned>(uint8_t(c), maxval), maxval));
  } else {
    for (size_t k = 0; k < count; ++k) images.pixels.push_back(pixel(std::min(pgm_number(in, path), maxval), maxval));
  }
  images.names.push_back(path);
}

struct Options {
  std::string weights;
  std::vector<std::string> files;
  bool quiet = false, json = false;
  int threads = 0;
};

const char* const kUsage =
    "usage: classify WEIGHTS IMAGES [LABELS] [--quiet] [--json] [--threads N]\n"
    "       classify WEIGHTS IMAGE.pgm... [--json] [--threads N]\n"
    "Predicts the classes of images (IDX or PGM) with trained weights (safetensors);\n"
    "with an IDX label file, prints accuracy and mean loss too.\n";

Options parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--threads") {
      char* end = nullptr;
      long n = k + 1 < argc ? std::strtol(argv[++k], &end, 10) : 0;
      if (!end || *end || n < 1 || n > 1024) throw InvalidInput("--threads takes a number from 1 to 1024");
      o.threads = int(n);
    } else if (a.size() > 1 && a[0] == '-') {
      throw InvalidInput("unknown option " + a + "\n" + kUsage);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() < 2) throw InvalidInput(std::string("expected a weights file and images\n") + kUsage);
  o.weights = positional[0];
  o.files.assign(positional.begin() + 1, positional.end());
  return o;
}

// Images (and labels, if the files hold them) named on the command line.
Images read_images(const Options& o, const netc::CompiledGraph& g, std::vector<int32_t>* labels) {
  Images images;
  const std::string first = read_file(o.files[0]);
  if (is_idx(first)) {
    if (o.files.size() > 2) throw InvalidInput("an IDX image file takes at most one label file");
    images = read_idx_images(o.files[0], first, g);
    if (o.files.size() == 2) *labels = read_idx_labels(o.files[1], images.names.size());
    return images;
  }
  append_pgm(o.files[0], first, g, images);
  for (size_t k = 1; k < o.files.size(); ++k) append_pgm(o.files[k], read_file(o.files[k]), g, images);
  return images;
}

void print_json(const netc::Evaluation& e, bool labelled) {
  std::printf("{\"images\": %zu, \"predictions\": [", e.predictions.size());
  for (size_t k = 0; k < e.predictions.size(); ++k) std::printf("%s%d", k ? ", " : "", int(e.predictions[k]));
  std::printf("]");
  if (labelled)
    std::printf(", \"correct\": %lld, \"accuracy\": %.17g, \"loss\": %.17g", (long long)e.correct, e.accuracy(),
                e.loss);
  std::printf("}\n");
}

void print_text(const netc::Evaluation& e, const Images& images, const std::vector<int32_t>& labels, bool quiet) {
  if (!quiet)
    for (size_t k = 0; k < e.predictions.size(); ++k) {
      std::printf("%s: %d", images.names[k].c_str(), int(e.predictions[k]));
      if (!labels.empty()) std::printf(" (label %d)", int(labels[k]));
      std::printf("\n");
    }
  if (!labels.empty())
    std::printf("accuracy %.2f%% (%lld of %zu images), mean loss %.4f\n", e.accuracy(), (long long)e.correct,
                e.predictions.size(), e.loss);
}

int run(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  const netc::CompiledGraph& graph = NETC_GRAPH_FUNCTION();
  netc::Model model(graph, o.weights);
  if (o.threads) netc::Model::set_threads(o.threads);
  std::vector<int32_t> labels;
  const Images images = read_images(o, graph, &labels);
  const int64_t count = int64_t(images.names.size());

  auto start = std::chrono::steady_clock::now();
  netc::Evaluation e;
  if (labels.empty()) e.predictions = model.classify(images.pixels.data(), count);
  else e = model.evaluate(images.pixels.data(), labels.data(), count);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (o.json) print_json(e, !labels.empty());
  else print_text(e, images, labels, o.quiet);
  std::fprintf(stderr, "classify: %lld images in %.3f s (%.0f images/s, batch %lld)\n", (long long)count, seconds,
               seconds > 0 ? double(count) / seconds : 0.0, (long long)graph.batch);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const InvalidInput& e) {
    std::fprintf(stderr, "classify: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: error: %s\n", e.what());
    return 1;
  }
}
