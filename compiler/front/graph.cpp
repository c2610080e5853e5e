#include "front/graph.h"

#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "atomic_file.h"
#include "fingerprint.h"

namespace netc {

std::string read_graph_text(const std::string& path) { return read_file(path, kMaxGraphFileBytes, "graph file"); }

namespace {

// Messages quote what files hold, control characters included (yaml-cpp's
// own messages too): escaped, so that every error stays one line.
std::string one_line(const std::string& message) {
  std::string out;
  for (char ch : message) {
    auto u = static_cast<unsigned char>(ch);
    out += u < 0x20 || u == 0x7F ? fmt::format("\\x{:02x}", u) : std::string(1, ch);
  }
  return out;
}

}  // namespace

std::string SourceLoc::format(const std::string& message) const {
  return fmt::format("{}:{}:{}: {}", file, line, column, one_line(message));
}

void fail_at(const SourceLoc& loc, const std::string& message) { throw InputError(loc.format(message)); }

std::string Shape::str() const {
  if (flat) return std::to_string(c);
  return fmt::format("{} x {} x {}", c, h, w);
}

std::vector<int64_t> Shape::dims() const {
  if (flat) return {c};
  return {c, h, w};
}

Shape Shape::of_dims(const std::vector<int64_t>& dims) {
  if (dims.size() == 1) return Shape{dims[0], 1, 1, true};
  return Shape{dims.at(0), dims.at(1), dims.at(2), false};
}

int64_t Layer::int_attr(const std::string& name, int64_t dflt) const {
  auto it = attrs.find(name);
  return it == attrs.end() ? dflt : it->second.i;
}

HW Layer::pair_attr(const std::string& name, HW dflt) const {
  auto it = attrs.find(name);
  return it == attrs.end() ? dflt : it->second.pair;
}

double Layer::float_attr(const std::string& name, double dflt) const {
  auto it = attrs.find(name);
  return it == attrs.end() ? dflt : it->second.f;
}

bool Layer::bool_attr(const std::string& name, bool dflt) const {
  auto it = attrs.find(name);
  return it == attrs.end() ? dflt : it->second.b;
}

const SourceLoc& Layer::loc_of(const std::string& attr) const {
  auto it = attrs.find(attr);
  return it == attrs.end() ? loc : it->second.loc;
}

int64_t Graph::param_count() const {
  int64_t n = 0;
  for (const ParamSpec& p : params) n += p.size();
  return n;
}

int64_t Graph::layer_param_count(int layer) const {
  int64_t n = 0;
  for (const ParamSpec& p : params)
    if (p.layer == layer) n += p.size();
  return n;
}

std::vector<Shape> Graph::input_shapes(int index) const {
  std::vector<Shape> shapes;
  for (int in : layers[size_t(index)].inputs) shapes.push_back(in == Layer::kGraphInput ? input : layers[size_t(in)].output);
  return shapes;
}

int Graph::find_layer(const std::string& name) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == name) return static_cast<int>(i);
  return -1;
}

namespace {

// The largest tensor of one image of `g`, the input or a layer's output, and
// its name: a batch of them is the largest buffer (parameters do not grow
// with the batch, and the front end holds each to kMaxTensorElements).
std::pair<std::string, int64_t> largest_activation(const Graph& g) {
  std::pair<std::string, int64_t> largest = {"the input", g.input.size()};
  for (const Layer& l : g.layers)
    if (l.output.size() > largest.second) largest = {"layer '" + l.name + "''s output", l.output.size()};
  return largest;
}

// "107.4 GB", "3.1 MB", "12 KB"
std::string bytes_text(uint64_t bytes) {
  if (bytes >= 1000000000) return fmt::format("{:.1f} GB", double(bytes) / 1e9);
  if (bytes >= 1000000) return fmt::format("{:.1f} MB", double(bytes) / 1e6);
  return fmt::format("{} KB", (bytes + 999) / 1000);
}

}  // namespace

uint64_t training_step_bytes(const Graph& g, int64_t batch) {
  // Sizes are held to kMaxTensorElements and kMaxLayers, and batches to
  // kMaxBatchSize, so none of this overflows 64 bits.
  uint64_t activations = uint64_t(g.input.size());
  for (const Layer& l : g.layers) activations += 3 * uint64_t(l.output.size());
  return (activations * uint64_t(batch) + 5 * uint64_t(g.param_count())) * sizeof(float);
}

void check_memory(const Graph& g, int64_t batch, uint64_t budget_bytes, const std::string& budget_name) {
  constexpr uint64_t kMaxBufferBytes = uint64_t(1) << 31;  // Halide's, without its large_buffers feature
  const auto [tensor, values] = largest_activation(g);
  if (uint64_t(values) * uint64_t(batch) * sizeof(float) >= kMaxBufferBytes)
    throw InputError(fmt::format("{} at batch {}: {} would take {}, more than Halide's 2 GiB per buffer; use a "
                                 "smaller batch",
                                 g.name, batch, tensor, bytes_text(uint64_t(values) * uint64_t(batch) * sizeof(float))));
  const uint64_t needed = training_step_bytes(g, batch);
  if (needed > budget_bytes)
    throw InputError(fmt::format("{} at batch {} needs about {} for a training step, more than the {} of {}", g.name,
                                 batch, bytes_text(needed), bytes_text(budget_bytes), budget_name));
}

std::string graph_fingerprint(const Graph& g) {
  Fingerprint fp;
  fp.add(fmt::format("graph {} input {} output {} loss {}", g.name, g.input.str(), g.output, g.loss));
  for (const Layer& l : g.layers) {
    std::string s = fmt::format("layer {} op {} out {}{} in", l.name, l.op, l.output.str(), l.output.flat ? " flat" : "");
    for (int in : l.inputs) s += fmt::format(" {}", in);
    for (const auto& [name, v] : l.attrs)
      s += fmt::format(" {}={}/{}/{}x{}/{}/{}/{}", name, int(v.kind), v.i, v.pair.h, v.pair.w, v.f, v.b, v.s);
    fp.add(s);
  }
  for (const ParamSpec& p : g.params)
    fp.add(fmt::format("param {} [{}] fan_in {}", p.name, fmt::join(p.shape, ","), p.fan_in));
  return fp.hex();
}

}  // namespace netc
