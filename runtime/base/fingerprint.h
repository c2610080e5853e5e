// A 64-bit FNV-1a fingerprint: cheap, stable across machines, good enough to
// key caches and to notice a corrupted or swapped file (not a security hash).
#pragma once

#include <cstdint>
#include <string>

namespace netc {

class Fingerprint {
 public:
  Fingerprint& add(const void* data, size_t size);
  Fingerprint& add(const std::string& s) {
    add(s.data(), s.size());
    return add("\0", 1);  // so that ("ab", "c") and ("a", "bc") differ
  }
  uint64_t value() const { return h_; }
  std::string hex() const;

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

// The fingerprint of a file's contents; throws std::runtime_error if unreadable.
std::string file_fingerprint(const std::string& path);

}  // namespace netc
