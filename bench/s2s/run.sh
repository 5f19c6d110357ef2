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
#   ROWS=1000000 RUNS=7 bench/s2s/run.sh      (results in bench/out/s2s/)
#
# The two commands of a pair run interleaved (A B A B ...), so that load from
# other processes hits both alike. For each run it records the wall time and
# the CPU time: the client's, plus that of every server process that ran for
# it (backends, the postgres_fdw session on the source, parallel workers),
# read from the postmaster's reaped-children counters. The medians of both
# are reported; on a shared machine the CPU ratio is the steadier one.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${CONFITURE_BIN:-$ROOT/confiture}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-7}
WORK=$ROOT/bench/work/s2s
OUT=$ROOT/bench/out/s2s
[ -x "$BIN" ] || { echo "build confiture first (make)" >&2; exit 1; }
mkdir -p "$WORK" "$OUT"
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" 5496)"
trap '"$ROOT/tests/pg-cluster" destroy "$WORK/pg" >/dev/null 2>&1 || true' EXIT
DATA=$(readlink -f "$WORK/pg/cluster")/data
# Background work would blur the measurement: no autovacuum during the run.
psql -XAtq -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null

psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS bench_src" -c "DROP DATABASE IF EXISTS bench_tgt" \
	-c "CREATE DATABASE bench_src" -c "CREATE DATABASE bench_tgt" 2>/dev/null
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

# CPU seconds of the server's exited processes (utime+stime of reaped children).
server_cpu() {
	local pid
	pid=$(head -n1 "$DATA/postmaster.pid")
	awk -v hz="$(getconf CLK_TCK)" '{ print ($16 + $17) / hz }' "/proc/$pid/stat"
}
# measure NAME CMD: one run; appends "wall cpu" to $OUT/NAME.txt
measure() {
	local name=$1 cmd=$2 c0 c1 t0 t1 client
	c0=$(server_cpu)
	t0=$(date +%s.%N)
	client=$( { /usr/bin/time -f "%U %S" bash -c "$cmd" >/dev/null 2>/dev/null; } 2>&1 | tail -n1)
	t1=$(date +%s.%N)
	sleep 0.2 # let the postmaster reap the backends
	c1=$(server_cpu)
	echo "$t0 $t1 $c0 $c1 $client" | awk '{ printf "%.3f %.3f\n", $2 - $1, $4 - $3 + $5 + $6 }' \
		>>"$OUT/$name.txt"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() { # NAME-A NAME-B LABEL
	local wa wb ca cb
	wa=$(cut -d' ' -f1 "$OUT/$1.txt" | median)
	wb=$(cut -d' ' -f1 "$OUT/$2.txt" | median)
	ca=$(cut -d' ' -f2 "$OUT/$1.txt" | median)
	cb=$(cut -d' ' -f2 "$OUT/$2.txt" | median)
	awk -v l="$3" -v wa="$wa" -v wb="$wb" -v ca="$ca" -v cb="$cb" -v a="$1" -v b="$2" 'BEGIN {
		printf "%s: wall %s %.3f s vs %s %.3f s: ratio %.2f | cpu %.3f s vs %.3f s: ratio %.2f\n",
		       l, a, wa, b, wb, wa / wb, ca, cb, ca / cb }'
}

RESET="psql -XAtq -d bench_tgt -c 'TRUNCATE items' -c 'DELETE FROM confiture_src.confiture_s2s_plan' -c 'DELETE FROM confiture_src.confiture_s2s_ranges' -c CHECKPOINT >/dev/null 2>&1 || true"
MIGRATE="$BIN s2s migrate --source '$S' --target '$T' --mapping '$WORK/map.yaml' -q"
INSERT="psql -XAtq -d bench_tgt -c 'INSERT INTO items (id, title, amount, created_at, active, note) SELECT id, name, amount, created, active, note FROM confiture_src.items'"
VERIFY="$BIN s2s verify --source '$S' --target '$T' --mapping '$WORK/map.yaml' -q"
COUNT="psql -XAtq -d bench_tgt -c 'SELECT (SELECT count(*) FROM confiture_src.items), (SELECT count(*) FROM items)'"

rm -f "$OUT"/*.txt
eval "$RESET"; bash -c "$MIGRATE" >/dev/null # warm-up (creates the progress tables)
for i in $(seq "$RUNS"); do
	echo "migrate run $i/$RUNS" >&2
	eval "$RESET"; measure migrate "$MIGRATE"
	eval "$RESET"; measure insert_select "$INSERT"
done
eval "$RESET"; bash -c "$MIGRATE" >/dev/null
psql -XAtq -d bench_tgt -c "VACUUM ANALYZE items"
bash -c "$VERIFY" >/dev/null; bash -c "$COUNT" >/dev/null # warm-up
for i in $(seq $((RUNS * 2))); do
	measure verify "$VERIFY"
	measure count "$COUNT"
done

{
	echo "# $(date -u +%FT%TZ) ROWS=$ROWS RUNS=$RUNS load $(cut -d' ' -f1-3 /proc/loadavg)"
	report migrate insert_select "migrate"
	report verify count "verify "
} | tee "$OUT/summary.txt"
