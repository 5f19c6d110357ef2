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
#   3. `confiture build --template` with the hash unchanged (a clone).
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

echo "== 2. build --recreate vs createdb + psql -1 -f"
hf -r "$RUNS" --export-json "$W/apply.json" \
	--prepare "dropdb --if-exists b_psql" \
	-n "createdb + psql -X -1 -f" "sh -c 'createdb b_psql && psql -X -q -1 -v ON_ERROR_STOP=1 -f $W/all.sql -d b_psql'" \
	--prepare "dropdb --if-exists b_conf" \
	-n "confiture build --recreate" "$C build --recreate -q -d $(url b_conf)"

echo "== 3. build --template, hash unchanged"
"$C" build --template -q -d "$(url b_tpl)"
hf --warmup 1 -r "$RUNS" --export-json "$W/template.json" \
	-n "confiture build --template (clone)" "$C build --template -q -d $(url b_tpl)"

echo "== medians (s) and ratios"
python3 - "$W" <<'EOF'
import json, sys, os
w = sys.argv[1]
def med(f, i):
    return json.load(open(os.path.join(w, f)))["results"][i]["median"]
floor, warm = med("file.json", 0), med("file.json", 1)
edit, cold = med("file_edit.json", 0), med("file_cold.json", 0)
psql, conf = med("apply.json", 0), med("apply.json", 1)
clone = med("template.json", 0)
print(f"file-only: unchanged {warm*1e3:.1f} ms, one file edited {edit*1e3:.1f} ms, "
      f"cold {cold*1e3:.1f} ms, process floor {floor*1e3:.1f} ms")
print(f"apply: confiture {conf:.2f} s, createdb+psql {psql:.2f} s, ratio {conf/psql:.3f}")
print(f"template clone: {clone:.2f} s = {clone/conf*100:.1f}% of a cold build")
EOF
