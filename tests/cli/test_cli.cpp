// The netc binary as a user runs it: output, exit codes, error messages.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace {

struct Result {
  int code = -1;  // the exit status; -1 when killed by a signal
  std::string out, err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch directory for this test process.
const std::string& scratch() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/netc_cli_XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    return std::string(pattern);
  }();
  return dir;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Runs `netc args...` with stdout and stderr captured separately.
Result netc(const std::vector<std::string>& args) {
  std::string command = shell_quote(NETC_BINARY);
  for (const std::string& a : args) command += " " + shell_quote(a);
  const std::string out = scratch() + "/stdout", err = scratch() + "/stderr";
  int status = std::system((command + " >" + out + " 2>" + err).c_str());
  Result r;
  // The shell reports a child killed by signal N as exit status 128 + N.
  if (WIFEXITED(status) && WEXITSTATUS(status) < 128) r.code = WEXITSTATUS(status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::string model(const std::string& name) { return std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml"; }

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = scratch() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The line of `text` that starts with `prefix`, or "".
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

TEST_CASE("cli: summary prints a table with shapes, parameters and the total") {
  Result r = netc({"summary", model("model_c")});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(line_starting(r.out, "maxpool2 "), Catch::Contains("32 x 4 x 4"));
  CHECK_THAT(line_starting(r.out, "flatten "), Catch::Contains("512"));
  CHECK_THAT(line_starting(r.out, "fc1 "), Catch::EndsWith("5,130"));
  CHECK_THAT(line_starting(r.out, "total "), Catch::EndsWith("18,378"));
  // Columns are aligned: every layer line puts its shape at the same column.
  const size_t column = line_starting(r.out, "cnn1 ").find("16 x 24 x 24");
  CHECK(line_starting(r.out, "fc1 ").find("10 ") == column);
}

TEST_CASE("cli: summary of models A and B") {
  for (const char* name : {"model_a", "model_b"}) {
    Result r = netc({"summary", model(name)});
    REQUIRE(r.code == 0);
    CHECK_THAT(line_starting(r.out, "total "), Catch::EndsWith("28,938"));
    CHECK_THAT(line_starting(r.out, "flatten "), Catch::Contains("1568"));
  }
}

TEST_CASE("cli: summary --json follows the spec") {
  Result r = netc({"summary", model("model_c"), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["name"] == "model_c");
  CHECK(j["input"] == nlohmann::json::array({1, 28, 28}));
  CHECK(j["params"] == 18378);
  REQUIRE(j["layers"].size() == 8);
  CHECK(j["layers"][0] ==
        nlohmann::json({{"name", "cnn1"}, {"op", "conv2d"}, {"output", {16, 24, 24}}, {"params", 416}}));
  CHECK(j["layers"][5]["output"] == nlohmann::json::array({32, 4, 4}));
  CHECK(j["layers"][6]["output"] == nlohmann::json::array({512}));
  CHECK(j["layers"][7] == nlohmann::json({{"name", "fc1"}, {"op", "linear"}, {"output", {10}}, {"params", 5130}}));
  int64_t sum = 0;
  for (const auto& l : j["layers"]) sum += l["params"].get<int64_t>();
  CHECK(sum == 18378);
}

TEST_CASE("cli: --help lists every command and exits 0") {
  Result r = netc({"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("summary"));
  Result sub = netc({"summary", "--help"});
  CHECK(sub.code == 0);
  CHECK_THAT(sub.out, Catch::Contains("--json"));
}

TEST_CASE("cli: bad command lines exit 2 with netc: error") {
  for (const auto& args : std::vector<std::vector<std::string>>{{},
                                                                {"frobnicate"},
                                                                {"summary"},
                                                                {"summary", model("model_a"), "--bogus"},
                                                                {"--bogus"},
                                                                {"summary", model("model_a"), "extra"}}) {
    Result r = netc(args);
    INFO("args: " << args.size() << " " << (args.empty() ? "" : args[0]) << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("netc: error: "));
    CHECK(r.out.empty());
  }
}

TEST_CASE("cli: an unknown command is named as such") {
  Result r = netc({"frobnicate"});
  CHECK(r.code == 2);
  CHECK(r.err == "netc: error: unknown command 'frobnicate'; expected one of summary, describe, train, eval, predict, "
                 "bench, compile, tune, plot, export, import, onnx-test\n");
}

TEST_CASE("cli: mistyped commands and flags get the closest name") {
  CHECK(netc({"trian", model("model_a")}).err == "netc: error: unknown command 'trian'; did you mean train?\n");
  CHECK(netc({"sumary"}).err == "netc: error: unknown command 'sumary'; did you mean summary?\n");
  Result flag = netc({"summary", model("model_a"), "--jsn"});
  CHECK(flag.code == 2);
  CHECK(flag.err == "netc: error: netc summary has no flag --jsn; did you mean --json?\n");
  CHECK(netc({"train", model("model_a"), "--iteration=5"}).err ==
        "netc: error: netc train has no flag --iteration; did you mean --iterations?\n");
  CHECK(netc({"summary", model("model_a"), "--frobnicate"}).err == "netc: error: netc summary has no flag --frobnicate\n");
  CHECK(netc({"summary", model("model_a"), "extra"}).err ==
        "netc: error: netc summary takes no further argument 'extra'\n");
}

TEST_CASE("cli: bare netc prints the usage and exits 2") {
  Result r = netc({});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("netc: error: a command is required\n\n"));
  CHECK_THAT(r.err, Catch::Contains("Usage:"));
  CHECK_THAT(r.err, Catch::Contains("predict"));
}

TEST_CASE("cli: --version names netc, Halide and the commit") {
  Result r = netc({"--version"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Matches("netc [0-9]+\\.[0-9]+\\.[0-9]+ \\(Halide [0-9]+\\.[0-9]+\\.[0-9]+, "
                                   "commit ([0-9a-f]{12}|unknown)\\)\n"));
}

TEST_CASE("cli: the internal command tune-trial is hidden from --help") {
  Result r = netc({"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("tune"));
  CHECK_THAT(r.out, !Catch::Contains("tune-trial"));
  CHECK_THAT(netc({"tune-trail"}).err, !Catch::Contains("tune-trial"));
}

TEST_CASE("cli: a malformed graph exits 2 with FILE:LINE:COLUMN") {
  std::string text = read_text(model("model_c"));
  text.replace(text.find("in_features: 512"), 16, "in_features: 1568");
  const std::string path = write_file("bad_c.yaml", text);
  Result r = netc({"summary", path});
  CHECK(r.code == 2);
  CHECK(r.err == "netc: error: " + path +
                     ":12:5: layer 'fc1': in_features is 1568 but its input 'flatten' has 512 values (32 x 4 x 4)\n");
  CHECK(r.out.empty());

  Result json = netc({"summary", path, "--json"});
  CHECK(json.code == 2);
  CHECK(json.out.empty());
}

TEST_CASE("cli: unreadable and hostile graph files exit 2, never crash") {
  Result missing = netc({"summary", scratch() + "/nope.yaml"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::StartsWith("netc: error: cannot read graph file "));

  for (const std::string& text : {std::string("name: [[[[[[[[[[[[[[[[[[") + std::string(20000, '['),
                                  std::string("\xff\xfe\x00\x01", 4), std::string("a: &a [*a]\n")}) {
    Result r = netc({"summary", write_file("hostile.yaml", text)});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("netc: error: " + scratch() + "/hostile.yaml:"));
  }
}

}  // namespace
