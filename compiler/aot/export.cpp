#include "aot/export.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "Halide.h"
#include "aot/build.h"
#include "aot/embedded_files.h"
#include "atomic_file.h"
#include "compiled_model.h"
#include "sha256.h"
#include "input_error.h"

namespace fs = std::filesystem;

namespace netc {
namespace {

// The names of everything in the output, from the graph's name.
struct Package {
  explicit Package(const Graph& g) : graph(g.name), name("netc_" + g.name) {}
  std::string graph;  // model_a
  std::string name;   // netc_model_a: library, headers, CMake package, pkg-config module
  std::string library() const { return "lib/lib" + name + ".a"; }
  std::string header() const { return "include/" + name + ".hpp"; }
  std::string cmake_config() const { return fmt::format("lib/cmake/{}/{}Config.cmake", name, name); }
  std::string pkg_config() const { return "lib/pkgconfig/" + name + ".pc"; }
  std::string cmake_target() const { return "netc::" + graph; }
};

// Halide names a header's include guard after the path it was written to,
// here the staging folder; name it after the pipeline instead.
void rename_include_guard(const std::string& header, const std::string& function_name) {
  std::string text = read_file(header, 1 << 24);
  const std::string prefix = "#ifndef ";
  const size_t end = text.find('\n');
  if (text.rfind(prefix, 0) != 0 || end == std::string::npos)
    throw std::runtime_error(header + ": Halide wrote no include guard");
  const std::string guard = text.substr(prefix.size(), end - prefix.size());
  std::string renamed = function_name + "_H";
  for (char& c : renamed) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (size_t at = text.find(guard); at != std::string::npos; at = text.find(guard, at + renamed.size()))
    text.replace(at, guard.size(), renamed);
  write_file_atomically(header, text);
}

// Both pipelines (without a runtime each) and one Halide runtime, as one
// static library, with the pipelines' C headers.
void compile_library(const std::vector<LoweredPipeline*>& pipelines, const Halide::Target& target,
                     const std::string& dir, const Package& package, const BuildOptions& options,
                     bool autoscheduled) {
  std::vector<std::string> objects;
  const Halide::Target no_runtime = target.with_feature(Halide::Target::NoRuntime);
  for (LoweredPipeline* p : pipelines) {
    objects.push_back(fmt::format("{}/{}.o", dir, p->function_name));
    const std::string header = fmt::format("{}/include/{}.h", dir, p->function_name);
    try {
      p->pipeline.compile_to(
          {{Halide::OutputFileType::object, objects.back()}, {Halide::OutputFileType::c_header, header}},
          p->arguments, p->function_name, no_runtime);
    } catch (const Halide::CompileError& e) {
      report_compile_error(e, *p, options, autoscheduled);
    }
    rename_include_guard(header, p->function_name);
  }
  objects.push_back(fmt::format("{}/{}_halide_runtime.o", dir, package.name));
  Halide::compile_standalone_runtime(objects.back(), target);
  Halide::create_static_library(objects, target, dir + "/" + package.library());
  for (const std::string& object : objects) fs::remove(object);
}

// One entry of the generated header's parameter list.
std::string parameter_entry(const ParameterSpec& p) {
  return fmt::format("          {{\"{}\", {{{}}}, {}}},\n", p.name, fmt::join(p.shape, ", "), p.fan_in);
}

// include/netc_<graph>.hpp: the manifest as a netc::CompiledGraph.
std::string graph_header(const Manifest& m, const Package& package) {
  std::string params;
  for (const ParameterSpec& p : m.params) params += parameter_entry(p);
  return fmt::format(R"(// {name}.hpp: the graph {graph}, compiled by `netc compile` (batch {batch}, target {target}).
// Generated. Pass {name}() to netc::Model (netc_model.hpp):
//   netc::Model model({name}(), "{graph}.safetensors");
#pragma once

#include "netc_model.hpp"
#include "{inference}.h"
#include "{train}.h"

inline const netc::CompiledGraph& {name}() {{
  static const netc::CompiledGraph graph{{
      "{graph}", {batch}, {c}, {h}, {w}, {classes},
      {{
{params}      }},
      {inference}_argv, {train}_argv, "{target}", netc::UpdateRule::{rule}}};
  return graph;
}}
)",
                     fmt::arg("name", package.name), fmt::arg("graph", m.graph), fmt::arg("batch", m.batch),
                     fmt::arg("target", m.target), fmt::arg("inference", m.inference), fmt::arg("train", m.train_step),
                     fmt::arg("c", m.input.at(0)), fmt::arg("h", m.input.at(1)), fmt::arg("w", m.input.at(2)),
                     fmt::arg("classes", m.classes), fmt::arg("params", params),
                     fmt::arg("rule", m.update == UpdateRule::Sgd ? "Sgd" : "Adam"));
}

std::string cmake_config(const BuildOptions& o, const Package& package) {
  return fmt::format(R"(# The graph {graph} compiled by `netc compile` (batch {batch}, target {target}):
# the imported target {target_name}, a static library with its include folder.
#   find_package({name} REQUIRED)   # CMAKE_PREFIX_PATH holding the output folder
#   target_link_libraries(app PRIVATE {target_name})
include(CMakeFindDependencyMacro)
find_dependency(Threads)
get_filename_component(_{name}_prefix "${{CMAKE_CURRENT_LIST_DIR}}/../../.." ABSOLUTE)
if(NOT TARGET {target_name})
  add_library({target_name} STATIC IMPORTED)
  set_target_properties({target_name} PROPERTIES
    IMPORTED_LOCATION "${{_{name}_prefix}}/{library}"
    INTERFACE_INCLUDE_DIRECTORIES "${{_{name}_prefix}}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_17
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${{CMAKE_DL_LIBS}}")
endif()
unset(_{name}_prefix)
)",
                     fmt::arg("graph", package.graph), fmt::arg("batch", o.batch), fmt::arg("target", o.target),
                     fmt::arg("name", package.name), fmt::arg("target_name", package.cmake_target()),
                     fmt::arg("library", package.library()));
}

std::string pkg_config(const BuildOptions& o, const Package& package) {
  return fmt::format(R"(prefix=${{pcfiledir}}/../..
libdir=${{prefix}}/lib
includedir=${{prefix}}/include

Name: {name}
Description: the graph {graph} compiled by netc compile (batch {batch}, target {target})
Version: 1
Libs: -L${{libdir}} -l{name} -lpthread -ldl
Cflags: -I${{includedir}}
)",
                     fmt::arg("name", package.name), fmt::arg("graph", package.graph), fmt::arg("batch", o.batch),
                     fmt::arg("target", o.target));
}

void write_output(const Graph& graph, const BuildOptions& options, const Halide::Target& target,
                  const std::string& dir) {
  const Package package(graph);
  for (const char* sub : {"include", "lib/pkgconfig"}) fs::create_directories(dir + "/" + sub);
  fs::create_directories(fs::path(dir + "/" + package.cmake_config()).parent_path());

  ScheduledPipelines p = scheduled_pipelines(graph, options, target);
  LoweredPipeline &train = p.train.value(), &inference = p.inference;  // (never micro-batched)
  compile_library({&train, &inference}, target, dir, package, options, p.autoscheduled);

  const Manifest manifest = manifest_of(graph, options, train.function_name, inference.function_name,
                                        package.library(), file_sha256(dir + "/" + package.library(), kMaxLibraryBytes));
  for (const EmbeddedFile& f : embedded_files()) write_file_atomically(dir + "/include/" + f.name, f.text);
  write_file_atomically(dir + "/" + package.header(), graph_header(manifest, package));
  write_file_atomically(dir + "/" + package.cmake_config(), cmake_config(options, package));
  write_file_atomically(dir + "/" + package.pkg_config(), pkg_config(options, package));
  write_manifest(dir, manifest);
}

// Moves `staging` to `folder`; an existing `folder` is swapped with it in one
// step (renameat2 RENAME_EXCHANGE) and then removed.
void move_into_place(const fs::path& staging, const fs::path& folder) {
  if (!fs::exists(folder)) {
    fs::rename(staging, folder);
    return;
  }
  if (renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, folder.c_str(), RENAME_EXCHANGE) != 0)
    throw std::runtime_error(fmt::format("cannot replace {}: {}", folder.string(), std::strerror(errno)));
  fs::remove_all(staging);  // now the earlier output
}

}  // namespace

void export_model(const Graph& graph, const BuildOptions& options, const std::string& folder_name) {
  fs::path folder = fs::absolute(folder_name).lexically_normal();
  if (!folder.has_filename()) folder = folder.parent_path();  // "out/" names "out"
  std::string why;
  if (fs::exists(folder) && !compile_output_is_replaceable(folder.string(), &why))
    throw InputError(fmt::format("-o {}: exists and is neither empty nor an earlier output of netc compile ({}); "
                                 "not replacing it",
                                 folder_name, why));
  schedule_for(options.target, options.schedule_file);  // a bad schedule file fails before anything is compiled
  const Halide::Target target = target_for(options.target);
  std::cerr << fmt::format("netc: compiling {} (batch {}, target {}) ...\n", graph.name, options.batch, options.target);
  fs::create_directories(folder.parent_path());
  const fs::path staging = fmt::format("{}.staging.{}", folder.string(), getpid());
  fs::remove_all(staging);
  try {
    write_output(graph, options, target, staging.string());
    move_into_place(staging, folder);
  } catch (...) {
    fs::remove_all(staging);
    throw;
  }
}

}  // namespace netc
