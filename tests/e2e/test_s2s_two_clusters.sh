#!/usr/bin/env bash
# s2s between two clusters with different ports and socket directories, the
# source role logging in with a password (scram): the foreign server must
# point at the source as libpq reached it, and the user mapping must carry
# the password, which is never shown. Then kill -9 in the middle of a table
# and resume, SIGTERM and resume, a wrong stored password, and a source the
# target server cannot reach.
. "$(dirname "$0")/../lib.sh"

X=$CF_TEST_WORK/extra-pg-s2s
if ! env_lines=$("$ROOT/tests/pg-cluster" start "$X" 5499); then
	_fail "start a second cluster on port 5499"
	done_testing
	exit 1
fi
XHOST=$(eval "$env_lines"; echo "$PGHOST")
xq() { psql -h "$XHOST" -p 5499 -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# The test cluster asks cf_pw_user for its password (scram); trust otherwise.
PW="it's a s3cret"
PW_URL="it%27s%20a%20s3cret"
xq postgres "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cf_pw_user') THEN
    CREATE ROLE cf_pw_user LOGIN;
  END IF;
END \$\$; ALTER ROLE cf_pw_user PASSWORD 'it''s a s3cret'" || exit 1
xq postgres "DROP DATABASE IF EXISTS s2s_src" && xq postgres "CREATE DATABASE s2s_src OWNER cf_pw_user" || exit 1
PGPASSWORD=$PW psql -h "$XHOST" -p 5499 -U cf_pw_user -XAtq -v ON_ERROR_STOP=1 -d s2s_src -c "
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2), tags text[],
                        seen timestamptz);
INSERT INTO customers SELECT g, 'c' || g, g * 1.5, ARRAY['a' || g % 3], '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 4000) g;
CREATE TABLE slow (id int PRIMARY KEY, v int);
INSERT INTO slow SELECT g, g FROM generate_series(1, 3000) g;
ANALYZE;" || exit 1

TGT=$(newdb tgt)
TU=$(dburl "$TGT")
SU="postgresql://cf_pw_user:$PW_URL@/s2s_src?host=$XHOST&port=5499"
SU_NOPW="postgresql://cf_pw_user@/s2s_src?host=$XHOST&port=5499"
q "$TGT" "CREATE TABLE clients (id bigint PRIMARY KEY, full_name text NOT NULL, balance numeric(14,2),
                                tags text[], last_seen timestamptz);
          CREATE TABLE slow (id int, v int);" || exit 1

P=$TMP/proj
mkdir -p "$P"
cd "$P" || exit 1
printf 'hooks:\n  before_s2s_step:\n    - run: env >> hook-env.txt\n' >confiture.yaml
cat >map.yaml <<'EOF'
clients:
  source_table: customers
  columns: {id: id, name: full_name, balance: balance, tags: tags, seen: last_seen}
EOF
cat >slow.yaml <<'EOF'
slow:
  columns: {id: id}
  expressions:
    v: "v + 0 * length(pg_sleep(0.001)::text)"
EOF
secret_shown() { grep -rl "s3cret" "$@" 2>/dev/null; }

# ---- setup across clusters, with a password ----------------------------------
run cf s2s setup --source "$SU" --target "$TU" -f json
expect_rc 0 "setup from another cluster exits 0"
expect_json .foreign_server.host "$XHOST" "the foreign server uses the source's socket directory"
expect_json .foreign_server.port 5499 "and its port (not localhost:5432)"
expect_json .foreign_server.has_password true "the user mapping carries the source password"
expect_json .foreign_server.password_required true "and requires it"
expect_no_out "s3cret" "the password is not in the JSON"
expect_no_err "s3cret" "nor on stderr"
expect_eq "$(q "$TGT" "SELECT array_to_string(srvoptions, ' ') FROM pg_foreign_server")" \
	"host=$XHOST port=5499 dbname=s2s_src fetch_size=10000 application_name=confiture s2s options=-c jit=off" \
	"the server options are the source connection's"
expect_eq "$(q "$TGT" "SELECT umoptions @> ARRAY['user=cf_pw_user', 'password=$(echo "$PW" | sed "s/'/''/g")'] FROM pg_user_mappings")" \
	"t" "the user mapping holds the source user and password"
expect_eq "$(q "$TGT" "SELECT count(*) FROM confiture_src.customers")" 4000 \
	"the target reads the source through the mapping (scram)"

run env PGPASSWORD="$PW" "$CONFITURE_BIN" s2s setup --source "$SU_NOPW" --target "$TU" -f json
expect_rc 0 "setup again with PGPASSWORD exits 0"
expect_json .changes_detected false "the same password from PGPASSWORD changes nothing"
printf '*:*:*:cf_pw_user:%s\n' "$(echo "$PW" | sed 's/\\/\\\\/g')" >"$TMP/pgpass"
chmod 600 "$TMP/pgpass"
run env PGPASSFILE="$TMP/pgpass" "$CONFITURE_BIN" s2s setup --source "$SU_NOPW" --target "$TU" -f json
expect_rc 0 "setup with the password from .pgpass exits 0"
expect_json .foreign_server.has_password true "the .pgpass password goes into the user mapping"
expect_json .changes_detected false "and matches the stored one"

# ---- migrate and verify across clusters -------------------------------------------
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --batch-size 1000
expect_rc 0 "migrate across clusters exits 0"
expect_eq "$(q "$TGT" "SELECT count(*), sum(balance), max(last_seen), min(tags::text) FROM clients")" \
	"4000|12003000.00|2024-06-15 16:00:00+00|{a0}" "numeric, timestamptz and arrays arrive intact"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_rc 0 "verify across clusters exits 0"
expect_json '.tables[0].pushed_down' true "the checksum is computed on the source cluster"
q "$TGT" "UPDATE clients SET tags = ARRAY['zz'] WHERE id = 2500"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_rc 1 "verify catches one changed array value"
expect_json '.tables[0].first_diff_key' 2500 "at its key"
q "$TGT" "UPDATE clients SET tags = ARRAY['a1'] WHERE id = 2500"
expect_eq "$(secret_shown hook-env.txt "$CF_TEST_SERVER_LOG")" "" \
	"the password reaches neither a hook's environment nor the target's server log"

# ---- a wrong stored password: the FDW's error, and a hint --------------------------
q "$TGT" "ALTER USER MAPPING FOR CURRENT_USER SERVER confiture_src_server OPTIONS (SET password 'wrong')"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml
expect_rc 3 "a wrong password in the user mapping exits 3"
expect_err 'could not connect to server "confiture_src_server"' "with the FDW's own error"
expect_err 'password authentication failed for user "cf_pw_user"' "and its detail"
expect_err 'Run "confiture s2s setup" again with the source password' "and a hint"
run cf s2s setup --source "$SU" --target "$TU"
expect_out "updated user mapping" "setup repairs the user mapping"
expect_no_out "s3cret" "without showing the password"

# ---- kill -9 in the middle of a table, then resume -----------------------------------
ranges_done() {
	q "$TGT" "SELECT count(*) FROM confiture_src.confiture_s2s_ranges WHERE target_table = 'public.slow'" 2>/dev/null || echo 0
}
wait_ranges() { # N: wait (up to 30 s) until N ranges of slow are recorded
	for _ in $(seq 300); do
		[ "$(ranges_done)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
consistent() {
	q "$TGT" "SELECT (SELECT count(*) FROM slow) = (SELECT coalesce(sum(rows), 0)
	          FROM confiture_src.confiture_s2s_ranges WHERE target_table = 'public.slow')"
}
"$CONFITURE_BIN" s2s migrate --source "$SU" --target "$TU" --mapping slow.yaml --batch-size 100 \
	>"$TMP/kill.out" 2>&1 &
pid=$!
wait_ranges 3
kill -9 $pid
wait $pid 2>/dev/null
n=$(q "$TGT" "SELECT count(*) FROM slow")
[ "$n" -gt 0 ] && [ "$n" -lt 3000 ]
rc=$?
expect_rc 0 "kill -9 leaves the table partly copied ($n of 3000 rows)"
expect_eq "$(consistent)" t "the rows in the table are exactly those of the recorded ranges"
run cf s2s migrate --source "$SU" --target "$TU" --mapping slow.yaml --resume -f json
expect_rc 0 "--resume after kill -9 exits 0"
expect_json '.tables[0].status' resumed "the table is resumed"
expect_json '.tables[0].ranges_skipped > 0' true "the finished ranges are skipped"
expect_eq "$(q "$TGT" "SELECT count(*), count(DISTINCT id), sum(v) FROM slow")" "3000|3000|4501500" \
	"the table is complete, without duplicates"
run cf s2s verify --source "$SU" --target "$TU" --mapping slow.yaml
expect_rc 0 "verify matches after the resume"

# ---- SIGTERM: the running range is cancelled and rolled back ---------------------------
q "$TGT" "TRUNCATE slow; DELETE FROM confiture_src.confiture_s2s_ranges WHERE target_table = 'public.slow';
          DELETE FROM confiture_src.confiture_s2s_plan WHERE target_table = 'public.slow'"
"$CONFITURE_BIN" s2s migrate --source "$SU" --target "$TU" --mapping slow.yaml --batch-size 100 \
	>"$TMP/term.out" 2>"$TMP/term.err" &
pid=$!
wait_ranges 3
kill -TERM $pid
wait $pid
rc=$?
out=$(cat "$TMP/term.out") err=$(cat "$TMP/term.err")
expect_rc 130 "SIGTERM exits 130"
expect_err "interrupted" "and says so"
expect_eq "$(consistent)" t "the interrupted range left nothing behind"
run cf s2s migrate --source "$SU" --target "$TU" --mapping slow.yaml
expect_rc 0 "a plain rerun continues after SIGTERM"
expect_eq "$(q "$TGT" "SELECT count(*), count(DISTINCT id) FROM slow")" "3000|3000" \
	"complete, without duplicates"

# ---- a source the target server cannot reach ------------------------------------------
ln -s "$XHOST" "$TMP/sock"
MOVED="postgresql://cf_pw_user:$PW_URL@/s2s_src?host=$TMP/sock&port=5499"
run cf s2s setup --source "$MOVED" --target "$TU" --staging-schema moved_src
expect_rc 0 "setup through a socket path that will go away"
rm "$TMP/sock"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --staging-schema moved_src
expect_rc 3 "a source the target server cannot reach exits 3"
expect_err 'could not connect to server "moved_src_server"' "with the FDW's own error"
expect_err "The target server connects to the source itself" "and a hint"
expect_err "host \"$TMP/sock\"" "naming the host the server tried"
run cf s2s cleanup --target "$TU" --staging-schema moved_src
expect_rc 0 "cleanup of the stale staging schema"

done_testing
