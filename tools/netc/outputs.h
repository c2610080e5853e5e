// What a command will write, checked against itself and against what the
// command reads before any work starts: an output that would overwrite an
// input, another output, a device, or a file netc did not make is refused
// (InputError, exit code 2) instead of being lost after hours of training or
// tuning. Every command that writes files calls check_outputs() once.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace netc {

// A file or folder a command reads, with the flag that named it ("GRAPH", "--init").
struct Input {
  std::string flag, path;
};

struct Output {
  enum class Kind {
    kFile,           // a regular file, replaced atomically
    kTuningLog,      // a file netc tune appends to: missing, empty or a tuning log of netc's
    kCompileFolder,  // a folder netc compile replaces: missing, empty or an earlier output of it
  };
  Output(std::string flag, std::string path, Kind kind = Kind::kFile, std::string may_be_input = "")
      : flag(std::move(flag)), path(std::move(path)), kind(kind), may_be_input(std::move(may_be_input)) {}

  std::string flag, path;
  Kind kind;
  // The flag of the one input this output may be the same file as: --checkpoint
  // continues the file --resume read.
  std::string may_be_input;
};

// InputError naming the flag and the file when an output (those with a path)
// could not be written without losing something: its folder is missing, it
// is a folder or not a regular file, it is not of its kind (see Kind), or it
// is the same file as another output or an input (or holds an input, for a
// folder). Nothing is opened that could block: a FIFO is refused by its type.
void check_outputs(const std::vector<Input>& inputs, const std::vector<Output>& outputs);

}  // namespace netc
