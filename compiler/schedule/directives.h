// Halide directives written in a schedule file, applied to one definition of
// a stage, with the file's location on every error. Each directive is a row
// of the front end's table (front/schedule_specs.h: its arguments) and a
// function in directives.cpp.
#pragma once

#include "lower/lowering.h"
#include "front/schedule_file.h"

namespace netc {

// Applies `list` in order to the pure definition of `stage` (update < 0) or
// to its update definition `update`. Stage names (compute_at, store_at) are
// looked up in `table`.
void apply_directives(const Stage& stage, int update, const std::vector<Directive>& list, const StageTable& table);

// The directives that have a function, sorted: one for every row of
// directive_specs() (tests check both ways).
std::vector<std::string> directive_function_names();

}  // namespace netc
