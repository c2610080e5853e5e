// netc predict: images written from the synthetic test set, as PGM and PNG,
// are classified as netc eval classifies that set; other sizes, RGB, and
// inverted images are converted as docs/cli.md says.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "netc_process.h"
#include "safetensors.h"
#include "synthetic_mnist.h"
#include "test_images.h"

using namespace netc::test;
using Catch::Matchers::Contains;

namespace {

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

Outcome netc_ok(const std::vector<std::string>& args, const std::string& dir) {
  Outcome o = run_netc(args, dir);
  INFO(o.err);
  REQUIRE(o.exit_code == 0);
  return o;
}

// A copy of image `k` of `images`, each pixel repeated `scale` x `scale` times.
std::vector<uint8_t> image(const netc::IdxImages& images, int64_t k, int scale = 1) {
  const int64_t size = images.rows * images.cols;
  std::vector<uint8_t> out;
  for (int64_t y = 0; y < images.rows * scale; ++y)
    for (int64_t x = 0; x < images.cols * scale; ++x)
      out.push_back(images.pixels[size_t(k * size + (y / scale) * images.cols + x / scale)]);
  return out;
}

}  // namespace

TEST_CASE("predict: the test set as PGM and PNG images agrees with netc eval", "[predict]") {
  TempDir dir;
  std::filesystem::create_directory(dir / "data");
  write_synthetic_mnist(dir / "data", 200, 50);
  const std::string graph = graph_file("feedforward"), weights = dir / "w.safetensors";
  netc_ok({"train", graph, "--data", dir / "data", "--iterations", "10", "--threads", "1", "--save", weights},
          dir.path());
  const nlohmann::json eval = nlohmann::json::parse(
      netc_ok({"eval", graph, "--weights", weights, "--data", dir / "data", "--threads", "1", "--json"}, dir.path()).out);

  const netc::IdxImages test = netc::read_idx_images(dir / "data/t10k-images-idx3-ubyte");
  const std::vector<uint8_t> labels = netc::read_idx_labels(dir / "data/t10k-labels-idx1-ubyte", 10);
  std::vector<std::string> args = {"predict", graph, "--weights", weights, "--threads", "1", "--json"};
  for (int64_t k = 0; k < test.count; ++k) {
    const std::string path = dir / ("image" + std::to_string(k) + (k % 3 == 2 ? ".png" : ".pgm"));
    if (k % 3 == 2)
      write_png(path, image(test, k), 28, 28, 1);
    else
      write_pgm(path, image(test, k), 28, 28, k % 3 == 1);
    args.push_back(path);
  }
  const std::vector<nlohmann::json> predictions = json_lines(netc_ok(args, dir.path()).out);
  REQUIRE(predictions.size() == size_t(test.count));
  int64_t correct = 0;
  double loss = 0;
  for (size_t k = 0; k < predictions.size(); ++k) {
    const nlohmann::json& p = predictions[k];
    CHECK(p["image"] == args[7 + k]);
    const std::vector<double> probabilities = p["probabilities"];
    REQUIRE(probabilities.size() == 10);
    CHECK(std::abs(std::accumulate(probabilities.begin(), probabilities.end(), 0.0) - 1) < 1e-9);
    const int best = p["class"];
    CHECK(probabilities[size_t(best)] == *std::max_element(probabilities.begin(), probabilities.end()));
    REQUIRE(p["top"].size() == 3);
    CHECK(p["top"][0]["class"] == best);
    correct += best == labels[k];
    loss -= std::log(probabilities[labels[k]]);
  }
  CHECK(100.0 * double(correct) / double(test.count) == Approx(eval["test_accuracy"].get<double>()).epsilon(1e-12));
  CHECK(loss / double(test.count) == Approx(eval["test_loss"].get<double>()).epsilon(1e-5));

  // Text: the class, then the top probabilities.
  const Outcome text = netc_ok({"predict", graph, "--weights", weights, args[7], "--top", "2"}, dir.path());
  const int first = predictions[0]["class"];
  CHECK_THAT(text.out, Catch::StartsWith(args[7] + ": " + std::to_string(first) + " (" + std::to_string(first) + ": "));
  CHECK(std::count(text.out.begin(), text.out.end(), '%') == 2);

  // Twice the size (each pixel 2 x 2): area resampling gives the same input back.
  const std::string big = dir / "big.png", dark = dir / "dark.pgm", rgb = dir / "rgb.png";
  write_png(big, image(test, 0, 2), 56, 56, 1);
  // Dark on light, for --invert.
  std::vector<uint8_t> inverted = image(test, 0);
  for (uint8_t& p : inverted) p = uint8_t(255 - p);
  write_pgm(dark, inverted, 28, 28);
  // Gray as RGB: the luma of R = G = B is the gray value.
  std::vector<uint8_t> samples;
  for (uint8_t p : image(test, 0)) samples.insert(samples.end(), {p, p, p});
  write_png(rgb, samples, 28, 28, 3);
  for (const std::vector<std::string>& variant :
       {std::vector<std::string>{big}, {dark, "--invert"}, {rgb}}) {
    std::vector<std::string> a = {"predict", graph, "--weights", weights, "--json"};
    a.insert(a.end(), variant.begin(), variant.end());
    const nlohmann::json p = json_lines(netc_ok(a, dir.path()).out).at(0);
    INFO(variant[0]);
    const std::vector<double> expected = predictions[0]["probabilities"], got = p["probabilities"];
    for (size_t c = 0; c < 10; ++c) CHECK(got[c] == Approx(expected[c]).margin(1e-6));
  }
}

TEST_CASE("predict: a graph of three channels gets RGB, in that order", "[predict]") {
  TempDir dir;
  const std::string graph = dir / "rgb.yaml", weights = dir / "rgb.safetensors";
  write_bytes(graph,
              "name: rgb_probe\n"
              "input: {channels: 3, height: 4, width: 4}\n"
              "layers:\n"
              "  - {name: flatten, op: flatten}\n"
              "  - {name: fc, op: linear, out_features: 4}\n"
              "loss: cross_entropy\n"
              "train: {batch_size: 2}\n");
  // Class c sums channel c (class 3 sees nothing): the brightest channel wins.
  std::vector<float> w(4 * 48, 0.f);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 16; ++p) w[size_t(c * 48 + c * 16 + p)] = 1.f;
  netc::write_safetensors(weights, {{"fc.weight", {{4, 48}, w}}, {"fc.bias", {{4}, std::vector<float>(4, 0.f)}}}, {});
  std::vector<std::string> args = {"predict", graph, "--weights", weights, "--json"};
  for (int c = 0; c < 3; ++c) {
    std::vector<uint8_t> samples;
    for (int p = 0; p < 6 * 5; ++p)  // another size than the graph's
      for (int k = 0; k < 3; ++k) samples.push_back(k == c ? 200 : 10);
    args.push_back(dir / ("channel" + std::to_string(c) + ".png"));
    write_png(args.back(), samples, 6, 5, 3);
  }
  const std::vector<nlohmann::json> p = json_lines(netc_ok(args, dir.path()).out);
  REQUIRE(p.size() == 3);
  for (int c = 0; c < 3; ++c) CHECK(p[size_t(c)]["class"] == c);
}
