#!/usr/bin/env bash
# confiture build --template: build once into a template named after the
# schema hash, clone it while the hash is unchanged, drop stale templates.
. "$(dirname "$0")/../lib.sh"

P=$(newproject)
cd "$P" || exit 1
db=$(newdb tpl)
url=$(dburl "$db")
tpl_count() {
	q postgres "SELECT count(*) FROM pg_database WHERE shobj_description(oid, 'pg_database') = 'confiture build template for database \"$db\"'"
}

run cf build --template -d "$url" -f json
expect_rc 0 "a first --template build exits 0"
expect_json .cloned false "the first build runs the files"
tpl=$(printf '%s' "$out" | jq -r .template)
hash=$(printf '%s' "$out" | jq -r .hash)
[[ $tpl == confiture_tpl_${hash:0:20}_???????? ]] && _ok "the template is named after the schema hash" ||
	_fail "template name $tpl (hash $hash)"
expect_eq "$(q postgres "SELECT datistemplate FROM pg_database WHERE datname = '$tpl'")" "t" \
	"the template is marked IS_TEMPLATE"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "the target is built, with seeds"

q "$db" "INSERT INTO users (email, full_name) VALUES ('x@example.com', 'X')"
run cf build --template -d "$url" -f json
expect_rc 0 "a second --template build exits 0"
expect_json .cloned true "an unchanged hash clones the template"
expect_json .statements 0 "no statement ran"
expect_err "schema unchanged: cloning template \"$tpl\"" "says it cloned"
expect_eq "$(q "$db" "SELECT count(*) FROM users")" "3" "the clone is fresh (local changes gone)"

# A change makes a new template, and the old one goes.
echo "CREATE TABLE extra (id int);" >db/schema/10_tables/30_extra.sql
run cf build --template -d "$url" -f json
expect_json .cloned false "a changed hash builds again"
expect_json .templates_dropped 1 "the stale template is dropped"
tpl2=$(printf '%s' "$out" | jq -r .template)
[ "$tpl2" != "$tpl" ] && _ok "a new template name" || _fail "same template name"
expect_eq "$(q postgres "SELECT count(*) FROM pg_database WHERE datname = '$tpl'")" "0" "the old template is gone"
expect_eq "$(tpl_count)" "1" "one template per target"
expect_eq "$(q "$db" "SELECT count(*) FROM extra")" "0" "the target has the new table"

# A failing build leaves the target as it was, and no half-built template.
echo "CREATE TABLE broken (x nosuchtype);" >db/schema/10_tables/40_broken.sql
run cf build --template -d "$url"
expect_rc 4 "a failing --template build exits 4"
expect_err 'db/schema/10_tables/40_broken.sql:1:24: type "nosuchtype" does not exist' "at the file's line"
expect_eq "$(q "$db" "SELECT count(*) FROM extra")" "0" "the target is untouched"
expect_eq "$(tpl_count)" "1" "the failed template was dropped, the last good one kept"
rm db/schema/10_tables/40_broken.sql

# A template that lost its mark (an interrupted build) is rebuilt, not cloned.
q postgres "ALTER DATABASE \"$tpl2\" IS_TEMPLATE false" >/dev/null
run cf build --template -d "$url" -f json
expect_rc 0 "an unmarked template is rebuilt"
expect_json .cloned false "it is not cloned"
run cf build --template -d "$url" -f json
expect_json .cloned true "then it is cloned again"

# An unchanged tree (older than the cache's two-second guard) clones without
# reading a file: the hash comes from the build cache.
sleep 2.1
run cf build --template -d "$url" -f json
run cf build --template -d "$url" -f json
expect_json .cloned true "unchanged tree: cloned"
expect_json .parsed 0 "unchanged tree: no file parsed"
expect_json .timings.load_s 0 "unchanged tree: no file read"
expect_json .hash "$(cf build --show-hash -q --no-output)" "unchanged tree: the same hash as a full read"

# Someone connected to the target: the error says so.
psql -XAtq -d "$db" -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 50); do
	[ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")" = 1 ] && break
	sleep 0.1
done
run cf build --template -d "$url"
expect_rc 3 "a target in use cannot be re-created: exit 3"
expect_err "is being accessed by other users" "the server's message"
expect_err "Close the other sessions on \"$db\"" "with a hint"
kill $holder 2>/dev/null
q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db'" >/dev/null
wait $holder 2>/dev/null

# Clean up the templates of this test.
for t in $(q postgres "SELECT datname FROM pg_database WHERE datname LIKE 'confiture_tpl_%' AND shobj_description(oid, 'pg_database') = 'confiture build template for database \"$db\"'"); do
	q postgres "ALTER DATABASE \"$t\" IS_TEMPLATE false" >/dev/null
	q postgres "DROP DATABASE \"$t\"" >/dev/null
done

done_testing
