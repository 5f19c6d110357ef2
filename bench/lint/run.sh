#!/usr/bin/env bash
# bench/lint/run.sh -- confiture lint vs squawk-cli on the same 1000 migration
# files, in the same run: medians (hyperfine) and the ratio, then agreement
# per shared rule (findings in common, only confiture's, only Squawk's).
#
#   bench/lint/run.sh [RUNS] [FILES]      (default 10 runs, 1000 files)
#
# Needs: hyperfine, jq, python3, a built ./confiture, squawk-cli (npm install
# -g squawk-cli; its native binary is run directly, as users of the npm
# wrapper pay node's start-up on top). Both lint every file in one process,
# with --pg-version 15, and neither connects to a database.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-10}
N=${2:-1000}
CONFITURE=${CONFITURE_BIN:-$ROOT/confiture}
SQUAWK=${SQUAWK:-$(npm root -g 2>/dev/null)/squawk-cli/node_modules/@squawk-cli/linux-x64/bin/squawk}
WORK=$(mktemp -d /tmp/cflintbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

command -v hyperfine >/dev/null || { echo "install hyperfine" >&2; exit 1; }
[ -x "$SQUAWK" ] || { echo "squawk not found at $SQUAWK (npm install -g squawk-cli)" >&2; exit 1; }
[ -x "$CONFITURE" ] || { echo "build confiture first (make)" >&2; exit 1; }

python3 "$ROOT/bench/lint/gen.py" "$WORK/m" "$N"
cd "$WORK/m"
echo "== $N files, $(cat ./*.sql | wc -l) lines, $("$SQUAWK" --version)"

hyperfine -N -i -w 2 -r "$RUNS" --export-json "$WORK/h.json" \
	-n confiture "$CONFITURE lint --pg-version 15 $(echo ./*.sql)" \
	-n squawk "$SQUAWK --pg-version 15 --reporter json $(echo ./*.sql)" >/dev/null 2>&1
jq -r '.results[] | "\(.command)\t\(.median * 1000 | floor) ms median (min \(.min * 1000 | floor), max \(.max * 1000 | floor))"' "$WORK/h.json"
jq -r '(.results[] | select(.command == "squawk") | .median) as $s |
	(.results[] | select(.command == "confiture") | .median) as $c |
	"ratio squawk/confiture: \($s / $c * 100 | floor / 100)x"' "$WORK/h.json"

# Agreement per shared rule, at (file, line, rule).
{ "$SQUAWK" --pg-version 15 --reporter json ./*.sql 2>/dev/null || true; } |
	jq -r '.[] | "\(.file | ltrimstr("./")):\(.line + 1)\t\(.rule_name)"' | sort >"$WORK/sq"
{ "$CONFITURE" -f json lint --pg-version 15 ./*.sql 2>/dev/null || true; } |
	jq -r '.findings[] | "\(.file | ltrimstr("./")):\(.line)\t\(.rule)"' | sort >"$WORK/cf"
shared=$("$CONFITURE" -f json lint --list-rules | jq -r '.rules[] | select(.squawk) | .name')
printf '%-45s %8s %8s %8s\n' rule common only-cf only-sq
for r in $shared; do
	grep -P "\t$r\$" "$WORK/sq" >"$WORK/sq.r" || true
	grep -P "\t$r\$" "$WORK/cf" >"$WORK/cf.r" || true
	both=$(comm -12 "$WORK/sq.r" "$WORK/cf.r" | wc -l)
	ours=$(comm -13 "$WORK/sq.r" "$WORK/cf.r" | wc -l)
	theirs=$(comm -23 "$WORK/sq.r" "$WORK/cf.r" | wc -l)
	[ "$both$ours$theirs" = 000 ] && continue
	printf '%-45s %8d %8d %8d\n' "$r" "$both" "$ours" "$theirs"
done
