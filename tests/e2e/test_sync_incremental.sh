#!/usr/bin/env bash
# confiture sync --incremental (issue 13 §1): only the rows changed since the
# last sync move (inserts, updates and deletes across key ranges, composite
# keys, a NOT NULL unique key), masked like a full sync; tables without a
# usable key (none, or one that allows NULLs) are copied in full and say so;
# foreign keys hold; counts per table and in total; the history says so.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
SCHEMA="CREATE TABLE parent (id int PRIMARY KEY, name text, email text);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), note text, amount numeric(10,2));
CREATE TABLE pairs (region text, code int, label text, PRIMARY KEY (region, code));
CREATE TABLE handles (handle text NOT NULL UNIQUE, score int);
CREATE TABLE maybe (ref int UNIQUE, v text);
CREATE TABLE loose (a int, b text);
CREATE TABLE logins (id int PRIMARY KEY, login text NOT NULL UNIQUE);"
q "$SRC" "$SCHEMA" >/dev/null
q "$DST" "$SCHEMA" >/dev/null
TWIN=$(newdb twin) # a full sync of the same source, to compare with
q "$TWIN" "$SCHEMA" >/dev/null
q "$SRC" "INSERT INTO parent SELECT g, 'Name' || g, 'px' || g || '@inc-secret.example' FROM generate_series(1, 300) g;
INSERT INTO child SELECT g, 1 + g % 300, 'note ' || g || ' from cx' || g || '@inc-secret.example', g * 1.5 FROM generate_series(1, 3000) g;
INSERT INTO pairs SELECT r, g, 'label ' || r || g FROM unnest(ARRAY['north', 'south', 'east']) r, generate_series(1, 200) g;
INSERT INTO handles SELECT 'h' || g, g FROM generate_series(1, 500) g;
INSERT INTO maybe SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, 'v' || g FROM generate_series(1, 100) g;
INSERT INTO loose SELECT g, 'b' || g FROM generate_series(1, 100) g;
INSERT INTO logins SELECT g, 'login' || g FROM generate_series(1, 50) g;
ANALYZE" >/dev/null
cat >"$P/db/sync/anonymization.yaml" <<'YAML'
parent:
  - {column: name, strategy: name}
  - {column: email, strategy: email}
child:
  - {column: note, strategy: text_redact}
YAML
S() { cf sync --project-dir "$P" --anonymize "$@"; }
# Every table of a database, as one digest.
digest() { q "$1" "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
	SELECT 'p' || p::text x FROM parent p UNION ALL SELECT 'c' || c::text FROM child c
	UNION ALL SELECT 'r' || r::text FROM pairs r UNION ALL SELECT 'h' || h::text FROM handles h
	UNION ALL SELECT 'm' || m::text FROM maybe m UNION ALL SELECT 'l' || l::text FROM loose l) s"; }

run S --from prod --to staging
expect_rc 0 "a full anonymized sync first"

# ---- Nothing changed: nothing moves ------------------------------------------------------------
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync right after"
expect_json '.mode' "incremental" "the run says incremental"
expect_json '.tables["public.parent"].mode + " " + .tables["public.child"].mode + " " + .tables["public.pairs"].mode + " " + .tables["public.handles"].mode' \
	"incremental incremental incremental incremental" "keyed tables are compared (composite key, NOT NULL unique key)"
expect_json '[.tables["public.parent", "public.child", "public.pairs", "public.handles"] | .counts | .added + .updated + .deleted] | add' \
	"0" "the compared tables: nothing to add, update or delete"
expect_json '[.counts.added, .counts.updated, .counts.deleted] | join(",")' "0,0,0" \
	"the keyless tables are in line too (unmasked: compared by checksum, not copied)"
expect_json '.tables["public.child"].counts.unchanged' "3000" "every row unchanged"
expect_json '.tables["public.child"].rows' "0" "and no row crossed the wire"
expect_json '.tables["public.loose"].mode_reason' "it has no primary key or unique key on NOT NULL columns" \
	"a table without a key is copied in full, and says why"
expect_json '.tables["public.maybe"].mode_reason' 'its only unique key "maybe_ref_key" allows NULLs' \
	"a unique key with NULLs cannot match rows: copied in full"
expect_json '.tables["public.loose"].counts | [.unchanged, .added, .deleted] | join(",")' "100,0,0" \
	"and count as unchanged"

# ---- Inserts, updates and deletes across key ranges ------------------------------------------------
q "$SRC" "UPDATE parent SET name = name || ' Jr' WHERE id IN (1, 150, 300);
INSERT INTO parent VALUES (301, 'New Parent', 'new301@inc-secret.example');
UPDATE child SET amount = amount + 1 WHERE id % 500 = 0;
DELETE FROM child WHERE id IN (7, 1500, 2999);
INSERT INTO child SELECT g, 301, 'fresh ' || g, 1 FROM generate_series(3001, 3004) g;
UPDATE pairs SET label = 'moved' WHERE region = 'south' AND code IN (1, 100, 200);
DELETE FROM pairs WHERE region = 'east' AND code > 195;
INSERT INTO pairs VALUES ('west', 1, 'w');
DELETE FROM handles WHERE handle = 'h10'; INSERT INTO handles VALUES ('h10b', 10);
UPDATE maybe SET v = 'x' WHERE ref = 1;
UPDATE loose SET b = 'z' WHERE a = 1" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync after changes"
expect_json '.tables["public.parent"].counts | [.added, .updated, .deleted, .unchanged] | join(",")' "1,3,0,297" \
	"parent: one insert, three updates"
expect_json '.tables["public.child"].counts | [.added, .updated, .deleted, .unchanged] | join(",")' "4,5,3,2992" \
	"child: inserts, updates and deletes across the key range"
expect_json '.tables["public.pairs"].counts | [.added, .updated, .deleted] | join(",")' "1,3,5" \
	"a composite key"
expect_json '.tables["public.handles"].counts | [.added, .updated, .deleted] | join(",")' "1,0,1" \
	"a NOT NULL unique key instead of a primary key"
expect_json '.tables["public.loose"].counts | [.added, .deleted] | join(",")' "100,100" \
	"a changed keyless table is copied in full, counting what it wrote and removed"
expect_json '[.counts.added, .counts.updated, .counts.deleted] | join(",")' "207,11,209" \
	"the totals (with the full copies of the two keyless tables that changed)"
expect_json '.tables["public.child"].rows' "9" "only the changed rows crossed the wire"
run S --from prod --to "$(dburl "$TWIN")"
expect_rc 0 "a full sync of the same source into another database"
expect_eq "$(digest "$DST")" "$(digest "$TWIN")" \
	"the incremental target is identical to a full anonymized sync: same rows, masked alike"
expect_eq "$(q "$DST" "SELECT count(*) FROM child WHERE note LIKE '%inc-secret%'")" "0" "new rows are masked too"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")" "1" \
	"the foreign key holds at the end"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].mode' "incremental" "the history records the mode"
expect_json '.runs[0].counts | [.added, .updated, .deleted] | join(",")' "207,11,209" "and the counts"
expect_json '.runs[2].mode' "full" "and a full run as full"

# ---- Text output --------------------------------------------------------------------------------------
q "$SRC" "UPDATE parent SET name = 'Again' WHERE id = 2" >/dev/null
run S --from prod --to staging --incremental --verify
expect_rc 0 "an incremental sync with --verify"
expect_out "public.parent                    +0 ~1 -0 =300" "each table's counts"
expect_out "incremental: 0 added, 1 updated, 0 deleted" "and the totals"
q "$SRC" "UPDATE loose SET b = 'text' WHERE a = 5" >/dev/null
run S --from prod --to staging --incremental
expect_out "in full: it has no primary key or unique key on NOT NULL columns" "full copies say why"

# ---- Rows the target lost on its own come back ---------------------------------------------------------
q "$DST" "DELETE FROM child WHERE id IN (100, 2000); INSERT INTO pairs VALUES ('nowhere', 9, 'stray')" >/dev/null
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.child"].counts | [.added, .deleted] | join(",")' "2,0" "rows deleted in the target come back"
expect_json '.tables["public.pairs"].counts.deleted' "1" "a row the source never had goes"
run S --from prod --to "$(dburl "$TWIN")"
expect_eq "$(digest "$DST")" "$(digest "$TWIN")" "the target is in line again"

# ---- A dry run is a real diff: its counts are what the run then does (issue 13 §2) ---------------
run S --from prod --to staging --incremental
run S --from prod --to staging --dry-run
expect_rc 0 "a dry run of a target in line exits 0"
expect_out "source 3001 rows, target 3001 rows: in line" "and says each table is in line, with both sides' rows"
q "$SRC" "UPDATE parent SET name = 'Dry' WHERE id IN (5, 6); DELETE FROM child WHERE id IN (10, 20, 30);
          INSERT INTO pairs VALUES ('west', 2, 'w2'); DELETE FROM pairs WHERE region = 'north' AND code = 50;
          UPDATE loose SET b = 'dry' WHERE a = 2" >/dev/null
before=$(digest "$DST")
runs_before=$(q "$DST" "SELECT count(*) FROM confiture.sync_history")
run S --from prod --to staging --dry-run --incremental -f json
expect_rc 1 "a dry run exits 1 when something would change"
dry=$out
expect_json '.tables["public.child"] | [.source_rows, .target_rows] | join(",")' "2998,3001" "row counts on both sides"
expect_json '.tables["public.child"].counts | [.added, .updated, .deleted] | join(",")' "0,0,3" "the exact deletes"
expect_json '.tables["public.pairs"].counts | [.added, .updated, .deleted] | join(",")' "1,0,1" "inserts and deletes"
expect_json '.tables["public.parent"].counts | [.added, .updated, .deleted] | join(",")' "0,2,0" "updates"
expect_json '.error.message' "4 of 7 tables would change" "names how many tables would change"
expect_json '.tables["public.loose"].counts | [.added, .deleted] | join(",")' "100,100" \
	"a changed keyless table: copied in full"
expect_json '.tables["public.maybe"] | [.mode, .in_line] | join(",")' "full,true" \
	"a keyless table in line (unmasked: compared by checksum) is left alone"
expect_eq "$(digest "$DST")" "$before" "a dry run writes nothing to the tables"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_history")" "$runs_before" "nor to the history"
run S --from prod --to staging --incremental -f json
expect_rc 0 "the real run"
for tbl in parent child pairs handles logins maybe loose; do
	expect_eq "$(jq -c ".tables[\"public.$tbl\"].counts" <<<"$out")" "$(jq -c ".tables[\"public.$tbl\"].counts" <<<"$dry")" \
		"the dry run's counts of $tbl are what the run did"
done
run S --from prod --to staging --dry-run --incremental
expect_rc 0 "then the target is in line"
run S --from prod --to staging --dry-run
expect_rc 0 "also for a plain dry run (keyless tables compared by checksum)"
q "$SRC" "UPDATE loose SET b = 'again' WHERE a = 3" >/dev/null
run S --from prod --to staging --dry-run
expect_rc 1 "a changed keyless table is seen by a plain dry run"
expect_out "a sync copies it in full" "which says it would copy it in full"

# ---- When row versions cannot be trusted: in full, saying why -------------------------------------------
q "$SRC" "CREATE TABLE pairs_tmp AS SELECT * FROM pairs; TRUNCATE pairs; INSERT INTO pairs SELECT * FROM pairs_tmp; DROP TABLE pairs_tmp" >/dev/null
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.pairs"].mode_reason' "the target holds another source table (or it was rewritten since)" \
	"a rewritten source table is copied in full"
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.pairs"].mode' "incremental" "and compared again next time"
printf 'parent:\n  - {column: name, strategy: name, part: first}\n  - {column: email, strategy: email}\nchild:\n  - {column: note, strategy: text_redact}\n' \
	>"$P/db/sync/anonymization.yaml"
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.parent"].mode_reason' "the columns, subset, masking rules or key changed since the last sync" \
	"other masking rules: every row must be masked again"
expect_json '.tables["public.child"].mode' "incremental" "only where the rules changed"
run env CONFITURE_ANON_KEY=another-key-for-the-incremental-test "$CONFITURE_BIN" sync --project-dir "$P" --anonymize \
	--from prod --to staging --incremental -f json
expect_json '[.tables["public.parent", "public.child"] | .mode_reason] | join(",")' \
	"the columns, subset, masking rules or key changed since the last sync,the columns, subset, masking rules or key changed since the last sync" \
	"another key: every masked table is masked again"
expect_json '.tables["public.pairs"].mode' "incremental" "tables without masks are compared as usual"
expect_eq "$(q "$DST" "SELECT count(*) FROM parent WHERE name LIKE '% %'")" "0" "and was"

# ---- A unique value that moves between rows: the merge falls back to a full copy ---------------------------
q "$SRC" "UPDATE logins SET login = 'swap' WHERE id = 1; UPDATE logins SET login = 'login1' WHERE id = 2;
          UPDATE logins SET login = 'login2' WHERE id = 1" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "a unique value swapped between two rows"
expect_json '.tables["public.logins"].mode_reason' "a unique value moved between rows during the merge" \
	"falls back to a full copy of the table"
expect_eq "$(q "$DST" "SELECT string_agg(id || '=' || login, ',' ORDER BY id) FROM logins WHERE id <= 2")" \
	"1=login2,2=login1" "with the right contents"

# ---- A transaction in progress during a sync, whose row came from a savepoint --------------------------------
# txid_current_snapshot() lists only top-level transactions as in progress: a
# row written under a savepoint carries the subtransaction's id, which is
# neither in that list nor past the snapshot's xmax. It must still be seen as
# changed by the next run, once its transaction commits.
# A session of DB left inside the transaction that SQL opens (it has an id
# once hold returns); release commits it.
hold() {
	rm -f "$TMP/held.in"
	mkfifo "$TMP/held.in"
	psql -XAtq -d "$1" <"$TMP/held.in" >/dev/null 2>&1 &
	held=$!
	exec 9>"$TMP/held.in"
	echo "$2 SELECT 1;" >&9
	for _ in $(seq 50); do
		[ "$(q "$1" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
			AND state = 'idle in transaction' AND backend_xid IS NOT NULL")" = 1 ] && break
		sleep 0.1
	done
}
release() {
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$held"
}
hold "$SRC" "BEGIN; SELECT txid_current(); SAVEPOINT s; UPDATE handles SET score = -7 WHERE handle = 'h7';"
# A later transaction commits, so the snapshot's xmax passes the savepoint's id.
q "$SRC" "SELECT txid_current()" >/dev/null
run S --from prod --to staging --incremental
expect_rc 0 "an incremental sync while a transaction with a savepoint is open"
release
run S --from prod --to staging --incremental -f json
expect_rc 0 "the next incremental sync, once it committed"
expect_eq "$(q "$DST" "SELECT score FROM handles WHERE handle = 'h7'")" "-7" \
	"takes the row its savepoint updated"

# ---- A long transaction in another database of the cluster ---------------------------------------------------
# The snapshot's xmin is the oldest transaction in progress anywhere in the
# cluster. One open in another database writes no row here: it must not make
# the next sync send again every row written since it began (a regression:
# in CI, another test's open transaction did so).
hold "$TWIN" "BEGIN; SELECT txid_current();"
q "$SRC" "UPDATE handles SET score = -8 WHERE handle = 'h8'" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync while another database holds a transaction open"
expect_json '.tables["public.handles"].counts.updated' "1" "takes the row changed since"
run S --from prod --to staging --incremental -f json
expect_rc 0 "and the next one"
expect_json '[.tables["public.parent", "public.child", "public.pairs", "public.handles"] | .counts | .added + .updated + .deleted] | add' \
	"0" "sends nothing again: the other database's transaction does not hold the bound back"
release

# ---- A large table: both sides' keys counted on connections of their own -------------------------------
# From 50,000 rows on, the source's and the target's keys are counted on
# connections of their own while the changed rows stream; scattered deletes
# are named by their bucket's key and hash sums, a cluster of them compared
# key by key. Either way, the counts and the rows are exact.
BIG="CREATE TABLE big (id bigint PRIMARY KEY, v text)"
for db in "$SRC" "$DST" "$TWIN"; do q "$db" "$BIG" >/dev/null; done
q "$SRC" "INSERT INTO big SELECT g, 'v' || g FROM generate_series(1, 60000) g; ANALYZE big" >/dev/null
run S --from prod --to staging
expect_rc 0 "a full sync with the large table"
big_digest() { q "$1" "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM big b"; }
q "$SRC" "UPDATE big SET v = v || 'a' WHERE id % 997 = 3; INSERT INTO big VALUES (60101, 'n1'), (60102, 'n2'), (60103, 'n3')" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync of the large table, updated and appended to"
expect_json '.tables["public.big"].counts | [.added, .updated, .deleted, .unchanged] | join(",")' "3,61,0,59939" \
	"the large table: no key went (the key sums of both sides agree)"
q "$SRC" "UPDATE big SET v = v || 'u' WHERE id % 1000 = 1; INSERT INTO big SELECT g, 'n' || g FROM generate_series(60001, 60005) g;
DELETE FROM big WHERE id % 4000 = 0; DELETE FROM big WHERE id BETWEEN 30001 AND 30020" >/dev/null
q "$DST" "DELETE FROM big WHERE id = 45002; INSERT INTO big VALUES (70000000, 'stray')" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync of the large table with scattered and clustered deletes"
expect_json '.tables["public.big"].counts | [.added, .updated, .deleted] | join(",")' "6,59,36" \
	"each delete found (15 scattered, 20 in a row, 1 stray row of the target's); the row the target lost comes back"
run S --from prod --to "$(dburl "$TWIN")"
expect_eq "$(big_digest "$DST")" "$(big_digest "$TWIN")" "the large table is identical to a full sync"
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.big"].counts | [.added, .updated, .deleted] | join(",")' "0,0,0" "and in line"
# Rows written in the target by hand, found by the target's side on its own
# connection: one the source left alone, one the source changed too.
q "$DST" "UPDATE big SET v = 'by hand' WHERE id IN (100, 200)" >/dev/null
q "$SRC" "UPDATE big SET v = v || 's' WHERE id = 200" >/dev/null
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.big"] | [.mode, .counts.added, .counts.updated, .counts.deleted] | map(tostring) | join(",")' \
	"incremental,0,2,0" "the large table: both rows edited in the target are taken again, each once"
expect_eq "$(q "$DST" "SELECT string_agg(v, ',' ORDER BY id) FROM big WHERE id IN (100, 200)")" \
	"$(q "$SRC" "SELECT string_agg(v, ',' ORDER BY id) FROM big WHERE id IN (100, 200)")" "with the source's values"

# ---- Rows written in the target by hand since the last sync ---------------------------------------------------
# The target is not trusted to hold what the last sync wrote: a row written
# there by someone else is taken from the source again (masked as ever).
parent2=$(q "$DST" "SELECT name FROM parent WHERE id = 2")
q "$DST" "UPDATE handles SET score = 999 WHERE handle = 'h20';
UPDATE pairs SET label = 'by hand' WHERE region = 'north' AND code = 5;
UPDATE parent SET name = 'Edited By Hand' WHERE id = 2" >/dev/null
run S --from prod --to staging --incremental -f json
expect_rc 0 "an incremental sync after edits in the target"
expect_json '[.tables["public.handles", "public.pairs", "public.parent"] | .mode] | join(",")' \
	"incremental,incremental,incremental" "the edited tables are still compared, not copied in full"
expect_json '[.tables["public.handles", "public.pairs", "public.parent"] | .counts.updated] | join(",")' \
	"1,1,1" "each edited row is taken again"
expect_eq "$(q "$DST" "SELECT score FROM handles WHERE handle = 'h20'")" "20" "the source's value is back"
expect_eq "$(q "$DST" "SELECT label FROM pairs WHERE region = 'north' AND code = 5")" "label north5" \
	"in a composite-key table too"
expect_eq "$(q "$DST" "SELECT name FROM parent WHERE id = 2")" "$parent2" "masked as before"
run S --from prod --to staging --incremental -f json
expect_json '[.tables["public.parent", "public.child", "public.pairs", "public.handles"] | .counts | .added + .updated + .deleted] | add' \
	"0" "and the next run finds nothing: the sync's own writes are not edits"
q "$DST" "UPDATE handles SET score = 998 WHERE handle = 'h21'" >/dev/null
run S --from prod --to staging --dry-run --incremental -f json
expect_rc 1 "a dry run sees an edit in the target as a difference"
expect_json '.tables["public.handles"].counts.updated' "1" "counted as an update"
run S --from prod --to staging --incremental -f json
expect_eq "$(q "$DST" "SELECT score FROM handles WHERE handle = 'h21'")" "21" "which the real run makes"
# Past 10000 rows written by hand, the table is copied in full.
q "$SRC" "CREATE TABLE bulk (id int PRIMARY KEY, v int); INSERT INTO bulk SELECT g, g FROM generate_series(1, 10001) g" >/dev/null
q "$DST" "CREATE TABLE bulk (id int PRIMARY KEY, v int)" >/dev/null
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.bulk"].rows' "10001" "a new table is copied"
q "$DST" "UPDATE bulk SET v = -v" >/dev/null
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.bulk"].mode_reason' \
	"more than 10000 of its rows were written in the target since the last sync" \
	"10001 rows edited in the target: copied in full, and says why"
expect_eq "$(q "$DST" "SELECT count(*) FROM bulk WHERE v < 0")" "0" "with the source's values"

done_testing
