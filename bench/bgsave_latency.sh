#!/usr/bin/env bash
# p99 latency of a concurrent redis-benchmark (SET and GET, -P 1) while
# BGSAVE runs back to back over N keys, against the same without BGSAVE;
# Keel (forkless snapshot) and redis-server (fork) side by side, same run.
#
#   bench/bgsave_latency.sh [N=1000000] [REQUESTS=300000]
#
# KEEL_BASE=<another keel-server> adds that binary to the same run (as
# "base", before Keel), to compare two builds under the same host load.
# REDIS=0 leaves Redis out.
#
# Needs target/release/keel-server (cargo build --release -p keel-net),
# redis-server and redis-benchmark 7.0 on PATH. Ports are picked free;
# every server started here is stopped on exit.
set -euo pipefail

N=${1:-1000000}
REQUESTS=${2:-300000}
KEEL=${KEEL:-$(dirname "$0")/../target/release/keel-server}
BENCH_NAME=bgsave_latency.sh
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/keel-bgsave-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT


# N keys key:0..key:N-1 with 16-byte values, pipelined.
fill() {
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
        k = "key:" i; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nvalue-0123456789\r\n", length(k), k } }' |
        redis-cli -p "$1" --pipe >/dev/null
}

# Prints "set_p99 get_p99 set_rps get_rps" from a redis-benchmark run.
bench() {
    redis-benchmark -p "$1" -t set,get -P 1 -c 50 -n "$REQUESTS" -r "$N" -d 16 --csv 2>/dev/null |
        awk -F'","' '/^"SET"/ { sp = $7; sr = $2 } /^"GET"/ { gp = $7; gr = $2 }
            END { gsub(/"/, "", sp); gsub(/"/, "", gp); print sp, gp, sr, gr }'
}

bgsave_in_progress() {
    redis-cli -p "$1" info persistence | tr -d '\r' | awk -F: '/^rdb_bgsave_in_progress/ { print $2 }'
}

rdb_saves() {
    redis-cli -p "$1" info persistence | tr -d '\r' | awk -F: '/^rdb_saves:/ { print $2 }'
}

# Runs the benchmark while BGSAVE is asked for again every 50 ms (refused
# while one runs), so saves follow each other back to back; prints the
# benchmark's figures and the number of BGSAVEs that ran. One redis-cli
# process on one connection asks: a poller spawning a redis-cli every few
# ms took enough CPU from the benchmark client to inflate its measured
# latencies (with Keel and Redis alike).
bench_during_bgsave() {
    local port=$1 out="$WORK/during-$1" before
    before=$(rdb_saves "$port")
    redis-cli -p "$port" -r 1000000 -i 0.05 bgsave >/dev/null 2>&1 &
    local asker=$!
    bench "$port" >"$out"
    kill "$asker" 2>/dev/null || true
    wait "$asker" 2>/dev/null || true
    while [ "$(bgsave_in_progress "$port")" = "1" ]; do sleep 0.05; done
    echo "$(cat "$out") $(($(rdb_saves "$port") - before))"
}

run() {
    local name=$1 port=$2
    fill "$port"
    local keys
    keys=$(redis-cli -p "$port" dbsize)
    local t0 t1
    t0=$(date +%s.%N)
    redis-cli -p "$port" bgsave >/dev/null
    sleep 0.05
    while [ "$(bgsave_in_progress "$port")" = "1" ]; do sleep 0.01; done
    t1=$(date +%s.%N)
    local base during
    base=$(bench "$port")
    during=$(bench_during_bgsave "$port")
    # shellcheck disable=SC2086
    set -- $base $during
    printf "%-6s keys=%s one_bgsave=%.2fs | no bgsave: SET p99 %s ms GET p99 %s ms (%s / %s rps) | during bgsave (%s ran): SET p99 %s ms GET p99 %s ms (%s / %s rps)\n" \
        "$name" "$keys" "$(echo "$t1 - $t0" | bc)" "$1" "$2" "$3" "$4" "$9" "$5" "$6" "$7" "$8"
}

# Starts keel-server binary $2 and runs the benchmark on it as $1.
run_keel() {
    local name=$1 bin=$2 port
    port=$(free_port)
    mkdir -p "$WORK/$name"
    "$bin" --port "$port" --dir "$WORK/$name" --save "" --loglevel warning >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_ready "$port" "$name"
    run "$name" "$port"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

if [ -n "${KEEL_BASE:-}" ]; then
    run_keel base "$KEEL_BASE"
fi
run_keel keel "$KEEL"
[ "${REDIS:-1}" = 0 ] && exit 0

RPORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$RPORT" --dir "$WORK/redis" --save "" --appendonly no \
    --loglevel warning --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_ready "$RPORT" redis-server
run redis "$RPORT"
redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true
