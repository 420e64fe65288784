#include "worker/worker_config.h"

#include <gtest/gtest.h>

#include <map>

namespace lethe::worker {
namespace {

absl::Status ParseInto(WorkerConfig* c, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
  FlagSet flags("lethe-worker [flags]");
  c->RegisterFlags(flags);
  absl::Status s = flags.Parse(args, nullptr, [&](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  if (!s.ok()) return s;
  return c->Validate();
}

const std::vector<std::string> kRequired = {"--database-url=postgresql://x/y",
                                            "--model-store=/tmp/store", "--evaluator=/tmp/ev"};

std::vector<std::string> With(std::vector<std::string> extra) {
  std::vector<std::string> args = kRequired;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(WorkerConfig, DefaultsAreValidAndDeriveValues) {
  WorkerConfig c;
  ASSERT_TRUE(ParseInto(&c, kRequired).ok());
  EXPECT_FALSE(c.worker_id.empty());  // host:pid
  EXPECT_DOUBLE_EQ(c.purge_grace_seconds, 24 * 3600);
  EXPECT_EQ(c.miss_policy, DestinationMissPolicy::kRetrain);
}

TEST(WorkerConfig, EnvironmentFillsAndFlagsWin) {
  WorkerConfig c;
  ASSERT_TRUE(ParseInto(&c, {"--model-store=/flag", "--evaluator=/e"},
                        {{"LETHE_DATABASE_URL", "postgresql://env/db"},
                         {"LETHE_MODEL_STORE", "/env"},
                         {"LETHE_WORKER_ID", "gpu-7"}})
                  .ok());
  EXPECT_EQ(c.database_url, "postgresql://env/db");
  EXPECT_EQ(c.model_store, "/flag");
  EXPECT_EQ(c.worker_id, "gpu-7");
}

TEST(WorkerConfig, RejectsBadValuesNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  } cases[] = {
      {{"--on-destination-miss=ignore"}, "on-destination-miss"},
      {{"--purge-grace=soon"}, "purge-grace"},
      {{"--lease-seconds=10", "--heartbeat-seconds=6"}, "heartbeat-seconds"},
      {{"--lease-seconds=0"}, "lease-seconds"},
      {{"--max-batch-items=0"}, "max-batch-items"},
      {{"--device=tpu"}, "device"},
      {{"--log-level=loud"}, "log-level"},
      {{"--db-pool-size=1"}, "db-pool-size"},
      {{"--data=a=x,=y"}, "data"},
  };
  for (const Case& tc : cases) {
    WorkerConfig c;
    absl::Status s = ParseInto(&c, With(tc.args));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << tc.flag;
    EXPECT_NE(s.message().find(tc.flag), absl::string_view::npos) << s.message();
  }
  for (const char* missing : {"database-url", "model-store", "evaluator"}) {
    WorkerConfig c;
    std::vector<std::string> args;
    for (const auto& a : kRequired) {
      if (a.find(missing) == std::string::npos) args.push_back(a);
    }
    absl::Status s = ParseInto(&c, args);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(missing), absl::string_view::npos) << s.message();
  }
}

TEST(WorkerConfig, DurationsAndDataSpecs) {
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("24h"), 86400);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("2.5"), 2.5);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("500ms"), 0.5);
  EXPECT_FALSE(ParseDurationSeconds("-1").ok());
  EXPECT_FALSE(ParseDurationSeconds("tomorrow").ok());

  WorkerConfig c;
  c.data = "fashion-mnist";
  EXPECT_EQ(c.DataSpecFor("anything"), "fashion-mnist");
  c.data = "a=/data/a,b=/data/b";
  EXPECT_EQ(c.DataSpecFor("a"), "/data/a");
  EXPECT_EQ(c.DataSpecFor("b"), "/data/b");
  EXPECT_EQ(c.DataSpecFor("c"), "");
  WorkerConfig f;
  ASSERT_TRUE(ParseInto(&f, With({"--on-destination-miss=fail", "--purge-grace=3s"})).ok());
  EXPECT_EQ(f.miss_policy, DestinationMissPolicy::kFail);
  EXPECT_DOUBLE_EQ(f.purge_grace_seconds, 3);
}

}  // namespace
}  // namespace lethe::worker
