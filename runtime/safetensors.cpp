#include "safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "input_error.h"

namespace netc {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; this host is not");

// The reference implementation's limit on the JSON header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

using json = nlohmann::json;

// Where one tensor's bytes lie, relative to the start of the data.
struct Extent {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Names from the file may hold any character (JSON escapes them); control
// characters are escaped again so that the message stays one line.
[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  std::string message = path + ": ";
  for (char c : problem) {
    const auto ch = static_cast<unsigned char>(c);
    message += ch < 0x20 || ch == 0x7f ? fmt::format("\\x{:02x}", ch) : std::string(1, c);
  }
  throw InputError(message);
}

// A JSON value for a message, at most about 60 characters. A value holding
// lists or objects is named by its kind only: dump() recurses as deep as the
// file nests, which a hostile file makes deeper than the stack.
std::string describe(const json& value) {
  const bool nested = value.is_structured() &&
                      std::any_of(value.begin(), value.end(), [](const json& v) { return v.is_structured(); });
  if (value.is_object() && nested) return "an object";
  if (nested) return fmt::format("a list of {} item{}", value.size(), value.size() == 1 ? "" : "s");
  std::string text = value.dump();  // JSON text: strings quoted, control characters escaped
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return text;
  size_t end = kMax;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // a UTF-8 boundary
  return text.substr(0, end) + "...";
}

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// nlohmann keeps the last of duplicate keys silently; the file would then
// mean different things to different readers, so refuse it.
json parse_header_json(const std::string& path, const std::string& text) {
  std::vector<std::set<std::string>> open_objects;
  auto reject_duplicates = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.back().insert(parsed.get<std::string>()).second)
      fail(path, fmt::format("the header has the key '{}' twice", parsed.get<std::string>()));
    return true;
  };
  try {
    return json::parse(text, reject_duplicates);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range (1e999).
    fail(path, fmt::format("the header is not valid JSON: {}", e.what()));
  }
}

// A JSON array of non-negative integers, as `shape` and `data_offsets` must be.
std::vector<uint64_t> unsigned_list(const std::string& path, const std::string& name, const json& entry,
                                    const char* field) {
  auto it = entry.find(field);
  if (it == entry.end()) fail(path, fmt::format("tensor '{}' has no {}", name, field));
  bool ok = it->is_array() && std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_number_unsigned(); });
  if (!ok) fail(path, fmt::format("tensor '{}': {} must be a list of non-negative integers, not {}", name, field, describe(*it)));
  return it->get<std::vector<uint64_t>>();
}

// Bytes of float32 data that `dims` describe; overflow is an error, not a
// wrap, and every size fits int64 (SafeTensor::shape).
uint64_t f32_bytes(const std::string& path, const std::string& name, const std::vector<uint64_t>& dims) {
  constexpr uint64_t kMaxBytes = uint64_t(INT64_MAX);
  const bool empty = std::count(dims.begin(), dims.end(), 0) > 0;
  uint64_t bytes = 4;
  for (uint64_t d : dims) {
    if (d > kMaxBytes / 4 || (!empty && bytes > kMaxBytes / d))
      fail(path, fmt::format("tensor '{}': its shape [{}] is absurdly large", name, fmt::join(dims, ", ")));
    bytes *= empty ? 1 : d;
  }
  return empty ? 0 : bytes;
}

Extent parse_entry(const std::string& path, const std::string& name, const json& entry) {
  if (!entry.is_object()) fail(path, fmt::format("tensor '{}': expected an object, found {}", name, describe(entry)));
  auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) fail(path, fmt::format("tensor '{}' has no dtype", name));
  if (*dtype != "F32")
    fail(path, fmt::format("tensor '{}' has dtype {}; netc reads only F32 (float32)", name, dtype->get<std::string>()));
  std::vector<uint64_t> dims = unsigned_list(path, name, entry, "shape");
  std::vector<uint64_t> offsets = unsigned_list(path, name, entry, "data_offsets");
  if (offsets.size() != 2 || offsets[0] > offsets[1])
    fail(path, fmt::format("tensor '{}': data_offsets must be [begin, end] with begin <= end, not [{}]", name,
                           fmt::join(offsets, ", ")));
  const uint64_t bytes = f32_bytes(path, name, dims);
  if (offsets[1] - offsets[0] != bytes)
    fail(path, fmt::format("tensor '{}': shape [{}] takes {} bytes as F32 but data_offsets [{}, {}] span {}", name,
                           fmt::join(dims, ", "), bytes, offsets[0], offsets[1], offsets[1] - offsets[0]));
  return Extent{name, std::vector<int64_t>(dims.begin(), dims.end()), offsets[0], offsets[1]};
}

void read_metadata(const std::string& path, const json& j, std::map<std::string, std::string>* metadata) {
  bool ok = j.is_object() && std::all_of(j.begin(), j.end(), [](const json& v) { return v.is_string(); });
  if (!ok) fail(path, "__metadata__ must map names to strings");
  if (metadata) *metadata = j.get<std::map<std::string, std::string>>();
}

std::vector<Extent> parse_header(const std::string& path, const std::string& text,
                                 std::map<std::string, std::string>* metadata) {
  const json j = parse_header_json(path, text);
  if (!j.is_object()) fail(path, "the header is not a JSON object");
  std::vector<Extent> extents;
  for (const auto& [name, value] : j.items()) {
    if (name == kMetadataKey) read_metadata(path, value, metadata);
    else extents.push_back(parse_entry(path, name, value));
  }
  return extents;
}

// As the reference implementation: the tensors tile the data exactly, with
// no overlap (two names sharing bytes), gap or trailing bytes.
void check_layout(const std::string& path, std::vector<Extent> extents, uint64_t data_bytes) {
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  const Extent* previous = nullptr;
  for (const Extent& e : extents) {
    if (e.end > data_bytes)
      fail(path, fmt::format("tensor '{}': data_offsets [{}, {}] go past the end of the data ({} bytes)", e.name,
                             e.begin, e.end, data_bytes));
    if (e.begin < covered)
      fail(path, fmt::format("tensors '{}' and '{}' overlap (data_offsets [{}, {}] and [{}, {}])", previous->name,
                             e.name, previous->begin, previous->end, e.begin, e.end));
    if (e.begin > covered) fail(path, fmt::format("bytes {} to {} of the data belong to no tensor", covered, e.begin));
    covered = e.end;
    previous = &e;
  }
  if (covered != data_bytes) fail(path, fmt::format("{} bytes after the last tensor's data", data_bytes - covered));
}

void read_exactly(std::ifstream& in, const std::string& path, void* out, uint64_t bytes) {
  in.read(static_cast<char*>(out), std::streamsize(bytes));
  if (uint64_t(in.gcount()) != bytes) fail(path, "read error: the file changed or could not be read");
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

std::map<std::string, SafeTensor> read_safetensors(const std::string& path,
                                                   std::map<std::string, std::string>* metadata) {
  // A folder opens as a stream but fails to read; a device or pipe has no size.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw InputError(fmt::format("cannot read {}: {}", path, S_ISDIR(st.st_mode) ? "it is a folder" : "it is not a regular file"));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  const uint64_t file_bytes = uint64_t(in.tellg());
  if (file_bytes < 8) fail(path, fmt::format("too short for a safetensors file ({} bytes)", file_bytes));
  in.seekg(0);
  uint8_t prefix[8];
  read_exactly(in, path, prefix, 8);
  const uint64_t header_bytes = load_le64(prefix);
  if (header_bytes > file_bytes - 8)
    fail(path, fmt::format("the header length {} is more than the {} bytes that follow it: not a safetensors file, "
                           "or a truncated one", header_bytes, file_bytes - 8));
  if (header_bytes > kMaxHeaderBytes)
    fail(path, fmt::format("the header length {} is over the limit of {}", header_bytes, kMaxHeaderBytes));
  std::string header(header_bytes, '\0');
  read_exactly(in, path, header.data(), header_bytes);

  const std::vector<Extent> extents = parse_header(path, header, metadata);
  const uint64_t data_start = 8 + header_bytes;
  check_layout(path, extents, file_bytes - data_start);
  std::map<std::string, SafeTensor> tensors;
  for (const Extent& e : extents) {
    SafeTensor& t = tensors[e.name];
    t.shape = e.shape;
    t.data.resize((e.end - e.begin) / 4);
    in.seekg(std::streamoff(data_start + e.begin));
    read_exactly(in, path, t.data.data(), e.end - e.begin);
  }
  return tensors;
}

void write_safetensors(const std::string& path, const std::map<std::string, SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Insertion order is file order, as the reference implementation writes it.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == kMetadataKey) throw std::invalid_argument("write_safetensors: a tensor may not be called __metadata__");
    uint64_t count = 1;
    for (int64_t d : t.shape) count *= uint64_t(std::max<int64_t>(d, 0));
    bool negative = std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; });
    if (negative || count != t.data.size())
      throw std::invalid_argument(fmt::format("write_safetensors: tensor '{}' has shape {} but {} values", name,
                                              shape_str(t.shape), t.data.size()));
    const uint64_t bytes = t.data.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  uint8_t prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  AtomicFileWriter out(path);
  out.write(prefix, 8);
  out.write(text);
  for (const auto& [name, t] : tensors) out.write(t.data.data(), t.data.size() * sizeof(float));
  out.commit();
}

}  // namespace netc
