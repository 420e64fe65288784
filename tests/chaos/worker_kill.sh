#!/usr/bin/env bash
# Forget requests on two models with two lethe-workers, one of which is killed with
# SIGKILL at chosen points of its jobs (inverting, unlearning, evaluating, publishing: aimed
# with the job row's progress) and restarted. Each request is submitted once the previous
# one on its model has finished, so every request is a job of its own. Afterwards: every
# request completed, no job published twice, every model's versions form one chain (no two
# versions from the same parent), no request lost, `lethectl audit verify` passes, and
# after a restart's sweep no weights remain but those of published, non-purged versions.
#   worker_kill.sh --server BIN --worker BIN --lethectl BIN --engine BIN [--long]
# LETHE_CHAOS_JOBS jobs (6; 20 with --long), LETHE_CHAOS_KILLS kills (4, one per phase; 10
# with --long).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

jobs=${LETHE_CHAOS_JOBS:-$( ((chaos_long)) && echo 20 || echo 6)}
kills=${LETHE_CHAOS_KILLS:-$( ((chaos_long)) && echo 10 || echo 4)}
models=2

# Jobs of a few seconds whose phases last long enough to aim at: a longer inversion, an
# evaluation every 30 iterations of a 60-iteration budget, more samples for the metrics.
slow_flags=(--inversion-steps=400 --eval-every=30 --metric-samples=300)
easy_params+=(--iteration-budget 60)

use_shared_database
prepare_assets
start_server
register_models "$models"
start_worker victim "${slow_flags[@]}"
start_worker steady "${slow_flags[@]}"
note "$jobs jobs on $models models, $kills kills of worker 'victim'"

phases=(inverting unlearning evaluating publishing)
declare -A last_request=()  # model -> its open request
declare -A kills_by_phase=()
submitted=0 killed=0 missed=0 next_item=0 target_i=0 target_since=$SECONDS
job_ms=()
declare -A submit_ms=()
deadline=$((SECONDS + 420))

terminal() {
  local s
  s=$(sql "SELECT state FROM forget_requests WHERE id = '$1'")
  [[ "$s" == completed || "$s" == failed || "$s" == cancelled ]]
}

while true; do
  ((SECONDS < deadline)) || fail "jobs did not finish within 420s ($submitted submitted)"
  # Feed: one open request per model.
  open=0
  for ((m = 0; m < models; m++)); do
    model="chaos-$m"
    req=${last_request[$model]:-}
    if [[ -n "$req" ]]; then
      if ! terminal "$req"; then open=$((open + 1)); continue; fi
      job_ms+=($(($(now_ms) - submit_ms[$req])))
      last_request[$model]=""
    fi
    if ((submitted < jobs)); then
      rid=$(uuid)
      res=$(submit_once "$rid" "$next_item" "$model")
      [[ "$res" == 0:* ]] || fail "submit failed with exit code $res"
      echo "$rid $next_item $res 0 0" >>"$chaos_tmp/client-feed.tsv"
      last_request[$model]=${res#0:}
      submit_ms[${res#0:}]=$(now_ms)
      next_item=$((next_item + 1))
      submitted=$((submitted + 1))
      open=$((open + 1))
    fi
  done
  ((open == 0 && submitted >= jobs)) && break
  # Aim: kill the victim when its job reaches the target phase.
  if ((killed < kills)); then
    target=${phases[$((target_i % ${#phases[@]}))]}
    # A job whose worker died max_attempts times is failed on purpose (a job that kills its
    # workers must not kill them forever): a job is killed on all but its last attempt.
    phase=$(sql "SELECT progress->>'phase' FROM jobs WHERE state = 'running' AND lease_owner = 'victim' AND attempt < max_attempts LIMIT 1")
    if [[ "$phase" == "$target" ]]; then
      kill -KILL "${worker_pids[victim]}"
      wait "${worker_pids[victim]}" 2>/dev/null || true
      killed=$((killed + 1))
      kills_by_phase[$target]=$((${kills_by_phase[$target]:-0} + 1))
      note "killed 'victim' while $target ($killed/$kills)"
      target_i=$((target_i + 1)) target_since=$SECONDS
      sleep 0.3
      start_worker victim "${slow_flags[@]}"
    elif ((SECONDS - target_since > 20)); then
      missed=$((missed + 1))  # the phase never showed up in time: aim at the next one
      target_i=$((target_i + 1)) target_since=$SECONDS
    fi
    # Poll without pause while the victim runs a job: publishing lasts a fraction of a second.
    [[ -n "$phase" ]] || sleep 0.1
  else
    sleep 0.2
  fi
done

# Every request completed, none lost.
present=$(check_acked_present)
((present == jobs)) || fail "$present of $jobs requests acknowledged"
not_completed=$(sql "SELECT count(*) FROM forget_requests WHERE state <> 'completed'")
((not_completed == 0)) || {
  sql "SELECT id, state, result->>'error' FROM forget_requests WHERE state <> 'completed' LIMIT 5" >&2
  fail "$not_completed requests did not complete"
}
# One version per job, one chain per model.
dup_versions=$(sql "SELECT count(*) FROM (SELECT job FROM model_versions WHERE job IS NOT NULL GROUP BY job HAVING count(*) > 1) d")
((dup_versions == 0)) || fail "$dup_versions jobs published more than one version"
forks=$(sql "SELECT count(*) FROM (SELECT parent FROM model_versions WHERE parent IS NOT NULL GROUP BY parent HAVING count(*) > 1) d")
((forks == 0)) || fail "$forks versions have more than one child: a job was published twice"
versions=$(sql "SELECT count(*) FROM model_versions WHERE job IS NOT NULL")
succeeded=$(sql "SELECT count(*) FROM jobs WHERE state = 'succeeded'")
((versions == succeeded)) || fail "$versions new versions for $succeeded succeeded jobs"
unpointed=$(sql "SELECT count(*) FROM forget_requests r WHERE NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.id::text = r.result->>'model_version')")
((unpointed == 0)) || fail "$unpointed completed requests name no published version"
takeovers=$(sql "SELECT count(*) FROM audit_log WHERE action = 'job.claimed' AND payload->>'takeover' = 'true'")
attempts=$(sql "SELECT coalesce(sum(attempt), 0) FROM jobs")
audit_verify

# Nothing a kill left behind survives the sweep: both workers are restarted with a 1 s
# grace (they sweep at start and with every purge), and then the only weights on disk are
# those of versions the database knows and has not purged — no orphan version directory,
# no ".tmp-*" write, no per-attempt work directory.
orphans() {
  local live f dir
  live=$(sql "SELECT uri FROM model_versions WHERE state <> 'purged'")
  find "$store_dir" -maxdepth 2 -name '.tmp-*'
  find "$chaos_tmp"/work-* -mindepth 1 -maxdepth 1 -name 'lethe-job-*' 2>/dev/null
  while read -r f; do
    dir=$(dirname "$f")
    grep -qxF "${dir#"$store_dir"/}" <<<"$live" || echo "$dir"
  done < <(find "$store_dir" -mindepth 3 -maxdepth 3 -name '*.pt')
}
orphans_before=$(orphans | wc -l)
note "$orphans_before orphaned weight files or directories before the sweep"
for id in victim steady; do
  kill -TERM "${worker_pids[$id]}" 2>/dev/null || true
  wait "${worker_pids[$id]}" 2>/dev/null || true
  start_worker "$id" --purge-grace=1s --purge-interval-seconds=0.5
done
sweep_deadline=$((SECONDS + 20))
while [[ -n "$(orphans)" ]] && ((SECONDS < sweep_deadline)); do sleep 0.5; done
left=$(orphans)
[[ -z "$left" ]] || fail "weights or temporaries left after the sweep: $(tr '\n' ' ' <<<"$left")"
temps=0
((killed >= 1)) || fail "the victim was never killed"

phase_json=$(for p in "${!kills_by_phase[@]}"; do echo "\"$p\": ${kills_by_phase[$p]},"; done)
python3 - <<PY
import json
job_ms = sorted(int(x) for x in "${job_ms[*]}".split())
s = {"scenario": "worker_kill", "jobs": $jobs, "models": $models, "workers": 2,
     "kills": $killed, "kills_by_phase": {${phase_json%,}}, "aims_missed": $missed,
     "takeovers": $takeovers, "attempts": $attempts, "completed": $present,
     "lost": 0, "duplicate_versions": 0, "versions_published": $versions,
     "store_temp_dirs_left": $temps, "orphans_before_sweep": $orphans_before, "audit_verified": True,
     "job_ms_median": job_ms[len(job_ms) // 2] if job_ms else None,
     "job_ms_max": job_ms[-1] if job_ms else None, "seconds": $((SECONDS - chaos_t0))}
print("chaos_summary " + json.dumps(s, sort_keys=True))
PY
