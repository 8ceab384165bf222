#!/usr/bin/env bash
# HTTP load bench of `vecdex serve` (wrk on loopback) with the in-process figures measured in the
# same run, on the first 100k points of glove-100-angular (../shared/datasets/make_datasets.sh).
#
#   bench/server/run.sh [--seconds 30] [--long] [--points 100000] [--k 10] [--ef 64]
#                       [--connections 4] [--threads 8] [--mixed-batch 10] [--bin build/release/vecdex]
#
# Phases: in-process (Collection::Upsert of the same 1,000-point batches, SearchBatch QPS on every
# core); then the server: initial load over HTTP (the same batches, one request at a time), wrk
# searches (points/query), wrk upserts of 1,000 points, and a mixed load (searches plus
# upserts of --mixed-batch points, 90/10 by requests). --long adds a 5-minute mixed run that
# checks errors, resident memory (within 10% of after warm-up) and the point count.
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_PER_PHASE=30
LONG=0
POINTS=100000
K=10
EF=64
CONNECTIONS=4
THREADS=8
MIXED_BATCH=10
BIN=build/release/vecdex
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_PHASE="$2"; shift 2 ;;
    --long) LONG=1; shift ;;
    --points) POINTS="$2"; shift 2 ;;
    --k) K="$2"; shift 2 ;;
    --ef) EF="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --mixed-batch) MIXED_BATCH="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done

DATA="${VECDEX_DATASETS:-$HOME/.cache/vecdex-datasets}/glove-100-angular"
for f in "$DATA/base.fvecs" "$DATA/query.fvecs"; do
  [[ -f "$f" ]] || { echo "missing $f: run ../shared/datasets/make_datasets.sh" >&2; exit 1; }
done
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (Debian: apt-get install $tool)" >&2; exit 1; }
done
[[ -x "$BIN" ]] || { echo "no $BIN: ./run build release" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vecdex-serve-bench.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[bench-server] %s\n' "$*" >&2; }
now() { date +%s.%N; }

log "preparing request bodies in $WORK"
head -c $((POINTS * 404)) "$DATA/base.fvecs" > "$WORK/base.fvecs"  # glove rows: 4 + 100 * 4 bytes
python3 bench/server/make_bodies.py "$WORK/base.fvecs" "$DATA/query.fvecs" "$WORK" "$POINTS" "$K" "$EF" "$MIXED_BATCH"

log "in-process: Upsert in batches of 1,000, then SearchBatch (k=$K, ef=$EF)"
"$BIN" bench-serve-inprocess --dir "$WORK/inprocess" --base "$WORK/base.fvecs" --query "$DATA/query.fvecs" \
  --points "$POINTS" --batch 1000 --k "$K" --ef "$EF" --seconds 10 > "$WORK/inprocess.txt"
value() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/inprocess.txt"; }
IN_UPSERT=$(value inprocess_upsert_points_per_s)
IN_QPS=$(value inprocess_search_qps)
IN_THREADS=$(value inprocess_threads)

log "starting vecdex serve"
"$BIN" serve --data "$WORK/db" --port 0 --threads "$THREADS" 2> "$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.log" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/server.log")
[[ -n "$PORT" ]] || { cat "$WORK/server.log" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
curl -sf -X PUT "$URL/collections/glove" -H 'Content-Type: application/json' \
  -d '{"vectors": {"size": 100, "distance": "Cosine"}}' > /dev/null

log "HTTP: initial load of $POINTS points in batches of 1,000 (one request at a time)"
start=$(now)
for f in "$WORK"/load/batch_*.json; do
  curl -sf -X PUT "$URL/collections/glove/points?wait=true" -H 'Content-Type: application/json' --data-binary "@$f" > /dev/null
done
HTTP_UPSERT=$(python3 -c "print(f'{$POINTS / ($(now) - $start):.1f}')")

# wrk PHASE_NAME METHOD PATH BODIES CONNECTIONS SECONDS [DELAY_MS] -> "RESULT rps p50 p99 errors requests"
run_wrk() {
  WRK_METHOD="$2" WRK_PATH="$3" WRK_BODIES="$4" WRK_DELAY_MS="${7:-0}" \
    wrk -t1 -c"$5" -d"$6"s --timeout 10s -s bench/server/bodies.lua "$URL" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
points_count() { curl -sf -X POST "$URL/collections/glove/points/count" -d '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["count"])'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status"; }

log "wrk: searches (points/query, k=$K, hnsw_ef=$EF), $CONNECTIONS connections, ${SECONDS_PER_PHASE}s"
curl -sf "$URL/metrics" > "$WORK/metrics_before.txt"
SEARCH=$(run_wrk search POST /collections/glove/points/query "$WORK/queries.txt" "$CONNECTIONS" "$SECONDS_PER_PHASE")
curl -sf "$URL/metrics" > "$WORK/metrics_after.txt"
SEARCH_SERVER=$(python3 bench/server/metrics_quantiles.py "$WORK/metrics_before.txt" "$WORK/metrics_after.txt" \
  POST '/collections/{name}/points/query')
log "wrk: upserts of 1,000 points, 1 connection, ${SECONDS_PER_PHASE}s"
UPSERT=$(run_wrk upsert PUT "/collections/glove/points?wait=true" "$WORK/upserts.txt" 1 "$SECONDS_PER_PHASE")

# Mixed: every connection sends a search, or with probability 0.1 an upsert of --mixed-batch
# points (existing ids: the count stays). wrk's latencies mix both kinds; the searches' own
# p50/p99 come from the server's /metrics histogram (handling time) over the same interval.
mixed() {
  local seconds="$1"
  curl -sf "$URL/metrics" > "$WORK/metrics_before.txt"
  WRK_BODIES2="$WORK/mixed_upserts.txt" WRK_METHOD2=PUT WRK_PATH2="/collections/glove/points?wait=true" WRK_SHARE2=0.1 \
    run_wrk mixed POST /collections/glove/points/query "$WORK/queries.txt" "$CONNECTIONS" "$seconds"
  curl -sf "$URL/metrics" > "$WORK/metrics_after.txt"
  echo "mixed_search_server $(python3 bench/server/metrics_quantiles.py "$WORK/metrics_before.txt" "$WORK/metrics_after.txt" \
    POST '/collections/{name}/points/query') $(python3 bench/server/metrics_quantiles.py "$WORK/metrics_before.txt" \
    "$WORK/metrics_after.txt" PUT '/collections/{name}/points')"
}
log "wrk: mixed 90/10 by requests (writes of $MIXED_BATCH points), ${SECONDS_PER_PHASE}s"
MIXED=$(mixed "$SECONDS_PER_PHASE")
MIXED_SERVER=$(echo "$MIXED" | grep "^mixed_search_server")
MIXED=$(echo "$MIXED" | grep -v "^mixed_search_server")

LONG_REPORT=""
if [[ $LONG -eq 1 ]]; then
  log "long run: 30 s warm-up, then 5 minutes mixed"
  mixed 30 > /dev/null
  rss_before=$(rss_kb); count_before=$(points_count)
  LONG_MIXED=$(mixed 300 | grep -v "^mixed_search_server")
  rss_after=$(rss_kb); count_after=$(points_count)
  long_errors=$(echo "$LONG_MIXED" | awk '{ s += $5 } END { print s }')
  LONG_REPORT=$(python3 - "$rss_before" "$rss_after" "$count_before" "$count_after" "$long_errors" <<'PY'
import sys
rb, ra, cb, ca, errors = (int(x) for x in sys.argv[1:6])
growth = (ra - rb) / rb
ok = errors == 0 and abs(growth) <= 0.10 and cb == ca
print(f"5-minute mixed run: errors {errors}, RSS {rb/1024:.0f} MiB after warm-up -> {ra/1024:.0f} MiB at the end "
      f"({growth*100:+.1f}%), points {cb} -> {ca}: {'PASS' if ok else 'FAIL'}")
PY
)
fi

log "stopping the server (SIGTERM)"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" && STOP_RC=0 || STOP_RC=$?
SERVER_PID=""

python3 - "$IN_UPSERT" "$IN_QPS" "$IN_THREADS" "$HTTP_UPSERT" "$SEARCH" "$UPSERT" "$MIXED" "$POINTS" "$K" "$EF" "$STOP_RC" "$MIXED_SERVER" "$MIXED_BATCH" "$SEARCH_SERVER" <<'PY'
import sys
in_upsert, in_qps, threads, http_upsert = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def parse(text):
    rows = {}
    for line in text.strip().splitlines():
        name, rps, p50, p99, errors, requests = line.split()
        rows[name] = (float(rps), float(p50), float(p99), int(errors), int(requests))
    return rows
rows = {**parse(sys.argv[5]), **parse(sys.argv[6]), **parse(sys.argv[7])}
points, k, ef, stop_rc = sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11]
print(f"\nvecdex serve load bench: glove-100-angular, {points} points, cosine, hnsw (defaults), k={k}, ef={ef}")
print(f"{'phase':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'requests':>10}")
for name, (rps, p50, p99, errors, requests) in rows.items():
    print(f"{name:<14}{rps:>10.1f}{p50:>10.2f}{p99:>10.2f}{errors:>8}{requests:>10}")
print()
print(f"in-process SearchBatch ({threads} threads): {in_qps:,.0f} QPS; HTTP search: {rows['search'][0]:,.0f} req/s "
      f"= {rows['search'][0] / in_qps * 100:.0f}% (target >= 40%)")
alone = sys.argv[14].split()
print(f"searches alone: server-side p50 {float(alone[1]):.3f} ms, p99 {float(alone[2]):.3f} ms: "
      f"p99/p50 = {float(alone[2]) / float(alone[1]):.2f}")
print(f"in-process Upsert (batches of 1,000): {in_upsert:,.0f} points/s; HTTP initial load: {http_upsert:,.0f} points/s "
      f"= {http_upsert / in_upsert * 100:.0f}% (target >= 70%); wrk upserts of 1,000: {rows['upsert'][0] * 1000:,.0f} points/s")
server = sys.argv[12].split()
searches, s50, s99, writes, w50, w99 = int(server[1]), float(server[2]), float(server[3]), int(server[4]), float(server[5]), float(server[6])
print(f"mixed ({sys.argv[13]}-point writes): {searches} searches + {writes} writes ({writes / max(1, searches + writes) * 100:.1f}% writes); "
      f"server-side search p50 {s50:.3f} ms, p99 {s99:.3f} ms: p99/p50 = {s99 / s50:.2f} (target <= 5); "
      f"writes p50 {w50:.2f} ms, p99 {w99:.2f} ms")
print(f"errors: {sum(r[3] for r in rows.values())}; server exit code on SIGTERM: {stop_rc}")
PY
[[ -n "$LONG_REPORT" ]] && echo "$LONG_REPORT"
exit 0
