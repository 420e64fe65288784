// The stopping rule ("destination") of cascaded unlearning. Two policies are judged on
// every measurement and both are reported; the request picks which one stops the run:
//
//   paper       item:  AUC_u = P(D(x_l) > D(x_u)) ≥ auc_threshold (0.8)
//               class: FD_u ≥ min_{c≠c_u} FD(real_c, real_{c_u}) (or an absolute FD
//                      threshold when one is configured) AND AUC_u ≥ auc_threshold
//   non-member  the forgotten images are scored like never-seen ones: LOGAN
//               AUC_MIA = P(D(x_u) > D(x_t)) within 0.5 ± tolerance; for a class the FD_u
//               criterion above must hold too, because the class has to leave the generator.
//
// Pure logic over numbers, so the rule is tested without a model.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/json.h"

namespace lethe::unlearn {

enum class RequestKind { kItem, kClass };
enum class DestinationPolicy { kPaper, kNonMember };

std::string DestinationPolicyName(DestinationPolicy policy);  // "paper" / "non-member"
DestinationPolicy ParseDestinationPolicy(const std::string& name);

struct DestinationOptions {
  DestinationPolicy policy = DestinationPolicy::kPaper;
  double auc_threshold = 0.8;
  // Class requests: > 0 replaces the scale-free FD destination by this absolute value.
  double fd_threshold = 0.0;
  // Class requests, scale-free destination: min_{c≠c_u} FD(real_c, real_{c_u}), set by
  // the caller (it is a property of the data set, computed once per request).
  double class_separation_fd = -1.0;
  double non_member_tolerance = 0.1;
};

// What an evaluation measured. fd_u is only meaningful for class requests.
struct Measurement {
  int64_t iteration = 0;
  double auc_u = 0.5;      // P(D(x_l) > D(x_u))
  double logan_auc = 0.5;  // P(D(x_u) > D(x_t))
  double fd_u = 0.0;       // FD(generated c_u, real c_u)
};

struct Verdict {
  bool reached = false;
  std::string metric;       // the deciding metric: "auc_u", "logan_auc" or "fd_u"
  double threshold = 0.0;   // its threshold (the band's centre for logan_auc)
  double value = 0.0;       // its measured value
  std::string requirement;  // e.g. "auc_u >= 0.8 and fd_u >= 12.3"
};

// The FD threshold a class request must pass (absolute if configured, else the class
// separation); throws lethe::Error when neither is available.
double ClassFdThreshold(const DestinationOptions& options);

Verdict JudgePaper(RequestKind kind, const DestinationOptions& options, const Measurement& m);
Verdict JudgeNonMember(RequestKind kind, const DestinationOptions& options, const Measurement& m);
Verdict Judge(DestinationPolicy policy, RequestKind kind, const DestinationOptions& options,
              const Measurement& m);

// {"reached", "metric", "threshold", "value", "requirement"}.
Json VerdictJson(const Verdict& v);

}  // namespace lethe::unlearn
