#include "common/audit_tree.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace lethe {

merkle::Hash AuditLeafHash(std::string_view chain_hash_hex) {
  return merkle::HashLeaf(chain_hash_hex);
}

merkle::NodeMap ReadAuditTreeNodes(pqxx::transaction_base& tx,
                                   const std::vector<merkle::NodeId>& ids) {
  merkle::NodeMap out;
  if (ids.empty()) return out;
  std::string levels = "{", indexes = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) {
      levels += ",";
      indexes += ",";
    }
    levels += std::to_string(ids[i].level);
    indexes += std::to_string(ids[i].index);
  }
  levels += "}";
  indexes += "}";
  pqxx::result r = tx.exec_params(
      "SELECT t.level, t.idx, t.hash FROM audit_tree t"
      " JOIN unnest($1::smallint[], $2::bigint[]) AS u(l, i) ON t.level = u.l AND t.idx = u.i",
      levels, indexes);
  for (const auto& row : r) {
    pqxx::binarystring hash(row[2]);
    out[merkle::NodeId{row[0].as<int>(), row[1].as<int64_t>()}] = hash.str();
  }
  return out;
}

AuditTreeRows ExtendAuditTree(pqxx::transaction_base& tx, int64_t size,
                              const std::vector<std::string>& chain_hashes_hex) {
  AuditTreeRows rows;
  if (chain_hashes_hex.empty()) return rows;
  std::vector<merkle::NodeId> edge_ids = merkle::Decompose(0, size);
  merkle::NodeMap nodes = ReadAuditTreeNodes(tx, edge_ids);
  std::vector<merkle::Hash> edge;
  for (const merkle::NodeId& id : edge_ids) {
    auto it = nodes.find(id);
    if (it == nodes.end()) {
      throw std::runtime_error(
          absl::StrCat("audit tree: subtree (level ", id.level, ", index ", id.index,
                       ") of the tree's right edge is missing; the audit tables were edited, run "
                       "`lethectl audit verify`"));
    }
    edge.push_back(it->second);
  }
  absl::StatusOr<merkle::CompactRange> range = merkle::CompactRange::FromFrontier(size, edge);
  if (!range.ok()) throw std::runtime_error(std::string(range.status().message()));
  auto emit = [&](const merkle::NodeId& id, const merkle::Hash& h) {
    rows.levels.push_back(std::to_string(id.level));
    rows.indexes.push_back(std::to_string(id.index));
    rows.hashes_hex.push_back(merkle::ToHex(h));
  };
  for (const std::string& hex : chain_hashes_hex) range->Append(AuditLeafHash(hex), emit);
  return rows;
}

int64_t AuditTreeSize(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT last_seq FROM audit_head")[0].as<int64_t>();
}

namespace {

absl::Status MissingNodes(const absl::Status& status) {
  return absl::DataLossError(
      absl::StrCat("audit tree: ", status.message(), " (the audit tables were edited)"));
}

}  // namespace

absl::StatusOr<merkle::Hash> AuditTreeRoot(pqxx::transaction_base& tx, int64_t size) {
  merkle::NodeMap nodes = ReadAuditTreeNodes(tx, merkle::Decompose(0, size));
  absl::StatusOr<merkle::Hash> root = merkle::RangeHash(nodes, 0, size);
  if (!root.ok()) return MissingNodes(root.status());
  return root;
}

absl::StatusOr<AuditProof> AuditInclusionProof(pqxx::transaction_base& tx, int64_t index,
                                               int64_t size) {
  std::vector<merkle::Range> ranges = merkle::InclusionProofRanges(index, size);
  std::vector<merkle::Range> all = ranges;
  all.push_back({0, size});
  all.push_back({index, index + 1});
  merkle::NodeMap nodes = ReadAuditTreeNodes(tx, merkle::NodesFor(all));
  AuditProof out;
  absl::StatusOr<std::vector<merkle::Hash>> hashes = merkle::RangeHashes(nodes, ranges);
  if (!hashes.ok()) return MissingNodes(hashes.status());
  out.hashes = std::move(*hashes);
  absl::StatusOr<merkle::Hash> root = merkle::RangeHash(nodes, 0, size);
  if (!root.ok()) return MissingNodes(root.status());
  out.root = std::move(*root);
  absl::StatusOr<merkle::Hash> leaf = merkle::RangeHash(nodes, index, index + 1);
  if (!leaf.ok()) return MissingNodes(leaf.status());
  out.leaf_hash = std::move(*leaf);
  return out;
}

absl::StatusOr<AuditProof> AuditConsistencyProof(pqxx::transaction_base& tx, int64_t size1,
                                                 int64_t size2) {
  std::vector<merkle::Range> ranges = merkle::ConsistencyProofRanges(size1, size2);
  std::vector<merkle::Range> all = ranges;
  all.push_back({0, size1});
  all.push_back({0, size2});
  merkle::NodeMap nodes = ReadAuditTreeNodes(tx, merkle::NodesFor(all));
  AuditProof out;
  absl::StatusOr<std::vector<merkle::Hash>> hashes = merkle::RangeHashes(nodes, ranges);
  if (!hashes.ok()) return MissingNodes(hashes.status());
  out.hashes = std::move(*hashes);
  absl::StatusOr<merkle::Hash> first = merkle::RangeHash(nodes, 0, size1);
  if (!first.ok()) return MissingNodes(first.status());
  out.first_root = std::move(*first);
  absl::StatusOr<merkle::Hash> root = merkle::RangeHash(nodes, 0, size2);
  if (!root.ok()) return MissingNodes(root.status());
  out.root = std::move(*root);
  return out;
}

}  // namespace lethe
