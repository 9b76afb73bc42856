#!/usr/bin/env bash
# Tear down the single-node SLURM cluster started by tests/slurm/up.sh:
# cancel leftover jobs, then stop slurmd, slurmctld and munged via their pid
# files. Idempotent: does not fail when nothing is running. Must run as root.
set -euo pipefail

STOP_TIMEOUT="${SLURM_STOP_TIMEOUT:-20}"   # seconds per daemon before SIGKILL

CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid

log() { echo "[slurm/down] $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    log "must run as root"
    exit 1
fi

# pid_alive PIDFILE COMM: the pid file names a live process called COMM
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$2" ]]
}

# stop PIDFILE COMM
stop() {
    local pf=$1 name=$2 pid i
    if ! pid_alive "$pf" "$name"; then
        log "$name not running"
        rm -f "$pf"
        return 0
    fi
    pid=$(<"$pf")
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < STOP_TIMEOUT * 5; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not exit within ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pf"
}

# Cancel jobs that are still queued/running so that no slurmstepd or job
# process outlives the cluster (they are not children of slurmd).
if pid_alive "$CTLD_PID" slurmctld && command -v squeue >/dev/null 2>&1; then
    jobs=$(timeout 10 squeue -h -o %A -t PENDING,RUNNING,SUSPENDED,CONFIGURING,COMPLETING 2>/dev/null || true)
    if [[ -n $jobs ]]; then
        log "cancelling jobs: ${jobs//$'\n'/ }"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 1 20); do
            [[ -z $(timeout 5 squeue -h -o %A -t RUNNING,COMPLETING 2>/dev/null || true) ]] && break
            sleep 0.5
        done
    fi
fi

stop "$SLURMD_PID" slurmd
stop "$CTLD_PID" slurmctld
stop "$MUNGE_PID" munged
log "slurm cluster down"
