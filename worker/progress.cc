#include "worker/progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lethe::worker {

Json ProgressUpdate::ToJson() const {
  Json j = Json::Object();
  if (phase != Phase::kNone) j["phase"] = PhaseName(phase);
  j["iteration"] = iteration;
  j["iteration_budget"] = budget;
  j["fraction"] = budget > 0 ? std::clamp(double(iteration) / double(budget), 0.0, 1.0) : 0.0;
  if (eta_seconds >= 0 && std::isfinite(eta_seconds)) j["eta_seconds"] = eta_seconds;
  Json m = Json::Object();
  for (const auto& [name, value] : metrics) {
    if (std::isfinite(value)) m[name] = value;
  }
  j["metrics"] = m;
  // The API's Progress has no ETA field: the message carries it for watchers.
  std::string text = message;
  if (eta_seconds >= 0 && std::isfinite(eta_seconds) && !text.empty()) {
    text += " (ETA " + std::to_string(int64_t(std::ceil(eta_seconds))) + " s)";
  }
  if (!text.empty()) j["message"] = text;
  return j;
}

bool ProgressThrottle::ShouldWrite(double now, Phase phase, bool force) {
  bool write = force || !any_ || phase != phase_ || now - last_ >= interval_;
  if (write) {
    any_ = true;
    last_ = now;
    phase_ = phase;
  }
  return write;
}

ProgressReporter::ProgressReporter(Writer writer, double min_interval_seconds, Clock clock)
    : writer_(std::move(writer)), throttle_(min_interval_seconds), clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

absl::Status ProgressReporter::Report(const ProgressUpdate& update, bool force) {
  absl::Status allowed = CheckPhaseTransition(phase_, update.phase);
  if (!allowed.ok()) return allowed;
  if (!throttle_.ShouldWrite(clock_(), update.phase, force)) return absl::OkStatus();
  phase_ = update.phase;
  ++writes_;
  return writer_(update.phase, update.ToJson());
}

}  // namespace lethe::worker
