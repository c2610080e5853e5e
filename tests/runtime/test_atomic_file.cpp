#include <sys/stat.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "atomic_file.h"
#include "input_error.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

namespace {

// Names in `dir`, to see that no temporary file is left behind.
size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("write_file_atomically: writes, replaces, leaves nothing else", "[atomic_file]") {
  test::TempDir dir;
  const std::string path = dir / "out.bin";
  write_file_atomically(path, std::string("first\0version", 13));
  CHECK(test::read_bytes(path) == std::string("first\0version", 13));
  write_file_atomically(path, "second");
  CHECK(test::read_bytes(path) == "second");
  write_file_atomically(path, "");
  CHECK(test::read_bytes(path).empty());
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("write_file_atomically: a relative path lands in the current folder", "[atomic_file]") {
  test::TempDir dir;
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  write_file_atomically("plain.txt", "x");
  std::filesystem::current_path(old);
  CHECK(test::read_bytes(dir / "plain.txt") == "x");
}

TEST_CASE("write_file_atomically: the file gets the usual permissions", "[atomic_file]") {
  test::TempDir dir;
  write_file_atomically(dir / "f", "x");
  struct stat st;
  REQUIRE(stat((dir / "f").c_str(), &st) == 0);
  const mode_t mask = umask(0);
  umask(mask);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));
}

TEST_CASE("write_file_atomically: failures throw and clean up", "[atomic_file]") {
  test::TempDir dir;
  SECTION("missing folder") {
    CHECK_THROWS_WITH(write_file_atomically(dir / "no/such/file", "x"),
                      Contains("cannot write") && Contains("no/such/file"));
  }
  SECTION("the target is a folder: the rename fails, the old contents stay") {
    std::filesystem::create_directory(dir / "target");
    test::write_bytes(dir / "target/inside", "keep");
    CHECK_THROWS_WITH(write_file_atomically(dir / "target", "x"), Contains("rename failed"));
    CHECK(test::read_bytes(dir / "target/inside") == "keep");
    CHECK(entries(dir.path()) == 1);
  }
}

TEST_CASE("AtomicFileWriter: streams, and an uncommitted file never appears", "[atomic_file]") {
  test::TempDir dir;
  {
    AtomicFileWriter w(dir / "a");
    w.write("hello ");
    w.write("world", 5);
    CHECK(!std::filesystem::exists(dir / "a"));
    w.commit();
  }
  CHECK(test::read_bytes(dir / "a") == "hello world");
  {
    AtomicFileWriter w(dir / "b");
    w.write("partial");
  }
  CHECK(!std::filesystem::exists(dir / "b"));
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("read_file: contents, and every problem is an InputError naming the file", "[atomic_file]") {
  test::TempDir dir;
  test::write_bytes(dir / "f", std::string("a\0b", 3));
  CHECK(read_file(dir / "f", 3) == std::string("a\0b", 3));
  CHECK_THROWS_AS(read_file(dir / "f", 2), InputError);
  CHECK_THROWS_WITH(read_file(dir / "f", 2), Contains("cannot read " + dir / "f") && Contains("limit of 2"));
  CHECK_THROWS_WITH(read_file(dir / "missing", 100), Contains("cannot read") && Contains("No such file"));
  CHECK_THROWS_AS(read_file(dir / "missing", 100), InputError);
  CHECK_THROWS_WITH(read_file(dir.path(), 100), Contains("folder"));
  CHECK_THROWS_AS(read_file(dir.path(), 100), InputError);
  CHECK_THROWS_WITH(read_file(dir / "missing", 100, "graph file"), Contains("cannot read graph file " + dir / "missing"));
}

TEST_CASE("read_file: a FIFO is refused without waiting for a writer", "[atomic_file]") {
  test::TempDir dir;
  REQUIRE(mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(read_file(dir / "fifo", 100), Contains("it is not a regular file"));
}
