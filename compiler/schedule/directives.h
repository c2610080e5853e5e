// Halide directives written in a schedule file, applied to one definition of
// a stage, with the file's location on every error.
#pragma once

#include "lower/lowering.h"
#include "front/schedule_file.h"

namespace netc {

// Applies `list` in order to the pure definition of `stage` (update < 0) or
// to its update definition `update`. Stage names (compute_at, store_at) are
// looked up in `table`.
void apply_directives(const Stage& stage, int update, const std::vector<Directive>& list, const StageTable& table);

}  // namespace netc
