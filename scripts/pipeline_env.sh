#!/usr/bin/env bash
# Make (or bring up to date) the virtual environment that runs the Meltano pipeline: Meltano
# itself, this project and the simulated API (simulator/, its own distribution `dlf-simulator`),
# and the DuckDB/PostgreSQL drivers used to read the warehouse. Meltano installs the tap and the loaders into their own environments under
# .meltano/ (`meltano install`). Prints the environment's path.
#
#   PIPELINE_VENV   where the environment lives (default: .venv in the repository)
#   PYTHON          interpreter to build it with (default: python3; 3.11 or newer)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${PIPELINE_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
# Meltano, the drivers that read the warehouse, and wcwidth (the summary's column widths); duckdb
# matches the pin of target-duckdb in meltano.yml, so the file it writes is read by the same
# engine version.
PINS=(meltano==4.4.1 duckdb==2.0.1 "psycopg[binary]==3.3.6" wcwidth==0.9.4)

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "pipeline_env.sh: $PYTHON is older than Python 3.11." >&2; exit 1; }

stamp="${PINS[*]} $(cksum < "$ROOT/pyproject.toml") $(cksum < "$ROOT/simulator/pyproject.toml")"
if [[ -x $VENV/bin/meltano && -f $VENV/.pipeline-stamp && $(cat "$VENV/.pipeline-stamp") == "$stamp" ]]; then
    echo "$VENV"
    exit 0
fi
echo "pipeline_env.sh: installing Meltano and the project into $VENV ..." >&2
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check "${PINS[@]}" -e "$ROOT" -e "$ROOT/simulator" \
    >"$VENV/pipeline-install.log" 2>&1 \
    || { tail -n 30 "$VENV/pipeline-install.log" >&2; echo "pipeline_env.sh: pip install failed." >&2; exit 1; }
printf '%s' "$stamp" > "$VENV/.pipeline-stamp"
echo "$VENV"
