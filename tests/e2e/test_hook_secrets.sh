#!/usr/bin/env bash
# Secrets and hooks (issue 12 §4): every form of a password (raw,
# percent-encoded, inside a key=value conninfo) is kept out of a hook's
# environment and scrubbed from its output; ${...} in a hook command is not
# expanded into the command string (the shell expands it from the
# environment, as data), "$${" still means a literal "${", and ${...} stays
# literal in sql: hooks.
. "$(dirname "$0")/../lib.sh"

DB=$(newdb hooks)
P=$TMP/proj
mkdir -p "$P/db/environments" "$P/db/migrations"
cd "$P" || exit 1
printf 'CREATE TABLE m (id int);\n' >db/migrations/001_m.up.sql
# The password "p!ss w'rd" percent-encoded, as a URL needs it.
ENC='p%21ss%20w%27rd'
printf 'database_url: "postgresql://postgres:%s@/%s?host=%s&port=%s"\n' "$ENC" "$DB" "$PGHOST" "$PGPORT" \
	>db/environments/staging.yaml

# ---- the password in every form, kept from the hook ------------------------------------
cat >confiture.yaml <<'EOF'
hooks:
  before_migrate:
    - run: 'echo "url=${APP_DATABASE_URL}"; echo "dsn=$APP_DSN"; echo "plain=$APP_PW"; env > hook-env.txt'
EOF
export APP_DATABASE_URL="postgresql://postgres:$ENC@/$DB?host=$PGHOST&port=$PGPORT"
export APP_DSN="host=$PGHOST password='p!ss w\\'rd' dbname=$DB"
export APP_PW="p!ss w'rd"
export APP_OTHER_URL="postgresql://bob:other-secret@db.example/app"
run cf hooks test before_migrate -e staging
expect_rc 0 "the hook runs"
expect_no_err "p%21ss" "the percent-encoded password does not reach the hook's output"
expect_no_err "p!ss" "nor the raw one"
expect_err "url=" "the hook ran its echo"
hook_env=$(cat hook-env.txt)
for form in "p%21ss" "p!ss" "w\\'rd" "other-secret"; do
	if [[ $hook_env == *"$form"* ]]; then
		_fail "the hook's environment holds a secret ($form)" "$(grep -F -- "$form" hook-env.txt)"
	else
		_ok "the hook's environment has no secret ($form)"
	fi
done
expect_eq "$(grep -c '^PATH=' hook-env.txt)" 1 "ordinary variables still reach the hook"
unset APP_DATABASE_URL APP_DSN APP_PW APP_OTHER_URL

# ---- output scrubbing: a hook that prints the password itself ------------------------------
printf 'postgresql://postgres:%s@h/db password=%s raw=%s\n' "$ENC" "'p!ss w\\'rd'" "p!ss w'rd" >leak.txt
cat >confiture.yaml <<'EOF'
hooks:
  before_migrate:
    - run: cat leak.txt
EOF
run cf hooks test before_migrate -e staging
expect_rc 0 "the leaking hook runs"
expect_err "postgresql://postgres:***@h/db" "a percent-encoded password in hook output is masked"
expect_no_err "p%21ss" "no percent-encoded form is left"
expect_no_err "p!ss" "no raw form is left"
expect_no_err "w\\'rd" "no conninfo-quoted form is left"

# ---- ${...} in a run: hook is data, not code -----------------------------------------------
cat >confiture.yaml <<'EOF'
hooks:
  before_migrate:
    - run: 'echo "user=${DEPLOY_USER:-x}"'
    - run: 'echo "literal=$${DEPLOY_USER}"'
EOF
run env DEPLOY_USER='x; touch pwned' "$CONFITURE_BIN" hooks test before_migrate -e staging
expect_rc 0 "the hook runs"
expect_eq "$([ -e pwned ] && echo yes || echo no)" "no" "the variable's value was not executed"
expect_err "user=x; touch pwned" "the shell expanded it as data"
expect_err 'literal=x; touch pwned' '$${ gives the shell a ${'
run env -u DEPLOY_USER "$CONFITURE_BIN" hooks test before_migrate -e staging
expect_rc 0 "an unset variable in a hook is no config error (the shell's default applies)"
expect_err "user=x" "the shell's :- default"
run env DEPLOY_USER='x; touch pwned' "$CONFITURE_BIN" hooks list -e staging
expect_out 'echo "user=${DEPLOY_USER:-x}"' "hooks list shows the command as written"

# ${...} outside hooks is still expanded.
printf 'database_url: "${CF_HS_URL}"\n' >db/environments/other.yaml
run env CF_HS_URL="$(dburl "$DB")" "$CONFITURE_BIN" migrate status -e other
expect_rc 2 "\${VAR} in database_url is still expanded (the ledger is simply absent)"
run env -u CF_HS_URL "$CONFITURE_BIN" migrate status -e other
expect_rc 5 "and a missing variable there is still a config error"
expect_err 'environment variable "CF_HS_URL" is not set' "naming it"

# ---- sql: hooks keep ${...} literal -----------------------------------------------------------
q "$DB" "CREATE TABLE hook_log (v text)"
cat >confiture.yaml <<'EOF'
hooks:
  before_migrate:
    - sql: "INSERT INTO hook_log VALUES ('${DEPLOY_USER}')"
EOF
run env DEPLOY_USER="x'); DROP TABLE hook_log; --" "$CONFITURE_BIN" hooks test before_migrate -e staging
expect_rc 0 "the sql: hook runs"
expect_eq "$(q "$DB" "SELECT v FROM hook_log")" '${DEPLOY_USER}' "the SQL holds the text as written, not the variable"

done_testing
