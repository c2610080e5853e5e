// Lowers a validated graph into Halide pipelines: THE ALGORITHM only. The
// schedule is applied afterwards, by compiler/schedule/, through the stage
// table.
//
// The pipelines take and return their buffers in the order of
// runtime/base/model_abi.h, the one definition of the calling convention, which
// every caller uses.
#pragma once

#include <string>
#include <vector>

#include "lower/lowering.h"

namespace netc {

struct LoweredPipeline {
  std::string function_name;               // C symbol of the compiled pipeline
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> arguments; // the inputs, in call order
  std::vector<Halide::ImageParam> buffers; // the buffer inputs, for running it in-process (tests)
  std::vector<Halide::Func> outputs;       // in call order after the inputs
  StageTable stages;
};

// Forward, softmax cross-entropy, hand-written adjoints and the update of
// the graph's optimizer (model_abi.h's update_rule of train.optimizer.type),
// for a fixed batch size.
LoweredPipeline lower_train_step(const Graph& graph, int64_t batch, const VariantChooser& variants = {});
// The train step's two halves for data-parallel training (model_abi.h's
// gradients_arguments and update_arguments): the forward pass, loss and
// adjoints with the mean loss and every parameter's gradient as outputs; and
// the optimizer's update from gradients given as inputs, its stages named as
// the train step's ("update.<param>") so that one schedule places both.
LoweredPipeline lower_gradients(const Graph& graph, int64_t batch, const VariantChooser& variants = {});
LoweredPipeline lower_update_step(const Graph& graph);
// Forward with logits and each image's loss, for a fixed batch size.
LoweredPipeline lower_inference(const Graph& graph, int64_t batch, const VariantChooser& variants = {});

// The batch gatherer of GPU targets, which keep a whole data set on the
// device: inputs pixels (x, y, image) u8 and labels (image) u8 of every
// image of a set, order (i32): the images of consecutive batches, shifts
// (2, position) i32: each one's translation (dx, dy), and first (i32
// scalar): where this batch starts in `order`; outputs images (x, y, c, n)
// f32 = pixel / 255, translated (zero-filled), and labels (n) i32 of
// order[first .. first + batch). `buffers` holds pixels, labels, order and
// shifts, for running it in-process.
LoweredPipeline lower_gather_batch(const Graph& graph, int64_t batch);

// One layer alone, for op tests: inputs x0.., the layer's parameters
// ("weight", "bias"), and the output's gradient gy; outputs y, then the
// gradient of every input, then of every parameter (weight, bias).
LoweredPipeline lower_layer(const Layer& layer, const std::vector<Shape>& in_shapes, int64_t batch,
                            Halide::Type type, const VariantChooser& variants = {});

}  // namespace netc
