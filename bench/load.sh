#!/usr/bin/env bash
# Load benchmark: wiretap against nginx (static files) and tokio-tungstenite (WebSocket echo),
# and wiretap recording against wiretap not recording, on this machine, side by side in one
# run, loopback only.
#
#   bench/load.sh            # full run: 3 alternating rounds of 10 s, 5000 idle connections
#   bench/load.sh --quick    # smoke test: 1 round of 3 s, 500 idle connections
#
# Measures, each against its reference, in alternating order (round 1 wiretap first, round 2
# the reference first, ...), reporting the median of the rounds and the ratio of the medians:
#   1. HTTP: 1 KiB file, keep-alive GETs per second, `wrk -t2 -c64` against wiretap and nginx
#      (Debian package; generated config below) serving the same folder.
#   2. WebSocket echo messages per second: 64 connections x 125-byte text and 16 connections x
#      64 KiB binary, `ws-load echo` (bench/load, checks every echoed byte) against wiretap's
#      /echo and `ws-echo-reference` (tokio + tokio-tungstenite).
#   3. Memory per idle WebSocket: a fresh server, warmed by a short echo run, then 5000
#      connections opened (one checked echo each) and held; (VmRSS after - VmRSS before) / 5000.
#   4. Recording overhead (`record`): the loads of 1 and 2 (wrk 1 KiB GETs, ws-load 64 x 125 B
#      text and 16 x 64 KiB binary echo) against wiretap recording every byte (`--captures`, a
#      fresh folder under $TMP per run) and wiretap with `--no-record`; ratio = on / off, goal
#      >= 0.9x. Every run gets a fresh wiretap process. After each recording run the server is
#      stopped (its recorder finalizes every capture), then the folder is checked (one capture
#      per connection made, each file a "wiretap-capture" document, the smallest with chunks
#      and the largest up to 256 MiB loaded in full with python3's json module, truncations
#      counted by reason), measured (size, files), and deleted.
#
# Recording mode. `wiretap serve` records by default; parts 1-3 pass `--no-record`: they compare
# the server alone with servers that record nothing. Part 4 is where recording is measured.
# By default (`--record-caps full`) it raises the recorder's caps so that every byte of every
# run is recorded: with the defaults (64 MiB per connection, 1 GiB per folder) a 16 x 64 KiB
# echo connection passes its cap within about a second, during the warm-up, and the measured
# seconds would record (and cost) nothing. Full recording writes several GiB per run (hex
# doubles every byte), so the part needs 20 GiB free where $TMP is (TMPDIR moves it) and caps
# the folder at min(free - 10 GiB, 32 GiB); each run's folder is deleted once checked.
# `--record-caps default` measures the shipped defaults instead (truncated captures reported).
#
# Every server gets 2 threads (wiretap --threads 2, nginx worker_processes 2, 2 tokio workers)
# and every load client 2 (wrk -t2, ws-load --threads 2). Nothing is pinned: on a 2-core
# machine client and server share both cores, the same way for every server, so the ratios are
# the result and the absolute numbers are lower than with a separate load machine.
#
# Prints a markdown table and writes it to bench/results/load-<UTC date and time>.md (quick
# runs: ...-quick.md, not committed). Exits non-zero when a step fails (a wrong byte, a non-2xx
# response, a lost connection, a capture that does not read), not when a goal is missed.
# Cleans up every process it started and every file it wrote outside bench/results.
set -euo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
usage: bench/load.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--idle N]
                     [--conns N] [--only http,ws,idle,record] [--record-caps full|default]
                     [--no-install] [--no-build]
  --quick        1 round, 3 s runs, 1 s warm-up, 500 idle connections (smoke test)
  --rounds N     alternating rounds per measurement (default 3, at most 9)
  --duration S   seconds per measured run (default 10, 1..120)
  --warmup S     seconds of warm-up before each WebSocket run and per server for HTTP (default 2)
  --idle N       idle WebSocket connections for the memory measurement (default 5000, <= 20000)
  --conns N      cap every load connection count at N (default: 64 HTTP, 64 text, 16 binary)
  --only LIST    run only these parts (comma-separated: http, ws, idle, record)
  --record-caps  record part: `full` (default) raises wiretap's capture caps so that every
                 byte is recorded (needs 20 GiB free under $TMPDIR or /tmp); `default` keeps
                 the shipped caps (64 MiB per connection, 1 GiB per folder)
  --no-install   do not apt-get install missing tools
  --no-build     use the binaries already built
Ports (loopback): LOAD_WIRETAP_PORT (18181), LOAD_NGINX_PORT (18182), LOAD_REF_PORT (18183).
Parts 1-3 run wiretap with --no-record; part 4 (record) compares recording on and off.
Temporary files (fixture, nginx, captures): a new folder under $TMPDIR (default /tmp).
EOF
}

ORIG_ARGS="$*"
ROUNDS=3 DURATION=10 WARMUP=2 IDLE=5000 CAP=1024 ONLY="http,ws,idle,record" INSTALL=1 BUILD=1
QUICK=0 REC_CAPS=full
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ROUNDS=1 DURATION=3 WARMUP=1 IDLE=500 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --warmup) WARMUP="$2"; shift ;;
        --idle) IDLE="$2"; shift ;;
        --conns) CAP="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --record-caps) REC_CAPS="$2"; shift ;;
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done
die() { echo "load.sh: $*" >&2; exit 1; }
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
in_range "$ROUNDS" 1 9 || die "--rounds must be 1..9"
in_range "$DURATION" 1 120 || die "--duration must be 1..120 (whole seconds)"
in_range "$WARMUP" 0 30 || die "--warmup must be 0..30 (whole seconds)"
in_range "$IDLE" 1 20000 || die "--idle must be 1..20000"
in_range "$CAP" 1 1024 || die "--conns must be 1..1024"
for part in ${ONLY//,/ }; do
    case "$part" in http|ws|idle|record) ;; *) die "--only: unknown part '$part' (http, ws, idle, record)" ;; esac
done
case "$REC_CAPS" in full|default) ;; *) die "--record-caps must be full or default" ;; esac
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
HTTP_CONNS=$(min 64 "$CAP") TEXT_CONNS=$(min 64 "$CAP") BIN_CONNS=$(min 16 "$CAP")
WIRETAP_PORT=${LOAD_WIRETAP_PORT:-18181}
NGINX_PORT=${LOAD_NGINX_PORT:-18182}
REF_PORT=${LOAD_REF_PORT:-18183}
THREADS=2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD="$ROOT/bench/load/target/release"
WIRETAP_BIN="$ROOT/target/release/wiretap"

# --- Processes: every one started here is recorded and stopped on exit -------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wiretap-load.XXXXXX")
chmod 755 "$TMP" # nginx workers run as an unprivileged user and must reach the fixture
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # forget PID: drop it from PIDS once it is stopped
    local keep=() pid
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
}
stop() { # stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5)
    kill "$1" 2>/dev/null || true
    for _ in $(seq $((${2:-5} * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # wait_port PORT PID LOG
    for _ in $(seq 100); do
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "server on port $1 exited"; }
        port_open "$1" && return 0
        sleep 0.1
    done
    die "nothing listens on 127.0.0.1:$1 after 10 s"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# 5000 idle connections hold 5000 descriptors on each side.
if ! ulimit -n 20000 2>/dev/null; then
    { ulimit -Hn 20000 && ulimit -n 20000; } 2>/dev/null ||
        die "cannot raise the open-file limit to 20000 (ulimit -n)"
fi

# --- Tools ------------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if wants record; then command -v python3 >/dev/null || missing+=(python3); fi
if [ ${#missing[@]} -gt 0 ]; then
    [ "$INSTALL" = 1 ] || die "missing: ${missing[*]} (run without --no-install, or apt-get install them)"
    [ "$(id -u)" = 0 ] || die "missing: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
    echo "== installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ "$BUILD" = 1 ]; then
    echo "== building wiretap and bench/load (release)"
    (cd "$ROOT" && cargo build --release --locked --quiet)
    (cd "$ROOT/bench/load" && cargo build --release --locked --quiet)
fi
for bin in "$WIRETAP_BIN" "$LOAD/ws-load" "$LOAD/ws-echo-reference"; do
    [ -x "$bin" ] || die "$bin is not built (run without --no-build)"
done
for port in "$WIRETAP_PORT" "$NGINX_PORT" "$REF_PORT"; do
    ! port_open "$port" || die "127.0.0.1:$port is taken (set LOAD_*_PORT)"
done

# --- Disk for the record part (see the header: full recording writes GiBs per run) -------
REC_FLAGS=() REC_TOTAL=$((1 << 30)) REC_FS=""
if wants record; then
    avail=$(df -B1 --output=avail "$TMP" | tail -n 1 | tr -d ' ')
    REC_FS="$(stat -f -c %T "$TMP") at $(df --output=target "$TMP" | tail -n 1), $((avail >> 30)) GiB free"
    if [ "$REC_CAPS" = full ]; then
        [ "$avail" -ge $((20 << 30)) ] || die "the record part needs 20 GiB free under $TMP ($REC_FS):" \
            "set TMPDIR to a roomier disk, or use --record-caps default, or leave out 'record'"
        REC_TOTAL=$(min $((avail - (10 << 30))) $((32 << 30)))
        REC_FLAGS=(--max-capture "$REC_TOTAL" --max-captures-total "$REC_TOTAL")
    else
        [ "$avail" -ge $((2 << 30)) ] || die "the record part needs 2 GiB free under $TMP ($REC_FS)"
    fi
    [[ "$REC_FS" != tmpfs* ]] ||
        echo "load.sh: warning: $TMP is on tmpfs: the captures go to memory, not to a disk" >&2
fi

# --- Fixture and servers ----------------------------------------------------------------
mkdir -p "$TMP/www" "$TMP/nginx"
chmod 755 "$TMP/www"
head -c 1024 < <(yes 'wiretap load benchmark: 1 KiB of text, served as a static file.') > "$TMP/www/file-1k.txt"
chmod 644 "$TMP/www/file-1k.txt"
URL_PATH=/file-1k.txt

start_wiretap() { # start_wiretap FLAGS...: --no-record, or --captures DIR ...
    "$WIRETAP_BIN" --addr "127.0.0.1:$WIRETAP_PORT" --www "$TMP/www" --threads "$THREADS" "$@" \
        >"$TMP/wiretap.log" 2>&1 &
    WIRETAP_PID=$!
    PIDS+=("$WIRETAP_PID")
    wait_port "$WIRETAP_PORT" "$WIRETAP_PID" "$TMP/wiretap.log"
}
start_reference() {
    "$LOAD/ws-echo-reference" --addr "127.0.0.1:$REF_PORT" --threads "$THREADS" \
        >"$TMP/reference.log" 2>&1 &
    REF_PID=$!
    PIDS+=("$REF_PID")
    wait_port "$REF_PORT" "$REF_PID" "$TMP/reference.log"
}
start_nginx() {
    # As close to wiretap's setup as nginx gets: 2 workers, no logging per request, files
    # opened per request (no open_file_cache: wiretap caches nothing either), keep-alive.
    cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $THREADS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 30s;
    types { text/html html; text/plain txt; }
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
    }
}
EOF
    "$NGINX" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
        >"$TMP/nginx.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_port "$NGINX_PORT" "$NGINX_PID" "$TMP/nginx.log"
}

# --- Helpers for results ----------------------------------------------------------------
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
int() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" "$2"; } # field NAME FILE (ws-load key=value)
load1() { cut -d' ' -f1 /proc/loadavg; }
order() { if [ $(($1 % 2)) = 1 ]; then echo "$2 $3"; else echo "$3 $2"; fi; }
ROWS=() DETAILS=()

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
STAMP=$(date -u '+%Y-%m-%dT%H%MZ')

# --- 1. HTTP: wrk against wiretap and nginx ---------------------------------------------
run_wrk() { # run_wrk NAME PORT SECONDS OUT
    wrk -t"$THREADS" -c"$HTTP_CONNS" -d"$3s" --timeout 5s --latency \
        "http://127.0.0.1:$2$URL_PATH" >"$4" 2>&1 || { cat "$4" >&2; die "wrk against $1 failed"; }
    if grep -q 'Non-2xx' "$4"; then cat "$4" >&2; die "$1 answered non-2xx responses"; fi
}
if wants http; then
    start_wiretap --no-record
    start_nginx
    for pair in "wiretap $WIRETAP_PORT" "nginx $NGINX_PORT"; do
        read -r name port <<<"$pair"
        curl -sf --max-time 5 -o "$TMP/got" "http://127.0.0.1:$port$URL_PATH" ||
            die "$name did not serve $URL_PATH"
        cmp -s "$TMP/got" "$TMP/www/file-1k.txt" || die "$name served different bytes"
        [ "$WARMUP" = 0 ] || run_wrk "$name" "$port" "$WARMUP" "$TMP/wrk-warmup"
    done
    declare -A HTTP_RPS=([wiretap]="" [nginx]="")
    for round in $(seq "$ROUNDS"); do
        for name in $(order "$round" wiretap nginx); do
            port=$WIRETAP_PORT; [ "$name" = nginx ] && port=$NGINX_PORT
            out="$TMP/wrk-$name-$round"
            echo "== HTTP round $round/$ROUNDS: $name (wrk -t$THREADS -c$HTTP_CONNS -d${DURATION}s)"
            run_wrk "$name" "$port" "$DURATION" "$out"
            rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
            errors=$(grep -o 'Socket errors:.*' "$out" || echo "Socket errors: none")
            p50=$(awk '$1 == "50%" { print $2 }' "$out") p99=$(awk '$1 == "99%" { print $2 }' "$out")
            echo "   $(int "$rps") req/s, latency p50 $p50 p99 $p99, $errors"
            HTTP_RPS[$name]+="$rps "
            DETAILS+=("| HTTP 1 KiB | $round | $name | $(int "$rps") req/s | $p50 / $p99 | $errors; load $(load1) |")
        done
    done
    # shellcheck disable=SC2086 # one argument per round
    w=$(median ${HTTP_RPS[wiretap]}) n=$(median ${HTTP_RPS[nginx]}) r=$(ratio "$w" "$n")
    met=$(awk -v r="$r" 'BEGIN { print (r >= 1.0) ? "yes" : "**no**" }')
    ROWS+=("| HTTP GET 1 KiB file, keep-alive, wrk -t$THREADS -c$HTTP_CONNS (req/s) | $(int "$w") | nginx: $(int "$n") | **${r}x** | >= 1.0x | $met |")
    stop "$NGINX_PID"
    stop "$WIRETAP_PID"
fi

# --- 2. WebSocket echo: ws-load against wiretap /echo and the tokio-tungstenite reference -
if wants ws; then
    start_wiretap --no-record
    start_reference
    for config in "text 125 $TEXT_CONNS" "binary 65536 $BIN_CONNS"; do
        read -r kind size conns <<<"$config"
        label="$conns x $size B $kind"; [ "$size" = 65536 ] && label="$conns x 64 KiB $kind"
        declare -A MPS=([wiretap]="" [reference]="")
        for round in $(seq "$ROUNDS"); do
            for name in $(order "$round" wiretap reference); do
                port=$WIRETAP_PORT path=/echo
                [ "$name" = reference ] && port=$REF_PORT path=/
                out="$TMP/ws-$kind-$name-$round"
                echo "== WebSocket echo $label, round $round/$ROUNDS: $name"
                timeout $((DURATION + WARMUP + 60)) "$LOAD/ws-load" echo --addr "127.0.0.1:$port" \
                    --path "$path" --conns "$conns" --size "$size" --type "$kind" \
                    --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" >"$out" 2>&1 ||
                    { cat "$out" >&2; die "ws-load against $name failed"; }
                mps=$(field msgs_per_sec "$out") p50=$(field p50_us "$out") p99=$(field p99_us "$out")
                echo "   $(int "$mps") msg/s, latency p50 ${p50} us p99 ${p99} us, $(field checked_bytes "$out") bytes checked"
                MPS[$name]+="$mps "
                DETAILS+=("| WS $label | $round | $name | $(int "$mps") msg/s | ${p50} / ${p99} us | every byte checked; load $(load1) |")
            done
        done
        # shellcheck disable=SC2086 # one argument per round
        w=$(median ${MPS[wiretap]}) t=$(median ${MPS[reference]}) r=$(ratio "$w" "$t")
        met=$(awk -v r="$r" 'BEGIN { print (r >= 1.2) ? "yes" : "**no**" }')
        ROWS+=("| WebSocket echo, $label (msg/s) | $(int "$w") | tokio-tungstenite: $(int "$t") | **${r}x** | >= 1.2x | $met |")
    done
    stop "$REF_PID"
    stop "$WIRETAP_PID"
fi

# --- 3. Memory per idle WebSocket connection --------------------------------------------
idle_bytes() { # idle_bytes NAME PORT PATH PID -> sets IDLE_BYTES (bytes per connection)
    local name=$1 port=$2 path=$3 pid=$4 out="$TMP/idle-$1" before after client
    # Warm the server (thread-local buffers, allocator arenas) before the baseline.
    "$LOAD/ws-load" echo --addr "127.0.0.1:$port" --path "$path" --conns 16 --size 125 \
        --duration 1 --warmup 0 --threads "$THREADS" >"$out.warm" 2>&1 ||
        { cat "$out.warm" >&2; die "warm-up against $name failed"; }
    sleep 1
    before=$(rss_kib "$pid")
    "$LOAD/ws-load" idle --addr "127.0.0.1:$port" --path "$path" --conns "$IDLE" --hold 300 \
        --threads "$THREADS" >"$out" 2>&1 &
    client=$!
    PIDS+=("$client")
    for _ in $(seq 1200); do
        grep -qs '^READY' "$out" && break
        kill -0 "$client" 2>/dev/null || { cat "$out" >&2; die "idle client against $name failed"; }
        sleep 0.1
    done
    grep -q '^READY' "$out" || die "idle client against $name not ready after 120 s"
    sleep 2 # let the server finish its side of the last handshakes
    after=$(rss_kib "$pid")
    kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || { cat "$out" >&2; die "$name dropped idle connections"; }
    forget "$client"
    grep -q ' lost=0$' "$out" || { cat "$out" >&2; die "$name dropped idle connections"; }
    echo "   $name: VmRSS $before KiB before, $after KiB with $IDLE idle connections ($(grep '^READY' "$out"))"
    DETAILS+=("| idle memory | 1 | $name | $before -> $after KiB VmRSS | $IDLE connections, one checked echo each | all held |")
    IDLE_BYTES=$(awk -v b="$before" -v a="$after" -v n="$IDLE" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
}
if wants idle; then
    echo "== idle WebSocket memory: $IDLE connections to each server (fresh processes)"
    start_wiretap --no-record
    idle_bytes wiretap "$WIRETAP_PORT" /echo "$WIRETAP_PID"
    w=$IDLE_BYTES
    stop "$WIRETAP_PID"
    start_reference
    idle_bytes reference "$REF_PORT" / "$REF_PID"
    t=$IDLE_BYTES
    stop "$REF_PID"
    met=$(awk -v w="$w" 'BEGIN { print (w <= 4096) ? "yes" : "**no**" }')
    ROWS+=("| memory per idle WebSocket, $IDLE connections (bytes of server RSS) | $w | tokio-tungstenite: $t | | <= 4096 B | $met |")
fi

# --- 4. Recording overhead: wiretap recording on against wiretap --no-record ------------
# check_captures DIR: one line "captures: files=N bytes=B ..." on stdout; exits 1 (and says
# why on stderr) when a file is not a finalized wiretap capture. Every file: its head is a v1
# header and its last 64 KiB hold the "truncated" and "end" fields (hex chunks cannot contain
# them); the smallest file with chunks and the largest one up to 256 MiB are loaded in full
# with json and every chunk's hex decoded. Bigger files are not loaded whole (memory, time).
check_captures() {
    python3 - "$1" <<'PY'
import json, os, re, sys

folder = sys.argv[1]
FULL = 256 << 20
names = sorted(os.listdir(folder))
docs = [n for n in names if n.endswith(".json")]
others = [n for n in names if not n.endswith(".json")]  # .partial, .json.tmp, .invalid
bad, sizes, cuts, ends, empty = [], {}, {}, {}, set()
for name in docs:
    path = os.path.join(folder, name)
    size = sizes[name] = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(max(0, size - 65536))
        tail = f.read()
    if not head.startswith(b'{"format":"wiretap-capture","version":1,'):
        bad.append(f"{name}: not a wiretap-capture v1 document: {head[:80]!r}")
        continue
    if re.search(rb'"chunks":\[\s*\]', head):
        empty.add(name)  # a connection that sent nothing (a port probe, wrk's address check)
    at = tail.rfind(b'"truncated":')
    try:
        last = json.loads(b"{" + tail[at:]) if at >= 0 else {}
        cut, end = last["truncated"], last["end"]
    except (ValueError, KeyError, TypeError) as e:
        bad.append(f"{name}: no truncated/end fields at the end ({e}): {tail[-120:]!r}")
        continue
    reason = cut["reason"] if cut else None
    if reason:
        cuts[reason] = cuts.get(reason, 0) + 1
    ends[end["by"]] = ends.get(end["by"], 0) + 1
loaded = []
small = sorted((s, n) for n, s in sizes.items() if s <= FULL and n not in empty)
for size, name in {small[0], small[-1]} if small else ():
    try:
        with open(os.path.join(folder, name), "rb") as f:
            doc = json.load(f)
        assert doc["format"] == "wiretap-capture", doc["format"]
        raw = sum(len(bytes.fromhex(c["hex"])) for c in doc["chunks"])
        loaded.append(f"{len(doc['chunks'])}:{raw}")
    except (ValueError, KeyError, TypeError, AssertionError) as e:
        bad.append(f"{name}: does not load: {e}")
for line in bad[:5]:
    print("load.sh: capture:", line, file=sys.stderr)
print(
    f"captures: files={len(docs)} bytes={sum(sizes.values())} others={len(others)}"
    f" largest={max(sizes.values(), default=0)} empty={len(empty)} loaded={len(loaded)}"
    f" loaded_chunks_bytes={','.join(loaded) or '-'}"
    f" connection_cap={cuts.get('connection-cap', 0)} folder_cap={cuts.get('folder-cap', 0)}"
    f" write_error={cuts.get('write-error', 0)}"
    f" ends={','.join(f'{k}:{v}' for k, v in sorted(ends.items())) or '-'}"
)
sys.exit(1 if bad else 0)
PY
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, all threads, 1/100 s
per_unit_us() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0) ? t * 10000 / n : 0 }'; } # TICKS UNITS
stat_field() { sed -n "s/.*recording stopped: Stats {.*[ {]$1: \([0-9]*\).*/\1/p" "$2" | tail -n 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
wait_finalized() { # wait_finalized DIR: until no .partial is left (the warm-up's captures)
    for _ in $(seq 1200); do
        compgen -G "$1/*.partial" >/dev/null || return 0
        sleep 0.1
    done
    die "the recorder left the warm-up's captures unfinished for 120 s in $1"
}
CAPS=() CPUROWS=()
rec_run() { # rec_run MODE LOAD ROUND: one fresh wiretap (recording on or off), one load
    local mode=$1 load=$2 round=$3 dir="$TMP/captures" out="$TMP/rec-$2-$1-$3" made=1
    local args=(--no-record) rate p50 p99 label t0 t1 units
    # made = connections this run opens: 1 is wait_port's probe, and every wrk run opens one
    # more than -c to check the address first (both: captures without chunks).
    [ "$mode" = on ] && args=(--captures "$dir" "${REC_FLAGS[@]}")
    rm -rf "$dir"
    start_wiretap --log-level info "${args[@]}"
    if [ "$load" = http ]; then
        label="HTTP 1 KiB"
        curl -sf --max-time 5 -o "$TMP/got" "http://127.0.0.1:$WIRETAP_PORT$URL_PATH" ||
            die "wiretap (recording $mode) did not serve $URL_PATH"
        cmp -s "$TMP/got" "$TMP/www/file-1k.txt" || die "wiretap (recording $mode) served different bytes"
        made=$((made + 1))
        if [ "$WARMUP" != 0 ]; then
            run_wrk "wiretap (recording $mode)" "$WIRETAP_PORT" "$WARMUP" "$out.warmup"
            made=$((made + HTTP_CONNS + 1))
            # The warm-up connections' captures are finalized before the measured seconds.
            [ "$mode" = off ] || wait_finalized "$dir"
        fi
        echo "== recording $mode, HTTP 1 KiB, round $round/$ROUNDS (wrk -t$THREADS -c$HTTP_CONNS -d${DURATION}s)"
        t0=$(cpu_ticks "$WIRETAP_PID")
        run_wrk "wiretap (recording $mode)" "$WIRETAP_PORT" "$DURATION" "$out"
        t1=$(cpu_ticks "$WIRETAP_PID")
        made=$((made + HTTP_CONNS + 1))
        units=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")
        rate=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
        p50=$(awk '$1 == "50%" { print $2 }' "$out") p99=$(awk '$1 == "99%" { print $2 }' "$out")
        echo "   $(int "$rate") req/s, latency p50 $p50 p99 $p99, $(grep -o 'Socket errors:.*' "$out" || echo "no socket errors")"
        DETAILS+=("| record: $label | $round | recording $mode | $(int "$rate") req/s | $p50 / $p99 | load $(load1) |")
    else
        local kind=$load size=125 conns=$TEXT_CONNS
        [ "$kind" = binary ] && size=65536 conns=$BIN_CONNS
        label="WS $conns x $size B $kind"; [ "$size" = 65536 ] && label="WS $conns x 64 KiB $kind"
        echo "== recording $mode, $label echo, round $round/$ROUNDS"
        # ws-load warms up and measures in one run: the server's CPU is read once the warm-up
        # is over and again when ws-load exits (its closing handshakes: a few ms of 10 s).
        timeout $((DURATION + WARMUP + 60)) "$LOAD/ws-load" echo --addr "127.0.0.1:$WIRETAP_PORT" \
            --path /echo --conns "$conns" --size "$size" --type "$kind" \
            --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" >"$out" 2>&1 &
        local client=$!
        sleep "$WARMUP"
        t0=$(cpu_ticks "$WIRETAP_PID")
        wait "$client" || { cat "$out" >&2; die "ws-load against wiretap (recording $mode) failed"; }
        t1=$(cpu_ticks "$WIRETAP_PID")
        units=$(field messages "$out")
        made=$((made + conns))
        rate=$(field msgs_per_sec "$out") p50=$(field p50_us "$out") p99=$(field p99_us "$out")
        echo "   $(int "$rate") msg/s, latency p50 ${p50} us p99 ${p99} us, $(field checked_bytes "$out") bytes checked"
        DETAILS+=("| record: $label | $round | recording $mode | $(int "$rate") msg/s | ${p50} / ${p99} us | every byte checked; load $(load1) |")
    fi
    REC_RATE=$rate REC_CPU=$(per_unit_us $((t1 - t0)) "$units")
    if [ "$mode" = off ]; then
        stop "$WIRETAP_PID"
        return 0
    fi
    # Recording: the server exits once its recorder has finalized every capture (a copy and
    # an fsync per file: GiBs after a full binary run), so it gets up to 10 minutes.
    local t0=$SECONDS
    stop "$WIRETAP_PID" 600
    local stopped=$((SECONDS - t0)) log="$TMP/rec-$load-$round.log" check
    cp "$TMP/wiretap.log" "$log"
    [ -n "$(stat_field opened "$log")" ] ||
        { tail -n 20 "$log" >&2; die "wiretap (recording) did not report its recorder's stats at shutdown"; }
    check=$(check_captures "$dir") || { echo "$check" >&2; die "captures in $dir do not read"; }
    echo "$check" >"$log.check"
    local files bytes recorded cut notes=""
    files=$(field files "$log.check") bytes=$(field bytes "$log.check")
    recorded=$(stat_field bytes_recorded "$log")
    cut="$(field connection_cap "$log.check") / $(field folder_cap "$log.check") / $(field write_error "$log.check")"
    [ "$files" = "$made" ] || notes+="**$files files for $made connections**; "
    [ "$(field others "$log.check")" = 0 ] || notes+="**$(field others "$log.check") unfinished files**; "
    [ "$(stat_field deleted "$log")" = 0 ] || notes+="**$(stat_field deleted "$log") deleted by the folder cap**; "
    [ "$(stat_field write_errors "$log")" = 0 ] || notes+="**$(stat_field write_errors "$log") write errors**; "
    notes+="$(field empty "$log.check") without chunks; ends ${check##* ends=}; stopped in ${stopped}s"
    echo "   captures: $files files for $made connections, $(mib "$bytes") MiB on disk," \
        "$(mib "$recorded") MiB recorded, truncated (connection / folder cap / write error) $cut," \
        "largest $(mib "$(field largest "$log.check")") MiB; server stopped in ${stopped}s"
    CAPS+=("| $label | $round | $made / $files | $(mib "$bytes") | $(mib "$recorded") | $(mib "$(field largest "$log.check")") | $cut | $(field loaded "$log.check") ($(field loaded_chunks_bytes "$log.check")) | $notes |")
    rm -rf "$dir"
    sync -f "$TMP" # the next run starts without this one's writeback
}
if wants record; then
    for load in http text binary; do
        declare -A REC=([on]="" [off]="") RCPU=([on]="" [off]="")
        for round in $(seq "$ROUNDS"); do
            for mode in $(order "$round" on off); do
                rec_run "$mode" "$load" "$round"
                REC[$mode]+="$REC_RATE "
                RCPU[$mode]+="$REC_CPU "
            done
        done
        # shellcheck disable=SC2086 # one argument per round
        on=$(median ${REC[on]}) off=$(median ${REC[off]}) r=$(ratio "$on" "$off")
        met=$(awk -v r="$r" 'BEGIN { print (r >= 0.9) ? "yes" : "**no**" }')
        case $load in
            http) what="HTTP GET 1 KiB file, keep-alive, wrk -t$THREADS -c$HTTP_CONNS (req/s)" ;;
            text) what="WebSocket echo, $TEXT_CONNS x 125 B text (msg/s)" ;;
            binary) what="WebSocket echo, $BIN_CONNS x 64 KiB binary (msg/s)" ;;
        esac
        ROWS+=("| recording on vs off: $what | on: $(int "$on") | off: $(int "$off") | **${r}x** | >= 0.9x | $met |")
        # shellcheck disable=SC2086
        con=$(median ${RCPU[on]}) coff=$(median ${RCPU[off]})
        CPUROWS+=("| ${what% (*} | $con | $coff | $(awk -v a="$con" -v b="$coff" 'BEGIN { printf "%+.2f us (%+.0f%%)", a - b, (b > 0) ? (a / b - 1) * 100 : 0 }') | ${RCPU[on]}/ ${RCPU[off]}|")
    done
fi

# --- Report -----------------------------------------------------------------------------
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock bench 2>/dev/null || COMMIT="$COMMIT + uncommitted changes"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')
WRK_VERSION=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true) # wrk -v exits 1
TT_VERSION=$(awk '/^name = "tokio-tungstenite"/ { getline; print $3 }' "$ROOT/bench/load/Cargo.lock" | tr -d '"')
REPORT="$TMP/report.md"
{
    echo "## wiretap load benchmark, $STARTED"
    echo
    [ "$QUICK" = 1 ] && echo "**Quick run (smoke test): not a measurement.**" && echo
    echo "- Command: \`bench/load.sh${ORIG_ARGS:+ $ORIG_ARGS}\` (rounds=$ROUNDS, duration=${DURATION}s, warm-up=${WARMUP}s, idle=$IDLE, parts=$ONLY)"
    echo "- Code: wiretap $COMMIT; references nginx $NGINX_VERSION (Debian), tokio-tungstenite $TT_VERSION; clients wrk $WRK_VERSION, ws-load (bench/load)"
    echo "- Machine: $(nproc) cores ($CPU), $(uname -sr); load average $START_LOAD at the start, $END_LOAD at the end"
    echo "- Threads: every server $THREADS, every client $THREADS, sharing the same cores (nothing pinned)"
    echo "- Numbers: medians of $ROUNDS alternating rounds; ratio = wiretap median / reference median (record part: recording on / recording off)"
    echo "- Recording: the comparisons with nginx and tokio-tungstenite run \`wiretap --no-record\`"
    if wants record; then
        if [ "$REC_CAPS" = full ]; then
            echo "- Record part: a fresh wiretap per run; recording on = \`--captures <fresh folder> --max-capture $REC_TOTAL --max-captures-total $REC_TOTAL\` (caps raised so that every byte of the run is recorded), off = \`--no-record\`; captures on $REC_FS; each run's folder checked, then deleted"
        else
            echo "- Record part: a fresh wiretap per run; recording on = \`--captures <fresh folder>\` with the default caps (64 MiB per connection, 1 GiB per folder: a capture cut at its cap costs nothing more), off = \`--no-record\`; captures on $REC_FS; each run's folder checked, then deleted"
        fi
    fi
    echo
    echo "| measurement | wiretap | reference | ratio | goal | met |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "| run | round | server | result | latency p50 / p99 | notes |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${DETAILS[@]}"
    if [ ${#CPUROWS[@]} -gt 0 ]; then
        echo
        echo "Server CPU per request or message in the record part (user + system time of the whole wiretap process, writer thread included, from /proc/PID/stat over the measured seconds, divided by the requests or messages done; medians): what recording costs, apart from how the shared cores split between server and client."
        echo
        echo "| load | on (us) | off (us) | recording adds | each round: on / off |"
        echo "|---|---|---|---|---|"
        printf '%s\n' "${CPUROWS[@]}"
    fi
    if [ ${#CAPS[@]} -gt 0 ]; then
        echo
        echo "Captures of each recording run (the folder as the stopped server left it; \"loaded\": files read whole with python3's json, as chunks:raw bytes):"
        echo
        echo "| load | round | connections / files | on disk (MiB) | recorded (MiB, raw) | largest file (MiB) | truncated: connection cap / folder cap / write error | loaded | notes |"
        echo "|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${CAPS[@]}"
    fi
} >"$REPORT"
mkdir -p "$ROOT/bench/results"
SUFFIX=""; [ "$QUICK" = 1 ] && SUFFIX="-quick"
RESULT="$ROOT/bench/results/load-$STAMP$SUFFIX.md"
cp "$REPORT" "$RESULT"
echo
cat "$REPORT"
echo
echo "written to ${RESULT#"$ROOT/"}"
