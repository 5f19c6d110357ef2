#!/usr/bin/env bash
# Protection by the server's identity (issue 12 §1): a protected database is
# refused under every spelling of its URL (trailing "/", "/../", a symlinked
# socket directory, a libpq service), on every destructive path (sync into
# it, s2s --restart and cleanup, build --recreate and --template, migrate
# down/down-to, seed apply); an unreachable protected environment refuses
# (exit 5) unless its identity is cached; CONFITURE_PROTECTED=false cannot
# lift protection; -d applies to the selected environment only; down,
# down-to and seed apply need --yes-i-mean-production on a protected database.
. "$(dirname "$0")/../lib.sh"

# A second cluster on the same port, in another socket directory: same port
# and database name as the protected one, another server.
X=$CF_TEST_WORK/extra-pg-protect
if ! env_lines=$("$ROOT/tests/pg-cluster" start "$X" "$PGPORT"); then
	_fail "start a second cluster"
	done_testing
	exit 1
fi
XHOST=$(eval "$env_lines"; echo "$PGHOST")
xq() { psql -h "$XHOST" -p "$PGPORT" -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

PROT=$(newdb prot)
STG=$(newdb stg)
SRC=$(newdb src)
for d in "$PROT" "$STG" "$SRC"; do
	q "$d" "CREATE TABLE keep_me (id int PRIMARY KEY, v text); INSERT INTO keep_me VALUES (1, 'precious')" || exit 1
done
xq postgres "DROP DATABASE IF EXISTS \"$PROT\"" && xq postgres "CREATE DATABASE \"$PROT\"" || exit 1
xq "$PROT" "CREATE TABLE keep_me (id int PRIMARY KEY, v text)" || exit 1
kept() { q "$1" "SELECT count(*) FROM keep_me WHERE v = 'precious'"; }
XURL="postgresql://postgres@/$PROT?host=$XHOST&port=$PGPORT"

P=$TMP/proj
mkdir -p "$P/db/environments" "$P/db/seeds" "$P/db/schema" "$P/db/migrations"
cd "$P" || exit 1
printf 'CREATE TABLE IF NOT EXISTS t (id int);\n' >db/schema/t.sql
printf "INSERT INTO keep_me VALUES (100, 'seeded') ON CONFLICT DO NOTHING;\n" >db/seeds/s.sql
for v in 001 002; do
	printf 'CREATE TABLE m%s (id int);\n' $v >db/migrations/${v}_m$v.up.sql
	printf 'DROP TABLE m%s;\n' $v >db/migrations/${v}_m$v.down.sql
done
cat >db/environments/production.yaml <<EOF
database_url: "$(dburl "$PROT")"
protected: true
EOF
printf 'database_url: "%s"\ninclude_dirs: [db/schema]\n' "$(dburl "$STG")" >db/environments/staging.yaml

# Spellings of the protected database that are not its URL. The hard link
# to the socket is one no path comparison can see through.
SOCK_LINK=$TMP/socklink
ln -s "$PGHOST" "$SOCK_LINK"
mkdir "$TMP/hardlink"
HARD=(hardlink)
ln "$PGHOST/.s.PGSQL.$PGPORT" "$TMP/hardlink/.s.PGSQL.$PGPORT" 2>/dev/null || HARD=()
cat >"$TMP/pg_service.conf" <<EOF
[prodsvc]
host=$PGHOST
port=$PGPORT
dbname=$PROT
user=postgres

[lowsvc]
host=$PGHOST
port=$PGPORT
dbname=$PROT
user=cf_protect_low
EOF
export PGSERVICEFILE=$TMP/pg_service.conf
declare -A SPELL=(
	[slash]="postgresql://postgres@/$PROT?host=$PGHOST/&port=$PGPORT"
	[dotdot]="postgresql://postgres@/$PROT?host=$PGHOST/../$(basename "$PGHOST")&port=$PGPORT"
	[symlink]="postgresql://postgres@/$PROT?host=$SOCK_LINK&port=$PGPORT"
	[service]="service=prodsvc"
	[hardlink]="postgresql://postgres@/$PROT?host=$TMP/hardlink&port=$PGPORT"
)
[ ${#HARD[@]} = 1 ] || skip "the socket cannot be hard-linked here: that spelling is not tried"

# ---- sync --to ----------------------------------------------------------------
for k in slash dotdot symlink service "${HARD[@]}"; do
	run cf sync --from "$(dburl "$SRC")" --to "${SPELL[$k]}"
	expect_rc 5 "sync --to the protected database spelled $k: exit 5"
	expect_err 'refusing to sync into protected environment "production"' "sync ($k): names the environment"
done
expect_eq "$(kept "$PROT")" 1 "the protected database kept its rows"
run cf sync --from "$(dburl "$SRC")" --to service=prodsvc -f json
expect_json '.error.detail | test("same socket directory")' true "a service is resolved as libpq would"
if [ ${#HARD[@]} = 1 ]; then
	run cf sync --from "$(dburl "$SRC")" --to "${SPELL[hardlink]}" -f json
	expect_json '.error.detail | test("system identifier")' true "the detail says the server's identity decided"
fi

# ---- build --recreate / --template through another environment ------------------
for k in slash symlink service "${HARD[@]}"; do
	printf 'database_url: "%s"\n' "${SPELL[$k]}" >db/environments/alias.yaml
	run cf build --recreate -e alias
	expect_rc 5 "build --recreate on the protected database spelled $k: exit 5"
	expect_err 'its database is the one of protected environment "production"' "build ($k): names the environment"
	run cf build --template -e alias
	expect_rc 5 "build --template on the protected database spelled $k: exit 5"
done
expect_eq "$(kept "$PROT")" 1 "the protected database survived --recreate and --template"

# ---- migrate down / down-to and seed apply ---------------------------------------
run cf migrate up -e production
expect_rc 0 "migrate up on a protected environment is allowed"
for k in symlink service "${HARD[@]}"; do
	printf 'database_url: "%s"\n' "${SPELL[$k]}" >db/environments/alias.yaml
	run cf migrate down -e alias
	expect_rc 5 "migrate down on the protected database spelled $k: exit 5"
	expect_err 'refusing to roll back migrations: the target is the database of protected environment "production"' \
		"migrate down ($k): names the environment"
	expect_err '--yes-i-mean-production' "migrate down ($k): names the flag"
	run cf migrate down-to 001 -e alias
	expect_rc 5 "migrate down-to on the protected database spelled $k: exit 5"
	run cf seed apply -e alias
	expect_rc 5 "seed apply on the protected database spelled $k: exit 5"
done
expect_eq "$(q "$PROT" "SELECT count(*) FROM tb_confiture")" 2 "nothing was rolled back"
run cf migrate down -e production
expect_rc 5 "migrate down -e production: exit 5"
expect_err 'refusing to roll back migrations: environment "production" is protected' "says why"
run cf migrate down -e production --dry-run
expect_rc 0 "a dry run is allowed (it writes nothing)"
run cf seed apply -e production
expect_rc 5 "seed apply -e production: exit 5"
expect_err 'refusing to apply seeds: environment "production" is protected' "seed: says why"
expect_eq "$(q "$PROT" "SELECT count(*) FROM keep_me WHERE id = 100")" 0 "no seed ran"
run cf seed apply -e production --yes-i-mean-production
expect_rc 0 "seed apply with --yes-i-mean-production runs"
expect_eq "$(q "$PROT" "SELECT count(*) FROM keep_me WHERE id = 100")" 1 "the seed ran"
run cf migrate down -e production --yes-i-mean-production
expect_rc 0 "migrate down with --yes-i-mean-production runs"
expect_eq "$(q "$PROT" "SELECT count(*) FROM tb_confiture")" 1 "the migration was rolled back"
run cf migrate up -e production
run cf migrate down-to 001 -e production --yes-i-mean-production
expect_rc 0 "migrate down-to with --yes-i-mean-production runs"
expect_eq "$(q "$PROT" "SELECT count(*) FROM tb_confiture")" 1 "down-to rolled back to 001"

# ---- s2s --restart and cleanup ------------------------------------------------------
q "$SRC" "INSERT INTO keep_me VALUES (2, 'src')" >/dev/null
printf 'keep_me:\n  columns: {id: id, v: v}\n' >map.yaml
run cf s2s setup --source "$(dburl "$SRC")" --target "${SPELL[symlink]}"
expect_rc 0 "s2s setup into a protected database is allowed"
for k in slash symlink service "${HARD[@]}"; do
	run cf s2s migrate --source "$(dburl "$SRC")" --target "${SPELL[$k]}" --mapping map.yaml --restart
	expect_rc 5 "s2s migrate --restart on the protected database spelled $k: exit 5"
	expect_err 'refusing --restart: the target is the protected environment "production"' "s2s --restart ($k): names it"
	run cf s2s cleanup --target "${SPELL[$k]}"
	expect_rc 5 "s2s cleanup on the protected database spelled $k: exit 5"
done
expect_eq "$(kept "$PROT")" 1 "--restart truncated nothing"
run cf s2s cleanup --target "${SPELL[service]}" --yes-i-mean-production
expect_rc 0 "s2s cleanup with --yes-i-mean-production runs"

# ---- another server with the same port and database name is not protected ----------
run cf seed apply -d "$XURL"
expect_rc 0 "another cluster, same port and database name: not protected"
run cf build --recreate -e staging
expect_rc 0 "build --recreate of an unprotected environment is allowed"

# ---- -d applies to the selected environment only (item 4) ----------------------------
run cf build --recreate -e staging -d "$(dburl "$STG")"
expect_rc 0 "build --recreate -e staging -d URL is not refused because of production"
run cf build --recreate -e staging -d "${SPELL[symlink]}"
expect_rc 5 "but -d naming the protected database is"

# ---- CONFITURE_PROTECTED can add protection, never remove it (item 2) --------------------
run env CONFITURE_PROTECTED=false "$CONFITURE_BIN" build --recreate -e production
expect_rc 5 "CONFITURE_PROTECTED=false does not lift protection"
expect_eq "$(kept "$PROT")" 1 "the protected database is untouched"
run env CONFITURE_PROTECTED=false "$CONFITURE_BIN" migrate down -e production
expect_rc 5 "CONFITURE_PROTECTED=false: migrate down still refused"
run env CONFITURE_PROTECTED=true "$CONFITURE_BIN" build --recreate -e staging
expect_rc 5 "CONFITURE_PROTECTED=true adds protection"
expect_err 'environment "staging" is protected' "names the environment"
run env CONFITURE_PROTECTED=false "$CONFITURE_BIN" doctor -e production -f json
expect_json '.settings.protected.value' "true" "doctor shows protected: true"

# ---- the fallback when pg_control_system() is not readable ---------------------------
q postgres "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cf_protect_low') THEN CREATE ROLE cf_protect_low LOGIN; END IF;
END \$\$" >/dev/null
for d in "$PROT" "$SRC"; do
	q "$d" "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC; GRANT ALL ON keep_me TO cf_protect_low" >/dev/null
done
cat >db/environments/production.yaml <<EOF
database_url: "postgresql://cf_protect_low@/$PROT?host=$PGHOST&port=$PGPORT"
protected: true
EOF
run cf seed apply -d service=lowsvc
expect_rc 5 "without pg_control_system(): a service naming it is refused"
if [ ${#HARD[@]} = 1 ]; then
	run cf seed apply -d "postgresql://cf_protect_low@/$PROT?host=$TMP/hardlink&port=$PGPORT"
	expect_rc 5 "without pg_control_system(): still refused by the server's identity"
	expect_err "same postmaster start time, port" "the start time stood in for the system identifier"
fi
run cf seed apply -d "postgresql://cf_protect_low@/$SRC?host=$SOCK_LINK/&port=$PGPORT"
expect_rc 0 "without pg_control_system(): another database is allowed"

# ---- an unreachable protected environment, and the identity cache --------------------
# production is now the database of the same name on the other cluster: the
# name alone proves nothing, the server's identity must.
printf 'database_url: "%s"\nprotected: true\n' "$XURL" >db/environments/production.yaml
MAIN=$(dburl "$PROT")
rm -rf .confiture
run cf seed apply -d "$MAIN"
expect_rc 0 "a reachable protected environment is checked, and the target is not it"
expect_eq "$(grep -c production .confiture/identities 2>/dev/null)" 1 "its identity is cached under .confiture/"
"$ROOT/tests/pg-cluster" stop "$X" >/dev/null
run cf seed apply -d "$MAIN"
expect_rc 0 "the cached identity proves the difference while the server is down"
rm -f .confiture/identities
run cf seed apply -d "$MAIN"
expect_rc 5 "an unreachable protected environment with no cached identity: exit 5"
expect_err 'could not check that the target is not the database of protected environment "production"' \
	"names the environment that could not be checked"
expect_err 'hint: Make environment "production" reachable' "says how to fix it"
run cf seed apply -d "$MAIN" --yes-i-mean-production
expect_rc 0 "--yes-i-mean-production accepts the risk"
"$ROOT/tests/pg-cluster" start "$X" "$PGPORT" >/dev/null
run cf seed apply -d "$MAIN"
expect_rc 0 "reachable again: checked and cached"
"$ROOT/tests/pg-cluster" stop "$X" >/dev/null
sed -i 's/\t[0-9]*$/\t1000/' .confiture/identities
run cf seed apply -d "$MAIN"
expect_rc 5 "a cached identity older than an hour is not used"
"$ROOT/tests/pg-cluster" start "$X" "$PGPORT" >/dev/null
printf 'database_url: "%s&application_name=x"\nprotected: true\n' "$XURL" >db/environments/production.yaml
"$ROOT/tests/pg-cluster" stop "$X" >/dev/null
run cf seed apply -d "$MAIN"
expect_rc 5 "a changed database_url invalidates the cached identity"


# ---- a protected environment whose URL needs an unset variable -------------------------
"$ROOT/tests/pg-cluster" start "$X" "$PGPORT" >/dev/null
printf 'database_url: "${CF_PROTECT_PROD_URL}"\nprotected: true\n' >db/environments/production.yaml
run env -u CF_PROTECT_PROD_URL "$CONFITURE_BIN" seed apply -d "$MAIN"
expect_rc 5 "a protected environment that needs an unset variable cannot be checked: exit 5"
expect_err 'Its database_url needs the environment variable "CF_PROTECT_PROD_URL", which is not set' \
	"the detail names the variable"
expect_err 'hint: Set CF_PROTECT_PROD_URL' "the hint says to set it"
run env CF_PROTECT_PROD_URL="$MAIN" "$CONFITURE_BIN" seed apply -d "$MAIN"
expect_rc 5 "set, it is checked (and this is its database)"
expect_err 'the target is the database of protected environment "production"' "and refused by name"
printf 'database_url: "${CF_PROTECT_OTHER_URL}"\n' >db/environments/other.yaml
run env CF_PROTECT_PROD_URL="$XURL" "$CONFITURE_BIN" seed apply -d "$MAIN"
expect_rc 0 "an unprotected environment with an unset variable is no obstacle"

# ---- the embedded cluster is never production ---------------------------------------
printf 'database_url: "postgresql://postgres@/%s?host=/nonexistent&port=1"\nprotected: true\n' "$PROT" \
	>db/environments/production.yaml
printf 'database_url: embedded\ninclude_dirs: [db/schema]\n' >db/environments/local.yaml
run cf build --recreate
expect_rc 0 "build --recreate on the embedded cluster needs no check, even with production unreachable"
cf embedded destroy >/dev/null 2>&1

done_testing
