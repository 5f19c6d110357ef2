#!/usr/bin/env bash
# Progress for machines and people: --events JSON Lines in every medium (build,
# seed, migrate, sync, s2s), each event validated against
# docs/schemas/events.schema.json, the done event carrying the -f json document,
# "-" against -f json, fd:N, a reader that goes away; and off a terminal, one
# plain line per table and one every CONFITURE_PROGRESS_INTERVAL seconds
# during a slow table.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

SCHEMA=$ROOT/docs/schemas/events.schema.json
VALIDATE=$ROOT/tests/validate-json

# Every line of FILE validates against the schema.
expect_valid() {
	local report
	if report=$("$VALIDATE" --lines "$SCHEMA" "$1" 2>&1); then _ok "$2"; else
		_fail "$2" "$report" "$(head -c 1500 "$1")"
	fi
}
# jq -r FILTER over the events of FILE (slurped) equals EXPECTED.
expect_ev() {
	local v
	v=$(jq -rs "$2" "$1" 2>&1)
	if [ "$v" = "$3" ]; then _ok "$4"; else
		_fail "$4 (jq '$2')" "expected: $3" "actual:   $v" "$(head -c 1500 "$1")"
	fi
}

# ---- build ----------------------------------------------------------------------
P=$(newproject)
cd "$P" || exit 1
DB=$(newdb build)
run cf build --apply -d "$(dburl "$DB")" --events "$TMP/build.jsonl"
expect_rc 0 "build --apply with --events exits 0"
expect_valid "$TMP/build.jsonl" "build: every event validates against the schema"
expect_ev "$TMP/build.jsonl" '[.[0].event, .[-1].event] | join(",")' "start,done" \
	"build: the stream opens with start and closes with done"
expect_ev "$TMP/build.jsonl" '[.[] | select(.event == "table_done")] | length' "7" \
	"build: one table_done per file"
expect_ev "$TMP/build.jsonl" '[.[] | select(.event == "table_done")][0].item | "\(.kind) \(.name) \(.done)/\(.total)"' \
	"file db/schema/00_common/00_types.sql 4/4" "build: an item is a file, its units statements"
expect_ev "$TMP/build.jsonl" '[.[] | select(.event == "phase") | .phase] | join(",")' \
	"parsing,applying,seeding,writing the schema file" "build: its phases are labeled"
expect_ev "$TMP/build.jsonl" '.[-1] | "\(.success) \(.exit_code) \(.percent) \(.done)/\(.total) \(.items_done)/\(.items_total)"' \
	"true 0 100 18/18 7/7" "build: done carries counters and percent"
expect_ev "$TMP/build.jsonl" '[.[].run_id] | unique | length' "1" "build: one run_id in every event"
expect_ev "$TMP/build.jsonl" '[.[].seq] == ([range(1; length + 1)])' "true" "build: seq counts the events"
expect_err "built database" "build: the text result still reaches the user"
expect_no_out "{" "build: nothing on stdout with a file target"

# The done event carries the same object as -f json.
run cf build --recreate -d "$(dburl "$DB")" -f json --events fd:3 3>"$TMP/build2.jsonl"
expect_rc 0 "build -f json --events fd:3 exits 0"
expect_valid "$TMP/build2.jsonl" "build fd:3: every event validates"
doc=$(printf '%s' "$out" | jq -S 'del(.duration_s, .timings)')
res=$(jq -S '.result | del(.duration_s, .timings)' <(tail -n 1 "$TMP/build2.jsonl"))
expect_eq "$res" "$doc" "the done event's result is the -f json document"

# seed apply is medium 1 too.
SDB=$(newdb seed)
cf build --apply --schema-only -d "$(dburl "$SDB")" -q
run cf seed apply -d "$(dburl "$SDB")" --sequential --events "$TMP/seed.jsonl"
expect_rc 0 "seed apply --events exits 0"
expect_valid "$TMP/seed.jsonl" "seed apply: every event validates"
expect_ev "$TMP/seed.jsonl" '[.[] | select(.event == "table_done") | .item.name] | join(",")' \
	"db/seeds/10_users.sql,db/seeds/20_posts.sql" "seed apply: one table_done per seed file"

# ---- "-", fd:N and bad targets ----------------------------------------------------
run cf build --recreate -d "$(dburl "$DB")" -f json --events -
expect_rc 2 "--events - with -f json is a usage error"
expect_json .error.message "--events - and --format json both write to standard output" "it says why"
expect_json '.error.hint | startswith("Send the events elsewhere")' "true" "and what to do"
run cf build --recreate -d "$(dburl "$DB")" --events fd:9
expect_rc 2 "--events fd:9 with nothing open there exits 2"
expect_err "--events fd:9: file descriptor 9 is not open" "it names the descriptor"
run cf build --recreate -d "$(dburl "$DB")" --events "$TMP/no/such/dir/ev.jsonl"
expect_rc 5 "an events file that cannot be created exits 5"
expect_err "could not open events file \"$TMP/no/such/dir/ev.jsonl\": No such file or directory" \
	"it names the file"
expect_eq "$(q "$DB" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "2" \
	"a bad events target stops the command before it touches the database"
run cf --events - build --show-hash --no-output
expect_rc 0 "--events - in text mode exits 0"
printf '%s\n' "$out" >"$TMP/stdout.jsonl"
expect_valid "$TMP/stdout.jsonl" "with --events -, stdout carries only events"
[[ $err =~ [0-9a-f]{64} ]] && _ok "with --events -, what the command prints goes to stderr" ||
	_fail "no hash on stderr" "$err"

# A FIFO whose reader comes late: the run does not wait for it to open.
mkfifo "$TMP/fifo"
(sleep 1; cat "$TMP/fifo" >"$TMP/fifo.jsonl") &
reader=$!
run cf build --recreate -d "$(dburl "$DB")" --events "$TMP/fifo"
wait $reader
expect_rc 0 "--events to a FIFO whose reader comes late exits 0"
expect_valid "$TMP/fifo.jsonl" "the late reader gets every event, valid"
expect_ev "$TMP/fifo.jsonl" '.[-1].event' "done" "the late reader gets the done event"

# ---- migrate ----------------------------------------------------------------------
M=$(migproject)
migfile "$M" 001_a.up.sql "CREATE TABLE a (id int);"
migfile "$M" 002_b.up.sql "CREATE TABLE b (id int);"
migfile "$M" 003_bad.up.sql "CREATE TABLE a (id int);"
MDB=$(newdb mig)
run cf migrate up --project-dir "$M" -d "$(dburl "$MDB")" --target 002 --events "$TMP/mig.jsonl"
expect_rc 0 "migrate up --events exits 0"
expect_valid "$TMP/mig.jsonl" "migrate: every event validates"
expect_ev "$TMP/mig.jsonl" '[.[] | select(.event == "table_done") | "\(.item.kind):\(.item.name)"] | join(",")' \
	"migration:001_a,migration:002_b" "migrate: one table_done per migration"
expect_ev "$TMP/mig.jsonl" '.[-1] | "\(.unit) \(.done)/\(.total) \(.result.command)"' \
	"migrations 2/2 migrate" "migrate: done counts migrations and carries the result"
run cf migrate up --project-dir "$M" -d "$(dburl "$MDB")" --events "$TMP/migbad.jsonl"
expect_rc 3 "a failing migration exits 3"
expect_valid "$TMP/migbad.jsonl" "migrate failure: every event validates"
expect_ev "$TMP/migbad.jsonl" '[.[] | select(.event == "error")] | map(if .item then "item:" + .item.name else "run:\(.error.code)" end) | join(",")' \
	"item:003_bad,run:3" "migrate failure: an error event for the migration, then for the run"
expect_ev "$TMP/migbad.jsonl" '.[-1] | "\(.event) \(.success) \(.exit_code) \(.result.ok)"' \
	"done false 3 false" "migrate failure: done says how it ended, with the result"
expect_ev "$TMP/migbad.jsonl" '[.[] | select(.event == "error")][0].message' \
	'relation "a" already exists' "migrate failure: the item's error says why"

# A command that runs no medium still opens and closes the stream.
run cf validate-config --project-dir "$M" --events "$TMP/vc.jsonl"
expect_valid "$TMP/vc.jsonl" "validate-config: every event validates"
expect_ev "$TMP/vc.jsonl" '[.[].event] | join(",")' "start,done" "validate-config: start and done"

# ---- sync ----------------------------------------------------------------------------
sync_project
sync_schema "$SRC"
sync_schema "$DST"
sync_fill "$SRC" 200
cd "$P" || exit 1
run cf sync --from prod --to staging --jobs 2 --events "$TMP/sync.jsonl"
expect_rc 0 "sync --events exits 0"
expect_valid "$TMP/sync.jsonl" "sync: every event validates"
expect_ev "$TMP/sync.jsonl" '[.[] | select(.event == "table_done") | .item.name] | sort | join(",")' \
	"public.customers,public.orders,sales.items" "sync: one table_done per table"
expect_ev "$TMP/sync.jsonl" '[.[] | select(.event == "table_start")][0].item.total > 0' "true" \
	"sync: a table starts with the planner's row count"
expect_ev "$TMP/sync.jsonl" '.[-1] | "\(.done) \(.rows) \(.result.total_rows) \(.success)"' \
	"1400 1400 1400 true" "sync: done counts the rows moved, like the result"
expect_ev "$TMP/sync.jsonl" '.[-1] | .run_id == .result.run_id' "true" \
	"sync: the events' run_id is the sync's run_id"
runid=$(jq -rs '.[-1].run_id' "$TMP/sync.jsonl")
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_history WHERE run_id = '$runid'")" "1" \
	"sync: and the one in the target's history"
expect_ev "$TMP/sync.jsonl" '[.[] | select(.event == "phase" and .item == null) | .phase] | join(",")' \
	"preparing the target,copying,setting sequences,restoring constraints and triggers,validating foreign keys" \
	"sync: every phase after the copy is labeled"
expect_err "sync: public.customers: 200 rows in" "sync off a terminal: one line per table"
expect_err "of 3 tables" "sync off a terminal: with the run's counts"

# A reader that goes away ends the stream, not the run.
q "$DST" "TRUNCATE sales.items, orders, customers" >/dev/null
cf --events - sync --from prod --to staging 2>"$TMP/epipe.err" | head -c 1 >/dev/null
rc=${PIPESTATUS[0]}
err=$(cat "$TMP/epipe.err")
expect_rc 0 "sync with an events reader that quits exits 0"
expect_eq "$(tcount "$DST" orders)" "600" "the sync went on to the end"
expect_err "warning: the events stream ended early (Broken pipe); the run went on" \
	"it says the events stopped"

# Off a terminal, a slow table gets a line at least every interval.
q "$SRC" "CREATE TABLE slow (id int PRIMARY KEY, v text);
INSERT INTO slow SELECT g, 'v' || g FROM generate_series(1, 250) g;
CREATE FUNCTION slow_ok(int) RETURNS bool LANGUAGE sql AS 'SELECT pg_sleep(0.01) IS NOT NULL';
ANALYZE slow;" >/dev/null
q "$DST" "CREATE TABLE slow (id int PRIMARY KEY, v text)" >/dev/null
printf 'slow:\n  where: "slow_ok(id)"\n  columns:\n    - {column: v, strategy: redact}\n' >"$P/slow.yaml"
CONFITURE_PROGRESS_INTERVAL=1 run cf sync --from prod --to staging --tables slow --rules slow.yaml \
	--events "$TMP/slow.jsonl"
expect_rc 0 "a slow sync exits 0"
n=$(grep -c "confiture: sync: copying; 0 of 1 tables done" <<<"$err")
[ "$n" -ge 1 ] && _ok "a slow table: plain progress lines while it copies ($n)" ||
	_fail "no progress line during the slow table" "$err"
expect_err "confiture: sync: public.slow: 250 rows in" "then its own line when it is done"
expect_valid "$TMP/slow.jsonl" "slow sync: every event validates"
expect_ev "$TMP/slow.jsonl" '[.[] | select(.event == "progress")] | length > 0' "true" \
	"slow sync: progress events while the table copies"
CONFITURE_PROGRESS_INTERVAL=1 run cf -q sync --from prod --to staging --tables slow --rules slow.yaml \
	--events "$TMP/quiet.jsonl"
expect_no_err "confiture: sync:" "-q: no progress lines"
expect_ev "$TMP/quiet.jsonl" '.[-1].event' "done" "-q: the events are written all the same"

# ---- s2s --------------------------------------------------------------------------------
S2SSRC=$(newdb s2ssrc)
S2STGT=$(newdb s2stgt)
q "$S2SSRC" "CREATE TABLE pairs (id int PRIMARY KEY, a text NOT NULL);
INSERT INTO pairs SELECT g, 'a' || g FROM generate_series(1, 500) g; ANALYZE;" >/dev/null
q "$S2STGT" "CREATE TABLE pairs (id int PRIMARY KEY, a text NOT NULL)" >/dev/null
printf 'pairs:\n  columns: [id, a]\n' >"$TMP/map.yaml"
run cf s2s setup --source "$(dburl "$S2SSRC")" --target "$(dburl "$S2STGT")" --events "$TMP/s2ssetup.jsonl"
expect_rc 0 "s2s setup --events exits 0"
expect_valid "$TMP/s2ssetup.jsonl" "s2s setup: every event validates"
run cf s2s migrate --source "$(dburl "$S2SSRC")" --target "$(dburl "$S2STGT")" --mapping "$TMP/map.yaml" \
	--batch-size 100 --events "$TMP/s2s.jsonl"
expect_rc 0 "s2s migrate --events exits 0"
expect_valid "$TMP/s2s.jsonl" "s2s migrate: every event validates"
expect_ev "$TMP/s2s.jsonl" '[.[] | select(.event == "progress" and .item != null)] | length' "5" \
	"s2s: a progress event per committed key range"
expect_ev "$TMP/s2s.jsonl" '.[-1] | "\(.unit) \(.done)/\(.total) \(.rows) \(.result.ok)"' \
	"ranges 5/5 500 true" "s2s: done counts ranges and rows, and carries the result"
expect_err "s2s: public.pairs: 500 rows, 5 ranges in" "s2s off a terminal: one line per table"

done_testing
