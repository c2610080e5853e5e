// Running another program, the one way netc does it: an argument vector
// handed to posix_spawn, never a command line through a shell, so that no
// path, URL or environment variable can smuggle in a command.
#pragma once

#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netc {

struct ProgramRun {
  std::vector<std::string> argv;  // argv[0] is searched on PATH unless it holds a '/'
  std::string cwd;                // where it runs; empty: this process's folder
  std::string output;             // file that gets its stdout and stderr (created or truncated)
  double timeout_s = 0;           // killed, with every process it started, after this; 0: never
  // Killed as at the deadline as soon as this becomes nonzero (a signal
  // handler's flag: the caller was asked to stop); null: never.
  const volatile std::sig_atomic_t* stop = nullptr;
};

struct ProgramExit {
  bool timed_out = false;
  bool stopped = false;  // killed because ProgramRun::stop was set
  int status = 0;  // waitpid's status when it ended by itself

  bool succeeded() const;
  // "exited with code 3", "died of signal 11 (Segmentation fault)", "ran over 30 s".
  std::string describe(const ProgramRun& run) const;
};

// Runs `run` to its end, with stdin from /dev/null, in a process group of its
// own. std::runtime_error if it cannot be started (a missing program says
// "PROGRAM is not installed").
ProgramExit run_program(const ProgramRun& run);

// Runs `work` in a forked copy of this process and waits for it: work that
// may die rather than throw (LLVM aborts when its output cannot be written,
// a memory limit kills the process) takes only the copy down, and the memory
// it used goes back to the system when the copy ends. An exception `work`
// throws comes back as the same kind (InputError or std::runtime_error) with
// its message; a copy that dies of a signal is a std::runtime_error saying
// which (ChildProcessDied), with `what` ("compiling model_a") in front.
class ChildProcessDied : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
void run_in_child_process(const std::string& what, const std::function<void()>& work);

// The last non-empty line of a file (at most 500 characters of it): a
// program's last words, for messages; empty if it cannot be read.
std::string last_line(const std::string& path);

}  // namespace netc
