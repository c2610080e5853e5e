// Targets and the compile cache as a user meets them: netc runs cached
// pipelines without loading its compiler (or libHalide), and --target cuda
// on a machine without a GPU fails with a clear message.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "idx.h"

namespace {

struct Result {
  int code = -1;  // the exit status; -1 when killed by a signal
  std::string out, err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// A scratch folder with a tiny data set (8 x 8 images) and a graph for it.
class Scratch {
 public:
  Scratch() {
    char pattern[] = "/tmp/netc_targets_XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ + "/data");
    write_set("train", 64);
    write_set("t10k", 16);
    write_graph("tiny.yaml", 0.1);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void write_graph(const std::string& name, double lr) const {
    std::ofstream(path(name)) << "name: tiny\n"
                                 "input: {channels: 1, height: 8, width: 8}\n"
                                 "layers:\n"
                                 "  - {name: flat, op: flatten}\n"
                                 "  - {name: fc, op: linear, out_features: 10}\n"
                                 "loss: cross_entropy\n"
                                 "train: {batch_size: 16, iterations: 2, eval_every: 0,\n"
                                 "        optimizer: {type: sgd, lr: "
                              << lr << "}}\n";
  }

  // netc args... with `env` (NAME=value ...) before it, in a cache of this
  // folder; `binary` is the netc program to run.
  Result netc(const std::vector<std::string>& args, const std::string& env = "",
              const std::string& binary = NETC_BINARY) const {
    std::string command = "NETC_CACHE_DIR=" + shell_quote(path("cache")) + " " + env + " " + shell_quote(binary);
    for (const std::string& a : args) command += " " + shell_quote(a);
    int status = std::system((command + " >" + path("stdout") + " 2>" + path("stderr")).c_str());
    Result r;
    if (WIFEXITED(status) && WEXITSTATUS(status) < 128) r.code = WEXITSTATUS(status);
    r.out = read_text(path("stdout"));
    r.err = read_text(path("stderr"));
    return r;
  }

  std::vector<std::string> train_args(const std::string& graph = "tiny.yaml") const {
    return {"train", path(graph), "--data", path("data")};
  }

 private:
  void write_set(const std::string& prefix, int count) const {
    netc::IdxImages images;
    images.count = count;
    images.rows = images.cols = 8;
    std::vector<uint8_t> labels;
    for (int i = 0; i < count; ++i) {
      labels.push_back(uint8_t(i % 10));
      for (int p = 0; p < 64; ++p) images.pixels.push_back(uint8_t((i * 37 + p * 11) % 256));
    }
    netc::write_idx_images(dir_ + "/data/" + prefix + "-images-idx3-ubyte", images, false);
    netc::write_idx_labels(dir_ + "/data/" + prefix + "-labels-idx1-ubyte", labels, false);
  }

  std::string dir_;
};

bool mentions(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

}  // namespace

// The front end (yaml-cpp) is linked in; the compiler (libHalide, LLVM) is not.
TEST_CASE("cli: netc does not link libHalide or LLVM") {
  Scratch s;
  std::system(("ldd " + shell_quote(NETC_BINARY) + " >" + s.path("ldd") + " 2>&1").c_str());
  std::string libraries = read_text(s.path("ldd"));
  REQUIRE(mentions(libraries, "libc.so"));
  CHECK_FALSE(mentions(libraries, "Halide"));
  CHECK_FALSE(mentions(libraries, "LLVM"));
}

TEST_CASE("cli: cached pipelines run without loading the compiler") {
  Scratch s;
  // LD_DEBUG=libs: the dynamic loader names every library it loads, dlopen'ed ones too.
  Result first = s.netc(s.train_args(), "LD_DEBUG=libs");
  REQUIRE(first.code == 0);
  CHECK(mentions(first.err, "libnetc_compiler.so"));
  CHECK(mentions(first.err, "libHalide"));

  Result again = s.netc(s.train_args(), "LD_DEBUG=libs");
  REQUIRE(again.code == 0);
  CHECK(mentions(again.err, "/model.so"));
  CHECK_FALSE(mentions(again.err, "libnetc_compiler.so"));
  CHECK_FALSE(mentions(again.err, "libHalide"));
  CHECK(again.out.substr(0, again.out.find(';')) == first.out.substr(0, first.out.find(';')));  // not the timing
}

TEST_CASE("cli: a cache folder's name is never run as a command") {
  Scratch s;
  const std::string cache = s.path("c'; touch " + s.path("pwned") + "; echo '");
  Result r = s.netc(s.train_args(), "NETC_CACHE_DIR=" + shell_quote(cache));
  CHECK(r.code == 0);
  CHECK(std::filesystem::is_directory(cache + "/models"));
  CHECK_FALSE(std::filesystem::exists(s.path("pwned")));
}

TEST_CASE("cli: a new train section compiles nothing") {
  Scratch s;
  REQUIRE(s.netc(s.train_args()).code == 0);
  s.write_graph("tiny.yaml", 0.05);
  Result r = s.netc(s.train_args());
  REQUIRE(r.code == 0);
  CHECK_FALSE(mentions(r.err, "netc: compiling"));
  CHECK(mentions(r.err, "lr 0.05"));
}

// netc copied to <scratch>/bin, where ../lib/libnetc_compiler.so does not exist.
TEST_CASE("cli: graph and schedule files are read and checked without the compiler library") {
  Scratch s;
  std::filesystem::create_directories(s.path("bin"));
  std::filesystem::copy_file(NETC_BINARY, s.path("bin/netc"));
  const std::string netc = s.path("bin/netc");
  const std::string tiny = s.path("tiny.yaml");

  Result summary = s.netc({"summary", tiny}, "", netc);
  CHECK(summary.code == 0);
  CHECK(mentions(summary.out, "total"));

  std::ofstream(s.path("bad.yaml")) << "name: bad\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n"
                                       "  - {name: fc, op: linear, out_features: 10}\n";
  for (const std::string command : {"summary", "train", "compile"}) {
    std::vector<std::string> args = {command, s.path("bad.yaml")};
    if (command == "compile") args.insert(args.end(), {"-o", s.path("out")});
    Result r = s.netc(args, "", netc);
    CHECK(r.code == 2);
    CHECK(mentions(r.err, "netc: error: " + s.path("bad.yaml") + ":4:5: layer 'fc': linear needs a flat input"));
  }

  std::ofstream(s.path("bad-schedule.yaml")) << "target: host\nstages: {'*': {recipe: no_such_recipe}}\n";
  for (std::vector<std::string> args : {s.train_args(), {"compile", tiny, "-o", s.path("out")}}) {
    args.insert(args.end(), {"--schedule", s.path("bad-schedule.yaml")});
    Result r = s.netc(args, "", netc);
    CHECK(r.code == 2);
    CHECK(mentions(r.err, "netc: error: " + s.path("bad-schedule.yaml") + ":2:"));
  }

  // What needs compiling says why it cannot be.
  Result train = s.netc(s.train_args(), "", netc);
  CHECK(train.code == 1);
  CHECK(mentions(train.err, "compiler library is missing"));
}

TEST_CASE("cli: --target cuda without a GPU fails with exit 1 and says why, before compiling") {
  if (void* driver = dlopen("libcuda.so.1", RTLD_NOW)) {
    dlclose(driver);
    WARN("this machine has a CUDA driver: the no-GPU message cannot be checked here");
    return;
  }
  Scratch s;
  const std::vector<std::string> eval = {"eval", s.path("tiny.yaml"), "--weights", s.path("none"), "--data",
                                         s.path("data")};
  const std::vector<std::string> bench = {"bench", s.path("tiny.yaml"), "--steps", "1"};
  for (std::vector<std::string> args : {s.train_args(), eval, bench}) {
    args.push_back("--target");
    args.push_back("cuda");
    Result r = s.netc(args);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("netc: error: --target cuda needs an NVIDIA GPU and its driver, and this "
                                      "machine has no CUDA driver"));
    CHECK_FALSE(mentions(r.err, "netc: compiling"));
  }
  CHECK_FALSE(std::filesystem::exists(s.path("cache/models")));
}

TEST_CASE("cli: an HL_GPU_DEVICE that is no GPU number is bad input, before any driver is looked for") {
  Scratch s;
  for (const char* value : {"abc", "-1", "1x", "99999999999999999999"}) {
    std::vector<std::string> args = s.train_args();
    args.push_back("--target");
    args.push_back("cuda");
    Result r = s.netc(args, "HL_GPU_DEVICE=" + shell_quote(value));
    INFO("HL_GPU_DEVICE=" << value);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("netc: error: HL_GPU_DEVICE must be a GPU number"));
    CHECK_FALSE(mentions(r.err, "netc: compiling"));
  }
}

TEST_CASE("cli: labels, weights, the validation split and outputs are checked before compiling") {
  Scratch s;
  // Five classes, and labels up to 9.
  std::string text = read_text(s.path("tiny.yaml"));
  text.replace(text.find("out_features: 10"), 16, "out_features: 5");
  std::ofstream(s.path("five.yaml")) << text;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {s.train_args("five.yaml"), "label 5 (of item 5) is out of range"},
      {{"eval", s.path("five.yaml"), "--weights", s.path("none"), "--data", s.path("data")}, "cannot read"},
      {{"eval", s.path("tiny.yaml"), "--weights", s.path("tiny.yaml"), "--data", s.path("data")}, "tiny.yaml"},
      {{"train", s.path("tiny.yaml"), "--data", s.path("data"), "--save", s.path("missing/w.safetensors")},
       "there is no folder"},
      {{"predict", s.path("tiny.yaml"), "--weights", s.path("none"), s.path("tiny.yaml")}, "cannot read"},
      {{"train", s.path("tiny.yaml"), "--data", s.path("data"), "--init", s.path("tiny.yaml")}, "tiny.yaml"},
      {{"train", s.path("tiny.yaml"), "--data", s.path("data"), "--validation", "1000000"}, "--validation is 1000000"},
  };
  for (const auto& [args, message] : cases) {
    Result r = s.netc(args);
    INFO(args[0] << " " << message << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK(mentions(r.err, message));
    CHECK_FALSE(mentions(r.err, "netc: compiling"));
  }
  CHECK_FALSE(std::filesystem::exists(s.path("cache/models")));
}

TEST_CASE("cli: netc tune refuses --target cuda with exit 1, before compiling") {
  Scratch s;
  Result r = s.netc({"tune", s.path("tiny.yaml"), "--target", "cuda"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("netc: error: netc tune searches host schedules only, not cuda yet"));
  CHECK_FALSE(mentions(r.err, "netc: compiling"));
}

TEST_CASE("cli: NETC_HOST_TARGET naming a CPU feature this machine lacks is bad input") {
  Scratch s;
  Result r = s.netc(s.train_args(), "NETC_HOST_TARGET=x86-64-linux-avx512_knl");
  if (r.code == 0) {
    WARN("this CPU has AVX-512 KNL");
    return;
  }
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("NETC_HOST_TARGET=x86-64-linux-avx512_knl: this CPU has no avx512_knl"));
}
