#!/usr/bin/env bash
# confiture build: hooks (before_build, after_build, on_error), progress on a
# tty, and faults during --apply (Ctrl-C, a terminated backend).
. "$(dirname "$0")/../lib.sh"

P=$(newproject)
cd "$P" || exit 1
db=$(newdb hooks)
url=$(dburl "$db")
mkdir -p db/environments
cat >db/environments/hk.yaml <<EOF
database_url: "$url"
hooks:
  before_build:
    - run: 'echo "\$CONFITURE_EVENT env=\$CONFITURE_ENV db=\$CONFITURE_DATABASE" > "$TMP/before"'
  after_build:
    - run: 'echo "\$CONFITURE_EVENT success=\$CONFITURE_SUCCESS ms=\$CONFITURE_ELAPSED_MS" > "$TMP/after"'
    - sql: "CREATE TABLE built_marker (at timestamptz DEFAULT now())"
  on_error:
    - run: 'echo "\$CONFITURE_ERROR" > "$TMP/onerror"'
EOF

run cf build --apply -e hk
expect_rc 0 "a build with hooks exits 0"
expect_eq "$(cat "$TMP/before" 2>/dev/null)" "before_build env=hk db=$db" "before_build ran, with its context"
[[ $(cat "$TMP/after" 2>/dev/null) =~ ^after_build\ success=true\ ms=[0-9]+$ ]] &&
	_ok "after_build ran, with success and elapsed_ms" || _fail "after_build context" "$(cat "$TMP/after" 2>/dev/null)"
expect_eq "$(q "$db" "SELECT count(*) FROM built_marker")" "0" "the after_build SQL hook ran on the built database"
[ ! -e "$TMP/onerror" ] && _ok "on_error did not fire on success" || _fail "on_error fired"

# A failing build fires on_error with the message.
printf 'CREATE TABLE t (a int,,);\n' >db/schema/99_bad.sql
rm -f "$TMP/before" "$TMP/after"
run cf build --apply -e hk
expect_rc 4 "a parse error with hooks exits 4"
expect_eq "$(cat "$TMP/onerror" 2>/dev/null)" 'syntax error at or near ","' "on_error got the error"
[ ! -e "$TMP/after" ] && _ok "after_build did not fire on failure" || _fail "after_build fired"
rm db/schema/99_bad.sql

# A failing before_build hook aborts before anything changes.
db2=$(newdb hooks_abort)
url2=$(dburl "$db2")
cat >db/environments/abort.yaml <<EOF
database_url: "$url2"
hooks:
  before_build:
    - run: "exit 7"
EOF
run cf build --recreate -e abort
expect_rc 5 "a failing before_build hook exits 5"
expect_err 'hook for "before_build" failed with exit code 7' "names the hook's failure"
expect_eq "$(q "$db2" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "0" "nothing was built"

# Progress: bars redrawn on a tty (each phase drawn), none with -q, none off a tty.
db3=$(newdb progress)
url3=$(dburl "$db3")
script -qec "$CONFITURE_BIN build --apply -d '$url3' --no-color" /dev/null >"$TMP/tty" 2>&1
tty_out=$(tr '\r' '\n' <"$TMP/tty")
[[ $tty_out == *"build parsing 0/7 "* ]] && _ok "progress: the parse phase with its file count" || _fail "no parse bar" "$tty_out"
[[ $tty_out == *"build applying ["*"0/7 files  0/18 statements"* ]] && _ok "progress: the apply phase with the planner's totals" || _fail "no apply bar" "$tty_out"
[[ $tty_out == *"build seeding ["*"%  5/7 files  16/18 statements"* ]] && _ok "progress: the seeds phase, with percent and counts" || _fail "no seeds bar" "$tty_out"
script -qec "$CONFITURE_BIN build --recreate -q -d '$url3' --no-color" /dev/null >"$TMP/tty" 2>&1
[ ! -s "$TMP/tty" ] && _ok "progress: -q silences it" || _fail "-q printed" "$(cat "$TMP/tty")"
run cf build --recreate -d "$url3"
expect_no_err "build applying" "progress: no bars when stderr is not a tty"

# Ctrl-C during --apply: the statement is cancelled and everything rolled back.
db4=$(newdb cancel)
url4=$(dburl "$db4")
printf 'CREATE TABLE before_sleep (id int);\nSELECT pg_sleep(60);\n' >db/schema/50_sleep.sql
wait_sleep() {
	for _ in $(seq 100); do
		[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND query LIKE 'SELECT pg_sleep(60)%'")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
"$CONFITURE_BIN" build --apply -d "$url4" >"$TMP/c.out" 2>"$TMP/c.err" &
pid=$!
wait_sleep "$db4" && _ok "cancel: the build reached the long statement" || _fail "cancel: never reached pg_sleep"
kill -INT $pid
wait $pid
rc=$?
expect_eq "$rc" 130 "Ctrl-C exits 130"
grep -q "canceling statement due to user request" "$TMP/c.err" && _ok "cancel: the server cancelled the statement" ||
	_fail "cancel: message" "$(cat "$TMP/c.err")"
expect_eq "$(q "$db4" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "0" "cancel: rolled back"

# The backend is terminated during --apply: exit 3, rolled back.
"$CONFITURE_BIN" build --apply -d "$url4" >"$TMP/t.out" 2>"$TMP/t.err" &
pid=$!
wait_sleep "$db4" || _fail "terminate: never reached pg_sleep"
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db4' AND query LIKE 'SELECT pg_sleep(60)%'" >/dev/null
wait $pid
rc=$?
expect_eq "$rc" 3 "a terminated backend exits 3"
grep -q "terminating connection due to administrator command" "$TMP/t.err" &&
	_ok "terminate: the server's message" || _fail "terminate: message" "$(cat "$TMP/t.err")"
grep -q "50_sleep.sql" "$TMP/t.err" && _ok "terminate: names the file being run" ||
	_fail "terminate: no file" "$(cat "$TMP/t.err")"
expect_eq "$(q "$db4" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "0" "terminate: nothing committed"
rm db/schema/50_sleep.sql

# A lock held by another session: the build waits, and fails cleanly on lock_timeout.
db5=$(newdb lock)
url5=$(dburl "$db5")
run cf build --apply --schema-only -d "$url5"
mkdir -p extra
printf "SET lock_timeout = '300ms';\nALTER TABLE users ADD COLUMN nickname text;\n" >extra/10_alter.sql
cat >db/environments/lk.yaml <<EOF
database_url: "$url5"
include_dirs: [extra]
EOF
psql -XAtq -d "$db5" -c "BEGIN; LOCK TABLE users; SELECT pg_sleep(20);" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do
	[ "$(q postgres "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '$db5' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ] && break
	sleep 0.1
done
run cf build --apply -e lk
expect_rc 4 "a lock timeout exits 4"
expect_err "extra/10_alter.sql:2:1: canceling statement due to lock timeout" "at the statement that waited"
expect_err "sqlstate: 55P03" "lock_not_available"
kill $holder 2>/dev/null
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db5' AND pid <> pg_backend_pid()" >/dev/null
wait $holder 2>/dev/null
expect_eq "$(q "$db5" "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'nickname'")" \
	"0" "the column was not added"

done_testing
