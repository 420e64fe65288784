// RFC 9162 Merkle tree hashing and proofs (common/merkle.h) against the Certificate
// Transparency reference vectors, and every proof of small trees against the verifiers.
#include "common/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lethe::merkle {
namespace {

// The eight leaves of the CT reference test data (RFC 6962 / RFC 9162 implementations).
std::vector<std::string> CtLeaves() {
  std::vector<std::string> leaves = {
      std::string(),
      std::string("\x00", 1),
      std::string("\x10", 1),
      std::string("\x20\x21", 2),
      std::string("\x30\x31", 2),
      std::string("\x40\x41\x42\x43", 4),
      std::string("\x50\x51\x52\x53\x54\x55\x56\x57", 8),
  };
  std::string last;
  for (int c = 0x60; c < 0x70; ++c) last.push_back(char(c));
  leaves.push_back(last);
  return leaves;
}

std::vector<Hash> LeafHashes(const std::vector<std::string>& data) {
  std::vector<Hash> out;
  for (const std::string& d : data) out.push_back(HashLeaf(d));
  return out;
}

// Every perfect subtree of a tree of `leaves`, as a store would keep it.
NodeMap AllNodes(const std::vector<Hash>& leaves) {
  NodeMap nodes;
  CompactRange range;
  for (const Hash& h : leaves) {
    range.Append(h, [&](const NodeId& id, const Hash& hash) { nodes[id] = hash; });
  }
  return nodes;
}

std::vector<std::string> Hex(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& h : hashes) out.push_back(ToHex(h));
  return out;
}

TEST(MerkleTest, RootsMatchTheCtReferenceVectors) {
  const char* kRoots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  std::vector<Hash> leaves = LeafHashes(CtLeaves());
  NodeMap nodes = AllNodes(leaves);
  CompactRange range;
  EXPECT_EQ(ToHex(range.Root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (size_t n = 1; n <= 8; ++n) {
    range.Append(leaves[n - 1]);
    EXPECT_EQ(ToHex(RootOfLeaves(leaves, 0, n)), kRoots[n - 1]) << n;
    EXPECT_EQ(ToHex(range.Root()), kRoots[n - 1]) << n;
    absl::StatusOr<Hash> stored = RangeHash(nodes, 0, int64_t(n));
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(ToHex(*stored), kRoots[n - 1]) << n;
  }
}

TEST(MerkleTest, ProofsMatchTheCtReferenceVectors) {
  std::vector<Hash> leaves = LeafHashes(CtLeaves());
  NodeMap nodes = AllNodes(leaves);
  auto inclusion = [&](int64_t index, int64_t size) {
    return Hex(*RangeHashes(nodes, InclusionProofRanges(index, size)));
  };
  auto consistency = [&](int64_t a, int64_t b) {
    return Hex(*RangeHashes(nodes, ConsistencyProofRanges(a, b)));
  };
  EXPECT_EQ(inclusion(0, 8),
            (std::vector<std::string>{
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(inclusion(5, 8),
            (std::vector<std::string>{
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(inclusion(2, 3),
            (std::vector<std::string>{
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}));
  EXPECT_TRUE(inclusion(0, 1).empty());
  EXPECT_EQ(consistency(3, 7),
            (std::vector<std::string>{
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"}));
  EXPECT_EQ(consistency(4, 8),
            (std::vector<std::string>{
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(consistency(6, 8),
            (std::vector<std::string>{
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_TRUE(consistency(8, 8).empty());
}

// Every inclusion and consistency proof of every tree up to 70 leaves, computed from the
// stored perfect subtrees, verifies; a proof with any hash flipped, or checked against
// another leaf, index, size or root, does not.
TEST(MerkleTest, EveryProofOfSmallTreesVerifiesAndNoAlteredOneDoes) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70; ++i) leaves.push_back(HashLeaf("record " + std::to_string(i)));
  NodeMap nodes = AllNodes(leaves);
  for (int64_t n = 1; n <= 70; ++n) {
    const Hash root = RootOfLeaves(leaves, 0, size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      std::vector<Hash> proof = *RangeHashes(nodes, InclusionProofRanges(i, n));
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[size_t(i)], proof, root)) << i << "/" << n;
      EXPECT_FALSE(VerifyInclusion(i, n, leaves[size_t((i + 1) % n)], proof, root) && n > 1);
      EXPECT_FALSE(VerifyInclusion(n, n, leaves[size_t(i)], proof, root));
      EXPECT_FALSE(VerifyInclusion(i, n, leaves[size_t(i)], proof, HashLeaf("other")));
      for (size_t k = 0; k < proof.size(); ++k) {
        std::vector<Hash> bad = proof;
        bad[k][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[size_t(i)], bad, root)) << i << "/" << n;
      }
      if (!proof.empty()) {
        std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[size_t(i)], shorter, root));
      }
    }
    for (int64_t m = 1; m <= n; ++m) {
      const Hash old_root = RootOfLeaves(leaves, 0, size_t(m));
      std::vector<Hash> proof = *RangeHashes(nodes, ConsistencyProofRanges(m, n));
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, root, proof)) << m << "->" << n;
      EXPECT_FALSE(VerifyConsistency(m, n, HashLeaf("forged"), root, proof)) << m << "->" << n;
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, HashLeaf("forged"), proof));
      for (size_t k = 0; k < proof.size(); ++k) {
        std::vector<Hash> bad = proof;
        bad[k][5] ^= 0x40;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, root, bad)) << m << "->" << n;
      }
    }
  }
}

TEST(MerkleTest, ConsistencyFailsForAForkedOrTruncatedTree) {
  std::vector<Hash> leaves, forked;
  for (int i = 0; i < 20; ++i) leaves.push_back(HashLeaf("r" + std::to_string(i)));
  forked = leaves;
  forked[7] = HashLeaf("rewritten");
  NodeMap forked_nodes = AllNodes(forked);
  const Hash old_root = RootOfLeaves(leaves, 0, 12);
  // The forked log proves its own history, which is not the one that was signed.
  for (int64_t n = 12; n <= 20; ++n) {
    std::vector<Hash> proof = *RangeHashes(forked_nodes, ConsistencyProofRanges(12, n));
    EXPECT_FALSE(VerifyConsistency(12, n, old_root, RootOfLeaves(forked, 0, size_t(n)), proof));
  }
  // A tree smaller than the checkpoint cannot extend it.
  EXPECT_FALSE(VerifyConsistency(12, 11, old_root, RootOfLeaves(leaves, 0, 11), {}));
  // Two different roots of the same size are a fork.
  EXPECT_FALSE(VerifyConsistency(12, 12, old_root, RootOfLeaves(forked, 0, 12), {}));
  EXPECT_TRUE(VerifyConsistency(12, 12, old_root, old_root, {}));
}

TEST(MerkleTest, DecomposeAndCompactRangeAgreeWithTheRecursiveDefinition) {
  EXPECT_TRUE(Decompose(0, 0).empty());
  std::vector<NodeId> d = Decompose(0, 13);  // 8 + 4 + 1
  ASSERT_EQ(d.size(), 3u);
  EXPECT_TRUE((d[0] == NodeId{3, 0}));
  EXPECT_TRUE((d[1] == NodeId{2, 2}));
  EXPECT_TRUE((d[2] == NodeId{0, 12}));
  std::vector<Hash> leaves;
  CompactRange range;
  for (int i = 0; i < 300; ++i) {
    leaves.push_back(HashLeaf(std::to_string(i)));
    range.Append(leaves.back());
    ASSERT_EQ(range.Root(), RootOfLeaves(leaves, 0, leaves.size())) << i;
  }
  // A range rebuilt from its right edge continues identically.
  NodeMap nodes = AllNodes(leaves);
  std::vector<Hash> edge;
  for (const NodeId& id : Decompose(0, 300)) edge.push_back(nodes.at(id));
  absl::StatusOr<CompactRange> resumed = CompactRange::FromFrontier(300, edge);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  resumed->Append(HashLeaf("next"));
  range.Append(HashLeaf("next"));
  EXPECT_EQ(resumed->Root(), range.Root());
  EXPECT_FALSE(CompactRange::FromFrontier(300, {}).ok());
  // A missing stored subtree is reported, not guessed.
  nodes.erase(NodeId{8, 0});
  absl::StatusOr<Hash> root = RangeHash(nodes, 0, 300);
  EXPECT_EQ(root.status().code(), absl::StatusCode::kNotFound);
}

TEST(MerkleTest, HexRoundTripsAndRejectsBadInput) {
  Hash h = HashLeaf("x");
  EXPECT_EQ(*HashFromHex(ToHex(h)), h);
  EXPECT_FALSE(HashFromHex("abc").ok());
  EXPECT_FALSE(HashFromHex(std::string(64, 'g')).ok());
}

}  // namespace
}  // namespace lethe::merkle
