#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <sstream>
#include <tuple>

#include <catch2/catch.hpp>

#include "batches.h"
#include "checkpoint.h"
#include "input_error.h"
#include "safetensors.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

namespace {

std::vector<ParameterSpec> tiny_params() { return {{"fc1.weight", {3, 4}, 4}, {"fc1.bias", {3}, 4}}; }

RunIdentity tiny_run() {
  RunIdentity run;
  run.graph = "tiny";
  run.graph_fingerprint = "0123456789abcdef";
  run.batch_size = 2;
  run.shuffle = true;
  run.seed = 7;
  run.optimizer = OptimizerSettings{0.1, 0.9, 0.001, true};
  run.train_images = 10;
  run.train_data_fingerprint = "fedcba9876543210";
  run.target = "host";
  run.pipelines = "00000000deadbeef";
  run.threads = 2;
  return run;
}

// A state seven steps in: the batch order in its second epoch.
TrainingState tiny_state() {
  BatchOrder order(10, 2, true, 7);
  order.batch(6);
  TrainingState s = {7, Parameters::initialize(tiny_params(), 1), {Parameters::initialize(tiny_params(), 2)},
                     order.state(), 123, "0011223344556677", std::nullopt};
  s.slots[0][1][2] = -0.0f;  // bits, not just values, survive
  return s;
}

// The same run with Adam, its state with both moments (the second >= 0).
RunIdentity tiny_adam_run() {
  RunIdentity run = tiny_run();
  run.optimizer = OptimizerSettings{};
  run.optimizer.type = OptimizerType::Adam;
  run.lr_schedule.type = LrSchedule::Type::Cosine;
  run.lr_schedule.t_max = 10;
  return run;
}

TrainingState tiny_adam_state() {
  TrainingState s = tiny_state();
  s.slots.push_back(Parameters::zeros(tiny_params()));
  s.slots[1][0][5] = 0.25f;
  return s;
}

bool same_bits(const Parameters& a, const Parameters& b) {
  if (a.count() != b.count()) return false;
  for (size_t k = 0; k < a.count(); ++k)
    if (a[k].size() != b[k].size() || std::memcmp(a[k].data(), b[k].data(), a[k].size() * sizeof(float)) != 0)
      return false;
  return true;
}

TrainingState read_back(const std::string& path, const RunIdentity& run = tiny_run(),
                        const std::vector<ParameterSpec>& params = tiny_params()) {
  std::vector<std::string> notes;
  TrainingState s = read_checkpoint(path, run, params, &notes);
  CHECK(notes.empty());
  return s;
}

// The checkpoint file with its metadata changed by `edit` (tensors kept).
void edit_metadata(const std::string& path, const std::function<void(std::map<std::string, std::string>&)>& edit) {
  std::map<std::string, std::string> metadata;
  auto tensors = read_safetensors(path, &metadata);
  edit(metadata);
  write_safetensors(path, tensors, metadata);
}

// The checkpoint file with its metadata changed by `edit` and its checksum
// recomputed, as someone who edits it on purpose would.
void forge_metadata(const std::string& path, const std::function<void(std::map<std::string, std::string>&)>& edit) {
  std::map<std::string, std::string> metadata;
  auto tensors = read_safetensors(path, &metadata);
  edit(metadata);
  metadata["checksum"] = checkpoint_checksum(metadata, tensors);
  write_safetensors(path, tensors, metadata);
}

// The message of the InputError that `f` throws ("" if it throws none).
std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint: everything round-trips, bit for bit", "[checkpoint]") {
  test::TempDir dir;
  const TrainingState saved = tiny_state();
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), saved);
  TrainingState s = read_back(dir / "ck");
  CHECK(s.step == 7);
  CHECK(same_bits(s.params, saved.params));
  REQUIRE(s.slots.size() == 1);
  CHECK(same_bits(s.slots[0], saved.slots[0]));
  CHECK(s.batch_order == saved.batch_order);
  CHECK(s.metrics_bytes == 123);
  CHECK(s.metrics_fingerprint == "0011223344556677");
}

TEST_CASE("checkpoint: a plain safetensors file, parameters under their own names", "[checkpoint]") {
  test::TempDir dir;
  const TrainingState saved = tiny_state();
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), saved);
  std::map<std::string, std::string> metadata;
  auto tensors = read_safetensors(dir / "ck", &metadata);
  CHECK(tensors.size() == 4);
  CHECK(tensors.at("fc1.weight").shape == std::vector<int64_t>{3, 4});
  CHECK(tensors.at("momentum_buffer.fc1.bias").data[2] == saved.slots[0][1][2]);
  CHECK(metadata.at("format") == "pt");
  CHECK(metadata.at("netc_checkpoint") == kCheckpointFormat);
  CHECK(metadata.at("graph") == "tiny");
  CHECK(metadata.at("step") == "7");
  CHECK(metadata.at("lr") == "0.1");
}

TEST_CASE("checkpoint: a different target, thread count or build is a note, not an error", "[checkpoint]") {
  test::TempDir dir;
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
  RunIdentity now = tiny_run();
  now.threads = 8;
  now.pipelines = "1111111111111111";
  std::vector<std::string> notes;
  read_checkpoint(dir / "ck", now, tiny_params(), &notes);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Contains("2 threads (now 8)") && Contains("other compiled pipelines") &&
                           Contains("not bit-identical"));
}

TEST_CASE("checkpoint: another run's checkpoint is refused, saying what differs", "[checkpoint]") {
  test::TempDir dir;
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
  const std::vector<std::pair<std::function<void(RunIdentity&)>, std::string>> cases = {
      {[](RunIdentity& r) { r.graph = "other"; }, "a checkpoint of graph 'tiny', not of 'other'"},
      {[](RunIdentity& r) { r.graph_fingerprint = "x"; }, "another version of graph 'tiny'"},
      {[](RunIdentity& r) { r.batch_size = 3; }, "batch size 2; this run has 3"},
      {[](RunIdentity& r) { r.shuffle = false; }, "shuffle true; this run has false"},
      {[](RunIdentity& r) { r.seed = 8; }, "seed 7; this run has 8"},
      {[](RunIdentity& r) { r.optimizer.lr = 0.2; }, "lr 0.1; this run has 0.2"},
      {[](RunIdentity& r) { r.optimizer.momentum = 0; }, "momentum 0.9; this run has 0"},
      {[](RunIdentity& r) { r.optimizer.weight_decay = 0; }, "weight_decay 0.001; this run has 0"},
      {[](RunIdentity& r) { r.optimizer.nesterov = false; }, "nesterov true; this run has false"},
      {[](RunIdentity& r) { r.optimizer.type = OptimizerType::AdamW; }, "optimizer sgd; this run has adamw"},
      {[](RunIdentity& r) { r.lr_schedule.warmup = 5; },
       "lr_schedule constant warmup=0; this run has constant warmup=5"},
      {[](RunIdentity& r) { r.train_images = 11; }, "training images 10; this run has 11"},
      {[](RunIdentity& r) { r.train_data_fingerprint = "x"; }, "other training data"},
  };
  for (const auto& [change, message] : cases) {
    RunIdentity now = tiny_run();
    change(now);
    std::vector<std::string> notes;
    CHECK_THAT(input_error([&] { read_checkpoint(dir / "ck", now, tiny_params(), &notes); }),
                         Contains(dir / "ck: ") && Contains(message));
  }
  std::vector<ParameterSpec> wider = tiny_params();
  wider[0].shape = {3, 5};
  std::vector<std::string> notes;
  CHECK_THAT(input_error([&] { read_checkpoint(dir / "ck", tiny_run(), wider, &notes); }),
                       Contains("parameter names and shapes are not those of graph 'tiny'"));
}

TEST_CASE("checkpoint: a damaged file is noticed", "[checkpoint]") {
  test::TempDir dir;
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
  const std::string good = test::read_bytes(dir / "ck");
  std::vector<std::string> notes;
  // One bit of the last tensor value; then one character of a metadata value.
  std::string bytes = good;
  bytes[bytes.size() - 1] ^= 1;
  test::write_bytes(dir / "ck", bytes);
  CHECK_THAT(input_error([&] { read_back(dir / "ck"); }), Contains("damaged: its checksum does not match"));
  bytes = good;
  bytes[bytes.find("\"seed\":\"7\"") + 8] = '8';
  test::write_bytes(dir / "ck", bytes);
  CHECK_THAT(input_error([&] { read_back(dir / "ck"); }), Contains("damaged"));
  test::write_bytes(dir / "ck", good.substr(0, good.size() - 4));
  CHECK_THROWS_AS(read_back(dir / "ck"), InputError);
}

TEST_CASE("checkpoint: the metadata must be this version's, complete, with nothing unknown", "[checkpoint]") {
  test::TempDir dir;
  const std::vector<std::pair<std::function<void(std::map<std::string, std::string>&)>, std::string>> cases = {
      {[](auto& m) { m.erase("netc_checkpoint"); }, "not a netc checkpoint"},
      {[](auto& m) { m["netc_checkpoint"] = "netc-checkpoint/4"; },
       "a checkpoint of format 'netc-checkpoint/4'; this netc reads 'netc-checkpoint/3' and 'netc-checkpoint/2'"},
      {[](auto& m) { m["netc_checkpoint"] = "netc-checkpoint/1"; },
       "a checkpoint of format 'netc-checkpoint/1'; this netc reads 'netc-checkpoint/3' and 'netc-checkpoint/2'"},
      {[](auto& m) { m.erase("betas"); }, "the checkpoint's metadata has no 'betas'"},
      {[](auto& m) { m.erase("step"); }, "the checkpoint's metadata has no 'step'"},
      {[](auto& m) { m.erase("checksum"); }, "has no 'checksum'"},
      {[](auto& m) { m["learning_rate"] = "1"; }, "an unknown entry 'learning_rate'"},
  };
  for (const auto& [edit, message] : cases) {
    write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
    edit_metadata(dir / "ck", edit);
    CHECK_THAT(input_error([&] { read_back(dir / "ck"); }), Contains(message));
  }
  // A weights file is not a checkpoint.
  tiny_state().params.save(dir / "weights");
  CHECK_THAT(input_error([&] { read_back(dir / "weights"); }), Contains("not a netc checkpoint"));
}

TEST_CASE("checkpoint: a state with NaN or Inf is never written", "[checkpoint]") {
  test::TempDir dir;
  TrainingState s = tiny_state();
  s.slots[0][0][3] = INFINITY;
  CHECK_THROWS_AS(write_checkpoint(dir / "ck", tiny_run(), tiny_params(), s), std::logic_error);
  CHECK_FALSE(std::filesystem::exists(dir / "ck"));
}

TEST_CASE("checkpoint: the training data's fingerprint covers pixels, labels and shape", "[checkpoint]") {
  Dataset a;
  a.train_images = IdxImages{2, 2, 3, std::vector<uint8_t>(12, 1)};
  a.train_labels = {0, 1};
  Dataset pixel = a, label = a, shape = a;
  pixel.train_images.pixels[11] = 2;
  label.train_labels[0] = 1;
  shape.train_images.rows = 3, shape.train_images.cols = 2;
  const std::string fp = train_data_fingerprint(a);
  CHECK(fp == train_data_fingerprint(a));
  for (const Dataset* d : {&pixel, &label, &shape}) CHECK(train_data_fingerprint(*d) != fp);
}

TEST_CASE("checkpoint: the checksum is a SHA-256 of the contents", "[checkpoint]") {
  test::TempDir dir;
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
  std::map<std::string, std::string> metadata;
  auto tensors = read_safetensors(dir / "ck", &metadata);
  CHECK(metadata.at("checksum").size() == 64);
  CHECK(metadata.at("checksum") == checkpoint_checksum(metadata, tensors));
  tensors.at("fc1.bias").data[0] += 1;
  CHECK(metadata.at("checksum") != checkpoint_checksum(metadata, tensors));
}

TEST_CASE("checkpoint: a state no run reaches is refused, whatever its checksum", "[checkpoint]") {
  test::TempDir dir;
  const std::string zero_generator = [] {
    // The batch order's header (format, count, batch, shuffle, seed, epoch),
    // then the generator's words as zeros, then its position.
    std::istringstream in(tiny_state().batch_order);
    std::vector<std::string> fields{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
    std::string text;
    for (size_t k = 0; k < fields.size(); ++k)
      text += (k ? " " : "") + (k < 6 || k + 1 == fields.size() ? fields[k] : std::string("0"));
    return text;
  }();
  const std::vector<std::pair<std::function<void(std::map<std::string, std::string>&)>, std::string>> cases = {
      {[](auto& m) { m["step"] = "-1"; }, "metadata 'step' is -1"},
      {[](auto& m) { m["step"] = "3"; }, "metadata 'batch_order': the saved batch order is at epoch 1, but 3 batches"},
      {[](auto& m) { m["step"] = "4611686018427387904"; }, "metadata 'batch_order': step 4611686018427387904 is beyond"},
      {[&](auto& m) { m["batch_order"] = zero_generator; }, "metadata 'batch_order': the saved batch order's generator"},
      {[](auto& m) { m["step"] = "seven"; }, "metadata 'step' is 'seven', not a number"},
  };
  for (const auto& [edit, message] : cases) {
    write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
    forge_metadata(dir / "ck", edit);
    CHECK_THAT(input_error([&] { read_back(dir / "ck"); }), Contains(dir / "ck: ") && Contains(message));
  }
}

TEST_CASE("checkpoint: a validation set or augmentation is one entry, with the best validation accuracy",
          "[checkpoint]") {
  test::TempDir dir;
  // A run with neither has no such entry.
  write_checkpoint(dir / "plain", tiny_run(), tiny_params(), tiny_state());
  std::map<std::string, std::string> metadata;
  read_safetensors(dir / "plain", &metadata);
  CHECK(metadata.count("validation_augment") == 0);
  CHECK_FALSE(read_back(dir / "plain").best_val_accuracy);

  RunIdentity run = tiny_run();
  run.validation = 4;
  run.augment_shift = 2;
  TrainingState state = tiny_state();
  state.best_val_accuracy = 100.0 / 3;  // not a short decimal: it must come back bit for bit
  write_checkpoint(dir / "ck", run, tiny_params(), state);
  read_safetensors(dir / "ck", &metadata);
  CHECK_THAT(metadata.at("validation_augment"), Contains("\"validation\":4") && Contains("\"shift\":2"));
  CHECK(read_back(dir / "ck", run).best_val_accuracy == 100.0 / 3);

  // Augmentation alone, before any validation.
  RunIdentity augmented = tiny_run();
  augmented.augment_shift = 1;
  write_checkpoint(dir / "augmented", augmented, tiny_params(), tiny_state());
  CHECK_FALSE(read_back(dir / "augmented", augmented).best_val_accuracy);

  // Resumed with other settings.
  const std::vector<std::tuple<std::string, std::function<void(RunIdentity&)>, std::string>> cases = {
      {"ck", [](RunIdentity& r) { r.validation = 5; }, "validation 4; this run has 5"},
      {"ck", [](RunIdentity& r) { r.augment_shift = 0; }, "augment shift 2; this run has 0"},
      {"plain", [](RunIdentity& r) { r.validation = 4; }, "validation 0; this run has 4"},
      {"plain", [](RunIdentity& r) { r.augment_shift = 3; }, "augment shift 0; this run has 3"},
  };
  for (const auto& [file, change, message] : cases) {
    RunIdentity now = file == "ck" ? run : tiny_run();
    change(now);
    std::vector<std::string> notes;
    CHECK_THAT(input_error([&] { read_checkpoint(dir / file, now, tiny_params(), &notes); }), Contains(message));
  }

  // An entry no run writes, whatever its checksum.
  for (const char* forged :
       {"{\"validation\":4}", "{\"validation\":4,\"shift\":2,\"epoch\":1}", "{\"validation\":-4,\"shift\":2}",
        "{\"validation\":4,\"shift\":2,\"best_val_accuracy\":101}", "{\"validation\":0,\"shift\":0}",
        "{\"validation\":0,\"shift\":2,\"best_val_accuracy\":50}", "{\"validation\":\"4\",\"shift\":2}", "[4, 2]",
        "not json"}) {
    write_checkpoint(dir / "ck", run, tiny_params(), state);
    forge_metadata(dir / "ck", [&](auto& m) { m["validation_augment"] = forged; });
    INFO(forged);
    CHECK_THAT(input_error([&] { read_back(dir / "ck", run); }), Contains("metadata 'validation_augment' is malformed"));
  }
}

TEST_CASE("checkpoint: the training data's fingerprint covers the validation set", "[checkpoint]") {
  Dataset a;
  a.train_images = IdxImages{4, 1, 2, {1, 2, 3, 4, 5, 6, 7, 8}};
  a.train_labels = {0, 1, 2, 3};
  Dataset held_out = a, other = a;
  hold_out_validation(held_out, 1);
  hold_out_validation(other, 1);
  other.validation_labels[0] = 9;
  CHECK(train_data_fingerprint(held_out) != train_data_fingerprint(a));
  CHECK(train_data_fingerprint(other) != train_data_fingerprint(held_out));
}

TEST_CASE("checkpoint: Adam's moments round-trip under PyTorch's state names", "[checkpoint]") {
  test::TempDir dir;
  const TrainingState saved = tiny_adam_state();
  write_checkpoint(dir / "ck", tiny_adam_run(), tiny_params(), saved);
  std::map<std::string, std::string> metadata;
  auto tensors = read_safetensors(dir / "ck", &metadata);
  CHECK(tensors.size() == 6);
  CHECK(tensors.at("exp_avg_sq.fc1.weight").data[5] == 0.25f);
  CHECK(tensors.count("exp_avg.fc1.bias") == 1);
  CHECK(metadata.at("optimizer") == "adam");
  CHECK(metadata.at("betas") == "0.9,0.999");
  CHECK(metadata.at("eps") == "1e-08");
  CHECK(metadata.at("lr_schedule") == "cosine t_max=10 eta_min=0 warmup=0");
  TrainingState s = read_back(dir / "ck", tiny_adam_run());
  REQUIRE(s.slots.size() == 2);
  CHECK(same_bits(s.slots[0], saved.slots[0]));
  CHECK(same_bits(s.slots[1], saved.slots[1]));
  // An SGD run does not continue it, nor an Adam run from an SGD checkpoint.
  CHECK_THAT(input_error([&] { read_back(dir / "ck"); }), Contains("optimizer adam; this run has sgd"));
  write_checkpoint(dir / "sgd", tiny_run(), tiny_params(), tiny_state());
  CHECK_THAT(input_error([&] { read_back(dir / "sgd", tiny_adam_run()); }), Contains("optimizer sgd; this run has adam"));
}

TEST_CASE("checkpoint: a negative second moment is refused, whatever its checksum", "[checkpoint]") {
  test::TempDir dir;
  TrainingState s = tiny_adam_state();
  s.slots[1][1][0] = -1;
  write_checkpoint(dir / "ck", tiny_adam_run(), tiny_params(), s);
  CHECK_THAT(input_error([&] { read_back(dir / "ck", tiny_adam_run()); }),
             Contains("tensor 'exp_avg_sq.fc1.bias' holds a negative value"));
}

TEST_CASE("checkpoint: the previous format, netc-checkpoint/2, continues as SGD with a constant lr", "[checkpoint]") {
  test::TempDir dir;
  write_checkpoint(dir / "ck", tiny_run(), tiny_params(), tiny_state());
  // What netc-checkpoint/2 wrote: the same without the optimizer's type,
  // betas, eps and schedule.
  forge_metadata(dir / "ck", [](auto& m) {
    for (const char* key : {"optimizer", "betas", "eps", "lr_schedule"}) m.erase(key);
    m["netc_checkpoint"] = "netc-checkpoint/2";
  });
  TrainingState s = read_back(dir / "ck");
  CHECK(s.step == 7);
  CHECK(same_bits(s.slots[0], tiny_state().slots[0]));
  RunIdentity scheduled = tiny_run();
  scheduled.lr_schedule.warmup = 3;
  std::vector<std::string> notes;
  CHECK_THAT(input_error([&] { read_checkpoint(dir / "ck", scheduled, tiny_params(), &notes); }),
             Contains("lr_schedule constant warmup=0; this run has constant warmup=3"));
}
