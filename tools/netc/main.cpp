// netc: the command-line front end. Commands live in cmd_*.cpp; this file
// owns the exit-code policy of docs/cli.md: 0 success, 2 bad input (graph,
// flag, data, weights or checkpoint file), 1 anything else, never a crash;
// and 128 + N when `train` stopped cleanly at signal N's request (130 for
// SIGINT, 143 for SIGTERM, as a shell reports a killed program). And what
// the whole command line shares: --version, the usage of a bare `netc`, and
// messages for mistyped commands and flags that suggest the one meant.
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "distributed.h"
#include "front/graph.h"
#include "suggest.h"
#include "trainer.h"
#include "version.h"

namespace {

int report(const std::string& message, int code) {
  std::cerr << "netc: error: " << message << "\n";
  return code;
}

// The commands a user may type: not the hidden ones netc runs itself.
std::vector<const CLI::App*> visible_commands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::string did_you_mean(const std::string& typed, const std::vector<std::string>& names) {
  const std::string closest = netc::closest_name(typed, names);
  return closest.empty() ? "" : "; did you mean " + closest + "?";
}

// `netc trian`: CLI11 says "A subcommand is required"; name the unknown
// command, and the one it resembles.
std::string unknown_command_message(const CLI::App& app, const std::string& typed) {
  std::vector<std::string> names;
  for (const CLI::App* sub : visible_commands(app)) names.push_back(sub->get_name());
  const std::string suggestion = did_you_mean(typed, names);
  if (!suggestion.empty()) return "unknown command '" + typed + "'" + suggestion;
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return "unknown command '" + typed + "'; expected one of " + list;
}

// `netc summary g.yaml --jsn`: CLI11 says "The following argument was not
// expected: --jsn"; say which command does not know it, and the flag meant.
std::string unexpected_arguments_message(const CLI::App& command) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
    for (const std::string& name : option->get_snames()) flags.push_back("-" + name);
  }
  std::string message;
  for (const std::string& arg : command.remaining()) {
    message += message.empty() ? "" : "; ";
    if (arg.size() > 1 && arg[0] == '-') {
      const std::string flag = arg.substr(0, arg.find('='));
      message += "netc " + command.get_name() + " has no flag " + flag + did_you_mean(flag, flags);
    } else {
      message += "netc " + command.get_name() + " takes no further argument '" + arg + "'";
    }
  }
  return message;
}

std::string parse_error_message(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  // `netc --verison`: CLI11 says "A subcommand is required".
  if (argc >= 2 && argv[1][0] == '-' && dynamic_cast<const CLI::RequiredError*>(&e)) {
    const std::string flag = std::string(argv[1]).substr(0, std::string(argv[1]).find('='));
    const std::string suggestion = did_you_mean(flag, {"--help", "--version"});
    return "netc has no flag " + flag + (suggestion.empty() ? "; a command comes first: netc COMMAND --help" : suggestion);
  }
  if (argc >= 2 && argv[1][0] != '-' && app.get_subcommands([&](const CLI::App* sub) {
                                          return sub->get_name() == argv[1];
                                        }).empty())
    return unknown_command_message(app, argv[1]);
  if (dynamic_cast<const CLI::ExtrasError*>(&e))
    for (const CLI::App* command : app.get_subcommands())
      if (!command->remaining().empty()) return unexpected_arguments_message(*command);
  return e.what();
}

std::string version_line() {
  return fmt::format("netc {} (Halide {}, commit {})", NETC_VERSION, NETC_HALIDE_VERSION, NETC_GIT_COMMIT);
}

// Runs the command line's command (the callback of the one it names); its
// exit code.
int run(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return report(parse_error_message(app, e, argc, argv), 2);
  } catch (const netc::TrainingStopped& e) {
    if (!e.reported) std::cerr << "netc: " << e.what() << "\n";
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

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which
  // netc reports, instead of the signal killing netc halfway through a file.
  std::signal(SIGXFSZ, SIG_IGN);
  const netc::Launch launch = netc::launch_from_environment();
  netc::quiet_unless_first_rank(launch);
  CLI::App app{"netc: a neural-network graph compiler and runtime on Halide", "netc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_line(), "print netc's version, Halide's and the commit, and exit");
  for (auto add : {netc::add_summary_command, netc::add_describe_command, netc::add_train_command,
                   netc::add_eval_command, netc::add_predict_command, netc::add_bench_command,
                   netc::add_compile_command, netc::add_tune_command, netc::add_plot_command,
                   netc::add_export_command, netc::add_import_command, netc::add_onnx_test_command})
    add(app);

  if (argc < 2) {
    std::cerr << "netc: error: a command is required\n\n" << app.help();
    return 2;
  }
  const int code = run(app, argc, argv);
  // Under a launcher every rank finds the same bad input but only rank 0 says
  // so, and the launcher ends the whole job as soon as any rank exits with an
  // error: the others give rank 0 time to print its message first.
  if (code != 0 && launch.launched && launch.rank > 0) std::this_thread::sleep_for(std::chrono::seconds(2));
  return code;
}
