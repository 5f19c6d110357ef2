#!/usr/bin/env bash
# docs/schemas/ describes every command's JSON: a schema per command of the
# command table (a new command must bring one), valid schemas, and a checker
# that rejects what the contract forbids. (Every e2e test file validates the
# documents it produced, in done_testing.)
. "$(dirname "$0")/../lib.sh"

S=$ROOT/docs/schemas
CHECK=$ROOT/tests/validate-json

run cf --help
cmds=$(printf '%s\n' "$out" | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 {print $1}')
[ -n "$cmds" ] || _fail "found the commands in --help"
missing=
for c in $cmds; do [ -f "$S/$c.json" ] || missing="$missing $c"; done
expect_eq "${missing:-none}" "none" "every command of the command table has docs/schemas/COMMAND.json"

if ! /usr/bin/python3 -c "import jsonschema" 2>/dev/null; then
	skip "python3-jsonschema is not installed"
	done_testing
	exit
fi

run "$CHECK" --check-schemas "$S"
expect_rc 0 "every schema is a valid draft-07 schema"
expect_eq "$out" "" "with nothing to report"

# The checker accepts a real document, and rejects each broken variant of it.
good=$(cf -f json version)
printf '%s\n' "$good" >"$TMP/good.jsonl"
run "$CHECK" --commands "$S" "$TMP/good.jsonl"
expect_rc 0 "a real document passes"
broken() {
	local what=$1 filter=$2
	printf '%s' "$good" | jq -c "$filter" >"$TMP/bad.jsonl"
	run "$CHECK" --commands "$S" "$TMP/bad.jsonl"
	[ "$rc" = 1 ] && [ -n "$out" ] && _ok "rejected: $what" || _fail "rejected: $what" "$(_evidence)"
}
broken "no exit_code" 'del(.exit_code)'
broken "success true with exit 1" '.exit_code = 1'
broken "an exit code outside the contract" '.exit_code = 9 | .success = false'
broken "duration_s as a string" '.duration_s = "0.1"'
broken "a member the schema does not know" '.timings = {}'
broken "warnings that are not strings" '.warnings = [1]'
broken "an error that is not an error object" '.exit_code = 3 | .success = false | .ok = false | .error = {"message": "x"} | .errors = [{"message": "x"}]'
broken "an error without errors[]" '.exit_code = 3 | .success = false | .ok = false | .error = {"code": 3, "status": "failed", "message": "x", "detail": null, "hint": null, "context": null, "file": null, "line": null, "column": null, "sqlstate": null}'
broken "a failure (exit 3) without its error" '.exit_code = 3 | .success = false'
broken "a command with no schema" '.command = "frobnicate"'
printf '{"command":"version","command":"version"}\n' >"$TMP/bad.jsonl"
run "$CHECK" --commands "$S" "$TMP/bad.jsonl"
expect_rc 1 "a duplicate key is rejected"
expect_out "duplicate key 'command'" "and named"

# A migrate document whose counter contradicts its list (the schema types
# what it can; test_json_contract checks the counts themselves).
p=$(migproject)
db=$(newdb s)
migfile "$p" 001_a.up.sql 'CREATE TABLE a (id int);'
run cf -f json migrate up --project-dir "$p" -d "$(dburl "$db")"
expect_rc 0 "migrate up"
good=$out
broken "a checksum that is not a SHA-256" '.migrations[0].checksum = "abc"'
broken "a migration status outside the list" '.migrations[0].status = "done"'
broken "a negative count" '.applied_count = -1'

done_testing
