#!/usr/bin/env bash
# Throughput and CPU cost of Keel against Redis, measured the same way.
#
# Both servers run pinned to core 0 and redis-benchmark to core 1 (50
# clients, pipelines of 1 and 16), one test at a time. Each server's CPU
# time (utime+stime from /proc/PID/stat, all threads) is read before and
# after each run, giving CPU microseconds per request. The result is a
# markdown table on stdout; progress goes to stderr.
#
# Usage: bench/compare.sh [--quick]
#   --quick            small request counts (a smoke run, numbers are noise)
#   KEEL_BIN=path      a keel-server binary to use instead of building one
#   REQUESTS_P1=n      requests per test with -P 1  (default 200000)
#   REQUESTS_P16=n     requests per test with -P 16 (default 2000000)
#   BENCH_TESTS="a b"  the tests to run (default: ping_inline ping_mbulk set get incr mset).
#                      Any redis-benchmark -t test, plus lrange_100 and zrange_100
#                      (LRANGE/ZRANGE of 100 elements). Tests that read data get it
#                      loaded first, untimed: rpop (a list of as many elements as
#                      requests), spop (a set of about as many members), lrange_100
#                      (1000 elements), zrange_100 (about 10000 members).
#                      Collections row set: lpush rpop lrange_100 sadd hset zadd zrange_100 spop
# Requires: redis-server, redis-benchmark, redis-cli, taskset, cargo.
set -euo pipefail

cd "$(dirname "$0")/.."

REQUESTS_P1=${REQUESTS_P1:-200000}
REQUESTS_P16=${REQUESTS_P16:-2000000}
if [[ "${1:-}" == "--quick" ]]; then
    REQUESTS_P1=2000
    REQUESTS_P16=20000
fi
CLIENTS=50
read -r -a TESTS <<< "${BENCH_TESTS:-ping_inline ping_mbulk set get incr mset}"
PIPELINES=(1 16)
SERVER_CORE=0
CLIENT_CORE=1

log() { echo "compare.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in redis-server redis-benchmark redis-cli taskset; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools util-linux)"
done

if [[ -z "${KEEL_BIN:-}" ]]; then
    log "building keel-server (release)"
    cargo build --release -p keel-net --bin keel-server >&2
    KEEL_BIN=target/release/keel-server
fi
[[ -x "$KEEL_BIN" ]] || die "no keel-server binary at $KEEL_BIN"

# A loopback port nobody listens on (bash's /dev/tcp connect fails).
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

REDIS_PID=""
KEEL_PID=""
cleanup() {
    for pid in "$REDIS_PID" "$KEEL_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
trap cleanup EXIT

wait_ready() {
    local port=$1 name=$2
    for _ in $(seq 1 500); do
        if [[ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" == "PONG" ]]; then
            return
        fi
        sleep 0.02
    done
    die "$name did not answer PING on port $port"
}

REDIS_PORT=$(free_port)
taskset -c "$SERVER_CORE" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --daemonize no --logfile '' >/dev/null &
REDIS_PID=$!
wait_ready "$REDIS_PORT" redis-server

KEEL_PORT=$(free_port)
while [[ "$KEEL_PORT" == "$REDIS_PORT" ]]; do KEEL_PORT=$(free_port); done
taskset -c "$SERVER_CORE" "$KEEL_BIN" --port "$KEEL_PORT" --bind 127.0.0.1 --save '' >/dev/null 2>&1 &
KEEL_PID=$!
wait_ready "$KEEL_PORT" keel-server

CLK_TCK=$(getconf CLK_TCK)

# utime+stime of a process, in clock ticks (fields 14 and 15 of
# /proc/PID/stat; counted after the ")" closing the command name, which may
# contain spaces).
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $(( ${12} + ${13} ))
}

# redis-benchmark against one server, pinned to the client core.
bench_on() {
    local port=$1
    shift
    taskset -c "$CLIENT_CORE" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" "$@"
}

# Loads, untimed, the data a reading test needs (same keys redis-benchmark uses).
prefill() {
    local port=$1 test=$2 requests=$3
    case "$test" in
        rpop | lpop) bench_on "$port" -q -P 16 -n "$requests" -t lpush >/dev/null ;;
        spop) bench_on "$port" -q -P 16 -n "$requests" -r 1000000000 -t sadd >/dev/null ;;
        lrange_100) bench_on "$port" -q -P 16 -n 1000 -t lpush >/dev/null ;;
        zrange_100) bench_on "$port" -q -P 16 -n 10000 -r 100000 -t zadd >/dev/null ;;
    esac
}

# The redis-benchmark arguments that run `test`.
test_args() {
    case "$1" in
        lrange_100) echo "LRANGE mylist 0 99" ;;
        zrange_100) echo "ZRANGE myzset 0 99" ;;
        *) echo "-t $1" ;;
    esac
}

# Runs one test; prints "rps cpu_us_per_request".
measure() {
    local port=$1 pid=$2 test=$3 pipeline=$4 requests=$5
    local before after out rps
    redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
    prefill "$port" "$test" "$requests"
    before=$(cpu_ticks "$pid")
    # shellcheck disable=SC2046
    out=$(bench_on "$port" -n "$requests" -P "$pipeline" --csv $(test_args "$test") 2>/dev/null)
    after=$(cpu_ticks "$pid")
    rps=$(echo "$out" | tail -n 1 | tr -d '"' | cut -d, -f2)
    [[ -n "$rps" ]] || die "no result from redis-benchmark -t $test on port $port: $out"
    awk -v rps="$rps" -v ticks=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { printf "%s %.2f\n", rps, ticks * 1e6 / hz / n }'
}

log "redis-server pid $REDIS_PID port $REDIS_PORT; keel-server pid $KEEL_PID port $KEEL_PORT"
log "servers on core $SERVER_CORE, redis-benchmark on core $CLIENT_CORE, $CLIENTS clients"

echo "| test | P | redis rps | keel rps | ratio keel/redis | redis cpu µs/req | keel cpu µs/req |"
echo "|---|---|---|---|---|---|---|"
for pipeline in "${PIPELINES[@]}"; do
    requests=$REQUESTS_P1
    [[ "$pipeline" == 1 ]] || requests=$REQUESTS_P16
    for test in "${TESTS[@]}"; do
        log "$test -P $pipeline -n $requests"
        result=$(measure "$REDIS_PORT" "$REDIS_PID" "$test" "$pipeline" "$requests")
        read -r redis_rps redis_cpu <<<"$result"
        result=$(measure "$KEEL_PORT" "$KEEL_PID" "$test" "$pipeline" "$requests")
        read -r keel_rps keel_cpu <<<"$result"
        ratio=$(awk -v k="$keel_rps" -v r="$redis_rps" 'BEGIN { printf "%.2f", (r > 0 ? k / r : 0) }')
        echo "| $test | $pipeline | $redis_rps | $keel_rps | $ratio | $redis_cpu | $keel_cpu |"
    done
done
