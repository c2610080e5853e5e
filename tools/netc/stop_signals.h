// SIGINT and SIGTERM as a request to stop cleanly (netc train, netc tune):
// while a StopOnSignals lives, a handler records the signal in stop_signal,
// which the long-running work polls; it then cleans up and stops, and netc
// exits with 128 + the signal (docs/cli.md).
#pragma once

#include <csignal>

namespace netc {

// The signal a handler saw (0: none yet).
inline volatile std::sig_atomic_t stop_signal = 0;
extern "C" inline void request_stop(int signal) { stop_signal = signal; }

// Each handler acts once: a second signal of the same kind has its default
// effect at once.
class StopOnSignals {
 public:
  StopOnSignals() {
    struct sigaction action {};
    action.sa_handler = request_stop;
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopOnSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace netc
