#!/usr/bin/env bash
# confiture check: zero configuration on the embedded cluster, every step
# reported (not only the first failure), the drift as SQL, --downs, checksums
# read from an environment, the output formats, and Ctrl-C leaving no
# scratch database behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diff_lib.inc"

SCRATCH=$(dburl postgres)
step() { printf '%s' "$out" | jq -r --arg s "$1" '.steps[] | select(.name == $s) | .status'; }

# A project whose migrations give its db/schema.
good_project() {
	local p
	p=$(migproject)
	mkdir -p "$p/db/schema"
	printf 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n' >"$p/db/schema/10_users.sql"
	printf 'CREATE INDEX users_email ON users (email);\n' >"$p/db/schema/20_index.sql"
	migfile "$p" 001_users.up.sql 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);'
	migfile "$p" 001_users.down.sql 'DROP TABLE users;'
	migfile "$p" 002_index.up.sql 'CREATE INDEX users_email ON users (email);'
	migfile "$p" 002_index.down.sql 'DROP INDEX users_email;'
	echo "$p"
}

# ---- Zero configuration: the embedded cluster --------------------------------------------
P=$(good_project)
run cf --project-dir "$P" check
expect_rc 0 "a consistent project passes with no configuration (embedded cluster)"
expect_out "passed  parse     every DDL and migration file parses: 6 files parse" "the parse step"
expect_out "passed  drift     the migrations give db/schema: the migrations give db/schema" "the drift step"
expect_out "all checks passed" "the summary"
expect_eq "$(cf --project-dir "$P" embedded status -f json | jq -r .running)" "true" "it ran on the project's cluster"
expect_eq "$(psql -XAtq -d "$(cf --project-dir "$P" embedded url | sed 's/dbname=[^ ]*/dbname=postgres/')" \
	-c "SELECT count(*) FROM pg_database WHERE datname LIKE 'cf\_scratch\_%'")" 0 "and dropped its scratch databases"
cf --project-dir "$P" -q embedded destroy >/dev/null 2>&1

# ---- A migration history with a missing step --------------------------------------------------
P=$(good_project)
printf 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, bio text);\n' >"$P/db/schema/10_users.sql"
run_pid cf --project-dir "$P" check --scratch-url "$SCRATCH"
expect_rc 1 "a missing migration step: exit 1"
expect_out "FAILED  drift     the migrations give db/schema: 1 difference between the migrations and db/schema" \
	"the drift step fails"
expect_out "      the migrations lack column public.users.bio" "and says what is missing"
expect_out "ALTER TABLE public.users ADD COLUMN bio text;" "the missing SQL, ready to paste"
expect_out "1 of 5 checks failed" "the summary"
expect_eq "$(scratch_left)" 0 "no scratch database is left"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f json
expect_json '.ok' true "json: a failed check is not an error"
expect_json '.success' false "json: success is false"
expect_json '[.steps[] | .name + "=" + .status] | join(",")' \
	"parse=passed,build=passed,replay=passed,drift=failed,lint=passed" "json: every step and its status"
expect_json '.steps[3].sql | contains("ADD COLUMN bio text")' true "json: the drift's SQL"
expect_json '.migrations | map(.version + ":" + .replay) | join(",")' "001:passed,002:passed" \
	"json: each migration's replay"

# ---- A difference in objects diff does not model still fails the drift ---------------------------------
P=$(good_project)
migfile "$P" 003_rule.up.sql 'CREATE RULE users_keep AS ON DELETE TO users DO INSTEAD NOTHING;'
run cf --project-dir "$P" check --scratch-url "$SCRATCH"
expect_rc 1 "a rule only in the migrations: exit 1"
expect_out "FAILED  drift     the migrations give db/schema: objects diff does not compare differ between the migrations and db/schema" \
	"the drift step fails"
expect_out "      rules differ (1 in from, 0 in to): diff does not compare them" "and says which kind"
migfile "$P" 003_rule.down.sql 'SELECT 1;'
run cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs
expect_out "db/migrations/003_rule.down.sql does not undo its up: rules differ (1 in from, 0 in to)" \
	"a down that leaves the rule behind fails"

# ---- Every failure, not only the first -----------------------------------------------------------
P=$(good_project)
printf 'CREATE TABLE broken (\n  id int,,\n);\n' >"$P/db/schema/30_broken.sql"
migfile "$P" 003_bad.up.sql 'CREATE TABL oops;'
migfile "$P" 004_fails.up.sql 'ALTER TABLE nosuch ADD COLUMN x int;'
run cf --project-dir "$P" check --scratch-url "$SCRATCH"
expect_rc 1 "broken files: exit 1"
expect_out "FAILED  parse     every DDL and migration file parses: 2 of 9 files do not parse" \
	"parse counts the files"
expect_out "      db/schema/30_broken.sql:2:10: syntax error at or near \",\"" "a DDL file, at its line"
expect_out "      db/migrations/003_bad.up.sql:1:8: syntax error at or near \"TABL\"" \
	"and a migration, at its line"
expect_out "skipped build     db/schema builds: the DDL does not parse" "build is skipped, not failed twice"
expect_out "FAILED  replay    the migrations replay from empty" "the replay fails"
expect_out "skipped drift" "the drift needs both"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs
expect_out "skipped downs     each down undoes its up: needs migrations that replay" \
	"--downs: skipped when no migration replays (not \"passed: 0 downs\")"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f json
expect_json '.migrations | map(.version + ":" + .replay) | join(",")' \
	"001:skipped,002:skipped,003:failed,004:skipped" \
	"json: which migration failed (the replay checks every file before it starts)"
rm "$P/db/schema/30_broken.sql" "$P/db/migrations/003_bad.up.sql"
run cf --project-dir "$P" check --scratch-url "$SCRATCH"
expect_out "relation \"nosuch\" does not exist" "a migration that fails on the server"
expect_out "db/migrations/004_fails.up.sql" "names its file"

# ---- --downs ----------------------------------------------------------------------------------------
P=$(good_project)
run cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs
expect_rc 0 "downs that undo their ups: exit 0"
expect_out "passed  downs     each down undoes its up: 2 downs undo their ups" "the downs step"
migfile "$P" 003_extra.up.sql 'CREATE TABLE extra (id int); CREATE TABLE extra2 (id int);'
migfile "$P" 003_extra.down.sql 'DROP TABLE extra;'
migfile "$P" 004_nodown.up.sql 'CREATE TABLE nodown (id int);'
printf 'CREATE TABLE extra (id int);\nCREATE TABLE extra2 (id int);\nCREATE TABLE nodown (id int);\n' \
	>"$P/db/schema/30_more.sql"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs
expect_rc 1 "a down that leaves a table, and a missing down: exit 1"
expect_out "      db/migrations/003_extra.down.sql: db/migrations/003_extra.down.sql does not undo its up: 1 difference remain" \
	"the bad down, at its file"
expect_out "      db/migrations/004_nodown.up.sql: migration \"004_nodown\" has no .down.sql" "the missing down"
expect_out "DROP TABLE public.extra2;" "what the down left behind, as SQL"
run_pid cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs -f junit
expect_out '<testcase classname="confiture.check.migrations" name="003_extra: down"' "junit: a test case per down"
expect_out '<failure message="db/migrations/003_extra.down.sql does not undo its up' "junit: the failure"
expect_out '<testcase classname="confiture.check.migrations" name="001_users: replay" time=' \
	"junit: a test case per replayed migration"
expect_out '<testcase classname="confiture.check" name="drift: the migrations give db/schema"' \
	"junit: a test case per step"
expect_eq "$(printf '%s' "$out" | grep -c '<testcase ')" 14 "junit: 6 steps and 2 cases for each of 4 migrations"
expect_eq "$(scratch_left)" 0 "no scratch database is left"

# ---- A non-transactional migration: its bookkeeping table is confiture's, not a drift --------------
P=$(good_project)
migfile "$P" 003_email_ci.up.sql '-- confiture:no-transaction
CREATE INDEX CONCURRENTLY users_email_lower ON users (lower(email));'
migfile "$P" 003_email_ci.down.sql '-- confiture:no-transaction
DROP INDEX CONCURRENTLY users_email_lower;'
printf 'CREATE INDEX users_email_lower ON users (lower(email));\n' >"$P/db/schema/30_email_ci.sql"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" --downs
expect_rc 0 "a no-transaction migration: check passes (tb_confiture_progress is not a drift)"
expect_out "passed  drift" "the drift step passes"
expect_out "passed  downs" "the downs step passes"
run cf --project-dir "$P" diff --from migrations --to schema --scratch-url "$SCRATCH"
expect_rc 0 "diff --from migrations --to schema: equal"

 ----------------------------------------------------------
P=$(good_project)
ENVDB=$(newdb env)
mkdir -p "$P/db/environments"
printf 'database_url: %s\n' "$(dburl "$ENVDB")" >"$P/db/environments/staging.yaml"
cf --project-dir "$P" -e staging migrate up >/dev/null 2>&1
migfile "$P" 001_users.up.sql 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL); -- edited'
before=$(q "$ENVDB" "SELECT string_agg(version || checksum, ',' ORDER BY version) FROM tb_confiture")
run cf --project-dir "$P" -e staging check --scratch-url "$SCRATCH"
expect_rc 1 "an edited applied migration: exit 1"
expect_out "FAILED  checksums applied migrations match their files" "the checksums step fails"
expect_out "db/migrations/001_users.up.sql: migration \"001_users\" changed after it was applied" "names the file"
expect_eq "$(q "$ENVDB" "SELECT string_agg(version || checksum, ',' ORDER BY version) FROM tb_confiture")" \
	"$before" "the environment's ledger is untouched"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f json
expect_json '[.steps[].name] | index("checksums")' null "without -e there is no checksums step"

# ---- lint: an error-level finding fails its step; -f github and -f sarif ----------------------------
P=$(good_project)
rm "$P/db/schema/20_index.sql"
printf 'CREATE TABLE users (id bigint PRIMARY KEY);\n' >"$P/db/schema/10_users.sql"
migfile "$P" 003_drop.up.sql 'ALTER TABLE users DROP COLUMN email;'
printf 'lint:\n  severity:\n    error: [ban-drop-column]\n' >"$P/confiture.yaml"
run cf --project-dir "$P" check --scratch-url "$SCRATCH"
expect_rc 1 "an error-level lint finding: exit 1"
expect_out "FAILED  lint      the pending migrations pass lint" "the lint step fails"
expect_out "      db/migrations/003_drop.up.sql:1:1: ban-drop-column: " "at the migration's line"
expect_out "passed  drift" "and the other steps still pass"
expect_out "db/migrations/002_index.up.sql:1:1: warning require-" "warnings are printed too"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f github
expect_rc 1 "-f github: exit 1"
expect_out "::error file=db/migrations/003_drop.up.sql,line=1,col=1," "-f github: a workflow annotation at the file and line"
expect_out "title=ban-drop-column::" "-f github: named after the rule"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f sarif
expect_json '.version' "2.1.0" "-f sarif: a SARIF 2.1.0 log"
expect_json '[.runs[0].results[] | select(.ruleId == "ban-drop-column") | .level] | join(",")' "error" \
	"-f sarif: the finding is an error"
expect_json '[.runs[0].tool.driver.rules[].id] | index("drift") != null' "true" "-f sarif: check's steps are rules"
rm "$P/confiture.yaml"
printf 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n' >"$P/db/schema/10_users.sql"
run cf --project-dir "$P" check --scratch-url "$SCRATCH" -f github
expect_out "::error title=drift::the migrations lack column public.users.email" \
	"-f github: a drift is an annotation of its own"

# ---- A scratch server that refuses to create databases: exit 3, not a failed check -----------------
psql -XAtq -d postgres -c "DO \$\$BEGIN CREATE ROLE cf_check_nocreatedb LOGIN NOCREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$" >/dev/null 2>&1
NOCREATE=$(dburl postgres | sed 's#^postgresql://[^@]*@#postgresql://cf_check_nocreatedb@#')
P=$(good_project)
run cf --project-dir "$P" check --scratch-url "$NOCREATE"
expect_rc 3 "--scratch-url without CREATEDB: exit 3 (docs/check.md), not 1"
expect_err "permission denied to create database" "the server's message"
expect_err "The role needs CREATEDB on the scratch server" "and what to do"
run cf --project-dir "$P" check --scratch-url "$NOCREATE" -f json
expect_json '.exit_code' 3 "json: exit_code 3"
expect_json '.errors[0].message' "permission denied to create database" "json: the error"
run cf diff --from "$P/db/schema" --to "$(dburl postgres)" --scratch-url "$NOCREATE"
expect_rc 3 "diff: --scratch-url without CREATEDB exits 3 too"

# ---- Formats and usage -------------------------------------------------------------------------------------
run cf check -f sql
expect_rc 2 "check -f sql exits 2"
expect_err "format \"sql\" is not available for \"check\"" "says it does not write it"
run cf check --nope
expect_rc 2 "an unknown option exits 2"

# ---- Ctrl-C during check leaves no scratch database ---------------------------------------------------------
P=$(good_project)
migfile "$P" 003_slow.up.sql "SELECT pg_sleep(coalesce(current_setting('cf.sleep', true), '0')::float);"
PGOPTIONS="-c cf.sleep=600" "$CONFITURE_BIN" --project-dir "$P" check --scratch-url "$SCRATCH" \
	>"$TMP/int.out" 2>"$TMP/int.err" &
cpid=$!
sleeping=
for _ in $(seq 600); do
	sleeping=$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND application_name = 'confiture check' AND datname LIKE 'cf\_scratch\_${cpid}\_%'")
	[ "$sleeping" = 1 ] && break
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
if [ "$sleeping" = 1 ]; then _ok "check is replaying the slow migration"; else
	_fail "check is replaying the slow migration" "$(q postgres "SELECT application_name, datname, state, left(query, 80) FROM pg_stat_activity WHERE application_name LIKE 'confiture%'")" "$(cat "$TMP/int.out" "$TMP/int.err")"
fi
expect_eq "$(scratch_left "$cpid")" 2 "check is running in two scratch databases"
kill -INT "$cpid"
wait "$cpid"
rc=$?
out=$(cat "$TMP/int.out")
err=$(cat "$TMP/int.err")
expect_rc 130 "Ctrl-C: exit 130"
expect_err "interrupted" "says it was interrupted"
expect_eq "$(scratch_left "$cpid")" 0 "Ctrl-C: no scratch database is left"

# ---- The project `confiture init` writes passes the CI gate as it is ----------------------------
# Its migrations replay from empty to exactly its db/schema, each down undoes
# its up, and lint finds nothing (the newcomer's first `check` is green).
I=$TMP/initcheck
cf init "$I" >/dev/null 2>&1
run cf --project-dir "$I" check --scratch-url "$SCRATCH" --downs -f json
expect_rc 0 "init's project passes check --downs"
expect_json '[.steps[] | "\(.name)=\(.status)"] | join(" ")' \
	"parse=passed build=passed replay=passed drift=passed downs=passed lint=passed" "every step passes"

done_testing
