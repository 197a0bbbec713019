#!/usr/bin/env bash
# Resident memory of Keel against Redis for the same data, loaded in the
# same run.
#
# For each data set, a fresh redis-server and a fresh keel-server start
# pinned to core 0, the same generated commands are piped into both with
# `redis-cli --pipe`, and each server's VmRSS is read from /proc/PID/status
# (after a short settle). The result is a markdown table on stdout: RSS
# after loading, RSS growth over the empty server per key or element, and
# the Keel/Redis ratio of the RSS (at most 1.00 is the target). Progress
# goes to stderr.
#
# Data sets (deterministic: the generator is seeded):
#   hashes  1M hashes of 10 fields; fields random 4-8 letters, values random
#           1-8 characters (no shared prefixes)
#   sets    1M sets of 10 random integers in 0..9999
#   list    one list of 10M small integers (0..99999)
#   zset    one sorted set of 1M members, random scores
#
# Usage: bench/memory.sh [--quick] [dataset...]   (default: all four)
#   --quick         a tenth of the sizes (a smoke run)
#   KEEL_BIN=path   a keel-server binary to use instead of building one
# Requires: redis-server, redis-cli, taskset, python3, cargo.
set -euo pipefail

cd "$(dirname "$0")/.."

SCALE=1
if [[ "${1:-}" == "--quick" ]]; then
    SCALE=10
    shift
fi
DATASETS=("$@")
if [[ ${#DATASETS[@]} -eq 0 ]]; then
    DATASETS=(hashes sets list zset)
fi
BENCH_NAME=memory.sh
# shellcheck source=bench/lib.sh
source bench/lib.sh

require_tools redis-server redis-cli taskset python3
ensure_keel_bin

WORK=$(mktemp -d)
cleanup() {
    stop_servers
    rm -rf "$WORK"
}
trap cleanup EXIT

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Writes the RESP commands of data set $1 to stdout; prints the number of
# keys or elements it holds to fd 3.
generate() {
    python3 - "$1" "$SCALE" <<'EOF'
import os, random, sys

name, scale = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240611)
out = sys.stdout.buffer
letters = b"abcdefghijklmnopqrstuvwxyz"
alnum = letters + b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

def cmd(args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)

def word(chars, lo, hi):
    return bytes(rng.choice(chars) for _ in range(rng.randint(lo, hi)))

buf = []
def emit(args):
    buf.append(cmd(args))
    if len(buf) >= 10000:
        out.write(b"".join(buf))
        buf.clear()

if name == "hashes":
    n = 1_000_000 // scale
    for i in range(n):
        args = [b"HSET", b"hash:%d" % i]
        fields = set()
        while len(fields) < 10:
            fields.add(word(letters, 4, 8))
        for f in sorted(fields):
            args += [f, word(alnum, 1, 8)]
        emit(args)
elif name == "sets":
    n = 1_000_000 // scale
    for i in range(n):
        members = rng.sample(range(10000), 10)
        emit([b"SADD", b"set:%d" % i] + [b"%d" % m for m in members])
elif name == "list":
    n = 10_000_000 // scale
    for start in range(0, n, 1000):
        emit([b"RPUSH", b"list"] + [b"%d" % rng.randrange(100000) for _ in range(min(1000, n - start))])
elif name == "zset":
    n = 1_000_000 // scale
    for start in range(0, n, 1000):
        args = [b"ZADD", b"zset"]
        for i in range(start, min(start + 1000, n)):
            args += [b"%d" % rng.randrange(1_000_000_000), b"member:%d" % i]
        emit(args)
else:
    sys.exit("unknown data set " + name)
out.write(b"".join(buf))
os.write(3, b"%d\n" % n)
EOF
}

describe() {
    case $1 in
    hashes) echo "1M hashes x 10 fields (4-8 B fields, 1-8 B values)" ;;
    sets) echo "1M sets x 10 integers" ;;
    list) echo "1 list of 10M small integers" ;;
    zset) echo "1 sorted set of 1M members" ;;
    esac
}

echo "| data set | Keel RSS MB | Redis RSS MB | Keel B/item | Redis B/item | Keel/Redis |"
echo "|---|---:|---:|---:|---:|---:|"
for dataset in "${DATASETS[@]}"; do
    log "generating $dataset"
    generate "$dataset" >"$WORK/$dataset.resp" 3>"$WORK/$dataset.count"
    count=$(cat "$WORK/$dataset.count")

    start_servers

    redis_base=$(rss_kb "$REDIS_PID")
    keel_base=$(rss_kb "$KEEL_PID")
    for port in "$REDIS_PORT" "$KEEL_PORT"; do
        log "loading $dataset ($count) into port $port"
        redis-cli -h 127.0.0.1 -p "$port" --pipe <"$WORK/$dataset.resp" >&2
    done
    sleep 1
    redis_rss=$(rss_kb "$REDIS_PID")
    keel_rss=$(rss_kb "$KEEL_PID")
    log "$dataset: keel ${keel_rss} kB (empty ${keel_base}), redis ${redis_rss} kB (empty ${redis_base})"
    awk -v name="$(describe "$dataset")" -v n="$count" \
        -v k="$keel_rss" -v kb="$keel_base" -v r="$redis_rss" -v rb="$redis_base" 'BEGIN {
        printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2f |\n", name, k / 1024, r / 1024,
            (k - kb) * 1024 / n, (r - rb) * 1024 / n, k / r
    }'
    stop_servers
    rm -f "$WORK/$dataset.resp"
done
