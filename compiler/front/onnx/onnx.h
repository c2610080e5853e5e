// ONNX models in and out of netc's graph format (docs/onnx.md): the one
// reader and writer of ONNX files. Halide-free, like the rest of the front
// end; the protobuf classes are those of Debian's libonnx (onnx-ml.pb.h) and
// stay inside this module.
//
// Every read is bounded: the file's size, the protobuf nesting, the counts of
// nodes, initializers, attributes and dimensions, every dimension and every
// tensor's element count are checked before anything is sized by them, and a
// tensor's data must hold exactly the values its dimensions say.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "front/graph.h"

namespace netc {

// The largest ONNX model and the largest tensor file (a node test's
// input_0.pb) netc reads.
inline constexpr uint64_t kMaxOnnxModelBytes = uint64_t(1) << 30;
inline constexpr uint64_t kMaxOnnxTensorBytes = uint64_t(1) << 30;
// Counts in one model: nodes, initializers, graph inputs and outputs,
// attributes of a node, dimensions of a tensor, and protobuf nesting.
inline constexpr int kMaxOnnxNodes = 4096;
inline constexpr int kMaxOnnxInitializers = 4096;
inline constexpr int kMaxOnnxGraphValues = 256;
inline constexpr int kMaxOnnxAttributes = 64;
inline constexpr int kMaxOnnxRank = 8;
inline constexpr int kMaxOnnxNesting = 32;
// The opsets netc reads (the node tests' oldest is 6) and writes.
inline constexpr int kMinOnnxImportOpset = 6;
inline constexpr int kMaxOnnxImportOpset = 18;
inline constexpr int kMinOnnxExportOpset = 13;
inline constexpr int kMaxOnnxExportOpset = 17;
// The IR version netc writes: ONNX 1.12's checker reads up to 8.
inline constexpr int kOnnxExportIrVersion = 8;

// A model that is a valid ONNX model but uses something netc's graph format
// cannot express: the message names the node, its op type and the attribute
// or shape. An InputError (exit code 2) to `netc import`, "unsupported" to
// `netc onnx-test`.
class OnnxUnsupported : public InputError {
 public:
  using InputError::InputError;
};

// A float32 or int64 tensor, row-major.
struct OnnxTensor {
  std::vector<int64_t> dims;
  bool is_int = false;
  std::vector<float> floats;   // when !is_int
  std::vector<int64_t> ints;   // when is_int
  int64_t size() const;
};

// A TensorProto file (a node test's input_k.pb or output_k.pb); InputError
// naming `file` if it is malformed, of another data type, or its data do not
// match its dimensions.
OnnxTensor read_onnx_tensor(const std::string& bytes, const std::string& file);

// What `netc import` makes of a model.
struct ImportedModel {
  std::string graph_yaml;                     // a graph file (docs/graph-format.md)
  std::map<std::string, OnnxTensor> weights;  // the graph's parameters, PyTorch's layouts
  int64_t batch = 0;                          // the input's first dimension, 0 when symbolic
  std::vector<int64_t> output_dims;           // the ONNX output's dimensions, batch first (0: symbolic)
};

// Imports the ONNX model in `bytes` (read from `file`, named in messages) as
// a graph called `name`. Graph inputs after the first (initializers excluded)
// are taken as constants with the values `later_inputs` gives, in order, as
// ONNX's node tests pass weights as inputs; without them such a model is
// refused. InputError for a malformed model, OnnxUnsupported for one netc
// cannot express; the graph file it returns is valid (checked with
// parse_graph).
ImportedModel import_onnx(const std::string& bytes, const std::string& file, const std::string& name,
                          const std::vector<OnnxTensor>& later_inputs = {});

// The graph inputs of the model in `bytes` that are not initializers, in
// order; OnnxUnsupported if there are none, or one is not a float32 or int64
// tensor (so that a test's input files are read only where they can be used).
std::vector<std::string> onnx_graph_inputs(const std::string& bytes, const std::string& file);

struct OnnxExportOptions {
  int opset = kMinOnnxExportOpset;
  bool softmax = false;  // output probabilities (Softmax on the logits) instead of logits
};

// The inference graph of `graph` as a serialized ONNX model: input "input"
// (N x C x H x W, N symbolic), output "logits" (or "probabilities"), the
// parameters in `weights` (every name of graph.params, PyTorch's layouts) as
// initializers, and each layer's name on its node.
std::string export_onnx(const Graph& graph, const std::map<std::string, std::vector<float>>& weights,
                        const OnnxExportOptions& options);

}  // namespace netc
