#!/usr/bin/env bash
# bench/migrate/run.sh -- confiture migrate up vs dbmate vs psql -f, and
# migrate status over 10,000 files. Results: medians (hyperfine) and ratios.
#
#   bench/migrate/run.sh [RUNS]        (default 7 runs per command)
#   BENCH_TMPFS=1 bench/migrate/run.sh  the cluster's data on /dev/shm
#
# "psql -1" (every statement in one transaction, no ledger) is the floor:
# the server's own cost for the statements, which no tool can go under.
#
#   CONFITURE_BASE=/path/to/older/confiture bench/migrate/run.sh
# also runs that build in the same rounds (column "base"): the cost of a
# change, e.g. of the session reset between migrations, as a same-run ratio.
#
# Needs: hyperfine, psql, a built ./confiture, dbmate (npm install -g dbmate;
# the native binary under node_modules/@dbmate/linux-x64/bin/ is used).
# A private cluster is started with tests/pg-cluster (unix socket, fsync off,
# like the test cluster) and destroyed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-7}
CONFITURE=${CONFITURE_BIN:-$ROOT/confiture}
BASE=${CONFITURE_BASE:-}
DBMATE=${DBMATE:-$(npm root -g 2>/dev/null)/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate}
PORT=${BENCH_PORT:-55432}
if [ "${BENCH_TMPFS:-0}" = 1 ]; then
	WORK=$(mktemp -d /dev/shm/cfbench.XXXXXX)
else
	WORK=$(mktemp -d /tmp/cfbench.XXXXXX)
fi
chmod 755 "$WORK"
trap '"$ROOT/tests/pg-cluster" destroy "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }
[ -x "$DBMATE" ] || { echo "dbmate not found at $DBMATE (npm install -g dbmate)" >&2; exit 1; }
[ -x "$CONFITURE" ] || { echo "build confiture first (make)" >&2; exit 1; }

eval "$("$ROOT/tests/pg-cluster" start "$WORK/pg" "$PORT")"
export PGUSER=postgres
url() { echo "postgresql://postgres@/$1?host=$PGHOST&port=$PGPORT"; }
# dbmate wants a URL with a host: it takes the socket directory as ?socket=.
dbmate_url() { echo "postgres://postgres@/$1?socket=$PGHOST&port=$PGPORT&sslmode=disable"; }

# The same N small migrations in the three layouts.
make_sets() {
	local n=$1 d=$WORK/set$1
	mkdir -p "$d/confiture/db/migrations" "$d/dbmate/db/migrations"
	: >"$d/all.sql"
	for i in $(seq 1 "$n"); do
		local v
		v=$(printf '2026%010d' "$i")
		local sql="CREATE TABLE t_$i (id int PRIMARY KEY, v text);
INSERT INTO t_$i VALUES (1, 'x');"
		printf '%s\n' "$sql" >"$d/confiture/db/migrations/${v}_t$i.up.sql"
		printf -- '-- migrate:up\n%s\n\n-- migrate:down\nDROP TABLE t_%s;\n' "$sql" "$i" \
			>"$d/dbmate/db/migrations/${v}_t$i.sql"
		printf '%s\n' "$sql" >>"$d/all.sql"
	done
}

fresh() { echo "psql -XAtq -d postgres -c 'DROP DATABASE IF EXISTS $1' -c 'CREATE DATABASE $1'"; }

# The machine is shared and noisy: the tools take turns, round after round
# (a burst of load then hits all of them alike), and medians are reported.
times=$WORK/times.txt
: >"$times"
run_timed() { # label N command...
	local label=$1 n=$2
	shift 2
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "$label $n failed" >&2; return 1; }
	t1=$(date +%s%N)
	echo "$n $label $(( (t1 - t0) / 1000 ))" >>"$times"
}
for n in 300 1000; do
	make_sets "$n"
	d=$WORK/set$n
	for round in $(seq 1 "$RUNS"); do
		for tool in confiture ${BASE:+base} dbmate psql floor; do
			eval "$(fresh "b_$tool")" >/dev/null 2>&1
			case $tool in
			confiture) run_timed confiture "$n" "$CONFITURE" --project-dir "$d/confiture" \
				-d "$(url b_confiture)" -q migrate up ;;
			base) run_timed base "$n" "$BASE" --project-dir "$d/confiture" \
				-d "$(url b_base)" -q migrate up ;;
			dbmate) run_timed dbmate "$n" "$DBMATE" --url "$(dbmate_url b_dbmate)" \
				--migrations-dir "$d/dbmate/db/migrations" --no-dump-schema up ;;
			psql) run_timed psql "$n" psql -X -q -v ON_ERROR_STOP=1 -d b_psql -f "$d/all.sql" ;;
			floor) run_timed floor "$n" psql -X -q -1 -v ON_ERROR_STOP=1 -d b_floor -f "$d/all.sql" ;;
			esac
		done
		echo "round $round of $RUNS (N=$n) done" >&2
	done
done
# Median in seconds of label L at size N.
med() {
	awk -v n="$1" -v l="$2" '$1 == n && $2 == l {print $3}' "$times" | sort -n |
		awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m / 1e6}'
}

# Fastest run in seconds of label L at size N: on a loaded machine, load
# only ever adds time, so the best run is the steadiest comparison.
best() {
	awk -v n="$1" -v l="$2" '$1 == n && $2 == l {print $3}' "$times" | sort -n | head -1 |
		awk '{printf "%.3f", $1 / 1e6}'
}

# status over 10,000 files, all applied (10,000 ledger rows).
mkdir -p "$WORK/st/db/migrations"
for i in $(seq 1 10000); do
	v=$(printf '2026%010d' "$i")
	printf 'CREATE TABLE t_%s (id int);\n' "$i" >"$WORK/st/db/migrations/${v}_t$i.up.sql"
done
psql -XAtq -d postgres -c 'CREATE DATABASE b_status'
"$CONFITURE" --project-dir "$WORK/st" -d "$(url b_status)" -q migrate baseline --through 20260000010000 >/dev/null
hyperfine -N --runs $((RUNS * 3)) --warmup 2 --export-json "$WORK/status.json" \
	-n "status 10k" "$CONFITURE --project-dir $WORK/st -d $(url b_status) migrate status" \
	-n "status 10k --offline" "$CONFITURE --project-dir $WORK/st migrate status --offline"

# Medians and ratios.
median() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median' "$1"; }
cpu() { jq -r --arg n "$2" '.results[] | select(.command == $n) | (.user + .system) * 1000' "$1"; }
results=$WORK/results.md
{
	echo "| N | confiture (s) | dbmate (s) | psql -f (s) | floor: psql -1 (s) | confiture/dbmate | confiture/psql | floor/dbmate |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in 300 1000; do
		c=$(med "$n" confiture) m=$(med "$n" dbmate) p=$(med "$n" psql) f=$(med "$n" floor)
		printf '| %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n' "$n" "$c" "$m" "$p" "$f" \
			"$(echo "$c / $m" | bc -l)" "$(echo "$c / $p" | bc -l)" "$(echo "$f / $m" | bc -l)"
	done
	if [ -n "$BASE" ]; then
		echo
		echo "| N | confiture (s) | base (s) | confiture/base | best confiture (s) | best base (s) | best/best |"
		echo "|---|---|---|---|---|---|---|"
		for n in 300 1000; do
			c=$(med "$n" confiture) b=$(med "$n" base) bc=$(best "$n" confiture) bb=$(best "$n" base)
			printf '| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n' "$n" "$c" "$b" \
				"$(echo "$c / $b" | bc -l)" "$bc" "$bb" "$(echo "$bc / $bb" | bc -l)"
		done
	fi
	s=$(median "$WORK/status.json" "status 10k")
	o=$(median "$WORK/status.json" "status 10k --offline")
	printf '\nmigrate status, 10,000 files and 10,000 ledger rows: median %.1f ms, CPU (user+sys) %.1f ms\n' \
		"$(echo "$s * 1000" | bc -l)" "$(cpu "$WORK/status.json" "status 10k")"
	printf 'migrate status --offline, 10,000 files: median %.1f ms, CPU %.1f ms\n' \
		"$(echo "$o * 1000" | bc -l)" "$(cpu "$WORK/status.json" "status 10k --offline")"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$results"
