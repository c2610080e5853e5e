// netc tune as a user runs it, on the small feedforward graph with a small
// batch: it starts from the default schedule, writes the start unchanged when
// nothing is faster beyond the noise, reports one measurement everywhere
// (--json, the log's last record, the file's header), removes its folders
// when stopped by a signal; the tuning log resumes without repeating a
// trial, a log of another run is refused, the schedule it writes trains as
// the default does, and the report is a well-formed SVG picture.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
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
    nlohmann::json r = nlohmann::json::parse(line, nullptr, false);  // a line being written is not yet a record
    if (!r.is_discarded() && r["type"] == type) out.push_back(r);
  }
  return out;
}

std::string fmt_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
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

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The number before "x the speed of the start" in a schedule file's header.
double header_speedup(const std::string& schedule) {
  std::smatch m;
  REQUIRE(std::regex_search(schedule, m, std::regex(R"(# ([0-9.]+)x the speed of the start schedule)")));
  return std::stod(m[1]);
}

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
  CHECK(trials[0]["variant"] == "schedules/cpu/default.yaml (built in)");
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

  // Until a base is kept, a trial's ratio against the start is the inverse
  // of its time over the start's in the same alternate runs ("R of the best
  // so far"), not its time over the start's first reading.
  const std::regex ratios(R"(([0-9.]+)x  ([0-9.]+) of the best so far)");
  std::istringstream lines(second.out);
  int compared = 0;
  for (std::string line; std::getline(lines, line) && line.find("kept for") == std::string::npos;) {
    std::smatch m;
    if (!std::regex_search(line, m, ratios)) continue;
    INFO(line);
    CHECK(std::stod(m[1]) == Approx(1 / std::stod(m[2])).epsilon(0.03).margin(0.006));  // both rounded
    ++compared;
  }
  CHECK(compared >= 1);

  // The closing table's "fastest trial" of each stage is the one with the
  // highest ratio against the start among that stage's trials, the ratio the
  // table prints beside it.
  const std::regex trial_line(R"(^ *\d+ +\d+ s (?:ran|log) (.{22}) .{46} +[0-9.]+ ms +([0-9.]+)x)");
  const std::regex table_row(R"(^(.{22}) +\d+ +\d+  .{46} +[0-9.]+ +([0-9.]+)x)");
  std::map<std::string, double> best_ratio;
  bool in_table = false;
  int rows = 0;
  lines = std::istringstream(second.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.find("fastest trial") != std::string::npos) in_table = true;
    if (!in_table && std::regex_search(line, m, trial_line)) {
      double& best = best_ratio[m[1]];
      best = std::max(best, std::stod(m[2]));
    } else if (in_table && std::regex_search(line, m, table_row)) {
      INFO(line);
      REQUIRE(best_ratio.count(m[1]));
      CHECK(std::stod(m[2]) == best_ratio[m[1]]);  // both printed with two decimals
      ++rows;
    }
  }
  CHECK(rows >= 2);

  // The schedule written trains, and computes what the default schedule does.
  std::ifstream best(dir / "best.yaml");
  std::string first_line;
  std::getline(best, first_line);
  CHECK_THAT(first_line, Catch::StartsWith("# Found by `netc tune` for feedforward") ||
                             Catch::StartsWith("# `netc tune` found no schedule faster than this start schedule for "
                                               "feedforward"));
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

TEST_CASE("tune: it starts from the default schedule and, finding nothing faster, writes the start unchanged",
          "[tune]") {
  TempDir dir;
  Outcome o = tune(dir, 1);
  INFO(o.out << o.err);
  REQUIRE(o.exit_code == 0);
  CHECK_THAT(o.out, Catch::Contains("start schedules/cpu/default.yaml (built in)"));
  CHECK_THAT(o.out, Catch::Contains("no faster schedule found: the start schedules/cpu/default.yaml (built in) is "
                                    "written unchanged"));
  // The start's time printed is timed again at the end, not its first reading.
  CHECK_THAT(o.out, Catch::Contains("the start timed again, "));
  const std::string written = contents(dir / "best.yaml");
  CHECK(ends_with(written, contents(std::string(NETC_SOURCE_DIR) + "/schedules/cpu/default.yaml")));
  CHECK(header_speedup(written) == 1.0);
  CHECK_THAT(written, Catch::Contains(" (median of "));

  // --start (or --schedule, as netc train takes it): that file, comments and all.
  const std::string start = "# my schedule\ntarget: host\nstages:\n  \"*\": plain  # everything plain\n";
  write(dir / "start.yaml", start);
  std::filesystem::remove(dir / "log.jsonl");
  Outcome given = tune(dir, 1, {"--schedule", dir / "start.yaml"});
  INFO(given.out << given.err);
  REQUIRE(given.exit_code == 0);
  CHECK_THAT(given.out, Catch::Contains("no faster schedule found: the start " + dir / "start.yaml"));
  CHECK(ends_with(contents(dir / "best.yaml"), start));
}

TEST_CASE("tune --json: one object whose speedup is start_ms / best_ms, as the log's last record and the file's "
          "header say",
          "[tune]") {
  TempDir dir;
  Outcome o = tune(dir, 3, {"--json"});
  INFO(o.out << o.err);
  REQUIRE(o.exit_code == 0);
  const nlohmann::json r = nlohmann::json::parse(o.out);  // stdout holds nothing else
  for (const char* field : {"start", "start_ms", "best_ms", "speedup", "schedule", "trials"}) CHECK(r.contains(field));
  CHECK(r["start"] == "schedules/cpu/default.yaml (built in)");
  CHECK(r["schedule"] == dir / "best.yaml");
  CHECK(r["trials"] == 3);
  const double start_ms = r["start_ms"].get<double>(), best_ms = r["best_ms"].get<double>();
  CHECK(start_ms > 0);
  CHECK(r["speedup"].get<double>() == Approx(start_ms / best_ms).epsilon(1e-12));
  // Written only when faster beyond the noise; else the start, at 1.00x.
  CHECK((r["found"].get<bool>() ? best_ms < start_ms : best_ms == start_ms));

  std::ifstream in(dir / "log.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  const nlohmann::json record = nlohmann::json::parse(last);
  CHECK(record["type"] == "result");
  for (const char* field : {"start", "start_ms", "best_ms", "speedup", "schedule", "trials", "found"})
    CHECK(record[field] == r[field]);
  if (r["found"].get<bool>()) CHECK(record["candidate_rounds_ms"].size() >= 5);

  const std::string written = contents(dir / "best.yaml");
  CHECK(header_speedup(written) == Approx(r["speedup"].get<double>()).margin(0.005));
  CHECK_THAT(written, Catch::Contains(fmt_ms(best_ms) + " ms against " + fmt_ms(start_ms) + " ms per training step"));

  // The report's title says the same.
  Outcome report = run_netc({"tune", "--report", dir / "log.jsonl", "-o", dir / "report.svg"}, dir.path());
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  const std::string speedup = fmt_ms(r["speedup"].get<double>()) + "x";
  CHECK_THAT(contents(dir / "report.svg"), Catch::Contains(speedup + "), timed alternately"));
}

TEST_CASE("tune: SIGTERM or SIGINT stops the search at once, writing nothing and leaving no folders", "[tune]") {
  for (int signal : {SIGTERM, SIGINT}) {
    TempDir dir;
    ScopedEnv cache("NETC_CACHE_DIR", (dir / "cache").c_str());
    NetcProcess p({"tune", graph_file("feedforward"), "--batch-size", "8", "--threads", "1", "--budget", "600",
                   "--log", dir / "log.jsonl", "-o", dir / "best.yaml"},
                  dir.path());
    // Once the start is timed, the next trial is running.
    REQUIRE(p.wait_until([&] { return records(dir / "log.jsonl", "trial").size() >= 1; }, 300));
    const auto sent = std::chrono::steady_clock::now();
    p.send(signal);
    Outcome o = p.wait();
    INFO(o.out << o.err);
    CHECK(o.exit_code == 128 + signal);
    CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(10));
    CHECK_THAT(o.err, Catch::Contains("netc tune was stopped; nothing written"));
    CHECK(!std::filesystem::exists(dir / "best.yaml"));
    CHECK(records(dir / "log.jsonl", "trial").size() >= 1);  // the finished trials stay
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "cache")) {
      const std::string path = e.path().string();
      if (path.find("/tune/") != std::string::npos || path.find(".staging.") != std::string::npos) left.push_back(path);
    }
    CHECK(left.empty());
  }
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
                               trial("cnn2.forward", "channel_tiles", true, 50) +
                               nlohmann::json{{"type", "result"}, {"graph", "model_a"}, {"start", "root"},
                                              {"start_ms", 800}, {"best_ms", 50}, {"speedup", 16},
                                              {"schedule", "best.yaml"}, {"trials", 5}, {"found", true},
                                              {"candidate", "channel_tiles"}, {"candidate_ms", 50},
                                              {"start_rounds_ms", {790, 800, 810}},
                                              {"candidate_rounds_ms", {49, 50, 51}}}
                                       .dump() +
                               "\n");
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
