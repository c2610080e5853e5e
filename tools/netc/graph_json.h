// The graph as the front end sees it, as JSON: what `netc describe` prints
// (its schema is in the README), in pieces that other commands can reuse.
// Attributes come with their defaults resolved, so that a consumer (the
// PyTorch twin, tools/netc_torch.py) needs no rules of its own.
#pragma once

#include <nlohmann/json.hpp>

#include "front/graph.h"

namespace netc {

// {"name", "op", "inputs", "attributes", "output", "params"} of layer `index`.
nlohmann::ordered_json layer_json(const Graph& g, int index);

// {"type", "lr", ...}: the optimizer's settings, those of its type only.
nlohmann::ordered_json optimizer_json(const OptimizerSettings& o);
// {"type", ..., "warmup"}: the schedule's settings, those of its type only.
nlohmann::ordered_json lr_schedule_json(const LrSchedule& s);

// {"dataset", "batch_size", ..., "optimizer": {...}, "lr_schedule": {...}}
nlohmann::ordered_json train_json(const TrainConfig& t);

// The whole graph: name, input, layers, output layer, loss, train, fingerprint.
nlohmann::ordered_json graph_json(const Graph& g);

}  // namespace netc
