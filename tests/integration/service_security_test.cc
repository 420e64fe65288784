// Security properties of the running server (real gRPC, real PostgreSQL): secrets and
// personal data are stored only as hashes, token hashes are compared in constant time,
// mutual TLS refuses certificates from any CA but the configured one, requesters are
// isolated from each other, request ids cannot be guessed, and uploaded images never
// reach the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/auth.h"
#include "common/validation.h"
#include "engine/base/file_util.h"
#include "engine/base/png.h"
#include "engine/base/sha256.h"
#include "server/submit_validator.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

constexpr char kFixtureSalt[] = "test-salt-0123456789";  // what ServerProcess passes

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Tables whose rows could carry a secret or personal data.
const char* const kTables[] = {"api_tokens",    "audit_log",    "forget_requests", "request_items",
                               "jobs",          "job_requests", "models",          "model_versions",
                               "dataset_items", "tombstones"};

// Rows of `table` whose text form contains `needle` (strpos: no pattern characters).
int64_t RowsContaining(const TestDatabase& db, const std::string& table,
                       const std::string& needle) {
  std::string quoted;
  for (char c : needle) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return std::stoll(db.Query(absl::StrCat("SELECT count(*) FROM ", table,
                                          " t WHERE strpos(t::text, '", quoted, "') > 0")));
}

class SecurityTest : public ServiceTest {};

TEST_F(SecurityTest, TokensAreStoredOnlyAsTheirSha256) {
  const std::vector<std::string> secrets = {s_->admin, s_->dpo, s_->dpo2, s_->service, s_->op};
  for (const std::string& secret : secrets) {
    ASSERT_EQ(secret.rfind("lethe_", 0), 0u);
    // The stored hash is the SHA-256 of the secret, and it authenticates.
    EXPECT_EQ(s_->db.Query("SELECT count(*) FROM api_tokens WHERE token_sha256 = '" +
                           HashTokenSecret(secret) + "'"),
              "1");
    // The secret itself, and its 43-character random part, appear in no row anywhere.
    for (const char* table : kTables) {
      SCOPED_TRACE(table);
      EXPECT_EQ(RowsContaining(s_->db, table, secret), 0);
      EXPECT_EQ(RowsContaining(s_->db, table, secret.substr(6)), 0);
    }
  }
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM api_tokens WHERE token_sha256 !~ '^[0-9a-f]{64}$'"),
            "0");
  // The log does not carry them either (the server logs every call at debug level here).
  pb::ApiToken who;
  ASSERT_TRUE(s_->tokens->WhoAmI(Ctx(s_->dpo).get(), {}, &who).ok());
  const std::string log = ReadWhole(s_->server->log_path());
  ASSERT_FALSE(log.empty());
  for (const std::string& secret : secrets)
    EXPECT_EQ(log.find(secret.substr(6)), std::string::npos);
}

// Equal-length inputs that differ in the first byte must take as long to compare as ones
// that differ in the last: an early exit would make the first case ~1000x faster.
TEST(ConstantTimeEqualsTest, NoEarlyExitOnMismatch) {
  const std::string a(1 << 20, 'k');
  std::string first = a, last = a;
  first.front() = 'x';
  last.back() = 'x';
  EXPECT_TRUE(ConstantTimeEquals(a, a));
  EXPECT_FALSE(ConstantTimeEquals(a, first));
  EXPECT_FALSE(ConstantTimeEquals(a, last));
  for (size_t pos : {size_t(0), size_t(1), a.size() / 2, a.size() - 1}) {
    std::string b = a;
    b[pos] = char(b[pos] ^ 1);  // a single bit anywhere
    EXPECT_FALSE(ConstantTimeEquals(a, b)) << pos;
  }
  EXPECT_FALSE(ConstantTimeEquals(a, a.substr(1)));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));

  // Minimum of many runs: robust against a busy machine (noise only adds time).
  auto fastest = [&](const std::string& b) {
    auto best = std::chrono::nanoseconds::max();
    for (int i = 0; i < 25; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      bool eq = ConstantTimeEquals(a, b);
      auto dt = std::chrono::steady_clock::now() - t0;
      EXPECT_FALSE(eq);
      best = std::min(best, std::chrono::duration_cast<std::chrono::nanoseconds>(dt));
    }
    return best.count();
  };
  const int64_t t_first = fastest(first);
  const int64_t t_last = fastest(last);
  EXPECT_GT(t_first * 4, t_last) << "first-byte mismatch " << t_first << " ns, last-byte " << t_last
                                 << " ns";
  EXPECT_GT(t_last * 4, t_first) << "first-byte mismatch " << t_first << " ns, last-byte " << t_last
                                 << " ns";
}

TEST_F(SecurityTest, RequestersCannotReachEachOthersRequests) {
  pb::ForgetRequest mine;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/40"}), &mine).ok());
  const std::string row_before = s_->db.Query(
      "SELECT concat_ws('|', state, due_at, extension_days, cancel_requested) FROM "
      "forget_requests WHERE id = '" +
      mine.id() + "'");
  const std::string audit_before = s_->db.Query("SELECT count(*) FROM audit_log");

  // PERMISSION_DENIED for every call on a request that exists but is not the caller's
  // (NOT_FOUND is kept for ids that do not exist; ids are unguessable, see below).
  for (const std::string* other : {&s_->dpo2, &s_->service}) {
    pb::GetForgetRequestRequest get;
    get.set_id(mine.id());
    pb::ForgetRequest r;
    grpc::Status st = s_->unlearning->GetForgetRequest(Ctx(*other).get(), get, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();

    pb::WatchForgetRequestRequest watch;
    watch.set_id(mine.id());
    auto ctx = Ctx(*other, 3000);
    auto reader = s_->unlearning->WatchForgetRequest(ctx.get(), watch);
    int updates = 0;
    while (reader->Read(&r)) ++updates;
    st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    EXPECT_EQ(updates, 0);

    pb::CancelForgetRequestRequest cancel;
    cancel.set_id(mine.id());
    cancel.set_reason("not mine");
    st = s_->unlearning->CancelForgetRequest(Ctx(*other).get(), cancel, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();

    pb::ExtendDeadlineRequest extend;
    extend.set_id(mine.id());
    extend.set_extra_days(10);
    extend.set_reason("not mine either");
    st = s_->unlearning->ExtendDeadline(Ctx(*other).get(), extend, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();

    pb::ListAuditRecordsRequest audit;
    audit.set_request_id(mine.id());
    pb::ListAuditRecordsResponse records;
    st = s_->audit->ListAuditRecords(Ctx(*other).get(), audit, &records);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    EXPECT_EQ(records.records_size(), 0);
  }
  // Nothing about the request changed, nothing was audited.
  EXPECT_EQ(s_->db.Query("SELECT concat_ws('|', state, due_at, extension_days, cancel_requested) "
                         "FROM forget_requests WHERE id = '" +
                         mine.id() + "'"),
            row_before);
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log"), audit_before);

  // An id that does not exist is NOT_FOUND for the owner's peers too (no other state).
  pb::GetForgetRequestRequest ghost;
  ghost.set_id(NewUuid());
  pb::ForgetRequest r;
  EXPECT_EQ(s_->unlearning->GetForgetRequest(Ctx(s_->dpo2).get(), ghost, &r).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// UUID version 4: 122 random bits. Checks the format, that ids are distinct and not
// sequential, and that each of the 122 random bit positions is set about half the time
// over 1000 ids (a counter or clock-based scheme leaves most positions constant).
void ExpectRandomV4Ids(const std::vector<std::string>& ids) {
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());
  std::array<int, 128> ones{};
  for (size_t n = 0; n < ids.size(); ++n) {
    const std::string& id = ids[n];
    ASSERT_EQ(id.size(), 36u) << id;
    ASSERT_TRUE(IsUuid(id)) << id;
    ASSERT_EQ(id[14], '4') << id;                                          // version
    ASSERT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // variant
    std::string hex;
    for (char c : id)
      if (c != '-') hex += c;
    ASSERT_TRUE(IsLowerHex(hex)) << id;
    for (int bit = 0; bit < 128; ++bit) {
      int nibble = std::stoi(hex.substr(size_t(bit / 4), 1), nullptr, 16);
      ones[size_t(bit)] += (nibble >> (3 - bit % 4)) & 1;
    }
    if (n > 0) {
      EXPECT_NE(id.substr(0, 8), ids[n - 1].substr(0, 8)) << "consecutive ids share a prefix";
    }
  }
  if (ids.size() < 1000) return;
  int random_positions = 0;
  for (int bit = 0; bit < 128; ++bit) {
    const bool fixed = (bit >= 48 && bit < 52) || bit == 64 || bit == 65;  // version, variant
    if (fixed) continue;
    ++random_positions;
    // Binomial(1000, 1/2): sd 15.8, so [380, 620] is a 7.5-sigma band.
    EXPECT_GT(ones[size_t(bit)], 380) << "bit " << bit;
    EXPECT_LT(ones[size_t(bit)], 620) << "bit " << bit;
  }
  EXPECT_EQ(random_positions, 122);
}

TEST_F(SecurityTest, RequestIdsAreRandomVersion4Uuids) {
  std::vector<std::string> generated;
  for (int i = 0; i < 1000; ++i) generated.push_back(NewUuid());
  ExpectRandomV4Ids(generated);

  // The ids the server hands out over the API (100 submissions, one token).
  std::vector<std::string> served;
  for (int i = 0; i < 100; ++i) {
    pb::ForgetRequest r;
    grpc::Status st =
        Submit(s_->service, ItemsRequest(s_->model.name, {absl::StrCat("train/", 100 + i)}), &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_NE(r.id(), r.request_id());
    served.push_back(r.id());
  }
  ExpectRandomV4Ids(served);
  std::vector<std::string> sorted = served;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(sorted, served) << "ids come out in submission order";
}

TEST_F(SecurityTest, UploadedImageBytesNeverReachTheLog) {
  // A distinctive image: the text "LETHE-PIXELS" repeated as gray values.
  Image8 img;
  img.width = 28;
  img.height = 28;
  img.channels = 1;
  const std::string motif = "LETHE-PIXELS";
  for (int i = 0; i < 28 * 28; ++i) img.pixels.push_back(uint8_t(motif[size_t(i) % motif.size()]));
  const std::string png = EncodePng(img);
  const std::string pixels(img.pixels.begin(), img.pixels.end());

  auto accepted = ItemsRequest(s_->model.name, {});
  accepted.set_forget_unmatched_images(true);
  auto* a = accepted.mutable_items()->add_images();
  a->set_name("portrait.png");
  a->set_png(png);
  pb::ForgetRequest r;
  grpc::Status st = Submit(s_->dpo, accepted, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // A rejected upload (valid prefix, truncated) must not be echoed into the log either.
  auto rejected = ItemsRequest(s_->model.name, {});
  rejected.mutable_items()->add_images()->set_png(png.substr(0, png.size() - 20));
  st = Submit(s_->dpo, rejected, &r);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  // The log is live and did record both calls (so the absence below means something).
  const std::string log = ReadWhole(s_->server->log_path());
  ASSERT_NE(log.find("request.received"), std::string::npos);
  ASSERT_NE(log.find("CORRUPT_IMAGE"), std::string::npos) << s_->server->LogTail();

  const std::string body = png.substr(8, 64);  // IHDR and the start of IDAT
  const std::vector<std::pair<std::string, std::string>> encodings = {
      {"png base64", absl::Base64Escape(png).substr(12, 48)},
      {"png base64url", absl::WebSafeBase64Escape(png).substr(12, 48)},
      {"png hex", absl::BytesToHexString(body)},
      {"png hex upper", absl::AsciiStrToUpper(absl::BytesToHexString(body))},
      {"png raw", png.substr(16, 48)},
      {"png C-escaped", absl::CEscape(body)},
      {"pixels raw", pixels.substr(0, 48)},
      {"pixels hex", absl::BytesToHexString(pixels.substr(0, 48))},
      {"pixels base64", absl::Base64Escape(pixels.substr(0, 48))},
  };
  for (const auto& [what, needle] : encodings) {
    EXPECT_EQ(log.find(needle), std::string::npos) << what << " found in the server log";
  }
}

TEST_F(SecurityTest, AuditRecordsHoldOnlyASaltedHashOfTheSubject) {
  const std::string subject = "jane.doe+erasure@example.com";
  auto req = ItemsRequest(s_->model.name, {"train/41"});
  req.set_subject_reference(subject);
  pb::ForgetRequest r;
  ASSERT_TRUE(Submit(s_->dpo, req, &r).ok());
  const std::string expected = HashSubjectReference(kFixtureSalt, subject);
  EXPECT_EQ(r.subject_hash(), expected);
  EXPECT_NE(expected, Sha256Hex(subject));  // salted, not a bare (dictionary-able) hash
  for (const char* table : kTables) {
    SCOPED_TRACE(table);
    EXPECT_EQ(RowsContaining(s_->db, table, subject), 0);
    EXPECT_EQ(RowsContaining(s_->db, table, "jane.doe"), 0);
  }
  EXPECT_EQ(s_->db.Query("SELECT payload->>'subject_hash' FROM audit_log WHERE request_id = '" +
                         r.id() + "' AND action = 'request.received'"),
            expected);
  EXPECT_EQ(ReadWhole(s_->server->log_path()).find("jane.doe"), std::string::npos);

  // A server with another salt hashes the same subject differently (a hash alone does
  // not link subjects across deployments).
  const std::string other_salt = "another-salt-abcdef-0123";
  ServerOptions options;
  options.extra_args = {"--subject-salt=" + other_salt};
  ServerProcess other(s_->db.url(), s_->dir.path(), options);
  auto stub = pb::Unlearning::NewStub(other.channel());
  auto again = ItemsRequest(s_->model.name, {"train/42"});
  again.set_subject_reference(subject);
  pb::ForgetRequest r2;
  grpc::Status st = stub->SubmitForgetRequest(Ctx(s_->dpo).get(), again, &r2);
  ASSERT_TRUE(st.ok()) << st.error_message() << other.LogTail();
  EXPECT_EQ(r2.subject_hash(), HashSubjectReference(other_salt, subject));
  EXPECT_NE(r2.subject_hash(), r.subject_hash());
  EXPECT_EQ(RowsContaining(s_->db, "audit_log", subject), 0);
}

// Certificates for mutual TLS, made with the openssl CLI in `dir`: two CAs (a, b), a
// server certificate for localhost signed by a, client certificates signed by a and b,
// and a self-signed client certificate.
void MakePki(const std::string& dir) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'\n",
      "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key "
      "2>/dev/null; }\n",
      "ca() { key $1; openssl req -x509 -new -key $1.key -days 1 -subj /CN=$1 "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
      "-out $1.pem; }\n",
      "leaf() { key $1; openssl req -new -key $1.key -subj /CN=$3 -out $1.csr; "
      "printf '%s\\n' \"$4\" > $1.ext; "
      "openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 1 "
      "-extfile $1.ext -out $1.pem 2>/dev/null; }\n",
      "ca ca_a; ca ca_b\n",
      "leaf server ca_a localhost "
      "'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'\n",
      "leaf client_a ca_a client 'extendedKeyUsage=clientAuth'\n",
      "leaf client_b ca_b client 'extendedKeyUsage=clientAuth'\n",
      "key self; openssl req -x509 -new -key self.key -days 1 -subj /CN=client -out self.pem\n");
  std::string out;
  ASSERT_EQ(RunCommand({"/bin/sh", "-c", script}, &out), 0) << out;
}

TEST(MutualTlsTest, OnlyCertificatesFromTheConfiguredCaGetIn) {
  TestDatabase db;
  TempDir dir;
  MakePki(dir.path());
  if (::testing::Test::HasFatalFailure()) return;
  auto pem = [&](const std::string& name) { return ReadFile(dir.path() + "/" + name); };
  const std::string token = CreateTokenCli(db.url(), dir.path(), "dpo", "mtls-dpo");
  ServerOptions tls;
  tls.tls_root_pem = pem("ca_a.pem");
  tls.client_cert_pem = pem("client_a.pem");
  tls.client_key_pem = pem("client_a.key");
  tls.extra_args = {"--tls-cert=" + dir.path() + "/server.pem",
                    "--tls-key=" + dir.path() + "/server.key",
                    "--tls-client-ca=" + dir.path() + "/ca_a.pem"};
  ServerProcess server(db.url(), dir.path(), tls);

  auto who_am_i = [&](const std::string& root, const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = root;
    ssl.pem_cert_chain = cert;
    ssl.pem_private_key = key;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection reuse between cases
    auto channel = grpc::CreateCustomChannel(absl::StrCat("localhost:", server.port()),
                                             grpc::SslCredentials(ssl), args);
    pb::ApiToken who;
    return pb::Tokens::NewStub(channel)->WhoAmI(Ctx(token, 5000).get(), {}, &who);
  };
  // The configured CA's client certificate gets in.
  grpc::Status st = who_am_i(pem("ca_a.pem"), pem("client_a.pem"), pem("client_a.key"));
  EXPECT_TRUE(st.ok()) << st.error_message() << server.LogTail();
  // A certificate from another CA, a self-signed one, and none at all are refused at the
  // handshake, before any token is looked at.
  st = who_am_i(pem("ca_a.pem"), pem("client_b.pem"), pem("client_b.key"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  st = who_am_i(pem("ca_a.pem"), pem("self.pem"), pem("self.key"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  st = who_am_i(pem("ca_a.pem"), "", "");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  // A client that trusts only the other CA refuses the server in turn.
  st = who_am_i(pem("ca_b.pem"), pem("client_a.pem"), pem("client_a.key"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

}  // namespace
}  // namespace lethe::testing
