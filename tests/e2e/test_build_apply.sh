#!/usr/bin/env bash
# confiture build --apply: the sample project into a real database, one
# transaction, errors at the source line, non-transactional statements,
# --recreate, --schema-only, JSON.
. "$(dirname "$0")/../lib.sh"

P=$(newproject)
cd "$P" || exit 1
db=$(newdb apply)
url=$(dburl "$db")

run cf build --apply -d "$url"
expect_rc 0 "build --apply exits 0"
expect_err "confiture: built database \"$db\" from 7 files" "says what it built"
expect_eq "$(q "$db" "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")" \
	"posts,users" "the tables exist"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "seeds ran after the schema"
expect_eq "$(q "$db" "SELECT count(*) FROM posts")" "3" "seed files run in order"
[ -f db/generated/schema_local.sql ] && _ok "the output file is written too" || _fail "no output file"

run cf build --apply -d "$url"
expect_rc 4 "applying twice fails (the objects exist)"
expect_err 'db/schema/00_common/00_types.sql:3:1: type "email_address" already exists' \
	"the error is at the file's line and column"
expect_err "confiture: sqlstate: 42710" "with the SQLSTATE"
expect_err "Add --recreate to build it from scratch" "with a hint"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "and nothing changed (rolled back)"

run cf build --recreate -d "$url" -f json
expect_rc 0 "--recreate exits 0"
expect_json .recreated true "JSON says recreated"
expect_json .applied true "JSON says applied"
expect_json .database "$db" "JSON names the database"
expect_json .n_files 7 "JSON counts the files"
expect_json .seed_files 2 "JSON counts the seed files"
expect_json .statements 18 "JSON counts the statements run"
expect_json '.hash | length' 64 "JSON carries the schema hash"
expect_json '.files[0].relpath' "schema/00_common/00_types.sql" "JSON lists the files in order"
expect_json '.files[6] | "\(.relpath) \(.seed)"' "seeds/20_posts.sql true" "seed files last"
expect_json '(.timings | has("apply_s") and has("load_s")) and (.duration_s >= 0)' true "JSON has timings, and the command's duration_s"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "--recreate starts from an empty database"

run cf build --recreate --schema-only -d "$url" -f json
expect_rc 0 "--schema-only exits 0"
expect_json .seed_files 0 "--schema-only leaves seeds out"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "0" "--schema-only runs no seed"

# Hash: stable, and --show-hash prints it alone on stdout.
run cf build --show-hash -q
expect_rc 0 "--show-hash exits 0"
h1=$out
run cf build --show-hash -q
expect_eq "$out" "$h1" "the hash is stable across runs"
[[ $h1 =~ ^[0-9a-f]{64}$ ]] && _ok "--show-hash prints 64 hex digits" || _fail "--show-hash: $h1"
# Same tree elsewhere, same hash (no absolute paths in it).
P2=$(newproject)
(cd "$P2" && cf build --show-hash -q >"$TMP/h2")
expect_eq "$(cat "$TMP/h2")" "$h1" "the hash is the same in another directory"

# A server error in the middle rolls everything back.
db2=$(newdb err)
url2=$(dburl "$db2")
cat >db/schema/10_tables/15_bad.sql <<'EOF'
-- a column of a type that does not exist
CREATE TABLE bad (
    id int,
    x nosuchtype
);
EOF
run cf build --apply -d "$url2"
expect_rc 4 "a server error exits 4"
expect_err 'confiture: error: db/schema/10_tables/15_bad.sql:4:7: type "nosuchtype" does not exist' \
	"undefined type: file:line:column and the server's message"
expect_err "confiture: sqlstate: 42704" "undefined type: SQLSTATE"
expect_eq "$(q "$db2" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "0" \
	"the files before it were rolled back"
expect_eq "$(q "$db2" "SELECT count(*) FROM pg_type WHERE typname = 'post_status'")" "0" \
	"even the types of the first file"
[ "$(grep -c 'nosuchtype' db/generated/schema_local.sql)" = 0 ] && _ok "the output file is not rewritten on failure" ||
	_fail "output rewritten on failure"
run cf build --apply -d "$url2" -f json
expect_json .ok false "JSON: ok false"
expect_json .error.file "db/schema/10_tables/15_bad.sql" "JSON: error.file"
expect_json .error.line 4 "JSON: error.line"
expect_json .error.column 7 "JSON: error.column"
expect_json .error.sqlstate 42704 "JSON: error.sqlstate"
expect_json .error.code 4 "JSON: error.code"
rm db/schema/10_tables/15_bad.sql

# A function body that fails at creation (check_function_bodies is on).
cat >db/schema/30_functions/20_bad_fn.sql <<'EOF'
CREATE FUNCTION post_count() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*)
    FROM no_such_table
$$;
EOF
run cf build --apply -d "$url2"
expect_rc 4 "a failing function body exits 4"
expect_err 'db/schema/30_functions/20_bad_fn.sql:4:10: relation "no_such_table" does not exist' \
	"function body: the error is inside the body, at its line"
rm db/schema/30_functions/20_bad_fn.sql

# PL/pgSQL syntax errors point into the body too.
cat >db/schema/30_functions/20_bad_plpgsql.sql <<'EOF'
CREATE FUNCTION f() RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
    RETURN 1 +;
END;
$$;
EOF
run cf build --apply -d "$url2"
expect_rc 4 "a PL/pgSQL syntax error exits 4"
expect_err 'db/schema/30_functions/20_bad_plpgsql.sql:4:15: syntax error at end of input' \
	"PL/pgSQL: the error at its line in the file"
rm db/schema/30_functions/20_bad_plpgsql.sql

# Statements that cannot run in a transaction run after it, one at a time.
db3=$(newdb nontx)
url3=$(dburl "$db3")
cat >db/schema/10_tables/30_concurrent.sql <<'EOF'
BEGIN;
CREATE INDEX CONCURRENTLY users_name_idx ON users (full_name);
CREATE TABLE later (id int);
COMMIT;
EOF
run cf build --apply -d "$url3" -f json
expect_rc 0 "CREATE INDEX CONCURRENTLY in a build works"
expect_json .nontx_statements 1 "one statement ran outside the transaction"
expect_json .skipped_statements 2 "BEGIN and COMMIT were left out"
expect_err "30_concurrent.sql:1:1: skipping BEGIN: the build runs its own transaction" "BEGIN is skipped with a warning"
expect_eq "$(q "$db3" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name_idx'::regclass")" "t" \
	"the concurrent index is built and valid"
expect_eq "$(q "$db3" "SELECT count(*) FROM later")" "0" "the statement after it ran in the transaction"
echo "ROLLBACK;" >db/schema/10_tables/30_concurrent.sql
run cf build --apply -d "$url3"
expect_rc 4 "ROLLBACK in a build file exits 4"
expect_err "30_concurrent.sql:1:1: ROLLBACK is not allowed in a build file" "ROLLBACK is refused"
rm db/schema/10_tables/30_concurrent.sql

# build.transaction: false commits each statement on its own.
db4=$(newdb notx)
url4=$(dburl "$db4")
mkdir -p db/environments
cat >db/environments/notx.yaml <<EOF
database_url: "$url4"
include_dirs: [db/schema]
build:
  transaction: false
EOF
echo "CREATE TABLE z (x nosuchtype);" >db/schema/99_bad.sql
run cf build --apply -e notx
expect_rc 4 "without the transaction a failure still exits 4"
expect_eq "$(q "$db4" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "2" \
	"without the transaction the statements before the failure stay"
rm db/schema/99_bad.sql

done_testing
