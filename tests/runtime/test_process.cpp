// run_program: an argument vector, never a shell; exit codes, signals,
// timeouts that take the program's children with it, missing programs.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "process.h"
#include "temp_dir.h"

namespace netc {
namespace {

ProgramRun in_folder(const test::TempDir& dir, std::vector<std::string> argv, double timeout_s = 0) {
  ProgramRun run;
  run.argv = std::move(argv);
  run.cwd = dir.path();
  run.output = dir / "output";
  run.timeout_s = timeout_s;
  return run;
}

}  // namespace

TEST_CASE("run_program: arguments reach the program as they are, never through a shell") {
  test::TempDir dir;
  const std::string hostile = "it's; touch pwned; echo $HOME `id` \"q\"";
  ProgramExit exit = run_program(in_folder(dir, {"printf", "%s", hostile}));
  CHECK(exit.succeeded());
  CHECK(last_line(dir / "output") == hostile);
  CHECK_FALSE(std::filesystem::exists(dir / "pwned"));
}

TEST_CASE("run_program: exit codes, signals and the program's last words") {
  test::TempDir dir;
  ProgramRun run = in_folder(dir, {"sh", "-c", "echo first; echo last words >&2; exit 3"});
  ProgramExit exit = run_program(run);
  CHECK_FALSE(exit.succeeded());
  CHECK(exit.describe(run) == "exited with code 3");
  CHECK(last_line(dir / "output") == "last words");

  run = in_folder(dir, {"sh", "-c", "kill -SEGV $$"});
  CHECK(run_program(run).describe(run).rfind("died of signal 11", 0) == 0);
}

TEST_CASE("run_program: a timeout kills the program and what it started") {
  test::TempDir dir;
  ProgramRun run = in_folder(dir, {"sh", "-c", "sleep 30 & sleep 30; echo never"}, 0.2);
  const auto start = std::chrono::steady_clock::now();
  ProgramExit exit = run_program(run);
  CHECK(exit.timed_out);
  CHECK(exit.describe(run) == "ran over 0.2 s");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("run_program: a missing program is named, stdin is empty") {
  test::TempDir dir;
  CHECK_THROWS_WITH(run_program(in_folder(dir, {"netc-no-such-program"})),
                    "netc-no-such-program is not installed");
  ProgramRun run = in_folder(dir, {"sh", "-c", "cat; echo read all"});
  CHECK(run_program(run).succeeded());
  CHECK(last_line(dir / "output") == "read all");
}

}  // namespace netc
