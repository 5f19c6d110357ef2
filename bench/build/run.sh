#!/usr/bin/env bash
# bench/build/run.sh -- confiture build against createdb + psql, side by side.
#
#   bench/build/run.sh [RUNS]      (default 5 runs of each database command)
#
# Generates a project of 1000 tables (one file each, with indexes and
# comments: about 5 MB of DDL, 30000 statements) and measures, in the same
# session, on a throwaway cluster:
#   1. `confiture build` file-only: an unchanged tree, one edited file, a cold
#      start (no cache, no output), and `confiture --version` (the process floor);
#   2. `confiture build --recreate` (drop, create, apply) against
#      `createdb` + `psql -X -1 -f` of the same concatenated SQL;
#   3. `confiture build --template` with the hash unchanged (a clone), against
#      the server's own dropdb + CREATE DATABASE ... TEMPLATE of it.
# Medians and ratios are printed at the end; hyperfine's JSON stays in
# bench/work/build/. Needs hyperfine, jq, python3 and the server binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-5}
W=$ROOT/bench/work/build
C=$ROOT/confiture
mkdir -p "$W"
[ -x "$C" ] || make -C "$ROOT" -j2 >/dev/null

# A cluster of our own, so that other work on the machine's clusters does not
# land in the numbers (other processes still share the CPU and the disk).
eval "$("$ROOT/tests/pg-cluster" start "$W/pg" 5497)"
trap '"$ROOT/tests/pg-cluster" destroy "$W/pg" >/dev/null 2>&1 || true' EXIT
url() { echo "postgresql://postgres@/$1?host=$PGHOST&port=$PGPORT"; }

P=$W/proj
rm -rf "$P"
python3 "$ROOT/bench/build/gen.py" "$P" 1000
echo "-- stamp" >"$P/db/schema/000_common/99_stamp.sql"
cd "$P"
echo "project: $(find db/schema -name '*.sql' | wc -l) files, $(du -sh --apparent-size db/schema | cut -f1)"
sleep 2.1 # files younger than 2 s are never cached (racy-timestamp guard)
"$C" build -q
cp db/generated/schema_local.sql "$W/all.sql"

hf() { hyperfine -N --style basic "$@"; }

echo "== 1. file-only build"
hf --warmup 5 -r 40 --export-json "$W/file.json" \
	-n "confiture --version (process floor)" "$C --version" \
	-n "build, unchanged tree" "$C build -q"
hf -r 15 --export-json "$W/file_edit.json" \
	--prepare "sh -c 'echo \"-- \$(date +%s%N)\" > db/schema/000_common/99_stamp.sql'" \
	-n "build, one file edited" "$C build -q"
hf -r 15 --export-json "$W/file_cold.json" \
	--prepare "rm -rf .confiture db/generated" \
	-n "build, cold (no cache, no output)" "$C build -q"

# The database benchmarks alternate their commands run by run, so that the
# load other work puts on a shared machine falls on both sides alike.
# interleave NAME RUNS "PREP1" "CMD1" "PREP2" "CMD2": times in $W/NAME.times.
interleave() {
	local name=$1 runs=$2 p1=$3 c1=$4 p2=$5 c2=$6 t0 t1
	: >"$W/$name.times"
	for i in $(seq "$runs"); do
		for side in 1 2; do
			if [ $side = 1 ]; then p=$p1 c=$c1; else p=$p2 c=$c2; fi
			sh -c "$p" >/dev/null 2>&1
			t0=$(date +%s%N)
			sh -c "$c" >/dev/null 2>"$W/$name.err" || { cat "$W/$name.err"; exit 1; }
			t1=$(date +%s%N)
			echo "$side $(((t1 - t0) / 1000000))" >>"$W/$name.times"
		done
		echo "  run $i: $(tail -n 2 "$W/$name.times" | awk '{printf "%s ms  ", $2}')"
	done
}

echo "== 2. build --recreate vs createdb + psql -1 -f (run by run)"
interleave apply "$RUNS" \
	"dropdb --if-exists b_psql" \
	"createdb b_psql && psql -X -q -1 -v ON_ERROR_STOP=1 -f $W/all.sql -d b_psql" \
	"dropdb --if-exists b_conf" \
	"$C build --recreate -q -d '$(url b_conf)'"

echo "== 3. build --template (hash unchanged) vs the server's own clone"
"$C" build --template -q -d "$(url b_tpl)"
tpl=$(psql -XAtq -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'confiture_tpl_%'")
"$C" build --template -q -d "$(url b_tpl)" # warm-up
interleave template "$RUNS" \
	"true" \
	"$C build --template -q -d '$(url b_tpl)'" \
	"true" \
	"dropdb --if-exists b_raw && psql -XAtq -d postgres -c 'CREATE DATABASE b_raw TEMPLATE $tpl STRATEGY FILE_COPY'"
du -s --apparent-size -B1M "$(psql -XAtq -d postgres -c 'SHOW data_directory')/base/$(psql -XAtq -d postgres -c "SELECT oid FROM pg_database WHERE datname = '$tpl'")" |
	awk '{print "template: " $1 " MB"}'

echo "== medians and ratios"
python3 - "$W" <<'EOF2'
import json, sys, os, statistics
w = sys.argv[1]
def med(f, i):
    return json.load(open(os.path.join(w, f)))["results"][i]["median"]
def pair(name):
    t = {1: [], 2: []}
    for line in open(os.path.join(w, name + ".times")):
        side, ms = line.split()
        t[int(side)].append(int(ms) / 1000)
    return statistics.median(t[1]), statistics.median(t[2]), t
floor, warm = med("file.json", 0), med("file.json", 1)
edit, cold = med("file_edit.json", 0), med("file_cold.json", 0)
psql, conf, _ = pair("apply")
clone, raw, _ = pair("template")
print(f"file-only: unchanged {warm*1e3:.1f} ms, one file edited {edit*1e3:.1f} ms, "
      f"cold {cold*1e3:.1f} ms, process floor (--version) {floor*1e3:.1f} ms")
print(f"apply: confiture {conf:.2f} s, createdb+psql {psql:.2f} s, ratio {conf/psql:.3f}")
print(f"template clone: {clone:.2f} s = {clone/conf*100:.1f}% of a cold build; "
      f"the server's own dropdb+CREATE DATABASE TEMPLATE: {raw:.2f} s (ratio {clone/raw:.2f})")
EOF2
