// Text as XML character data, for the SVG pictures netc draws (netc plot,
// netc tune --report) from names and messages that come from files: markup
// escaped, control characters dropped, and bytes that are not UTF-8 replaced
// by U+FFFD, so that any text gives a well-formed document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netc {

// At most `max_chars` characters of `s`, then an ellipsis if it was longer.
std::string xml_text(const std::string& s, size_t max_chars = SIZE_MAX);

}  // namespace netc
