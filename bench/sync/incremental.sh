#!/usr/bin/env bash
# bench/sync/incremental.sh -- issue 13 §1's own case: one 1M-row table, 1%
# of its rows changed, `confiture sync --anonymize --incremental` against a
# full `confiture sync --anonymize` of the same source, in the same run.
#
#   bench/sync/incremental.sh [ROWS] [ROUNDS]    default 1000000 rows, 5 rounds
#   LOGSQL=1 bench/sync/incremental.sh ...       also log every statement's
#                                                duration (server log in
#                                                bench/work/sync-incr/pg)
#
# The table is bench/sync/run.sh's: id bigint primary key, label, created,
# amount and 4 masked text columns (email, name, phone, hash). Each round:
#   full         confiture sync --anonymize (it truncates and reloads)
#   incremental  --anonymize --incremental after 1% of the rows changed
#                (0.8% updated, 0.1% inserted, 0.1% deleted, over the whole
#                key range; the change itself is not timed)
#   incr-nodel   the same after 0.9% changed with no delete (0.8% updated,
#                0.1% inserted)
#   incr-none    the same with nothing changed: the fixed cost of a run
# With BASE_BIN=path/to/an/older/confiture, each incremental case also runs
# with that binary (its own 1% change before it), in the same rounds:
# before/after numbers from one run.
# Rounds interleave; wall time from /usr/bin/time; medians and each one's
# ratio to the full sync are printed as a markdown table, with the load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${1:-1000000}
ROUNDS=${2:-5}
WORK=$ROOT/bench/work/sync-incr
PORT=${BENCH_PORT:-5479}
BIN=${CONFITURE_BIN:-$ROOT/confiture}
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

mkdir -p "$WORK"
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" "$PORT")"
trap '"$ROOT/tests/pg-cluster" stop "$WORK/pg" >/dev/null 2>&1 || true' EXIT
if [ "${LOGSQL:-0}" = 1 ]; then
	psql -XAtq -d postgres -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
		-c "ALTER SYSTEM SET log_line_prefix = '%m [%p] %d '" -c "SELECT pg_reload_conf()" >/dev/null
else
	psql -XAtq -d postgres -c "ALTER SYSTEM RESET log_min_duration_statement" \
		-c "SELECT pg_reload_conf()" >/dev/null
fi

SCHEMA="CREATE TABLE t (id bigint PRIMARY KEY, label text, created timestamptz, amount numeric(12,2),
                        email text, full_name text, phone text, secret text)"
for db in bench_src bench_dst; do
	psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	psql -XAtq -d $db -c "$SCHEMA" >/dev/null
done
echo "filling bench_src with $ROWS rows..." >&2
psql -XAtq -d bench_src -c "INSERT INTO t SELECT g, 'label number ' || g,
    timestamptz '2020-01-01' + g * interval '1 second', g * 0.37,
    'person' || g || '@mail.example.com', 'First' || g || ' Last' || g,
    '+1 (555) ' || lpad((g % 10000000)::text, 7, '0'), md5(g::text)
  FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE t" >/dev/null

PROJ=$WORK/proj
mkdir -p "$PROJ/db/sync"
cat >"$PROJ/db/sync/anonymization.yaml" <<'YAML'
t:
  - {column: email, strategy: email}
  - {column: full_name, strategy: name}
  - {column: phone, strategy: phone}
  - {column: secret, strategy: hash}
YAML
export CONFITURE_ANON_KEY=bench-key-0123456789abcdef-0123456789
SRC="postgresql://postgres@/bench_src?host=$PGHOST&port=$PGPORT"
DST="postgresql://postgres@/bench_dst?host=$PGHOST&port=$PGPORT"
SYNC="$BIN -q sync --project-dir $PROJ --from '$SRC' --to '$DST' --anonymize"
BASE=${BASE_BIN:-}
BSYNC="$BASE -q sync --project-dir $PROJ --from '$SRC' --to '$DST' --anonymize"
NAMES="full incremental incr-nodel incr-none"
[ -n "$BASE" ] && NAMES="full base-incremental incremental base-incr-nodel incr-nodel base-incr-none incr-none"

measure() { # NAME CMD -> appends "wall rss_kb" to $WORK/NAME.times
	psql -XAtq -d bench_dst -c "CHECKPOINT" >/dev/null
	/usr/bin/time -f "%e %M" -o "$WORK/$1.one" bash -c "$2"
	cat "$WORK/$1.one" >>"$WORK/$1.times"
}
# 1% of the rows change: 0.8% updated, 0.1% inserted, 0.1% deleted (or no
# delete), spread over the key range.
change() { # ROUND [nodel]
	local r=$1 del="DELETE"
	[ "${2:-}" = nodel ] && del="SELECT"
	psql -XAtq -d bench_src >/dev/null <<SQL
UPDATE t SET label = label || 'r$r' WHERE id % 125 = $((r % 125));
$del FROM t WHERE id % 1000 = $(((500 + r) % 1000));
INSERT INTO t SELECT id + 10000000::bigint * $r, label, created, amount, email, full_name, phone, secret
  FROM t WHERE id % 1000 = $(((700 + r) % 1000)) AND id < 10000000;
SQL
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

rm -f "$WORK"/*.times "$WORK"/loads
bash -c "$SYNC >/dev/null" # the first full sync, not timed
for r in $(seq "$ROUNDS"); do
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "$load" >>"$WORK/loads"
	echo "round $r/$ROUNDS (load $load)" >&2
	measure full "$SYNC >/dev/null"
	if [ -n "$BASE" ]; then
		change "$((r + 200))"
		measure base-incremental "$BSYNC --incremental >/dev/null"
	fi
	change "$r"
	measure incremental "$SYNC --incremental >/dev/null"
	if [ -n "$BASE" ]; then
		change "$((r + 250))" nodel
		measure base-incr-nodel "$BSYNC --incremental >/dev/null"
	fi
	change "$((r + 50))" nodel
	measure incr-nodel "$SYNC --incremental >/dev/null"
	[ -z "$BASE" ] || measure base-incr-none "$BSYNC --incremental >/dev/null"
	measure incr-none "$SYNC --incremental >/dev/null"
done
# The incremental target must equal a full anonymized sync of the same source.
change 99
bash -c "$SYNC --incremental >/dev/null"
inc=$(psql -XAtq -d bench_dst -c "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM t")
bash -c "$SYNC >/dev/null"
full=$(psql -XAtq -d bench_dst -c "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM t")
[ "$inc" = "$full" ] || { echo "the incremental target differs from a full sync" >&2; exit 1; }
[ "$(psql -XAtq -d bench_dst -c "SELECT count(*) FROM t WHERE email LIKE 'person%'")" = 0 ]

echo
echo "1 table, $ROWS rows, 4 masked columns, rounds: $ROUNDS, $(nproc) cores," \
	"load per round: $(paste -sd';' "$WORK/loads"), at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | median s | vs full anonymized | peak RSS |"
echo "|---|---|---|---|"
full=$(awk '{print $1}' "$WORK/full.times" | median)
for n in $NAMES; do
	t=$(awk '{print $1}' "$WORK/$n.times" | median)
	rss=$(awk '{print $2}' "$WORK/$n.times" | median)
	printf '| %s | %.2f | %.3f | %.1f MB |\n' "$n" "$t" "$(echo "$t / $full" | bc -l)" \
		"$(echo "$rss / 1024" | bc -l)"
done
echo "all runs (wall s):"
for n in $NAMES; do
	echo "  $n: $(awk '{print $1}' "$WORK/$n.times" | tr '\n' ' ')"
done
