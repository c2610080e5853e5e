// The pool that runs compiled models' parallel loops: every iteration once,
// errors returned, nested and concurrent loops serial, any thread count.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "thread_pool.h"

namespace {

// Counts how often each iteration ran; the closure is the counter array.
int count_iteration(void*, int i, uint8_t* closure) {
  reinterpret_cast<std::atomic<int>*>(closure)[i]++;
  return 0;
}

// How often each index in [0, min + size) ran in one loop over [min, min + size);
// no Catch assertions, which are not thread-safe.
std::vector<int> run_counting(int min, int size) {
  std::vector<std::atomic<int>> counts(size_t(min + size));
  for (auto& c : counts) c = 0;
  if (netc::pool_do_par_for(nullptr, count_iteration, min, size, reinterpret_cast<uint8_t*>(counts.data())) != 0)
    return std::vector<int>(counts.size() + 1, -1);  // matches no loop
  return std::vector<int>(counts.begin(), counts.end());
}

bool each_once(const std::vector<int>& counts, int min) {
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] != (int(i) >= min ? 1 : 0)) return false;
  return true;
}

int fail_at_seven(void*, int i, uint8_t*) { return i == 7 ? -3 : 0; }

// Runs an inner loop of 50 iterations from every outer iteration.
int nested(void*, int i, uint8_t* closure) {
  auto* counts = reinterpret_cast<std::atomic<int>*>(closure);
  return netc::pool_do_par_for(nullptr, count_iteration, i * 50, 50, reinterpret_cast<uint8_t*>(counts));
}

}  // namespace

TEST_CASE("the pool runs every iteration of a loop exactly once, for any thread count", "[thread_pool]") {
  for (int threads : {1, 2, 3, 8}) {
    netc::set_pool_threads(threads);
    for (int size : {0, 1, 2, 3, 100, 1001}) {
      INFO("threads " << threads << ", size " << size);
      CHECK(each_once(run_counting(5, size), 5));
    }
  }
  // Many short loops back to back, as a training step runs them.
  netc::set_pool_threads(2);
  for (int k = 0; k < 2000; ++k) REQUIRE(each_once(run_counting(0, 1 + k % 17), 0));
}

TEST_CASE("the pool returns a failing iteration's error", "[thread_pool]") {
  netc::set_pool_threads(2);
  CHECK(netc::pool_do_par_for(nullptr, fail_at_seven, 0, 100, nullptr) == -3);
  CHECK(netc::pool_do_par_for(nullptr, fail_at_seven, 8, 100, nullptr) == 0);
}

TEST_CASE("nested loops and loops from several threads at once all complete", "[thread_pool]") {
  netc::set_pool_threads(2);
  std::vector<std::atomic<int>> counts(40 * 50);
  for (auto& c : counts) c = 0;
  REQUIRE(netc::pool_do_par_for(nullptr, nested, 0, 40, reinterpret_cast<uint8_t*>(counts.data())) == 0);
  CHECK(each_once(std::vector<int>(counts.begin(), counts.end()), 0));

  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int k = 0; k < 200; ++k)
        if (!each_once(run_counting(0, 64), 0)) wrong++;
    });
  for (auto& c : callers) c.join();
  CHECK(wrong == 0);
}
