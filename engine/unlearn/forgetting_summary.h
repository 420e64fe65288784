// The one sentence of a report that a data-protection officer reads first: does the new
// version reproduce the forgotten images better than images it never saw (the calibrated
// re-inversion attack on the generator, before and after), and — when the old version did
// not either — that there was nothing to detect. Pure logic over the report's JSON, so the
// CLI and the worker say the same thing.
#pragma once

#include <string>

#include "engine/base/json.h"

namespace lethe::unlearn {

// From report.before.mia / report.after.mia (generator_whitebox_auc), report.config.kind
// and, for class requests, report.probe.initial / final class_recognition. `tolerance` is
// the band around 0.5 that counts as "no better than never-seen".
std::string ForgettingSummary(const Json& report, double tolerance = 0.1);

}  // namespace lethe::unlearn
