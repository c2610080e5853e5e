#include <cstring>
#include <filesystem>

#include <catch2/catch.hpp>

#include "input_error.h"
#include "safetensors.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

namespace {

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += char(v >> (8 * i));
  return s;
}

std::string floats(std::initializer_list<float> values) {
  std::string s(values.size() * 4, '\0');
  std::memcpy(s.data(), values.begin(), s.size());
  return s;
}

// A file as the format describes it, built by hand.
std::string file_bytes(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

}  // namespace

TEST_CASE("safetensors: round trip with metadata, scalars and empty tensors", "[safetensors]") {
  test::TempDir dir;
  const std::map<std::string, SafeTensor> tensors = {
      {"conv.weight", {{2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, -8.5f}}},
      {"conv.bias", {{2}, {0.25f, -0.0f}}},
      {"scalar", {{}, {3.f}}},
      {"empty", {{0, 3}, {}}},
  };
  write_safetensors(dir / "w.safetensors", tensors, {{"format", "pt"}, {"step", "12"}});
  std::map<std::string, std::string> metadata;
  const auto back = read_safetensors(dir / "w.safetensors", &metadata);
  REQUIRE(back.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    CHECK(back.at(name).shape == t.shape);
    CHECK(back.at(name).data == t.data);
  }
  CHECK(metadata == std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}});
}

TEST_CASE("safetensors: the bytes written are the reference layout", "[safetensors]") {
  test::TempDir dir;
  write_safetensors(dir / "f", {{"b", {{1}, {2.f}}}, {"a", {{2}, {1.f, -1.f}}}}, {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  CHECK(padded.size() % 8 == 0);
  CHECK(test::read_bytes(dir / "f") == file_bytes(padded, floats({1.f, -1.f, 2.f})));

  write_safetensors(dir / "g", {{"x", {{1}, {1.f}}}}, {});
  CHECK(test::read_bytes(dir / "g").find("__metadata__") == std::string::npos);
}

TEST_CASE("safetensors: a hand-built file reads", "[safetensors]") {
  test::TempDir dir;
  const std::string header = R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]},
                                 "v": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                 "__metadata__": {}}   )";
  test::write_bytes(dir / "f", file_bytes(header, floats({9, 8, 1, 2, 3, 4})));
  const auto t = read_safetensors(dir / "f");
  CHECK(t.at("w").shape == std::vector<int64_t>{2, 2});
  CHECK(t.at("w").data == std::vector<float>{1, 2, 3, 4});
  CHECK(t.at("v").data == std::vector<float>{9, 8});
  test::write_bytes(dir / "empty", file_bytes("{}", ""));
  CHECK(read_safetensors(dir / "empty").empty());
}

TEST_CASE("safetensors: bad files are InputErrors that say what is wrong", "[safetensors]") {
  test::TempDir dir;
  const std::string path = dir / "bad.safetensors";
  auto problem = [&](const std::string& bytes) -> std::string {
    test::write_bytes(path, bytes);
    try {
      read_safetensors(path);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  auto entry = [](const std::string& fields) { return R"({"t": {)" + fields + "}}"; };
  const std::string four = floats({1, 2, 3, 4});

  CHECK_THAT(problem(""), Contains(path) && Contains("too short"));
  CHECK_THAT(problem("\x10\0\0"), Contains("too short"));
  CHECK_THAT(problem(le64(100) + "{}"), Contains("header length 100 is more than the 2 bytes"));
  CHECK_THAT(problem(le64(~0ull) + "{}"), Contains("header length"));
  CHECK_THAT(problem(file_bytes("{\"t\": ", "")), Contains("not valid JSON"));
  CHECK_THAT(problem(file_bytes("[1, 2]", "")), Contains("not a JSON object"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F16", "shape": [2], "data_offsets": [0, 4])"), four.substr(4))),
             Contains("tensor 't' has dtype F16") && Contains("only F32"));
  CHECK_THAT(problem(file_bytes(entry(R"("shape": [4], "data_offsets": [0, 16])"), four)), Contains("no dtype"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "data_offsets": [0, 16])"), four)), Contains("no shape"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4])"), four)), Contains("no data_offsets"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [-4], "data_offsets": [0, 16])"), four)),
             Contains("shape must be a list of non-negative integers"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4.0], "data_offsets": [0, 16])"), four)),
             Contains("non-negative integers"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4], "data_offsets": [16, 0])"), four)),
             Contains("begin <= end"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4], "data_offsets": [0, 16, 32])"), four)),
             Contains("[begin, end]"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [3], "data_offsets": [0, 16])"), four)),
             Contains("shape [3] takes 12 bytes as F32 but data_offsets [0, 16] span 16"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16])"),
                                four)),
             Contains("absurdly large"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4], "data_offsets": [0, 16])"), four.substr(8))),
             Contains("go past the end of the data (8 bytes)"));
  CHECK_THAT(problem(file_bytes(entry(R"("dtype": "F32", "shape": [4], "data_offsets": [0, 16])"), four + "xxxx")),
             Contains("4 bytes after the last tensor's data"));
  CHECK_THAT(problem(file_bytes(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                                four)),
             Contains("tensors 'a' and 'b' overlap"));
  CHECK_THAT(problem(file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                                four)),
             Contains("bytes 4 to 8 of the data belong to no tensor"));
  CHECK_THAT(problem(file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                   "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                                four)),
             Contains("the key 'a' twice"));
  CHECK_THAT(problem(file_bytes(R"({"__metadata__": {"n": 1}})", "")), Contains("__metadata__ must map names to strings"));
  CHECK_THAT(problem(file_bytes(R"({"t": 5})", "")), Contains("tensor 't': expected an object"));
  CHECK_THROWS_AS(read_safetensors(dir / "missing"), InputError);
  CHECK_THROWS_WITH(read_safetensors(dir.path()), Contains("it is a folder"));
  CHECK_THROWS_WITH(read_safetensors("/dev/null"), Contains("it is not a regular file"));
}

TEST_CASE("safetensors: the writer refuses data that does not match the shape, and a reserved name", "[safetensors]") {
  test::TempDir dir;
  CHECK_THROWS_AS(write_safetensors(dir / "f", {{"t", {{2, 2}, {1, 2, 3}}}}, {}), std::invalid_argument);
  CHECK_THROWS_AS(write_safetensors(dir / "f", {{"t", {{-1, 0}, {}}}}, {}), std::invalid_argument);
  CHECK_THROWS_AS(write_safetensors(dir / "f", {{"__metadata__", {{1}, {1.f}}}}, {}), std::invalid_argument);
  CHECK(!std::filesystem::exists(dir / "f"));
}

// Found by tests/fuzz/fuzz_safetensors.cpp.
TEST_CASE("safetensors: hostile headers are one-line InputErrors, never a crash", "[safetensors]") {
  test::TempDir dir;
  const std::string path = dir / "bad.safetensors";
  auto problem = [&](const std::string& header) -> std::string {
    test::write_bytes(path, file_bytes(header, ""));
    try {
      read_safetensors(path);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no error";
  };
  // Nested deeper than recursion could go; refused at serde_json's limit.
  const size_t depth = 1'000'000;
  CHECK_THAT(problem(R"({"t": )" + std::string(depth, '[') + std::string(depth, ']') + "}"),
             Contains("not valid JSON: nested deeper than 128 at byte 134"));
  CHECK_THAT(problem(R"({"t": [[1]]})"), Contains("tensor 't': expected an object, found a list of 1 item"));
  CHECK_THAT(problem(R"({"t": {"dtype": "F32", "shape": [[[1]]], "data_offsets": [0, 0]}})"),
             Contains("shape must be a list of non-negative integers, not a list of 1 item"));
  CHECK_THAT(problem(R"({"t": 1e999})"), Contains("not valid JSON: a number beyond double's range at byte 6"));
  const std::string newline_in_name = problem(R"({"a\nb": 5})");
  CHECK_THAT(newline_in_name, Contains("tensor 'a\\x0ab'"));
  CHECK(newline_in_name.find('\n') == std::string::npos);
}

TEST_CASE("safetensors: names are JSON strings, escaped when written and checked when read", "[safetensors]") {
  test::TempDir dir;
  const std::string name = "\xF0\x9F\x98\x80 \"q\" \\ \x01";
  write_safetensors(dir / "f", {{name, {{1}, {1.f}}}}, {{"k\n", "v\t"}});
  std::map<std::string, std::string> metadata;
  CHECK(read_safetensors(dir / "f", &metadata).count(name) == 1);
  CHECK(metadata == std::map<std::string, std::string>{{"k\n", "v\t"}});
  CHECK_THROWS_AS(write_safetensors(dir / "f", {{"\xC0\xAF", {{1}, {1.f}}}}, {}), std::invalid_argument);

  const std::string path = dir / "bad.safetensors";
  auto read_header = [&](const std::string& header) -> std::string {
    test::write_bytes(path, file_bytes(header, floats({1})));
    try {
      return std::to_string(read_safetensors(path).count("\xF0\x9F\x98\x80"));
    } catch (const InputError& e) {
      return e.what();
    }
  };
  auto scalar = [](const std::string& key) { return "{\"" + key + R"(":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})"; };
  CHECK(read_header(scalar(R"(\ud83d\ude00)")) == "1");
  CHECK_THAT(read_header(scalar(R"(\udc00)")), Contains("lone UTF-16 surrogate"));
  CHECK_THAT(read_header(scalar(R"(\ud83d)")), Contains("lone UTF-16 surrogate"));
  CHECK_THAT(read_header(scalar("\xC0\xAF")), Contains("invalid UTF-8"));
  CHECK_THAT(read_header(R"({"__metadata__": eeefalse})"), Contains("not valid JSON: unexpected character at byte 17"));
  CHECK_THAT(read_header(R"({"a": 01})"), Contains("not valid JSON: bad number"));
  CHECK_THAT(read_header(R"({"a": {}} x)"), Contains("not valid JSON: text after the end"));
  CHECK_THAT(read_header(R"({"a": {"b": 1, "b": 2}})"), Contains("the key 'b' twice"));
}
