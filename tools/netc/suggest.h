// "Did you mean ...?" for mistyped commands and flags: the known name
// closest to what was typed, if it is close enough to be a typo.
#pragma once

#include <string>
#include <vector>

namespace netc {

// The number of single-character insertions, deletions, substitutions and
// swaps of neighbours that turn `a` into `b` (optimal string alignment).
size_t edit_distance(const std::string& a, const std::string& b);

// The name of `names` closest to `typed`, or "" when none is within a
// typo's distance (at most 2 edits, and fewer than half of its letters).
std::string closest_name(const std::string& typed, const std::vector<std::string>& names);

}  // namespace netc
