// The compile cache: compiled models (runtime/compiled_model.h) in folders
// named by a fingerprint of everything that changes their code, so that a
// cached model is found and run without loading the compiler.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace netc {

// $NETC_CACHE_DIR, else $XDG_CACHE_HOME/netc, else ~/.cache/netc.
std::string cache_root();

// The name of a model's entry: "<graph>-b<batch>-<target>-<key>", the key a
// fingerprint of everything that changes the compiled code: the graph's
// fingerprint (graph_fingerprint of compiler/front/graph.h), the batch size, the Halide
// target string (host_target.h), the schedule file's text ("default" when
// there is none), Halide's version and the compiler's fingerprint.
std::string model_entry(const std::string& graph_name, const std::string& graph_fingerprint, int64_t batch,
                        const std::string& target, bool profile, const std::string& schedule_file,
                        const std::string& compiler_fingerprint);

// The folder <root>/models/<entry> holding a valid compiled model, made by
// `compile(folder)` into a staging folder (then renamed into place) when it
// is missing, or rebuilt when it is corrupt. `what` names the model in the
// messages on stderr.
std::string cached_model(const std::string& entry, const std::string& what,
                         const std::function<void(const std::string& folder)>& compile);

}  // namespace netc
