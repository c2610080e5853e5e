// The CUDA schedule of one stage: the recipe `gpu` of schedule files
// (schedules/cuda/default.yaml applies it to every stage it does not inline).
#pragma once

#include "lower/lowering.h"

namespace netc {

// Makes `stage` (not a reference) one or two GPU kernels, chosen by its shape:
//  - a scalar: one GPU thread;
//  - a pure stage: one thread per value, in blocks along its dimensions fused;
//  - a reduction with many values and a short reduction: one thread per value
//    (per four channels of an image), accumulated in registers, in one kernel;
//  - any other reduction (few values, or a long reduction such as a weight
//    gradient over the whole batch): the values initialized by one kernel,
//    then the reduction cut into chunks, one thread per chunk and value,
//    each adding its partial sum atomically.
// A parameter's SGD update shares the kernel of its momentum's, found in `table`.
void schedule_gpu_stage(const Stage& stage, const StageTable& table);

}  // namespace netc
