// netc summary GRAPH [--json]: each layer's output shape and parameter count.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "front/graph.h"
#include "graph_json.h"

namespace netc {
namespace {

struct SummaryOptions {
  std::string graph;
  bool json = false;
};

// 28938 -> "28,938"
std::string with_separators(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

void print_json(const Graph& g) {
  // ordered_json keeps the spec's key order, which is easier to read.
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    layers.push_back({{"name", l.name},
                      {"op", l.op},
                      {"output", l.output.dims()},
                      {"params", g.layer_param_count(static_cast<int>(i))}});
  }
  nlohmann::ordered_json out = {
      {"name", g.name}, {"input", g.input.dims()}, {"layers", layers}, {"params", g.param_count()},
      {"optimizer", optimizer_json(g.train.optimizer)}, {"lr_schedule", lr_schedule_json(g.train.lr_schedule)}};
  std::cout << out.dump() << "\n";
}

void print_table(const Graph& g) {
  std::vector<std::vector<std::string>> rows = {{"layer", "op", "output", "params"}};
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    rows.push_back({l.name, l.op, l.output.str(), with_separators(g.layer_param_count(static_cast<int>(i)))});
  }
  rows.push_back({"total", "", "", with_separators(g.param_count())});

  std::vector<size_t> width(4, 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());

  std::cout << fmt::format("{}: input {}\n", g.name, g.input.str());
  if (!g.description.empty()) std::cout << g.description << "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (r + 1 == rows.size()) std::cout << std::string(width[0] + width[1] + width[2] + width[3] + 6, '-') << "\n";
    // Text columns left-aligned, the counts right-aligned.
    std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", row[0], width[0], row[1], width[1], row[2], width[2],
                             row[3], width[3]);
  }
  // The settings as `netc describe` gives them: {"type": "adam", "lr": 0.001, ...} -> adam, lr 0.001, ...
  auto settings = [](const nlohmann::ordered_json& j) {
    std::string out = j.at("type").get<std::string>();
    for (const auto& [key, value] : j.items())
      if (key != "type") out += fmt::format(", {} {}", key, value.dump());
    return out;
  };
  std::cout << fmt::format("optimizer: {}\n", settings(optimizer_json(g.train.optimizer)));
  std::cout << fmt::format("lr schedule: {}\n", settings(lr_schedule_json(g.train.lr_schedule)));
}

}  // namespace

void add_summary_command(CLI::App& app) {
  auto opts = std::make_shared<SummaryOptions>();
  CLI::App* cmd = app.add_subcommand("summary", "Print each layer's output shape and parameter count, and the total");
  cmd->add_option("GRAPH", opts->graph, "Graph file (YAML)")->required();
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of a table");
  cmd->callback([opts] {
    Graph g = load_graph(opts->graph);
    if (opts->json)
      print_json(g);
    else
      print_table(g);
  });
}

}  // namespace netc
