// ONNX -> graph file + weights. The importer walks the nodes in order (ONNX
// requires a topological order; a node whose input no earlier node made is a
// cycle or a missing initializer) and keeps, per ONNX value, what netc knows
// of it: the output of a netc layer (with its shape), a constant (an
// initializer, a Constant node, a transposed constant), or a layer's output
// with zero padding still to apply (ONNX's Pad before a convolution or an
// average pooling, as torch.onnx writes it). Every attribute of a node is
// either understood or refused: nothing is ignored, so nothing is imported
// wrongly.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "front/onnx/onnx.h"
#include "front/onnx/onnx_proto.h"

namespace netc {

int64_t OnnxTensor::size() const { return is_int ? int64_t(ints.size()) : int64_t(floats.size()); }

namespace {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;

// A name or string from the model as a message shows it: bytes outside
// printable ASCII as \xNN, at most 80 of them, so that a message stays one
// line of bounded length whatever the model holds.
std::string shown(const std::string& s) {
  constexpr size_t kShownBytes = 80;
  std::string out;
  for (size_t i = 0; i < std::min(s.size(), kShownBytes); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f && c != '\\') ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
  }
  if (s.size() > kShownBytes) out += "...";
  return out;
}

std::string dims_text(const std::vector<int64_t>& dims) { return "[" + fmt::format("{}", fmt::join(dims, ", ")) + "]"; }

// The dimensions of `t`, checked: rank, each within netc's sizes, and their
// product within one tensor's limit.
std::vector<int64_t> checked_dims(const TensorProto& t, const std::string& where) {
  if (t.dims_size() > kMaxOnnxRank)
    throw InputError(fmt::format("{}: rank {} is above netc's limit of {}", where, t.dims_size(), kMaxOnnxRank));
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxSize)
      throw InputError(fmt::format("{}: dimension {} is outside 0 to {}", where, d, kMaxSize));
    dims.push_back(d);
    if (d != 0 && count > kMaxTensorElements / d)
      throw InputError(fmt::format("{}: {} values is above netc's limit of {} per tensor", where, dims_text(dims),
                                   kMaxTensorElements));
    count *= d;
  }
  return dims;
}

int64_t element_count(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// The values of `t` (float32 or int64), whose data must match its dimensions.
OnnxTensor tensor_of(const TensorProto& t, const std::string& where) {
  OnnxTensor out;
  out.dims = checked_dims(t, where);
  const int64_t count = element_count(out.dims);
  if (t.data_location() == TensorProto::EXTERNAL)
    throw OnnxUnsupported(where + ": data in an external file: netc reads models with their data inside");
  if (t.data_type() == TensorProto::FLOAT) {
    if (t.has_raw_data()) {
      if (uint64_t(t.raw_data().size()) != uint64_t(count) * 4)
        throw InputError(fmt::format("{}: {} holds {} values but raw_data has {} bytes", where, dims_text(out.dims),
                                     count, t.raw_data().size()));
      out.floats.resize(size_t(count));
      if (count) std::memcpy(out.floats.data(), t.raw_data().data(), size_t(count) * 4);
    } else {
      if (t.float_data_size() != count)
        throw InputError(fmt::format("{}: {} holds {} values but float_data has {}", where, dims_text(out.dims), count,
                                     t.float_data_size()));
      out.floats.assign(t.float_data().begin(), t.float_data().end());
    }
    return out;
  }
  if (t.data_type() == TensorProto::INT64) {
    out.is_int = true;
    if (t.has_raw_data()) {
      if (uint64_t(t.raw_data().size()) != uint64_t(count) * 8)
        throw InputError(fmt::format("{}: {} holds {} values but raw_data has {} bytes", where, dims_text(out.dims),
                                     count, t.raw_data().size()));
      out.ints.resize(size_t(count));
      if (count) std::memcpy(out.ints.data(), t.raw_data().data(), size_t(count) * 8);
    } else {
      if (t.int64_data_size() != count)
        throw InputError(fmt::format("{}: {} holds {} values but int64_data has {}", where, dims_text(out.dims), count,
                                     t.int64_data_size()));
      out.ints.assign(t.int64_data().begin(), t.int64_data().end());
    }
    return out;
  }
  throw OnnxUnsupported(fmt::format("{}: data type {}: netc reads float32 tensors (and int64 shapes)", where,
                                    TensorProto::DataType_Name(TensorProto::DataType(t.data_type()))));
}

// A netc layer being made: its graph-file line.
struct LayerLine {
  std::string name, op;
  std::vector<std::string> inputs;                       // empty: the previous layer
  std::vector<std::pair<std::string, std::string>> attrs;  // key, YAML value
};

// What netc knows of one ONNX value.
struct Value {
  enum class Kind { Data, Constant, Padded } kind = Kind::Data;
  std::string layer;  // Data, Padded: the netc layer that makes it ("input": the graph input)
  Shape shape;        // Data, Padded: netc's shape (of the tensor before the padding)
  int rank = 0;       // Data, Padded: the ONNX rank, batch included
  HW pad;             // Padded: zero padding on each side of height and width
  int bias_free_linear = -1;  // Data: the index of the linear layer without bias that made it
  OnnxTensor constant;  // Constant
};

std::string sanitized(const std::string& raw) {
  std::string s;
  for (char c : raw) s += (std::isalnum((unsigned char)c) || c == '_') ? c : '_';
  while (!s.empty() && s.front() == '_') s.erase(s.begin());
  while (!s.empty() && s.back() == '_') s.pop_back();
  if (!s.empty() && std::isdigit((unsigned char)s[0])) s = "_" + s;
  return s.substr(0, kMaxNameLength - 8);
}

std::string yaml_float(double v) { return fmt::format("{:.9g}", v); }
std::string yaml_pair(HW p) { return fmt::format("[{}, {}]", p.h, p.w); }

// One node's attributes, each of which must be read (understood) or it is refused.
class NodeAttributes {
 public:
  NodeAttributes(const NodeProto& node, const std::string& where) : where_(where) {
    if (node.attribute_size() > kMaxOnnxAttributes)
      throw InputError(fmt::format("{}: {} attributes, above netc's limit of {}", where, node.attribute_size(),
                                   kMaxOnnxAttributes));
    for (const AttributeProto& a : node.attribute()) {
      if (!attrs_.emplace(a.name(), &a).second)
        throw InputError(where + ": attribute '" + shown(a.name()) + "' given twice");
    }
  }

  bool has(const std::string& name) const { return attrs_.count(name) != 0; }

  int64_t get_int(const std::string& name, int64_t dflt) {
    const AttributeProto* a = take(name, AttributeProto::INT);
    return a ? a->i() : dflt;
  }
  float get_float(const std::string& name, float dflt) {
    const AttributeProto* a = take(name, AttributeProto::FLOAT);
    return a ? a->f() : dflt;
  }
  std::string get_string(const std::string& name, const std::string& dflt) {
    const AttributeProto* a = take(name, AttributeProto::STRING);
    return a ? a->s() : dflt;
  }
  std::vector<int64_t> get_ints(const std::string& name) {
    const AttributeProto* a = take(name, AttributeProto::INTS);
    if (!a) return {};
    if (a->ints_size() > kMaxOnnxRank * 2)
      throw InputError(fmt::format("{}: attribute {} has {} values", where_, name, a->ints_size()));
    return {a->ints().begin(), a->ints().end()};
  }
  const TensorProto* get_tensor(const std::string& name) {
    const AttributeProto* a = take(name, AttributeProto::TENSOR);
    return a ? &a->t() : nullptr;
  }

  // Refuses any attribute no getter read.
  void finish() const {
    for (const auto& [name, a] : attrs_)
      if (!used_.count(name))
        throw OnnxUnsupported(fmt::format("{}: attribute {} is not one netc maps", where_, shown(name)));
  }

 private:
  const AttributeProto* take(const std::string& name, AttributeProto::AttributeType type) {
    auto it = attrs_.find(name);
    if (it == attrs_.end()) return nullptr;
    used_.insert(name);
    if (it->second->type() != type)
      throw InputError(fmt::format("{}: attribute {} is a {}, expected a {}", where_, name,
                                   AttributeProto::AttributeType_Name(it->second->type()),
                                   AttributeProto::AttributeType_Name(type)));
    return it->second;
  }

  std::string where_;
  std::map<std::string, const AttributeProto*> attrs_;
  std::set<std::string> used_;
};

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& file, const std::string& name,
           const std::vector<OnnxTensor>& later_inputs)
      : model_(model), file_(file), name_(name), later_inputs_(later_inputs) {}

  ImportedModel run() {
    check_header();
    const onnx::GraphProto& g = model_.graph();
    read_initializers(g);
    read_inputs(g);
    count_uses(g);
    for (int k = 0; k < g.node_size(); ++k) import_node(g.node(k), k);
    read_output(g);
    result_.graph_yaml = graph_yaml(g);
    // The graph file made must be one netc accepts; if the loader refuses it,
    // the model uses something the graph format cannot express.
    try {
      parse_graph(result_.graph_yaml, file_ + " (imported)");
    } catch (const InputError& e) {
      throw OnnxUnsupported(fmt::format("{}: netc cannot express the imported graph: {}", file_, e.what()));
    }
    return std::move(result_);
  }

 private:
  void check_header() {
    int opset = 0;
    for (const auto& o : model_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = int(std::min<int64_t>(o.version(), 1 << 20));
    if (opset < kMinOnnxImportOpset || opset > kMaxOnnxImportOpset)
      throw OnnxUnsupported(fmt::format("{}: opset {} of the default domain: netc reads opsets {} to {}", file_, opset,
                                        kMinOnnxImportOpset, kMaxOnnxImportOpset));
    opset_ = opset;
    const onnx::GraphProto& g = model_.graph();
    if (g.node_size() > kMaxOnnxNodes)
      throw InputError(fmt::format("{}: {} nodes, above netc's limit of {}", file_, g.node_size(), kMaxOnnxNodes));
    if (g.initializer_size() > kMaxOnnxInitializers)
      throw InputError(fmt::format("{}: {} initializers, above netc's limit of {}", file_, g.initializer_size(),
                                   kMaxOnnxInitializers));
    if (g.input_size() > kMaxOnnxGraphValues || g.output_size() > kMaxOnnxGraphValues)
      throw InputError(fmt::format("{}: {} inputs and {} outputs, above netc's limit of {}", file_, g.input_size(),
                                   g.output_size(), kMaxOnnxGraphValues));
  }

  void read_initializers(const onnx::GraphProto& g) {
    for (const TensorProto& t : g.initializer()) {
      Value v;
      v.kind = Value::Kind::Constant;
      v.constant = tensor_of(t, fmt::format("{}: initializer '{}'", file_, shown(t.name())));
      define(t.name(), std::move(v), "initializer");
    }
  }

  // The first graph input that is not an initializer is the data; later ones
  // are constants from `later_inputs_`.
  void read_inputs(const onnx::GraphProto& g) {
    size_t later = 0;
    bool have_data = false;
    for (const onnx::ValueInfoProto& in : g.input()) {
      if (values_.count(in.name())) continue;  // an initializer's type
      if (have_data) {
        if (later >= later_inputs_.size())
          throw OnnxUnsupported(
              fmt::format("{}: graph input '{}': a netc graph has one input; the others must be initializers", file_,
                          shown(in.name())));
        Value v;
        v.kind = Value::Kind::Constant;
        v.constant = later_inputs_[later++];
        define(in.name(), std::move(v), "input");
        continue;
      }
      have_data = true;
      define(in.name(), data_input(in), "input");
    }
    if (!have_data) throw OnnxUnsupported(file_ + ": the graph has no input that is not an initializer");
  }

  Value data_input(const onnx::ValueInfoProto& in) {
    const std::string where = fmt::format("{}: graph input '{}'", file_, shown(in.name()));
    if (!in.type().has_tensor_type())
      throw OnnxUnsupported(where + ": not a tensor (a sequence, map or optional)");
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != TensorProto::FLOAT)
      throw OnnxUnsupported(fmt::format("{}: element type {}: netc's input is float32", where,
                                        TensorProto::DataType_Name(TensorProto::DataType(tt.elem_type()))));
    const auto& shape = tt.shape();
    if (shape.dim_size() < 1 || shape.dim_size() > 4)
      throw OnnxUnsupported(fmt::format("{}: rank {}: netc's input is a batch of images, ranks 1 to 4", where,
                                        shape.dim_size()));
    std::vector<int64_t> dims;
    for (int k = 0; k < shape.dim_size(); ++k) {
      const auto& d = shape.dim(k);
      if (!d.has_dim_value()) {
        if (k == 0) {
          dims.push_back(0);
          continue;
        }
        throw OnnxUnsupported(fmt::format("{}: dimension {} is symbolic; only the batch may be", where, k));
      }
      if (d.dim_value() == 0)
        throw OnnxUnsupported(fmt::format("{}: dimension {} is 0: netc has no empty tensors", where, k));
      if (d.dim_value() < 1 || d.dim_value() > kMaxSize)
        throw InputError(fmt::format("{}: dimension {} is {}, outside 1 to {}", where, k, d.dim_value(), kMaxSize));
      dims.push_back(d.dim_value());
    }
    result_.batch = dims[0];
    dims.resize(4, 1);
    Value v;
    v.layer = "input";
    v.rank = shape.dim_size();
    v.shape.c = v.rank >= 2 ? dims[1] : 1;
    v.shape.h = dims[2];
    v.shape.w = dims[3];
    input_shape_ = v.shape;
    if (input_shape_.size() > kMaxTensorElements)
      throw InputError(fmt::format("{}: {} values per image, above netc's limit of {}", where, input_shape_.size(),
                                   kMaxTensorElements));
    return v;
  }

  void count_uses(const onnx::GraphProto& g) {
    for (const NodeProto& n : g.node())
      for (const std::string& in : n.input()) ++uses_[in];
    for (const auto& out : g.output()) ++uses_[out.name()];
  }

  void define(const std::string& name, Value v, const std::string& what) {
    if (name.empty()) throw InputError(file_ + ": an " + what + " without a name");
    if (!values_.emplace(name, std::move(v)).second)
      throw InputError(fmt::format("{}: value '{}' is defined twice", file_, shown(name)));
  }

  // ---- the nodes ----

  void import_node(const NodeProto& node, int index) {
    node_ = &node;
    where_ = fmt::format("{}: node '{}' ({})", file_,
                         node.name().empty() ? fmt::format("#{}", index) : shown(node.name()), shown(node.op_type()));
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      throw OnnxUnsupported(
          fmt::format("{}: domain '{}': netc maps ONNX's default domain", where_, shown(node.domain())));
    for (const std::string& in : node.input())
      if (!in.empty() && !values_.count(in))
        throw InputError(fmt::format("{}: input '{}' is made by no earlier node and is no initializer or graph input "
                                     "(a missing initializer, or a cycle)",
                                     where_, shown(in)));
    if (node.output_size() < 1) throw InputError(where_ + ": no output");
    NodeAttributes attrs(node, where_);
    Value out = import_op(node, attrs, index);
    attrs.finish();
    define(node.output(0), std::move(out), "output");
  }

  Value import_op(const NodeProto& node, NodeAttributes& a, int index) {
    const std::string& op = node.op_type();
    if (node.output_size() != 1)
      throw OnnxUnsupported(fmt::format("{}: {} outputs; netc maps nodes with one", where_, node.output_size()));
    if (op == "Relu" || op == "Tanh" || op == "Sigmoid") return elementwise(lower(op), {}, index);
    if (op == "LeakyRelu")
      return elementwise("leaky_relu", {{"negative_slope", yaml_float(a.get_float("alpha", 0.01f))}}, index);
    if (op == "Identity") return input_value(0, "any");
    if (op == "Conv") return conv(a, index);
    if (op == "MaxPool" || op == "AveragePool") return pool(a, op == "MaxPool", index);
    if (op == "Flatten") return flatten(a, index);
    if (op == "Reshape") return reshape(a, index);
    if (op == "Gemm") return gemm(a, index);
    if (op == "MatMul") return matmul(index);
    if (op == "Add") return add(a, index);
    if (op == "Concat") return concat(a, index);
    if (op == "Constant") return constant(a);
    if (op == "Transpose") return transpose(a);
    if (op == "Pad") return pad(a);
    if (op == "Shape") return shape_of();
    if (op == "Gather") return gather(a);
    if (op == "Unsqueeze") return unsqueeze(a);
    if (op == "Softmax")
      throw OnnxUnsupported(where_ + ": netc graphs output logits (cross_entropy applies the softmax)");
    throw OnnxUnsupported(fmt::format("{}: op type {} is not one netc maps", where_, shown(op)));
  }

  static std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower((unsigned char)c));
    return s;
  }

  size_t input_count() const { return size_t(node_->input_size()); }
  bool has_input(int k) const { return node_->input_size() > k && !node_->input(k).empty(); }

  // Input k, which must be of `kind` ("data": a layer's output; "constant";
  // "any").
  const Value& input_value(int k, const std::string& kind) {
    if (!has_input(k)) throw InputError(fmt::format("{}: input {} is missing", where_, k));
    const Value& v = values_.at(node_->input(k));
    if (kind == "data" && v.kind != Value::Kind::Data) {
      if (v.kind == Value::Kind::Constant)
        throw OnnxUnsupported(fmt::format("{}: input '{}' is a constant: netc applies this op to layer outputs only",
                                          where_, shown(node_->input(k))));
      throw OnnxUnsupported(
          fmt::format("{}: input '{}' is padded by a Pad: netc pads only inside a convolution or average pooling",
                      where_, shown(node_->input(k))));
    }
    if (kind == "constant" && v.kind != Value::Kind::Constant)
      throw OnnxUnsupported(fmt::format("{}: input '{}' must be a constant (an initializer) in netc, where only "
                                        "the first graph input is data",
                                        where_, shown(node_->input(k))));
    return v;
  }

  const OnnxTensor& float_constant(int k) {
    const OnnxTensor& t = input_value(k, "constant").constant;
    if (t.is_int)
      throw InputError(fmt::format("{}: input '{}' is int64, expected float32", where_, shown(node_->input(k))));
    return t;
  }

  // A new netc layer reading `inputs` (netc layer names).
  int add_layer(const std::string& op, std::vector<std::string> inputs,
                std::vector<std::pair<std::string, std::string>> attrs, const std::string& weight_name, int index) {
    LayerLine line;
    line.name = unique_name(weight_name, index);
    line.op = op;
    line.inputs = std::move(inputs);
    line.attrs = std::move(attrs);
    layers_.push_back(std::move(line));
    return int(layers_.size()) - 1;
  }

  // A layer's name: PyTorch's module name where the weight says it
  // ("cnn1.weight" -> cnn1), else the node's name, else its op and index.
  std::string unique_name(const std::string& weight_name, int index) {
    std::string base;
    const std::string suffix = ".weight";
    if (weight_name.size() > suffix.size() &&
        weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0)
      base = sanitized(weight_name.substr(0, weight_name.size() - suffix.size()));
    if (base.empty() && node_) base = sanitized(node_->name());
    if (base.empty() || base == "input") base = fmt::format("{}_{}", lower(node_ ? node_->op_type() : "layer"), index);
    std::string name = base;
    for (int k = 2; used_names_.count(name); ++k) name = fmt::format("{}_{}", base, k);
    used_names_.insert(name);
    return name;
  }

  Value data_out(int layer, Shape shape, int rank) {
    Value v;
    v.layer = layers_[size_t(layer)].name;
    v.shape = shape;
    v.rank = rank;
    return v;
  }

  Value elementwise(const std::string& op, std::vector<std::pair<std::string, std::string>> attrs, int index) {
    const Value in = input_value(0, "data");
    return data_out(add_layer(op, {in.layer}, std::move(attrs), "", index), in.shape, in.rank);
  }

  // The netc layer holding `v` as a vector: itself, or a flatten of it
  // (ONNX's rank-2 values are F x 1 x 1 images in netc until something needs a vector).
  std::string as_vector(const std::string& value_name, const Value& v) {
    if (v.shape.flat) return v.layer;
    auto it = flattened_.find(value_name);
    if (it != flattened_.end()) return it->second;
    LayerLine line;
    line.name = sanitized(v.layer + "_flat");
    for (int k = 2; used_names_.count(line.name); ++k) line.name = fmt::format("{}_flat_{}", v.layer, k);
    used_names_.insert(line.name);
    line.op = "flatten";
    line.inputs = {v.layer};
    layers_.push_back(line);
    return flattened_[value_name] = line.name;
  }

  struct Window {
    HW kernel, stride{1, 1}, pad{0, 0};
  };

  // A window attribute of a node on a value of `rank` (kernel_shape, strides,
  // dilations: one value per axis; pads: the begins, then the ends), as the
  // 2-D one netc runs. The image of a rank-3 value [N, C, L] is C x L x 1, so a
  // 1-D window's second axis gets the identity: size 1, padding 0.
  std::vector<int64_t> window_attribute(NodeAttributes& a, const std::string& name, int rank) {
    std::vector<int64_t> v = a.get_ints(name);
    const size_t per_axis = name == "pads" ? 2 : 1;
    if (v.empty() || rank != 3) return v;
    if (v.size() != per_axis)
      throw InputError(fmt::format("{}: {} {} for a 1-D window (an input of rank 3)", where_, name, dims_text(v)));
    return per_axis == 2 ? std::vector<int64_t>{v[0], 0, v[1], 0} : std::vector<int64_t>{v[0], 1};
  }

  // kernel_shape, strides, pads, auto_pad and dilations of a Conv or pool on
  // an image of `in`, a value of rank 4 or 3 (a 1-D window).
  Window window(NodeAttributes& a, const Value& value, HW kernel_from_weights) {
    Window w;
    const Shape& in = value.shape;
    std::vector<int64_t> k = window_attribute(a, "kernel_shape", value.rank);
    if (k.empty() && kernel_from_weights.h) k = {kernel_from_weights.h, kernel_from_weights.w};
    if (k.size() != 2)
      throw OnnxUnsupported(fmt::format("{}: kernel_shape {}: netc's windows are 2-D (or 1-D on a rank-3 input)",
                                        where_, dims_text(k)));
    for (int64_t x : k)
      if (x < 1 || x > kMaxSize)
        throw InputError(fmt::format("{}: kernel_shape {} is out of range", where_, dims_text(k)));
    w.kernel = {k[0], k[1]};
    if (kernel_from_weights.h && !(w.kernel == kernel_from_weights))
      throw InputError(fmt::format("{}: kernel_shape {} differs from the weights' {} x {}", where_, dims_text(k),
                                   kernel_from_weights.h, kernel_from_weights.w));
    std::vector<int64_t> s = window_attribute(a, "strides", value.rank);
    if (!s.empty()) {
      if (s.size() != 2 || s[0] < 1 || s[1] < 1 || s[0] > kMaxSize || s[1] > kMaxSize)
        throw InputError(fmt::format("{}: strides {} are not two sizes >= 1", where_, dims_text(s)));
      w.stride = {s[0], s[1]};
    }
    for (int64_t d : window_attribute(a, "dilations", value.rank))
      if (d != 1) throw OnnxUnsupported(fmt::format("{}: attribute dilations: netc has no dilated windows", where_));
    std::vector<int64_t> p = window_attribute(a, "pads", value.rank);
    const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    if (!p.empty()) {
      if (p.size() != 4) throw InputError(fmt::format("{}: pads {} are not 4 values", where_, dims_text(p)));
      for (int64_t x : p)
        if (x < 0 || x > kMaxSize) throw InputError(fmt::format("{}: pads {} are out of range", where_, dims_text(p)));
      if (p[0] != p[2] || p[1] != p[3])
        throw OnnxUnsupported(fmt::format(
            "{}: attribute pads {}: netc pads both sides of an axis alike (begin = end)", where_, dims_text(p)));
      w.pad = {p[0], p[1]};
    }
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      if (!p.empty()) throw InputError(where_ + ": auto_pad and pads both given");
      w.pad = {same_pad(in.h, w.kernel.h, w.stride.h, auto_pad), same_pad(in.w, w.kernel.w, w.stride.w, auto_pad)};
    } else if (auto_pad != "NOTSET" && auto_pad != "VALID") {
      throw InputError(
          fmt::format("{}: auto_pad '{}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", where_, shown(auto_pad)));
    }
    return w;
  }

  // The padding on each side that auto_pad SAME_* means, when both sides get the same.
  int64_t same_pad(int64_t in, int64_t k, int64_t s, const std::string& mode) {
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (out - 1) * s + k - in);
    if (total % 2)
      throw OnnxUnsupported(fmt::format("{}: attribute auto_pad {} pads one side more than the other here; netc pads "
                                        "both sides alike",
                                        where_, mode));
    return total / 2;
  }

  static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

  const Value& image_input() {
    const Value& in = input_value(0, "any");
    if (in.kind == Value::Kind::Constant) input_value(0, "data");  // refuses, naming it
    if (in.rank != 4 && in.rank != 3)
      throw OnnxUnsupported(fmt::format("{}: input of rank {}: netc's convolutions and pools are 2-D (rank 4, NCHW), "
                                        "or 1-D (rank 3, NCL: an image of width 1)",
                                        where_, in.rank));
    return in;
  }

  Value conv(NodeAttributes& a, int index) {
    const Value in = image_input();
    const OnnxTensor& weight = float_constant(1);
    if (a.get_int("group", 1) != 1)
      throw OnnxUnsupported(fmt::format("{}: attribute group: netc's convolutions are not grouped", where_));
    if (weight.dims.size() != size_t(in.rank))
      throw OnnxUnsupported(fmt::format("{}: weight of shape {} for an input of rank {}: netc's convolutions are 2-D "
                                        "(or 1-D)",
                                        where_, dims_text(weight.dims), in.rank));
    if (weight.dims[1] != in.shape.c)
      throw InputError(fmt::format("{}: weight of shape {} for an input of {} channels", where_, dims_text(weight.dims),
                                   in.shape.c));
    // A 1-D kernel [O, C, K] holds the values of the 2-D [O, C, K, 1] in the same order.
    OnnxTensor weight_2d = weight;
    if (in.rank == 3) weight_2d.dims.push_back(1);
    Window w = window(a, in, {weight_2d.dims[2], weight_2d.dims[3]});
    if (in.kind == Value::Kind::Padded) w.pad = {w.pad.h + in.pad.h, w.pad.w + in.pad.w};
    const std::string& weight_name = node_->input(1);
    std::vector<std::pair<std::string, std::string>> attrs = {
        {"out_channels", std::to_string(weight.dims[0])}, {"kernel_size", yaml_pair(w.kernel)},
        {"stride", yaml_pair(w.stride)}, {"padding", yaml_pair(w.pad)}};
    const bool bias = has_input(2);
    if (!bias) attrs.push_back({"bias", "false"});
    const int layer = add_layer("conv2d", {in.layer}, attrs, weight_name, index);
    const std::string& name = layers_[size_t(layer)].name;
    result_.weights[name + ".weight"] = std::move(weight_2d);
    if (bias) result_.weights[name + ".bias"] = vector_constant(2, weight.dims[0], 1.0f, "B");
    const Shape out{weight.dims[0], out_size(in.shape.h + 0, w.kernel.h, w.stride.h, w.pad.h),
                    out_size(in.shape.w, w.kernel.w, w.stride.w, w.pad.w), false};
    return data_out(layer, out, in.rank);
  }

  // Constant input k as `n` values times `scale`: of shape [n], [1, n], or a
  // single value broadcast to n.
  OnnxTensor vector_constant(int k, int64_t n, float scale, const std::string& what) {
    const OnnxTensor& t = float_constant(k);
    const bool single = t.floats.size() == 1 && t.dims.size() <= 2;
    const bool row = int64_t(t.floats.size()) == n && (t.dims.size() == 1 || (t.dims.size() == 2 && t.dims[0] == 1));
    if (!single && !row)
      throw OnnxUnsupported(fmt::format("{}: input {} of shape {}: netc's bias is one value per output ({})", where_,
                                        what, dims_text(t.dims), n));
    OnnxTensor out;
    out.dims = {n};
    out.floats.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) out.floats[size_t(i)] = scale * t.floats[single ? 0 : size_t(i)];
    return out;
  }

  Value pool(NodeAttributes& a, bool max, int index) {
    const Value in = image_input();
    Window w = window(a, in, {0, 0});
    const int64_t ceil_mode = a.get_int("ceil_mode", 0);
    if (max) {
      if (a.get_int("storage_order", 0) != 0)
        throw OnnxUnsupported(fmt::format("{}: attribute storage_order: netc's max pooling has no indices", where_));
      if (in.kind == Value::Kind::Padded)
        throw OnnxUnsupported(fmt::format("{}: a Pad before a MaxPool pads with zeros, which netc's max pooling does "
                                          "not (its padded cells never win)",
                                          where_));
    } else {
      const bool counts_pad = a.get_int("count_include_pad", 0) != 0;
      if ((w.pad.h || w.pad.w) && !counts_pad)
        throw OnnxUnsupported(fmt::format("{}: attribute count_include_pad = 0 with padding: netc's average pooling "
                                          "counts padded cells (as count_include_pad = 1)",
                                          where_));
      if (in.kind == Value::Kind::Padded) {
        if (w.pad.h || w.pad.w)
          throw OnnxUnsupported(fmt::format("{}: padding both in a Pad and in the pool", where_));
        w.pad = in.pad;
      }
    }
    const Shape out{in.shape.c, out_size(in.shape.h, w.kernel.h, w.stride.h, w.pad.h),
                    out_size(in.shape.w, w.kernel.w, w.stride.w, w.pad.w), false};
    if (ceil_mode) {
      auto ceil_size = [](int64_t n, int64_t k, int64_t s, int64_t p) { return (n + 2 * p - k + s - 1) / s + 1; };
      if (ceil_size(in.shape.h, w.kernel.h, w.stride.h, w.pad.h) != out.h ||
          ceil_size(in.shape.w, w.kernel.w, w.stride.w, w.pad.w) != out.w)
        throw OnnxUnsupported(fmt::format("{}: attribute ceil_mode = 1: netc's pools round the output size down",
                                          where_));
    }
    const int layer = add_layer(max ? "maxpool2d" : "avgpool2d", {in.layer},
                                {{"kernel_size", yaml_pair(w.kernel)},
                                 {"stride", yaml_pair(w.stride)},
                                 {"padding", yaml_pair(w.pad)}},
                                "", index);
    return data_out(layer, out, in.rank);
  }

  // Flatten to [N, everything else]: netc's flatten (or nothing, for what is already a vector).
  Value flattened(const Value& in, int index) {
    if (in.rank <= 2 && in.shape.flat) return in;
    const int layer = add_layer("flatten", {in.layer}, {}, "", index);
    Value v = data_out(layer, Shape{in.shape.size(), 1, 1, true}, 2);
    return v;
  }

  Value flatten(NodeAttributes& a, int index) {
    const Value in = input_value(0, "data");
    int64_t axis = a.get_int("axis", 1);
    if (axis < 0) axis += in.rank;
    if (axis != 1)
      throw OnnxUnsupported(fmt::format("{}: attribute axis = {}: netc flattens all but the batch (axis 1)", where_,
                                        a.has("axis") ? axis : 1));
    return flattened(in, index);
  }

  Value reshape(NodeAttributes& a, int index) {
    const Value in = input_value(0, "data");
    const OnnxTensor& shape = input_value(1, "constant").constant;
    const bool allow_zero = a.get_int("allowzero", 0) != 0;
    if (!shape.is_int) throw InputError(where_ + ": its shape is not int64");
    // [N, -1], [0, -1], [-1, size] or [N, size]: netc's flatten.
    const int64_t size = in.shape.size();
    bool flat = shape.ints.size() == 2 && !allow_zero;
    if (flat) {
      const int64_t n = shape.ints[0], f = shape.ints[1];
      const bool batch_kept = n == 0 || n == kBatch || (result_.batch && n == result_.batch) || (n == -1 && f == size);
      flat = batch_kept && (f == -1 || f == size);
    }
    if (!flat) {
      std::vector<int64_t> shown = shape.ints;
      for (int64_t& d : shown)
        if (d == kBatch) d = 0;
      throw OnnxUnsupported(fmt::format("{}: shape {}: netc reshapes only to [batch, {}] (a flatten)", where_,
                                        dims_text(shown), size));
    }
    return flattened(in, index);
  }

  // A linear layer on data input 0 with weight W ([out, in]) and maybe a bias.
  Value linear(const OnnxTensor& w, const OnnxTensor* bias, const std::string& weight_name, int index) {
    const std::string& value_name = node_->input(0);
    const Value& in = input_value(0, "data");
    if (in.rank != 2)
      throw OnnxUnsupported(fmt::format("{}: input of rank {}: netc's linear layers take [batch, features]", where_,
                                        in.rank));
    if (w.dims[1] != in.shape.size())
      throw InputError(fmt::format("{}: weight of {} inputs for {} features", where_, w.dims[1], in.shape.size()));
    const std::string source = as_vector(value_name, in);
    std::vector<std::pair<std::string, std::string>> attrs = {{"out_features", std::to_string(w.dims[0])}};
    if (!bias) attrs.push_back({"bias", "false"});
    const int layer = add_layer("linear", {source}, attrs, weight_name, index);
    const std::string& name = layers_[size_t(layer)].name;
    result_.weights[name + ".weight"] = w;
    if (bias) result_.weights[name + ".bias"] = *bias;
    Value v = data_out(layer, Shape{w.dims[0], 1, 1, true}, 2);
    if (!bias) v.bias_free_linear = layer;
    return v;
  }

  static OnnxTensor transposed(const OnnxTensor& t) {
    OnnxTensor out;
    out.dims = {t.dims[1], t.dims[0]};
    out.floats.resize(t.floats.size());
    for (int64_t i = 0; i < t.dims[0]; ++i)
      for (int64_t j = 0; j < t.dims[1]; ++j) out.floats[size_t(j * t.dims[0] + i)] = t.floats[size_t(i * t.dims[1] + j)];
    return out;
  }

  const OnnxTensor& matrix_constant(int k) {
    const OnnxTensor& t = float_constant(k);
    if (t.dims.size() != 2)
      throw OnnxUnsupported(fmt::format("{}: input '{}' of shape {}: netc's linear layers take a matrix", where_,
                                        shown(node_->input(k)), dims_text(t.dims)));
    return t;
  }

  Value gemm(NodeAttributes& a, int index) {
    if (a.get_int("transA", 0) != 0)
      throw OnnxUnsupported(fmt::format("{}: attribute transA = 1: netc's linear layers read [batch, features]", where_));
    const bool trans_b = a.get_int("transB", 0) != 0;
    const float alpha = a.get_float("alpha", 1.0f), beta = a.get_float("beta", 1.0f);
    if (opset_ < 7) a.get_int("broadcast", 0);  // C broadcasts in any case below
    OnnxTensor w = trans_b ? matrix_constant(1) : transposed(matrix_constant(1));
    if (alpha != 1.0f)
      for (float& x : w.floats) x *= alpha;
    if (has_input(2) && beta != 0.0f) {
      OnnxTensor bias = vector_constant(2, w.dims[0], beta, "C");
      return linear(w, &bias, node_->input(1), index);
    }
    return linear(w, nullptr, node_->input(1), index);
  }

  Value matmul(int index) { return linear(transposed(matrix_constant(1)), nullptr, node_->input(1), index); }

  Value add(NodeAttributes& a, int index) {
    if (opset_ < 7) {
      a.get_int("broadcast", 0);
      a.get_int("axis", 0);
    }
    const Value& x = input_value(0, "any");
    const Value& y = input_value(1, "any");
    if (x.kind == Value::Kind::Constant && y.kind == Value::Kind::Constant)
      throw OnnxUnsupported(where_ + ": both inputs are constants: netc has no constant tensors");
    if (x.kind == Value::Kind::Constant || y.kind == Value::Kind::Constant) return bias_add(x.kind == Value::Kind::Constant ? 1 : 0);
    input_value(0, "data");
    input_value(1, "data");
    if (x.shape.size() != y.shape.size() || x.rank != y.rank)
      throw OnnxUnsupported(fmt::format("{}: inputs of shapes {} and {}: netc adds tensors of one shape (no "
                                        "broadcasting)",
                                        where_, x.shape.str(), y.shape.str()));
    std::vector<std::string> sources = {x.layer, y.layer};
    if (x.shape.flat != y.shape.flat) sources = {as_vector(node_->input(0), x), as_vector(node_->input(1), y)};
    const bool flat = x.shape.flat || y.shape.flat;
    Shape s = flat ? Shape{x.shape.size(), 1, 1, true} : x.shape;
    return data_out(add_layer("add", sources, {}, "", index), s, x.rank);
  }

  // Data + constant: the bias of the bias-free linear layer that made the data.
  Value bias_add(int data_index) {
    const Value& x = input_value(data_index, "data");
    const std::string& x_name = node_->input(data_index);
    if (x.bias_free_linear < 0 || uses_[x_name] != 1)
      throw OnnxUnsupported(fmt::format("{}: adding a constant: netc adds constants only as the bias of a linear "
                                        "layer (MatMul + Add)",
                                        where_));
    const int64_t n = x.shape.size();
    OnnxTensor bias = vector_constant(1 - data_index, n, 1.0f, "B");
    LayerLine& line = layers_[size_t(x.bias_free_linear)];
    line.attrs.erase(std::remove_if(line.attrs.begin(), line.attrs.end(),
                                    [](const auto& kv) { return kv.first == "bias"; }),
                     line.attrs.end());
    result_.weights[line.name + ".bias"] = bias;
    Value v = x;
    v.bias_free_linear = -1;
    return v;
  }

  Value concat(NodeAttributes& a, int index) {
    if (!a.has("axis") && opset_ >= 4) throw InputError(where_ + ": attribute axis is required");
    int64_t axis = a.get_int("axis", 1);
    if (has_input(0) && values_.at(node_->input(0)).kind == Value::Kind::Constant) return shape_concat(axis);
    if (node_->input_size() < 2)
      throw OnnxUnsupported(fmt::format("{}: {} input: netc concatenates 2 or more", where_, node_->input_size()));
    std::vector<const Value*> ins;
    bool any_flat = false;
    for (int k = 0; k < node_->input_size(); ++k) {
      ins.push_back(&input_value(k, "data"));
      any_flat = any_flat || ins.back()->shape.flat;
    }
    const int rank = ins[0]->rank;
    if (axis < 0) axis += rank;
    if (axis != 1)
      throw OnnxUnsupported(fmt::format("{}: attribute axis = {}: netc concatenates channels or features (axis 1)",
                                        where_, a.has("axis") ? axis : 1));
    std::vector<std::string> sources;
    int64_t channels = 0;
    for (int k = 0; k < node_->input_size(); ++k) {
      if (ins[size_t(k)]->rank != rank)
        throw InputError(fmt::format("{}: inputs of ranks {} and {}", where_, rank, ins[size_t(k)]->rank));
      sources.push_back(any_flat ? as_vector(node_->input(k), *ins[size_t(k)]) : ins[size_t(k)]->layer);
      channels += any_flat ? ins[size_t(k)]->shape.size() : ins[size_t(k)]->shape.c;
    }
    Shape s = any_flat ? Shape{channels, 1, 1, true} : Shape{channels, ins[0]->shape.h, ins[0]->shape.w, false};
    return data_out(add_layer("concat", sources, {}, "", index), s, rank);
  }

  Value constant(NodeAttributes& a) {
    const TensorProto* t = a.get_tensor("value");
    if (!t) throw OnnxUnsupported(where_ + ": a Constant without a tensor 'value' (value_float, ...)");
    Value v;
    v.kind = Value::Kind::Constant;
    v.constant = tensor_of(*t, where_ + ": value");
    return v;
  }

  Value transpose(NodeAttributes& a) {
    const Value& in = input_value(0, "any");
    if (in.kind != Value::Kind::Constant)
      throw OnnxUnsupported(where_ + ": netc transposes only constants (weights), not layer outputs");
    const OnnxTensor& t = float_constant(0);
    std::vector<int64_t> perm = a.get_ints("perm");
    if (t.dims.size() != 2 || (!perm.empty() && perm != std::vector<int64_t>{1, 0}))
      throw OnnxUnsupported(fmt::format("{}: a transpose of a {} constant with perm {}: netc transposes matrices", where_,
                                        dims_text(t.dims), dims_text(perm)));
    Value v;
    v.kind = Value::Kind::Constant;
    v.constant = transposed(t);
    return v;
  }

  // ---- shapes computed in the graph: x.view(x.size(0), -1) as torch.onnx
  // writes it (Shape, Gather, Unsqueeze, Concat, Reshape). Shapes are int64
  // constants in which kBatch stands for the batch dimension.

  static constexpr int64_t kBatch = INT64_MIN;

  const OnnxTensor& int_vector(int k) {
    const OnnxTensor& t = input_value(k, "constant").constant;
    if (!t.is_int || t.dims.size() > 1)
      throw OnnxUnsupported(fmt::format("{}: input '{}' is not an int64 scalar or vector: netc computes only shapes",
                                        where_, shown(node_->input(k))));
    return t;
  }

  static Value int_constant(std::vector<int64_t> values, bool scalar) {
    Value v;
    v.kind = Value::Kind::Constant;
    v.constant.is_int = true;
    if (!scalar) v.constant.dims = {int64_t(values.size())};
    v.constant.ints = std::move(values);
    return v;
  }

  Value shape_of() {
    const Value& in = input_value(0, "data");
    std::vector<int64_t> dims = {kBatch};
    if (in.shape.flat || in.rank == 2) dims.push_back(in.shape.size());
    if (!in.shape.flat && in.rank >= 3) dims.insert(dims.end(), {in.shape.c, in.shape.h});
    if (!in.shape.flat && in.rank == 4) dims.push_back(in.shape.w);
    return int_constant(dims, false);
  }

  Value gather(NodeAttributes& a) {
    const OnnxTensor& data = int_vector(0);
    const OnnxTensor& indices = int_vector(1);
    if (a.get_int("axis", 0) != 0 || data.dims.size() != 1)
      throw OnnxUnsupported(where_ + ": netc gathers only from a 1-D shape, on axis 0");
    std::vector<int64_t> out;
    for (int64_t i : indices.ints) {
      const int64_t n = int64_t(data.ints.size());
      if (i < -n || i >= n) throw InputError(fmt::format("{}: index {} outside a shape of {} values", where_, i, n));
      out.push_back(data.ints[size_t(i < 0 ? i + n : i)]);
    }
    return int_constant(out, indices.dims.empty());
  }

  Value unsqueeze(NodeAttributes& a) {
    const OnnxTensor& data = int_vector(0);
    std::vector<int64_t> axes = opset_ >= 13 ? int_vector(1).ints : a.get_ints("axes");
    if (!data.dims.empty() || axes != std::vector<int64_t>{0})
      throw OnnxUnsupported(where_ + ": netc unsqueezes only a scalar of a shape, on axis 0");
    return int_constant(data.ints, false);
  }

  Value shape_concat(int64_t axis) {
    if (axis != 0 && axis != -1) throw OnnxUnsupported(where_ + ": netc concatenates shapes on axis 0 only");
    std::vector<int64_t> out;
    for (int k = 0; k < node_->input_size(); ++k) {
      const OnnxTensor& t = int_vector(k);
      if (t.dims.size() != 1) throw InputError(where_ + ": a scalar concatenated");
      out.insert(out.end(), t.ints.begin(), t.ints.end());
    }
    return int_constant(out, false);
  }

  // Zero padding of height and width, applied by the convolution or average
  // pooling that reads it.
  Value pad(NodeAttributes& a) {
    const Value in = input_value(0, "data");
    if (a.get_string("mode", "constant") != "constant")
      throw OnnxUnsupported(where_ + ": attribute mode: netc pads with zeros only (mode constant)");
    std::vector<int64_t> pads;
    float value = 0;
    if (opset_ < 11) {
      pads = a.get_ints("pads");
      value = a.get_float("value", 0.0f);
    } else {
      const OnnxTensor& p = input_value(1, "constant").constant;
      if (!p.is_int) throw InputError(where_ + ": pads are not int64");
      pads = p.ints;
      if (has_input(2)) {
        const OnnxTensor& c = float_constant(2);
        if (c.floats.size() != 1) throw InputError(where_ + ": constant_value is not one value");
        value = c.floats[0];
      }
    }
    if (value != 0) throw OnnxUnsupported(where_ + ": a constant_value other than 0: netc pads with zeros");
    if (in.rank != 4 || pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5] || pads[2] != pads[6] ||
        pads[3] != pads[7] || pads[2] < 0 || pads[3] < 0 || pads[2] > kMaxSize || pads[3] > kMaxSize)
      throw OnnxUnsupported(fmt::format("{}: pads {}: netc pads height and width of an NCHW tensor, both sides alike",
                                        where_, dims_text(pads)));
    Value v = in;
    v.kind = Value::Kind::Padded;
    v.pad = {pads[2], pads[3]};
    return v;
  }

  // ---- the output and the graph file ----

  void read_output(const onnx::GraphProto& g) {
    if (g.output_size() != 1)
      throw OnnxUnsupported(fmt::format("{}: {} graph outputs: a netc graph has one", file_, g.output_size()));
    const onnx::ValueInfoProto& out = g.output(0);
    auto it = values_.find(out.name());
    if (it == values_.end()) throw InputError(fmt::format("{}: graph output '{}' is made by no node", file_, shown(out.name())));
    node_ = nullptr;
    where_ = fmt::format("{}: graph output '{}'", file_, shown(out.name()));
    if (it->second.kind != Value::Kind::Data)
      throw OnnxUnsupported(where_ + ": not the output of a layer (a constant, or padding no layer applies)");
    if (out.type().has_tensor_type())
      for (const auto& d : out.type().tensor_type().shape().dim())
        result_.output_dims.push_back(d.has_dim_value() ? d.dim_value() : 0);
    // netc's output is a vector of logits: a flatten keeps the values in
    // ONNX's row-major order.
    output_layer_ = as_vector(out.name(), it->second);
  }

  std::string graph_yaml(const onnx::GraphProto& g) const {
    std::string y = fmt::format("name: {}\n", name_);
    std::string producer = model_.producer_name().empty() ? "an unnamed producer" : model_.producer_name();
    std::string desc = fmt::format("imported from ONNX (graph '{}', {}, opset {})", g.name(), producer, opset_);
    y += "description: \"";
    for (char c : desc) y += (c == '"' || c == '\\') ? '_' : (std::isprint((unsigned char)c) ? c : ' ');
    y += "\"\n";
    y += fmt::format("input: {{channels: {}, height: {}, width: {}}}\n", input_shape_.c, input_shape_.h,
                     input_shape_.w);
    y += "layers:\n";
    std::string previous = "input";
    for (const LayerLine& l : layers_) {
      y += fmt::format("  - {{name: {}, op: {}", l.name, l.op);
      if (l.inputs.size() > 1)
        y += fmt::format(", input: [{}]", fmt::join(l.inputs, ", "));
      else if (l.inputs[0] != previous || &l == &layers_.front())
        y += ", input: " + l.inputs[0];
      for (const auto& [k, v] : l.attrs) y += fmt::format(", {}: {}", k, v);
      y += "}\n";
      previous = l.name;
    }
    y += "output: " + output_layer_ + "\n";
    if (result_.batch && result_.batch <= kMaxBatchSize)
      y += fmt::format("train: {{batch_size: {}}}\n", result_.batch);
    return y;
  }

  const onnx::ModelProto& model_;
  std::string file_, name_;
  const std::vector<OnnxTensor>& later_inputs_;
  int opset_ = 0;
  ImportedModel result_;
  Shape input_shape_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::map<std::string, std::string> flattened_;  // ONNX value -> the flatten layer made of it
  std::vector<LayerLine> layers_;
  std::set<std::string> used_names_{"input"};
  std::string output_layer_;
  const NodeProto* node_ = nullptr;
  std::string where_;
};

}  // namespace

OnnxTensor read_onnx_tensor(const std::string& bytes, const std::string& file) {
  TensorProto t;
  parse_onnx_message(t, bytes, file, "tensor");
  return tensor_of(t, file);
}

ImportedModel import_onnx(const std::string& bytes, const std::string& file, const std::string& name,
                          const std::vector<OnnxTensor>& later_inputs) {
  onnx::ModelProto model;
  parse_onnx_message(model, bytes, file, "model");
  return Importer(model, file, name, later_inputs).run();
}

std::vector<std::string> onnx_graph_inputs(const std::string& bytes, const std::string& file) {
  onnx::ModelProto model;
  parse_onnx_message(model, bytes, file, "model");
  std::set<std::string> initializers;
  for (const TensorProto& t : model.graph().initializer()) initializers.insert(t.name());
  std::vector<std::string> inputs;
  for (const auto& in : model.graph().input()) {
    if (initializers.count(in.name())) continue;
    const auto& type = in.type();
    if (!type.has_tensor_type() ||
        (type.tensor_type().elem_type() != TensorProto::FLOAT && type.tensor_type().elem_type() != TensorProto::INT64))
      throw OnnxUnsupported(fmt::format(
          "{}: graph input '{}' is {}: netc's tensors are float32 (and int64 shapes)", file, shown(in.name()),
          type.has_tensor_type()
              ? "of element type " + TensorProto::DataType_Name(TensorProto::DataType(type.tensor_type().elem_type()))
              : std::string("not a tensor (a sequence, optional or map)")));
    inputs.push_back(in.name());
  }
  if (inputs.empty()) throw OnnxUnsupported(file + ": the graph has no input that is not an initializer");
  return inputs;
}

}  // namespace netc
