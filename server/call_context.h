// What every service method gets besides its request: who is calling and until when.
#pragma once

#include <chrono>
#include <optional>

#include "common/auth.h"

namespace lethe {

struct CallContext {
  Principal principal;
  std::optional<std::chrono::system_clock::time_point> deadline;
};

}  // namespace lethe
