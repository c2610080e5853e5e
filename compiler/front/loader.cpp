// The graph front end: a YAML graph file (the contract is
// docs/graph-format.md) becomes a validated, shape-checked Graph. Every
// problem is an InputError "FILE:LINE:COLUMN: message" at the offending node.
#include "front/loader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace netc {
namespace {

// Graph files are a few hundred bytes; the cap bounds yaml-cpp's time and
// memory on hostile input (yaml-cpp itself caps the nesting depth).

const std::vector<std::string> kTopKeys = {"name", "description", "input", "layers", "output", "loss", "train"};
const std::vector<std::string> kInputKeys = {"channels", "height", "width"};
const std::vector<std::string> kTrainKeys = {"dataset", "batch_size", "iterations", "eval_every",
                                             "shuffle", "seed",       "optimizer",  "lr_schedule",
                                             "validation", "augment"};
const std::vector<std::string> kOptimizerKeys = {"type",     "lr",    "momentum", "weight_decay",
                                                 "nesterov", "betas", "eps"};
const std::vector<std::string> kLrScheduleKeys = {"type",  "step_size", "gamma",  "milestones",
                                                  "t_max", "eta_min",   "warmup"};
const std::vector<std::string> kAugmentKeys = {"shift"};

// ---------------------------------------------------------------- text

// `text` for a message: cut short (on a UTF-8 character boundary). Control
// characters are escaped by SourceLoc::format, like the rest of the message.
std::string shorten(const std::string& text) {
  constexpr size_t kMax = 40;
  size_t end = text.size();
  if (end > kMax) {
    end = kMax;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  }
  const std::string out = text.substr(0, end);
  return end < text.size() ? out + "..." : out;
}

std::string quote(const std::string& text) { return "'" + shorten(text) + "'"; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }
bool is_letter(char ch) { return is_lower(ch) || (ch >= 'A' && ch <= 'Z') || ch == '_'; }

// A graph name: [a-z][a-z0-9_]*.
bool is_graph_name(const std::string& s) {
  if (s.empty() || !is_lower(s[0])) return false;
  for (char ch : s)
    if (!is_lower(ch) && !is_digit(ch) && ch != '_') return false;
  return true;
}

// A layer name: [A-Za-z_][A-Za-z0-9_]*.
bool is_layer_name(const std::string& s) {
  if (s.empty() || !is_letter(s[0])) return false;
  for (char ch : s)
    if (!is_letter(ch) && !is_digit(ch)) return false;
  return true;
}

// Skips [0-9]* from `i`; returns how many digits there were.
size_t skip_digits(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i - start;
}

// YAML 1.2 core-schema integer syntax, decimal only: [-+]?[0-9]+.
bool is_integer_syntax(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return skip_digits(s, i) > 0 && i == s.size();
}

// YAML 1.2 core-schema float syntax without .inf / .nan:
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_number_syntax(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t digits = skip_digits(s, i);
  if (i < s.size() && s[i] == '.') {
    ++i;
    digits += skip_digits(s, i);
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (skip_digits(s, i) == 0) return false;
  }
  return i == s.size();
}

// from_chars wants no leading '+'.
std::string_view without_plus(std::string_view s) { return (!s.empty() && s[0] == '+') ? s.substr(1) : s; }

std::string plural(int64_t n, const std::string& word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

// What a value of `kind` must be, for messages.
std::string expectation(AttrKind kind) {
  switch (kind) {
    case AttrKind::PositiveInt:
      return "an integer >= 1";
    case AttrKind::Pair:
      return "an integer >= 1 or a list [h, w] of them";
    case AttrKind::Padding:
      return "an integer >= 0, a list [h, w] of them, valid or same";
    case AttrKind::Float:
      return "a finite number";
    case AttrKind::Bool:
      return "true or false";
  }
  return "a value";  // unreachable; keeps -Wreturn-type quiet
}

// ---------------------------------------------------------------- YAML

// A scalar written plainly (not quoted): only those can be numbers or booleans.
bool is_plain(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

// What a node is, for "..., got <this>".
std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return node.size() == 0 ? "an empty list" : "a list of " + plural(node.size(), "item");
  if (!node.IsScalar()) return "nothing";
  if (is_plain(node) && is_number_syntax(node.Scalar())) return shorten(node.Scalar());
  return quote(node.Scalar());
}

// Records where each document starts, and nothing else.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// One `key: value` of a map.
struct Entry {
  std::string key;
  YAML::Node key_node, value;
};

// Where a map sits, for messages: the layer it belongs to ("layer 'fc1': ")
// and its path from the top ("train.optimizer").
struct Scope {
  std::string layer;
  std::string path;

  std::string field(const std::string& key) const { return layer + (path.empty() ? key : path + "." + key); }
  std::string in_map() const { return path.empty() ? "" : " in " + path; }
};

struct ParsedLayer {
  Layer layer;
  const OpSpec* op = nullptr;
  std::optional<Entry> input;  // the `input:` entry, if written
};

// Parses and checks YAML for one file; `file_` names it in messages.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  SourceLoc loc(const YAML::Mark& mark) const {
    // yaml-cpp marks are 0-based, and -1 on nodes that have no position.
    return {file_, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1};
  }
  // The node, or `fallback` for an empty value: yaml-cpp places those at the
  // next token, possibly on a later line.
  SourceLoc loc(const YAML::Node& node, const YAML::Node& fallback) const {
    return loc(node.IsNull() ? fallback.Mark() : node.Mark());
  }
  SourceLoc loc(const Entry& e) const { return loc(e.value, e.key_node); }

  [[noreturn]] void fail(const SourceLoc& at, const std::string& message) const { fail_at(at, message); }

  // The single YAML document in `text`.
  YAML::Node load(const std::string& text) const {
    if (text.size() > kMaxGraphFileBytes)
      fail(loc(YAML::Mark()),
           fmt::format("the file has {} bytes; a graph file may have at most {} (1 MiB)", text.size(), kMaxGraphFileBytes));
    YAML::Node root;
    try {
      check_single_document(text);
      root = YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {
      fail(loc(e.mark), "YAML nested too deeply");
    } catch (const YAML::Exception& e) {
      fail(loc(e.mark), "invalid YAML: " + e.msg);
    }
    if (root.IsNull()) fail(loc(YAML::Mark()), "the file is empty; expected a YAML map");
    return root;
  }

  // Fails if `text` goes on after its first document. yaml-cpp's LoadAll
  // cannot tell: it loops forever on a document that consumes no token (as
  // after a stray ','), so at most two documents are looked at here.
  void check_single_document(const std::string& text) const {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    for (int k = 0; k < 2 && parser.HandleNextDocument(starts); ++k) {
    }
    if (starts.marks.size() < 2) return;
    const YAML::Mark& second = starts.marks[1];
    const size_t pos = std::min(static_cast<size_t>(std::max(second.pos, 0)), text.size());
    if (text.compare(pos, 3, "---") == 0) fail(loc(second), "expected one YAML document, found a second one here");
    fail(loc(second), "invalid YAML: unexpected " + quote(text.substr(pos, text.find('\n', pos) - pos)));
  }

  // The entries of `map`, in file order; every key a scalar given once.
  std::vector<Entry> entries(const YAML::Node& map, const Scope& scope) const {
    std::vector<Entry> out;
    std::map<std::string, int> first_line;
    for (const auto& kv : map) {
      const YAML::Node key = kv.first;
      if (!key.IsScalar())
        fail(loc(key, map), fmt::format("{}keys must be names{}, got {}", scope.layer, scope.in_map(), describe(key)));
      auto [seen, fresh] = first_line.emplace(key.Scalar(), key.Mark().line + 1);
      if (!fresh)
        fail(loc(key.Mark()), fmt::format("{}key {} is given twice{} (first on line {})", scope.layer,
                                          quote(key.Scalar()), scope.in_map(), seen->second));
      out.push_back({key.Scalar(), key, kv.second});
    }
    return out;
  }

  // Fails at the first key of `fields` not in `allowed`.
  void check_keys(const std::vector<Entry>& fields, const std::vector<std::string>& allowed, const Scope& scope,
                  const std::string& where) const {
    for (const Entry& e : fields)
      if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
        fail(loc(e.key_node.Mark()),
             fmt::format("{}unknown key {}{}; expected one of {}", scope.layer, quote(e.key), where, join(allowed)));
  }

  // The entries of the map `e.value` (described by `what`), keys checked.
  std::vector<Entry> map_entries(const Entry& e, const Scope& scope, const std::vector<std::string>& allowed,
                                 const std::string& what) const {
    if (!e.value.IsMap())
      fail(loc(e), fmt::format("{} must be {}, got {}", scope.field(e.key), what, describe(e.value)));
    Scope inner{scope.layer, scope.path.empty() ? e.key : scope.path + "." + e.key};
    std::vector<Entry> fields = entries(e.value, inner);
    check_keys(fields, allowed, inner, inner.in_map());
    return fields;
  }

  [[noreturn]] void fail_value(const Entry& e, const Scope& scope, const std::string& expected,
                               const std::string& suffix = "") const {
    fail(loc(e), fmt::format("{} must be {}, got {}{}", scope.field(e.key), expected, describe(e.value), suffix));
  }

  std::string string(const Entry& e, const Scope& scope) const {
    if (!e.value.IsScalar()) fail_value(e, scope, "a string");
    return e.value.Scalar();
  }

  // An integer in [min, max]; sizes by default.
  int64_t integer(const Entry& e, const Scope& scope, int64_t min, int64_t max = kMaxSize) const {
    const std::string expected = fmt::format("an integer >= {}", min);
    if (!is_plain(e.value) || !is_integer_syntax(e.value.Scalar())) fail_value(e, scope, expected);
    std::string_view s = without_plus(e.value.Scalar());
    int64_t v = 0;
    if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc())
      fail_value(e, scope, expected, ", which does not fit in 64 bits");
    if (v < min) fail_value(e, scope, expected);
    if (v > max) fail_value(e, scope, fmt::format("an integer from {} to {}", min, max), ", above netc's limit");
    return v;
  }

  // A finite number; `min` excluded or included per `min_excluded`.
  double number(const Entry& e, const Scope& scope, double min, bool min_excluded) const {
    const std::string expected =
        std::isinf(min) ? "a finite number" : fmt::format("a finite number {} {}", min_excluded ? ">" : ">=", min);
    if (!is_plain(e.value) || !is_number_syntax(e.value.Scalar())) fail_value(e, scope, expected);
    std::string_view s = without_plus(e.value.Scalar());
    double v = 0;
    // Out of range (about 1e308 and beyond, or below about 1e-308): not usable either.
    if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc())
      fail_value(e, scope, expected, ", which is out of range");
    if (v < min || (min_excluded && v == min)) fail_value(e, scope, expected);
    // Every number of a graph becomes a float32 in the pipelines.
    if (!std::isfinite(float(v))) fail_value(e, scope, expected, ", which is beyond float32's range");
    if (min_excluded && float(v) == float(min)) fail_value(e, scope, expected, ", which is 0 as a float32");
    return v;
  }

  bool boolean(const Entry& e, const Scope& scope) const {
    // The YAML 1.2 core schema's booleans (not YAML 1.1's yes/no/on/off).
    static const std::map<std::string, bool> kWords = {{"true", true},   {"True", true},   {"TRUE", true},
                                                       {"false", false}, {"False", false}, {"FALSE", false}};
    auto it = is_plain(e.value) ? kWords.find(e.value.Scalar()) : kWords.end();
    if (it == kWords.end()) fail_value(e, scope, "true or false");
    return it->second;
  }

  // Element k of the [h, w] list `e.value`, as an entry named "key[k]".
  // An empty element is located at the list.
  static Entry element(const Entry& e, size_t k) { return {fmt::format("{}[{}]", e.key, k), e.value, e.value[k]}; }

  // An integer >= min, or a list [h, w] of them.
  AttrValue pair(const Entry& e, const Scope& scope, int64_t min, const std::string& expected) const {
    AttrValue v;
    v.loc = loc(e);
    if (e.value.IsSequence()) {
      if (e.value.size() != 2) fail_value(e, scope, expected);
      v.kind = AttrValue::Kind::Pair;
      v.pair = {integer(element(e, 0), scope, min), integer(element(e, 1), scope, min)};
      return v;
    }
    if (!is_plain(e.value) || !is_integer_syntax(e.value.Scalar())) fail_value(e, scope, expected);
    v.i = integer(e, scope, min);
    v.pair = {v.i, v.i};
    v.f = static_cast<double>(v.i);
    return v;
  }

  AttrValue attribute(const Entry& e, AttrKind kind, const Scope& scope) const {
    AttrValue v;
    switch (kind) {
      case AttrKind::Pair:
        return pair(e, scope, 1, expectation(kind));
      case AttrKind::Padding:
        return padding(e, scope);
      case AttrKind::PositiveInt:
        v.i = integer(e, scope, 1);
        v.pair = {v.i, v.i};
        v.f = static_cast<double>(v.i);
        break;
      case AttrKind::Float:
        v.kind = AttrValue::Kind::Float;
        v.f = number(e, scope, -INFINITY, false);
        break;
      case AttrKind::Bool:
        v.kind = AttrValue::Kind::Bool;
        v.b = boolean(e, scope);
        break;
    }
    v.loc = loc(e);
    return v;
  }

  AttrValue padding(const Entry& e, const Scope& scope) const {
    if (!e.value.IsScalar() || (e.value.Scalar() != "valid" && e.value.Scalar() != "same"))
      return pair(e, scope, 0, expectation(AttrKind::Padding));
    AttrValue v;
    v.kind = AttrValue::Kind::String;
    v.s = e.value.Scalar();
    v.loc = loc(e);
    return v;
  }

  // A layer's map: name, op, the op's attributes, and the unresolved `input`.
  // `label` names the layer until its name is known; `fallback` locates an
  // empty layer. A layer without `name` is called `default_name`, or fails
  // when that is empty.
  ParsedLayer layer(const YAML::Node& node, const YAML::Node& fallback, std::string label,
                    const std::string& default_name) const {
    if (!node.IsMap())
      fail(loc(node, fallback),
           fmt::format("{} must be a map with name, op and the op's attributes, got {}", label, describe(node)));
    YAML::Node name = node["name"];
    if (name && name.IsScalar() && is_layer_name(name.Scalar())) label = "layer '" + name.Scalar() + "'";
    Scope scope{label + ": ", ""};
    std::vector<Entry> fields = entries(node, scope);

    ParsedLayer p;
    p.layer.loc = p.layer.inputs_loc = loc(node.Mark());
    p.layer.name = layer_name(fields, node, scope, default_name);
    p.op = layer_op(fields, node, scope, p.layer);
    std::vector<std::string> allowed = {"name", "op", "input"};
    for (const AttrSpec& a : p.op->attributes()) allowed.push_back(a.name);
    check_keys(fields, allowed, scope, " for " + p.layer.op);
    read_attributes(fields, *p.op, scope, p.layer);
    for (const Entry& e : fields)
      if (e.key == "input") p.input = e;
    if (p.input) p.layer.inputs_loc = loc(*p.input);
    return p;
  }

 private:
  std::string layer_name(const std::vector<Entry>& fields, const YAML::Node& node, const Scope& scope,
                         const std::string& default_name) const {
    auto it = std::find_if(fields.begin(), fields.end(), [](const Entry& e) { return e.key == "name"; });
    if (it == fields.end()) {
      if (default_name.empty()) fail(loc(node.Mark()), scope.layer + "missing name");
      return default_name;
    }
    std::string name = string(*it, scope);
    if (!is_layer_name(name)) fail_value(*it, scope, "a name matching [A-Za-z_][A-Za-z0-9_]*");
    if (name.size() > kMaxNameLength)
      fail_value(*it, scope, fmt::format("a name of at most {} characters", kMaxNameLength));
    if (name == "input") fail(loc(*it), scope.layer + "the name 'input' is reserved for the graph's input");
    return name;
  }

  const OpSpec* layer_op(const std::vector<Entry>& fields, const YAML::Node& node, const Scope& scope, Layer& layer) const {
    const std::string expected = "one of " + join(op_names());
    auto it = std::find_if(fields.begin(), fields.end(), [](const Entry& e) { return e.key == "op"; });
    if (it == fields.end()) fail(loc(node.Mark()), scope.layer + "missing op; expected " + expected);
    layer.op = string(*it, scope);
    layer.op_loc = loc(*it);
    const OpSpec* op = find_op(layer.op);
    if (!op) fail(layer.op_loc, fmt::format("{}unknown op {}; expected {}", scope.layer, quote(layer.op), expected));
    return op;
  }

  void read_attributes(const std::vector<Entry>& fields, const OpSpec& op, const Scope& scope, Layer& layer) const {
    for (const AttrSpec& spec : op.attributes()) {
      auto it = std::find_if(fields.begin(), fields.end(), [&](const Entry& e) { return e.key == spec.name; });
      if (it != fields.end())
        layer.attrs[spec.name] = attribute(*it, spec.kind, scope);
      else if (spec.required)
        fail(layer.loc, fmt::format("{}{} needs {} ({})", scope.layer, layer.op, spec.name, expectation(spec.kind)));
    }
  }

  std::string file_;
};

// ---------------------------------------------------------------- shapes

// How many inputs `op` takes, for messages: "1 input", "2 or more layers".
std::string count_of(const OpSpec& op, const std::string& noun) {
  if (op.max_inputs() == op.min_inputs()) return plural(op.min_inputs(), noun);
  if (op.max_inputs() == std::numeric_limits<int>::max()) return fmt::format("{} or more {}s", op.min_inputs(), noun);
  return fmt::format("{} to {} {}s", op.min_inputs(), op.max_inputs(), noun);
}

// Runs the op's shape rule on `layer` and returns its parameters, owned by
// layer index `index`. Sizes are checked so that nothing downstream
// overflows computing them.
std::vector<ParamSpec> infer_layer(const OpSpec& op, Layer& layer, int index, const std::vector<InputInfo>& inputs) {
  layer.output = op.infer_shape(layer, inputs);
  int64_t size = 0;
  if (__builtin_mul_overflow(layer.output.c, layer.output.h, &size) ||
      __builtin_mul_overflow(size, layer.output.w, &size))
    fail_at(layer.loc, fmt::format("layer '{}': output size {} overflows 64 bits", layer.name, layer.output.str()));
  if (size > kMaxTensorElements)
    fail_at(layer.loc, fmt::format("layer '{}': its output {} has {} values per image, above netc's limit of {}",
                                   layer.name, layer.output.str(), size, kMaxTensorElements));
  std::vector<ParamSpec> params;
  for (const ParameterSpec& spec : op.params(layer, inputs)) {
    ParamSpec& p = params.emplace_back();
    static_cast<ParameterSpec&>(p) = spec;
    p.layer = index;
    int64_t n = 1;
    for (int64_t d : p.shape)
      if (__builtin_mul_overflow(n, d, &n))
        fail_at(layer.loc, fmt::format("layer '{}': the size of {} overflows 64 bits", layer.name, p.name));
    if (n > kMaxTensorElements)
      fail_at(layer.loc, fmt::format("layer '{}': {} has {} values, above netc's limit of {}", layer.name, p.name, n,
                                     kMaxTensorElements));
  }
  return params;
}

// Reads a whole graph file.
class GraphReader {
 public:
  GraphReader(const std::string& text, const std::string& file) : r_(file), root_(r_.load(text)) { graph_.file = file; }

  Graph read() {
    if (!root_.IsMap())
      r_.fail(r_.loc(root_.Mark()), "the top level must be a map with name, input and layers, got " + describe(root_));
    std::vector<Entry> fields = r_.entries(root_, {});
    r_.check_keys(fields, kTopKeys, {}, "");
    for (const char* key : {"name", "input", "layers"})
      if (!find(fields, key))
        r_.fail(r_.loc(root_.Mark()), fmt::format("missing key {}: a graph needs name, input and layers", key));
    read_name(*find(fields, "name"));
    if (const Entry* e = find(fields, "description")) graph_.description = r_.string(*e, {});
    read_input(*find(fields, "input"));
    read_layers(*find(fields, "layers"));
    read_output(find(fields, "output"));
    if (const Entry* e = find(fields, "loss"); e && r_.string(*e, {}) != "cross_entropy")
      r_.fail_value(*e, {}, "cross_entropy");
    if (const Entry* e = find(fields, "train")) read_train(*e);
    read_params_total();
    return std::move(graph_);
  }

 private:
  static const Entry* find(const std::vector<Entry>& fields, const std::string& key) {
    for (const Entry& e : fields)
      if (e.key == key) return &e;
    return nullptr;
  }

  void read_name(const Entry& e) {
    graph_.name = r_.string(e, {});
    if (!is_graph_name(graph_.name)) r_.fail_value(e, {}, "a name matching [a-z][a-z0-9_]*");
    if (graph_.name.size() > kMaxNameLength)
      r_.fail_value(e, {}, fmt::format("a name of at most {} characters", kMaxNameLength));
  }

  void read_input(const Entry& e) {
    std::vector<Entry> fields = r_.map_entries(e, {}, kInputKeys, "a map {channels, height, width}");
    int64_t dims[3] = {0, 0, 0};
    for (size_t k = 0; k < kInputKeys.size(); ++k) {
      const Entry* f = find(fields, kInputKeys[k]);
      if (!f) r_.fail(r_.loc(e), fmt::format("input needs {} (an integer >= 1)", kInputKeys[k]));
      dims[k] = r_.integer(*f, {"", "input"}, 1);
    }
    graph_.input = Shape{dims[0], dims[1], dims[2], false};
    int64_t size = 0;
    if (__builtin_mul_overflow(dims[0], dims[1], &size) || __builtin_mul_overflow(size, dims[2], &size))
      r_.fail(r_.loc(e), fmt::format("input size {} overflows 64 bits", graph_.input.str()));
    if (size > kMaxTensorElements)
      r_.fail(r_.loc(e), fmt::format("input {} has {} values per image, above netc's limit of {}", graph_.input.str(),
                                     size, kMaxTensorElements));
  }

  void read_layers(const Entry& e) {
    if (!e.value.IsSequence() || e.value.size() == 0) r_.fail_value(e, {}, "a non-empty list of layers");
    if (e.value.size() > kMaxLayers)
      r_.fail(r_.loc(e), fmt::format("the graph has {} layers, above netc's limit of {}", e.value.size(), kMaxLayers));
    later_names(e.value);
    for (size_t k = 0; k < e.value.size(); ++k) read_layer(e.value[k], e.value, static_cast<int>(k));
  }

  // Where each name is first defined, so that a reference to a later layer
  // can be told from a typo.
  void later_names(const YAML::Node& layers) {
    for (size_t k = 0; k < layers.size(); ++k) {
      YAML::Node name = layers[k].IsMap() ? layers[k]["name"] : YAML::Node();
      if (name && name.IsScalar()) all_names_.emplace(name.Scalar(), static_cast<int>(k));
    }
  }

  void read_layer(const YAML::Node& node, const YAML::Node& list, int index) {
    ParsedLayer p = r_.layer(node, list, fmt::format("layer {}", index + 1), "");
    Layer& layer = p.layer;
    auto [it, fresh] = names_.emplace(layer.name, index);
    if (!fresh)
      r_.fail(r_.loc(node["name"].Mark()), fmt::format("layer name '{}' is already used by layer {} (line {})",
                                                       layer.name, it->second + 1, graph_.layers[it->second].loc.line));
    layer.inputs = resolve_inputs(p, index);
    std::vector<InputInfo> inputs;
    for (int in : layer.inputs) inputs.push_back(in == Layer::kGraphInput ? input_info() : infos_[in]);
    std::vector<ParamSpec> params = infer_layer(*p.op, layer, index, inputs);
    if (!params.empty() && ++weighted_layers_ > kMaxWeightedLayers)
      r_.fail(layer.loc, fmt::format("layer '{}': the graph's layer {} with parameters, above netc's limit of {} "
                                     "(compile time grows faster than their count)",
                                     layer.name, weighted_layers_, kMaxWeightedLayers));
    for (ParamSpec& ps : params) graph_.params.push_back(std::move(ps));
    bool flattens_image = layer.op == "flatten" && !inputs[0].shape.flat;
    infos_.push_back(describe_output(layer.name, layer.output, flattens_image ? &inputs[0].shape : nullptr));
    graph_.layers.push_back(std::move(layer));
  }

  InputInfo input_info() const { return describe_output("input", graph_.input); }

  std::vector<int> resolve_inputs(const ParsedLayer& p, int index) const {
    const OpSpec& op = *p.op;
    const std::string prefix = fmt::format("layer '{}': ", p.layer.name);
    const std::string count = count_of(op, "layer");
    if (!p.input) {
      if (op.min_inputs() > 1)
        r_.fail(p.layer.loc, fmt::format("{}{} needs input: a list of {}", prefix, p.layer.op, count));
      return {index == 0 ? Layer::kGraphInput : index - 1};
    }
    const Entry& e = *p.input;
    if (op.max_inputs() == 1) {
      if (!e.value.IsScalar())
        r_.fail_value(e, {prefix, ""}, fmt::format("the name of one layer ({} takes one input)", p.layer.op));
      return {resolve(e, p.layer, index)};
    }
    if (!e.value.IsSequence()) r_.fail_value(e, {prefix, ""}, "a list of " + count);
    auto n = static_cast<int64_t>(e.value.size());
    if (n < op.min_inputs() || n > op.max_inputs()) r_.fail_value(e, {prefix, ""}, "a list of " + count);
    std::vector<int> out;
    for (size_t k = 0; k < e.value.size(); ++k) out.push_back(resolve(Reader::element(e, k), p.layer, index));
    return out;
  }

  // The layer index (or kGraphInput) that the name in `e` refers to.
  int resolve(const Entry& e, const Layer& layer, int index) const {
    const std::string prefix = fmt::format("layer '{}': ", layer.name);
    std::string name = r_.string(e, {prefix, ""});
    if (name == "input") return Layer::kGraphInput;
    if (name == layer.name) r_.fail(r_.loc(e), prefix + "a layer cannot be its own input");
    if (auto it = names_.find(name); it != names_.end()) return it->second;
    auto later = all_names_.find(name);
    if (later != all_names_.end() && later->second > index)
      r_.fail(r_.loc(e), fmt::format("{}input '{}' comes later in the list (layer {}); every layer must come after "
                                     "its inputs",
                                     prefix, name, later->second + 1));
    r_.fail(r_.loc(e),
            fmt::format("{}input {} is not a layer name (nor input, the graph's input)", prefix, quote(name)));
  }

  void read_output(const Entry* e) {
    graph_.output = static_cast<int>(graph_.layers.size()) - 1;
    SourceLoc at = graph_.layers.back().loc;
    if (e) {
      std::string name = r_.string(*e, {});
      auto it = names_.find(name);
      if (it == names_.end()) r_.fail_value(*e, {}, "the name of a layer");
      graph_.output = it->second;
      at = r_.loc(*e);
    }
    const Layer& out = graph_.layers[graph_.output];
    if (!out.output.flat)
      r_.fail(at, fmt::format("the output layer '{}' gives an image {}, but the logits must be a vector (add "
                              "flatten and linear layers)",
                              out.name, out.output.str()));
  }

  void read_train(const Entry& e) {
    const Scope scope{"", "train"};
    TrainConfig& t = graph_.train;
    for (const Entry& f : r_.map_entries(e, {}, kTrainKeys, "a map")) {
      if (f.key == "dataset") {
        t.dataset = r_.string(f, scope);
        if (t.dataset.empty()) r_.fail_value(f, scope, "mnist, fashion-mnist or a folder");
      } else if (f.key == "batch_size") {
        t.batch_size = r_.integer(f, scope, 1, kMaxBatchSize);
      } else if (f.key == "iterations") {
        t.iterations = r_.integer(f, scope, 0, kMaxIterations);
      } else if (f.key == "eval_every") {
        t.eval_every = r_.integer(f, scope, 0, kMaxIterations);
      } else if (f.key == "shuffle") {
        t.shuffle = r_.boolean(f, scope);
      } else if (f.key == "seed") {
        t.seed = static_cast<uint64_t>(r_.integer(f, scope, 0, std::numeric_limits<int64_t>::max()));
      } else if (f.key == "validation") {
        // Whether it leaves a batch of training images is known once the data is read.
        t.validation = r_.integer(f, scope, 0);
      } else if (f.key == "augment") {
        read_augment(f);
      } else if (f.key == "optimizer") {
        read_optimizer(f);
      } else {
        read_lr_schedule(f);
      }
    }
  }

  // The entry of `fields` with key `key`, or nullptr.
  static const Entry* field(const std::vector<Entry>& fields, const std::string& key) {
    for (const Entry& f : fields)
      if (f.key == key) return &f;
    return nullptr;
  }

  // Fails at the first of `keys` in `fields`: keys another type takes.
  void refuse_keys(const std::vector<Entry>& fields, const std::vector<std::string>& keys, const std::string& path,
                   const std::string& type) const {
    for (const std::string& key : keys)
      if (const Entry* f = field(fields, key))
        r_.fail(r_.loc(f->key_node.Mark()), fmt::format("{}.{} is not a setting of {}", path, key, type));
  }

  void read_optimizer(const Entry& e) {
    const Scope scope{"", "train.optimizer"};
    OptimizerSettings& o = graph_.train.optimizer;
    const std::vector<Entry> fields = r_.map_entries(e, {"", "train"}, kOptimizerKeys, "a map");
    if (const Entry* f = field(fields, "type"))
      if (!parse_optimizer_type(r_.string(*f, scope), &o.type)) r_.fail_value(*f, scope, "sgd, adam or adamw");
    // PyTorch's defaults: Adam and AdamW take lr 0.001, and AdamW decays.
    if (o.type != OptimizerType::Sgd) o.lr = 0.001;
    if (o.type == OptimizerType::AdamW) o.weight_decay = 0.01;
    const std::string type = optimizer_name(o.type);
    if (o.type == OptimizerType::Sgd)
      refuse_keys(fields, {"betas", "eps"}, scope.path, type);
    else
      refuse_keys(fields, {"momentum", "nesterov"}, scope.path, type);
    for (const Entry& f : fields) {
      if (f.key == "lr") {
        o.lr = r_.number(f, scope, 0, true);
      } else if (f.key == "momentum") {
        o.momentum = r_.number(f, scope, 0, false);
      } else if (f.key == "weight_decay") {
        o.weight_decay = r_.number(f, scope, 0, false);
      } else if (f.key == "nesterov") {
        o.nesterov = r_.boolean(f, scope);
      } else if (f.key == "betas") {
        if (!f.value.IsSequence() || f.value.size() != 2) r_.fail_value(f, scope, "a list [beta1, beta2]");
        o.beta1 = beta(Reader::element(f, 0), scope);
        o.beta2 = beta(Reader::element(f, 1), scope);
      } else if (f.key == "eps") {
        o.eps = r_.number(f, scope, 0, true);
      }
    }
    // As PyTorch's SGD: Nesterov momentum needs a momentum.
    if (o.nesterov && o.momentum == 0)
      r_.fail(r_.loc(*field(fields, "nesterov")), "train.optimizer.nesterov: true needs a momentum > 0");
  }

  // A beta of Adam: in [0, 1), as PyTorch requires.
  double beta(const Entry& e, const Scope& scope) const {
    const double v = r_.number(e, scope, 0, false);
    if (v >= 1) r_.fail_value(e, scope, "a number in [0, 1)");
    return v;
  }

  void read_lr_schedule(const Entry& e) {
    const Scope scope{"", "train.lr_schedule"};
    LrSchedule& s = graph_.train.lr_schedule;
    const std::vector<Entry> fields = r_.map_entries(e, {"", "train"}, kLrScheduleKeys, "a map");
    const Entry* type = field(fields, "type");
    if (!type) r_.fail(r_.loc(e), "train.lr_schedule needs a type: constant, step, multistep or cosine");
    if (!parse_lr_schedule_type(r_.string(*type, scope), &s.type))
      r_.fail_value(*type, scope, "constant, step, multistep or cosine");
    // Each type's own settings, the first of them required.
    static const std::map<LrSchedule::Type, std::vector<std::string>> kSettings = {
        {LrSchedule::Type::Constant, {}},
        {LrSchedule::Type::Step, {"step_size", "gamma"}},
        {LrSchedule::Type::MultiStep, {"milestones", "gamma"}},
        {LrSchedule::Type::Cosine, {"t_max", "eta_min"}}};
    const std::vector<std::string>& own = kSettings.at(s.type);
    const std::string type_name = std::string("an lr_schedule of type ") + lr_schedule_type_name(s.type);
    for (const Entry& f : fields)
      if (f.key != "type" && f.key != "warmup" && std::find(own.begin(), own.end(), f.key) == own.end())
        r_.fail(r_.loc(f.key_node.Mark()), fmt::format("train.lr_schedule.{} is not a setting of {}", f.key, type_name));
    if (!own.empty() && !field(fields, own[0]))
      r_.fail(r_.loc(e), fmt::format("train.lr_schedule of type {} needs {}", lr_schedule_type_name(s.type), own[0]));
    for (const Entry& f : fields) {
      if (f.key == "step_size") {
        s.step_size = r_.integer(f, scope, 1, kMaxIterations);
      } else if (f.key == "gamma") {
        s.gamma = r_.number(f, scope, 0, true);
      } else if (f.key == "milestones") {
        read_milestones(f, scope, s.milestones);
      } else if (f.key == "t_max") {
        s.t_max = r_.integer(f, scope, 1, kMaxIterations);
      } else if (f.key == "eta_min") {
        s.eta_min = r_.number(f, scope, 0, false);
      } else if (f.key == "warmup") {
        s.warmup = r_.integer(f, scope, 0, kMaxIterations);
      }
    }
  }

  // A list of increasing steps >= 1 (at most kMaxMilestones).
  void read_milestones(const Entry& f, const Scope& scope, std::vector<int64_t>& out) const {
    const std::string expected = fmt::format("a list of 1 to {} increasing integers >= 1", kMaxMilestones);
    if (!f.value.IsSequence() || f.value.size() == 0 || f.value.size() > kMaxMilestones)
      r_.fail_value(f, scope, expected);
    for (size_t k = 0; k < f.value.size(); ++k) {
      const Entry m = Reader::element(f, k);
      const int64_t v = r_.integer(m, scope, out.empty() ? 1 : out.back() + 1, kMaxIterations);
      out.push_back(v);
    }
  }

  void read_augment(const Entry& e) {
    const Scope scope{"", "train.augment"};
    for (const Entry& f : r_.map_entries(e, {"", "train"}, kAugmentKeys, "a map")) {
      // A shift as large as the image would move every pixel out of it.
      const int64_t limit = std::min(graph_.input.h, graph_.input.w) - 1;
      const int64_t shift = r_.integer(f, scope, 0);
      if (shift > limit)
        r_.fail_value(f, scope, fmt::format("an integer from 0 to {}, below the input's height and width", limit));
      graph_.train.augment.shift = shift;
    }
  }

  void read_params_total() const {
    int64_t total = 0;
    for (const ParamSpec& p : graph_.params)
      if (__builtin_add_overflow(total, p.size(), &total))
        r_.fail(graph_.layers[p.layer].loc,
                fmt::format("layer '{}': the graph's parameter count overflows 64 bits", graph_.layers[p.layer].name));
  }

  Reader r_;
  YAML::Node root_;
  Graph graph_;
  std::map<std::string, int> names_;      // layers read so far
  std::map<std::string, int> all_names_;  // every name in the list, first definition
  std::vector<InputInfo> infos_;          // per layer read so far
  size_t weighted_layers_ = 0;            // layers with parameters read so far
};

}  // namespace

InputInfo describe_output(const std::string& name, const Shape& shape, const Shape* flattened_from) {
  InputInfo info{name, shape, shape.str()};
  if (shape.flat) info.description = plural(shape.c, "value");
  if (shape.flat && flattened_from) info.description += " (" + flattened_from->str() + ")";
  return info;
}

Graph parse_graph(const std::string& text, const std::string& file) { return GraphReader(text, file).read(); }

Graph load_graph(const std::string& path) { return parse_graph(read_graph_text(path), path); }

Layer parse_single_layer(const std::string& yaml_text, const std::vector<InputInfo>& inputs,
                         std::vector<ParamSpec>* params) {
  Reader r("<layer>");
  YAML::Node node = r.load(yaml_text);
  ParsedLayer p = r.layer(node, node, "layer 'layer'", "layer");
  const OpSpec& op = *p.op;
  auto n = static_cast<int64_t>(inputs.size());
  if (n < op.min_inputs() || n > op.max_inputs())
    r.fail(p.layer.loc,
           fmt::format("layer '{}': {} takes {}, got {}", p.layer.name, p.layer.op, count_of(op, "input"), n));
  p.layer.inputs.assign(inputs.size(), Layer::kGraphInput);
  std::vector<ParamSpec> ps = infer_layer(op, p.layer, 0, inputs);
  if (params) params->insert(params->end(), ps.begin(), ps.end());
  return p.layer;
}

}  // namespace netc
