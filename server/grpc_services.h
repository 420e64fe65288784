// The gRPC adapters: each method authenticates the caller from its metadata, calls the
// matching plain service class, records metrics and converts the status. No business
// logic lives here.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "common/logging.h"
#include "common/metrics.h"
#include "lethe/v1/audit.grpc.pb.h"
#include "lethe/v1/models.grpc.pb.h"
#include "lethe/v1/tokens.grpc.pb.h"
#include "lethe/v1/unlearning.grpc.pb.h"
#include "server/audit_service.h"
#include "server/authenticator.h"
#include "server/model_service.h"
#include "server/request_service.h"
#include "server/token_service.h"

namespace lethe {

// Authentication, metrics and logging around one RPC.
class RpcRunner {
 public:
  RpcRunner(Authenticator* auth, ServerMetrics* metrics, Logger* log)
      : auth_(auth), metrics_(metrics), log_(log) {}

  grpc::Status Run(const char* method, grpc::ServerContext* ctx,
                   const std::function<absl::Status(const CallContext&)>& fn);

 private:
  Authenticator* auth_;
  ServerMetrics* metrics_;
  Logger* log_;
};

class UnlearningGrpc final : public lethe::v1::Unlearning::Service {
 public:
  UnlearningGrpc(RpcRunner* runner, RequestService* service, std::chrono::milliseconds poll,
                 const std::atomic<bool>* stopping)
      : runner_(runner), service_(service), poll_(poll), stopping_(stopping) {}

  grpc::Status SubmitForgetRequest(grpc::ServerContext* ctx,
                                   const lethe::v1::SubmitForgetRequestRequest* req,
                                   lethe::v1::ForgetRequest* resp) override;
  grpc::Status GetForgetRequest(grpc::ServerContext* ctx,
                                const lethe::v1::GetForgetRequestRequest* req,
                                lethe::v1::ForgetRequest* resp) override;
  grpc::Status ListForgetRequests(grpc::ServerContext* ctx,
                                  const lethe::v1::ListForgetRequestsRequest* req,
                                  lethe::v1::ListForgetRequestsResponse* resp) override;
  grpc::Status CancelForgetRequest(grpc::ServerContext* ctx,
                                   const lethe::v1::CancelForgetRequestRequest* req,
                                   lethe::v1::ForgetRequest* resp) override;
  grpc::Status WatchForgetRequest(grpc::ServerContext* ctx,
                                  const lethe::v1::WatchForgetRequestRequest* req,
                                  grpc::ServerWriter<lethe::v1::ForgetRequest>* writer) override;
  grpc::Status ExtendDeadline(grpc::ServerContext* ctx, const lethe::v1::ExtendDeadlineRequest* req,
                              lethe::v1::ForgetRequest* resp) override;

 private:
  RpcRunner* runner_;
  RequestService* service_;
  std::chrono::milliseconds poll_;
  const std::atomic<bool>* stopping_;
};

class ModelsGrpc final : public lethe::v1::Models::Service {
 public:
  ModelsGrpc(RpcRunner* runner, ModelService* service, int64_t chunk_bytes)
      : runner_(runner), service_(service), chunk_bytes_(chunk_bytes) {}

  grpc::Status ListModels(grpc::ServerContext* ctx, const lethe::v1::ListModelsRequest* req,
                          lethe::v1::ListModelsResponse* resp) override;
  grpc::Status GetModel(grpc::ServerContext* ctx, const lethe::v1::GetModelRequest* req,
                        lethe::v1::Model* resp) override;
  grpc::Status DownloadModelVersion(grpc::ServerContext* ctx,
                                    const lethe::v1::DownloadModelVersionRequest* req,
                                    grpc::ServerWriter<lethe::v1::DownloadChunk>* writer) override;
  grpc::Status Sample(grpc::ServerContext* ctx, const lethe::v1::SampleRequest* req,
                      lethe::v1::SampleResponse* resp) override;
  grpc::Status RegisterModel(grpc::ServerContext* ctx, const lethe::v1::RegisterModelRequest* req,
                             lethe::v1::Model* resp) override;

 private:
  RpcRunner* runner_;
  ModelService* service_;
  int64_t chunk_bytes_;
};

class AuditGrpc final : public lethe::v1::Audit::Service {
 public:
  AuditGrpc(RpcRunner* runner, AuditService* service) : runner_(runner), service_(service) {}

  grpc::Status ListAuditRecords(grpc::ServerContext* ctx,
                                const lethe::v1::ListAuditRecordsRequest* req,
                                lethe::v1::ListAuditRecordsResponse* resp) override;
  grpc::Status VerifyAuditChain(grpc::ServerContext* ctx,
                                const lethe::v1::VerifyAuditChainRequest* req,
                                lethe::v1::VerifyAuditChainResponse* resp) override;
  grpc::Status GetAuditCheckpoint(grpc::ServerContext* ctx,
                                  const lethe::v1::GetAuditCheckpointRequest* req,
                                  lethe::v1::AuditCheckpoint* resp) override;
  grpc::Status ListAuditPublicKeys(grpc::ServerContext* ctx,
                                   const lethe::v1::ListAuditPublicKeysRequest* req,
                                   lethe::v1::ListAuditPublicKeysResponse* resp) override;
  grpc::Status GetAuditInclusionProof(grpc::ServerContext* ctx,
                                      const lethe::v1::GetAuditInclusionProofRequest* req,
                                      lethe::v1::AuditInclusionProof* resp) override;
  grpc::Status GetAuditConsistencyProof(grpc::ServerContext* ctx,
                                        const lethe::v1::GetAuditConsistencyProofRequest* req,
                                        lethe::v1::AuditConsistencyProof* resp) override;

 private:
  RpcRunner* runner_;
  AuditService* service_;
};

class TokensGrpc final : public lethe::v1::Tokens::Service {
 public:
  TokensGrpc(RpcRunner* runner, TokenService* service) : runner_(runner), service_(service) {}

  grpc::Status CreateToken(grpc::ServerContext* ctx, const lethe::v1::CreateTokenRequest* req,
                           lethe::v1::CreateTokenResponse* resp) override;
  grpc::Status RevokeToken(grpc::ServerContext* ctx, const lethe::v1::RevokeTokenRequest* req,
                           lethe::v1::ApiToken* resp) override;
  grpc::Status ListTokens(grpc::ServerContext* ctx, const lethe::v1::ListTokensRequest* req,
                          lethe::v1::ListTokensResponse* resp) override;
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const lethe::v1::WhoAmIRequest* req,
                      lethe::v1::ApiToken* resp) override;

 private:
  RpcRunner* runner_;
  TokenService* service_;
};

}  // namespace lethe
