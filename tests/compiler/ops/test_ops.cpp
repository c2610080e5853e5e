// Every op against PyTorch (fixtures from tools/make_op_fixtures.py) and
// against central finite differences of its own forward pass in float64:
// one shared checker for all ops, as Caffe's GradientChecker.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "front/loader.h"
#include "lower/pipeline.h"
#include "safetensors.h"

namespace netc {
namespace {

const std::string kFixtures = std::string(NETC_SOURCE_DIR) + "/tests/fixtures/ops/";

struct OpCase {
  std::string name;
  Layer layer;
  std::vector<Shape> in_shapes;
  int64_t batch;
  std::map<std::string, SafeTensor> tensors;
};

std::vector<OpCase> load_cases() {
  std::ifstream in(kFixtures + "cases.json");
  nlohmann::json cases = nlohmann::json::parse(in);
  std::vector<OpCase> out;
  for (const auto& c : cases) {
    if (c.at("kind") != "op") continue;
    OpCase oc;
    oc.name = c.at("name");
    std::vector<InputInfo> infos;
    for (const auto& dims : c.at("inputs")) {
      oc.in_shapes.push_back(Shape::of_dims(dims.get<std::vector<int64_t>>()));
      infos.push_back({"x", oc.in_shapes.back(), oc.in_shapes.back().str()});
    }
    nlohmann::json layer = c.at("layer");
    layer["name"] = "layer";
    oc.layer = parse_single_layer(layer.dump(), infos);
    oc.batch = c.at("batch");
    oc.tensors = read_safetensors(kFixtures + c.at("file").get<std::string>());
    out.push_back(std::move(oc));
  }
  return out;
}

// A Halide buffer (dimensions reversed) of a PyTorch-layout tensor.
template <typename T>
Halide::Buffer<T> to_buffer(const SafeTensor& t) {
  std::vector<int> dims(t.shape.rbegin(), t.shape.rend());
  Halide::Buffer<T> b(dims);
  size_t k = 0;
  b.for_each_value([&](T& v) { v = T(t.data[k++]); });  // dense, dimension 0 fastest: the same order
  return b;
}

// The names of the layer pipeline's inputs and outputs, in call order,
// which are also the names of the fixture's tensors.
std::vector<std::string> input_names(const OpCase& c) {
  std::vector<std::string> names;
  for (size_t k = 0; k < c.in_shapes.size(); ++k) names.push_back("x" + std::to_string(k));
  for (const char* role : {"weight", "bias"})
    if (c.tensors.count(role)) names.push_back(role);
  names.push_back("gy");
  return names;
}

std::vector<std::string> output_names(const OpCase& c) {
  std::vector<std::string> names = {"y"};
  for (size_t k = 0; k < c.in_shapes.size(); ++k) names.push_back("gx" + std::to_string(k));
  for (const char* role : {"weight", "bias"})
    if (c.tensors.count(role)) names.push_back(std::string("g") + role);
  return names;
}

// Runs the layer's pipeline in-process: inputs in call order, outputs shaped
// like the fixture's.
template <typename T>
std::vector<Halide::Buffer<T>> run(LoweredPipeline& p, const OpCase& c, const std::vector<Halide::Buffer<T>>& inputs) {
  Halide::ParamMap params;
  for (size_t k = 0; k < inputs.size(); ++k) params.set(p.buffers[k], inputs[k]);
  std::vector<Halide::Buffer<>> outs;
  for (const std::string& name : output_names(c)) {
    const auto& shape = c.tensors.at(name).shape;
    outs.push_back(Halide::Buffer<T>(std::vector<int>(shape.rbegin(), shape.rend())));
  }
  p.pipeline.realize(Halide::Realization(outs), Halide::get_host_target(), params);
  return std::vector<Halide::Buffer<T>>(outs.begin(), outs.end());
}

// max |a - b| / (max |b| + 1e-3): the error relative to the tensor's scale.
template <typename T>
double relative_error(const Halide::Buffer<T>& a, const Halide::Buffer<T>& b) {
  double diff = 0, scale = 0;
  a.for_each_element([&](const int* pos) {
    diff = std::max(diff, std::abs(double(a(pos)) - double(b(pos))));
    scale = std::max(scale, std::abs(double(b(pos))));
  });
  return diff / (scale + 1e-3);
}

// sum(y * gy): the scalar whose gradient the adjoint computes when the
// output's gradient is gy.
double objective(LoweredPipeline& p, const OpCase& c, const std::vector<Halide::Buffer<double>>& inputs) {
  Halide::Buffer<double> y = run(p, c, inputs)[0];
  const Halide::Buffer<double>& gy = inputs.back();
  double sum = 0;
  y.for_each_element([&](const int* pos) { sum += y(pos) * gy(pos); });
  return sum;
}

// Every lowering variant the case's op offers (schedule files choose them).
std::vector<std::string> variants_of(const OpCase& c) {
  if (c.layer.op == "conv2d") return {"direct", "im2col"};
  return {"direct"};
}

VariantChooser everywhere(const std::string& variant) {
  return [variant](const std::string&, const std::string&) { return variant; };
}

}  // namespace

TEST_CASE("every op matches PyTorch's output and gradients", "[ops][pytorch]") {
  for (OpCase& c : load_cases()) for (const std::string& variant : variants_of(c)) {
    DYNAMIC_SECTION(c.name << " (" << variant << ")") {
      LoweredPipeline p = lower_layer(c.layer, c.in_shapes, c.batch, Halide::Float(32), everywhere(variant));
      std::vector<Halide::Buffer<float>> inputs;
      for (const std::string& name : input_names(c)) inputs.push_back(to_buffer<float>(c.tensors.at(name)));
      std::vector<Halide::Buffer<float>> outs = run(p, c, inputs);
      std::vector<std::string> names = output_names(c);
      for (size_t k = 0; k < outs.size(); ++k) {
        INFO(c.name << ": " << names[k]);
        CHECK(relative_error(outs[k], to_buffer<float>(c.tensors.at(names[k]))) < 1e-5);
      }
    }
  }
}

TEST_CASE("every op's adjoint matches central finite differences in float64", "[ops][gradient]") {
  std::mt19937 gen(7);
  for (OpCase& c : load_cases()) for (const std::string& variant : variants_of(c)) {
    DYNAMIC_SECTION(c.name << " (" << variant << ")") {
      LoweredPipeline p = lower_layer(c.layer, c.in_shapes, c.batch, Halide::Float(64), everywhere(variant));
      p.pipeline.compile_jit();
      std::vector<Halide::Buffer<double>> inputs;
      for (const std::string& name : input_names(c)) inputs.push_back(to_buffer<double>(c.tensors.at(name)));
      std::vector<Halide::Buffer<double>> grads = run(p, c, inputs);
      const size_t differentiable = inputs.size() - 1;  // all but gy
      for (size_t k = 0; k < differentiable; ++k) {
        Halide::Buffer<double>& x = inputs[k];
        const Halide::Buffer<double>& analytic = grads[k + 1];
        // Up to 12 random elements per tensor: enough to catch a wrong index.
        std::uniform_int_distribution<int> pick(0, int(x.number_of_elements()) - 1);
        for (int trial = 0; trial < 12; ++trial) {
          double* v = x.data() + pick(gen);
          // Exact zeros sit on the kinks of relu and leaky_relu, where finite
          // differences average the two sides; the PyTorch test checks the
          // subgradient chosen there.
          if (*v == 0) continue;
          const double h = 1e-6, saved = *v;
          *v = saved + h;
          double up = objective(p, c, inputs);
          *v = saved - h;
          double down = objective(p, c, inputs);
          *v = saved;
          double numeric = (up - down) / (2 * h);
          double exact = analytic.data()[v - x.data()];
          INFO(c.name << ": d/d" << input_names(c)[k] << "[" << (v - x.data()) << "] numeric " << numeric
                      << " analytic " << exact);
          CHECK(std::abs(numeric - exact) <= 1e-6 * (1 + std::abs(exact)));
        }
      }
    }
  }
}

}  // namespace netc
