#include "checkpoint.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "batches.h"
#include "fingerprint.h"
#include "input_error.h"
#include "safetensors.h"
#include "sha256.h"

namespace netc {
namespace {

using Metadata = std::map<std::string, std::string>;
using Tensors = std::map<std::string, SafeTensor>;

constexpr const char* kFormatKey = "netc_checkpoint";
constexpr const char* kChecksumKey = "checksum";

// Every metadata key of netc-checkpoint/2 but the checksum, which covers them all.
const std::vector<std::string> kMetadataKeysV2 = {
    "format", kFormatKey, "graph", "graph_fingerprint", "parameter_table", "batch_size", "shuffle", "seed", "lr",
    "momentum", "weight_decay", "nesterov", "train_images", "train_data", "target", "threads", "pipelines", "step",
    "batch_order", "metrics_bytes", "metrics_fingerprint"};
// What this format adds.
const std::vector<std::string> kOptimizerKeys = {"optimizer", "betas", "eps", "lr_schedule"};
// Their values in a netc-checkpoint/2, which only SGD with a constant lr wrote.
constexpr const char* kFormatV2 = "netc-checkpoint/2";
const std::map<std::string, std::string> kV2Settings = {
    {"optimizer", "sgd"}, {"betas", "0.9,0.999"}, {"eps", "1e-08"}, {"lr_schedule", "constant warmup=0"}};

std::vector<std::string> metadata_keys(const std::string& format) {
  std::vector<std::string> keys = kMetadataKeysV2;
  if (format != kFormatV2) keys.insert(keys.end(), kOptimizerKeys.begin(), kOptimizerKeys.end());
  return keys;
}

[[noreturn]] void fail(const std::string& path, const std::string& problem) { throw InputError(path + ": " + problem); }

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// Whether every parameter and slot value is finite; if not, `where` names
// the first tensor that is not.
bool all_finite(const TrainingState& state, std::string* where) {
  if (!state.params.all_finite(where)) return false;
  for (const Parameters& slot : state.slots)
    if (!slot.all_finite(where)) return false;
  return true;
}

// Names and shapes: what a tensor file must hold for these parameters.
std::string parameter_table_fingerprint(const std::vector<ParameterSpec>& params) {
  Fingerprint fp;
  for (const ParameterSpec& p : params) fp.add(p.name).add(shape_str(p.shape));
  return fp.hex();
}

// Shortest text that reads back as the same double (fmt's "{}"); -0 as 0,
// which computes the same.
std::string float_str(double v) { return fmt::format("{}", v + 0.0); }
std::string bool_str(bool v) { return v ? "true" : "false"; }
std::string betas_str(const OptimizerSettings& o) { return float_str(o.beta1) + "," + float_str(o.beta2); }

Metadata describe(const RunIdentity& run, const std::vector<ParameterSpec>& params, const TrainingState& state) {
  return {{"format", "pt"},  // what safetensors.torch writes
          {kFormatKey, kCheckpointFormat},
          {"graph", run.graph},
          {"graph_fingerprint", run.graph_fingerprint},
          {"parameter_table", parameter_table_fingerprint(params)},
          {"batch_size", std::to_string(run.batch_size)},
          {"shuffle", bool_str(run.shuffle)},
          {"seed", std::to_string(run.seed)},
          {"optimizer", optimizer_name(run.optimizer.type)},
          {"lr", float_str(run.optimizer.lr)},
          {"momentum", float_str(run.optimizer.momentum)},
          {"weight_decay", float_str(run.optimizer.weight_decay)},
          {"nesterov", bool_str(run.optimizer.nesterov)},
          {"betas", betas_str(run.optimizer)},
          {"eps", float_str(run.optimizer.eps)},
          {"lr_schedule", run.lr_schedule.str()},
          {"train_images", std::to_string(run.train_images)},
          {"train_data", run.train_data_fingerprint},
          {"target", run.target},
          {"threads", std::to_string(run.threads)},
          {"pipelines", run.pipelines},
          {"step", std::to_string(state.step)},
          {"batch_order", state.batch_order},
          {"metrics_bytes", std::to_string(state.metrics_bytes)},
          {"metrics_fingerprint", state.metrics_fingerprint}};
}

// ---- the validation set and augmentation: one optional entry
//
// "validation_augment" is only in checkpoints of runs with a validation set
// or augmentation (the others are as they were before these existed): the
// JSON object {"validation": N, "shift": P} of the run's settings, which a
// resumed run must share, with "best_val_accuracy": x once the run has
// validated, so that a resumed --save-best compares with the best so far.
constexpr const char* kValidationAugmentKey = "validation_augment";

struct ValidationAugment {
  int64_t validation = 0, shift = 0;
  std::optional<double> best_val_accuracy;
};

void describe_validation_augment(const RunIdentity& run, const TrainingState& state, Metadata& metadata) {
  if (run.validation == 0 && run.augment_shift == 0) return;
  nlohmann::json entry = {{"validation", run.validation}, {"shift", run.augment_shift}};
  if (state.best_val_accuracy) entry["best_val_accuracy"] = *state.best_val_accuracy;
  metadata[kValidationAugmentKey] = entry.dump();
}

ValidationAugment read_validation_augment(const std::string& path, const Metadata& metadata) {
  ValidationAugment v;
  auto it = metadata.find(kValidationAugmentKey);
  if (it == metadata.end()) return v;
  const nlohmann::json entry = nlohmann::json::parse(it->second, nullptr, false);
  auto malformed = [&] {
    fail(path, fmt::format("metadata '{}' is malformed: {}", kValidationAugmentKey, it->second));
  };
  if (!entry.is_object() || !entry.contains("validation") || !entry.contains("shift")) malformed();
  for (const auto& [key, value] : entry.items()) {
    const bool setting = key == "validation" || key == "shift";
    if (setting ? !value.is_number_integer() : key != "best_val_accuracy" || !value.is_number()) malformed();
  }
  v.validation = entry.at("validation").get<int64_t>();
  v.shift = entry.at("shift").get<int64_t>();
  if (entry.contains("best_val_accuracy")) v.best_val_accuracy = entry.at("best_val_accuracy").get<double>();
  // What no run writes: negative settings, an entry of a run that needs none,
  // a best accuracy without a validation set or outside [0, 100].
  const std::optional<double>& best = v.best_val_accuracy;
  const bool best_ok = !best || (v.validation > 0 && *best >= 0 && *best <= 100);
  if (v.validation < 0 || v.shift < 0 || (v.validation == 0 && v.shift == 0) || !best_ok) malformed();
  return v;
}

SafeTensor tensor_of(const ParameterSpec& spec, const AlignedVector<float>& values) {
  return SafeTensor{spec.shape, std::vector<float>(values.begin(), values.end())};
}

// ---- reading

template <typename T>
T parse_number(const std::string& path, const Metadata& metadata, const std::string& key) {
  const std::string& text = metadata.at(key);
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    fail(path, fmt::format("metadata '{}' is '{}', not a number", key, text));
  return value;
}

void check_format_and_keys(const std::string& path, const Metadata& metadata) {
  auto format = metadata.find(kFormatKey);
  if (format == metadata.end())
    fail(path, "not a netc checkpoint (its metadata has no netc_checkpoint entry); a weights file goes to --init");
  if (format->second != kCheckpointFormat && format->second != kFormatV2)
    fail(path, fmt::format("a checkpoint of format '{}'; this netc reads '{}' and '{}'", format->second,
                           kCheckpointFormat, kFormatV2));
  const std::vector<std::string> keys = metadata_keys(format->second);
  for (const std::string& key : keys)
    if (!metadata.count(key)) fail(path, fmt::format("the checkpoint's metadata has no '{}'", key));
  if (!metadata.count(kChecksumKey)) fail(path, "the checkpoint's metadata has no 'checksum'");
  if (metadata.size() != keys.size() + 1)
    for (const auto& [key, value] : metadata)
      if (key != kChecksumKey && key != kValidationAugmentKey && std::find(keys.begin(), keys.end(), key) == keys.end())
        fail(path, fmt::format("the checkpoint's metadata has an unknown entry '{}'", key));
}

// One setting of the run that must be the same as when the checkpoint was written.
void expect_same(const std::string& path, const char* what, const std::string& saved, const std::string& now) {
  if (saved != now)
    fail(path, fmt::format("the checkpoint was written with {} {}; this run has {}. A resumed run needs the settings "
                           "it started with",
                           what, saved, now));
}

void check_run(const std::string& path, const Metadata& md, const RunIdentity& run,
               const std::vector<ParameterSpec>& params) {
  if (md.at("graph") != run.graph)
    fail(path, fmt::format("a checkpoint of graph '{}', not of '{}'", md.at("graph"), run.graph));
  if (md.at("graph_fingerprint") != run.graph_fingerprint)
    fail(path, fmt::format("a checkpoint of another version of graph '{}': its layers or attributes differ from "
                           "this graph file's",
                           run.graph));
  if (md.at("parameter_table") != parameter_table_fingerprint(params))
    fail(path, fmt::format("the checkpoint's parameter names and shapes are not those of graph '{}'", run.graph));
  expect_same(path, "batch size", md.at("batch_size"), std::to_string(run.batch_size));
  expect_same(path, "shuffle", md.at("shuffle"), bool_str(run.shuffle));
  expect_same(path, "seed", md.at("seed"), std::to_string(run.seed));
  expect_same(path, "optimizer", md.at("optimizer"), optimizer_name(run.optimizer.type));
  expect_same(path, "lr", md.at("lr"), float_str(run.optimizer.lr));
  expect_same(path, "momentum", md.at("momentum"), float_str(run.optimizer.momentum));
  expect_same(path, "weight_decay", md.at("weight_decay"), float_str(run.optimizer.weight_decay));
  expect_same(path, "nesterov", md.at("nesterov"), bool_str(run.optimizer.nesterov));
  expect_same(path, "betas", md.at("betas"), betas_str(run.optimizer));
  expect_same(path, "eps", md.at("eps"), float_str(run.optimizer.eps));
  expect_same(path, "lr_schedule", md.at("lr_schedule"), run.lr_schedule.str());
  const ValidationAugment saved = read_validation_augment(path, md);
  expect_same(path, "validation", std::to_string(saved.validation), std::to_string(run.validation));
  expect_same(path, "augment shift", std::to_string(saved.shift), std::to_string(run.augment_shift));
  expect_same(path, "training images", md.at("train_images"), std::to_string(run.train_images));
  if (md.at("train_data") != run.train_data_fingerprint)
    fail(path, "the checkpoint was trained on other training data (same count, different images or labels)");
}

void note_environment(const Metadata& md, const RunIdentity& run, std::vector<std::string>* notes) {
  std::vector<std::string> changes;
  if (md.at("target") != run.target) changes.push_back(fmt::format("target {} (now {})", md.at("target"), run.target));
  if (md.at("threads") != std::to_string(run.threads))
    changes.push_back(fmt::format("{} threads (now {})", md.at("threads"), run.threads));
  if (md.at("pipelines") != run.pipelines) changes.push_back("other compiled pipelines (another netc build)");
  if (!changes.empty())
    notes->push_back(fmt::format("the checkpoint was written with {}: the result will be correct but not "
                                 "bit-identical to an uninterrupted run",
                                 fmt::join(changes, ", ")));
}

// Exactly the parameters and their optimizer's slots, each of the right shape and finite.
void take_tensors(const std::string& path, Tensors& tensors, const std::vector<ParameterSpec>& params,
                  const std::vector<std::string>& slot_names, TrainingState& state) {
  auto take = [&](const std::string& name, const ParameterSpec& spec, AlignedVector<float>& out) {
    auto it = tensors.find(name);
    if (it == tensors.end()) fail(path, fmt::format("the checkpoint has no tensor '{}'", name));
    if (it->second.shape != spec.shape)
      fail(path, fmt::format("tensor '{}' has shape {} but the graph needs {}", name, shape_str(it->second.shape),
                             shape_str(spec.shape)));
    out.assign(it->second.data.begin(), it->second.data.end());
    tensors.erase(it);
  };
  for (size_t k = 0; k < params.size(); ++k) {
    take(params[k].name, params[k], state.params[k]);
    for (size_t s = 0; s < slot_names.size(); ++s)
      take(slot_names[s] + "." + params[k].name, params[k], state.slots[s][k]);
  }
  if (!tensors.empty()) fail(path, fmt::format("tensor '{}' is not part of a checkpoint of this graph", tensors.begin()->first));
  std::string where;
  if (!all_finite(state, &where)) fail(path, fmt::format("tensor '{}' holds NaN or Inf, which no checkpoint does", where));
  // Adam's second moments are means of squares.
  for (size_t s = 0; s < slot_names.size(); ++s)
    if (slot_names[s] == "exp_avg_sq")
      for (size_t k = 0; k < params.size(); ++k)
        for (float v : state.slots[s][k])
          if (v < 0) fail(path, fmt::format("tensor 'exp_avg_sq.{}' holds a negative value", params[k].name));
}

}  // namespace

// Over every metadata value but the checksum and every tensor's name, shape
// and bytes: a flipped bit anywhere that matters is noticed. Each string ends
// in a NUL so that ("ab", "c") and ("a", "bc") differ.
std::string checkpoint_checksum(const Metadata& metadata, const Tensors& tensors) {
  Sha256 sha;
  auto add = [&](const std::string& s) { sha.update(s.c_str(), s.size() + 1); };
  for (const auto& [key, value] : metadata)
    if (key != kChecksumKey) add(key), add(value);
  for (const auto& [name, t] : tensors) {
    add(name), add(shape_str(t.shape));
    sha.update(t.data.data(), t.data.size() * sizeof(float));
  }
  return sha.hex_digest();
}

std::string train_data_fingerprint(const Dataset& data) {
  const IdxImages& images = data.train_images;
  Fingerprint fp;
  fp.add(fmt::format("{} x {} x {}", images.count, images.rows, images.cols));
  fp.add(images.pixels.data(), images.pixels.size());
  fp.add(data.train_labels.data(), data.train_labels.size());
  if (data.validation_images.count > 0) {
    fp.add(fmt::format("and {} held out", data.validation_images.count));
    fp.add(data.validation_images.pixels.data(), data.validation_images.pixels.size());
    fp.add(data.validation_labels.data(), data.validation_labels.size());
  }
  return fp.hex();
}

void write_checkpoint(const std::string& path, const RunIdentity& run, const std::vector<ParameterSpec>& params,
                      const TrainingState& state) {
  std::string where;
  if (!all_finite(state, &where))
    throw std::logic_error(fmt::format("write_checkpoint: tensor '{}' is not finite", where));
  const std::vector<std::string> slot_names = update_slots(update_rule(run.optimizer.type));
  if (state.slots.size() != slot_names.size())
    throw std::logic_error("write_checkpoint: the state's slots are not those of the run's optimizer");
  Tensors tensors;
  for (size_t k = 0; k < params.size(); ++k) {
    tensors[params[k].name] = tensor_of(params[k], state.params[k]);
    for (size_t s = 0; s < slot_names.size(); ++s)
      tensors[slot_names[s] + "." + params[k].name] = tensor_of(params[k], state.slots[s][k]);
  }
  Metadata metadata = describe(run, params, state);
  describe_validation_augment(run, state, metadata);
  metadata[kChecksumKey] = checkpoint_checksum(metadata, tensors);
  write_safetensors(path, tensors, metadata);
}

TrainingState read_checkpoint(const std::string& path, const RunIdentity& run, const std::vector<ParameterSpec>& params,
                              std::vector<std::string>* notes) {
  Metadata metadata;
  Tensors tensors = read_safetensors(path, &metadata);
  check_format_and_keys(path, metadata);
  if (metadata.at(kChecksumKey) != checkpoint_checksum(metadata, tensors))
    fail(path, "the checkpoint is damaged: its checksum does not match its contents");
  if (metadata.at(kFormatKey) == kFormatV2) metadata.insert(kV2Settings.begin(), kV2Settings.end());
  check_run(path, metadata, run, params);
  note_environment(metadata, run, notes);

  const UpdateRule rule = update_rule(run.optimizer.type);
  TrainingState state{0, Parameters::zeros(params), zero_slots(rule, params), "", 0, "", std::nullopt};
  take_tensors(path, tensors, params, update_slots(rule), state);
  state.step = parse_number<int64_t>(path, metadata, "step");
  if (state.step < 0) fail(path, fmt::format("metadata 'step' is {}", state.step));
  state.batch_order = metadata.at("batch_order");
  try {
    BatchOrder(run.train_images, run.batch_size, run.shuffle, run.seed).restore(state.batch_order, state.step);
  } catch (const InputError& e) {
    fail(path, fmt::format("metadata 'batch_order': {}", e.what()));
  }
  state.metrics_bytes = parse_number<uint64_t>(path, metadata, "metrics_bytes");
  state.metrics_fingerprint = metadata.at("metrics_fingerprint");
  state.best_val_accuracy = read_validation_augment(path, metadata).best_val_accuracy;
  return state;
}

}  // namespace netc
