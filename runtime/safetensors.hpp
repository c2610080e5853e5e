// safetensors.hpp: netc's one reader and writer of safetensors files
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the tensors' bytes, offsets relative to the end of the header.
// netc's parameters are float32, so only F32 is read.
//
// Header-only and standard C++17 alone: the runtime uses it, and so does
// netc_model.hpp, next to which `netc compile` ships it. The reader takes
// files from anyone: whatever the reference implementation would reject is
// an Error naming the file, memory is bounded by the file's real size (never
// by numbers in its header) and time is linear in the header's size.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

namespace netc::safetensors {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; this host is not");

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};
using Tensors = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

// A file that cannot be read or is not a valid safetensors file of F32
// tensors: "<path>: <problem>", on one line.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// The reference implementation's limit on the JSON header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// serde_json's, the reference implementation's JSON parser.
constexpr int kMaxDepth = 128;
constexpr size_t kMaxRank = 64;
constexpr const char* kMetadataKey = "__metadata__";

// Names from the file may hold any character; control characters are
// escaped so that the message stays one line.
[[noreturn]] inline void fail(const std::string& path, const std::string& problem) {
  std::string message = path + ": ";
  for (char c : problem) {
    const auto ch = static_cast<unsigned char>(c);
    if (ch >= 0x20 && ch != 0x7f) {
      message += c;
      continue;
    }
    const char hex[] = "0123456789abcdef";
    message += std::string("\\x") + hex[ch >> 4] + hex[ch & 15];
  }
  throw Error(message);
}

template <typename Int>
std::string join(const std::vector<Int>& values) {
  std::string s;
  for (size_t k = 0; k < values.size(); ++k) s += (k ? ", " : "") + std::to_string(values[k]);
  return s;
}

// The length of the UTF-8 sequence at `s` (0 if invalid), as RFC 3629
// allows it: no overlong forms, surrogates or code points past U+10FFFF.
inline size_t utf8_length(std::string_view s) {
  const auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (length == 0) return 0;
  const unsigned low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  const unsigned high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t k = 2; k < length; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  return length;
}

inline bool valid_utf8(std::string_view s) {
  for (size_t k = 0, n; k < s.size(); k += n)
    if ((n = utf8_length(s.substr(k))) == 0) return false;
  return true;
}

inline void append_utf8(std::string& s, uint32_t code) {
  if (code < 0x80) {
    s += char(code);
  } else if (code < 0x800) {
    s += char(0xC0 | code >> 6);
    s += char(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    s += char(0xE0 | code >> 12);
    s += char(0x80 | (code >> 6 & 0x3F));
    s += char(0x80 | (code & 0x3F));
  } else {
    s += char(0xF0 | code >> 18);
    s += char(0x80 | (code >> 12 & 0x3F));
    s += char(0x80 | (code >> 6 & 0x3F));
    s += char(0x80 | (code & 0x3F));
  }
}

// Whether a JSON number (its syntax checked) is beyond double's range, which
// the reference implementation refuses. The number is 0.DIGITS x 10^exponent,
// DIGITS starting with a non-zero digit; only its first 17 digits matter.
inline bool beyond_double(std::string_view number) {
  std::string digits;
  int64_t exponent = 0;
  bool fraction = false;
  size_t k = number[0] == '-';
  for (; k < number.size() && number[k] != 'e' && number[k] != 'E'; ++k) {
    if (number[k] == '.') {
      fraction = true;
    } else if (digits.empty() && number[k] == '0') {
      exponent -= fraction;
    } else {
      if (digits.size() < 17) digits += number[k];
      exponent += !fraction;
    }
  }
  if (digits.empty()) return false;  // zero
  if (k < number.size()) {
    const bool negative = number[++k] == '-';
    if (number[k] == '-' || number[k] == '+') ++k;
    int64_t e = 0;  // clamped: far past any double, and no overflow
    for (; k < number.size(); ++k) e = std::min<int64_t>(e * 10 + (number[k] - '0'), 1'000'000);
    exponent += negative ? -e : e;
  }
  digits.resize(17, '0');
  return exponent > 309 || (exponent == 309 && digits > "17976931348623157");
}

// Strict JSON (RFC 8259) over the header, nesting bounded. value() checks a
// whole value and returns its text; the reader checks the whole header so
// first, then walks it again for its meaning, where nothing can fail.
class JsonCursor {
 public:
  JsonCursor(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  char peek() {
    skip_blanks();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool consume(char c) {
    if (peek() != c || c == '\0') return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }
  // After the one value of the text, only blanks.
  void end() {
    skip_blanks();
    if (pos_ != text_.size()) fail("text after the end");
  }

  std::string_view value(int depth = 0) {
    if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth));
    const char c = peek();
    const size_t start = pos_;
    if (c == '{') members([&](const std::string&) { value(depth + 1); });
    else if (c == '[') items([&] { value(depth + 1); });
    else if (c == '"') string();
    else if (c == '-' || (c >= '0' && c <= '9')) number();
    else if (pos_ == text_.size()) fail("unexpected end");
    else if (!literal("true") && !literal("false") && !literal("null")) fail("unexpected character");
    return text_.substr(start, pos_ - start);
  }

  // Calls visit(key) for each member of the object next, with the cursor
  // before the member's value, which visit must read.
  template <typename Visit>
  void members(Visit visit) {
    std::unordered_set<std::string> keys;
    expect('{');
    if (consume('}')) return;
    do {
      std::string key = string();
      // Readers would differ on which of the two counts.
      if (!keys.insert(key).second) detail::fail(path_, "the header has the key '" + key + "' twice");
      expect(':');
      visit(key);
    } while (consume(','));
    expect('}');
  }

  // Calls visit() for each item of the list next, which visit must read.
  template <typename Visit>
  void items(Visit visit) {
    expect('[');
    if (consume(']')) return;
    do visit();
    while (consume(','));
    expect(']');
  }

  std::string string() {
    expect('"');
    std::string s;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return s;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c == '\\') {
        escape(s);
        continue;
      }
      const size_t n = utf8_length(text_.substr(pos_));
      if (n == 0) fail("invalid UTF-8 in a string");
      s.append(text_.substr(pos_, n));
      pos_ += n;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    detail::fail(path_, "the header is not valid JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void skip_blanks() {
    while (pos_ < text_.size() && text_[pos_] != '\0' && std::strchr(" \t\r\n", text_[pos_])) ++pos_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  size_t digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ - start;
  }
  void number() {
    const size_t start = pos_;
    consume('-');
    const bool leading_zero = pos_ < text_.size() && text_[pos_] == '0';
    const size_t whole = digits();
    if (whole == 0 || (leading_zero && whole > 1)) fail("bad number");
    if (pos_ < text_.size() && text_[pos_] == '.' && (++pos_, digits() == 0)) fail("bad number");
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("bad number");
    }
    if (beyond_double(text_.substr(start, pos_ - start))) {
      pos_ = start;
      fail("a number beyond double's range");
    }
  }
  uint32_t hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const char c = pos_ < text_.size() ? text_[pos_] : '\0';
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) fail("bad \\u escape");
      v = v << 4 | uint32_t(digit);
    }
    return v;
  }
  // A UTF-16 surrogate is half of a pair (\uD83D\uDE00), never alone.
  uint32_t code_point() {
    const uint32_t high = hex4();
    if (high >= 0xDC00 && high <= 0xDFFF) fail("lone UTF-16 surrogate");
    if (high < 0xD800 || high > 0xDBFF) return high;
    if (!literal("\\u")) fail("lone UTF-16 surrogate");
    const uint32_t low = hex4();
    if (low < 0xDC00 || low > 0xDFFF) fail("lone UTF-16 surrogate");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }
  void escape(std::string& s) {
    const char c = ++pos_ < text_.size() ? text_[pos_++] : '\0';
    const char* from = "\"\\/bfnrt";
    const char* to = "\"\\/\b\f\n\r\t";
    if (c == 'u') append_utf8(s, code_point());
    else if (c != '\0' && std::strchr(from, c)) s += to[std::strchr(from, c) - from];
    else fail("bad escape in a string");
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

// A JSON value (its syntax checked) for a message, at most about 60
// characters; one holding lists or objects is named by its kind only.
inline std::string describe(std::string_view value, const std::string& path) {
  JsonCursor json(value, path);
  const char kind = json.peek();
  size_t count = 0;
  bool nested = false;
  auto item = [&] {
    ++count;
    nested |= json.peek() == '{' || json.peek() == '[';
    json.value();
  };
  if (kind == '{') json.members([&](const std::string&) { item(); });
  if (kind == '[') json.items(item);
  if (nested && kind == '{') return "an object";
  if (nested) return "a list of " + std::to_string(count) + (count == 1 ? " item" : " items");
  constexpr size_t kMax = 60;
  if (value.size() <= kMax) return std::string(value);
  size_t end = kMax;
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;  // a UTF-8 boundary
  return std::string(value.substr(0, end)) + "...";
}

// A list of non-negative integers that fit uint64, or false.
inline bool unsigned_list(std::string_view value, const std::string& path, std::vector<uint64_t>& list) {
  JsonCursor json(value, path);
  if (json.peek() != '[') return false;
  bool ok = true;
  json.items([&] {
    const std::string_view number = json.value();
    uint64_t v = 0;
    for (char c : number) {
      const uint64_t digit = uint64_t(c - '0');
      ok = ok && c >= '0' && c <= '9' && v <= (UINT64_MAX - digit) / 10;
      v = v * 10 + digit;
    }
    list.push_back(v);
  });
  return ok;
}

// Where one tensor's bytes lie, relative to the start of the data.
struct Extent {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// An entry's fields, their values unread.
struct EntryFields {
  std::string_view dtype, shape, data_offsets;
  bool is_object = false;
};

inline EntryFields entry_fields(std::string_view value, const std::string& path) {
  JsonCursor json(value, path);
  EntryFields fields;
  if (json.peek() != '{') return fields;
  fields.is_object = true;
  json.members([&](const std::string& key) {
    const std::string_view v = json.value();
    if (key == "dtype") fields.dtype = v;
    if (key == "shape") fields.shape = v;
    if (key == "data_offsets") fields.data_offsets = v;
  });
  return fields;
}

inline std::vector<uint64_t> list_field(const std::string& path, const std::string& name, std::string_view value,
                                        const char* field) {
  if (value.empty()) fail(path, "tensor '" + name + "' has no " + field);
  std::vector<uint64_t> list;
  if (!unsigned_list(value, path, list))
    fail(path, "tensor '" + name + "': " + field + " must be a list of non-negative integers, not " + describe(value, path));
  return list;
}

// Bytes of float32 data that `dims` describe; overflow is an error, not a
// wrap, and every size fits int64 (Tensor::shape).
inline uint64_t f32_bytes(const std::string& path, const std::string& name, const std::vector<uint64_t>& dims) {
  constexpr uint64_t kMaxBytes = uint64_t(INT64_MAX);
  if (dims.size() > kMaxRank)
    fail(path, "tensor '" + name + "': its shape has " + std::to_string(dims.size()) + " dimensions, more than " +
                   std::to_string(kMaxRank));
  const bool empty = std::count(dims.begin(), dims.end(), 0) > 0;
  uint64_t bytes = 4;
  for (uint64_t d : dims) {
    if (d > kMaxBytes / 4 || (!empty && bytes > kMaxBytes / d))
      fail(path, "tensor '" + name + "': its shape [" + join(dims) + "] is absurdly large");
    bytes *= empty ? 1 : d;
  }
  return empty ? 0 : bytes;
}

inline Extent parse_entry(const std::string& path, const std::string& name, std::string_view value) {
  const EntryFields fields = entry_fields(value, path);
  if (!fields.is_object) fail(path, "tensor '" + name + "': expected an object, found " + describe(value, path));
  if (fields.dtype.empty() || fields.dtype[0] != '"') fail(path, "tensor '" + name + "' has no dtype");
  const std::string dtype = JsonCursor(fields.dtype, path).string();
  if (dtype != "F32") fail(path, "tensor '" + name + "' has dtype " + dtype + "; netc reads only F32 (float32)");
  const std::vector<uint64_t> dims = list_field(path, name, fields.shape, "shape");
  const std::vector<uint64_t> offsets = list_field(path, name, fields.data_offsets, "data_offsets");
  if (offsets.size() != 2 || offsets[0] > offsets[1])
    fail(path, "tensor '" + name + "': data_offsets must be [begin, end] with begin <= end, not [" + join(offsets) + "]");
  const uint64_t bytes = f32_bytes(path, name, dims);
  if (offsets[1] - offsets[0] != bytes)
    fail(path, "tensor '" + name + "': shape [" + join(dims) + "] takes " + std::to_string(bytes) +
                   " bytes as F32 but data_offsets [" + join(offsets) + "] span " + std::to_string(offsets[1] - offsets[0]));
  return Extent{name, std::vector<int64_t>(dims.begin(), dims.end()), offsets[0], offsets[1]};
}

inline Metadata parse_metadata(const std::string& path, std::string_view value) {
  JsonCursor json(value, path);
  if (json.peek() != '{') fail(path, "__metadata__ must map names to strings");
  Metadata metadata;
  json.members([&](const std::string& key) {
    if (json.peek() != '"') fail(path, "__metadata__ must map names to strings");
    metadata[key] = json.string();
  });
  return metadata;
}

inline std::vector<Extent> parse_header(const std::string& path, std::string_view text, Metadata* metadata) {
  JsonCursor whole(text, path);
  whole.value();
  whole.end();
  JsonCursor json(text, path);
  if (json.peek() != '{') fail(path, "the header is not a JSON object");
  std::vector<Extent> extents;
  json.members([&](const std::string& name) {
    const std::string_view value = json.value();
    if (name != kMetadataKey) extents.push_back(parse_entry(path, name, value));
    else if (Metadata m = parse_metadata(path, value); metadata) *metadata = std::move(m);
  });
  return extents;
}

// As the reference implementation: the tensors tile the data exactly, with
// no overlap (two names sharing bytes), gap or trailing bytes.
inline void check_layout(const std::string& path, std::vector<Extent> extents, uint64_t data_bytes) {
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  const Extent* previous = nullptr;
  for (const Extent& e : extents) {
    const std::string offsets = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end > data_bytes)
      fail(path, "tensor '" + e.name + "': data_offsets " + offsets + " go past the end of the data (" +
                     std::to_string(data_bytes) + " bytes)");
    if (e.begin < covered)
      fail(path, "tensors '" + previous->name + "' and '" + e.name + "' overlap (data_offsets [" +
                     std::to_string(previous->begin) + ", " + std::to_string(previous->end) + "] and " + offsets + ")");
    if (e.begin > covered)
      fail(path, "bytes " + std::to_string(covered) + " to " + std::to_string(e.begin) + " of the data belong to no tensor");
    covered = e.end;
    previous = &e;
  }
  if (covered != data_bytes) fail(path, std::to_string(data_bytes - covered) + " bytes after the last tensor's data");
}

inline void read_exactly(std::ifstream& in, const std::string& path, void* out, uint64_t bytes) {
  in.read(static_cast<char*>(out), std::streamsize(bytes));
  if (uint64_t(in.gcount()) != bytes) fail(path, "read error: the file changed or could not be read");
}

// A folder opens as a stream but fails to read; a device or pipe has no size.
inline std::ifstream open(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (std::filesystem::is_directory(status)) fail(path, "cannot read the file: it is a folder");
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    fail(path, "cannot read the file: it is not a regular file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, std::string("cannot read the file: ") + std::strerror(errno));
  return in;
}

// The JSON header, its length checked against the file's size.
inline std::string read_header(std::ifstream& in, const std::string& path, uint64_t file_bytes) {
  if (file_bytes < 8) fail(path, "too short for a safetensors file (" + std::to_string(file_bytes) + " bytes)");
  in.seekg(0);
  unsigned char prefix[8];
  read_exactly(in, path, prefix, 8);
  uint64_t header_bytes = 0;
  for (int k = 7; k >= 0; --k) header_bytes = header_bytes << 8 | prefix[k];
  if (header_bytes > file_bytes - 8)
    fail(path, "the header length " + std::to_string(header_bytes) + " is more than the " + std::to_string(file_bytes - 8) +
                   " bytes that follow it: not a safetensors file, or a truncated one");
  if (header_bytes > kMaxHeaderBytes)
    fail(path, "the header length " + std::to_string(header_bytes) + " is over the limit of " + std::to_string(kMaxHeaderBytes));
  std::string header(header_bytes, '\0');
  read_exactly(in, path, header.data(), header_bytes);
  return header;
}

// `text` as a JSON string, as serde_json writes it.
inline std::string quoted(const std::string& text) {
  if (!valid_utf8(text)) throw std::invalid_argument("safetensors: a name or metadata value is not UTF-8");
  std::string s = "\"";
  for (char c : text) {
    const auto ch = static_cast<unsigned char>(c);
    const char* short_form = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                           : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
    const char hex[] = "0123456789abcdef";
    if (short_form) s += short_form;
    else if (ch < 0x20) s += std::string("\\u00") + hex[ch >> 4] + hex[ch & 15];
    else s += c;
  }
  return s + "\"";
}

}  // namespace detail

// Every tensor of the file at `path`; `metadata`, if given, receives
// "__metadata__". Throws Error.
inline Tensors read(const std::string& path, Metadata* metadata = nullptr) {
  std::ifstream in = detail::open(path);
  const uint64_t file_bytes = uint64_t(in.tellg());
  const std::string header = detail::read_header(in, path, file_bytes);
  const std::vector<detail::Extent> extents = detail::parse_header(path, header, metadata);
  const uint64_t data_start = 8 + header.size();
  detail::check_layout(path, extents, file_bytes - data_start);
  Tensors tensors;
  for (const detail::Extent& e : extents) {
    Tensor& t = tensors[e.name];
    t.shape = e.shape;
    t.data.resize((e.end - e.begin) / 4);
    in.seekg(std::streamoff(data_start + e.begin));
    detail::read_exactly(in, path, t.data.data(), e.end - e.begin);
  }
  return tensors;
}

// `shape` as messages write it: [2, 3].
inline std::string shape_text(const std::vector<int64_t>& shape) { return "[" + detail::join(shape) + "]"; }

// The values a tensor of `shape` holds; std::invalid_argument for a negative
// dimension or a count past int64.
inline uint64_t element_count(const std::vector<int64_t>& shape) {
  uint64_t count = 1;
  const bool empty = std::count(shape.begin(), shape.end(), 0) > 0;
  for (int64_t d : shape) {
    if (d < 0 || (!empty && d > 0 && count > uint64_t(INT64_MAX) / 4 / uint64_t(d)))
      throw std::invalid_argument("safetensors: shape " + shape_text(shape) + " has a negative or too large dimension");
    count *= empty ? 1 : uint64_t(d);
  }
  return empty ? 0 : count;
}

// A file's bytes before its data, as the reference implementation writes
// them: the length, then the JSON header padded with spaces to a multiple of
// 8 bytes, for tensors of these shapes whose float32 values follow back to
// back in name order (the map's). std::invalid_argument for a name of
// "__metadata__", text that is not UTF-8 or a shape with no size.
inline std::string file_header(const std::map<std::string, std::vector<int64_t>>& shapes, const Metadata& metadata) {
  std::string json = "{";
  if (!metadata.empty()) {
    json += detail::quoted(detail::kMetadataKey) + ":{";
    for (const auto& [key, value] : metadata) json += (json.back() == '{' ? "" : ",") + detail::quoted(key) + ":" + detail::quoted(value);
    json += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, shape] : shapes) {
    if (name == detail::kMetadataKey) throw std::invalid_argument("safetensors: a tensor may not be called __metadata__");
    const uint64_t end = offset + element_count(shape) * sizeof(float);
    std::string dims = detail::join(shape);
    dims.erase(std::remove(dims.begin(), dims.end(), ' '), dims.end());
    json += (json.back() == '{' ? "" : ",") + detail::quoted(name) + ":{\"dtype\":\"F32\",\"shape\":[" + dims +
            "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  json += "}";
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string prefix(8, '\0');
  for (int k = 0; k < 8; ++k) prefix[k] = char(uint64_t(json.size()) >> (8 * k));
  return prefix + json;
}

}  // namespace netc::safetensors
