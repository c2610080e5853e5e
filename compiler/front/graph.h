// The typed graph IR: what a validated YAML graph file becomes.
// Halide-free on purpose: the command line, the front end and the tests use it
// without paying for Halide.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "input_error.h"  // graph problems are InputErrors, e.g. "graphs/a.yaml:12:5: layer 'fc1': ..."
#include "lr_schedule.h"
#include "model_abi.h"

namespace netc {

struct SourceLoc {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based

  // "file:line:column: message"
  std::string format(const std::string& message) const;
};

// Throws InputError located at `loc`.
[[noreturn]] void fail_at(const SourceLoc& loc, const std::string& message);

// The output of a layer: an image C x H x W, or a flat vector of `c` features
// (then h == w == 1).
struct Shape {
  int64_t c = 0, h = 1, w = 1;
  bool flat = false;

  int64_t size() const { return c * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w && flat == o.flat; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  // "16 x 28 x 28" or "512"
  std::string str() const;
  // [C, H, W] or [features]
  std::vector<int64_t> dims() const;
  // The shape whose dims() are `dims`: [C, H, W] or [features].
  static Shape of_dims(const std::vector<int64_t>& dims);
};

struct HW {
  int64_t h = 0, w = 0;
  bool operator==(const HW& o) const { return h == o.h && w == o.w; }
};

// One attribute value as written in the file, with where it was written.
struct AttrValue {
  enum class Kind { Int, Pair, Float, Bool, String } kind = Kind::Int;
  int64_t i = 0;          // Int
  HW pair;                // Pair (an Int is also readable as a pair)
  double f = 0;           // Float (an Int is also readable as a float)
  bool b = false;         // Bool
  std::string s;          // String (e.g. padding: same)
  SourceLoc loc;
};

struct Layer {
  std::string name;
  std::string op;             // "conv2d", "relu", ...
  SourceLoc loc;              // the layer's map
  SourceLoc op_loc;           // its `op:` value
  std::vector<int> inputs;    // indices into Graph::layers; kGraphInput for the graph input
  SourceLoc inputs_loc;       // its `input:` value, or the layer when implicit
  std::map<std::string, AttrValue> attrs;  // the op's attributes, as given (no defaults)
  Shape output;               // filled by shape inference

  static constexpr int kGraphInput = -1;

  bool has(const std::string& attr) const { return attrs.count(attr) != 0; }
  const AttrValue& attr(const std::string& name) const { return attrs.at(name); }
  // Value or default, for the scalar kinds.
  int64_t int_attr(const std::string& name, int64_t dflt) const;
  HW pair_attr(const std::string& name, HW dflt) const;
  double float_attr(const std::string& name, double dflt) const;
  bool bool_attr(const std::string& name, bool dflt) const;
  // Where to point an error about `attr`: the attribute if given, else the layer.
  const SourceLoc& loc_of(const std::string& attr) const;
};

// A trainable tensor owned by a layer: the parameter record that compiled
// models carry (model_abi.h: name "<layer>.weight", PyTorch's shape, fan-in),
// and the layer that owns it.
struct ParamSpec : ParameterSpec {
  int layer = 0;  // owning layer index
};

// Random translations of the training images (train.augment).
struct AugmentConfig {
  int64_t shift = 0;  // up to this many pixels in x and in y; 0: none
};

struct TrainConfig {
  std::string dataset = "mnist";  // mnist, fashion-mnist, or a folder
  int64_t batch_size = 100;
  int64_t iterations = 3000;
  int64_t eval_every = 500;
  bool shuffle = true;
  uint64_t seed = 0;
  OptimizerSettings optimizer;  // model_abi.h; for adam and adamw lr 0.001, and weight_decay 0.01 for adamw, unless given
  LrSchedule lr_schedule;
  int64_t validation = 0;  // the last N training images, held out for validation
  AugmentConfig augment;
};

struct Graph {
  std::string file;        // path as given
  std::string name;
  std::string description;
  Shape input;             // the image C x H x W
  std::vector<Layer> layers;
  int output = 0;          // index of the logits layer
  std::string loss = "cross_entropy";
  TrainConfig train;
  std::vector<ParamSpec> params;  // in layer order, weight before bias

  int64_t num_classes() const { return layers[output].output.size(); }
  int64_t param_count() const;
  int64_t layer_param_count(int layer) const;
  int find_layer(const std::string& name) const;  // -1 if absent
  // The shapes of the inputs of layer `index`, in its `input` order.
  std::vector<Shape> input_shapes(int index) const;
};

// netc's limits on what a graph file may ask for (docs in README.md, "The
// graph format"): each is checked where the file says it, before any
// arithmetic, allocation or compilation depends on it.
inline constexpr size_t kMaxGraphFileBytes = 1 << 20;
// Names of graphs and layers: they name files, parameters and Halide stages.
inline constexpr size_t kMaxNameLength = 128;
// Channels, heights, widths, kernels, strides, paddings, features: Halide
// indexes with 32-bit integers.
inline constexpr int64_t kMaxSize = (int64_t(1) << 31) - 1;
// One tensor of one image (a layer's output, a parameter) in float32 within
// Halide's 2 GiB per buffer.
inline constexpr int64_t kMaxTensorElements = (int64_t(1) << 29) - 1;
// Layers per graph, layers with parameters (convolutions, linear layers:
// Halide's compile time grows faster than their count, 16 convolutions in a
// chain take 20 s, 32 take 90 s), and cells per pooling window (unrolled
// when compiled).
inline constexpr size_t kMaxLayers = 256;
inline constexpr size_t kMaxWeightedLayers = 64;
inline constexpr int64_t kMaxPoolWindow = 1024;
// The train section, as the command line's flags allow.
inline constexpr int64_t kMaxBatchSize = int64_t(1) << 20;
inline constexpr int64_t kMaxIterations = int64_t(1) << 40;
// Milestones of a multistep learning-rate schedule.
inline constexpr size_t kMaxMilestones = 1024;

// The text of a graph file; InputError "cannot read graph file PATH: reason"
// if it is missing, not a regular file (a FIFO is refused, never waited on)
// or larger than kMaxGraphFileBytes.
std::string read_graph_text(const std::string& path);

// The bytes a training step of `g` at `batch` images keeps in memory,
// roughly: the images, every layer's output with its gradient and a padded
// or repacked copy (three float buffers per output), and every parameter
// with its momentum, gradient and their updates (five). An estimate that
// errs high, for the memory budget.
uint64_t training_step_bytes(const Graph& g, int64_t batch);

// InputError, naming the largest tensor or the total, unless every buffer of
// a training step of `g` at `batch` fits Halide's 2 GiB per buffer and the
// step fits `budget_bytes` (`budget_name` says where the budget comes from,
// for the message: "this machine's memory", "--memory-limit 8").
void check_memory(const Graph& g, int64_t batch, uint64_t budget_bytes, const std::string& budget_name);

// Everything about the graph that decides what it computes, as a 64-bit hex
// fingerprint: layers, attributes, shapes, parameters (not the train
// section). Checkpoints and tuning logs of another graph are refused by it.
std::string graph_fingerprint(const Graph& g);

// Reads, validates and shape-checks a graph file. Throws InputError with
// FILE:LINE:COLUMN for every problem in it.
Graph load_graph(const std::string& path);
// The same from text already in memory; `file` names it in messages.
Graph parse_graph(const std::string& text, const std::string& file);

}  // namespace netc
