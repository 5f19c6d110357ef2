#!/usr/bin/env bash
# Every command speaks JSON: one document on stdout, success or failure, in
# the envelope every command shares (docs/output.md): command, action,
# success, exit_code, duration_s, target, error, errors[], warnings[].
. "$(dirname "$0")/../lib.sh"

p=$(newproject)
cd "$p"
db=$(newdb j)
export CONFITURE_DATABASE_URL=$(dburl "$db")
printf 'CREATE TABLE m (id int);\n' >db/migrations/001_m.up.sql
printf 'DROP TABLE m;\n' >db/migrations/001_m.down.sql

# A document, its ok field, and the exit code agreeing with it.
check() {
	local want_ok=$1 what=$2
	shift 2
	run "$CONFITURE_BIN" -f json "$@"
	local docs ok
	docs=$(printf '%s' "$out" | jq -s 'length' 2>/dev/null)
	ok=$(printf '%s' "$out" | jq -r '.ok' 2>/dev/null)
	if [ "$docs" = 1 ] && [ "$ok" = "$want_ok" ]; then
		local shape
		shape=$(printf '%s' "$out" | jq -r --argjson rc "$rc" '
			[(.command | type == "string"), has("action"), (.exit_code == $rc),
			 (.success == ($rc == 0)), (.duration_s | type == "number" and . >= 0),
			 (.target | type == "null" or type == "object"), (.errors | type == "array"),
			 (.warnings | type == "array"),
			 (if $rc == 0 then .error == null else (.errors | length) > 0 end),
			 (if .error then .error.code == $rc else true end)] | all')
		if [ "$shape" = true ]; then _ok "$what"; else
			_fail "$what: the envelope is not right (exit $rc)" "stdout: ${out:0:800}"
		fi
	else
		_fail "$what: expected one document with ok=$want_ok (got $docs documents, ok=$ok, exit $rc)" \
			"stdout: ${out:0:600}" "stderr: ${err:0:600}"
	fi
}

check true "version" version
check true "validate-config" validate-config
check false "validate-config, broken env" validate-config -e nosuchenv
check true "doctor" doctor
check false "doctor, unreachable" doctor -d "postgresql:///x?host=/nonexistent&port=1"
check true "hooks list" hooks list
check false "hooks test, unknown event" hooks test nosuchevent
check true "embedded status" embedded status
check false "embedded, unknown action" embedded frobnicate
check true "init" init "$TMP/newproj"
check false "init over an existing project" init "$TMP/newproj"
check true "build" build
check true "build --apply" build --apply
check false "build, a file that does not parse" build --output "$TMP/x.sql" --project-dir "$ROOT/tests/fixtures/does-not-exist"
check false "seed apply again: the seeds collide with themselves (exit 3)" seed apply --sequential
check false "migrate status, pending" migrate status
# The database built from db/schema holds what the first two migrations
# make: they are marked applied; the last one (IF NOT EXISTS) runs.
check true "migrate baseline" migrate baseline --through 20260102000000
check true "migrate up" migrate up
check true "migrate status, up to date" migrate status
check true "migrate current" migrate current
check true "verify-checksums" verify-checksums
check true "migrate down" migrate down
check false "migrate down-to an unknown version" migrate down-to 999
check true "migrate generate" migrate generate added
check true "migrate preflight" migrate preflight
check false "sync without --from" sync --to "$CONFITURE_DATABASE_URL"
check true "sync history" sync history
expect_json '[.command, .action] | join(" ")' "sync history" "sync history: the action is not folded into the command"
check false "s2s migrate without a mapping" s2s migrate --source "$CONFITURE_DATABASE_URL" --target "$CONFITURE_DATABASE_URL"
check false "an unknown command" frobnicate
check false "completion writes no JSON: refused with the envelope" completion bash
run cf -f json migrate up
expect_json '[.command, .action] | join(" ")' "migrate up" "migrate up: command and action"
run cf -f json migrate frobnicate
expect_json '.action' "null" "an unknown action is not echoed as the action"
run cf -f json embedded status
expect_json '.action' "status" "embedded: the action"

done_testing
