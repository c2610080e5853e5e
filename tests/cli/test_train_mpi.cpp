// netc train under mpirun (docs/distributed.md): two ranks train Model A as
// one process does with the same global batch; a batch that does not split
// is refused; a killed rank ends the job; SIGTERM to a rank stops all after the
// same step with a checkpoint, and the resumed job ends bit-identical to an
// uninterrupted one. Runs as root too (CI), on more ranks than cores.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "netc_process.h"
#include "safetensors.h"
#include "synthetic_mnist.h"

using namespace netc::test;
using Catch::Matchers::Contains;

namespace {

const std::vector<std::string> kMpirun = {NETC_MPIEXEC, "--allow-run-as-root", "--oversubscribe", "--bind-to",
                                          "none", "-np", "2"};

// Model A on a small synthetic set, one thread per rank.
class MpiRuns {
 public:
  MpiRuns() {
    std::filesystem::create_directory(dir / "data");
    write_synthetic_mnist(dir / "data", 600, 100);
  }

  std::vector<std::string> args(const std::string& name, int64_t iterations,
                                const std::vector<std::string>& more = {}) const {
    std::vector<std::string> a = {"train",         graph_file("model_a"), "--data",       dir / "data",
                                  "--iterations",  std::to_string(iterations), "--lr",    "0.05",
                                  "--momentum",    "0.9",                 "--threads",    "1",
                                  "--eval-every",  "10",                  "--save",       weights(name),
                                  "--metrics",     metrics(name)};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  Outcome run(const std::vector<std::string>& a) const { return run_netc(a, dir.path()); }
  Outcome run_mpi(const std::vector<std::string>& a) const { return NetcProcess(a, dir.path(), 0, 0, kMpirun).wait(); }

  std::string weights(const std::string& name) const { return dir / (name + ".safetensors"); }
  std::string metrics(const std::string& name) const { return dir / (name + ".jsonl"); }

  TempDir dir;
};

// The "loss" of each step's record, in order.
std::vector<double> losses_of(const std::string& metrics) {
  std::ifstream in(metrics);
  std::vector<double> losses;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j.at("loss").get<double>());
  }
  return losses;
}

std::map<std::string, netc::SafeTensor> tensors_of(const std::string& path) {
  std::map<std::string, std::string> metadata;
  return netc::read_safetensors(path, &metadata);
}

// The process ids of the ranks whose command line holds `marker`, with
// OMPI_COMM_WORLD_RANK=`rank` in their environment.
std::vector<pid_t> ranks_running(const std::string& marker, int rank) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::stringstream cmdline, environ;
    cmdline << std::ifstream(entry.path() / "cmdline").rdbuf();
    environ << std::ifstream(entry.path() / "environ").rdbuf();
    if (cmdline.str().find(marker) == std::string::npos || cmdline.str().find("mpirun") != std::string::npos)
      continue;
    if (environ.str().find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos)
      pids.push_back(pid_t(std::stoi(name)));
  }
  return pids;
}

}  // namespace

TEST_CASE("mpirun -np 2: the losses and parameters of one process with the same global batch", "[mpi]") {
  MpiRuns runs;
  Outcome one = runs.run(runs.args("one", 20));
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  Outcome two = runs.run_mpi(runs.args("two", 20));
  INFO(two.err);
  REQUIRE(two.exit_code == 0);
  // Rank 0 alone prints: one training line, one result.
  CHECK_THAT(two.err, Contains("2 ranks of 50 images and 1 threads"));
  CHECK(two.out.find("test accuracy") == two.out.rfind("test accuracy"));
  CHECK_THAT(two.err, Contains("MPI_Allreduce of "));

  const std::vector<double> a = losses_of(runs.metrics("one")), b = losses_of(runs.metrics("two"));
  REQUIRE(a.size() == 20);
  REQUIRE(b.size() == 20);
  // The sums run in another order (two halves of 50 images added, against
  // one sum of 100), and by step 13 momentum has driven these 100 images'
  // loss from 2.3 to 0.02 and below, where the same float rounding is a
  // larger part of the value: relative 1e-4, or 1e-5 absolute.
  for (size_t k = 0; k < a.size(); ++k) {
    INFO("step " << k + 1 << ": " << a[k] << " vs " << b[k]);
    CHECK(std::abs(a[k] - b[k]) <= 1e-4 * std::abs(a[k]) + 1e-5);
  }
  CHECK(a.back() < a.front());  // it learned something, so the comparison means something
  const auto p = tensors_of(runs.weights("one")), q = tensors_of(runs.weights("two"));
  REQUIRE(p.size() == q.size());
  for (const auto& [name, t] : p) {
    const std::vector<float>& u = t.data;
    const std::vector<float>& v = q.at(name).data;
    REQUIRE(u.size() == v.size());
    double worst = 0;
    for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, double(std::abs(u[i] - v[i])));
    INFO(name);
    CHECK(worst <= 1e-4);
  }
}

TEST_CASE("mpirun -np 2: a batch that does not split over the ranks is refused once, before any work", "[mpi]") {
  MpiRuns runs;
  Outcome o = runs.run_mpi(runs.args("odd", 5, {"--batch-size", "33"}));
  CHECK(o.exit_code != 0);
  CHECK_THAT(o.err, Contains("netc: error: the batch of 33 images (--batch-size) does not split evenly over the "
                             "launcher's 2 ranks"));
  CHECK(o.err.find("netc: error") == o.err.rfind("netc: error"));
  CHECK(!std::filesystem::exists(runs.metrics("odd")));
}

TEST_CASE("mpirun -np 2: a killed rank ends the whole job with an error, not a hang", "[mpi]") {
  MpiRuns runs;
  NetcProcess job(runs.args("killed", 100000), runs.dir.path(), 0, 0, kMpirun);
  // Training has started once rank 0's metrics have a record.
  REQUIRE(job.wait_until([&] { return std::filesystem::exists(runs.metrics("killed")) &&
                                      std::filesystem::file_size(runs.metrics("killed")) > 0; }));
  const std::vector<pid_t> rank1 = ranks_running(runs.metrics("killed"), 1);
  REQUIRE(rank1.size() == 1);
  kill(rank1[0], SIGKILL);
  const auto start = std::chrono::steady_clock::now();
  Outcome o = job.wait();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK(o.exit_code != 0);
  CHECK(ranks_running(runs.metrics("killed"), 0).empty());
}

// Waits until the job's metrics file holds an evaluation (step 10); false if
// the job ends first.
bool past_first_evaluation(const NetcProcess& job, const std::string& metrics) {
  return job.wait_until([&] {
    std::ifstream in(metrics);
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find("test_loss") != std::string::npos;
  });
}

// The signal goes to rank 1 alone, which cannot write the checkpoint: rank 0
// learns of it through the step's sum. (Signalled itself, mpirun sends the
// ranks SIGTERM only odls_base_sigkill_timeout seconds later, and SIGKILL as
// long after that: the next test.)
TEST_CASE("mpirun -np 2: SIGTERM to one rank stops both after the same step with a checkpoint and the resumed run is "
          "bit-identical",
          "[mpi]") {
  MpiRuns runs;
  // Long enough (a few seconds) that the signal lands well before the end.
  constexpr int64_t kSteps = 300;
  const std::string reference_checkpoint = runs.dir / "reference.ckpt", checkpoint = runs.dir / "run.ckpt";
  Outcome reference = runs.run_mpi(runs.args("reference", kSteps, {"--checkpoint", reference_checkpoint}));
  INFO(reference.err);
  REQUIRE(reference.exit_code == 0);
  {
    NetcProcess job(runs.args("run", kSteps, {"--checkpoint", checkpoint}), runs.dir.path(), 0, 0, kMpirun);
    REQUIRE(past_first_evaluation(job, runs.metrics("run")));
    const std::vector<pid_t> rank1 = ranks_running(runs.metrics("run"), 1);
    REQUIRE(rank1.size() == 1);
    kill(rank1[0], SIGTERM);
    Outcome stopped = job.wait();
    INFO(stopped.err);
    CHECK(stopped.exit_code != 0);
    CHECK_THAT(stopped.err, Contains("stopped by SIGTERM after step"));
    CHECK(stopped.err.find("stopped by") == stopped.err.rfind("stopped by"));  // said once
  }
  REQUIRE(std::filesystem::exists(checkpoint));
  std::map<std::string, std::string> metadata;
  netc::read_safetensors(checkpoint, &metadata);
  const int64_t step = std::stoll(metadata.at("step"));
  CHECK(step >= 10);
  REQUIRE(step < kSteps);
  Outcome resumed = runs.run_mpi(runs.args("run", kSteps, {"--checkpoint", checkpoint, "--resume", checkpoint}));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(read_bytes(runs.weights("run")) == read_bytes(runs.weights("reference")));
  CHECK(read_bytes(runs.metrics("run")) == read_bytes(runs.metrics("reference")));
}

// What a user does: SIGTERM to mpirun, which passes it on to the ranks after
// odls_base_sigkill_timeout seconds and kills them as long after that. The
// run is far too long to end first; the ranks stop within the grace period.
TEST_CASE("mpirun -np 2: SIGTERM to mpirun stops both ranks with a checkpoint within its grace period", "[mpi]") {
  MpiRuns runs;
  const std::string checkpoint = runs.dir / "run.ckpt";
  std::vector<std::string> launcher = kMpirun;
  launcher.insert(launcher.begin() + 1, {"--mca", "odls_base_sigkill_timeout", "5"});
  NetcProcess job(runs.args("run", 1000000, {"--checkpoint", checkpoint}), runs.dir.path(), 0, 0, launcher);
  REQUIRE(past_first_evaluation(job, runs.metrics("run")));
  job.send(SIGTERM);
  Outcome stopped = job.wait();
  INFO(stopped.err);
  CHECK(stopped.exit_code != 0);
  CHECK_THAT(stopped.err, Contains("stopped by SIGTERM after step"));
  CHECK(ranks_running(runs.metrics("run"), 0).empty());
  CHECK(ranks_running(runs.metrics("run"), 1).empty());
  REQUIRE(std::filesystem::exists(checkpoint));
  std::map<std::string, std::string> metadata;
  netc::read_safetensors(checkpoint, &metadata);
  CHECK(std::stoll(metadata.at("step")) >= 10);
}
