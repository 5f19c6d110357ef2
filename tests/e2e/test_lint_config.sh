#!/usr/bin/env bash
# Choosing rules: inline ignores (found with the scanner), --select/--ignore,
# the lint: config section, and the PostgreSQL version.
. "$(dirname "$0")/../lib.sh"

cd "$TMP" || exit 1
rules() { printf '%s' "$out" | jq -r '[.findings[] | "\(.line):\(.rule)"] | join(" ")'; }

cat >ign.sql <<'SQL'
-- confiture:lint-ignore ban-drop-column, data-loss-drop-column
ALTER TABLE t DROP COLUMN a;
ALTER TABLE t DROP COLUMN b;
/* confiture:lint-ignore data-loss */ ALTER TABLE t DROP COLUMN c;
-- squawk-ignore ban-drop-column
ALTER TABLE t DROP COLUMN d; -- confiture:lint-ignore prefer-robust-stmts
SELECT 1;
SQL
run cf -f json lint --select ban-drop-column,data-loss ign.sql
expect_eq "$(rules)" "3:ban-drop-column 3:data-loss-drop-column 4:ban-drop-column 6:data-loss-drop-column" \
	"lint-ignore covers the next statement only, by rule or family; squawk-ignore works"

cat >text.sql <<'SQL'
SELECT '-- confiture:lint-ignore ban-drop-column';
ALTER TABLE t DROP COLUMN a;
SQL
run cf -f json lint --select ban-drop-column text.sql
expect_eq "$(rules)" "2:ban-drop-column" "an ignore inside a string literal is no comment"

cat >file.sql <<'SQL'
ALTER TABLE t DROP COLUMN a;
-- confiture:lint-ignore-file ban-drop-column
ALTER TABLE t DROP COLUMN b;
SQL
run cf -f json lint --select ban-drop-column,data-loss-drop-column file.sql
expect_eq "$(rules)" "1:data-loss-drop-column 3:data-loss-drop-column" "lint-ignore-file covers the whole file"

printf 'ALTER TABLE t DROP COLUMN a;\nALTER TABLE t DROP COLUMN b;\n' >two.sql
run cf -f json lint --select default --ignore data-loss,prefer-robust-stmts,timeout two.sql
expect_eq "$(rules)" "1:ban-drop-column 2:ban-drop-column" "--ignore takes families and rules"
run cf -f json lint --select all --exclude require-timeout-settings,naming,doc,pk,data-loss,prefer-robust-stmts,require-table-schema two.sql
expect_eq "$(rules)" "1:ban-drop-column 2:ban-drop-column" "squawk's --exclude and require-timeout-settings alias work"

# The PostgreSQL version: a constant default rewrites only before 11.
printf 'ALTER TABLE t ADD COLUMN c bigint DEFAULT 0;\n' >dflt.sql
run cf -f json lint --select adding-field-with-default dflt.sql
expect_eq "$(rules)" "" "a constant default is fine on the default version (13)"
run cf -f json lint --select adding-field-with-default --pg-version 10 dflt.sql
expect_eq "$(rules)" "1:adding-field-with-default" "--pg-version 10: a constant default rewrites"
expect_json '.pg_version_from' "--pg-version" "and the result says where the version came from"
run cf lint --pg-version banana dflt.sql
expect_rc 2 "a bad version is a usage error"
expect_err 'invalid PostgreSQL version "banana"' "named"

# ALTER TYPE ... ADD VALUE cannot run in a transaction block before 12.
printf 'BEGIN;\nALTER TYPE mood ADD VALUE %s BEFORE %s;\nCOMMIT;\n' "'meh'" "'ok'" >enum.sql
run cf -f json lint --select nontransactional-in-transaction --pg-version 11 enum.sql
expect_eq "$(rules)" "2:nontransactional-in-transaction" "ADD VALUE in a transaction on 11"
run cf -f json lint --select nontransactional-in-transaction --pg-version 12 enum.sql
expect_eq "$(rules)" "" "but not on 12"

# The lint: section of the config.
p=$(migproject)
cat >"$p/confiture.yaml" <<'YAML'
lint:
  select: [default, require-table-schema]
  ignore: [prefer-robust-stmts, timeout, doc]
  severity:
    error: [ban-drop-column]
    info: [data-loss]
  pg_version: "10"
YAML
cp dflt.sql two.sql "$p/"
cd "$p" || exit 1
run cf -f json lint dflt.sql two.sql
expect_eq "$(printf '%s' "$out" | jq -r '[.findings[] | "\(.file):\(.line):\(.rule):\(.severity)"] | join(" ")')" \
	"dflt.sql:1:require-table-schema:warning dflt.sql:1:adding-field-with-default:warning two.sql:1:ban-drop-column:error two.sql:1:data-loss-drop-column:info two.sql:1:require-table-schema:warning two.sql:2:ban-drop-column:error two.sql:2:data-loss-drop-column:info two.sql:2:require-table-schema:warning" \
	"lint: select, ignore, severity and pg_version apply"
expect_json '.pg_version_from' "lint.pg_version" "the version came from the config"
expect_rc 1 "ban-drop-column graded error: exit 1"
run cf -f json lint --pg-version 13 dflt.sql
expect_json '.pg_version' "130000" "--pg-version beats lint.pg_version"

printf 'lint:\n  ignore: [ban-drop-colum]\n' >confiture.yaml
run cf lint two.sql
expect_rc 5 "an unknown rule in the config exits 5"
expect_err 'error: confiture.yaml:2: unknown lint rule "ban-drop-colum" in lint.ignore' "names the key, at its file and line"
expect_err 'Did you mean "ban-drop-column"?' "with a did-you-mean"
printf 'lint:\n  block_on: sometimes\n' >confiture.yaml
run cf lint two.sql
expect_rc 5 "block_on takes never, error or warning"
printf 'lint:\n  severity:\n    fatal: [ban-drop-column]\n' >confiture.yaml
run cf lint two.sql
expect_rc 5 "severity takes error, warning or info"
expect_err 'fatal' "names the bad key"

# validate-config checks lint's section too, as lint would read it.
printf 'lint:\n  ignore: [ban-drop-colum]\n' >confiture.yaml
run cf validate-config
expect_rc 5 "validate-config: an unknown lint rule exits 5"
expect_err 'error: confiture.yaml:2: unknown lint rule "ban-drop-colum" in lint.ignore' \
	"validate-config names the key, at its file and line"
expect_no_out "ok  environment" "and does not call the environment ok"
printf 'lint:\n  pg_version: "4"\n' >confiture.yaml
run cf validate-config -f json
expect_rc 5 "validate-config: a bad lint.pg_version exits 5"
expect_json '[.error.message, .error.file, .error.line] | map(tostring) | join("|")' \
	'invalid value for "lint.pg_version": "4"|confiture.yaml|2' "names the key, file and line in JSON"
printf 'lint:\n  pg_version: 9.6\n  select: [default, naming]\n' >confiture.yaml
run cf validate-config
expect_rc 0 "a good lint section passes"

done_testing
