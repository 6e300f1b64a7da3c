#!/usr/bin/env bash
# Measure a build plan on a Slurm cluster: one array task per shard.
#
#   1. plan once (login node):   ecnas build sample --recipe builders/nb101-cifar10.toml --workdir "$WORKDIR"
#   2. measure (N shards):       sbatch --array=0-$((N-1)) builders/slurm-array.sh "$WORKDIR"
#   3. after the array:          ecnas build status --workdir "$WORKDIR"    (resubmit failed/killed tasks
#                                 with the same --array ids: each shard resumes where it stopped)
#   4. fit and fill:             ecnas build fit --workdir "$WORKDIR" && ecnas build fill --workdir "$WORKDIR" --out T.h5
#
# Every task appends to its own records-<i>-of-<N>.jsonl in WORKDIR (a shared file system), durably;
# shard i of N is fixed by the plan and (i, N), so resubmitting a task never duplicates work.
# The resource lines below fit a CPU-only build (the tiny profile) on any cluster out of the box; for the
# nb101-cifar10 profile uncomment the GPU and memory lines (or pass them to sbatch: --gres=gpu:1 --mem=16G).
# SIGTERM (preemption, `scontrol requeue`, scancel) stops a task after the cell in flight; a requeued task
# resumes its shard without measuring any cell twice.
# Energy: GPUs are measured per job (NVML follows the job's CUDA_VISIBLE_DEVICES). CPU energy read from
# RAPL covers the whole package, so with a RAPL meter each task needs a whole node (uncomment --exclusive):
# `ecnas build measure` refuses RAPL when the job holds fewer CPUs than its node has.
#
#SBATCH --job-name=ecnas-build
#SBATCH --array=0-15
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
##SBATCH --mem=16G
##SBATCH --gres=gpu:1
#SBATCH --output=%x-%A_%a.log
#SBATCH --requeue
##SBATCH --exclusive

set -euo pipefail

WORKDIR="${1:?usage: sbatch --array=0-<N-1> builders/slurm-array.sh WORKDIR [THREADS]}"
THREADS="${2:-${SLURM_CPUS_PER_TASK:-1}}"
: "${SLURM_ARRAY_TASK_ID:?run this script with sbatch --array}"
# N = number of array tasks; with a stepped or partial array set ECNAS_SHARDS explicitly.
SHARDS="${ECNAS_SHARDS:-${SLURM_ARRAY_TASK_COUNT:?set ECNAS_SHARDS to the number of shards}}"
ECNAS="${ECNAS:-ecnas}"   # e.g. ECNAS=/path/to/venv/bin/ecnas

export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
exec "$ECNAS" build measure --workdir "$WORKDIR" --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" \
    --threads "$THREADS" --no-progress
