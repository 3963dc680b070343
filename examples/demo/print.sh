# Printing helpers of examples/demo.sh (sourced; needs kubectl on PATH and NS set). Each line is built from ONE read of
# the object, so a line never pairs one step with another step's loss; test/unit/examples/demo-print.test.ts runs
# them against a kubectl stand-in whose answers change on every call.

# human_bytes N: 452643821125504 -> "453 TB" (decimal units, three significant digits, like `moectl plan`).
human_bytes() {
  awk -v b="$1" 'BEGIN {
    split("B KB MB GB TB PB EB", u, " "); i = 1
    if (b !~ /^[0-9.eE+]+$/) { print "?"; exit }
    while (b >= 1000 && i < 7) { b /= 1000; i++ }
    if (i == 1) printf "%d B\n", b
    else if (b < 10) printf "%.2f %s\n", b, u[i]
    else if (b < 100) printf "%.1f %s\n", b, u[i]
    else printf "%.0f %s\n", b, u[i]
  }'
}

# mtj_read NAME: one `kubectl get` fills MTJ_PHASE, MTJ_STEP, MTJ_STEPS, MTJ_LOSS, MTJ_CKPT (empty when not reported).
mtj_read() {
  local out
  out=$(kubectl -n "$NS" get mtj "$1" -o 'jsonpath={.status.phase}{"|"}{.status.progress.step}{"|"}{.spec.training.steps}{"|"}{.status.progress.loss}{"|"}{.status.checkpoints.latest.step}' 2>/dev/null) || out=""
  IFS='|' read -r MTJ_PHASE MTJ_STEP MTJ_STEPS MTJ_LOSS MTJ_CKPT <<<"$out" || true
}

# mtj_progress_line: the line for the values mtj_read read; empty until the operator has given the job a phase.
mtj_progress_line() {
  [ -n "$MTJ_PHASE" ] || return 0
  local step="${MTJ_STEP:--}" loss="-" ckpt="${MTJ_CKPT:-none yet}"
  [ -n "$MTJ_STEP" ] && [ -n "$MTJ_STEPS" ] && step="$MTJ_STEP/$MTJ_STEPS"
  [ -n "$MTJ_LOSS" ] && loss=$(awk -v l="$MTJ_LOSS" 'BEGIN { printf "%.4f", l }')
  [ -n "$MTJ_CKPT" ] && ckpt="step $MTJ_CKPT"
  printf '  %-9s  step %-6s  loss %-7s  checkpoint %s\n' "$MTJ_PHASE" "$step" "$loss" "$ckpt"
}

# mtj_traffic NAME: the plan's estimated bytes per training step crossing each topology level, one read.
mtj_traffic() {
  kubectl -n "$NS" get mtj "$1" -o 'jsonpath={range .status.plan.trafficByLevel[*]}{.level}{" "}{.bytesPerStep}{"\n"}{end}' 2>/dev/null |
    while read -r level bytes; do
      [ -n "$level" ] && printf '    %-8s %10s\n' "$level" "$(human_bytes "$bytes")"
    done
}
