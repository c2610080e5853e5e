#include "tune/tuning_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "atomic_file.h"
#include "fingerprint.h"
#include "input_error.h"

namespace netc {
namespace {

constexpr uint64_t kMaxLogBytes = uint64_t(1) << 30;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string name = line.substr(line.find(':') + 1);
      return name.substr(std::min(name.size(), name.find_first_not_of(' ')));
    }
  return "unknown CPU";
}

std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The identity fields a record must match, and how to name them.
const std::vector<std::pair<const char*, const char*>> kIdentityFields = {
    {"graph_hash", "graph"},        {"batch", "batch size"}, {"target", "target"},
    {"threads", "thread count"},    {"machine", "machine"},  {"cores", "core count"},
    {"halide", "Halide version"},   {"netc_build", "netc build"}};

// A value as a message shows it: strings without quotes.
std::string shown(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// JSON has no infinity: an error that large is written as null.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
double number_or_infinity(const nlohmann::json& v) { return v.is_null() ? INFINITY : v.get<double>(); }

Trial trial_of(const nlohmann::json& r) {
  Trial t;
  t.stage = r.at("stage").get<std::string>();
  t.variant = r.at("variant").get<std::string>();
  t.schedule = r.at("schedule").get<std::string>();
  t.schedule_hash = r.at("schedule_hash").get<std::string>();
  t.correct = r.at("correct").get<bool>();
  t.train_step_ms = r.at("train_step_ms").get<double>();
  t.baseline_hash = r.value("baseline_hash", "");
  t.baseline_ms = r.value("baseline_ms", 0.0);
  t.max_relative_error = number_or_infinity(r.at("max_relative_error"));
  t.error = r.at("error").get<std::string>();
  t.seconds = r.at("seconds").get<double>();
  return t;
}

StageProfile profile_of(const nlohmann::json& r) {
  StageProfile p;
  p.schedule_hash = r.at("schedule_hash").get<std::string>();
  for (const auto& s : r.at("stages")) p.stages.emplace_back(s.at(0).get<std::string>(), s.at(1).get<double>());
  return p;
}

TuningResult result_of(const nlohmann::json& r) {
  TuningResult t;
  t.start = r.at("start").get<std::string>();
  t.start_ms = r.at("start_ms").get<double>();
  t.best_ms = r.at("best_ms").get<double>();
  t.schedule = r.at("schedule").get<std::string>();
  t.trials = r.at("trials").get<int>();
  t.found = r.at("found").get<bool>();
  t.candidate = r.at("candidate").get<std::string>();
  t.candidate_ms = r.at("candidate_ms").get<double>();
  t.start_rounds_ms = r.at("start_rounds_ms").get<std::vector<double>>();
  t.candidate_rounds_ms = r.at("candidate_rounds_ms").get<std::vector<double>>();
  return t;
}

// The records of a log, each with its line number; a last line cut short
// (no newline) is left out and reported in `cut_at` (its byte offset).
std::vector<std::pair<int, nlohmann::json>> parse_records(const std::string& path, const std::string& text,
                                                          size_t* cut_at) {
  std::vector<std::pair<int, nlohmann::json>> records;
  size_t begin = 0;
  int line = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    ++line;
    if (end == std::string::npos) {
      *cut_at = begin;
      break;
    }
    std::string s = text.substr(begin, end - begin);
    begin = end + 1;
    if (s.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json r = nlohmann::json::parse(s, nullptr, false);
    if (r.is_discarded() || !r.is_object() || !r.contains("type"))
      throw InputError(fmt::format("{}:{}: not a record of a netc tuning log", path, line));
    records.emplace_back(line, std::move(r));
  }
  return records;
}

}  // namespace

TuningIdentity TuningIdentity::of_this_run(const std::string& graph, const std::string& graph_hash,
                                           const std::string& target, int64_t batch, int threads) {
  TuningIdentity id;
  id.graph = graph;
  id.graph_hash = graph_hash;
  id.target = target;
  id.batch = batch;
  id.threads = threads;
  id.machine = cpu_model();
  id.cores = int(std::max(1u, std::thread::hardware_concurrency()));
  id.halide = NETC_HALIDE_VERSION;
  id.netc = NETC_VERSION;
  id.netc_build = file_fingerprint("/proc/self/exe");
  return id;
}

nlohmann::json to_json(const TuningResult& t) {
  return {{"start", t.start},
          {"start_ms", t.start_ms},
          {"best_ms", t.best_ms},
          {"speedup", t.speedup()},
          {"schedule", t.schedule},
          {"trials", t.trials},
          {"found", t.found},
          {"candidate", t.candidate},
          {"candidate_ms", t.candidate_ms},
          {"start_rounds_ms", t.start_rounds_ms},
          {"candidate_rounds_ms", t.candidate_rounds_ms}};
}

std::string schedule_hash(const std::string& schedule_text) { return Fingerprint().add(schedule_text).hex(); }

TuningLog::TuningLog(std::string path, TuningIdentity identity) : path_(std::move(path)), identity_(std::move(identity)) {
  read_existing();
}

nlohmann::json TuningLog::identity_json() const {
  const TuningIdentity& id = identity_;
  return {{"graph", id.graph},     {"graph_hash", id.graph_hash}, {"target", id.target},
          {"batch", id.batch},     {"threads", id.threads},       {"machine", id.machine},
          {"cores", id.cores},     {"halide", id.halide},         {"netc", id.netc},
          {"netc_build", id.netc_build}};
}

void TuningLog::read_existing() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return;
  if (std::filesystem::is_directory(path_, ec)) throw InputError(fmt::format("{}: that is a folder, not a tuning log", path_));
  const std::string text = read_file(path_, kMaxLogBytes);
  size_t cut_at = std::string::npos;
  auto records = parse_records(path_, text, &cut_at);
  const nlohmann::json ours = identity_json();
  for (const auto& [line, r] : records) {
    for (const auto& [field, what] : kIdentityFields) {
      if (r.contains(field) && r[field] == ours[field]) continue;
      const bool graph = std::string(field) == "graph_hash";
      std::string theirs = r.contains(field) ? shown(r[field]) : "none";
      std::string here = shown(ours[field]);
      if (graph) {
        theirs = fmt::format("{} {}", r.contains("graph") ? shown(r["graph"]) : "?", theirs);
        here = fmt::format("{} {}", shown(ours["graph"]), here);
      }
      throw InputError(fmt::format("{}:{}: this tuning log was made for another {} ({} in the log, {} here), so its "
                                   "trials do not apply to this run; tune into another --log file",
                                   path_, line, what, theirs, here));
    }
    try {
      if (r["type"] == "trial") {
        Trial t = trial_of(r);
        trials_[t.schedule_hash] = t;
      } else if (r["type"] == "profile") {
        StageProfile p = profile_of(r);
        profiles_[p.schedule_hash] = p;
      }
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}:{}: a damaged tuning log record: {}", path_, line, e.what()));
    }
  }
  if (cut_at != std::string::npos && records.empty())
    throw InputError(fmt::format("{}: not a tuning log of netc tune (no complete record); not changing it", path_));
  if (cut_at != std::string::npos) {
    std::cerr << fmt::format("netc: {}: dropping its last line, cut short when a run was interrupted\n", path_);
    if (truncate(path_.c_str(), off_t(cut_at)) != 0)
      throw std::runtime_error(fmt::format("cannot repair {}: {}", path_, std::strerror(errno)));
  }
}

const Trial* TuningLog::trial(const std::string& hash) const {
  auto it = trials_.find(hash);
  return it == trials_.end() ? nullptr : &it->second;
}

const StageProfile* TuningLog::profile(const std::string& hash) const {
  auto it = profiles_.find(hash);
  return it == profiles_.end() ? nullptr : &it->second;
}

void TuningLog::append_line(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  const bool created = !std::filesystem::exists(path_);
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot write the tuning log {}: {}", path_, std::strerror(errno)));
  // One write of the whole line: a reader never sees two records interleaved.
  ssize_t written = ::write(fd, line.data(), line.size());
  int write_errno = errno;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != ssize_t(line.size()) || !synced)
    throw std::runtime_error(fmt::format("cannot write the tuning log {}: {}", path_, std::strerror(write_errno)));
  if (created) {  // the new file's name must survive a crash too
    std::string folder = std::filesystem::absolute(path_).parent_path().string();
    int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
}

void TuningLog::append(const Trial& t) {
  nlohmann::json r = identity_json();
  r["type"] = "trial";
  r["when"] = utc_now();
  r["stage"] = t.stage;
  r["variant"] = t.variant;
  r["schedule_hash"] = t.schedule_hash;
  r["correct"] = t.correct;
  r["train_step_ms"] = t.train_step_ms;
  r["baseline_hash"] = t.baseline_hash;
  r["baseline_ms"] = t.baseline_ms;
  r["max_relative_error"] = number_or_null(t.max_relative_error);
  r["error"] = t.error;
  r["seconds"] = t.seconds;
  r["schedule"] = t.schedule;
  append_line(r);
  trials_[t.schedule_hash] = t;
}

void TuningLog::append(const TuningResult& t) {
  nlohmann::json r = identity_json();
  r["type"] = "result";
  r["when"] = utc_now();
  r.update(to_json(t));
  append_line(r);
}

void TuningLog::append(const StageProfile& p) {
  nlohmann::json r = identity_json();
  r["type"] = "profile";
  r["when"] = utc_now();
  r["schedule_hash"] = p.schedule_hash;
  r["stages"] = nlohmann::json::array();
  for (const auto& [name, ms] : p.stages) r["stages"].push_back({name, ms});
  append_line(r);
  profiles_[p.schedule_hash] = p;
}

TuningRecords read_tuning_log(const std::string& path) {
  TuningRecords out;
  size_t cut_at = std::string::npos;
  for (const auto& [line, r] : parse_records(path, read_file(path, kMaxLogBytes), &cut_at)) {
    if (out.identity.is_null()) {
      out.identity = r;
      for (const char* key : {"type", "when", "stage", "variant", "schedule_hash", "correct", "train_step_ms", "baseline_hash", "baseline_ms",
                              "max_relative_error", "error", "seconds", "schedule", "stages"})
        out.identity.erase(key);
    }
    try {
      if (r["type"] == "trial") out.trials.push_back(trial_of(r));
      if (r["type"] == "result") out.result = result_of(r);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}:{}: a damaged tuning log record: {}", path, line, e.what()));
    }
  }
  if (out.trials.empty()) throw InputError(fmt::format("{}: a tuning log with no trials", path));
  return out;
}

}  // namespace netc
