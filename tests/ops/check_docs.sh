#!/usr/bin/env bash
# docs/operator-guide.md's configuration reference matches the programs: every flag of
# lethe-server and lethe-worker has a row with its environment variable (and, given the
# binaries, its default as `--help` prints it), and no row names a flag that does not
# exist. docs/user-guide.md only shows lethectl commands that exist.
#
#   check_docs.sh [lethe-server=BIN] [lethe-worker=BIN]
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=()
for spec in "$@"; do
  name=${spec%%=*} bin=${spec#*=}
  [[ -x "$bin" ]] || { echo "$spec: not an executable" >&2; exit 2; }
  OMP_NUM_THREADS=1 "$bin" --help >"$tmp/$name.help" 2>&1 ||
    { echo "$bin --help failed" >&2; cat "$tmp/$name.help" >&2; exit 1; }
  args+=("--help-$name" "$tmp/$name.help")
done

"$python" - "$root" "${args[@]}" <<'PY'
import re, sys
root = sys.argv[1]
helps = dict(zip(sys.argv[2::2], sys.argv[3::2]))
errors = []

def from_source(path):
    text = open(f"{root}/{path}").read()
    return {m.group(1): {"env": m.group(2), "default": None}
            for m in re.finditer(r'Add(?:String|Int|Double|Bool)\(\s*"([a-z0-9-]+)"\s*,\s*"([A-Z0-9_]*)"', text)}

def from_help(path, source):
    """Flags of a --help text. A trailing "(default: X)" that the help string itself
    contains in the source (e.g. "(default: STATE_DIR/models)") is prose, not a default."""
    source_text = open(f"{root}/{source}").read()
    flags = {}
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^  --([a-z0-9-]+)( VALUE)?(?:  \[\$([A-Z0-9_]+)\])?$", line)
        if m:
            text = lines[i + 1] if i + 1 < len(lines) else ""
            d = re.search(r"\(default: ([^()]*)\)$", text)
            default = d.group(1) if d else ""
            if d and d.group(0) in source_text and text.count("(default: ") == 1:
                default = ""
            flags[m.group(1)] = {"env": m.group(3) or "", "default": default}
    return flags

programs = {
    "lethe-server": ("server/server_config.cc", "--help-lethe-server"),
    "lethe-worker": ("worker/worker_config.cc", "--help-lethe-worker"),
}
guide = open(f"{root}/docs/operator-guide.md").read()
for program, (source, help_key) in programs.items():
    if help_key in helps:
        flags = from_help(helps[help_key], source)
        flags.pop("help", None)
        source_flags = from_source(source)
        if set(flags) - {"help"} != set(source_flags):
            errors.append(f"{program}: --help and {source} disagree: "
                          f"{sorted(set(flags) ^ set(source_flags))}")
    else:
        flags = from_source(source)
    if len(flags) < 10:
        errors.append(f"{program}: only {len(flags)} flags found; parsing is broken")
    m = re.search(rf"^### {re.escape(program)} flags\s*$(.*?)(?=^#)", guide, re.M | re.S)
    if not m:
        errors.append(f'operator guide: no "### {program} flags" section')
        continue
    rows = {}
    for line in m.group(1).splitlines():
        r = re.match(r"^\|\s*`--([a-z0-9-]+)`\s*\|\s*([^|]*?)\s*\|\s*([^|]*?)\s*\|", line)
        if r:
            rows[r.group(1)] = (r.group(2).strip("`"), r.group(3))
    for name, info in flags.items():
        if name not in rows:
            errors.append(f"{program}: --{name} is not documented")
            continue
        env, default = rows[name]
        want_env = info["env"] or "—"
        if env != want_env:
            errors.append(f"{program}: --{name} documented with variable {env}, is {want_env}")
        if info["default"] is not None:
            want = f"`{info['default']}`" if info["default"] != "" else "—"
            if default != want:
                errors.append(f"{program}: --{name} documented default {default}, --help says {want}")
    for name in rows:
        if name not in flags:
            errors.append(f"{program}: the guide documents --{name}, which does not exist")
    print(f"{program}: {len(flags)} flags, {len(rows)} documented"
          f"{' (defaults from --help)' if help_key in helps else ''}")

# lethectl commands shown in the user guide exist.
commands = set()
for path in ("client/commands/audit.cc", "client/commands/models.cc",
             "client/commands/requests.cc", "client/commands/submit.cc",
             "client/commands/tokens.cc"):
    for m in re.finditer(r'\{\{((?:"[a-z-]+"(?:,\s*)?)+)\},\s*\n?\s*"', open(f"{root}/{path}").read()):
        commands.add(" ".join(re.findall(r'"([a-z-]+)"', m.group(1))))
if len(commands) < 10:
    errors.append(f"lethectl: only {len(commands)} commands found; parsing is broken")
used = 0
for doc in ("docs/user-guide.md", "docs/operator-guide.md"):
    text = open(f"{root}/{doc}").read()
    for m in re.finditer(r"^\s*(?:\$ )?lethectl((?:\s+--?[a-z-]+(?:[ =](?!-)\S+)?)*)\s+([a-z-]+)(?:\s+([a-z-]+))?",
                         text, re.M):
        one, two = m.group(2), m.group(3)
        if f"{one} {two}" in commands or one in commands:
            used += 1
            continue
        errors.append(f"{doc}: `lethectl {one} {two or ''}` is no lethectl command")
print(f"lethectl: {len(commands)} commands; {used} command lines in the guides checked")
for e in errors:
    print("ERROR:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
