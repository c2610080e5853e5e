// netc plot RUN.jsonl [MORE.jsonl...] -o FILE.svg: the metrics of training
// runs (netc train --metrics) drawn to compare them at a glance: training
// loss (each step faint, an exponential moving average bold) and test and
// validation accuracy against steps, one colour per run.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "commands.h"
#include "input_error.h"
#include "outputs.h"
#include "xml_text.h"

namespace netc {
namespace {

constexpr uint64_t kMaxMetricsBytes = uint64_t(256) << 20;
constexpr size_t kMaxRuns = 32;
// Ten colours that stay apart (matplotlib's tab10); runs past ten reuse them.
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Point {
  int64_t step;
  double value;
};

struct Run {
  std::string name;  // the file as given
  std::vector<Point> loss, test_accuracy, val_accuracy;
};

// --- Reading metrics files.

// Appends record[key] to `series` if the record has it: a number, or null
// (a step whose loss was not finite), which leaves a gap, as do NaN and Inf.
void take(const nlohmann::json& record, const char* key, int64_t step, std::vector<Point>& series,
          const std::string& where) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null()) return;
  if (!it->is_number()) throw InputError(fmt::format("{}: '{}' is not a number", where, key));
  const double v = it->get<double>();
  if (std::isfinite(v)) series.push_back({step, v});
}

Run read_run(const std::string& path) {
  const std::string text = read_file(path, kMaxMetricsBytes, "metrics file");
  Run run{path, {}, {}, {}};
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_number);
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object())
      throw InputError(where + ": not a JSON object (netc plot reads the JSON Lines of netc train --metrics)");
    // Records without a step number are not the metrics of a step: skipped.
    auto iter = record.find("iter");
    if (iter == record.end()) continue;
    if (!iter->is_number_integer() || iter->get<int64_t>() < 0)
      throw InputError(where + ": 'iter' is not a step number (an integer from 0)");
    const int64_t step = iter->get<int64_t>();
    take(record, "loss", step, run.loss, where);
    take(record, "test_accuracy", step, run.test_accuracy, where);
    take(record, "val_accuracy", step, run.val_accuracy, where);
  }
  if (run.loss.empty() && run.test_accuracy.empty() && run.val_accuracy.empty())
    throw InputError(path + ": no step records: neither {\"iter\", \"loss\"} nor {\"iter\", \"test_accuracy\"} "
                            "nor {\"iter\", \"val_accuracy\"} with a finite value");
  // A resumed run's file is in order already; sorting makes any order plot as one.
  for (std::vector<Point>* s : {&run.loss, &run.test_accuracy, &run.val_accuracy})
    std::stable_sort(s->begin(), s->end(), [](const Point& a, const Point& b) { return a.step < b.step; });
  return run;
}

// The exponential moving average of a series, debiased (as TensorBoard's
// smoothing): s_k = w s_(k-1) + (1 - w) x_k from s_0 = 0, divided by 1 - w^k.
std::vector<Point> moving_average(const std::vector<Point>& series, double weight) {
  std::vector<Point> out;
  out.reserve(series.size());
  double s = 0, debias = 1;
  for (const Point& p : series) {
    s = weight * s + (1 - weight) * p.value;
    debias *= weight;
    out.push_back({p.step, debias < 1 ? s / (1 - debias) : p.value});
  }
  return out;
}

// --- Drawing.

constexpr double kWidth = 1000, kHeight = 760;
constexpr double kLeft = 70, kRight = 720;  // the plots' x range; the legend is right of it
constexpr double kLossTop = 70, kLossBottom = 370, kAccuracyTop = 430, kAccuracyBottom = 700;

// A tick spacing of 1, 2 or 5 times a power of ten, about range / 5.
double tick_step(double range) {
  const double rough = range / 5, power = std::pow(10.0, std::floor(std::log10(rough)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * power >= rough) return m * power;
  return 10 * power;
}

struct Scale {
  double lo, hi, pixel_lo, pixel_hi;
  double at(double v) const { return pixel_lo + (v - lo) / (hi - lo) * (pixel_hi - pixel_lo); }
};

std::string number(double v) { return std::fabs(v) >= 1e5 || (v != 0 && std::fabs(v) < 1e-3) ? fmt::format("{:.3g}", v) : fmt::format("{:g}", v); }

// Grid lines and labels of a vertical value axis.
std::string y_axis(const Scale& y, const std::string& label) {
  std::string s;
  const double step = tick_step(y.hi - y.lo);
  for (double v = std::ceil(y.lo / step) * step; v <= y.hi + step * 1e-9; v += step)
    s += fmt::format(R"svg(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)svg"
                     R"svg(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)svg"
                     "\n",
                     kLeft, y.at(v), kRight, y.at(v), kLeft - 6, y.at(v) + 4, number(v));
  s += fmt::format(R"svg(<text class="axis" transform="translate(18,{:.1f}) rotate(-90)" text-anchor="middle">{}</text>)svg"
                   "\n",
                   (y.pixel_lo + y.pixel_hi) / 2, label);
  return s;
}

std::string x_axis(const Scale& x, double bottom) {
  std::string s;
  const double step = std::max(1.0, tick_step(x.hi - x.lo));
  for (double v = std::ceil(x.lo / step) * step; v <= x.hi + step * 1e-9; v += step)
    s += fmt::format(R"svg(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)svg"
                     "\n",
                     x.at(v), bottom + 16, number(v));
  return s;
}

// At most two points per pixel column (the lowest and highest value in it,
// in their order), so that a million steps draw as their envelope, not as a
// file of megabytes.
std::vector<Point> thinned(const std::vector<Point>& series, const Scale& x) {
  std::vector<Point> out;
  for (size_t i = 0; i < series.size();) {
    const int64_t column = int64_t(x.at(double(series[i].step)));
    size_t lo = i, hi = i, j = i;
    for (; j < series.size() && int64_t(x.at(double(series[j].step))) == column; ++j) {
      if (series[j].value < series[lo].value) lo = j;
      if (series[j].value > series[hi].value) hi = j;
    }
    out.push_back(series[std::min(lo, hi)]);
    if (lo != hi) out.push_back(series[std::max(lo, hi)]);
    i = j;
  }
  return out;
}

std::string polyline(const std::vector<Point>& series, const Scale& x, const Scale& y, const std::string& attributes) {
  if (series.empty()) return "";
  std::string points;
  for (const Point& p : thinned(series, x))
    points += fmt::format("{:.1f},{:.1f} ", x.at(double(p.step)), y.at(std::clamp(p.value, y.lo, y.hi)));
  points.pop_back();
  return fmt::format(R"svg(<polyline points="{}" {}/>)svg"
                     "\n",
                     points, attributes);
}

// Markers on evaluations, when there are few enough to tell apart.
std::string markers(const std::vector<Point>& series, const Scale& x, const Scale& y, const char* color, bool square) {
  constexpr size_t kMostMarkers = 200;
  if (series.size() > kMostMarkers) return "";
  std::string s;
  for (const Point& p : series) {
    const double cx = x.at(double(p.step)), cy = y.at(std::clamp(p.value, y.lo, y.hi));
    s += square ? fmt::format(R"svg(<rect x="{:.1f}" y="{:.1f}" width="6" height="6" fill="{}"/>)svg", cx - 3, cy - 3, color)
                : fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)svg", cx, cy, color);
  }
  return s + "\n";
}

std::string legend(const std::vector<Run>& runs, double smoothing) {
  const double x = kRight + 24;
  std::string s = fmt::format(R"svg(<text class="axis" x="{:.0f}" y="{:.0f}">runs</text>)svg"
                              "\n",
                              x, kLossTop);
  double y = kLossTop + 20;
  for (size_t r = 0; r < runs.size(); ++r, y += 18)
    s += fmt::format(R"svg(<g class="run"><title>{}</title><line x1="{:.0f}" y1="{:.0f}" x2="{:.0f}" y2="{:.0f}" stroke="{}" stroke-width="3"/>)svg"
                     R"svg(<text class="tick" x="{:.0f}" y="{:.0f}">{}</text></g>)svg"
                     "\n",
                     xml_text(runs[r].name), x, y - 4, x + 22, y - 4, kColors[r % 10], x + 28, y, xml_text(runs[r].name, 36));
  y = std::max(y + 16, kAccuracyTop);
  s += fmt::format(
      R"svg(<line x1="{0:.0f}" y1="{1:.0f}" x2="{2:.0f}" y2="{1:.0f}" stroke="#888" stroke-width="1" opacity="0.35"/><text class="tick" x="{3:.0f}" y="{4:.0f}">loss of each step</text>)svg"
      "\n"
      R"svg(<line x1="{0:.0f}" y1="{5:.0f}" x2="{2:.0f}" y2="{5:.0f}" stroke="#888" stroke-width="2"/><text class="tick" x="{3:.0f}" y="{6:.0f}">its moving average ({7})</text>)svg"
      "\n"
      R"svg(<line x1="{0:.0f}" y1="{8:.0f}" x2="{2:.0f}" y2="{8:.0f}" stroke="#888" stroke-width="2"/><circle cx="{9:.0f}" cy="{8:.0f}" r="3" fill="#888"/><text class="tick" x="{3:.0f}" y="{10:.0f}">test accuracy</text>)svg"
      "\n"
      R"svg(<line x1="{0:.0f}" y1="{11:.0f}" x2="{2:.0f}" y2="{11:.0f}" stroke="#888" stroke-width="2" stroke-dasharray="6 4"/><rect x="{12:.0f}" y="{13:.0f}" width="6" height="6" fill="#888"/><text class="tick" x="{3:.0f}" y="{14:.0f}">validation accuracy</text>)svg"
      "\n",
      x, y - 4, x + 22, x + 28, y, y + 14, y + 18, fmt::format("smoothing {:g}", smoothing), y + 32, x + 11, y + 36,
      y + 50, x + 8, y + 47, y + 54);
  return s;
}

std::string plot_svg(const std::vector<Run>& runs, double smoothing) {
  int64_t last_step = 1;
  double loss_top = 0, accuracy_low = 100, accuracy_high = 0;
  std::vector<std::vector<Point>> averages;
  for (const Run& run : runs) {
    averages.push_back(moving_average(run.loss, smoothing));
    for (const Point& p : averages.back()) loss_top = std::max(loss_top, p.value);
    for (const auto* s : {&run.loss, &run.test_accuracy, &run.val_accuracy})
      if (!s->empty()) last_step = std::max(last_step, s->back().step);
    for (const auto* s : {&run.test_accuracy, &run.val_accuracy})
      for (const Point& p : *s) {
        accuracy_low = std::min(accuracy_low, p.value);
        accuracy_high = std::max(accuracy_high, p.value);
      }
  }
  const Scale x{0, double(last_step), kLeft, kRight};
  // The averages set the loss axis: a single wild step is clipped, not allowed to flatten the rest.
  const double loss_step = tick_step(loss_top > 0 ? loss_top : 1);
  const Scale loss{0, std::ceil((loss_top > 0 ? loss_top : 1) / loss_step) * loss_step, kLossBottom, kLossTop};
  if (accuracy_high < accuracy_low) accuracy_low = 0, accuracy_high = 100;  // no accuracy records
  const Scale accuracy{std::max(0.0, std::floor(accuracy_low / 10 - 1e-9) * 10),
                       std::max(10.0, std::ceil(accuracy_high / 10 + 1e-9) * 10), kAccuracyBottom, kAccuracyTop};

  std::string svg = fmt::format(
      R"svg(<?xml version="1.0" encoding="UTF-8"?>)svg"
      "\n"
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}">)svg"
      "\n"
      "<style>\n"
      "  text {{ font-family: sans-serif; fill: #222; }} .title {{ font-size: 17px; font-weight: bold; }}\n"
      "  .tick {{ font-size: 11px; }} .axis {{ font-size: 12px; }} .grid {{ stroke: #ddd; stroke-width: 1; }}\n"
      "  polyline {{ fill: none; stroke-linejoin: round; }}\n"
      "</style>\n"
      R"svg(<rect width="100%" height="100%" fill="white"/>)svg"
      "\n"
      R"svg(<clipPath id="loss-area"><rect x="{2:.0f}" y="{3:.0f}" width="{4:.0f}" height="{5:.0f}"/></clipPath>)svg"
      "\n"
      R"svg(<text class="title" x="{2:.0f}" y="30">netc plot: {6} run{7}</text>)svg"
      "\n",
      kWidth, kHeight, kLeft, kLossTop, kRight - kLeft, kLossBottom - kLossTop, runs.size(), runs.size() == 1 ? "" : "s");
  svg += y_axis(loss, "training loss");
  svg += x_axis(x, kLossBottom);
  svg += y_axis(accuracy, "accuracy (%)");
  svg += x_axis(x, kAccuracyBottom);
  svg += fmt::format(R"svg(<text class="axis" x="{:.0f}" y="{:.0f}" text-anchor="middle">step</text>)svg"
                     "\n",
                     (kLeft + kRight) / 2, kAccuracyBottom + 36);
  svg += R"svg(<g clip-path="url(#loss-area)">)svg"
         "\n";
  for (size_t r = 0; r < runs.size(); ++r)
    svg += polyline(runs[r].loss, x, loss, fmt::format(R"svg(stroke="{}" stroke-width="1" opacity="0.3")svg", kColors[r % 10]));
  for (size_t r = 0; r < runs.size(); ++r)
    svg += polyline(averages[r], x, loss, fmt::format(R"svg(stroke="{}" stroke-width="2")svg", kColors[r % 10]));
  svg += "</g>\n";
  for (size_t r = 0; r < runs.size(); ++r) {
    const char* color = kColors[r % 10];
    svg += polyline(runs[r].test_accuracy, x, accuracy, fmt::format(R"svg(stroke="{}" stroke-width="2")svg", color));
    svg += markers(runs[r].test_accuracy, x, accuracy, color, false);
    svg += polyline(runs[r].val_accuracy, x, accuracy,
                    fmt::format(R"svg(stroke="{}" stroke-width="2" stroke-dasharray="6 4")svg", color));
    svg += markers(runs[r].val_accuracy, x, accuracy, color, true);
  }
  svg += legend(runs, smoothing);
  return svg + "</svg>\n";
}

struct PlotFlags {
  std::vector<std::string> runs;
  std::string out;
  double smoothing = 0.95;
};

void run_plot(const PlotFlags& f) {
  if (f.runs.size() > kMaxRuns)
    throw InputError(fmt::format("{} runs are more than netc plot draws apart ({})", f.runs.size(), kMaxRuns));
  std::vector<Input> inputs;
  for (const std::string& run : f.runs) inputs.push_back({"RUN", run});
  check_outputs(inputs, {{"-o", f.out}});
  std::vector<Run> runs;
  for (const std::string& path : f.runs) runs.push_back(read_run(path));
  write_file_atomically(f.out, plot_svg(runs, f.smoothing));
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto f = std::make_shared<PlotFlags>();
  CLI::App* cmd = app.add_subcommand("plot", "Draw the metrics of training runs (JSON Lines) as an SVG picture");
  cmd->add_option("RUN", f->runs, "metrics files of netc train --metrics, one colour each")->required();
  cmd->add_option("-o,--output", f->out, "the SVG file to write")->required();
  cmd->add_option("--smoothing", f->smoothing, "weight of the loss's moving average, 0 (none) to 0.999 (default 0.95)")
      ->check(CLI::Range(0.0, 0.999));
  cmd->callback([f] { run_plot(*f); });
}

}  // namespace netc
