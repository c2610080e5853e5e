// The reader of maybe-gzip files (runtime/gzip.h) on arbitrary files, read in
// chunks of uneven sizes: raw files must come back unchanged, gzip ones
// decompress or fail with an InputError naming the file. Every input also
// goes through gzip_compress and must read back as itself.
#include <string>

#include "fuzz_support.h"
#include "gzip.h"
#include "input_error.h"

namespace netc::fuzz {
namespace {

// Inflated bytes kept at most: a small input may legitimately inflate ~1000x.
constexpr size_t kMaxOutput = 64 << 20;

// The whole contents, read in chunk sizes that straddle every boundary.
std::string read_all(DecompressingReader& reader) {
  static const size_t kChunks[] = {1, 3, 4096, 17, 65536, 2};
  std::string out;
  for (size_t k = 0; out.size() < kMaxOutput; ++k) {
    const size_t want = kChunks[k % std::size(kChunks)];
    const size_t old = out.size();
    out.resize(old + want);
    const size_t got = reader.read(out.data() + old, want);
    require(got <= want, "read returned more than asked");
    out.resize(old + got);
    if (got < want) break;
  }
  return out;
}

void check_read(InMemoryFile& file, const std::string& bytes) {
  const std::string& path = file.hold(bytes);
  try {
    DecompressingReader reader(path);
    const std::string contents = read_all(reader);
    require(reader.compressed() == (bytes.size() >= 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b'),
            "compressed() disagrees with the magic bytes");
    require(reader.compressed() || contents == bytes, "a raw file read back differently");
  } catch (const InputError& e) {
    const std::string message = e.what();
    require_one_line(message);
    require(message.rfind(path + ": ", 0) == 0, "message does not name the file: " + message);
  }
}

void check_round_trip(InMemoryFile& file, const std::string& bytes) {
  DecompressingReader reader(file.hold(gzip_compress(bytes)));
  require(reader.compressed(), "gzip_compress output is not gzip");
  require(read_all(reader) == bytes, "gzip_compress does not read back as its input");
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static netc::fuzz::InMemoryFile file;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  netc::fuzz::check_read(file, bytes);
  netc::fuzz::check_round_trip(file, bytes);
  return 0;
}
