// The server as a process: migrations, health, metrics, durability across SIGKILL and
// graceful shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "common/migrations.h"
#include "engine/base/file_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

TEST(MigrationsTest, ApplyOnAnEmptyDatabaseAndAreNoOpsTheSecondTime) {
  TestDatabase db;
  TempDir dir;
  std::string out;
  ASSERT_EQ(RunCommand({ServerBinary(), "migrate", "--database-url=" + db.url(),
                        "--state-dir=" + dir.path()},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("2 applied, 0 already applied"), std::string::npos) << out;
  std::string tables = db.Query(
      "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
      "WHERE table_schema = 'public'");
  for (const char* t :
       {"api_tokens", "audit_checkpoints", "audit_head", "audit_log", "audit_tree", "dataset_items",
        "forget_requests", "job_requests", "jobs", "model_versions", "models", "request_items",
        "schema_migrations", "tombstones"}) {
    EXPECT_NE(tables.find(t), std::string::npos) << t << " missing from " << tables;
  }
  ASSERT_EQ(RunCommand({ServerBinary(), "migrate", "--database-url=" + db.url(),
                        "--state-dir=" + dir.path()},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("0 applied, 2 already applied"), std::string::npos) << out;
  EXPECT_EQ(db.Query("SELECT count(*) FROM schema_migrations"), "2");

  // A migration edited after it was applied is refused, not skipped.
  db.Exec("UPDATE schema_migrations SET sha256 = repeat('0', 64) WHERE version = 1");
  EXPECT_NE(RunCommand({ServerBinary(), "migrate", "--database-url=" + db.url(),
                        "--state-dir=" + dir.path()},
                       &out),
            0);
  EXPECT_NE(out.find("changed after it was applied"), std::string::npos) << out;
}

TEST(MigrationsTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  TestDatabase db;
  std::vector<std::thread> threads;
  std::vector<int> applied(4, -1);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      pqxx::connection c(db.url());
      auto r = ApplyMigrations(c, EmbeddedMigrations(), nullptr);
      applied[i] = r.ok() ? r->applied : -1;
    });
  }
  for (auto& t : threads) t.join();
  int total = 0;
  for (int a : applied) {
    EXPECT_GE(a, 0);
    total += a;
  }
  EXPECT_EQ(total, int(EmbeddedMigrations().size()));
}

TEST_F(ServiceTest, HealthReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(s_->server->channel());
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status st = health->Check(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(ServiceTest, MetricsScrapeHasEveryMetricName) {
  pb::ListModelsResponse models;
  ASSERT_TRUE(s_->models->ListModels(Ctx(s_->dpo).get(), {}, &models).ok());
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/30"}), &r).ok());
  s_->db.Exec("UPDATE forget_requests SET due_at = now() - interval '1 day' WHERE id = '" + r.id() +
              "'");
  std::string body;
  // The gauges refresh every second in tests.
  for (int i = 0; i < 50; ++i) {
    body = HttpGet(s_->server->metrics_port(), "/metrics");
    if (body.find("lethe_forget_requests_overdue 1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const char* name :
       {"lethe_rpc_requests_total{code=\"OK\",method=\"ListModels\"}",
        "lethe_rpc_requests_total{code=\"OK\",method=\"SubmitForgetRequest\"}",
        "lethe_rpc_duration_seconds_bucket{method=\"SubmitForgetRequest\"",
        "lethe_rpc_duration_seconds_count{method=\"ListModels\"}",
        "lethe_forget_requests{state=\"queued\"}", "lethe_forget_requests{state=\"completed\"}",
        "lethe_forget_requests_overdue 1", "lethe_audit_records"}) {
    EXPECT_NE(body.find(name), std::string::npos) << name << " missing from:\n" << body;
  }
  if (!std::string(LETHE_PROMTOOL).empty()) {
    TempDir dir;
    std::string path = dir.path() + "/metrics.txt";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(body.data(), 1, body.size(), f);
    std::fclose(f);
    std::string out;
    int rc = RunCommand({"/bin/sh", "-c", std::string(LETHE_PROMTOOL) + " check metrics < " + path},
                        &out);
    EXPECT_EQ(rc, 0) << out;
  }
}

TEST(ProcessTest, AcknowledgedRequestSurvivesSigkill) {
  TestDatabase db;
  TempDir dir;
  std::string op = CreateTokenCli(db.url(), dir.path(), "operator", "ops");
  std::string dpo = CreateTokenCli(db.url(), dir.path(), "dpo", "dpo");
  std::vector<std::string> ids;
  {
    ServerProcess server(db.url(), dir.path());
    auto models = pb::Models::NewStub(server.channel());
    FakeModel model = WriteFakeModel(dir.path(), "durable", 50);
    ASSERT_TRUE(RegisterFakeModel(*models, op, model).ok());
    auto unlearning = pb::Unlearning::NewStub(server.channel());
    for (int i = 0; i < 5; ++i) {
      pb::ForgetRequest r;
      auto req = ItemsRequest("durable", {"train/" + std::to_string(i)});
      grpc::Status st = unlearning->SubmitForgetRequest(Ctx(dpo).get(), req, &r);
      ASSERT_TRUE(st.ok()) << st.error_message();
      ids.push_back(r.id());
    }
    server.Kill();  // SIGKILL right after the last acknowledgement
  }
  ServerProcess restarted(db.url(), dir.path());
  auto unlearning = pb::Unlearning::NewStub(restarted.channel());
  for (const std::string& id : ids) {
    pb::GetForgetRequestRequest get;
    get.set_id(id);
    pb::ForgetRequest r;
    grpc::Status st = unlearning->GetForgetRequest(Ctx(dpo).get(), get, &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.state(), pb::REQUEST_STATE_QUEUED);
    EXPECT_EQ(r.items_size(), 1);
  }
  EXPECT_EQ(db.Query("SELECT count(*) FROM forget_requests"), "5");
}

TEST(ProcessTest, SigtermDrainsInFlightCallsAndExitsZero) {
  TestDatabase db;
  TempDir dir;
  std::string dpo = CreateTokenCli(db.url(), dir.path(), "dpo", "dpo");
  ServerProcess server(db.url(), dir.path());
  auto unlearning = pb::Unlearning::NewStub(server.channel());
  // An in-flight streaming call: it must end with a status, not a broken connection.
  pb::ForgetRequest r;
  std::string op = CreateTokenCli(db.url(), dir.path(), "operator", "ops");
  auto models = pb::Models::NewStub(server.channel());
  FakeModel model = WriteFakeModel(dir.path(), "drain", 20);
  ASSERT_TRUE(RegisterFakeModel(*models, op, model).ok());
  ASSERT_TRUE(
      unlearning->SubmitForgetRequest(Ctx(dpo).get(), ItemsRequest("drain", {"train/1"}), &r).ok());
  grpc::Status watch_status;
  int updates = 0;
  std::thread watcher([&] {
    pb::WatchForgetRequestRequest w;
    w.set_id(r.id());
    auto ctx = Ctx(dpo, 30000);
    auto reader = unlearning->WatchForgetRequest(ctx.get(), w);
    pb::ForgetRequest msg;
    while (reader->Read(&msg)) ++updates;
    watch_status = reader->Finish();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Terminate(), 0) << server.LogTail();
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
  EXPECT_GE(updates, 1);
  EXPECT_EQ(watch_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << watch_status.error_message();
  EXPECT_NE(server.LogTail().find("lethe-server stopped"), std::string::npos);
}

// A self-signed certificate for localhost/127.0.0.1 (also usable as its own CA).
void MakeCert(const std::string& dir, const std::string& name) {
  std::string out;
  int rc = RunCommand({"/bin/sh", "-c",
                       "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                       "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                           dir + "/" + name + ".key -out " + dir + "/" + name + ".pem"},
                      &out);
  ASSERT_EQ(rc, 0) << out;
}

TEST(ProcessTest, TlsAndClientCertificateVerification) {
  TestDatabase db;
  TempDir dir;
  MakeCert(dir.path(), "server");
  MakeCert(dir.path(), "client");
  std::string token = CreateTokenCli(db.url(), dir.path(), "dpo", "tls-dpo");
  ServerOptions tls;
  tls.tls_root_pem = ReadFile(dir.path() + "/server.pem");
  tls.extra_args = {"--tls-cert=" + dir.path() + "/server.pem",
                    "--tls-key=" + dir.path() + "/server.key"};
  {
    ServerProcess server(db.url(), dir.path(), tls);
    pb::ApiToken who;
    auto tokens = pb::Tokens::NewStub(server.channel());
    grpc::Status st = tokens->WhoAmI(Ctx(token).get(), {}, &who);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(who.name(), "tls-dpo");
    // Plaintext clients get nowhere.
    auto plain = pb::Tokens::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server.port()), grpc::InsecureChannelCredentials()));
    EXPECT_EQ(plain->WhoAmI(Ctx(token, 2000).get(), {}, &who).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  // With --tls-client-ca, a client must present a certificate signed by that CA.
  tls.extra_args.push_back("--tls-client-ca=" + dir.path() + "/client.pem");
  {
    ServerProcess server(db.url(), dir.path(), tls);
    pb::ApiToken who;
    auto anonymous = pb::Tokens::NewStub(server.channel());
    EXPECT_EQ(anonymous->WhoAmI(Ctx(token, 2000).get(), {}, &who).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  tls.client_cert_pem = ReadFile(dir.path() + "/client.pem");
  tls.client_key_pem = ReadFile(dir.path() + "/client.key");
  {
    ServerProcess server(db.url(), dir.path(), tls);
    pb::ApiToken who;
    auto tokens = pb::Tokens::NewStub(server.channel());
    grpc::Status st = tokens->WhoAmI(Ctx(token).get(), {}, &who);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
}

TEST(ProcessTest, InvalidConfigurationFailsFastWithAMessage) {
  std::string out;
  EXPECT_EQ(RunCommand({ServerBinary(), "--listen=127.0.0.1:0"}, &out), 2);
  EXPECT_NE(out.find("no TLS configured"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({ServerBinary(), "--insecure", "--due-days=0"}, &out), 2);
  EXPECT_NE(out.find("--due-days 0 is outside [1, 365]"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({ServerBinary(), "--insecure", "--max-items=abc"}, &out), 2);
  EXPECT_NE(out.find("flag --max-items: expected an integer"), std::string::npos) << out;
  EXPECT_EQ(RunCommand({ServerBinary(), "--help"}, &out), 0);
  EXPECT_NE(out.find("[$LETHE_DATABASE_URL]"), std::string::npos) << out;
}

TEST(ProcessTest, UnreachableDatabaseFailsToStartWithUnavailable) {
  TempDir dir;
  std::string out;
  int port = FreePort();
  int rc =
      RunCommand({ServerBinary(), "--insecure", "--listen=127.0.0.1:0",
                  "--metrics-listen=", "--db-connect-timeout-s=2",
                  "--database-url=postgresql://lethe@127.0.0.1:" + std::to_string(port) + "/lethe",
                  "--state-dir=" + dir.path()},
                 &out);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("database unavailable"), std::string::npos) << out;
}

}  // namespace
}  // namespace lethe::testing
