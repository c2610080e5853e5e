#include "schedule/directives.h"

#include <fmt/format.h>

namespace netc {
namespace {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

// Halide names a reduction variable "r$x"; files write it "r.x".
std::string halide_name(const std::string& name) {
  std::string s = name;
  std::replace(s.begin(), s.end(), '.', '$');
  return s;
}

// The loop variables a definition has so far, by the names files use: its
// pure variables and reduction variables, then those that directives create.
class Definition {
 public:
  Definition(const Stage& stage, int update) : stage_(stage), func_(stage.func), update_(update) {
    for (const Var& v : func_.args()) vars_[v.name()] = false;
    if (update >= 0)
      for (const RVar& r : func_.rvars(update)) vars_[file_name(r.name())] = true;
  }

  Halide::Stage target() { return update_ < 0 ? Halide::Stage(func_) : func_.update(update_); }
  Func func() const { return func_; }
  const Stage& stage() const { return stage_; }

  VarOrRVar var(const std::string& name, const Directive& d) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      std::string known;
      for (const auto& [n, is_r] : vars_) known += (known.empty() ? "" : ", ") + n;
      fail_at(d.loc, fmt::format("'{}' is not a loop variable of the {} of {}; it has {}", name, definition_name(),
                                 stage_.name, known));
    }
    return it->second ? VarOrRVar(RVar(halide_name(name))) : VarOrRVar(Var(name));
  }
  Var pure_var(const std::string& name, const Directive& d) const {
    VarOrRVar v = var(name, d);
    if (v.is_rvar) fail_at(d.loc, fmt::format("'{}' is a reduction variable; '{}' needs a pure one", name, d.name));
    return v.var;
  }
  RVar reduction_var(const std::string& name, const Directive& d) const {
    VarOrRVar v = var(name, d);
    if (!v.is_rvar) fail_at(d.loc, fmt::format("'{}' is not a reduction variable", name));
    return v.rvar;
  }
  // A variable made by splitting (or fusing) `parent`: reduction if it is.
  VarOrRVar made(const std::string& name, bool reduction, const Directive& d) {
    if (vars_.count(name)) fail_at(d.loc, fmt::format("'{}' is already a loop variable of {}", name, stage_.name));
    vars_[name] = reduction;
    return reduction ? VarOrRVar(RVar(halide_name(name))) : VarOrRVar(Var(name));
  }

 private:
  static std::string file_name(const std::string& halide) {
    std::string s = halide;
    std::replace(s.begin(), s.end(), '$', '.');
    return s;
  }
  std::string definition_name() const {
    return update_ < 0 ? "pure definition" : fmt::format("update {}", update_);
  }

  const Stage& stage_;
  Func func_;
  int update_;
  std::map<std::string, bool> vars_;  // name -> is a reduction variable
};

int integer(const std::string& s) { return int(std::stoll(s)); }  // checked by the parser

TailStrategy tail(const std::vector<std::string>& args, size_t i) {
  if (args.size() <= i || args[i] == "auto") return TailStrategy::Auto;
  if (args[i] == "round_up") return TailStrategy::RoundUp;
  if (args[i] == "guard_with_if") return TailStrategy::GuardWithIf;
  return TailStrategy::ShiftInwards;
}

const Stage& stage_named(const StageTable& table, const std::string& name, const Directive& d) {
  const Stage* s = table.find(name);
  if (!s) fail_at(d.loc, fmt::format("no stage named '{}' in this pipeline", name));
  return *s;
}

// compute_at / store_at: the loop level `var` of the stage `args[0]`.
Halide::LoopLevel loop_level(const StageTable& table, const Directive& d) {
  const Stage& at = stage_named(table, d.args[0], d);
  bool reduction = false;
  for (int u = 0; u < Func(at.func).num_update_definitions(); ++u)
    for (const RVar& r : Func(at.func).rvars(u))
      if (r.name() == halide_name(d.args[1])) reduction = true;
  return reduction ? Halide::LoopLevel(at.func, RVar(halide_name(d.args[1])))
                   : Halide::LoopLevel(at.func, Var(d.args[1]));
}

// Splits `name` into new outer and inner variables of the same kind.
std::pair<VarOrRVar, VarOrRVar> split_names(Definition& def, const std::string& name, const std::string& outer,
                                            const std::string& inner, const Directive& d) {
  bool reduction = def.var(name, d).is_rvar;
  return {def.made(outer, reduction, d), def.made(inner, reduction, d)};
}

void apply_gpu_tile(Definition& def, const Directive& d) {
  const auto& a = d.args;
  Halide::Stage s = def.target();
  if (a.size() == 4) {
    auto [bx, tx] = split_names(def, a[0], a[1], a[2], d);
    s.gpu_tile(def.var(a[0], d), bx, tx, integer(a[3]));
  } else if (a.size() == 8) {
    VarOrRVar x = def.var(a[0], d), y = def.var(a[1], d);
    auto [bx, tx] = split_names(def, a[0], a[2], a[4], d);
    auto [by, ty] = split_names(def, a[1], a[3], a[5], d);
    s.gpu_tile(x, y, bx, by, tx, ty, integer(a[6]), integer(a[7]));
  } else {
    VarOrRVar x = def.var(a[0], d), y = def.var(a[1], d), z = def.var(a[2], d);
    auto [bx, tx] = split_names(def, a[0], a[3], a[6], d);
    auto [by, ty] = split_names(def, a[1], a[4], a[7], d);
    auto [bz, tz] = split_names(def, a[2], a[5], a[8], d);
    s.gpu_tile(x, y, z, bx, by, bz, tx, ty, tz, integer(a[9]), integer(a[10]), integer(a[11]));
  }
}

std::vector<VarOrRVar> vars_of(const Definition& def, const Directive& d, size_t first = 0) {
  std::vector<VarOrRVar> vars;
  for (size_t i = first; i < d.args.size(); ++i) vars.push_back(def.var(d.args[i], d));
  return vars;
}

void apply_gpu_blocks(Definition& def, const Directive& d) {
  std::vector<VarOrRVar> v = vars_of(def, d);
  Halide::Stage s = def.target();
  if (v.size() == 1) s.gpu_blocks(v[0]);
  else if (v.size() == 2) s.gpu_blocks(v[0], v[1]);
  else s.gpu_blocks(v[0], v[1], v[2]);
}

void apply_gpu_threads(Definition& def, const Directive& d) {
  std::vector<VarOrRVar> v = vars_of(def, d);
  Halide::Stage s = def.target();
  if (v.size() == 1) s.gpu_threads(v[0]);
  else if (v.size() == 2) s.gpu_threads(v[0], v[1]);
  else s.gpu_threads(v[0], v[1], v[2]);
}

// The partial results, one per value of the new pure variable, at root and in
// parallel over it; the original update then sums them.
void apply_rfactor(Definition& def, const Directive& d) {
  Var v(d.args[1]);
  Func partial = def.target().rfactor(def.reduction_var(d.args[0], d), v);
  partial.compute_root();
  partial.update(0).parallel(v);
}

// vectorize, unroll and parallel: by a factor (a tail guarded) or whole.
template <typename Whole, typename Split>
void by_factor(Definition& def, const Directive& d, Whole whole, Split split) {
  Halide::Stage s = def.target();
  if (d.args.size() == 2) split(s, def.var(d.args[0], d), integer(d.args[1]));
  else whole(s, def.var(d.args[0], d));
}

// The directives' functions by name; their argument signatures, checked when
// files are parsed, are the rows of directive_specs() (front/schedule_specs.h).
using DirectiveFunction = void (*)(Definition& def, const Directive& d, const StageTable& table);

const std::map<std::string, DirectiveFunction>& directive_functions() {
  static const std::map<std::string, DirectiveFunction> table = {
      {"compute_root", [](Definition& def, const Directive&, const StageTable&) { def.func().compute_root(); }},
      {"compute_inline",
       [](Definition& def, const Directive& d, const StageTable&) {
         if (def.func().has_update_definition())
           fail_at(d.loc, fmt::format("{} is a reduction and cannot be inlined", def.stage().name));
         def.func().compute_inline();
       }},
      {"compute_at",
       [](Definition& def, const Directive& d, const StageTable& t) { def.func().compute_at(loop_level(t, d)); }},
      {"store_root", [](Definition& def, const Directive&, const StageTable&) { def.func().store_root(); }},
      {"store_at",
       [](Definition& def, const Directive& d, const StageTable& t) { def.func().store_at(loop_level(t, d)); }},
      {"split",
       [](Definition& def, const Directive& d, const StageTable&) {
         const auto& a = d.args;
         VarOrRVar v = def.var(a[0], d);
         auto [outer, inner] = split_names(def, a[0], a[1], a[2], d);
         def.target().split(v, outer, inner, integer(a[3]), tail(a, 4));
       }},
      {"tile",
       [](Definition& def, const Directive& d, const StageTable&) {
         const auto& a = d.args;
         VarOrRVar x = def.var(a[0], d), y = def.var(a[1], d);
         auto [xo, xi] = split_names(def, a[0], a[2], a[4], d);
         auto [yo, yi] = split_names(def, a[1], a[3], a[5], d);
         def.target().tile(x, y, xo, yo, xi, yi, integer(a[6]), integer(a[7]), tail(a, 8));
       }},
      {"fuse",
       [](Definition& def, const Directive& d, const StageTable&) {
         VarOrRVar inner = def.var(d.args[0], d), outer = def.var(d.args[1], d);
         def.target().fuse(inner, outer, def.made(d.args[2], inner.is_rvar || outer.is_rvar, d));
       }},
      {"reorder", [](Definition& def, const Directive& d, const StageTable&) { def.target().reorder(vars_of(def, d)); }},
      {"vectorize",
       [](Definition& def, const Directive& d, const StageTable&) {
         by_factor(
             def, d, [](Halide::Stage& s, VarOrRVar v) { s.vectorize(v); },
             [](Halide::Stage& s, VarOrRVar v, int f) { s.vectorize(v, f, TailStrategy::GuardWithIf); });
       }},
      {"unroll",
       [](Definition& def, const Directive& d, const StageTable&) {
         by_factor(
             def, d, [](Halide::Stage& s, VarOrRVar v) { s.unroll(v); },
             [](Halide::Stage& s, VarOrRVar v, int f) { s.unroll(v, f, TailStrategy::GuardWithIf); });
       }},
      {"parallel",
       [](Definition& def, const Directive& d, const StageTable&) {
         by_factor(
             def, d, [](Halide::Stage& s, VarOrRVar v) { s.parallel(v); },
             [](Halide::Stage& s, VarOrRVar v, int f) { s.parallel(v, f, TailStrategy::GuardWithIf); });
       }},
      {"serial",
       [](Definition& def, const Directive& d, const StageTable&) { def.target().serial(def.var(d.args[0], d)); }},
      {"reorder_storage",
       [](Definition& def, const Directive& d, const StageTable&) {
         std::vector<Var> vars;
         for (const std::string& name : d.args) vars.push_back(def.pure_var(name, d));
         def.func().reorder_storage(vars);
       }},
      {"bound",
       [](Definition& def, const Directive& d, const StageTable&) {
         def.func().bound(def.pure_var(d.args[0], d), integer(d.args[1]), integer(d.args[2]));
       }},
      {"rfactor", [](Definition& def, const Directive& d, const StageTable&) { apply_rfactor(def, d); }},
      {"gpu_blocks", [](Definition& def, const Directive& d, const StageTable&) { apply_gpu_blocks(def, d); }},
      {"gpu_threads", [](Definition& def, const Directive& d, const StageTable&) { apply_gpu_threads(def, d); }},
      {"gpu_tile", [](Definition& def, const Directive& d, const StageTable&) { apply_gpu_tile(def, d); }},
      {"gpu_single_thread",
       [](Definition& def, const Directive&, const StageTable&) { def.target().gpu_single_thread(); }},
  };
  return table;
}

void apply_one(Definition& def, const Directive& d, const StageTable& table) {
  auto function = directive_functions().find(d.name);
  if (function == directive_functions().end()) fail_at(d.loc, fmt::format("unknown directive '{}'", d.name));
  function->second(def, d, table);
}

}  // namespace

void apply_directives(const Stage& stage, int update, const std::vector<Directive>& list, const StageTable& table) {
  if (update >= Func(stage.func).num_update_definitions())
    fail_at(list.empty() ? SourceLoc{} : list.front().loc,
            fmt::format("{} has no update definition (it is not a reduction)", stage.name));
  Definition def(stage, update);
  for (const Directive& d : list) {
    try {
      apply_one(def, d, table);
    } catch (const Halide::Error& e) {
      fail_at(d.loc, fmt::format("Halide rejects '{}' on {}: {}", d.name, stage.name, e.what()));
    }
  }
}

std::vector<std::string> directive_function_names() {
  std::vector<std::string> names;
  for (const auto& [name, function] : directive_functions()) names.push_back(name);
  return names;
}

}  // namespace netc
