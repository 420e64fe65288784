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
  switch (policy) {
    case DestinationPolicy::kPaper:
      return "paper";
    case DestinationPolicy::kNonMember:
      return "non-member";
    case DestinationPolicy::kGenerator:
      break;
  }
  return "generator";
}

DestinationPolicy ParseDestinationPolicy(const std::string& name) {
  if (name == "paper") return DestinationPolicy::kPaper;
  if (name == "non-member" || name == "non_member") return DestinationPolicy::kNonMember;
  if (name == "generator") return DestinationPolicy::kGenerator;
  throw Error("unknown destination policy \"" + name +
              "\" (expected generator, paper or non-member)");
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

namespace {

bool DiscriminatorForgot(const DestinationOptions& o, const Measurement& m) {
  if (std::isfinite(m.logan_auc)) return m.logan_auc <= 0.5 + o.non_member_tolerance;
  return std::isfinite(m.auc_u) && m.auc_u >= o.auc_threshold;
}

std::string DiscriminatorRequirement(const DestinationOptions& o, const Measurement& m) {
  if (std::isfinite(m.logan_auc)) return "logan_auc <= " + Num(0.5 + o.non_member_tolerance);
  return "auc_u >= " + Num(o.auc_threshold);
}

}  // namespace

bool GeneratorPrerequisitesHold(const DestinationOptions& o, const Measurement& m) {
  return DiscriminatorForgot(o, m) && std::isfinite(m.closer_to_substitute) &&
         m.closer_to_substitute >= o.substitute_fraction;
}

Verdict JudgeGenerator(RequestKind kind, const DestinationOptions& options, const Measurement& m) {
  if (kind == RequestKind::kClass) {
    Verdict v = JudgePaper(kind, options, m);
    const bool recognised_ok = std::isfinite(m.class_recognition) &&
                               m.class_recognition <= options.recognition_threshold;
    v.reached = v.reached && recognised_ok;
    if (v.reached || !recognised_ok) {
      v.metric = "class_recognition";
      v.threshold = options.recognition_threshold;
      v.value = m.class_recognition;
    }
    v.requirement += " and class_recognition <= " + Num(options.recognition_threshold);
    return v;
  }
  Verdict v;
  v.metric = "generator_auc";
  v.threshold = 0.5;
  v.value = m.generator_auc;
  const bool g_ok = std::isfinite(m.generator_auc) &&
                    std::fabs(m.generator_auc - 0.5) <= options.generator_tolerance;
  v.reached = GeneratorPrerequisitesHold(options, m) && g_ok;
  v.requirement = DiscriminatorRequirement(options, m) +
                  " and closer_to_substitute >= " + Num(options.substitute_fraction) +
                  " and |generator_auc - 0.5| <= " + Num(options.generator_tolerance);
  return v;
}

Verdict Judge(DestinationPolicy policy, RequestKind kind, const DestinationOptions& options,
              const Measurement& m) {
  switch (policy) {
    case DestinationPolicy::kPaper:
      return JudgePaper(kind, options, m);
    case DestinationPolicy::kNonMember:
      return JudgeNonMember(kind, options, m);
    case DestinationPolicy::kGenerator:
      break;
  }
  return JudgeGenerator(kind, options, m);
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
