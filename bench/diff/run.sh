#!/usr/bin/env bash
# bench/diff/run.sh -- confiture diff and check against their peers, in one run:
#
#   1. `confiture diff` of a 1000-table database against itself (both sides
#      snapshotted at once) vs one `pg_dump -s` of it. Target: <= 0.5x.
#   2. `confiture check` on pagila with its DDL split into 50 migrations vs
#      doing the same by hand (two createdb, psql -f of the schema and of
#      each migration, two pg_dump -s, diff). Target: < 3 s.
#   3. Peak RSS of the snapshots of the 1000-table schema: one side, two
#      sides (and pg_dump -s for scale).
#
#   bench/diff/run.sh [RUNS]     (default 7 rounds; medians are reported)
#
# Needs: psql, pg_dump, python3 (bench/build/gen.py), /usr/bin/time, a built
# ./confiture, and /work/shared/data/pagila (else part 2 is skipped). A
# private cluster (tests/pg-cluster: unix socket, fsync off) is started and
# destroyed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-7}
CONFITURE=${CONFITURE_BIN:-$ROOT/confiture}
PAGILA=${PAGILA:-$ROOT/../shared/data/pagila/pagila-schema.sql}
PORT=${BENCH_PORT:-55433}
WORK=$(mktemp -d /tmp/cfbench.XXXXXX)
chmod 755 "$WORK"
trap '"$ROOT/tests/pg-cluster" destroy "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

[ -x "$CONFITURE" ] || { echo "build confiture first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "install time (apt-get install -y time)" >&2; exit 1; }
eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" "$PORT")"
export PGUSER=postgres
PG_DUMP=${CF_TEST_PGBIN:+$CF_TEST_PGBIN/}pg_dump
url() { echo "postgresql://postgres@/$1?host=$PGHOST&port=$PGPORT"; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. diff of 1000 tables vs pg_dump -s -------------------------------------------
python3 "$ROOT/bench/build/gen.py" "$WORK/big" 1000 >/dev/null
find "$WORK/big" -name '*.sql' | sort | xargs cat >"$WORK/big.sql"
psql -XAtq -d postgres -c "CREATE DATABASE big" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -1 -d big -f "$WORK/big.sql" >/dev/null 2>&1
# As autovacuum would, then out of the way: its workers' CPU would count below.
psql -XAtq -d big -c "VACUUM ANALYZE" >/dev/null
psql -XAtq -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
objects=$(psql -XAtq -d big -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'bench'::regnamespace")
cols=$(psql -XAtq -d big -c "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'bench'::regnamespace AND c.relkind = 'r' AND a.attnum > 0")
echo "1000-table database: $objects relations, $cols columns"
BIG=$(url big)
: >"$WORK/t_diff"
: >"$WORK/t_dump"
for r in $(seq 1 "$RUNS"); do
	# Alternate which goes first, so that a burst of load hits both alike.
	for what in $( [ $((r % 2)) = 0 ] && echo "diff dump" || echo "dump diff"); do
		t0=$(date +%s%N)
		if [ "$what" = diff ]; then
			"$CONFITURE" diff --from "$BIG" --to "$BIG" -q >/dev/null
		else
			"$PG_DUMP" -s -d big >/dev/null
		fi
		t1=$(date +%s%N)
		ms "$t0" "$t1" >>"$WORK/t_$what"
	done
done
d=$(median <"$WORK/t_diff")
p=$(median <"$WORK/t_dump")
printf '%-44s %8s ms\n' "confiture diff big big (two sides)" "$d"
printf '%-44s %8s ms\n' "pg_dump -s big" "$p"
printf '%-44s %8s\n' "ratio diff / pg_dump (target <= 0.5)" "$(awk -v a="$d" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"

# CPU, which load does not distort: the client's (/usr/bin/time) and the
# server's (the backends' time, collected by the postmaster when they exit).
PM=$(head -n 1 "$(readlink -f "$WORK/pg/cluster")/data/postmaster.pid")
server_ticks() { sleep 0.5; awk '{print $16 + $17}' "/proc/$PM/stat"; }
cpu_of() { # label command...
	local label=$1 a b c
	shift
	a=$(server_ticks)
	c=$( (/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null || true) | tail -n 1 | awk '{printf "%.2f", $1 + $2}')
	b=$(server_ticks)
	printf '%-44s client %5s s, server %5s s\n' "CPU: $label" "$c" \
		"$(awk -v t=$((b - a)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')"
}
cpu_of "diff big big (two sides)" "$CONFITURE" diff --from "$BIG" --to "$BIG" -q
cpu_of "diff big empty (one side)" "$CONFITURE" diff --from "$BIG" --to "$(url postgres)" -q
cpu_of "pg_dump -s big" "$PG_DUMP" -s -d big

# ---- 3. memory ---------------------------------------------------------------------------
psql -XAtq -d postgres -c "CREATE DATABASE empty" >/dev/null
rss() { (/usr/bin/time -f %M "$@" 2>&1 >/dev/null || true) | tail -n 1; }
printf '%-44s %8s KB\n' "peak RSS: diff big empty (one snapshot)" "$(rss "$CONFITURE" diff --from "$BIG" --to "$(url empty)" -q)"
printf '%-44s %8s KB\n' "peak RSS: diff big big (two snapshots)" "$(rss "$CONFITURE" diff --from "$BIG" --to "$BIG" -q)"
printf '%-44s %8s KB\n' "peak RSS: pg_dump -s big" "$(rss "$PG_DUMP" -s -d big)"
printf '%-44s %8s\n' "snapshot of big (from -v)" \
	"$("$CONFITURE" diff --from "$BIG" --to "$(url empty)" -v 2>&1 >/dev/null | grep 'snapshot of' |
		grep -o '[0-9]* objects, [0-9.]* MB' | sort -n | tail -1)"

# ---- 2. check on pagila with 50 migrations -----------------------------------------------
if [ ! -f "$PAGILA" ]; then
	echo "pagila not found at $PAGILA: check skipped"
	exit 0
fi
P=$WORK/pagila
mkdir -p "$P/db/schema" "$P/db/migrations"
cp "$PAGILA" "$P/db/schema/pagila.sql"
# 50 migrations: pagila's objects, in order, split at pg_dump's object headers.
blocks=$(grep -c '^-- Name: ' "$PAGILA")
# Each file starts as pg_dump's does: function bodies may name later tables.
awk -v n=50 -v total="$blocks" -v dir="$P/db/migrations" '
	/^-- Name: / { b++ }
	{ i = int(b * n / (total + 1)); f = sprintf("%s/%03d_part%03d.up.sql", dir, i + 1, i + 1)
	  if (!(f in seen)) { seen[f] = 1; print "SET check_function_bodies = false;" >> f }
	  print >> f; close(f) }
' "$PAGILA"
echo "pagila: $(ls "$P/db/migrations" | wc -l) migrations"
# check's lint step runs (its cost counts) but does not fail the run on
# pagila's one SECURITY DEFINER function without a pinned search_path.
printf 'lint:\n  severity:\n    warning: [security-definer-search-path]\n' >"$P/confiture.yaml"
SCRATCH=$(url postgres)
: >"$WORK/t_check"
: >"$WORK/t_hand"
by_hand() {
	psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS h_schema" -c "DROP DATABASE IF EXISTS h_mig" \
		-c "CREATE DATABASE h_schema" -c "CREATE DATABASE h_mig" >/dev/null
	psql -XAtq -v ON_ERROR_STOP=1 -1 -d h_schema -f "$P/db/schema/pagila.sql" >/dev/null
	for f in "$P"/db/migrations/*.up.sql; do
		psql -XAtq -v ON_ERROR_STOP=1 -1 -d h_mig -f "$f" >/dev/null
	done
	diff <("$PG_DUMP" -s -d h_schema | grep -v '^\\') <("$PG_DUMP" -s -d h_mig | grep -v '^\\') >/dev/null
}
for r in $(seq 1 "$RUNS"); do
	t0=$(date +%s%N)
	"$CONFITURE" --project-dir "$P" check --scratch-url "$SCRATCH" -q >/dev/null
	t1=$(date +%s%N)
	by_hand
	t2=$(date +%s%N)
	ms "$t0" "$t1" >>"$WORK/t_check"
	ms "$t1" "$t2" >>"$WORK/t_hand"
done
c=$(median <"$WORK/t_check")
h=$(median <"$WORK/t_hand")
printf '%-44s %8s ms\n' "confiture check (pagila, 50 migrations)" "$c"
printf '%-44s %8s ms\n' "by hand: psql -f x51, pg_dump -s x2, diff" "$h"
printf '%-44s %8s\n' "ratio check / by hand" "$(awk -v a="$c" -v b="$h" 'BEGIN {printf "%.2f", a / b}')"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
