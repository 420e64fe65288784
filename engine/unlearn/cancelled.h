// Raised when a CancelToken stops an unlearning run. Nothing has been written by then:
// the engine works on copies of the model, and the caller writes only on success.
#pragma once

#include "engine/base/error.h"

namespace lethe::unlearn {

class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace lethe::unlearn
