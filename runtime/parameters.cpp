#include "parameters.h"

#include <cmath>
#include <map>
#include <random>

#include <fmt/format.h>

#include "input_error.h"
#include "safetensors.h"

namespace netc {
namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  return "[" + fmt::format("{}", fmt::join(shape, ", ")) + "]";
}

// Uniform in [lo, hi) from 53 random bits: the same on every platform,
// unlike std::uniform_real_distribution.
float uniform(std::mt19937_64& gen, double lo, double hi) {
  double u = double(gen() >> 11) * 0x1.0p-53;
  return float(lo + (hi - lo) * u);
}

}  // namespace

Parameters::Parameters(std::vector<ParameterSpec> specs) : specs_(std::move(specs)) {
  for (const ParameterSpec& p : specs_) values_.emplace_back(size_t(p.size()), 0.0f);
}

Parameters Parameters::zeros(const std::vector<ParameterSpec>& specs) { return Parameters(specs); }

Parameters Parameters::initialize(const std::vector<ParameterSpec>& specs, uint64_t seed) {
  Parameters p(specs);
  std::mt19937_64 gen(seed);
  for (size_t k = 0; k < specs.size(); ++k) {
    double bound = 1.0 / std::sqrt(double(specs[k].fan_in));
    for (float& v : p.values_[k]) v = uniform(gen, -bound, bound);
  }
  return p;
}

Parameters Parameters::load(const std::vector<ParameterSpec>& specs, const std::string& path) {
  std::map<std::string, SafeTensor> tensors = read_safetensors(path);
  Parameters p(specs);
  for (size_t k = 0; k < specs.size(); ++k) {
    auto it = tensors.find(specs[k].name);
    if (it == tensors.end()) throw InputError(fmt::format("{}: has no tensor '{}'", path, specs[k].name));
    if (it->second.shape != specs[k].shape)
      throw InputError(fmt::format("{}: tensor '{}' has shape {} but the graph needs {}", path, specs[k].name,
                                   shape_str(it->second.shape), shape_str(specs[k].shape)));
    p.values_[k].assign(it->second.data.begin(), it->second.data.end());
    tensors.erase(it);
  }
  if (!tensors.empty())
    throw InputError(fmt::format("{}: tensor '{}' is not a parameter of this graph", path, tensors.begin()->first));
  std::string where;
  if (!p.all_finite(&where)) throw InputError(fmt::format("{}: tensor '{}' holds NaN or Inf", path, where));
  return p;
}

void Parameters::save(const std::string& path) const {
  std::map<std::string, SafeTensor> tensors;
  for (size_t k = 0; k < specs_.size(); ++k) tensors[specs_[k].name] = SafeTensor{specs_[k].shape, std::vector<float>(values_[k].begin(), values_[k].end())};
  write_safetensors(path, tensors, {{"format", "pt"}});
}

std::vector<const float*> Parameters::data() const {
  std::vector<const float*> d;
  for (const auto& v : values_) d.push_back(v.data());
  return d;
}

std::vector<float*> Parameters::mutable_data() {
  std::vector<float*> d;
  for (auto& v : values_) d.push_back(v.data());
  return d;
}

bool Parameters::all_finite(std::string* where) const {
  for (size_t k = 0; k < values_.size(); ++k)
    for (float v : values_[k])
      if (!std::isfinite(v)) {
        *where = specs_[k].name;
        return false;
      }
  return true;
}

OptimizerSlots zero_slots(UpdateRule rule, const std::vector<ParameterSpec>& specs) {
  return OptimizerSlots(update_slots(rule).size(), Parameters::zeros(specs));
}

std::vector<std::vector<const float*>> slot_data(const OptimizerSlots& slots) {
  std::vector<std::vector<const float*>> data;
  for (const Parameters& slot : slots) data.push_back(slot.data());
  return data;
}

std::vector<std::vector<float*>> mutable_slot_data(OptimizerSlots& slots) {
  std::vector<std::vector<float*>> data;
  for (Parameters& slot : slots) data.push_back(slot.mutable_data());
  return data;
}

}  // namespace netc
