// Valid graphs: the tutorial's models, the window arithmetic, DAGs, defaults,
// and parse_single_layer.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "front/loader.h"

namespace netc {
namespace {

std::string model_path(const std::string& name) { return std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml"; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Shape image(int64_t c, int64_t h, int64_t w) { return Shape{c, h, w, false}; }
Shape flat(int64_t n) { return Shape{n, 1, 1, true}; }

// The output shapes of every layer, as strings.
std::vector<std::string> shapes(const Graph& g) {
  std::vector<std::string> out;
  for (const Layer& l : g.layers) out.push_back(l.output.str());
  return out;
}

// A graph with a 1 x H x W input and the given layer lines.
Graph graph_of(int64_t h, int64_t w, const std::string& layers) {
  return parse_graph("name: t\ninput: {channels: 1, height: " + std::to_string(h) + ", width: " + std::to_string(w) +
                         "}\nlayers:\n" + layers,
                     "t.yaml");
}

TEST_CASE("the tutorial's worked examples of the output size formula") {
  // O = floor((W - K + 2P) / S) + 1
  std::vector<InputInfo> in4 = {describe_output("input", image(1, 4, 4))};
  CHECK(parse_single_layer("{op: conv2d, out_channels: 1, kernel_size: 3, padding: 0, stride: 1}", in4).output ==
        image(1, 2, 2));
  std::vector<InputInfo> in5 = {describe_output("input", image(1, 5, 5))};
  CHECK(parse_single_layer("{op: conv2d, out_channels: 1, kernel_size: 3, padding: 1}", in5).output == image(1, 5, 5));
  // Pooling: the stride defaults to the kernel size; the floor drops the rest.
  CHECK(parse_single_layer("{op: maxpool2d, kernel_size: 2}", in5).output == image(1, 2, 2));
  CHECK(parse_single_layer("{op: conv2d, out_channels: 2, kernel_size: [3, 1], stride: [2, 1]}", in5).output ==
        image(2, 2, 5));
}

TEST_CASE("model A: same padding, max pooling, 28,938 parameters") {
  Graph g = load_graph(model_path("model_a"));
  CHECK(g.name == "model_a");
  CHECK(g.file == model_path("model_a"));
  CHECK(g.input == image(1, 28, 28));
  CHECK(shapes(g) == std::vector<std::string>{"16 x 28 x 28", "16 x 28 x 28", "16 x 14 x 14", "32 x 14 x 14",
                                              "32 x 14 x 14", "32 x 7 x 7", "1568", "10"});
  CHECK(g.param_count() == 28938);
  CHECK(g.num_classes() == 10);
  CHECK(g.output == 7);
  CHECK(g.loss == "cross_entropy");
  REQUIRE(g.params.size() == 6);
  CHECK(g.params[0].name == "cnn1.weight");
  CHECK(g.params[0].shape == std::vector<int64_t>{16, 1, 5, 5});
  CHECK(g.params[0].fan_in == 25);
  CHECK(g.params[0].layer == 0);
  CHECK(g.params[3].name == "cnn2.bias");
  CHECK(g.params[3].layer == 3);
  CHECK(g.params[4].shape == std::vector<int64_t>{10, 1568});
  CHECK(g.params[5].fan_in == 1568);
  // padding: 2 and padding: same are the same thing for a 5x5 kernel.
  CHECK(g.layers[0].attr("padding").kind == AttrValue::Kind::Int);
  CHECK(g.layers[3].attr("padding").s == "same");
  CHECK(g.layers[0].loc.line == 5);
  CHECK(g.layers[0].loc.column == 5);
  CHECK(g.layers[1].inputs == std::vector<int>{0});
  CHECK(g.layers[0].inputs == std::vector<int>{Layer::kGraphInput});
}

TEST_CASE("model B: average pooling, 28,938 parameters") {
  Graph g = load_graph(model_path("model_b"));
  CHECK(shapes(g) == std::vector<std::string>{"16 x 28 x 28", "16 x 28 x 28", "16 x 14 x 14", "32 x 14 x 14",
                                              "32 x 14 x 14", "32 x 7 x 7", "1568", "10"});
  CHECK(g.layers[2].op == "avgpool2d");
  CHECK(g.param_count() == 28938);
}

TEST_CASE("model C: valid padding flattens 32 x 4 x 4 = 512, 18,378 parameters") {
  Graph g = load_graph(model_path("model_c"));
  CHECK(shapes(g) == std::vector<std::string>{"16 x 24 x 24", "16 x 24 x 24", "16 x 12 x 12", "32 x 8 x 8",
                                              "32 x 8 x 8", "32 x 4 x 4", "512", "10"});
  CHECK(g.layers[6].output == flat(512));
  CHECK(g.layers[7].output.dims() == std::vector<int64_t>{10});
  CHECK(g.param_count() == 18378);
  CHECK(g.layer_param_count(7) == 5130);
}

TEST_CASE("the models' training settings") {
  for (const char* name : {"model_a", "model_b", "model_c"}) {
    INFO(name);
    const TrainConfig t = load_graph(model_path(name)).train;
    CHECK(t.dataset == "mnist");
    CHECK(t.batch_size == 100);
    CHECK(t.iterations == 3000);
    CHECK(t.eval_every == 500);
    CHECK(t.shuffle);
    CHECK(t.seed == 0);
    CHECK(t.optimizer.type == OptimizerType::Sgd);
    CHECK(t.optimizer.lr == 0.01);
    CHECK(t.optimizer.momentum == 0);
    CHECK(t.lr_schedule.type == LrSchedule::Type::Constant);
    CHECK(t.lr_schedule.warmup == 0);
  }
}

TEST_CASE("the spec's in_features example, in model C") {
  std::string text = read_text(model_path("model_c"));
  auto at = text.find("in_features: 512");
  REQUIRE(at != std::string::npos);
  text.replace(at, 16, "in_features: 1568");
  CHECK_THROWS_WITH(parse_graph(text, "graphs/model_c.yaml"),
                    "graphs/model_c.yaml:12:5: layer 'fc1': in_features is 1568 but its input 'flatten' has 512 "
                    "values (32 x 4 x 4)");
}

TEST_CASE("add joins branches of identical shape") {
  Graph g = graph_of(8, 8,
                     "  - {name: a, op: conv2d, out_channels: 4, kernel_size: 3, padding: same}\n"
                     "  - {name: b, op: conv2d, out_channels: 4, kernel_size: 1, input: input}\n"
                     "  - {name: sum, op: add, input: [a, b, a]}\n"
                     "  - {name: f, op: flatten}\n"
                     "  - {name: fc, op: linear, out_features: 3}\n");
  CHECK(g.layers[2].inputs == std::vector<int>{0, 1, 0});
  CHECK(g.layers[1].inputs == std::vector<int>{Layer::kGraphInput});
  CHECK(g.layers[2].output == image(4, 8, 8));
  CHECK(g.layers[3].output == flat(256));
  CHECK(g.param_count() == (4 * 9 + 4) + (4 + 4) + (256 * 3 + 3));
}

TEST_CASE("concat sums channels, of images and of vectors") {
  Graph g = graph_of(6, 6,
                     "  - {name: a, op: conv2d, out_channels: 3, kernel_size: 3, padding: 1}\n"
                     "  - {name: b, op: maxpool2d, kernel_size: 3, stride: 1, padding: 1, input: input}\n"
                     "  - {name: cat, op: concat, input: [a, b, input]}\n"
                     "  - {name: f, op: flatten}\n"
                     "  - {name: g, op: flatten, input: a}\n"
                     "  - {name: both, op: concat, input: [f, g]}\n"
                     "  - {name: fc, op: linear, out_features: 2}\n"
                     "output: fc\n");
  CHECK(g.layers[2].output == image(5, 6, 6));
  CHECK(g.layers[5].output == flat(5 * 36 + 3 * 36));
  CHECK(g.output == 6);
}

TEST_CASE("defaults: no train section, output is the last layer, optional attributes") {
  Graph g = graph_of(4, 4,
                     "  - {name: f, op: flatten}\n"
                     "  - {name: fc, op: linear, out_features: 3, bias: false}\n"
                     "  - {name: act, op: leaky_relu}\n");
  CHECK(g.output == 2);
  CHECK(g.description.empty());
  CHECK(g.train.batch_size == 100);
  CHECK(g.train.iterations == 3000);
  CHECK(g.train.shuffle);
  CHECK(g.train.optimizer.lr == 0.01);
  CHECK(g.train.validation == 0);
  CHECK(g.train.augment.shift == 0);
  CHECK(g.param_count() == 16 * 3);
  CHECK(g.params.size() == 1);
  CHECK_FALSE(g.layers[2].has("negative_slope"));
}

TEST_CASE("an explicit output and every train key") {
  Graph g = parse_graph(R"(name: full
description: every key
input: {channels: 3, height: 2, width: 2}
layers:
  - name: f
    op: flatten
  - {name: logits, op: linear, out_features: 4}
  - {name: extra, op: sigmoid}
output: logits
loss: cross_entropy
train:
  dataset: fashion-mnist
  batch_size: 7
  iterations: 0
  eval_every: 0
  shuffle: false
  seed: 123456789012
  optimizer: {type: sgd, lr: 1e-3, momentum: 0.9, weight_decay: 5e-4, nesterov: true}
  validation: 5000
  augment: {shift: 1}
)",
                        "full.yaml");
  CHECK(g.description == "every key");
  CHECK(g.output == 1);
  CHECK(g.num_classes() == 4);
  CHECK(g.train.dataset == "fashion-mnist");
  CHECK(g.train.batch_size == 7);
  CHECK(g.train.iterations == 0);
  CHECK(g.train.eval_every == 0);
  CHECK_FALSE(g.train.shuffle);
  CHECK(g.train.seed == 123456789012u);
  CHECK(g.train.optimizer.lr == 1e-3);
  CHECK(g.train.optimizer.momentum == 0.9);
  CHECK(g.train.optimizer.weight_decay == 5e-4);
  CHECK(g.train.optimizer.nesterov);
  CHECK(g.train.validation == 5000);
  CHECK(g.train.augment.shift == 1);
  CHECK(g.layers[0].loc.line == 5);
  CHECK(g.layers[0].loc.column == 5);
  CHECK(g.layers[0].op_loc.line == 6);
  CHECK(g.layers[0].op_loc.column == 9);
}

TEST_CASE("attribute values keep their kinds and locations") {
  Graph g = graph_of(9, 9,
                     "  - {name: c, op: conv2d, out_channels: 2, kernel_size: [3, 5], stride: 2, padding: [1, 2]}\n"
                     "  - {name: act, op: leaky_relu, negative_slope: -2}\n"
                     "  - {name: f, op: flatten}\n");
  const Layer& c = g.layers[0];
  CHECK(c.attr("kernel_size").kind == AttrValue::Kind::Pair);
  CHECK(c.pair_attr("kernel_size", {}) == HW{3, 5});
  CHECK(c.pair_attr("stride", {}) == HW{2, 2});
  CHECK(c.int_attr("out_channels", 0) == 2);
  CHECK(c.attr("stride").loc.column == 73);
  CHECK(c.output == image(2, 5, 5));
  CHECK(g.layers[1].float_attr("negative_slope", 0) == -2.0);
  CHECK(g.layers[1].attr("negative_slope").kind == AttrValue::Kind::Float);
}

TEST_CASE("parse_single_layer: flow, block and JSON: names, inputs and parameters") {
  std::vector<InputInfo> in = {describe_output("x", image(3, 8, 8))};
  std::vector<ParamSpec> params;
  Layer flow = parse_single_layer("{name: c, op: conv2d, out_channels: 4, kernel_size: 3}", in, &params);
  CHECK(flow.name == "c");
  CHECK(flow.output == image(4, 6, 6));
  CHECK(flow.inputs == std::vector<int>{Layer::kGraphInput});
  REQUIRE(params.size() == 2);
  CHECK(params[0].name == "c.weight");
  CHECK(params[0].shape == std::vector<int64_t>{4, 3, 3, 3});
  CHECK(params[1].fan_in == 27);

  Layer block = parse_single_layer("op: avgpool2d\nkernel_size: 2\ninput: whatever\n", in);
  CHECK(block.name == "layer");
  CHECK(block.output == image(3, 4, 4));

  Layer json = parse_single_layer(R"({"name": "p", "op": "maxpool2d", "kernel_size": [2, 4], "padding": "valid"})", in);
  CHECK(json.output == image(3, 4, 2));

  std::vector<InputInfo> two = {in[0], describe_output("y", image(5, 8, 8))};
  CHECK(parse_single_layer("{op: concat}", two).output == image(8, 8, 8));
  CHECK(parse_single_layer("{op: concat}", two).inputs.size() == 2);
}

TEST_CASE("parse_single_layer reports problems at <layer>") {
  std::vector<InputInfo> in = {describe_output("x", image(3, 8, 8))};
  CHECK_THROWS_WITH(parse_single_layer("{op: conv2d, kernel_size: 3}", in),
                    "<layer>:1:1: layer 'layer': conv2d needs out_channels (an integer >= 1)");
  CHECK_THROWS_WITH(parse_single_layer("{op: add}", in),
                    "<layer>:1:1: layer 'layer': add takes 2 or more inputs, got 1");
  CHECK_THROWS_WITH(parse_single_layer("{op: relu}", {}), "<layer>:1:1: layer 'layer': relu takes 1 input, got 0");
  CHECK_THROWS_WITH(parse_single_layer("op: linear\nout_features: 2\n", in),
                    Catch::Contains("linear needs a flat input, but 'x' gives an image 3 x 8 x 8"));
}

TEST_CASE("describe_output: images, flattened images, vectors") {
  CHECK(describe_output("a", image(16, 28, 28)).description == "16 x 28 x 28");
  Shape from = image(32, 4, 4);
  CHECK(describe_output("f", flat(512), &from).description == "512 values (32 x 4 x 4)");
  CHECK(describe_output("fc", flat(10)).description == "10 values");
  CHECK(describe_output("fc", flat(1)).description == "1 value");
  CHECK(describe_output("fc", flat(10)).name == "fc");
}

TEST_CASE("a flattened vector is described by its image in messages") {
  CHECK_THROWS_WITH(graph_of(4, 4,
                             "  - {name: c, op: conv2d, out_channels: 2, kernel_size: 3}\n"
                             "  - {name: f, op: flatten}\n"
                             "  - {name: r, op: relu}\n"
                             "  - {name: fc, op: linear, in_features: 9, out_features: 2, input: f}\n"),
                    "t.yaml:7:5: layer 'fc': in_features is 9 but its input 'f' has 8 values (2 x 2 x 2)");
  CHECK_THROWS_WITH(graph_of(4, 4,
                             "  - {name: f, op: flatten}\n"
                             "  - {name: r, op: relu}\n"
                             "  - {name: fc, op: linear, in_features: 9, out_features: 2}\n"),
                    "t.yaml:6:5: layer 'fc': in_features is 9 but its input 'r' has 16 values");
}

TEST_CASE("load_graph: files that cannot be read") {
  CHECK_THROWS_AS(load_graph("/nonexistent/graph.yaml"), InputError);
  CHECK_THROWS_WITH(load_graph("/nonexistent/graph.yaml"),
                    "cannot read graph file /nonexistent/graph.yaml: No such file or directory");
  CHECK_THROWS_WITH(load_graph("/"), Catch::StartsWith("cannot read graph file /: "));
}

}  // namespace
}  // namespace netc

namespace netc {

TEST_CASE("train.optimizer: Adam and AdamW with PyTorch's defaults") {
  const std::string layers =
      "name: g\ninput: {channels: 1, height: 2, width: 2}\nlayers:\n  - {name: f, op: flatten}\n"
      "  - {name: fc, op: linear, out_features: 2}\n";
  const OptimizerSettings adam = parse_graph(layers + "train: {optimizer: {type: adam}}\n", "a.yaml").train.optimizer;
  CHECK(adam.type == OptimizerType::Adam);
  CHECK(adam.lr == 0.001);
  CHECK(adam.beta1 == 0.9);
  CHECK(adam.beta2 == 0.999);
  CHECK(adam.eps == 1e-8);
  CHECK(adam.weight_decay == 0);
  const OptimizerSettings adamw = parse_graph(layers + "train: {optimizer: {type: adamw, lr: 0.001}}\n", "w.yaml")
                                      .train.optimizer;
  CHECK(adamw.type == OptimizerType::AdamW);
  CHECK(adamw.weight_decay == 0.01);
  const OptimizerSettings set =
      parse_graph(layers + "train: {optimizer: {weight_decay: 0, betas: [0.5, 0.75], eps: 1e-6, type: adamw}}\n",
                  "s.yaml")
          .train.optimizer;
  CHECK(set.weight_decay == 0);
  CHECK(set.beta1 == 0.5);
  CHECK(set.beta2 == 0.75);
  CHECK(set.eps == 1e-6);
}

TEST_CASE("train.lr_schedule: each type's settings, defaults and warm-up") {
  const std::string layers =
      "name: g\ninput: {channels: 1, height: 2, width: 2}\nlayers:\n  - {name: f, op: flatten}\n"
      "  - {name: fc, op: linear, out_features: 2}\n";
  auto schedule = [&](const std::string& yaml) {
    return parse_graph(layers + "train: {lr_schedule: " + yaml + "}\n", "s.yaml").train.lr_schedule;
  };
  const LrSchedule step = schedule("{type: step, step_size: 100}");
  CHECK(step.type == LrSchedule::Type::Step);
  CHECK(step.step_size == 100);
  CHECK(step.gamma == 0.1);
  const LrSchedule multi = schedule("{type: multistep, milestones: [10, 20, 30], gamma: 0.5, warmup: 5}");
  CHECK(multi.milestones == std::vector<int64_t>{10, 20, 30});
  CHECK(multi.gamma == 0.5);
  CHECK(multi.warmup == 5);
  const LrSchedule cosine = schedule("{type: cosine, t_max: 3000, eta_min: 1e-4}");
  CHECK(cosine.t_max == 3000);
  CHECK(cosine.eta_min == 1e-4);
  CHECK(schedule("{type: constant, warmup: 7}").warmup == 7);
}

}  // namespace netc
