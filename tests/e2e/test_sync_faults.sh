#!/usr/bin/env bash
# confiture sync under faults: kill -9 in the middle of a multi-table sync
# then --resume (one worker, and split ranges with --jobs), a source
# connection dropped mid-table, Ctrl-C.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
T4="CREATE TABLE t1 (id int PRIMARY KEY, label text);
CREATE TABLE t2 (id int PRIMARY KEY, t1_id int REFERENCES t1(id), label text);
CREATE TABLE t3 (id int PRIMARY KEY, t2_id int REFERENCES t2(id), label text);
CREATE TABLE t4 (id int PRIMARY KEY, t3_id int REFERENCES t3(id), label text);"
q "$SRC" "$T4" >/dev/null
q "$DST" "$T4" >/dev/null
q "$SRC" "INSERT INTO t1 SELECT g, 'one ' || g FROM generate_series(1, 500) g;
          INSERT INTO t2 SELECT g, 1 + g % 500, 'two ' || g FROM generate_series(1, 1000) g;
          INSERT INTO t3 SELECT g, 1 + g % 1000, 'three ' || g FROM generate_series(1, 3000) g;
          INSERT INTO t4 SELECT g, 1 + g % 3000, 'four ' || g FROM generate_series(1, 3000) g; ANALYZE" >/dev/null
# The target holds an older copy: a rolled-back table must keep it.
q "$DST" "INSERT INTO t1 VALUES (1, 'old'); INSERT INTO t2 VALUES (1, 1, 'old'); INSERT INTO t3 VALUES (1, 1, 'old')" >/dev/null
# And triggers in three firing modes, which must come back as they were.
q "$DST" "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
          CREATE TRIGGER t2_origin BEFORE INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION noop();
          CREATE TRIGGER t3_always BEFORE INSERT ON t3 FOR EACH ROW EXECUTE FUNCTION noop();
          ALTER TABLE t3 ENABLE ALWAYS TRIGGER t3_always;
          CREATE TRIGGER t4_replica BEFORE INSERT ON t4 FOR EACH ROW EXECUTE FUNCTION noop();
          ALTER TABLE t4 ENABLE REPLICA TRIGGER t4_replica" >/dev/null
S() { cf sync --project-dir "$P" "$@"; }
# The target's foreign keys (name:validated) and user triggers (name=mode).
constraints() {
	q "$DST" "SELECT (SELECT string_agg(conname || ':' || convalidated::text, ',' ORDER BY conname) FROM pg_constraint WHERE contype = 'f')
	          || ' ' || (SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal)"
}
AS_THEY_WERE="t2_t1_id_fkey:true,t3_t2_id_fkey:true,t4_t3_id_fkey:true t2_origin=O,t3_always=A,t4_replica=R"
expect_eq "$(constraints)" "$AS_THEY_WERE" "the target's foreign keys and triggers, before any sync"
# The guard process of a killed run needs a moment to put them back.
wait_restored() {
	for _ in $(seq 100); do
		[ "$(q "$DST" "SELECT count(*) FROM confiture.sync_restore")" = 0 ] && break
		sleep 0.1
	done
}

# ---- kill -9 between tables, then --resume ----------------------------------------------
cat >"$P/confiture.yaml" <<YAML
hooks:
  before_sync_table:
    - run: 'if [ "\$CONFITURE_TABLE" = public.t3 ] && [ -f $TMP/kill-me ]; then kill -9 \$PPID; sleep 5; fi'
YAML
touch "$TMP/kill-me"
run S --from prod --to staging
expect_rc 137 "confiture is killed with -9 while loading public.t3"
rm -f "$TMP/kill-me"
wait_restored
expect_eq "$(constraints)" "$AS_THEY_WERE" \
	"after kill -9, the target's foreign keys are back and validated, its triggers in their modes"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_restore")" "0" "nothing is left to restore"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].outcome' "interrupted" "the guard marked the killed run interrupted"
expect_json '.runs[0].error | test("its guard restored")' "true" "and says what it did"
expect_eq "$(tcount "$DST" t1)/$(tcount "$DST" t2)" "500/1000" "tables before the kill are complete"
expect_eq "$(q "$DST" "SELECT string_agg(label, ',') FROM t3")" "old" "the table being loaded kept its old contents"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_progress WHERE state = 'done'")" "2" "the progress record says two tables are done"
run S --from prod --to staging --resume --verify -f json
expect_rc 0 "--resume completes the sync"
expect_json '.resumed_from != null' "true" "it continues the interrupted run"
expect_json '.tables_skipped' "2" "finished tables are skipped"
expect_json '.tables["public.t1"].skipped and .tables["public.t2"].skipped' "true" "namely t1 and t2"
expect_json '.total_rows' "6000" "only t3 and t4 are copied"
expect_json '.verified' "true" "and the result verifies"
for t in t1 t2 t3 t4; do
	expect_eq "$(tdump "$DST" $t)" "$(tdump "$SRC" $t)" "$t is complete and consistent"
done
expect_eq "$(constraints)" "$AS_THEY_WERE" "foreign keys are back, validated, and triggers as they were"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '[.runs[].outcome] | join(",")' "success,resumed" "history: the resumed run succeeded, the killed one is marked resumed"
run S --from prod --to staging --resume
expect_rc 0 "--resume with nothing interrupted"
expect_out "no interrupted sync to resume" "says so"

# ---- kill -9 with --jobs 2 in a table split in ranges, then --resume ----------------------------
cat >"$P/db/sync/slow.yaml" <<'YAML'
t4:
  - {column: label, strategy: sql, expression: "(SELECT label FROM pg_sleep(0.001 + 0 * id))"}
YAML
rm -f "$P/confiture.yaml"
"$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --rules "$P/db/sync/slow.yaml" \
	--tables t4 --jobs 2 --split-rows 300 >"$TMP/split.out" 2>&1 &
pid=$!
for _ in $(seq 300); do
	n=$(q "$DST" "SELECT count(*) FROM confiture.sync_progress p JOIN confiture.sync_history h USING (run_id)
	              WHERE h.outcome = 'running' AND p.state = 'done' AND p.range_no >= 0" 2>/dev/null)
	[ "${n:-0}" -ge 2 ] && break
	sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
wait_restored
expect_eq "$(constraints)" "$AS_THEY_WERE" "kill -9 with --jobs 2 mid-table: constraints back as they were"
LAST="(SELECT run_id FROM confiture.sync_history ORDER BY started_at DESC LIMIT 1)"
done_before=$(q "$DST" "SELECT count(*) FROM confiture.sync_progress WHERE run_id = $LAST AND state = 'done' AND range_no >= 0")
ranges=$(q "$DST" "SELECT count(*) FROM confiture.sync_progress WHERE run_id = $LAST AND range_no >= 0")
expect_eq "$([ "$done_before" -ge 2 ] && [ "$done_before" -lt "$ranges" ] && echo yes)" "yes" \
	"killed with some of the $ranges ranges done ($done_before)"
run S --from prod --to staging --rules "$P/db/sync/slow.yaml" --tables t4 --jobs 2 --split-rows 300 --resume -f json
expect_rc 0 "--resume finishes the split table"
expect_json ".tables[\"public.t4\"].ranges" "$ranges" "with the same ranges"
expect_json '.tables["public.t4"].rows < 3000' "true" "finished ranges are not copied again"
expect_eq "$(q "$DST" "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t4")" "3000|3000|1|3000" \
	"the split table is complete, without duplicates"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_progress p WHERE run_id = (SELECT run_id FROM confiture.sync_history ORDER BY started_at DESC LIMIT 1) AND state <> 'done'")" \
	"0" "every item of the resumed run is done"

# ---- The source connection drops in the middle of a table ----------------------------------------
cat >"$P/db/sync/drop.yaml" <<'YAML'
t3:
  - column: label
    strategy: sql
    expression: "CASE WHEN id = 2000 THEN (SELECT pg_terminate_backend(pg_backend_pid()))::text ELSE label END"
YAML
q "$DST" "TRUNCATE t4, t3, t2, t1; INSERT INTO t1 VALUES (1, 'old'); INSERT INTO t2 VALUES (1, 1, 'old'); INSERT INTO t3 VALUES (1, 1, 'old')" >/dev/null
run S --from prod --to staging --rules "$P/db/sync/drop.yaml"
expect_rc 3 "a dropped source connection fails the run"
expect_err "terminating connection due to administrator command" "with the server's reason"
expect_err 'while copying "public.t3" (its target transaction was rolled back)' "naming the table rolled back"
expect_eq "$(q "$DST" "SELECT string_agg(label, ',') FROM t3")" "old" "t3 keeps its old contents"
expect_eq "$(tcount "$DST" t2)" "1000" "the tables before it are complete"
expect_eq "$(constraints)" "$AS_THEY_WERE" "a failed run leaves the constraints as they were"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].outcome' "failed" "the history records the failure"
expect_json '.runs[0].error' "terminating connection due to administrator command" "and its reason"

# ---- Ctrl-C ---------------------------------------------------------------------------------------------
run S --from prod --to staging
expect_rc 0 "a full sync brings the target back in line"
"$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --rules "$P/db/sync/slow.yaml" --tables t4 \
	>"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 300); do
	[ "$(q "$DST" "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %t4% FROM STDIN%'")" = 1 ] && break
	sleep 0.1
done
q "$DST" "SELECT 1" >/dev/null
kill -INT $pid
wait $pid
rc=$?
expect_eq "$rc" "130" "Ctrl-C exits 130"
expect_eq "$(grep -c -e 'interrupted, cancelling' -e 'while copying "public.t4" (its target transaction was rolled back)' "$TMP/int.err")" "2" \
	"says it was interrupted while copying the table, rolled back"
expect_eq "$(tcount "$DST" t4)" "3000" "the table being loaded was rolled back (kept its previous contents)"
expect_eq "$(constraints)" "$AS_THEY_WERE" "an interrupted run leaves the constraints as they were"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].outcome' "interrupted" "the history says interrupted"
run S --from prod --to staging --rules "$P/db/sync/slow.yaml" --tables t4 --resume
expect_rc 0 "and --resume finishes it"

done_testing
