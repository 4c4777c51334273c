#!/usr/bin/env bash
# Load benchmark: wiretap against nginx (static files) and tokio-tungstenite (WebSocket echo)
# on this machine, side by side in one run, loopback only.
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
#
# Every server gets 2 threads (wiretap --threads 2, nginx worker_processes 2, 2 tokio workers)
# and every load client 2 (wrk -t2, ws-load --threads 2). Nothing is pinned: on a 2-core
# machine client and server share both cores, the same way for every server, so the ratios are
# the result and the absolute numbers are lower than with a separate load machine.
#
# Prints a markdown table and writes it to bench/results/load-<UTC date and time>.md (quick
# runs: ...-quick.md, not committed). Exits non-zero when a step fails (a wrong byte, a non-2xx
# response, a lost connection), not when a goal is missed. Cleans up every process it started.
set -euo pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
usage: bench/load.sh [--quick] [--rounds N] [--duration S] [--warmup S] [--idle N]
                     [--conns N] [--only http,ws,idle] [--no-install] [--no-build]
  --quick        1 round, 3 s runs, 1 s warm-up, 500 idle connections (smoke test)
  --rounds N     alternating rounds per measurement (default 3, at most 9)
  --duration S   seconds per measured run (default 10, 1..120)
  --warmup S     seconds of warm-up before each WebSocket run and per server for HTTP (default 2)
  --idle N       idle WebSocket connections for the memory measurement (default 5000, <= 20000)
  --conns N      cap every load connection count at N (default: 64 HTTP, 64 text, 16 binary)
  --only LIST    run only these parts (comma-separated: http, ws, idle)
  --no-install   do not apt-get install missing tools
  --no-build     use the binaries already built
Ports (loopback): LOAD_WIRETAP_PORT (18181), LOAD_NGINX_PORT (18182), LOAD_REF_PORT (18183).
EOF
}

ORIG_ARGS="$*"
ROUNDS=3 DURATION=10 WARMUP=2 IDLE=5000 CAP=1024 ONLY="http,ws,idle" INSTALL=1 BUILD=1 QUICK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ROUNDS=1 DURATION=3 WARMUP=1 IDLE=500 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --warmup) WARMUP="$2"; shift ;;
        --idle) IDLE="$2"; shift ;;
        --conns) CAP="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
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
TMP=$(mktemp -d /tmp/wiretap-load.XXXXXX)
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
stop() { # stop PID
    kill "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
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

# --- Fixture and servers ----------------------------------------------------------------
mkdir -p "$TMP/www" "$TMP/nginx"
chmod 755 "$TMP/www"
head -c 1024 < <(yes 'wiretap load benchmark: 1 KiB of text, served as a static file.') > "$TMP/www/file-1k.txt"
chmod 644 "$TMP/www/file-1k.txt"
URL_PATH=/file-1k.txt

start_wiretap() {
    "$WIRETAP_BIN" --addr "127.0.0.1:$WIRETAP_PORT" --www "$TMP/www" --threads "$THREADS" \
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
    start_wiretap
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
    start_wiretap
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
    start_wiretap
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
    echo "- Numbers: medians of $ROUNDS alternating rounds; ratio = wiretap median / reference median"
    echo
    echo "| measurement | wiretap | reference | ratio | goal | met |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "| run | round | server | result | latency p50 / p99 | notes |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${DETAILS[@]}"
} >"$REPORT"
mkdir -p "$ROOT/bench/results"
SUFFIX=""; [ "$QUICK" = 1 ] && SUFFIX="-quick"
RESULT="$ROOT/bench/results/load-$STAMP$SUFFIX.md"
cp "$REPORT" "$RESULT"
echo
cat "$REPORT"
echo
echo "written to ${RESULT#"$ROOT/"}"
