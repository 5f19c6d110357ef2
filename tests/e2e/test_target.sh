#!/usr/bin/env bash
# One database per command, and the user sees which (issue 12 §2): a
# leftover CONFITURE_DATABASE_URL with an explicit -e, an environment file
# passed as --config, "-h HOST" (psql's habit), the "target:" line on
# stderr (and "target" in JSON), and a bare database name for -d.
. "$(dirname "$0")/../lib.sh"

PROD=$(newdb prod)
STG=$(newdb stg)
P=$TMP/proj
mkdir -p "$P/db/environments" "$P/db/schema" "$P/db/migrations"
cd "$P" || exit 1
printf 'CREATE TABLE t (id int);\n' >db/schema/t.sql
printf 'CREATE TABLE m1 (id int);\n' >db/migrations/001_m1.up.sql
printf 'DROP TABLE m1;\n' >db/migrations/001_m1.down.sql
printf 'database_url: "%s"\nprotected: true\n' "$(dburl "$PROD")" >db/environments/production.yaml
printf 'database_url: "postgresql://postgres:s3cr%%21t@/%s?host=%s&port=%s"\n' "$STG" "$PGHOST" "$PGPORT" \
	>db/environments/staging.yaml
run cf migrate up -e production
run cf migrate up -e staging

# ---- CONFITURE_DATABASE_URL with an explicit -e (item 5) ------------------------------
run env CONFITURE_DATABASE_URL="$(dburl "$PROD")" "$CONFITURE_BIN" -e staging migrate down --dry-run
expect_rc 2 "CONFITURE_DATABASE_URL with -e: exit 2"
expect_err 'CONFITURE_DATABASE_URL is set and --env "staging" is given' "names both"
expect_no_out "would roll back" "nothing was planned"
run env CONFITURE_DATABASE_URL="$(dburl "$PROD")" "$CONFITURE_BIN" -e staging -d "$(dburl "$STG")" migrate down --dry-run
expect_rc 0 "-d on the command line still overrides"
run env CONFITURE_DATABASE_URL="$(dburl "$STG")" "$CONFITURE_BIN" migrate status
expect_rc 0 "CONFITURE_DATABASE_URL alone is still honoured"

# ---- an environment file as --config (item 6) -----------------------------------------
run cf --config db/environments/production.yaml migrate status
expect_rc 5 "an environment file as --config: exit 5"
expect_err '"db/environments/production.yaml" is an environment file, not a project file' "says what it is"
expect_err 'hint: Select the environment with -e production' "says what to do"

# ---- -h is help, not a host (item 7) -------------------------------------------------------
run cf -h db.prod migrate up
expect_rc 2 "-h HOST ...: exit 2"
expect_err 'hint: -h is --help' "explains -h"
expect_err 'PGHOST' "points at -d or PGHOST"
expect_no_out "usage" "does not print the help"
run cf migrate up -h db.prod
expect_rc 2 "-h HOST after the command: exit 2 too"
run cf -h
expect_rc 0 "-h alone is still help"
run cf migrate -h
expect_rc 0 "migrate -h alone is still help"
for c in completion version; do
	run cf $c -h db.prod
	expect_rc 2 "$c -h HOST: exit 2, as every other command"
	run cf $c -h
	expect_rc 0 "$c -h alone is still help"
done
run cf version extra
expect_rc 2 "version with an argument: exit 2"
run cf help migrate extra
expect_rc 2 "help COMMAND with another argument: exit 2"

# ---- the target line (item 8) ---------------------------------------------------------------
run cf migrate down -e staging
expect_rc 0 "migrate down on staging"
expect_err "target: postgres@$PGHOST:$PGPORT/$STG (env staging)" "migrate down names its target first"
expect_no_err "s3cr" "no password in the target line"
first=$(printf '%s\n' "$err" | head -n 1)
expect_eq "$first" "confiture: target: postgres@$PGHOST:$PGPORT/$STG (env staging)" "the target line comes first"
run cf migrate up -e production
expect_err "target: postgres@$PGHOST:$PGPORT/$PROD (env production, protected)" "a protected target says so"
run cf migrate down -e staging -f json
if printf '%s' "$out" | jq -e 'has("target")' >/dev/null 2>&1; then
	expect_json '.target.url' "postgres@$PGHOST:$PGPORT/$STG" "JSON carries the target (no password)"
	expect_json '.target.env' "staging" "JSON carries the environment"
	expect_json '.target.protected' "false" "JSON carries the protection"
else
	skip "the JSON envelope has no \"target\" member yet (the envelope's owner adds it)"
fi
run cf build --apply -e staging
expect_err "target: postgres@$PGHOST:$PGPORT/$STG (env staging)" "build --apply names its target"
run cf build -e staging --no-output
expect_no_err "target:" "a build without --apply writes no database: no target line"
run cf migrate status -e staging
expect_no_err "target:" "status writes nothing: no target line"
run cf migrate up -e staging -q
expect_no_err "target:" "-q keeps it quiet"
S2=$(newdb sync_to)
q "$STG" "CREATE TABLE IF NOT EXISTS s (id int)"
q "$S2" "CREATE TABLE s (id int)"
run cf sync --from staging --to "$(dburl "$S2")"
expect_err "target: postgres@$PGHOST:$PGPORT/$S2" "sync names its target"
expect_no_err "s3cr" "sync: no password anywhere on stderr"

# hooks test runs sql: hooks on the database: it writes, so it names its target.
cat >confiture.yaml <<'EOF'
hooks:
  before_migrate:
    - sql: "CREATE TABLE IF NOT EXISTS hook_ran (id int)"
  after_migrate:
    - run: "echo shell only"
EOF
run cf hooks test before_migrate -e staging
expect_rc 0 "hooks test with a sql: hook"
expect_eq "$(printf '%s\n' "$err" | head -n 1)" "confiture: target: postgres@$PGHOST:$PGPORT/$STG (env staging)" \
	"hooks test names the database its sql: hook writes to, first"
run cf hooks test after_migrate -e staging
expect_no_err "target:" "a run:-only event writes no database: no target line"
rm confiture.yaml
# preflight --against replays the pending migrations there (rolled back).
run cf migrate preflight -e staging --against "$(dburl "$S2")"
expect_err "target: postgres@$PGHOST:$PGPORT/$S2" "preflight --against names the database it replays on"
run cf migrate preflight -e staging
expect_no_err "target:" "preflight alone writes nothing: no target line"

# ---- -d with a bare database name (item 8) -----------------------------------------------
run cf migrate status -d "$STG"
expect_rc 0 "-d NAME: a database name with libpq's defaults"
expect_out "001" "it reached the database"
run cf build --apply -d "$S2"
expect_rc 0 "build --apply -d NAME"
expect_err "target: postgres@$PGHOST:$PGPORT/$S2 (env local)" "the target line shows the database"
expect_eq "$(q "$S2" "SELECT count(*) FROM pg_tables WHERE tablename = 't'")" 1 "and it was built there"

done_testing
