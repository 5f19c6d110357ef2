#!/usr/bin/env bash
# Plugins: loaded with the config, their hook callbacks fire in every medium;
# a wrong ABI or a missing entry point is a clear config error.
. "$(dirname "$0")/../lib.sh"

p=$(newproject)
cd "$p"
rm -f db/migrations/*.sql # the sample project's own: this test counts its events
run cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$ROOT/include" -o audit.so "$ROOT/contrib/plugins/audit.c"
expect_rc 0 "the example plugin builds against confiture.h"
printf 'plugins: [audit.so]\n' >confiture.yaml
db=$(newdb plug)
export CONFITURE_DATABASE_URL=$(dburl "$db") CONFITURE_AUDIT_FILE=$TMP/audit.log

run cf hooks list
expect_out "(plugin audit)" "hooks list names the plugin's callback"

run cf build --apply
expect_rc 0 "build with a plugin"
printf 'CREATE TABLE m1 (id int);\n' >db/migrations/001_m1.up.sql
run cf migrate up
expect_rc 0 "migrate with a plugin"
expect_eq "$(awk '{print $3, $4}' "$TMP/audit.log" | tr '\n' '|')" \
	"before_build |after_build ok|before_migrate |before_migration 001|after_migration 001|after_migrate ok|" \
	"the plugin's callback sees every event of build and migrate, in order"
expect_eq "$(grep -c ' local after_migration 001 m1 ok ' "$TMP/audit.log")" "1" "with the event's context"

printf 'CREATE TABLE m2 (id int);\n' >db/migrations/002_m2.up.sql
run env CONFITURE_AUDIT_FREEZE=1 "$CONFITURE_BIN" migrate up
expect_rc 5 "a plugin callback returning non-zero on before_migrate aborts (exit 5)"
expect_err 'hook callback for "before_migrate" aborted' "says which event aborted"
expect_eq "$(q "$db" "SELECT count(*) FROM tb_confiture WHERE version = '002'")" "0" "nothing was applied"

# A plugin built for another ABI version.
sed 's/\.abi_version = CF_PLUGIN_ABI_VERSION/.abi_version = 7/' "$ROOT/contrib/plugins/audit.c" >old.c
cc -std=c11 -shared -fPIC -I"$ROOT/include" -o old.so old.c
printf 'default_env: local\nplugins:\n  - old.so\n' >confiture.yaml
run cf doctor
expect_rc 5 "a plugin of another ABI version exits 5 for any command"
expect_err 'confiture.yaml:2: plugin "old.so" was built for plugin ABI version 7, this confiture speaks version 1' "names the plugin, both versions and the config line"
expect_err "hint: Rebuild the plugin" "and says what to do"

printf 'int not_a_plugin(void) { return 0; }\n' >none.c
cc -shared -fPIC -o none.so none.c
printf 'plugins: [none.so]\n' >confiture.yaml
run cf migrate status
expect_rc 5 "a shared object without the entry point exits 5"
expect_err 'plugin "none.so" has no entry point "confiture_plugin"' "names the missing symbol"

printf 'plugins: [missing.so]\n' >confiture.yaml
run cf validate-config
expect_rc 5 "a missing plugin file exits 5"
expect_err 'confiture.yaml:1: plugin "missing.so" does not exist' "names the file and line"

done_testing
