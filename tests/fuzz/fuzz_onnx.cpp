// The ONNX reader (compiler/front/onnx/onnx.h) on arbitrary bytes, read as a
// model (imported, with and without constants for later graph inputs) and as
// a tensor file. A rejection must be an InputError (OnnxUnsupported is one)
// naming the file, on one line; an import that succeeds must give a graph
// file the loader accepts and weights whose values match their dimensions.
#include <string>

#include "front/onnx/onnx.h"
#include "fuzz_support.h"

namespace netc::fuzz {
namespace {

const std::string kFile = "fuzz.onnx";

void check_rejection(const InputError& e) {
  const std::string message = e.what();
  require_one_line(message);
  require(message.rfind(kFile, 0) == 0, "message does not name the file: " + message);
}

void import(const std::string& bytes, const std::vector<OnnxTensor>& later) {
  try {
    ImportedModel m = import_onnx(bytes, kFile, "fuzz", later);
    parse_graph(m.graph_yaml, "imported.yaml");
    for (const auto& [name, t] : m.weights) {
      int64_t count = 1;
      for (int64_t d : t.dims) count *= d;
      require(!t.is_int && count == int64_t(t.floats.size()), "weight " + name + " does not match its dimensions");
    }
  } catch (const InputError& e) {
    check_rejection(e);
  }
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netc;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::import(bytes, {});
  OnnxTensor weight;
  weight.dims = {4, 1, 3, 3};
  weight.floats.assign(36, 0.5f);
  fuzz::import(bytes, {weight, weight});
  try {
    OnnxTensor t = read_onnx_tensor(bytes, fuzz::kFile);
    fuzz::require(t.size() == (t.is_int ? int64_t(t.ints.size()) : int64_t(t.floats.size())), "tensor size");
  } catch (const InputError& e) {
    fuzz::check_rejection(e);
  }
  return 0;
}
