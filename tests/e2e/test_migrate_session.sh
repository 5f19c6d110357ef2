#!/usr/bin/env bash
# migrate: each migration starts from the session the connection had when the
# run began (issue 15 section 1). A SET search_path, SET ROLE, temp table or
# prepared statement of one migration never reaches the next one, and the
# ledger row is always written by the connecting user: the result does not
# depend on how the migrations were split across runs, and equals psql
# applying each file in a session of its own.
. "$(dirname "$0")/../lib.sh"

# Roles are cluster-wide: names of this test only.
q postgres "DO \$\$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cfsess_rw') THEN CREATE ROLE cfsess_rw NOLOGIN; END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cfsess_owner') THEN CREATE ROLE cfsess_owner LOGIN; END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cfsess_bob') THEN CREATE ROLE cfsess_bob NOLOGIN; END IF;
END \$\$; GRANT cfsess_rw TO cfsess_owner;" >/dev/null

# ---- the issue's repro: SET search_path in 001 must not move 002's table ----
P=$(migproject)
migfile "$P" 001_other.up.sql 'CREATE SCHEMA other; SET search_path = other; CREATE TABLE a (id int);'
migfile "$P" 002_t.up.sql 'CREATE TABLE t (id int);'
DB=$(newdb path)
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate up
expect_rc 0 "search_path: up exits 0"
expect_eq "$(q "$DB" "SELECT to_regclass('public.t') IS NOT NULL AND to_regclass('other.t') IS NULL")" "t" \
	"search_path: 002's table lands in public, as with psql per file"
expect_eq "$(q "$DB" "SELECT to_regclass('other.a') IS NOT NULL")" "t" "search_path: 001's own table is in other"
DB2=$(newdb path_split)
cf --project-dir "$P" -d "$(dburl "$DB2")" migrate up --target 001 >/dev/null 2>&1
cf --project-dir "$P" -d "$(dburl "$DB2")" migrate up >/dev/null 2>&1
expect_eq "$(q "$DB2" "SELECT to_regclass('public.t') IS NOT NULL")" "t" \
	"search_path: the same split across two runs"

# ---- SET ROLE: the ledger row is written by the connecting user ----
P=$(migproject)
migfile "$P" 001_role.up.sql 'SET ROLE cfsess_rw; CREATE TABLE r1 (id int);'
migfile "$P" 002_local.up.sql 'SET LOCAL ROLE cfsess_rw; CREATE TABLE r2 (id int);'
migfile "$P" 003_after.up.sql 'CREATE TABLE r3 (id int);'
DB=$(newdb role)
q "$DB" "GRANT CREATE ON SCHEMA public TO cfsess_rw" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate up
expect_rc 0 "SET ROLE: up exits 0 though the role may not write the ledger"
expect_no_err "permission denied" "SET ROLE: no permission error on tb_confiture"
expect_eq "$(q "$DB" "SELECT string_agg(DISTINCT applied_by, ',') FROM tb_confiture")" "postgres" \
	"SET ROLE: every ledger row is written by the connecting user"
expect_eq "$(q "$DB" "SELECT string_agg(relname || ':' || pg_get_userbyid(relowner), ',' ORDER BY relname) FROM pg_class WHERE relname IN ('r1', 'r2', 'r3')")" \
	"r1:cfsess_rw,r2:cfsess_rw,r3:postgres" "SET ROLE: the role holds in its migration and not after it"

# The role may write the ledger: it still must not leak into the next migration.
P=$(migproject)
migfile "$P" 000_init.up.sql 'SELECT 1;'
migfile "$P" 001_role.up.sql 'SET ROLE cfsess_rw; CREATE TABLE l1 (id int);'
migfile "$P" 002_next.up.sql 'CREATE TABLE l2 (id int);'
DB=$(newdb role_leak)
cf --project-dir "$P" -d "$(dburl "$DB")" migrate up --target 000 >/dev/null 2>&1
q "$DB" "GRANT CREATE ON SCHEMA public TO cfsess_rw; GRANT ALL ON tb_confiture TO cfsess_rw" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate up
expect_rc 0 "role leak: up exits 0"
expect_eq "$(q "$DB" "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'l2'")" "postgres" \
	"role leak: the next migration runs as the connecting user"

# A connecting user that is not a superuser.
P=$(migproject)
migfile "$P" 001_role.up.sql 'SET ROLE cfsess_rw; CREATE TABLE o1 (id int);'
migfile "$P" 002_next.up.sql 'CREATE TABLE o2 (id int);'
DB=$(newdb owner)
q "$DB" "GRANT CREATE ON SCHEMA public TO cfsess_owner, cfsess_rw" >/dev/null
OURL="postgresql://cfsess_owner@/$DB?host=$PGHOST&port=$PGPORT"
run cf --project-dir "$P" -d "$OURL" migrate up
expect_rc 0 "non-superuser: up exits 0"
expect_eq "$(q "$DB" "SELECT string_agg(DISTINCT applied_by, ',') FROM tb_confiture")" "cfsess_owner" \
	"non-superuser: the ledger rows are written by the connecting user"
expect_eq "$(q "$DB" "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'o2'")" "cfsess_owner" \
	"non-superuser: the role did not leak"

# A non-transactional migration that switches role: its progress rows and
# its ledger row are written by the connecting user too.
P=$(migproject)
migfile "$P" 001_nontx.up.sql 'SET ROLE cfsess_rw;
CREATE TABLE n1 (id int);
CREATE INDEX CONCURRENTLY n1_id ON n1 (id);
'
migfile "$P" 002_next.up.sql 'CREATE TABLE n2 (id int);'
DB=$(newdb nontx_role)
q "$DB" "GRANT CREATE ON SCHEMA public TO cfsess_rw" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate up
expect_rc 0 "nontx SET ROLE: up exits 0"
expect_eq "$(q "$DB" "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'n1'")|$(q "$DB" "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'n2'")" \
	"cfsess_rw|postgres" "nontx SET ROLE: the role holds for the statements after it, not for the next migration"
expect_eq "$(q "$DB" "SELECT string_agg(applied_by, ',') FROM tb_confiture")" "postgres,postgres" \
	"nontx SET ROLE: the ledger rows are the connecting user's"

# A setting given at connection time (options, ALTER ROLE ... SET) is part of
# the session the run began with: it holds for every migration.
P=$(migproject)
migfile "$P" 001_a.up.sql 'CREATE SCHEMA app; CREATE TABLE a1 (id int);'
migfile "$P" 002_b.up.sql 'SET search_path = public; CREATE TABLE b2 (id int);'
migfile "$P" 003_c.up.sql 'CREATE TABLE c3 (id int);'
DB=$(newdb options)
run env PGOPTIONS="-c search_path=app" "$CONFITURE_BIN" --project-dir "$P" -d "$(dburl "$DB")" migrate up
expect_rc 0 "connection options: up exits 0"
expect_eq "$(q "$DB" "SELECT string_agg(relnamespace::regnamespace || '.' || relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('a1', 'b2', 'c3')")" \
	"app.a1,public.b2,app.c3" "connection options: the connection's search_path comes back after a migration changed it"

# ---- a history full of session changes: batched = one at a time = psql -1 per file ----
H=$(migproject)
migfile "$H" 001_schema.up.sql 'CREATE SCHEMA other; CREATE TABLE tt (id int);'
migfile "$H" 002_path.up.sql 'SET search_path = other, public; CREATE TABLE p2 (id int);'
migfile "$H" 003_plain.up.sql 'CREATE TABLE p3 (id int);'
migfile "$H" 004_role.up.sql 'SET ROLE cfsess_rw; CREATE TABLE p4 (id int);'
migfile "$H" 005_owner.up.sql 'CREATE TABLE p5 (id int);'
migfile "$H" 006_auth.up.sql 'SET SESSION AUTHORIZATION cfsess_bob; SET ROLE NONE; CREATE TABLE p6 (id int);'
migfile "$H" 007_owner.up.sql 'CREATE TABLE p7 (id int);'
migfile "$H" 008_tz.up.sql "SET TIME ZONE 'Asia/Tokyo'; CREATE TABLE p8 (at timestamptz DEFAULT '2020-01-01 00:00');"
migfile "$H" 009_tz.up.sql "CREATE TABLE p9 (at timestamptz DEFAULT '2020-01-01 00:00');"
migfile "$H" 010_temp.up.sql 'CREATE TEMP TABLE tt (id int);'
migfile "$H" 011_insert.up.sql 'INSERT INTO tt VALUES (11); CREATE TABLE p11 AS SELECT count(*) AS n FROM tt;'
migfile "$H" 012_prepare.up.sql 'PREPARE q AS SELECT 1; CREATE TABLE p12 (id int);'
migfile "$H" 013_prepare.up.sql 'PREPARE q AS SELECT 2; CREATE TABLE p13 (id int);'
migfile "$H" 014_scs.up.sql 'SET standard_conforming_strings = off; CREATE TABLE p14 (id int);'
migfile "$H" 015_scs.up.sql "CREATE TABLE p15 (s text DEFAULT 'a\\b');"
migfile "$H" 016_seq.up.sql "CREATE SEQUENCE s16; SELECT nextval('s16');"
migfile "$H" 017_currval.up.sql "CREATE TABLE p17 (n bigint DEFAULT 1); COMMENT ON TABLE p17 IS 'ok';"
migfile "$H" 018_local.up.sql "SET LOCAL search_path = other; CREATE TABLE p18 (id int);"
migfile "$H" 019_plain.up.sql 'CREATE TABLE p19 (id int);'
prep() { q "$1" "GRANT CREATE ON SCHEMA public TO cfsess_rw, cfsess_bob" >/dev/null; }
dump() { pg_dump --schema-only --no-comments -d "$1" --exclude-table=tb_confiture | grep -v '^-- Dumped \|^\\restrict\|^\\unrestrict'; }
data() { q "$1" "SELECT (SELECT n FROM p11) || '|' || (SELECT column_default FROM information_schema.columns WHERE table_name = 'p15')"; }

DBB=$(newdb batched)
prep "$DBB"
run cf --project-dir "$H" -d "$(dburl "$DBB")" migrate up
expect_rc 0 "history: the batched run exits 0"

DBO=$(newdb one_by_one)
prep "$DBO"
ok=0
for f in "$H"/db/migrations/*.up.sql; do
	v=$(basename "$f" | cut -d_ -f1)
	cf --project-dir "$H" -d "$(dburl "$DBO")" migrate up --target "$v" >/dev/null 2>&1 || ok=1
done
expect_eq "$ok" "0" "history: one migration per run, every run exits 0"

DBP=$(newdb psql)
prep "$DBP"
ok=0
for f in "$H"/db/migrations/*.up.sql; do
	psql -XAtq -1 -v ON_ERROR_STOP=1 -d "$DBP" -f "$f" >/dev/null 2>&1 || ok=1
done
expect_eq "$ok" "0" "history: psql -1 applies each file in a session of its own"

dump "$DBB" >"$TMP/batched.sql"
dump "$DBO" >"$TMP/one.sql"
dump "$DBP" >"$TMP/psql.sql"
if diff -u "$TMP/psql.sql" "$TMP/batched.sql" >"$TMP/d1"; then _ok "history: batched schema = psql per file (pg_dump -s)"
else _fail "history: batched schema differs from psql per file" "$(head -40 "$TMP/d1")"; fi
if diff -u "$TMP/one.sql" "$TMP/batched.sql" >"$TMP/d2"; then _ok "history: batched schema = one migration per run (pg_dump -s)"
else _fail "history: batched schema differs from one per run" "$(head -40 "$TMP/d2")"; fi
expect_eq "$(data "$DBB")" "$(data "$DBP")" "history: data and defaults agree with psql too"
expect_eq "$(data "$DBB")" "1|'a\\b'::text" "history: the temp table and standard_conforming_strings did not carry over"
expect_eq "$(q "$DBB" "SELECT string_agg(DISTINCT applied_by, ',') FROM tb_confiture")" "postgres" \
	"history: the ledger rows are all the connecting user's"

# ---- down: a rollback that switches role is recorded by the connecting user ----
P=$(migproject)
migfile "$P" 001_a.up.sql 'CREATE TABLE d1 (id int);'
migfile "$P" 001_a.down.sql 'SET ROLE cfsess_rw; DROP TABLE IF EXISTS nothing_here;'
migfile "$P" 002_b.up.sql 'CREATE TABLE d2 (id int);'
migfile "$P" 002_b.down.sql 'SET ROLE cfsess_rw; DROP TABLE IF EXISTS nothing_either;'
DB=$(newdb down)
cf --project-dir "$P" -d "$(dburl "$DB")" migrate up >/dev/null 2>&1
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate down --steps 2
expect_rc 0 "down: a down script with SET ROLE rolls back (the DELETE runs as the connecting user)"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture")" "0" "down: both ledger rows are gone"

# ---- per-migration durations in a batched run (issue 14) ----
P=$(migproject)
migfile "$P" 001_fast.up.sql 'CREATE TABLE f1 (id int);'
migfile "$P" 002_slow.up.sql 'SELECT pg_sleep(0.3); CREATE TABLE f2 (id int);'
migfile "$P" 003_fast.up.sql 'CREATE TABLE f3 (id int);'
DB=$(newdb durations)
run cf --project-dir "$P" -d "$(dburl "$DB")" migrate up -f json
expect_rc 0 "durations: up exits 0"
expect_json '[.migrations[].execution_time_ms | select(. >= 0)] | length' "3" \
	"durations: every migration of the batch has its own time in the JSON (not -1)"
expect_json '.migrations[1].execution_time_ms >= 300' "true" "durations: the slow migration has at least its sleep"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture WHERE execution_time_ms >= 0")" "3" \
	"durations: the ledger rows have them too"
expect_json '[.migrations[].execution_time_ms] | unique | length > 1' "true" \
	"durations: not the batch's one time for all"

done_testing
