#include "server/rejected_call_interceptor.h"

#include <grpcpp/server_context.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "common/errors.h"
#include "server/grpc_status.h"

namespace lethe {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RejectedCallInterceptor : public grpc::experimental::Interceptor {
 public:
  RejectedCallInterceptor(grpc::experimental::ServerRpcInfo* info, ServerMetrics* metrics,
                          Logger* log)
      : info_(info), metrics_(metrics), log_(log), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      rejected_ = true;  // the request did not parse; no handler will run
    }
    if (rejected_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void Record(const grpc::Status& sent) {
    absl::Status status = FromGrpcStatus(sent);
    std::string method = ShortMethodName(info_->method());
    std::string code = absl::StatusCodeToString(status.code());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    metrics_->RecordRpc(method, code, secs);
    log_->Debug("rpc rejected", {{"method", method},
                                 {"code", code},
                                 {"reason", ErrorReason(status)},
                                 {"error", std::string(status.message())},
                                 {"peer", info_->server_context()->peer()}});
  }

  grpc::experimental::ServerRpcInfo* info_;
  ServerMetrics* metrics_;
  Logger* log_;
  std::chrono::steady_clock::time_point start_;
  bool rejected_ = false;
};

}  // namespace

std::string ShortMethodName(const std::string& full_method) {
  size_t slash = full_method.rfind('/');
  return slash == std::string::npos ? full_method : full_method.substr(slash + 1);
}

grpc::experimental::Interceptor* RejectedCallInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RejectedCallInterceptor(info, metrics_, log_);
}

}  // namespace lethe
