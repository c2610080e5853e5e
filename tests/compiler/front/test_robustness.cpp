// Random bytes and randomly mutated graph files: parse_graph must return a
// consistent graph or throw InputError located in the file; any other
// exception (or a crash) is a defect.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "front/loader.h"

namespace netc {
namespace {

std::string read_model(const std::string& name) {
  std::ifstream in(std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A DAG with every multi-input op, so that mutations reach them too.
const char* kDag = R"(name: dag
input: {channels: 2, height: 6, width: 6}
layers:
  - {name: a, op: conv2d, out_channels: 2, kernel_size: 3, padding: same}
  - {name: b, op: avgpool2d, kernel_size: 3, stride: 1, padding: 1, input: input}
  - {name: s, op: add, input: [a, b]}
  - {name: t, op: tanh}
  - {name: c, op: concat, input: [s, t, input]}
  - {name: p, op: maxpool2d, kernel_size: [2, 3], stride: [2, 1]}
  - {name: f, op: flatten}
  - {name: l, op: leaky_relu, negative_slope: 0.2}
  - {name: fc, op: linear, out_features: 3, bias: false}
output: fc
train: {batch_size: 4, optimizer: {lr: 0.1, momentum: 0.9, nesterov: true}}
)";

// Fragments that YAML and the graph format give meaning to.
// clang-format off
const std::vector<std::string> kTokens = {
    "{", "}", "[", "]", ":", ": ", ",", "-", "- ", "#", "&a ", "*a", "!", "!!str ", "|", ">", "'", "\"", "?",
    "%", "@", "`", "\t", "\n", "\n  ", "---\n", "...", "~", "null", "true", "0", "-1", "1.5", "1e999", ".nan",
    "99999999999999999999", "9223372036854775807", "4611686018427387904", "input", "same", "valid", "add",
    "concat", "conv2d", "linear", "flatten", "relu", "name", "op", "kernel_size", "padding", "stride",
    "out_features", "in_features", "output", "[1, 2]", "[0, 0]", "<<: *a", "\xff", std::string(1, '\0')};
// clang-format on

// One random edit of `text`.
void mutate(std::string& text, std::mt19937& rng) {
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  size_t at = text.empty() ? 0 : pick(text.size());
  switch (pick(6)) {
    case 0:  // replace a byte
      if (!text.empty()) text[at] = static_cast<char>(pick(256));
      break;
    case 1:  // delete a run
      text.erase(at, pick(8) + 1);
      break;
    case 2:  // insert a token
      text.insert(at, kTokens[pick(kTokens.size())]);
      break;
    case 3:  // replace a run with a token
      text.replace(at, pick(6) + 1, kTokens[pick(kTokens.size())]);
      break;
    case 4: {  // duplicate a line
      size_t start = text.rfind('\n', at);
      start = start == std::string::npos ? 0 : start + 1;
      size_t end = text.find('\n', at);
      end = end == std::string::npos ? text.size() : end + 1;
      text.insert(start, text.substr(start, end - start));
      break;
    }
    default:  // truncate
      text.resize(at);
  }
}

std::string random_bytes(std::mt19937& rng) {
  std::string text(std::uniform_int_distribution<size_t>(0, 200)(rng), '\0');
  // Half the cases from YAML's punctuation, so they get past the first token.
  const std::string yamlish = "{}[]:,-#&*!|>'\"? \n\tab01";
  bool structured = rng() % 2 == 0;
  for (char& ch : text) ch = structured ? yamlish[rng() % yamlish.size()] : static_cast<char>(rng() % 256);
  return text;
}

// Parses `text`; fails the test unless it gives a consistent graph or an
// InputError at FILE:LINE:COLUMN.
void check_parse(const std::string& text) {
  try {
    Graph g = parse_graph(text, "fuzz.yaml");
    for (const Layer& l : g.layers)
      if (l.output.c < 1 || l.output.h < 1 || l.output.w < 1)
        FAIL("layer " << l.name << " has shape " << l.output.str());
    if (g.param_count() < 0 || !g.layers[g.output].output.flat) FAIL("inconsistent graph from:\n" << text);
  } catch (const InputError& e) {
    int line = 0, column = 0;
    if (std::sscanf(e.what(), "fuzz.yaml:%d:%d: ", &line, &column) != 2 || line < 1 || column < 1)
      FAIL("badly located message '" << e.what() << "' for:\n" << text);
  } catch (const std::exception& e) {
    FAIL("unexpected exception '" << e.what() << "' for:\n" << text);
  }
}

TEST_CASE("robustness: random bytes") {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 2000; ++i) check_parse(random_bytes(rng));
}

TEST_CASE("robustness: randomly mutated graph files") {
  std::mt19937 rng(7);
  for (const std::string& original :
       {read_model("model_a"), read_model("model_b"), read_model("model_c"), std::string(kDag)}) {
    REQUIRE_NOTHROW(parse_graph(original, "fuzz.yaml"));
    for (int i = 0; i < 1000; ++i) {
      std::string text = original;
      for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0; --edits) mutate(text, rng);
      check_parse(text);
    }
  }
}

}  // namespace
}  // namespace netc
