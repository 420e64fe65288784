// flag_set, page_token, auth, errors, pg_array, manifests, audit hashing.
#include <gtest/gtest.h>

#include <map>

#include "common/audit.h"
#include "common/auth.h"
#include "common/checkpoint_manifest.h"
#include "common/dataset_manifest.h"
#include "common/db.h"
#include "common/errors.h"
#include "common/flag_set.h"
#include "common/logging.h"
#include "common/page_token.h"
#include "common/pg_array.h"
#include "engine/base/sha256.h"

namespace lethe {
namespace {

TEST(ConninfoTest, DeadPeersAreFoundBySecondsOfTcpKeepaliveNotHours) {
  std::string uri = ConninfoWithDefaults("postgresql://u@h:5432/db", 5, "lethe-worker-listen");
  for (const char* p :
       {"connect_timeout=5", "application_name=lethe-worker-listen", "keepalives_idle=10",
        "keepalives_interval=5", "keepalives_count=3", "tcp_user_timeout=15000"}) {
    EXPECT_NE(uri.find(p), std::string::npos) << p << " missing from " << uri;
  }
  EXPECT_EQ(uri.rfind("postgresql://u@h:5432/db?", 0), 0u) << uri;
  // key=value form, and settings the operator gave win.
  std::string kv = ConninfoWithDefaults("host=h dbname=db keepalives_idle=60", 5, "");
  EXPECT_NE(kv.find("keepalives_idle=60"), std::string::npos) << kv;
  EXPECT_EQ(kv.find("keepalives_idle=10"), std::string::npos) << kv;
  EXPECT_NE(kv.find(" tcp_user_timeout=15000"), std::string::npos) << kv;
}

TEST(FlagSetTest, FlagsOverrideEnvironmentOverrideDefaults) {
  std::string listen = "127.0.0.1:1";
  int64_t items = 10;
  bool insecure = false;
  double ratio = 0.5;
  FlagSet flags("usage");
  flags.AddString("listen", "LETHE_LISTEN", &listen, "listen");
  flags.AddInt("max-items", "LETHE_MAX_ITEMS", &items, "items");
  flags.AddBool("insecure", "LETHE_INSECURE", &insecure, "plain");
  flags.AddDouble("ratio", "", &ratio, "r");
  std::map<std::string, std::string> env = {
      {"LETHE_LISTEN", "0.0.0.0:9"}, {"LETHE_MAX_ITEMS", "20"}, {"LETHE_INSECURE", "true"}};
  auto lookup = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::string> positional;
  ASSERT_TRUE(flags
                  .Parse({"--max-items=30", "--ratio", "0.25", "--no-insecure", "extra"},
                         &positional, lookup)
                  .ok());
  EXPECT_EQ(listen, "0.0.0.0:9");
  EXPECT_EQ(items, 30);
  EXPECT_FALSE(insecure);
  EXPECT_DOUBLE_EQ(ratio, 0.25);
  EXPECT_EQ(positional, std::vector<std::string>{"extra"});
  EXPECT_NE(flags.Help().find("[$LETHE_MAX_ITEMS]"), std::string::npos);
}

TEST(FlagSetTest, ErrorsNameTheFlagOrVariable) {
  int64_t items = 0;
  FlagSet flags("usage");
  flags.AddInt("max-items", "LETHE_MAX_ITEMS", &items, "items");
  auto env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "LETHE_MAX_ITEMS") return std::string("many");
    return std::nullopt;
  };
  absl::Status s = flags.Parse({}, nullptr, env);
  EXPECT_NE(std::string(s.message()).find("environment variable LETHE_MAX_ITEMS"),
            std::string::npos);
  FlagSet f2("usage");
  f2.AddInt("max-items", "", &items, "items");
  EXPECT_NE(std::string(f2.Parse({"--bogus"}, nullptr, env).message()).find("unknown flag --bogus"),
            std::string::npos);
  EXPECT_NE(std::string(f2.Parse({"--max-items"}, nullptr, env).message()).find("needs a value"),
            std::string::npos);
}

TEST(PageTokenTest, RoundTripsAndRejectsTamperingAndOtherFilters) {
  Json pos = Json::Object();
  pos["t"] = int64_t(1700000000123456);
  pos["id"] = "abc";
  std::string token = EncodePageToken(pos, "filters-a");
  auto back = DecodePageToken(token, "filters-a");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pos);
  EXPECT_EQ(ErrorReason(DecodePageToken(token, "filters-b").status()), "INVALID_PAGE_TOKEN");
  EXPECT_FALSE(DecodePageToken("!!", "filters-a").ok());
  EXPECT_FALSE(DecodePageToken(Base64UrlEncode("{\"x\":1}"), "filters-a").ok());
  EXPECT_EQ(*ResolvePageSize(0, 50, 500), 50);
  EXPECT_EQ(*ResolvePageSize(900, 50, 500), 500);
  EXPECT_FALSE(ResolvePageSize(-1, 50, 500).ok());
}

TEST(AuthTest, RoleMatrix) {
  using P = Permission;
  EXPECT_TRUE(RoleHas(Role::kDpo, P::kSubmitRequest));
  EXPECT_TRUE(RoleHas(Role::kDpo, P::kCancelOwnRequests));
  EXPECT_FALSE(RoleHas(Role::kDpo, P::kReadAllRequests));
  EXPECT_FALSE(RoleHas(Role::kDpo, P::kExtendDeadline));
  EXPECT_TRUE(RoleHas(Role::kService, P::kSubmitRequest));
  EXPECT_FALSE(RoleHas(Role::kService, P::kCancelOwnRequests));
  EXPECT_FALSE(RoleHas(Role::kOperator, P::kSubmitRequest));
  EXPECT_TRUE(RoleHas(Role::kOperator, P::kExtendDeadline));
  EXPECT_TRUE(RoleHas(Role::kOperator, P::kRegisterModel));
  EXPECT_FALSE(RoleHas(Role::kOperator, P::kManageTokens));
  EXPECT_TRUE(RoleHas(Role::kAdmin, P::kManageTokens));
  Principal p{7, "alice", Role::kService};
  absl::Status s = Require(p, P::kCancelOwnRequests);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()),
            "token \"alice\" has role service, which may not cancel its own forget requests");
  EXPECT_EQ(p.Actor(), "token:7:alice");
  EXPECT_EQ(*ParseRole("DPO"), Role::kDpo);
  EXPECT_FALSE(ParseRole("root").ok());
}

TEST(AuthTest, BearerParsingAndSecrets) {
  EXPECT_EQ(*ParseBearer("Bearer abc"), "abc");
  EXPECT_EQ(*ParseBearer("bearer  abc "), "abc");
  EXPECT_EQ(ErrorReason(ParseBearer("").status()), "MISSING_TOKEN");
  EXPECT_EQ(ParseBearer("Basic abc").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(ParseBearer("Bearer a b").ok());
  std::string s1 = GenerateTokenSecret(), s2 = GenerateTokenSecret();
  EXPECT_NE(s1, s2);
  EXPECT_EQ(s1.size(), 6u + 43u);
  EXPECT_EQ(HashTokenSecret(s1), Sha256Hex(s1));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

TEST(AuthTest, Base64UrlRoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\x00\x10"}) {
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(s), &back));
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Zm9v+mFy", &out));
  EXPECT_FALSE(Base64UrlDecode("Z", &out));
}

TEST(ErrorsTest, ReasonAndMetadataTravelWithTheStatus) {
  absl::Status s =
      MakeError(absl::StatusCode::kNotFound, "UNKNOWN_ITEMS", "2 missing", {{"unknown", "a,b"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrorReason(s), "UNKNOWN_ITEMS");
  EXPECT_EQ(GetErrorInfo(s)->metadata.at("unknown"), "a,b");
  EXPECT_EQ(ErrorReason(absl::UnavailableError("x")), "UNAVAILABLE");
}

TEST(PgArrayTest, QuotingAndParsing) {
  EXPECT_EQ(PgTextArray(std::vector<std::string>{"a", "b\"c", "d\\e", "{,}"}),
            "{\"a\",\"b\\\"c\",\"d\\\\e\",\"{,}\"}");
  EXPECT_EQ(PgTextArray(std::vector<std::optional<std::string>>{std::nullopt, "x"}),
            "{NULL,\"x\"}");
  EXPECT_EQ(PgByteaArray({std::string("\x01\xff", 2), std::nullopt}), "{\"\\\\x01ff\",NULL}");
  std::vector<std::optional<std::string>> parsed;
  ASSERT_TRUE(ParsePgTextArray("{a,\"b c\",NULL,\"q\\\"\"}", &parsed));
  ASSERT_EQ(parsed.size(), 4u);
  EXPECT_EQ(*parsed[1], "b c");
  EXPECT_FALSE(parsed[2].has_value());
  EXPECT_EQ(*parsed[3], "q\"");
}

TEST(DatasetManifestTest, ParsesTsvAndJsonlWithLineNumberedErrors) {
  std::string sha(64, 'a');
  auto tsv = ParseDatasetManifest(
      "# header\ntrain/0\t" + sha + "\t3\ttrain\n\ntest/0\t" + sha + "\t9\ttest\n", "items.tsv",
      10);
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  ASSERT_EQ(tsv->size(), 2u);
  EXPECT_EQ((*tsv)[1].split, "test");
  auto jsonl = ParseDatasetManifest(
      "{\"id\":\"a/1.png\",\"sha256\":\"" + sha + "\",\"label\":1,\"split\":\"train\"}\n",
      "items.jsonl", 2);
  ASSERT_TRUE(jsonl.ok());
  EXPECT_EQ(jsonl->front().id, "a/1.png");
  struct Bad {
    std::string text;
    const char* message;
  };
  const Bad bad[] = {
      {"train/0\t" + sha + "\t3\n", "items:1: expected 4 tab-separated columns"},
      {"train/0\tABC\t3\ttrain\n", "items:1: sha256 of \"train/0\""},
      {"train/0\t" + sha + "\t10\ttrain\n", "label 10 of \"train/0\" is outside [0, 10)"},
      {"train/0\t" + sha + "\tx\ttrain\n", "label \"x\" is not an integer"},
      {"train/0\t" + sha + "\t1\tval\n", "split \"val\""},
      {"train/0\t" + sha + "\t1\ttrain\ntrain/0\t" + sha + "\t1\ttrain\n",
       "items:2: duplicate item id"},
      {"../x\t" + sha + "\t1\ttrain\n", "items:1: item_id: item id \"../x\""},
      {"# only comments\n", "items: lists no items"},
  };
  for (const Bad& b : bad) {
    auto r = ParseDatasetManifest(b.text, "items", 10);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(std::string(r.status().message()).find(b.message), std::string::npos)
        << r.status().message();
  }
  std::vector<DatasetItem> items = {{"train/0", sha, 3, "train"}};
  EXPECT_EQ(FormatDatasetManifestTsv(items).value(), "train/0\t" + sha + "\t3\ttrain\n");
}

TEST(CheckpointManifestTest, ValidatesShapeAndFileNames) {
  std::string sha(64, 'b');
  std::string good =
      "{\"format_version\":1,\"config\":{\"num_classes\":10,\"resolution\":32,"
      "\"img_channels\":1,\"preset\":\"tiny\"},\"dataset\":{\"name\":\"d\","
      "\"fingerprint\":\"f\"},\"files\":{\"generator.pt\":\"" +
      sha + "\"}}";
  auto m = ParseCheckpointManifest(good, "manifest.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->num_classes, 10);
  EXPECT_EQ(m->files.at("generator.pt"), sha);
  EXPECT_EQ(m->preset, "tiny");
  auto bad_name = ParseCheckpointManifest(
      std::string(good).replace(good.find("generator.pt"), 12, "../x"), "manifest.json");
  EXPECT_NE(std::string(bad_name.status().message()).find("is not a plain file name"),
            std::string::npos);
  auto bad_ch = ParseCheckpointManifest(
      std::string(good).replace(good.find("\"img_channels\":1"), 16, "\"img_channels\":2"),
      "manifest.json");
  EXPECT_NE(std::string(bad_ch.status().message()).find("img_channels 2 is not 1 or 3"),
            std::string::npos);
  EXPECT_FALSE(ParseCheckpointManifest("{", "manifest.json").ok());
}

TEST(AuditHashTest, ChainHashIsSha256OfPrevAndCanonicalJson) {
  AuditRecord r;
  r.seq = 1;
  r.at = "2024-05-01T12:00:00.000001Z";
  r.actor = "cli";
  r.action = "token.created";
  r.payload = Json::Object();
  r.payload["b"] = 2;
  r.payload["a"] = 1.0;  // integral double: hashed as the integer 1
  r.prev_hash = kGenesisHash;
  std::string canonical = CanonicalAuditJson(r);
  EXPECT_EQ(canonical,
            "{\"action\":\"token.created\",\"actor\":\"cli\",\"at\":\"2024-05-01T12:00:00."
            "000001Z\",\"payload\":{\"a\":1,\"b\":2},\"request_id\":\"\",\"seq\":1}");
  EXPECT_EQ(ComputeAuditHash(r), Sha256Hex(std::string(kGenesisHash) + canonical));
  AuditRecord edited = r;
  edited.payload["b"] = 3;
  EXPECT_NE(ComputeAuditHash(edited), ComputeAuditHash(r));
  // What PostgreSQL hands back for 1e18 hashes the same as what was written.
  Json big = Json::Object();
  big["n"] = 1e18;
  EXPECT_EQ(NormalizeAuditPayload(big).Dump(),
            NormalizeAuditPayload(Json::Parse("{\"n\":1000000000000000000}")).Dump());
}

TEST(LoggingTest, OneJsonObjectPerLine) {
  Logger log("test");
  std::string line = log.Format(LogLevel::kWarn, "hello \"world\"", {{"request_id", "r1"}});
  Json j = Json::Parse(line);
  EXPECT_EQ(j.at("level").AsString(), "warn");
  EXPECT_EQ(j.at("msg").AsString(), "hello \"world\"");
  EXPECT_EQ(j.at("request_id").AsString(), "r1");
  EXPECT_EQ(j.at("component").AsString(), "test");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace lethe
