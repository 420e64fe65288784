// The stopping rule ("destination") of cascaded unlearning. Two policies are judged on
// every measurement and both are reported; the request picks which one stops the run:
//
//   paper       item:  AUC_u = P(D(x_l) > D(x_u)) ≥ auc_threshold (0.8)
//               class: FD_u ≥ min_{c≠c_u} FD(real_c, real_{c_u}) (or an absolute FD
//                      threshold when one is configured) AND AUC_u ≥ auc_threshold
//   non-member  the forgotten images are scored like never-seen ones: LOGAN
//               AUC_MIA = P(D(x_u) > D(x_t)) within 0.5 ± tolerance; for a class the FD_u
//               criterion above must hold too, because the class has to leave the generator.
//   generator   (the default) the generator — what users download — forgot too:
//               item:  D no longer singles the images out (LOGAN AUC ≤ 0.5 + tolerance;
//                      AUC_u ≥ auc_threshold when there are no test images), G(w_u) is
//                      closer to its substitute than to x_u for ≥ substitute_fraction of
//                      the items, and the calibrated re-inversion attack on G finds them no
//                      easier to reproduce than never-seen images (|AUC − 0.5| ≤
//                      generator_tolerance). The attack is the expensive part, so it runs
//                      only once the other two hold.
//               class: the paper's rule AND generated images of c_u are classified as c_u
//                      no more often than recognition_threshold.
//
// Pure logic over numbers, so the rule is tested without a model.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "engine/base/json.h"

namespace lethe::unlearn {

enum class RequestKind { kItem, kClass };
enum class DestinationPolicy { kPaper, kNonMember, kGenerator };

std::string DestinationPolicyName(DestinationPolicy policy);  // "paper", "non-member", "generator"
DestinationPolicy ParseDestinationPolicy(const std::string& name);

struct DestinationOptions {
  DestinationPolicy policy = DestinationPolicy::kGenerator;
  double auc_threshold = 0.8;
  // Class requests: > 0 replaces the scale-free FD destination by this absolute value.
  double fd_threshold = 0.0;
  // Class requests, scale-free destination: min_{c≠c_u} FD(real_c, real_{c_u}), set by
  // the caller (it is a property of the data set, computed once per request).
  double class_separation_fd = -1.0;
  double non_member_tolerance = 0.1;
  // The generator policy (items): |generator_auc − 0.5| bound and the share of items whose
  // G(w_u) is closer to the substitute than to x_u.
  double generator_tolerance = 0.1;
  double substitute_fraction = 0.9;
  // The generator policy (class): the largest share of generated c_u images the evaluator
  // may still classify as c_u.
  double recognition_threshold = 0.1;
  // The generator policy's attack: inversion steps and members (and as many controls).
  int64_t attack_steps = 100;
  int64_t attack_members = 64;
};

// What an evaluation measured. fd_u is only meaningful for class requests.
struct Measurement {
  int64_t iteration = 0;
  double auc_u = 0.5;      // P(D(x_l) > D(x_u))
  double logan_auc = 0.5;  // P(D(x_u) > D(x_t))
  double fd_u = 0.0;       // FD(generated c_u, real c_u)
  // Generator side (NaN where not measured): the share of items with G(w_u) closer to the
  // substitute than to x_u; the calibrated re-inversion attack's AUC; the share of
  // generated c_u images classified as c_u (class requests).
  double closer_to_substitute = std::numeric_limits<double>::quiet_NaN();
  double generator_auc = std::numeric_limits<double>::quiet_NaN();
  double class_recognition = std::numeric_limits<double>::quiet_NaN();
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
Verdict JudgeGenerator(RequestKind kind, const DestinationOptions& options, const Measurement& m);
// Item requests under the generator policy: whether the two inexpensive criteria (D and the
// substitute share) hold, so that the attack is worth running.
bool GeneratorPrerequisitesHold(const DestinationOptions& options, const Measurement& m);
Verdict Judge(DestinationPolicy policy, RequestKind kind, const DestinationOptions& options,
              const Measurement& m);

// {"reached", "metric", "threshold", "value", "requirement"}.
Json VerdictJson(const Verdict& v);

}  // namespace lethe::unlearn
