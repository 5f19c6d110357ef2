#!/usr/bin/env bash
# The oracle of confiture diff, on a fixture per object kind and per hazard
# (tests/fixtures/diff): the SQL diff writes turns the source into the
# target exactly (diff finds them equal after, pg_dump -s agrees), and names
# the expected hazards and statements.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diff_lib.inc"

for r in cf_diff_reader cf_diff_writer; do
	psql -XAtq -d postgres -c "DO \$\$BEGIN CREATE ROLE $r; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" >/dev/null 2>&1
done

for f in "$ROOT"/tests/fixtures/diff/*.sql; do
	name=$(basename "$f" .sql)
	[ -n "${DIFF_ONLY:-}" ] && [[ $name != *$DIFF_ONLY* ]] && continue
	oracle_fixture "$f" || continue
	while IFS= read -r h; do
		[ -z "$h" ] && continue
		expect_eq "$(printf '%s' "$DIFF_JSON" | jq -r --arg h "$h" '[.changes[] | select(.hazard == $h)] | length > 0')" \
			true "$name: a change is tagged $h"
	done < <(fixture_part "$f" hazards)
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		if [[ $DIFF_SQL == *"$line"* ]]; then _ok "$name: the script has: $line"; else
			_fail "$name: the script has: $line" "sql: ${DIFF_SQL:0:3000}"
		fi
	done < <(fixture_part "$f" sql)
done

done_testing
