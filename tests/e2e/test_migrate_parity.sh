#!/usr/bin/env bash
# migrate accepts what psql accepts, with the same effect (issue 15 sections
# 2 to 4, and issue 14's dry run and unmatched files): COPY with inline data,
# pg_dump's \restrict lines, standard_conforming_strings, psql meta-commands
# refused with a hint, real histories (repeated names, Flyway's layout, files
# that are not migrations), dry runs that agree with the real run, and
# BEGIN ... COMMIT around part of a file.
. "$(dirname "$0")/../lib.sh"

m() { cf --project-dir "$P" -d "$URL" migrate "$@"; }

# ---- COPY ... FROM stdin with inline data, streamed; a bad row at its line ----
P=$(migproject)
DB=$(newdb copy)
URL=$(dburl "$DB")
migfile "$P" 001_copy.up.sql 'CREATE TABLE c (id int, name text);
COPY c (id, name) FROM stdin;
1	one
2	\N
\.
CREATE TABLE after_copy (id int);
'
migfile "$P" 002_two.up.sql 'COPY c FROM stdin;
3	three
\.
'
run m up
expect_rc 0 "COPY: a migration with inline COPY data applies"
expect_eq "$(q "$DB" "SELECT string_agg(id || ':' || coalesce(name, 'null'), ',' ORDER BY id) FROM c")" \
	"1:one,2:null,3:three" "COPY: the rows are in, \\N is NULL, two migrations in one batch"
expect_eq "$(q "$DB" "SELECT to_regclass('after_copy') IS NOT NULL")" "t" "COPY: the statement after the data ran"
migfile "$P" 003_bad.up.sql 'CREATE TABLE bad (id int);
COPY bad FROM stdin;
1
2
x
\.
'
run m up
expect_rc 3 "COPY: a bad row fails the migration"
expect_err "db/migrations/003_bad.up.sql:5:1: invalid input syntax for type integer: \"x\"" \
	"COPY: the error is at the bad row's line in the file"
expect_err "COPY bad, line 3" "COPY: with the server's context"
expect_eq "$(q "$DB" "SELECT to_regclass('bad') IS NULL")" "t" "COPY: the failed migration left nothing"
rm "$P/db/migrations/003_bad.up.sql"
migfile "$P" 003_nodata.up.sql 'CREATE TABLE nd (id int);
COPY nd
  FROM stdin;
SELECT 1;
'
run m up
expect_rc 3 "COPY: COPY FROM STDIN without inline data is refused"
expect_err "003_nodata.up.sql:2:1: COPY ... FROM STDIN without data" "COPY: at the statement"
rm "$P/db/migrations/003_nodata.up.sql"

# ---- pg_dump's \restrict / \unrestrict; other meta-commands refused with build's hint ----
P=$(migproject)
DB=$(newdb restrict)
URL=$(dburl "$DB")
migfile "$P" 001_dump.up.sql '--
-- PostgreSQL database dump
--

\restrict 3kQ9vOjrRHaXWcTg4vFfHlBpm0S6ZbXrQ5UjcNtYkL2a8eDiE7GhJwMzPy1sAf

SET statement_timeout = 0;
CREATE TABLE r (id int);
COPY public.r (id) FROM stdin;
7
\.

\unrestrict 3kQ9vOjrRHaXWcTg4vFfHlBpm0S6ZbXrQ5UjcNtYkL2a8eDiE7GhJwMzPy1sAf
'
run m up
expect_rc 0 "restrict: a pg_dump file with \\restrict and \\unrestrict applies"
expect_eq "$(q "$DB" "SELECT string_agg(id::text, ',') FROM r")" "7" "restrict: its data is in"
migfile "$P" 002_meta.up.sql 'CREATE TABLE m (id int);
\set ON_ERROR_STOP on
'
run m up
expect_rc 3 "meta: another psql meta-command is refused (a failed migration)"
expect_err "db/migrations/002_meta.up.sql:2:1: syntax error at or near" "meta: at its file, line and column"
expect_err 'hint: "\set" on line 2 is a psql meta-command. Lines starting with a backslash are psql meta-commands' \
	"meta: with build's hint, naming the line and the meta-command"
rm "$P/db/migrations/002_meta.up.sql"
migfile "$P" 002_fn.up.sql 'CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT $x$
\restrict notameta
$x$ $$;
'
run m up
expect_rc 0 "restrict: a \\restrict line inside a function body is the body's"
expect_eq "$(q "$DB" "SELECT f() = E'\\n\\\\restrict notameta\\n'")" "t" "restrict: and it stays in the function"

# ---- SET standard_conforming_strings = off, then 'it\'s' ----
P=$(migproject)
DB=$(newdb scs)
URL=$(dburl "$DB")
migfile "$P" 001_scs.up.sql "SET standard_conforming_strings = off;
CREATE TABLE s (v text);
INSERT INTO s VALUES ('it\\'s'), ('a;b\\'c');
"
migfile "$P" 002_next.up.sql "INSERT INTO s VALUES ('back\\slash');"
run m up
expect_rc 0 "scs: a migration with scs off and \\' literals applies"
expect_eq "$(q "$DB" "SELECT string_agg(v, '|' ORDER BY v) FROM s")" "a;b'c|back\\slash|it's" \
	"scs: the literals are read as psql reads them, and the next migration reads with scs on again"

# ---- BEGIN ... COMMIT around part of a file; SET before a wrapping BEGIN ----
P=$(migproject)
DB=$(newdb wrap)
URL=$(dburl "$DB")
migfile "$P" 001_part.up.sql 'BEGIN;
CREATE TABLE w1 (id int);
COMMIT;
CREATE TABLE w2 (id int);
'
run m up
expect_rc 3 "wrap: a block around part of the file is refused"
expect_err "db/migrations/001_part.up.sql:4:1: the BEGIN ... COMMIT block does not wrap the whole migration" \
	"wrap: pointing at the first statement outside the block"
migfile "$P" 001_part.up.sql '-- header
CREATE TABLE w0 (id int);
BEGIN;
CREATE TABLE w1 (id int);
COMMIT;
'
run m up
expect_err "db/migrations/001_part.up.sql:2:1: the BEGIN ... COMMIT block" "wrap: or at a statement before it"
migfile "$P" 001_part.up.sql "SET statement_timeout = 0;
SET lock_timeout = '5s';
BEGIN;
CREATE TABLE w1 (id int);
COMMIT;
"
run m up
expect_rc 0 "wrap: SET statements before a wrapping BEGIN are accepted"
expect_err "stripped the BEGIN/COMMIT around the file" "wrap: the block is stripped, with the usual warning"
expect_eq "$(q "$DB" "SELECT to_regclass('w1') IS NOT NULL")" "t" "wrap: the migration ran"

# ---- dry runs that agree with the real run: enum ADD VALUE, then its use ----
P=$(migproject)
DB=$(newdb enum)
URL=$(dburl "$DB")
migfile "$P" 001_enum.up.sql "CREATE TYPE st AS ENUM ('a'); CREATE TABLE se (v st);"
migfile "$P" 002_add.up.sql "ALTER TYPE st ADD VALUE 'b';"
migfile "$P" 003_use.up.sql "INSERT INTO se VALUES ('b');"
migfile "$P" 004_more.up.sql "CREATE TABLE after4 (id int);"
run cf --project-dir "$P" migrate preflight --against "$URL"
expect_rc 0 "enum: preflight --against accepts what up accepts"
expect_out "NOT TRIED          003_use -- it uses an enum value that an earlier migration of this run adds" \
	"enum: and says which migration it could not replay, and why"
run m up --dry-run-execute -f json
expect_rc 0 "enum: up --dry-run-execute accepts it too"
expect_json '[.migrations[].status] | join(",")' "would_apply,would_apply,not_tried,not_tried" \
	"enum: tried what it could, not the rest"
expect_json '.migrations[3].note' "not tried: it comes after 003_use" "enum: the ones after are named"
expect_json '.message' "would apply 4 migrations: 2 tried and rolled back, 2 not tried (see the warning)" \
	"enum: the summary does not claim more than it tried"
expect_json '.warnings[0] | startswith("--dry-run-execute stopped before 003_use: it uses an enum value")' \
	"true" "enum: the warning says why"
expect_eq "$(q "$DB" "SELECT to_regtype('st') IS NULL AND to_regclass('tb_confiture') IS NULL")" "t" \
	"enum: the dry runs left nothing"
run m up
expect_rc 0 "enum: up applies the history"
expect_eq "$(q "$DB" "SELECT v FROM se")" "b" "enum: with the value used"

# ---- dry runs reset the session between migrations, as the real run does ----
P=$(migproject)
DB=$(newdb dry_session)
URL=$(dburl "$DB")
migfile "$P" 001_other.up.sql 'CREATE SCHEMA other; SET search_path = other; CREATE TABLE a (id int);'
migfile "$P" 002_a.up.sql 'CREATE TABLE a (id int);'
run m up --dry-run-execute
expect_rc 0 "dry session: --dry-run-execute starts each migration from a clean session"
run cf --project-dir "$P" migrate preflight --against "$URL"
expect_rc 0 "dry session: so does preflight --against"

# ---- dry runs check what the COMMIT checks: deferred constraints ----
P=$(migproject)
DB=$(newdb deferred)
URL=$(dburl "$DB")
migfile "$P" 001_tables.up.sql 'CREATE TABLE p (id int PRIMARY KEY);
CREATE TABLE ch (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED);'
migfile "$P" 002_orphan.up.sql 'INSERT INTO ch VALUES (42);'
migfile "$P" 003_fixed.up.sql 'INSERT INTO ch VALUES (1); INSERT INTO p VALUES (1);'
rm "$P/db/migrations/003_fixed.up.sql"
run m up --dry-run-execute
expect_rc 3 "deferred: --dry-run-execute refuses a migration whose COMMIT would fail"
expect_err 'violates foreign key constraint' "deferred: with the constraint's message"
run cf --project-dir "$P" migrate preflight --against "$URL"
expect_rc 7 "deferred: preflight --against too"
migfile "$P" 002_orphan.up.sql 'INSERT INTO ch VALUES (1); INSERT INTO p VALUES (1);'
run m up --dry-run-execute
expect_rc 0 "deferred: a violation fixed before the end of the migration passes"
run m up
expect_rc 0 "deferred: as in the real run"

# ---- --dry-run-execute before a non-transactional migration (issue 14) ----
P=$(migproject)
DB=$(newdb dry_nontx)
URL=$(dburl "$DB")
migfile "$P" 001_t.up.sql 'CREATE TABLE t (id int);'
migfile "$P" 002_idx.up.sql 'CREATE INDEX CONCURRENTLY t_id ON t (id);'
migfile "$P" 003_u.up.sql 'CREATE TABLE u (id int);'
run m up --dry-run-execute -f json
expect_rc 0 "nontx: --dry-run-execute exits 0"
expect_json '.message' "would apply 3 migrations: 1 tried and rolled back, 2 not tried (see the warning)" \
	"nontx: the summary says how many it tried"
expect_json '.migrations[1].status + ": " + .migrations[1].note' \
	"not_tried: it runs outside a transaction (CREATE INDEX CONCURRENTLY), which a dry run cannot roll back" \
	"nontx: which migration it could not try, and why"
expect_json '.migrations[2].status' "not_tried" "nontx: and the one after it"
run m up --dry-run-execute
expect_err "warning: --dry-run-execute stopped before 002_idx: it runs outside a transaction" "nontx: text output warns"
expect_out "NOT TRIED          003_u -- not tried: it comes after 002_idx" "nontx: and lists them"

# ---- repeated names: baseline --through, --import, up ----
P=$(migproject)
for v in 001 002 003; do migfile "$P" "${v}_client.up.sql" "CREATE TABLE IF NOT EXISTS client$v (id int);"; done
migfile "$P" 004_oauth.up.sql 'CREATE TABLE oauth (id int);'
migfile "$P" 005_client.up.sql 'CREATE TABLE client5 (id int);'
DB=$(newdb slugs)
URL=$(dburl "$DB")
run m baseline --through 003
expect_rc 0 "slugs: baseline --through a history with one name three times"
expect_no_err "duplicate key" "slugs: no duplicate slug"
expect_eq "$(q "$DB" "SELECT count(DISTINCT slug) FROM tb_confiture")" "3" "slugs: three rows, three slugs"
run m up
expect_rc 0 "slugs: up records the same name again"
expect_eq "$(q "$DB" "SELECT count(DISTINCT slug) || '/' || count(*) FROM tb_confiture")" "5/5" \
	"slugs: every slug stays unique"
DB=$(newdb slugs_dbmate)
URL=$(dburl "$DB")
q "$DB" "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('001'), ('002'), ('003'), ('005');" >/dev/null
run m baseline --import dbmate
expect_rc 0 "slugs: --import dbmate of a history with repeated names"
expect_eq "$(q "$DB" "SELECT count(DISTINCT slug) || '/' || count(*) FROM tb_confiture")" "4/4" \
	"slugs: --import gives each version its slug"
DB=$(newdb slugs_golang)
URL=$(dburl "$DB")
q "$DB" "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (3, false);" >/dev/null
run m baseline --import golang-migrate
expect_rc 0 "slugs: --import golang-migrate too"
expect_eq "$(q "$DB" "SELECT count(DISTINCT slug) || '/' || count(*) FROM tb_confiture")" "3/3" \
	"slugs: three versions, three slugs"

# "created the tracking table" only when it was committed.
SRC=$(newdb slugs_src)
q "$SRC" "CREATE TABLE tb_confiture (slug text, version text, name text, applied_at timestamptz DEFAULT now(), execution_time_ms int, checksum text, applied_by text);
INSERT INTO tb_confiture (slug, version, name) VALUES ('ok_1', '001', 'client'), ('long_1', repeat('9', 300), 'too_long');" >/dev/null
DB=$(newdb slugs_rollback)
URL=$(dburl "$DB")
run m baseline --from-db "$(dburl "$SRC")"
expect_rc 3 "rollback: a baseline that fails is rolled back"
expect_no_err "created the tracking table" "rollback: and does not report a table it rolled back"
expect_eq "$(q "$DB" "SELECT to_regclass('tb_confiture') IS NULL")" "t" "rollback: (there is none)"

# ---- files not named as migrations: an error by default (exit 5) ----
P=$(migproject)
DB=$(newdb unmatched)
URL=$(dburl "$DB")
migfile "$P" 0001_init.up.sql 'CREATE TABLE i (id int);'
migfile "$P" V0002.WebAuthn.up.sql 'CREATE TABLE webauthn (id int);'
migfile "$P" V0003.Sessions.up.sql 'CREATE TABLE sessions (id int);'
printf 'migration:\n  ignore_unmatched: true\n' >"$P/confiture.yaml"
run m up
expect_rc 0 "unmatched: migration.ignore_unmatched runs the others"
expect_err "warning: ignoring 2 files that are not named as a migration (migration.ignore_unmatched): db/migrations/V0002.WebAuthn.up.sql, db/migrations/V0003.Sessions.up.sql" \
	"unmatched: with a warning naming every file"
rm "$P/confiture.yaml"
run m status
expect_rc 5 "unmatched: status does not say 0 pending when files will never run"
expect_out "orphan: db/migrations/V0002.WebAuthn.up.sql" "unmatched: status still lists them"
run m up
expect_rc 5 "unmatched: up refuses to run with files that would never run"
expect_err '2 files in "db/migrations" are not named as a migration and would never run: db/migrations/V0002.WebAuthn.up.sql, db/migrations/V0003.Sessions.up.sql' \
	"unmatched: naming every one"
expect_err "migration.ignore_unmatched: true" "unmatched: the hint names the way out"

# ---- Flyway's layout: V<version>__<desc>.sql and U<version>__<desc>.sql ----
P=$(migproject)
DB=$(newdb flyway)
URL=$(dburl "$DB")
migfile "$P" V1__init.sql 'CREATE TABLE fw_init (id int);'
migfile "$P" V1_1__users.sql 'CREATE TABLE fw_users (id int);'
migfile "$P" U1_1__users.sql 'DROP TABLE fw_users;'
migfile "$P" V2__posts.sql 'CREATE TABLE fw_posts (id int);'
run m up
expect_rc 0 "flyway: up applies a Flyway layout"
expect_eq "$(q "$DB" "SELECT string_agg(version || ':' || name, ',' ORDER BY applied_at, version) FROM tb_confiture")" \
	"1:init,1.1:users,2:posts" "flyway: versions as Flyway records them, in order"
run m down-to 1
expect_rc 8 "flyway: V2 has no U2: down-to refuses (irreversible)"
expect_err "U2__posts.sql" "flyway: naming the missing undo file"
rm "$P/db/migrations/V2__posts.sql"
q "$DB" "DELETE FROM tb_confiture WHERE version = '2'; DROP TABLE fw_posts" >/dev/null
run m down
expect_rc 0 "flyway: down runs U1_1__users.sql"
expect_eq "$(q "$DB" "SELECT to_regclass('fw_users') IS NULL")" "t" "flyway: the undo ran"
DB=$(newdb flyway_import)
URL=$(dburl "$DB")
q "$DB" "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200), success boolean NOT NULL);
INSERT INTO flyway_schema_history VALUES (1, '1', 'init', true), (2, '1.1', 'users', true);" >/dev/null
run m baseline --import flyway
expect_rc 0 "flyway: --import flyway adopts the history of a Flyway layout"
expect_eq "$(q "$DB" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "1,1.1" \
	"flyway: Flyway's versions match the files'"
migfile "$P" V10__late.sql 'SELECT 1;'
migfile "$P" V9__early.sql 'SELECT 1;'
run m up
expect_rc 5 "flyway: V9 and V10 would run in the wrong order as text: refused"
expect_err 'Flyway versions "10" and "9" do not sort as text the way they sort as numbers' "flyway: naming them"

done_testing
