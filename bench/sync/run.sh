#!/usr/bin/env bash
# bench/sync/run.sh -- confiture sync --anonymize against the raw binary COPY
# pipe and pg_dump | psql, side by side, on one table:
#   id bigint, label text, created timestamptz, amount numeric(12,2),
#   and 4 masked text columns (email, name, phone, hash).
#
#   bench/sync/run.sh [ROWS] [ROUNDS]     default 1000000 rows, 5 rounds
#   BIG=10000000 bench/sync/run.sh        also confiture alone at BIG rows (RSS)
#
# Rounds interleave the three commands (the machine is shared: a quiet minute
# helps every command alike) and each command's wall time and peak RSS come
# from /usr/bin/time. Medians are printed as a markdown table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${1:-1000000}
ROUNDS=${2:-5}
BIG=${BIG:-0}
WORK=$ROOT/bench/work/sync
PORT=${BENCH_PORT:-5477}
BIN=$ROOT/confiture
[ -x "$BIN" ] || { echo "build first: make" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

mkdir -p "$WORK"
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" "$PORT")"
trap '"$ROOT/tests/pg-cluster" stop "$WORK/pg" >/dev/null 2>&1 || true' EXIT

SCHEMA="CREATE TABLE t (id bigint PRIMARY KEY, label text, created timestamptz, amount numeric(12,2),
                        email text, full_name text, phone text, secret text)"
fill() { # DB N
	psql -XAtq -d "$1" -c "TRUNCATE t" -c "INSERT INTO t SELECT g, 'label number ' || g,
	    timestamptz '2020-01-01' + g * interval '1 second', g * 0.37,
	    'person' || g || '@mail.example.com', 'First' || g || ' Last' || g,
	    '+1 (555) ' || lpad((g % 10000000)::text, 7, '0'), md5(g::text)
	  FROM generate_series(1, $2) g" -c "ANALYZE t" >/dev/null
}
setup() { # N
	for db in bench_src bench_dst; do
		psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
		psql -XAtq -d $db -c "$SCHEMA" >/dev/null
	done
	echo "filling bench_src with $1 rows..." >&2
	fill bench_src "$1"
}

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
CMD_CONF="$BIN sync --project-dir $PROJ --from '$SRC' --to '$DST' --anonymize -q >/dev/null"
CMD_RAW="psql -XAtq -d bench_src -c 'COPY t TO STDOUT (FORMAT binary)' | psql -XAtq -d bench_dst -c 'COPY t FROM STDIN (FORMAT binary)'"
CMD_DUMP="pg_dump -a -t t bench_src | psql -XAtq -d bench_dst >/dev/null"

measure() { # NAME CMD -> appends "wall rss_kb" to $WORK/NAME.times
	psql -XAtq -d bench_dst -c "TRUNCATE t" -c "CHECKPOINT" >/dev/null
	/usr/bin/time -f "%e %M" -o "$WORK/$1.one" bash -c "$2"
	cat "$WORK/$1.one" >>"$WORK/$1.times"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

setup "$ROWS"
rm -f "$WORK"/*.times
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	measure confiture "$CMD_CONF"
	measure raw "$CMD_RAW"
	measure pg_dump "$CMD_DUMP"
done
# The anonymized copy must be complete and masked.
"$BIN" sync --project-dir "$PROJ" --from "$SRC" --to "$DST" --anonymize --verify -q >/dev/null
[ "$(psql -XAtq -d bench_dst -c "SELECT count(*) FROM t WHERE email LIKE 'person%'")" = 0 ]

echo
echo "rows: $ROWS, rounds: $ROUNDS, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | median s | rows/s | vs raw pipe | peak RSS |"
echo "|---|---|---|---|---|"
raw=$(awk '{print $1}' "$WORK/raw.times" | median)
for n in confiture raw pg_dump; do
	t=$(awk '{print $1}' "$WORK/$n.times" | median)
	rss=$(awk '{print $2}' "$WORK/$n.times" | median)
	printf '| %s | %.2f | %.0f | %.2f | %.1f MB |\n' "$n" "$t" "$(echo "$ROWS / $t" | bc -l)" \
		"$(echo "$raw / $t" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
echo "(peak RSS of pipes: the largest process measured by time, the shell's child)"
echo "all runs (wall s, RSS KB):"
for n in confiture raw pg_dump; do echo "  $n: $(tr '\n' ' ' <"$WORK/$n.times")"; done

if [ "$BIG" -gt 0 ]; then
	setup "$BIG"
	psql -XAtq -d bench_dst -c "TRUNCATE t" -c "CHECKPOINT" >/dev/null
	/usr/bin/time -f "%e %M" -o "$WORK/big.one" bash -c "$CMD_CONF"
	read -r t rss <"$WORK/big.one"
	printf '\n%s rows, confiture sync --anonymize: %.1f s, %.0f rows/s, peak RSS %.1f MB\n' \
		"$BIG" "$t" "$(echo "$BIG / $t" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
fi
