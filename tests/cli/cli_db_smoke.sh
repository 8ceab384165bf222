#!/usr/bin/env bash
# End-to-end smoke test of the CLI's database commands: import (JSONL and fvecs), info, search,
# verify (sound, then with a damaged snapshot), a malformed JSONL line, a usage error.
# Usage: cli_db_smoke.sh PATH/TO/vecdex
set -uo pipefail
VECDEX="${1:?usage: $0 PATH/TO/vecdex}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vecdex-cli-smoke-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DB="$WORK/db"
STEP=""

fail() { echo "FAIL [$STEP]: $*" >&2; exit 1; }
step() { STEP="$1"; echo "== $1"; }
# run EXPECTED_EXIT_CODE ARGS...: runs vecdex, keeps stdout in $OUT and stderr in $ERR.
run() {
  local expected="$1"; shift
  "$VECDEX" "$@" >"$WORK/out" 2>"$WORK/err"
  local code=$?
  OUT="$(cat "$WORK/out")"; ERR="$(cat "$WORK/err")"
  printf '%s\n' "$OUT"
  [[ -n "$ERR" ]] && printf 'stderr: %s\n' "$ERR"
  [[ "$code" == "$expected" ]] || fail "vecdex $* exited with $code, expected $expected"
}
contains() { [[ "$1" == *"$2"* ]] || fail "expected to find '$2' in: $1"; }

# Little-endian float32 of the small integers the fixtures use, and one fvecs row of dimension 4.
f32() {
  case "$1" in
    0) printf '\x00\x00\x00\x00' ;; 1) printf '\x00\x00\x80\x3f' ;; 2) printf '\x00\x00\x00\x40' ;;
    3) printf '\x00\x00\x40\x40' ;; 4) printf '\x00\x00\x80\x40' ;; *) fail "f32: no encoding for $1" ;;
  esac
}
fvecs_row() { printf '\x04\x00\x00\x00'; for c in "$@"; do f32 "$c"; done; }

cat >"$WORK/points.jsonl" <<'JSONL'
{"id": 1, "vector": [1, 0, 0, 0], "payload": {"title": "one", "n": 1}}
{"id": "doc-b", "vector": [0, 1, 0, 0], "payload": {"title": "bee"}}
{"id": 3, "vector": [0, 0, 1, 0]}

{"id": "doc-d", "vector": [0, 0, 0, 1], "payload": null}
JSONL
{ fvecs_row 0 0 0 0; fvecs_row 1 0 0 0; fvecs_row 0 2 0 0; fvecs_row 3 3 3 3; fvecs_row 4 0 0 4; } >"$WORK/vectors.fvecs"

step "import jsonl (int and string keys, payloads)"
run 0 import --db "$DB" --collection docs --jsonl "$WORK/points.jsonl" --create --metric cosine --index hnsw --batch 2
contains "$OUT" "imported 4 rows"

step "import fvecs (keys from --start-id)"
run 0 import --db "$DB" --collection vecs --fvecs "$WORK/vectors.fvecs" --create --metric l2 --index flat --start-id 100
contains "$OUT" "imported 5 rows"

step "info"
run 0 info --db "$DB"
contains "$OUT" "docs"
contains "$OUT" "vecs"
run 0 info --db "$DB" --collection vecs --json
contains "$OUT" '"points": 5'
contains "$OUT" '"metric": "l2"'

step "search one vector (string key, payload)"
run 0 search --db "$DB" --collection docs --vector "[0, 0.9, 0.1, 0]" --k 2 --with-payload
[[ "$OUT" == '[{"id":"doc-b"'* ]] || fail "nearest should be doc-b: $OUT"
contains "$OUT" '"title":"bee"'

step "search with --only-keys"
run 0 search --db "$DB" --collection docs --vector "[0, 1, 0, 0]" --k 5 --only-keys 1,3
[[ "$OUT" != *doc-b* && "$OUT" == *'"id":1'* && "$OUT" == *'"id":3'* ]] || fail "only keys 1 and 3 expected: $OUT"

step "search a query file (one line per query)"
run 0 search --db "$DB" --collection vecs --queries "$WORK/vectors.fvecs" --k 1
[[ "$(printf '%s\n' "$OUT" | wc -l)" == 5 ]] || fail "expected 5 result lines"
[[ "$(printf '%s\n' "$OUT" | sed -n 4p)" == '[{"id":103,'* ]] || fail "query 4's nearest should be 103"
run 0 search --db "$DB" --collection vecs --vector "[3.9, 0, 0, 3.9]" --k 1 --with-vector
[[ "$OUT" == '[{"id":104,'* ]] || fail "nearest should be 104: $OUT"

step "verify a sound database"
run 0 verify --db "$DB"
contains "$OUT" "all ok"

step "verify a damaged snapshot"
snapshot="$(ls "$DB"/collections/docs/index-* 2>/dev/null | head -n 1)"
[[ -n "$snapshot" ]] || fail "no index snapshot in $DB/collections/docs"
size=$(stat -c %s "$snapshot")
printf 'CORRUPTED-BYTES!' | dd of="$snapshot" bs=1 seek=$((size / 2)) conv=notrunc status=none
run 1 verify --db "$DB" --collection docs
contains "$OUT" "problem"

step "malformed JSONL line: error names the line, earlier lines stay"
cat >"$WORK/bad.jsonl" <<'JSONL'
{"id": 10, "vector": [1, 0, 0, 0]}
{"id": 11, "vector": [0, 1, 0, 0]}
{"id": 12, "vector": [0, 0, 1,]}
{"id": 13, "vector": [0, 0, 0, 1]}
JSONL
run 1 import --db "$DB" --collection bad --jsonl "$WORK/bad.jsonl" --create
contains "$ERR" "bad.jsonl:3:"
contains "$ERR" "line 3"
run 0 info --db "$DB" --collection bad --json
contains "$OUT" '"points": 2'

step "usage errors exit with 2"
run 2 import --db "$DB" --jsonl "$WORK/points.jsonl"
run 2 search --db "$DB" --collection docs
run 1 search --db "$WORK/missing" --collection docs --vector "[1, 0, 0, 0]"

step "rebuild: new index parameters, then a compaction; refused requests"
run 0 rebuild --db "$DB" --collection vecs --index hnsw:m=8 --validation-queries 5
contains "$OUT" "vecs: swapped"
contains "$OUT" "generation: 2"
run 0 search --db "$DB" --collection vecs --vector "[3.9, 0, 0, 3.9]" --k 1
[[ "$OUT" == '[{"id":104,'* ]] || fail "nearest should still be 104: $OUT"
run 0 rebuild --db "$DB" --collection vecs
contains "$OUT" "(compaction)"
contains "$OUT" "generation: 3"
run 0 verify --db "$DB" --collection vecs
run 1 rebuild --db "$DB" --collection vecs --index nonsense
contains "$ERR" "rebuild"
run 2 rebuild --db "$DB" --collection vecs --min-recall 1.5

echo "PASS"
