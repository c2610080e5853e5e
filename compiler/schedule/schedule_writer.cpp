#include "schedule/schedule_writer.h"

#include <fmt/format.h>

namespace netc {
namespace {

// Names, numbers and simple selectors stay plain (integers must: the parser
// refuses a quoted one); anything YAML could read as something else (globs,
// spaces, flow or quote characters, null, an empty string) is double-quoted.
std::string scalar(const std::string& s) {
  const bool integer = s.find_first_not_of("0123456789", s[0] == '-' ? 1 : 0) == std::string::npos && s != "-";
  const bool name = s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-") ==
                        std::string::npos &&
                    s[0] != '-' && s[0] != '.' && s != "null" && s != "Null" && s != "NULL";
  if (!s.empty() && (integer || name)) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

std::string recipe(const Recipe& r) {
  if (r.options.empty()) return scalar(r.name);
  std::string s = "{name: " + scalar(r.name);
  for (const auto& [name, value] : r.options) s += fmt::format(", {}: {}", scalar(name), value);
  return s + "}";
}

std::string directive(const Directive& d) {
  if (d.args.empty()) return scalar(d.name);
  if (d.args.size() == 1) return fmt::format("{{{}: {}}}", scalar(d.name), scalar(d.args[0]));
  std::string args;
  for (const std::string& a : d.args) args += (args.empty() ? "" : ", ") + scalar(a);
  return fmt::format("{{{}: [{}]}}", scalar(d.name), args);
}

std::string directives(const std::vector<Directive>& list) {
  std::string s;
  for (const Directive& d : list) s += (s.empty() ? "" : ", ") + directive(d);
  return "[" + s + "]";
}

std::string autoscheduler(const Autoscheduler& a) {
  std::string s = "{name: " + scalar(a.name);
  if (a.parallelism) s += fmt::format(", parallelism: {}", a.parallelism);
  if (a.last_level_cache_size) s += fmt::format(", last_level_cache_size: {}", a.last_level_cache_size);
  if (a.balance) s += fmt::format(", balance: {}", int64_t(a.balance));  // files give it as an integer
  if (a.beam_size) s += fmt::format(", beam_size: {}", a.beam_size);
  return s + "}";
}

std::string rule(const StageRule& r) {
  std::string head = "  " + scalar(r.selector) + ":";
  if (r.recipe && r.recipe->options.empty() && !r.lowering && !r.pure && !r.update)
    return head + " " + recipe(*r.recipe) + "\n";
  std::string s = head + "\n";
  if (r.recipe) s += "    recipe: " + recipe(*r.recipe) + "\n";
  if (r.lowering) s += "    lowering: " + scalar(*r.lowering) + "\n";
  if (r.pure) s += "    pure: " + directives(*r.pure) + "\n";
  if (r.update) s += "    update: " + directives(*r.update) + "\n";
  if (!r.recipe && !r.lowering && !r.pure && !r.update) s = head + " {}\n";
  return s;
}

}  // namespace

std::string write_schedule(const ScheduleFile& file) {
  std::string s = "target: " + scalar(file.target) + "\n";
  if (file.autoscheduler) s += "autoscheduler: " + autoscheduler(*file.autoscheduler) + "\n";
  if (file.rules.empty() && file.autoscheduler) return s;
  if (file.rules.empty()) return s + "stages: {}\n";
  s += "stages:\n";
  for (const StageRule& r : file.rules) s += rule(r);
  return s;
}

}  // namespace netc
