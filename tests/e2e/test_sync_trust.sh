#!/usr/bin/env bash
# confiture sync --anonymize never says "anonymized" when personal data goes
# through in clear (issue 12 §3): a rules file that masks nothing, columns
# that look personal and have no rule, --verify keeping source values away
# from the target's session, unique columns masked into too small a space.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
CONTACTS='CREATE TABLE contacts (
    id int PRIMARY KEY,
    contact_email text,
    "E-Mail Address" text,
    notes text,
    profile jsonb,
    tags text[],
    city text
);
CREATE TABLE products (id int PRIMARY KEY, title text, price numeric(8,2));'
q "$SRC" "$CONTACTS" >/dev/null
q "$DST" "$CONTACTS" >/dev/null
q "$SRC" "INSERT INTO contacts
SELECT g, 'cx' || g || '.leak@trust-secret.example', 'ex' || g || '.leak@trust-secret.example',
       'met at the fair; write to nx' || g || '.leak@trust-secret.example',
       jsonb_build_object('owner', jsonb_build_object('mail', 'jx' || g || '.leak@trust-secret.example'), 'n', g),
       ARRAY['tx' || g || '.leak@trust-secret.example', 'vip'], 'Springfield'
  FROM generate_series(1, 50) g;
INSERT INTO products SELECT g, 'Product ' || g, g * 1.5 FROM generate_series(1, 20) g;
ANALYZE" >/dev/null
S() { cf sync --project-dir "$P" "$@"; }
leaks() { q "$DST" "SELECT count(*) FROM contacts c WHERE c::text LIKE '%leak@trust-secret%'"; }

# ---- A rules file that masks nothing is an error ------------------------------------------
: >"$P/empty.yaml"
run S --from prod --to staging --rules "$P/empty.yaml"
expect_rc 5 "an empty rules file with --anonymize exits 5"
expect_err "the rules in \"" "says the rules mask nothing"
expect_err "mask no column of the tables to copy" "in those words"
expect_err "The rules file has no rules" "and why"
expect_eq "$(leaks)" "0" "nothing was copied in clear"
run S --from prod --to staging --rules "$P/empty.yaml" -f json
expect_json '.anonymized' "false" "the JSON does not claim anonymized"
expect_json '.error.code' "5" "it carries exit 5"
printf 'products:\n  - {column: title, strategy: redact}\n' >"$P/other.yaml"
run S --from prod --to staging --rules "$P/other.yaml" --tables contacts
expect_rc 5 "rules for other tables only exit 5"
expect_err "None of its 1 table entry is among the 1 selected table" "says the rules do not match the selection"
expect_err "    - {column: contact_email, strategy: email}" "and suggests the rules to add"
printf 'contacts:\n  - {column: city, strategy: keep, reason: "public town names"}\n' >"$P/keeponly.yaml"
run S --from prod --to staging --rules "$P/keeponly.yaml" --tables contacts
expect_rc 5 "a rules file that only keeps columns exits 5"
expect_err "only keep columns" "says so"
printf 'contacts:\n  - {column: contact_email, strategy: email}\n' >"$P/contacts.yaml"
run S --from prod --to staging --rules "$P/contacts.yaml" --tables products
expect_rc 5 "a selection with nothing personal and no rule for it exits 5"
expect_err "No column of these tables looks like personal data: copy them without --anonymize" \
	"and suggests a verbatim copy"
expect_eq "$(leaks)" "0" "still nothing copied"

# ---- Columns that look personal and have no rule are refused ----------------------------------
printf 'contacts:\n  - {column: contact_email, strategy: email}\n' >"$P/partial.yaml"
run S --from prod --to staging --rules "$P/partial.yaml"
expect_rc 5 "a real anonymized run with unruled personal columns exits 5"
expect_err "refusing to anonymize: 4 columns look like personal data and have no rule" "counts them"
expect_err 'column "E-Mail Address" of "public.contacts" looks like an email address and has no rule' \
	"a quoted column name with a dash and a space"
expect_err 'text in column "notes" of "public.contacts" contains email addresses (50 of 50 sampled)' \
	"a notes column full of emails, found by its values"
expect_err 'values of column "profile" of "public.contacts" contain email addresses (50 of 50 sampled)' \
	"emails inside jsonb"
expect_err 'values of column "tags" of "public.contacts" (text[]) contain email addresses' "emails inside text[]"
expect_err '    - {column: "E-Mail Address", strategy: email}' "suggests the rule, quoted for YAML"
expect_err '    - {column: notes, strategy: text_redact}' "suggests text_redact for free text"
expect_err '    - {column: profile, strategy: json, keys: [mail]}' "suggests json with the key that held the email"
expect_err 'strategy: keep, reason:' "explains how to keep a column on purpose"
expect_err "No data was copied." "says nothing moved"
expect_eq "$(leaks)" "0" "nothing was copied"
expect_no_err "leak@trust-secret" "never prints a value"
run S --from prod --to staging --rules "$P/partial.yaml" -f json
expect_json '[.issues[] | select(.kind | startswith("pii")) | .column] | join(",")' \
	"E-Mail Address,notes,profile,tags" "the findings are in the JSON"
expect_json '.issues[] | select(.column == "notes") | .suggestion' "{column: notes, strategy: text_redact}" \
	"each with its suggested rule"

# A composite column holding an email is found too.
q "$SRC" "CREATE TYPE addr AS (street text, mail text); CREATE TABLE letters (id int PRIMARY KEY, a addr);
          INSERT INTO letters SELECT g, ROW('Main St', 'lx' || g || '.leak@trust-secret.example')::addr FROM generate_series(1, 10) g" >/dev/null
q "$DST" "CREATE TYPE addr AS (street text, mail text); CREATE TABLE letters (id int PRIMARY KEY, a addr)" >/dev/null
run S --from prod --to staging --rules "$P/partial.yaml" --tables letters,contacts
expect_err 'values of column "a" of "public.letters" (addr) contain email addresses' "emails inside a composite"
expect_eq "$(q "$DST" "SELECT count(*) FROM letters")" "0" "not copied"

# Masked or kept on purpose: the run goes.
cat >"$P/full.yaml" <<'YAML'
contacts:
  - {column: contact_email, strategy: email}
  - {column: "E-Mail Address", strategy: email}
  - {column: notes, strategy: text_redact}
  - {column: profile, strategy: json, keys: [mail]}
  - {column: tags, strategy: keep, reason: "test fixture: the tags are reviewed by hand"}
YAML
run S --from prod --to staging --rules "$P/full.yaml" --tables contacts -f json
expect_rc 0 "every personal column masked or kept: the run goes"
expect_json '.tables["public.contacts"].kept.tags' "test fixture: the tags are reviewed by hand" "the kept column and its reason are in the JSON"
expect_json '.unmasked | length' "0" "nothing unmasked"
expect_eq "$(q "$DST" "SELECT count(*) FROM contacts WHERE contact_email LIKE 'cx%' OR \"E-Mail Address\" LIKE 'ex%' OR notes LIKE '%nx%leak%' OR profile::text LIKE '%jx%'")" \
	"0" "the masked columns are masked"
printf 'contacts:\n  - {column: tags, strategy: keep}\n' >"$P/noreason.yaml"
run S --from prod --to staging --rules "$P/noreason.yaml" --tables contacts
expect_rc 5 "keep without a reason exits 5"
expect_err 'noreason.yaml:2:5: strategy "keep" needs a "reason"' "at the rule's line"

# --allow-unmasked accepts them explicitly, and says so.
run S --from prod --to staging --rules "$P/partial.yaml" --tables contacts --allow-unmasked
expect_rc 0 "--allow-unmasked lets the run go"
expect_err "--allow-unmasked: 4 columns that look like personal data are copied unmasked" "warns"
expect_out "(anonymized, 4 columns left unmasked by --allow-unmasked)" "the summary says what went through"
run S --from prod --to staging --rules "$P/partial.yaml" --tables contacts --allow-unmasked -f json
expect_json '.unmasked | join(",")' \
	"public.contacts.E-Mail Address,public.contacts.notes,public.contacts.profile,public.contacts.tags" \
	"the JSON lists the unmasked columns"
run S --from prod --to staging --tables contacts --allow-unmasked
expect_rc 2 "--allow-unmasked without --anonymize is a usage error"

# A dry run shows the same findings and exits 5 like the real run would.
run S --from prod --to staging --rules "$P/partial.yaml" --tables contacts --dry-run
expect_rc 5 "a dry run with unruled personal columns exits 5"
expect_out "columns that look like personal data:" "and lists them in the plan"

# ---- Empty table patterns are usage errors (issue 12 §5) ------------------------------------------
for opt in '--tables=' '--tables= , ' '--exclude=' '--tables=contacts,,products'; do
	run S --from prod --to staging "$opt"
	expect_rc 2 "sync $opt is a usage error"
	expect_err "has an empty table pattern" "says the pattern is empty ($opt)"
done
expect_eq "$(q "$DST" "SELECT to_regclass('confiture.sync_history') IS NULL OR (SELECT count(*) = 0 FROM confiture.sync_history WHERE tables @> '{public.products}')")" \
	"t" "nothing was copied"

# ---- confiture's own tables are never copied (issue 12 §5) ------------------------------------------
BOOK=$(newdb book)
q "$BOOK" "CREATE TABLE tb_confiture (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), pk_confiture bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
             slug text NOT NULL UNIQUE, version varchar(255) NOT NULL UNIQUE, name varchar(255) NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(), execution_time_ms integer, checksum varchar(64), applied_by text);
           CREATE TABLE tb_confiture_progress (version varchar(255) NOT NULL, direction text NOT NULL, stmt_index integer NOT NULL,
             checksum varchar(64) NOT NULL, state text NOT NULL, pid integer, updated_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (version, direction, stmt_index));
           CREATE TABLE app_ledger (LIKE tb_confiture INCLUDING ALL);
           CREATE SCHEMA confiture; CREATE TABLE confiture.sync_history (run_id uuid PRIMARY KEY);
           CREATE SCHEMA confiture_backup_0001; CREATE TABLE confiture_backup_0001.\"public.t\" (id int);
           CREATE SCHEMA confiture_src; CREATE TABLE confiture_src.confiture_s2s_plan (id int);
           CREATE TABLE t (id int PRIMARY KEY, v text);
           INSERT INTO tb_confiture (slug, version, name) VALUES ('001_a', '001', 'a');
           INSERT INTO tb_confiture_progress VALUES ('002', 'up', 0, 'x', 'done');
           INSERT INTO t VALUES (1, 'one')" >/dev/null
BOOKDST=$(newdb bookdst)
q "$BOOKDST" "CREATE TABLE tb_confiture_progress (version varchar(255) NOT NULL, direction text NOT NULL, stmt_index integer NOT NULL,
             checksum varchar(64) NOT NULL, state text NOT NULL, pid integer, updated_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (version, direction, stmt_index));
           CREATE TABLE t (id int PRIMARY KEY, v text)" >/dev/null
run S --from "$(dburl "$BOOK")" --to "$(dburl "$BOOKDST")" -f json
expect_rc 0 "a sync from a database holding confiture's bookkeeping"
expect_json '.order | join(",")' "public.t" "only the user's table is copied: no ledger, progress, history, backup or s2s table"
expect_eq "$(q "$BOOKDST" "SELECT count(*) FROM tb_confiture_progress")" "0" "the target's own progress table is untouched"
run S --from "$(dburl "$BOOK")" --to "$(dburl "$BOOKDST")" --tables 'tb_confiture*'
expect_rc 5 "naming them explicitly does not copy them either"
expect_err 'no table of the source matches "tb_confiture*"' "they are not candidates at all"

# ---- A unique column masked into too small a space is refused up front --------------------------
UNIQ="CREATE TABLE accounts (id int PRIMARY KEY, login text NOT NULL, email text NOT NULL,
                             nick text, CONSTRAINT accounts_login_key UNIQUE (login),
                             CONSTRAINT accounts_email_key UNIQUE (email));
      CREATE UNIQUE INDEX accounts_nick_idx ON accounts (nick);"
q "$SRC" "$UNIQ" >/dev/null
q "$DST" "$UNIQ" >/dev/null
q "$SRC" "INSERT INTO accounts SELECT g, 'login' || g, 'ax' || g || '.leak@trust-secret.example', 'nick' || g
          FROM generate_series(1, 2000) g; ANALYZE accounts" >/dev/null
q "$DST" "INSERT INTO accounts VALUES (1, 'old', 'old@example.com', 'old')" >/dev/null
cat >"$P/short.yaml" <<'YAML'
accounts:
  - {column: login, strategy: hash, length: 4}
  - {column: email, strategy: email, length: 8}
  - {column: nick, strategy: name}
YAML
run S --from prod --to staging --rules "$P/short.yaml" --tables accounts
expect_rc 5 "short hashes and emails on unique columns exit 5 before any data moves"
expect_err "3 unique columns would be masked into too few distinct values" "counts them"
expect_err 'Column "login" of "public.accounts" is unique in the target ("accounts_login_key"), but strategy "hash" gives about 2^16 distinct values for about 2000 rows' \
	"names the column, its constraint and the numbers"
expect_err 'Column "email" of "public.accounts" is unique in the target ("accounts_email_key"), but strategy "email" gives about 2^32' \
	"a short email"
expect_err 'Column "nick" of "public.accounts" is unique in the target ("accounts_nick_idx"), but strategy "name"' \
	"a unique index, and a strategy that does not keep values distinct"
expect_err 'For "login", use {strategy: hash, length: 9} or more.' "suggests a length that fits"
expect_err 'strategy "email" gives about 2^32 distinct values for about 2000 rows: two rows may mask alike (about 1 chance in 2149)' \
	"with the odds"
expect_err 'For "nick", use a strategy that keeps values distinct' "or another strategy"
expect_eq "$(q "$DST" "SELECT login FROM accounts")" "old" "nothing moved"
cat >"$P/long.yaml" <<'YAML'
accounts:
  - {column: login, strategy: hash, length: 12}
  - {column: email, strategy: email}
  - {column: nick, strategy: uuid}
YAML
run S --from prod --to staging --rules "$P/long.yaml" --tables accounts
expect_rc 0 "long enough outputs go through"
expect_eq "$(q "$DST" "SELECT count(DISTINCT login) || '/' || count(DISTINCT email) FROM accounts")" "2000/2000" \
	"and stay distinct"

# ---- --verify never sends source values to the target --------------------------------------
# With log_statement = all, the target's server log holds every statement and
# its parameters: no sampled source value may appear there.
LOGDST=$(newdb logdst)
q "$LOGDST" "$CONTACTS" >/dev/null
q postgres "ALTER DATABASE $LOGDST SET log_statement = 'all'" >/dev/null
cat >"$P/verify.yaml" <<'YAML'
contacts:
  - {column: contact_email, strategy: email}
  - {column: "E-Mail Address", strategy: name}
  - {column: notes, strategy: text_redact}
  - {column: profile, strategy: json, keys: [mail]}
  - {column: tags, strategy: sql, expression: "ARRAY['tag']"}
YAML
log_before=$(wc -c <"$CF_TEST_SERVER_LOG")
run S --from prod --to "$(dburl "$LOGDST")" --rules "$P/verify.yaml" --tables contacts --verify -f json
expect_rc 0 "an anonymized, verified sync into a target that logs every statement"
expect_json '.tables["public.contacts"].verified' "true" "the masked columns are verified"
tail -c +"$((log_before + 1))" "$CF_TEST_SERVER_LOG" >"$TMP/target.log"
expect_eq "$(grep -c 'COPY "public"."contacts" .* FROM STDIN' "$TMP/target.log" | awk '{print ($1 > 0) ? "logged" : "empty"}')" "logged" \
	"the target's statements were logged"
expect_eq "$(grep -c 'leak@trust-secret' "$TMP/target.log")" "0" \
	"no source value of a masked column reached the target's session"
# A mask that keeps values is still caught, by digests compared in confiture.
printf 'contacts:\n  - {column: contact_email, strategy: sql, expression: "lower(contact_email)"}\n  - {column: "E-Mail Address", strategy: sql, expression: "\\"E-Mail Address\\""}\n' >"$P/weak.yaml"
log_before=$(wc -c <"$CF_TEST_SERVER_LOG")
run S --from prod --to "$(dburl "$LOGDST")" --rules "$P/weak.yaml" --tables contacts --verify --allow-unmasked
expect_rc 1 "verify still finds a mask that keeps the values"
expect_err 'masked column "contact_email" of "public.contacts" still holds source values (50 rows unchanged of 50 sampled)' \
	"per row"
expect_err 'masked column "E-Mail Address" of "public.contacts" still holds source values (50 rows unchanged of 50 sampled)' \
	"for a quoted column too"
tail -c +"$((log_before + 1))" "$CF_TEST_SERVER_LOG" | grep -c 'leak@trust-secret' >"$TMP/n" || true
expect_eq "$(cat "$TMP/n")" "0" "and no value reached the target's log on the way"

done_testing
