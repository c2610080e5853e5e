// THE SCHEDULE, kept apart from the algorithm (compiler/lower/): it only
// reads the stage table of a lowered pipeline and applies Halide directives.
#pragma once

#include "lower/pipeline.h"

namespace netc {

// The built-in CPU schedule: every stage computed at root, vectorized along
// its innermost dimension where it is wide enough, parallel over its
// outermost, with reductions ordered so that the vector dimension is
// innermost.
void apply_default_cpu_schedule(LoweredPipeline& p, const Halide::Target& target);

}  // namespace netc
