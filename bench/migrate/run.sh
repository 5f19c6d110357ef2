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
# Needs: hyperfine, psql, a built ./confiture, dbmate (npm install -g dbmate;
# the native binary under node_modules/@dbmate/linux-x64/bin/ is used).
# A private cluster is started with tests/pg-cluster (unix socket, fsync off,
# like the test cluster) and destroyed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-7}
CONFITURE=${CONFITURE_BIN:-$ROOT/confiture}
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

results=$WORK/results.md
for n in 300 1000; do
	make_sets "$n"
	d=$WORK/set$n
	hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$WORK/up$n.json" \
		--prepare "$(fresh b_conf)" -n "confiture $n" \
		"$CONFITURE --project-dir $d/confiture -d $(url b_conf) -q migrate up" \
		--prepare "$(fresh b_dbmate)" -n "dbmate $n" \
		"$DBMATE --url $(dbmate_url b_dbmate) --migrations-dir $d/dbmate/db/migrations --no-dump-schema up" \
		--prepare "$(fresh b_psql)" -n "psql $n" \
		"psql -X -q -v ON_ERROR_STOP=1 -d b_psql -f $d/all.sql" \
		--prepare "$(fresh b_floor)" -n "floor $n" \
		"psql -X -q -1 -v ON_ERROR_STOP=1 -d b_floor -f $d/all.sql"
done

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
{
	echo "| N | confiture (s) | dbmate (s) | psql -f (s) | floor: psql -1 (s) | confiture/dbmate | confiture/psql | floor/dbmate |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in 300 1000; do
		c=$(median "$WORK/up$n.json" "confiture $n")
		m=$(median "$WORK/up$n.json" "dbmate $n")
		p=$(median "$WORK/up$n.json" "psql $n")
		f=$(median "$WORK/up$n.json" "floor $n")
		printf '| %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n' "$n" "$c" "$m" "$p" "$f" \
			"$(echo "$c / $m" | bc -l)" "$(echo "$c / $p" | bc -l)" "$(echo "$f / $m" | bc -l)"
	done
	s=$(median "$WORK/status.json" "status 10k")
	o=$(median "$WORK/status.json" "status 10k --offline")
	printf '\nmigrate status, 10,000 files and 10,000 ledger rows: %.1f ms (offline: %.1f ms)\n' \
		"$(echo "$s * 1000" | bc -l)" "$(echo "$o * 1000" | bc -l)"
} | tee "$results"
