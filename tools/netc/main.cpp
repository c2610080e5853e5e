// netc: the command-line front end. Commands live in cmd_*.cpp; this file
// owns only the exit-code policy of spec/cli.md: 0 success, 2 bad input
// (graph, flag, data or weights file), 1 anything else, never a crash.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "graph/graph.h"

namespace {

int report(const std::string& message, int code) {
  std::cerr << "netc: error: " << message << "\n";
  return code;
}

// CLI11 reports `netc frobnicate` as "A subcommand is required"; name the
// unknown command instead.
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return e.what();
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return e.what();
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return "unknown command '" + std::string(argv[1]) + "'; expected one of " + names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"netc: a neural-network graph compiler and runtime on Halide", "netc"};
  app.require_subcommand(1);
  for (auto add : {netc::add_summary_command, netc::add_train_command, netc::add_eval_command,
                   netc::add_compile_command})
    add(app);

  try {
    app.parse(argc, argv);  // runs the chosen command's callback, too
  } catch (const CLI::ParseError& e) {
    // --help and friends are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return report(parse_error_message(app, e, argc, argv), 2);
  } catch (const netc::InputError& e) {
    return report(e.what(), 2);
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  } catch (...) {
    return report("unexpected failure", 1);
  }
  return 0;
}
