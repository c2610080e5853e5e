// netc plot: two runs (one with validation records, a diverged step and a
// file name full of markup and bytes that are not UTF-8) drawn as an SVG
// that an XML parser reads, with a legend entry and the series of each run;
// and what it refuses.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "netc_process.h"

using namespace netc::test;
using Catch::Matchers::Contains;

namespace {

// What python3's xml.etree finds in an SVG file: the texts of the legend's
// entries, and how many polylines each colour has; or the parse error.
nlohmann::json parse_svg(const std::string& svg, const std::string& dir) {
  const std::string script = dir + "/read_svg.py", out = dir + "/svg.json";
  write_bytes(script,
              "import collections, json, sys, xml.etree.ElementTree as ET\n"
              "ns = {'s': 'http://www.w3.org/2000/svg'}\n"
              "root = ET.parse(sys.argv[1]).getroot()\n"
              "runs = [g.find('s:title', ns).text for g in root.iter('{http://www.w3.org/2000/svg}g')\n"
              "        if g.get('class') == 'run']\n"
              "lines = collections.Counter(p.get('stroke') for p in root.iter('{http://www.w3.org/2000/svg}polyline'))\n"
              "json.dump({'root': root.tag, 'runs': runs, 'lines': lines}, open(sys.argv[2], 'w'))\n");
  const int status = std::system(("/usr/bin/python3 " + script + " " + svg + " " + out + " 2>" + dir + "/py.err").c_str());
  INFO(read_bytes(dir + "/py.err"));
  REQUIRE(status == 0);
  return nlohmann::json::parse(read_bytes(out));
}

std::string metrics(int steps, bool validation, double scale) {
  std::string text;
  for (int k = 1; k <= steps; ++k) {
    text += k == 7 ? fmt::format("{{\"iter\": {}, \"loss\": null}}\n", k)
                   : fmt::format("{{\"iter\": {}, \"loss\": {}, \"lr\": 0.01}}\n", k, scale * 2.3 / k);
    if (k % 50 == 0) {
      text += fmt::format("{{\"iter\": {}, \"test_loss\": 0.5, \"test_accuracy\": {}}}\n", k, 80 + k / 20.0);
      if (validation) text += fmt::format("{{\"iter\": {}, \"val_loss\": 0.4, \"val_accuracy\": {}}}\n", k, 82 + k / 25.0);
    }
  }
  return text;
}

}  // namespace

TEST_CASE("plot: two runs as a well-formed SVG with a legend and every series", "[plot]") {
  TempDir dir;
  const std::string a = dir / "sgd.jsonl", b = dir / "adam <&>\"'\xff\xc3(.jsonl", svg = dir / "runs.svg";
  write_bytes(a, metrics(300, false, 1));
  write_bytes(b, metrics(200, true, 0.5));
  Outcome o = run_netc({"plot", a, b, "-o", svg}, dir.path());
  INFO(o.err);
  REQUIRE(o.exit_code == 0);
  const nlohmann::json found = parse_svg(svg, dir.path());
  CHECK(found["root"] == "{http://www.w3.org/2000/svg}svg");
  // Names as given, with U+FFFD for each byte that is not UTF-8.
  CHECK(found["runs"] == nlohmann::json::array({a, dir / "adam <&>\"'\xef\xbf\xbd\xef\xbf\xbd(.jsonl"}));
  // Each run in its colour: raw and smoothed loss and test accuracy; the second's validation too.
  CHECK(found["lines"]["#1f77b4"] == 3);
  CHECK(found["lines"]["#ff7f0e"] == 4);
}

TEST_CASE("plot: bad metrics files exit 2", "[plot]") {
  TempDir dir;
  const std::string good = dir / "good.jsonl";
  write_bytes(good, metrics(10, false, 1));
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty.jsonl", ""},
      {"not-json.jsonl", "{\"iter\": 1, \"loss\": 2}\nstep 2 loss 1.9\n"},
      {"array.jsonl", "[1, 2]\n"},
      {"nan.jsonl", "{\"iter\": 1, \"loss\": NaN}\n"},
      {"no-steps.jsonl", "{\"type\": \"trial\", \"graph\": \"model_a\"}\n"},
      {"only-nulls.jsonl", "{\"iter\": 1, \"loss\": null}\n"},
      {"infinite.jsonl", "{\"iter\": 1, \"loss\": 1e999}\n"},
      {"negative-step.jsonl", "{\"iter\": -1, \"loss\": 2}\n"},
      {"text-loss.jsonl", "{\"iter\": 1, \"loss\": \"2.3\"}\n"},
      {"deep.jsonl", std::string(100000, '[') + "\n"},
  };
  const std::vector<std::string> messages = {"no step records", "not-json.jsonl:2: not a JSON object",
                                             "array.jsonl:1: not a JSON object", "nan.jsonl:1: not a JSON object",
                                             "no step records", "no step records",
                                             "infinite.jsonl:1: not a JSON object",  // 1e999 overflows a double
                                             "'iter' is not a step number", "'loss' is not a number",
                                             "deep.jsonl:1: not a JSON object"};
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string path = dir / files[k].first;
    write_bytes(path, files[k].second);
    Outcome o = run_netc({"plot", good, path, "-o", dir / "out.svg"}, dir.path(), uint64_t(1) << 30);
    INFO(files[k].first << ": " << o.err);
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Catch::StartsWith("netc: error: ") && Contains(messages[k]));
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"plot", good, "-o", good}, {"plot", good, "-o", dir / "missing/out.svg"},
        {"plot", dir / "missing.jsonl", "-o", dir / "out.svg"}, {"plot", good}, {"plot", "-o", dir / "out.svg"}}) {
    Outcome o = run_netc(args, dir.path());
    INFO(args.back() << ": " << o.err);
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Catch::StartsWith("netc: error: "));
  }
  CHECK(!std::filesystem::exists(dir / "out.svg"));
}
