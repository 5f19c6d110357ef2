#!/usr/bin/env bash
# confiture diff: usage, exit codes, the three outputs, every kind of side
# (environment, URL, schema, migrations, a .sql file or directory), filters,
# refusals, notes, build failures, and scratch databases always dropped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diff_lib.inc"

SCRATCH=$(dburl postgres)

# ---- Usage ----------------------------------------------------------------------------
run cf diff --from x
expect_rc 2 "diff without --to exits 2"
expect_err "diff needs --from X and --to Y" "says what is missing"
run cf diff --from a --to b -f csv
expect_rc 2 "diff -f csv exits 2"
expect_err "format \"csv\" is not available for \"diff\"" "says it does not write it"
run cf diff --from "$(dburl postgres)" --to nosuchenv
expect_rc 5 "an unknown environment exits 5"
expect_err 'environment "nosuchenv"' "names it"

# ---- Equal and different databases ----------------------------------------------------------
A=$(newdb a)
B=$(newdb b)
q "$A" "CREATE TABLE t (a int, c int); CREATE TABLE old_t (x int, old_col text)" >/dev/null
q "$B" "CREATE TABLE t (a int, b int, c int); CREATE TABLE old_t (x int, new_col text)" >/dev/null
run cf diff --from "$(dburl "$A")" --to "$(dburl "$A")"
expect_rc 0 "a database against itself: exit 0"
expect_out "no differences" "says so"
run cf diff --from "$(dburl "$A")" --to "$(dburl "$B")"
expect_rc 1 "different schemas: exit 1"
expect_out "table public.t
    + create column public.t.b  [additive]" "text groups a table's changes under it"
expect_out "    - drop column public.old_t.old_col  [destructive]" "marks drops and their hazard"
expect_out "      The column's data is lost." "explains a risky change"
expect_out "note: column order of table public.t differs: it will be (a, c, b), the target has (a, b, c)" \
	"column order is a note, not a change"
expect_out "note: column public.old_t.old_col is dropped and column public.old_t.new_col is added: if this is a rename" \
	"a drop and an add of the same type may be a rename"
expect_out "not compared: owners" "says what it does not compare"
run cf diff --from "$(dburl "$A")" --to "$(dburl "$B")" -f json
expect_rc 1 "json: exit 1 too"
expect_json '.ok' true "json: ok (differing is not an error)"
expect_json '.equal' false "json: equal is false"
expect_json '[.changes[] | .object] | join(",")' "public.old_t.old_col,public.old_t.new_col,public.t.b" \
	"json: the changes in script order (drops first)"
expect_json '.changes[2] | [.action, .kind, .group, .hazard, .sql] | join("|")' \
	"create|column|table public.t|additive|ALTER TABLE public.t ADD COLUMN b integer;" \
	"json: a change's fields"
expect_json '.hazards.destructive' 1 "json: counts by hazard"
expect_json '.notes | length' 2 "json: the notes"
run cf diff --from "$(dburl "$A")" --to "$(dburl "$B")" -f sql
expect_out "-- 3 changes: 2 additive, 1 destructive" "sql: the header counts the hazards"
expect_out "--   destructive: drop column public.old_t.old_col (The column's data is lost.)" \
	"sql: the header lists the risky steps"
expect_out "-- Note: column order of table public.t differs" "sql: notes as comments"

# ---- A protected production database is only read ---------------------------------------------------
P=$(migproject)
PROD=$(newdb prod)
q "$PROD" "CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'a@example.com'), (2, NULL)" >/dev/null
q postgres "ALTER DATABASE \"$PROD\" SET default_transaction_read_only = on" >/dev/null
mkdir -p "$P/db/environments" "$P/db/schema"
printf 'database_url: %s\nprotected: true\n' "$(dburl "$PROD")" >"$P/db/environments/production.yaml"
printf 'CREATE TABLE users (id int PRIMARY KEY, email text, name text);\n' >"$P/db/schema/users.sql"
migfile "$P" 001_users.up.sql 'CREATE TABLE users (id int PRIMARY KEY, email text);'
run cf --project-dir "$P" diff --from production --to migrations --scratch-url "$SCRATCH"
expect_rc 0 "production (protected, read-only) against the migrations: equal, exit 0"
expect_out "from: production (postgresql://postgres@" "names the environment"
run_pid cf --project-dir "$P" diff --from production --to schema --scratch-url "$SCRATCH" -f sql
expect_rc 1 "production against db/schema: exit 1"
expect_out "ALTER TABLE public.users ADD COLUMN name text;" "the drift as SQL"
expect_eq "$(q "$PROD" "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" 2 \
	"production is unchanged (no ledger, no scratch objects)"
expect_eq "$(scratch_left)" 0 "no scratch database is left"

# ---- Sides: schema, migrations, a file, a directory -------------------------------------------------------
run cf --project-dir "$P" diff --from migrations --to schema --scratch-url "$SCRATCH" -f json
expect_rc 1 "migrations against schema: exit 1"
expect_json '.from' "migrations (replayed in a scratch database)" "json: the migrations side"
expect_json '.to' "schema (db/schema, built in a scratch database)" "json: the schema side"
expect_json '[.changes[].object] | join(",")' "public.users.name" "the ledger table is not a difference"
printf 'CREATE TABLE users (id int PRIMARY KEY, email text, name text);\n' >"$TMP/one.sql"
run cf --project-dir "$P" diff --from "$TMP/one.sql" --to "$P/db/schema" --scratch-url "$SCRATCH"
expect_rc 0 "a .sql file against a directory of them: equal"
pg_dump -s -d "$PROD" >"$TMP/dump.sql"
run_pid cf --project-dir "$P" diff --from "$TMP/dump.sql" --to production --scratch-url "$SCRATCH"
expect_rc 0 "pg_dump output (with its psql meta-commands) as a side: equal to its database"
expect_eq "$(scratch_left)" 0 "no scratch database is left"
pg_dump -d "$PROD" >"$TMP/dump_data.sql"
run cf --project-dir "$P" diff --from "$TMP/dump_data.sql" --to production --scratch-url "$SCRATCH"
expect_rc 0 "pg_dump output with its data (COPY ... FROM stdin): equal, the rows skipped"
printf 'CREATE TABLE a (id int);\n\\i other.sql\n' >"$TMP/meta.sql"
run cf --project-dir "$P" diff --from "$TMP/meta.sql" --to production --scratch-url "$SCRATCH"
expect_rc 4 "a psql meta-command that is not pg_dump's: exit 4"
expect_err "meta.sql:2" "at its line"
run cf --project-dir "$P" diff --from "$TMP/none.sql" --to schema --scratch-url "$SCRATCH"
expect_rc 2 "a missing file exits 2"
expect_err "is neither an environment nor a file or directory" "says so"

# ---- Sides that do not build -----------------------------------------------------------------------------
printf 'CREATE TABLE broken (id int,\n  name texx);\n' >"$P/db/schema/zz_broken.sql"
run_pid cf --project-dir "$P" diff --from migrations --to schema --scratch-url "$SCRATCH"
expect_rc 4 "a db/schema that does not build: exit 4"
expect_err "db/schema/zz_broken.sql:2:8: type \"texx\" does not exist" "at the file's line and column"
expect_eq "$(scratch_left)" 0 "no scratch database is left after a failed build"
rm "$P/db/schema/zz_broken.sql"
migfile "$P" 002_bad.up.sql 'ALTER TABLE nosuch ADD COLUMN x int;'
run_pid cf --project-dir "$P" diff --from migrations --to schema --scratch-url "$SCRATCH"
expect_rc 3 "a failing migration: exit 3"
expect_err 'relation "nosuch" does not exist' "the server's message"
expect_err "002_bad" "names the migration"
expect_eq "$(scratch_left)" 0 "no scratch database is left after a failed replay"
rm "$P/db/migrations/002_bad.up.sql"

# ---- Ctrl-C while a side is replayed: exit 130, no scratch database left --------------------------------
C=$(migproject)
mkdir -p "$C/db/schema"
printf 'CREATE TABLE t (id int);\n' >"$C/db/schema/t.sql"
migfile "$C" 001_slow.up.sql "SELECT pg_sleep(coalesce(current_setting('cf.sleep', true), '0')::float);"
PGOPTIONS="-c cf.sleep=600" "$CONFITURE_BIN" --project-dir "$C" diff --from migrations --to schema \
	--scratch-url "$SCRATCH" >"$TMP/int.out" 2>"$TMP/int.err" &
cfpid=$!
sleeping=
for _ in $(seq 600); do
	sleeping=$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname LIKE 'cf\_scratch\_${cfpid}\_%'")
	[ "$sleeping" = 1 ] && break
	kill -0 "$cfpid" 2>/dev/null || break
	sleep 0.1
done
expect_eq "$sleeping" 1 "diff is replaying the slow migration"
kill -INT "$cfpid"
wait "$cfpid"
rc=$?
err=$(cat "$TMP/int.err")
expect_rc 130 "Ctrl-C during diff: exit 130"
expect_err "interrupted" "says it was interrupted"
expect_eq "$(scratch_left)" 0 "Ctrl-C during diff: no scratch database is left"

# ---- Filters ---------------------------------------------------------------------------------------------
F1=$(newdb f1)
F2=$(newdb f2)
q "$F1" "CREATE SCHEMA app; CREATE SCHEMA audit; CREATE TABLE app.t (id int)" >/dev/null
q "$F2" "CREATE SCHEMA app; CREATE SCHEMA audit; CREATE TABLE app.t (id int, x int); CREATE TABLE audit.log (id int); GRANT SELECT ON app.t TO PUBLIC" >/dev/null
run cf diff --from "$(dburl "$F1")" --to "$(dburl "$F2")" --schema audit -f json
expect_json '[.changes[].object] | join(",")' "audit.log" "--schema compares only that schema"
run cf diff --from "$(dburl "$F1")" --to "$(dburl "$F2")" --schema Audit
expect_rc 2 "--schema naming no schema of either side (a typo): exit 2, not \"no differences\""
expect_err 'schema "Audit" is on neither side' "names it"
run cf diff --from "$(dburl "$F1")" --to "$(dburl "$F2")" --schema audit --schema nosuch -f json
expect_json '.exit_code' 2 "json: exit_code 2 for a typo among several"
run cf diff --from "$(dburl "$F1")" --to "$(dburl "$F2")" --exclude-schema audit --exclude-schema public -f json
expect_json '[.changes[].object] | join(",")' "app.t,app.t.x" "--exclude-schema leaves them out (repeatable)"
run cf diff --from "$(dburl "$F1")" --to "$(dburl "$F2")" --exclude-schema audit --no-privileges -f json
expect_json '[.changes[].object] | join(",")' "app.t.x" "--no-privileges leaves GRANTs out"

# ---- Refused: an enum value removed ---------------------------------------------------------------------------
E1=$(newdb e1)
E2=$(newdb e2)
q "$E1" "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')" >/dev/null
q "$E2" "CREATE TYPE mood AS ENUM ('sad', 'happy')" >/dev/null
run cf diff --from "$(dburl "$E1")" --to "$(dburl "$E2")" -f sql
expect_rc 1 "a removed enum value: exit 1"
expect_out "-- refused: cannot remove value 'ok' of enum type public.mood" "the script says it is refused"
expect_out "PostgreSQL cannot remove an enum value (there is no ALTER" "and why"
run cf diff --from "$(dburl "$E1")" --to "$(dburl "$E2")" -f json
expect_json '.changes[0].refused' true "json: refused"
expect_json '.hazards.refused' 1 "json: counted"

# ---- Refused: type changes PostgreSQL has no ALTER for ----------------------------------------------------
K1=$(newdb k1)
K2=$(newdb k2)
q "$K1" "CREATE TABLE m (k int, v int) PARTITION BY RANGE (k); CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10); CREATE TYPE pair AS (x int, y int); CREATE TABLE holder (p pair)" >/dev/null
q "$K2" "CREATE TABLE m (k bigint, v bigint) PARTITION BY RANGE (k); CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10); CREATE TYPE pair AS (x bigint, y int); CREATE TABLE holder (p pair)" >/dev/null
run cf diff --from "$(dburl "$K1")" --to "$(dburl "$K2")" -f sql
expect_rc 1 "a partition key column or a stored composite changing type: exit 1"
expect_out "-- refused: column public.m.k is in the partition key of table public.m, and PostgreSQL cannot change its type" \
	"a partition key column's type change is refused, with why"
expect_out "ALTER TABLE public.m ALTER COLUMN v TYPE bigint USING v::bigint;" "another column of the table still changes"
expect_out "-- refused: column public.holder.p stores type public.pair, and PostgreSQL cannot change the type of attribute public.pair.x while a table uses it" \
	"an attribute of a composite type a table stores is refused, with why"
run cf diff --from "$(dburl "$K1")" --to "$(dburl "$K2")" -f json
expect_json '.hazards.refused' 2 "json: both refused"

# ---- A name holding a line break cannot end a comment of the script and start SQL -------------------
H1=$(newdb h1)
H2=$(newdb h2)
q "$H1" "CREATE TYPE e AS ENUM ('a', 'gone
SELECT 1/0; --')" >/dev/null
q "$H2" "CREATE TYPE e AS ENUM ('a')" >/dev/null
hostile="$TMP/evil
SELECT pg_sleep(0); --.sql"
printf 'CREATE TABLE t (id int);\n' >"$hostile"
run cf diff --from "$(dburl "$H1")" --to "$(dburl "$H2")" -f sql
expect_out "-- refused: cannot remove value 'gone SELECT 1/0; --' of enum type public.e" \
	"a refused enum value with a line break stays in its comment"
run cf diff --from "$hostile" --to "$(dburl "$H2")" --scratch-url "$SCRATCH" -f sql
expect_out "-- confiture diff: the SQL that turns $TMP/evil SELECT pg_sleep(0); --.sql into" \
	"a file name with a line break stays in the header's comment"
expect_eq "$(printf '%s\n' "$out" | grep -c '^SELECT pg_sleep')" 0 "no line of the script starts with the name's SQL"

# ---- Objects it does not model: said, and never "equal" when their counts differ ----------------------
R1=$(newdb r1)
R2=$(newdb r2)
q "$R1" "CREATE TABLE t (id int, k int)" >/dev/null
q "$R2" "CREATE TABLE t (id int, k int); CREATE RULE t_keep AS ON DELETE TO t DO INSTEAD NOTHING; CREATE STATISTICS t_st ON id, k FROM t" >/dev/null
run cf diff --from "$(dburl "$R2")" --to "$(dburl "$R2")"
expect_rc 0 "unmodeled objects on both sides alike: equal, exit 0"
expect_out "not compared: extended statistics (1) in to" "says what it does not compare, per kind"
expect_out "not compared: rules (1) in from" "on each side"
run cf diff --from "$(dburl "$R1")" --to "$(dburl "$R2")"
expect_rc 1 "a rule only in to: not equal, exit 1 (pg_dump -s differs)"
expect_out "no change to write, but objects diff does not compare differ" "says why there is no change"
expect_out "note: rules differ (0 in from, 1 in to): diff does not compare them and writes no SQL for them" \
	"names the kind and its counts"
run cf diff --from "$(dburl "$R1")" --to "$(dburl "$R2")" -f json
expect_json '.equal' false "json: equal is false"
expect_json '.changes | length' 0 "json: no change"

# A column's own options are not modeled either; the server's (pg_...) are
# not the user's: a column made before another is added is not a difference.
q "$R1" "ALTER TABLE t ADD COLUMN later int" >/dev/null
q "$R2" "ALTER TABLE t ADD COLUMN later int; DROP RULE t_keep ON t; DROP STATISTICS t_st" >/dev/null
run cf diff --from "$(dburl "$R1")" --to "$(dburl "$R2")"
expect_rc 0 "the same columns: equal, whatever options the server keeps for itself"
q "$R2" "ALTER TABLE t ALTER COLUMN k SET (n_distinct = 100)" >/dev/null
run cf diff --from "$(dburl "$R1")" --to "$(dburl "$R2")"
expect_rc 1 "a column option only in to: not equal"
expect_out "note: column options differ (0 in from, 1 in to)" "names the kind and its counts"

done_testing
