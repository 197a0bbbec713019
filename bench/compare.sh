#!/usr/bin/env bash
# Throughput and CPU cost of Keel against Redis, measured the same way.
#
# Both servers run pinned to core 0 and the load generator to core 1 (50
# clients, pipelines of 1 and 16), one test at a time. Each server's CPU
# time (utime+stime from /proc/PID/stat, all threads) is read before and
# after each run, giving CPU microseconds per request. The result is a
# markdown table on stdout; progress goes to stderr.
#
# Usage: bench/compare.sh [--quick]
#   --quick            small request counts (a smoke run, numbers are noise)
#   KEEL_BIN=path      a keel-server binary to use instead of building one
#   LOADGEN_BIN=path   a keel-loadgen binary (bench/loadgen) instead of building one
#   REQUESTS_P1=n      requests per test with -P 1  (default 200000)
#   REQUESTS_P16=n     requests per test with -P 16 (default 2000000)
#   BENCH_TESTS="a b"  the tests to run (default: ping_inline ping_mbulk set get incr mset).
#                      Any redis-benchmark -t test, plus:
#                        lrange_100, zrange_100  LRANGE/ZRANGE of 100 elements
#                        evalsha      EVALSHA of a script doing INCR then GET of one key
#                                     (SCRIPT LOAD first, on both servers)
#                        multi_exec   MULTI, SET x10, EXEC; a request is one transaction,
#                                     -P n sends n transactions per write (keel-loadgen)
#                        publish_1    PUBLISH to 1 subscriber (keel-loadgen)
#                        publish_100  PUBLISH to 100 subscribers; sends a tenth of the
#                                     requests (each is 100 deliveries)
#                      Publish rows add a column of messages delivered/s; the run fails
#                      unless every subscriber got every message, once and in order.
#                      Tests that read data get it loaded first, untimed: rpop (a list
#                      of as many elements as requests), spop (a set of about as many
#                      members), lrange_100 (1000 elements), zrange_100 (about 10000
#                      members).
#                      Collections rows: lpush rpop lrange_100 sadd hset zadd zrange_100 spop
#                      Transactions, pub/sub, scripts rows: evalsha multi_exec publish_1 publish_100
# Requires: redis-server, redis-benchmark, redis-cli, taskset, sha1sum, cargo.
set -euo pipefail
# A failing step inside $(...) stops the run too.
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
BENCH_NAME=compare.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

REQUESTS_P1=${REQUESTS_P1:-200000}
REQUESTS_P16=${REQUESTS_P16:-2000000}
if [[ "${1:-}" == "--quick" ]]; then
    REQUESTS_P1=2000
    REQUESTS_P16=20000
fi
CLIENTS=50
read -r -a TESTS <<< "${BENCH_TESTS:-ping_inline ping_mbulk set get incr mset}"
PIPELINES=(1 16)

EVALSHA_SCRIPT="redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])"
EVALSHA_SHA=$(printf '%s' "$EVALSHA_SCRIPT" | sha1sum | cut -d' ' -f1)

require_tools redis-server redis-benchmark redis-cli taskset sha1sum
ensure_keel_bin

uses_loadgen() { [[ "$1" == multi_exec || "$1" == publish_* ]]; }
has_publish_rows=false
for test in "${TESTS[@]}"; do
    if uses_loadgen "$test"; then ensure_loadgen_bin; fi
    if [[ "$test" == publish_* ]]; then has_publish_rows=true; fi
done

trap stop_servers EXIT
start_servers

# redis-benchmark against one server, pinned to the client core.
bench_on() {
    local port=$1
    shift
    taskset -c "$CLIENT_CORE" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" "$@"
}

load_script() {
    local port=$1 sha
    sha=$(redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$EVALSHA_SCRIPT")
    [[ "$sha" == "$EVALSHA_SHA" ]] || die "SCRIPT LOAD on port $port returned '$sha', expected $EVALSHA_SHA"
}

# Loads, untimed, the data a reading test needs (same keys redis-benchmark uses).
prefill() {
    local port=$1 test=$2 requests=$3
    case "$test" in
        rpop | lpop) bench_on "$port" -q -P 16 -n "$requests" -t lpush >/dev/null ;;
        spop) bench_on "$port" -q -P 16 -n "$requests" -r 1000000000 -t sadd >/dev/null ;;
        lrange_100) bench_on "$port" -q -P 16 -n 1000 -t lpush >/dev/null ;;
        zrange_100) bench_on "$port" -q -P 16 -n 10000 -r 100000 -t zadd >/dev/null ;;
        evalsha) load_script "$port" ;;
    esac
}

# The requests a test sends: publish_100 sends a tenth (each is 100 deliveries).
requests_for() {
    local test=$1 requests=$2
    case "$test" in
        publish_100) echo $((requests / 10)) ;;
        *) echo "$requests" ;;
    esac
}

# The redis-benchmark arguments that run `test`.
test_args() {
    case "$1" in
        lrange_100) echo "LRANGE mylist 0 99" ;;
        zrange_100) echo "ZRANGE myzset 0 99" ;;
        evalsha) echo "EVALSHA $EVALSHA_SHA 1 counter" ;;
        *) echo "-t $1" ;;
    esac
}

# Runs `test` with keel-loadgen; prints "ops_per_s deliveries_per_s".
run_loadgen() {
    local port=$1 test=$2 pipeline=$3 requests=$4
    local args=(--port "$port" --clients "$CLIENTS" --pipeline "$pipeline" --requests "$requests")
    case "$test" in
        multi_exec) args=(multi "${args[@]}" --sets 10) ;;
        publish_*) args=(publish "${args[@]}" --subscribers "${test#publish_}") ;;
    esac
    taskset -c "$CLIENT_CORE" "$LOADGEN_BIN" "${args[@]}" || die "keel-loadgen $test failed on port $port"
}

# Runs redis-benchmark; prints "rps -".
run_redis_benchmark() {
    local port=$1 test=$2 pipeline=$3 requests=$4 out rps
    # shellcheck disable=SC2046
    out=$(bench_on "$port" -n "$requests" -P "$pipeline" --csv $(test_args "$test") 2>/dev/null)
    rps=$(echo "$out" | tail -n 1 | tr -d '"' | cut -d, -f2)
    [[ -n "$rps" ]] || die "no result from redis-benchmark $test on port $port: $out"
    echo "$rps -"
}

# Runs one test; prints "rps cpu_us_per_request deliveries_per_s".
measure() {
    local port=$1 pid=$2 test=$3 pipeline=$4 requests=$5
    local before after result rps deliveries
    redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
    prefill "$port" "$test" "$requests"
    before=$(cpu_ticks "$pid")
    if uses_loadgen "$test"; then
        result=$(run_loadgen "$port" "$test" "$pipeline" "$requests")
    else
        result=$(run_redis_benchmark "$port" "$test" "$pipeline" "$requests")
    fi
    after=$(cpu_ticks "$pid")
    read -r rps deliveries <<<"$result"
    echo "$rps $(cpu_us_per_request "$before" "$after" "$requests") $deliveries"
}

log "redis-server pid $REDIS_PID port $REDIS_PORT; keel-server pid $KEEL_PID port $KEEL_PORT"
log "servers on core $SERVER_CORE, load generators on core $CLIENT_CORE, $CLIENTS clients; load: $(uptime)"

header="| test | P | redis rps | keel rps | ratio keel/redis | redis cpu µs/req | keel cpu µs/req |"
rule="|---|---|---|---|---|---|---|"
if $has_publish_rows; then
    header+=" redis delivered msg/s | keel delivered msg/s |"
    rule+="---|---|"
fi
echo "$header"
echo "$rule"
for pipeline in "${PIPELINES[@]}"; do
    base_requests=$REQUESTS_P1
    [[ "$pipeline" == 1 ]] || base_requests=$REQUESTS_P16
    for test in "${TESTS[@]}"; do
        requests=$(requests_for "$test" "$base_requests")
        log "$test -P $pipeline -n $requests"
        result=$(measure "$REDIS_PORT" "$REDIS_PID" "$test" "$pipeline" "$requests")
        read -r redis_rps redis_cpu redis_delivered <<<"$result"
        result=$(measure "$KEEL_PORT" "$KEEL_PID" "$test" "$pipeline" "$requests")
        read -r keel_rps keel_cpu keel_delivered <<<"$result"
        ratio=$(awk -v k="$keel_rps" -v r="$redis_rps" 'BEGIN { printf "%.2f", (r > 0 ? k / r : 0) }')
        row="| $test | $pipeline | $redis_rps | $keel_rps | $ratio | $redis_cpu | $keel_cpu |"
        if $has_publish_rows; then
            row+=" $redis_delivered | $keel_delivered |"
        fi
        echo "$row"
    done
done
log "done; load: $(uptime)"
