// The Halide target strings the runtime works out without Halide
// (runtime/host_target.h) against Halide's own.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "Halide.h"
#include "host_target.h"
#include "input_error.h"

namespace {

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty())
      unsetenv(name_);
    else
      setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

}  // namespace

TEST_CASE("targets: host is Halide's host target, in Halide's spelling") {
  ScopedEnv no_override("NETC_HOST_TARGET", "");
  CHECK(netc::halide_target_string("host") == Halide::get_host_target().to_string());
}

TEST_CASE("targets: cuda is the host target with CUDA for sm_80") {
  ScopedEnv no_override("NETC_HOST_TARGET", "");
  const std::string cuda = netc::halide_target_string("cuda");
  Halide::Target t(cuda);
  CHECK(t.has_feature(Halide::Target::CUDA));
  CHECK(t.has_feature(Halide::Target::CUDACapability80));
  CHECK(t.without_feature(Halide::Target::CUDA).without_feature(Halide::Target::CUDACapability80) ==
        Halide::get_host_target());
  CHECK(t.to_string() == cuda);
}

TEST_CASE("targets: NETC_HOST_TARGET and NETC_PROFILE change the target") {
  ScopedEnv portable("NETC_HOST_TARGET", "x86-64-linux-sse41");
  CHECK(netc::halide_target_string("host") == "x86-64-linux-sse41");
  CHECK(netc::halide_target_string("cuda") == "x86-64-linux-cuda-cuda_capability_80-sse41");
  ScopedEnv profile("NETC_PROFILE", "1");
  CHECK(netc::halide_target_string("host") == "x86-64-linux-profile-sse41");
}

TEST_CASE("targets: a NETC_HOST_TARGET this CPU cannot run, or that is not a target, is bad input") {
  Halide::Target host = Halide::get_host_target();
  if (!host.has_feature(Halide::Target::AVX512_KNL)) {
    ScopedEnv knl("NETC_HOST_TARGET", "x86-64-linux-avx512_knl");
    CHECK_THROWS_AS(netc::halide_target_string("host"), netc::InputError);
  }
  ScopedEnv garbage("NETC_HOST_TARGET", "x86");
  CHECK_THROWS_AS(netc::halide_target_string("host"), netc::InputError);
}

TEST_CASE("targets: an unknown target name is bad input") {
  CHECK_THROWS_AS(netc::halide_target_string("opencl"), netc::InputError);
}
