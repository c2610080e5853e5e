// The safetensors reader (runtime/safetensors.hpp, through safetensors.h) on arbitrary files. A result
// must be consistent and survive a round trip through write_safetensors; a
// rejection must be an InputError naming the file.

#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "fuzz_support.h"
#include "input_error.h"
#include "safetensors.h"

namespace netc::fuzz {
namespace {

using Tensors = std::map<std::string, SafeTensor>;

bool same_tensors(const Tensors& a, const Tensors& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    const SafeTensor &x = ia->second, &y = ib->second;
    // Bit for bit: NaN payloads must survive too.
    if (ia->first != ib->first || x.shape != y.shape || x.data.size() != y.data.size() ||
        (!x.data.empty() && std::memcmp(x.data.data(), y.data.data(), x.data.size() * sizeof(float)) != 0))
      return false;
  }
  return true;
}

void check_consistent(const Tensors& tensors) {
  for (const auto& [name, t] : tensors) {
    uint64_t count = 1;
    for (int64_t d : t.shape) {
      require(d >= 0, "tensor " + name + " has a negative dimension");
      count *= uint64_t(d);
    }
    require(count == t.data.size(), "tensor " + name + " holds a different count of values than its shape");
  }
}

void check_round_trip(const Tensors& tensors, const std::map<std::string, std::string>& metadata) {
  static const ScratchFolder folder("safetensors");
  const std::string path = folder.path() + "/round-trip.safetensors";
  write_safetensors(path, tensors, metadata);
  std::map<std::string, std::string> metadata_again;
  const Tensors again = read_safetensors(path, &metadata_again);
  std::filesystem::remove(path);
  require(same_tensors(tensors, again) && metadata == metadata_again, "write then read changes the tensors");
}

void check_file(const std::string& path) {
  try {
    std::map<std::string, std::string> metadata;
    const Tensors tensors = read_safetensors(path, &metadata);
    check_consistent(tensors);
    check_round_trip(tensors, metadata);
  } catch (const InputError& e) {
    const std::string message = e.what();
    require_one_line(message);
    require(message.rfind(path + ": ", 0) == 0 || message.rfind("cannot read " + path, 0) == 0,
            "message does not name the file: " + message);
  }
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static netc::fuzz::InMemoryFile file;
  netc::fuzz::check_file(file.hold(data, size));
  return 0;
}
