#!/usr/bin/env bash
# build and seed accept what psql accepts, with the same effect (issue 15):
# pg_dump's own output (\restrict lines, COPY data) as a schema file or a
# seed file, a pagila round trip through pg_dump, standard_conforming_strings
# across files, the session the files share (psql -1 on the generated file),
# and PostgreSQL's own "unsafe use of new value" for an enum value added and
# used in one build.
. "$(dirname "$0")/../lib.sh"

nodump() { grep -v '^-- Dumped \|^\\restrict\|^\\unrestrict'; }

# ---- the files share one session, as with psql -1 on the generated file ----
P=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$P/db/schema" "$P/db/seeds"
printf 'CREATE SCHEMA other;\nSET search_path = other, public;\n' >"$P/db/schema/10_path.sql"
printf 'CREATE TABLE t (id int);\nCREATE TEMP TABLE scratch AS SELECT 1 AS n;\n' >"$P/db/schema/20_table.sql"
printf 'CREATE TABLE counted AS SELECT count(*) AS n FROM scratch;\n' >"$P/db/schema/30_temp.sql"
printf 'SET standard_conforming_strings = off;\n' >"$P/db/schema/40_scs.sql"
printf "CREATE TABLE s (v text DEFAULT 'it\\\\'s');\n" >"$P/db/schema/50_literal.sql"
printf 'INSERT INTO t VALUES (1);\n' >"$P/db/seeds/10_rows.sql"
DBC=$(newdb session_cf)
DBP=$(newdb session_psql)
run cf --project-dir "$P" build --apply -d "$(dburl "$DBC")"
expect_rc 0 "session: the build applies"
psql -XAtq -1 -v ON_ERROR_STOP=1 -d "$DBP" -f "$P/db/generated/schema_local.sql" >/dev/null 2>"$TMP/psql.err"
expect_eq "$?" "0" "session: psql -1 applies the generated file"
dump() { pg_dump --schema-only -d "$1" | nodump; }
if diff -u <(dump "$DBP") <(dump "$DBC") >"$TMP/sdiff"; then
	_ok "session: the schema equals psql -1's (pg_dump -s)"
else _fail "session: the schema differs from psql -1's" "$(head -30 "$TMP/sdiff")"; fi
expect_eq "$(q "$DBC" "SELECT (SELECT count(*) FROM other.t) || '|' || (SELECT n FROM other.counted) || '|' || (SELECT column_default FROM information_schema.columns WHERE table_name = 's')")" \
	"1|1|'it''s'::text" \
	"session: search_path, temp tables and standard_conforming_strings carry over to the next files and the seeds"

# What does not carry over: from one command to the next, each has its own session.
P=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$P/db/schema" "$P/db/seeds"
printf 'CREATE SCHEMA other;\nSET search_path = other;\nCREATE TABLE t (id int);\n' >"$P/db/schema/10_t.sql"
printf 'INSERT INTO t VALUES (1);\n' >"$P/db/seeds/10_rows.sql"
DB=$(newdb session_split)
run cf --project-dir "$P" build --apply --schema-only -d "$(dburl "$DB")"
expect_rc 0 "session: the schema alone builds"
run cf --project-dir "$P" seed apply -d "$(dburl "$DB")"
expect_rc 3 "session: seed apply starts from a fresh session: the build's search_path is gone"
expect_err 'db/seeds/10_rows.sql:1:13: relation "t" does not exist' "session: as psql would say on a new connection"

# ---- an enum value added and used in one build: PostgreSQL's own message ----
P=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$P/db/schema"
printf "CREATE TYPE st AS ENUM ('a');\nALTER TYPE st ADD VALUE 'b';\nCREATE TABLE e (v st DEFAULT 'b');\n" >"$P/db/schema/10_enum.sql"
DB=$(newdb enum)
run cf --project-dir "$P" build --apply -d "$(dburl "$DB")"
expect_rc 4 "enum: ADD VALUE then a use of the value fails the build"
expect_err 'db/schema/10_enum.sql:3:30: unsafe use of new value "b" of enum type st' \
	"enum: with PostgreSQL's message, at the use"
expect_err "hint: New enum values must be committed before they can be used." "enum: and its hint"
printf 'build:\n  transaction: false\n' >"$P/confiture.yaml"
run cf --project-dir "$P" build --apply -d "$(dburl "$DB")"
expect_rc 0 "enum: with build.transaction: false each statement commits, and it builds (the documented split)"

# ---- pg_dump's own output: \restrict lines and COPY data, as schema and as seeds ----
P=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$P/db/schema"
SRCDB=$(newdb dump_src)
q "$SRCDB" "CREATE TABLE kv (k text PRIMARY KEY, v text); INSERT INTO kv VALUES ('a', 'tab	in'), ('b', NULL), ('c', 'back\\slash');" >/dev/null
pg_dump -d "$SRCDB" >"$P/db/schema/dump.sql"
if grep -q '^\\restrict ' "$P/db/schema/dump.sql"; then
	_ok "dump: this machine's pg_dump ($(pg_dump --version | awk '{print $3}')) writes \\restrict"
else
	# An older pg_dump: the lines as 15.14+ writes them.
	{ echo '\restrict Abc123'; cat "$P/db/schema/dump.sql"; echo '\unrestrict Abc123'; } >"$TMP/d.sql"
	mv "$TMP/d.sql" "$P/db/schema/dump.sql"
	skip "dump: this pg_dump does not write \\restrict; the fixture adds the lines"
fi
DB=$(newdb dump_dst)
run cf --project-dir "$P" build --apply -d "$(dburl "$DB")"
expect_rc 0 "dump: a pg_dump file builds as it is"
expect_eq "$(q "$DB" "SELECT string_agg(k || '=' || coalesce(v, 'null'), ',' ORDER BY k) FROM kv")" \
	"a=tab	in,b=null,c=back\\slash" "dump: with its COPY data"
run cf --project-dir "$P" build
expect_rc 0 "dump: the generated file is written"
DB2=$(newdb dump_gen)
psql -XAtq -1 -v ON_ERROR_STOP=1 -d "$DB2" -f "$P/db/generated/schema_local.sql" >/dev/null 2>&1
expect_eq "$?" "0" "dump: and psql -1 applies the generated file"

# Seeds as pg_dump -a writes them, with seed apply.
S=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$S/db/schema" "$S/db/seeds"
echo 'CREATE TABLE kv (k text PRIMARY KEY, v text);' >"$S/db/schema/10_kv.sql"
pg_dump -a -d "$SRCDB" >"$S/db/seeds/10_kv.sql"
DB=$(newdb seed_dst)
run cf --project-dir "$S" build --apply --schema-only -d "$(dburl "$DB")"
expect_rc 0 "seed: the schema builds"
run cf --project-dir "$S" seed apply -d "$(dburl "$DB")"
expect_rc 0 "seed: a pg_dump -a file applies as a seed"
expect_eq "$(q "$DB" "SELECT count(*) FROM kv")" "3" "seed: with its rows"

# Other meta-commands stay refused, with the hint.
printf 'CREATE TABLE x (id int);\n\\connect other\n' >"$P/db/schema/zz_meta.sql"
run cf --project-dir "$P" build
expect_rc 4 "meta: \\connect is refused"
expect_err 'hint: "\connect" on line 2 is a psql meta-command.' "meta: naming the line and the meta-command"
rm "$P/db/schema/zz_meta.sql"

# ---- pagila round trip: build, fill, pg_dump, build from the dump ----
SRC=$SHARED/data/pagila/pagila-schema.sql
if [ ! -f "$SRC" ]; then
	skip "pagila: $SRC is absent"
else
	P=$(mktemp -d "$TMP/p.XXXXXX")
	mkdir -p "$P/db/schema"
	cp "$SRC" "$P/db/schema/pagila.sql"
	DB1=$(newdb pagila_built)
	run cf --project-dir "$P" build --apply -d "$(dburl "$DB1")"
	expect_rc 0 "pagila: builds"
	q "$DB1" "INSERT INTO language (name) VALUES ('English'), ('Italian');
INSERT INTO actor (first_name, last_name) VALUES ('PENELOPE', 'GUINESS'), ('NICK', 'WAHLBERG');
INSERT INTO category (name) VALUES ('Action'), (E'Sci\\\\Fi\\ttab');
INSERT INTO country (country) VALUES ('Italy'); INSERT INTO city (city, country_id) VALUES ('Roma', 1);" >/dev/null
	R=$(mktemp -d "$TMP/p.XXXXXX")
	mkdir -p "$R/db/schema"
	pg_dump -d "$DB1" >"$R/db/schema/pagila_dump.sql"
	DB2=$(newdb pagila_rebuilt)
	run cf --project-dir "$R" build --apply -d "$(dburl "$DB2")"
	expect_rc 0 "pagila: a new database builds from the dump"
	if diff -u <(pg_dump -s -d "$DB1" | nodump) <(pg_dump -s -d "$DB2" | nodump) >"$TMP/pdiff"; then
		_ok "pagila: pg_dump -s of both is equal"
	else _fail "pagila: pg_dump -s differs" "$(head -30 "$TMP/pdiff")"; fi
	if diff -u <(pg_dump -a -d "$DB1" | nodump) <(pg_dump -a -d "$DB2" | nodump) >"$TMP/ddiff"; then
		_ok "pagila: and so is the data"
	else _fail "pagila: the data differs" "$(head -30 "$TMP/ddiff")"; fi
fi

# ---- an empty database_url: is an error, never the embedded cluster (issue 15 section 5) ----
E=$(mktemp -d "$TMP/p.XXXXXX")
mkdir -p "$E/db/schema" "$E/db/environments"
echo 'CREATE TABLE e (id int);' >"$E/db/schema/10_e.sql"
printf 'database_url:\n' >"$E/db/environments/local.yaml"
run cf --project-dir "$E" build --apply
expect_rc 5 "empty url: database_url: with no value exits 5"
expect_err 'db/environments/local.yaml:1:1: "database_url" is empty' "empty url: naming the file and line"
expect_eq "$([ -e "$E/.confiture/pg" ] && echo started || echo none)" "none" "empty url: no embedded cluster was started"
printf 'default_env: ci\nenvironments:\n  ci:\n    database_url: ""\n' >"$E/confiture.yaml"
rm "$E/db/environments/local.yaml"
run cf --project-dir "$E" migrate status
expect_rc 5 "empty url: an empty string in confiture.yaml too"
expect_err 'confiture.yaml:4:5: "database_url" is empty' "empty url: at its line"

done_testing
