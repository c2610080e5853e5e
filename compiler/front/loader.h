// The graph front end beyond graph.h's load_graph / parse_graph: entry points
// for checking one layer on its own (the op tests use them).
#pragma once

#include <string>
#include <vector>

#include "front/graph.h"
#include "front/op_spec.h"

namespace netc {

// Parses one layer map (block or flow YAML, or JSON) such as
// "{name: c, op: conv2d, out_channels: 4, kernel_size: 3}", checks its keys
// and attribute values as a graph file's layer, runs the op's shape rule on
// `inputs` and fills layer.output. `name` is optional ("layer"), `input` is
// ignored; every entry of layer.inputs is Layer::kGraphInput, one per input.
// Appends the layer's parameters to *params when params is not null.
// Throws InputError ("<layer>:LINE:COLUMN: ...") for every problem.
Layer parse_single_layer(const std::string& yaml_text, const std::vector<InputInfo>& inputs,
                         std::vector<ParamSpec>* params = nullptr);

// The InputInfo of a layer output for messages: "16 x 28 x 28" for images,
// "512 values (32 x 4 x 4)" when `flattened_from` is the image a flatten
// made the vector of, "10 values" otherwise.
InputInfo describe_output(const std::string& name, const Shape& shape, const Shape* flattened_from = nullptr);

}  // namespace netc
