#!/usr/bin/env bash
# Start or stop a throwaway single-node Slurm (munge + slurmctld + slurmd) for the Slurm tests.
#
#   source .ci/slurm.sh start   # installs the Debian packages if missing, writes $ECNAS_SLURM_DIR/slurm.conf,
#                               # starts the daemons and exports SLURM_CONF; returns non-zero if Slurm cannot run
#   .ci/slurm.sh stop           # stops the daemons it started
#
# Everything lives under $ECNAS_SLURM_DIR (default /tmp/ecnas-slurm); nothing under /etc is written.
# The node is this machine with all its CPUs; the partition has no time limit, jobs may be requeued
# (a requeued job waits cred_expire = 10 s before it starts again, instead of Slurm's default 120 s).
set -u
ECNAS_SLURM_DIR="${ECNAS_SLURM_DIR:-/tmp/ecnas-slurm}"

_slurm_install() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null && return 0
    [ "$(id -u)" = 0 ] || { echo "slurm: not root, cannot install slurm" >&2; return 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null 2>&1
}

_slurm_start() {
    _slurm_install || { echo "slurm: packages unavailable" >&2; return 1; }
    local dir="$ECNAS_SLURM_DIR" host cpus memory
    host="$(hostname -s)"
    cpus="$(nproc)"
    memory="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
    mkdir -p "$dir/ctld" "$dir/spool" "$dir/log" /run/munge
    chown munge:munge /run/munge 2>/dev/null || true
    if [ ! -S /run/munge/munge.socket.2 ]; then
        [ -s /etc/munge/munge.key ] || { mungekey --create >/dev/null 2>&1 || /usr/sbin/create-munge-key >/dev/null 2>&1; }
        if id munge >/dev/null 2>&1; then
            runuser -u munge -- /usr/sbin/munged >/dev/null 2>&1 || /usr/sbin/munged --force >/dev/null 2>&1
        else
            /usr/sbin/munged --force >/dev/null 2>&1
        fi
    fi
    cat >"$dir/slurm.conf" <<CONF
ClusterName=ecnas-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=10
SlurmdParameters=config_overrides
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    export SLURM_CONF="$dir/slurm.conf"
    /usr/sbin/slurmctld -f "$SLURM_CONF" || return 1
    /usr/sbin/slurmd -f "$SLURM_CONF" || return 1
    local i
    for i in $(seq 1 30); do
        if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            echo "slurm: up ($host, $cpus CPUs, SLURM_CONF=$SLURM_CONF)"
            return 0
        fi
        scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    echo "slurm: node did not become idle; see $dir/log" >&2
    return 1
}

_slurm_stop() {
    local dir="$ECNAS_SLURM_DIR" name pid
    for name in slurmd slurmctld; do
        if [ -s "$dir/$name.pid" ]; then
            pid="$(cat "$dir/$name.pid")"
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            rm -f "$dir/$name.pid"
        fi
    done
}

case "${1:-}" in
    start) _slurm_start ;;
    stop) _slurm_stop ;;
    *) echo "usage: source .ci/slurm.sh start | .ci/slurm.sh stop" >&2; false ;;
esac
