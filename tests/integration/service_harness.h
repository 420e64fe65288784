// Test harness for the service integration tests: a real PostgreSQL database per test
// process, the real lethe-server binary as a subprocess on a free loopback port, gRPC
// stubs with bearer tokens, and a small fake model (manifest.json, files, data set
// manifest) written to a temporary directory. Nothing here depends on LibTorch.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "lethe/v1/audit.grpc.pb.h"
#include "lethe/v1/common.pb.h"
#include "lethe/v1/models.grpc.pb.h"
#include "lethe/v1/tokens.grpc.pb.h"
#include "lethe/v1/unlearning.grpc.pb.h"

namespace lethe::testing {

namespace pb = ::lethe::v1;

// A fresh database with a random name on the test cluster: LETHE_TEST_DATABASE_URL if
// set, otherwise a private cluster under the build tree (created once, shared by the test
// processes). Dropped on destruction.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  const std::string& url() const { return url_; }
  // Runs SQL and returns the first column of the first row ("" when no rows).
  std::string Query(const std::string& sql) const;
  void Exec(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct ServerOptions {
  std::vector<std::string> extra_args;
  // Empty: plaintext (--insecure). Otherwise the server runs with these TLS flags in
  // extra_args and channel() trusts this PEM root (and presents the client pair if set).
  std::string tls_root_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
};

// lethe-server as a child process.
class ServerProcess {
 public:
  ServerProcess(const std::string& database_url, const std::string& state_dir,
                ServerOptions options = {});
  ~ServerProcess();  // SIGKILL if still running

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // Sends SIGTERM and waits; returns the exit status (or -signal).
  int Terminate();
  void Kill();
  std::string LogTail() const;
  // The file that receives the server's whole stderr (its structured log).
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
  std::shared_ptr<grpc::Channel> channel_;
};

std::string ServerBinary();
// `lethe-server token create` against the database; returns the secret.
std::string CreateTokenCli(const std::string& database_url, const std::string& state_dir,
                           const std::string& role, const std::string& name);
// Runs a command, returns its exit code; stdout+stderr into *output.
int RunCommand(const std::vector<std::string>& argv, std::string* output);
int FreePort();
// GET http://127.0.0.1:PORT/PATH; returns the body ("" on failure).
std::string HttpGet(int port, const std::string& path);

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int deadline_ms = 10000);
// The google.rpc.ErrorInfo inside the status's google.rpc.Status details (empty if none).
google::rpc::ErrorInfo DetailOf(const grpc::Status& status);

// A fake model: items "train/<i>" (and "test/<i>") of 28x28 gray pixels derived from i.
struct FakeModel {
  std::string name;
  std::string checkpoint_dir;
  std::string items_file;
  int num_classes = 10;
  int train_items = 0;
  int test_items = 0;
};
std::vector<uint8_t> FakePixels(int index);  // 28*28 bytes
std::string FakePixelsSha256(int index);
std::string FakePng(int index);  // PNG of FakePixels(index)
FakeModel WriteFakeModel(const std::string& dir, const std::string& name, int train_items,
                         int test_items = 10, bool with_sample = true);
// Registers it through the API with an admin/operator token.
grpc::Status RegisterFakeModel(pb::Models::Stub& models, const std::string& token,
                               const FakeModel& model, pb::Model* out = nullptr);

// A valid item submit body.
pb::SubmitForgetRequestRequest ItemsRequest(const std::string& model,
                                            const std::vector<std::string>& ids);
std::string NewRequestId();

}  // namespace lethe::testing
