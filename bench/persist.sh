#!/usr/bin/env bash
# Persistence cost of Keel against Redis 7.0, measured the same way in the
# same run (issue 5). Prints three markdown tables on stdout (progress and
# the machine's load average on stderr):
#
# 1. Snapshots, for each key count N: the same N keys (key:0 .. key:N-1,
#    16-byte values, piped with redis-cli --pipe) in a fresh server; wall
#    time of SAVE; size of the RDB file; wall time of one BGSAVE (start to
#    rdb_bgsave_in_progress:0) and Redis's fork time (latest_fork_usec; Keel
#    does not fork); then the server is stopped and started again on the
#    file, timed from its start until PING answers +PONG rather than
#    -LOADING (DBSIZE checked to be N after). One server at a time, so
#    memory holds one data set: 10M keys need about 1-1.5 GB per server.
# 2. SET throughput with the append-only file: a fresh server with
#    `appendonly yes` and `appendfsync everysec` / `always` (and the same
#    with `appendonly no` as the baseline), redis-benchmark -t set with 50
#    clients, random keys out of 1M, at -P 1 and -P 16: requests/s and the
#    server's CPU µs per request (utime+stime of all its threads, so
#    Redis's background fsync thread counts).
# 3. p99 latency during BGSAVE: runs bench/bgsave_latency.sh (p99 of a
#    concurrent redis-benchmark SET/GET -P 1 with and without back-to-back
#    BGSAVEs, Keel then Redis) and turns its lines into a table.
#
# Servers run pinned to core 0, redis-benchmark and the pollers to core 1
# (bench/lib.sh), except in table 3: bench/bgsave_latency.sh pins nothing,
# so Redis's fork child and the benchmark client share both cores.
#
# Usage: bench/persist.sh [--quick]
#   --quick                 100k keys and small request counts (< 1 minute)
#   KEEL_BIN=path           a keel-server binary instead of building one
#   SAVE_KEYS="n ..."       key counts of table 1 (default "1000000 10000000")
#   FSYNC_MODES="m ..."     rows of table 2 (default "off everysec always")
#   AOF_REQUESTS_P1=n       requests per run at -P 1 (default 200000)
#   AOF_REQUESTS_P16=n      requests per run at -P 16 (default 2000000)
#   ALWAYS_REQUESTS_P1=n    the same with appendfsync always (default 20000)
#   ALWAYS_REQUESTS_P16=n   (default 200000): every write waits for an fsync
#   BGSAVE_KEYS=n           keys of table 3 (default 1000000)
#   BGSAVE_REQUESTS=n       requests per redis-benchmark run of table 3 (default 300000)
#   SECTIONS="s ..."        which tables: save aof bgsave (default all three)
# Requires: redis-server, redis-cli, redis-benchmark 7.0, taskset, python3, bc, cargo.
set -eEuo pipefail
# A failing step inside $(...) stops the run too, and says where.
shopt -s inherit_errexit
trap 'log "error: \"$BASH_COMMAND\" failed (status $?) at line $LINENO"' ERR

cd "$(dirname "$0")/.."
BENCH_NAME=persist.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

if [[ "${1:-}" == "--quick" ]]; then
    SAVE_KEYS=${SAVE_KEYS:-100000}
    AOF_REQUESTS_P1=${AOF_REQUESTS_P1:-20000}
    AOF_REQUESTS_P16=${AOF_REQUESTS_P16:-200000}
    ALWAYS_REQUESTS_P1=${ALWAYS_REQUESTS_P1:-2000}
    ALWAYS_REQUESTS_P16=${ALWAYS_REQUESTS_P16:-20000}
    BGSAVE_KEYS=${BGSAVE_KEYS:-100000}
    BGSAVE_REQUESTS=${BGSAVE_REQUESTS:-50000}
fi
read -r -a SAVE_KEYS <<<"${SAVE_KEYS:-1000000 10000000}"
read -r -a FSYNC_MODES <<<"${FSYNC_MODES:-off everysec always}"
read -r -a SECTIONS <<<"${SECTIONS:-save aof bgsave}"
AOF_REQUESTS_P1=${AOF_REQUESTS_P1:-200000}
AOF_REQUESTS_P16=${AOF_REQUESTS_P16:-2000000}
ALWAYS_REQUESTS_P1=${ALWAYS_REQUESTS_P1:-20000}
ALWAYS_REQUESTS_P16=${ALWAYS_REQUESTS_P16:-200000}
BGSAVE_KEYS=${BGSAVE_KEYS:-1000000}
BGSAVE_REQUESTS=${BGSAVE_REQUESTS:-300000}
AOF_KEYSPACE=1000000
CLIENTS=50
# Longest a server may take to load its file (10M keys take seconds).
LOAD_TIMEOUT_S=${LOAD_TIMEOUT_S:-600}

require_tools redis-server redis-cli redis-benchmark taskset python3 bc
ensure_keel_bin

setup_workdir persist

# Wall seconds of a command that must answer OK.
timed_ok() {
    local port=$1 t0 t1 reply
    shift
    t0=$(now_ns)
    reply=$(cli "$port" "$@")
    t1=$(now_ns)
    [[ "$reply" == "OK" ]] || die "$* on port $port answered '$reply'"
    seconds_between "$t0" "$t1"
}

# Wall seconds of one BGSAVE, from the command until rdb_bgsave_in_progress:0.
timed_bgsave() {
    local port=$1 t0 t1
    t0=$(now_ns)
    cli "$port" BGSAVE >/dev/null
    while [[ "$(info_field "$port" rdb_bgsave_in_progress)" != "0" ]]; do sleep 0.005; done
    t1=$(now_ns)
    [[ "$(info_field "$port" rdb_last_bgsave_status)" == "ok" ]] || die "BGSAVE failed on port $port"
    seconds_between "$t0" "$t1"
}

# Stops a spawned server without letting it write anything on the way out.
shutdown_nosave() {
    local port=$1 pid=$2
    cli "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    stop_pid "$pid"
}

# Table 1 for one server and key count; prints
# "save_s rdb_bytes bgsave_s fork_ms load_s".
snapshot_row() {
    local kind=$1 keys=$2 dir="$WORK/$1-$2" port pid save size bgsave fork load
    spawn_server "$kind" "$SERVER_CORE" "$dir"
    port=$SPAWNED_PORT pid=$SPAWNED_PID
    wait_ready "$port" "$kind"
    log "$kind: loading $keys keys"
    fill_keys "$port" "$keys"
    save=$(timed_ok "$port" SAVE)
    size=$(stat -c %s "$dir/dump.rdb")
    bgsave=$(timed_bgsave "$port")
    fork=$(info_field "$port" latest_fork_usec)
    shutdown_nosave "$port" "$pid"

    timed_spawn "$LOAD_TIMEOUT_S" pong 0 "$kind" "$SERVER_CORE" "$dir"
    load=$TIMED_SECONDS
    [[ "$(cli "$SPAWNED_PORT" DBSIZE)" == "$keys" ]] || die "$kind did not load $keys keys back"
    shutdown_nosave "$SPAWNED_PORT" "$SPAWNED_PID"
    rm -rf "$dir"
    echo "$save $size $bgsave $(awk -v us="$fork" 'BEGIN { printf "%.1f", us / 1000 }') $load"
}

snapshot_table() {
    local keys redis keel
    echo "| keys | redis SAVE s | keel SAVE s | keel/redis | redis RDB MB | keel RDB MB | keel/redis | redis BGSAVE s (fork ms) | keel BGSAVE s | redis load s | keel load s | keel/redis |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for keys in "${SAVE_KEYS[@]}"; do
        log "snapshots of $keys keys; load: $(cat /proc/loadavg)"
        redis=$(snapshot_row redis "$keys")
        keel=$(snapshot_row keel "$keys")
        # shellcheck disable=SC2086
        set -- $redis $keel
        awk -v n="$keys" -v rs="$1" -v rb="$2" -v rg="$3" -v rf="$4" -v rl="$5" \
            -v ks="$6" -v kb="$7" -v kg="$8" -v kl="${10}" 'BEGIN {
            printf "| %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.2f | %.3f (%.1f) | %.3f | %.3f | %.3f | %.2f |\n",
                n, rs, ks, (rs > 0 ? ks / rs : 0), rb / 1048576, kb / 1048576, kb / rb,
                rg, rf, kg, rl, kl, (rl > 0 ? kl / rl : 0)
        }'
    done
}

# One SET run of table 2; prints "rps cpu_us_per_request".
aof_run() {
    local kind=$1 mode=$2 pipeline=$3 requests=$4 dir="$WORK/aof-$1" port pid before after out rps
    local options=(--appendonly yes --appendfsync "$mode")
    [[ "$mode" == off ]] && options=(--appendonly no)
    spawn_server "$kind" "$SERVER_CORE" "$dir" "${options[@]}"
    port=$SPAWNED_PORT pid=$SPAWNED_PID
    wait_ready "$port" "$kind"
    local enabled=1
    [[ "$mode" == off ]] && enabled=0
    [[ "$(info_field "$port" aof_enabled)" == "$enabled" ]] || die "$kind: aof_enabled is not $enabled"
    before=$(cpu_ticks "$pid")
    out=$(taskset -c "$CLIENT_CORE" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" \
        -t set -r "$AOF_KEYSPACE" -P "$pipeline" -n "$requests" --csv 2>/dev/null)
    after=$(cpu_ticks "$pid")
    rps=$(echo "$out" | tail -n 1 | tr -d '"' | cut -d, -f2)
    [[ -n "$rps" ]] || die "no result from redis-benchmark on $kind: $out"
    if [[ "$mode" != off ]]; then
        [[ -n "$(find "$dir" -name '*.aof' -size +0)" ]] || die "$kind wrote no AOF in $dir"
    fi
    shutdown_nosave "$port" "$pid"
    rm -rf "$dir"
    echo "$rps $(cpu_us_per_request "$before" "$after" "$requests")"
}

aof_table() {
    local mode pipeline requests redis keel
    echo "| appendfsync | P | requests | redis rps | keel rps | keel/redis | redis cpu µs/req | keel cpu µs/req |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for mode in "${FSYNC_MODES[@]}"; do
        for pipeline in 1 16; do
            if [[ "$mode" == always ]]; then
                requests=$ALWAYS_REQUESTS_P1
                [[ "$pipeline" == 1 ]] || requests=$ALWAYS_REQUESTS_P16
            else
                requests=$AOF_REQUESTS_P1
                [[ "$pipeline" == 1 ]] || requests=$AOF_REQUESTS_P16
            fi
            log "SET with appendfsync $mode -P $pipeline -n $requests; load: $(cat /proc/loadavg)"
            redis=$(aof_run redis "$mode" "$pipeline" "$requests")
            keel=$(aof_run keel "$mode" "$pipeline" "$requests")
            # shellcheck disable=SC2086
            set -- $redis $keel
            local label=$mode
            [[ "$mode" == off ]] && label="(appendonly no)"
            echo "| $label | $pipeline | $requests | $1 | $3 | $(ratio "$3" "$1") | $2 | $4 |"
        done
    done
}

# Table 3 from the lines bench/bgsave_latency.sh prints, one per server:
# "<name> keys=N one_bgsave=Xs | no bgsave: SET p99 A ms GET p99 B ms (C / D rps)
#  | during bgsave (S started): SET p99 E ms GET p99 F ms (G / H rps)"
bgsave_table() {
    local out
    log "p99 during BGSAVE of $BGSAVE_KEYS keys ($BGSAVE_REQUESTS requests a run); load: $(cat /proc/loadavg)"
    out=$(KEEL="$KEEL_BIN" bash bench/bgsave_latency.sh "$BGSAVE_KEYS" "$BGSAVE_REQUESTS")
    echo "| server | keys | one BGSAVE s | SET p99 ms idle → during BGSAVE | GET p99 ms idle → during | SET rps idle → during | GET rps idle → during | BGSAVEs started |"
    echo "|---|---:|---:|---|---|---|---|---:|"
    local line pattern
    pattern='^([a-z]+) +keys=([0-9]+) one_bgsave=([0-9.]+)s \| no bgsave: SET p99 ([0-9.]+) ms GET p99 ([0-9.]+) ms \(([0-9.]+) / ([0-9.]+) rps\) \| during bgsave \(([0-9]+) started\): SET p99 ([0-9.]+) ms GET p99 ([0-9.]+) ms \(([0-9.]+) / ([0-9.]+) rps\)$'
    while IFS= read -r line; do
        [[ "$line" =~ $pattern ]] || die "unexpected line from bench/bgsave_latency.sh: $line"
        local m=("${BASH_REMATCH[@]}")
        echo "| ${m[1]} | ${m[2]} | ${m[3]} | ${m[4]} → ${m[9]} | ${m[5]} → ${m[10]} | ${m[6]} → ${m[11]} | ${m[7]} → ${m[12]} | ${m[8]} |"
    done <<<"$out"
}

log "servers on core $SERVER_CORE, clients on core $CLIENT_CORE; load: $(cat /proc/loadavg)"
if wants save; then
    snapshot_table
    echo
fi
if wants aof; then
    aof_table
    echo
fi
if wants bgsave; then
    bgsave_table
fi
log "done; load: $(cat /proc/loadavg)"
