#include "lower/lowering.h"

#include <fmt/format.h>

namespace netc {

const Vars kVars;

namespace {

// Halide reserves '.' and '$' in names for its own loop and unique names.
std::string func_name(const std::string& stage_name) {
  std::string s;
  for (char ch : stage_name) s += ch == '.' ? std::string("__") : std::string(1, ch);
  return s;
}

}  // namespace

Halide::Func StageTable::add(const std::string& name, const std::string& kind, std::vector<int64_t> extents) {
  if (find(name)) throw std::logic_error("stage defined twice: " + name);
  Halide::Func f(func_name(name));
  stages_.push_back({name, kind, f, std::move(extents)});
  return f;
}

void StageTable::add_reference(const std::string& name, const std::string& kind, Halide::Func f,
                               std::vector<int64_t> extents) {
  if (find(name)) throw std::logic_error("stage defined twice: " + name);
  stages_.push_back({name, kind, f, std::move(extents), true});
}

const Stage* StageTable::find(const std::string& name) const {
  for (const Stage& s : stages_)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<int64_t> extents_of(const Shape& s, int64_t batch) {
  if (s.flat) return {s.c, batch};
  return {s.w, s.h, s.c, batch};
}

std::vector<Halide::Var> LayerLowering::vars_of(const Shape& s) {
  if (s.flat) return {kVars.i, kVars.n};
  return {kVars.x, kVars.y, kVars.c, kVars.n};
}

LayerLowering::LayerLowering(const Layer& layer, std::vector<Shape> in_shapes, int64_t batch, Halide::Type type,
                             StageTable& stages)
    : layer(layer),
      in_shapes(std::move(in_shapes)),
      out_shape(layer.output),
      batch(batch),
      type(type),
      input_needs_grad(this->in_shapes.size(), true),
      grad_inputs(this->in_shapes.size()),
      stages_(stages) {}

Halide::Func LayerLowering::stage(const std::string& pass, std::vector<int64_t> extents) {
  return stages_.add(layer.name + "." + pass, layer.op + "." + pass, std::move(extents));
}

Halide::Func LayerLowering::stage_of(const std::string& pass) const {
  const Stage* s = stages_.find(layer.name + "." + pass);
  if (!s) throw std::logic_error(fmt::format("layer '{}' has no stage '{}'", layer.name, pass));
  return s->func;
}

bool LayerLowering::has_stage(const std::string& pass) const { return stages_.find(layer.name + "." + pass); }

std::string LayerLowering::variant(const std::string& pass) const {
  return choose_variant ? choose_variant(layer.name + "." + pass, layer.op + "." + pass) : "direct";
}

Halide::Func LayerLowering::output_stage(const std::string& pass) { return stage(pass, extents_of(out_shape, batch)); }

Halide::Func LayerLowering::input_stage(const std::string& pass, size_t i) {
  if (in_shapes.size() == 1) return stage(pass, extents_of(in_shapes[0], batch));
  // One stage per input, of one kind: "cat.grad_input1" is a concat.grad_input.
  return stages_.add(layer.name + "." + pass + std::to_string(i), layer.op + "." + pass,
                     extents_of(in_shapes.at(i), batch));
}

void define_padded(Halide::Func dest, const Halide::Func& src, int64_t w, int64_t h, Halide::Expr value) {
  const auto& v = kVars;
  Halide::Expr inside = v.x >= 0 && v.x < int(w) && v.y >= 0 && v.y < int(h);
  dest(v.x, v.y, v.c, v.n) =
      Halide::select(inside, src(Halide::clamp(v.x, 0, int(w) - 1), Halide::clamp(v.y, 0, int(h) - 1), v.c, v.n),
                     value);
}

}  // namespace netc
