#!/usr/bin/env bash
# -f is declared per command and action in the command table: a format that a
# command does not write is refused the same way everywhere (exit 2, one
# message, nothing on stdout), before anything runs.
. "$(dirname "$0")/../lib.sh"

p=$(newproject)
cd "$p"
export CONFITURE_DATABASE_URL="postgresql:///x?host=/nonexistent&port=1"

refused() {
	local what=$1 fmt=$2
	shift 2
	run cf -f "$fmt" "$@"
	if [ "$rc" = 2 ] && [ -z "$out" ] &&
		[[ $err == *"error: format \"$fmt\" is not available for \"$what\""* ]] &&
		[[ $err == *"hint: \"confiture $what\" writes "* ]]; then
		_ok "-f $fmt $what: refused with exit 2"
	else
		_fail "-f $fmt $what: refused with exit 2" "$(_evidence)"
	fi
}

for cmd in build "seed apply" "migrate up" "migrate down" "migrate down-to 1" "migrate current" \
	"migrate generate x" "migrate baseline" "migrate verify" "migrate preflight" verify-checksums \
	"sync --from a --to b" "sync history" "s2s setup" "s2s migrate" "s2s verify" "s2s cleanup" \
	init doctor validate-config "embedded status" "embedded url" "hooks test before_build" version; do
	# shellcheck disable=SC2086
	set -- $cmd
	what=$1
	case $cmd in *" "*) case $2 in -*) ;; *) what="$1 $2" ;; esac ;; esac
	refused "$what" csv $cmd
done
run cf -f json completion bash
expect_rc 2 "-f json completion bash: refused with exit 2"
expect_json .error.message 'format "json" is not available for "completion bash"' \
	"with the same message, in the JSON envelope a script asked for"

# Where the output is a table, csv is accepted.
run cf -f csv migrate status --offline
expect_rc 0 "migrate status --offline -f csv runs"
expect_out "version,name,status" "and prints the CSV header"
run cf -f csv hooks list
expect_rc 0 "hooks list -f csv runs"
expect_out "event,kind,action,timeout_s,on_failure,origin" "and prints the CSV header"
run cf -f csv s2s analyze --source a --target b
expect_no_err 'format "csv" is not available' "s2s analyze takes csv (it fails later, on the connection)"

# An unknown format names the ones that exist.
run cf -f xml doctor
expect_rc 2 "an unknown format is a usage error"
expect_err 'unknown format "xml" (use text, json, csv, sarif, github, sql or junit)' "naming the formats"
run cf -f table migrate status --offline
expect_rc 0 "table is another name for text"
expect_out "VERSION" "and prints the table"

# Help is a document too: -f json never prints text on stdout.
for h in "help" "help migrate" "migrate up --help" "--help" "migrate -h"; do
	# shellcheck disable=SC2086
	run cf -f json $h
	if [ "$rc" = 0 ] && printf '%s' "$out" | jq -e '.command == "help" and (.usage | test("usage: confiture"))' >/dev/null 2>&1; then
		_ok "-f json $h: one JSON document (command help) holding the usage"
	else
		_fail "-f json $h: one JSON document (command help) holding the usage" "$(_evidence)"
	fi
done
run cf -f json help migrate
expect_json .topic migrate "the topic is the command"
run cf -f json
expect_rc 2 "-f json and no command: exit 2"
expect_json .error.message "no command given" "the error envelope alone, no help text"

done_testing
