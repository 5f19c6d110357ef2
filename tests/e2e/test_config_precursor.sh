#!/usr/bin/env bash
# The precursor's documented configuration loads: version, schema_dirs,
# seed_dirs, migrations_dir and database: {url | host, port, name, user},
# each with a one-line notice naming the native key; its --migrations-dir
# and --database-url flags work on migrate.
. "$(dirname "$0")/../lib.sh"

p=$(newproject)
cd "$p"
db=$(newdb pre)
mkdir -p db/data db/mig
mv db/seeds/*.sql db/data/
rmdir db/seeds
printf 'CREATE TABLE mig_t (id int);\n' >db/mig/001_t.up.sql
cat >db/environments/local.yaml <<YAML
version: 1
name: local
database:
  url: $(dburl "$db")
schema_dirs:
  - path: db/schema
    order: 10
    recursive: true
seed_dirs:
  - db/data
migrations_dir: db/mig
YAML

run cf validate-config
expect_rc 0 "the precursor's file is valid"
expect_err 'db/environments/local.yaml:1: "version" (the precursor'"'"'s file version) is not needed here: ignored' \
	"version: a notice"
expect_err 'db/environments/local.yaml:4: "database.url" is the precursor'"'"'s name for "database_url"' \
	"database.url: a notice naming database_url"
expect_err '"schema_dirs" is the precursor'"'"'s name for "include_dirs"' "schema_dirs: a notice naming include_dirs"
expect_err '"seed_dirs" is the precursor'"'"'s name: read as "include_dirs" entries whose files are all seeds' \
	"seed_dirs: a notice naming include_dirs"
expect_err '"migrations_dir" is the precursor'"'"'s name for "migration.dir"' "migrations_dir: a notice naming migration.dir"
n=$(printf '%s\n' "$err" | grep -c 'schema_dirs')
expect_eq "$n" 1 "one line per key"

run cf -q validate-config
expect_eq "$err" "" "-q silences the notices"

run cf build --apply
expect_rc 0 "build --apply with schema_dirs and seed_dirs"
expect_eq "$(q "$db" "SELECT count(*) > 0 FROM users")" "t" "the seed files of seed_dirs ran (db/data has no seed in its name)"
run cf build --schema-only --output "$TMP/schema.sql"
expect_rc 0 "build --schema-only"
run grep -c 'db/data' "$TMP/schema.sql"
expect_eq "$out" "0" "seed_dirs files are seeds: --schema-only leaves them out"

run cf migrate up
expect_rc 0 "migrate up reads migrations_dir"
expect_eq "$(q "$db" "SELECT version FROM tb_confiture")" "001" "the migration of db/mig is applied"

# database: {host, port, name, user}
db2=$(newdb hostport)
cat >db/environments/split.yaml <<YAML
database:
  host: $PGHOST
  port: $PGPORT
  name: $db2
  user: postgres
YAML
run cf -e split migrate up --migrations-dir db/mig
expect_rc 0 "database: {host, port, name, user} connects"
expect_err '"database.name" is the precursor'"'"'s name for "database.database"' "name: a notice naming database.database"
expect_eq "$(q "$db2" "SELECT version FROM tb_confiture")" "001" "--migrations-dir picks the directory"

# The precursor's flags on migrate.
db3=$(newdb flags)
mkdir -p "$TMP/other"
printf 'CREATE TABLE other_t (id int);\n' >"$TMP/other/007_o.up.sql"
run cf migrate up --migrations-dir "$TMP/other" --database-url "$(dburl "$db3")"
expect_rc 0 "migrate up --migrations-dir DIR --database-url URL"
expect_eq "$(q "$db3" "SELECT version FROM tb_confiture")" "007" "both flags are used"
run cf migrate status --migrations-dir
expect_rc 2 "--migrations-dir needs a value"

# Both names of one key in one mapping: which value wins is not guessed.
cat >db/environments/both.yaml <<YAML
database_url: $(dburl "$db")
database:
  url: $(dburl "$db2")
YAML
run cf -e both migrate up --migrations-dir db/mig
expect_rc 5 "database_url and database.url in one file: a config error"
expect_err 'db/environments/both.yaml:3:3: conflicting values for "database_url": "database_url" at line 1 and "database.url" at line 3' \
	"naming both spellings and their lines"
printf 'schema_dirs: [db/schema]\ninclude_dirs: [db/schema]\n' >db/environments/both.yaml
run cf -e both validate-config
expect_rc 5 "schema_dirs and include_dirs in one file: a config error too"
printf 'database_url: %s\nenvironments:\n  both:\n    database: {url: "%s"}\n' "$(dburl "$db")" "$(dburl "$db2")" \
	>"$TMP/layers.yaml"
rm db/environments/both.yaml
run cf -c "$TMP/layers.yaml" -e both validate-config
expect_rc 0 "an environment block may still override the top level under the other name"

# The "known keys" hint lists each key once.
printf 'zzqqxxyy: 1\n' >db/environments/odd.yaml
run cf -e odd validate-config
expect_rc 5 "an unknown key is a config error"
hint=$(printf '%s\n' "$err" | grep 'Known keys here')
n=$(printf '%s\n' "$hint" | grep -o '\bdatabase\b' | wc -l)
expect_eq "$n" 1 "the hint names database once"
dups=$(printf '%s\n' "$hint" | sed 's/.*here: //; s/\.$//' | tr ',' '\n' | sed 's/^ //' | sort | uniq -d)
expect_eq "${dups:-none}" "none" "no key is listed twice"

# A URL and the parts in one file: which one connects would be a guess.
cat >db/environments/urlhost.yaml <<YAML
database:
  url: $(dburl "$db2")
  host: elsewhere.example
YAML
run cf -e urlhost migrate status
expect_rc 5 "database: {url, host} in one file: a config error"
expect_err 'error: db/environments/urlhost.yaml:3: "database.host" is set along with "database_url": a connection is a URL or its parts, not both' \
	"names the part, its file and line"
run cf -e urlhost validate-config
expect_rc 5 "validate-config says so too"

done_testing
