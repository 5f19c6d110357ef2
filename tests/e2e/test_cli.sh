#!/usr/bin/env bash
# The CLI face: help, version, unknown commands and options, exit codes, JSON.
. "$(dirname "$0")/../lib.sh"

run cf --help
expect_rc 0 "--help exits 0"
expect_out "usage: confiture [OPTIONS] COMMAND" "--help shows usage"
expect_out "doctor" "--help lists the commands"

run cf --version
expect_rc 0 "--version exits 0"
expect_eq "$out" "confiture 0.1.0" "--version prints the version"

run cf version -f json
expect_json .version "0.1.0" "version speaks JSON"

run cf help embedded
expect_rc 0 "help CMD exits 0"
expect_out "usage: confiture embedded start|stop|status|url|destroy" "help CMD shows the command's usage"

run cf embedded --help
expect_out "usage: confiture embedded" "CMD --help shows the command's usage"

run cf frobnicate
expect_rc 2 "an unknown command exits 2"
expect_err 'confiture: error: unknown command "frobnicate"' "names the unknown command"
expect_err 'confiture: hint: See "confiture --help".' "with a one-line hint"

run cf doctr
expect_err 'Did you mean "confiture doctor"?' "a near miss gets a did-you-mean hint"

run cf --frobnicate
expect_rc 2 "an unknown global option exits 2"
expect_err 'unknown option "--frobnicate"' "names the option"

run cf doctor --frobnicate
expect_rc 2 "an unknown command option exits 2"
expect_err 'confiture: error: unknown option "--frobnicate"' "names the command option"
expect_err 'confiture: hint: Try "confiture doctor --help".' "points at the command's help"

run cf -f yaml version
expect_rc 2 "an unknown format exits 2"
expect_err 'unknown format "yaml"' "names the format"

run cf --exit-codes
expect_rc 0 "--exit-codes exits 0"
expect_out "130   interrupted" "--exit-codes lists 130"
expect_out "6     lock_held" "--exit-codes lists 6"

run cf --exit-codes-json
expect_json '.exit_codes | map(.code) | join(",")' "0,1,2,3,4,5,6,7,8,130" "--exit-codes-json lists every code"
expect_json '.exit_codes[] | select(.code == 8) | .name' "irreversible" "code 8 is irreversible"

run cf frobnicate -f json
expect_rc 2 "JSON mode keeps the exit code"
expect_json '.ok' "false" "the error envelope has ok:false"
expect_json '.error.code' "2" "the envelope carries the exit code"
expect_json '.error.message' 'unknown command "frobnicate"' "the envelope carries the message"
expect_eq "$err" "" "JSON mode keeps stderr free of the error text"

# On a terminal, with color: every color code is closed, none stands alone.
if command -v script >/dev/null 2>&1; then
	p=$(migproject)
	migfile "$p" 001_bad.up.sql 'CREATE TABLE t (id nosuchtype);'
	db=$(newdb tty)
	script -qec "env -u NO_COLOR $CONFITURE_BIN migrate up --project-dir '$p' -d '$(dburl "$db")'" /dev/null \
		>"$TMP/tty" 2>&1
	line=$(grep 'sqlstate' "$TMP/tty" | tr -d '\r')
	expect_eq "$line" "confiture: sqlstate: 42704" "the uncolored sqlstate line has no stray reset code"
	grep -q $'\033\[1;31merror:' "$TMP/tty" && _ok "(the error label is colored there)" ||
		_fail "(the error label is colored there)" "$(cat -v "$TMP/tty")"
else
	skip "script(1) is not installed: no terminal test"
fi

run cf embedded status --format=json --project-dir "$TMP"
expect_rc 0 "global options after the command"
expect_json '.initialized' "false" "embedded status before init"

done_testing
