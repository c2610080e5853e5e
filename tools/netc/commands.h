// The netc commands. Each lives in its own cmd_<name>.cpp and adds its
// subcommand (options and callback) to the app; main.cpp calls every adder.
// A command reports bad input by throwing InputError (exit code 2).
#pragma once

namespace CLI {
class App;
}

namespace netc {

void add_summary_command(CLI::App& app);
void add_describe_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_compile_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_onnx_test_command(CLI::App& app);

}  // namespace netc
