// Graph + weights -> ONNX. One node per layer (an `add` of more than two
// inputs is a Sum), named as the layer, whose output tensor is named as the
// layer too; the output layer's tensor is "logits". Attributes come from the
// op specs' resolved_attributes, so `same` padding and defaults are never
// re-derived here.
#include <fmt/format.h>

#include "front/onnx/onnx.h"
#include "front/onnx/onnx_proto.h"
#include "front/op_spec.h"

namespace netc {
namespace {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;

void add_ints(NodeProto& node, const std::string& name, std::vector<int64_t> values) {
  AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void add_int(NodeProto& node, const std::string& name, int64_t value) {
  AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::INT);
  a->set_i(value);
}

void add_float(NodeProto& node, const std::string& name, float value) {
  AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(AttributeProto::FLOAT);
  a->set_f(value);
}

// kernel_shape, strides and pads (begin and end alike) of a window op.
void add_window(NodeProto& node, const std::map<std::string, AttrValue>& attrs) {
  const HW k = attrs.at("kernel_size").pair, s = attrs.at("stride").pair, p = attrs.at("padding").pair;
  add_ints(node, "kernel_shape", {k.h, k.w});
  add_ints(node, "strides", {s.h, s.w});
  add_ints(node, "pads", {p.h, p.w, p.h, p.w});
}

void set_float_tensor_type(onnx::ValueInfoProto& v, const std::string& name, const std::vector<int64_t>& dims) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  auto* batch = tt->mutable_shape()->add_dim();
  batch->set_dim_param("N");
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

void add_initializer(onnx::GraphProto& g, const ParamSpec& p, const std::vector<float>& values) {
  TensorProto* t = g.add_initializer();
  t->set_name(p.name);
  t->set_data_type(TensorProto::FLOAT);
  int64_t count = 1;
  for (int64_t d : p.shape) {
    t->add_dims(d);
    count *= d;
  }
  if (int64_t(values.size()) != count)
    throw InputError(fmt::format("parameter '{}' has {} values, expected {}", p.name, values.size(), count));
  t->set_raw_data(values.data(), values.size() * sizeof(float));
}

}  // namespace

std::string export_onnx(const Graph& graph, const std::map<std::string, std::vector<float>>& weights,
                        const OnnxExportOptions& options) {
  if (options.opset < kMinOnnxExportOpset || options.opset > kMaxOnnxExportOpset)
    throw InputError(fmt::format("--opset {}: netc writes opsets {} to {}", options.opset, kMinOnnxExportOpset,
                                 kMaxOnnxExportOpset));
  onnx::ModelProto model;
  model.set_ir_version(kOnnxExportIrVersion);
  model.set_producer_name("netc");
  model.set_doc_string(graph.description);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name(graph.name);
  set_float_tensor_type(*g.add_input(), "input", graph.input.dims());

  // The tensor each layer writes.
  auto tensor_of = [&](int layer) { return layer == Layer::kGraphInput ? std::string("input")
                                            : layer == graph.output    ? std::string("logits")
                                                                       : graph.layers[size_t(layer)].name; };
  for (size_t i = 0; i < graph.layers.size(); ++i) {
    const Layer& l = graph.layers[i];
    const std::map<std::string, AttrValue> attrs = find_op(l.op)->resolved_attributes(l, graph.input_shapes(int(i)));
    NodeProto& node = *g.add_node();
    node.set_name(l.name);
    for (int in : l.inputs) node.add_input(tensor_of(in));
    node.add_output(tensor_of(int(i)));
    auto add_params = [&] {
      node.add_input(l.name + ".weight");
      if (attrs.at("bias").b) node.add_input(l.name + ".bias");
    };
    if (l.op == "conv2d") {
      node.set_op_type("Conv");
      add_params();
      add_window(node, attrs);
      add_ints(node, "dilations", {1, 1});
      add_int(node, "group", 1);
    } else if (l.op == "maxpool2d") {
      node.set_op_type("MaxPool");
      add_window(node, attrs);
    } else if (l.op == "avgpool2d") {
      node.set_op_type("AveragePool");
      add_window(node, attrs);
      add_int(node, "count_include_pad", 1);
    } else if (l.op == "relu" || l.op == "tanh" || l.op == "sigmoid") {
      node.set_op_type(l.op == "relu" ? "Relu" : l.op == "tanh" ? "Tanh" : "Sigmoid");
    } else if (l.op == "leaky_relu") {
      node.set_op_type("LeakyRelu");
      add_float(node, "alpha", float(attrs.at("negative_slope").f));
    } else if (l.op == "flatten") {
      // A vector stays as it is; an image becomes [N, C*H*W] in C-major order, as Flatten(axis 1) does.
      node.set_op_type(l.inputs[0] != Layer::kGraphInput && graph.layers[size_t(l.inputs[0])].output.flat ? "Identity"
                                                                                                            : "Flatten");
      if (node.op_type() == "Flatten") add_int(node, "axis", 1);
    } else if (l.op == "linear") {
      node.set_op_type("Gemm");
      add_params();
      add_int(node, "transB", 1);  // PyTorch's [out, in] weight: y = x W^T + b
    } else if (l.op == "add") {
      node.set_op_type(l.inputs.size() == 2 ? "Add" : "Sum");
    } else if (l.op == "concat") {
      node.set_op_type("Concat");
      add_int(node, "axis", 1);
    } else {
      throw std::logic_error("export_onnx: no ONNX mapping for op " + l.op);
    }
  }

  for (const ParamSpec& p : graph.params) {
    auto it = weights.find(p.name);
    if (it == weights.end()) throw InputError("no values for parameter '" + p.name + "'");
    add_initializer(g, p, it->second);
  }
  const std::vector<int64_t> logits_dims = {graph.num_classes()};
  if (options.softmax) {
    NodeProto& node = *g.add_node();
    node.set_name("softmax");
    node.set_op_type("Softmax");
    node.add_input("logits");
    node.add_output("probabilities");
    add_int(node, "axis", 1);
    set_float_tensor_type(*g.add_output(), "probabilities", logits_dims);
  } else {
    set_float_tensor_type(*g.add_output(), "logits", logits_dims);
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw std::runtime_error("export_onnx: the model did not serialize");
  return bytes;
}

}  // namespace netc
