#!/usr/bin/env bash
# migrate: status, up, down, down-to, current, generate, dry runs, error
# locations, checksums and the errors found before connecting.
. "$(dirname "$0")/../lib.sh"


P=$(migproject)
DB=$(newdb main)
URL=$(dburl "$DB")
m() { cf --project-dir "$P" -d "$URL" migrate "$@"; }

migfile "$P" 20260101000000_users.up.sql 'CREATE TABLE users (id int PRIMARY KEY, email text);
INSERT INTO users VALUES (1, '"'a@x'"');
'
migfile "$P" 20260101000000_users.down.sql 'DROP TABLE users;'
migfile "$P" 20260102000000_posts.up.sql 'CREATE TABLE posts (id int, user_id int REFERENCES users);
-- line two
'
migfile "$P" 20260102000000_posts.down.sql 'DROP TABLE posts;'

# ---- status before anything ----
run m status
expect_rc 2 "status without a ledger exits 2"
expect_out "20260101000000   users" "status lists the files"
expect_err 'tracking table "tb_confiture" does not exist' "status says the ledger is absent"
expect_eq "$(q "$DB" "SELECT to_regclass('tb_confiture') IS NULL")" "t" "status does not create the ledger"

run cf --project-dir "$P" migrate status
expect_rc 0 "status with no database at all exits 0"
expect_out "unknown" "files are listed with status unknown"
run cf --project-dir "$P" migrate status -f json
expect_json '.offline' "true" "JSON says offline"
expect_json '.migrations | map(.status) | join(",")' "unknown,unknown" "JSON statuses are unknown"

run cf --project-dir "$P" -d "postgresql://postgres@/nosuchdb_zz?host=$PGHOST&port=$PGPORT" migrate status
expect_rc 3 "status exits 3 when it cannot connect"
expect_err 'could not connect' "names the connection failure"

# ---- up ----
run m up
expect_rc 0 "up applies pending migrations"
expect_out "applied            20260101000000_users" "up lists what it applied"
expect_out "applied 2 migrations" "up summarizes"
expect_eq "$(q "$DB" "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM tb_confiture")" \
	"20260101000000:users,20260102000000:posts" "ledger rows have version and name"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture WHERE slug ~ '^users_[0-9]{8}_[0-9]{6}\$' OR slug ~ '^posts_[0-9]{8}_[0-9]{6}\$'")" \
	"2" "slugs follow the precursor's NAME_YYYYmmdd_HHMMSS"
sum=$(sha256sum "$P/db/migrations/20260101000000_users.up.sql" | cut -d' ' -f1)
expect_eq "$(q "$DB" "SELECT checksum FROM tb_confiture WHERE version = '20260101000000'")" "$sum" \
	"the checksum is the SHA-256 of the .up.sql"
expect_eq "$(q "$DB" "SELECT applied_by = current_user AND execution_time_ms >= 0 FROM tb_confiture LIMIT 1")" \
	"t" "applied_by and execution_time_ms are recorded"
expect_eq "$(q "$DB" "SELECT count(*) FROM pg_indexes WHERE tablename = 'tb_confiture' AND indexname LIKE 'idx_tb_confiture_%'")" \
	"4" "the ledger has the precursor's four indexes"

run m status
expect_rc 0 "status exits 0 when nothing is pending"
run m up
expect_rc 0 "up with nothing pending exits 0"
expect_out "nothing to apply" "and says so"

migfile "$P" 20260103000000_tags.up.sql 'CREATE TABLE tags (id int);'
run m status -f json
expect_rc 1 "status exits 1 when something is pending"
expect_json '.pending | join(",")' "20260103000000" "JSON lists the pending versions"
expect_json '.applied | length' "2" "JSON lists the applied versions"
expect_json '.current' "20260102000000" "JSON has the current version"
expect_json '.ok' "true" "pending is a finding, not an error"
run m status -f csv
expect_out "version,name,status" "csv header"
expect_out "20260103000000,tags,pending" "csv rows"

# ---- dry runs ----
run m up --dry-run
expect_rc 0 "up --dry-run exits 0"
expect_out "would apply        20260103000000_tags" "dry run lists what would run"
expect_eq "$(q "$DB" "SELECT to_regclass('tags') IS NULL")" "t" "dry run changes nothing"
run m up --dry-run-execute -f json
expect_rc 0 "up --dry-run-execute exits 0"
expect_json '.migrations[0].status' "would_apply" "dry-run-execute reports what would happen"
expect_eq "$(q "$DB" "SELECT to_regclass('tags') IS NULL AND NOT EXISTS (SELECT 1 FROM tb_confiture WHERE version='20260103000000')")" \
	"t" "dry-run-execute rolls everything back"
migfile "$P" 20260104000000_bad.up.sql 'CREATE TABLE tags (id int);'
run m up --dry-run-execute
expect_rc 3 "dry-run-execute reports a migration that would fail"
expect_err "20260104000000_bad.up.sql:1:1" "with its location"
rm "$P/db/migrations/20260104000000_bad.up.sql"

# ---- --target ----
migfile "$P" 20260105000000_more.up.sql 'CREATE TABLE more (id int);'
run m up --target 20260103000000
expect_rc 0 "up --target exits 0"
expect_eq "$(q "$DB" "SELECT max(version) FROM tb_confiture")" "20260103000000" "up --target stops at the target"
run m up --target 20991231000000
expect_rc 3 "up --target with an unknown version exits 3"
expect_err 'unknown migration version "20991231000000"' "names the unknown version"
run m up
expect_rc 0 "the rest applies"

# ---- failure: file:line:column, SQLSTATE, nothing of it stays ----
migfile "$P" 20260106000000_ok.up.sql 'CREATE TABLE ok6 (id int);'
migfile "$P" 20260107000000_broken.up.sql '-- a comment
CREATE TABLE half (id int);
INSERT INTO half VALUES (1);
SELECT nosuchcol FROM half;
'
migfile "$P" 20260108000000_after.up.sql 'CREATE TABLE after8 (id int);'
run m up
expect_rc 3 "a failing migration exits 3"
expect_err "db/migrations/20260107000000_broken.up.sql:4:8: column \"nosuchcol\" does not exist" \
	"the error names file:line:column from the server position"
expect_err "sqlstate: 42703" "and the SQLSTATE"
expect_err 'while applying migration "20260107000000_broken"' "and the migration"
expect_eq "$(q "$DB" "SELECT to_regclass('half') IS NULL")" "t" "nothing of the failed migration stays"
expect_eq "$(q "$DB" "SELECT to_regclass('ok6') IS NOT NULL")" "t" "earlier migrations stay applied"
expect_eq "$(q "$DB" "SELECT to_regclass('after8') IS NULL")" "t" "later migrations do not run"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture WHERE version >= '20260107000000'")" "0" \
	"no ledger row for the failed migration"
run m up -f json
expect_json '.error.file' "db/migrations/20260107000000_broken.up.sql" "JSON error names the file"
expect_json '.error.line' "4" "JSON error has the line"
expect_json '.error.sqlstate' "42703" "JSON error has the SQLSTATE"
expect_json '.errors[0].file' "db/migrations/20260107000000_broken.up.sql" "the result's error list has it"

# A runtime error without a server position points at the failing statement.
migfile "$P" 20260107000000_broken.up.sql 'CREATE TABLE half (id int);

INSERT INTO half VALUES (1), (1/0);
'
run m up
expect_rc 3 "a runtime error exits 3"
expect_err "20260107000000_broken.up.sql:3:1: division by zero" "it points at the failing statement"
rm "$P/db/migrations/20260107000000_broken.up.sql"
run m up
expect_rc 0 "after fixing, the rest applies"

# ---- transaction wrappers ----
migfile "$P" 20260109000000_wrapped.up.sql 'BEGIN;
CREATE TABLE wrapped (id int);
DO $$ BEGIN RAISE NOTICE '"'inside'"'; END $$;
COMMIT;
'
run m up
expect_rc 0 "a BEGIN/COMMIT wrapper is stripped"
expect_err "stripped the BEGIN/COMMIT" "with a warning"
expect_eq "$(q "$DB" "SELECT to_regclass('wrapped') IS NOT NULL")" "t" "DO \$\$ BEGIN ... END \$\$ is left alone"

migfile "$P" 20260110000000_midcommit.up.sql 'CREATE TABLE mid1 (id int);
COMMIT;
CREATE TABLE mid2 (id int);
'
run m up
expect_rc 3 "a COMMIT in the middle of a file is an error"
expect_err "20260110000000_midcommit.up.sql:2:1: COMMIT in the middle of a migration is not allowed" \
	"it names the COMMIT's location"
expect_eq "$(q "$DB" "SELECT to_regclass('mid1') IS NULL")" "t" "nothing of it ran"
migfile "$P" 20260110000000_midcommit.up.sql 'CREATE TABLE mid1 (id int);
ROLLBACK;'
run m up
expect_err "ROLLBACK in the middle of a migration is not allowed" "a ROLLBACK is refused too"
rm "$P/db/migrations/20260110000000_midcommit.up.sql"

migfile "$P" 20260111000000_syntax.up.sql 'CREATE TABLE syn (id int);
CREAT TABLE x (id int);'
run m up
expect_rc 3 "a file that does not parse stops the run with exit 3"
expect_err "20260111000000_syntax.up.sql:2:1: syntax error" "at the right place"
rm "$P/db/migrations/20260111000000_syntax.up.sql"

# ---- checksums ----
printf 'CREATE TABLE users (id int PRIMARY KEY, email text); -- tampered\n' >"$P/db/migrations/20260101000000_users.up.sql"
run m up
expect_rc 1 "a changed applied migration stops up with exit 1"
expect_err "checksum mismatch" "names the mismatch"
expect_err "20260101000000_users.up.sql" "names the file"
run m up --on-checksum-mismatch warn
expect_rc 0 "--on-checksum-mismatch warn goes on"
expect_err "warning: checksum mismatch" "with a warning"
run m up --on-checksum-mismatch ignore
expect_rc 0 "--on-checksum-mismatch ignore goes on"
expect_no_err "checksum mismatch" "silently"
run m up --on-checksum-mismatch maybe
expect_rc 2 "a bad --on-checksum-mismatch value is a usage error"
run cf --project-dir "$P" -d "$URL" verify-checksums
expect_rc 1 "verify-checksums exits 1 on a mismatch"
expect_out "MISMATCH           20260101000000_users" "and lists it"
run cf --project-dir "$P" -d "$URL" verify-checksums --fix
expect_rc 0 "verify-checksums --fix exits 0"
expect_out "fixed              20260101000000_users" "and says what it fixed"
run cf --project-dir "$P" -d "$URL" verify-checksums -f json
expect_rc 0 "after --fix everything matches"
expect_json '[.migrations[] | select(.status != "checksum_ok")] | length' "0" "JSON: all ok"
# CRLF is not a change.
perl -pi -e 's/\n/\r\n/' "$P/db/migrations/20260102000000_posts.up.sql"
run cf --project-dir "$P" -d "$URL" verify-checksums
expect_rc 0 "CRLF line endings are not a checksum change"
run m up
expect_rc 0 "up accepts a file converted to CRLF"
E=$(newdb empty)
run cf --project-dir "$P" -d "$(dburl "$E")" verify-checksums
expect_rc 2 "verify-checksums without a ledger exits 2"

# ---- current ----
run m current
expect_rc 0 "current exits 0"
expect_eq "$out" "20260109000000" "current prints the bare version of the newest applied migration"
run m current -f json
expect_json '.current' "20260109000000" "JSON current"
run cf --project-dir "$P" -d "$(dburl "$E")" migrate current
expect_rc 2 "current without a ledger exits 2"

# ---- down / down-to ----
run m down
expect_rc 8 "down of a migration without .down.sql exits 8"
expect_err "20260109000000_wrapped.down.sql" "names the missing file"
expect_eq "$(q "$DB" "SELECT to_regclass('wrapped') IS NOT NULL")" "t" "nothing was rolled back"
migfile "$P" 20260103000000_tags.down.sql 'DROP TABLE tags;'
migfile "$P" 20260105000000_more.down.sql 'DROP TABLE more;'
migfile "$P" 20260106000000_ok.down.sql 'DROP TABLE ok6;'
migfile "$P" 20260108000000_after.down.sql 'DROP TABLE after8;'
migfile "$P" 20260109000000_wrapped.down.sql 'DROP TABLE wrapped;'
run m down -n 2
expect_rc 0 "down -n 2 exits 0"
expect_out "rolled back        20260109000000_wrapped" "rolls back the newest first"
expect_out "rolled back        20260108000000_after" "then the next"
expect_eq "$(q "$DB" "SELECT max(version) FROM tb_confiture")" "20260106000000" "their ledger rows are gone"
expect_eq "$(q "$DB" "SELECT to_regclass('wrapped') IS NULL AND to_regclass('after8') IS NULL")" "t" "their objects are gone"
run m down-to 20260106000000
expect_rc 0 "down-to the current version exits 0"
expect_out "nothing to roll back" "and does nothing"
run m down-to 20990101000000
expect_rc 3 "down-to an unknown version exits 3"
rm "$P/db/migrations/20260103000000_tags.down.sql"
run m down-to 20260101000000
expect_rc 8 "down-to with a missing .down.sql in the plan exits 8"
expect_eq "$(q "$DB" "SELECT max(version) FROM tb_confiture")" "20260106000000" "nothing was rolled back: the plan is checked first"
migfile "$P" 20260103000000_tags.down.sql 'DROP TABLE tags;'
run m down-to 20260102000000 --dry-run
expect_rc 0 "down-to --dry-run exits 0"
expect_out "would roll back    20260106000000_ok" "lists what would roll back"
expect_eq "$(q "$DB" "SELECT max(version) FROM tb_confiture")" "20260106000000" "and changes nothing"
run m down-to 20260102000000
expect_rc 0 "down-to rolls back everything newer"
expect_eq "$(q "$DB" "SELECT max(version) FROM tb_confiture")" "20260102000000" "down-to leaves VER current"
migfile "$P" 20260109000000_wrapped.down.sql 'DROP TABLE nosuch_zz;'
run m up
run m down
expect_rc 3 "a failing .down.sql exits 3"
expect_err "20260109000000_wrapped.down.sql:1:1: table \"nosuch_zz\" does not exist" "with the .down.sql's location"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture WHERE version = '20260109000000'")" "1" "its ledger row stays"

# ---- generate ----
G=$(migproject)
rmdir "$G/db/migrations"
run cf --project-dir "$G" migrate generate add_things
expect_rc 0 "generate exits 0 (creating the directory)"
up=$(ls "$G/db/migrations"/*_add_things.up.sql 2>/dev/null | head -n1)
expect_eq "$(basename "$up" | grep -cE '^[0-9]{14}_add_things\.up\.sql$')" "1" "the version is a 14-digit timestamp"
expect_eq "$(ls "$G/db/migrations" | grep -c '_add_things.down.sql$')" "1" "a .down.sql comes with it"
run cf --project-dir "$G" migrate generate thing --version-id 0042
expect_rc 0 "generate --version-id"
expect_out "created db/migrations/0042_thing.up.sql" "prints what it created"
run cf --project-dir "$G" migrate generate thing --version-id 0042
expect_rc 5 "generate refuses to reuse a version"
expect_err 'already used' "says why"
printf 'x' >"$G/db/migrations/0043_other.down.sql"
run cf --project-dir "$G" migrate generate other --version-id 0043
expect_rc 5 "generate refuses to overwrite a file"
expect_err 'refusing to overwrite "db/migrations/0043_other.down.sql"' "names the file"
expect_eq "$(ls "$G/db/migrations" | grep -c '^0043_other.up.sql$')" "0" "and writes nothing"
run cf --project-dir "$G" migrate generate 'bad name'
expect_rc 2 "a bad name is a usage error"

# ---- errors found before connecting ----
BAD="postgresql://postgres@/nosuchdb_zz?host=$PGHOST&port=$PGPORT"
D=$(migproject)
migfile "$D" 001_a.up.sql 'SELECT 1;'
migfile "$D" 001_b.up.sql 'SELECT 1;'
run cf --project-dir "$D" -d "$BAD" migrate up
expect_rc 3 "duplicate versions exit 3"
expect_err 'duplicate migration version in "db/migrations": 001: 001_a.up.sql, 001_b.up.sql' "before connecting"
expect_no_err "could not connect" "(the database is never reached)"
run cf --project-dir "$D" -d "$URL" migrate status -f json
expect_json '.duplicate_versions[0]' "001: 001_a.up.sql, 001_b.up.sql" "status reports duplicates"
O=$(migproject)
migfile "$O" 001_a.up.sql 'SELECT 1;'
migfile "$O" notes.sql 'SELECT 1;'
printf 'migration:\n  strict_mode: true\n' >"$O/confiture.yaml"
run cf --project-dir "$O" -d "$BAD" migrate up
expect_rc 1 "strict mode turns orphans into errors (exit 1)"
expect_err 'orphan migration file (strict mode): db/migrations/notes.sql' "names the orphan"
rm "$O/confiture.yaml"
run cf --project-dir "$O" -d "$BAD" migrate up
expect_rc 5 "a file not named as a migration is an error by default (exit 5)"
expect_err '1 file in "db/migrations" is not named as a migration and would never run: db/migrations/notes.sql' \
	"naming the file, before connecting"
printf 'migration:\n  ignore_unmatched: true\n' >"$O/confiture.yaml"
run cf --project-dir "$O" -d "$(dburl "$(newdb orphans)")" migrate up
expect_rc 0 "with migration.ignore_unmatched it is a warning"
expect_err 'warning: ignoring 1 file that is not named as a migration (migration.ignore_unmatched): db/migrations/notes.sql' \
	"that names the file"
rm "$O/confiture.yaml"
N=$(mktemp -d "$TMP/n.XXXXXX")
run cf --project-dir "$N" -d "$BAD" migrate up
expect_rc 5 "a missing migrations directory exits 5"
expect_err 'migrations directory "db/migrations" does not exist' "with a clear message"
U=$(migproject)
ln -s /nonexistent/file.sql "$U/db/migrations/001_gone.up.sql"
run cf --project-dir "$U" -d "$BAD" migrate up
expect_rc 5 "an unreadable migration file exits 5"
expect_err 'could not read migration file' "names the problem"
expect_err '001_gone.up.sql' "and the file"
expect_no_err "could not connect" "before connecting"

# ---- COPY ... TO STDOUT in a migration: its output is drained, nothing hangs ----
C=$(migproject)
migfile "$C" 001_copy.up.sql 'CREATE TABLE c (id int);
COPY (SELECT 1) TO STDOUT;
INSERT INTO c VALUES (1);
'
CDB=$(newdb copyout)
run timeout 60 "$CONFITURE_BIN" --project-dir "$C" -d "$(dburl "$CDB")" migrate up
expect_rc 0 "COPY TO STDOUT in a migration does not hang"
expect_eq "$(q "$CDB" "SELECT count(*) FROM c")" "1" "and the statements after it run"

# ---- a migration that changes search_path does not lose the ledger ----
S=$(migproject)
SDB=$(newdb searchpath)
migfile "$S" 001_schema.up.sql 'CREATE SCHEMA other; SET search_path = other;'
migfile "$S" 002_next.up.sql 'CREATE TABLE in_other (id int);'
run cf --project-dir "$S" -d "$(dburl "$SDB")" migrate up
expect_rc 0 "search_path: up succeeds when a migration changes search_path"
expect_eq "$(q "$SDB" "SELECT string_agg(version, ',' ORDER BY version) FROM public.tb_confiture")|$(q "$SDB" "SELECT to_regclass('other.tb_confiture') IS NULL")" \
	"001,002|t" "search_path: every row lands in the one ledger"
printf 'migration:\n  tracking_table: audit.ledger\n' >"$S/confiture.yaml"
SDB=$(newdb qualified)
q "$SDB" "CREATE SCHEMA audit" >/dev/null
run cf --project-dir "$S" -d "$(dburl "$SDB")" migrate up
expect_rc 0 "a schema-qualified tracking table"
expect_eq "$(q "$SDB" "SELECT count(*) FROM audit.ledger")|$(q "$SDB" "SELECT count(*) FROM pg_indexes WHERE schemaname = 'audit' AND indexname LIKE 'idx_ledger_%'")" \
	"2|4" "a schema-qualified ledger gets its rows and indexes in its schema"

# ---- help and usage ----
run cf migrate --help
expect_rc 0 "migrate --help"
expect_out "usage: confiture migrate ACTION" "shows usage"
run cf migrate up --frobnicate
expect_rc 2 "unknown option exits 2"
run cf migrate upp
expect_rc 2 "unknown action exits 2"
expect_err 'Did you mean "confiture migrate up"?' "with a hint"
run cf migrate status --target 1
expect_rc 2 "an option of another action is refused"

done_testing
