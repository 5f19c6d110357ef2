#!/usr/bin/env bash
# Cross-check with Squawk: on the fixture corpus, every rule confiture shares
# with Squawk (same name) finds the same statements, at the same lines, except
# the differences written down in tests/fixtures/lint/corpus/KNOWN_DIFFERENCES.
. "$(dirname "$0")/../lib.sh"

if ! command -v squawk >/dev/null 2>&1; then
	skip "squawk is not installed (npm install -g squawk-cli): no cross-check"
	done_testing
	exit
fi
FX=$ROOT/tests/fixtures/lint
shared=$(cf lint --list-rules -f json | jq -r '[.rules[] | select(.squawk) | .name] | join("|")')
known=$(grep -v '^#' "$FX/corpus/KNOWN_DIFFERENCES" | awk '{print $2, $1}' | sort)

# Prints "only-squawk F:L:R" and "only-confiture F:L:R" lines for DIR and OPTS.
differences() {
	local dir=$1
	shift
	(
		cd "$dir" || exit 1
		squawk --reporter json --pg-version 15 "$@" ./*.sql 2>/dev/null |
			jq -r '.[] | "\(.file | ltrimstr("./")):\(.line + 1):\(.rule_name)"' | sort >"$TMP/sq"
		"$CONFITURE_BIN" -f json lint --pg-version 15 "$@" ./*.sql |
			jq -r '.findings[] | "\(.file | ltrimstr("./")):\(.line):\(.rule)"' |
			grep -E ":($shared)\$" | sort >"$TMP/cf"
		comm -23 "$TMP/sq" "$TMP/cf" | sed 's/^/only-squawk /'
		comm -13 "$TMP/sq" "$TMP/cf" | sed 's/^/only-confiture /'
	) | sort
}

n=$(cd "$FX/corpus" && squawk --reporter json --pg-version 15 ./*.sql 2>/dev/null | jq length)
[ "${n:-0}" -gt 50 ] && _ok "squawk finds $n things in the corpus" ||
	_fail "squawk found too little to compare: ${n:-none}"

expect_eq "$(differences "$FX/corpus")" "$known" \
	"corpus: shared rules agree with squawk, but for the known differences"
expect_eq "$(differences "$FX/corpus" --assume-in-transaction)" "$known" \
	"corpus with --assume-in-transaction: the same"
expect_eq "$(differences "$FX/rules")" "" "rule fixtures: shared rules agree with squawk"
expect_eq "$(differences "$FX/rules" --assume-in-transaction)" "" \
	"rule fixtures with --assume-in-transaction: agree"

# Every Squawk rule of the default set is among ours, under its name.
for r in adding-field-with-default adding-foreign-key-constraint adding-not-nullable-field \
	adding-required-field adding-serial-primary-key-field ban-alter-domain-with-add-constraint \
	ban-char-field ban-concurrent-index-creation-in-transaction ban-create-domain-with-constraint \
	ban-drop-column ban-drop-database ban-drop-not-null ban-drop-table \
	ban-duplicate-column-assignments ban-truncate-cascade ban-uncommitted-transaction \
	changing-column-type constraint-missing-not-valid disallowed-unique-constraint \
	identifier-too-long prefer-bigint-over-int prefer-bigint-over-smallint prefer-identity \
	prefer-repack prefer-robust-stmts prefer-text-field prefer-timestamp-tz renaming-column \
	renaming-table require-concurrent-index-creation require-concurrent-index-deletion \
	require-concurrent-partition-detach require-concurrent-reindex require-enum-value-ordering \
	require-lock-timeout require-statement-timeout transaction-nesting require-table-schema; do
	[[ "|$shared|" == *"|$r|"* ]] || _fail "squawk's rule $r is missing"
done
_ok "every rule of squawk's set has a rule of the same name"

done_testing
