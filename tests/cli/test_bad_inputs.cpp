// A table of bad inputs for every command: graphs, flags, data files,
// weights files and checkpoints. Each must end netc with exit code 2 and a
// "netc: error: ..." message saying what is wrong, never with a signal, and
// within an address-space limit far below what the lying sizes in some of
// them claim (so no reader allocates in proportion to a header's numbers).
// Each case also ends within a time bound (a FIFO is never waited on), and
// the outputs-and-state table checks that no input or unrelated file changed.
// One small compiled model (feedforward) serves every case.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <sstream>

#include <sys/stat.h>
#include <zlib.h>

#include "checkpoint.h"
#include "front/onnx/onnx_proto.h"
#include "gzip.h"
#include "netc_process.h"
#include "safetensors.h"
#include "synthetic_mnist.h"

using namespace netc::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// netc needs about 400 MB of address space here (libHalide, threads); a
// lying size of 2^31 or more would need far more than this.
constexpr uint64_t kMemoryLimit = uint64_t(1) << 30;
// Every case is refused before any real work: far below this.
constexpr double kTimeLimitS = 60;

struct Case {
  std::string what;
  std::vector<std::string> args;
  std::string message;  // a part of the expected error message
};

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}
std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += char(v >> (8 * i));
  return s;
}
std::string idx_images(uint32_t count, uint32_t rows, uint32_t cols, size_t pixel_bytes) {
  return be32(0x803) + be32(count) + be32(rows) + be32(cols) + std::string(pixel_bytes, '\x10');
}
std::string idx_labels(uint32_t count, const std::string& labels) { return be32(0x801) + be32(count) + labels; }
std::string safetensors(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The files every case starts from: a data set, the weights and a checkpoint
// of a two-step run of graphs/feedforward.yaml.
class Inputs {
 public:
  Inputs() {
    std::filesystem::create_directory(dir / "data");
    write_synthetic_mnist(dir / "data", 200, 50);
    Outcome o = run_netc({"train", graph, "--data", dir / "data", "--iterations", "2", "--threads", "1", "--save",
                          weights, "--checkpoint", checkpoint},
                         dir.path());  // compiles the model if the cache lacks it: no memory limit
    INFO(o.err);
    REQUIRE(o.exit_code == 0);
  }

  // A file of `bytes` in the scratch folder.
  std::string file(const std::string& name, const std::string& bytes) const {
    write_bytes(dir / name, bytes);
    return dir / name;
  }
  // A copy of the data set with `file_name` replaced by `bytes`.
  std::string data_with(const std::string& file_name, const std::string& bytes) {
    return data_folder(file_name, [&](const std::string& path) { write_bytes(path, bytes); });
  }
  // A copy of the data set without `file_name`, `make` called with its path.
  std::string data_folder(const std::string& file_name, const std::function<void(const std::string&)>& make) {
    const std::string folder = dir / ("data" + std::to_string(++folders_));
    std::filesystem::create_directory(folder);
    for (const auto& entry : std::filesystem::directory_iterator(dir / "data"))
      if (entry.path().filename() != file_name)
        std::filesystem::copy_file(entry.path(), folder + "/" + entry.path().filename().string());
    make(folder + "/" + file_name);
    return folder;
  }
  // The weights (or checkpoint) file rewritten with `edit` applied to its tensors and metadata.
  std::string edited(const std::string& source, const std::string& name,
                     const std::function<void(std::map<std::string, netc::SafeTensor>&,
                                              std::map<std::string, std::string>&)>& edit) const {
    std::map<std::string, std::string> metadata;
    auto tensors = netc::read_safetensors(source, &metadata);
    edit(tensors, metadata);
    netc::write_safetensors(dir / name, tensors, metadata);
    return dir / name;
  }

  std::vector<std::string> summary(const std::string& g) const { return {"summary", g}; }
  std::vector<std::string> train(const std::string& g, std::vector<std::string> more = {}) const {
    std::vector<std::string> a = {"train", g, "--data", dir / "data", "--iterations", "3", "--threads", "1"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  std::vector<std::string> eval(const std::string& g, std::vector<std::string> more = {}) const {
    std::vector<std::string> a = {"eval", g, "--weights", weights, "--data", dir / "data", "--threads", "1"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }

  TempDir dir;
  const std::string graph = graph_file("feedforward");
  const std::string weights = dir / "weights.safetensors", checkpoint = dir / "run.ckpt";

 private:
  int folders_ = 0;
};

// With `args` replacing the value after `flag` (or appended).
std::vector<std::string> with_flag(std::vector<std::string> args, const std::string& flag, const std::string& value) {
  for (size_t k = 0; k + 1 < args.size(); ++k)
    if (args[k] == flag) {
      args[k + 1] = value;
      return args;
    }
  args.push_back(flag);
  args.push_back(value);
  return args;
}

void check_table(const Inputs& inputs, const std::vector<Case>& table) {
  for (const Case& c : table) {
    const auto start = std::chrono::steady_clock::now();
    Outcome o = run_netc(c.args, inputs.dir.path(), kMemoryLimit);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string command;
    for (const std::string& a : c.args) command += " " + a;
    INFO(c.what << "\n  netc" << command << "\n  stderr: " << o.err);
    CHECK(o.signal == 0);
    CHECK(o.exit_code == 2);
    CHECK(seconds < kTimeLimitS);
    // Progress lines ("netc: compiling ...") may come first.
    CHECK_THAT(o.err, (StartsWith("netc: error: ") || Contains("\nnetc: error: ")) && Contains(c.message));
  }
}

// The bytes and modification time of files, to show that a refused command
// changed none of them.
class Unchanged {
 public:
  explicit Unchanged(std::vector<std::string> paths) : paths_(std::move(paths)) {
    for (const std::string& p : paths_) before_.push_back(state(p));
  }
  void check() const {
    for (size_t k = 0; k < paths_.size(); ++k) {
      INFO(paths_[k]);
      CHECK(state(paths_[k]) == before_[k]);
    }
  }

 private:
  static std::string state(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return "missing";
    std::string s = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
    return S_ISREG(st.st_mode) ? s + " " + read_bytes(path) : s;
  }
  std::vector<std::string> paths_;
  std::vector<std::string> before_;
};

// graphs/feedforward.yaml with each `from` replaced by its `to`.
std::string graph_text(const std::vector<std::pair<std::string, std::string>>& changes) {
  std::string text = read_bytes(graph_file("feedforward"));
  for (const auto& [from, to] : changes) text = replaced(text, from, to);
  return text;
}

}  // namespace

TEST_CASE("bad inputs: graph files, for summary, train and eval", "[bad_inputs]") {
  Inputs in;
  const std::string text = read_bytes(in.graph);
  std::string garbage;
  for (int k = 0; k < 512; ++k) garbage += char((k * 7919 + 13) % 256);
  std::string laughs = "name: a\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int k = 1; k < 12; ++k) {
    const std::string previous = "*x" + std::to_string(k - 1);
    laughs += "x" + std::to_string(k) + ": &x" + std::to_string(k) + " [" + previous;
    for (int copy = 1; copy < 9; ++copy) laughs += ", " + previous;
    laughs += "]\n";
  }
  const std::vector<std::pair<std::string, std::string>> graphs = {
      {in.dir / "missing.yaml", "cannot read graph file"},
      {in.file("empty.yaml", ""), "empty.yaml"},
      {in.file("truncated.yaml", text.substr(0, text.find("out_features: 100") + 5)), "truncated.yaml:"},
      {in.file("garbage.yaml", garbage), "garbage.yaml:"},
      {in.file("nul.yaml", replaced(text, "name: feedforward", std::string("name: feed\0forward", 17))), "nul.yaml:"},
      {in.dir.path(), "cannot read graph file"},
      {in.file("list.yaml", "- 1\n- 2\n"), "list.yaml:1:1:"},
      {in.file("channels_text.yaml", graph_text({{"channels: 1", "channels: one"}})), "input.channels must be"},
      {in.file("layers_int.yaml", graph_text({{"layers:\n", "layers: 5\nold_layers:\n"}})), "layers_int.yaml:"},
      {in.file("fraction.yaml", graph_text({{"out_features: 100", "out_features: 1.5"}})), "out_features must be"},
      {in.file("negative.yaml", graph_text({{"height: 28", "height: -28"}})), "input.height must be"},
      {in.file("channels_2_40.yaml", graph_text({{"channels: 1", "channels: 1099511627776"}})),
       "input.channels must be an integer from 1 to 2147483647, got 1099511627776, above netc's limit"},
      {in.file("channels_2_30.yaml", graph_text({{"channels: 1", "channels: 1073741824"}})),
       "input 1073741824 x 28 x 28 has 841813590016 values per image, above netc's limit"},
      {in.file("overflow.yaml", graph_text({{"out_features: 100", "out_features: 9223372036854775807"}})),
       "out_features must be an integer from 1 to 2147483647"},

      {in.file("twice.yaml", graph_text({{"loss: cross_entropy", "loss: cross_entropy\nloss: cross_entropy"}})),
       "given twice"},
      {in.file("shift_28.yaml", graph_text({{"  optimizer:", "  augment: {shift: 28}\n  optimizer:"}})),
       "shift_28.yaml:22:20: train.augment.shift must be an integer from 0 to 27"},
      {in.file("validation_text.yaml", graph_text({{"  optimizer:", "  validation: many\n  optimizer:"}})),
       "validation_text.yaml:22:15: train.validation must be an integer >= 0"},
      {in.file("laughs.yaml", laughs), "laughs.yaml:"},
  };
  std::vector<Case> table;
  for (const auto& [g, message] : graphs) {
    table.push_back({"graph " + g + " (summary)", in.summary(g), message});
    table.push_back({"graph " + g + " (train)", in.train(g), message});
    table.push_back({"graph " + g + " (eval)", in.eval(g), message});
  }
  // Sizes a description can hold but no compiled buffer can: refused where the file says them.
  const std::string wide =
      in.file("wide.yaml", graph_text({{"in_features: 784, out_features: 100", "out_features: 1099511627776"}}));
  table.push_back({"a layer of 2^40 features (train)", in.train(wide), "wide.yaml:11:43: layer 'fc1': out_features"});
  table.push_back({"a layer of 2^40 features (eval)", in.eval(wide), "above netc's limit"});
  const std::string huge_image = in.file(
      "huge_image.yaml", graph_text({{"height: 28, width: 28", "height: 65536, width: 65536"}, {"in_features: 784, ", ""}}));
  table.push_back({"images of 65536 x 65536 (train)", in.train(huge_image),
                   "input 1 x 65536 x 65536 has 4294967296 values per image, above netc's limit"});
  // Legal graphs whose training step needs more memory than a buffer or the budget holds:
  // refused before anything is compiled or allocated.
  const std::string wide_image =
      in.file("wide_image.yaml", graph_text({{"height: 28, width: 28", "height: 8192, width: 8192"},
                                             {"  - {name: flatten", "  - {name: pool, op: maxpool2d, kernel_size: 32}\n  - {name: flatten"},
                                             {"in_features: 784, ", ""}}));
  table.push_back({"a batch of 100 images of 8192 x 8192 (train)", in.train(wide_image),
                   "feedforward at batch 100: the input would take 26.8 GB, more than Halide's 2 GiB per buffer"});
  // Known to be too many once the data is read (200 training images, batches of 100).
  const std::string held_out = in.file("held_out.yaml", graph_text({{"  optimizer:", "  validation: 150\n  optimizer:"}}));
  table.push_back({"train.validation leaving less than a batch", in.train(held_out),
                   "train.validation is 150, which leaves 50 of the 200 training images"});
  table.push_back({"a training step over --memory-limit (train)", in.train(in.graph, {"--memory-limit", "0.001"}),
                   "feedforward at batch 100 needs about 3.1 MB for a training step, more than the 1.0 MB of "
                   "--memory-limit 0.001"});
  table.push_back({"a training step over --memory-limit (compile)",
                   {"compile", in.graph, "-o", in.dir / "out", "--memory-limit", "0.001"}, "more than the 1.0 MB"});
  check_table(in, table);
}

TEST_CASE("bad inputs: flags of every command", "[bad_inputs]") {
  Inputs in;
  const std::string g = in.graph;
  auto train = [&](const std::string& flag, const std::string& value) { return with_flag(in.train(g), flag, value); };
  const std::vector<Case> table = {
      {"no command", {}, "required"},
      {"unknown command", {"frobnicate"}, "unknown command 'frobnicate'"},
      {"summary without a graph", {"summary"}, "GRAPH"},
      {"summary: unknown flag", {"summary", g, "--bogus"}, "--bogus"},
      {"summary: two graphs", {"summary", g, g}, "netc summary takes no further argument"},
      {"train without a graph", {"train", "--iterations", "3"}, "GRAPH"},
      {"train: unknown flag", with_flag(in.train(g), "--bogus", "1"), "--bogus"},
      {"train: a flag twice", {"train", g, "--iterations", "3", "--iterations", "4"}, "--iterations"},
      {"train: a flag without its value", {"train", g, "--lr"}, "--lr"},
      {"--iterations -1", train("--iterations", "-1"), "--iterations"},
      {"--iterations abc", train("--iterations", "abc"), "--iterations"},
      {"--iterations 1e99", train("--iterations", "1e99"), "--iterations"},
      {"--iterations 2^41", train("--iterations", "2199023255552"), "--iterations"},
      {"--iterations 2^64", train("--iterations", "18446744073709551616"), "--iterations"},
      {"--batch-size 0", train("--batch-size", "0"), "--batch-size"},
      {"--batch-size -5", train("--batch-size", "-5"), "--batch-size"},
      {"--batch-size 2^21", train("--batch-size", "2097152"), "--batch-size"},
      {"--batch-size 2^20 (no compiled buffer holds it)", train("--batch-size", "1048576"),
       "feedforward at batch 1048576: the input would take 3.3 GB, more than Halide's 2 GiB per buffer"},
      {"--batch-size x", train("--batch-size", "x"), "--batch-size"},
      {"--lr 0", train("--lr", "0"), "--lr"},
      {"--lr -1", train("--lr", "-1"), "--lr"},
      {"--lr nan", train("--lr", "nan"), "--lr: nan is not a finite float32 number"},
      {"--lr inf", train("--lr", "inf"), "--lr"},
      {"--lr 1e300 (Inf as float32)", train("--lr", "1e300"), "--lr: 1e300 is not a finite float32 number"},
      {"--lr 1e-60 (0 as float32)", train("--lr", "1e-60"), "--lr"},
      {"--lr abc", train("--lr", "abc"), "--lr"},
      {"--momentum -0.5", train("--momentum", "-0.5"), "--momentum"},
      {"--momentum nan", train("--momentum", "nan"), "--momentum"},
      {"--momentum 2e6", train("--momentum", "2e6"), "--momentum"},
      {"--seed -1", train("--seed", "-1"), "--seed"},
      {"--seed abc", train("--seed", "abc"), "--seed"},
      {"--seed 2^64", train("--seed", "18446744073709551616"), "--seed"},
      {"--eval-every -1", train("--eval-every", "-1"), "--eval-every"},
      {"--threads 0", train("--threads", "0"), "--threads"},
      {"--threads 5000", train("--threads", "5000"), "--threads"},
      {"--threads two", train("--threads", "two"), "--threads"},
      {"--target tpu", train("--target", "tpu"), "--target"},
      {"--schedule missing", train("--schedule", in.dir / "missing.schedule"), "--schedule"},
      {"--checkpoint-every 0", with_flag(train("--checkpoint", in.dir / "c"), "--checkpoint-every", "0"),
       "--checkpoint-every"},
      {"--checkpoint-every without --checkpoint", train("--checkpoint-every", "5"), "requires --checkpoint"},
      {"--validation -1", train("--validation", "-1"), "--validation"},
      {"--validation 2^31", train("--validation", "2147483648"), "--validation"},
      {"--validation leaving less than a batch", train("--validation", "101"),
       "--validation is 101, which leaves 99 of the 200 training images, fewer than a batch of 100; it can be at most "
       "100"},
      {"--validation of every image", train("--validation", "200"), "leaves 0 of the 200 training images"},
      {"--save-best without a validation set", train("--save-best", in.dir / "best"),
       "--save-best needs a validation set"},
      {"--save-best into a missing folder", with_flag(train("--validation", "50"), "--save-best", in.dir / "missing/b"),
       "there is no folder"},
      {"--resume with --init", with_flag(train("--init", in.weights), "--resume", in.checkpoint), "excludes"},
      {"--data missing", train("--data", in.dir / "missing"), "no such folder"},
      {"--data a file", train("--data", in.weights), "no such folder"},
      {"--init missing", train("--init", in.dir / "missing.safetensors"), "cannot read"},
      {"--save into a missing folder", train("--save", in.dir / "missing/w.safetensors"), "there is no folder"},
      {"--metrics a folder", train("--metrics", in.dir.path()), "that is a folder"},
      {"--checkpoint into a missing folder", train("--checkpoint", in.dir / "missing/c"), "there is no folder"},
      {"eval without --weights", {"eval", g, "--data", in.dir / "data"}, "--weights"},
      {"eval: --batch-size 0", with_flag(in.eval(g), "--batch-size", "0"), "--batch-size"},
      {"eval: --threads -1", with_flag(in.eval(g), "--threads", "-1"), "--threads"},
      {"eval: unknown flag", with_flag(in.eval(g), "--lr", "0.1"), "--lr"},
  };
  check_table(in, table);
}

TEST_CASE("bad inputs: data files", "[bad_inputs]") {
  Inputs in;
  const std::string images = "train-images-idx3-ubyte", labels = "train-labels-idx1-ubyte";
  const std::string test_images = "t10k-images-idx3-ubyte", test_labels = "t10k-labels-idx1-ubyte";
  const std::string good_images = read_bytes(in.dir / ("data/" + images));
  const std::string good_labels = read_bytes(in.dir / ("data/" + labels));
  auto train_on = [&](const std::string& file, const std::string& bytes) {
    return with_flag(in.train(in.graph), "--data", in.data_with(file, bytes));
  };
  auto eval_on = [&](const std::string& file, const std::string& bytes) {
    return with_flag(in.eval(in.graph), "--data", in.data_with(file, bytes));
  };
  std::string one_ten = good_labels;
  one_ten[8 + 17] = 10;
  std::string gzip = netc::gzip_compress(good_images);
  std::string corrupt_gzip = gzip;
  for (size_t k = 40; k < 80; ++k) corrupt_gzip[k] = char(k);
  const std::vector<Case> table = {
      {"images: empty", train_on(images, ""), "the file is empty"},
      {"images: 3 bytes", train_on(images, std::string("\0\0\x08", 3)), "too short"},
      {"images: header only, count 200", train_on(images, good_images.substr(0, 16)), "truncated"},
      {"images: truncated", train_on(images, good_images.substr(0, good_images.size() / 2)), "truncated"},
      {"images: trailing bytes", train_on(images, good_images + "xyz"), "more data than its header declares"},
      {"images: labels' magic", train_on(images, good_labels), "it is an IDX label file"},
      {"images: wrong magic", train_on(images, "GIF89a" + good_images), "magic number"},
      {"images: count 2^31 - 1, tiny file", train_on(images, idx_images(0x7fffffff, 28, 28, 784)), "more than"},
      {"images: count 2^32 - 1, tiny file", train_on(images, idx_images(0xffffffff, 28, 28, 784)), "more than"},
      {"images: count 2^21, tiny file", train_on(images, idx_images(1 << 21, 28, 28, 784)), "truncated"},
      {"images: 0 rows", train_on(images, idx_images(200, 0, 28, 0)), "0 x 28 pixels"},
      {"images: 65536 x 65536", train_on(images, idx_images(1, 65536, 65536, 100)), "more than"},
      {"images: 2^32-1 x 2^32-1", train_on(images, idx_images(1, 0xffffffff, 0xffffffff, 100)), "more than"},
      {"images: 27 x 28 for a 28 x 28 graph", train_on(images, idx_images(200, 27, 28, 200 * 27 * 28)), "27"},
      {"images: none", train_on(images, idx_images(0, 28, 28, 0)), "no images"},
      {"images: corrupt gzip", train_on(images, corrupt_gzip), "gzip"},
      {"images: truncated gzip", train_on(images, gzip.substr(0, gzip.size() / 2)), "truncated"},
      {"images: gzip header only", train_on(images, gzip.substr(0, 10)), images},
      {"images: a folder", with_flag(in.train(in.graph), "--data", in.data_folder(images, [](const std::string& path) {
         std::filesystem::create_directory(path);
       })), images},
      {"labels: empty", train_on(labels, ""), "empty"},
      {"labels: truncated", train_on(labels, good_labels.substr(0, 100)), "truncated"},
      {"labels: count 2^31, tiny file", train_on(labels, idx_labels(0x80000000, "\1\2\3")), "truncated"},
      {"labels: count 2^32 - 1, tiny file", train_on(labels, idx_labels(0xffffffff, "\1\2\3")), "more than"},
      {"labels: 199 for 200 images", train_on(labels, idx_labels(199, good_labels.substr(8, 199))), "199"},
      {"labels: 201 for 200 images", train_on(labels, idx_labels(201, good_labels.substr(8) + "\1")), "201"},
      {"labels: label 10 of 10 classes", train_on(labels, one_ten), "label 10 (of item 17) is out of range"},
      {"labels: label 255", train_on(labels, replaced(good_labels, good_labels.substr(8, 1), "\xff")), "255"},
      {"labels: images' magic", train_on(labels, good_images), "it is an IDX image file"},
      {"test images: truncated (eval)", eval_on(test_images, read_bytes(in.dir / ("data/" + test_images)).substr(0, 500)),
       "truncated"},
      {"test labels: one too few (eval)", eval_on(test_labels, idx_labels(49, std::string(49, '\1'))), "49"},
      {"test labels: missing (eval)",
       with_flag(in.eval(in.graph), "--data", in.data_folder(test_labels, [](const std::string&) {})), test_labels},
  };
  check_table(in, table);
}

TEST_CASE("bad inputs: weights files, for eval --weights and train --init", "[bad_inputs]") {
  Inputs in;
  const std::string good = read_bytes(in.weights);
  const uint64_t header_bytes = good.size() < 8 ? 0 : uint64_t(uint8_t(good[0])) | uint64_t(uint8_t(good[1])) << 8;
  const std::string header = good.substr(8, header_bytes), data = good.substr(8 + header_bytes);
  using Tensors = std::map<std::string, netc::SafeTensor>;
  using Metadata = std::map<std::string, std::string>;
  const std::vector<std::pair<std::string, std::string>> files = {
      {in.dir / "missing.safetensors", "cannot read"},
      {in.dir.path(), "folder"},
      {in.file("empty.st", ""), "too short"},
      {in.file("seven.st", good.substr(0, 7)), "too short"},
      {in.file("truncated.st", good.substr(0, good.size() / 2)), "go past the end of the data"},
      {in.file("header_cut.st", good.substr(0, 100)), "more than the"},
      {in.file("short_data.st", good.substr(0, good.size() - 4)), "past the end of the data"},
      {in.file("trailing.st", good + "abcd"), "bytes after the last tensor"},
      {in.file("length_lies.st", le64(good.size()) + good.substr(8)), "more than the"},
      {in.file("length_2_63.st", le64(uint64_t(1) << 63) + good.substr(8)), "header length"},
      {in.file("length_max.st", le64(~uint64_t(0)) + good.substr(8)), "header length"},
      {in.file("png.st", "\x89PNG\r\n\x1a\n" + good.substr(8)), "header length"},
      {in.file("not_json.st", safetensors("{{{{{{{{", "")), "not valid JSON"},
      {in.file("array.st", safetensors("[1, 2, 3]", "")), "not a JSON object"},
      {in.file("no_dtype.st", replaced(good, "\"dtype\":\"F32\",", std::string(14, ' '))), "has no dtype"},
      {in.file("f64.st", replaced(good, "F32", "F64")), "dtype F64"},
      {in.file("i32.st", replaced(good, "F32", "I32")), "dtype I32"},
      {in.file("shape_swapped.st", replaced(good, "[100,784]", "[784,100]")), "has shape [784, 100]"},
      {in.file("shape_2_40.st",
               safetensors(R"({"fc2.bias":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,40]}})",
                           std::string(40, '\0'))),
       "takes 4398046511104 bytes as F32 but data_offsets [0, 40] span 40"},
      {in.file("shape_2_62.st",
               safetensors(R"({"fc2.bias":{"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,40]}})",
                           std::string(40, '\0'))),
       "absurdly large"},
      {in.file("offsets_2_63.st",
               safetensors(R"({"fc2.bias":{"dtype":"F32","shape":[10],"data_offsets":[9223372036854775808,9223372036854775848]}})",
                           std::string(40, '\0'))),
       "go past the end of the data"},
      {in.file("shape_negative.st", replaced(good, "[100]", "[-10]")), "non-negative integers"},
      {in.file("renamed.st", replaced(good, "fc1.weight", "fc9.weight")), "no tensor 'fc1.weight'"},
      {in.file("offsets_overlap.st", safetensors(R"({"fc2.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]},)"
                                                 R"("fc1.bias":{"dtype":"F32","shape":[10],"data_offsets":[20,60]}})",
                                                 std::string(60, '\0'))),
       "overlap"},
      {in.file("duplicate.st", safetensors(R"({"fc2.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                           R"("fc2.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                           std::string(8, '\0'))),
       "twice"},
      {in.edited(in.weights, "missing_tensor.st", [](Tensors& t, Metadata&) { t.erase("fc2.bias"); }),
       "no tensor 'fc2.bias'"},
      {in.edited(in.weights, "extra_tensor.st", [](Tensors& t, Metadata&) { t["fc3.weight"] = {{1}, {1.f}}; }),
       "'fc3.weight' is not a parameter"},
      {in.edited(in.weights, "nan.st", [](Tensors& t, Metadata&) { t["fc1.weight"].data[123] = NAN; }),
       "'fc1.weight' holds NaN or Inf"},
      {in.edited(in.weights, "inf.st", [](Tensors& t, Metadata&) { t["fc2.bias"].data[0] = -INFINITY; }),
       "'fc2.bias' holds NaN or Inf"},
      {in.checkpoint, "momentum_buffer"},
  };
  CHECK(!header.empty());
  CHECK(!data.empty());
  std::vector<Case> table;
  for (const auto& [file, message] : files) {
    table.push_back({"weights " + file + " (eval)", with_flag(in.eval(in.graph), "--weights", file), message});
    table.push_back({"weights " + file + " (train --init)", in.train(in.graph, {"--init", file}), message});
  }
  check_table(in, table);
}

TEST_CASE("bad inputs: checkpoints, for train --resume", "[bad_inputs]") {
  Inputs in;
  const std::string good = read_bytes(in.checkpoint);
  using Tensors = std::map<std::string, netc::SafeTensor>;
  using Metadata = std::map<std::string, std::string>;
  auto edited = [&](const std::string& name, const std::function<void(Tensors&, Metadata&)>& edit) {
    return in.edited(in.checkpoint, name, edit);
  };
  std::string flipped_data = good, flipped_order = good;
  flipped_data[good.size() - 3] ^= 0x40;
  const size_t generator_state = good.find("netc-batch-order/1 200 100 1 0 0 ");  // epoch 0 of 200 images
  REQUIRE(generator_state != std::string::npos);
  flipped_order[generator_state + 33] ^= 1;
  const std::vector<std::pair<std::string, std::string>> files = {
      {in.dir / "missing.ckpt", "cannot read"},
      {in.file("empty.ckpt", ""), "too short"},
      {in.file("truncated.ckpt", good.substr(0, good.size() - 100)), "past the end of the data"},
      {in.file("header_cut.ckpt", good.substr(0, 200)), "more than the"},
      {in.file("length_2_63.ckpt", le64(uint64_t(1) << 63) + good.substr(8)), "header length"},
      {in.file("not_json.ckpt", safetensors("{\"__metadata__\": {\"netc_checkpoint\": ", "")), "not valid JSON"},
      {in.weights, "not a netc checkpoint"},
      {edited("version.ckpt", [](Tensors&, Metadata& m) { m["netc_checkpoint"] = "netc-checkpoint/99"; }),
       "format 'netc-checkpoint/99'"},
      {edited("no_step.ckpt", [](Tensors&, Metadata& m) { m.erase("step"); }), "no 'step'"},
      {edited("unknown_key.ckpt", [](Tensors&, Metadata& m) { m["epoch"] = "3"; }), "unknown entry 'epoch'"},
      {edited("other_graph.ckpt", [](Tensors&, Metadata& m) { m["graph"] = "model_a"; }), "damaged"},
      {edited("step_huge.ckpt", [](Tensors&, Metadata& m) { m["step"] = "99999999999999999999999"; }), "damaged"},
      {edited("nan.ckpt", [](Tensors& t, Metadata&) { t["momentum_buffer.fc1.bias"].data[3] = NAN; }), "damaged"},
      {edited("no_momentum.ckpt", [](Tensors& t, Metadata&) { t.erase("momentum_buffer.fc2.weight"); }), "damaged"},
      {edited("f_shape.ckpt", [](Tensors& t, Metadata&) { t["fc2.bias"] = {{2, 5}, std::vector<float>(10)}; }),
       "damaged"},
      {in.file("flipped_data.ckpt", flipped_data), "damaged"},
      {in.file("flipped_order.ckpt", flipped_order), "damaged"},
      {in.file("f64.ckpt", replaced(good, "F32", "F64")), "dtype F64"},
  };
  std::vector<Case> table;
  for (const auto& [file, message] : files)
    table.push_back({"checkpoint " + file, in.train(in.graph, {"--resume", file}), message});
  table.push_back({"a checkpoint past --iterations", with_flag(in.train(in.graph, {"--resume", in.checkpoint}),
                                                                "--iterations", "1"),
                   "at step 2, past --iterations 1"});
  table.push_back({"a checkpoint of other settings", in.train(in.graph, {"--resume", in.checkpoint, "--lr", "0.5"}),
                   "lr 0.1; this run has 0.5"});
  table.push_back({"a checkpoint of a run without a validation set",
                   in.train(in.graph, {"--resume", in.checkpoint, "--validation", "50"}),
                   "validation 0; this run has 50"});
  check_table(in, table);
}

TEST_CASE("bad inputs: schedule files, for train, eval and bench --schedule", "[bad_inputs]") {
  Inputs in;
  const std::vector<std::pair<std::string, std::string>> files = {
      {in.file("empty.yaml", ""), "empty.yaml:1:1: a schedule file is a map"},
      {in.file("binary.yaml", std::string("\x00\xff\xfe\x01garbage", 11)), "binary.yaml:"},
      {in.file("not_yaml.yaml", "target: [host\n"), "not_yaml.yaml:"},
      {in.file("list.yaml", "- target\n- host\n"), "a schedule file is a map"},
      {in.file("huge.yaml", "target: host\n#" + std::string(2 << 20, 'x') + "\n"), "more than the limit"},
      {in.file("no_target.yaml", "stages: {\"*\": plain}\n"), "no_target.yaml:1:1: missing `target`"},
      {in.file("target.yaml", "target: tpu\nstages: {}\n"), "target.yaml:1:9: unknown target 'tpu'"},
      {in.file("cuda.yaml", "target: cuda\nstages: {\"*\": plain}\n"), "cuda.yaml:1:9: this schedule is for target"},
      {in.file("key.yaml", "target: host\nstagez: {}\n"), "key.yaml:2:1: unknown key 'stagez'"},
      {in.file("dup.yaml", "target: host\ntarget: host\nstages: {}\n"), "dup.yaml:2:1: duplicate key 'target'"},
      {in.file("recipe.yaml", "target: host\nstages: {\"*\": turbo}\n"), "recipe.yaml:2:15: unknown recipe 'turbo'"},
      {in.file("stage.yaml", "target: host\nstages: {fc9.forward: plain}\n"),
       "stage.yaml:2:10: no stage is named 'fc9.forward'"},
      {in.file("kind.yaml", "target: host\nstages: {linear.foward: plain}\n"),
       "kind.yaml:2:10: no stage is named 'linear.foward'"},
      {in.file("directive.yaml", "target: host\nstages: {\"*\": {pure: [{tile_it: x}]}}\n"),
       "directive.yaml:2:23: unknown directive 'tile_it'"},
      {in.file("args.yaml", "target: host\nstages: {\"*\": {pure: [{split: [x]}]}}\n"), "'split' takes"},
      {in.file("factor.yaml", "target: host\nstages: {\"*\": {pure: [{vectorize: [x, -4]}]}}\n"),
       "factor.yaml:2:39: a factor must be at least 1, not -4"},
      {in.file("big_factor.yaml", "target: host\nstages: {\"*\": {pure: [{vectorize: [x, 99999999999999999999]}]}}\n"),
       "a factor must be an integer"},
      {in.file("var.yaml", "target: host\nstages: {\"*\": plain, fc1.forward: {pure: [{vectorize: z}]}}\n"),
       "'z' is not a loop variable of the pure definition of fc1.forward"},
      {in.file("inline.yaml", "target: host\nstages: {\"*\": plain, fc1.forward: inline}\n"),
       "fc1.forward is a reduction and cannot be inlined"},
      {in.file("lowering.yaml", "target: host\nstages: {fc1.forward: {lowering: im2col}}\n"),
       "has no im2col lowering"},
      {in.file("autoscheduler.yaml", "target: host\nautoscheduler: {name: Adams2020}\n"),
       "unknown autoscheduler 'Adams2020'"},
      {in.file("deep.yaml", "target: host\nstages: " + std::string(5000, '[') + "\n"), "deep.yaml:"},
      // Halide checks this one only when the pipeline runs: netc runs it once before caching it.
      {in.file("bound.yaml", "target: host\nstages: {\"*\": plain, fc1.forward: {pure: [{bound: [o, 0, 50]}]}}\n"),
       "bound.yaml: the pipelines compile but cannot run: the train step failed: Bounds given for fc1__forward in o"},
  };
  std::vector<Case> table;
  for (const auto& [file, message] : files) {
    table.push_back({"schedule " + file, in.train(in.graph, {"--schedule", file}), message});
    table.push_back({"schedule " + file + " (eval)", in.eval(in.graph, {"--schedule", file}), message});
  }
  table.push_back({"schedule for bench", {"bench", in.graph, "--schedule", in.dir / "recipe.yaml", "--steps", "1"},
                   "unknown recipe 'turbo'"});
  check_table(in, table);
}

// A PNG file from its IHDR fields and the bytes of its rows (with their filter bytes).
std::string png(uint32_t width, uint32_t height, uint8_t color_type, uint8_t bit_depth, const std::string& rows,
                bool good_crc = true) {
  auto chunk = [&](const std::string& kind, const std::string& data) {
    const std::string body = kind + data;
    const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size())));
    return be32(uint32_t(data.size())) + body + be32(good_crc ? crc : ~crc);
  };
  std::string compressed(compressBound(uLong(rows.size())), '\0');
  uLongf length = uLongf(compressed.size());
  REQUIRE(compress(reinterpret_cast<Bytef*>(compressed.data()), &length, reinterpret_cast<const Bytef*>(rows.data()),
                   uLong(rows.size())) == Z_OK);
  compressed.resize(length);
  const std::string header = be32(width) + be32(height) + char(bit_depth) + char(color_type) + std::string(3, '\0');
  return "\x89PNG\r\n\x1a\n" + chunk("IHDR", header) + chunk("IDAT", compressed) + chunk("IEND", "");
}

TEST_CASE("bad inputs: images, for predict", "[bad_inputs]") {
  Inputs in;
  const std::string good_png = png(2, 2, 0, 8, std::string("\0\x10\x20\0\x30\x40", 6));
  const std::string fifo = in.dir / "image.fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::vector<std::pair<std::string, std::string>> images = {
      {in.dir / "missing.png", "cannot read image"},
      {in.dir.path(), "cannot read image"},
      {fifo, "not a regular file"},
      {in.file("empty.png", ""), "empty.png: the file is empty"},
      {in.file("text.png", "a digit, honest\n"), "text.png: not a PNG or PGM image"},
      {in.file("gif.png", "GIF89a" + std::string(40, '\0')), "gif.png: not a PNG or PGM image"},
      {in.file("truncated.png", good_png.substr(0, good_png.size() - 30)), "truncated.png: not a readable PNG image"},
      {in.file("crc.png", png(2, 2, 0, 8, std::string(6, '\0'), false)), "crc.png: not a readable PNG image"},
      {in.file("huge.png", png(8192, 8192, 0, 8, std::string(1, '\0'))),
       "an image of 8192 x 8192 pixels, more than netc's limit of 16777216 pixels"},
      {in.file("wide.png", png(0x7fffffff, 1, 0, 8, std::string(1, '\0'))), "wide.png: not a readable PNG image"},
      {in.file("rgb_4bit.png", png(1, 1, 2, 4, std::string(2, '\0'))), "rgb_4bit.png: not a readable PNG image"},
      {in.file("color_type_7.png", png(1, 1, 7, 8, std::string(2, '\0'))), "color_type_7.png: not a readable PNG"},
      {in.file("huge.pgm", "P5 65536 65536 255\n" + std::string(100, '\0')), "more than netc's limit"},
      {in.file("lying.pgm", "P5 4000 4000 255\n" + std::string(100, '\0')), "truncated"},
      {in.file("zero.pgm", "P5 0 28 255\n"), "an image of 0 x 28 pixels"},
      {in.file("maxval0.pgm", "P5 1 1 0\n\0"), "maxval 0 is not from 1 to 65535"},
      {in.file("maxval70000.pgm", "P5 1 1 70000\n\0\0"), "maxval 70000"},
      {in.file("above.pgm", "P2 2 1 9 3 10\n"), "a sample of 10 is above its maxval 9"},
      {in.file("letters.pgm", "P2 2 1 255 3 x\n"), "letters.pgm: PGM image: expected its sample 1"},
      {in.file("digits.pgm", "P5 1234567890123 1 255\n"), "at most 9 digits"},
      {in.file("short.pgm", "P2 3 3 255 1 2 3\n"), "truncated after 3 samples"},
      {in.file("two.pgm", "P5 1 1 255\n\x01P5 1 1 255\n\x02"), "more data than its header declares"},
  };
  std::vector<Case> table;
  for (const auto& [image, message] : images)
    table.push_back({"image " + image, {"predict", in.graph, "--weights", in.weights, image}, message});
  table.push_back({"predict without an image", {"predict", in.graph, "--weights", in.weights}, "IMAGE"});
  table.push_back({"predict without --weights", {"predict", in.graph, in.file("ok.png", good_png)}, "--weights"});
  table.push_back({"predict --top 0", {"predict", in.graph, "--weights", in.weights, "--top", "0", in.dir / "ok.png"},
                   "--top"});
  table.push_back({"predict with a graph of 2 channels",
                   {"predict", in.file("two.yaml", graph_text({{"channels: 1", "channels: 2"}, {"in_features: 784, ", ""}})),
                    "--weights", in.weights, in.dir / "ok.png"},
                   "takes graphs whose input has 1 (gray) or 3 (RGB) channels, not 2"});
  check_table(in, table);
}

TEST_CASE("bad inputs: outputs that would lose a file, for train, compile and tune", "[bad_inputs]") {
  Inputs in;
  const std::string g = in.graph, data = in.dir / "data";
  const std::string graph_copy = in.file("graph.yaml", read_bytes(g));
  const std::string notes = in.file("notes.txt", "my notes, not a tuning log\n");
  const std::string metrics = in.file("metrics.jsonl", "");
  const std::string fifo = in.dir / "fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // A folder shaped like a compile-cache entry, and one of someone's own files.
  const std::string entry = in.dir / "entry", mine = in.dir / "mine";
  std::filesystem::create_directories(entry);
  std::filesystem::create_directories(mine);
  write_bytes(entry + "/model.so", "a library");
  write_bytes(entry + "/manifest.json", "{}");
  write_bytes(mine + "/thesis.tex", "mine");
  const Unchanged unchanged({g, graph_copy, in.weights, in.checkpoint, notes, metrics, fifo, "/dev/null",
                             entry + "/model.so", entry + "/manifest.json", mine + "/thesis.tex"});
  auto train = [&](std::vector<std::string> more) { return in.train(g, std::move(more)); };
  auto tune = [&](std::vector<std::string> more) {
    std::vector<std::string> a = {"tune", g, "--trials", "1", "--threads", "1"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const std::vector<Case> table = {
      {"--checkpoint X --metrics X", train({"--metrics", metrics, "--checkpoint", metrics}),
       "--checkpoint " + metrics + ": that is also --metrics"},
      {"--resume C --metrics C", train({"--resume", in.checkpoint, "--metrics", in.checkpoint}),
       "--metrics " + in.checkpoint + ": that is also --resume"},
      {"--save onto the graph", train({"--save", g}), "that is also GRAPH"},
      {"--save onto the graph by another name", in.train(graph_copy, {"--save", in.dir / "./graph.yaml"}),
       "that is also GRAPH"},
      {"--save onto --init", train({"--init", in.weights, "--save", in.weights}), "that is also --init"},
      {"--save-best onto --save", train({"--validation", "50", "--save", in.dir / "w", "--save-best", in.dir / "w"}),
       "that is also --save"},
      {"--save-best onto the graph", train({"--validation", "50", "--save-best", g}), "that is also GRAPH"},
      {"--metrics onto a device", train({"--metrics", "/dev/null"}), "not a regular file"},
      {"--metrics onto a FIFO", train({"--metrics", fifo}), "not a regular file"},
      {"--checkpoint onto a FIFO", train({"--checkpoint", fifo}), "not a regular file"},
      {"--init a FIFO", train({"--init", fifo}), "not a regular file"},
      {"--resume a FIFO", train({"--resume", fifo}), "not a regular file"},
      {"--schedule a FIFO", train({"--schedule", fifo}), "not a regular file"},
      {"eval --weights a FIFO", with_flag(in.eval(g), "--weights", fifo), "not a regular file"},
      {"compile -o into a compile-cache entry", {"compile", g, "-o", entry}, "it holds model.so"},
      {"compile -o into a folder of one's own", {"compile", g, "-o", mine}, "neither empty nor an earlier output"},
      {"compile -o onto the graph", {"compile", graph_copy, "-o", graph_copy}, "it is not a folder"},
      {"compile -o a folder holding the graph", {"compile", in.dir / "mine/../graph.yaml", "-o", in.dir.path()},
       "neither empty nor an earlier output"},
      {"tune --log a file that is not a tuning log", tune({"--log", notes}), notes + ": exists and is not a tuning log"},
      {"tune --log a FIFO", tune({"--log", fifo}), "not a regular file"},
      {"tune --log onto the graph", tune({"--log", g}), "not a tuning log"},
      {"tune --log X -o X", tune({"--log", in.dir / "t.jsonl", "-o", in.dir / "t.jsonl"}), "that is also --log"},
      {"tune -o onto a device", tune({"--log", in.dir / "t.jsonl", "-o", "/dev/null"}), "not a regular file"},
      {"tune --report of a file that is not a log", {"tune", "--report", notes, "-o", in.dir / "r.svg"}, notes},
      {"tune --report a FIFO", {"tune", "--report", fifo, "-o", in.dir / "r.svg"}, "not a regular file"},
      {"tune --report onto its own log", {"tune", "--report", notes, "-o", notes}, "that is also --report"},
  };
  check_table(in, table);
  unchanged.check();
  CHECK(!std::filesystem::exists(in.dir / "t.jsonl"));
  CHECK(!std::filesystem::exists(in.dir / "r.svg"));
}

TEST_CASE("bad inputs: forged checkpoints and environment, whatever their checksum", "[bad_inputs]") {
  Inputs in;
  const Unchanged unchanged({in.checkpoint, in.weights});
  auto forged = [&](const std::string& name, const std::function<void(std::map<std::string, std::string>&)>& edit) {
    return in.edited(in.checkpoint, name, [&](std::map<std::string, netc::SafeTensor>& t,
                                              std::map<std::string, std::string>& m) {
      edit(m);
      m["checksum"] = netc::checkpoint_checksum(m, t);
    });
  };
  // The generator's words zeroed, its header (format .. epoch) and position kept.
  auto zero_generator = [](const std::string& order) {
    std::istringstream in(order);
    std::vector<std::string> fields{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
    std::string text;
    for (size_t k = 0; k < fields.size(); ++k)
      text += (k ? " " : "") + (k < 6 || k + 1 == fields.size() ? fields[k] : std::string("0"));
    return text;
  };
  const std::vector<Case> table = {
      {"a checkpoint whose generator is forged to zeros",
       in.train(in.graph, {"--resume", forged("zeros.ckpt", [&](auto& m) { m["batch_order"] = zero_generator(m["batch_order"]); })}),
       "zeros.ckpt: metadata 'batch_order': the saved batch order's generator state yields only zeros"},
      {"a checkpoint whose step is past its batch order",
       in.train(in.graph, {"--resume", forged("step.ckpt", [](auto& m) { m["step"] = "3"; })}),
       "step.ckpt: metadata 'batch_order': the saved batch order is at epoch 0, but 3 batches of 100 from 200"},
      {"a checkpoint of step -2", in.train(in.graph, {"--resume", forged("negative.ckpt", [](auto& m) { m["step"] = "-2"; })}),
       "negative.ckpt: metadata 'step' is -2"},
      {"a checkpoint of the older format", in.train(in.graph, {"--resume", forged("v1.ckpt", [](auto& m) {
                                                              m["netc_checkpoint"] = "netc-checkpoint/1";
                                                            })}),
       "a checkpoint of format 'netc-checkpoint/1'; this netc reads 'netc-checkpoint/3' and 'netc-checkpoint/2'"},
  };
  check_table(in, table);

  setenv("NETC_HOST_TARGET", "a-b-c", 1);
  check_table(in, {{"NETC_HOST_TARGET=a-b-c", in.train(in.graph), "NETC_HOST_TARGET=a-b-c: a target for a-b-c"},
                   {"NETC_HOST_TARGET=a-b-c (eval)", in.eval(in.graph), "NETC_HOST_TARGET=a-b-c"},
                   {"NETC_HOST_TARGET=a-b-c (compile)", {"compile", in.graph, "-o", in.dir / "out"},
                    "NETC_HOST_TARGET=a-b-c"}});
  unsetenv("NETC_HOST_TARGET");
  unchanged.check();
}

TEST_CASE("a compile that cannot write its files fails with a message, not a signal, and leaves no staging folder",
          "[bad_inputs]") {
  // A file-size limit stands in for a full disk: the compiler's writes fail
  // the same way, and LLVM aborts the process it compiles in.
  Inputs in;
  TempDir cache;
  ScopedEnv cold_cache("NETC_CACHE_DIR", cache.path().c_str());
  constexpr uint64_t kFileSizeLimit = 64 << 10;  // below a compiled model library
  Outcome o = run_netc(in.train(in.graph), in.dir.path(), 0, kFileSizeLimit);
  INFO(o.err);
  CHECK(o.signal == 0);
  CHECK(o.exit_code == 1);
  CHECK_THAT(o.err, Contains("netc: error: compiling feedforward") && Contains("disk"));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cache.path())) {
    INFO(entry.path());
    CHECK(entry.path().string().find(".staging.") == std::string::npos);
  }
  o = run_netc(in.train(in.graph), in.dir.path());
  INFO(o.err);
  CHECK(o.exit_code == 0);
}

namespace {

// A small valid ONNX model: Conv (weight w, 4 x 1 x 3 x 3) + Flatten on a 1 x 8 x 8 input.
onnx::ModelProto small_onnx_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto& g = *m.mutable_graph();
  auto* in = g.add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 1, 8, 8}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  onnx::TensorProto& w = *g.add_initializer();
  w.set_name("conv.weight");
  w.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {4, 1, 3, 3}) w.add_dims(d);
  for (int k = 0; k < 36; ++k) w.add_float_data(0.1f);
  onnx::NodeProto& conv = *g.add_node();
  conv.set_name("conv");
  conv.set_op_type("Conv");
  conv.add_input("x");
  conv.add_input("conv.weight");
  conv.add_output("c");
  onnx::NodeProto& flat = *g.add_node();
  flat.set_name("flat");
  flat.set_op_type("Flatten");
  flat.add_input("c");
  flat.add_output("y");
  g.add_output()->set_name("y");
  return m;
}

std::string bytes_of(const onnx::ModelProto& m) { return m.SerializeAsString(); }

}  // namespace

TEST_CASE("bad inputs: ONNX models for import and onnx-test, and export's flags", "[bad_inputs]") {
  Inputs in;
  const onnx::ModelProto good = small_onnx_model();
  const std::string good_bytes = bytes_of(good);
  auto model = [&](const std::string& name, const std::function<void(onnx::ModelProto&)>& edit) {
    onnx::ModelProto m = good;
    edit(m);
    return in.file(name, bytes_of(m));
  };
  auto import = [&](const std::string& path) {
    return std::vector<std::string>{"import", path, "-o", in.dir / "imported.yaml"};
  };
  // A node test folder whose model is `path`'s, with a tensor file as given.
  auto node_test = [&](const std::string& name, const std::string& model_path, const std::string& input) {
    const std::string folder = in.dir / name;
    std::filesystem::create_directories(folder + "/test_data_set_0");
    std::filesystem::copy_file(model_path, folder + "/model.onnx");
    write_bytes(folder + "/test_data_set_0/input_0.pb", input);
    write_bytes(folder + "/test_data_set_0/output_0.pb", input);
    return folder;
  };

  const std::string truncated = in.file("truncated.onnx", good_bytes.substr(0, good_bytes.size() / 2));
  const std::string huge_dims = model("huge_dims.onnx", [](onnx::ModelProto& m) {
    onnx::TensorProto& w = *m.mutable_graph()->mutable_initializer(0);
    w.clear_float_data();
    w.set_dims(0, int64_t(1) << 40);
  });
  const std::string huge_count = model("huge_count.onnx", [](onnx::ModelProto& m) {
    onnx::TensorProto& w = *m.mutable_graph()->mutable_initializer(0);
    w.clear_float_data();
    for (int k = 0; k < 4; ++k) w.set_dims(k, 65536);
  });
  const std::string lying_data = model("lying_data.onnx", [](onnx::ModelProto& m) {
    onnx::TensorProto& w = *m.mutable_graph()->mutable_initializer(0);
    w.clear_float_data();
    w.set_raw_data(std::string(8, '\0'));
  });
  const std::string int_weight = model("int_weight.onnx", [](onnx::ModelProto& m) {
    onnx::TensorProto& w = *m.mutable_graph()->mutable_initializer(0);
    w.clear_float_data();
    w.set_data_type(onnx::TensorProto::STRING);
  });
  const std::string wrong_attr_type = model("wrong_attr_type.onnx", [](onnx::ModelProto& m) {
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("kernel_shape");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(3);
  });
  const std::string missing_init = model("missing_initializer.onnx", [](onnx::ModelProto& m) {
    m.mutable_graph()->clear_initializer();
  });
  const std::string cycle = model("cycle.onnx", [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(0)->set_input(0, "y");  // conv reads flat's output, which reads conv's
  });
  const std::string dilated = model("dilated.onnx", [](onnx::ModelProto& m) {
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("dilations");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(2);
    a->add_ints(2);
  });
  // The model's names reach messages escaped: one line whatever they hold.
  const std::string newline_name = model("newline_name.onnx", [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_node(0)->set_name("con\nv");
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("group");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(2);
  });
  // A convolution on [N, C, L] (a 1-D window) given a 2-D kernel_shape.
  const std::string window_rank = model("window_rank.onnx", [](onnx::ModelProto& m) {
    auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->mutable_dim()->RemoveLast();
    onnx::TensorProto& w = *m.mutable_graph()->mutable_initializer(0);
    w.mutable_dims()->RemoveLast();
    w.mutable_float_data()->Truncate(12);
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("kernel_shape");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(3);
    a->add_ints(3);
  });
  const std::string huge_input = model("huge_input.onnx", [](onnx::ModelProto& m) {
    auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->mutable_dim(2)->set_dim_value(int64_t(1) << 40);
  });
  // Attributes holding graphs holding nodes with attributes..., 200 deep.
  onnx::ModelProto deep = good;
  onnx::AttributeProto* a = deep.mutable_graph()->mutable_node(0)->add_attribute();
  for (int k = 0; k < 200; ++k) {
    a->set_name("body");
    a->set_type(onnx::AttributeProto::GRAPH);
    a = a->mutable_g()->add_node()->add_attribute();
  }
  const std::string nested = in.file("nested.onnx", bytes_of(deep));
  const std::string weights_graph = in.file("conv.yaml", "name: conv\ninput: {channels: 1, height: 8, width: 8}\n"
                                                         "layers:\n  - {name: c, op: conv2d, out_channels: 4, kernel_size: 3}\n"
                                                         "  - {name: f, op: flatten}\n");

  const std::vector<Case> table = {
      {"import: a missing file", import(in.dir / "absent.onnx"), "absent.onnx"},
      {"import: a truncated model", import(truncated), "truncated.onnx: not an ONNX model"},
      {"import: a graph file instead of a model", import(in.graph), "not an ONNX model"},
      {"import: a dimension of 2^40", import(huge_dims), "dimension 1099511627776 is outside"},
      {"import: a weight of 2^64 values", import(huge_count), "above netc's limit"},
      {"import: raw data shorter than the dimensions", import(lying_data), "holds 36 values but raw_data has 8 bytes"},
      {"import: a string tensor", import(int_weight), "data type STRING"},
      {"import: an attribute of the wrong type", import(wrong_attr_type), "attribute kernel_shape is a FLOAT"},
      {"import: a missing initializer", import(missing_init), "input 'conv.weight' is made by no earlier node"},
      {"import: a cycle", import(cycle), "input 'y' is made by no earlier node"},
      {"import: an input of 2^40 rows", import(huge_input), "outside 1 to"},
      {"import: a dilated convolution", import(dilated), "node 'conv' (Conv): attribute dilations"},
      {"import: a node name holding a newline", import(newline_name), "node 'con\\x0av' (Conv): attribute group"},
      {"import: a 1-D window of two sizes", import(window_rank), "kernel_shape [3, 3] for a 1-D window"},
      {"import: 200 nested graphs", import(nested), "nested.onnx: not an ONNX model"},
      {"import: -o is the model", {"import", truncated, "-o", truncated}, "-o"},
      {"onnx-test: a folder without models", {"onnx-test", in.dir / "data"}, "holds no model.onnx"},
      {"onnx-test: a missing folder", {"onnx-test", in.dir / "absent"}, "is not a folder"},
      {"export: --opset 12", {"export", weights_graph, "--weights", in.weights, "-o", in.dir / "m.onnx", "--opset", "12"},
       "--opset"},
      {"export: weights of another graph", {"export", weights_graph, "--weights", in.weights, "-o", in.dir / "m.onnx"},
       "has no tensor 'c.weight'"},
  };
  check_table(in, table);

  // In onnx-test, a bad test is a "fail" line and exit code 1, never a crash.
  for (const std::string& folder : {node_test("bad_tensor", in.file("ok.onnx", good_bytes), "\x0a\x05"),
                                    node_test("bad_model", truncated, "")}) {
    Outcome o = run_netc({"onnx-test", folder}, in.dir.path(), kMemoryLimit);
    INFO(o.out << o.err);
    CHECK(o.signal == 0);
    CHECK(o.exit_code == 1);
    CHECK_THAT(o.out, Contains("\"status\":\"fail\""));
  }
}
