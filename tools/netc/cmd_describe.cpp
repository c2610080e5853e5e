// netc describe GRAPH: the parsed, validated graph as one JSON object, with
// every attribute's default resolved (graph_json.h). The PyTorch twin
// (tools/netc_torch.py) builds its model from it instead of parsing the file
// itself.
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "front/graph.h"
#include "graph_json.h"

namespace netc {

void add_describe_command(CLI::App& app) {
  auto graph = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "describe", "Print the graph as the front end reads it (attributes with defaults, parameters) as JSON");
  cmd->add_option("GRAPH", *graph, "Graph file (YAML)")->required();
  cmd->callback([graph] {
    Graph g = load_graph(*graph);
    std::cout << graph_json(g).dump() << "\n";
  });
}

}  // namespace netc
