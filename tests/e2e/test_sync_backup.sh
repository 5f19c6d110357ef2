#!/usr/bin/env bash
# confiture sync --backup / --backup-dir, sync restore, sync backups prune
# (issue 13 §3): a backup then a restore give the table contents back, byte
# for byte (compared by digest), with sequences, foreign keys and triggers;
# the history shows which runs have a backup; backups never weaken
# protection; pg_dump never sees the password on its command line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
sync_schema "$SRC"
sync_schema "$DST"
sync_schema "$PROT"
sync_fill "$SRC" 30
cat >"$P/db/sync/anonymization.yaml" <<'YAML'
customers:
  - {column: email, strategy: email}
  - {column: full_name, strategy: name}
  - {column: phone, strategy: phone}
  - {column: birth, strategy: date}
orders:
  - {column: card, strategy: credit_card}
  - {column: note, strategy: text_redact}
  - {column: meta, strategy: json, keys: [email]}
  - {column: ip, strategy: ip}
YAML
q "$DST" "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
          CREATE TRIGGER keep_me BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION noop();
          ALTER TABLE orders ENABLE ALWAYS TRIGGER keep_me" >/dev/null
S() { cf sync --project-dir "$P" --anonymize "$@"; }
# The target's contents: every row of every table, and its sequences.
digest() { q "$DST" "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
	SELECT 'c' || c::text x FROM customers c UNION ALL SELECT 'o' || o::text FROM orders o
	UNION ALL SELECT 'i' || i::text FROM sales.items i
	UNION ALL SELECT 's' || last_value || is_called::text FROM customers_id_seq
	UNION ALL SELECT 't' || last_value || is_called::text FROM orders_id_seq) s"; }
constraints() {
	q "$DST" "SELECT (SELECT string_agg(conname || ':' || convalidated::text, ',' ORDER BY conname) FROM pg_constraint WHERE contype = 'f')
	          || ' ' || (SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal)"
}

run S --from prod --to staging
expect_rc 0 "a first sync: the target's contents to keep"
before=$(digest)
cons=$(constraints)

# ---- --backup: kept in the target, restored byte for byte ---------------------------------------
q "$SRC" "UPDATE customers SET city = 'Shelbyville'; DELETE FROM sales.items WHERE id > 60;
          INSERT INTO customers (email, full_name) VALUES ('late@corp-mail.example', 'Late Comer')" >/dev/null
run S --from prod --to staging --backup -f json
expect_rc 0 "a sync with --backup"
run_id=$(jq -r .run_id <<<"$out")
expect_json '.backup.kind' "schema" "the JSON says where the backup is"
schema=$(jq -r .backup.location <<<"$out")
expect_eq "$schema" "confiture_backup_${run_id//-/}" "a schema named after the run"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_tables WHERE schemaname = '$schema'")" "3" "holding the three tables"
expect_eq "$([ "$(digest)" != "$before" ] && echo changed)" "changed" "the target holds the new contents"
run cf sync history --project-dir "$P" --to staging -f json
expect_json ".runs[] | select(.run_id == \"$run_id\") | .backup.present" "true" "sync history shows the run has a backup"
expect_json '.runs[1].backup' "null" "and the first run has none"
run cf sync restore --project-dir "$P" --to staging --run "$run_id" -f json
expect_rc 0 "sync restore puts the backup back"
expect_json '.restored_from' "$run_id" "says which run"
expect_json '.tables | length' "3" "every table"
expect_eq "$(digest)" "$before" "the target's contents are the same as before the sync, byte for byte (sequences too)"
expect_eq "$(constraints)" "$cons" "foreign keys validated and triggers as they were"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].mode' "restore" "the history records the restore"

# ---- An incremental run keeps only the tables it changes ------------------------------------------
run S --from prod --to staging
q "$SRC" "UPDATE orders SET amount = amount + 1 WHERE id = 7" >/dev/null
before_inc=$(digest)
run S --from prod --to staging --incremental --backup -f json
expect_rc 0 "an incremental sync with --backup"
inc_run=$(jq -r .run_id <<<"$out")
run cf sync backups --project-dir "$P" --to staging -f json
expect_json ".backups[] | select(.run_id == \"$inc_run\") | .tables | join(\",\")" "public.orders" \
	"only the changed table was kept"
run cf sync restore --project-dir "$P" --to staging --run "$inc_run"
expect_rc 0 "and restores"
expect_out "restored 1 table" "one table"
expect_eq "$(digest)" "$before_inc" "to its contents before the incremental run"
run S --from prod --to staging --incremental -f json
expect_json '.tables["public.orders"].mode_reason' "no earlier sync of this table is recorded in the target" \
	"a restored table is copied in full by the next incremental run"
expect_eq "$(q "$DST" "SELECT amount FROM orders WHERE id = 7")" "$(q "$SRC" "SELECT amount FROM orders WHERE id = 7")" \
	"which brings the change back"

# ---- --backup-dir: pg_dump's custom format, no password on its command line ------------------------
mkdir -p "$TMP/bin" "$TMP/backups"
for b in "$CF_TEST_PGBIN"/*; do ln -s "$b" "$TMP/bin/$(basename "$b")"; done
rm "$TMP/bin/pg_dump"
cat >"$TMP/bin/pg_dump" <<SH
#!/bin/sh
echo "argv: \$*" >>"$TMP/pg_dump.log"
echo "PGPASSWORD set: \${PGPASSWORD:+yes}" >>"$TMP/pg_dump.log"
exec "$CF_TEST_PGBIN/pg_dump" "\$@"
SH
chmod +x "$TMP/bin/pg_dump"
run S --from prod --to staging
before_dir=$(digest)
q "$SRC" "UPDATE customers SET city = 'Capital City'" >/dev/null
PWURL="postgresql://postgres:pw-secret-backup@/$DST?host=$PGHOST&port=$PGPORT"
run env PG_BINDIR="$TMP/bin" "$CONFITURE_BIN" sync --project-dir "$P" --anonymize --from prod --to "$PWURL" \
	--backup-dir "$TMP/backups" -f json
expect_rc 0 "a sync with --backup-dir"
dir_run=$(jq -r .run_id <<<"$out")
expect_json '.backup.kind' "dir" "the backup is a dump"
dump=$(jq -r .backup.location <<<"$out")
expect_eq "$dump" "$TMP/backups/confiture_backup_${dir_run//-/}.dump" "in the directory, named after the run"
expect_eq "$(head -c 5 "$dump")" "PGDMP" "in pg_dump's custom format"
expect_eq "$(grep -c 'pw-secret-backup' "$TMP/pg_dump.log")" "0" "the password is not on pg_dump's command line"
expect_eq "$(grep -c 'PGPASSWORD set: yes' "$TMP/pg_dump.log")" "1" "it goes through its environment"
expect_eq "$(grep -c 'pw-secret-backup' <<<"$out$err")" "0" "nor in any output"
run cf sync restore --project-dir "$P" --to staging --run "$dir_run"
expect_rc 0 "restore from the dump"
expect_eq "$(digest)" "$before_dir" "gives the contents back, byte for byte"
expect_eq "$(constraints)" "$cons" "with the foreign keys and triggers as they were"

# ---- backups list and prune ---------------------------------------------------------------------------
run cf sync backups --project-dir "$P" --to staging -f json
expect_json '.backups | length' "3" "three backups are recorded"
run cf sync backups prune --keep 1 --project-dir "$P" --to staging -f json
expect_rc 0 "prune --keep 1"
expect_json '.removed' "2" "removes the two older ones"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'confiture\_backup\_%'")" "0" \
	"their schemas are gone"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_backups")" "1" "and their records"
run cf sync backups prune --keep 0 --project-dir "$P" --to staging
expect_rc 0 "prune --keep 0"
expect_eq "$([ -e "$dump" ] && echo kept || echo gone)" "gone" "removes the dump file too"
run cf sync history --project-dir "$P" --to staging -f json
expect_json ".runs[] | select(.run_id == \"$run_id\") | .backup" "null" "a pruned backup is gone from the history"
run cf sync restore --project-dir "$P" --to staging --run "$run_id"
expect_rc 5 "restoring a pruned backup exits 5"
expect_err "no backup of run \"$run_id\"" "and says so"

# ---- Backups never weaken protection -----------------------------------------------------------------
run S --from prod --to production --backup
expect_rc 5 "a sync with --backup into a protected environment is refused like any sync"
run cf sync restore --project-dir "$P" --to production --run "$run_id"
expect_rc 5 "a restore into a protected environment is refused"
expect_err 'refusing to restore into protected environment "production"' "and says so"
run cf sync restore --project-dir "$P" --to "$(dburl "$PROT")" --run "$run_id"
expect_rc 5 "also named by URL"
run cf sync backups prune --keep 0 --project-dir "$P" --to production
expect_rc 5 "pruning a protected environment's backups is refused"
run cf sync restore --project-dir "$P" --to staging
expect_rc 2 "restore without --run is a usage error"
run S --from prod --to staging --backup --dry-run
expect_rc 2 "--backup with --dry-run is a usage error"

done_testing
