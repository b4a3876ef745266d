# Sourced by the experiment scripts: one (variant, seed) run in its own directory, resumable.
# run_once DIR CONF [--set key=value ...]: skips DIR if a run there finished (final-global.weights), continues the
# latest interrupted one with `run --resume`, or else starts CONF with the given settings and runs-dir=DIR.
# Needs the array `fedactors` (the command that runs fedactors) set by the caller.
run_once() {
  local dir=$1 conf=$2
  shift 2
  if compgen -G "$dir/*/final-global.weights" > /dev/null; then echo "done: $dir"; return 0; fi
  local started
  started=$(ls -d "$dir"/*/ 2>/dev/null | tail -n 1 || true)
  if [ -n "$started" ] && [ -f "$started/resolved.conf" ]; then
    echo "resuming: $started"
    "${fedactors[@]}" run --resume "${started%/}"
    return
  fi
  echo "running: $dir"
  "${fedactors[@]}" run "$conf" --set "runs-dir=\"$PWD/$dir\"" "$@"
}
