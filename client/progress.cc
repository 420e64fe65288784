#include "client/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"

namespace lethe::cli {

void EtaEstimator::Observe(lethe::v1::Phase phase, double fraction, double now) {
  if (!started_ || phase != phase_ || fraction < last_fraction_) {
    started_ = true;
    phase_ = phase;
    first_fraction_ = last_fraction_ = fraction;
    first_time_ = last_time_ = now;
    return;
  }
  last_fraction_ = fraction;
  last_time_ = now;
}

std::optional<double> EtaEstimator::SecondsLeft() const {
  if (!started_) return std::nullopt;
  double done = last_fraction_ - first_fraction_;
  double elapsed = last_time_ - first_time_;
  if (done <= 0 || elapsed <= 0) return std::nullopt;
  double rate = done / elapsed;
  return std::max(0.0, (1.0 - last_fraction_) / rate);
}

std::string ProgressBar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  int filled = static_cast<int>(std::floor(fraction * width + 1e-9));
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '-'), "]");
}

std::string FormatWatchLine(const lethe::v1::ForgetRequest& r, std::optional<double> eta,
                            int bar_width) {
  std::string line = StateName(r.state());
  switch (r.state()) {
    case lethe::v1::REQUEST_STATE_RUNNING: {
      const lethe::v1::Progress& p = r.progress();
      absl::StrAppend(&line, " ", PhaseName(p.phase()));
      if (bar_width > 0) absl::StrAppend(&line, " ", ProgressBar(p.fraction(), bar_width));
      double pct = 100 * std::clamp(std::isfinite(p.fraction()) ? p.fraction() : 0.0, 0.0, 1.0);
      absl::StrAppend(&line, absl::StrFormat(" %3.0f%%", pct));
      if (p.iteration_budget() > 0) {
        absl::StrAppend(&line, " iteration ", p.iteration(), "/", p.iteration_budget());
      } else if (p.iteration() > 0) {
        absl::StrAppend(&line, " iteration ", p.iteration());
      }
      std::string metrics = FormatMetricMap(p.metrics());
      if (!metrics.empty()) absl::StrAppend(&line, " ", metrics);
      if (eta) absl::StrAppend(&line, " ETA ", FormatDuration(*eta));
      if (r.cancel_requested()) absl::StrAppend(&line, " (cancel requested)");
      if (!p.message().empty()) absl::StrAppend(&line, " - ", p.message());
      break;
    }
    case lethe::v1::REQUEST_STATE_COMPLETED:
      if (r.result().model_version_id() != 0) {
        absl::StrAppend(&line, ": version ", r.result().model_version_id());
        if (!r.result().model_version_sha256().empty()) {
          absl::StrAppend(&line, " (sha256 ", ShortHash(r.result().model_version_sha256()), ")");
        }
      }
      break;
    case lethe::v1::REQUEST_STATE_FAILED:
      if (!r.result().error().empty()) absl::StrAppend(&line, ": ", r.result().error());
      break;
    default:
      if (r.cancel_requested()) absl::StrAppend(&line, " (cancel requested)");
      break;
  }
  return line;
}

}  // namespace lethe::cli
