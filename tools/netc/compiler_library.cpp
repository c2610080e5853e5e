#include "compiler_library.h"

#include <dlfcn.h>

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "fingerprint.h"

namespace netc {

const std::string& compiler_library_path() {
  static const std::string path =
      (std::filesystem::canonical("/proc/self/exe").parent_path().parent_path() / "lib" / "libnetc_compiler.so")
          .string();
  return path;
}

const std::string& compiler_fingerprint() {
  static const std::string fingerprint = [] {
    try {
      return file_fingerprint(compiler_library_path());
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("the netc compiler library is missing: {}", e.what()));
    }
  }();
  return fingerprint;
}

const CompilerApi& compiler() {
  static const CompilerApi* api = [] {
    const std::string& path = compiler_library_path();
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: Halide keeps global state
    if (!library) throw std::runtime_error(fmt::format("cannot load the netc compiler: {}", dlerror()));
    auto entry = reinterpret_cast<const CompilerApi* (*)()>(dlsym(library, "netc_compiler_api"));
    if (!entry || entry()->version != kCompilerApiVersion)
      throw std::runtime_error(fmt::format("{} is not the compiler of this netc build", path));
    return entry();
  }();
  return *api;
}

}  // namespace netc
