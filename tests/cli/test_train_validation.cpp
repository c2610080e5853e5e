// netc train's validation set and augmentation through the command line:
// the metrics records and the progress line, --save-best, and a run with
// augmentation killed and resumed ending bit-identical to one that ran
// straight through (best parameters included).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "netc_process.h"
#include "safetensors.h"
#include "synthetic_mnist.h"

using namespace netc::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// The records of a metrics file.
std::vector<json> records(const std::string& path) {
  std::istringstream in(read_bytes(path));
  std::vector<json> all;
  for (std::string line; std::getline(in, line);) all.push_back(json::parse(line));
  return all;
}

// Those that have `key`.
std::vector<json> with_key(const std::vector<json>& all, const std::string& key) {
  std::vector<json> found;
  for (const json& r : all)
    if (r.contains(key)) found.push_back(r);
  return found;
}

// graphs/NAME.yaml with `lines` added to its train section.
std::string graph_with(const TempDir& dir, const std::string& name, const std::string& lines) {
  std::string text = read_bytes(graph_file(name));
  const size_t at = text.find("  optimizer:");
  REQUIRE(at != std::string::npos);
  const std::string path = dir / (name + "_edited.yaml");
  write_bytes(path, text.insert(at, lines));
  return path;
}

}  // namespace

TEST_CASE("train: a validation set is evaluated with the test set, and --save-best keeps the best", "[validation]") {
  TempDir dir;
  std::filesystem::create_directory(dir / "data");
  write_synthetic_mnist(dir / "data", 400, 100);
  // The validation set (the last 80 training images) as a test set, for netc eval.
  std::filesystem::create_directory(dir / "held_out");
  {
    netc::IdxImages images = netc::read_idx_images(dir / "data/train-images-idx3-ubyte");
    std::vector<uint8_t> labels = netc::read_idx_labels(dir / "data/train-labels-idx1-ubyte", 10);
    images.pixels.erase(images.pixels.begin(), images.pixels.begin() + 320 * 28 * 28);
    images.count = 80;
    labels.erase(labels.begin(), labels.begin() + 320);
    netc::write_idx_images(dir / "held_out/t10k-images-idx3-ubyte", images, false);
    netc::write_idx_labels(dir / "held_out/t10k-labels-idx1-ubyte", labels, false);
    std::filesystem::copy_file(dir / "data/train-images-idx3-ubyte", dir / "held_out/train-images-idx3-ubyte");
    std::filesystem::copy_file(dir / "data/train-labels-idx1-ubyte", dir / "held_out/train-labels-idx1-ubyte");
  }
  const std::string graph = graph_with(dir, "feedforward", "  validation: 80\n");
  const std::vector<std::string> common = {"train",        graph,  "--data",      dir / "data", "--iterations", "60",
                                           "--batch-size", "32",   "--eval-every", "15",        "--threads",     "2",
                                           "--lr",         "0.05", "--seed",      "1"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = common;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  Outcome o = run_netc(with({"--metrics", dir / "m.jsonl", "--save-best", dir / "best.safetensors"}), dir.path());
  INFO(o.err);
  REQUIRE(o.exit_code == 0);

  const std::vector<json> all = records(dir / "m.jsonl");
  const std::vector<json> validations = with_key(all, "val_accuracy"), tests = with_key(all, "test_accuracy");
  REQUIRE(validations.size() == 4);  // steps 15, 30, 45, 60
  REQUIRE(tests.size() == 4);
  json best;
  for (size_t k = 0; k < validations.size(); ++k) {
    const json& v = validations[k];
    CHECK(v.size() == 3);
    CHECK(v.at("iter") == 15 * int(k + 1));
    CHECK(tests[k].at("iter") == v.at("iter"));
    CHECK(v.at("val_loss").get<double>() > 0);
    // Accuracies of 80 images: multiples of 1.25%.
    const double correct = v.at("val_accuracy").get<double>() * 80 / 100;
    CHECK(std::abs(correct - std::round(correct)) < 1e-9);
    if (best.is_null() || v.at("val_accuracy") > best.at("val_accuracy")) best = v;
    // Each validation record follows its step's test record.
    CHECK(std::find(all.begin(), all.end(), v) - std::find(all.begin(), all.end(), tests[k]) == 1);
  }
  CHECK_THAT(o.err, Contains("step 15: test loss ") && Contains("(100 images); validation loss ") &&
                        Contains("validation accuracy ") && Contains("% (80 images)"));
  CHECK_THAT(o.err, Contains("netc: best validation accuracy ") &&
                        Contains("its parameters in " + dir / "best.safetensors"));

  // The best file holds the parameters of the first evaluation with the best
  // validation accuracy: evaluated on those images, they give its numbers.
  Outcome e = run_netc({"eval", graph, "--weights", dir / "best.safetensors", "--data", dir / "held_out",
                        "--batch-size", "32", "--threads", "2", "--json"},
                       dir.path());
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  const json result = json::parse(e.out);
  CHECK(result.at("images") == 80);
  CHECK(result.at("test_accuracy").get<double>() == best.at("val_accuracy").get<double>());
  CHECK(result.at("test_loss").get<double>() == Approx(best.at("val_loss").get<double>()).epsilon(1e-12));

  // --validation overrides the file: 0 is none, and no val records.
  o = run_netc(with({"--metrics", dir / "none.jsonl", "--validation", "0"}), dir.path());
  REQUIRE(o.exit_code == 0);
  CHECK(with_key(records(dir / "none.jsonl"), "val_loss").empty());
  CHECK(with_key(records(dir / "none.jsonl"), "test_loss").size() == 4);
  CHECK(o.err.find("validation") == std::string::npos);
}

TEST_CASE("train: with augmentation and a validation set, a killed and resumed run ends bit-identical",
          "[validation][checkpoint]") {
  TempDir dir;
  std::filesystem::create_directory(dir / "data");
  write_synthetic_mnist(dir / "data", 600, 100);
  // Model C as the checkpoint tests train it (the same compiled pipelines),
  // 88 images held out (512 left to shuffle), shifts of up to 2 pixels.
  const std::string augmented = graph_with(dir, "model_c", "  validation: 88\n  augment: {shift: 2}\n");
  auto args = [&](const std::string& graph, const std::string& name, std::vector<std::string> more,
                  const std::string& iterations = "200") {
    std::vector<std::string> a = {"train",       graph,       "--data",      dir / "data",
                                  "--iterations", iterations,  "--batch-size", "32",
                                  "--lr",        "0.02",      "--momentum",  "0.9",
                                  "--seed",      "3",         "--threads",   "2",
                                  "--eval-every", "50",        "--save",      dir / (name + ".safetensors"),
                                  "--metrics",   dir / (name + ".jsonl"), "--save-best", dir / (name + ".best")};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  Outcome o = run_netc(args(augmented, "reference", {}), dir.path());
  INFO(o.err);
  REQUIRE(o.exit_code == 0);

  const std::string checkpoint = dir / "run.ckpt";
  const std::vector<std::string> every_25 = {"--checkpoint", checkpoint, "--checkpoint-every", "25"};
  {
    NetcProcess p(args(augmented, "run", every_25), dir.path());
    REQUIRE(p.wait_until([&] { return std::filesystem::exists(checkpoint); }));
    p.send(SIGKILL);
    REQUIRE(p.wait().signal == SIGKILL);
  }
  std::map<std::string, std::string> metadata;
  netc::read_safetensors(checkpoint, &metadata);
  const int64_t step = std::stoll(metadata.at("step"));
  CHECK(step < 200);
  CHECK_THAT(metadata.at("validation_augment"), Contains("\"validation\":88") && Contains("\"shift\":2"));
  std::vector<std::string> resume = every_25;
  resume.insert(resume.end(), {"--resume", checkpoint});
  o = run_netc(args(augmented, "run", resume), dir.path());
  REQUIRE(o.exit_code == 0);
  CHECK(read_bytes(dir / "run.safetensors") == read_bytes(dir / "reference.safetensors"));
  CHECK(read_bytes(dir / "run.jsonl") == read_bytes(dir / "reference.jsonl"));
  CHECK(read_bytes(dir / "run.best") == read_bytes(dir / "reference.best"));

  // The shifts matter: without them, other losses from the first step on.
  const std::string unshifted = graph_with(dir, "model_c", "  validation: 88\n");
  REQUIRE(run_netc(args(unshifted, "unshifted", {}, "1"), dir.path()).exit_code == 0);
  CHECK(records(dir / "unshifted.jsonl").at(0) != records(dir / "reference.jsonl").at(0));
  // Nor does a run of other settings continue this checkpoint.
  o = run_netc(args(unshifted, "other", resume), dir.path());
  CHECK(o.exit_code == 2);
  CHECK_THAT(o.err, Contains("augment shift 2; this run has 0"));
}
