#include "client/connection.h"

#include <gtest/gtest.h>

#include <map>

namespace lethe::cli {
namespace {

std::vector<FlagSpec> Globals() {
  return {{"server", FlagKind::kValue, "", ""},     {"token", FlagKind::kValue, "", ""},
          {"token-file", FlagKind::kValue, "", ""}, {"tls-ca", FlagKind::kValue, "", ""},
          {"tls-cert", FlagKind::kValue, "", ""},   {"tls-key", FlagKind::kValue, "", ""},
          {"insecure", FlagKind::kBool, "", ""},    {"timeout", FlagKind::kValue, "", ""}};
}

absl::StatusOr<ConnectionOptions> Resolve(const std::vector<std::string>& argv,
                                          std::map<std::string, std::string> env = {},
                                          std::map<std::string, std::string> files = {}) {
  auto parsed = ParseFlags(Globals(), argv);
  if (!parsed.ok()) return parsed.status();
  auto lookup = [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto read = [files](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError("cannot open " + path);
    return it->second;
  };
  return ResolveConnectionOptions(*parsed, lookup, read);
}

TEST(ConnectionOptionsTest, DefaultsAreTlsToTheLocalServer) {
  auto o = Resolve({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->server, kDefaultServer);
  EXPECT_FALSE(o->insecure);
  EXPECT_TRUE(o->token.empty());
  EXPECT_FALSE(o->timeout_seconds.has_value());
}

TEST(ConnectionOptionsTest, TokenFileIsTrimmedAndEnvironmentApplies) {
  auto o = Resolve({"--timeout", "2m"},
                   {{"LETHE_TOKEN_FILE", "/secret"},
                    {"LETHE_TLS_CA", "/ca.pem"},
                    {"LETHE_CLIENT_CERT", "/c.pem"},
                    {"LETHE_CLIENT_KEY", "/k.pem"}},
                   {{"/secret", "lethe_abc\n"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->token, "lethe_abc");
  EXPECT_EQ(o->tls_ca, "/ca.pem");
  EXPECT_EQ(o->tls_cert, "/c.pem");
  EXPECT_EQ(o->tls_key, "/k.pem");
  EXPECT_DOUBLE_EQ(*o->timeout_seconds, 120);
  // --token on the command line beats the file from the environment.
  auto flag = Resolve({"--token", "lethe_flag"}, {{"LETHE_TOKEN_FILE", "/secret"}},
                      {{"/secret", "lethe_abc"}});
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->token, "lethe_flag");
}

TEST(ConnectionOptionsTest, Contradictions) {
  EXPECT_FALSE(Resolve({"--token", "a", "--token-file", "f"}, {}, {{"f", "b"}}).ok());
  EXPECT_FALSE(Resolve({"--insecure", "--tls-ca", "ca.pem"}).ok());
  auto half = Resolve({"--tls-cert", "c.pem"});
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("--tls-key"), std::string::npos);
  EXPECT_FALSE(Resolve({"--token-file", "missing"}).ok());
  EXPECT_FALSE(Resolve({"--token-file", "empty"}, {}, {{"empty", " \n"}}).ok());
  // LETHE_INSECURE yields to TLS flags given on the command line.
  auto tls = Resolve({"--tls-ca", "ca.pem"}, {{"LETHE_INSECURE", "1"}});
  ASSERT_TRUE(tls.ok());
  EXPECT_FALSE(tls->insecure);
  auto plain = Resolve({}, {{"LETHE_INSECURE", "true"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->insecure);
}

TEST(LoopbackTest, RecognisesLocalTargets) {
  EXPECT_TRUE(IsLoopbackTarget("localhost:7443"));
  EXPECT_TRUE(IsLoopbackTarget("127.0.0.1:1"));
  EXPECT_TRUE(IsLoopbackTarget("[::1]:7443"));
  EXPECT_TRUE(IsLoopbackTarget("dns:///localhost:7443"));
  EXPECT_TRUE(IsLoopbackTarget("unix:/tmp/lethe.sock"));
  EXPECT_FALSE(IsLoopbackTarget("lethe.example.org:7443"));
  EXPECT_FALSE(IsLoopbackTarget("10.0.0.5:7443"));
  EXPECT_FALSE(IsLoopbackTarget("[2001:db8::1]:7443"));
}

}  // namespace
}  // namespace lethe::cli
