#!/usr/bin/env bash
# JSON that never contradicts itself: counters agree with their lists, applied
# migrations carry both checksums, output is valid UTF-8 whatever the file
# names and server messages hold, and migrate current prints a bare version.
. "$(dirname "$0")/../lib.sh"

p=$(migproject)
cd "$p"
db=$(newdb c)
export CONFITURE_DATABASE_URL=$(dburl "$db")
migfile "$p" 001_a.up.sql 'CREATE TABLE a (id int);'
migfile "$p" 002_b.up.sql 'CREATE TABLE b (id int);'

run cf migrate current
expect_rc 2 "migrate current before any migrate up: exit 2 (no ledger)"
expect_eq "$out" "" "and nothing on stdout: the error is on stderr"

run cf migrate up -f json
expect_json '[.applied_count, ([.migrations[] | select(.status == "applied_now")] | length)] | join(" ")' "2 2" \
	"up: applied_count is the number of migrations applied"
migfile "$p" 003_c.up.sql 'CREATE TABLE c (id int);'

run cf migrate status -f json
expect_rc 1 "status: one pending (exit 1)"
expect_json '.applied_count == (.applied | length)' true "status: applied_count is the length of applied[]"
expect_json '.pending_count == (.pending | length)' true "status: pending_count is the length of pending[]"
expect_json '[.applied_count, .pending_count] | join(" ")' "2 1" "status: 2 applied, 1 pending"
expect_json '[.migrations[] | select(.status == "applied") | .stored_checksum != null and .stored_checksum == .checksum] | all' \
	true "status: applied migrations carry the stored checksum, equal to the file's"
expect_json '[.migrations[] | select(.status == "applied") | .stored_checksum | length] | unique | join(" ")' 64 \
	"status: a SHA-256 in hex"
expect_json '(.migrations[] | select(.version == "003") | .stored_checksum)' null \
	"status: a pending migration has no stored checksum"

run cf migrate current
expect_rc 0 "migrate current: exit 0"
expect_eq "$out" "002" "migrate current prints the bare version, nothing else"
v=$(cf migrate current)
expect_eq "$v" "002" 'v=$(confiture migrate current) is the version'

migfile "$p" 004_bad.up.sql 'CREATE TABLE d (id nosuchtype);'
run cf migrate up -f json
expect_rc 3 "up with a failing migration: exit 3"
expect_json '.failed_count' 1 "failed_count counts the failed migration"
expect_json '.failed_count == ([.migrations[] | select(.status == "failed")] | length)' true \
	"failed_count is the number of failed entries"
expect_json '.applied_count == ([.migrations[] | select(.status == "applied_now")] | length)' true \
	"applied_count is the number applied before the failure"
rm db/migrations/004_bad.up.sql

# Invalid UTF-8 in a file name: the JSON escapes each bad byte as \ufffd.
printf 'CREATE TABLE e (id int);\n' >"db/migrations/005_caf$(printf '\351').up.sql"
run cf migrate status --offline -f json
expect_json '.migrations[] | select(.version == "005") | .name' "caf�" \
	"a LATIN1 byte in a file name is U+FFFD in the JSON"
printf '%s' "$out" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 &&
	_ok "the document is valid UTF-8" || _fail "the document is valid UTF-8" "$out"
[[ $out == *'caf\ufffd'* ]] && _ok 'written as the escape \ufffd' || _fail 'written as the escape \ufffd' "$out"
rm "db/migrations/005_caf$(printf '\351').up.sql"

# Invalid UTF-8 in a server message: a SQL_ASCII database passes bytes through.
adb=${T}_ascii
adb=$(printf '%s' "$adb" | tr -c 'a-zA-Z0-9_\n' '_' | tr 'A-Z' 'a-z')
psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS \"$adb\"" >/dev/null 2>&1
psql -XAtq -d postgres -c "CREATE DATABASE \"$adb\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
q2=$(mktemp -d "$TMP/q.XXXXXX")
mkdir -p "$q2/db/migrations"
printf "DO \$\$ BEGIN RAISE EXCEPTION 'caf%s au lait'; END \$\$;\n" "$(printf '\351')" >"$q2/db/migrations/001_x.up.sql"
run env PGCLIENTENCODING=SQL_ASCII "$CONFITURE_BIN" -f json migrate up --project-dir "$q2" -d "$(dburl "$adb")"
expect_rc 3 "a migration raising a LATIN1 message fails (exit 3)"
expect_json '.error.message' "caf� au lait" "the server's bad byte is U+FFFD in the JSON"
printf '%s' "$out" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 &&
	_ok "the error document is valid UTF-8" || _fail "the error document is valid UTF-8" "$out"
psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS \"$adb\"" >/dev/null 2>&1

done_testing
