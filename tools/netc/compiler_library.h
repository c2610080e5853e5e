// The compiler library (compiler/api/compiler_api.h), found next to the netc
// binary as ../lib/libnetc_compiler.so and loaded only when it is needed.
#pragma once

#include <string>

#include "api/compiler_api.h"

namespace netc {

// Where the library is.
const std::string& compiler_library_path();

// A fingerprint of the library: entries of the compile cache are keyed by
// it, so that a rebuilt compiler never reuses what an
// older one made. Reads the file without loading it.
const std::string& compiler_fingerprint();

// The loaded library; std::runtime_error saying why it cannot be loaded (on a
// machine without Halide, say).
const CompilerApi& compiler();

}  // namespace netc
