#include "server/grpc_services.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "server/grpc_status.h"
#include "server/proto_convert.h"

namespace lethe {

namespace pb = ::lethe::v1;

namespace {

// Assigns a StatusOr's value to *out, or returns its status.
template <typename T>
absl::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = std::move(*result);
  return absl::OkStatus();
}

}  // namespace

grpc::Status RpcRunner::Run(const char* method, grpc::ServerContext* ctx,
                            const std::function<absl::Status(const CallContext&)>& fn) {
  auto start = std::chrono::steady_clock::now();
  CallContext call;
  auto deadline = ctx->deadline();
  if (deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    call.deadline = deadline;
  }
  std::string authorization;
  auto range = ctx->client_metadata().equal_range("authorization");
  if (range.first != range.second) {
    authorization.assign(range.first->second.data(), range.first->second.size());
  }
  absl::Status status;
  auto principal = auth_->Authenticate(authorization, call.deadline);
  if (!principal.ok()) {
    status = principal.status();
  } else {
    call.principal = *principal;
    try {
      status = fn(call);
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat("unexpected error: ", e.what()));
    }
  }
  if (ctx->IsCancelled() && status.ok()) status = absl::CancelledError("call cancelled");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string code = absl::StatusCodeToString(status.code());
  metrics_->RecordRpc(method, code, secs);
  if (!status.ok()) {
    bool server_fault = status.code() == absl::StatusCode::kInternal ||
                        status.code() == absl::StatusCode::kUnavailable ||
                        status.code() == absl::StatusCode::kDataLoss ||
                        status.code() == absl::StatusCode::kUnknown;
    LogFields fields = {{"method", method},
                        {"code", code},
                        {"reason", ErrorReason(status)},
                        {"error", std::string(status.message())},
                        {"peer", ctx->peer()}};
    if (principal.ok()) fields.push_back({"actor", principal->Actor()});
    if (server_fault) {
      log_->Error("rpc failed", fields);
    } else {
      log_->Debug("rpc rejected", fields);
    }
  }
  return ToGrpcStatus(status);
}

grpc::Status UnlearningGrpc::SubmitForgetRequest(grpc::ServerContext* ctx,
                                                 const pb::SubmitForgetRequestRequest* req,
                                                 pb::ForgetRequest* resp) {
  return runner_->Run("SubmitForgetRequest", ctx, [&](const CallContext& call) {
    return Assign(service_->Submit(call, *req), resp);
  });
}

grpc::Status UnlearningGrpc::GetForgetRequest(grpc::ServerContext* ctx,
                                              const pb::GetForgetRequestRequest* req,
                                              pb::ForgetRequest* resp) {
  return runner_->Run("GetForgetRequest", ctx, [&](const CallContext& call) {
    return Assign(service_->Get(call, *req), resp);
  });
}

grpc::Status UnlearningGrpc::ListForgetRequests(grpc::ServerContext* ctx,
                                                const pb::ListForgetRequestsRequest* req,
                                                pb::ListForgetRequestsResponse* resp) {
  return runner_->Run("ListForgetRequests", ctx, [&](const CallContext& call) {
    return Assign(service_->List(call, *req), resp);
  });
}

grpc::Status UnlearningGrpc::CancelForgetRequest(grpc::ServerContext* ctx,
                                                 const pb::CancelForgetRequestRequest* req,
                                                 pb::ForgetRequest* resp) {
  return runner_->Run("CancelForgetRequest", ctx, [&](const CallContext& call) {
    return Assign(service_->Cancel(call, *req), resp);
  });
}

grpc::Status UnlearningGrpc::ExtendDeadline(grpc::ServerContext* ctx,
                                            const pb::ExtendDeadlineRequest* req,
                                            pb::ForgetRequest* resp) {
  return runner_->Run("ExtendDeadline", ctx, [&](const CallContext& call) {
    return Assign(service_->ExtendDeadline(call, *req), resp);
  });
}

grpc::Status UnlearningGrpc::WatchForgetRequest(grpc::ServerContext* ctx,
                                                const pb::WatchForgetRequestRequest* req,
                                                grpc::ServerWriter<pb::ForgetRequest>* writer) {
  return runner_->Run("WatchForgetRequest", ctx, [&](const CallContext& call) -> absl::Status {
    std::string last;
    while (true) {
      ASSIGN_OR_RETURN(pb::ForgetRequest snap, service_->Snapshot(call, req->id()));
      std::string key = snap.SerializeAsString();
      if (key != last) {
        if (!writer->Write(snap)) return absl::CancelledError("client went away");
        last = key;
      }
      if (IsTerminalState(StateToDb(snap.state()))) return absl::OkStatus();
      // Sleep one poll interval in small steps, watching for cancellation, the deadline
      // and server shutdown.
      auto wake = std::chrono::steady_clock::now() + poll_;
      while (std::chrono::steady_clock::now() < wake) {
        if (ctx->IsCancelled()) return absl::CancelledError("client cancelled the watch");
        if (call.deadline && std::chrono::system_clock::now() >= *call.deadline) {
          return absl::DeadlineExceededError(absl::StrCat("deadline reached while forget request ",
                                                          snap.id(), " is still ",
                                                          StateToDb(snap.state())));
        }
        if (stopping_->load()) {
          return absl::UnavailableError("server is shutting down; watch again to resume");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
}

grpc::Status ModelsGrpc::ListModels(grpc::ServerContext* ctx, const pb::ListModelsRequest* req,
                                    pb::ListModelsResponse* resp) {
  return runner_->Run("ListModels", ctx, [&](const CallContext& call) {
    return Assign(service_->List(call, *req), resp);
  });
}

grpc::Status ModelsGrpc::GetModel(grpc::ServerContext* ctx, const pb::GetModelRequest* req,
                                  pb::Model* resp) {
  return runner_->Run("GetModel", ctx, [&](const CallContext& call) {
    return Assign(service_->Get(call, *req), resp);
  });
}

grpc::Status ModelsGrpc::DownloadModelVersion(grpc::ServerContext* ctx,
                                              const pb::DownloadModelVersionRequest* req,
                                              grpc::ServerWriter<pb::DownloadChunk>* writer) {
  return runner_->Run("DownloadModelVersion", ctx, [&](const CallContext& call) -> absl::Status {
    ASSIGN_OR_RETURN(VersionFiles v, service_->ResolveForDownload(call, *req));
    return service_->StreamFiles(v, chunk_bytes_, [&](pb::DownloadChunk chunk) -> absl::Status {
      if (ctx->IsCancelled()) return absl::CancelledError("client cancelled the download");
      if (!writer->Write(chunk)) return absl::CancelledError("client went away");
      return absl::OkStatus();
    });
  });
}

grpc::Status ModelsGrpc::Sample(grpc::ServerContext* ctx, const pb::SampleRequest* req,
                                pb::SampleResponse* resp) {
  return runner_->Run("Sample", ctx, [&](const CallContext& call) {
    return Assign(service_->Sample(call, *req), resp);
  });
}

grpc::Status ModelsGrpc::RegisterModel(grpc::ServerContext* ctx,
                                       const pb::RegisterModelRequest* req, pb::Model* resp) {
  return runner_->Run("RegisterModel", ctx, [&](const CallContext& call) {
    return Assign(service_->Register(call, *req), resp);
  });
}

grpc::Status AuditGrpc::ListAuditRecords(grpc::ServerContext* ctx,
                                         const pb::ListAuditRecordsRequest* req,
                                         pb::ListAuditRecordsResponse* resp) {
  return runner_->Run("ListAuditRecords", ctx, [&](const CallContext& call) {
    return Assign(service_->List(call, *req), resp);
  });
}

grpc::Status AuditGrpc::VerifyAuditChain(grpc::ServerContext* ctx,
                                         const pb::VerifyAuditChainRequest*,
                                         pb::VerifyAuditChainResponse* resp) {
  return runner_->Run("VerifyAuditChain", ctx, [&](const CallContext& call) {
    return Assign(service_->Verify(call), resp);
  });
}

grpc::Status AuditGrpc::GetAuditCheckpoint(grpc::ServerContext* ctx,
                                           const pb::GetAuditCheckpointRequest*,
                                           pb::AuditCheckpoint* resp) {
  return runner_->Run("GetAuditCheckpoint", ctx, [&](const CallContext& call) {
    return Assign(service_->Checkpoint(call), resp);
  });
}

grpc::Status AuditGrpc::ListAuditPublicKeys(grpc::ServerContext* ctx,
                                            const pb::ListAuditPublicKeysRequest*,
                                            pb::ListAuditPublicKeysResponse* resp) {
  return runner_->Run("ListAuditPublicKeys", ctx, [&](const CallContext& call) {
    return Assign(service_->PublicKeys(call), resp);
  });
}

grpc::Status AuditGrpc::GetAuditInclusionProof(grpc::ServerContext* ctx,
                                               const pb::GetAuditInclusionProofRequest* req,
                                               pb::AuditInclusionProof* resp) {
  return runner_->Run("GetAuditInclusionProof", ctx, [&](const CallContext& call) {
    return Assign(service_->InclusionProof(call, *req), resp);
  });
}

grpc::Status AuditGrpc::GetAuditConsistencyProof(grpc::ServerContext* ctx,
                                                 const pb::GetAuditConsistencyProofRequest* req,
                                                 pb::AuditConsistencyProof* resp) {
  return runner_->Run("GetAuditConsistencyProof", ctx, [&](const CallContext& call) {
    return Assign(service_->ConsistencyProof(call, *req), resp);
  });
}

grpc::Status TokensGrpc::CreateToken(grpc::ServerContext* ctx, const pb::CreateTokenRequest* req,
                                     pb::CreateTokenResponse* resp) {
  return runner_->Run("CreateToken", ctx, [&](const CallContext& call) {
    return Assign(service_->Create(call, *req), resp);
  });
}

grpc::Status TokensGrpc::RevokeToken(grpc::ServerContext* ctx, const pb::RevokeTokenRequest* req,
                                     pb::ApiToken* resp) {
  return runner_->Run("RevokeToken", ctx, [&](const CallContext& call) {
    return Assign(service_->Revoke(call, *req), resp);
  });
}

grpc::Status TokensGrpc::ListTokens(grpc::ServerContext* ctx, const pb::ListTokensRequest* req,
                                    pb::ListTokensResponse* resp) {
  return runner_->Run("ListTokens", ctx, [&](const CallContext& call) {
    return Assign(service_->List(call, *req), resp);
  });
}

grpc::Status TokensGrpc::WhoAmI(grpc::ServerContext* ctx, const pb::WhoAmIRequest*,
                                pb::ApiToken* resp) {
  return runner_->Run(
      "WhoAmI", ctx, [&](const CallContext& call) { return Assign(service_->WhoAmI(call), resp); });
}

}  // namespace lethe
