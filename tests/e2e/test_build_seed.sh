#!/usr/bin/env bash
# confiture seed apply: the seed files alone; --sequential savepoints,
# --continue-on-error, seed.transaction_mode, and seeds inside build --apply.
. "$(dirname "$0")/../lib.sh"

P=$(newproject)
cd "$P" || exit 1
db=$(newdb seed)
url=$(dburl "$db")

run cf build --apply --schema-only -d "$url"
expect_rc 0 "schema built without seeds"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "0" "no rows yet"

run cf seed apply -d "$url"
expect_rc 0 "seed apply exits 0"
expect_err "applied 2 seed files (2 statements) to database \"$db\"" "says what it applied"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "users seeded"
expect_eq "$(q "$db" "SELECT count(*) FROM posts")" "3" "posts seeded after users"

# Applying again breaks a unique constraint: all of it is rolled back.
q "$db" "DELETE FROM posts" >/dev/null
run cf seed apply -d "$url"
expect_rc 3 "a failing seed exits 3"
expect_err 'confiture: error: db/seeds/10_users.sql:2:1: duplicate key value violates unique constraint "users_email_key"' \
	"the error at the seed file's statement"
expect_err "confiture: sqlstate: 23505" "with the SQLSTATE"
expect_eq "$(q "$db" "SELECT count(*) FROM posts")" "0" "nothing was applied (one transaction)"

# --sequential --continue-on-error: a failing file is rolled back, the rest goes on.
q "$db" "TRUNCATE users, posts" >/dev/null
cat >db/seeds/15_bad.sql <<'EOF'
INSERT INTO users (email, full_name) VALUES ('bad@example.com', 'Bad');
INSERT INTO users (email, full_name) VALUES ('not an email', 'Broken');
EOF
run cf seed apply --sequential --continue-on-error -d "$url" -f json
expect_rc 3 "a failed file still makes the exit code 3"
expect_json .applied 2 "two files applied"
expect_json .failed 1 "one file failed"
expect_json .mode sequential "JSON: sequential mode"
expect_json '.files | map("\(.path | split("/") | last)=\(.success)") | join(",")' \
	"10_users.sql=true,15_bad.sql=false,20_posts.sql=true" "JSON: per file"
expect_json '.errors[0].file' "db/seeds/15_bad.sql" "JSON: the failing file"
expect_json '.errors[0].line' 2 "JSON: the failing line"
expect_json '.errors[0].sqlstate' 23514 "JSON: the failing SQLSTATE"
expect_json .error.message "1 of 3 seed files failed" "JSON: the summary error"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "the good files' rows are committed"
expect_eq "$(q "$db" "SELECT count(*) FROM users WHERE email = 'bad@example.com'")" "0" \
	"the failing file is rolled back whole"
expect_eq "$(q "$db" "SELECT count(*) FROM posts")" "3" "files after the failure ran"

run cf seed apply --sequential --continue-on-error -d "$url"
expect_err "seed file rolled back, going on" "text mode warns for each failing file"

# --sequential alone stops at the first failure and keeps nothing.
q "$db" "TRUNCATE users, posts" >/dev/null
run cf seed apply --sequential -d "$url"
expect_rc 3 "--sequential stops at a failure"
expect_err 'db/seeds/15_bad.sql:2:1: value for domain email_address violates check constraint "email_address_check"' \
	"at the failing file"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "0" "savepoint mode: everything rolled back"

# seed.transaction_mode: transaction commits each file on its own.
mkdir -p db/environments
cat >db/environments/seedtx.yaml <<EOF
database_url: "$url"
seed:
  execution_mode: sequential
  transaction_mode: transaction
EOF
run cf seed apply -e seedtx
expect_rc 3 "transaction mode: a failure exits 3"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "transaction mode: the file before it is committed"
expect_eq "$(q "$db" "SELECT count(*) FROM posts")" "0" "transaction mode: it stops at the failure"

# Config keys alone (no flags).
q "$db" "TRUNCATE users, posts" >/dev/null
cat >db/environments/seedcfg.yaml <<EOF
database_url: "$url"
seed:
  execution_mode: sequential
  continue_on_error: true
EOF
run cf seed apply -e seedcfg -f json
expect_json .applied 2 "seed.continue_on_error from the config"

# Seeds inside build --apply, sequential, continuing.
db2=$(newdb buildseed)
url2=$(dburl "$db2")
run cf build --apply --sequential --continue-on-error -d "$url2"
expect_rc 4 "build with a failing seed file exits 4"
expect_err "1 of 3 seed files failed" "build: the summary"
expect_eq "$(q "$db2" "SELECT count(*) FROM users")" "3" "build: schema and good seeds committed"
rm db/seeds/15_bad.sql

# Seeds as pg_dump --data-only writes them: COPY ... FROM stdin with data.
db3=$(newdb copy)
url3=$(dburl "$db3")
rm db/seeds/15_bad.sql
printf -- '-- pg_dump style\nCOPY public.users (email, full_name, phone) FROM stdin;\nada@example.com\tAda Lovelace\t\\N\nalan@example.com\tAlan Turing\t+44\n\\.\n' >db/seeds/10_users.sql
run cf build --apply -d "$url3" -f json
expect_rc 0 "COPY FROM stdin seeds: exit 0"
expect_eq "$(q "$db3" "SELECT string_agg(email || ':' || coalesce(phone, 'null'), ',' ORDER BY email) FROM users")" \
	"ada@example.com:null,alan@example.com:+44" "COPY data streamed, \\N is NULL"
expect_eq "$(q "$db3" "SELECT count(*) FROM posts")" "2" "the next seed file ran after the COPY"
db4=$(newdb copy_psql)
psql -XAtq -v ON_ERROR_STOP=1 -d "$db4" -f db/generated/schema_local.sql >/dev/null 2>&1
expect_eq "$(q "$db4" "SELECT count(*) FROM users")" "2" "the generated file loads the same data with psql"
printf 'COPY public.users (email, full_name) FROM stdin;\nbob@example.com\tBob\nnot-an-email\tX\n\\.\n' >db/seeds/10_users.sql
run cf seed apply -d "$url3"
expect_rc 3 "a bad COPY row: exit 3"
expect_err 'confiture: error: db/seeds/10_users.sql:3:1: value for domain email_address violates check constraint' \
	"a bad COPY row: the error at the data line in the file"
expect_err "confiture: context: COPY users, line 2" "a bad COPY row: the server's context"
expect_eq "$(q "$db3" "SELECT count(*) FROM users WHERE email = 'bob@example.com'")" "0" "a bad COPY row: rolled back"

# No seed files.
rm db/seeds/*.sql
run cf seed apply -d "$url"
expect_rc 4 "no seed files: exit 4"
expect_err "confiture: error: no seed files found" "no seed files: the message"

run cf seed frobnicate
expect_rc 2 "an unknown seed action: exit 2"
run cf seed apply --continue-on-error
expect_rc 2 "--continue-on-error without --sequential: exit 2"
expect_err "--continue-on-error needs --sequential" "says why"

done_testing
