// Shared setup of the worker's integration tests: a fresh PostgreSQL database per test
// binary (on the cluster named by LETHE_TEST_DATABASE_URL), migrated, plus helpers that
// insert what lethe-server would (tokens, models, versions, queued requests) by SQL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/db.h"

namespace lethe::worker::testing {

// Creates database `name` (dropping an old one) on the test cluster, applies the
// migrations and returns its URL. Fails the calling test when no cluster is configured.
std::string CreateTestDatabase(const std::string& name);
void DropTestDatabase(const std::string& name);

std::unique_ptr<DbPool> MakePool(const std::string& url, int size = 4);

struct ItemSpec {
  std::optional<std::string> item_id;  // nullopt: an unmatched upload
  std::string sha256;
  std::optional<std::string> png;  // uploaded bytes
};

class Fixture {
 public:
  explicit Fixture(std::string url);

  pqxx::connection& conn() { return *conn_; }
  int64_t token_id() const { return token_id_; }

  // A registered model with one active production version (uri = store key).
  int64_t AddModel(const std::string& name, const std::string& version_sha256,
                   const std::string& uri, int resolution = 8, int num_classes = 10,
                   const std::string& dataset_name = "", const std::string& fingerprint = "");
  // A queued forget request, as SubmitForgetRequest leaves it; returns its id.
  std::string AddItemsRequest(const std::string& model, const std::vector<ItemSpec>& items,
                              const std::string& params_json = "{}",
                              const std::string& mode = "few_shot");
  std::string AddClassRequest(const std::string& model, int label,
                              const std::string& params_json = "{}");
  void Notify(const std::string& model);

  std::string Scalar(const std::string& sql);  // first column of the first row ("" if NULL)
  int64_t Count(const std::string& sql);

 private:
  std::unique_ptr<pqxx::connection> conn_;
  int64_t token_id_ = 0;
};

std::string Hex64(char c);  // 64 copies of c: a well-formed fake SHA-256

}  // namespace lethe::worker::testing
