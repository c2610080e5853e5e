#include "safetensors.h"

#include <stdexcept>
#include <vector>

#include "atomic_file.h"
#include "input_error.h"

namespace netc {

std::map<std::string, SafeTensor> read_safetensors(const std::string& path,
                                                   std::map<std::string, std::string>* metadata) {
  try {
    return safetensors::read(path, metadata);
  } catch (const safetensors::Error& e) {
    throw InputError(e.what());
  }
}

void write_safetensors(const std::string& path, const std::map<std::string, SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, t] : tensors) {
    if (safetensors::element_count(t.shape) != t.data.size())
      throw std::invalid_argument("write_safetensors: tensor '" + name + "' has shape " +
                                  safetensors::shape_text(t.shape) + " but " + std::to_string(t.data.size()) + " values");
    shapes[name] = t.shape;
  }
  const std::string header = safetensors::file_header(shapes, metadata);  // before any file is made
  AtomicFileWriter out(path);
  out.write(header);
  for (const auto& [name, t] : tensors) out.write(t.data.data(), t.data.size() * sizeof(float));
  out.commit();
}

}  // namespace netc
