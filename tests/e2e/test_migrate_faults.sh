#!/usr/bin/env bash
# migrate under faults: kill -9 mid-migration, pg_terminate_backend, two
# concurrent runs, a held lock, and a non-transactional migration killed
# between statements.
. "$(dirname "$0")/../lib.sh"


# A statement that sleeps only when the session sets cf.sleep (PGOPTIONS),
# so that the rerun of the same file is fast.
SLEEP="SELECT pg_sleep(coalesce(current_setting('cf.sleep', true), '0')::float);"

# Waits (up to 20 s) until a confiture backend on DB runs pg_sleep; prints its pid.
wait_sleeping() {
	local pid=
	for _ in $(seq 200); do
		pid=$(q postgres "SELECT pid FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'confiture migrate' AND state = 'active' AND query LIKE '%pg_sleep%' LIMIT 1")
		[ -n "$pid" ] && break
		sleep 0.1
	done
	echo "$pid"
}
# Waits (up to 20 s) until no confiture backend is left on DB.
wait_gone() {
	for _ in $(seq 200); do
		[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'confiture migrate'")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- kill -9 of confiture during a long migration ----
P=$(migproject)
DB=$(newdb kill)
URL=$(dburl "$DB")
migfile "$P" 001_first.up.sql 'CREATE TABLE first (id int);'
migfile "$P" 002_long.up.sql "CREATE TABLE long_a (id int);
INSERT INTO long_a SELECT generate_series(1, 1000);
$SLEEP
CREATE TABLE long_b (id int);
"
PGOPTIONS="-c cf.sleep=60" "$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >/dev/null 2>&1 &
cpid=$!
bpid=$(wait_sleeping "$DB")
expect_eq "$([ -n "$bpid" ] && echo yes)" "yes" "kill -9: the long migration is running"
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
wait_gone "$DB"
expect_eq "$?" "0" "kill -9: the server ends the orphaned session"
expect_eq "$(q "$DB" "SELECT to_regclass('long_a') IS NULL AND to_regclass('long_b') IS NULL")" "t" \
	"kill -9: no half-applied objects"
expect_eq "$(q "$DB" "SELECT string_agg(version, ',') FROM tb_confiture")" "001" \
	"kill -9: no ledger row for the killed migration, the earlier one stays"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "kill -9: the rerun completes"
expect_eq "$(q "$DB" "SELECT count(*) FROM long_a")|$(q "$DB" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" \
	"1000|001,002" "kill -9: the rerun applied the migration once"

# ---- pg_terminate_backend on confiture's connection ----
P=$(migproject)
DB=$(newdb term)
URL=$(dburl "$DB")
migfile "$P" 001_first.up.sql 'CREATE TABLE first (id int);'
migfile "$P" 002_long.up.sql "CREATE TABLE long_a (id int);
$SLEEP
CREATE TABLE long_b (id int);
"
migfile "$P" 003_next.up.sql 'CREATE TABLE next3 (id int);'
out_f=$TMP/term.out err_f=$TMP/term.err
PGOPTIONS="-c cf.sleep=60" "$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >"$out_f" 2>"$err_f" &
cpid=$!
bpid=$(wait_sleeping "$DB")
expect_eq "$(q postgres "SELECT pg_terminate_backend($bpid)")" "t" "terminate: the backend is terminated"
wait "$cpid"
rc=$?
err=$(cat "$err_f")
expect_rc 3 "terminate: confiture exits 3"
expect_err "terminating connection due to administrator command" "terminate: the server's message is reported"
expect_err 'while applying migration "002_long"' "terminate: and the migration"
expect_eq "$(q "$DB" "SELECT to_regclass('long_a') IS NULL AND to_regclass('next3') IS NULL")" "t" \
	"terminate: nothing of the migration (or after it) is left"
expect_eq "$(q "$DB" "SELECT string_agg(version, ',') FROM tb_confiture")" "001" "terminate: the ledger is consistent"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "terminate: the rerun completes"
expect_eq "$(q "$DB" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "001,002,003" \
	"terminate: everything is applied once"

# ---- Ctrl-C: the running statement is cancelled and rolled back ----
P=$(migproject)
DB=$(newdb sigint)
URL=$(dburl "$DB")
migfile "$P" 001_first.up.sql 'CREATE TABLE first (id int);'
migfile "$P" 002_long.up.sql "CREATE TABLE long_a (id int);
$SLEEP
"
PGOPTIONS="-c cf.sleep=60" "$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >/dev/null 2>"$TMP/int.err" &
cpid=$!
bpid=$(wait_sleeping "$DB")
kill -INT "$cpid"
wait "$cpid"
rc=$?
err=$(cat "$TMP/int.err")
expect_rc 130 "sigint: Ctrl-C exits 130"
expect_err "interrupted" "sigint: says it was interrupted"
expect_eq "$(q "$DB" "SELECT (to_regclass('long_a') IS NULL)::text || '/' || string_agg(version, ',') FROM tb_confiture")" \
	"true/001" "sigint: the running migration was rolled back, the earlier one stays"

# ---- two migrate up processes on 20 migrations ----
P=$(migproject)
DB=$(newdb race)
URL=$(dburl "$DB")
migfile "$P" 000_log.up.sql 'CREATE TABLE applied_log (v text);'
for i in $(seq -w 1 20); do
	migfile "$P" "0${i}_m${i}.up.sql" "CREATE TABLE t_$i (id int);
INSERT INTO applied_log VALUES ('$i');
SELECT pg_sleep(0.02);
"
done
"$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >"$TMP/r1.out" 2>"$TMP/r1.err" &
p1=$!
"$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >"$TMP/r2.out" 2>"$TMP/r2.err" &
p2=$!
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
expect_eq "$rc1,$rc2" "0,0" "race: both processes succeed"
expect_eq "$(q "$DB" "SELECT count(*), count(DISTINCT v) FROM applied_log")" "20|20" \
	"race: each migration ran exactly once"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture")" "21" "race: one ledger row each"
n1=$(grep -c '^applied  ' "$TMP/r1.out")
n2=$(grep -c '^applied  ' "$TMP/r2.out")
expect_eq "$((n1 + n2))" "21" "race: the two runs together applied 21 migrations"

# ---- lock held by another session ----
P=$(migproject)
DB=$(newdb lock)
URL=$(dburl "$DB")
migfile "$P" 001_a.up.sql 'CREATE TABLE a (id int);'
# The key as the Python precursor computes it: first 4 bytes of
# sha256(dbname), big-endian, & 0x7fffffff.
key=$(( 0x$(printf '%s' "$DB" | sha256sum | cut -c1-8) & 0x7fffffff ))
PGAPPNAME=holder_app psql -XAtq -d "$DB" -c "SELECT pg_advisory_lock(1751936052, $key)" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
hpid=$!
for _ in $(seq 100); do
	[ "$(q "$DB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1751936052 AND objid = $key AND granted")" = 1 ] && break
	sleep 0.1
done
holder=$(q "$DB" "SELECT pid FROM pg_stat_activity WHERE application_name = 'holder_app'")
run cf --project-dir "$P" -d "$URL" migrate up --lock-timeout 300
expect_rc 6 "lock: a held lock exits 6"
expect_err "is held by pid $holder" "lock: names the holder's pid"
expect_err 'application_name "holder_app"' "lock: names its application_name"
expect_err "client local socket" "lock: names its client address"
expect_err " for " "lock: says how long it has been held"
expect_err "pg_terminate_backend($holder)" "lock: hints how to end it"
expect_eq "$(q "$DB" "SELECT to_regclass('a') IS NULL AND to_regclass('tb_confiture') IS NULL")" "t" "lock: nothing changed"
run cf --project-dir "$P" -d "$URL" migrate up --lock-timeout 0 -f json
expect_rc 6 "lock: --lock-timeout 0 does not wait"
expect_json '.error.code' "6" "lock: JSON error code 6"
printf 'migration:\n  lock_timeout_ms: 200\n' >"$P/confiture.yaml"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 6 "lock: migration.lock_timeout_ms is honoured"
rm "$P/confiture.yaml"
run cf --project-dir "$P" -d "$URL" migrate up --no-lock
expect_rc 0 "lock: --no-lock goes ahead"
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder_app'" >/dev/null

# ---- a non-transactional migration killed between statements ----
P=$(migproject)
DB=$(newdb nontx)
URL=$(dburl "$DB")
migfile "$P" 001_nt.up.sql "-- confiture:no-transaction
CREATE TABLE nt (n int);
INSERT INTO nt VALUES (1);
CREATE INDEX CONCURRENTLY nt_idx ON nt (n);
$SLEEP
INSERT INTO nt VALUES (2);
"
PGOPTIONS="-c cf.sleep=60" "$CONFITURE_BIN" --project-dir "$P" -d "$URL" migrate up >/dev/null 2>&1 &
cpid=$!
bpid=$(wait_sleeping "$DB")
expect_eq "$([ -n "$bpid" ] && echo yes)" "yes" "nontx: running the fourth statement"
kill -9 "$cpid"
wait "$cpid" 2>/dev/null
wait_gone "$DB"
expect_eq "$(q "$DB" "SELECT string_agg(stmt_index || ':' || state, ',' ORDER BY stmt_index) FROM tb_confiture_progress")" \
	"0:done,1:done,2:done" "nontx: the first three statements are recorded as done"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture")" "0" "nontx: no ledger row yet"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "nontx: the rerun completes"
expect_err "resuming db/migrations/001_nt.up.sql" "nontx: the rerun says it resumes"
expect_eq "$(q "$DB" "SELECT string_agg(n::text, ',' ORDER BY n) FROM nt")" "1,2" \
	"nontx: finished statements were not re-run, the rest ran once"
expect_eq "$(q "$DB" "SELECT count(*) FROM tb_confiture_progress")|$(q "$DB" "SELECT version FROM tb_confiture")" \
	"0|001" "nontx: the ledger row is written and the progress cleared"

# A statement recorded as started whose index exists and is valid: the rerun
# sees it completed and does not build it again.
migfile "$P" 002_nt2.up.sql "-- confiture:no-transaction
CREATE INDEX CONCURRENTLY nt2_idx ON nt (n);
INSERT INTO nt VALUES (3);
"
sum=$(sha256sum "$P/db/migrations/002_nt2.up.sql" | cut -d' ' -f1)
q "$DB" "CREATE INDEX nt2_idx ON nt (n)" >/dev/null
q "$DB" "INSERT INTO tb_confiture_progress (version, direction, stmt_index, checksum, state) VALUES ('002', 'up', 0, '$sum', 'started')" >/dev/null
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "nontx: resuming after a completed CREATE INDEX CONCURRENTLY"
expect_err "statement 1 completed before the interruption" "nontx: it is recognized as done"
expect_eq "$(q "$DB" "SELECT count(*) FROM nt WHERE n = 3")" "1" "nontx: the next statement ran"

# A started index build that left an invalid index is dropped and redone.
q "$DB" "CREATE TABLE dups (n int); INSERT INTO dups VALUES (1), (1)" >/dev/null
psql -XAtq -d "$DB" -c "CREATE UNIQUE INDEX CONCURRENTLY dups_u ON dups (n)" >/dev/null 2>&1
expect_eq "$(q "$DB" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dups_u'::regclass")" "f" \
	"nontx: (setup) an interrupted build left an invalid index"
q "$DB" "DELETE FROM dups WHERE ctid = (SELECT min(ctid) FROM dups)" >/dev/null
migfile "$P" 003_nt3.up.sql "-- confiture:no-transaction
CREATE UNIQUE INDEX CONCURRENTLY dups_u ON dups (n);
"
sum=$(sha256sum "$P/db/migrations/003_nt3.up.sql" | cut -d' ' -f1)
q "$DB" "INSERT INTO tb_confiture_progress (version, direction, stmt_index, checksum, state) VALUES ('003', 'up', 0, '$sum', 'started')" >/dev/null
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "nontx: resuming after an interrupted index build"
expect_err "dropping the invalid index" "nontx: the invalid index is dropped"
expect_eq "$(q "$DB" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dups_u'::regclass")" "t" \
	"nontx: and built again"

# Resuming with a changed file is refused.
migfile "$P" 004_nt4.up.sql "-- confiture:no-transaction
CREATE TABLE nt4 (n int);
VACUUM nt4;
"
q "$DB" "INSERT INTO tb_confiture_progress (version, direction, stmt_index, checksum, state) VALUES ('004', 'up', 0, 'deadbeef', 'done')" >/dev/null
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 1 "nontx: a file changed since its interrupted run is refused"
expect_err 'migration file "db/migrations/004_nt4.up.sql" changed since its interrupted run' "nontx: says so"

done_testing
