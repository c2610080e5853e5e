#include "suggest.h"

#include <algorithm>

namespace netc {

size_t edit_distance(const std::string& a, const std::string& b) {
  // d[i][j]: the distance between a's first i and b's first j characters.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string closest_name(const std::string& typed, const std::vector<std::string>& names) {
  // Typed text is bounded by the command line, but an absurd argument
  // should not cost a quadratic table.
  constexpr size_t kLongestName = 64;
  if (typed.size() > kLongestName) return "";
  std::string best;
  size_t best_distance = 3;  // a typo is at most 2 edits away
  for (const std::string& name : names) {
    const size_t distance = edit_distance(typed, name);
    const size_t letters = std::min(typed.size(), name.size());
    if (distance < best_distance && 2 * distance < letters) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace netc
