#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "gzip.h"
#include "input_error.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

namespace {

std::string read_all(const std::string& path, size_t chunk = 1000) {
  DecompressingReader in(path);
  std::string out, buf(chunk, '\0');
  while (size_t n = in.read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

std::string sample(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += char((i * 131) % 251);
  return s;
}

}  // namespace

TEST_CASE("DecompressingReader: raw and gzip alike, told apart by content, not name", "[gzip]") {
  test::TempDir dir;
  const std::string data = sample(1 << 20);
  test::write_bytes(dir / "raw.gz", data);
  test::write_bytes(dir / "compressed", gzip_compress(data));
  CHECK(read_all(dir / "raw.gz") == data);
  CHECK(read_all(dir / "compressed") == data);
  CHECK(read_all(dir / "compressed", 1) == sample(1 << 20));
  CHECK(!DecompressingReader(dir / "raw.gz").compressed());
  CHECK(DecompressingReader(dir / "compressed").compressed());
}

TEST_CASE("DecompressingReader: tiny and empty files", "[gzip]") {
  test::TempDir dir;
  test::write_bytes(dir / "empty", "");
  test::write_bytes(dir / "one", "\x1f");
  CHECK(read_all(dir / "empty").empty());
  CHECK(read_all(dir / "one") == "\x1f");
  test::write_bytes(dir / "gz-empty", gzip_compress(""));
  CHECK(read_all(dir / "gz-empty").empty());
}

TEST_CASE("DecompressingReader: concatenated gzip members read as one", "[gzip]") {
  test::TempDir dir;
  test::write_bytes(dir / "f", gzip_compress("first part, ") + gzip_compress("second part"));
  CHECK(read_all(dir / "f") == "first part, second part");
}

TEST_CASE("DecompressingReader: damaged gzip is an InputError naming the file", "[gzip]") {
  test::TempDir dir;
  const std::string gz = gzip_compress(sample(100000));
  SECTION("truncated") {
    test::write_bytes(dir / "f", gz.substr(0, gz.size() / 2));
    CHECK_THROWS_WITH(read_all(dir / "f"), Contains(dir / "f") && Contains("truncated"));
  }
  SECTION("missing its trailer") {
    test::write_bytes(dir / "f", gz.substr(0, gz.size() - 4));
    CHECK_THROWS_AS(read_all(dir / "f"), InputError);
  }
  SECTION("corrupt") {
    std::string bad = gz;
    for (size_t i = 20; i < 60; ++i) bad[i] = char(~bad[i]);
    test::write_bytes(dir / "f", bad);
    CHECK_THROWS_WITH(read_all(dir / "f"), Contains(dir / "f") && Contains("corrupt gzip data"));
  }
  SECTION("garbage after the gzip data") {
    test::write_bytes(dir / "f", gz + "garbage");
    CHECK_THROWS_WITH(read_all(dir / "f"), Contains("unexpected bytes after the end of the gzip data"));
  }
  SECTION("missing file") {
    CHECK_THROWS_AS(DecompressingReader(dir / "nope"), InputError);
    CHECK_THROWS_WITH(DecompressingReader(dir / "nope"), Contains("cannot read") && Contains("nope"));
  }
}

TEST_CASE("DecompressingReader: a gzip bomb is refused, in little memory", "[gzip]") {
  test::TempDir dir;
  // 100 members of 1 MiB of zeros each: about 100 KB that inflate to 100 MiB.
  const std::string member = gzip_compress(std::string(1 << 20, '\0'));
  std::string bomb;
  for (int k = 0; k < 100; ++k) bomb += member;
  test::write_bytes(dir / "bomb.gz", bomb);
  CHECK_THROWS_WITH(read_all(dir / "bomb.gz", 1 << 20),
                    Contains("inflates to more than 100 times its size") && Contains(dir / "bomb.gz"));
  // The same ratio below 64 MiB is data, not a bomb.
  test::write_bytes(dir / "zeros.gz", member + member);
  CHECK(read_all(dir / "zeros.gz", 1 << 20).size() == size_t(2) << 20);
}

TEST_CASE("DecompressingReader: a FIFO or a folder is refused without waiting", "[gzip]") {
  test::TempDir dir;
  REQUIRE(mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(DecompressingReader(dir / "fifo"), Contains("it is not a regular file"));
  CHECK_THROWS_WITH(DecompressingReader(dir.path()), Contains("it is a folder"));
}
