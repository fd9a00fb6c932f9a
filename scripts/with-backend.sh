#!/usr/bin/env bash
# Run a command with a real OTLP backend (Arize Phoenix) on loopback, then stop it.
#
#   scripts/with-backend.sh .venv/bin/python -m pytest
#
# Phoenix lives in its own cached venv (.ci/.phoenix, installed with scripts/uv.sh), never in the
# project's .venv: it pulls in about 150 distributions. It listens on 127.0.0.1 only: OTLP/gRPC on
# $LC_OTEL_IT_GRPC_PORT (4317), OTLP/HTTP plus its REST API on $LC_OTEL_IT_HTTP_PORT (4318), with a fresh
# database per run (other free ports when those are taken). The tests find it through the variables exported
# below; LC_OTEL_IT_PHOENIX_BIN lets a test start a Phoenix of its own.
#
# The command's exit code is passed on, except that pytest's 5 ("no tests collected") becomes 1:
# a run that tested nothing must not pass.
set -euo pipefail
cd "$(dirname "$0")/.."

PHOENIX_VERSION="${LC_OTEL_PHOENIX_VERSION:-20.26.1}"
GRPC_PORT="${LC_OTEL_IT_GRPC_PORT:-4317}"
HTTP_PORT="${LC_OTEL_IT_HTTP_PORT:-4318}"
PHOENIX_HOME=.ci/.phoenix

log() { printf '[with-backend] %s\n' "$*" >&2; }
started=$(date +%s.%N)
elapsed() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}s')" "$started"; }

if [ "$#" -eq 0 ]; then
    log "usage: $0 COMMAND [ARGS...]"
    exit 2
fi

install_phoenix() {
    # Idempotent: a complete install leaves a stamp naming the version, so a half-done one is redone.
    local stamp="$PHOENIX_HOME/.installed-$PHOENIX_VERSION"
    [ -f "$stamp" ] && return 0
    [ -x "$PHOENIX_HOME/bin/python" ] || scripts/uv.sh venv -q --python "$(command -v python3)" "$PHOENIX_HOME"
    # Compiled bytecode: this machine does not write .pyc files, and each Phoenix start (this script and the
    # fault tests start it three times) would compile its imports again (16 s instead of 10).
    scripts/uv.sh pip install -q --compile-bytecode --python "$PHOENIX_HOME/bin/python" \
        "arize-phoenix==$PHOENIX_VERSION"
    touch "$stamp"
}

port_busy() {
    python3 - "$1" <<'EOF'
import socket, sys
with socket.socket() as s:
    s.settimeout(0.5)
    sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# python3 rather than curl: slim CI images have python3 (the Makefile needs it) but not always curl.
healthy() {
    python3 - "$HTTP_PORT" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
EOF
}

PHX_PID=""
PHX_DIR=""
stop_phoenix() {
    if [ -n "$PHX_PID" ] && kill -0 "$PHX_PID" 2>/dev/null; then
        kill "$PHX_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$PHX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$PHX_PID" 2>/dev/null || true
        log "Phoenix stopped"
    fi
    if [ -n "$PHX_DIR" ]; then rm -rf "$PHX_DIR"; fi
    PHX_PID=""
}
trap stop_phoenix EXIT
trap 'exit 130' INT TERM

backend_ok=0
if install_phoenix; then
    log "Phoenix $PHOENIX_VERSION installed ($(elapsed))"
    export LC_OTEL_IT_PHOENIX_BIN="$PWD/$PHOENIX_HOME/bin/phoenix"
    # Another run of this script (another clone, another engineer) may be starting its Phoenix right now: it
    # binds its ports only after about 10 s of imports, so both would see 4317/4318 free, and the loser would
    # take the winner's /healthz for its own and lose its backend when the winner stops. One start at a time.
    if command -v flock >/dev/null 2>&1; then
        exec 9>"${TMPDIR:-/tmp}/lc-otel-with-backend-$(id -u).lock"
        flock 9
    fi
    if port_busy "$GRPC_PORT" || port_busy "$HTTP_PORT"; then
        # Another backend (or another run of this script) holds the usual ports: take free ones.
        GRPC_PORT=$(free_port)
        HTTP_PORT=$(free_port)
        log "4317/4318 busy on 127.0.0.1; using $GRPC_PORT/$HTTP_PORT"
    fi
    PHX_DIR=$(mktemp -d)
    PHOENIX_WORKING_DIR="$PHX_DIR" PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$HTTP_PORT" \
        PHOENIX_GRPC_PORT="$GRPC_PORT" PHOENIX_TELEMETRY_ENABLED=false \
        "$PHOENIX_HOME/bin/phoenix" serve >"$PHX_DIR/phoenix.log" 2>&1 9>&- &
    PHX_PID=$!
    for _ in $(seq 1 1200); do
        healthy && break
        kill -0 "$PHX_PID" 2>/dev/null || break
        sleep 0.1
    done
    if healthy; then
        backend_ok=1
        log "Phoenix ready on 127.0.0.1 (gRPC $GRPC_PORT, HTTP $HTTP_PORT) ($(elapsed))"
    else
        log "Phoenix did not become ready; its log:"
        tail -50 "$PHX_DIR/phoenix.log" >&2 || true
        stop_phoenix
    fi
    exec 9>&-  # ready or given up: the next run may start (the lock dies with the descriptor)
else
    log "could not install Phoenix"
fi

if [ "$backend_ok" = 1 ]; then
    export LC_OTEL_IT_PHOENIX_URL="http://127.0.0.1:$HTTP_PORT"
    export LC_OTEL_IT_GRPC_ENDPOINT="http://127.0.0.1:$GRPC_PORT"
    export LC_OTEL_IT_HTTP_ENDPOINT="http://127.0.0.1:$HTTP_PORT"
elif [ "${CI:-}" = "true" ]; then
    # The integration tests fail, rather than skip, when CI=true and the backend is missing.
    log "no backend: the integration tests will fail (CI=true)"
else
    log "no backend: the integration tests will be skipped"
fi

set +e
"$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    log "the test run collected no tests: failing"
    rc=1
fi
log "command exited $rc ($(elapsed))"
if [ "$rc" -ne 0 ] && [ -n "$PHX_DIR" ] && [ -f "$PHX_DIR/phoenix.log" ]; then
    # A test that misses spans: did the backend lose them (a failed insert) or never get them?
    log "Phoenix's span ingestion failures (last 20):"
    grep -E 'Span insertion failed|Releasing [0-9]+ spans|Span transaction failed' "$PHX_DIR/phoenix.log" \
        | tail -20 >&2 || log "(none)"
fi
exit "$rc"
