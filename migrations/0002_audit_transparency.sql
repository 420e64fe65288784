-- Lethe schema, version 2: the audit log becomes a transparency log. Beside the hash chain
-- (unchanged: every existing record keeps its hash), the records are the leaves of an
-- RFC 9162 Merkle tree, and the server signs checkpoints (tree size + root hash + time)
-- with an Ed25519 key, so anyone holding a checkpoint can later demand proof that the log
-- still contains it (docs/operator-guide.md "Audit transparency log").

-- The tree: the hash of every completed perfect subtree, stored once. Node (level, idx)
-- covers leaves [idx * 2^level, (idx + 1) * 2^level); leaf i is record seq = i + 1 with
-- hash = SHA-256(0x00 || the record's chain hash as 64 hex ASCII characters), and an inner
-- node is SHA-256(0x01 || left || right). Appenders add the rows in the same statement as
-- the records, under the audit_head lock (common/audit.cc, common/audit_tree.h).
CREATE TABLE audit_tree (
  level smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
  idx   bigint NOT NULL CHECK (idx >= 0),
  hash  bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- The existing records become the first leaves, then each level is built from the one
-- below until no pair is left.
INSERT INTO audit_tree (level, idx, hash)
  SELECT 0, seq - 1, sha256('\x00'::bytea || convert_to(hash, 'UTF8')) FROM audit_log;
DO $$
DECLARE
  lvl integer := 1;
  added bigint;
BEGIN
  LOOP
    INSERT INTO audit_tree (level, idx, hash)
      SELECT lvl, l.idx / 2, sha256('\x01'::bytea || l.hash || r.hash)
      FROM audit_tree l JOIN audit_tree r ON r.level = l.level AND r.idx = l.idx + 1
      WHERE l.level = lvl - 1 AND l.idx % 2 = 0;
    GET DIAGNOSTICS added = ROW_COUNT;
    EXIT WHEN added = 0;
    lvl := lvl + 1;
  END LOOP;
END $$;

-- Every checkpoint the servers signed. note is the whole signed note as served
-- (C2SP tlog-checkpoint text + signature line, common/tlog_checkpoint.h); the other
-- columns repeat what it says, for queries. Verification checks each against the tree.
CREATE TABLE audit_checkpoints (
  id        bigserial PRIMARY KEY,
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  made_at   timestamptz NOT NULL,
  key_name  text NOT NULL,
  key_id    text NOT NULL CHECK (key_id ~ '^[0-9a-f]{8}$'),
  note      text NOT NULL
);
CREATE INDEX audit_checkpoints_newest ON audit_checkpoints (made_at DESC);
