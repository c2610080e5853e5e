#include "compile_cache.h"

#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "atomic_file.h"
#include "compiled_model.h"
#include "fingerprint.h"
#include "host_target.h"
#include "input_error.h"
#include "process.h"

namespace fs = std::filesystem;

namespace netc {

std::string cache_root() {
  if (const char* d = std::getenv("NETC_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/netc";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/netc";
  return "/tmp/netc-cache";
}

int64_t micro_batch_for(int64_t batch, const std::string& target, int threads) {
  constexpr int64_t kLargestPerThread = 128, kSmallest = 32;
  const int64_t largest = kLargestPerThread * std::max(1, threads);
  if (target != "host" || batch <= largest) return 0;
  for (int64_t b = largest; b >= kSmallest; --b)
    if (batch % b == 0) return b;
  return 0;
}

namespace {

std::string model_entry(const std::string& graph_name, const std::string& graph_fingerprint, UpdateRule update,
                        const BuildOptions& o, const std::string& compiler_fingerprint) {
  Fingerprint fp;
  fp.add(graph_fingerprint).add(update_rule_name(update)).add(std::to_string(o.batch)).add(halide_target_string(o.target, o.profile));
  fp.add(o.schedule_file.empty() ? std::string("default") : read_file(o.schedule_file, 1 << 20));
  fp.add("halide " NETC_HALIDE_VERSION).add(compiler_fingerprint);
  if (o.data_parallel) fp.add("data-parallel");  // only then, so that other entries keep their names
  if (o.micro_batch) fp.add("micro-batch " + std::to_string(o.micro_batch));
  return fmt::format("{}-b{}-{}-{}", graph_name, o.batch, o.target, fp.hex());
}

// Removes the staging folders of `dir` that processes no longer running
// left behind: a compile that died (a full disk makes LLVM abort) cannot
// clean up after itself.
void remove_abandoned_staging(const std::string& dir) {
  const std::string prefix = fs::path(dir).filename().string() + ".staging.";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(fs::path(dir).parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    pid_t pid = 0;
    const std::string digits = name.substr(prefix.size());
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (error != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;
    if (kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

// A compile writes a few megabytes (objects, then the library: entries take
// about 0.5 MB); with less free than this it would fail halfway.
constexpr uint64_t kCompileFreeBytes = uint64_t(16) << 20;

void check_free_space(const std::string& folder) {
  struct statvfs fs_stats {};
  if (statvfs(folder.c_str(), &fs_stats) != 0) return;  // unknown: the compile's own errors will tell
  const uint64_t free_bytes = uint64_t(fs_stats.f_bavail) * fs_stats.f_frsize;
  if (free_bytes < kCompileFreeBytes)
    throw InputError(fmt::format("the compile cache {} has {} KiB of disk free, and compiling needs about {} MiB: "
                                 "free some space, or set NETC_CACHE_DIR to a folder on another disk",
                                 folder, free_bytes >> 10, kCompileFreeBytes >> 20));
}

}  // namespace

std::string cached_model(const std::string& graph_name, const std::string& graph_fingerprint, UpdateRule update,
                         const BuildOptions& options, const std::string& compiler_fingerprint,
                         const std::function<void(const std::string& folder)>& compile) {
  const std::string dir =
      cache_root() + "/models/" + model_entry(graph_name, graph_fingerprint, update, options, compiler_fingerprint);
  const std::string what =
      fmt::format("{} (batch {}{}, target {}{})", graph_name, options.batch,
                  options.micro_batch ? fmt::format(" in micro-batches of {}", options.micro_batch) : "",
                  options.target, options.profile ? ", profiled" : "");
  std::string why;
  if (fs::exists(dir)) {
    if (compiled_model_is_valid(dir, &why)) return dir;
    std::cerr << fmt::format("netc: cached pipelines in {} are unusable ({}); recompiling\n", dir, why);
    fs::remove_all(dir);
  }
  fs::create_directories(fs::path(dir).parent_path());
  auto start = std::chrono::steady_clock::now();
  std::cerr << fmt::format("netc: compiling {} ...\n", what);
  // Built under a name of its own, then renamed into place: another netc
  // compiling the same entry at the same time wins or loses whole.
  remove_abandoned_staging(dir);
  check_free_space(fs::path(dir).parent_path());
  std::string staging = fmt::format("{}.staging.{}", dir, getpid());
  fs::remove_all(staging);
  // In a process of its own: LLVM aborts the process it runs in when it
  // cannot write (a full disk, a file-size limit), and the compiler's memory
  // then goes back to the system before training allocates its own.
  try {
    run_in_child_process("compiling " + what, [&] { compile(staging); });
  } catch (const ChildProcessDied& e) {
    fs::remove_all(staging);
    throw std::runtime_error(fmt::format("{}; LLVM ends so when it cannot write its output, as on a full disk or "
                                         "past a file-size limit (ulimit -f), and this compile writes in {}",
                                         e.what(), fs::path(dir).parent_path().string()));
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
  std::error_code ec;
  fs::rename(staging, dir, ec);
  if (ec) {
    fs::remove_all(staging);
    if (!compiled_model_is_valid(dir, &why)) throw std::runtime_error(fmt::format("cannot cache {}: {}", dir, why));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << fmt::format("netc: compiled in {:.1f} s, cached in {}\n", seconds, dir);
  return dir;
}

}  // namespace netc
