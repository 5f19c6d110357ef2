#!/usr/bin/env bash
# init and the embedded cluster: a database with nothing configured.
. "$(dirname "$0")/../lib.sh"

p=$TMP/app
run cf init "$p"
expect_rc 0 "init exits 0"
expect_out "created  db/environments/local.yaml" "init lists what it wrote"
for f in confiture.yaml db/schema/10_tables/10_users.sql db/seeds/10_users.sql \
	db/migrations/20260101000000_create_users_and_posts.up.sql db/environments/local.yaml db/sync/anonymization.yaml; do
	[ -f "$p/$f" ] && _ok "init wrote $f" || _fail "init wrote $f"
done
expect_eq "$(grep -c -x -e '.confiture/' -e 'db/generated/' "$p/.gitignore")" "2" ".gitignore has both entries"

run cf init "$p"
expect_rc 5 "init refuses to overwrite"
expect_err "refusing to overwrite existing files" "says why"
expect_err "confiture: hint: Use --force" "hints at --force"
echo "-- mine" >"$p/db/seeds/10_users.sql"
run cf init "$p" --force
expect_rc 0 "init --force overwrites"
expect_eq "$(head -c 13 "$p/db/seeds/10_users.sql")" "-- Seed data " "the file was rewritten"
expect_eq "$(grep -c -x '.confiture/' "$p/.gitignore")" "1" ".gitignore entries are not duplicated"

printf 'node_modules/\n' >"$TMP/other/.gitignore" 2>/dev/null || { mkdir -p "$TMP/other"; printf 'node_modules/\n' >"$TMP/other/.gitignore"; }
run cf init "$TMP/other" -f json
expect_json '.updated[0]' ".gitignore" "an existing .gitignore is updated, not replaced"
expect_eq "$(head -n1 "$TMP/other/.gitignore")" "node_modules/" "its lines are kept"

cd "$p"
run cf validate-config --all
expect_rc 0 "what init writes passes validate-config"

run cf embedded status
expect_out "not initialized" "no cluster before first use"
run cf embedded start
expect_rc 0 "embedded start"
expect_out "running" "it runs"
run cf embedded url
url=$out
expect_out "host='$p/.confiture/pg/run' port=5432 user=postgres dbname='local'" "embedded url"
run psql -XAtq -d "$url" -c "select current_database()"
expect_eq "$out" "local" "the url works with psql"
run cf doctor -f json
expect_json '.connection.embedded' "true" "doctor sees the embedded cluster"
expect_json '.environment' "local" "for the local environment"
run cf embedded status -f json
expect_json '.running' "true" "status JSON: running"
pid=$(printf '%s' "$out" | jq -r .pid)
sock_mode=$(stat -c %a "$p/.confiture/pg/run")
expect_eq "$sock_mode" "700" "the socket directory is private"
run ss -lx
if [ $rc -eq 0 ]; then
	run sh -c "ss -ltnp | grep -c \"pid=$pid,\" || true"
	expect_eq "$out" "0" "the embedded server listens on no TCP port"
fi

# A second environment gets its own database on the same cluster.
printf 'database_url: embedded\n' >db/environments/test.yaml
run cf embedded url -e test
expect_out "dbname='test'" "another environment, another database"

run cf embedded stop
expect_rc 0 "embedded stop"
run cf embedded status
expect_out "stopped" "status after stop"
run cf doctor
expect_rc 0 "a stopped cluster is started on demand"
run cf embedded destroy
expect_rc 0 "embedded destroy"
[ ! -e .confiture/pg ] && _ok "destroy removes the files" || _fail "destroy removes the files"

run env PG_BINDIR=/nonexistent "$CONFITURE_BIN" embedded start
expect_rc 3 "missing server binaries exit 3"
expect_err 'PG_BINDIR "/nonexistent" does not hold the PostgreSQL server binaries' "names the directory"
run env PATH=/usr/bin:/bin PG_BINDIR= CONFITURE_TEST_NO_DEBIAN=1 "$CONFITURE_BIN" embedded status -f json
expect_rc 0 "status works without starting"

done_testing
