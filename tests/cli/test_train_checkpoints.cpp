// netc train's checkpoints through the command line: a run killed or stopped
// and resumed ends with the same bits as one that ran straight through; a
// diverging run stops and keeps its last good checkpoint; a checkpoint of
// another run is refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <regex>

#include "netc_process.h"
#include "safetensors.h"
#include "synthetic_mnist.h"

using namespace netc::test;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kIterations = 200;

// A run of model C long enough to be interrupted: batches of 32 from 600
// images (so the shuffled order crosses epoch boundaries), momentum (so the
// momentum buffers matter), two threads, an evaluation every 50 steps.
class Runs {
 public:
  using Flags = std::map<std::string, std::string>;
  static constexpr const char* kDrop = "(drop)";

  Runs() {
    std::filesystem::create_directory(dir / "data");
    write_synthetic_mnist(dir / "data", 600, 100);
  }

  // The run `name` (which names its --save and --metrics files), `changes`
  // replacing or adding flags ("" for a flag without a value, kDrop to
  // drop one; "graph": a graph of graphs/ or a path).
  std::vector<std::string> args(const std::string& name, const Flags& changes = {}) const {
    Flags flags = {{"--data", dir / "data"}, {"--iterations", std::to_string(kIterations)},
                   {"--batch-size", "32"},   {"--lr", "0.02"},
                   {"--momentum", "0.9"},    {"--seed", "3"},
                   {"--threads", "2"},       {"--eval-every", "50"},
                   {"--save", weights(name)}, {"--metrics", metrics(name)}};
    std::string graph = "model_c";
    for (const auto& [flag, value] : changes) (flag == "graph" ? graph : flags[flag]) = value;
    for (auto it = flags.begin(); it != flags.end();) it = it->second == kDrop ? flags.erase(it) : std::next(it);
    std::vector<std::string> a = {"train", graph.find('/') == std::string::npos ? graph_file(graph) : graph};
    for (const auto& [flag, value] : flags) {
      a.push_back(flag);
      if (!value.empty()) a.push_back(value);
    }
    return a;
  }

  Outcome run(const std::vector<std::string>& a) const { return run_netc(a, dir.path()); }

  // The uninterrupted run every other is compared with.
  void run_reference() const {
    Outcome o = run(args("reference"));
    INFO(o.err);
    REQUIRE(o.exit_code == 0);
  }
  void check_same_as_reference(const std::string& name) const {
    CHECK(read_bytes(weights(name)) == read_bytes(weights("reference")));
    CHECK(read_bytes(metrics(name)) == read_bytes(metrics("reference")));
  }

  std::string weights(const std::string& name) const { return dir / (name + ".safetensors"); }
  std::string metrics(const std::string& name) const { return dir / (name + ".jsonl"); }

  TempDir dir;
};

std::map<std::string, std::string> metadata_of(const std::string& checkpoint) {
  std::map<std::string, std::string> metadata;
  netc::read_safetensors(checkpoint, &metadata);
  return metadata;
}

int64_t step_of(const std::string& checkpoint) { return std::stoll(metadata_of(checkpoint).at("step")); }

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// The number after `prefix` in `text`, or -1.
int64_t number_after(const std::string& text, const std::string& prefix) {
  size_t at = text.find(prefix);
  return at == std::string::npos ? -1 : std::stoll(text.substr(at + prefix.size()));
}

}  // namespace

// Flags for checkpoints to `file` every `every` steps.
Runs::Flags checkpoints(const std::string& file, int64_t every) {
  return {{"--checkpoint", file}, {"--checkpoint-every", std::to_string(every)}};
}

Runs::Flags with(Runs::Flags flags, const Runs::Flags& more) {
  for (const auto& [flag, value] : more) flags[flag] = value;
  return flags;
}

TEST_CASE("train: killed by SIGKILL after a checkpoint, the resumed run ends bit-identical", "[checkpoint]") {
  Runs runs;
  runs.run_reference();
  const std::string checkpoint = runs.dir / "run.ckpt";
  const Runs::Flags every_25 = checkpoints(checkpoint, 25);
  {
    NetcProcess p(runs.args("run", every_25), runs.dir.path());
    REQUIRE(p.wait_until([&] { return exists(checkpoint); }));
    p.send(SIGKILL);
    REQUIRE(p.wait().signal == SIGKILL);
  }
  const int64_t step = step_of(checkpoint);
  CHECK(step > 0);
  CHECK(step < kIterations);
  CHECK(step % 25 == 0);
  Outcome resumed = runs.run(runs.args("run", with(every_25, {{"--resume", checkpoint}})));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("resuming from " + checkpoint + " at step " + std::to_string(step)));
  runs.check_same_as_reference("run");
  CHECK(step_of(checkpoint) == kIterations);  // the final checkpoint
}

TEST_CASE("train: SIGTERM and SIGINT finish the step, checkpoint, exit 143 and 130, and resume bit-identically",
          "[checkpoint]") {
  Runs runs;
  runs.run_reference();
  const std::string checkpoint = runs.dir / "run.ckpt", metrics = runs.metrics("run");
  const Runs::Flags on_stop = {{"--checkpoint", checkpoint}};  // and at the end, not on a schedule
  const std::vector<std::string> resume = runs.args("run", with(on_stop, {{"--resume", checkpoint}}));

  NetcProcess first(runs.args("run", on_stop), runs.dir.path());
  REQUIRE(first.wait_until([&] { return exists(metrics); }));  // the first evaluation, at step 50
  first.send(SIGTERM);
  Outcome o = first.wait();
  INFO(o.err);
  REQUIRE(o.exit_code == 143);
  const int64_t stopped = number_after(o.err, "netc: stopped by SIGTERM after step ");
  CHECK(stopped >= 50);
  CHECK(stopped < kIterations);
  CHECK_THAT(o.err, Contains("continue with --resume " + checkpoint));
  CHECK(step_of(checkpoint) == stopped);
  CHECK_FALSE(exists(runs.weights("run")));  // --save is for finished runs

  NetcProcess second(resume, runs.dir.path());
  const std::string next_record = "{\"iter\":" + std::to_string(stopped + 1) + ",";
  REQUIRE(second.wait_until([&] { return read_bytes(metrics).find(next_record) != std::string::npos; }));
  second.send(SIGINT);
  o = second.wait();
  REQUIRE(o.exit_code == 130);
  const int64_t stopped_again = number_after(o.err, "netc: stopped by SIGINT after step ");
  CHECK(stopped_again > stopped);
  CHECK(step_of(checkpoint) == stopped_again);

  o = runs.run(resume);
  REQUIRE(o.exit_code == 0);
  runs.check_same_as_reference("run");
}

TEST_CASE("train: SIGTERM without --checkpoint still exits cleanly", "[checkpoint]") {
  Runs runs;
  NetcProcess p(runs.args("run"), runs.dir.path());
  REQUIRE(p.wait_until([&] { return exists(runs.metrics("run")); }));
  p.send(SIGTERM);
  Outcome o = p.wait();
  CHECK(o.exit_code == 143);
  CHECK_THAT(o.err, Contains("no checkpoint written (see --checkpoint)"));
  // The metrics file holds every step up to the one it stopped after.
  const int64_t stopped = number_after(o.err, "after step ");
  CHECK_THAT(read_bytes(runs.metrics("run")), Contains("{\"iter\":" + std::to_string(stopped) + ",\"loss\""));
}

TEST_CASE("train: resuming from an older checkpoint, or extending a finished run, gives the same bits",
          "[checkpoint]") {
  Runs runs;
  runs.run_reference();
  // A copy of an early checkpoint of a run that then finishes: its metrics
  // file goes on past the checkpoint, and the resumed run must drop that part.
  const std::string checkpoint = runs.dir / "run.ckpt", early = runs.dir / "early.ckpt";
  {
    NetcProcess p(runs.args("run", checkpoints(checkpoint, 30)), runs.dir.path());
    REQUIRE(p.wait_until([&] { return exists(checkpoint); }));
    std::filesystem::copy_file(checkpoint, early);
    REQUIRE(p.wait().exit_code == 0);
  }
  CHECK(step_of(early) < kIterations);
  Outcome o = runs.run(runs.args("run", with(checkpoints(checkpoint, 30), {{"--resume", early}})));
  REQUIRE(o.exit_code == 0);
  runs.check_same_as_reference("run");

  // 80 steps and their final checkpoint, then the other 120.
  const std::string short_run = runs.dir / "short.ckpt";
  REQUIRE(runs.run(runs.args("short", {{"--checkpoint", short_run}, {"--iterations", "80"}})).exit_code == 0);
  CHECK(step_of(short_run) == 80);
  o = runs.run(runs.args("short", {{"--checkpoint", short_run}, {"--resume", short_run}}));
  REQUIRE(o.exit_code == 0);
  CHECK(read_bytes(runs.weights("short")) == read_bytes(runs.weights("reference")));
}

TEST_CASE("train: AdamW with a warmed-up cosine schedule resumes from an older checkpoint with the same bits",
          "[checkpoint]") {
  Runs runs;
  // Model C with AdamW and a schedule that changes the lr at every step.
  std::string text = read_bytes(graph_file("model_c"));
  const std::string sgd = "optimizer: {type: sgd, lr: 0.01}";
  REQUIRE(text.find(sgd) != std::string::npos);
  text.replace(text.find(sgd), sgd.size(),
               "optimizer: {type: adamw, lr: 0.002}\n  lr_schedule: {type: cosine, t_max: 150, warmup: 20}");
  const std::string graph = runs.dir / "model_c_adamw.yaml";
  write_bytes(graph, text);
  const Runs::Flags adamw = {{"graph", graph}, {"--momentum", Runs::kDrop}, {"--lr", Runs::kDrop}};
  Outcome reference = runs.run(runs.args("reference", adamw));
  INFO(reference.err);
  REQUIRE(reference.exit_code == 0);
  CHECK_THAT(reference.err, Contains("adamw, lr 0.002, schedule cosine t_max=150 eta_min=0 warmup=20"));
  const std::string checkpoint = runs.dir / "run.ckpt", early = runs.dir / "early.ckpt";
  {
    NetcProcess p(runs.args("run", with(adamw, checkpoints(checkpoint, 30))), runs.dir.path());
    REQUIRE(p.wait_until([&] { return exists(checkpoint); }));
    std::filesystem::copy_file(checkpoint, early);
    REQUIRE(p.wait().exit_code == 0);
  }
  CHECK(step_of(early) < kIterations);
  const std::map<std::string, std::string> metadata = metadata_of(early);
  CHECK(metadata.at("optimizer") == "adamw");
  CHECK(metadata.at("lr_schedule") == "cosine t_max=150 eta_min=0 warmup=20");
  std::map<std::string, std::string> unused;
  const auto tensors = netc::read_safetensors(early, &unused);
  CHECK(tensors.count("exp_avg.cnn1.weight") == 1);
  CHECK(tensors.count("exp_avg_sq.fc1.bias") == 1);
  Outcome o = runs.run(runs.args("run", with(with(adamw, checkpoints(checkpoint, 30)), {{"--resume", early}})));
  INFO(o.err);
  REQUIRE(o.exit_code == 0);
  runs.check_same_as_reference("run");
  // Another schedule does not continue it.
  o = runs.run(runs.args("other", with(adamw, {{"--resume", early}, {"--lr-warmup", "10"}})));
  CHECK(o.exit_code == 2);
  CHECK_THAT(o.err, Contains("lr_schedule cosine t_max=150 eta_min=0 warmup=20; this run has cosine t_max=150 "
                             "eta_min=0 warmup=10"));
}

TEST_CASE("train: a diverging run stops at the step, names it, and keeps the last good checkpoint", "[checkpoint]") {
  Runs runs;
  const std::string checkpoint = runs.dir / "run.ckpt";
  Outcome o = runs.run(runs.args("run", with(checkpoints(checkpoint, 1), {{"--lr", "1e30"}})));
  INFO(o.err);
  CHECK(o.exit_code == 1);
  CHECK_THAT(o.err, Contains("netc: error: training diverged at step "));
  const int64_t step = number_after(o.err, "diverged at step ");
  REQUIRE(step >= 2);
  CHECK(std::regex_search(o.err, std::regex("the loss is (NaN|-?Inf)|(parameter|momentum_buffer of) '[a-z0-9_]+\\.(weight|bias)'")));
  CHECK_THAT(o.err, Contains("the last good checkpoint, " + checkpoint + " (step " + std::to_string(step - 1) +
                             "), is kept"));
  std::map<std::string, std::string> metadata;
  auto tensors = netc::read_safetensors(checkpoint, &metadata);
  CHECK(metadata.at("step") == std::to_string(step - 1));
  int64_t non_finite = 0;
  for (const auto& [name, t] : tensors)
    for (float v : t.data) non_finite += !std::isfinite(v);
  CHECK(non_finite == 0);
  CHECK_FALSE(exists(runs.weights("run")));
  // The metrics hold the diverged step's loss (as null: JSON has no NaN).
  CHECK_THAT(read_bytes(runs.metrics("run")), Contains("{\"iter\":" + std::to_string(step) + ",\"loss\":"));
}

TEST_CASE("train: a checkpoint of another graph, other settings or no checkpoint at all is refused", "[checkpoint]") {
  Runs runs;
  const std::string checkpoint = runs.dir / "ff.ckpt";
  const Runs::Flags feedforward = {{"graph", "feedforward"}, {"--iterations", "3"}, {"--resume", checkpoint}};
  REQUIRE(runs.run(runs.args("ff", {{"graph", "feedforward"}, {"--iterations", "3"}, {"--checkpoint", checkpoint}}))
              .exit_code == 0);

  const std::vector<std::pair<Runs::Flags, std::string>> cases = {
      {{{"--resume", checkpoint}}, checkpoint + ": a checkpoint of graph 'feedforward', not of 'model_c'"},
      {with(feedforward, {{"--seed", "4"}}), "seed 3; this run has 4"},
      {with(feedforward, {{"--lr", "0.03"}}), "lr 0.02; this run has 0.03"},
      {with(feedforward, {{"--no-shuffle", ""}}), "shuffle true; this run has false"},
      {with(feedforward, {{"--iterations", "2"}}), "at step 3, past --iterations 2"},
      {with(feedforward, {{"--resume", runs.weights("ff")}}), "not a netc checkpoint"},
      {with(feedforward, {{"--resume", runs.dir / "missing.ckpt"}}), "cannot read"},
      {with(feedforward, {{"--init", runs.weights("ff")}}), "--init excludes --resume"},
  };
  for (const auto& [flags, message] : cases) {
    Outcome o = runs.run(runs.args("other", flags));
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Contains("netc: error: ") && Contains(message));
  }
}
