// Cooperative cancellation: long-running engine loops check it once per iteration.
#pragma once

#include <atomic>

namespace lethe {

class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace lethe
