// Parsing and checking of schedule files (format: docs/schedules.md). Only
// what can be checked without a pipeline is checked here, against the tables
// of schedule_specs.h: keys, directive names and argument counts, integers,
// recipe names, their options and targets, lowering and autoscheduler names,
// and that every selector can select something; variables, and whether a
// recipe or lowering fits the stages a rule selects, are checked when the
// rules are applied.
#include "front/schedule_file.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "atomic_file.h"
#include "front/op_spec.h"
#include "front/schedule_specs.h"

namespace netc {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

// The stage kinds that are not "<op>.<pass>" of a layer, and the pass every
// layer with several consumers may get.
const std::set<std::string> kNonLayerKinds = {"loss.max",        "loss.log_sum_exp", "loss.per_image",
                                              "loss.mean",       "loss.grad_logits", "update.param",
                                              "update.momentum", "update.exp_avg",   "update.exp_avg_sq",
                                              "output.copy",     "gather.images",    "gather.labels"};
const std::string kGradSumPass = "grad_sum";

const std::vector<std::string> kAutoschedulers = {"Adams2019", "Mullapudi2016", "Li2018"};
const std::vector<std::string> kTails = {"auto", "round_up", "guard_with_if", "shift_inwards"};

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  ScheduleFile parse(const std::string& text) {
    if (text.size() > kMaxFileBytes)
      throw InputError(fmt::format("{}: schedule file is larger than {} bytes", file_, kMaxFileBytes));
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      fail_at(loc(e.mark), "invalid YAML: " + e.msg);
    }
    if (!root.IsMap()) fail_at(loc(root.Mark()), "a schedule file is a map with `target` and `stages` or `autoscheduler`");
    ScheduleFile s;
    s.path = file_;
    check_keys(root, {"target", "autoscheduler", "stages"});
    if (!root["target"]) fail_at(loc(root.Mark()), "missing `target` (host or cuda)");
    s.target = one_of(root["target"], {"host", "cuda"}, "target");
    s.target_loc = loc(root["target"].Mark());
    if (root["autoscheduler"]) s.autoscheduler = autoscheduler(root["autoscheduler"]);
    if (root["stages"]) s.rules = rules(root["stages"], s.target, s.autoscheduler.has_value());
    if (!s.autoscheduler && !root["stages"]) fail_at(loc(root.Mark()), "give `stages` or an `autoscheduler`");
    return s;
  }

 private:
  SourceLoc loc(const YAML::Mark& m) const { return {file_, std::max(m.line, 0) + 1, std::max(m.column, 0) + 1}; }

  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      std::string key = scalar(kv.first, "key");
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail_at(loc(kv.first.Mark()), fmt::format("unknown key '{}'; expected one of {}", key, joined(allowed)));
      if (!seen.insert(key).second) fail_at(loc(kv.first.Mark()), fmt::format("duplicate key '{}'", key));
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) fail_at(loc(n.Mark()), fmt::format("{} must be a single value", what));
    return n.Scalar();
  }

  std::string one_of(const YAML::Node& n, const std::vector<std::string>& allowed, const std::string& what) {
    std::string v = scalar(n, what);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      fail_at(loc(n.Mark()), fmt::format("unknown {} '{}'; expected one of {}", what, v, joined(allowed)));
    return v;
  }

  int64_t integer(const YAML::Node& n, const std::string& what, int64_t min, int64_t max = INT64_MAX) {
    std::string v = scalar(n, what);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec != std::errc() || end != v.data() + v.size() || n.Tag() == "!")
      fail_at(loc(n.Mark()), fmt::format("{} must be an integer, not '{}'", what, v));
    if (value < min) fail_at(loc(n.Mark()), fmt::format("{} must be at least {}, not {}", what, min, value));
    if (value > max) fail_at(loc(n.Mark()), fmt::format("{} must be at most {} (netc's limit), not {}", what, max, value));
    return value;
  }

  Autoscheduler autoscheduler(const YAML::Node& n) {
    Autoscheduler a;
    a.loc = loc(n.Mark());
    if (n.IsScalar()) {
      a.name = one_of(n, kAutoschedulers, "autoscheduler");
      return a;
    }
    if (!n.IsMap()) fail_at(a.loc, "autoscheduler must be a name or a map with `name`");
    check_keys(n, {"name", "parallelism", "last_level_cache_size", "balance", "beam_size"});
    if (!n["name"]) fail_at(a.loc, "autoscheduler needs a `name`");
    a.name = one_of(n["name"], kAutoschedulers, "autoscheduler");
    if (n["parallelism"]) a.parallelism = int(std::min<int64_t>(integer(n["parallelism"], "parallelism", 1), 1024));
    if (n["last_level_cache_size"])
      a.last_level_cache_size = integer(n["last_level_cache_size"], "last_level_cache_size", 1);
    if (n["balance"]) a.balance = float(integer(n["balance"], "balance", 1));
    if (n["beam_size"]) {
      if (a.name != "Adams2019") fail_at(loc(n["beam_size"].Mark()), "beam_size is an option of Adams2019 only");
      a.beam_size = int(std::min<int64_t>(integer(n["beam_size"], "beam_size", 1), 1024));
    }
    return a;
  }

  std::vector<StageRule> rules(const YAML::Node& n, const std::string& target, bool autoscheduled) {
    if (!n.IsMap()) fail_at(loc(n.Mark()), "`stages` must be a map from stage selectors to schedules");
    std::vector<StageRule> rules;
    std::set<std::string> seen;
    for (const auto& kv : n) {
      StageRule r = rule(kv.first, kv.second, target, autoscheduled);
      if (!seen.insert(r.selector).second) fail_at(r.loc, fmt::format("duplicate selector '{}'", r.selector));
      rules.push_back(std::move(r));
    }
    return rules;
  }

  StageRule rule(const YAML::Node& key, const YAML::Node& value, const std::string& target, bool autoscheduled) {
    StageRule r;
    r.selector = scalar(key, "a stage selector");
    r.loc = loc(key.Mark());
    check_selector(r);
    if (value.IsScalar()) {  // the short form: a recipe name
      r.recipe = recipe(value, target);
    } else if (value.IsMap()) {
      check_keys(value, {"recipe", "lowering", "pure", "update"});
      if (value["recipe"]) r.recipe = recipe(value["recipe"], target);
      if (value["lowering"]) {
        r.lowering = one_of(value["lowering"], lowering_names(), "lowering");
        r.lowering_loc = loc(value["lowering"].Mark());
      }
      if (value["pure"]) r.pure = directives(value["pure"], false);
      if (value["update"]) r.update = directives(value["update"], true);
    } else {
      fail_at(loc(value.Mark()), "a stage's schedule is a recipe name or a map (recipe, lowering, pure, update)");
    }
    if (autoscheduled && (r.recipe || r.pure || r.update))
      fail_at(r.loc, "with an autoscheduler, stages may only choose their `lowering`");
    return r;
  }

  // A selector must be able to select something: a glob, a kind, or a
  // "<layer>.<pass>" name (checked against the pipeline when applied).
  void check_selector(const StageRule& r) {
    const std::string& s = r.selector;
    if (s.empty()) fail_at(r.loc, "empty stage selector");
    if (is_glob(s)) return;
    size_t dot = s.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == s.size())
      fail_at(r.loc, fmt::format("'{}' is not a stage: stages are named '<layer>.<pass>' (cnn2.forward), kinds "
                                 "'<op>.<pass>' (conv2d.forward), or selected by a glob (update.*, *)",
                                 s));
  }

  Recipe recipe(const YAML::Node& n, const std::string& target) {
    Recipe r;
    r.loc = loc(n.Mark());
    if (n.IsScalar()) {
      r.name = one_of(n, recipe_names(), "recipe");
      check_target(*find_recipe(r.name), target, r.loc);
      return r;
    }
    if (!n.IsMap() || !n["name"]) fail_at(r.loc, "a recipe is a name or a map with `name` and integer options");
    std::vector<std::pair<std::string, SourceLoc>> option_locs;  // in file order
    for (const auto& kv : n) {
      std::string key = scalar(kv.first, "key");
      if (key == "name") continue;
      if (r.options.count(key)) fail_at(loc(kv.first.Mark()), fmt::format("duplicate key '{}'", key));
      r.options[key] = integer(kv.second, key, 1, kMaxRecipeOption);
      option_locs.emplace_back(key, loc(kv.first.Mark()));
    }
    r.name = one_of(n["name"], recipe_names(), "recipe");
    const RecipeSpec& spec = *find_recipe(r.name);
    check_target(spec, target, loc(n["name"].Mark()));
    for (const auto& [option, at] : option_locs)
      if (!spec.has_option(option)) fail_at(at, fmt::format("recipe '{}' has no option '{}'", r.name, option));
    return r;
  }

  void check_target(const RecipeSpec& spec, const std::string& target, const SourceLoc& at) {
    if (!spec.for_target(target))
      fail_at(at, fmt::format("recipe '{}' is for {} schedules, not {}", spec.name, joined(spec.targets), target));
  }

  std::vector<Directive> directives(const YAML::Node& n, bool update) {
    if (!n.IsSequence()) fail_at(loc(n.Mark()), "directives are a list, e.g. [compute_root, {vectorize: [x, 8]}]");
    std::vector<Directive> list;
    for (const YAML::Node& item : n) list.push_back(directive(item, update));
    return list;
  }

  Directive directive(const YAML::Node& item, bool update) {
    Directive d;
    d.loc = loc(item.Mark());
    YAML::Node args;
    if (item.IsScalar()) {
      d.name = item.Scalar();
    } else if (item.IsMap() && item.size() == 1) {
      d.name = scalar(item.begin()->first, "a directive");
      args = item.begin()->second;
    } else {
      fail_at(d.loc, "a directive is a name (compute_root) or a map of one name to its arguments");
    }
    const DirectiveSpec* spec = find_directive(d.name);
    if (!spec)
      fail_at(d.loc, fmt::format("unknown directive '{}'; expected one of {}", d.name, joined(directive_names())));
    if (update && spec->pure_only) fail_at(d.loc, fmt::format("'{}' applies to the pure definition only", d.name));
    if (!update && spec->update_only) fail_at(d.loc, fmt::format("'{}' applies to an update only", d.name));
    std::vector<YAML::Node> values;
    if (args && args.IsSequence()) {
      for (const YAML::Node& a : args) values.push_back(a);
    } else if (args && !args.IsNull()) {
      values.push_back(args);
    }
    for (const YAML::Node& v : values) d.args.push_back(scalar(v, fmt::format("an argument of '{}'", d.name)));
    for (const std::string& sig : spec->signatures)
      if (matches(sig, values)) {
        matches(sig, values, spec);  // checks the values themselves
        return d;
      }
    fail_at(d.loc, fmt::format("'{}' takes {}", d.name, describe(*spec)));
  }

  // Whether `values` fit the signature's shape; given the directive's spec,
  // also checks each value (integers, tails) and fails at the first bad one.
  bool matches(const std::string& sig, const std::vector<YAML::Node>& values, const DirectiveSpec* check = nullptr) {
    size_t k = 0;
    for (size_t i = 0; i < sig.size(); ++i) {
      char kind = sig[i];
      bool optional = i + 1 < sig.size() && sig[i + 1] == '?';
      bool repeated = i + 1 < sig.size() && sig[i + 1] == '+';
      if (optional || repeated) ++i;
      size_t count = repeated ? values.size() - std::min(values.size(), k) : 1;
      if (repeated && count == 0) return false;
      for (size_t c = 0; c < count; ++c, ++k) {
        if (k >= values.size()) return optional;
        if (check) check_value(kind, values[k], *check);
      }
    }
    return k == values.size();
  }

  void check_value(char kind, const YAML::Node& v, const DirectiveSpec& spec) {
    if (kind == 'i') integer(v, "a factor", 1, spec.max_factor);
    if (kind == 'z') integer(v, "a bound's minimum", INT32_MIN, INT32_MAX);
    if (kind == 't') one_of(v, kTails, "tail strategy");
  }

  static std::string describe(const DirectiveSpec& spec) {
    auto word = [](char c) {
      switch (c) {
        case 'v': return "var";
        case 'n': return "new_name";
        case 's': return "stage";
        case 'i': return "factor";
        case 'z': return "min";
        default: return "tail";
      }
    };
    std::string out;
    for (const std::string& sig : spec.signatures) {
      if (!out.empty()) out += " or ";
      if (sig.empty()) {
        out += "no arguments";
        continue;
      }
      std::string one;
      for (size_t i = 0; i < sig.size(); ++i) {
        if (sig[i] == '?' || sig[i] == '+') continue;
        std::string w = word(sig[i]);
        if (i + 1 < sig.size() && sig[i + 1] == '?') w = "[" + w + "]";
        if (i + 1 < sig.size() && sig[i + 1] == '+') w += ", ...";
        one += (one.empty() ? "" : ", ") + w;
      }
      out += "[" + one + "]";
    }
    return out;
  }

  std::string file_;
};

}  // namespace

bool is_glob(const std::string& selector) { return selector.find_first_of("*?[") != std::string::npos; }

bool ScheduleFile::selects(const std::string& selector, const std::string& name, const std::string& kind) {
  if (selector == name || selector == kind) return true;
  return is_glob(selector) && fnmatch(selector.c_str(), name.c_str(), 0) == 0;
}

StageRule ScheduleFile::merged_rule(const std::string& name, const std::string& kind) const {
  StageRule merged;
  merged.selector = name;
  for (const StageRule& r : rules) {
    if (!selects(r.selector, name, kind)) continue;
    if (r.recipe) merged.recipe = r.recipe;
    if (r.lowering) {
      merged.lowering = r.lowering;
      merged.lowering_loc = r.lowering_loc;
    }
    if (r.pure) merged.pure = r.pure;
    if (r.update) merged.update = r.update;
  }
  return merged;
}

bool is_stage_kind(const std::string& selector) {
  if (kNonLayerKinds.count(selector)) return true;
  size_t dot = selector.find('.');
  if (dot == std::string::npos) return false;
  const OpSpec* op = find_op(selector.substr(0, dot));
  if (!op) return false;
  std::string pass = selector.substr(dot + 1);
  std::vector<std::string> passes = op->passes();
  return pass == kGradSumPass || std::find(passes.begin(), passes.end(), pass) != passes.end();
}

ScheduleFile parse_schedule(const std::string& text, const std::string& name) { return Parser(name).parse(text); }

ScheduleFile load_schedule(const std::string& path) {
  std::string text;
  try {
    text = read_file(path, kMaxFileBytes + 1);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: cannot read the schedule file: {}", path, e.what()));
  }
  return parse_schedule(text, path);
}

ScheduleFile schedule_for(const std::string& target, const std::string& path) {
  return path.empty() ? default_schedule(target) : load_schedule(path);
}

namespace {
std::string shipped_path(const std::string& target, const std::string& name) {
  return "schedules/" + std::string(target == "cuda" ? "cuda" : "cpu") + "/" + name + ".yaml";
}
}  // namespace

ScheduleFile default_schedule(const std::string& target) {
  return parse_schedule(default_schedule_text(target), shipped_path(target, "default"));
}

ScheduleFile reference_schedule(const std::string& target) {
  return parse_schedule(reference_schedule_text(target), shipped_path(target, "root"));
}

}  // namespace netc
