// GET /metrics for lethe-worker, on a small HTTP/1.0 loop of its own. prometheus-cpp's
// Exposer cannot start inside a LibTorch process: civetweb creates its threads with a
// fixed 100 KiB stack, which the static TLS of the ~340 libraries LibTorch loads does not
// fit in, so pthread_create fails. This endpoint serves the same text format from a
// thread with a normal stack; scrapes are answered one at a time.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace lethe::worker {

class MetricsEndpoint {
 public:
  // `listen` is "host:port" (port 0 picks a free one). Fails naming the address when it
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  MetricsEndpoint(int fd, int port, std::shared_ptr<prometheus::Registry> registry);
  void Loop();
  void Serve(int client);

  int fd_;
  int port_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lethe::worker
