#!/usr/bin/env bash
# bench/s2s/run.sh -- confiture s2s against the hand-written equivalent, side
# by side in one run, on a throwaway cluster (two databases on it):
#
#   migrate: `confiture s2s migrate` of a ROWS-row table (key ranges, one
#            transaction each, progress recorded) vs one hand-written
#            INSERT INTO t SELECT ... FROM staging.t over the same foreign server
#   verify:  `confiture s2s verify` (counts and checksums of every column on
#            both sides) vs SELECT count(*) of both tables
#
#   ROWS=1000000 RUNS=5 bench/s2s/run.sh      (results in bench/out/s2s/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CONFITURE_BIN:-$ROOT/confiture}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
WORK=$ROOT/bench/work/s2s
OUT=$ROOT/bench/out/s2s
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine" >&2; exit 1; }
[ -x "$BIN" ] || { echo "build confiture first (make)" >&2; exit 1; }
mkdir -p "$WORK" "$OUT"
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" 5496)"
trap '"$ROOT/tests/pg-cluster" destroy "$WORK/pg" >/dev/null 2>&1 || true' EXIT

psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS bench_src" -c "DROP DATABASE IF EXISTS bench_tgt" \
	-c "CREATE DATABASE bench_src" -c "CREATE DATABASE bench_tgt"
echo "loading $ROWS rows..." >&2
psql -XAtq -v ON_ERROR_STOP=1 -d bench_src <<SQL
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2),
                    created timestamptz, active bool, note text);
INSERT INTO items
SELECT g, 'item ' || g, (g % 100000) / 100.0, '2024-01-01'::timestamptz + g * interval '1 minute',
       g % 3 = 0, CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text) END
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE items;
SQL
# The new schema renames two columns.
psql -XAtq -v ON_ERROR_STOP=1 -d bench_tgt -c "CREATE TABLE items (id bigint PRIMARY KEY,
	title text NOT NULL, amount numeric(12,2), created_at timestamptz, active bool, note text)"
S="postgresql://postgres@/bench_src?host=$PGHOST&port=$PGPORT"
T="postgresql://postgres@/bench_tgt?host=$PGHOST&port=$PGPORT"
cat >"$WORK/map.yaml" <<'YAML'
items:
  columns: {id: id, name: title, amount: amount, created: created_at, active: active, note: note}
YAML
"$BIN" s2s setup --source "$S" --target "$T" -q >/dev/null
"$BIN" s2s migrate --source "$S" --target "$T" --mapping "$WORK/map.yaml" -q >/dev/null

RESET="psql -XAtq -d bench_tgt -c 'TRUNCATE items; DELETE FROM confiture_src.confiture_s2s_plan; DELETE FROM confiture_src.confiture_s2s_ranges; CHECKPOINT'"
hyperfine --runs "$RUNS" --warmup 1 --prepare "$RESET" --export-json "$OUT/migrate.json" \
	-n "confiture s2s migrate" \
	"$BIN s2s migrate --source '$S' --target '$T' --mapping '$WORK/map.yaml' -q" \
	-n "INSERT ... SELECT (psql)" \
	"psql -XAtq -d bench_tgt -c 'INSERT INTO items (id, title, amount, created_at, active, note) SELECT id, name, amount, created, active, note FROM confiture_src.items'"

eval "$RESET"
"$BIN" s2s migrate --source "$S" --target "$T" --mapping "$WORK/map.yaml" -q >/dev/null
psql -XAtq -d bench_tgt -c "VACUUM ANALYZE items"
hyperfine --runs "$((RUNS * 2))" --warmup 2 --export-json "$OUT/verify.json" \
	-n "confiture s2s verify" \
	"$BIN s2s verify --source '$S' --target '$T' --mapping '$WORK/map.yaml' -q" \
	-n "count(*) of both (psql)" \
	"psql -XAtq -d bench_tgt -c 'SELECT (SELECT count(*) FROM confiture_src.items), (SELECT count(*) FROM items)'"

ratio() { jq -r '[.results[] | .median] | "\(.[0]) \(.[1])"' "$1" |
	awk '{printf "%.3f s vs %.3f s: ratio %.2f\n", $1, $2, $1 / $2}'; }
echo "migrate ($ROWS rows): $(ratio "$OUT/migrate.json")"
echo "verify  ($ROWS rows): $(ratio "$OUT/verify.json")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
