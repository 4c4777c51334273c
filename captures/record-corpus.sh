#!/usr/bin/env bash
# Re-records the regression corpus, captures/corpus/*.json: every capture in it is what
# `wiretap serve` recorded while a real client (curl, headless Chromium, the Python
# `websockets` library, wrk, raw Python sockets for what no library sends) talked to it.
#
#     captures/record-corpus.sh                 # builds target/release/wiretap first
#     WIRETAP_BIN=path/to/wiretap captures/record-corpus.sh
#     KEEP_WORK=1 captures/record-corpus.sh     # keep the temporary folder (servers' output)
#
# The server serves captures/fixture-www/ (committed, with fixed modification times set
# below), so a replay can serve the same bytes. Scenarios run one at a time; after each the
# script waits until its captures are finalized and moves them to `<scenario>.json`, or
# `<scenario>-1.json`, `-2`... in start order when it made several connections. The new
# corpus replaces the old one only when every capture in it loads. Loopback only; every wait
# is bounded; about a minute on a quiet machine.
#
# Needs: cargo (or WIRETAP_BIN), curl, wrk, python3 with `websockets`, node + npm (for
# playwright-core, installed into captures/clients/node_modules from the lock file), and
# Chromium (/usr/bin/chromium, or CHROMIUM=path). Exits 1, after writing the corpus, when a
# scenario did not get the answer it expected: that is a server bug to look at, or a
# scenario to fix.
set -euo pipefail
export LC_ALL=C # glob order = byte order = capture start order

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/.." && pwd)
fixture=$here/fixture-www
clients=$here/clients
corpus=$here/corpus
# The fixture's files all get this modification time, so that ETag (length + mtime) and
# Last-Modified are the same on every run and on every checkout.
fixture_mtime=@1700000000 # 2023-11-14T22:13:20Z
fixture_date='Tue, 14 Nov 2023 22:13:20 GMT'
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

log() { printf 'record-corpus: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# --- prerequisites -------------------------------------------------------------------------

for tool in curl wrk python3 node npm timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
python3 -c 'import websockets' 2>/dev/null ||
  die "the Python websockets package is missing: pip install websockets"
[[ -x $CHROMIUM ]] || die "no Chromium at $CHROMIUM: apt-get install chromium (or set CHROMIUM)"
if [[ ! -d $clients/node_modules/playwright-core ]]; then
  log "installing playwright-core into $clients/node_modules (npm ci)"
  (cd -- "$clients" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [[ -n ${WIRETAP_BIN:-} ]]; then
  bin=$WIRETAP_BIN
else
  log "building the release binary"
  (cd -- "$repo" && cargo build --release --quiet)
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/wiretap
fi
[[ -x $bin ]] || die "no wiretap binary at $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/wiretap-corpus.XXXXXX")
stage=$work/corpus
mkdir -p "$stage"
declare -A server_pid=() server_addr=() server_dir=()
problems=()

# --- servers -------------------------------------------------------------------------------

# start_server NAME [FLAGS...]: `wiretap serve` on a free loopback port, recording into its
# own folder; its address goes into server_addr[NAME].
start_server() {
  local name=$1 i addr=""
  shift
  local out=$work/server-$name.out err=$work/server-$name.err
  server_dir[$name]=$work/captures-$name
  mkdir -p "${server_dir[$name]}"
  : >"$out" # exists before the background process opens it: the loop below reads it
  "$bin" serve --addr 127.0.0.1:0 --www "$fixture" --captures "${server_dir[$name]}" "$@" \
    >"$out" 2>"$err" &
  server_pid[$name]=$!
  for ((i = 0; i < 100; i++)); do
    addr=$(sed -n 's|^wiretap: serving .* at http://\([^/]*\)/.*|\1|p' "$out")
    [[ -n $addr ]] && break
    kill -0 "${server_pid[$name]}" 2>/dev/null || die "server $name exited: $(cat -- "$err")"
    sleep 0.1
  done
  [[ -n $addr ]] || die "server $name did not say its address within 10 s"
  server_addr[$name]=$addr
  log "server $name on $addr${*:+ ($*)}"
}

# stop_server NAME: SIGTERM (a graceful shutdown), SIGKILL after 10 s.
stop_server() {
  local name=$1 pid=${server_pid[$1]} i
  unset "server_pid[$name]"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    problems+=("server $name: still running 10 s after SIGTERM, killed")
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  # Anything the server logged besides its own shutdown line is worth a look.
  if grep -v -q 'shutting down' -- "$work/server-$name.err"; then
    log "server $name said on stderr:"
    sed 's/^/    /' -- "$work/server-$name.err" >&2
  fi
}

cleanup() {
  local status=$? name
  for name in "${!server_pid[@]}"; do
    stop_server "$name"
  done
  if [[ -n ${KEEP_WORK:-} ]]; then
    log "kept $work"
  else
    rm -rf -- "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

# --- scenarios -----------------------------------------------------------------------------

# count_files DIR SUFFIX: how many files in DIR end with SUFFIX.
count_files() {
  local files=("$1"/*"$2")
  [[ -e ${files[0]} ]] || {
    echo 0
    return
  }
  echo "${#files[@]}"
}

# wait_finalized DIR MIN: until DIR holds at least MIN `.json` captures and no `.partial`,
# and that stays so for 0.3 s (a connection the server has accepted but not yet opened a
# capture for would otherwise be missed). At most 15 s.
wait_finalized() {
  local dir=$1 min=$2 i json partial
  for ((i = 0; i < 150; i++)); do
    json=$(count_files "$dir" .json)
    partial=$(count_files "$dir" .json.partial)
    if ((json >= min && partial == 0)); then
      sleep 0.3
      if (($(count_files "$dir" .json) == json && $(count_files "$dir" .json.partial) == 0)); then
        return 0
      fi
    fi
    sleep 0.1
  done
  return 1
}

# scenario NAME SERVER CONNECTIONS COMMAND...: runs the client COMMAND against SERVER (its
# `{addr}` arguments become the server's host:port), waits for the captures it caused, and
# moves them into the staging corpus. CONNECTIONS is the exact number of connections the
# client makes, or `N+` for at least N.
scenario() {
  local name=$1 server=$2 want=$3 status=0 out arg min files i
  shift 3
  local dir=${server_dir[$server]} args=()
  for arg in "$@"; do
    args+=("${arg//\{addr\}/${server_addr[$server]}}")
  done
  if declare -F "${args[0]}" >/dev/null; then
    out=$("${args[@]}" 2>&1) || status=$? # our curl/wrk helpers: bounded by their own limits
  else
    out=$(timeout 90 "${args[@]}" 2>&1) || status=$?
  fi
  printf '  %-34s %s\n' "$name" "$(tail -n 1 <<<"$out")" >&2
  if ((status != 0)) || [[ $out == *UNEXPECTED* ]]; then
    problems+=("$name: client exit $status: $(grep -m 3 -e UNEXPECTED -e rror <<<"$out" || tail -n 3 <<<"$out")")
  fi
  min=${want%+}
  if ! wait_finalized "$dir" "$min"; then
    problems+=("$name: captures not finalized within 15 s ($(count_files "$dir" .json) .json, $(count_files "$dir" .json.partial) .partial)")
  fi
  files=()
  for arg in "$dir"/*.json; do
    [[ -e $arg ]] || continue
    # A connection that closed without a byte either way: wrk's address probe, Chromium's
    # spare preconnected socket. Nothing to replay; left out.
    if grep -q '"dir":"' -- "$arg"; then
      files+=("$arg")
    else
      log "$name: left out an empty connection (${arg##*/})"
      rm -f -- "$arg"
    fi
  done
  if [[ $want != *+ ]] && ((${#files[@]} != want)); then
    problems+=("$name: ${#files[@]} connection(s) recorded, expected $want")
  elif ((${#files[@]} < min)); then
    problems+=("$name: ${#files[@]} connection(s) recorded, expected at least $min")
  fi
  if ((${#files[@]} == 1)); then
    mv -- "${files[0]}" "$stage/$name.json"
  else
    for i in "${!files[@]}"; do
      mv -- "${files[$i]}" "$stage/$name-$((i + 1)).json"
    done
  fi
}

# curl_check EXPECTED CURL_ARGS... URL...: one curl process (so one connection, reused for
# every URL it is given); EXPECTED is the status of each transfer, space separated.
curl_check() {
  local want=$1 got arg args=()
  shift
  for arg in "$@"; do
    # Every URL's body goes to /dev/null: -w is the only output.
    if [[ $arg == http://* ]]; then args+=(-o /dev/null); fi
    args+=("$arg")
  done
  got=$(curl -sS --noproxy '*' --max-time 10 -w '%{http_code} ' "${args[@]}" 2>&1) ||
    echo "UNEXPECTED curl exit $?: $got"
  got=${got% }
  if [[ $got == "$want" ]]; then
    echo "ok curl: $got"
  else
    echo "UNEXPECTED curl: expected $want, got $got"
  fi
}

# curl_etag URL: a first request saves the ETag, a second one sends it in If-None-Match.
curl_etag() {
  curl_check 200 --etag-save "$work/etag" "$1"
  grep -q '"' "$work/etag" || echo "UNEXPECTED no ETag saved: $(cat -- "$work/etag")"
  curl_check 304 --etag-compare "$work/etag" "$1"
}

# wrk_check URL: one connection, many keep-alive requests for one second.
wrk_check() {
  local out
  out=$(wrk -t1 -c1 -d1s "$1" 2>&1) || echo "UNEXPECTED wrk exit $?"
  if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
    echo "UNEXPECTED wrk: $(grep -e 'Non-2xx' -e 'Socket errors' <<<"$out" | tr -s ' ')"
  fi
  echo "ok wrk: $(grep -m 1 'requests in' <<<"$out" | tr -s ' ')"
}

started=$SECONDS
find "$fixture" -exec touch -h -d "$fixture_mtime" {} +
if ! cmp -s "$fixture/index.html" "$repo/www/index.html"; then
  log "note: fixture-www/index.html differs from www/index.html (copy it over if the demo page changed)"
fi

start_server main
# Small limits for the scenarios that need them, each on its own instance.
start_server slow --header-timeout 1s
start_server capped --max-capture 131072

raw=("python3" "$clients/raw.py")
ws=("python3" "$clients/ws_client.py")
u='http://{addr}'

log "curl"
scenario curl-get-root main 1 curl_check 200 "$u/"
scenario curl-get-text main 1 curl_check 200 "$u/hello.txt"
scenario curl-get-binary main 1 curl_check 200 "$u/blob.bin"
scenario curl-get-subdir main 1 curl_check 200 "$u/sub/"
scenario curl-head main 1 curl_check 200 -I "$u/hello.txt"
scenario curl-404 main 1 curl_check 404 "$u/missing.txt"
scenario curl-range main 1 curl_check 206 -r 1000-1999 "$u/blob.bin"
scenario curl-range-416 main 1 curl_check 416 -r 200000-300000 "$u/blob.bin"
scenario curl-if-none-match main 2 curl_etag "$u/hello.txt"
scenario curl-if-modified-since main 1 curl_check 304 -z "$fixture_date" "$u/hello.txt"
scenario curl-dir-redirect main 1 curl_check "301 200" "$u/sub" "$u/sub/"
scenario curl-post-405 main 1 curl_check 405 --data-binary 'name=wiretap' "$u/hello.txt"
scenario curl-http10 main 1 curl_check 200 -0 "$u/hello.txt"
scenario curl-keep-alive main 1 curl_check "200 200" "$u/hello.txt" "$u/blob.bin"
scenario curl-expect-100 main 1 curl_check 405 -H 'Expect: 100-continue' \
  --data-binary "@$fixture/hello.txt" "$u/hello.txt"
scenario curl-h2c-upgrade main 1 curl_check 200 --http2 "$u/hello.txt"

log "chromium"
mkdir -p "$work/chromium-profile"
scenario chromium-demo main 3+ node "$clients/chromium-demo.js" "$u/" "$work/chromium-profile"

log "python websockets"
for name in text-echo binary-echo fragmented ping close-1000 close-1001 close-4000 1mib chat-binary; do
  scenario "python-ws-$name" main 1 "${ws[@]}" "$name" "{addr}"
done
scenario python-ws-chat main 2 "${ws[@]}" chat "{addr}"

log "pipelining, wrk"
scenario pipelining main 1 "${raw[@]}" pipelining "{addr}"
scenario wrk-keep-alive capped 1 wrk_check "$u/hello.txt"

log "hostile input"
for name in cl-te two-content-lengths bare-lf obs-fold traversal-dotdot traversal-pct2e \
  traversal-pct2f nul long-request-line big-headers http2 ws-bad-utf8 ws-unmasked \
  ws-oversized-frame torn; do
  scenario "hostile-$name" main 1 "${raw[@]}" "$name" "{addr}"
done
scenario hostile-slowloris slow 1 "${raw[@]}" slowloris "{addr}"

for name in main slow capped; do
  stop_server "$name"
done

# --- check, install, list ------------------------------------------------------------------

# Every capture must load as a wiretap capture v1 with chunks and an end.
python3 - "$stage" <<'EOF' || die "the new corpus does not load; captures/corpus/ is unchanged"
import json, pathlib, sys
bad = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    try:
        doc = json.loads(path.read_bytes())
        assert doc.get("format") == "wiretap-capture", f"format {doc.get('format')!r}"
        assert doc.get("version") == 1, f"version {doc.get('version')!r}"
        assert isinstance(doc.get("chunks"), list) and doc["chunks"], "no chunks"
        assert all(bytes.fromhex(c["hex"]) and c["dir"] in ("c2s", "s2c") for c in doc["chunks"]), "bad chunk"
        assert isinstance(doc.get("end"), dict), "no end"
    except Exception as e:  # noqa: BLE001 - report every file
        print(f"record-corpus: {path.name}: {e}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
EOF

mkdir -p "$corpus"
# The captures are replaced; the blessed transcripts (*.transcript.json) stay, so that the
# replay tests show what the new recordings change before they are blessed again.
for file in "$corpus"/*.json; do
  [[ $file == *.transcript.json ]] || rm -f -- "$file"
done
mv -- "$stage"/*.json "$corpus"/
log "captures/corpus/ (by name):"
total=0
count=0
for file in "$corpus"/*.json; do
  [[ $file == *.transcript.json ]] && continue
  size=$(stat -c %s -- "$file")
  total=$((total + size))
  count=$((count + 1))
  printf '  %9d  %s\n' "$size" "${file##*/}" >&2
done
printf '  %9d  total, %d captures, recorded in %d s\n' "$total" "$count" $((SECONDS - started)) >&2
log "next: WIRETAP_BLESS=1 cargo test --test replay, then review with git diff captures/corpus"

if ((${#problems[@]})); then
  log "${#problems[@]} scenario(s) did not go as expected:"
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
