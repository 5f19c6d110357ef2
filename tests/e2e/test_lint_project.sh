#!/usr/bin/env bash
# confiture lint in a project: pending migrations from the ledger, --all,
# --schema, what it assumes without a database, the server's version and
# session timeouts, context rules, and the hook-up in migrate.
. "$(dirname "$0")/../lib.sh"

P=$(migproject)
DB=$(newdb main)
URL=$(dburl "$DB")
l() { cf --project-dir "$P" -d "$URL" "$@"; }
rules() { printf '%s' "$out" | jq -r '[.findings[] | "\(.file | sub(".*/"; "")):\(.line):\(.rule)"] | join(" ")'; }
sel=require-concurrent-index-creation,data-loss,migration-refused,nontransactional-in-transaction

migfile "$P" 001_users.up.sql 'CREATE TABLE users (id bigint PRIMARY KEY, email text, nick varchar(50));
'
migfile "$P" 002_orders.up.sql 'CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);
'
migfile "$P" 003_idx.up.sql 'CREATE INDEX orders_user_idx ON orders (user_id);
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users ALTER COLUMN nick TYPE varchar(20);
'

# ---- without a database ----
run cf --project-dir "$P" -f json lint --select "$sel"
expect_rc 0 "no database: lints every migration"
expect_json '.scope' "pending" "the scope is pending"
expect_json '.files | length' "3" "all three count as pending"
expect_json '.assumptions | join(" | ")' \
	"no database to ask: assumed PostgreSQL 13 (the oldest supported); --pg-version or lint.pg_version sets another | no database: every migration counts as pending" \
	"and it says what it assumed"
expect_eq "$(rules)" "" \
	"tables that pending migrations create are new and empty: no CONCURRENTLY, no data to lose"

# ---- with the ledger: 001 and 002 applied ----
run l migrate up --target 002
expect_rc 0 "apply 001 and 002"
run l -f json lint --select "$sel"
expect_json '.files | map(sub(".*/"; "")) | join(",")' "003_idx.up.sql" "only the pending migration is linted"
expect_json '.pg_version_from' "server" "the version is the server's"
expect_json '.pg_version >= 150000' "true" "(15 here)"
expect_eq "$(rules)" "003_idx.up.sql:1:require-concurrent-index-creation 003_idx.up.sql:2:require-concurrent-index-creation 003_idx.up.sql:3:data-loss-narrowing" \
	"applied tables hold data: both indexes need CONCURRENTLY; the narrowing knows the old type from 001"
expect_out 'Changing column \"users.nick\" from varchar(50) to varchar(20) can truncate, round or reject its values.' \
	"the narrowing names the column and both types"
expect_json '[.findings[] | select(.rule == "data-loss-narrowing")][0].objects | join(",")' "users.nick" \
	"tagged with the object that loses data"

run l -f json lint --all --select "$sel"
expect_json '.files | length' "3" "--all lints applied migrations too"
expect_json '.scope' "all" "scope all"

# ---- session timeouts: the database's own lock_timeout counts ----
run l -f json lint --select timeout
expect_eq "$(rules)" "003_idx.up.sql:1:require-lock-timeout 003_idx.up.sql:1:require-statement-timeout" \
	"no timeouts set: both rules fire"
q "$DB" "ALTER DATABASE \"$DB\" SET lock_timeout = '3s'"
run l -f json lint --select timeout
expect_eq "$(rules)" "003_idx.up.sql:1:require-statement-timeout" \
	"the database sets lock_timeout for every session: require-lock-timeout is satisfied"
q "$DB" "ALTER DATABASE \"$DB\" RESET lock_timeout"

# ---- what migrate would refuse, and non-transactional statements ----
migfile "$P" 004_tx.up.sql 'CREATE TABLE t4 (id bigint PRIMARY KEY);
COMMIT;
CREATE TABLE t5 (id bigint PRIMARY KEY);
'
migfile "$P" 005_enum.up.sql 'ALTER TYPE mood ADD VALUE '"'meh'"' AFTER '"'ok'"';
'
migfile "$P" 006_cic.up.sql 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_nick_idx ON users (nick);
SELECT 1;
'
run l -f json lint --select "$sel,ban-concurrent-index-creation-in-transaction" --pg-version 11 \
	"$P/db/migrations/004_tx.up.sql" "$P/db/migrations/005_enum.up.sql" "$P/db/migrations/006_cic.up.sql"
expect_eq "$(rules)" "004_tx.up.sql:2:migration-refused 005_enum.up.sql:1:nontransactional-in-transaction" \
	"a COMMIT mid-file is refused by migrate; ADD VALUE cannot run in migrate's transaction on 11; CIC runs outside one"
expect_out 'migrate up would refuse this file: COMMIT in the middle of a migration is not allowed' \
	"the refusal is migrate's own message"
cp "$P/db/migrations/006_cic.up.sql" "$TMP/plain_cic.sql"
run cf -f json lint --select "$sel,ban-concurrent-index-creation-in-transaction" --assume-in-transaction \
	"$TMP/plain_cic.sql"
expect_eq "$(rules)" "plain_cic.sql:1:ban-concurrent-index-creation-in-transaction" \
	"the same file outside a project, assumed in a transaction: Squawk's finding"

# ---- --schema ----
mkdir -p "$P/db/schema/10_tables" "$P/db/seeds"
printf 'CREATE TABLE accounts (id serial PRIMARY KEY);\nCREATE INDEX accounts_idx ON accounts (id);\n' \
	>"$P/db/schema/10_tables/accounts.sql"
printf 'DROP TABLE accounts;\n' >"$P/db/seeds/01.sql"
run l -f json lint --schema --select prefer-identity,require-concurrent-index-creation,data-loss
expect_json '.scope' "schema" "scope schema"
expect_eq "$(rules)" "accounts.sql:1:prefer-identity" \
	"schema files build a fresh database: no CONCURRENTLY needed; seeds left out"
# --schema lints exactly the files the build reads as schema: the build's
# seed rules (a "_seed_" component, seed_dirs), include globs, exclude_dirs.
mkdir -p "$P/db/fixtures" "$P/db/schema/old"
printf 'DROP TABLE accounts;\n' >"$P/db/schema/10_tables/99_seed_data.sql"
printf 'DROP TABLE accounts;\n' >"$P/db/schema/10_tables/skip_me.sql"
printf 'DROP TABLE accounts;\n' >"$P/db/schema/old/gone.sql"
printf 'TRUNCATE accounts;\n' >"$P/db/fixtures/f.sql"
cat >"$P/confiture.yaml" <<'YAML'
include_dirs:
  - path: db/schema
    exclude: ["**/skip_me.sql"]
exclude_dirs: [db/schema/old]
seed_dirs: [db/fixtures]
YAML
run l -f json lint --schema
expect_json '.files | map(sub(".*/"; "")) | join(",")' "accounts.sql" \
	"--schema lints the build's schema files: no seed, excluded or seed_dirs file"
run l -f json build --no-output
expect_json '[.files[] | select(.seed | not) | .path | sub(".*/"; "")] | join(",")' "accounts.sql" \
	"(the build's own schema files)"
rm -r "$P/confiture.yaml" "$P/db/fixtures" "$P/db/schema/old" "$P/db/schema/10_tables/99_seed_data.sql" \
	"$P/db/schema/10_tables/skip_me.sql"
E=$(migproject)
run cf --project-dir "$E" lint --schema
expect_rc 4 "--schema with no schema files: exit 4, as the build"
expect_err 'no SQL files found' "saying so"

# ---- what psql reads (pg_dump's COPY data, \restrict lines), as build and migrate do ----
D=$(migproject)
printf '\\restrict k3y\nCREATE TABLE dumped (id bigint PRIMARY KEY, v text);\nCOPY dumped (id, v) FROM stdin;\n1\thello\n2\tworld\n\\.\nDROP TABLE old_stuff;\n\\unrestrict k3y\n' \
	>"$D/db/migrations/001_dump.up.sql"
run cf --project-dir "$D" -f json lint --offline --select syntax-error,data-loss-drop-table,ban-drop-table
expect_eq "$(rules)" "001_dump.up.sql:7:ban-drop-table 001_dump.up.sql:7:data-loss-drop-table" \
	"a pg_dump-style migration lints as migrate runs it: no syntax error, rules at the file's own lines"
printf 'SELECT 1;\n\\i other.sql\n' >"$D/db/migrations/002_meta.up.sql"
run cf --project-dir "$D" -f json lint --offline --select syntax-error
expect_eq "$(rules)" "002_meta.up.sql:2:syntax-error" "a meta-command psql would run and migrate refuses is still reported"

# ---- migrate up --dry-run and preflight ----
rm "$P"/db/migrations/00[456]_*
run l migrate up --dry-run
expect_rc 0 "migrate up --dry-run runs lint but does not block by default"
expect_err 'confiture: warning: lint ' "and prints its findings as warnings"
expect_err 'data-loss-narrowing' "(the narrowing)"
run l -f json migrate up --dry-run
expect_json '[.warnings[] | select(startswith("lint ") and contains("data-loss-narrowing"))] | length' 1 \
	"with -f json the lint findings are in warnings[], as every warning on stderr"
printf 'lint:\n  block_on: error\n' >"$P/confiture.yaml"
run l migrate up --dry-run
expect_rc 1 "with lint.block_on: error, an error-level finding stops the dry run"
expect_err 'lint found 1 error' "saying why"
run l migrate preflight
expect_rc 7 "and preflight exits 7"
# acknowledge the narrowing on its statement
printf 'CREATE INDEX orders_user_idx ON orders (user_id);\nCREATE INDEX users_email_idx ON users (email);\n-- confiture:lint-ignore data-loss-narrowing\nALTER TABLE users ALTER COLUMN nick TYPE varchar(20);\n' \
	>"$P/db/migrations/003_idx.up.sql"
run l migrate up --dry-run
expect_rc 0 "once acknowledged with lint-ignore, the dry run passes"
run l migrate up
expect_rc 0 "migrate up itself never lints"

# The project `confiture init` writes teaches by example: its sample
# migrations pass every default rule, at the oldest and newest versions.
init=$TMP/initlint
cf init "$init" >/dev/null 2>&1
for v in 13 15; do
	run cf --project-dir "$init" lint --all --pg-version $v -f json
	expect_rc 0 "init's sample migrations lint clean (PostgreSQL $v)"
	expect_json '.message' "3 files, 23 statements: 0 errors, 0 warnings, 0 info" \
		"no finding on init's samples (PostgreSQL $v)"
done

done_testing
