// `netc tune --report LOG -o FILE.svg`: the picture of a tuning experiment,
// a hand-written SVG: each trial's training-step time in the order of the
// search (log scale; red for incorrect or failed schedules, which have no
// time), the best so far as a line, and which stage each stretch of trials
// varied.
#pragma once

#include <string>

#include "tune/tuning_log.h"

namespace netc {

std::string tuning_report_svg(const TuningRecords& log);

}  // namespace netc
