// Schedules written back as YAML read back as the same schedule, and the
// text of a schedule does not depend on how it was first written.
#include <catch2/catch.hpp>

#include <filesystem>

#include "atomic_file.h"
#include "schedule/schedule_writer.h"

namespace netc {
namespace {

// The same schedule, source locations aside.
bool same_directives(const std::optional<std::vector<Directive>>& a, const std::optional<std::vector<Directive>>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i)
    if ((*a)[i].name != (*b)[i].name || (*a)[i].args != (*b)[i].args) return false;
  return true;
}

void check_same(const ScheduleFile& a, const ScheduleFile& b) {
  CHECK(a.target == b.target);
  REQUIRE(a.autoscheduler.has_value() == b.autoscheduler.has_value());
  if (a.autoscheduler) {
    CHECK(a.autoscheduler->name == b.autoscheduler->name);
    CHECK(a.autoscheduler->parallelism == b.autoscheduler->parallelism);
    CHECK(a.autoscheduler->last_level_cache_size == b.autoscheduler->last_level_cache_size);
    CHECK(a.autoscheduler->balance == b.autoscheduler->balance);
    CHECK(a.autoscheduler->beam_size == b.autoscheduler->beam_size);
  }
  REQUIRE(a.rules.size() == b.rules.size());
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const StageRule &x = a.rules[i], &y = b.rules[i];
    INFO("rule " << x.selector);
    CHECK(x.selector == y.selector);
    REQUIRE(x.recipe.has_value() == y.recipe.has_value());
    if (x.recipe) {
      CHECK(x.recipe->name == y.recipe->name);
      CHECK(x.recipe->options == y.recipe->options);
    }
    CHECK(x.lowering == y.lowering);
    CHECK(same_directives(x.pure, y.pure));
    CHECK(same_directives(x.update, y.update));
  }
}

void check_round_trip(const std::string& text) {
  ScheduleFile original = parse_schedule(text, "s.yaml");
  std::string written = write_schedule(original);
  INFO(written);
  ScheduleFile again = parse_schedule(written, "written.yaml");
  check_same(original, again);
  CHECK(write_schedule(again) == written);
}

}  // namespace

TEST_CASE("every shipped schedule is written back as the same schedule", "[schedule][writer]") {
  for (const auto& entry : std::filesystem::directory_iterator(std::string(NETC_SOURCE_DIR) + "/schedules/cpu")) {
    INFO(entry.path().string());
    check_round_trip(read_file(entry.path().string(), 1 << 20));
  }
}

TEST_CASE("rules with recipe options, lowerings, every kind of directive and odd names survive a round trip",
          "[schedule][writer]") {
  check_round_trip(R"(target: host
stages:
  "*": plain
  "update.*": root
  "cnn[12].grad_bias": {}
  conv2d.forward: {recipe: {name: channel_tiles, x_tile: 7}}
  cnn1.grad_weight:
    lowering: im2col
    recipe: root
  cnn2.grad_weight: {recipe: {name: weight_gradient_tiles, co_vectors: 1}, lowering: direct}
  relu1.forward: {pure: []}
  cnn2.padded_input: {pure: [compute_inline]}
  fc1.grad_weight:
    pure: [compute_root, {vectorize: [i, 16]}, {parallel: o}, {bound: [i, -3, 10]}, {reorder_storage: [o, i]},
           {compute_at: [fc1.forward, n]}, {store_at: [fc1.forward, n]}, store_root]
    update: [{split: [ro.y, a, b, 4, guard_with_if]}, {tile: [i, o, io, oo, ii, oi, 8, 2]}, {fuse: [ii, oi, f]},
             {reorder: [f, io, oo]}, {unroll: [a, 2]}, {serial: b}, {rfactor: [b, u]}, {vectorize: f}, {parallel: [oo, 2]}]
)");
}

TEST_CASE("autoscheduler files survive a round trip", "[schedule][writer]") {
  check_round_trip("target: host\nautoscheduler: Li2018\n");
  check_round_trip(R"(target: host
autoscheduler: {name: Mullapudi2016, parallelism: 4, last_level_cache_size: 1000000, balance: 40}
stages:
  conv2d.forward: {lowering: im2col}
)");
  check_round_trip("target: host\nautoscheduler: {name: Adams2019, parallelism: 2, beam_size: 1}\n");
}

TEST_CASE("a written schedule is readable YAML in its shortest form", "[schedule][writer]") {
  ScheduleFile f = parse_schedule("target: host\nstages:\n  '*': root\n  cnn1.forward: {recipe: plain, pure: [{vectorize: [x, 8]}]}\n", "s.yaml");
  CHECK(write_schedule(f) == "target: host\nstages:\n  \"*\": root\n  cnn1.forward:\n    recipe: plain\n"
                             "    pure: [{vectorize: [x, 8]}]\n");
}

}  // namespace netc
