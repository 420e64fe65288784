#!/usr/bin/env python3
"""Checks a `lethectl audit export` report offline, with nothing from Lethe.

Needs Python 3 and python3-cryptography (Debian: apt-get install python3-cryptography).

    python3 verify_export.py REPORT_DIR_OR_JSON [--key VERIFIER_KEY_OR_FILE]

It checks, for every audit record of the request in report.json:
  1. hash == SHA-256(prev_hash || canonical_json), and canonical_json says what the record
     says (the hash chain);
  2. the RFC 9162 inclusion proof leads from the record's leaf,
     SHA-256(0x00 || hash as 64 hex characters), to the root of the signed checkpoint;
and that the checkpoint's Ed25519 signature verifies with the operator's public key (give
the key the operator published with --key; without it the key in the report is used, which
only shows that the report is self-consistent). Exit status 0 when all of it holds, 1 when
anything does not, 2 on bad usage.
"""
import base64
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data):
    return hashlib.sha256(data).digest()


def parse_verifier_key(vkey):
    """'<name>+<key id hex>+<base64(0x01 || 32-byte Ed25519 key)>' -> (name, id, key)."""
    name, key_id, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != 1:
        raise ValueError("not an Ed25519 verifier key")
    expected = sha256(name.encode() + b"\n" + raw)[:4].hex()
    if expected != key_id:
        raise ValueError("verifier key id %s does not match its key (%s)" % (key_id, expected))
    return name, key_id, raw[1:]


def load_keys(arg):
    """--key: a verifier key, a file of verifier keys (one per line) or a PEM public key.
    Returns [(name or None, raw 32-byte key)]; a PEM key takes the name the note gives."""
    if not os.path.exists(arg):
        name, _, key = parse_verifier_key(arg)
        return [(name, key)]
    data = open(arg, "rb").read()
    if b"-----BEGIN PUBLIC KEY-----" in data:
        from cryptography.hazmat.primitives import serialization
        key = serialization.load_pem_public_key(data)
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return [(None, raw)]
    keys = []
    for line in data.decode().split("\n"):
        if line.strip() and not line.startswith("#"):
            name, _, key = parse_verifier_key(line)
            keys.append((name, key))
    return keys


def open_checkpoint(note, trusted):
    """Verifies the signed note (C2SP signed-note format); returns (origin, size, root)."""
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    for line in signatures.strip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("bad signature line: %r" % line)
        name, b64 = line[2:].rsplit(" ", 1)
        blob = base64.b64decode(b64, validate=True)
        keys = []
        for key_name, key in trusted:
            key_name = key_name or name
            key_id = sha256(key_name.encode() + b"\n\x01" + key)[:4].hex()
            keys.append((key_name, key_id, key))
        for key_name, key_id, key in keys:
            if key_name == name and key_id == blob[:4].hex():
                try:
                    Ed25519PublicKey.from_public_bytes(key).verify(blob[4:], text.encode())
                except InvalidSignature:
                    raise ValueError("the checkpoint's signature does not verify")
                lines = text.split("\n")
                return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    raise ValueError("the checkpoint is not signed by any of the given keys")


def root_from_inclusion_proof(index, size, leaf_hash, proof):
    """RFC 9162, section 2.1.3.2; returns the root, or None when the proof is malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--key"):
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "report.json")
    with open(path) as f:
        audit = json.load(f)["audit"]
    tlog = audit.get("transparency", {})
    if not tlog.get("available"):
        print("FAILED: the report has no signed checkpoint: %s" % tlog.get("checkpoint_error"))
        return 1
    if len(argv) == 4:
        keys = load_keys(argv[3])
    else:
        keys = [parse_verifier_key(k)[0::2] for k in tlog["verifier_keys"]]
        print("note: using the key(s) in the report; pass --key with the published key")
    ok = True
    origin, size, root = open_checkpoint(tlog["checkpoint"], keys)
    print("checkpoint: log %s, %d records, root %s: signature ok" % (origin, size, root.hex()))
    proofs = {p["seq"]: p for p in tlog["inclusion_proofs"]}
    for r in audit["records"]:
        fields = {k: r[k] for k in ("action", "actor", "at", "payload", "request_id", "seq")}
        chain_ok = (json.loads(r["canonical_json"]) == fields and
                    hashlib.sha256((r["prev_hash"] + r["canonical_json"]).encode()).hexdigest()
                    == r["hash"])
        proof = proofs.get(r["seq"])
        proven = False
        if proof is not None:
            leaf = sha256(b"\x00" + r["hash"].encode())
            hashes = [bytes.fromhex(h) for h in proof["hashes"]]
            proven = root_from_inclusion_proof(r["seq"] - 1, size, leaf, hashes) == root
        ok = ok and chain_ok and proven
        print("record %d %s: hash %s, in checkpoint %s" % (
            r["seq"], r["action"], "ok" if chain_ok else "MISMATCH",
            "proven" if proven else "NOT PROVEN"))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (ValueError, KeyError, OSError) as e:
        print("FAILED: %s" % e)
        sys.exit(1)
