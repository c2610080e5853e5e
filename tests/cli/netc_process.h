// The netc binary run as a child process: its exit status or the signal
// that ended it, its output, and optionally a limit on its address space (so
// that allocating in proportion to a lying size in a file fails the test)
// and on the size of the files it writes (a full disk, as far as the writer
// can tell).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace netc::test {

struct Outcome {
  int exit_code = -1;  // -1 when a signal ended it
  int signal = 0;      // the signal that ended it, or 0
  std::string out, err;
};

class NetcProcess {
 public:
  // Starts `netc args...` with stdout and stderr going to files in `folder`;
  // `launcher netc args...` when a launcher is given (mpirun and its flags).
  NetcProcess(const std::vector<std::string>& args, const std::string& folder, uint64_t memory_limit_bytes = 0,
              uint64_t file_size_limit_bytes = 0, const std::vector<std::string>& launcher = {}) {
    static std::atomic<int> counter{0};
    const int n = counter++;
    out_path_ = folder + "/stdout." + std::to_string(n);
    err_path_ = folder + "/stderr." + std::to_string(n);
    std::vector<std::string> argv_strings = launcher;
    argv_strings.push_back(NETC_BINARY);
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = environment(memory_limit_bytes, !launcher.empty());
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      if (memory_limit_bytes && !kSanitized) {
        struct rlimit limit = {memory_limit_bytes, memory_limit_bytes};
        setrlimit(RLIMIT_AS, &limit);
      }
      if (file_size_limit_bytes) {
        struct rlimit limit = {file_size_limit_bytes, file_size_limit_bytes};
        setrlimit(RLIMIT_FSIZE, &limit);
      }
      int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
  }
  // AddressSanitizer reserves terabytes of address space for its shadow
  // memory, so an address-space limit stops a sanitized netc before main; its
  // allocator enforces the same promise instead: no single allocation beyond
  // the limit (it then fails, and netc reports "out of memory", not exit 2).
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kSanitized = true;
#else
  static constexpr bool kSanitized = false;
#endif

  // Under a launcher (mpirun) LeakSanitizer is off: Open MPI frees little of
  // its own at MPI_Finalize, and those are not netc's leaks (the same code
  // runs leak-checked in the tests without a launcher).
  static std::vector<std::string> environment(uint64_t memory_limit_bytes, bool launched) {
    std::vector<std::string> env;
    std::string asan_options;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      if (entry.rfind("ASAN_OPTIONS=", 0) == 0)
        asan_options = entry.substr(13);
      else
        env.push_back(entry);
    }
    if (kSanitized && memory_limit_bytes)
      asan_options += (asan_options.empty() ? "" : ":") + std::string("allocator_may_return_null=1:max_allocation_size_mb=") +
                      std::to_string(memory_limit_bytes >> 20);
    if (kSanitized && launched) asan_options += (asan_options.empty() ? "" : ":") + std::string("detect_leaks=0");
    if (!asan_options.empty()) env.push_back("ASAN_OPTIONS=" + asan_options);
    return env;
  }

  ~NetcProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  NetcProcess(const NetcProcess&) = delete;
  NetcProcess& operator=(const NetcProcess&) = delete;

  void send(int signal) const { kill(pid_, signal); }

  // Waits for the process to end.
  Outcome wait() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0)
      if (errno != EINTR) throw std::runtime_error("waitpid failed");
    pid_ = -1;
    Outcome o;
    if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
    o.out = read_bytes(out_path_);
    o.err = read_bytes(err_path_);
    return o;
  }

  // Polls `condition` every millisecond until it holds (true) or the
  // process ends or `timeout_s` passes (false).
  bool wait_until(const std::function<bool()>& condition, double timeout_s = 120) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      if (exited()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

 private:
  // Whether it has ended, without reaping it.
  bool exited() const {
    siginfo_t info{};
    return waitid(P_PID, pid_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }

  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

inline Outcome run_netc(const std::vector<std::string>& args, const std::string& folder,
                        uint64_t memory_limit_bytes = 0, uint64_t file_size_limit_bytes = 0) {
  return NetcProcess(args, folder, memory_limit_bytes, file_size_limit_bytes).wait();
}

inline std::string graph_file(const std::string& name) {
  return std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml";
}

}  // namespace netc::test
