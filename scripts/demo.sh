#!/usr/bin/env bash
# The main job, end to end, on a fresh machine (Python 3.11 + PyPI): install Meltano and the
# plugins, start the simulated DataArts Factory API with three months of demo instances, run
# `meltano run tap-dlf-instances target-duckdb`, let time pass in the simulator (running
# instances finish, late PatchData and manual runs and new instances arrive), run again from
# Meltano's state, transform with dbt (`dbt-duckdb:build`: staging models, the marts in schema
# dlf_marts, dbt's tests), write the HTML report of the marts (output/report.html), and summarise
# what is in DuckDB.
#
# Every run starts clean: a new warehouse file and no Meltano state for the `sim` job.
#   DLF_SIM_PORT   port of the simulated API (default 18765, the `sim` environment's)
#   PIPELINE_VENV  environment for Meltano (default .venv, see scripts/pipeline_env.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PORT=${DLF_SIM_PORT:-18765}   # the `sim` environment's; taken by something else: a free one
OUT=$ROOT/output
WAREHOUSE=$OUT/warehouse.duckdb
LOGS=$OUT/demo-logs
STATE_ID=sim:tap-dlf-instances-to-target-duckdb
export MELTANO_ENVIRONMENT=sim

step() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { echo "demo.sh: $1" >&2; [[ -n ${2:-} && -f $2 ]] && tail -n 30 "$2" >&2; exit 1; }

mkdir -p "$OUT" "$LOGS"
EXTRACT_LOAD_S=0
step "Preparing the pipeline environment (Meltano, plugins) ..."
started=$SECONDS
VENV=$(scripts/pipeline_env.sh) || fail "could not create the pipeline environment."
PY=$VENV/bin/python
MELTANO=$VENV/bin/meltano
"$MELTANO" install >"$LOGS/install.log" 2>&1 || fail "meltano install failed:" "$LOGS/install.log"
INSTALL_S=$((SECONDS - started))
step "  ready in $INSTALL_S s ($VENV, .meltano/)"

# A clean start: no warehouse, no state for this job.
rm -f "$WAREHOUSE" "$WAREHOUSE.wal" "$OUT/run1.duckdb"
"$MELTANO" state clear --force "$STATE_ID" >"$LOGS/state-clear.log" 2>&1 || true

SIM_PID=
stop_simulator() {
    if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    SIM_PID=
}
trap stop_simulator EXIT
trap 'exit 130' INT TERM

port_free() { "$PY" -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"; }
if ! port_free "$PORT"; then
    [[ -n ${DLF_SIM_PORT:-} ]] && fail "port $PORT (DLF_SIM_PORT) is in use: set DLF_SIM_PORT to a free port, or unset it to let the demo pick one."
    step "Port $PORT is in use: the simulator takes a free port (DLF_SIM_PORT chooses one)."
    PORT=0
fi

ready=$OUT/.simulator-ready
rm -f "$ready"
"$PY" -m dlf_simulator --port "$PORT" --dataset demo --months 3 \
    --ready-file "$ready" >"$LOGS/simulator.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do
    [[ -s $ready ]] && break
    kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator did not start (port $PORT in use? DLF_SIM_PORT chooses another):" "$LOGS/simulator.log"
    sleep 0.2
done
[[ -s $ready ]] || fail "the simulator did not get ready in 20 s:" "$LOGS/simulator.log"
SIM_URL=$(cat "$ready")
step "Simulated DataArts Factory API at $SIM_URL: $(sed -n 's/.*(\(.*\)).*/\1/p' "$LOGS/simulator.log")"

# The simulator's demo history is 3 x 31 days; read all of it (the tap's default is 30 days).
export TAP_DLF_INSTANCES_START_DATE=$("$PY" -c '
from datetime import UTC, datetime, timedelta
print((datetime.now(UTC) - timedelta(days=94)).strftime("%Y-%m-%dT00:00:00Z"))')
if [[ $SIM_URL != http://127.0.0.1:18765 ]]; then   # not the `sim` environment's URL
    export TAP_DLF_INSTANCES_API_URL=$SIM_URL TAP_DLF_INSTANCES_IAM_URL=$SIM_URL
fi

run_pipeline() {
    local n=$1 t0=$SECONDS
    "$MELTANO" run tap-dlf-instances target-duckdb >"$LOGS/run$n.log" 2>&1 \
        || fail "meltano run failed:" "$LOGS/run$n.log"
    local loaded
    loaded=$(grep -o "Loading [0-9]* rows into '\"[^\"]*\".\"dlf\".\"instances\"'" "$LOGS/run$n.log" \
        | awk '{s += $2} END {print s + 0}')
    EXTRACT_LOAD_S=$((EXTRACT_LOAD_S + SECONDS - t0))
    step "  done in $((SECONDS - t0)) s: $loaded instance rows loaded (log: ${LOGS#"$ROOT"/}/run$n.log)"
}

step "Run 1: meltano run tap-dlf-instances target-duckdb (full history since $TAP_DLF_INSTANCES_START_DATE)"
run_pipeline 1
"$PY" scripts/warehouse.py snapshot "$WAREHOUSE" "$OUT/run1.duckdb"

step "Time passes in the simulator: running instances finish, late and new instances arrive, PatchData runs ..."
"$PY" - "$SIM_URL" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/_sim/advance", data=b"{}", method="POST")
with urllib.request.urlopen(request, timeout=30) as response:
    changed = json.load(response)
from dlf_simulator import DEFAULT_WORKSPACE_ID
jobs = [job for job in changed["jobs"] if job["workspace"] == DEFAULT_WORKSPACE_ID]
updated, added = (sum(len(job[key]) for job in jobs) for key in ("updated", "added"))
print(f"         {updated} instances changed and {added} added, in {len(jobs)} jobs")

# A PatchData run three weeks back, far beyond the 24 h lookback: the next run reads its jobs
# over its range (and nothing else that old) because the PatchData list says so.
DAY = 86_400_000
from datetime import UTC, datetime
day = (int(datetime.now(UTC).timestamp() * 1000) // DAY - 21) * DAY
patch = {"jobs": ["hourly_orders_etl", "daily_sales_report"], "start": day, "end": day + DAY - 1,
         "name": "P_demo_three_weeks_back"}
request = urllib.request.Request(sys.argv[1] + "/_sim/patch", data=json.dumps(patch).encode(), method="POST")
with urllib.request.urlopen(request, timeout=30) as response:
    made = json.load(response)
when = datetime.fromtimestamp(day / 1000, UTC).strftime("%Y-%m-%d")
print(f"         PatchData run {patch['name']} re-ran {len(made['added_ids'])} instances of {when} "
      f"for {', '.join(patch['jobs'])}")
EOF

step "Run 2: meltano run tap-dlf-instances target-duckdb (incremental, from Meltano's state)"
run_pipeline 2
stop_simulator

step "Transform: meltano invoke dbt-duckdb:build (staging models, marts in schema dlf_marts, dbt tests)"
t0=$SECONDS
"$MELTANO" invoke dbt-duckdb:build >"$LOGS/transform.log" 2>&1 || fail "dbt build failed:" "$LOGS/transform.log"
TRANSFORM_S=$((SECONDS - t0))
built=$(grep -o 'Done\. PASS=[0-9]* WARN=[0-9]* ERROR=[0-9]*' "$LOGS/transform.log" | tail -n 1)
step "  done in $((SECONDS - t0)) s: ${built#Done. } (log: ${LOGS#"$ROOT"/}/transform.log)"

# The report of the dbt marts, after the transform stage (`meltano run dbt-duckdb:build`) has
# built them: Meltano's utility dlf-report (report/, installed by `meltano install`).
REPORT=$OUT/report.html
step "Report: meltano invoke dlf-report (the marts of ${WAREHOUSE#"$ROOT"/} into ${REPORT#"$ROOT"/})"
t0=$SECONDS
"$MELTANO" invoke dlf-report --duckdb "$WAREHOUSE" --out "$REPORT" >"$LOGS/report.log" 2>&1 \
    || fail "the report failed:" "$LOGS/report.log"
REPORT_S=$((SECONDS - t0))
step "  done in $((SECONDS - t0)) s: $(grep -o 'wrote .*' "$LOGS/report.log" | tail -n 1 | sed "s#$ROOT/##")"

echo
"$PY" scripts/warehouse.py summary "$WAREHOUSE" --before "$OUT/run1.duckdb"
echo
echo "Wall time by stage: install ${INSTALL_S} s, extract+load ${EXTRACT_LOAD_S} s (two runs), transform ${TRANSFORM_S} s, report ${REPORT_S} s; ${SECONDS} s in all."
echo "The report: ${REPORT#"$ROOT"/} (one file, opens offline in any browser)"
echo "Query it yourself: $PY -c \"import duckdb; print(duckdb.connect('${WAREHOUSE#"$ROOT"/}').sql('from dlf.instances limit 5'))\""
echo "The marts:         $PY -c \"import duckdb; print(duckdb.connect('${WAREHOUSE#"$ROOT"/}').sql('from dlf_marts.job_daily order by day desc limit 5'))\""
