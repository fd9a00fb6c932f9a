#!/usr/bin/env bash
# Run uv, the pinned version, installing it first (into .ci/.uv, a venv of its own) when it is missing.
#
#   scripts/uv.sh pip install ...
#
# uv comes from PyPI like every other package; nothing else is downloaded: managed Python downloads are off
# (the interpreters are the machine's, see scripts/find-python.sh). Its cache is .ci/.cache/uv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UV_VERSION=0.13.9
UV_HOME="$ROOT/.ci/.uv"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$ROOT/.ci/.cache/uv}"
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1

if [ "$("$UV_HOME/bin/uv" --version 2>/dev/null | cut -d' ' -f1-2)" != "uv $UV_VERSION" ]; then
    echo "[uv] installing uv $UV_VERSION into .ci/.uv" >&2
    [ -x "$UV_HOME/bin/pip" ] || python3 -m venv "$UV_HOME"
    "$UV_HOME/bin/pip" install --quiet "uv==$UV_VERSION"
fi
exec "$UV_HOME/bin/uv" "$@"
