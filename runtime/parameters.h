// A model's parameters as named float tensors, in the manifest's order and
// PyTorch's layouts: initialized as PyTorch does, or read from and written to
// safetensors files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aligned.h"
#include "compiled_model.h"

namespace netc {

class Parameters {
 public:
  // Every tensor U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default for
  // conv2d and linear), drawn in order from a generator seeded by `seed`.
  static Parameters initialize(const std::vector<ParameterSpec>& specs, uint64_t seed);
  // Exactly the tensors of `specs` from a safetensors file: a missing, extra
  // or misshapen tensor, or a non-finite value, is an InputError.
  static Parameters load(const std::vector<ParameterSpec>& specs, const std::string& path);
  // All zeros (momentum buffers).
  static Parameters zeros(const std::vector<ParameterSpec>& specs);

  void save(const std::string& path) const;

  size_t count() const { return values_.size(); }
  AlignedVector<float>& operator[](size_t k) { return values_[k]; }
  const AlignedVector<float>& operator[](size_t k) const { return values_[k]; }
  std::vector<const float*> data() const;
  std::vector<float*> mutable_data();
  // Whether every value is finite; if not, `where` names the first tensor that is not.
  bool all_finite(std::string* where) const;

 private:
  explicit Parameters(std::vector<ParameterSpec> specs);
  std::vector<ParameterSpec> specs_;
  std::vector<AlignedVector<float>> values_;
};

// An optimizer's state: one Parameters per slot of its update rule
// (model_abi.h's update_slots), in that order.
using OptimizerSlots = std::vector<Parameters>;
// Every slot all zeros, as PyTorch's optimizers start.
OptimizerSlots zero_slots(UpdateRule rule, const std::vector<ParameterSpec>& specs);
// slot_data(s)[i][k]: slot i of parameter k, as CompiledModel::train_step takes them.
std::vector<std::vector<const float*>> slot_data(const OptimizerSlots& slots);
std::vector<std::vector<float*>> mutable_slot_data(OptimizerSlots& slots);

}  // namespace netc
