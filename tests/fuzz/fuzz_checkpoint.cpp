// The checkpoint reader (runtime/checkpoint.h) on checkpoints whose metadata
// a forger edited and then re-signed: the digest is no secret, so every value
// must be validated on its own. The input is a list of edits, one per line,
// applied to a valid checkpoint of a tiny run:
//
//   adam                    start from the Adam run's checkpoint (first line only)
//   KEY=VALUE               set metadata KEY to VALUE
//   -KEY                    remove metadata KEY
//   run.FIELD=N             the resuming run's validation, augment_shift,
//                           batch_size or train_images (clamped to what a
//                           graph and data set can ask for)
//
// After the edits the checksum is recomputed. The reader must then return a
// state training can continue from, or throw an InputError naming the file,
// in one line; never crash, hang or throw anything else.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "batches.h"
#include "checkpoint.h"
#include "fuzz_support.h"
#include "input_error.h"

namespace netc::fuzz {
namespace {

std::vector<ParameterSpec> tiny_params() { return {{"fc1.weight", {3, 4}, 4}, {"fc1.bias", {3}, 4}}; }

RunIdentity tiny_run(bool adam) {
  RunIdentity run;
  run.graph = "tiny";
  run.graph_fingerprint = "0123456789abcdef";
  run.batch_size = 2;
  run.shuffle = true;
  run.seed = 7;
  run.optimizer = OptimizerSettings{0.1, 0.9, 0.001, true};
  if (adam) {
    run.optimizer = OptimizerSettings{};
    run.optimizer.type = OptimizerType::Adam;
    run.lr_schedule.type = LrSchedule::Type::Cosine;
    run.lr_schedule.t_max = 10;
  }
  run.train_images = 10;
  run.train_data_fingerprint = "fedcba9876543210";
  run.target = "host";
  run.pipelines = "00000000deadbeef";
  run.threads = 2;
  return run;
}

// Seven steps in: the batch order in its second epoch.
TrainingState tiny_state(bool adam) {
  BatchOrder order(10, 2, true, 7);
  order.batch(6);
  const UpdateRule rule = adam ? UpdateRule::Adam : UpdateRule::Sgd;
  TrainingState s{7, Parameters::initialize(tiny_params(), 1), zero_slots(rule, tiny_params()),
                  order.state(), 123, "0011223344556677", std::nullopt};
  return s;
}

struct Checkpoint {
  std::map<std::string, SafeTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// The checkpoint a tiny run writes, read back as tensors and metadata.
const Checkpoint& base_checkpoint(const std::string& folder, bool adam) {
  static std::map<bool, Checkpoint> made;
  auto it = made.find(adam);
  if (it != made.end()) return it->second;
  const std::string path = folder + "/base.ckpt";
  write_checkpoint(path, tiny_run(adam), tiny_params(), tiny_state(adam));
  Checkpoint c;
  c.tensors = read_safetensors(path, &c.metadata);
  return made[adam] = c;
}

int64_t clamped(const std::string& text, int64_t lo, int64_t hi) {
  int64_t v = lo;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return std::clamp(v, lo, hi);
}

void edit_run(RunIdentity& run, const std::string& field, const std::string& value) {
  if (field == "batch_size") run.batch_size = clamped(value, 1, 64);
  if (field == "train_images") run.train_images = clamped(value, 1, 1000);
  if (field == "validation") run.validation = clamped(value, 0, 100);
  if (field == "augment_shift") run.augment_shift = clamped(value, 0, 7);
  run.train_images = std::max(run.train_images, run.batch_size);  // what netc's own checks ensure
}

void check_state(const TrainingState& s, const RunIdentity& run) {
  require(s.step >= 0, "a negative step was accepted");
  require(s.slots.size() == update_slots(update_rule(run.optimizer.type)).size(),
          "the optimizer's slots do not match its type");
  for (size_t k = 0; k < s.params.count(); ++k)
    for (float v : s.params[k]) require(std::isfinite(v), "a parameter that is not finite was accepted");
  if (s.best_val_accuracy)
    require(*s.best_val_accuracy >= 0 && *s.best_val_accuracy <= 100, "a best accuracy outside 0..100 was accepted");
}

void check_edits(const std::string& edits) {
  static const ScratchFolder folder("checkpoint");
  std::istringstream lines(edits);
  std::string line;
  const bool adam = std::getline(lines, line) && line == "adam";
  if (!adam) lines = std::istringstream(edits);
  Checkpoint c = base_checkpoint(folder.path(), adam);
  RunIdentity run = tiny_run(adam);
  while (std::getline(lines, line)) {
    const size_t equals = line.find('=');
    if (!line.empty() && line[0] == '-') {
      c.metadata.erase(line.substr(1));
    } else if (equals != std::string::npos && line.rfind("run.", 0) == 0) {
      edit_run(run, line.substr(4, equals - 4), line.substr(equals + 1));
    } else if (equals != std::string::npos) {
      c.metadata[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }
  c.metadata.erase("checksum");
  c.metadata["checksum"] = checkpoint_checksum(c.metadata, c.tensors);
  const std::string path = folder.path() + "/edited.ckpt";
  try {
    write_safetensors(path, c.tensors, c.metadata);
  } catch (const std::invalid_argument&) {
    return;  // a key or value that is not UTF-8: no safetensors file holds it
  }
  try {
    std::vector<std::string> notes;
    check_state(read_checkpoint(path, run, tiny_params(), &notes), run);
  } catch (const InputError& e) {
    const std::string message = e.what();
    require_one_line(message);
    require(message.rfind(path + ": ", 0) == 0 || message.rfind(path + " ", 0) == 0,
            "message does not name the file: " + message);
  }
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  netc::fuzz::check_edits(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
