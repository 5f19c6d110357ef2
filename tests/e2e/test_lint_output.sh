#!/usr/bin/env bash
# confiture lint's output: text, json, sarif (validated against the SARIF
# 2.1.0 schema), github annotations, and the exit codes.
. "$(dirname "$0")/../lib.sh"

cd "$TMP" || exit 1
printf 'SELECT 1;\nALTER TABLE t\n  DROP COLUMN c;\n' >m.sql
printf 'SELECT 1;\n' >clean.sql

run cf lint clean.sql
expect_rc 0 "a clean file exits 0"
expect_eq "$out" "" "and prints no finding on stdout"
expect_err "1 file, 1 statement: 0 errors, 0 warnings, 0 info" "the summary goes to stderr"

run cf lint --select ban-drop-column m.sql
expect_rc 0 "warnings only: exit 0"
expect_eq "$(printf '%s\n' "$out" | sed -n 1p)" \
	'm.sql:2:1: warning ban-drop-column: Dropping column "c" may break existing clients.' \
	"text: file:line:col: severity rule: message"
expect_out "  2 | ALTER TABLE t" "text: the statement's first line, numbered as in the file"
expect_out "  3 |   DROP COLUMN c" "text: and its next line"

run cf lint --select data-loss-drop-column m.sql
expect_rc 1 "an error-level finding exits 1"
expect_out "m.sql:2:1: error data-loss-drop-column: Dropping column \"t.c\" deletes its values." \
	"error severity in the text"
expect_out "  help: Keep the column until nothing reads it" "a help line"

run cf -f json lint m.sql
expect_rc 1 "json: same exit code"
expect_json '.command' "lint" "json: the command"
expect_json '.ok' "true" "json: ok (a finding is not a failure to run)"
expect_json '[.findings[] | select(.rule == "data-loss-drop-column")][0].objects | join(",")' "t.c" \
	"json: data loss names the object"
expect_json '[.findings[] | select(.rule == "ban-drop-column")][0] | "\(.line):\(.column):\(.end_line):\(.end_column)"' \
	"2:1:3:16" "json: start and end of the statement"
expect_json '.files | join(",")' "m.sql" "json: the files linted"
expect_json '.pg_version' "130000" "json: the version assumed"
expect_json '.pg_version_from' "oldest supported" "json: and why"

run cf -f github lint --select ban-drop-column,data-loss-drop-column m.sql
expect_rc 1 "github: same exit code"
expect_out "::warning file=m.sql,line=2,col=1,endLine=3,title=ban-drop-column::Dropping column \"c\" may break existing clients." \
	"github: a warning annotation"
expect_out "::error file=m.sql,line=2,col=1,endLine=3,title=data-loss-drop-column::" "github: an error annotation"
expect_out "deletes its values.%0AKeep the column" "github: the help on a second line, escaped"

run cf -f sarif lint m.sql "$ROOT/tests/fixtures/lint/corpus"
expect_rc 1 "sarif: same exit code"
printf '%s' "$out" >log.sarif
expect_json '.version' "2.1.0" "sarif: version 2.1.0"
expect_json '.runs[0].tool.driver.name' "confiture" "sarif: the tool"
expect_json '[.runs[0].results[] | select(.ruleId == "ban-drop-column")][0].locations[0].physicalLocation.region.startLine' \
	"2" "sarif: the region"
if python3 -c 'import jsonschema' 2>/dev/null; then
	check='import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft4Validator(schema).validate(json.load(open(sys.argv[2])))'
	run python3 -c "$check" "$ROOT/tests/fixtures/sarif/sarif-schema-2.1.0.json" log.sarif
	expect_rc 0 "sarif: valid against the SARIF 2.1.0 schema"
	jq '.runs[0].results[0].level = "fatal"' log.sarif >bad.sarif
	run python3 -c "$check" "$ROOT/tests/fixtures/sarif/sarif-schema-2.1.0.json" bad.sarif
	expect_rc 1 "sarif: the validator does reject an invalid level (it really validates)"
else
	skip "python3-jsonschema is not installed: SARIF not validated"
fi

run cf -f sarif doctor
expect_rc 2 "sarif with a command that has no findings: usage error"
expect_err 'format "sarif" is not available for "doctor"' "says so"

run cf lint missing.sql
expect_rc 5 "a missing path exits 5"
expect_err 'could not read "missing.sql": no such file or directory' "names it"

printf 'SELECT 1;\nSELEC 2;\n' >bad.sql
run cf lint bad.sql
expect_rc 1 "a syntax error is an error finding"
expect_out 'bad.sql:2:1: error syntax-error: syntax error at or near "SELEC"' "at its line and column"

run cf lint --select no-such-rule m.sql
expect_rc 2 "an unknown rule in --select is a usage error"
expect_err 'unknown lint rule "no-such-rule" in --select' "names it"

run cf lint --list-rules
expect_rc 0 "--list-rules exits 0"
expect_out "ban-drop-column" "lists squawk's rules"
expect_out "data-loss-drop-table" "and confiture's"

# ---- Many files: parsed ahead on other threads, reported in order ------------------------------
# More files than the parse-ahead window (32), two of them broken: every file
# is linted once, in order, and each syntax error lands at its own file.
mkdir -p "$TMP/many"
for i in $(seq -w 1 45); do
	printf 'ALTER TABLE t%s DROP COLUMN c;\n' "$i" >"$TMP/many/$i.sql"
done
printf 'SELECT 1;\nCREATE TABL broken (;\n' >"$TMP/many/20.sql"
printf 'ALTER TABLE t41 DROP COLUMN c;\nALTER TABLE (;\n' >"$TMP/many/41.sql"
run cf -f json lint --select ban-drop-column,syntax-error "$TMP/many"
expect_rc 1 "45 files, two broken: exit 1"
expect_json '.files | length' "45" "every file linted once"
expect_json '[.files[] | sub(".*/"; "")] == ([.files[] | sub(".*/"; "")] | sort)' "true" "in order"
expect_json '[.findings[] | select(.rule == "syntax-error") | "\(.file | sub(".*/"; "")):\(.line)"] | join(" ")' \
	"20.sql:2 41.sql:2" "each syntax error at its own file and line"
expect_json '[.findings[] | select(.rule == "ban-drop-column")] | length' "43" \
	"the other files' findings, none lost"

done_testing
