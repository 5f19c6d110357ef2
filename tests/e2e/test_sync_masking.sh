#!/usr/bin/env bash
# confiture sync --anonymize at the edges of what strategies mask (issue 12
# §3): numbers beyond a double, json keys spelled or placed to dodge a rule,
# json inside strings, letters in phone and card columns; a value that cannot
# be masked fails the table; a rules file that is not a regular file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/test_sync_lib.inc"

sync_project
EDGE="CREATE TABLE edge (
    id int PRIMARY KEY,
    big numeric,
    amount numeric(30,2),
    score double precision,
    ratio real,
    qty bigint,
    phone text,
    card text,
    doc jsonb,
    raw json,
    numtext text
);"
q "$SRC" "$EDGE" >/dev/null
q "$DST" "$EDGE" >/dev/null
read -r -d '' FILL <<'SQL'
INSERT INTO edge VALUES
 (1, ('1' || repeat('0', 400))::numeric, 9999999999999999999999999999.99, 1.7e308, 3.4e38,
  9223372036854775807, '+1 415 555 0100 ext. Xantippa', 'VISA XANTIPPA 4111 1111 1111 1111',
  '{"user": [{"name": "Xantippa Vorlock"}, {"name": "Zq Vorlock"}], "plan": "gold"}',
  '{"payload": "{\"email\": \"xv@leak.example\"}", "email\u0000x": "kept", "em\u0061il": "x2@leak.example"}',
  '1e400'),
 (2, ('0.' || repeat('0', 400) || '7')::numeric, 1234567890123456789012345678.25, -0.0, '-0',
  -9223372036854775808, 'Xantippa Vorlock', 'N/A',
  '{"items": {"card": "4111 1111 1111 1111"}, "user": {"name": "Xantippa"}}',
  '[{"email": "x3@leak.example"}, "{\"user\": [{\"name\": \"Xantippa\"}]}"]',
  '-1.5E-400'),
 (3, 'NaN', 0, 'Infinity', 'NaN', 0, 'n/a',
  '4111111111111111 4111111111111111 4111111111111111 4111111111111111 4111111111111111',
  '{"email": "a@leak.example"}', '{"email": "a@leak.example", "email": "b@leak.example"}', 'NaN');
SQL
q "$SRC" "$FILL" >/dev/null
cat >"$P/db/sync/anonymization.yaml" <<'YAML'
edge:
  - {column: big, strategy: numeric}
  - {column: amount, strategy: numeric}
  - {column: score, strategy: numeric, percent: 50}
  - {column: ratio, strategy: numeric, percent: 50}
  - {column: qty, strategy: numeric, percent: 50}
  - {column: phone, strategy: phone}
  - {column: card, strategy: credit_card}
  - {column: doc, strategy: json, keys: [email], paths: ['$.user.name', '$.items[*].card']}
  - {column: raw, strategy: json, keys: [email], paths: ['$.user.name']}
  - {column: numtext, strategy: numeric}
YAML
S() { cf sync --project-dir "$P" "$@"; }

# Rows whose value of column $1 is the same text in the target as in the source.
unchanged() {
	LC_ALL=C join -t'|' <(q "$SRC" "SELECT id, $1::text FROM edge ORDER BY id::text COLLATE \"C\"") \
		<(q "$DST" "SELECT id, $1::text FROM edge ORDER BY id::text COLLATE \"C\"") |
		awk -F'|' '($2 "") == ($3 "") { print $1 }' | tr '\n' ' '
}

# ---- Everything is masked, or is a value with nothing personal in it --------------------------
run S --from prod --to staging --anonymize
expect_rc 0 "an anonymized sync of the edge values"
expect_eq "$(unchanged big)" "3 " "numeric: 1e400 and a value with 401 decimals are masked; NaN stays"
expect_eq "$(q "$DST" "SELECT length(big::text) BETWEEN 398 + 2 * id AND 400 + 2 * id, scale(big) FROM edge WHERE id < 3 ORDER BY id" | tr '\n' ' ')" \
	"t|0 t|401 " "numeric: with their size and scale"
expect_eq "$(unchanged amount)" "" "numeric(30,2): its maximum and a 28-digit value are masked, inside the type"
expect_eq "$(unchanged score)" "3 " "double precision: 1.7e308 and -0 are masked (Infinity stays)"
expect_eq "$(q "$DST" "SELECT count(*) FROM edge WHERE score::text ~ 'Infinity' OR ratio::text ~ 'Infinity'")" "1" \
	"no finite value became infinite"
expect_eq "$(unchanged ratio)" "3 " "real: 3.4e38 and -0 are masked (NaN stays)"
expect_eq "$(unchanged qty)" "" "bigint: its two extremes and 0 are masked"
expect_eq "$(unchanged phone)" "" "phone: letters and n/a are masked"
expect_eq "$(unchanged card)" "" "credit_card: letters, N/A and 80 digits are masked"
expect_eq "$(unchanged numtext)" "3 " "numeric text: 1e400 and -1.5E-400 are masked; NaN stays"
expect_eq "$(q "$DST" "SELECT numtext FROM edge WHERE id < 3 ORDER BY id" | sed 's/^-\{0,1\}[0-9.]*//' | tr '\n' ' ')" \
	"e400 E-400 " "numeric text: and keeps its exponent"
pg_dump -a -d "$DST" >"$TMP/target.sql"
expect_eq "$(grep -c -i -e 'leak\.example' -e 'xantippa' -e '4111 1111 1111 1111' "$TMP/target.sql")" "0" \
	"no name, email or card of the source is anywhere in the target"
expect_eq "$(q "$DST" "SELECT raw::text ~ '\"email\\\\u0000x\": \"kept\"' AND raw::text ~ '\"em\\\\u0061il\": \"\\[REDACTED\\]\"' FROM edge WHERE id = 1")" "t" \
	"json: a key holding \\u0000 is another key; an escaped spelling of email is email"
expect_eq "$(q "$DST" "SELECT raw::text FROM edge WHERE id = 1" | grep -c '{\\"email\\": \\"\[REDACTED\]\\"}')" "1" \
	"json: a key inside a string holding JSON is masked"
expect_eq "$(q "$DST" "SELECT doc #>> '{user,0,name}', doc #>> '{plan}' FROM edge WHERE id = 1")" "[REDACTED]|gold" \
	"json: a path finds names in an array of users, the rest stays"
expect_eq "$(q "$DST" "SELECT raw::text FROM edge WHERE id = 3")" '{"email": "[REDACTED]", "email": "[REDACTED]"}' \
	"json: both of two duplicate keys are masked"

# ---- A value that cannot be masked fails its table, naming the column --------------------------
q "$SRC" "UPDATE edge SET numtext = '12 apples' WHERE id = 2" >/dev/null
before=$(q "$DST" "SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM edge e")
run S --from prod --to staging --anonymize
expect_rc 3 "a numeric text that is not a number fails the run"
expect_err 'could not mask column "numtext" of "public.edge" with strategy "numeric": value is not a number' \
	"naming the column and why"
expect_eq "$(grep -c apples <<<"$out$err")" "0" "without the value"
expect_eq "$(q "$DST" "SELECT md5(string_agg(e::text, '|' ORDER BY id)) FROM edge e")" "$before" \
	"and the target table is left as it was"
q "$SRC" "UPDATE edge SET numtext = '1e400' WHERE id = 2" >/dev/null

# ---- The rules file ----------------------------------------------------------------------------------
mkfifo "$TMP/rules.fifo"
run timeout 60 "$CONFITURE_BIN" sync --project-dir "$P" --from prod --to staging --rules "$TMP/rules.fifo"
expect_rc 5 "a FIFO as the rules file exits 5, without waiting on it"
expect_err 'rules.fifo": it is a FIFO, not a regular file' "says what it is"
run S --from prod --to staging --rules "$TMP"
expect_rc 5 "a directory as the rules file exits 5"
expect_err "it is a directory, not a regular file" "says what it is"
run S --from prod --to staging --rules "$TMP/none.yaml"
expect_rc 5 "a missing rules file exits 5"
expect_err 'none.yaml" does not exist' "says it does not exist"
printf 'edge:\n  - {column: doc, strategy: json, paths: ["$.user..name"]}\n' >"$P/badpath.yaml"
run S --from prod --to staging --rules "$P/badpath.yaml"
expect_rc 5 "a json path that cannot be read exits 5"
expect_err 'badpath.yaml:2:43: invalid json path "$.user..name": a step is empty' "at its line and column"
done_testing
