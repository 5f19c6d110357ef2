#!/usr/bin/env bash
# confiture sync's failure policy (issue 13 §4): a table whose connection is
# terminated mid-copy is retried (source side and target side), a table that
# keeps failing is recorded with --continue-on-error while the others go on
# (exit 3, --resume picks it up), sync.table_timeout_s, ANALYZE after the load.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
SCHEMA="CREATE TABLE t1 (id int PRIMARY KEY, label text);
CREATE TABLE t2 (id int PRIMARY KEY, t1_id int REFERENCES t1(id), label text);
CREATE TABLE t3 (id int PRIMARY KEY, label text);"
q "$SRC" "$SCHEMA" >/dev/null
q "$DST" "$SCHEMA" >/dev/null
q "$SRC" "INSERT INTO t1 SELECT g, 'one ' || g FROM generate_series(1, 200) g;
          INSERT INTO t2 SELECT g, 1 + g % 200, 'two ' || g FROM generate_series(1, 400) g;
          INSERT INTO t3 SELECT g, 'three ' || g FROM generate_series(1, 2000) g; ANALYZE" >/dev/null
S() { cf sync --project-dir "$P" "$@"; }
# A slow t3: 2000 rows, 1 ms each on the source.
cat >"$P/slow.yaml" <<'YAML'
t3:
  - {column: label, strategy: sql, expression: "(SELECT label FROM pg_sleep(0.001 + 0 * id))"}
YAML

# Waits until DB runs a COPY of t3, then terminates that backend once.
terminate_copy() { # DB PATTERN
	local victim=
	for _ in $(seq 300); do
		victim=$(q "$1" "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '$2' AND pid <> pg_backend_pid() LIMIT 1")
		[ -n "$victim" ] && break
		sleep 0.05
	done
	sleep 0.3
	q "$1" "SELECT pg_terminate_backend($victim)" >/dev/null
}

# ---- The source backend is terminated mid-table: the table is retried ---------------------------
"$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --rules "$P/slow.yaml" --tables t3 \
	-f json --events "$TMP/src.jsonl" >"$TMP/src.out" 2>"$TMP/src.err" &
pid=$!
terminate_copy "$SRC" 'COPY (SELECT%t3%'
wait $pid
rc=$?
out=$(cat "$TMP/src.out") err=$(cat "$TMP/src.err")
expect_rc 0 "a table whose source connection is terminated mid-copy is retried and the sync succeeds"
expect_json '.tables["public.t3"].retries' "1" "the table says it was retried once"
expect_json '.tables["public.t3"].rows' "2000" "and every row arrived, once"
expect_eq "$(q "$DST" "SELECT count(*), count(DISTINCT id) FROM t3")" "2000|2000" "the target holds each row once"
expect_eq "$(jq -r 'select(.event == "retry") | .item.name' "$TMP/src.jsonl")" "public.t3" "a retry event names the table"

# ---- The target backend is terminated mid-table: retried too (text output) -----------------------
q "$DST" "TRUNCATE t3" >/dev/null
"$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --rules "$P/slow.yaml" --tables t3 \
	>"$TMP/dst.out" 2>"$TMP/dst.err" &
pid=$!
terminate_copy "$DST" 'COPY "public"."t3"%FROM STDIN%'
wait $pid
rc=$?
out=$(cat "$TMP/dst.out") err=$(cat "$TMP/dst.err")
expect_rc 0 "a table whose target connection is terminated mid-copy is retried"
expect_err 'retrying "public.t3" in' "says it retries"
expect_err '(attempt 2 of 4) after a transient failure' "with the attempt and the default of 3 retries"
expect_out "1 retry" "the table's line counts the retry"
expect_eq "$(q "$DST" "SELECT count(*), count(DISTINCT id) FROM t3")" "2000|2000" "complete again"

# ---- A failure that is not transient is not retried; sync.retries bounds the others --------------
printf 'sync:\n  retries: 1\n' >"$P/confiture.yaml"
cat >"$P/drop.yaml" <<'YAML'
t3:
  - column: label
    strategy: sql
    expression: "CASE WHEN id = 1500 THEN (SELECT pg_terminate_backend(pg_backend_pid()))::text ELSE label END"
YAML
run S --from prod --to staging --rules "$P/drop.yaml" --tables t3
expect_rc 3 "a table terminated on every attempt fails after sync.retries"
expect_eq "$(grep -c 'retrying "public.t3"' <<<"$err")" "1" "retried exactly sync.retries (1) times"
expect_err "terminating connection due to administrator command" "and the last error is reported"
rm "$P/confiture.yaml"
printf 't3:\n  - {column: label, strategy: date}\n' >"$P/bad.yaml"
run S --from prod --to staging --rules "$P/bad.yaml" --tables t3 --allow-unmasked
expect_rc 3 "a value that cannot be masked fails at once"
expect_no_err "retrying" "without a retry"

# ---- --continue-on-error: one table keeps failing, the others go on --------------------------------
q "$DST" "TRUNCATE t1, t2, t3; INSERT INTO t1 VALUES (1, 'old'); INSERT INTO t2 VALUES (1, 1, 'old');
          ALTER TABLE t2 ADD CONSTRAINT no_two_five CHECK (label <> 'two 5')" >/dev/null
run S --from prod --to staging --continue-on-error -f json
expect_rc 3 "a table failing with --continue-on-error exits 3"
expect_json '.tables_failed' "1" "one table failed"
expect_json '.tables["public.t2"].failed' "true" "namely t2"
expect_json '.tables["public.t2"].error | test("no_two_five")' "true" "with its reason"
expect_json '.tables["public.t1"].failed or .tables["public.t3"].failed' "false" "the others did not fail"
expect_json '.error.message' '1 table could not be copied: "public.t2"' "the error lists the failed tables"
expect_eq "$(tcount "$DST" t1)/$(tcount "$DST" t3)" "200/2000" "the other tables were copied"
expect_eq "$(q "$DST" "SELECT string_agg(label, ',') FROM t2")" "old" "the failed table kept its old contents"
expect_eq "$(q "$DST" "SELECT state FROM confiture.sync_progress WHERE item = 'public.t2' ORDER BY finished_at DESC LIMIT 1")" \
	"failed" "its progress item says failed"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" "1" "its foreign key is back"
run S --from prod --to staging --continue-on-error
expect_rc 3 "in text too"
expect_out "public.t2" "the table's line"
expect_out "FAILED, kept its old contents" "says it failed"
expect_err '1 table could not be copied: "public.t2"' "and the error names it"
q "$DST" "ALTER TABLE t2 DROP CONSTRAINT no_two_five" >/dev/null
run S --from prod --to staging --resume -f json
expect_rc 0 "--resume picks the failed table up"
expect_json '.tables_skipped' "2" "the tables done are skipped"
expect_json '.tables["public.t2"].rows' "400" "the failed one is copied"
expect_eq "$(tdump "$DST" t2)" "$(tdump "$SRC" t2)" "and is complete"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")" "1" "its foreign key validated"
q "$DST" "ALTER TABLE t2 ADD CONSTRAINT no_two_five CHECK (label <> 'two 5') NOT VALID" >/dev/null
run S --from prod --to staging
expect_rc 3 "without --continue-on-error the first failing table stops the run"
q "$DST" "ALTER TABLE t2 DROP CONSTRAINT no_two_five" >/dev/null

# ---- sync.table_timeout_s ------------------------------------------------------------------------------
printf 'sync:\n  table_timeout_s: 1\n' >"$P/confiture.yaml"
run S --from prod --to staging --rules "$P/slow.yaml" --tables t3
expect_rc 3 "a table slower than sync.table_timeout_s fails"
expect_err "canceling statement due to statement timeout" "on the statement timeout"
expect_no_err "retrying" "which is not retried"
rm "$P/confiture.yaml"

# ---- ANALYZE after the load, --no-analyze -----------------------------------------------------------------
q "$DST" "SELECT pg_stat_reset()" >/dev/null
run S --from prod --to staging --tables t1 --no-analyze
expect_rc 0 "a sync with --no-analyze"
sleep 0.6 # statistics reach pg_stat_user_tables asynchronously
expect_eq "$(q "$DST" "SELECT last_analyze IS NULL FROM pg_stat_user_tables WHERE relname = 't1'")" "t" \
	"--no-analyze leaves the table unanalyzed"
run S --from prod --to staging --tables t1,t2
expect_rc 0 "a sync"
sleep 0.6
expect_eq "$(q "$DST" "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname IN ('t1', 't2')")" \
	"t1,t2" "each loaded table is analyzed"

# ---- sync.analyze_target: coarser statistics for less time ---------------------------------------------
bounds() { q "$DST" "SELECT array_length(histogram_bounds::text::int[], 1) FROM pg_stats WHERE tablename = 't1' AND attname = 'id'"; }
expect_eq "$(bounds)" "101" "by default the server's statistics target (100: 101 histogram bounds)"
printf 'sync:\n  analyze_target: 10\n' >"$P/confiture.yaml"
run S --from prod --to staging --tables t1
expect_rc 0 "a sync with sync.analyze_target: 10"
expect_eq "$(bounds)" "11" "its ANALYZE used that target"
printf 'sync:\n  analyze_target: -1\n' >"$P/confiture.yaml"
run S --from prod --to staging --tables t1
expect_rc 5 "a negative sync.analyze_target is refused"
expect_err "analyze_target" "naming the key"
rm "$P/confiture.yaml"

done_testing
