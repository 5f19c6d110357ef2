#!/usr/bin/env bash
# bench/sync/vs_pgcopydb.sh -- confiture sync --jobs 2 against
# `pgcopydb copy table-data --table-jobs 2`, in the same run, on 8 tables
# holding 2M rows (one of 1M rows, seven of ~143k): id bigint primary key,
# label text, created timestamptz, amount numeric(12,2), email text,
# full_name text.
#
#   bench/sync/vs_pgcopydb.sh [ROUNDS]        default 3 rounds
#
# Each round runs, in this order:
#   pgcopydb      pgcopydb copy table-data --table-jobs 2 (plain)
#   plain         confiture sync --jobs 2 (verbatim)
#   anonymized    confiture sync --jobs 2 --anonymize (email and full_name
#                 masked in every table: 2 masked columns per table)
#   plain-noan,   the same two with --no-analyze: sync ANALYZEs each table it
#   anon-noan     loaded, pgcopydb copy table-data does not (like for like)
#   incremental   confiture sync --jobs 2 --anonymize --incremental, after 1%
#                 of the source's rows changed (0.8% updated, 0.1% inserted,
#                 0.1% deleted; the change itself is not timed)
#   incr-nodel    the same right after, once 0.9% of the rows changed with no
#                 delete (0.8% updated, 0.1% inserted): tables only updated
#                 and appended to, where the key sums spare the bucket counts
#   raw           psql COPY TO STDOUT (binary) | psql COPY FROM STDIN, one pipe
#                 per table, two at a time: the limit, no masking, no checks
# With BASE_BIN=path/to/an/older/confiture, base-incremental and
# base-incr-nodel run that binary the same way (each after its own change),
# in the same rounds: before/after numbers from one run.
# Wall time and peak RSS come from /usr/bin/time; medians are printed as a
# markdown table with each command's ratio to pgcopydb.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-3}
WORK=$ROOT/bench/work/sync-pgcopydb
PORT=${BENCH_PORT:-5478}
BIN=${CONFITURE_BIN:-$ROOT/confiture}
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 1; }
command -v pgcopydb >/dev/null || { echo "needs pgcopydb (apt-get install pgcopydb)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

mkdir -p "$WORK"
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" "$PORT")"
trap '"$ROOT/tests/pg-cluster" stop "$WORK/pg" >/dev/null 2>&1 || true' EXIT

BIG=1000000
SMALL=142857
TABLES="t1 t2 t3 t4 t5 t6 t7 t8"
schema() {
	for t in $TABLES; do
		echo "CREATE TABLE $t (id bigint PRIMARY KEY, label text, created timestamptz,
		      amount numeric(12,2), email text, full_name text);"
	done
}
fill() { # TABLE N
	psql -XAtq -d bench_src -c "INSERT INTO $1 SELECT g, 'label number ' || g,
	    timestamptz '2020-01-01' + g * interval '1 second', g * 0.37,
	    'person' || g || '@mail.example.com', 'First' || g || ' Last' || g
	  FROM generate_series(1, $2) g" >/dev/null
}
echo "filling bench_src with 2M rows in 8 tables..." >&2
for db in bench_src bench_dst; do
	psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	psql -XAtq -d $db -c "$(schema)" >/dev/null
done
fill t1 $BIG
for t in t2 t3 t4 t5 t6 t7 t8; do fill $t $SMALL; done
psql -XAtq -d bench_src -c "VACUUM ANALYZE" >/dev/null

PROJ=$WORK/proj
mkdir -p "$PROJ/db/sync"
: >"$PROJ/db/sync/anonymization.yaml"
for t in $TABLES; do
	printf '%s:\n  - {column: email, strategy: email}\n  - {column: full_name, strategy: name}\n' "$t" \
		>>"$PROJ/db/sync/anonymization.yaml"
done
export CONFITURE_ANON_KEY=bench-key-0123456789abcdef-0123456789
SRC="postgresql://postgres@/bench_src?host=$PGHOST&port=$PGPORT"
DST="postgresql://postgres@/bench_dst?host=$PGHOST&port=$PGPORT"
SYNC="$BIN -q sync --project-dir $PROJ --from '$SRC' --to '$DST' --jobs 2"
BASE=${BASE_BIN:-}
BSYNC="$BASE -q sync --project-dir $PROJ --from '$SRC' --to '$DST' --jobs 2"
NAMES="pgcopydb plain anonymized plain-noan anon-noan incremental incr-nodel raw"
[ -n "$BASE" ] && NAMES="pgcopydb plain anonymized plain-noan anon-noan base-incremental incremental base-incr-nodel incr-nodel raw"

# pgcopydb copy table-data expects empty target tables (it does not
# truncate): they are emptied before it runs, outside the timing.
CMD_PGCOPYDB="rm -rf $WORK/pgcopydb && pgcopydb copy table-data --source '$SRC' --target '$DST' \
	--table-jobs 2 --dir $WORK/pgcopydb >$WORK/pgcopydb.log 2>&1"
CMD_PLAIN="$SYNC >/dev/null"
CMD_ANON="$SYNC --anonymize >/dev/null"
CMD_PLAIN_NOAN="$SYNC --no-analyze >/dev/null"
CMD_ANON_NOAN="$SYNC --anonymize --no-analyze >/dev/null"
CMD_INCR="$SYNC --anonymize --incremental >/dev/null"
CMD_RAW="printf '%s\n' $TABLES | xargs -P 2 -I{} sh -c \"psql -XAtq -d bench_src -c 'COPY {} TO STDOUT (FORMAT binary)' \
	| psql -XAtq -d bench_dst -c 'COPY {} FROM STDIN (FORMAT binary)'\""

measure() { # NAME CMD -> appends "wall rss_kb" to $WORK/NAME.times
	psql -XAtq -d bench_dst -c "CHECKPOINT" >/dev/null
	/usr/bin/time -f "%e %M" -o "$WORK/$1.one" bash -c "$2"
	cat "$WORK/$1.one" >>"$WORK/$1.times"
}
# 1% of the rows change: 0.8% updated, 0.1% inserted, 0.1% deleted, spread
# over every table and over the key range.
change_one_percent() { # ROUND [nodel]
	local r=$1 del="DELETE"
	[ "${2:-}" = nodel ] && del="SELECT"
	psql -XAtq -d bench_src >/dev/null <<SQL
DO \$\$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['t1','t2','t3','t4','t5','t6','t7','t8'] LOOP
    EXECUTE format('UPDATE %I SET label = label || %L WHERE id %% 125 = %s', t, 'r$r', $r % 125);
    EXECUTE format('$del FROM %I WHERE id %% 1000 = %s', t, (500 + $r) % 1000);
    EXECUTE format('INSERT INTO %I SELECT id + 10000000 * %s, label, created, amount, email, full_name
                    FROM %I WHERE id %% 1000 = %s', t, $r, t, (700 + $r) % 1000);
  END LOOP;
END \$\$;
SQL
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

rm -f "$WORK"/*.times "$WORK"/loads
for r in $(seq "$ROUNDS"); do
	cut -d' ' -f1-3 /proc/loadavg >>"$WORK/loads"
	echo "round $r/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	psql -XAtq -d bench_dst -c "TRUNCATE $(echo $TABLES | tr ' ' ',')" >/dev/null
	measure pgcopydb "$CMD_PGCOPYDB"
	# Its run must have copied every row.
	[ "$(psql -XAtq -d bench_dst -c "SELECT count(*) FROM t1")" = "$(psql -XAtq -d bench_src -c "SELECT count(*) FROM t1")" ] ||
		{ echo "pgcopydb did not copy t1 (see $WORK/pgcopydb.log)" >&2; exit 1; }
	measure plain "$CMD_PLAIN"
	measure anonymized "$CMD_ANON"
	measure plain-noan "$CMD_PLAIN_NOAN"
	measure anon-noan "$CMD_ANON_NOAN"
	if [ -n "$BASE" ]; then
		change_one_percent "$((r + 20))"
		measure base-incremental "$BSYNC --anonymize --incremental >/dev/null"
	fi
	change_one_percent "$r"
	measure incremental "$CMD_INCR"
	if [ -n "$BASE" ]; then
		change_one_percent "$((r + 70))" nodel
		measure base-incr-nodel "$BSYNC --anonymize --incremental >/dev/null"
	fi
	change_one_percent "$((r + 50))" nodel
	measure incr-nodel "$CMD_INCR"
	psql -XAtq -d bench_dst -c "TRUNCATE $(echo $TABLES | tr ' ' ',')" >/dev/null
	measure raw "$CMD_RAW"
done
# The incremental target must equal a full anonymized sync of the same source.
bash -c "$SYNC --anonymize >/dev/null"
change_one_percent 99
bash -c "$SYNC --anonymize --incremental >/dev/null"
inc=$(psql -XAtq -d bench_dst -c "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM t3 t")
bash -c "$SYNC --anonymize >/dev/null"
full=$(psql -XAtq -d bench_dst -c "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM t3 t")
[ "$inc" = "$full" ] || { echo "the incremental target differs from a full sync" >&2; exit 1; }
[ "$(psql -XAtq -d bench_dst -c "SELECT count(*) FROM t1 WHERE email LIKE 'person%'")" = 0 ]

echo
echo "8 tables, 2M rows (1M + 7 x 143k), rounds: $ROUNDS, $(nproc) cores, load per round: $(paste -sd';' "$WORK/loads"), at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | median s | vs pgcopydb | vs anonymized | peak RSS |"
echo "|---|---|---|---|---|"
pg=$(awk '{print $1}' "$WORK/pgcopydb.times" | median)
an=$(awk '{print $1}' "$WORK/anonymized.times" | median)
for n in $NAMES; do
	t=$(awk '{print $1}' "$WORK/$n.times" | median)
	rss=$(awk '{print $2}' "$WORK/$n.times" | median)
	printf '| %s | %.2f | %.2f | %.2f | %.1f MB |\n' "$n" "$t" "$(echo "$t / $pg" | bc -l)" \
		"$(echo "$t / $an" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
echo "(peak RSS: the process /usr/bin/time ran; for pgcopydb and the raw pipes, the largest one)"
echo "all runs (wall s, RSS KB):"
for n in $NAMES; do echo "  $n: $(tr '\n' ' ' <"$WORK/$n.times")"; done
