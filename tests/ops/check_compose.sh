#!/usr/bin/env bash
# docker-compose.yml (alone and with deploy/compose.gpu.yml) validates offline with
# Debian's docker-compose, and what it wires together agrees with the rest of the tree:
# flags and LETHE_* variables exist in the programs' configuration code, secrets come
# from files, start order is postgres -> migrate -> server/workers, and Prometheus
# scrapes every Lethe service on the port it serves /metrics on.
set -euo pipefail
root=${LETHE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
python=${LETHE_PYTHON:-/usr/bin/python3}
command -v docker-compose >/dev/null ||
  { echo "docker-compose not found (scripts/setup installs it)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Placeholder secret files: compose only needs the paths.
mkdir "$tmp/secrets"
for f in db_password subject_salt tls_cert.pem tls_key.pem grafana_admin_password; do
  echo placeholder >"$tmp/secrets/$f"
done
export LETHE_SECRETS_DIR="$tmp/secrets"

cd "$root"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml config >"$tmp/base.yml"
docker-compose -f docker-compose.yml -f deploy/compose.gpu.yml config -q
docker-compose -f docker-compose.yml -f deploy/compose.gpu.yml config >"$tmp/gpu.yml"
echo "docker-compose config: ok"

"$python" - "$root" "$tmp/base.yml" "$tmp/gpu.yml" <<'PY'
import re, sys, yaml
root, base_path, gpu_path = sys.argv[1:]
base = yaml.safe_load(open(base_path))
gpu = yaml.safe_load(open(gpu_path))
prom = yaml.safe_load(open(f"{root}/deploy/prometheus.yml"))
errors = []
def err(msg): errors.append(msg)

def flags_of(*files):
    flags, envs = set(), set()
    for path in files:
        text = open(f"{root}/{path}").read()
        for m in re.finditer(r'Add(?:String|Int|Double|Bool)\(\s*"([a-z0-9-]+)"\s*,\s*"([A-Z0-9_]*)"', text):
            flags.add(m.group(1))
            if m.group(2):
                envs.add(m.group(2))
    if not flags:
        err(f"no flags found in {files}: the configuration code moved?")
    return flags, envs

server_flags, server_envs = flags_of("server/server_config.cc")
worker_flags, worker_envs = flags_of("worker/worker_config.cc")
entrypoint_envs = {"PGPASSWORD_FILE", "LETHE_DATABASE_URL_FILE", "LETHE_SUBJECT_SALT_FILE"}

services = base["services"]
for name in ("postgres", "migrate", "lethe-server", "prometheus", "grafana", "evaluator"):
    if name not in services:
        err(f"service {name} missing")
workers = sorted(n for n in services if n.startswith("lethe-worker"))
if len(workers) < 2:
    err(f"expected at least two lethe-worker services, found {workers}")

def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return env

def check_program(svc_name, flags, envs):
    svc = services[svc_name]
    for key in env_of(svc):
        if key.startswith("LETHE_") and key not in envs | entrypoint_envs:
            err(f"{svc_name}: {key} is no variable of the program (configuration code)")
    cmd = svc.get("command") or []
    for arg in cmd:
        m = re.match(r"--(no-)?([a-z0-9-]+)", arg)
        if m and m.group(2) not in flags and (m.group(1) or "") + m.group(2) not in flags:
            err(f"{svc_name}: flag {arg} is not a flag of the program")

check_program("lethe-server", server_flags, server_envs)
check_program("migrate", server_flags, server_envs)
for w in workers:
    check_program(w, worker_flags, worker_envs)
    if env_of(services[w]).get("LETHE_WORKER_ID") in (None, ""):
        err(f"{w}: give each worker a LETHE_WORKER_ID")
ids = [env_of(services[w]).get("LETHE_WORKER_ID") for w in workers]
if len(set(ids)) != len(ids):
    err(f"worker ids not unique: {ids}")

# Start order.
def cond(svc, dep):
    return ((services[svc].get("depends_on") or {}).get(dep) or {}).get("condition")
if services["migrate"].get("command") != ["lethe-server", "migrate"]:
    err(f"migrate runs {services['migrate'].get('command')}, not lethe-server migrate")
if cond("migrate", "postgres") != "service_healthy":
    err("migrate must wait for a healthy postgres")
for s in ["lethe-server"] + workers:
    if cond(s, "migrate") != "service_completed_successfully":
        err(f"{s} must start after migrate completed")
if "--no-migrate" not in (services["lethe-server"].get("command") or []):
    err("lethe-server should run --no-migrate (the migrate service owns schema changes)")
pg = services["postgres"]
if not pg.get("healthcheck", {}).get("test"):
    err("postgres has no health check")
if not any(re.search(r":/var/lib/postgresql/data(:r[ow])?$", str(v)) or
           (isinstance(v, dict) and v.get("target") == "/var/lib/postgresql/data")
           for v in pg.get("volumes", [])):
    err("postgres data is not on a volume")

# Secrets: never literal values in the environment; every secret from a file.
secret_key = re.compile(r"PASSWORD|SECRET|TOKEN|SALT|PRIVATE", re.I)
for name, svc in services.items():
    for key, value in env_of(svc).items():
        if secret_key.search(key) and not key.endswith("_FILE") and not key.endswith("__FILE") \
                and key not in ("GF_SECURITY_ADMIN_USER",):
            err(f"{name}: secret-looking variable {key} has a literal value")
        if value and re.search(r"://[^/@:]+:[^/@]+@", str(value)):
            err(f"{name}: {key} embeds a password in a URL")
        if value and str(value).startswith("/run/secrets/"):
            wanted = str(value).rsplit("/", 1)[1]
            used = [s if isinstance(s, str) else s.get("source") for s in svc.get("secrets", [])]
            if wanted not in used:
                err(f"{name}: {key} reads secret {wanted} that the service does not mount")
    for s in svc.get("secrets", []):
        src = s if isinstance(s, str) else s.get("source")
        if "file" not in (base.get("secrets") or {}).get(src, {}):
            err(f"{name}: secret {src} is not defined as a file")

# Monitoring wiring.
def mounts(svc):
    return [str(v) if not isinstance(v, dict) else f"{v.get('source')}:{v.get('target')}"
            for v in services[svc].get("volumes", [])]
pm = mounts("prometheus")
for f in ("deploy/prometheus.yml", "deploy/alerts.yml"):
    if not any(f"{root}/{f}:" in m for m in pm):
        err(f"prometheus does not mount {f}")
gm = mounts("grafana")
for f in ("deploy/grafana/provisioning", "deploy/grafana/dashboards"):
    if not any(f"{root}/{f}:" in m for m in gm):
        err(f"grafana does not mount {f}")

def metrics_port(name):
    svc = services[name]
    listen = env_of(svc).get("LETHE_METRICS_LISTEN")
    for arg in svc.get("command") or []:
        if arg.startswith("--metrics-listen="):
            listen = arg.split("=", 1)[1]
    if not listen:
        listen = "127.0.0.1:9464" if name == "lethe-server" else "127.0.0.1:9465"
    host, port = listen.rsplit(":", 1)
    if host in ("127.0.0.1", "localhost", "::1"):
        err(f"{name}: /metrics listens on {listen}, unreachable from Prometheus")
    return port

targets = {}
for job in prom["scrape_configs"]:
    for sc in job.get("static_configs", []):
        for t in sc.get("targets", []):
            targets[t] = job["job_name"]
for name, job in [("lethe-server", "lethe-server")] + [(w, "lethe-worker") for w in workers]:
    want = f"{name}:{metrics_port(name)}"
    if targets.get(want) != job:
        err(f"prometheus.yml: job {job} does not scrape {want}")
for t, job in targets.items():
    host = t.rsplit(":", 1)[0]
    if job.startswith("lethe") and host not in services:
        err(f"prometheus.yml scrapes {t}, which is no compose service")

# GPU override: every worker on CUDA with a GPU reserved.
for w in workers:
    svc = gpu["services"][w]
    if env_of(svc).get("LETHE_DEVICE") != "cuda":
        err(f"compose.gpu.yml: {w} does not run on cuda")
    devs = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices")
    if not devs:
        err(f"compose.gpu.yml: {w} reserves no GPU")

for e in errors:
    print(e, file=sys.stderr)
print(f"compose wiring: {'FAILED' if errors else 'ok'} ({len(services)} services, workers {workers})")
sys.exit(1 if errors else 0)
PY
