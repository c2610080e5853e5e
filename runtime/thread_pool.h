// The thread pool that runs the parallel loops of compiled models on the host
// (installed as Halide's do_par_for). Two differences from Halide's own pool,
// which hands out iterations one by one and puts idle workers to sleep at once:
// - each thread runs one contiguous block of a loop, the same block for every
//   loop of that extent, so that consecutive stages parallel over the batch
//   find their images in the cache of the thread that made them;
// - idle workers spin a little before they sleep, as OpenMP's (so PyTorch's)
//   do: a step runs dozens of short loops back to back.
// Model A, two threads, alternating runs: 7.4-7.6 ms per step with Halide's
// pool against 6.0-6.4 ms when the machine's two cores share no cache well,
// 5.3-5.7 against 5.1-5.2 ms when they do.
#pragma once

#include <HalideRuntime.h>

namespace netc {

// Sets how many threads (the caller included) run each parallel loop; 1 runs
// them on the caller alone. Workers start and stop here, not during a loop.
void set_pool_threads(int threads);

// Halide's do_par_for: runs f(user_context, i, closure) for i in [min, min + size)
// on the pool, returning the first nonzero result. A loop nested in another,
// or started while another thread's loop runs, runs on its caller alone.
int pool_do_par_for(void* user_context, halide_task_t f, int min, int size, uint8_t* closure);

}  // namespace netc
