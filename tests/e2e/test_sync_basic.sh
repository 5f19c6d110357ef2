#!/usr/bin/env bash
# confiture sync: copying, table selection, safety refusals, column checks,
# JSON, dry runs, history, hooks, verify, subsets, triggers, sequences, jobs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
sync_schema "$SRC"
sync_schema "$DST"
sync_schema "$PROT"
sync_fill "$SRC" 40
S() { cf sync --project-dir "$P" "$@"; }

# ---- A verbatim copy -------------------------------------------------------------
q "$DST" "INSERT INTO customers (email) VALUES ('old@row.example')" >/dev/null
run S --from prod --to staging
expect_rc 0 "a verbatim sync exits 0"
expect_err "anonymization is off: data is copied verbatim" "warns that nothing is masked"
expect_out "synced 3 tables, 280 rows" "reports tables and rows"
expect_eq "$(tdump "$DST" customers)" "$(tdump "$SRC" customers)" "customers are copied exactly (old rows gone)"
expect_eq "$(tdump "$DST" orders)" "$(tdump "$SRC" orders)" "orders are copied exactly (jsonb, inet, timestamptz, numeric)"
expect_eq "$(tdump "$DST" sales.items)" "$(tdump "$SRC" sales.items)" "a table in another schema is copied"
expect_eq "$(q "$DST" "SELECT last_value FROM customers_id_seq")" "40" "owned sequences follow the source"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")" "2" \
	"foreign keys are back and validated"
expect_eq "$(q "$DST" "SELECT count(*) FROM confiture.sync_restore")" "0" "nothing is left to restore"

# ---- JSON ------------------------------------------------------------------------------
run S --from prod --to staging -f json
expect_rc 0 "JSON sync exits 0"
expect_json '.ok' "true" "ok is true"
expect_json '.tables["public.orders"].rows' "120" "per-table rows"
expect_json '.tables["public.orders"].bytes > 1000' "true" "per-table bytes"
expect_json '.tables["public.orders"].duration_s >= 0' "true" "per-table time"
expect_json '.tables["public.orders"].format' "binary" "binary COPY where types match"
expect_json '.order | join(",")' "public.customers,public.orders,sales.items" "parents load before children"
expect_json '.total_rows' "280" "total rows"
expect_json '.anonymized' "false" "not anonymized"
expect_json '.warnings[0] | startswith("anonymization is off")' "true" "the warning is in the document"
expect_eq "$err" "" "JSON mode keeps stderr quiet"

# ---- Selection ---------------------------------------------------------------------------
run S --from prod --to staging --tables 'sales.*' -f json
expect_json '.order | join(",")' "sales.items" "--tables with a schema glob"
run S --from prod --to staging --exclude 'items,ord*' -f json
expect_json '.order | join(",")' "public.customers" "--exclude with bare-name globs"
run S --from prod --to staging --tables nosuchtable
expect_rc 5 "a --tables pattern matching nothing exits 5"
expect_err 'no table of the source matches "nosuchtable"' "names the pattern"

# ---- Refusals --------------------------------------------------------------------------------
run S --from prod --to production
expect_rc 5 "a protected target is refused"
expect_err 'refusing to sync into protected environment "production"' "names the environment"
run S --from prod --to "$(dburl "$PROT")"
expect_rc 5 "a URL of a protected environment is refused too"
run S --from prod --to "$(dburl "$SRC")"
expect_rc 5 "the source as target is refused"
expect_err "the source and the target are the same database" "says why"
run S --from prod --to "postgresql:///$SRC?host=$PGHOST&port=$PGPORT&user=postgres&application_name=x"
expect_rc 5 "another spelling of the source is refused too"
run S --from prod
expect_rc 2 "--to is required"

# ---- Column comparison ------------------------------------------------------------------------
MIS=$(newdb mis)
sync_schema "$MIS"
q "$MIS" "ALTER TABLE customers DROP COLUMN phone; ALTER TABLE orders ALTER COLUMN amount TYPE boolean USING false;
          ALTER TABLE sales.items ADD COLUMN must int NOT NULL; INSERT INTO customers (email) VALUES ('keep@me.example')" >/dev/null
run S --from prod --to "$(dburl "$MIS")"
expect_rc 5 "column mismatches exit 5"
expect_err 'the target does not match the source: 3 problems' "counts the problems"
expect_err 'column "phone" of "public.customers" is missing in the target' "a missing column"
expect_err 'column "amount" of "public.orders" is numeric(10,2) in the source but boolean in the target' "a type mismatch"
expect_err 'column "must" of "sales.items" is NOT NULL without a default in the target and missing in the source' \
	"a required target column the source lacks"
expect_eq "$(q "$MIS" "SELECT email FROM customers")" "keep@me.example" "no data moved"
run S --from prod --to "$(dburl "$MIS")" -f json
expect_json '[.issues[].kind] | join(",")' "missing_in_target,type_mismatch,missing_in_source" "issues in JSON"
expect_json '.error.code' "5" "with the exit code"

# Compatible type differences travel as text.
TXT=$(newdb txt)
sync_schema "$TXT"
q "$TXT" "ALTER TABLE sales.items ALTER COLUMN qty TYPE bigint; ALTER TABLE sales.items ALTER COLUMN sku TYPE varchar(40)" >/dev/null
run S --from prod --to "$(dburl "$TXT")" -f json --verify
expect_rc 0 "int -> bigint and text -> varchar copy"
expect_json '.tables["sales.items"].format' "text" "in text COPY"
expect_eq "$(tdump "$TXT" sales.items)" "$(tdump "$SRC" sales.items)" "with the same values"

# ---- Anonymized, verified -----------------------------------------------------------------------
cat >"$P/db/sync/anonymization.yaml" <<'YAML'
customers:
  - {column: email, strategy: email}
  - {column: full_name, strategy: name}
  - {column: phone, strategy: phone}
  - {column: birth, strategy: date, keep_year: true}
orders:
  - {column: card, strategy: credit_card}
  - {column: note, strategy: text_redact}
  - {column: meta, strategy: json, keys: [email]}
  - {column: ip, strategy: ip}
YAML
run S --from prod --to staging --anonymize --verify -f json
expect_rc 0 "an anonymized, verified sync exits 0"
expect_json '.anonymized and .verified' "true" "anonymized and verified"
expect_json '.tables["public.customers"].masked.email' "email" "masked columns in JSON"
expect_json '[.tables[].verified] | all' "true" "every table verified"
expect_eq "$(q "$DST" "SELECT count(*) FROM customers c WHERE c.email LIKE 'user\_%@example.com' AND c.email NOT LIKE '%xperson%'")" "40" \
	"emails are masked"
expect_eq "$(q "$DST" "SELECT count(*) FROM orders WHERE card ~ '^[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4}$'")" "120" \
	"cards keep their format"
expect_eq "$(q "$DST" "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id")" "120" "joins survive"

# ---- Rules errors ------------------------------------------------------------------------------------
printf 'customers:\n  - {column: email, strategy: email}\nclients:\n  - {column: email, strategy: email}\n' >"$P/bad1.yaml"
run S --from prod --to staging --rules "$P/bad1.yaml"
expect_rc 5 "an unknown table in the rules exits 5"
expect_err 'bad1.yaml:3:1: unknown table "clients" in the rules file' "names file and line"
printf 'customers:\n  - {column: email, strategy: email}\n  - {column: emial, strategy: email}\n' >"$P/bad2.yaml"
run S --from prod --to staging --rules "$P/bad2.yaml"
expect_rc 5 "an unknown column exits 5"
expect_err 'bad2.yaml:3:5: unknown column "emial" of table "public.customers" in the rules file' "names file, line, column"
expect_err 'Did you mean "email"?' "with a hint"
printf 'customers:\n  - {column: id, strategy: email}\n' >"$P/bad3.yaml"
run S --from prod --to staging --rules "$P/bad3.yaml"
expect_rc 5 "a strategy on a column of the wrong type exits 5"
expect_err 'strategy "email" cannot mask column "id" of table "public.customers": its type is integer' "says why"
printf 'customers:\n  - {column: email, strategy: email, keep: true}\n' >"$P/bad4.yaml"
run S --from prod --to staging --rules "$P/bad4.yaml"
expect_rc 5 "a bad parameter exits 5"
expect_err 'bad4.yaml:2:38: unknown key "keep" in the parameters of strategy "email"' "names the parameter"
run env -u CONFITURE_ANON_KEY "$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --anonymize
expect_rc 5 "no key, no anonymized sync"
expect_err 'no anonymization key: environment variable "CONFITURE_ANON_KEY" is not set' "names the variable"
run env -u CONFITURE_ANON_KEY "$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --anonymize --allow-random
expect_rc 0 "--allow-random masks with a random key"
printf 'customers:\n  - {column: full_name, strategy: "null"}\n' >"$P/bad5.yaml"
q "$MIS" "UPDATE customers SET full_name = 'x'; ALTER TABLE customers ALTER COLUMN full_name SET NOT NULL" >/dev/null
run S --from prod --to "$(dburl "$MIS")" --rules "$P/bad5.yaml" --tables customers
expect_rc 5 "null into a NOT NULL target column exits 5"
expect_err 'strategy "null" cannot mask column "full_name" of table "public.customers": it is NOT NULL in the target' "says so"

# ---- Dry run ---------------------------------------------------------------------------------------------
printf 'customers:\n  - {column: email, strategy: email}\n' >"$P/partial.yaml"
before=$(tdump "$DST" customers)
q "$SRC" "CREATE TABLE contacts (id int PRIMARY KEY, info text, ssn text, tel text); INSERT INTO contacts SELECT g, 'zq' || g || '@corp-mail.example', '078-05-1120', '' FROM generate_series(1, 20) g" >/dev/null
q "$DST" "CREATE TABLE contacts (id int PRIMARY KEY, info text, ssn text, tel text)" >/dev/null
run S --from prod --to staging --rules "$P/partial.yaml" --dry-run
expect_rc 5 "a dry run with unruled personal columns exits 5, as the real run would"
expect_out "plan: 4 tables from" "prints the plan"
expect_out "public.customers                 ~40 rows  binary  masked: email: email" "tables with estimates and rules"
expect_out 'column "full_name" of "public.customers" looks like a person name and has no rule' "warns by column name"
expect_out 'column "ssn" of "public.contacts" looks like a social security number and has no rule' "ssn by name"
expect_out 'values of column "info" of "public.contacts" look like email addresses (20 of 20 sampled) and it has no rule' \
	"warns by sampled values"
expect_out 'text in column "note" of "public.orders" contains email addresses' "emails inside free text"
expect_no_out 'zq1@' "never prints a value"
expect_eq "$(tdump "$DST" customers)" "$before" "a dry run moves nothing"
run S --from prod --to staging --dry-run -f json
expect_json '[.issues[] | select(.kind == "pii_name") | .column] | index("email") != null' "true" \
	"without --anonymize, every personal column is reported"
expect_json '.anonymized' "false" "and the plan says verbatim"
run S --from prod --to staging --anonymization-config "$P/partial.yaml" --dry-run -f json
expect_json '.tables["public.customers"].masked.email' "email" "--anonymization-config is the precursor's --rules"
run S --from prod --to staging --rules "$P/partial.yaml" --dry-run -f json
expect_json '[.issues[] | select(.kind == "pii_name") | .table + "." + .column] | sort | join(",")' \
	"public.contacts.ssn,public.contacts.tel,public.customers.birth,public.customers.full_name,public.customers.phone,public.orders.card,public.orders.ip" \
	"PII columns in JSON"
expect_json '.dry_run' "true" "dry_run in JSON"
q "$SRC" "DROP TABLE contacts" >/dev/null
q "$DST" "DROP TABLE contacts" >/dev/null

# ---- History --------------------------------------------------------------------------------------------------
run cf sync history --project-dir "$P" --to staging -f json
expect_rc 0 "history exits 0"
expect_json '.runs | length >= 5' "true" "lists the runs"
expect_json '.runs[0].outcome' "success" "newest first, with its outcome"
expect_json '.runs[0].source | test("postgresql://postgres@/'"$SRC"'")' "true" "the source, password masked"
expect_json '.runs[0].run_by | test(" as postgres$")' "true" "who ran it"
expect_json 'first(.runs[] | select(.anonymized)) | .tables | join(",")' "public.customers,public.orders,sales.items" "tables, and whether anonymized"
run cf sync history --project-dir "$P" --to staging
expect_out "success" "history in text"
run cf sync history --project-dir "$P" -e staging -f json --limit 2
expect_json '.runs | length' "2" "history of the environment chosen with -e, with --limit"
EMPTY=$(newdb empty)
run cf sync history --project-dir "$P" --to "$(dburl "$EMPTY")"
expect_rc 0 "history of a database without syncs"
expect_out "no sync has been recorded" "says so"

# ---- A password in a URL stays out of everything ----------------------------------------------------------
PWURL="postgresql://postgres:pw-s3cret-x@/$SRC?host=$PGHOST&port=$PGPORT"
run S --from "$PWURL" --to staging --tables customers -v -f json
expect_rc 0 "a source URL with a password"
expect_json '.source | test("postgres:\\*\\*\\*@")' "true" "is shown masked"
expect_eq "$(grep -c 'pw-s3cret-x' <<<"$out$err")" "0" "the password is in no output or debug log"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].source | test("postgres:\\*\\*\\*@")' "true" "and recorded masked"
pg_dump -d "$DST" >"$TMP/dst.sql"
expect_eq "$(grep -c 'pw-s3cret-x' "$TMP/dst.sql")" "0" "the password is nowhere in the target"

# ---- Hooks --------------------------------------------------------------------------------------------------------
cat >"$P/confiture.yaml" <<YAML
hooks:
  before_sync:
    - run: 'echo "before_sync" >> $TMP/hooks.log'
  before_sync_table:
    - run: 'echo "before_sync_table \$CONFITURE_TABLE" >> $TMP/hooks.log'
  after_sync_table:
    - run: 'echo "after_sync_table \$CONFITURE_TABLE \$CONFITURE_ROWS" >> $TMP/hooks.log'
  after_sync:
    - run: 'echo "after_sync \$CONFITURE_SUCCESS \$CONFITURE_ROWS" >> $TMP/hooks.log'
YAML
rm -f "$TMP/hooks.log"
run S --from prod --to staging --tables customers,orders
expect_rc 0 "a sync with hooks"
expect_eq "$(cat "$TMP/hooks.log")" "before_sync
before_sync_table public.customers
after_sync_table public.customers 40
before_sync_table public.orders
after_sync_table public.orders 120
after_sync true 160" "hooks fire in order with table and rows"
cat >"$P/confiture.yaml" <<YAML
hooks:
  before_sync:
    - run: 'exit 3'
  on_error:
    - run: 'echo "on_error \$CONFITURE_ERROR" >> $TMP/err.log'
YAML
q "$DST" "DELETE FROM sales.items" >/dev/null
run S --from prod --to staging
expect_rc 5 "a failing before_sync hook aborts"
expect_err 'hook for "before_sync" failed with exit code 3' "says which hook"
expect_eq "$(tcount "$DST" sales.items)" "0" "nothing changed"
expect_eq "$(cat "$TMP/err.log")" 'on_error hook for "before_sync" failed with exit code 3' "on_error fires"
rm -f "$P/confiture.yaml"

# ---- Verify finds what is wrong ------------------------------------------------------------------------------------
printf 'customers:\n  - {column: email, strategy: sql, expression: "lower(email)"}\n' >"$P/weak.yaml"
run S --from prod --to staging --rules "$P/weak.yaml" --verify --tables customers --allow-unmasked
expect_rc 1 "verify failing exits 1"
expect_err 'verify found 1 problem' "counts problems"
expect_err 'masked column "email" of "public.customers" still holds source values (40 rows unchanged of 40 sampled)' \
	"a mask that keeps values is caught"
run cf sync history --project-dir "$P" --to staging -f json
expect_json '.runs[0].outcome' "verify_failed" "the history says so"

# ---- Subsets follow foreign keys ------------------------------------------------------------------------------------
cat >"$P/subset.yaml" <<'YAML'
customers:
  where: "id <= 5"
  columns:
    - {column: email, strategy: email}
    - {column: full_name, strategy: name}
    - {column: phone, strategy: phone}
    - {column: birth, strategy: date, keep_year: true}
orders:
  where: "id IN (100, 101)"
  columns:
    - {column: card, strategy: credit_card}
    - {column: note, strategy: text_redact}
    - {column: meta, strategy: json, keys: [email]}
    - {column: ip, strategy: ip}
YAML
run S --from prod --to staging --rules "$P/subset.yaml" --verify -f json
expect_rc 0 "a subset sync with verify"
expect_eq "$(q "$DST" "SELECT string_agg(id::text, ',' ORDER BY id) FROM customers")" \
	"$(q "$SRC" "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM customers WHERE id <= 5 UNION SELECT customer_id FROM orders WHERE id IN (100, 101)) x")" \
	"customers: the where, plus the parents of kept orders"
expect_eq "$(q "$DST" "SELECT count(*) FROM orders")" "2" "orders: their where"
expect_eq "$(q "$DST" "SELECT count(*) FROM sales.items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id)")" "0" \
	"children of dropped orders are filtered out"
expect_eq "$(q "$DST" "SELECT count(*) FROM sales.items")" "$(q "$SRC" "SELECT count(*) FROM sales.items WHERE order_id IN (100, 101)")" \
	"children of kept orders stay"
expect_json '.tables["sales.items"].subset' "true" "items is a subset too"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")" "2" "FKs validated"

# Self-references: parents of kept rows come along.
q "$SRC" "CREATE TABLE staff (id int PRIMARY KEY, boss int REFERENCES staff(id), name text);
          INSERT INTO staff VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 1, 'd'), (5, 4, 'e')" >/dev/null
q "$DST" "CREATE TABLE staff (id int PRIMARY KEY, boss int REFERENCES staff(id), name text)" >/dev/null
printf 'staff:\n  where: "id = 3"\n  columns:\n    - {column: name, strategy: name}\n' >"$P/self.yaml"
run S --from prod --to staging --rules "$P/self.yaml" --tables staff --verify
expect_rc 0 "a self-referencing subset"
expect_eq "$(q "$DST" "SELECT string_agg(id::text, ',' ORDER BY id) FROM staff")" "1,2,3" "keeps the chain of bosses"

# ---- Triggers off while loading, back after --------------------------------------------------------------------------
q "$DST" "CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN NEW.city := 'TRIGGERED'; RETURN NEW; END\$\$;
          CREATE TRIGGER shout BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION shout();
          CREATE TRIGGER shout_always BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION shout();
          ALTER TABLE customers ENABLE ALWAYS TRIGGER shout_always" >/dev/null
run S --from prod --to staging --tables customers
expect_rc 0 "sync into a table with triggers"
expect_eq "$(q "$DST" "SELECT count(*) FROM customers WHERE city = 'TRIGGERED'")" "0" "user triggers do not fire during the load"
expect_eq "$(q "$DST" "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'customers'::regclass AND NOT tgisinternal")" \
	"shout=O,shout_always=A" "and come back as they were"

# ---- Parallel, with primary-key ranges -------------------------------------------------------------------------------
run S --from prod --to staging --jobs 3 --split-rows 30 --verify -f json
expect_rc 0 "--jobs 3 with split tables"
expect_json '.tables["public.orders"].ranges > 1' "true" "a large table is split into ranges"
expect_json '.tables["public.orders"].rows' "120" "all its rows arrive"
expect_eq "$(tdump "$DST" orders)" "$(tdump "$SRC" orders)" "the split table is complete"

# ---- One sync at a time ---------------------------------------------------------------------------------------------
psql -XAtq -d "$DST" -c "SELECT pg_advisory_lock(1751936052, 1937337955), pg_sleep(30)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 100); do
	[ "$(q "$DST" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1937337955 AND granted")" = 1 ] && break
	sleep 0.1
done
run S --from prod --to staging
expect_rc 6 "a second sync into the same target exits 6"
expect_err "another confiture sync is writing to" "says why"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

done_testing
