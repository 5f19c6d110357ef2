#!/usr/bin/env bash
# Every lint rule: its fixture triggers it at the expected line and column,
# and its near miss does not (tests/fixtures/lint/rules/EXPECTED).
. "$(dirname "$0")/../lib.sh"

FX=$ROOT/tests/fixtures/lint/rules
cd "$TMP" || exit 1

# Every rule has fixtures, and every fixture names a rule.
run cf lint --list-rules -f json
rules=$(printf '%s' "$out" | jq -r '.rules[].name' | sort)
listed=$( (awk '!/^#/ && NF {print $1}' "$FX/EXPECTED"; echo migration-refused) | sort)
expect_eq "$listed" "$rules" "every rule has a fixture (migration-refused: test_lint_project)"

while read -r rule pos opts; do
	case $rule in '#'* | '') continue ;; esac
	# shellcheck disable=SC2086
	run cf -f json lint --select all $opts "$FX/$rule.bad.sql"
	got=$(printf '%s' "$out" | jq -r --arg r "$rule" \
		'[.findings[] | select(.rule == $r) | "\(.line):\(.column)"] | join(",")')
	expect_eq "$got" "$pos" "$rule: $rule.bad.sql triggers it at $pos"
	# shellcheck disable=SC2086
	run cf -f json lint --select all $opts "$FX/$rule.ok.sql"
	got=$(printf '%s' "$out" | jq -r --arg r "$rule" '[.findings[] | select(.rule == $r)] | length')
	expect_eq "$got" "0" "$rule: the near miss $rule.ok.sql does not"
done <"$FX/EXPECTED"

done_testing
