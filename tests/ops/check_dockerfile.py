#!/usr/bin/python3
"""Static checks of the Dockerfile's runtime images (no container engine needed).

    check_dockerfile.py ROOT [--binary NAME=PATH ...]

Runtime stages (every stage but `build`) must:
  - install Debian packages only from deploy/runtime-packages*.txt, and those lists must
    hold no -dev package and no compiler or build tool; the lists' dependency closure
    (apt-cache depends --recurse) must ship no compiler, cmake or ninja file (installed
    packages are checked by their file lists, the others by name);
  - copy from the build stage only the four named binaries (and the CUDA LibTorch
    libraries), from the context only the package lists, the entry point and migrations/;
  - never run scripts/setup, a compiler or a build tool;
  - run as a non-root user.
The build stage must install its toolchain with scripts/setup, and each binary it stages
must be an add_executable() of the directory it is taken from.
With --binary, each built binary's shared libraries (ldd) must come from packages in the
closure of its image's lists (server, lethectl: the base list; worker, engine: base +
worker list), so the lists are complete.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

BINARIES = {"lethe-server", "lethe-worker", "lethectl", "lethe-engine"}
ALLOWED_FROM_BUILD = {f"/out/bin/{b}" for b in BINARIES} | {"/out/torch-lib/"}
ALLOWED_FROM_CONTEXT = {"deploy/runtime-packages.txt", "deploy/runtime-packages-worker.txt",
                        "deploy/docker-entrypoint.sh", "migrations/"}
BUILD_TOOLS = re.compile(r"(^|[\s;&|(/])(cmake|ninja|gcc|g\+\+|cc|c\+\+|clang\+?\+?|make|"
                         r"scripts/setup|pip3?|cargo|go)(\s|$|;)")
# (gcc-12-base only holds documentation; every Debian system has it for libgcc-s1.)
FORBIDDEN_PACKAGE = re.compile(r"(-dev$|^(gcc|g\+\+|cpp|clang|llvm|cmake|ninja-build|make|"
                               r"build-essential|binutils|libtool|autoconf|automake|"
                               r"pkg-config|pkgconf)(-\d+)?$|^binutils-)")
FORBIDDEN_FILE = re.compile(r"(/cc1plus$|/cc1$|/collect2$|/bin/(gcc|g\+\+|cc|c\+\+|cpp|"
                            r"clang|clang\+\+|cmake|ninja|make|ld|as|x86_64-linux-gnu-(gcc|g\+\+|ld|as))"
                            r"(-\d+)?$)")
TEST_BINARY = re.compile(r"(_tests?|_bench|bench_.*|benchmark.*)$")

errors = []


def err(msg):
    errors.append(msg)


def parse_dockerfile(path):
    """[(stage name, base, [(instruction, args)])]"""
    text = open(path).read()
    lines, cur = [], ""
    for raw in text.splitlines():
        if not cur and raw.lstrip().startswith("#"):
            continue
        if cur and raw.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction
        if raw.rstrip().endswith("\\"):
            cur += raw.rstrip()[:-1] + " "
            continue
        cur += raw
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stages = []
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            stages.append((m.group(2) or f"stage{len(stages)}", m.group(1), []))
        elif stages:
            stages[-1][2].append((instr, args.strip()))
    return stages


def read_list(path):
    pkgs = []
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            pkgs.append(line)
    return pkgs


def closure(packages):
    out = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + packages,
        capture_output=True, text=True)
    if out.returncode != 0:
        err(f"apt-cache depends failed: {out.stderr.strip()[:300]}")
        return set()
    names = {l.strip() for l in out.stdout.splitlines() if l and not l.startswith(" ")}
    return {n for n in names if not n.startswith("<")}


DPKG_INFO = "/var/lib/dpkg/info"


def dpkg_file_lists():
    """{package: [files]} of every installed package, read from dpkg's database once
    (one dpkg-query per package or per file would take minutes)."""
    lists = {}
    for entry in os.listdir(DPKG_INFO):
        if entry.endswith(".list"):
            pkg = entry[: -len(".list")].split(":", 1)[0]
            with open(os.path.join(DPKG_INFO, entry), errors="replace") as f:
                lists.setdefault(pkg, []).extend(l.rstrip("\n") for l in f)
    return lists


def path_variants(path):
    """The spellings one file may have on a merged-/usr system."""
    out = {path, os.path.realpath(path)}
    for p in list(out):
        if p.startswith("/usr/lib/") or p.startswith("/usr/bin/"):
            out.add(p[4:])
        elif p.startswith("/lib") or p.startswith("/bin/"):
            out.add("/usr" + p)
    return out


def stage_chain(stages, name):
    by_name = {s[0]: s for s in stages}
    chain = []
    while name in by_name:
        chain.append(by_name[name])
        name = by_name[name][1]
    return chain


def check_runtime_stage(name, instructions, lists):
    for instr, args in instructions:
        if instr == "RUN":
            if BUILD_TOOLS.search(args):
                err(f"stage {name}: RUN uses a build tool: {args[:120]}")
            for m in re.finditer(r"apt-get\s+install\s+([^;&|]*)", args):
                rest = m.group(1)
                rest = re.sub(r"\$\((?:[^()]|\([^()]*\))*\)", lambda s: "LIST" if
                              "runtime-packages" in s.group(0) else "UNKNOWN", rest)
                for tok in rest.split():
                    if tok.startswith("-") or tok in ("LIST", "$packages"):
                        continue
                    err(f"stage {name}: apt-get installs {tok!r}, which is not read from "
                        f"deploy/runtime-packages*.txt")
                if "runtime-packages" not in args:
                    err(f"stage {name}: apt-get install does not read a runtime package list")
        if instr in ("COPY", "ADD"):
            if instr == "ADD":
                err(f"stage {name}: ADD (use COPY of named files)")
            parts = shlex.split(args)
            opts = [p for p in parts if p.startswith("--")]
            paths = [p for p in parts if not p.startswith("--")]
            srcs = paths[:-1]
            src_stage = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
            for s in srcs:
                if src_stage is not None:
                    if src_stage != "build" or s not in ALLOWED_FROM_BUILD:
                        err(f"stage {name}: COPY --from={src_stage} {s} is not one of the "
                            f"named binaries")
                elif s not in ALLOWED_FROM_CONTEXT:
                    err(f"stage {name}: COPY {s} from the context is not allowed in a "
                        f"runtime image")
                if TEST_BINARY.search(s.rstrip("/").rsplit("/", 1)[-1]):
                    err(f"stage {name}: copies a test or benchmark binary {s}")
            for s in srcs:
                base = s.rstrip("/").rsplit("/", 1)[-1]
                if base.startswith("runtime-packages"):
                    lists.add(base)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--binary", action="append", default=[], help="NAME=PATH of a built binary")
    args = ap.parse_args()
    root = args.root
    stages = parse_dockerfile(os.path.join(root, "Dockerfile"))
    names = [s[0] for s in stages]
    if "build" not in names:
        err("no stage named build")
    for required in ("runtime-base", "server", "worker"):
        if required not in names:
            err(f"no stage named {required}")

    base_list = read_list(os.path.join(root, "deploy/runtime-packages.txt"))
    worker_list = read_list(os.path.join(root, "deploy/runtime-packages-worker.txt"))
    for pkg in base_list + worker_list:
        if FORBIDDEN_PACKAGE.search(pkg):
            err(f"runtime package list holds a build package: {pkg}")
        if subprocess.run(["apt-cache", "show", pkg], capture_output=True).returncode != 0:
            err(f"runtime package {pkg} is unknown to apt")

    # Build stage: the toolchain comes from scripts/setup; staged binaries are real targets.
    build = next((s for s in stages if s[0] == "build"), None)
    if build:
        text = "\n".join(f"{i} {a}" for i, a in build[2])
        if not re.search(r"^COPY scripts/setup ", text, re.M) or \
                not re.search(r"^RUN /src/scripts/setup\b", text, re.M):
            err("build stage does not COPY and RUN scripts/setup")
        staged = set()
        for m in re.finditer(r"install\s+[^;]*?/build/(\S+)/([\w.+-]+)\s+/out/bin/([\w.+-]+)", text):
            directory, target, out = m.groups()
            staged.add(out)
            if target != out:
                err(f"build stage stages {target} as {out}")
            cml = os.path.join(root, directory, "CMakeLists.txt")
            if not os.path.exists(cml) or not re.search(
                    r"add_executable\(\s*" + re.escape(target) + r"\b", open(cml).read()):
                err(f"build stage takes /build/{directory}/{target}, but {directory}/"
                    f"CMakeLists.txt has no add_executable({target} ...)")
        if staged != BINARIES:
            err(f"build stage stages {sorted(staged)}, expected {sorted(BINARIES)}")

    # Runtime stages.
    lists_used = {}
    for name, base, instructions in stages:
        if name == "build":
            continue
        used = set()
        check_runtime_stage(name, instructions, used)
        lists_used[name] = used
    for final in ("server", "worker", "all"):
        chain = stage_chain(stages, final)
        if not chain:
            continue
        users = [a for s in chain for i, a in reversed(s[2]) if i == "USER"]
        user = users[0] if users else "root"
        if user.split(":")[0] in ("root", "0"):
            err(f"stage {final} runs as root")
        copied = set()
        for s in chain:
            for i, a in s[2]:
                if i == "COPY" and "--from=build" in a:
                    copied |= {p.rsplit("/", 1)[-1] for p in shlex.split(a)[1:-1]}
        want = {"server": {"lethe-server", "lethectl"},
                "worker": {"lethe-worker", "lethe-engine", "lethectl"},
                "all": BINARIES}[final]
        if not want <= copied:
            err(f"stage {final} lacks {sorted(want - copied)}")
    if "runtime-packages.txt" not in lists_used.get("runtime-base", set()):
        err("runtime-base does not install deploy/runtime-packages.txt")
    if "runtime-packages-worker.txt" not in lists_used.get("worker", set()):
        err("worker does not install deploy/runtime-packages-worker.txt")

    # What the runtime images hold: the lists' dependency closure.
    closures = {"base": closure(base_list), "worker": closure(base_list + worker_list)}
    file_lists = dpkg_file_lists()
    checked_files = 0
    for pkg in sorted(closures["worker"]):
        if FORBIDDEN_PACKAGE.search(pkg):
            err(f"runtime dependency closure holds build package {pkg}")
            continue
        files = file_lists.get(pkg)
        if files is None:
            continue  # not installed here: judged by its name above
        checked_files += len(files)
        for f in files:
            if FORBIDDEN_FILE.search(f):
                err(f"runtime package {pkg} ships {f}")
    print(f"runtime closure: {len(closures['base'])} packages (server), "
          f"{len(closures['worker'])} (worker); {checked_files} files checked")

    # Built binaries: every shared library comes from the image's package closure.
    image_of = {"lethe-server": "base", "lethectl": "base", "lethe-worker": "worker",
                "lethe-engine": "worker"}
    always_there = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:12-slim itself
    owner = {}
    if args.binary:
        for pkg, files in file_lists.items():
            for f in files:
                owner.setdefault(f, pkg)
    for spec in args.binary:
        name, _, path = spec.partition("=")
        if name not in image_of or not os.path.exists(path):
            err(f"--binary {spec}: unknown name or missing file")
            continue
        out = subprocess.run(["ldd", path], capture_output=True, text=True)
        if out.returncode != 0:
            err(f"ldd {path} failed: {out.stderr.strip()}")
            continue
        libs = re.findall(r"=>\s+(/\S+)", out.stdout)
        missing = re.findall(r"(\S+)\s+=>\s+not found", out.stdout)
        for m in missing:
            err(f"{name}: ldd cannot resolve {m}")
        uncovered = {}
        for lib in libs:
            pkg = next((owner[v] for v in path_variants(lib) if v in owner), None)
            if pkg is None:
                uncovered.setdefault("(no Debian package)", []).append(lib)
            elif pkg not in closures[image_of[name]] and pkg not in always_there:
                uncovered.setdefault(pkg, []).append(lib)
        for pkg, files in sorted(uncovered.items()):
            err(f"{name} needs {files[0]} from {pkg}, which its image's package lists "
                f"do not pull in")
        print(f"{name}: {len(libs)} shared libraries, all from the {image_of[name]} image's "
              f"packages" if not uncovered else f"{name}: {len(uncovered)} package(s) missing")

    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    print("Dockerfile runtime checks:", "FAILED" if errors else "ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
