#!/usr/bin/env bash
# confiture build on bad input: exit codes and the exact messages a user sees.
. "$(dirname "$0")/../lib.sh"

P=$(mktemp -d "$TMP/proj.XXXXXX")
cd "$P" || exit 1
mkdir -p db/environments

# An empty tree.
run cf build
expect_rc 4 "no SQL files: exit 4"
expect_err "confiture: error: no SQL files found" "no SQL files: the message"
expect_err "confiture: detail: Searched: db/schema, db/seeds." "no SQL files: where it looked"
run cf build -f json
expect_json .error.message "no SQL files found" "no SQL files: JSON envelope"
expect_json .error.code 4 "no SQL files: JSON exit code"

# A parse error stops the build before anything runs.
mkdir -p db/schema/10_tables
printf 'CREATE TABLE a (id int);\n' >db/schema/10_tables/10_a.sql
printf 'CREATE TABLE b (\n    id int,,\n    name text\n);\n' >db/schema/10_tables/20_b.sql
run cf build
expect_rc 4 "a parse error: exit 4"
expect_eq "$err" 'confiture: error: db/schema/10_tables/20_b.sql:2:12: syntax error at or near ","
confiture: sqlstate: 42601' "a parse error: file:line:column and the parser's message"
[ ! -e db/generated/schema_local.sql ] && _ok "a parse error writes no output" || _fail "output written"
printf 'SELECT 1;\n/* not closed\n' >db/schema/10_tables/30_c.sql
run cf build
expect_err "confiture: detail: 1 more file failed too: db/schema/10_tables/30_c.sql:2:1." \
	"other failing files are listed in the detail"
run cf build --apply -d "postgresql:///nonexistent_db_for_parse_test?host=$PGHOST&port=$PGPORT"
expect_rc 4 "--apply with a parse error exits 4 before connecting"
expect_no_err "could not connect" "no connection was tried"
rm db/schema/10_tables/20_b.sql db/schema/10_tables/30_c.sql

# Unclosed comment, as its own case.
printf 'CREATE TABLE c (id int);\n/* unclosed\n' >db/schema/10_tables/40_c.sql
run cf build
expect_rc 4 "an unclosed comment: exit 4"
expect_err 'db/schema/10_tables/40_c.sql:2:1: unterminated /* comment at or near "/* unclosed' \
	"an unclosed comment: where it starts"
rm db/schema/10_tables/40_c.sql

# COPY ... FROM stdin data must end with a "\." line.
mkdir -p db/seeds
printf 'COPY t (id, name) FROM stdin;\n1\tone\n2\ttwo\n' >db/seeds/10_t.sql
run cf build
expect_rc 4 "COPY data without its end line: exit 4"
expect_err 'confiture: error: db/seeds/10_t.sql:1:1: COPY data has no terminating "\." line' \
	"COPY data without its end line: the message"
rm -r db/seeds

# A file whose last statement lacks its ";" builds, with a warning.
printf 'CREATE TABLE nosemi (id int)\n-- the end\n' >db/schema/10_tables/60_nosemi.sql
run cf build
expect_rc 0 "a missing final semicolon: still builds"
expect_err 'confiture: warning: db/schema/10_tables/60_nosemi.sql:1:1: the last statement has no ";"' \
	"a missing final semicolon: warned"
rm db/schema/10_tables/60_nosemi.sql

# A byte order mark is not SQL either.
printf '\xEF\xBB\xBFCREATE TABLE bom (id int);\n' >db/schema/10_tables/70_bom.sql
run cf build
expect_rc 4 "a UTF-8 BOM: exit 4"
expect_err "hint: The file starts with a UTF-8 byte order mark" "a UTF-8 BOM: the hint"
rm db/schema/10_tables/70_bom.sql

# psql meta-commands are not SQL.
printf 'CREATE TABLE m (id int);\n\\i other.sql\n' >db/schema/10_tables/50_meta.sql
run cf build
expect_rc 4 "a psql meta-command: exit 4"
expect_err 'Lines starting with a backslash are psql meta-commands' "a psql meta-command: the hint"
rm db/schema/10_tables/50_meta.sql

# An output file inside an include dir is never built into itself.
run cf build -o db/schema/all.sql
expect_rc 0 "an output inside db/schema: exit 0"
run cf build -o db/schema/all.sql -f json
expect_json .n_files 1 "the output is not one of the files"
rm db/schema/all.sql

# A configured include dir that does not exist.
cat >db/environments/local.yaml <<'EOF'
include_dirs:
  - db/schema
  - db/missing
EOF
run cf build
expect_rc 4 "a missing include dir: exit 4"
expect_err 'confiture: error: include directory "db/missing" does not exist' "a missing include dir: the message"
expect_err "confiture: detail: It is listed in include_dirs at db/environments/local.yaml:3." \
	"a missing include dir: where it is configured"

# The same file reached twice.
mkdir -p db/schema/10_tables
cat >db/environments/local.yaml <<'EOF'
include_dirs:
  - db/schema
  - db/schema/10_tables
EOF
run cf build
expect_rc 4 "a duplicate include: exit 4"
expect_err 'confiture: error: file "db/schema/10_tables/10_a.sql" is included twice' \
	"a duplicate include: the message"
expect_err 'through include directory "db/schema" (db/environments/local.yaml:2) and through "db/schema/10_tables" (db/environments/local.yaml:3)' \
	"a duplicate include: both include dirs, with their lines"

# A protected environment: --recreate is refused and nothing is touched.
db=$(newdb prot)
url=$(dburl "$db")
q "$db" "CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1)"
cat >db/environments/local.yaml <<'EOF'
include_dirs: [db/schema]
EOF
cat >db/environments/production.yaml <<EOF
database_url: "$url"
include_dirs: [db/schema]
protected: true
EOF
run cf build --recreate -e production
expect_rc 5 "--recreate on a protected env: exit 5"
expect_err 'confiture: error: refusing to re-create the database: environment "production" is protected' \
	"protected env: the message"
run cf build --template -e production
expect_rc 5 "--template on a protected env: exit 5"
# Another environment whose URL is that of the protected one.
cat >db/environments/staging.yaml <<EOF
database_url: "postgresql://postgres@/$db?host=$PGHOST&port=$PGPORT&application_name=x"
include_dirs: [db/schema]
EOF
run cf build --recreate -e staging
expect_rc 5 "--recreate on the URL of a protected env: exit 5"
expect_err "confiture: error: refusing to re-create the database: its database is the one of protected environment \"production\"" \
	"protected URL: the message"
run cf build --recreate -d "$url"
expect_rc 5 "--recreate with -d naming a protected database: exit 5"
expect_eq "$(q "$db" "SELECT count(*) FROM keep_me")" "1" "the protected database is untouched"
# A plain --apply is not destructive: allowed.
run cf build --apply -e production
expect_rc 0 "--apply (no recreate) on a protected env is allowed"

# Usage errors.
run cf build --bogus
expect_rc 2 "an unknown option: exit 2"
expect_err 'unknown option "--bogus"' "an unknown option: named"
run cf build --continue-on-error
expect_rc 2 "--continue-on-error alone: exit 2"
run cf build --separator-style fancy
expect_rc 2 "a bad --separator-style: exit 2"
run cf help build
expect_out "usage: confiture build" "help build"

done_testing
