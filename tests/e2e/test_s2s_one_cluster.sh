#!/usr/bin/env bash
# s2s with the source and the target on one cluster: setup (idempotent),
# analyze, migrate with renames, expressions, defaults and where, reruns
# without duplicates, the refusal of a non-empty target, restart (and its
# refusal on a protected environment), upsert, verify catching one changed
# value, hooks around steps and tables, bad mappings, and cleanup.
. "$(dirname "$0")/../lib.sh"

SRC=$(newdb src)
TGT=$(newdb tgt)
SU=$(dburl "$SRC")
TU=$(dburl "$TGT")

q "$SRC" "
CREATE TABLE old_users (id serial PRIMARY KEY, full_name text NOT NULL, email text, legacy int,
                        created timestamptz DEFAULT '2024-01-01 00:00:00+00');
INSERT INTO old_users (full_name, email, legacy)
  SELECT 'User ' || g, 'u' || g || '@example.org', g FROM generate_series(1, 3000) g;
UPDATE old_users SET email = NULL WHERE id % 100 = 0;
CREATE TABLE blog_posts (post_id bigint PRIMARY KEY, author_id int REFERENCES old_users,
                         post_title text, body text, draft bool NOT NULL DEFAULT false);
INSERT INTO blog_posts SELECT g, 1 + g % 3000, 'Title ' || g, repeat('x', g % 50), g % 10 = 0
  FROM generate_series(1, 6000) g;
CREATE TABLE events (id bigint PRIMARY KEY, kind text, flag bool);
INSERT INTO events SELECT g, 'k' || (g % 7), CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END
  FROM generate_series(1, 2000) g;
CREATE TABLE pairs (id int PRIMARY KEY, a text NOT NULL);
INSERT INTO pairs SELECT g, 'a' || g FROM generate_series(1, 100) g;
CREATE TABLE stamps (id int PRIMARY KEY, at timestamp, tags int[]);
INSERT INTO stamps SELECT g, '2024-05-01 12:00', CASE WHEN g % 2 = 0 THEN ARRAY[g] END
  FROM generate_series(1, 10) g;
ANALYZE;" || exit 1
# The new schema: renamed columns, an identity key, a NOT NULL column the
# source does not have, and (events) no primary key, so a duplicate would show.
q "$TGT" "
CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    display_name varchar(200) NOT NULL, email text, slug text,
                    status text NOT NULL, created_at timestamptz);
CREATE TABLE posts (id bigint PRIMARY KEY, user_id int NOT NULL REFERENCES users, title text,
                    content text, words int);
CREATE TABLE events (id bigint, kind text, flag bool);
CREATE TABLE pairs (id int PRIMARY KEY, a text NOT NULL);
CREATE TABLE stamps (id int PRIMARY KEY, at timestamptz, tags int[]);" || exit 1

P=$TMP/proj
mkdir -p "$P/db/environments"
cat >"$P/confiture.yaml" <<'EOF'
hooks:
  before_s2s_step:
    - run: echo "before $CONFITURE_STEP $CONFITURE_TABLE" >> hooks.log
  after_s2s_step:
    - run: echo "after $CONFITURE_STEP $CONFITURE_TABLE rows=$CONFITURE_ROWS ok=$CONFITURE_SUCCESS" >> hooks.log
EOF
printf 'database_url: "%s"\nprotected: true\n' "$TU" >"$P/db/environments/prod.yaml"
cd "$P" || exit 1

cat >map.yaml <<'EOF'
users:
  source_table: old_users
  target_table: users
  columns:
    id: id
    full_name: display_name
    email: email
    created: created_at
  expressions:
    slug: "lower(replace(full_name, ' ', '-'))"
  defaults:
    status: active
posts:
  source_table: blog_posts
  target_table: posts
  columns: {post_id: id, author_id: user_id, post_title: title, body: content}
  expressions:
    words: "length(body)"
  where: "NOT draft"
events:
  columns: [id, kind, flag]
pairs:
  columns: [id, a]
stamps:
  columns: [id, at, tags]
EOF

# ---- setup -----------------------------------------------------------------
run cf s2s setup --source "$SU" --target "$TU"
expect_rc 0 "setup exits 0"
expect_out 'created foreign server "confiture_src_server"' "setup creates the foreign server"
expect_out 'imported 5 foreign tables into "confiture_src"' "setup imports the source tables"
expect_err "password_required 'false'" "trust: the hint explains password_required 'false'"
expect_eq "$(q "$TGT" "SELECT array_to_string(srvoptions, ' ') FROM pg_foreign_server WHERE srvname = 'confiture_src_server'")" \
	"host=$PGHOST port=$PGPORT dbname=$SRC fetch_size=10000 application_name=confiture s2s options=-c jit=off" \
	"the server's host, port and dbname are the source connection's (socket directory)"
expect_eq "$(q "$TGT" "SELECT array_to_string(umoptions, ' ') FROM pg_user_mappings WHERE srvname = 'confiture_src_server'")" \
	"user=postgres password_required=false" "the user mapping: source user, password_required false"

snapshot() {
	q "$TGT" "SELECT string_agg(c.oid || ':' || c.relname, ',' ORDER BY relname) FROM pg_class c
	          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'confiture_src';
	          SELECT oid, srvoptions FROM pg_foreign_server; SELECT umid, umoptions FROM pg_user_mappings"
}
before=$(snapshot)
run cf s2s setup --source "$SU" --target "$TU" -f json
expect_rc 0 "setup again exits 0"
expect_json .changes_detected false "setup again changes nothing"
expect_json '.actions | length' 0 "setup again lists no action"
expect_json .message "already set up: nothing changed" "setup again says so"
expect_json .foreign_server.port "$PGPORT" "JSON names the foreign server's port"
expect_eq "$(snapshot)" "$before" "setup again leaves every object (and oid) as it was"

# A non-superuser on the target cannot use a source that asks no password.
q postgres "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 's2s_one_plain') THEN
    CREATE ROLE s2s_one_plain LOGIN;
  END IF;
END \$\$" >/dev/null
run cf s2s setup --source "$SU" --target "postgresql://s2s_one_plain@/$TGT?host=$PGHOST&port=$PGPORT"
expect_rc 5 "a non-superuser target with a password-less source is refused"
expect_err 'the source let "postgres" in without a password, and postgres_fdw lets only superusers connect that way' \
	"and told why"

# Another run holding the staging schema's lock: exit 6, naming the holder.
psql -XAtq -d "$TGT" -c "SET application_name = 's2s_lock_holder'" \
	-c "SELECT pg_advisory_lock(1751936053, hashtext('confiture_src')), pg_sleep(60)" >/dev/null 2>&1 &
for _ in $(seq 100); do
	[ "$(q "$TGT" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1751936053")" = 1 ] && break
	sleep 0.1
done
run cf s2s setup --source "$SU" --target "$TU"
expect_rc 6 "a held lock exits 6"
expect_err 'another confiture s2s run is using the staging schema "confiture_src"' "names the schema"
expect_err "(s2s_lock_holder)" "and the session holding it"
q "$TGT" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 's2s_lock_holder'" >/dev/null
wait

# ---- analyze ---------------------------------------------------------------
run cf s2s analyze --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_rc 0 "analyze exits 0"
expect_json '[.tables[].status] | join(",")' "ready,ready,ready,ready,ready" "every mapped table is ready"
expect_json '.tables[0].columns[] | select(.source == "full_name") | .cast' "assignment" \
	"text -> varchar(200) needs an assignment cast"
expect_json '.tables[0].columns[] | select(.source == "legacy") | .target' "null" \
	"an unmapped source column is listed"
expect_json '.tables[0].has_primary_key' true "the source primary key is found"
expect_json '.tables[0].row_estimate' 3000 "the row estimate"
run cf s2s analyze --source "$SU" --target "$TU"
expect_out "public.events -> public.events  ready" "analyze without a mapping pairs tables by name"
expect_out "public.old_users -> (none)  no_target" "a source table without a target is reported"

# ---- a bad mapping moves nothing -------------------------------------------
bad() { printf '%s\n' "$1" >bad.yaml; run cf s2s migrate --source "$SU" --target "$TU" --mapping bad.yaml; }
bad 'users:
  source_table: old_users
  columns:
    id: id
    fullname: display_name'
expect_rc 5 "a missing source column exits 5"
expect_err 'bad.yaml:5:5: column "fullname" does not exist in source table "public.old_users"' \
	"names the mapping file line"
expect_err 'Did you mean "full_name"?' "with a did-you-mean hint"
bad 'posts:
  source_table: blog_posts
  columns: {post_id: id, author_id: user_id}
users:
  source_table: old_users
  defaults: {status: x}
  columns: {id: id, full_name: display_name, legacy: created_at}'
expect_rc 5 "an impossible cast exits 5"
expect_err 'bad.yaml:7:54: cannot cast source column "legacy" (integer) to target column "created_at" (timestamp with time zone)' \
	"the impossible cast is named at its line"
bad 'users:
  source_table: old_userz
  columns: {id: id}'
expect_rc 5 "a missing source table exits 5"
expect_err 'bad.yaml:2:17: source table "old_userz" of "users" is not in the staging schema' "names it"
bad 'users:
  source_table: old_users
  target_table: people
  columns: {id: id}'
expect_err 'bad.yaml:3:17: target table "people" of "users" does not exist in the target' \
	"a missing target table is named at its line"
bad 'users:
  source_table: old_users
  columns: {id: id, full_name: display_name}
  defaults: {status: x}
  expressions:
    slug: "lower(fullname)"'
expect_rc 5 "a broken expression exits 5"
expect_err 'bad.yaml:6:18: invalid mapping for "users": column "fullname" does not exist' \
	"the server's error points into the expression"
bad 'users:
  source_table: old_users
  columns: {id: id, full_name: display_name}'
expect_err 'target column "status" of "public.users" is NOT NULL and "users" gives it no value' \
	"a NOT NULL column without a value is caught before copying"
# ${VAR} in SQL stays as written: a variable's value never becomes SQL.
export CF_S2S_MIN='0 OR true'
bad 'users:
  source_table: old_users
  columns: {id: id, full_name: display_name}
  defaults: {status: "${CF_S2S_MIN}"}
  where: "id > ${CF_S2S_MIN}"'
expect_rc 5 "\${VAR} in where is not expanded: the SQL as written does not parse (exit 5)"
expect_err 'bad.yaml:5:16: invalid mapping for "users": syntax error at or near "$"' \
	"the error points at the \${ in the file"
expect_err '${VAR} is not expanded in expressions and where' "and the hint says why"
unset CF_S2S_MIN
expect_eq "$(q "$TGT" "SELECT count(*) FROM users")" 0 "no row moved after bad mappings"

# ---- migrate -----------------------------------------------------------------
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --resume
expect_rc 2 "--resume with nothing recorded exits 2"
expect_err "nothing to resume: no earlier s2s migrate of these tables is recorded" "and says why"
: >hooks.log
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --batch-size 700 -j 2 -f json
expect_rc 0 "migrate exits 0"
expect_json .rows_copied 10510 "3000 users, 5400 non-draft posts, 2000 events, 100 pairs and 10 stamps"
expect_json '[.tables[] | .status] | join(",")' "copied,copied,copied,copied,copied" "every table copied"
expect_json '.tables[0].ranges' 5 "users cut into 5 ranges of about 700 rows"
expect_eq "$(q "$TGT" "SELECT display_name, coalesce(email, '-'), slug, status, created_at FROM users WHERE id = 100")" \
	"User 100|-|user-100|active|2024-01-01 00:00:00+00" "renames, expression, default and a NULL copied"
expect_eq "$(q "$TGT" "SELECT count(*), sum(words) FROM posts")" \
	"$(q "$SRC" "SELECT count(*), sum(length(body)) FROM blog_posts WHERE NOT draft")" \
	"where: and the expression over the source columns"
expect_eq "$(q "$TGT" "SELECT nextval(pg_get_serial_sequence('users', 'id'))")" 3001 \
	"the identity sequence is moved past the copied ids"
grep -q "^after migrate public.posts rows=5400 ok=true" hooks.log
expect_rc 0 "after_s2s_step fires per table with its rows"
expect_eq "$(head -n1 hooks.log) / $(tail -n1 hooks.log)" "before migrate  / after migrate  rows=10510 ok=true" \
	"before/after_s2s_step fire around the step"
pos_users=$(grep -n "^after migrate public.users" hooks.log | cut -d: -f1)
pos_posts=$(grep -n "^before migrate public.posts" hooks.log | cut -d: -f1)
[ -n "$pos_users" ] && [ -n "$pos_posts" ] && [ "$pos_users" -lt "$pos_posts" ]
rc=$?
expect_rc 0 "posts (referencing users) waits for users even with --jobs 2"

# ---- reruns ------------------------------------------------------------------
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_rc 0 "a rerun exits 0"
expect_json .rows_copied 0 "a rerun copies nothing"
expect_json '[.tables[] | .status] | join(",")' "skipped,skipped,skipped,skipped,skipped" "every table is skipped"
expect_eq "$(q "$TGT" "SELECT count(*), count(DISTINCT id) FROM events")" "2000|2000" \
	"no duplicate in a table without a primary key"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --resume
expect_rc 0 "--resume of a finished copy exits 0"

# A table that holds rows confiture did not copy is refused.
q "$TGT" "DELETE FROM confiture_src.confiture_s2s_plan WHERE target_table = 'public.events'"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --table events
expect_rc 5 "a target table with rows and no record is refused"
expect_err 'target table "public.events" already holds rows that s2s migrate did not copy' \
	"the refusal names the table"
expect_err "Use --restart to empty it and copy again, or --upsert" "and explains the way out"
run cf s2s migrate --source "$SU" --target prod --mapping map.yaml --table events --restart
expect_rc 5 "--restart on a protected target exits 5"
expect_err 'refusing --restart: the target is the protected environment "prod"' "names the environment"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --table events --restart
expect_rc 5 "--restart on a URL that is a protected environment's database is refused too"
mkdir -p "$TMP/plain"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --table events --restart \
	--project-dir "$TMP/plain"
expect_rc 0 "--restart empties and copies again"
expect_eq "$(q "$TGT" "SELECT count(*) FROM events")" 2000 "no duplicate after --restart"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --table nosuch
expect_rc 2 "an unknown --table exits 2"

# ---- verify ------------------------------------------------------------------
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_rc 0 "verify exits 0 after the copy"
expect_json '[.tables[] | .match] | join(",")' "true,true,true,true,true" "every table matches"
expect_json '[.tables[] | .pushed_down] | join(",")' "true,true,true,true,false" \
	"source checksums run on the source (a cast to varchar(200) included)..."
expect_err 'public.stamps: the source side of the checksum cannot run on the source server' \
	"...except with a session-dependent cast (timestamp to timestamptz), which verify says"
expect_json '.tables[0].unchecked_columns | join(",")' "slug,status" \
	"columns made by expressions and defaults are listed as unchecked"
q "$TGT" "UPDATE posts SET title = 'changed' WHERE id = 4321"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml
expect_rc 1 "verify exits 1 on one changed value in one row"
expect_out "public.posts                     MISMATCH" "the table is named"
expect_err "first difference in post_id range [" "the first differing key range is reported"
expect_err "at post_id = 4321" "and the first differing key"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml -f json
expect_json '.tables[1].first_diff_key' 4321 "JSON carries the first differing key"
expect_json '.error.code' 1 "JSON carries the exit code"
q "$TGT" "UPDATE posts SET title = 'Title 4321' WHERE id = 4321"
# One changed value of each kind of column hashing is caught, then put back.
catches() { # WHAT TABLE SQL UNDO
	q "$TGT" "$3"
	run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml --table "$2" -f json
	expect_eq "$rc:$(printf '%s' "$out" | jq -r '.tables[0].match')" "1:false" "verify catches $1"
	q "$TGT" "$4"
}
catches "a timestamptz one microsecond off" users \
	"UPDATE users SET created_at = created_at + interval '1 microsecond' WHERE id = 10" \
	"UPDATE users SET created_at = created_at - interval '1 microsecond' WHERE id = 10"
catches "a NULL that became an empty string" users \
	"UPDATE users SET email = '' WHERE id = 200" "UPDATE users SET email = NULL WHERE id = 200"
catches "a trailing blank in a varchar" users \
	"UPDATE users SET display_name = display_name || ' ' WHERE id = 5" \
	"UPDATE users SET display_name = rtrim(display_name) WHERE id = 5"
catches "a NULL array that became empty" stamps \
	"UPDATE stamps SET tags = '{}' WHERE id = 3" "UPDATE stamps SET tags = NULL WHERE id = 3"
catches "a NULL boolean that became false" events \
	"UPDATE events SET flag = false WHERE id = 3" "UPDATE events SET flag = NULL WHERE id = 3"
catches "two values swapped between rows" events \
	"UPDATE events SET kind = CASE id WHEN 8 THEN 'k2' ELSE 'k1' END WHERE id IN (8, 9)" \
	"UPDATE events SET kind = CASE id WHEN 8 THEN 'k1' ELSE 'k2' END WHERE id IN (8, 9)"
catches "two values swapped between rows (every column NOT NULL)" pairs \
	"UPDATE pairs SET a = CASE id WHEN 8 THEN 'a9' ELSE 'a8' END WHERE id IN (8, 9)" \
	"UPDATE pairs SET a = CASE id WHEN 8 THEN 'a8' ELSE 'a9' END WHERE id IN (8, 9)"
q "$SRC" "UPDATE old_users SET full_name = 'Renamed' WHERE id = 7; DELETE FROM events WHERE id = 5"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml --table events -f json
expect_json '.tables[0].source_rows' 1999 "a deleted source row shows in the counts"

# ---- upsert catches up -------------------------------------------------------
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml --table users --upsert -f json
expect_rc 0 "an upsert pass exits 0"
expect_json .rows_copied 1 "the upsert pass changes only the changed row"
expect_eq "$(q "$TGT" "SELECT display_name, slug FROM users WHERE id = 7")" "Renamed|renamed" \
	"the changed row is caught up, expressions included"
run cf s2s verify --source "$SU" --target "$TU" --mapping map.yaml --table users
expect_rc 0 "verify matches after the upsert pass"

# ---- a failing before hook aborts before anything changes --------------------
printf 'hooks:\n  before_s2s_step:\n    - run: exit 3\n' >confiture.yaml
run cf s2s cleanup --target "$TU"
expect_rc 5 "a failing before_s2s_step hook stops the step"
expect_eq "$(q "$TGT" "SELECT count(*) FROM pg_namespace WHERE nspname = 'confiture_src'")" 1 \
	"and nothing was dropped"
printf 'hooks: {}\n' >confiture.yaml

# ---- cleanup -----------------------------------------------------------------
run cf s2s cleanup --target "$TU"
expect_rc 5 "cleanup of a protected database (prod) is refused"
expect_err "refusing to clean up s2s: the target is the database of protected environment \"prod\"" \
	"and names the environment"
run cf s2s cleanup --target "$TU" -f json --yes-i-mean-production
expect_rc 0 "cleanup exits 0"
expect_json '.actions | length' 4 "schema, user mapping, server and extension dropped"
expect_eq "$(q "$TGT" "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'confiture_src')
	+ (SELECT count(*) FROM pg_foreign_server) + (SELECT count(*) FROM pg_user_mappings)
	+ (SELECT count(*) FROM pg_extension WHERE extname = 'postgres_fdw')
	+ (SELECT count(*) FROM pg_class WHERE relkind = 'f')")" 0 "cleanup leaves nothing behind"
expect_eq "$(q "$TGT" "SELECT count(*) FROM users")" 3000 "and keeps the copied data"
run cf s2s cleanup --target "$TU" --yes-i-mean-production
expect_rc 0 "cleanup again exits 0"
expect_out "nothing to clean up" "cleanup again has nothing to do"
run cf s2s migrate --source "$SU" --target "$TU" --mapping map.yaml
expect_rc 2 "migrate without setup exits 2"
expect_err 's2s setup has not been run on the target' "and says to run setup"

run cf schema-to-schema setup --source "$SU"
expect_rc 2 "the alias works, and --target is required"
expect_err "s2s setup needs --target ENV|URL" "names the missing option"

done_testing
