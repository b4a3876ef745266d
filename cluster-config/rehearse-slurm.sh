#!/usr/bin/env bash
# A local rehearsal of the Slurm path: runs cluster-config/slurm-gpu-cluster.sbatch unchanged on
# this machine, with fake `srun` and `scontrol` on PATH and the SLURM_* variables a job would have.
# The fake allocation is 4 tasks on one "node" (127.0.0.1; SLURM_LOCALID 0..3, so each task gets
# its own port); task 3 never starts, like a machine that failed to come up. The experiment is the
# tests' tiny one (4 hospitals of 32 images of 16 px, 2 rounds) with cluster.min-workers = 4,
# cluster.min-workers-floor = 3 and a short cluster.min-workers-timeout (REHEARSE_TIMEOUT, default
# 20s: long enough for 3 processes to start on a loaded 2-core machine). It checks that:
#   1. job 1: the coordinator times out waiting for the 4th worker, starts with the 3 that joined
#      (the floor), runs every round and writes the run directory;
#   2. job 2, the same experiment resubmitted (a new job id, hence a new port; the 4th node back): it
#      derives the same run id and reports the run complete instead of starting afresh;
#   3. job 3, the floor raised to 4: the coordinator gives up after the timeout, naming the keys and
#      how many workers joined, and the job exits 2;
#   4. job 4, task 0 (the seed) missing: the workers give up after cluster.coordinator-timeout and the
#      standby coordinator after cluster.min-workers-timeout, each naming its key; the job exits 2.
#   (--no-give-up skips jobs 3 and 4.)
#
#   dotnet build FedActors.sln -c Release
#   bash cluster-config/rehearse-slurm.sh [--keep] [--no-give-up]     # FEDACTORS=... for another build
#
# Exit code 0 when every check holds, 1 otherwise (the logs are printed, and kept with --keep).
set -uo pipefail
cd "$(dirname "$0")/.."

keep=0 give_up=1
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --no-give-up) give_up=0 ;;
    *) echo "usage: $0 [--keep] [--no-give-up]" >&2; exit 2 ;;
  esac
done

FEDACTORS=${FEDACTORS:-$PWD/Host/bin/Release/net10.0/fedactors}
[ -x "$FEDACTORS" ] || { echo "rehearse-slurm: $FEDACTORS is missing: dotnet build FedActors.sln -c Release (or set FEDACTORS)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fedactors-rehearse-slurm.XXXXXX")
cleanup() { if [ "$keep" = 1 ]; then echo "rehearse-slurm: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
mkdir -p "$work/bin" "$work/runs"

# scontrol show hostnames LIST: one host per line (the fake lists are comma-separated names).
cat > "$work/bin/scontrol" <<'EOF'
#!/usr/bin/env bash
[ "${1:-}" = show ] && [ "${2:-}" = hostnames ] || { echo "fake scontrol: only 'show hostnames' is faked" >&2; exit 1; }
tr ',' '\n' <<< "${3:-$SLURM_JOB_NODELIST}"
EOF
# srun [options] COMMAND...: SLURM_NTASKS tasks of COMMAND on this machine, each with its SLURM_PROCID,
# SLURM_LOCALID and SLURMD_NODENAME, output prefixed "task N: "; tasks in FAKE_SRUN_MISSING never start.
# Like srun, it waits for every task and exits with the highest exit code.
cat > "$work/bin/srun" <<'EOF'
#!/usr/bin/env bash
while [ $# -gt 0 ] && [[ "$1" == -* ]]; do shift; done
pids=()
for ((i = 0; i < SLURM_NTASKS; i++)); do
  if [[ " ${FAKE_SRUN_MISSING:-} " == *" $i "* ]]; then echo "fake srun: task $i does not start (a missing node)"; continue; fi
  ( set -o pipefail
    SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NODEID=0 SLURMD_NODENAME=$FAKE_SRUN_NODE "$@" 2>&1 | sed -u "s/^/task $i: /" ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p"; r=$?; [ "$r" -gt "$rc" ] && rc=$r; done
exit "$rc"
EOF
chmod +x "$work/bin/scontrol" "$work/bin/srun"

# The tests' tiny run (tests/FedActors.Tests/Host/TinyRun.cs), on a 4-worker allocation that may start with 3.
cat > "$work/tiny.conf" <<EOF
fedactors {
  seed = 7
  runs-dir = "$work/runs"
  torch-threads = 1
  training-threads = 2
  data { hospitals = 4, train-images-per-hospital = 32, test-images-per-hospital = 16, image-size = 16 }
  model { encoder-widths = [8, 8, 16, 16], projection-dim = 16 }
  moco { queue-size = 32, batch-size = 8 }
  probe.steps = 30
  rounds { count = 2, min-participants = 4, timeout = 3m, resend-interval = 3s }
  cluster {
    min-workers = 4
    min-workers-timeout = ${REHEARSE_TIMEOUT:-20s}
    min-workers-floor = 3
    coordinator-timeout = 2m
    stable-after = 3s
  }
}
EOF

# One fake job: job id $1, log $2, then NAME=VALUE settings for the sbatch script. Returns its exit code.
job() {
  local id=$1 log=$2; shift 2
  echo "== job $id: $* (log $log)"
  local start=$SECONDS
  env PATH="$work/bin:$PATH" SLURM_JOB_ID="$id" SLURM_JOB_NAME=fedactors SLURM_JOB_NODELIST=127.0.0.1 SLURM_NTASKS=4 \
      FAKE_SRUN_NODE=127.0.0.1 FAKE_SRUN_MISSING=3 EXPERIMENT="$work/tiny.conf" FEDACTORS="$FEDACTORS" "$@" \
      timeout 300 bash cluster-config/slurm-gpu-cluster.sbatch > "$log" 2>&1
  local rc=$?
  echo "   exit code $rc after $((SECONDS - start)) s"
  return "$rc"
}

failures=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then echo "   ok: $what"; else echo "   FAILED: $what"; failures=$((failures + 1)); fi
}
has() { grep -q -- "$2" "$1"; }
show() { echo "--- $1"; grep -v '^\s*$' "$1" | grep -iv 'warn\|at Akka\|at System' | head -n 60; }

job 4242 "$work/job1.log"; rc1=$?
check "job 1 exits 0" test "$rc1" -eq 0
check "job 1's nodes listen on its derived ports (10000 + 10 x (4242 mod 2000) = 12420, + local id)" has "$work/job1.log" "node akka.tcp://fedactors@127.0.0.1:12422 up"
check "job 1 times out waiting for the missing node and starts with the floor" has "$work/job1.log" "only 3 of 4 worker(s) joined within cluster.min-workers-timeout"
check "job 1 runs every round" has "$work/job1.log" "round 2/2"
check "job 1 finishes the run" has "$work/job1.log" "done in"
run1=$(sed -n 's/^task [0-9]*: \(resuming \)\{0,1\}run directory: //p' "$work/job1.log" | head -n 1)
check "job 1 wrote final-global.weights in its run directory ($run1)" test -f "$run1/final-global.weights"
[ "$failures" -eq 0 ] || show "$work/job1.log"

f=$failures
job 4243 "$work/job2.log" FAKE_SRUN_MISSING=; rc2=$?
check "job 2 (resubmitted) exits 0" test "$rc2" -eq 0
check "job 2 listens on its own ports (12430 + local id)" has "$work/job2.log" "node akka.tcp://fedactors@127.0.0.1:12430 up"
check "job 2 resumes the same run directory" has "$work/job2.log" "resuming run directory: $run1"
check "job 2 reports the run complete instead of starting afresh" has "$work/job2.log" "resumed: all 2 rounds had already completed"
check "job 2 trained no round again (metrics.csv still has 2 rows)" test "$(($(wc -l < "$run1/metrics.csv") - 1))" -eq 2
check "one run directory in all" test "$(ls "$work/runs" | wc -l)" -eq 1
[ "$failures" -eq "$f" ] || show "$work/job2.log"

if [ "$give_up" = 1 ]; then
  f=$failures
  job 4244 "$work/job3.log" NODE_ARGS="--set cluster.min-workers-floor=4"; rc3=$?
  check "job 3 (floor 4, 3 joined) exits 2" test "$rc3" -eq 2
  check "job 3 names the keys and how many joined" has "$work/job3.log" "only 3 of 4 worker(s) (fedactors.cluster.min-workers) joined within fedactors.cluster.min-workers-timeout"
  check "job 3 trained no round" bash -c "! grep -q 'round 1/2' '$work/job3.log'"
  [ "$failures" -eq "$f" ] || show "$work/job3.log"

  f=$failures
  job 4245 "$work/job4.log" FAKE_SRUN_MISSING=0 NODE_ARGS="--set cluster.coordinator-timeout=20s"; rc4=$?
  check "job 4 (the seed's task 0 missing) exits 2" test "$rc4" -eq 2
  check "job 4's workers give up naming cluster.coordinator-timeout" has "$work/job4.log" "task 2: fedactors: configuration error: no coordinator node joined this worker's cluster within fedactors.cluster.coordinator-timeout (20s)"
  check "job 4's standby coordinator gives up with 0 workers joined" has "$work/job4.log" "task 1: fedactors: configuration error: only 0 of 4 worker(s)"
  [ "$failures" -eq "$f" ] || show "$work/job4.log"
fi

if [ "$failures" -eq 0 ]; then echo "rehearse-slurm: every check held"; exit 0; fi
echo "rehearse-slurm: $failures check(s) failed"
exit 1
