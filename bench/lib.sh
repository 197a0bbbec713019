# Shared helpers of the bench/ scripts (sourced, not run). The sourcing
# script sets BENCH_NAME (the prefix of its log lines) and `set -euo
# pipefail`, and runs from the repository root.
#
# Servers run pinned to SERVER_CORE, load generators to CLIENT_CORE.

SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}

log() { echo "${BENCH_NAME:-bench}: $*" >&2; }
die() { log "error: $*"; exit 1; }

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool not found"
    done
}

# Sets KEEL_BIN, building a release keel-server unless one was given.
ensure_keel_bin() {
    if [[ -z "${KEEL_BIN:-}" ]]; then
        log "building keel-server (release)"
        cargo build --release -p keel-net --bin keel-server >&2
        KEEL_BIN=target/release/keel-server
    fi
    [[ -x "$KEEL_BIN" ]] || die "no keel-server binary at $KEEL_BIN"
}

# Sets LOADGEN_BIN, building bench/loadgen (std-only, outside the workspace).
ensure_loadgen_bin() {
    if [[ -z "${LOADGEN_BIN:-}" ]]; then
        log "building keel-loadgen (release)"
        cargo build --release --manifest-path bench/loadgen/Cargo.toml >&2
        LOADGEN_BIN=bench/loadgen/target/release/keel-loadgen
    fi
    [[ -x "$LOADGEN_BIN" ]] || die "no keel-loadgen binary at $LOADGEN_BIN"
}

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

REDIS_PID=""
KEEL_PID=""
REDIS_PORT=""
KEEL_PORT=""

# Starts a fresh redis-server and keel-server (no persistence), each pinned
# to SERVER_CORE on its own free port; sets REDIS_PID/PORT and KEEL_PID/PORT.
# Call stop_servers (or let the EXIT trap of trap_stop_servers) end them.
start_servers() {
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
}

# Stops the servers start_servers started (only those: by their pids).
stop_servers() {
    local pid
    for pid in "$REDIS_PID" "$KEEL_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    REDIS_PID=""
    KEEL_PID=""
}

# utime+stime of a process (all threads), in clock ticks: fields 14 and 15
# of /proc/PID/stat, counted after the ")" closing the command name, which
# may contain spaces.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

CLK_TCK=$(getconf CLK_TCK)

# CPU microseconds per request from two cpu_ticks readings.
cpu_us_per_request() {
    local before=$1 after=$2 requests=$3
    awk -v ticks=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { printf "%.2f\n", ticks * 1e6 / hz / n }'
}
