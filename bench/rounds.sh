#!/usr/bin/env bash
# Alternating rounds of one redis-benchmark test against redis-server and
# one or more keel-server builds. Every server is started once, pinned to
# core 0 (the benchmark to core 1); each round runs the test once on every
# server, rotating which goes first, so the host's drift (other tenants,
# the disk) falls on all of them alike. Prints a markdown row per run, then
# the means: requests/s, and the server's CPU time per request from
# /proc/PID/stat. Use it to compare two builds of Keel, or to repeat a
# close comparison with Redis until its mean is clear of the noise.
#
#   bash bench/rounds.sh [KEEL_BIN ...]    (default: a release build of the checkout)
#
# Environment:
#   TEST=evalsha        redis-benchmark test: evalsha (the compare.sh script,
#                       INCR then GET of one key) or any -t name (set, get, ...)
#   P=1 N=200000        pipeline depth and requests per run
#   ROUNDS=4 CLIENTS=50
#   APPENDFSYNC=always  run every server with `appendonly yes` and this policy
#                       (default: no AOF)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=rounds
# shellcheck source=bench/lib.sh
source bench/lib.sh

TEST=${TEST:-evalsha}
P=${P:-1}
N=${N:-200000}
ROUNDS=${ROUNDS:-4}
CLIENTS=${CLIENTS:-50}
APPENDFSYNC=${APPENDFSYNC:-}
EVALSHA_SCRIPT="redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])"

require_tools redis-server redis-cli redis-benchmark taskset
if [[ $# -eq 0 ]]; then
    ensure_keel_bin
    set -- "$KEEL_BIN"
fi

WORK=$(mktemp -d)
SPAWN_REGISTRY="$WORK/servers"
cleanup() {
    stop_spawned
    rm -rf "$WORK"
}
trap cleanup EXIT

persistence=()
[[ -z "$APPENDFSYNC" ]] || persistence=(--appendonly yes --appendfsync "$APPENDFSYNC")

NAMES=()
PIDS=()
PORTS=()
# start_one NAME KIND [KEEL_BIN]
start_one() {
    local name=$1 kind=$2
    [[ -z "${3:-}" ]] || KEEL_BIN=$3
    spawn_server "$kind" "$SERVER_CORE" "$WORK/${#NAMES[@]}" "${persistence[@]}"
    wait_ready "$SPAWNED_PORT" "$name"
    NAMES+=("$name")
    PIDS+=("$SPAWNED_PID")
    PORTS+=("$SPAWNED_PORT")
}

start_one redis redis
for bin in "$@"; do
    [[ -x "$bin" ]] || die "no keel-server binary at $bin"
    start_one "$bin" keel "$bin"
done

args=(-t "$TEST")
if [[ "$TEST" == evalsha ]]; then
    for port in "${PORTS[@]}"; do
        sha=$(redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$EVALSHA_SCRIPT")
    done
    args=(EVALSHA "$sha" 1 counter)
fi

log "$TEST -P $P -n $N, $ROUNDS rounds, ${#NAMES[@]} servers; load: $(uptime)"
echo "| round | server | rps | cpu µs/req |"
echo "|---:|---|---:|---:|"
declare -A rps_sum cpu_sum
for round in $(seq 1 "$ROUNDS"); do
    for offset in $(seq 0 $((${#NAMES[@]} - 1))); do
        i=$(((offset + round) % ${#NAMES[@]}))
        before=$(cpu_ticks "${PIDS[$i]}")
        out=$(taskset -c "$CLIENT_CORE" redis-benchmark -h 127.0.0.1 -p "${PORTS[$i]}" \
            -c "$CLIENTS" -n "$N" -P "$P" --csv "${args[@]}" 2>/dev/null)
        after=$(cpu_ticks "${PIDS[$i]}")
        rps=$(echo "$out" | tail -n 1 | tr -d '"' | cut -d, -f2)
        [[ -n "$rps" ]] || die "no result from ${NAMES[$i]}: $out"
        cpu=$(cpu_us_per_request "$before" "$after" "$N")
        echo "| $round | ${NAMES[$i]} | $rps | $cpu |"
        rps_sum[$i]=$(awk -v a="${rps_sum[$i]:-0}" -v b="$rps" 'BEGIN { print a + b }')
        cpu_sum[$i]=$(awk -v a="${cpu_sum[$i]:-0}" -v b="$cpu" 'BEGIN { print a + b }')
    done
done

echo
echo "| server | mean rps | ratio to redis | mean cpu µs/req |"
echo "|---|---:|---:|---:|"
for i in "${!NAMES[@]}"; do
    awk -v name="${NAMES[$i]}" -v r="${rps_sum[$i]}" -v r0="${rps_sum[0]}" \
        -v c="${cpu_sum[$i]}" -v n="$ROUNDS" \
        'BEGIN { printf "| %s | %.0f | %.3f | %.3f |\n", name, r / n, r / r0, c / n }'
done
log "done; load: $(uptime)"
