// The audit log's RFC 9162 Merkle tree, kept in PostgreSQL beside the hash chain (table
// audit_tree, migrations/0002): the hash of every completed perfect subtree, stored once
// when its last leaf is appended, so any root or proof needs one query for O(log n) rows.
//
// Leaf i (0-based) is audit record seq = i + 1, and its leaf data is the record's chain
// hash as 64 lowercase hex ASCII characters: leaf hash = SHA-256(0x00 || hash_hex). The
// chain hash already commits to the record's content and to every record before it, and
// an offline verifier recomputes it from an exported record alone (prev_hash + canonical
// JSON), so the leaf is recomputable without Lethe.
//
// The tree grows in the appender's transaction (common/audit.cc), under the audit_head
// lock, so the tree size always equals audit_head.last_seq in any snapshot.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/merkle.h"

namespace lethe {

merkle::Hash AuditLeafHash(std::string_view chain_hash_hex);

// The stored hashes of `ids` (missing ones are absent from the map).
merkle::NodeMap ReadAuditTreeNodes(pqxx::transaction_base& tx,
                                   const std::vector<merkle::NodeId>& ids);

// Rows to insert into audit_tree for records with these chain hashes appended to a tree of
// `size` leaves (level, index, hex hash as parallel arrays). Reads the tree's right edge;
// throws std::runtime_error when an edge subtree is missing (the tree was tampered with).
struct AuditTreeRows {
  std::vector<std::string> levels, indexes, hashes_hex;
};
AuditTreeRows ExtendAuditTree(pqxx::transaction_base& tx, int64_t size,
                              const std::vector<std::string>& chain_hashes_hex);

// The tree size (= audit_head.last_seq) in `tx`'s snapshot.
int64_t AuditTreeSize(pqxx::transaction_base& tx);

// Root of the first `size` leaves; DATA_LOSS when stored subtrees are missing.
absl::StatusOr<merkle::Hash> AuditTreeRoot(pqxx::transaction_base& tx, int64_t size);

struct AuditProof {
  std::vector<merkle::Hash> hashes;
  merkle::Hash root;        // of the (second) tree size
  merkle::Hash first_root;  // consistency proofs: root of the first size
  merkle::Hash leaf_hash;   // inclusion proofs: the stored leaf
};
// Inclusion proof of leaf `index` in the first `size` leaves (0 <= index < size <= tree
// size are the caller's checks).
absl::StatusOr<AuditProof> AuditInclusionProof(pqxx::transaction_base& tx, int64_t index,
                                               int64_t size);
// Consistency proof from `size1` to `size2` leaves (0 < size1 <= size2 <= tree size).
absl::StatusOr<AuditProof> AuditConsistencyProof(pqxx::transaction_base& tx, int64_t size1,
                                                 int64_t size2);

}  // namespace lethe
