// Calls that gRPC refuses before any handler runs (a request that does not parse, e.g.
// invalid UTF-8 in a string field; see proto/checked_traits.h) never reach RpcRunner, so
// this server interceptor counts them in the RPC metrics and logs them like any rejected
// call. Calls whose request parsed are left to RpcRunner and not counted twice.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include "common/logging.h"
#include "common/metrics.h"

namespace lethe {

class RejectedCallInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RejectedCallInterceptorFactory(ServerMetrics* metrics, Logger* log)
      : metrics_(metrics), log_(log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServerMetrics* metrics_;
  Logger* log_;
};

// "/lethe.v1.Unlearning/SubmitForgetRequest" -> "SubmitForgetRequest".
std::string ShortMethodName(const std::string& full_method);

}  // namespace lethe
