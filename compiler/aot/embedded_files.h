// Files that `netc compile` copies into its output, embedded into netc at
// build time (compiler/CMakeLists.txt): Halide's runtime headers of the
// Halide netc was built with, and runtime/netc_model.hpp with the headers it
// includes.
#pragma once

#include <string>
#include <vector>

namespace netc {

struct EmbeddedFile {
  std::string name;  // file name, no folder
  std::string text;
};

const std::vector<EmbeddedFile>& embedded_files();

}  // namespace netc
