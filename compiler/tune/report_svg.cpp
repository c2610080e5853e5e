#include "tune/report_svg.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xml_text.h"

namespace netc {
namespace {

constexpr double kWidth = 960, kHeight = 620;
constexpr double kLeft = 80, kRight = 24, kTop = 86, kBottom = 200;
constexpr double kFailedRow = kTop - 22;  // red dots of trials without a time, above the plot
const char* kCorrectColor = "#2a6fb0";
const char* kFailedColor = "#d62728";
const char* kBestColor = "#e07b00";

std::string milliseconds(double ms) { return ms >= 100 ? fmt::format("{:.0f}", ms) : fmt::format("{:.3g}", ms); }

// Maps times (log scale) and trial numbers to the plot area.
struct Axes {
  double lo, hi;  // ms at the bottom and top
  size_t trials;

  double x(size_t trial) const {  // trial: 0-based
    return kLeft + (double(trial) + 0.5) * (kWidth - kLeft - kRight) / double(std::max<size_t>(trials, 1));
  }
  double y(double ms) const {
    double f = (std::log10(ms) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return kHeight - kBottom - f * (kHeight - kBottom - kTop);
  }
};

Axes axes_for(const std::vector<Trial>& trials) {
  double lo = INFINITY, hi = 0;
  for (const Trial& t : trials)
    if (t.correct && t.train_step_ms > 0) {
      lo = std::min(lo, t.train_step_ms);
      hi = std::max(hi, t.train_step_ms);
    }
  if (hi == 0) lo = hi = 1;  // nothing was timed: any scale
  return {lo / 1.25, hi * 1.25, trials.size()};
}

// Horizontal grid lines at 1, 2 and 5 times the powers of ten in range.
std::string y_grid(const Axes& a) {
  std::string s;
  for (int p = int(std::floor(std::log10(a.lo))); p <= int(std::ceil(std::log10(a.hi))); ++p)
    for (double m : {1.0, 2.0, 5.0}) {
      double ms = m * std::pow(10.0, p);
      if (ms < a.lo || ms > a.hi) continue;
      double y = a.y(ms);
      s += fmt::format(R"svg(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)svg"
                       R"svg(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{} ms</text>)svg"
                       "\n",
                       kLeft, y, kWidth - kRight, y, kLeft - 6, y + 4, milliseconds(ms));
    }
  return s;
}

// A shaded band and a label under the plot for each run of trials that
// varied the same stage.
std::string stage_bands(const Axes& a, const std::vector<Trial>& trials) {
  std::string s;
  const double half = (a.x(1) - a.x(0)) / 2;
  int band = 0;
  for (size_t begin = 0; begin < trials.size();) {
    size_t end = begin;
    while (end < trials.size() && trials[end].stage == trials[begin].stage) ++end;
    double x0 = a.x(begin) - half, x1 = a.x(end - 1) + half, mid = (x0 + x1) / 2;
    s += fmt::format(R"svg(<rect class="band{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>)svg"
                     "\n",
                     band++ % 2, x0, kFailedRow - 10, x1 - x0, kHeight - kBottom - kFailedRow + 10);
    s += fmt::format(R"svg(<text class="stage" transform="translate({:.1f},{:.1f}) rotate(-60)" text-anchor="end">{}</text>)svg"
                     "\n",
                     mid + 4, kHeight - kBottom + 14, xml_text(trials[begin].stage));
    begin = end;
  }
  return s;
}

std::string trial_dots(const Axes& a, const std::vector<Trial>& trials) {
  std::string s;
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& t = trials[i];
    std::string tip = fmt::format("trial {}: {}: {}", i + 1, t.stage, t.variant);
    if (t.correct) {
      s += fmt::format(R"svg(<circle class="trial correct" cx="{:.1f}" cy="{:.1f}" r="4"><title>{}, {} ms</title></circle>)svg"
                       "\n",
                       a.x(i), a.y(t.train_step_ms), xml_text(tip), milliseconds(t.train_step_ms));
    } else {
      s += fmt::format(R"svg(<circle class="trial failed" cx="{:.1f}" cy="{:.1f}" r="4"><title>{}: {}</title></circle>)svg"
                       "\n",
                       a.x(i), kFailedRow, xml_text(tip), xml_text(t.error.empty() ? "failed" : t.error));
    }
  }
  return s;
}

// The best time so far after each trial, as steps.
std::string best_line(const Axes& a, const std::vector<Trial>& trials) {
  std::string points;
  double best = INFINITY;
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& t = trials[i];
    if (t.correct && t.train_step_ms < best) {
      if (std::isfinite(best)) points += fmt::format("{:.1f},{:.1f} ", a.x(i), a.y(best));
      best = t.train_step_ms;
      points += fmt::format("{:.1f},{:.1f} ", a.x(i), a.y(best));
    }
  }
  if (!std::isfinite(best)) return "";
  points += fmt::format("{:.1f},{:.1f}", a.x(trials.size() - 1), a.y(best));
  return fmt::format(R"svg(<polyline class="best" points="{}"/>)svg"
                     "\n",
                     points);
}

std::string legend() {
  const double y = kHeight - 12;
  return fmt::format(
      R"svg(<circle cx="{0:.0f}" cy="{1:.0f}" r="4" fill="{2}"/><text class="tick" x="{3:.0f}" y="{4:.0f}">correct (median training step)</text>)svg"
      R"svg(<circle cx="{5:.0f}" cy="{1:.0f}" r="4" fill="{6}"/><text class="tick" x="{7:.0f}" y="{4:.0f}">incorrect or failed (no time)</text>)svg"
      R"svg(<line x1="{8:.0f}" y1="{1:.0f}" x2="{9:.0f}" y2="{1:.0f}" stroke="{10}" stroke-width="2.5"/><text class="tick" x="{11:.0f}" y="{4:.0f}">best so far</text>)svg"
      "\n",
      kLeft, y, kCorrectColor, kLeft + 10, y + 4, kLeft + 230, kFailedColor, kLeft + 240, kLeft + 450, kLeft + 480,
      kBestColor, kLeft + 488);
}

// The result as the search's closing comparison measured it (the last
// search of the log that finished); without one, only the trial counts.
std::string title(const TuningRecords& log) {
  const std::vector<Trial>& trials = log.trials;
  int failed = 0;
  for (const Trial& t : trials) failed += !t.correct;
  const nlohmann::json& id = log.identity;
  auto field = [&](const char* key) { return id.contains(key) ? id[key].dump() : std::string("?"); };
  std::string headline = fmt::format("netc tune: {}, batch {}, {} threads, target {}", id.value("graph", "?"),
                                     field("batch"), field("threads"), id.value("target", "?"));
  std::string result = fmt::format("{} trials, {} incorrect or failed", trials.size(), failed);
  if (const std::optional<TuningResult>& r = log.result; r && r->found)
    result = fmt::format("{}: best {} ms against {} ms at the start ({:.2f}x), timed alternately", result,
                         milliseconds(r->best_ms), milliseconds(r->start_ms), r->speedup());
  else if (r)
    result = fmt::format("{}: none faster than the start ({} ms, {:.2f}x), timed alternately", result,
                         milliseconds(r->start_ms), r->speedup());
  else
    result += ": the search did not finish";
  return fmt::format(R"svg(<text class="title" x="{:.0f}" y="24">{}</text>)svg"
                     "\n"
                     R"svg(<text class="subtitle" x="{:.0f}" y="44">{}; {}, Halide {}</text>)svg"
                     "\n",
                     kLeft, xml_text(headline), kLeft, xml_text(result), xml_text(id.value("machine", "?")),
                     xml_text(id.value("halide", "?")));
}

}  // namespace

std::string tuning_report_svg(const TuningRecords& log) {
  const std::vector<Trial>& trials = log.trials;
  Axes a = axes_for(trials);
  std::string svg = fmt::format(
      R"svg(<?xml version="1.0" encoding="UTF-8"?>)svg"
      "\n"
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0:.0f}" height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}">)svg"
      "\n"
      "<style>\n"
      "  text {{ font-family: sans-serif; fill: #222; }}\n"
      "  .title {{ font-size: 17px; font-weight: bold; }} .subtitle {{ font-size: 12px; fill: #555; }}\n"
      "  .tick {{ font-size: 11px; }} .stage {{ font-size: 11px; fill: #444; }} .axis {{ font-size: 12px; }}\n"
      "  .grid {{ stroke: #ddd; stroke-width: 1; }} .band0 {{ fill: #f4f4f4; }} .band1 {{ fill: #e9eef5; }}\n"
      "  .correct {{ fill: {2}; }} .failed {{ fill: {3}; }}\n"
      "  .best {{ fill: none; stroke: {4}; stroke-width: 2.5; }}\n"
      "</style>\n"
      R"svg(<rect width="100%" height="100%" fill="white"/>)svg"
      "\n",
      kWidth, kHeight, kCorrectColor, kFailedColor, kBestColor);
  svg += title(log);
  svg += stage_bands(a, trials);
  svg += y_grid(a);
  svg += fmt::format(R"svg(<text class="tick" x="{:.0f}" y="{:.0f}" text-anchor="end" fill="{}">incorrect</text>)svg"
                     "\n",
                     kLeft - 6, kFailedRow + 4, kFailedColor);
  svg += fmt::format(R"svg(<text class="axis" transform="translate(16,{:.0f}) rotate(-90)" text-anchor="middle">)svg"
                     "training step, ms (log scale)</text>\n",
                     (kTop + kHeight - kBottom) / 2);
  svg += fmt::format(R"svg(<text class="axis" x="{:.0f}" y="{:.0f}" text-anchor="middle">trials in search order, )svg"
                     "under the stage each varied</text>\n",
                     (kLeft + kWidth - kRight) / 2, kHeight - 32);
  svg += best_line(a, trials);
  svg += trial_dots(a, trials);
  svg += legend();
  return svg + "</svg>\n";
}

}  // namespace netc
