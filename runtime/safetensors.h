// safetensors files (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the tensors' bytes, offsets relative to the end of the header.
// netc's parameters are float32, so only F32 is read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netc {

struct SafeTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

// Every tensor of the file. Anything the reference implementation would
// reject (and a dtype other than F32) is an InputError naming the file; memory
// is bounded by the file's real size, never by numbers in its header.
// `metadata`, if given, receives "__metadata__".
std::map<std::string, SafeTensor> read_safetensors(const std::string& path,
                                                   std::map<std::string, std::string>* metadata = nullptr);

// Writes atomically, as the reference implementation does: tensors in name
// order, their data back to back, the header padded with spaces to a multiple
// of 8 bytes. std::invalid_argument if a tensor's data does not match its shape.
void write_safetensors(const std::string& path, const std::map<std::string, SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace netc
