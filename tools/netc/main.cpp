// netc: the command-line front end. Commands live in cmd_*.cpp; this file
// owns only the exit-code policy of docs/cli.md: 0 success, 2 bad input
// (graph, flag, data, weights or checkpoint file), 1 anything else, never a
// crash; and 128 + N when `train` stopped cleanly at signal N's request
// (130 for SIGINT, 143 for SIGTERM, as a shell reports a killed program).
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "front/graph.h"
#include "trainer.h"

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
  for (auto add : {netc::add_summary_command, netc::add_describe_command, netc::add_train_command,
                   netc::add_eval_command, netc::add_bench_command, netc::add_compile_command,
                   netc::add_tune_command, netc::add_export_command, netc::add_import_command,
                   netc::add_onnx_test_command})
    add(app);

  try {
    app.parse(argc, argv);  // runs the chosen command's callback, too
  } catch (const CLI::ParseError& e) {
    // --help and friends are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return report(parse_error_message(app, e, argc, argv), 2);
  } catch (const netc::TrainingStopped& e) {
    std::cerr << "netc: " << e.what() << "\n";
    return 128 + e.signal;
  } catch (const netc::InputError& e) {
    return report(e.what(), 2);
  } catch (const std::bad_alloc&) {
    return report("out of memory", 1);
  } catch (const std::exception& e) {
    return report(e.what(), 1);
  } catch (...) {
    return report("unexpected failure", 1);
  }
  return 0;
}
