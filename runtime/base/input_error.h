// A problem with something the user gave us (graph, flag, data, weights or
// schedule file). The command line reports it and exits with code 2; any
// other exception exits with 1.
#pragma once

#include <stdexcept>

namespace netc {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace netc
