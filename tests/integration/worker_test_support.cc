#include "tests/integration/worker_test_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "common/logging.h"
#include "common/migrations.h"

namespace lethe::worker::testing {
namespace {

std::string ClusterUrl() {
  const char* url = std::getenv("LETHE_TEST_DATABASE_URL");
  return url == nullptr ? "" : url;
}

// The URL with its database (the last path segment) replaced.
std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string head = slash == std::string::npos ? url : url.substr(0, slash);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  return head + "/" + db + tail;
}

}  // namespace

std::string Hex64(char c) { return std::string(64, c); }

std::string CreateTestDatabase(const std::string& name) {
  std::string base = ClusterUrl();
  if (base.empty()) {
    ADD_FAILURE() << "LETHE_TEST_DATABASE_URL is not set (scripts/test sets it; or start one "
                     "with scripts/pg-cluster start DIR)";
    return "";
  }
  {
    pqxx::connection admin(base);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
  }
  std::string url = WithDatabase(base, name);
  pqxx::connection conn(url);
  Logger quiet("test", LogLevel::kError);
  auto applied = ApplyMigrations(conn, EmbeddedMigrations(), &quiet);
  EXPECT_TRUE(applied.ok()) << applied.status();
  return url;
}

void DropTestDatabase(const std::string& name) {
  std::string base = ClusterUrl();
  if (base.empty()) return;
  try {
    pqxx::connection admin(base);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::unique_ptr<DbPool> MakePool(const std::string& url, int size) {
  DbOptions o;
  o.url = url;
  o.pool_size = size;
  auto pool = DbPool::Create(o);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? std::move(*pool) : nullptr;
}

Fixture::Fixture(std::string url) : conn_(std::make_unique<pqxx::connection>(url)) {
  pqxx::work tx(*conn_);
  token_id_ = tx.exec1(
                    "INSERT INTO api_tokens (name, role, token_sha256) "
                    "VALUES ('dpo-test', 'dpo', repeat('d', 64)) "
                    "ON CONFLICT (token_sha256) DO UPDATE SET name = EXCLUDED.name RETURNING id")[0]
                  .as<int64_t>();
  tx.commit();
}

int64_t Fixture::AddModel(const std::string& name, const std::string& version_sha256,
                          const std::string& uri, int resolution, int num_classes,
                          const std::string& dataset_name, const std::string& fingerprint) {
  pqxx::work tx(*conn_);
  tx.exec_params(
      "INSERT INTO models (name, num_classes, resolution, img_channels, preset, item_width, "
      "item_height, item_channels, dataset_name, dataset_fingerprint) "
      "VALUES ($1, $2, $3, 1, 'tiny', $3, $3, 1, $4, $5)",
      name, num_classes, resolution, dataset_name, fingerprint);
  int64_t id = tx.exec_params1(
                     "INSERT INTO model_versions (model, sha256, uri, state) "
                     "VALUES ($1, $2, $3, 'active') RETURNING id",
                     name, version_sha256, uri)[0]
                   .as<int64_t>();
  tx.exec_params("UPDATE models SET production_version = $2 WHERE name = $1", name, id);
  tx.commit();
  return id;
}

std::string Fixture::AddItemsRequest(const std::string& model, const std::vector<ItemSpec>& items,
                                     const std::string& params_json, const std::string& mode) {
  pqxx::work tx(*conn_);
  int64_t unmatched = 0, images = 0;
  for (const ItemSpec& i : items) {
    unmatched += i.item_id ? 0 : 1;
    images += i.png ? 1 : 0;
  }
  std::string id =
      tx.exec_params1(
            "INSERT INTO forget_requests (idempotency_key, body_sha256, requester_token_id, "
            "requester_name, model, kind, mode, substitute, params, state, legal_ground, "
            "due_at, item_count, image_count, unmatched_image_count, forget_unmatched_images) "
            "VALUES (gen_random_uuid(), repeat('b', 64), $1, 'dpo-test', $2, 'items', $3, "
            "'average', $4::jsonb, 'queued', 'art17_1b', "
            "now() + interval '30 days', $5, $6, $7, $8) RETURNING id",
            token_id_, model, mode, params_json, int64_t(items.size()), images, unmatched,
            unmatched > 0)[0]
          .as<std::string>();
  int ordinal = 0;
  for (const ItemSpec& i : items) {
    if (i.png) {
      pqxx::binarystring bytes(*i.png);
      tx.exec_params(
          "INSERT INTO request_items (request_id, ordinal, item_id, sha256, upload_name, image) "
          "VALUES ($1, $2, $3, $4, 'upload.png', $5)",
          id, ordinal++, i.item_id ? i.item_id->c_str() : nullptr, i.sha256, bytes);
    } else {
      tx.exec_params(
          "INSERT INTO request_items (request_id, ordinal, item_id, sha256) "
          "VALUES ($1, $2, $3, $4)",
          id, ordinal++, i.item_id ? i.item_id->c_str() : nullptr, i.sha256);
    }
  }
  tx.exec_params("SELECT pg_notify('lethe_jobs', $1)", model);
  tx.commit();
  return id;
}

std::string Fixture::AddClassRequest(const std::string& model, int label,
                                     const std::string& params_json) {
  pqxx::work tx(*conn_);
  std::string id =
      tx.exec_params1(
            "INSERT INTO forget_requests (idempotency_key, body_sha256, requester_token_id, "
            "requester_name, model, kind, class_label, mode, substitute, params, state, "
            "legal_ground, due_at) VALUES (gen_random_uuid(), repeat('b', 64), $1, "
            "'dpo-test', $2, 'class', $3, 'few_shot', 'average', $4::jsonb, 'queued', "
            "'art17_1b', now() + interval '30 days') RETURNING id",
            token_id_, model, label, params_json)[0]
          .as<std::string>();
  tx.exec_params("SELECT pg_notify('lethe_jobs', $1)", model);
  tx.commit();
  return id;
}

void Fixture::Notify(const std::string& model) {
  pqxx::work tx(*conn_);
  tx.exec_params("SELECT pg_notify('lethe_jobs', $1)", model);
  tx.commit();
}

std::string Fixture::Scalar(const std::string& sql) {
  pqxx::work tx(*conn_);
  pqxx::result r = tx.exec(sql);
  tx.commit();
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

int64_t Fixture::Count(const std::string& sql) {
  std::string v = Scalar(sql);
  return v.empty() ? 0 : std::stoll(v);
}

}  // namespace lethe::worker::testing
