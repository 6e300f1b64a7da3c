#!/usr/bin/env bash
# Run a recipe on this machine with local worker processes, in the background, resumably.
#
#   builders/run-local.sh builders/tiny-default.toml [WORKERS] [LOG]
#
# Rerun the same line after an interruption (or a reboot): finished cells are kept, the rest is measured,
# then the surrogates are fitted and the table filled. Progress: ecnas build status --workdir <workdir>.
set -euo pipefail
RECIPE="${1:?usage: builders/run-local.sh RECIPE.toml [WORKERS] [LOG]}"
WORKERS="${2:-2}"
LOG="${3:-runs/$(basename "${RECIPE%.toml}").log}"
ECNAS="${ECNAS:-ecnas}"
mkdir -p "$(dirname "$LOG")"
nohup "$ECNAS" build run --recipe "$RECIPE" --workers "$WORKERS" --no-progress >>"$LOG" 2>&1 &
echo "build started (pid $!), log: $LOG"
