#!/usr/bin/env bash
# The diff oracle on real-world DDL: pagila from an empty database
# (everything created, in dependency order) and to one (everything dropped,
# in an order PostgreSQL accepts, without CASCADE).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diff_lib.inc"

PAGILA=$SHARED/data/pagila/pagila-schema.sql
if [ ! -f "$PAGILA" ]; then
	skip "pagila: $PAGILA is absent"
	done_testing
	exit
fi
SQL=$(cat "$PAGILA")

oracle pagila_from_empty "" "$SQL"
expect_eq "$(printf '%s' "$DIFF_JSON" | jq -r '[.changes[] | select(.action != "create" and .action != "alter")] | length')" \
	0 "pagila from empty: only creates (and the public schema's grants)"
expect_eq "$(printf '%s' "$DIFF_JSON" | jq -r '[.changes[] | select(.kind == "table")] | length')" \
	"$(grep -c '^CREATE TABLE' "$PAGILA")" "pagila from empty: every table is created"

oracle pagila_to_empty "$SQL" ""
expect_eq "$(printf '%s' "$DIFF_JSON" | jq -r '[.changes[] | select(.action == "create")] | length')" \
	0 "pagila to empty: nothing is created"
if [[ $DIFF_SQL != *CASCADE* ]]; then _ok "pagila to empty: no DROP ... CASCADE"; else
	_fail "pagila to empty: no DROP ... CASCADE" "${DIFF_SQL:0:2000}"; fi

done_testing
