#!/usr/bin/env bash
# Connections: refused, wrong password, doctor, masking, Ctrl-C.
. "$(dirname "$0")/../lib.sh"

db=$(newdb main)
p=$(newproject)
cd "$p"
url=$(dburl "$db")

run cf doctor -d "$url"
expect_rc 0 "doctor connects"
expect_out "connected    yes" "says it connects"
expect_out "server       PostgreSQL 15" "shows the server version"
expect_out "postgres_fdw available" "shows postgres_fdw"
expect_out "ledger       tb_confiture: absent" "shows the ledger is absent"

run cf doctor -d "$url" -f json
expect_json '.connection.connected' "true" "doctor JSON: connected"
expect_json '.connection.server_version_num >= 150000' "true" "doctor JSON: server version"
expect_json '.postgres_fdw.available' "true" "doctor JSON: fdw"
expect_json '.ledger.exists' "false" "doctor JSON: ledger"
q "$db" "CREATE TABLE tb_confiture (version text); INSERT INTO tb_confiture VALUES ('001'), ('002')"
run cf doctor -d "$url" -f json
expect_json '.ledger.applied' "2" "doctor JSON: applied count"
expect_json '.ledger.current' "002" "doctor JSON: current version"

run cf doctor -d "postgresql://app:hunter2@/nope?host=$TMP/nosocket&port=5999"
expect_rc 3 "a refused connection exits 3"
expect_err "could not connect to \"postgresql://app@/nope?host=$TMP/nosocket&port=5999\"" "names the target"
expect_no_err "hunter2" "without the password"
expect_no_out "hunter2" "nor on stdout"
expect_err "confiture: hint: Is the server running?" "hints at the server"

q "$db" "DROP ROLE IF EXISTS cf_pw_user; CREATE ROLE cf_pw_user LOGIN PASSWORD 'correct-horse'"
bad="postgresql://cf_pw_user:battery-staple@/$db?host=$PGHOST&port=$PGPORT"
run cf doctor -d "$bad"
expect_rc 3 "a wrong password exits 3"
expect_err 'password authentication failed for user "cf_pw_user"' "says the password failed"
expect_no_err "battery-staple" "without echoing the password"
expect_err "confiture: hint: Check the password in database_url, PGPASSWORD or ~/.pgpass." "hints at where passwords come from"
run cf doctor -d "$bad" -f json -v
expect_json '.error.code' "3" "JSON error envelope for a wrong password"
expect_no_out "battery-staple" "no password in the JSON"
expect_no_err "battery-staple" "no password in verbose logs"

good="postgresql://cf_pw_user:correct-horse@/$db?host=$PGHOST&port=$PGPORT"
run cf doctor -d "$good" -f json -v
expect_rc 0 "the right password connects"
expect_json '.connection.target' "postgresql://cf_pw_user@/$db?host=$PGHOST&port=$PGPORT" "the target is shown without the password"
expect_json '.settings.database_url.value' "postgresql://cf_pw_user:***@/$db?host=$PGHOST&port=$PGPORT" "the setting is masked"
expect_no_out "correct-horse" "no password anywhere in the JSON"
expect_no_err "correct-horse" "no password in verbose logs"

# PGPASSWORD and .pgpass keep working, because libpq does the parsing.
run env PGPASSWORD=correct-horse "$CONFITURE_BIN" doctor -d "postgresql://cf_pw_user@/$db?host=$PGHOST&port=$PGPORT"
expect_rc 0 "PGPASSWORD works"
printf '*:*:*:cf_pw_user:correct-horse\n' >"$TMP/pgpass"
chmod 600 "$TMP/pgpass"
run env PGPASSFILE="$TMP/pgpass" "$CONFITURE_BIN" doctor -d "postgresql://cf_pw_user@/$db?host=$PGHOST&port=$PGPORT"
expect_rc 0 ".pgpass works"
run env PGDATABASE="$db" "$CONFITURE_BIN" doctor -d "" -f json
expect_json ".connection.target | endswith(\"/$db?host=$PGHOST&port=$PGPORT\")" "true" "an empty URL means libpq's PG* defaults"

# Ctrl-C cancels the running statement and exits 130.
cat >confiture.yaml <<'YAML'
hooks:
  before_migrate:
    - sql: 'SELECT pg_sleep(60)'
      timeout_s: 120
YAML
"$CONFITURE_BIN" hooks test before_migrate -d "$url" >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 50); do
	n=$(q "$db" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND application_name = 'confiture hooks'")
	[ "$n" = 1 ] && break
	sleep 0.1
done
expect_eq "$n" "1" "the statement runs, under application_name \"confiture hooks\""
kill -INT $pid
wait $pid
rc=$?
expect_eq "$rc" "130" "Ctrl-C exits 130"
n=$(q "$db" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'")
expect_eq "$n" "0" "the running statement was cancelled on the server"
err=$(cat "$TMP/int.err")
expect_err "canceling statement due to user request" "reports the cancellation"

done_testing
