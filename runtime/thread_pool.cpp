#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace netc {
namespace {

void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

// How long an idle worker waits for the next loop before it sleeps: longer
// than the gaps between the loops of a step, short enough to leave an idle
// process idle.
constexpr auto kSpin = std::chrono::milliseconds(2);

// A loop's blocks are claimed through the bits of one 64-bit word.
constexpr int kMaxThreads = 64;

struct Loop {
  void* user_context;
  halide_task_t f;
  int min;
  int size;
  uint8_t* closure;
};

// Set while this thread runs a task, so that a loop nested in it runs serially.
thread_local bool in_task = false;

int serially(const Loop& loop) {
  for (int i = 0; i < loop.size; ++i)
    if (int error = loop.f(loop.user_context, loop.min + i, loop.closure)) return error;
  return 0;
}

// One loop at a time. The caller publishes it (a new generation), every
// thread claims blocks of it (drain), and the caller returns once all of them
// are done and no worker is still looking at the loop: only then may the next
// loop overwrite it.
class Pool {
 public:
  ~Pool() { stop_workers(); }

  void set_threads(int threads) {
    std::lock_guard<std::mutex> one_loop(run_mutex_);
    resize(std::max(1, threads));
  }

  int run(const Loop& loop) {
    if (in_task || loop.size < 2) return serially(loop);
    std::unique_lock<std::mutex> one_loop(run_mutex_, std::try_to_lock);
    if (!one_loop.owns_lock()) return serially(loop);  // another thread's loop is running
    if (!sized_) resize(int(std::max(1u, std::thread::hardware_concurrency())));
    if (workers_.empty()) return serially(loop);

    loop_ = loop;
    claimed_.store(0);
    pending_.store(loop.size);
    error_.store(0);
    open_.store(true);
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    drain(0);
    while (pending_.load(std::memory_order_acquire) > 0) cpu_relax();
    open_.store(false);
    while (busy_.load(std::memory_order_acquire) > 0) cpu_relax();
    return error_.load();
  }

 private:
  void resize(int threads) {
    sized_ = true;
    threads = std::min(threads, kMaxThreads);
    if (int(workers_.size()) == threads - 1) return;
    stop_workers();
    for (int k = 1; k < threads; ++k) workers_.emplace_back([this, k] { work(k); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      stopping_.store(true);
      wake_.notify_all();
    }
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stopping_.store(false);
  }

  // Runs blocks of the published loop until none is left: first the block of
  // thread `self`, then any other that its thread has not started (a worker
  // still asleep, or none at all in a forked child). The loop is cut into one
  // contiguous block per thread, the same cut for every loop of its extent.
  void drain(int self) {
    in_task = true;
    const int blocks = int(workers_.size()) + 1;
    for (int k = 0; k < blocks; ++k) {
      const int b = (self + k) % blocks;
      const uint64_t bit = uint64_t(1) << b;
      if (claimed_.fetch_or(bit) & bit) continue;
      const int begin = int(int64_t(loop_.size) * b / blocks), end = int(int64_t(loop_.size) * (b + 1) / blocks);
      for (int i = begin; i < end; ++i) {
        if (int error = loop_.f(loop_.user_context, loop_.min + i, loop_.closure)) {
          int none = 0;
          error_.compare_exchange_strong(none, error);
        }
      }
      pending_.fetch_sub(end - begin, std::memory_order_acq_rel);
    }
    in_task = false;
  }

  void work(int self) {
    uint64_t seen = generation_.load();
    while (wait_for_loop(seen)) {
      seen = generation_.load();
      busy_.fetch_add(1);
      // The caller closes the loop before it waits for busy_ to drop to zero:
      // a worker that arrives later leaves without touching the loop.
      if (open_.load() && generation_.load() == seen) drain(self);
      busy_.fetch_sub(1, std::memory_order_release);
    }
  }

  // Spins, then sleeps, until a loop newer than `seen` is published; false
  // when the pool stops.
  bool wait_for_loop(uint64_t seen) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0; generation_.load() == seen; ++spins) {
      if (stopping_.load()) return false;
      cpu_relax();
      if (spins % 1024 == 0 && std::chrono::steady_clock::now() > until) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen || stopping_.load(); });
        sleepers_.fetch_sub(1);
      }
    }
    return !stopping_.load();
  }

  std::mutex run_mutex_;  // held by the thread whose loop runs
  std::vector<std::thread> workers_;
  bool sized_ = false;
  Loop loop_{};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> open_{false};
  std::atomic<uint64_t> claimed_{0};  // a bit per block
  std::atomic<int> pending_{0}, error_{0}, busy_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void set_pool_threads(int threads) { pool().set_threads(threads); }

int pool_do_par_for(void* user_context, halide_task_t f, int min, int size, uint8_t* closure) {
  return pool().run({user_context, f, min, size, closure});
}

}  // namespace netc
