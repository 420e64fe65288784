#include "service_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"

namespace lethe::testing {

namespace {

std::string ReplaceDatabase(const std::string& url, const std::string& db) {
  size_t q = url.find('?');
  std::string base = q == std::string::npos ? url : url.substr(0, q);
  std::string query = q == std::string::npos ? "" : url.substr(q);
  size_t slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("://") + 3) {
    throw std::runtime_error("cannot parse database URL " + url);
  }
  return base.substr(0, slash + 1) + db + query;
}

std::string ClusterUrl() {
  const char* env = std::getenv("LETHE_TEST_DATABASE_URL");
  if (env != nullptr && *env) return env;
  // No URL given: a private cluster under the build tree, started once. A file lock keeps
  // concurrent test processes from initialising it twice.
  std::string dir = std::string(LETHE_TEST_STATE_DIR) + "/test-pg";
  MakeDirs(LETHE_TEST_STATE_DIR);
  int lock = ::open((std::string(LETHE_TEST_STATE_DIR) + "/test-pg.lock").c_str(),
                    O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock test-pg");
  std::string out;
  int rc = RunCommand({LETHE_PG_CLUSTER_SCRIPT, "start", dir}, &out);
  ::flock(lock, LOCK_UN);
  ::close(lock);
  if (rc != 0) throw std::runtime_error("pg-cluster start failed: " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

}  // namespace

std::string ServerBinary() { return LETHE_SERVER_BINARY; }

int RunCommand(const std::vector<std::string>& argv, std::string* output) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  output->clear();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) output->append(buf, size_t(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TestDatabase::TestDatabase() {
  admin_url_ = ClusterUrl();
  name_ = "lethe_test_" + Sha256Hex(RandomBytes(16)).substr(0, 16);
  {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + name_);
  }
  url_ = ReplaceDatabase(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::string TestDatabase::Query(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

void TestDatabase::Exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lethe-test-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

ServerProcess::ServerProcess(const std::string& database_url, const std::string& state_dir,
                             ServerOptions options) {
  metrics_port_ = FreePort();
  log_path_ = state_dir + "/server-" + std::to_string(metrics_port_) + ".log";
  std::vector<std::string> argv = {ServerBinary(),
                                   "--listen=127.0.0.1:0",
                                   absl::StrCat("--metrics-listen=127.0.0.1:", metrics_port_),
                                   "--database-url=" + database_url,
                                   "--state-dir=" + state_dir,
                                   "--subject-salt=test-salt-0123456789",
                                   "--gauge-refresh-s=1",
                                   "--watch-poll-ms=50",
                                   "--shutdown-grace-s=5",
                                   "--log-level=debug"};
  if (options.tls_root_pem.empty()) argv.push_back("--insecure");
  for (const auto& a : options.extra_args) argv.push_back(a);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(log_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(log_fd);
  // Wait for "listening on port N".
  std::string line;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < give_up) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[256];
      ssize_t n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, size_t(n));
    }
  }
  ::close(out[0]);
  if (std::sscanf(line.c_str(), "listening on port %d", &port_) != 1) {
    Kill();
    throw std::runtime_error("lethe-server did not start: " + LogTail());
  }
  if (options.tls_root_pem.empty()) {
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_pem;
    ssl.pem_cert_chain = options.client_cert_pem;
    ssl.pem_private_key = options.client_key_pem;
    channel_ = grpc::CreateChannel(absl::StrCat("localhost:", port_), grpc::SslCredentials(ssl));
  }
}

ServerProcess::~ServerProcess() { Kill(); }

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::LogTail() const {
  std::ifstream in(log_path_);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

std::string CreateTokenCli(const std::string& database_url, const std::string& state_dir,
                           const std::string& role, const std::string& name) {
  std::string out;
  int rc = RunCommand(
      {ServerBinary(), "token", "create", "--role", role, "--name", name,
       "--database-url=" + database_url, "--state-dir=" + state_dir, "--log-level=error"},
      &out);
  if (rc != 0) throw std::runtime_error("token create failed: " + out);
  // The secret is the last line.
  while (!out.empty() && out.back() == '\n') out.pop_back();
  size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != ssize_t(req.size())) {
    ::close(fd);
    return "";
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) resp.append(buf, size_t(n));
  ::close(fd);
  size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int deadline_ms) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
  return ctx;
}

google::rpc::ErrorInfo DetailOf(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  google::rpc::ErrorInfo info;
  if (rpc_status.ParseFromString(status.error_details())) {
    for (const auto& any : rpc_status.details()) {
      if (any.UnpackTo(&info)) break;
    }
  }
  return info;
}

std::vector<uint8_t> FakePixels(int index) {
  std::vector<uint8_t> px(28 * 28);
  uint32_t x = uint32_t(index) * 2654435761u + 12345u;
  for (auto& p : px) {
    x = x * 1103515245u + 12345u;
    p = uint8_t(x >> 24);
  }
  return px;
}

std::string FakePixelsSha256(int index) {
  auto px = FakePixels(index);
  return Sha256Hex(px.data(), px.size());
}

std::string FakePng(int index) {
  Image8 img;
  img.width = 28;
  img.height = 28;
  img.channels = 1;
  img.pixels = FakePixels(index);
  return EncodePng(img);
}

FakeModel WriteFakeModel(const std::string& dir, const std::string& name, int train_items,
                         int test_items, bool with_sample) {
  FakeModel m;
  m.name = name;
  m.checkpoint_dir = dir + "/" + name + "-ckpt";
  m.items_file = dir + "/" + name + "-items.tsv";
  m.train_items = train_items;
  m.test_items = test_items;
  MakeDirs(m.checkpoint_dir);
  std::string weights = "fake generator weights for " + name;
  for (int i = 0; i < 2000; ++i) weights += char('a' + i % 26);
  WriteFileAtomic(m.checkpoint_dir + "/generator.pt", weights);
  WriteFileAtomic(m.checkpoint_dir + "/discriminator.pt", "fake discriminator " + name);
  Json manifest = Json::Object();
  manifest["format_version"] = 1;
  Json config = Json::Object();
  config["num_classes"] = m.num_classes;
  config["resolution"] = 32;
  config["img_channels"] = 1;
  config["preset"] = "tiny";
  manifest["config"] = config;
  Json dataset = Json::Object();
  dataset["name"] = "fake/train";
  dataset["fingerprint"] = Sha256Hex(name);
  manifest["dataset"] = dataset;
  Json files = Json::Object();
  files["generator.pt"] = Sha256Hex(weights);
  files["discriminator.pt"] = Sha256Hex("fake discriminator " + name);
  manifest["files"] = files;
  WriteFileAtomic(m.checkpoint_dir + "/manifest.json", manifest.Dump(2));
  if (with_sample)
    WritePngFile(m.checkpoint_dir + "/sample.png", [] {
      Image8 img;
      img.width = 8;
      img.height = 8;
      img.channels = 1;
      img.pixels.assign(64, 200);
      return img;
    }());
  std::string tsv = "# item_id\tsha256\tlabel\tsplit\n";
  for (int i = 0; i < train_items; ++i) {
    absl::StrAppend(&tsv, "train/", i, "\t", FakePixelsSha256(i), "\t", i % m.num_classes,
                    "\ttrain\n");
  }
  for (int i = 0; i < test_items; ++i) {
    absl::StrAppend(&tsv, "test/", i, "\t", FakePixelsSha256(1000000 + i), "\t", i % m.num_classes,
                    "\ttest\n");
  }
  WriteFileAtomic(m.items_file, tsv);
  return m;
}

grpc::Status RegisterFakeModel(pb::Models::Stub& models, const std::string& token,
                               const FakeModel& model, pb::Model* out) {
  pb::RegisterModelRequest req;
  req.set_name(model.name);
  req.set_checkpoint_dir(model.checkpoint_dir);
  req.set_dataset_items_file(model.items_file);
  req.set_item_width(28);
  req.set_item_height(28);
  req.set_item_channels(1);
  pb::Model resp;
  auto ctx = Ctx(token, 60000);
  grpc::Status s = models.RegisterModel(ctx.get(), req, &resp);
  if (out) *out = resp;
  return s;
}

pb::SubmitForgetRequestRequest ItemsRequest(const std::string& model,
                                            const std::vector<std::string>& ids) {
  pb::SubmitForgetRequestRequest r;
  r.set_request_id(NewRequestId());
  r.set_model(model);
  for (const auto& id : ids) r.mutable_items()->add_item_ids(id);
  r.set_mode(pb::FORGET_MODE_FEW_SHOT);
  r.set_substitute(pb::SUBSTITUTE_AVERAGE);
  r.set_legal_ground(pb::LEGAL_GROUND_ART17_1B_CONSENT_WITHDRAWN);
  r.set_subject_reference("ticket-4711");
  return r;
}

std::string NewRequestId() { return NewUuid(); }

}  // namespace lethe::testing
