#include "host_target.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "input_error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace netc {
namespace {

#if defined(__x86_64__)
struct Registers {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(unsigned leaf, unsigned subleaf) {
  Registers r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

bool all_of(unsigned bits, unsigned mask) { return (bits & mask) == mask; }

// The x86 features of this CPU that Halide 14 knows, found as its
// calculate_host_target() finds them (src/Target.cpp).
std::set<std::string> x86_features() {
  std::set<std::string> f;
  const Registers leaf1 = cpuid(1, 0);
  const bool avx = leaf1.ecx & (1u << 28), f16c = leaf1.ecx & (1u << 29), rdrand = leaf1.ecx & (1u << 30);
  if (leaf1.ecx & (1u << 19)) f.insert("sse41");
  if (avx) f.insert("avx");
  if (f16c) f.insert("f16c");
  if (leaf1.ecx & (1u << 12)) f.insert("fma");
  if (!(avx && f16c && rdrand)) return f;
  const Registers leaf7 = cpuid(7, 0);
  const unsigned avx512 = (1u << 16) | (1u << 28);                         // F, CD
  const unsigned knl = avx512 | (1u << 26) | (1u << 27);                  // + PF, ER
  const unsigned skylake = avx512 | (1u << 31) | (1u << 30) | (1u << 17);  // + VL, BW, DQ
  const unsigned cannonlake = skylake | (1u << 21);                       // + IFMA
  if (leaf7.ebx & (1u << 5)) f.insert("avx2");
  if (!all_of(leaf7.ebx, avx512)) return f;
  f.insert("avx512");
  if (all_of(leaf7.ebx, knl)) f.insert("avx512_knl");
  if (all_of(leaf7.ebx, skylake)) f.insert("avx512_skylake");
  if (!all_of(leaf7.ebx, cannonlake)) return f;
  f.insert("avx512_cannonlake");
  const Registers leaf7_1 = cpuid(7, 1);
  if ((leaf7.ecx & (1u << 11)) && (leaf7_1.eax & (1u << 5))) f.insert("avx512_sapphirerapids");  // VNNI, BF16
  return f;
}

const std::set<std::string> kX86Features = {"sse41",  "avx",        "f16c",           "fma",
                                            "avx2",   "avx512",     "avx512_knl",     "avx512_skylake",
                                            "avx512_cannonlake", "avx512_sapphirerapids"};

std::string host_base() { return "x86-64-linux"; }
std::set<std::string> host_features() { return x86_features(); }
#else
const std::set<std::string> kX86Features;
// Elsewhere, the architecture alone: correct code, if not the fastest.
std::string host_base() {
#if defined(__aarch64__)
  return "arm-64-linux";
#else
#error "netc knows the Halide host target of x86-64 and aarch64 Linux only"
#endif
}
std::set<std::string> host_features() { return {}; }
#endif

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

// "arch-bits-os" and the features of a target string.
std::pair<std::string, std::set<std::string>> parse(const std::string& target) {
  std::vector<std::string> parts = split(target, '-');
  if (parts.size() < 3 || std::count(target.begin(), target.end(), ' '))
    throw InputError(fmt::format("NETC_HOST_TARGET={}: expected a Halide target such as {}", target,
                                 "x86-64-linux-avx-avx2-f16c-fma-sse41"));
  return {parts[0] + "-" + parts[1] + "-" + parts[2], std::set<std::string>(parts.begin() + 3, parts.end())};
}

std::pair<std::string, std::set<std::string>> host_target() {
  const char* forced = std::getenv("NETC_HOST_TARGET");
  if (!forced || !*forced) return {host_base(), host_features()};
  auto [base, features] = parse(forced);
  // Code for another architecture or OS could not run here (and Halide refuses names it does not know).
  if (base != host_base())
    throw InputError(fmt::format("NETC_HOST_TARGET={}: a target for {}; this machine runs {} code", forced, base,
                                 host_base()));
  const std::set<std::string> available = host_features();
  for (const std::string& f : features)
    if (kX86Features.count(f) && !available.count(f))
      throw InputError(fmt::format("NETC_HOST_TARGET={}: this CPU has no {}", forced, f));
  return {base, features};
}

}  // namespace

std::string halide_target_string(const std::string& target, bool profile) {
  auto [base, features] = host_target();
  if (target == "cuda") {
    features.insert("cuda");
    features.insert(fmt::format("cuda_capability_{}", kCudaCapability));
  } else if (target != "host") {
    throw InputError(fmt::format("unknown target '{}': expected host or cuda", target));
  }
  if (profile || std::getenv("NETC_PROFILE")) features.insert("profile");
  std::string s = base;
  for (const std::string& f : features) s += "-" + f;  // a std::set: alphabetical, as Halide writes them
  return s;
}

}  // namespace netc
