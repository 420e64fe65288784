// Hostile input over real gRPC against a real PostgreSQL: oversized and deeply repeated
// messages, PNGs that declare huge dimensions, out-of-range class labels, ids built from
// path characters, SQL and array-literal metacharacters, and Unicode. Each bad request
// gets a precise status and message and leaves every table and the audit chain exactly as
// they were; well-formed text that merely looks dangerous is stored and returned verbatim.
//
// Policy (docs/api.md, "Conventions"): free text (legal_ground_text, reasons, image names,
// subject_reference) is any UTF-8 without control characters and round-trips byte for
// byte; identifiers (request ids, model names, item ids) follow their own rules; SQL
// metacharacters are data everywhere, because every query is parameterised.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "service_fixture.h"

namespace lethe::testing {
namespace {

// Every row count the service writes to, and the head of the audit chain.
std::string Snapshot(const TestDatabase& db) {
  return db.Query(
      "SELECT concat_ws(',', (SELECT count(*) FROM forget_requests),"
      " (SELECT count(*) FROM request_items), (SELECT count(*) FROM jobs),"
      " (SELECT count(*) FROM job_requests), (SELECT count(*) FROM tombstones),"
      " (SELECT count(*) FROM audit_log), (SELECT coalesce(max(seq), 0) FROM audit_log),"
      " (SELECT count(*) FROM models), (SELECT count(*) FROM api_tokens))");
}

std::string BigEndian32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

std::string PngChunk(const std::string& type, const std::string& body) {
  std::string data = type + body;
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size()));
  return BigEndian32(uint32_t(body.size())) + data + BigEndian32(uint32_t(crc));
}

// A PNG whose header declares width x height (8-bit, `color_type`) but whose single IDAT
// holds only `raw` (filter bytes included) compressed: what a decompression-bomb or
// huge-allocation attack sends.
std::string DeclaredPng(uint32_t width, uint32_t height, int color_type, const std::string& raw) {
  std::string ihdr = BigEndian32(width) + BigEndian32(height) + char(8) + char(color_type) +
                     char(0) + char(0) + char(0);
  uLongf size = compressBound(uLong(raw.size()));
  std::string z(size, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
           uLong(raw.size()));
  z.resize(size);
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + PngChunk("IDAT", z) +
         PngChunk("IEND", "");
}

struct Hostile {
  const char* name;
  std::function<void(pb::SubmitForgetRequestRequest&)> mutate;
  grpc::StatusCode code;
  const char* message;  // substring of the status message
  const char* reason;   // ErrorDetail.reason
};

class HostileInputTest : public ServiceTest {
 protected:
  // Submits `req` as the DPO and checks code, message, reason, and that nothing changed.
  void ExpectRejected(const pb::SubmitForgetRequestRequest& req, grpc::StatusCode code,
                      const std::string& message, const std::string& reason,
                      int deadline_ms = 20000) {
    const std::string before = Snapshot(s_->db);
    pb::ForgetRequest r;
    auto ctx = Ctx(s_->dpo, deadline_ms);
    grpc::Status st = s_->unlearning->SubmitForgetRequest(ctx.get(), req, &r);
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(message), std::string::npos)
        << "message: " << st.error_message() << "\nexpected to contain: " << message;
    if (!reason.empty()) {
      EXPECT_EQ(DetailOf(st).reason(), reason) << st.error_message();
    }
    EXPECT_EQ(Snapshot(s_->db), before);
  }
};

TEST_F(HostileInputTest, OversizedMessageIsRefusedByTheTransportAndTheServerCarriesOn) {
  const std::string before = Snapshot(s_->db);
  auto req = ItemsRequest(s_->model.name, {"train/3"});
  // One byte over the default --max-message-bytes (64 MiB) once framed.
  req.mutable_items()->add_images()->set_png(std::string(64 << 20, 'x'));
  pb::ForgetRequest r;
  auto ctx = Ctx(s_->dpo, 60000);
  grpc::Status st = s_->unlearning->SubmitForgetRequest(ctx.get(), req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("larger than max"), std::string::npos) << st.error_message();
  EXPECT_EQ(Snapshot(s_->db), before);
  // The server is unharmed: the same request without the blob goes through.
  pb::ForgetRequest ok;
  ASSERT_TRUE(Submit(s_->dpo, ItemsRequest(s_->model.name, {"train/3"}), &ok).ok())
      << s_->server->LogTail();
}

TEST_F(HostileInputTest, DeeplyRepeatedFieldsAreRefusedQuicklyByCount) {
  auto many_ids = ItemsRequest(s_->model.name, {});
  for (int i = 0; i < 100000; ++i) many_ids.mutable_items()->add_item_ids(absl::StrCat("x/", i));
  auto start = std::chrono::steady_clock::now();
  ExpectRejected(many_ids, grpc::StatusCode::INVALID_ARGUMENT,
                 "items: 100000 items and images; the limit is 4096 per request", "TOO_MANY_ITEMS");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  // 100000 copies of one id: the count limit fires before any per-id work.
  auto same_id = ItemsRequest(s_->model.name, {});
  for (int i = 0; i < 100000; ++i) same_id.mutable_items()->add_item_ids("train/1");
  ExpectRejected(same_id, grpc::StatusCode::INVALID_ARGUMENT, "the limit is 4096",
                 "TOO_MANY_ITEMS");

  // More images than allowed, even though ids + images stay under the item limit.
  auto many_images = ItemsRequest(s_->model.name, {});
  for (int i = 0; i < 300; ++i) many_images.mutable_items()->add_images()->set_png("p");
  ExpectRejected(many_images, grpc::StatusCode::INVALID_ARGUMENT,
                 "items.images: 300 images; the limit is 256 per request", "TOO_MANY_IMAGES");

  // A legal ground text of 1 MiB: refused by length, not stored.
  auto long_text = ItemsRequest(s_->model.name, {"train/1"});
  long_text.set_legal_ground_text(std::string(1 << 20, 'a'));
  ExpectRejected(long_text, grpc::StatusCode::INVALID_ARGUMENT,
                 "legal_ground_text: is 1048576 bytes; the limit is 1000", "");
}

TEST_F(HostileInputTest, PngsDeclaringHugeDimensionsAreRefusedBeforeDecoding) {
  struct Case {
    const char* name;
    std::string png;
    const char* message;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"2^31-1 square", DeclaredPng(0x7fffffff, 0x7fffffff, 0, std::string(29, '\0')),
       "items.images[0].png", "CORRUPT_IMAGE"},
      {"100000 x 100000", DeclaredPng(100000, 100000, 0, std::string(1000, '\0')),
       "image is 100000x100000; this model's training items are 28x28", "IMAGE_SHAPE_MISMATCH"},
      {"28 wide, 65535 high", DeclaredPng(28, 65535, 0, std::string(29, '\0')), "image is 28x65535",
       "IMAGE_SHAPE_MISMATCH"},
      {"zero width", DeclaredPng(0, 28, 0, ""), "items.images[0].png", "CORRUPT_IMAGE"},
      {"colour for a gray model", DeclaredPng(28, 28, 2, std::string(28 * 85, '\0')),
       "image is in colour", "IMAGE_SHAPE_MISMATCH"},
      // Right header, far too little pixel data.
      {"truncated pixel data", DeclaredPng(28, 28, 0, std::string(29, '\0')), "items.images[0].png",
       "CORRUPT_IMAGE"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto req = ItemsRequest(s_->model.name, {});
    auto* img = req.mutable_items()->add_images();
    img->set_name("bomb.png");
    img->set_png(c.png);
    auto start = std::chrono::steady_clock::now();
    ExpectRejected(req, grpc::StatusCode::INVALID_ARGUMENT, c.message, c.reason);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
}

TEST_F(HostileInputTest, ClassLabelsOutsideTheModelAreRefused) {
  for (int label : {-1, -2147483647 - 1, 10, 11, 2147483647}) {
    SCOPED_TRACE(label);
    auto req = ItemsRequest(s_->model.name, {});
    req.mutable_class_target()->set_label(label);
    if (label < 0) {
      ExpectRejected(req, grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("class_target.label: ", label, " is negative"), "OUT_OF_RANGE");
    } else {
      ExpectRejected(req, grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("class_target.label: ", label, " is outside [0, 10) for model"),
                     "OUT_OF_RANGE");
    }
  }
}

TEST_F(HostileInputTest, IdsWithPathCharactersAreRefused) {
  struct Case {
    std::string id;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"../../etc/passwd", "has a \".\" or \"..\" segment"},
      {"train/../../x", "has a \".\" or \"..\" segment"},
      {"train/..", "has a \".\" or \"..\" segment"},
      {"./train/1", "has a \".\" or \"..\" segment"},
      {"/etc/passwd", "must be relative"},
      {"/", "must be relative"},
      {"train/1/", "ends with \"/\""},
      {"train//1", "has an empty path segment"},
      {std::string("train/1\0.png", 12), "contains a control character"},
      {std::string("\0", 1), "contains a control character"},
      {"train\\..\\..\\x", "contains a backslash"},
      {"C:\\Windows", "contains a backslash"},
      {"train/1\r\nX-Injected: yes", "contains a control character"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    ExpectRejected(ItemsRequest(s_->model.name, {c.id}), grpc::StatusCode::INVALID_ARGUMENT,
                   c.message, "INVALID_ITEM_ID");
  }
  // The same rules guard every other identifier that reaches a path or a query.
  for (const std::string& model : {std::string("../fmnist"), std::string("a/b"),
                                   std::string("m\\x"), std::string("m\0x", 3)}) {
    auto req = ItemsRequest(model, {"train/1"});
    ExpectRejected(req, grpc::StatusCode::INVALID_ARGUMENT, "is not a model name", "");
  }
  pb::GetForgetRequestRequest get;
  get.set_id("../00000000-0000-4000-8000-000000000000");
  pb::ForgetRequest r;
  grpc::Status st = s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(DetailOf(st).reason(), "INVALID_UUID") << st.error_message();
}

TEST_F(HostileInputTest, SqlMetacharactersAreDataNeverCode) {
  const std::vector<std::string> sql = {
      "'; DROP TABLE forget_requests; --", "x' OR '1'='1", "%",    "_",     "\\", "50%_off'--",
      "\"; DELETE FROM audit_log; --",     "$1",           "NULL", "{a,b}",
  };
  // As identifiers: rejected by their rules (model names, UUIDs) or, where the text is a
  // well-formed item id, looked up as data and reported unknown, verbatim.
  for (const std::string& s : sql) {
    SCOPED_TRACE(s);
    ExpectRejected(ItemsRequest(s, {"train/1"}), grpc::StatusCode::INVALID_ARGUMENT,
                   "is not a model name", "");
    auto bad_key = ItemsRequest(s_->model.name, {"train/1"});
    bad_key.set_request_id(s);
    ExpectRejected(bad_key, grpc::StatusCode::INVALID_ARGUMENT, "request_id: is not a UUID",
                   "INVALID_UUID");
    if (s != "\\") {
      const std::string id = "train/" + s;
      ExpectRejected(ItemsRequest(s_->model.name, {"train/1", id}), grpc::StatusCode::NOT_FOUND,
                     "1 item id(s) are not in the training manifest of model", "UNKNOWN_ITEMS");
    }
  }
  // Filters and ids of the read paths.
  for (const std::string& s : sql) {
    SCOPED_TRACE(s);
    pb::ListForgetRequestsRequest list;
    list.set_model(s);
    pb::ListForgetRequestsResponse page;
    grpc::Status st = s_->unlearning->ListForgetRequests(Ctx(s_->op).get(), list, &page);
    // Either refused as a model name, or an honest empty result: never "everything".
    if (st.ok()) {
      EXPECT_EQ(page.forget_requests_size(), 0);
    } else {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    }
    pb::ListForgetRequestsRequest by_requester;
    by_requester.set_requester(s);
    st = s_->unlearning->ListForgetRequests(Ctx(s_->op).get(), by_requester, &page);
    if (st.ok()) {
      EXPECT_EQ(page.forget_requests_size(), 0);
    } else {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    }
    pb::ListForgetRequestsRequest token;
    token.set_page_token(s);
    st = s_->unlearning->ListForgetRequests(Ctx(s_->op).get(), token, &page);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    pb::ListAuditRecordsRequest audit;
    audit.set_request_id(s);
    pb::ListAuditRecordsResponse records;
    st = s_->audit->ListAuditRecords(Ctx(s_->op).get(), audit, &records);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    pb::GetForgetRequestRequest get;
    get.set_id(s);
    pb::ForgetRequest r;
    st = s_->unlearning->GetForgetRequest(Ctx(s_->op).get(), get, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  }
  // As free text: stored and returned byte for byte; one request, one audit record.
  std::string text;
  for (const std::string& s : sql) text += s + " ";
  const std::string before_requests = s_->db.Query("SELECT count(*) FROM forget_requests");
  const std::string before_audit = s_->db.Query("SELECT count(*) FROM audit_log");
  auto req = ItemsRequest(s_->model.name, {"train/5"});
  req.set_legal_ground(pb::LEGAL_GROUND_OTHER);
  req.set_legal_ground_text(text);
  req.set_subject_reference(sql[0]);
  pb::ForgetRequest created;
  grpc::Status st = Submit(s_->dpo, req, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(created.legal_ground_text(), text);
  pb::GetForgetRequestRequest get;
  get.set_id(created.id());
  pb::ForgetRequest back;
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &back).ok());
  EXPECT_EQ(back.legal_ground_text(), text);
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM forget_requests"),
            std::to_string(std::stoll(before_requests) + 1));
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM audit_log"),
            std::to_string(std::stoll(before_audit) + 1));
  EXPECT_EQ(s_->db.Query("SELECT legal_ground_text FROM forget_requests WHERE id = '" +
                         created.id() + "'"),
            text);
}

TEST_F(HostileInputTest, HostileButValidItemIdsRoundTripThroughTheDatabase) {
  // A data set whose ids contain quotes, commas, braces, percent, underscore, the word
  // NULL and non-ASCII letters: they must be stored, matched and returned exactly (array
  // literals and LIKE patterns are where such ids usually go wrong).
  const std::vector<std::string> ids = {"o'brien/1",
                                        "a,b/2",
                                        "{x}/3",
                                        "50%_off/4",
                                        "NULL",
                                        "quote\"d/6",
                                        "caf\xc3\xa9/7",
                                        "\xe4\xb8\xad\xe6\x96\x87/8",
                                        "emoji\xf0\x9f\x99\x82/9",
                                        "semi;colon --/10"};
  FakeModel m = WriteFakeModel(s_->dir.path(), "hostile-ids", 0, 0);
  std::string jsonl;
  for (size_t i = 0; i < ids.size(); ++i) {
    Json line = Json::Object();
    line["id"] = ids[i];
    line["sha256"] = FakePixelsSha256(int(500 + i));
    line["label"] = int(i % 10);
    line["split"] = "train";
    jsonl += line.Dump() + "\n";
  }
  WriteFileAtomic(m.items_file, jsonl);
  grpc::Status st = RegisterFakeModel(*s_->models, s_->op, m);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(s_->db.Query("SELECT count(*) FROM dataset_items WHERE model = 'hostile-ids'"),
            std::to_string(ids.size()));

  // A prefix of the real ids with a LIKE wildcard must not match anything.
  ExpectRejected(ItemsRequest("hostile-ids", {"50%"}), grpc::StatusCode::NOT_FOUND,
                 "not in the training manifest", "UNKNOWN_ITEMS");
  ExpectRejected(ItemsRequest("hostile-ids", {"o'brien/_"}), grpc::StatusCode::NOT_FOUND,
                 "not in the training manifest", "UNKNOWN_ITEMS");

  pb::ForgetRequest created;
  st = Submit(s_->dpo, ItemsRequest("hostile-ids", ids), &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  pb::GetForgetRequestRequest get;
  get.set_id(created.id());
  pb::ForgetRequest back;
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &back).ok());
  std::vector<std::string> got;
  for (const auto& item : back.items()) got.push_back(item.item_id());
  std::vector<std::string> want = ids;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  for (const auto& item : back.items()) {
    auto at = std::find(ids.begin(), ids.end(), item.item_id());
    ASSERT_NE(at, ids.end());
    EXPECT_EQ(item.sha256(), FakePixelsSha256(int(500 + (at - ids.begin()))));
  }
}

TEST_F(HostileInputTest, UnicodeFreeTextIsAcceptedAndRoundTrips) {
  const std::string text =
      "L\xc3\xb6schung gem\xc3\xa4\xc3\x9f Art. 17 DSGVO \xe2\x80\x94 "  // German, em dash
      "\xe4\xbe\x9d\xe6\x8d\xae\xe7\xac\xac"
      "17\xe6\x9d\xa1 "                                    // Chinese
      "\xd8\xa7\xd9\x84\xd9\x85\xd8\xa7\xd8\xaf\xd8\xa9 "  // Arabic (RTL)
      "\xf0\x9f\x99\x82 e\xcc\x81";                        // emoji, combining accent
  auto req = ItemsRequest(s_->model.name, {"train/7"});
  req.set_legal_ground(pb::LEGAL_GROUND_OTHER);
  req.set_legal_ground_text(text);
  req.set_subject_reference("J\xc3\xbcrgen M\xc3\xbcller <j@example.de>");
  auto* img = req.mutable_items()->add_images();
  img->set_name("\xe5\x86\x99\xe7\x9c\x9f.png");
  img->set_png(FakePng(8));
  pb::ForgetRequest created;
  grpc::Status st = Submit(s_->dpo, req, &created);
  ASSERT_TRUE(st.ok()) << st.error_message();
  pb::GetForgetRequestRequest get;
  get.set_id(created.id());
  pb::ForgetRequest back;
  ASSERT_TRUE(s_->unlearning->GetForgetRequest(Ctx(s_->dpo).get(), get, &back).ok());
  EXPECT_EQ(back.legal_ground_text(), text);
  bool found_name = false;
  for (const auto& item : back.items())
    if (item.uploaded()) found_name = item.upload_name() == "\xe5\x86\x99\xe7\x9c\x9f.png";
  EXPECT_TRUE(found_name);
  EXPECT_EQ(back.subject_hash().size(), 64u);

  // Identifiers stay ASCII patterns or plain relative paths; Unicode there is refused
  // where the rules say so, with a message naming the field.
  ExpectRejected(ItemsRequest("m\xc3\xb6"
                              "del",
                              {"train/1"}),
                 grpc::StatusCode::INVALID_ARGUMENT, "model: ", "");
  // Control characters hidden in Unicode text (bidi override is allowed text; C1 NEL is
  // not valid here as raw 0x85 and so is not UTF-8 - protobuf refuses it on the wire).
  auto ansi = ItemsRequest(s_->model.name, {"train/1"});
  ansi.set_legal_ground_text("ok \xe2\x80\xae \x1b[2J");
  ExpectRejected(ansi, grpc::StatusCode::INVALID_ARGUMENT,
                 "legal_ground_text: contains a control character", "");
}

}  // namespace
}  // namespace lethe::testing
