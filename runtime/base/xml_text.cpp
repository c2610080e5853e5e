#include "xml_text.h"

namespace netc {

std::string xml_text(const std::string& s, size_t max_chars) {
  std::string out;
  size_t i = 0;
  for (size_t chars = 0; i < s.size() && chars < max_chars; ++chars) {
    const auto c = uint8_t(s[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t code = length == 1 ? c : length == 2 ? c & 0x1f : length == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; k < length; ++k) {
      if (i + k >= s.size() || (uint8_t(s[i + k]) >> 6) != 2) {
        length = 0;
        break;
      }
      code = code << 6 | (uint8_t(s[i + k]) & 0x3f);
    }
    const bool overlong = (length == 2 && code < 0x80) || (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (length == 0 || overlong || code > 0x10ffff || (code >= 0xd800 && code < 0xe000) || code == 0xfffe ||
        code == 0xffff) {
      out += "\xef\xbf\xbd";
      i += 1;
      continue;
    }
    if (code == '&') out += "&amp;";
    else if (code == '<') out += "&lt;";
    else if (code == '>') out += "&gt;";
    else if (code == '"') out += "&quot;";
    else if (code >= 0x20 && code != 0x7f) out += s.substr(i, length);
    i += length;
  }
  return i < s.size() ? out + "\xe2\x80\xa6" : out;  // cut short: an ellipsis
}

}  // namespace netc
