#!/usr/bin/env bash
# The real-world schema: pagila, split into a db/schema tree one object per
# file (as pg_dump orders them), built with `confiture build --apply` and
# compared with loading the file with psql: the same pg_dump --schema-only.
. "$(dirname "$0")/../lib.sh"

SRC=$SHARED/data/pagila/pagila-schema.sql
if [ ! -f "$SRC" ]; then
	skip "pagila: $SRC is absent"
	done_testing
	exit 0
fi

P=$(mktemp -d "$TMP/proj.XXXXXX")
cd "$P" || exit 1
# One file per pg_dump object ("-- Name: ...; Type: ..." header), in folders
# of 50, numbered so that path order is the dump's order.
awk -v root="db/schema" '
	function open_next(kind) {
		if (out) close(out)
		dir = sprintf("%s/%02d_part", root, int(n / 50))
		system("mkdir -p " dir)
		out = sprintf("%s/%04d_%s.sql", dir, n, kind)
		n++
	}
	BEGIN { n = 0; open_next("preamble") }
	/^-- Name: / {
		kind = $0
		sub(/.*; Type: /, "", kind); sub(/;.*/, "", kind); gsub(/[^A-Za-z]+/, "_", kind)
		open_next(tolower(kind))
		print "--" > out
	}
	{ print > out }
' "$SRC"
n_files=$(find db/schema -name '*.sql' | wc -l)
[ "$n_files" -gt 200 ] && _ok "pagila split into $n_files files" || _fail "split: $n_files files"

db_cf=$(newdb cf)
db_psql=$(newdb psql)
run cf build --apply -d "$(dburl "$db_cf")" -f json
expect_rc 0 "confiture build --apply of pagila exits 0"
expect_json .n_files "$n_files" "every file is built"
expect_json .nontx_statements 0 "no statement needs to leave the transaction"

psql -XAtq -v ON_ERROR_STOP=1 -d "$db_psql" -f "$SRC" >/dev/null 2>"$TMP/psql.err"
expect_eq "$?" 0 "psql -f of pagila-schema.sql"

dump() { pg_dump --schema-only -d "$1" | grep -v '^-- Dumped \|^\\restrict\|^\\unrestrict'; }
dump "$db_cf" >"$TMP/cf.sql"
dump "$db_psql" >"$TMP/psql.sql"
if diff -u "$TMP/psql.sql" "$TMP/cf.sql" >"$TMP/diff"; then
	_ok "pg_dump --schema-only is identical to the psql-loaded database"
else
	_fail "pg_dump differs" "$(head -n 40 "$TMP/diff")"
fi
[ "$(grep -c 'CREATE TABLE' "$TMP/cf.sql")" -ge 15 ] && _ok "the dump has the tables" || _fail "few tables in dump"

# The generated file loads with psql too, to the same schema.
db_gen=$(newdb gen)
psql -XAtq -v ON_ERROR_STOP=1 -d "$db_gen" -f db/generated/schema_local.sql >/dev/null 2>"$TMP/gen.err"
expect_eq "$?" 0 "psql -f of the generated schema_local.sql"
dump "$db_gen" >"$TMP/gen.sql"
diff -q "$TMP/psql.sql" "$TMP/gen.sql" >/dev/null && _ok "the generated file gives the same schema" ||
	_fail "generated file differs" "$(diff -u "$TMP/psql.sql" "$TMP/gen.sql" | head -n 30)"

done_testing
