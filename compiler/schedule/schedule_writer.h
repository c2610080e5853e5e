// Schedule files written back as YAML (docs/schedules.md), for schedules that
// programs make: `netc tune`'s variants and the schedule it finds. What
// parse_schedule reads from the text is the ScheduleFile written (source
// locations aside), and the same ScheduleFile always gives the same text, so
// the text can key a tuning log.
#pragma once

#include <string>

#include "front/schedule_file.h"

namespace netc {

// The file's YAML: `target`, then `autoscheduler` or `stages` in rule order,
// each rule in its shortest form (a bare recipe name when that is all it says)
// and each list of directives on one line.
std::string write_schedule(const ScheduleFile& file);

}  // namespace netc
