#!/usr/bin/env bash
# lethe-engine manifest / export-items on the installed Fashion-MNIST: the manifest lists
# every item with the content hash the server matches uploads by, and exported PNG files
# hash (decoded) to exactly that value. export-model on the shipped model drops the
# training state and nothing else. Usage: engine_data_cli_e2e.sh LETHE_ENGINE
set -euo pipefail
engine=${1:?usage: engine_data_cli_e2e.sh LETHE_ENGINE}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$engine" manifest --out "$work/sub/items.tsv.gz" >"$work/manifest.out"
grep -q '"items":70000' "$work/manifest.out" || fail "manifest: item count: $(cat "$work/manifest.out")"
zcat "$work/sub/items.tsv.gz" | grep -v '^#' >"$work/items.tsv"
[[ $(wc -l <"$work/items.tsv") -eq 70000 ]] || fail "manifest: 70000 lines expected"
[[ $(grep -c $'\ttrain$' "$work/items.tsv") -eq 60000 ]] || fail "manifest: 60000 train items"
[[ $(cut -f1 "$work/items.tsv" | sort -u | wc -l) -eq 70000 ]] || fail "manifest: ids not unique"
awk -F'\t' 'NF != 4 || length($2) != 64 || $2 ~ /[^0-9a-f]/ || $3 !~ /^[0-9]$/ { bad = 1 } END { exit bad }' \
  "$work/items.tsv" || fail "manifest: malformed line"
# Fashion-MNIST's first training item is an ankle boot (label 9).
[[ $(sed -n 1p "$work/items.tsv" | cut -f1,3,4) == $'train/0\t9\ttrain' ]] || fail "manifest: train/0"

"$engine" manifest --splits train --out "$work/train.tsv" >/dev/null
[[ $(grep -vc '^#' "$work/train.tsv") -eq 60000 ]] || fail "manifest --splits train"

"$engine" export-items --ids train/0,train/59999 --out "$work/png" >"$work/export.out"
for id in train/0 train/59999; do
  want=$(grep -P "^$id\t" "$work/items.tsv" | cut -f2)
  got=$(grep -P "^$id\t" "$work/export.out" | cut -f2)
  [[ -n "$want" && "$want" == "$got" ]] || fail "export-items: hash of $id ($got vs $want)"
done
[[ -f "$work/png/train_0.png" && -f "$work/png/train_59999.png" ]] || fail "export-items: files"
# Decode the PNG independently and hash its pixels.
python3 - "$work/png/train_0.png" "$(grep -P '^train/0\t' "$work/items.tsv" | cut -f2)" <<'PY' \
  || fail "export-items: decoded pixels do not hash to the manifest's value"
import hashlib, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, width, height = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, color = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and color == 0, (depth, color)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, rows, prev = zlib.decompress(idat), [], bytearray(width)
for y in range(height):
    f, line = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
    for x in range(width):
        a = line[x - 1] if x else 0
        b, c = prev[x], (prev[x - 1] if x else 0)
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pr = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)
            line[x] = (line[x] + pr) & 255
    rows.append(bytes(line)); prev = line
assert (width, height) == (28, 28), (width, height)
sys.exit(0 if hashlib.sha256(b"".join(rows)).hexdigest() == sys.argv[2] else 1)
PY

# Bad input: a clear one-line error, exit 1, nothing written.
if "$engine" export-items --ids train/60000 --out "$work/bad" 2>"$work/err"; then fail "unknown id accepted"; fi
grep -q 'item "train/60000" is not in the training split' "$work/err" || fail "unknown id message"
[[ ! -e "$work/bad/train_60000.png" ]] || fail "unknown id: file written"
if "$engine" export-items --ids train/0 --native-size 32 --out "$work/bad" 2>"$work/err"; then fail "wrong size accepted"; fi
grep -q 'do not hash to its content hash' "$work/err" || fail "wrong native size message"
if "$engine" manifest --splits validation --out "$work/x.tsv" 2>"$work/err"; then fail "bad split accepted"; fi
grep -q 'train and/or test' "$work/err" || fail "bad split message"
[[ ! -e "$work/x.tsv" ]] || fail "bad split: file written"
# export-model: the shipped model without resumable state, same samples, same lineage.
shipped=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../models/fashion-mnist-small" && pwd)
"$engine" export-model --model "$shipped" --out "$work/exported" >/dev/null
[[ -f "$work/exported/generator.pt" && -f "$work/exported/discriminator.pt" ]] || fail "export-model: weights"
if ls "$work/exported" | grep -q '^train_'; then fail "export-model: training state kept"; fi
python3 - "$shipped/manifest.json" "$work/exported/manifest.json" <<'PY' || fail "export-model: manifest members"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for key in ("dataset", "parent", "training", "config"):
    assert a.get(key) == b.get(key), key
PY
"$engine" sample --model "$shipped" --out "$work/a.png" --threads 1 >/dev/null
"$engine" sample --model "$work/exported" --out "$work/b.png" --threads 1 >/dev/null
cmp -s "$work/a.png" "$work/b.png" || fail "export-model: samples differ"
# The shipped memorising model: its manifest records the subset it was trained on, which
# is exactly members.txt, and it loads (every file's hash is verified) without --data.
memo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../models/fashion-mnist-memorizing" && pwd)
python3 - "$memo/manifest.json" "$memo/members.txt" <<'PY' || fail "memorising model: subset"
import json, sys
m = json.load(open(sys.argv[1]))
ids = [l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
d = m["dataset"]
assert d["spec"] == "fashion-mnist" and d["head"] == len(ids) == d["size"], d
assert ids == ["train/%d" % i for i in range(d["head"])], ids[:3]
PY
"$engine" sample --model "$memo" --out "$work/memo.png" --threads 1 >/dev/null ||
  fail "memorising model: does not load"
echo "engine data CLI: ok"
