#!/usr/bin/env bash
# confiture sync --anonymize: the scan test (no source value of a masked
# column anywhere in the target), determinism under the key, a plugin
# strategy, no value in any message, and the real-world pagila schema.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
PEOPLE="CREATE TABLE people (
    id int PRIMARY KEY,
    email text NOT NULL,
    full_name text,
    initials text,
    phone text,
    ssn text,
    card text,
    iban text,
    token text,
    nickname text,
    zip text,
    ref uuid,
    notes text,
    profile jsonb
);
CREATE TABLE shipments (
    id int PRIMARY KEY,
    person_id int REFERENCES people(id),
    ship_email text,
    note text
);"
q "$SRC" "$PEOPLE" >/dev/null
q "$DST" "$PEOPLE" >/dev/null
# Distinctive generated values: a leak cannot hide behind a coincidence.
q "$SRC" "INSERT INTO people
SELECT g, 'qz' || g || '.leaky@corp-secret.example', 'Xantippa Vorlock' || g, 'Xantippa Vorlock' || g,
       '+44 20 7946 ' || lpad(g::text, 4, '0'), '912-' || lpad((g % 100)::text, 2, '0') || '-' || lpad(g::text, 4, '0'),
       '4000 0012 3456 ' || lpad(g::text, 4, '0'),
       'GB29NWBK6016133192' || lpad(g::text, 4, '0'),
       'tok_' || md5(g::text), 'nickname' || g || 'zz', 'ZIP-' || lpad(g::text, 5, '0'),
       md5('ref' || g)::uuid,
       'Reach me at qz' || g || '.leaky@corp-secret.example or +44 20 7946 ' || lpad(g::text, 4, '0') || ', thanks',
       jsonb_build_object('contact', jsonb_build_object('email', 'qz' || g || '.json@corp-secret.example', 'phone', '+44 20 7946 ' || lpad(g::text, 4, '0')), 'plan', 'gold')
  FROM generate_series(1, 200) g;
INSERT INTO shipments SELECT g, 1 + g % 200, 'qz' || (1 + g % 200) || '.leaky@corp-secret.example', 'box ' || g FROM generate_series(1, 400) g;
ANALYZE" >/dev/null

# The example plugin, built from contrib/ as a user would.
cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -I"$ROOT/include" -o "$TMP/pseudonym.so" \
	"$ROOT/contrib/plugins/pseudonym.c" || _fail "the example plugin builds"
printf 'plugins: [%s]\n' "$TMP/pseudonym.so" >"$P/confiture.yaml"

cat >"$P/db/sync/anonymization.yaml" <<'YAML'
# every personal column of the generated dataset
people:
  - {column: email, strategy: email}
  - {column: full_name, strategy: name}
  - {column: initials, strategy: sql, expression: "left(full_name, 1) || '.'"}
  - {column: phone, strategy: phone}
  - {column: ssn, strategy: phone}
  - {column: card, strategy: credit_card}
  - {column: iban, strategy: hash, length: 22, prefix: "GB"}
  - {column: token, strategy: redact}
  - {column: nickname, strategy: "plugin:pseudonym", digits: 3}
  - {column: zip, strategy: partial, keep_first: 2, keep_last: 0}
  - {column: ref, strategy: uuid}
  - {column: notes, strategy: text_redact}
  - {column: profile, strategy: json, keys: [email, phone], with: email}
shipments:
  - {column: ship_email, strategy: email}
YAML
S() { cf sync --project-dir "$P" "$@"; }

# ---- The scan test ----------------------------------------------------------------------------
run S --from prod --to staging --anonymize --verify -v
expect_rc 0 "an anonymized sync of the generated dataset"
# Every source value of every masked column, and the personal data inside
# the free text and JSON (the generated emails and phones).
q "$SRC" "SELECT v FROM people, LATERAL (VALUES (email), (full_name), (initials), (phone), (ssn), (card), (iban), (token),
                                                (nickname), (zip), (ref::text), (notes),
                                                (profile -> 'contact' ->> 'email'), (profile -> 'contact' ->> 'phone'),
                                                ('qz' || id || '.leaky')) x(v)
          UNION SELECT ship_email FROM shipments" >"$TMP/source-values.txt"
pg_dump -a -d "$DST" >"$TMP/target.sql"
expect_eq "$(awk 'length($0) < 8' "$TMP/source-values.txt" | wc -l | tr -d ' ')/$(wc -l <"$TMP/source-values.txt" | tr -d ' ')" "0/2600" \
	"2600 distinct source values to look for, none short enough to match by chance"
expect_eq "$(grep -c -F -f "$TMP/source-values.txt" "$TMP/target.sql")" "0" \
	"no source value of a masked column exists anywhere in the target"
expect_eq "$(grep -c -F -f "$TMP/source-values.txt" <<<"$out$err")" "0" "nor in the output and debug log of the run"
expect_eq "$(q "$DST" "SELECT count(*) FROM people p JOIN shipments s ON s.person_id = p.id AND s.ship_email = p.email")" "400" \
	"the same email masks the same in two tables"
expect_eq "$(q "$DST" "SELECT count(*) FROM people WHERE nickname ~ '^[A-Z][a-z]+ [A-Z][a-z]+ [0-9]{3}$'")" "200" \
	"the plugin strategy is used"
expect_eq "$(q "$DST" "SELECT count(*) FROM people WHERE initials = 'X.' AND zip = 'ZI*******' AND token = '[REDACTED]'")" "200" \
	"sql runs on the source; partial and redact"
expect_eq "$(q "$DST" "SELECT count(*) FROM people WHERE profile ->> 'plan' = 'gold' AND profile -> 'contact' ->> 'email' LIKE 'user\_%'")" "200" \
	"json masks its keys and keeps the rest"

# ---- Determinism ------------------------------------------------------------------------------------
snap() { q "$DST" "SELECT md5(string_agg(p::text, '|' ORDER BY id)) FROM people p"; }
first=$(snap)
run S --from prod --to staging --anonymize
expect_eq "$(snap)" "$first" "the same key gives identical output"
run env CONFITURE_ANON_KEY=another-key-9876543210-fedcba "$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --anonymize
expect_rc 0 "a run with another key"
expect_eq "$(snap | grep -c "$first")" "0" "a different key gives different output"
run S --from prod --to staging --anonymize
expect_eq "$(snap)" "$first" "and the first key gives the first output back"

# ---- Large tables: several masking threads, indexes rebuilt --------------------------------
BIGT="CREATE TABLE big (id int PRIMARY KEY, email text NOT NULL UNIQUE, phone text, born date, note text);
      CREATE INDEX big_born ON big (born); ALTER TABLE big CLUSTER ON big_born;
      ALTER TABLE big REPLICA IDENTITY USING INDEX big_email_key;
      CREATE TABLE small_twin (id int PRIMARY KEY, email text UNIQUE, phone text, born date, note text)
        WITH (autovacuum_enabled = off);
      CREATE TABLE grouped (id int PRIMARY KEY, v text);
      CREATE VIEW grouped_v AS SELECT id, v, count(*) FROM grouped GROUP BY id;"
q "$SRC" "$BIGT" >/dev/null
q "$DST" "$BIGT" >/dev/null
# big is analyzed (60000 rows): masked on several threads, indexes rebuilt.
# small_twin holds the same rows but was never analyzed (estimate 0): masked in
# one thread. Same rows, same rules: the masked output must be the same.
# grouped has a view that depends on its primary key: its indexes stay.
q "$SRC" "INSERT INTO big SELECT g, 'big' || g || '.leaky@corp-secret.example', '+44 20 7946 ' || lpad((g % 10000)::text, 4, '0'),
                                  date '1950-01-01' + g % 20000, 'mail big' || g || '.leaky@corp-secret.example'
            FROM generate_series(1, 60000) g;
          INSERT INTO small_twin SELECT * FROM big;
          INSERT INTO grouped SELECT g, 'v' || g FROM generate_series(1, 30000) g;
          ANALYZE big; ANALYZE grouped;" >/dev/null
cat >"$P/big.yaml" <<'YAML'
big:
  - {column: email, strategy: email}
  - {column: phone, strategy: phone}
  - {column: born, strategy: date}
  - {column: note, strategy: text_redact}
small_twin:
  - {column: email, strategy: email}
  - {column: phone, strategy: phone}
  - {column: born, strategy: date}
  - {column: note, strategy: text_redact}
YAML
run S --from prod --to staging --rules "$P/big.yaml" --tables big,small_twin,grouped --verify -f json
expect_rc 0 "a 60000-row masked table goes through the parallel pipeline"
expect_json '.tables["public.big"].rows' "60000" "every row arrives"
expect_eq "$(q "$DST" "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM big b")" \
	"$(q "$DST" "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM small_twin b")" \
	"the parallel path masks exactly like the single-threaded one, in source order"
expect_eq "$(q "$DST" "SELECT count(*) FROM big WHERE email LIKE 'big%' OR note LIKE '%leaky%'")" "0" "and masks"
expect_eq "$(q "$DST" "SELECT count(*) FROM grouped_v")" "30000" "a table whose primary key a view needs keeps its indexes"
expect_eq "$(q "$DST" "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'big'")" \
	"big_born,big_email_key,big_pkey" "indexes are built again after the load"
expect_eq "$(q "$DST" "SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'big'::regclass")" \
	"big_email_key:u,big_pkey:p" "with their constraints"
expect_eq "$(q "$DST" "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'big'::regclass AND i.indisclustered")" \
	"big_born" "the clustered index is kept"
expect_eq "$(q "$DST" "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'big'::regclass AND i.indisreplident")" \
	"big_email_key" "and the replica identity"
q "$SRC" "UPDATE big SET born = NULL WHERE id = 1; UPDATE big SET note = NULL WHERE id = 2;
          ALTER TABLE big ADD COLUMN when_text text; UPDATE big SET when_text = CASE WHEN id = 45000 THEN 'not a date' ELSE '2020-01-01' END;" >/dev/null
q "$DST" "ALTER TABLE big ADD COLUMN when_text text" >/dev/null
printf 'big:\n  - {column: email, strategy: email}\n  - {column: when_text, strategy: date}\n' >"$P/bigfail.yaml"
before=$(q "$DST" "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM big b")
run S --from prod --to staging --rules "$P/bigfail.yaml" --tables big --allow-unmasked
expect_rc 3 "a value that cannot be masked deep in a large table fails the run"
expect_err 'could not mask column "when_text" of "public.big" with strategy "date": value is not an ISO date or timestamp' \
	"names the column"
expect_eq "$(grep -cE 'detail: At row [0-9]{5} of the table' <<<"$err")" "1" "and the row (in stream order)"
expect_eq "$(q "$DST" "SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM big b")" "$before" "the table is rolled back"
expect_eq "$(q "$DST" "SELECT count(*) FROM pg_indexes WHERE tablename = 'big'")" "3" "with its indexes"
q "$SRC" "ALTER TABLE big DROP COLUMN when_text" >/dev/null
q "$DST" "ALTER TABLE big DROP COLUMN when_text" >/dev/null

# ---- Plugins that do not load --------------------------------------------------------------------------
sed 's/.abi_version = CF_PLUGIN_ABI_VERSION/.abi_version = 99/' "$ROOT/contrib/plugins/pseudonym.c" >"$TMP/old.c"
cc -std=c11 -shared -fPIC -I"$ROOT/include" -o "$TMP/old.so" "$TMP/old.c"
printf 'plugins: [%s]\n' "$TMP/old.so" >"$P/confiture.yaml"
run S --from prod --to staging --anonymize
expect_rc 5 "a plugin of another ABI version exits 5"
expect_err "was built for plugin ABI version 99, this confiture speaks version 1" "says which versions"
expect_err "confiture.yaml:1:" "and where the plugin is declared"
printf 'int nothing_here(void) { return 0; }\n' >"$TMP/empty.c"
cc -shared -fPIC -o "$TMP/empty.so" "$TMP/empty.c"
printf 'plugins: [%s]\n' "$TMP/empty.so" >"$P/confiture.yaml"
run S --from prod --to staging --anonymize
expect_rc 5 "a plugin without the entry point exits 5"
expect_err "has no entry point \"confiture_plugin\"" "names the missing symbol"
printf 'plugins: [%s]\n' "$TMP/pseudonym.so" >"$P/confiture.yaml"
printf 'people:\n  - {column: nickname, strategy: "plugin:pseudonym", digits: 12}\n' >"$P/bad.yaml"
run S --from prod --to staging --rules "$P/bad.yaml"
expect_rc 5 "a plugin rejecting its parameters exits 5"
expect_err 'bad.yaml:2:5: plugin strategy "plugin:pseudonym" rejected its parameters: digits must be an integer from 0 to 8' \
	"with the plugin's reason at the rule's line"

# ---- No masked value in a message ------------------------------------------------------------------------
printf 'people:\n  - {column: notes, strategy: date}\n' >"$P/fail1.yaml"
run S --from prod --to staging --rules "$P/fail1.yaml" -v --allow-unmasked
expect_rc 3 "a value the strategy cannot mask fails the run"
expect_err 'could not mask column "notes" of "public.people" with strategy "date": value is not an ISO date or timestamp' \
	"says which column and why"
expect_err "The value is not shown: it is personal data." "and that the value is withheld"
expect_eq "$(grep -c -F -f "$TMP/source-values.txt" <<<"$out$err")" "0" "no value in the output"
printf 'people:\n  - {column: email, strategy: sql, expression: "email::int::text"}\n' >"$P/fail2.yaml"
run S --from prod --to staging --rules "$P/fail2.yaml" -f json --allow-unmasked
expect_rc 3 "a source-side error on a masked column"
expect_json '.error.message' 'invalid input syntax for type integer: "***"' "the server's quoted value is withheld"
expect_eq "$(grep -c -F -f "$TMP/source-values.txt" <<<"$out$err")" "0" "no value in the JSON either"
run cf sync history --project-dir "$P" --to staging -f json
expect_eq "$(grep -c -F -f "$TMP/source-values.txt" <<<"$out")" "0" "nor in the history"

# ---- Pagila: real-world DDL ------------------------------------------------------------------------------------
PAGILA=$SHARED/data/pagila/pagila-schema.sql
if [ ! -f "$PAGILA" ]; then
	skip "pagila schema not found in \$SHARED/data"
else
	PS=$(newdb pagila_src)
	PD=$(newdb pagila_dst)
	psql -XAtq -v ON_ERROR_STOP=1 -d "$PS" -f "$PAGILA" >/dev/null 2>&1 || _fail "pagila loads in the source"
	psql -XAtq -v ON_ERROR_STOP=1 -d "$PD" -f "$PAGILA" >/dev/null 2>&1 || _fail "pagila loads in the target"
	q "$PS" "
INSERT INTO language (name) SELECT l FROM unnest(ARRAY['English','Italian','Japanese','Mandarin','French','German']) l;
INSERT INTO country (country) SELECT 'Country ' || g FROM generate_series(1, 10) g;
INSERT INTO city (city, country_id) SELECT 'City ' || g, 1 + g % 10 FROM generate_series(1, 30) g;
INSERT INTO address (address, district, city_id, postal_code, phone)
  SELECT g || ' Qwerty Lane', 'District ' || g % 7, 1 + g % 30, lpad(g::text, 5, '0'), '+1 202 555 ' || lpad(g::text, 4, '0')
  FROM generate_series(1, 120) g;
INSERT INTO store (manager_staff_id, address_id) VALUES (1, 1), (2, 2);
INSERT INTO staff (first_name, last_name, address_id, email, store_id, username, password)
  VALUES ('Mike', 'Hillyer', 3, 'mike.hillyer@sakilastaff.example', 1, 'mike', 'secret1'),
         ('Jon', 'Stephens', 4, 'jon.stephens@sakilastaff.example', 2, 'jon', 'secret2');
INSERT INTO customer (store_id, first_name, last_name, email, address_id, active)
  SELECT 1 + g % 2, 'Qfirst' || g, 'Qlast' || g, 'qcustomer' || g || '@sakila-secret.example', 5 + g % 110, 1
  FROM generate_series(1, 100) g;
INSERT INTO actor (first_name, last_name) SELECT 'Actor' || g, 'Surname' || g FROM generate_series(1, 40) g;
INSERT INTO category (name) SELECT 'Category ' || g FROM generate_series(1, 8) g;
INSERT INTO film (title, description, release_year, language_id, rental_duration, rental_rate, length, rating, special_features)
  SELECT 'FILM ' || g, 'A thrilling story number ' || g, 2000 + g % 20, 1 + g % 6, 3 + g % 4, 0.99 + g % 3, 60 + g,
         (ARRAY['G','PG','PG-13','R','NC-17'])[1 + g % 5]::mpaa_rating, ARRAY['Trailers', 'Deleted Scenes']
  FROM generate_series(1, 60) g;
INSERT INTO film_actor (actor_id, film_id) SELECT 1 + g % 40, 1 + g % 60 FROM generate_series(1, 200) g ON CONFLICT DO NOTHING;
INSERT INTO film_category (film_id, category_id) SELECT g, 1 + g % 8 FROM generate_series(1, 60) g;
INSERT INTO inventory (film_id, store_id) SELECT 1 + g % 60, 1 + g % 2 FROM generate_series(1, 300) g;
INSERT INTO rental (rental_date, inventory_id, customer_id, return_date, staff_id)
  SELECT timestamptz '2022-02-01' + g * interval '37 minutes', 1 + g % 300, 1 + g % 100, timestamptz '2022-02-03' + g * interval '37 minutes', 1 + g % 2
  FROM generate_series(1, 1000) g;
INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
  SELECT 1 + g % 100, 1 + g % 2, g, 0.99 + (g % 5), timestamptz '2022-02-01' + g * interval '3 hours'
  FROM generate_series(1, 1000) g;
ANALYZE" >/dev/null || _fail "pagila data"
	cat >"$P/pagila.yaml" <<'YAML'
customer:
  - {column: first_name, strategy: name, part: first}
  - {column: last_name, strategy: name, part: last}
  - {column: email, strategy: email}
address:
  - {column: address, strategy: redact, replacement: "1 Main Street"}
  - {column: address2, strategy: redact}
  - {column: phone, strategy: phone}
staff:
  - {column: first_name, strategy: name, part: first}
  - {column: last_name, strategy: name, part: last}
  - {column: email, strategy: email}
  - {column: password, strategy: "null"}
actor:
  - {column: first_name, strategy: keep, reason: "actors' names are public credits"}
  - {column: last_name, strategy: keep, reason: "actors' names are public credits"}
YAML
	run cf sync --project-dir "$P" --from "$(dburl "$PS")" --to "$(dburl "$PD")" --rules "$P/pagila.yaml" --verify -f json
	expect_rc 0 "pagila: an anonymized, verified sync"
	expect_json '.tables | length' "$(q "$PS" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")" \
		"pagila: every table, partitions included"
	expect_json '.tables["public.payment_p2022_02"].rows' "$(q "$PS" "SELECT count(*) FROM payment_p2022_02")" "pagila: partitions are copied"
	expect_eq "$(tdump "$PD" film)" "$(tdump "$PS" film)" "pagila: enums, arrays, domains and tsvector arrive intact"
	expect_eq "$(q "$PD" "SELECT count(*) FROM customer WHERE email LIKE 'qcustomer%'")" "0" "pagila: customer emails are masked"
	expect_eq "$(q "$PD" "SELECT count(*) FROM staff WHERE password IS NULL")" "2" "pagila: staff passwords are gone"
	expect_eq "$(q "$PD" "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")" \
		"$(q "$PS" "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" "pagila: every foreign key is back, validated"
	expect_eq "$(q "$PD" "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'")" "0" \
		"pagila: every trigger is enabled again"
	expect_eq "$(q "$PD" "SELECT count(*) FROM customer_list")" "100" "pagila: the views read the copied data"
fi

done_testing
