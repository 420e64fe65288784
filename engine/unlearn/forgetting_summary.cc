#include "engine/unlearn/forgetting_summary.h"

#include <cmath>
#include <cstdio>

namespace lethe::unlearn {
namespace {

// The number at report[a][b][c], or NaN.
double At(const Json& j, const char* a, const char* b, const char* c) {
  if (!j.is_object() || !j.Has(a) || !j.at(a).is_object() || !j.at(a).Has(b)) return NAN;
  const Json& x = j.at(a).at(b);
  if (!x.is_object() || !x.Has(c) || !x.at(c).is_number()) return NAN;
  return x.at(c).AsDouble();
}

std::string Fixed(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string ForgettingSummary(const Json& report, double tolerance) {
  std::string kind = "item";
  if (report.is_object() && report.Has("config") && report.at("config").is_object())
    kind = report.at("config").GetString("kind", "item");
  const double before = At(report, "before", "mia", "generator_whitebox_auc");
  const double after = At(report, "after", "mia", "generator_whitebox_auc");
  std::string s;
  if (kind == "class") {
    const double r0 = At(report, "probe", "initial", "class_recognition");
    const double r1 = At(report, "probe", "final", "class_recognition");
    if (std::isfinite(r0) && std::isfinite(r1))
      s = "Images the new version generates for the forgotten class are classified as that class " +
          Fixed(100 * r1, 0) + " % of the time (old version: " + Fixed(100 * r0, 0) + " %). ";
  }
  if (!std::isfinite(after))
    return s + "The generator-side membership attack could not run (no never-seen images of the "
               "forgotten classes to compare with), so this report cannot say whether the new "
               "version still reproduces the forgotten images.";
  const bool nothing_before = std::isfinite(before) && std::fabs(before - 0.5) <= tolerance;
  if (std::fabs(after - 0.5) <= tolerance) {
    s += "The new version reproduces the forgotten images no better than images it never saw "
         "(re-inversion attack AUC " + Fixed(after) + ", 0.5 = chance)";
    if (nothing_before)
      s += "; the old version did not either (AUC " + Fixed(before) +
           "): there was nothing to detect.";
    else if (std::isfinite(before))
      s += "; the old version did (AUC " + Fixed(before) + ").";
    else
      s += ".";
  } else if (after > 0.5) {
    s += "The new version still reproduces the forgotten images better than images it never saw "
         "(re-inversion attack AUC " + Fixed(after) + ", 0.5 = chance";
    s += std::isfinite(before) ? "; old version " + Fixed(before) + ")." : ").";
  } else {
    s += "The new version reproduces the forgotten images worse than images it never saw "
         "(re-inversion attack AUC " + Fixed(after) + ", 0.5 = chance): the erasure itself is "
         "visible to an attacker.";
  }
  return s;
}

}  // namespace lethe::unlearn
