#include "fingerprint.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace netc {

Fingerprint& Fingerprint::add(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t k = 0; k < size; ++k) {
    h_ ^= p[k];
    h_ *= 0x100000001b3ull;
  }
  return *this;
}

std::string Fingerprint::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
  return buf;
}

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  Fingerprint fp;
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), std::streamsize(buf.size())) || in.gcount() > 0)
    fp.add(buf.data(), size_t(in.gcount()));
  return fp.hex();
}

}  // namespace netc
