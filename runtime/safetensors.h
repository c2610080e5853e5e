// safetensors files for netc (parameters, checkpoints, step checks): the one
// reader and writer of safetensors.hpp, with netc's errors (InputError) and
// files written atomically and synced.
#pragma once

#include <map>
#include <string>

#include "safetensors.hpp"

namespace netc {

using SafeTensor = safetensors::Tensor;

// Every tensor of the file; anything the reference implementation would
// reject (and a dtype other than F32) is an InputError naming the file.
// `metadata`, if given, receives "__metadata__".
std::map<std::string, SafeTensor> read_safetensors(const std::string& path,
                                                   std::map<std::string, std::string>* metadata = nullptr);

// Writes atomically (AtomicFileWriter): tensors in name order, their data
// back to back. std::invalid_argument if a tensor's data does not match its
// shape.
void write_safetensors(const std::string& path, const std::map<std::string, SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace netc
