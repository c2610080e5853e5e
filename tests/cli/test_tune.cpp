// netc tune as a user runs it, on the small feedforward graph with a small
// batch: the tuning log resumes without repeating a trial, a log of another
// run is refused, the schedule it writes trains as the default does, and the
// report is a well-formed SVG picture.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "netc_process.h"
#include "synthetic_mnist.h"

namespace netc::test {
namespace {

std::vector<nlohmann::json> records(const std::string& path, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json r = nlohmann::json::parse(line);
    if (r["type"] == type) out.push_back(r);
  }
  return out;
}

std::set<std::string> schedule_hashes(const std::vector<nlohmann::json>& trials) {
  std::set<std::string> hashes;
  for (const auto& t : trials) hashes.insert(t["schedule_hash"].get<std::string>());
  return hashes;
}

// `netc tune` of the feedforward graph at batch 8 on one thread, stopping
// after `trials` trials; more options after.
Outcome tune(const TempDir& dir, int trials, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"tune",  graph_file("feedforward"), "--batch-size", "8", "--threads", "1",
                                   "--budget", "600", "--trials", std::to_string(trials), "--log", dir / "log.jsonl",
                                   "-o", dir / "best.yaml"};
  args.insert(args.end(), more.begin(), more.end());
  return run_netc(args, dir.path());
}

std::vector<double> losses(const std::string& metrics) {
  std::vector<double> out;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json r = nlohmann::json::parse(line);
    if (r.contains("loss")) out.push_back(r["loss"].get<double>());
  }
  return out;
}

std::string replaced_in_every_line(const std::string& path, const std::string& field, const nlohmann::json& value) {
  std::ifstream in(path);
  std::string text;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json r = nlohmann::json::parse(line);
    r[field] = value;
    text += r.dump() + "\n";
  }
  return text;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("tune: a rerun resumes the log without repeating a trial, and the schedule found trains as the default does",
          "[tune]") {
  TempDir dir;
  Outcome first = tune(dir, 4);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  std::vector<nlohmann::json> trials = records(dir / "log.jsonl", "trial");
  REQUIRE(trials.size() == 4);
  CHECK(schedule_hashes(trials).size() == 4);
  CHECK(trials[0]["stage"] == "start");
  for (const char* field : {"graph_hash", "target", "halide", "netc", "netc_build", "threads", "batch", "machine",
                            "cores", "schedule", "train_step_ms", "correct", "error"})
    CHECK(trials[0].contains(field));
  CHECK_THAT(first.out, Catch::Contains("4 trials (0 resumed from the log"));

  Outcome second = tune(dir, 6);
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("6 trials (4 resumed from the log"));
  trials = records(dir / "log.jsonl", "trial");
  CHECK(trials.size() == 6);
  CHECK(schedule_hashes(trials).size() == 6);

  // The schedule written trains, and computes what the default schedule does.
  std::ifstream best(dir / "best.yaml");
  std::string first_line;
  std::getline(best, first_line);
  CHECK_THAT(first_line, Catch::StartsWith("# Found by `netc tune` for feedforward"));
  std::filesystem::create_directory(dir / "data");
  write_synthetic_mnist(dir / "data", 200, 50);
  std::vector<std::vector<double>> runs;
  for (const std::string& schedule : {dir / "best.yaml", std::string()}) {
    std::vector<std::string> args = {"train", graph_file("feedforward"), "--data", dir / "data", "--iterations", "5",
                                     "--batch-size", "8", "--threads", "1", "--metrics", dir / "metrics.jsonl"};
    if (!schedule.empty()) args.insert(args.end(), {"--schedule", schedule});
    Outcome train = run_netc(args, dir.path());
    INFO(train.err);
    REQUIRE(train.exit_code == 0);
    runs.push_back(losses(dir / "metrics.jsonl"));
  }
  REQUIRE(runs[0].size() == 5);
  REQUIRE(runs[1].size() == 5);
  for (size_t k = 0; k < 5; ++k) CHECK(runs[0][k] == Approx(runs[1][k]).epsilon(1e-4));
}

TEST_CASE("tune: a log of another graph, batch, thread count or Halide is refused, a cut last line is dropped",
          "[tune]") {
  TempDir dir;
  Outcome start = tune(dir, 1);
  INFO(start.out << start.err);
  REQUIRE(start.exit_code == 0);
  const std::string log = dir / "log.jsonl";
  const std::string good = [&] {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();

  auto refused = [&](const std::vector<std::string>& args, const std::string& what) {
    Outcome o = run_netc(args, dir.path());
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Catch::Contains("netc: error: " + log + ":1: this tuning log was made for another " + what));
  };
  refused({"tune", graph_file("model_c"), "--batch-size", "8", "--threads", "1", "--log", log}, "graph");
  refused({"tune", graph_file("feedforward"), "--batch-size", "16", "--threads", "1", "--log", log}, "batch size");
  refused({"tune", graph_file("feedforward"), "--batch-size", "8", "--threads", "2", "--log", log}, "thread count");
  write(log, replaced_in_every_line(log, "halide", "13.0.0"));
  refused({"tune", graph_file("feedforward"), "--batch-size", "8", "--threads", "1", "--log", log}, "Halide version");
  write(log, replaced_in_every_line(log, "halide", nullptr));
  refused({"tune", graph_file("feedforward"), "--batch-size", "8", "--threads", "1", "--log", log}, "Halide version");

  write(log, "not json\n");
  Outcome garbage = tune(dir, 1);
  CHECK(garbage.exit_code == 2);
  CHECK_THAT(garbage.err, Catch::Contains("--log " + log + ": exists and is not a tuning log of netc tune"));

  // An interrupted write leaves a line without its newline: dropped, the
  // finished trials kept.
  write(log, good + R"({"type": "trial", "graph)");
  Outcome resumed = tune(dir, 1);
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("dropping its last line"));
  CHECK_THAT(resumed.out, Catch::Contains("1 trials (1 resumed from the log"));
  CHECK(records(log, "trial").size() == 1);
}

TEST_CASE("tune --report: a well-formed SVG with a dot per trial, red for failures, the best so far and stage labels",
          "[tune]") {
  TempDir dir;
  auto trial = [](const std::string& stage, const std::string& variant, bool correct, double ms,
                  const std::string& error = "") {
    return nlohmann::json{{"type", "trial"}, {"graph", "model_a"}, {"batch", 100}, {"threads", 2},
                          {"target", "host"}, {"machine", "CPU & <co>"}, {"halide", "14.0.0"}, {"stage", stage},
                          {"variant", variant}, {"schedule", "target: host\n"}, {"schedule_hash", variant},
                          {"correct", correct}, {"train_step_ms", ms}, {"max_relative_error", 0}, {"error", error},
                          {"seconds", 3}}
               .dump() +
           "\n";
  };
  write(dir / "log.jsonl", trial("start", "root", true, 800) + R"({"type": "profile", "stages": []})" "\n" +
                               trial("pipeline", "plain", true, 400) + trial("pipeline", "adams", true, 200) +
                               trial("cnn2.forward", "inline", false, 0, "Halide <says> \"no\" & more") +
                               trial("cnn2.forward", "channel_tiles", true, 50));
  Outcome o = run_netc({"tune", "--report", dir / "log.jsonl", "-o", dir / "report.svg"}, dir.path());
  INFO(o.err);
  REQUIRE(o.exit_code == 0);

  // Parsed by Python's XML parser: well-formed, and the elements counted.
  const std::string check = R"(
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
circles = [c.get("class") for c in root.iter("{http://www.w3.org/2000/svg}circle") if c.get("class")]
assert circles.count("trial correct") == 4, circles
assert circles.count("trial failed") == 1, circles
lines = [p for p in root.iter("{http://www.w3.org/2000/svg}polyline") if p.get("class") == "best"]
assert len(lines) == 1 and len(lines[0].get("points").split()) >= 4, lines
texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
for stage in ("start", "pipeline", "cnn2.forward"):
    assert stage in texts, (stage, texts)
titles = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}title")]
assert any('Halide <says> "no" & more' in t for t in titles), titles
assert any("16.00x" in t for t in texts), texts
)";
  write(dir / "check.py", check);
  int status = std::system(("/usr/bin/python3 " + (dir / "check.py") + " " + (dir / "report.svg") + " > " +
                            (dir / "check.out") + " 2>&1")
                               .c_str());
  std::ifstream out(dir / "check.out");
  std::stringstream ss;
  ss << out.rdbuf();
  INFO(ss.str());
  CHECK(status == 0);

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"tune", "--report", dir / "missing.jsonl", "-o", dir / "r.svg"},
        {"tune", "--report", dir / "log.jsonl"},
        {"tune", graph_file("feedforward"), "--report", dir / "log.jsonl", "-o", dir / "r.svg"},
        {"tune"},
        {"tune", graph_file("feedforward"), "-o", dir / "no-such-folder/best.yaml"},
        {"tune", graph_file("feedforward"), "--log", dir.path()}}) {
    Outcome e = run_netc(bad, dir.path());
    INFO(e.err);
    CHECK(e.exit_code == 2);
    CHECK_THAT(e.err, Catch::StartsWith("netc: error: "));
  }
}

}  // namespace netc::test
