// One malformed graph per validation rule: each must fail with an InputError
// "t.yaml:LINE:COLUMN: message" at the offending node.
#include <catch2/catch.hpp>

#include "front/loader.h"

namespace netc {
namespace {

struct Case {
  std::string yaml;
  std::string at;       // "LINE:COLUMN"
  std::string message;  // a substring of the message
};

// A valid graph with `layers` as its layer lines (from line 4) and `rest`
// after them (from line 4 + the number of layer lines).
std::string graph(const std::string& layers, const std::string& rest = "") {
  return "name: g\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + layers + rest;
}

// Two layer lines (4 and 5) that make a valid classifier.
const std::string kLayers = "  - {name: f, op: flatten}\n  - {name: fc, op: linear, out_features: 10}\n";

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("YAML:\n" << c.yaml.substr(0, 400));
    try {
      parse_graph(c.yaml, "t.yaml");
      FAIL_CHECK("no error; expected one at " << c.at << ": " << c.message);
    } catch (const InputError& e) {
      CHECK_THAT(e.what(), Catch::StartsWith("t.yaml:" + c.at + ": "));
      CHECK_THAT(e.what(), Catch::Contains(c.message));
    }
  }
}

TEST_CASE("the base graphs of the error cases are valid") {
  CHECK(parse_graph(graph(kLayers), "t.yaml").layers.size() == 2);
}

TEST_CASE("errors: the document and the top level") {
  check_cases({
      {"", "1:1", "the file is empty; expected a YAML map"},
      {"# only a comment\n", "1:1", "the file is empty"},
      {"- a\n", "1:1", "the top level must be a map with name, input and layers, got a list of 1 item"},
      {"just text", "1:1", "the top level must be a map with name, input and layers, got 'just text'"},
      {"name: g\ninput: {channels: 1, height: 8, width: 8}\n", "1:1",
       "missing key layers: a graph needs name, input and layers"},
      {"\n\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + kLayers, "3:1", "missing key name"},
      {"name: g\nlayers:\n" + kLayers, "1:1", "missing key input"},
      {graph(kLayers, "optimizer: {}\n"), "6:1",
       "unknown key 'optimizer'; expected one of name, description, input, layers, output, loss, train"},
      {graph(kLayers, "Name: g\n"), "6:1", "unknown key 'Name'"},
      {graph(kLayers, "name: h\n"), "6:1", "key 'name' is given twice (first on line 1)"},
      {"? [a, b]\n: 1\n", "1:3", "keys must be names, got a list of 2 items"},
      {"name: Model_A\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + kLayers, "1:7",
       "name must be a name matching [a-z][a-z0-9_]*, got 'Model_A'"},
      {"name: 1a\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + kLayers, "1:7", "got '1a'"},
      {"name: [a, b]\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + kLayers, "1:7",
       "name must be a string, got a list of 2 items"},
      {"name:\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n" + kLayers, "1:1",
       "name must be a string, got nothing"},
      {graph(kLayers, "description: {a: 1}\n"), "6:14", "description must be a string, got a map"},
      {graph(kLayers, "loss: mse\n"), "6:7", "loss must be cross_entropy, got 'mse'"},
      {graph(kLayers, "output: nope\n"), "6:9", "output must be the name of a layer, got 'nope'"},
      {graph(kLayers, "output: [fc]\n"), "6:9", "output must be a string, got a list of 1 item"},
      {graph("  - {name: c1, op: conv2d, out_channels: 4, kernel_size: 3}\n"), "4:5",
       "the output layer 'c1' gives an image 4 x 6 x 6, but the logits must be a vector"},
      {graph("  - {name: c1, op: conv2d, out_channels: 4, kernel_size: 3}\n" + kLayers, "output: c1\n"), "7:9",
       "the output layer 'c1' gives an image 4 x 6 x 6"},
  });
}

TEST_CASE("errors: input") {
  const std::string rest = "layers:\n" + kLayers;
  check_cases({
      {"name: g\ninput: 5\n" + rest, "2:8", "input must be a map {channels, height, width}, got 5"},
      {"name: g\ninput: {channels: 0, height: 8, width: 8}\n" + rest, "2:19",
       "input.channels must be an integer >= 1, got 0"},
      {"name: g\ninput: {channels: -1, height: 8, width: 8}\n" + rest, "2:19", "got -1"},
      {"name: g\ninput: {channels: 1, height: 2.5, width: 8}\n" + rest, "2:30",
       "input.height must be an integer >= 1, got 2.5"},
      {"name: g\ninput: {channels: 1, height: 8, width: \"8\"}\n" + rest, "2:40",
       "input.width must be an integer >= 1, got '8'"},
      {"name: g\ninput: {channels: 99999999999999999999, height: 8, width: 8}\n" + rest, "2:19",
       "input.channels must be an integer >= 1, got 99999999999999999999, which does not fit in 64 bits"},
      {"name: g\ninput: {channels: 0x10, height: 8, width: 8}\n" + rest, "2:19", "got '0x10'"},
      {"name: g\ninput: {channels: 1, height: 8}\n" + rest, "2:8", "input needs width (an integer >= 1)"},
      {"name: g\ninput: {channels: 1, height: 8, width: 8, depth: 1}\n" + rest, "2:43",
       "unknown key 'depth' in input; expected one of channels, height, width"},
      {"name: g\ninput: {channels: 1, channels: 2, height: 8, width: 8}\n" + rest, "2:22",
       "key 'channels' is given twice in input (first on line 2)"},
      {"name: g\ninput: {channels: 2147483647, height: 2147483647, width: 2147483647}\n" + rest, "2:8",
       "input size 2147483647 x 2147483647 x 2147483647 overflows 64 bits"},
      {"name: g\ninput: {channels: 3037000500, height: 1, width: 1}\n" + rest, "2:19",
       "input.channels must be an integer from 1 to 2147483647, got 3037000500, above netc's limit"},
      {"name: " + std::string(129, 'g') + "\ninput: {channels: 1, height: 8, width: 8}\n" + rest, "1:7",
       "name must be a name of at most 128 characters"},
  });
}

TEST_CASE("errors: the layer list, names and ops") {
  check_cases({
      {"name: g\ninput: {channels: 1, height: 8, width: 8}\nlayers: []\n", "3:9",
       "layers must be a non-empty list of layers, got an empty list"},
      {"name: g\ninput: {channels: 1, height: 8, width: 8}\nlayers: {a: 1}\n", "3:9", "got a map"},
      {"name: g\ninput: {channels: 1, height: 8, width: 8}\nlayers:\n", "3:1", "got nothing"},
      {graph("  - relu\n"), "4:5", "layer 1 must be a map with name, op and the op's attributes, got 'relu'"},
      {graph("  - {name: f, op: flatten}\n  -\n  - {name: fc, op: linear, out_features: 10}\n"), "4:3",
       "layer 2 must be a map with name, op and the op's attributes, got nothing"},
      {graph("  - {op: flatten}\n"), "4:5", "layer 1: missing name"},
      {graph("  - {name: 1x, op: flatten}\n"), "4:12",
       "layer 1: name must be a name matching [A-Za-z_][A-Za-z0-9_]*, got '1x'"},
      {graph("  - {name: input, op: flatten}\n"), "4:12", "the name 'input' is reserved for the graph's input"},
      {graph("  - {name: f, op: flatten}\n  - {name: f, op: relu}\n"), "5:12",
       "layer name 'f' is already used by layer 1 (line 4)"},
      {graph("  - {name: f}\n"), "4:5",
       "layer 'f': missing op; expected one of add, avgpool2d, concat, conv2d, flatten, leaky_relu, linear, "
       "maxpool2d, relu, sigmoid, tanh"},
      {graph("  - {name: f, op: flaten}\n"), "4:19", "layer 'f': unknown op 'flaten'; expected one of add, "},
      {graph("  - {name: f, op: [flatten]}\n"), "4:19", "layer 'f': op must be a string, got a list of 1 item"},
      {graph("  - {name: f, op: flatten, size: 3}\n"), "4:28",
       "layer 'f': unknown key 'size' for flatten; expected one of name, op, input"},
      {graph("  - {name: f, op: flatten, op: relu}\n"), "4:28", "layer 'f': key 'op' is given twice (first on line 4)"},
      {graph("  - {name: f, op: flatten, name: g}\n"), "4:28", "layer 'f': key 'name' is given twice"},
      {graph("  - name: c\n    op: conv2d\n    out_channels: 4\n    kernel: 3\n"), "7:5",
       "layer 'c': unknown key 'kernel' for conv2d; expected one of name, op, input, out_channels, kernel_size, "
       "stride, padding, bias"},
  });
}

TEST_CASE("errors: attribute values") {
  const std::string conv = "  - {name: c, op: conv2d, ";
  check_cases({
      {graph(conv + "kernel_size: 3}\n"), "4:5", "layer 'c': conv2d needs out_channels (an integer >= 1)"},
      {graph(conv + "out_channels: 0, kernel_size: 3}\n"), "4:41",
       "layer 'c': out_channels must be an integer >= 1, got 0"},
      {graph(conv + "out_channels: 4.0, kernel_size: 3}\n"), "4:41", "got 4.0"},
      {graph(conv + "out_channels: '4', kernel_size: 3}\n"), "4:41", "got '4'"},
      {graph(conv + "out_channels: 1e3, kernel_size: 3}\n"), "4:41", "got 1e3"},
      {graph(conv + "out_channels: 123456789012345678901234567890, kernel_size: 3}\n"), "4:41",
       "which does not fit in 64 bits"},
      {graph(conv + "out_channels: 4, kernel_size: [3]}\n"), "4:57",
       "layer 'c': kernel_size must be an integer >= 1 or a list [h, w] of them, got a list of 1 item"},
      {graph(conv + "out_channels: 4, kernel_size: [3, 3, 3]}\n"), "4:57", "got a list of 3 items"},
      {graph(conv + "out_channels: 4, kernel_size: [3, 0]}\n"), "4:61",
       "layer 'c': kernel_size[1] must be an integer >= 1, got 0"},
      {graph(conv + "out_channels: 4, kernel_size: [[3], 1]}\n"), "4:58", "kernel_size[0] must be an integer >= 1"},
      {graph(conv + "out_channels: 4, kernel_size: same}\n"), "4:57",
       "kernel_size must be an integer >= 1 or a list [h, w] of them, got 'same'"},
      {graph(conv + "out_channels: 4, kernel_size: 3, padding: full}\n"), "4:69",
       "layer 'c': padding must be an integer >= 0, a list [h, w] of them, valid or same, got 'full'"},
      {graph(conv + "out_channels: 4, kernel_size: 3, padding: -1}\n"), "4:69",
       "layer 'c': padding must be an integer >= 0, got -1"},
      {graph(conv + "out_channels: 4, kernel_size: 3, padding: [1, -1]}\n"), "4:73",
       "layer 'c': padding[1] must be an integer >= 0, got -1"},
      {graph(conv + "out_channels: 4, kernel_size: 3, stride: 0}\n"), "4:68", "stride must be an integer >= 1"},
      {graph(conv + "out_channels: 4, kernel_size: 3, bias: yes}\n"), "4:66",
       "layer 'c': bias must be true or false, got 'yes'"},
      {graph(conv + "out_channels: 4, kernel_size: 3, bias: 'true'}\n"), "4:66", "got 'true'"},
      {graph("  - {name: a, op: leaky_relu, negative_slope: .nan}\n"), "4:47",
       "layer 'a': negative_slope must be a finite number, got '.nan'"},
      {graph("  - {name: a, op: leaky_relu, negative_slope: -.inf}\n"), "4:47", "got '-.inf'"},
      {graph("  - {name: a, op: leaky_relu, negative_slope: 1e999}\n"), "4:47",
       "negative_slope must be a finite number, got 1e999, which is out of range"},
      {graph("  - {name: a, op: leaky_relu, negative_slope: \"0.1\"}\n"), "4:47", "got '0.1'"},
      {graph("  - {name: p, op: maxpool2d}\n"), "4:5",
       "layer 'p': maxpool2d needs kernel_size (an integer >= 1 or a list [h, w] of them)"},
  });
}

TEST_CASE("errors: inputs and the DAG") {
  const std::string fc = "  - {name: fc, op: linear, out_features: 10}\n";
  check_cases({
      {graph("  - {name: f, op: flatten, input: nope}\n"), "4:35",
       "layer 'f': input 'nope' is not a layer name (nor input, the graph's input)"},
      {graph("  - {name: f, op: flatten, input: fc}\n" + fc), "4:35",
       "layer 'f': input 'fc' comes later in the list (layer 2); every layer must come after its inputs"},
      {graph("  - {name: f, op: flatten, input: f}\n"), "4:35", "layer 'f': a layer cannot be its own input"},
      {graph("  - {name: a, op: relu, input: b}\n  - {name: b, op: relu, input: a}\n"), "4:32",
       "layer 'a': input 'b' comes later in the list (layer 2)"},
      {graph("  - {name: f, op: flatten, input: [input]}\n"), "4:35",
       "layer 'f': input must be the name of one layer (flatten takes one input), got a list of 1 item"},
      {graph("  - {name: f, op: flatten, input: {a: 1}}\n"), "4:35", "got a map"},
      {graph("  - {name: f, op: flatten, input: }\n"), "4:28", "input must be the name of one layer"},
      {graph("  - {name: f, op: flatten}\n  - {name: s, op: add, input: f}\n" + fc), "5:31",
       "layer 's': input must be a list of 2 or more layers, got 'f'"},
      {graph("  - {name: f, op: flatten}\n  - {name: s, op: add, input: [f]}\n" + fc), "5:31",
       "layer 's': input must be a list of 2 or more layers, got a list of 1 item"},
      {graph("  - {name: f, op: flatten}\n  - {name: s, op: add}\n" + fc), "5:5",
       "layer 's': add needs input: a list of 2 or more layers"},
      {graph("  - {name: f, op: flatten}\n  - {name: s, op: add, input: [f, [f]]}\n" + fc), "5:35",
       "layer 's': input[1] must be a string, got a list of 1 item"},
      {graph("  - {name: f, op: flatten}\n  - {name: s, op: concat, input: [f, g]}\n" + fc), "5:38",
       "layer 's': input 'g' is not a layer name"},
  });
}

TEST_CASE("errors: shapes") {
  const std::string conv = "  - {name: c, op: conv2d, out_channels: 4, ";
  const std::string tail = kLayers;
  check_cases({
      {graph(conv + "kernel_size: 9}\n" + tail), "4:5", "layer 'c': height kernel 9 is larger than the padded input 8"},
      {graph(conv + "kernel_size: [3, 13], padding: [0, 2]}\n" + tail), "4:5",
       "layer 'c': width kernel 13 is larger than the padded input 12 (8 + 2 x 2)"},
      {graph(conv + "kernel_size: 2, padding: same}\n" + tail), "4:69", "padding 'same' needs an odd kernel"},
      {graph(conv + "kernel_size: 3, stride: 2, padding: same}\n" + tail), "4:80", "padding 'same' needs stride 1"},
      {graph("  - {name: fc, op: linear, out_features: 10}\n"), "4:5",
       "layer 'fc': linear needs a flat input, but 'input' gives an image 1 x 8 x 8"},
      {graph("  - {name: f, op: flatten}\n  - {name: c, op: conv2d, out_channels: 1, kernel_size: 1}\n"), "5:5",
       "layer 'c': conv2d needs an image (C x H x W) input, but 'f' gives 64 values (1 x 8 x 8)"},
      {graph("  - {name: f, op: flatten}\n  - {name: p, op: avgpool2d, kernel_size: 1}\n"), "5:5",
       "avgpool2d needs an image"},
      {graph("  - {name: a, op: conv2d, out_channels: 2, kernel_size: 3}\n  - {name: s, op: add, input: [a, input]}\n" +
             tail),
       "5:31", "layer 's': add needs inputs of identical shape, but 'a' has 2 x 6 x 6 and 'input' has 1 x 8 x 8"},
      {graph("  - {name: a, op: conv2d, out_channels: 2, kernel_size: 3}\n  - {name: s, op: concat, input: [a, "
             "input]}\n" +
             tail),
       "5:34", "layer 's': concat needs inputs with equal height and width"},
      {graph("  - {name: f, op: flatten}\n  - {name: fc, op: linear, in_features: 10, out_features: 10}\n"), "5:5",
       "layer 'fc': in_features is 10 but its input 'f' has 64 values (1 x 8 x 8)"},
      {graph("  - {name: p, op: maxpool2d, kernel_size: 2, padding: 2}\n" + tail), "4:55",
       "padding [2, 2] must be smaller than kernel_size [2, 2]"},
      {graph(conv + "kernel_size: 1, padding: 9223372036854775807}\n" + tail), "4:69",
       "padding must be an integer from 0 to 2147483647, got 9223372036854775807, above netc's limit"},
      {graph(conv + "kernel_size: 1, padding: 2147483647}\n" + tail), "4:69",
       "layer 'c': the padded height 4294967302 (8 + 2 x 2147483647) is above netc's limit of 2147483647"},
      {graph(conv + "kernel_size: 1, stride: 4294967296}\n" + tail), "4:68",
       "stride must be an integer from 1 to 2147483647, got 4294967296"},
      {graph("  - {name: c, op: conv2d, out_channels: 2147483647, kernel_size: 1}\n" + tail), "4:5",
       "layer 'c': its output 2147483647 x 8 x 8 has 137438953408 values per image, above netc's limit of 536870911"},
      {graph("  - {name: f, op: flatten}\n  - {name: fc, op: linear, out_features: 536870911}\n"), "5:5",
       "layer 'fc': fc.weight has 34359738304 values, above netc's limit of 536870911"},
      {graph("  - {name: p, op: maxpool2d, kernel_size: [1, 5000], padding: 0}\n" + tail), "4:43",
       "layer 'p': kernel_size [1, 5000] has 5000 cells, above netc's limit of 1024 per pooling window"},
  });
}

TEST_CASE("errors: train and its optimizer") {
  check_cases({
      {graph(kLayers, "train: 5\n"), "6:8", "train must be a map, got 5"},
      {graph(kLayers, "train: {epochs: 3}\n"), "6:9",
       "unknown key 'epochs' in train; expected one of dataset, batch_size, iterations, eval_every, shuffle, seed, "
        "optimizer, lr_schedule, validation, augment"},
      {graph(kLayers, "train: {seed: 1, seed: 2}\n"), "6:18", "key 'seed' is given twice in train (first on line 6)"},
      {graph(kLayers, "train: {batch_size: 0}\n"), "6:21", "train.batch_size must be an integer >= 1, got 0"},
      {graph(kLayers, "train: {iterations: -1}\n"), "6:21", "train.iterations must be an integer >= 0, got -1"},
      {graph(kLayers, "train: {eval_every: 1.5}\n"), "6:21", "train.eval_every must be an integer >= 0, got 1.5"},
      {graph(kLayers, "train: {shuffle: 1}\n"), "6:18", "train.shuffle must be true or false, got 1"},
      {graph(kLayers, "train: {shuffle: yes}\n"), "6:18", "got 'yes'"},
      {graph(kLayers, "train: {seed: -3}\n"), "6:15", "train.seed must be an integer >= 0, got -3"},
      {graph(kLayers, "train: {dataset: ''}\n"), "6:18", "train.dataset must be mnist, fashion-mnist or a folder"},
      {graph(kLayers, "train: {dataset: [mnist]}\n"), "6:18", "train.dataset must be a string"},
      {graph(kLayers, "train: {optimizer: sgd}\n"), "6:20", "train.optimizer must be a map, got 'sgd'"},
      {graph(kLayers, "train: {optimizer: {type: sgd, beta: 0.9}}\n"), "6:32",
       "unknown key 'beta' in train.optimizer; expected one of type, lr, momentum, weight_decay, nesterov, betas, eps"},
      {graph(kLayers, "train: {optimizer: {lr: 0.1, lr: 0.2}}\n"), "6:30",
       "key 'lr' is given twice in train.optimizer (first on line 6)"},
      {graph(kLayers, "train: {optimizer: {type: rmsprop}}\n"), "6:27",
       "train.optimizer.type must be sgd, adam or adamw, got 'rmsprop'"},
      {graph(kLayers, "train: {optimizer: {lr: 0}}\n"), "6:25",
       "train.optimizer.lr must be a finite number > 0, got 0"},
      {graph(kLayers, "train: {optimizer: {lr: -0.1}}\n"), "6:25", "got -0.1"},
      {graph(kLayers, "train: {optimizer: {lr: .inf}}\n"), "6:25", "got '.inf'"},
      {graph(kLayers, "train: {optimizer: {lr: 1e999}}\n"), "6:25", "which is out of range"},
      {graph(kLayers, "train: {optimizer: {lr: '0.1'}}\n"), "6:25", "got '0.1'"},
      {graph(kLayers, "train: {optimizer: {lr: 1e300}}\n"), "6:25", "got 1e300, which is beyond float32's range"},
      {graph(kLayers, "train: {optimizer: {lr: 1e-50}}\n"), "6:25", "got 1e-50, which is 0 as a float32"},
      {graph(kLayers, "train: {optimizer: {weight_decay: 1e39}}\n"), "6:35", "which is beyond float32's range"},
      {graph(kLayers, "train: {optimizer: {momentum: -0.5}}\n"), "6:31",
       "train.optimizer.momentum must be a finite number >= 0, got -0.5"},
      {graph(kLayers, "train: {optimizer: {weight_decay: -1}}\n"), "6:35",
       "train.optimizer.weight_decay must be a finite number >= 0, got -1"},
      {graph(kLayers, "train: {optimizer: {nesterov: maybe}}\n"), "6:31",
       "train.optimizer.nesterov must be true or false, got 'maybe'"},
      {graph(kLayers, "train: {optimizer: {nesterov: true}}\n"), "6:31",
       "train.optimizer.nesterov: true needs a momentum > 0"},
      {graph(kLayers, "train:\n  optimizer:\n    type: sgd\n    lr:\n"), "9:5",
       "train.optimizer.lr must be a finite number > 0, got nothing"},
  });
}

TEST_CASE("errors: train's validation and augment") {
  check_cases({
      {graph(kLayers, "train: {validation: -1}\n"), "6:21", "train.validation must be an integer >= 0, got -1"},
      {graph(kLayers, "train: {validation: 0.1}\n"), "6:21", "train.validation must be an integer >= 0, got 0.1"},
      {graph(kLayers, "train: {validation: 2147483648}\n"), "6:21",
       "train.validation must be an integer from 0 to 2147483647, got 2147483648, above netc's limit"},
      {graph(kLayers, "train: {augment: 2}\n"), "6:18", "train.augment must be a map, got 2"},
      {graph(kLayers, "train: {augment: {rotate: 5}}\n"), "6:19",
       "unknown key 'rotate' in train.augment; expected one of shift"},
      {graph(kLayers, "train: {augment: {shift: -1}}\n"), "6:26", "train.augment.shift must be an integer >= 0, got -1"},
      // The input is 8 x 8: a shift of 8 would move every pixel out.
      {graph(kLayers, "train: {augment: {shift: 8}}\n"), "6:26",
       "train.augment.shift must be an integer from 0 to 7, below the input's height and width, got 8"},
      {graph(kLayers, "train: {augment: {shift: 9223372036854775808}}\n"), "6:26", "which does not fit in 64 bits"},
  });
}

TEST_CASE("errors: Adam and AdamW") {
  check_cases({
      {graph(kLayers, "train: {optimizer: {type: adam, betas: [0.9, 1]}}\n"), "6:46",
       "train.optimizer.betas[1] must be a number in [0, 1), got 1"},
      {graph(kLayers, "train: {optimizer: {type: adamw, betas: [-0.1, 0.9]}}\n"), "6:42",
       "train.optimizer.betas[0] must be a finite number >= 0, got -0.1"},
      {graph(kLayers, "train: {optimizer: {type: adam, betas: 0.9}}\n"), "6:40",
       "train.optimizer.betas must be a list [beta1, beta2], got 0.9"},
      {graph(kLayers, "train: {optimizer: {type: adam, betas: [0.9, 0.99, 0.999]}}\n"), "6:40",
       "train.optimizer.betas must be a list [beta1, beta2], got a list of 3 items"},
      {graph(kLayers, "train: {optimizer: {type: adam, eps: 0}}\n"), "6:38",
       "train.optimizer.eps must be a finite number > 0, got 0"},
      {graph(kLayers, "train: {optimizer: {type: adam, eps: -1e-8}}\n"), "6:38", "got -1e-8"},
      {graph(kLayers, "train: {optimizer: {type: adamw, weight_decay: -0.01}}\n"), "6:48",
       "train.optimizer.weight_decay must be a finite number >= 0, got -0.01"},
      {graph(kLayers, "train: {optimizer: {type: adam, lr: -0.001}}\n"), "6:37",
       "train.optimizer.lr must be a finite number > 0, got -0.001"},
      {graph(kLayers, "train: {optimizer: {momentum: 0.9, type: adam}}\n"), "6:21",
       "train.optimizer.momentum is not a setting of adam"},
      {graph(kLayers, "train: {optimizer: {type: adamw, nesterov: false}}\n"), "6:34",
       "train.optimizer.nesterov is not a setting of adamw"},
      {graph(kLayers, "train: {optimizer: {betas: [0.9, 0.99]}}\n"), "6:21",
       "train.optimizer.betas is not a setting of sgd"},
  });
}

TEST_CASE("errors: learning-rate schedules") {
  check_cases({
      {graph(kLayers, "train: {lr_schedule: cosine}\n"), "6:22", "train.lr_schedule must be a map, got 'cosine'"},
      {graph(kLayers, "train: {lr_schedule: {t_max: 5}}\n"), "6:22",
       "train.lr_schedule needs a type: constant, step, multistep or cosine"},
      {graph(kLayers, "train: {lr_schedule: {type: linear}}\n"), "6:29",
       "train.lr_schedule.type must be constant, step, multistep or cosine, got 'linear'"},
      {graph(kLayers, "train: {lr_schedule: {type: cosine}}\n"), "6:22",
       "train.lr_schedule of type cosine needs t_max"},
      {graph(kLayers, "train: {lr_schedule: {type: step, gamma: 0.5}}\n"), "6:22",
       "train.lr_schedule of type step needs step_size"},
      {graph(kLayers, "train: {lr_schedule: {type: step, step_size: 10, t_max: 5}}\n"), "6:50",
       "train.lr_schedule.t_max is not a setting of an lr_schedule of type step"},
      {graph(kLayers, "train: {lr_schedule: {type: step, step_size: 0}}\n"), "6:46",
       "train.lr_schedule.step_size must be an integer >= 1, got 0"},
      {graph(kLayers, "train: {lr_schedule: {type: step, step_size: 2, gamma: 0}}\n"), "6:56",
       "train.lr_schedule.gamma must be a finite number > 0, got 0"},
      {graph(kLayers, "train: {lr_schedule: {type: multistep, milestones: []}}\n"), "6:52",
       "train.lr_schedule.milestones must be a list of 1 to 1024 increasing integers >= 1, got an empty list"},
      {graph(kLayers, "train: {lr_schedule: {type: multistep, milestones: [10, 10]}}\n"), "6:57",
       "train.lr_schedule.milestones[1] must be an integer >= 11, got 10"},
      {graph(kLayers, "train: {lr_schedule: {type: multistep, milestones: [0]}}\n"), "6:53",
       "train.lr_schedule.milestones[0] must be an integer >= 1, got 0"},
      {graph(kLayers, "train: {lr_schedule: {type: cosine, t_max: 10, eta_min: -1}}\n"), "6:57",
       "train.lr_schedule.eta_min must be a finite number >= 0, got -1"},
      {graph(kLayers, "train: {lr_schedule: {type: constant, warmup: -5}}\n"), "6:47",
       "train.lr_schedule.warmup must be an integer >= 0, got -5"},
      {graph(kLayers, "train: {lr_schedule: {type: cosine, t_max: 10, period: 3}}\n"), "6:48",
       "unknown key 'period' in train.lr_schedule; expected one of type, step_size, gamma, milestones, t_max, "
       "eta_min, warmup"},
  });
}

TEST_CASE("errors: YAML syntax, documents, size and depth") {
  check_cases({
      {"name: g\nlayers: [\n", "3:1", "invalid YAML: "},
      {"name: g\n\tinput: 1\n", "2:1", "invalid YAML: "},
      {"name: *x\n", "1:7", "invalid YAML: the referenced anchor is not defined"},
      {"name: g: x\n", "1:8", "invalid YAML: illegal map value"},
      {graph(kLayers, "---\nname: h\n"), "6:1", "expected one YAML document, found a second one here"},
      {"- {a: 1}\n<<: x\n", "2:1", "invalid YAML: unexpected '<<: x'"},
      {",n---\ne", "1:1", "invalid YAML: unexpected ',n---'"},
      {"x: " + std::string(100000, '['), "1:1", "YAML nested too deeply"},
      {"# " + std::string(1 << 20, 'x'), "1:1", "the file has 1048578 bytes; a graph file may have at most 1048576"},
  });
}

TEST_CASE("errors: netc's limits on the layer count, names and the train section") {
  std::string relus;
  for (int k = 0; k < 254; ++k) relus += "  - {name: r" + std::to_string(k) + ", op: relu}\n";
  CHECK(parse_graph(graph(relus + kLayers), "t.yaml").layers.size() == 256);
  relus += "  - {name: one_more, op: relu}\n";
  std::string linears = "  - {name: f, op: flatten}\n";
  for (int k = 0; k < 65; ++k) linears += "  - {name: fc" + std::to_string(k) + ", op: linear, out_features: 10}\n";
  check_cases({
      {graph(relus + kLayers), "4:3", "the graph has 257 layers, above netc's limit of 256"},
      {graph(linears), "69:5", "layer 'fc64': the graph's layer 65 with parameters, above netc's limit of 64"},
      {graph("  - {name: " + std::string(129, 'f') + ", op: flatten}\n  - {name: fc, op: linear, out_features: 10}\n"),
       "4:12", "must be a name of at most 128 characters"},
      {graph(kLayers, "train: {batch_size: 1048577}\n"), "6:21",
       "train.batch_size must be an integer from 1 to 1048576, got 1048577, above netc's limit"},
      {graph(kLayers, "train: {eval_every: 9223372036854775807}\n"), "6:21",
       "train.eval_every must be an integer from 0 to 1099511627776"},
  });
}

TEST_CASE("aliases and anchors are followed, not copied") {
  Graph g = parse_graph(graph("  - &f {name: f, op: flatten}\n  - {name: fc, op: linear, out_features: 10}\n",
                              "description: &d text\ntrain: {dataset: *d}\n"),
                        "t.yaml");
  CHECK(g.train.dataset == "text");
  // An alias is the anchored node itself, so the message points at the original.
  CHECK_THROWS_WITH(parse_graph(graph("  - &f {name: f, op: flatten}\n  - *f\n"), "t.yaml"),
                    "t.yaml:4:15: layer name 'f' is already used by layer 1 (line 4)");
}

}  // namespace
}  // namespace netc
