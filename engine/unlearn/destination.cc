#include "engine/unlearn/destination.h"

#include <cmath>
#include <sstream>

#include "engine/base/error.h"

namespace lethe::unlearn {
namespace {

std::string Num(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

}  // namespace

std::string DestinationPolicyName(DestinationPolicy policy) {
  return policy == DestinationPolicy::kPaper ? "paper" : "non-member";
}

DestinationPolicy ParseDestinationPolicy(const std::string& name) {
  if (name == "paper") return DestinationPolicy::kPaper;
  if (name == "non-member" || name == "non_member") return DestinationPolicy::kNonMember;
  throw Error("unknown destination policy \"" + name + "\" (expected paper or non-member)");
}

double ClassFdThreshold(const DestinationOptions& options) {
  if (options.fd_threshold > 0) return options.fd_threshold;
  if (options.class_separation_fd > 0) return options.class_separation_fd;
  throw Error(
      "class destination needs the class separation FD or an absolute --fd-threshold, and "
      "neither is set");
}

Verdict JudgePaper(RequestKind kind, const DestinationOptions& options, const Measurement& m) {
  Verdict v;
  const bool auc_ok = std::isfinite(m.auc_u) && m.auc_u >= options.auc_threshold;
  if (kind == RequestKind::kItem) {
    v.metric = "auc_u";
    v.threshold = options.auc_threshold;
    v.value = m.auc_u;
    v.reached = auc_ok;
    v.requirement = "auc_u >= " + Num(options.auc_threshold);
    return v;
  }
  const double fd_min = ClassFdThreshold(options);
  v.metric = "fd_u";
  v.threshold = fd_min;
  v.value = m.fd_u;
  v.reached = auc_ok && std::isfinite(m.fd_u) && m.fd_u >= fd_min;
  v.requirement = "fd_u >= " + Num(fd_min) + " and auc_u >= " + Num(options.auc_threshold);
  return v;
}

Verdict JudgeNonMember(RequestKind kind, const DestinationOptions& options, const Measurement& m) {
  Verdict v;
  v.metric = "logan_auc";
  v.threshold = 0.5;
  v.value = m.logan_auc;
  const bool band_ok =
      std::isfinite(m.logan_auc) && std::fabs(m.logan_auc - 0.5) <= options.non_member_tolerance;
  v.requirement = "|logan_auc - 0.5| <= " + Num(options.non_member_tolerance);
  v.reached = band_ok;
  if (kind == RequestKind::kClass) {
    const double fd_min = ClassFdThreshold(options);
    v.reached = band_ok && std::isfinite(m.fd_u) && m.fd_u >= fd_min;
    v.requirement += " and fd_u >= " + Num(fd_min);
  }
  return v;
}

Verdict Judge(DestinationPolicy policy, RequestKind kind, const DestinationOptions& options,
              const Measurement& m) {
  return policy == DestinationPolicy::kPaper ? JudgePaper(kind, options, m)
                                             : JudgeNonMember(kind, options, m);
}

Json VerdictJson(const Verdict& v) {
  Json j = Json::Object();
  j["reached"] = v.reached;
  j["metric"] = v.metric;
  j["threshold"] = v.threshold;
  j["value"] = v.value;
  j["requirement"] = v.requirement;
  return j;
}

}  // namespace lethe::unlearn
