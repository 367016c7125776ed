#!/usr/bin/env bash
# The project's test command: sets up .venv from scratch if needed, then lint, type-check, tests.
#   bash scripts/test.sh            # everything (what CI runs)
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== .venv: Meltano, the tap, and the test tools"
# The same environment the main job uses (scripts/pipeline_env.sh), plus the dev extras.
VENV=$(bash scripts/pipeline_env.sh)
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }
export PATH="$VENV/bin:$PATH"

echo "== ruff"
SOURCES=(tap_dlf_instances tests scripts)
[ -d benchmarks ] && SOURCES+=(benchmarks)
ruff check "${SOURCES[@]}"
ruff format --check "${SOURCES[@]}"
echo "== mypy"
mypy
echo "== pytest"
set +e
pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
