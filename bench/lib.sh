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

# A loopback port nobody listens on (bash's /dev/tcp connect fails), below
# Linux's ephemeral range (32768-60999): a port there may be the local end
# of some client's connection, which a server then cannot bind, and the
# run died with "did not answer PING".
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000))
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

# --- Servers with options of their own (persistence, replication) --------
#
# spawn_server starts one server with extra directives. Every server it
# starts is written ("pid port" a line) to the file SPAWN_REGISTRY, which
# the sourcing script sets; stop_spawned ends them all, by pid. A file
# rather than a variable, so that servers started inside $(...) are still
# known to the script's EXIT trap (`trap stop_spawned EXIT`, or a cleanup
# that calls it) if that subshell fails.

SPAWNED_PID=""
SPAWNED_PORT=""

spawn_registry() {
    [[ -n "${SPAWN_REGISTRY:-}" ]] || die "SPAWN_REGISTRY is not set"
    touch "$SPAWN_REGISTRY"
    echo "$SPAWN_REGISTRY"
}

# The first port of the kernel's ephemeral range: ports below it are never
# picked for outgoing connections, so a server there cannot lose its port
# to a client socket, nor a poller connect to itself (TCP simultaneous open
# to a port nobody listens on yet).
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)

# A free port below the ephemeral range that no spawned server was given
# (one that has not bound it yet would still look free).
fresh_port() {
    local port registry
    registry=$(spawn_registry)
    while true; do
        port=$(free_port)
        ((EPHEMERAL_LOW <= 21000 || port < EPHEMERAL_LOW)) || continue
        awk -v p="$port" '$2 == p { found = 1 } END { exit !found }' "$registry" || break
    done
    echo "$port"
}

# spawn_server KIND CORE DIR [--name value ...]: starts redis-server (KIND
# redis) or keel-server (KIND keel) pinned to CORE on a free loopback port,
# working in DIR (created) with its log in DIR/server.log, no save points
# and no AOF unless the extra directives (which come last, so they win) say
# otherwise. Sets SPAWNED_PID and SPAWNED_PORT; does not wait for it.
# SPAWN_PORT, when set, is the port to use.
spawn_server() {
    local kind=$1 core=$2 dir=$3 registry
    shift 3
    registry=$(spawn_registry)
    local port=${SPAWN_PORT:-}
    [[ -n "$port" ]] || port=$(fresh_port)
    mkdir -p "$dir"
    case "$kind" in
        redis)
            taskset -c "$core" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
                --save '' --appendonly no --daemonize no --logfile "$dir/server.log" "$@" \
                >/dev/null 2>&1 &
            ;;
        keel)
            taskset -c "$core" "$KEEL_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" \
                --save '' --appendonly no --logfile "$dir/server.log" "$@" >/dev/null 2>&1 &
            ;;
        *) die "unknown server kind $kind" ;;
    esac
    SPAWNED_PID=$!
    SPAWNED_PORT=$port
    echo "$SPAWNED_PID $port" >>"$registry"
}

# Whether PID is (still) a redis-server or keel-server (or the taskset
# about to become one): a registered pid whose server died may since belong
# to another process.
is_server_pid() {
    local comm
    comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
    [[ "$comm" == redis-server || "$comm" == keel-server || "$comm" == taskset ]]
}

# Whether PID runs (exists and is not a zombie).
is_running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Ends one spawned server by pid (SIGTERM, SIGKILL after 30 s) and drops
# it from the registry.
stop_pid() {
    local pid=$1
    if [[ -n "$pid" ]] && is_server_pid "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do
            is_server_pid "$pid" || break
            sleep 0.1
        done
        if is_server_pid "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
        wait "$pid" 2>/dev/null || true
    fi
    if [[ -n "${SPAWN_REGISTRY:-}" && -f "$SPAWN_REGISTRY" ]]; then
        sed -i "/^$pid /d" "$SPAWN_REGISTRY"
    fi
}

# Ends every server spawn_server started.
stop_spawned() {
    local pid
    [[ -n "${SPAWN_REGISTRY:-}" && -f "$SPAWN_REGISTRY" ]] || return 0
    for pid in $(cut -d' ' -f1 "$SPAWN_REGISTRY"); do
        stop_pid "$pid"
    done
}

# Nanoseconds since the epoch (the clock python's time.time_ns() reads).
now_ns() { date +%s%N; }

# Seconds between two now_ns readings, 3 decimals.
seconds_between() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

# A poller (python3, on CLIENT_CORE) that waits for the server on PORT to
# reach a state, then prints the seconds since the epoch nanoseconds it
# reads from T0_FILE. It touches T0_FILE.ready once started, so the caller
# can start the clock (and the server) only then: the interpreter's own
# start-up is not timed. States:
#   pong      PING answers +PONG (not -LOADING)
#   synced N  INFO replication says master_link_status:up and DBSIZE is N
# poll_state PORT T0_FILE TIMEOUT_S STATE [N]
poll_state() {
    taskset -c "$CLIENT_CORE" python3 - "$@" <<'PY'
import socket, sys, time

port, t0_file, limit, state = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
want_keys = int(sys.argv[5]) if len(sys.argv) > 5 else 0
open(t0_file + ".ready", "w").close()
deadline = time.monotonic() + limit


def ask(sock, command):
    """Sends an inline command, returns the reply's payload (one reply)."""
    sock.sendall(command + b"\r\n")
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, rest = data.split(b"\r\n", 1)
    if head[:1] != b"$":
        return head
    size = int(head[1:])
    while len(rest) < size + 2:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        rest += chunk
    return rest[:size]


def reached(sock):
    if state == "pong":
        return ask(sock, b"PING") == b"+PONG"
    info = ask(sock, b"INFO replication")
    if b"master_link_status:up" not in info:
        return False
    return ask(sock, b"DBSIZE") == b":%d" % want_keys


while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            if sock.getsockname() == sock.getpeername():
                raise OSError("connected to itself")
            while time.monotonic() < deadline:
                if reached(sock):
                    t0 = int(open(t0_file).read())
                    print("%.3f" % ((time.time_ns() - t0) / 1e9))
                    sys.exit(0)
                time.sleep(0.002)
    except OSError:
        time.sleep(0.001)
sys.exit(1)
PY
}

TIMED_SECONDS=""

# The last lines of a spawned server's log (for error messages).
log_tail() {
    tail -n 15 "$1/server.log" 2>/dev/null || echo "(no log in $1)"
}

# timed_spawn TIMEOUT_S STATE N KIND CORE DIR [--name value ...]: spawns a
# server as spawn_server does and sets TIMED_SECONDS to the time from its
# start until it reaches STATE (see poll_state; N is ignored for pong).
# Fails early if the server exits.
timed_spawn() {
    local timeout=$1 state=$2 keys=$3 port t0_file out poller server
    shift 3
    port=$(fresh_port)
    t0_file=$(mktemp)
    out=$(mktemp)
    poll_state "$port" "$t0_file" "$timeout" "$state" "$keys" >"$out" &
    poller=$!
    while [[ ! -e "$t0_file.ready" ]]; do sleep 0.01; done
    now_ns >"$t0_file"
    SPAWN_PORT=$port spawn_server "$@"
    server=$SPAWNED_PID
    while kill -0 "$poller" 2>/dev/null; do
        if ! is_running "$server"; then
            kill "$poller" 2>/dev/null || true
            die "$1 server on port $port exited; its log ends:"$'\n'"$(log_tail "$3")"
        fi
        sleep 0.05
    done
    wait "$poller" ||
        die "$1 server on port $port did not reach '$state' in $timeout s; its log ends:"$'\n'"$(log_tail "$3")"
    TIMED_SECONDS=$(cat "$out")
    rm -f "$t0_file" "$t0_file.ready" "$out"
}

# fill_keys PORT N: SETs key:0 .. key:N-1 to 16-byte values (the same data
# for every server), pipelined, then checks DBSIZE is N.
fill_keys() {
    local port=$1 n=$2 size
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nvalue-0123456789\r\n", length(k), k } }' |
        taskset -c "$CLIENT_CORE" redis-cli -h 127.0.0.1 -p "$port" --pipe >/dev/null
    size=$(redis-cli -h 127.0.0.1 -p "$port" DBSIZE)
    [[ "$size" == "$n" ]] || die "port $port holds $size keys after loading $n"
}

# info_field PORT FIELD: one field of INFO (all sections searched). awk
# reads to the end: exiting early would break the pipe (pipefail).
info_field() {
    redis-cli -h 127.0.0.1 -p "$1" INFO everything | tr -d '\r' |
        awk -F: -v f="$2" '$1 == f && !found { print $2; found = 1 }'
}

# config_accepted PORT NAME VALUE: CONFIG SET, true if the server took it.
config_accepted() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$1" CONFIG SET "$2" "$3" 2>&1)" == "OK" ]]
}

# ratio A B: A/B with 2 decimals (0 when B is 0 or empty).
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b + 0 > 0 ? a / b : 0) }'
}

# A scratch directory for the run (WORK), also holding the registry of
# the servers spawn_server starts; both go at exit.
setup_workdir() {
    WORK=$(mktemp -d "/tmp/keel-$1-bench.XXXXXX")
    SPAWN_REGISTRY="$WORK/spawned"
    trap cleanup_workdir EXIT
}

cleanup_workdir() {
    stop_spawned
    rm -rf "$WORK"
}

# Whether the SECTIONS array names section $1.
wants() {
    local section
    for section in "${SECTIONS[@]}"; do [[ "$section" == "$1" ]] && return 0; done
    return 1
}

# redis-cli against the loopback server on port $1.
cli() {
    local port=$1
    shift
    redis-cli -h 127.0.0.1 -p "$port" "$@"
}
