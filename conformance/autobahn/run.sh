#!/usr/bin/env bash
# Run the Autobahn|Testsuite fuzzingclient (cases 1.* .. 10.*) against
# wiretap's /echo endpoint and check the report.
#
# Everything stays on loopback. The suite itself is Python 2 only: it is
# installed from PyPI into a virtualenv outside the source tree
# (target/autobahn-venv by default) with the versions pinned in
# requirements.txt, and reused on later runs while requirements.txt is
# unchanged.
#
# Environment:
#   WIRETAP_BIN       use this wiretap binary instead of `cargo build --release`
#   AUTOBAHN_PYTHON   a Python 2.7 interpreter (default: pyenv's 2.7.18 or python2.7)
#   AUTOBAHN_VENV     virtualenv folder (default: target/autobahn-venv)
#   AUTOBAHN_CASES    JSON list of case patterns (default: ["1.*", ..., "10.*"])
#   AUTOBAHN_TIMEOUT  seconds the whole wstest run may take (default: 1800)
#
# Exit status: 0 when every case is acceptable, 1 when some case is not
# (or cases are missing), 2 and above for setup errors.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="$root/target"
venv="${AUTOBAHN_VENV:-$target/autobahn-venv}"
outdir="$target/autobahn/report"
wstest_timeout="${AUTOBAHN_TIMEOUT:-1800}"
cases="${AUTOBAHN_CASES:-[\"1.*\", \"2.*\", \"3.*\", \"4.*\", \"5.*\", \"6.*\", \"7.*\", \"8.*\", \"9.*\", \"10.*\"]}"

log() { printf 'autobahn: %s\n' "$*" >&2; }

# --- Python 2.7 -----------------------------------------------------------
find_python2() {
    if [[ -n "${AUTOBAHN_PYTHON:-}" ]]; then
        printf '%s\n' "$AUTOBAHN_PYTHON"
        return
    fi
    local c
    for c in "${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python" python2.7 python2; do
        if command -v "$c" >/dev/null 2>&1 \
            && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
            command -v "$c"
            return
        fi
    done
    log "no Python 2.7 found (set AUTOBAHN_PYTHON)"
    exit 2
}

# --- virtualenv with the pinned suite --------------------------------------
setup_venv() {
    local stamp="$venv/.requirements.sha256" want
    want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/wstest" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        log "reusing $venv"
        return
    fi
    local py2
    py2="$(find_python2)"
    log "creating $venv with $py2"
    rm -rf "$venv"
    # virtualenv itself goes into a private folder, not into the user's site.
    local boot="$target/autobahn-bootstrap"
    if ! PYTHONPATH="$boot" "$py2" -m virtualenv --version >/dev/null 2>&1; then
        "$py2" -m pip install --disable-pip-version-check --no-warn-script-location \
            --target "$boot" 'virtualenv==20.15.1'
    fi
    PYTHONPATH="$boot" "$py2" -m virtualenv --no-periodic-update "$venv"
    "$venv/bin/pip" install --disable-pip-version-check --no-python-version-warning \
        -r "$here/requirements.txt"
    printf '%s\n' "$want" >"$stamp"
}

# --- wiretap ---------------------------------------------------------------
wiretap_bin() {
    if [[ -n "${WIRETAP_BIN:-}" ]]; then
        printf '%s\n' "$WIRETAP_BIN"
        return
    fi
    log "cargo build --release"
    (cd "$root" && cargo build --release --quiet) >&2
    printf '%s\n' "$root/target/release/wiretap"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

wait_for_port() {
    local port="$1" pid="$2"
    for _ in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        if python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

server_pid=""
tmp=""
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$tmp" ]]; then
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

main() {
    setup_venv
    local bin
    bin="$(wiretap_bin)"
    [[ -x "$bin" ]] || { log "no wiretap binary at $bin"; exit 2; }

    tmp="$(mktemp -d)"
    mkdir "$tmp/www"
    printf '<!doctype html><title>autobahn</title>\n' >"$tmp/www/index.html"

    local port
    port="$(free_port)"
    log "starting $bin on 127.0.0.1:$port"
    "$bin" serve --addr "127.0.0.1:$port" --www "$tmp/www" --log-level warn \
        >"$tmp/wiretap.log" 2>&1 &
    server_pid=$!
    if ! wait_for_port "$port" "$server_pid"; then
        log "wiretap did not come up; its log:"
        cat "$tmp/wiretap.log" >&2
        exit 2
    fi

    rm -rf "$outdir"
    mkdir -p "$outdir"
    cat >"$tmp/spec.json" <<EOF
{
  "outdir": "$outdir",
  "servers": [
    {"agent": "wiretap", "url": "ws://127.0.0.1:$port/echo"}
  ],
  "cases": $cases,
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
EOF
    # How many cases the spec selects, so that a run cut short is noticed.
    local expected
    expected="$("$venv/bin/python" -W ignore - "$tmp/spec.json" <<'EOF'
import json, sys
from autobahntestsuite.fuzzing import CaseSet, CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories
spec = json.load(open(sys.argv[1]))
cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
print(len(cs.parseSpecCases(spec)))
EOF
)"
    log "running $expected cases (timeout ${wstest_timeout}s)"
    local start end rc=0
    start="$(date +%s)"
    (cd "$tmp" && timeout --kill-after=10 "$wstest_timeout" \
        "$venv/bin/python" -W ignore "$venv/bin/wstest" -m fuzzingclient -s "$tmp/spec.json") \
        >"$target/autobahn/wstest.log" 2>&1 || rc=$?
    end="$(date +%s)"
    log "wstest finished with status $rc after $((end - start))s (log: target/autobahn/wstest.log)"
    if [[ "$rc" -eq 124 || "$rc" -eq 137 ]]; then
        log "wstest did not finish within ${wstest_timeout}s and was stopped"
    fi

    if ! kill -0 "$server_pid" 2>/dev/null; then
        log "wiretap is no longer running; its log:"
        cat "$tmp/wiretap.log" >&2
    fi
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    if [[ -s "$tmp/wiretap.log" ]]; then
        cp "$tmp/wiretap.log" "$target/autobahn/wiretap.log"
        log "wiretap logged $(wc -l <"$tmp/wiretap.log") lines (target/autobahn/wiretap.log)"
    fi

    local check_rc=0
    python3 "$here/check.py" --expect "$expected" "$outdir" || check_rc=$?
    if [[ "$rc" -ne 0 && "$check_rc" -eq 0 ]]; then
        log "wstest failed (status $rc)"
        exit 2
    fi
    exit "$check_rc"
}

main "$@"
