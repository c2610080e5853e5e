#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "atomic_file.h"
#include "input_error.h"

extern char** environ;

namespace netc {
namespace {

// posix_spawn's settings for `run`, released on scope exit.
class SpawnSettings {
 public:
  explicit SpawnSettings(const ProgramRun& run) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attributes_);
    posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    const std::string& output = run.output.empty() ? kNowhere : run.output;
    posix_spawn_file_actions_addopen(&actions_, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions_, 1, 2);
    if (!run.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions_, run.cwd.c_str());
    // A group of its own, so that a timeout kills what it started as well.
    posix_spawnattr_setflags(&attributes_, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes_, 0);
  }
  ~SpawnSettings() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attributes_);
  }
  SpawnSettings(const SpawnSettings&) = delete;
  SpawnSettings& operator=(const SpawnSettings&) = delete;

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attributes() const { return &attributes_; }

 private:
  static inline const std::string kNowhere = "/dev/null";
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attributes_;
};

// The wait status, or nullopt when the deadline passed or `stop` was set and
// the group was killed.
std::optional<int> wait_for(pid_t pid, std::optional<std::chrono::steady_clock::time_point> deadline,
                            const volatile std::sig_atomic_t* stop) {
  const bool polling = deadline || stop;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, polling ? WNOHANG : 0);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
    if ((deadline && std::chrono::steady_clock::now() >= *deadline) || (stop && *stop)) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return std::nullopt;
    }
    if (polling) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// What a forked copy reports through its pipe: one status byte, then the message.
enum class ChildStatus : char { kDone = 0, kInputError = 2, kFailed = 1 };

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nobody to tell
    done += size_t(n);
  }
}

// At most 64 KiB of it: a message, not a data channel.
std::string read_all(int fd) {
  std::string bytes;
  char buffer[4096];
  while (bytes.size() < (1 << 16)) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, size_t(n));
  }
  return bytes;
}

[[noreturn]] void run_as_child(int report_fd, const std::function<void()>& work) {
  // What the work prints (a profiled model's report when its check run
  // unloads it) goes to stderr: the parent's stdout carries its own output,
  // such as bench --json's one object.
  dup2(STDERR_FILENO, STDOUT_FILENO);
  ChildStatus status = ChildStatus::kDone;
  std::string message;
  try {
    work();
  } catch (const InputError& e) {
    status = ChildStatus::kInputError;
    message = e.what();
  } catch (const std::exception& e) {
    status = ChildStatus::kFailed;
    message = e.what();
  } catch (...) {
    status = ChildStatus::kFailed;
    message = "unexpected failure";
  }
  write_all(report_fd, std::string(1, char(status)) + message);
  // _exit, not exit: the parent's atexit handlers and static destructors
  // (open files, thread pools) are the parent's to run.
  _exit(0);
}

}  // namespace

void run_in_child_process(const std::string& what, const std::function<void()>& work) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  std::fflush(nullptr);  // or the copy would write the parent's buffered output again
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(fmt::format("{}: cannot fork: {}", what, std::strerror(errno)));
  }
  if (pid == 0) {
    close(fds[0]);
    run_as_child(fds[1], work);
  }
  close(fds[1]);
  const std::string report = read_all(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
  }
  if (WIFSIGNALED(status))
    throw ChildProcessDied(fmt::format("{}: the process died of signal {} ({})", what, WTERMSIG(status),
                                         strsignal(WTERMSIG(status))));
  if (report.empty()) throw std::runtime_error(fmt::format("{}: the process ended without a word", what));
  const std::string message = report.substr(1);
  switch (ChildStatus(report[0])) {
    case ChildStatus::kDone: return;
    case ChildStatus::kInputError: throw InputError(message);
    default: throw std::runtime_error(message);
  }
}

bool ProgramExit::succeeded() const { return !timed_out && !stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string ProgramExit::describe(const ProgramRun& run) const {
  if (stopped) return "was stopped";
  if (timed_out) return fmt::format("ran over {:g} s", run.timeout_s);
  if (WIFSIGNALED(status)) return fmt::format("died of signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

ProgramExit run_program(const ProgramRun& run) {
  if (run.argv.empty()) throw std::logic_error("run_program: no program");
  std::vector<char*> argv;
  for (const std::string& a : run.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  SpawnSettings settings(run);
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, argv[0], settings.actions(), settings.attributes(), argv.data(), environ);
  if (error == ENOENT) throw std::runtime_error(run.argv[0] + " is not installed");
  if (error != 0) throw std::runtime_error(fmt::format("cannot run {}: {}", run.argv[0], std::strerror(error)));
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (run.timeout_s > 0)
    deadline = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(run.timeout_s * 1000));
  ProgramExit exit;
  const std::optional<int> status = wait_for(pid, deadline, run.stop);
  exit.stopped = !status && run.stop && *run.stop;
  exit.timed_out = !status && !exit.stopped;
  exit.status = status.value_or(0);
  return exit;
}

std::string last_line(const std::string& path) {
  std::string text;
  try {
    text = read_file(path, 1 << 24);
  } catch (const std::exception&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const size_t newline = text.rfind('\n');
  std::string line = text.substr(newline == std::string::npos ? 0 : newline + 1);
  return line.size() > 500 ? line.substr(0, 500) + " ..." : line;
}

}  // namespace netc
