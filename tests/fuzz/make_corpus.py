#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers (tests/fuzz/corpus/<name>/): small valid inputs
of every shape each parser accepts, plus a few near-misses. Deterministic and dependency
free (protobuf wire format, PNG and IDX are written by hand), so the seeds can be
regenerated and reviewed: `tests/fuzz/make_corpus.py`. Files named regression_* are inputs
that once failed a fuzzer; they are kept as they are, not generated."""

import gzip
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- protobuf wire format -------------------------------------------------------------
def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_double(num, v):
    return varint(num << 3 | 1) + struct.pack("<d", v)


# --- PNG ------------------------------------------------------------------------------
def png(width, height, color_type, bit_depth, rows, palette=None):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    return out + chunk(b"IEND", b"")


def gray28(seed):
    return [bytes((seed * 7 + x * 3 + y * 5) & 0xFF for x in range(28)) for y in range(28)]


def submit_validator():
    uuid = "3f0c8a52-6d1e-4c1b-9a7e-0123456789ab"
    items = field_bytes(1, "train/1") + field_bytes(1, "train/2")
    base = (field_bytes(1, uuid) + field_bytes(2, "fmnist") + field_bytes(3, items) +
            field_varint(5, 1) + field_varint(6, 1) + field_bytes(8, "ticket-4711") +
            field_varint(9, 2))
    # The first byte of every input is the fuzzer's "repair" switches (0 = none).
    write("submit_validator", "items", b"\x00" + base)
    write("submit_validator", "items_repaired", b"\x07" + base)
    image = field_bytes(1, "face.png") + field_bytes(2, png(28, 28, 0, 8, gray28(1)))
    write("submit_validator", "image_upload",
          b"\x00" + field_bytes(1, uuid) + field_bytes(2, "fmnist") +
          field_bytes(3, field_bytes(2, image)) + field_varint(9, 1) + field_varint(11, 1))
    hyper = (field_double(1, 0.1) + field_varint(2, 2) + field_double(3, 1.0) +
             field_double(4, 0.5) + field_varint(5, 3) + field_double(6, 1.5) +
             field_varint(7, 500))
    klass = (field_bytes(1, uuid) + field_bytes(2, "cifar-10") +
             field_bytes(4, field_varint(1, 3)) + field_varint(5, 2) + field_varint(6, 4) +
             field_bytes(7, hyper) + field_varint(9, 7) +
             field_bytes(10, "Court order 2024/17 \u00e9\u4e2d") )
    write("submit_validator", "class_other_ground", b"\x00" + klass)
    trunc = (field_bytes(1, uuid) + field_bytes(2, "m") + field_bytes(3, field_bytes(1, "a/b")) +
             field_varint(6, 2) + field_bytes(7, field_double(8, 0.7) + field_varint(5, 1) +
                                             field_double(6, 0.9)) + field_varint(9, 3))
    write("submit_validator", "truncation", b"\x00" + trunc)
    write("submit_validator", "sql_path_chars",
          b"\x07" + field_bytes(3, field_bytes(1, "train/'; DROP TABLE x;--") +
                                field_bytes(1, "../etc/passwd") + field_bytes(1, "a\\b%_")))


def png_decode():
    write("png_decode", "gray8_28", png(28, 28, 0, 8, gray28(2)))
    write("png_decode", "rgb8_8", png(8, 8, 2, 8, [bytes(range(y, y + 24)) for y in range(8)]))
    write("png_decode", "rgba8_4", png(4, 4, 6, 8, [bytes(range(16)) for _ in range(4)]))
    write("png_decode", "graya8_4", png(4, 4, 4, 8, [bytes(range(8)) for _ in range(4)]))
    write("png_decode", "gray16_4", png(4, 4, 0, 16, [bytes(range(8)) for _ in range(4)]))
    write("png_decode", "gray1_8", png(8, 8, 0, 1, [b"\xa5" for _ in range(8)]))
    write("png_decode", "palette4_4",
          png(4, 4, 3, 4, [b"\x01\x23" for _ in range(4)], palette=bytes(range(48))))
    write("png_decode", "rgb16_2", png(2, 2, 2, 16, [bytes(range(12)) for _ in range(2)]))
    # Huge declared dimensions over a tiny body: must be refused before allocation.
    write("png_decode", "huge_header", png(1 << 20, 1 << 20, 0, 8, [b"\x00"]))


def idx_cifar():
    def idx(dims, payload):
        return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
    images = idx([2, 3, 3], bytes(range(18)))
    labels = idx([2], b"\x01\x09")
    # First byte selects where the input splits into (images, labels): cut = body*b/255.
    body = images + labels
    cut_byte = (len(images) * 255 + len(body) - 1) // len(body)
    assert len(body) * cut_byte // 255 == len(images)
    write("idx_cifar", "idx_pair", bytes([cut_byte]) + body)
    write("idx_cifar", "idx_images", idx([1, 4, 4], bytes(16)))
    write("idx_cifar", "idx_labels", idx([3], b"\x00\x01\x02"))
    write("idx_cifar", "idx_images_gz", gzip.compress(idx([2, 2, 2], bytes(range(8))), mtime=0))
    record = bytes([7]) + bytes((i * 13) & 0xFF for i in range(3072))
    write("idx_cifar", "cifar_two_records", record + bytes([2]) + record[1:])


def checkpoint_manifest():
    config = {"preset": "tiny", "resolution": 32, "img_channels": 1, "num_classes": 10,
              "z_dim": 32, "w_dim": 32, "embed_dim": 32, "mapping_layers": 2,
              "channel_base": 256, "channel_max": 32, "mbstd_group": 4,
              "mapping_lr_mult": 0.01}
    manifest = {"format_version": 1, "config": config, "num_classes": 10,
                "dataset": {"name": "fashion-mnist/train", "fingerprint": "ab" * 32},
                "parent": None, "created_at": "2024-01-01T00:00:00Z",
                "w_avg": {"norm": 1.5}, "w_class_avg": {"norms": [1.0, 2.0],
                                                        "samples_per_class": 64},
                "files": {"generator.pt": "0" * 64, "discriminator.pt": "f" * 64,
                          "train_state.pt": "5" * 64}}
    write("checkpoint_manifest", "valid", json.dumps(manifest, indent=2, sort_keys=True).encode())
    small = dict(manifest, dataset=None)
    small["config"] = dict(config, preset="custom", resolution=8, img_channels=3)
    write("checkpoint_manifest", "rgb8_no_dataset", json.dumps(small, sort_keys=True).encode())
    bad = dict(manifest, files={"../generator.pt": "0" * 64})
    write("checkpoint_manifest", "bad_name", json.dumps(bad, sort_keys=True).encode())


def dataset_manifest():
    # First byte: the model's class count minus one (9 = ten classes); the rest is the file.
    def sha(i):
        return "%064x" % (i * 0x9E3779B97F4A7C15)
    tsv = "".join("train/%d\t%s\t%d\ttrain\n" % (i, sha(i), i % 10) for i in range(4))
    tsv += "test/0\t%s\t9\ttest\n" % sha(99)
    write("dataset_manifest", "tsv", b"\x09" + tsv.encode())
    write("dataset_manifest", "tsv_comments_crlf",
          b"\x09" + ("# id\tsha256\tlabel\tsplit\r\n\r\n" +
                     tsv.replace("\n", "\r\n")).encode())
    write("dataset_manifest", "tsv_gz", b"\x09" + gzip.compress(tsv.encode(), mtime=0))
    rows = [{"id": "images/%s.png" % n, "sha256": sha(i), "label": i % 3, "split": "train"}
            for i, n in enumerate(["a", "b/c", "\u00e9t\u00e9", "\U0001f600"])]
    jsonl = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    write("dataset_manifest", "jsonl", b"\x02" + jsonl.encode())
    write("dataset_manifest", "jsonl_raw_utf8",
          b"\x02" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    write("dataset_manifest", "jsonl_gz", b"\x02" + gzip.compress(jsonl.encode(), mtime=0))
    # Near-misses: each breaks one rule.
    write("dataset_manifest", "bad_duplicate", b"\x09" + (tsv + tsv.splitlines(True)[0]).encode())
    write("dataset_manifest", "bad_label", b"\x01" + tsv.encode())
    write("dataset_manifest", "bad_mixed", b"\x09" + (tsv + jsonl).encode())
    write("dataset_manifest", "bad_path", b"\x09" + tsv.replace("train/1", "../x").encode())


if __name__ == "__main__":
    submit_validator()
    png_decode()
    idx_cifar()
    checkpoint_manifest()
    dataset_manifest()
