#!/usr/bin/env bash
# Replication cost of Keel against Redis 7.0, measured the same way in the
# same run (issue 6). Prints two markdown tables on stdout (progress and the
# machine's load average on stderr):
#
# 1. Full sync: a primary holding N keys (key:0 .. key:N-1, 16-byte values)
#    and a fresh replica started with `replicaof`, timed from the replica's
#    start until its INFO says master_link_status:up and its DBSIZE is N
#    (a poller on core 1 asks every 2 ms). Keel replica of a Keel primary,
#    Redis replica of a Redis primary; once with repl-diskless-sync no and
#    once with yes (repl-diskless-sync-delay 0, so Redis does not wait 5 s
#    for more replicas). The setting goes to the primary with CONFIG SET
#    and only when the server accepts it: a cell marked † ran on a server
#    that refused it, i.e. with its one built-in way of syncing. The
#    primary must count exactly one full sync.
# 2. Primary SET throughput at -P 16 (redis-benchmark, 50 clients, random
#    keys out of 1M): first on the primary alone, then (after FLUSHALL) with
#    two replicas attached and online. CPU µs per request of the primary and
#    of both replicas together (utime+stime of all threads). After the run
#    the replicas must reach the primary's replication offset and DBSIZE
#    (the time that takes is the catch-up column) without a second full
#    sync (a replica dropped for output-buffer overflow would show there).
#
# Placement on this 2-core machine: the primary AND the replicas run on
# core 0, redis-benchmark and the pollers on core 1. The replicas' work thus
# comes out of the same core as the primary's, so the with-replicas row is
# the cost of the whole replicated setup on one core, the same budget for
# both servers (Redis's fork child for a disk-based sync inherits core 0
# too). Override with SERVER_CORE / REPLICA_CORE / CLIENT_CORE.
#
# Usage: bench/repl.sh [--quick]
#   --quick               100k keys, 200k requests (< 1 minute)
#   KEEL_BIN=path         a keel-server binary instead of building one
#   REPL_KEYS=n           keys of table 1 (default 1000000)
#   DISKLESS_MODES="..."  repl-diskless-sync values of table 1 (default "no yes")
#   REPL_REQUESTS=n       requests per run of table 2 (default 2000000)
#   SECTIONS="s ..."      which tables: sync throughput (default both)
#   SYNC_TIMEOUT_S=n      longest wait for a sync or catch-up (default 600, quick 120)
# Requires: redis-server, redis-cli, redis-benchmark 7.0, taskset, python3, cargo.
set -eEuo pipefail
# A failing step inside $(...) stops the run too, and says where.
shopt -s inherit_errexit
trap 'log "error: \"$BASH_COMMAND\" failed (status $?) at line $LINENO"' ERR

cd "$(dirname "$0")/.."
BENCH_NAME=repl.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

if [[ "${1:-}" == "--quick" ]]; then
    REPL_KEYS=${REPL_KEYS:-100000}
    REPL_REQUESTS=${REPL_REQUESTS:-200000}
    SYNC_TIMEOUT_S=${SYNC_TIMEOUT_S:-120}
fi
REPL_KEYS=${REPL_KEYS:-1000000}
REPL_REQUESTS=${REPL_REQUESTS:-2000000}
read -r -a DISKLESS_MODES <<<"${DISKLESS_MODES:-no yes}"
read -r -a SECTIONS <<<"${SECTIONS:-sync throughput}"
REPLICA_CORE=${REPLICA_CORE:-$SERVER_CORE}
KEYSPACE=1000000
CLIENTS=50
PIPELINE=16
# Longest a full sync or a catch-up may take.
SYNC_TIMEOUT_S=${SYNC_TIMEOUT_S:-600}

require_tools redis-server redis-cli redis-benchmark taskset python3
ensure_keel_bin

setup_workdir repl

# Starts a primary with no data; sets PRIMARY_PORT and PRIMARY_PID.
start_primary() {
    local kind=$1 dir=$2
    spawn_server "$kind" "$SERVER_CORE" "$dir"
    PRIMARY_PORT=$SPAWNED_PORT PRIMARY_PID=$SPAWNED_PID
    wait_ready "$PRIMARY_PORT" "$kind primary"
    # Redis waits 5 s (the default) for more replicas before a disk-less
    # transfer; a server without the setting has nothing to wait for.
    config_accepted "$PRIMARY_PORT" repl-diskless-sync-delay 0 || true
}

# Waits until the replica on PORT is up and has DBSIZE and the replication
# offset of the primary; prints the seconds that took.
wait_caught_up() {
    local port=$1 t0 want_offset want_keys deadline=$((SECONDS + SYNC_TIMEOUT_S))
    t0=$(now_ns)
    want_offset=$(info_field "$PRIMARY_PORT" master_repl_offset)
    want_keys=$(cli "$PRIMARY_PORT" DBSIZE)
    while ((SECONDS < deadline)); do
        if [[ "$(info_field "$port" master_link_status)" == up &&
            "$(info_field "$port" master_repl_offset)" == "$want_offset" &&
            "$(cli "$port" DBSIZE)" == "$want_keys" ]]; then
            seconds_between "$t0" "$(now_ns)"
            return
        fi
        sleep 0.01
    done
    die "replica on port $port did not reach offset $want_offset and $want_keys keys"
}

expect_full_syncs() {
    local count
    count=$(info_field "$PRIMARY_PORT" sync_full)
    [[ "$count" == "$1" ]] || die "the primary on port $PRIMARY_PORT counted $count full syncs, expected $1"
}

# Table 1 for one server kind and repl-diskless-sync value; prints the
# seconds of the full sync, with † when the primary refused the setting.
sync_seconds() {
    local kind=$1 mode=$2 dir="$WORK/sync-$1-$2" mark=""
    start_primary "$kind" "$dir/primary"
    config_accepted "$PRIMARY_PORT" repl-diskless-sync "$mode" || mark="†"
    log "$kind: loading $REPL_KEYS keys into the primary (repl-diskless-sync $mode${mark:+ refused})"
    fill_keys "$PRIMARY_PORT" "$REPL_KEYS"
    timed_spawn "$SYNC_TIMEOUT_S" synced "$REPL_KEYS" "$kind" "$REPLICA_CORE" "$dir/replica" \
        --replicaof 127.0.0.1 "$PRIMARY_PORT"
    expect_full_syncs 1
    stop_spawned
    rm -rf "$dir"
    echo "$TIMED_SECONDS$mark"
}

sync_table() {
    local mode redis keel
    echo "| keys | repl-diskless-sync | redis full sync s | keel full sync s | keel/redis |"
    echo "|---:|---|---:|---:|---:|"
    for mode in "${DISKLESS_MODES[@]}"; do
        log "full sync of $REPL_KEYS keys, repl-diskless-sync $mode; load: $(cat /proc/loadavg)"
        redis=$(sync_seconds redis "$mode")
        keel=$(sync_seconds keel "$mode")
        echo "| $REPL_KEYS | $mode | $redis | $keel | $(ratio "${keel%†}" "${redis%†}") |"
    done
}

# One redis-benchmark SET run against the primary; prints
# "rps primary_cpu_us replicas_cpu_us" (per request).
set_run() {
    local replica_pids=("$@") before=() after=() out rps pid total i
    for pid in "$PRIMARY_PID" "${replica_pids[@]}"; do before+=("$(cpu_ticks "$pid")"); done
    out=$(taskset -c "$CLIENT_CORE" redis-benchmark -h 127.0.0.1 -p "$PRIMARY_PORT" -c "$CLIENTS" \
        -t set -r "$KEYSPACE" -P "$PIPELINE" -n "$REPL_REQUESTS" --csv 2>/dev/null)
    for pid in "$PRIMARY_PID" "${replica_pids[@]}"; do after+=("$(cpu_ticks "$pid")"); done
    rps=$(echo "$out" | tail -n 1 | tr -d '"' | cut -d, -f2)
    [[ -n "$rps" ]] || die "no result from redis-benchmark on port $PRIMARY_PORT: $out"
    total=0
    for ((i = 1; i < ${#after[@]}; i++)); do total=$((total + after[i] - before[i])); done
    echo "$rps $(cpu_us_per_request "${before[0]}" "${after[0]}" "$REPL_REQUESTS") $(cpu_us_per_request 0 "$total" "$REPL_REQUESTS")"
}

# Table 2 for one server kind; prints "alone_rps alone_cpu rps primary_cpu
# replicas_cpu catch_up_s" (catch_up_s: the slower replica).
throughput() {
    local kind=$1 dir="$WORK/tput-$1" alone with ports=() pids=() port slowest=0 took n
    start_primary "$kind" "$dir/primary"
    log "$kind: SET -P $PIPELINE on the primary alone"
    alone=$(set_run)
    alone=${alone% *}
    cli "$PRIMARY_PORT" FLUSHALL >/dev/null
    for n in 1 2; do
        spawn_server "$kind" "$REPLICA_CORE" "$dir/replica-$n" --replicaof 127.0.0.1 "$PRIMARY_PORT"
        ports+=("$SPAWNED_PORT")
        pids+=("$SPAWNED_PID")
        wait_ready "$SPAWNED_PORT" "$kind replica"
    done
    for port in "${ports[@]}"; do wait_caught_up "$port" >/dev/null; done
    [[ "$(info_field "$PRIMARY_PORT" connected_slaves)" == 2 ]] || die "$kind primary has not 2 replicas"
    expect_full_syncs 2
    log "$kind: SET -P $PIPELINE on the primary with 2 replicas"
    with=$(set_run "${pids[@]}")
    for port in "${ports[@]}"; do
        took=$(wait_caught_up "$port")
        slowest=$(awk -v a="$slowest" -v b="$took" 'BEGIN { print (b > a ? b : a) }')
    done
    expect_full_syncs 2
    stop_spawned
    rm -rf "$dir"
    echo "$alone $with $slowest"
}

throughput_table() {
    local redis keel
    log "SET -P $PIPELINE -n $REPL_REQUESTS, alone and with 2 replicas; load: $(cat /proc/loadavg)"
    redis=$(throughput redis)
    keel=$(throughput keel)
    # shellcheck disable=SC2086
    set -- $redis $keel
    echo "| primary | redis rps | keel rps | keel/redis | redis primary cpu µs/req | keel primary cpu µs/req | redis replicas cpu µs/req | keel replicas cpu µs/req | redis catch-up s | keel catch-up s |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    echo "| alone | $1 | $7 | $(ratio "$7" "$1") | $2 | $8 | - | - | - | - |"
    echo "| + 2 replicas | $3 | $9 | $(ratio "$9" "$3") | $4 | ${10} | $5 | ${11} | $6 | ${12} |"
}

log "primaries on core $SERVER_CORE, replicas on core $REPLICA_CORE, clients on core $CLIENT_CORE; load: $(cat /proc/loadavg)"
if wants sync; then
    sync_table
    echo
fi
if wants throughput; then
    throughput_table
fi
log "done; load: $(cat /proc/loadavg)"
