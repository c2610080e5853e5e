#include "outputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "compiled_model.h"
#include "input_error.h"

namespace fs = std::filesystem;

namespace netc {
namespace {

// Enough of a tuning log to hold its first record (a schedule's text and the run's identity).
constexpr uint64_t kTuningLogHeadBytes = uint64_t(1) << 20;

[[noreturn]] void refuse(const Output& o, const std::string& problem) {
  throw InputError(fmt::format("{} {}: {}", o.flag, o.path, problem));
}

// The path with symbolic links and "..", as far as it exists, resolved; empty if it cannot be.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? fs::path() : p;
}

// Whether `a` and `b` name one file: the same inode where both exist (hard
// links too), else the same resolved path.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  const fs::path ra = resolved(a);
  return !ra.empty() && ra == resolved(b);
}

// Whether `path` is `folder` or inside it.
bool within(const std::string& path, const std::string& folder) {
  const fs::path p = resolved(path), f = resolved(folder);
  if (p.empty() || f.empty()) return false;
  return std::mismatch(f.begin(), f.end(), p.begin(), p.end()).first == f.end();
}

void check_folder_exists(const Output& o) {
  const fs::path folder = fs::path(o.path).parent_path();
  std::error_code ec;
  if (!folder.empty() && !fs::is_directory(folder, ec)) refuse(o, "there is no folder " + folder.string());
}

// A file output: a regular file or nothing yet (a device such as /dev/null
// must not become a regular file, and a FIFO would block the writer).
void check_file(const Output& o) {
  check_folder_exists(o);
  struct stat st;
  if (stat(o.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    refuse(o, std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) refuse(o, "that is a folder, not a file");
  if (!S_ISREG(st.st_mode)) refuse(o, "exists and is not a regular file (a device, FIFO or socket); netc writes only regular files");
}

// Whether `head`, the start of a file, begins with a record of a netc tuning log.
bool starts_as_tuning_log(const std::string& head) {
  const size_t end = head.find('\n');
  if (end == std::string::npos) return false;
  const nlohmann::json record = nlohmann::json::parse(head.substr(0, end), nullptr, false);
  return record.is_object() && record.contains("type") && record.contains("netc_build");
}

void check_tuning_log(const Output& o) {
  check_file(o);
  std::error_code ec;
  if (!fs::exists(o.path, ec) || fs::is_empty(o.path, ec)) return;
  if (!starts_as_tuning_log(read_file_start(o.path, kTuningLogHeadBytes, "tuning log")))
    refuse(o, "exists and is not a tuning log of netc tune; not appending to it (give another --log)");
}

void check_compile_folder(const Output& o) {
  std::error_code ec;
  std::string why;
  if (fs::exists(o.path, ec) && !compile_output_is_replaceable(o.path, &why))
    refuse(o, fmt::format("exists and is neither empty nor an earlier output of netc compile ({}); not replacing it",
                          why));
}

void check_kind(const Output& o) {
  switch (o.kind) {
    case Output::Kind::kFile: return check_file(o);
    case Output::Kind::kTuningLog: return check_tuning_log(o);
    case Output::Kind::kCompileFolder: return check_compile_folder(o);
  }
}

void check_not_an_input(const Output& o, const std::vector<Input>& inputs) {
  for (const Input& in : inputs) {
    if (in.path.empty() || in.flag == o.may_be_input) continue;
    if (same_file(o.path, in.path))
      refuse(o, fmt::format("that is also {} {}; netc does not write over what it reads", in.flag, in.path));
    if (o.kind == Output::Kind::kCompileFolder && within(in.path, o.path))
      refuse(o, fmt::format("that folder holds {} {}, which replacing it would delete", in.flag, in.path));
  }
}

}  // namespace

void check_outputs(const std::vector<Input>& inputs, const std::vector<Output>& outputs) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Output& o = outputs[k];
    if (o.path.empty()) continue;
    check_kind(o);
    check_not_an_input(o, inputs);
    for (size_t j = 0; j < k; ++j)
      if (!outputs[j].path.empty() && same_file(o.path, outputs[j].path))
        refuse(o, fmt::format("that is also {} {}; each output needs a file of its own", outputs[j].flag,
                              outputs[j].path));
  }
}

}  // namespace netc
