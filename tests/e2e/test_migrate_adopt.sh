#!/usr/bin/env bash
# migrate: hooks, baseline (--through, --from-db, --import), verify, preflight.
. "$(dirname "$0")/../lib.sh"


# ---- hooks: order, context, SQL hooks inside the migration's transaction ----
P=$(migproject)
DB=$(newdb hooks)
URL=$(dburl "$DB")
LOG=$TMP/hooks.log
migfile "$P" 001_a.up.sql 'CREATE TABLE a (id int);'
migfile "$P" 002_b.up.sql 'CREATE TABLE b (id int);'
# Looks at the ledger from its own session: sees the row only once committed.
cat >"$TMP/seen.sh" <<SH
psql -XAtq -d "$DB" -c "SELECT count(*) FROM tb_confiture WHERE version = '\$CONFITURE_MIGRATION_VERSION'" >>"$TMP/seen.log"
SH
cat >"$P/confiture.yaml" <<YAML
hooks:
  before_migrate:
    - run: 'echo "before_migrate" >> $LOG'
  before_migration:
    - run: 'echo "before_migration \$CONFITURE_MIGRATION_VERSION \$CONFITURE_MIGRATION_NAME" >> $LOG'
    - sql: "CREATE TABLE IF NOT EXISTS hook_log (v text); INSERT INTO hook_log VALUES ('in-tx')"
  after_migration:
    - run: 'echo "after_migration \$CONFITURE_MIGRATION_VERSION \$CONFITURE_SUCCESS" >> $LOG'
    - run: 'sh $TMP/seen.sh'
  migration_failed:
    - run: 'echo "migration_failed \$CONFITURE_MIGRATION_VERSION \$CONFITURE_SUCCESS" >> $LOG'
  after_migrate:
    - run: 'echo "after_migrate \$CONFITURE_SUCCESS" >> $LOG'
  on_error:
    - run: 'echo "on_error" >> $LOG'
YAML
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "hooks: up with hooks exits 0"
expect_eq "$(tr '\n' '|' <"$LOG")" \
	"before_migrate|before_migration 001 a|after_migration 001 true|before_migration 002 b|after_migration 002 true|after_migrate true|" \
	"hooks: events fire in order with their context"
expect_eq "$(q "$DB" "SELECT count(*) FROM hook_log")" "2" "hooks: the SQL hook ran once per migration"
expect_eq "$(tr '\n' '|' <"$TMP/seen.log")" "1|1|" \
	"hooks: an after_migration shell hook runs once its migration is committed (seen from its own session)"

: >"$LOG"
migfile "$P" 003_c.up.sql 'CREATE TABLE c (id int);'
mkdir -p "$P/db/environments"
cat >"$P/db/environments/local.yaml" <<'YAML'
hooks:
  after_migration:
    - sql: "SELECT 1/0"
YAML
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 3 "hooks: a failing SQL hook fails the migration"
expect_err "division by zero" "hooks: with the hook's error"
expect_eq "$(q "$DB" "SELECT to_regclass('c') IS NULL AND NOT EXISTS (SELECT 1 FROM tb_confiture WHERE version = '003')")" \
	"t" "hooks: the SQL hook's failure rolled the migration back"
expect_eq "$(q "$DB" "SELECT count(*) FROM hook_log")" "2" "hooks: the before_migration SQL hook was rolled back with it"
expect_eq "$(grep -c 'migration_failed 003 false' "$LOG")|$(grep -c '^on_error' "$LOG")|$(grep -c 'after_migrate false' "$LOG")" \
	"1|1|1" "hooks: migration_failed, on_error and after_migrate (false) fire"

# A failing before_migrate hook with on_failure: abort changes nothing.
P2=$(migproject)
DB2=$(newdb hooks_abort)
migfile "$P2" 001_a.up.sql 'CREATE TABLE a (id int);'
cat >"$P2/confiture.yaml" <<'YAML'
hooks:
  before_migrate:
    - run: 'exit 7'
      on_failure: abort
YAML
run cf --project-dir "$P2" -d "$(dburl "$DB2")" migrate up
expect_rc 5 "hooks: a failing before_migrate hook aborts"
expect_err 'hook for "before_migrate" failed with exit code 7' "hooks: names the hook"
expect_eq "$(q "$DB2" "SELECT to_regclass('tb_confiture') IS NULL AND to_regclass('a') IS NULL")" "t" \
	"hooks: nothing changed, not even the ledger"
cat >"$P2/confiture.yaml" <<'YAML'
hooks:
  before_migration:
    - run: 'exit 1'
      on_failure: warn
YAML
run cf --project-dir "$P2" -d "$(dburl "$DB2")" migrate up
expect_rc 0 "hooks: on_failure: warn goes on"
expect_err "on_failure: warn, continuing" "hooks: with a warning"

# ---- baseline --through ----
P=$(migproject)
DB=$(newdb baseline)
URL=$(dburl "$DB")
for v in 001 002 003; do migfile "$P" "${v}_m$v.up.sql" "CREATE TABLE m$v (id int);"; done
q "$DB" "CREATE TABLE m001 (id int); CREATE TABLE m002 (id int)" >/dev/null
run cf --project-dir "$P" -d "$URL" migrate baseline --through 002 --dry-run
expect_rc 0 "baseline --dry-run exits 0"
expect_out "would mark applied 001_m001" "baseline --dry-run lists"
expect_eq "$(q "$DB" "SELECT to_regclass('tb_confiture') IS NULL")" "t" "baseline --dry-run changes nothing"
run cf --project-dir "$P" -d "$URL" migrate baseline --through 002
expect_rc 0 "baseline --through exits 0"
expect_eq "$(q "$DB" "SELECT string_agg(version || ':' || (slug LIKE name || '_%_baseline')::text, ',' ORDER BY version) FROM tb_confiture")" \
	"001:true,002:true" "baseline records the versions with the precursor's baseline slug"
sum=$(sha256sum "$P/db/migrations/001_m001.up.sql" | cut -d' ' -f1)
expect_eq "$(q "$DB" "SELECT checksum FROM tb_confiture WHERE version = '001'")" "$sum" "baseline records checksums"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "up after baseline applies only the rest"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture")" "3" "three rows"
run cf --project-dir "$P" -d "$URL" migrate baseline --through 099
expect_rc 3 "baseline --through an unknown version exits 3"
run cf --project-dir "$P" -d "$URL" migrate baseline
expect_rc 2 "baseline without a source is a usage error"

# ---- baseline --from-db ----
DB3=$(newdb baseline_copy)
run cf --project-dir "$P" -d "$(dburl "$DB3")" migrate baseline --from-db "$URL"
expect_rc 0 "baseline --from-db exits 0"
expect_eq "$(q "$DB3" "SELECT string_agg(version || slug || checksum, ',' ORDER BY version) FROM tb_confiture")" \
	"$(q "$DB" "SELECT string_agg(version || slug || checksum, ',' ORDER BY version) FROM tb_confiture")" \
	"baseline --from-db copies the ledger rows"

# ---- baseline --import ----
DBM=$(newdb dbmate)
q "$DBM" "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('001'), ('002'), ('777')" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$DBM")" migrate baseline --import dbmate
expect_rc 0 "baseline --import dbmate exits 0"
expect_eq "$(q "$DBM" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "001,002" \
	"dbmate's versions are recorded"
expect_err "777" "versions without a local file are named in a warning"
GM=$(newdb golang)
q "$GM" "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (2, false)" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$GM")" migrate baseline --import golang-migrate
expect_rc 0 "baseline --import golang-migrate exits 0"
expect_eq "$(q "$GM" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "001,002" \
	"golang-migrate's current version marks it and everything before"
q "$GM" "UPDATE schema_migrations SET dirty = true" >/dev/null
GM2=$(newdb golang2)
run cf --project-dir "$P" -d "$(dburl "$GM2")" migrate baseline --import golang-migrate --from-db "$(dburl "$GM")"
expect_rc 5 "a dirty golang-migrate history is refused"
FW=$(newdb flyway)
q "$FW" "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200), type varchar(20), script varchar(1000), checksum int, installed_by varchar(100), installed_on timestamp DEFAULT now(), execution_time int, success boolean);
INSERT INTO flyway_schema_history VALUES (1, '1', 'm001', 'SQL', 'V1__m001.sql', 0, 'x', now(), 1, true), (2, '2', 'm002', 'SQL', 'V2__m002.sql', 0, 'x', now(), 1, true), (3, '3', 'm003', 'SQL', 'V3__m003.sql', 0, 'x', now(), 1, false)" >/dev/null
run cf --project-dir "$P" -d "$(dburl "$FW")" migrate baseline --import flyway
expect_rc 0 "baseline --import flyway exits 0"
expect_eq "$(q "$FW" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "001,002" \
	"flyway's successful versions match local ones numerically (1 = 001)"
run cf --project-dir "$P" -d "$(dburl "$(newdb noflyway)")" migrate baseline --import flyway
expect_rc 5 "a missing history table is an error"
expect_err 'table "flyway_schema_history" does not exist' "naming the table"
run cf --project-dir "$P" -d "$URL" migrate baseline --import liquibase
expect_rc 2 "an unknown tool is a usage error"

# ---- verify ----
P=$(migproject)
DB=$(newdb verify)
URL=$(dburl "$DB")
migfile "$P" 001_users.up.sql 'CREATE TABLE users (id int); INSERT INTO users VALUES (1);'
migfile "$P" 001_users.verify.sql 'SELECT count(*) = 1 FROM users;'
migfile "$P" 002_posts.up.sql 'CREATE TABLE posts (id int);'
migfile "$P" 002_posts.verify.sql 'SELECT count(*) = 5 FROM posts'
migfile "$P" 003_tags.up.sql 'CREATE TABLE tags (id int);'
migfile "$P" 003_tags.verify.sql 'SELECT true'
run cf --project-dir "$P" -d "$URL" migrate up --target 002
run cf --project-dir "$P" -d "$URL" migrate verify
expect_rc 1 "verify exits 1 when a verification is not true"
expect_out "ok                 001_users" "verify passes a true sidecar"
expect_out "FAILED             002_posts" "verify reports a false one"
expect_no_out "003_tags" "verify skips migrations not applied"
migfile "$P" 002_posts.verify.sql 'SELECT count(*) = 0 FROM posts'
run cf --project-dir "$P" -d "$URL" migrate verify -f json
expect_rc 0 "verify exits 0 when every sidecar returns true"
expect_json '[.migrations[].status] | join(",")' "verified,verified" "JSON statuses"
migfile "$P" 002_posts.verify.sql 'SELECT nosuch FROM posts'
run cf --project-dir "$P" -d "$URL" migrate verify
expect_rc 3 "verify exits 3 when a sidecar fails"
expect_out "db/migrations/002_posts.verify.sql:1:8: column \"nosuch\" does not exist" "with the error and its location"
migfile "$P" 002_posts.verify.sql 'DELETE FROM posts RETURNING true'
run cf --project-dir "$P" -d "$URL" migrate verify
expect_rc 3 "verify runs read-only"
expect_out "read-only transaction" "a writing sidecar is refused"

# ---- preflight ----
P=$(migproject)
DB=$(newdb preflight)
URL=$(dburl "$DB")
migfile "$P" 001_a.up.sql 'CREATE TABLE a (id int);'
migfile "$P" 001_a.down.sql 'DROP TABLE a;'
migfile "$P" 002_b.up.sql 'CREATE TABLE b (id int);'
migfile "$P" 009_idx.up.sql 'CREATE INDEX CONCURRENTLY a_idx ON a (id);'
run cf --project-dir "$P" -d "$URL" migrate preflight
expect_rc 0 "preflight exits 0 without errors"
expect_err "002_b.up.sql has no .down.sql" "preflight warns about missing downs"
expect_err "009_idx.up.sql runs statement by statement outside a transaction (CREATE INDEX CONCURRENTLY)" \
	"preflight names non-transactional statements"
migfile "$P" 004_bad.up.sql 'CREATE TABLE a (id int);'
migfile "$P" 005_worse.up.sql 'SELECT * FROM nosuch_table;'
migfile "$P" 006_fine.up.sql 'CREATE TABLE f (id int);'
run cf --project-dir "$P" migrate preflight --against "$URL"
expect_rc 7 "preflight --against exits 7 when a migration fails"
expect_out "error: db/migrations/004_bad.up.sql:1:1: relation \"a\" already exists" "reports the first failure"
expect_out "error: db/migrations/005_worse.up.sql:1:15: relation \"nosuch_table\" does not exist" \
	"goes on and reports the next one"
expect_out "would apply        006_fine" "and the migrations that would pass"
expect_out "NOT TRIED          009_idx -- it runs outside a transaction (CREATE INDEX CONCURRENTLY), which a dry run cannot roll back" \
	"and the one it cannot replay, with why"
expect_eq "$(q "$DB" "SELECT to_regclass('a') IS NULL AND to_regclass('f') IS NULL AND to_regclass('tb_confiture') IS NULL")" \
	"t" "preflight rolls everything back"
run cf --project-dir "$P" migrate preflight --against "$URL" -f json
expect_json '.errors | length' "2" "JSON lists every failure"
expect_json '.error.code' "7" "JSON error code 7"
rm "$P/db/migrations/004_bad.up.sql" "$P/db/migrations/005_worse.up.sql"
run cf --project-dir "$P" -d "$URL" migrate up
printf 'CREATE TABLE a (id int); -- changed\n' >"$P/db/migrations/001_a.up.sql"
migfile "$P" 007_dup.up.sql 'SELECT 1;'
migfile "$P" 007_dup2.up.sql 'SELECT 1;'
migfile "$P" 008_txn.up.sql 'SELECT 1; COMMIT; SELECT 2;'
run cf --project-dir "$P" -d "$URL" migrate preflight
expect_rc 7 "preflight exits 7 on static errors"
expect_out "error: db/migrations/001_a.up.sql: checksum drift" "checksum drift is an error"
expect_out "error: duplicate migration version 007" "duplicates are an error"
expect_out "error: db/migrations/008_txn.up.sql:1:11: COMMIT in the middle" "mid-file COMMIT is an error"

done_testing
