#include "engine/unlearn/progress.h"

namespace lethe::unlearn {

std::string PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kInverting:
      return "inverting";
    case Phase::kUnlearning:
      return "unlearning";
    case Phase::kEvaluating:
      return "evaluating";
  }
  return "?";
}

}  // namespace lethe::unlearn
