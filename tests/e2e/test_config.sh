#!/usr/bin/env bash
# Configuration errors: every one exits 5 and names file, line and key.
. "$(dirname "$0")/../lib.sh"

p=$(newproject)
cd "$p"

run cf validate-config
expect_rc 0 "the sample project validates"
expect_out "ok  environment local" "names the environment"

printf 'database_url: embedded\ninclude_dirs: [db/schema, db/seeds\nprotected: false\n' >db/environments/local.yaml
run cf validate-config
expect_rc 5 "malformed YAML exits 5"
expect_err "confiture: error: db/environments/local.yaml:3:" "malformed YAML names file and line"
expect_err "could not parse YAML file" "malformed YAML says what is wrong"

printf 'database_url: embedded\nmigration:\n  lock_timeout_ms: soon\n' >db/environments/local.yaml
run cf validate-config
expect_rc 5 "a wrong type exits 5"
expect_err 'confiture: error: db/environments/local.yaml:3:20: invalid value for "migration.lock_timeout_ms": expected an integer from 0 to 2147483647, got "soon"' "a wrong type names file, line and key"

printf 'databse_url: embedded\n' >db/environments/local.yaml
run cf validate-config
expect_rc 5 "an unknown key exits 5"
expect_err 'confiture: error: db/environments/local.yaml:1:1: unknown key "databse_url" in the environment' "names the key"
expect_err 'confiture: hint: Did you mean "database_url"?' "did you mean"

printf 'database_url: postgresql://app@${CF_E2E_DB_HOST}/app\n' >db/environments/local.yaml
run env -u CF_E2E_DB_HOST "$CONFITURE_BIN" validate-config
expect_rc 5 "a dangling \${VAR} exits 5"
expect_err 'db/environments/local.yaml:1:15: environment variable "CF_E2E_DB_HOST" is not set' "names the variable and where"
run env CF_E2E_DB_HOST=db.example "$CONFITURE_BIN" doctor -f json --no-color
expect_json '.settings.database_url.value' "postgresql://app@db.example/app" "\${VAR} is expanded in database_url"

printf 'database_url: embedded\n' >db/environments/local.yaml
run cf validate-config -e stagin
expect_rc 5 "an unknown environment exits 5"
expect_err 'confiture: error: unknown environment "stagin"' "names the environment"
printf 'database_url: postgresql:///x\n' >db/environments/staging.yaml
run cf doctor -e stagin
expect_err 'confiture: hint: Did you mean "staging"?' "suggests the closest environment"

printf 'database_url: "host=x bogus=1"\n' >db/environments/staging.yaml
run cf validate-config --all
expect_rc 5 "an invalid connection string exits 5"
expect_err 'db/environments/staging.yaml:1: invalid value for "database_url": invalid connection option "bogus"' "names the file and the libpq reason"
expect_err 'in environment "staging"' "and the environment"
rm db/environments/staging.yaml

# Layering and origins, as doctor reports them.
cat >confiture.yaml <<'YAML'
default_env: local
migration:
  lock_timeout_ms: 1000
environments:
  local:
    migration:
      strict_mode: true
YAML
printf 'database_url: embedded\nmigration:\n  lock_timeout_ms: 2000\n' >db/environments/local.yaml
run env CONFITURE_MIGRATION_DIR=elsewhere "$CONFITURE_BIN" validate-config -f json
expect_rc 0 "layered config validates"
run env CONFITURE_MIGRATION_DIR=elsewhere "$CONFITURE_BIN" embedded status -f json
run env CONFITURE_MIGRATION_DIR=elsewhere "$CONFITURE_BIN" hooks list -f json
expect_rc 0 "hooks list without hooks"
# doctor would start the embedded cluster; settings come from the same loader as hooks/validate.
run env CONFITURE_MIGRATION_DIR=elsewhere "$CONFITURE_BIN" doctor -f json -d "postgresql://nobody@/none?host=/nonexistent&port=1"
expect_rc 3 "doctor exits 3 when the connection fails"
expect_json '.settings["migration.lock_timeout_ms"].value' "2000" "the env file beats confiture.yaml"
expect_json '.settings["migration.lock_timeout_ms"].origin' "db/environments/local.yaml:3" "origin: env file and line"
expect_json '.settings["migration.strict_mode"].origin' "confiture.yaml:7" "origin: environments: block"
expect_json '.settings["migration.dir"].origin' "env CONFITURE_MIGRATION_DIR" "origin: CONFITURE_* variable"
expect_json '.settings["database_url"].origin' "--database-url" "origin: the flag"
expect_json '.settings["build.sort_mode"].origin' "default" "origin: default"
expect_json '.error.code' "3" "the JSON document carries the connection error"

# The precursor's env file is accepted as is.
cat >db/environments/legacy.yaml <<'YAML'
name: legacy
database_url: postgresql://localhost/confiture_local
include_dirs:
  - db/schema
  - path: db/seeds
    recursive: true
    auto_discover: true
exclude_dirs: []
auto_backup: false
require_confirmation: false
build:
  sort_mode: alphabetical
  separators: {style: block_comment}
migration:
  tracking_table: confiture_migrations
  locking: {enabled: true, timeout_ms: 30000}
seed:
  execution_mode: concatenate
YAML
run cf validate-config -e legacy
expect_rc 0 "a precursor environment file validates"

# An unreadable file, as an unprivileged user would meet it.
chmod 755 "$p"
chmod 644 db/environments/local.yaml confiture.yaml
chmod 000 db/environments/legacy.yaml
if [ "$(id -u)" -eq 0 ]; then
	run runuser -u nobody -- "$CONFITURE_BIN" validate-config -e legacy
else
	run cf validate-config -e legacy
fi
expect_rc 5 "an unreadable file exits 5"
expect_err 'could not open file' "says it could not open the file"
expect_err 'legacy.yaml' "names the file"
chmod 644 db/environments/legacy.yaml

run cf validate-config -c nonexistent.yaml
expect_rc 5 "a missing -c file exits 5"
expect_err 'could not open config file "nonexistent.yaml"' "names the -c file"

done_testing
