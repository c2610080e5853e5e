// SHA-256 (FIPS 180-4), to check downloaded data sets, checkpoints and
// compile-cache entries without depending on an external tool or crypto library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace netc {

class Sha256 {
 public:
  Sha256& update(const void* data, size_t size);
  // The digest as 64 lowercase hex digits. Ends the computation: call once.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

inline std::string sha256_hex(const std::string& bytes) { return Sha256().update(bytes.data(), bytes.size()).hex_digest(); }

// The digest of a regular file of at most `max_bytes` (read_file's InputError if not).
std::string file_sha256(const std::string& path, uint64_t max_bytes);

}  // namespace netc
