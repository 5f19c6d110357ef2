#!/usr/bin/env bash
# Hostile and broken input (issue 12 §5): a clear error naming the place, never
# a crash, a runaway process or a silently different result.
. "$(dirname "$0")/../lib.sh"

# A memory cap makes a regression fail fast instead of eating the machine;
# sanitizers and valgrind reserve more address space than it allows.
capped() {
	if [ "${SAN:-0}" = 1 ] || [ "${VALGRIND:-0}" = 1 ]; then "$@"; else
		bash -c 'ulimit -v 2000000; exec "$@"' capped "$@"
	fi
}

P=$(newproject)
cd "$P" || exit 1
BAD="postgresql://nobody@/none?host=/nonexistent&port=1"

# ---- YAML: nesting depth --------------------------------------------------
# 100,000 nested "[" overflowed the stack of the YAML builder (segfault).
head -c 100000 /dev/zero | tr '\0' '[' >deep.yaml
run cf validate-config -c deep.yaml
expect_rc 5 "100000 nested [ in the project file exits 5, no crash"
expect_err 'confiture: error: deep.yaml:1:65: could not parse YAML file "deep.yaml": nested deeper than 64 levels' \
	"names the file, line, column and the limit"
cp db/environments/local.yaml local.bak
{ echo 'database_url: embedded'; echo -n 'include_dirs: '; head -c 5000 /dev/zero | tr '\0' '['; } \
	>db/environments/local.yaml
run cf validate-config
expect_rc 5 "deep nesting in an environment file exits 5"
expect_err 'db/environments/local.yaml:2:78: could not parse YAML file' "names the environment file"
cp local.bak db/environments/local.yaml

# ---- YAML: alias bombs ----------------------------------------------------
# Nine levels of nine aliases: doctor grew to 23 GB on this.
bomb() {
	echo 'x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'
	for i in 1 2 3 4 5 6 7 8; do
		printf 'x-l%d: &l%d [' "$i" "$i"
		for j in 1 2 3 4 5 6 7 8 9; do printf '*l%d%s' $((i - 1)) "$([ $j = 9 ] || echo ', ')"; done
		echo ']'
	done
}
bomb >bomb.yaml
run capped "$CONFITURE_BIN" validate-config -c bomb.yaml
expect_rc 5 "an alias bomb in the project file exits 5"
expect_err 'confiture: error: bomb.yaml:6:' "names the file and the line of the alias"
expect_err 'aliases expand to too much data' "says what is wrong"
expect_err 'confiture: detail: Aliases and merge keys may add at most 100000 nodes and 10 MB of text to a document.' \
	"gives the limits"
{ echo 'database_url: embedded'; bomb; } >db/environments/local.yaml
run capped "$CONFITURE_BIN" doctor -d "$BAD"
expect_rc 5 "doctor on an alias bomb in an environment file exits 5"
expect_err 'db/environments/local.yaml:7:' "names the environment file and the line"
cp local.bak db/environments/local.yaml

# Ordinary anchors and merge keys keep working.
cat >confiture.yaml <<'YAML'
environments:
  staging: &common
    migration: {strict_mode: true}
  local:
    <<: *common
    database_url: embedded
YAML
run cf doctor -f json -d "$BAD"
expect_json '.settings["migration.strict_mode"].value' "true" "a merge key still applies its keys"
rm confiture.yaml

# ---- -c with something that is not a file ---------------------------------
run cf validate-config -c /dev/null
expect_rc 5 "-c /dev/null exits 5"
expect_err 'confiture: error: could not use config file "/dev/null": it is a character device, not a regular file' \
	"says what /dev/null is instead of an ioctl error"
expect_no_err "Inappropriate ioctl" "no errno text from a failed read"
expect_err 'confiture: hint: Pass a YAML project file, or leave out -c' "says what to do"
mkfifo fifo.yaml
run timeout 10 "$CONFITURE_BIN" validate-config -c fifo.yaml
expect_rc 5 "-c FIFO exits 5 without blocking"
expect_err 'it is a FIFO, not a regular file' "names the kind of file"
run cf validate-config -c db
expect_err 'could not open config file "db": it is a directory' "a directory is still named as such"

# ---- environment files that are not regular files -------------------------
# They were silently ignored: "local" then ran without its settings.
for kind in zero fifo gone; do
	mv db/environments/local.yaml local.moved
	case $kind in
	zero) ln -s /dev/zero db/environments/local.yaml; what="a character device" ;;
	fifo) mkfifo db/environments/local.yaml; what="a FIFO" ;;
	gone) ln -s /nonexistent.yaml db/environments/local.yaml; what="a broken symbolic link" ;;
	esac
	run capped timeout 20 "$CONFITURE_BIN" validate-config
	expect_rc 5 "an environment file that is $what exits 5"
	expect_err "could not read YAML file \"db/environments/local.yaml\": it is $what, not a regular file" \
		"names it and what it is ($kind)"
	rm db/environments/local.yaml
	mv local.moved db/environments/local.yaml
done

# ---- build: entries that are not regular files ------------------------------
# Each was silently skipped, and build still said "wrote ... from N files".
build_rejects() { # NAME KIND-TEXT: db/schema/NAME exists and is not a file
	run timeout 20 "$CONFITURE_BIN" build
	expect_rc 5 "build with $2 exits 5"
	expect_err "confiture: error: could not read SQL file \"db/schema/$1\": it is $2, not a regular file" \
		"names $2 and its path"
	expect_no_err "wrote" "writes nothing with $2"
}
rm -f db/generated/*
ln -s /nonexistent/x.sql db/schema/10_tables/30_gone.sql
build_rejects 10_tables/30_gone.sql "a broken symbolic link"
expect_err "confiture: hint: Point the link at an existing file, or remove it." "says what to do"
rm db/schema/10_tables/30_gone.sql
mkfifo db/schema/40_fifo.sql
build_rejects 40_fifo.sql "a FIFO"
rm db/schema/40_fifo.sql
ln -s /dev/zero db/schema/50_zero.sql
build_rejects 50_zero.sql "a character device"
rm db/schema/50_zero.sql
mkdir db/schema/60_dir.sql
build_rejects 60_dir.sql "a directory"
run cf build -f json
expect_json '.error.code' "5" "JSON carries exit 5"
rmdir db/schema/60_dir.sql
mkdir db/seeds/99_extra.sql
run cf seed apply -d "$BAD"
expect_rc 5 "seed apply rejects the same before connecting"
expect_err 'could not read SQL file "db/seeds/99_extra.sql": it is a directory' "names the seed path"
rmdir db/seeds/99_extra.sql

# What the build never takes stays ignored: other names, and excluded places.
ln -s /nonexistent db/schema/notes.txt
mkfifo db/schema/.hidden.sql
mkdir -p db/schema/old && ln -s /nonexistent/y.sql db/schema/old/1_gone.sql
printf 'exclude_dirs: [db/schema/old]\n' >>db/environments/local.yaml
run cf build
expect_rc 0 "odd entries that are not taken anyway do not stop the build"
expect_err "wrote db/generated/schema_local.sql from 7 files" "and the file count is unchanged"
rm -rf db/schema/notes.txt db/schema/.hidden.sql db/schema/old
cp local.bak db/environments/local.yaml
# A directory is still entered when its name is not one the build takes.
mkdir -p db/schema/70_more && printf 'CREATE TABLE more (id int);\n' >db/schema/70_more/1.sql
run cf build
expect_err "from 8 files" "subdirectories are walked as before"

# ---- range checks: validate-config and every load refuse them at file:line ----
env_file() { printf 'database_url: embedded\n%b\n' "$1" >db/environments/local.yaml; }
rejects() { # YAML WHERE MESSAGE: validate-config exits 5 with MESSAGE at WHERE
	env_file "$1"
	run cf validate-config
	expect_rc 5 "validate-config rejects: $1"
	expect_err "confiture: error: db/environments/local.yaml:$2: $3" "names file, line, key and bounds: $1"
}
rejects 'migration:\n  lock_timeout_ms: 4294967297' 3:20 \
	'invalid value for "migration.lock_timeout_ms": expected an integer from 0 to 2147483647, got "4294967297"'
run cf migrate status -d "$BAD"
expect_rc 5 "an out-of-range lock timeout stops migrate at load (exit 5, not 3 later)"
expect_no_err "could not connect" "before connecting"
rejects 'include_dirs: 5' 2:15 'invalid value for "include_dirs": expected a path or a list of paths, got "5"'
expect_err 'confiture: hint: Quote it ("5") if a path is really named so.' "says how to mean a directory named 5"
rejects 'include_dirs: [db/schema, true]' 2:27 'invalid value for "include_dirs": expected a path or {path: ...}, got "true"'
rejects 'include_dirs:\n  - {path: 12}' 3:12 'invalid value for "include_dirs.path": expected a path, got "12"'
rejects 'exclude_dirs: 3' 2:15 'invalid value for "exclude_dirs": expected a string or a list of strings, got "3"'
rejects 'sync:\n  jobs: 0' 3:9 'invalid value for "sync.jobs": expected an integer from 1 to 32, got "0"'
rejects 's2s:\n  jobs: 33' 3:9 'invalid value for "s2s.jobs": expected an integer from 1 to 32, got "33"'
rejects 's2s:\n  batch_size: -1' 3:15 'invalid value for "s2s.batch_size": expected an integer from 0 to 1000000000, got "-1"'
rejects 'hooks:\n  after_build:\n    - {run: "true", timeout_s: 86401}' 4:32 \
	'invalid value for "timeout_s": expected an integer from 0 to 86400, got "86401"'
TT='expected a table name of 1 to 63 letters, digits or underscores, optionally schema.table'
rejects 'migration:\n  tracking_table: ""' 3:19 "invalid value for \"migration.tracking_table\": $TT, got \"\""
long=$(printf 'a%.0s' {1..64})
rejects "migration:\n  tracking_table: $long" 3:19 "invalid value for \"migration.tracking_table\": $TT, got \"$long\""
rejects "migration:\n  tracking_table: app.$long" 3:19 "invalid value for \"migration.tracking_table\": $TT"
rejects 's2s:\n  staging_schema: ""' 3:19 'invalid value for "s2s.staging_schema": expected a name of 1 to 63 bytes, got ""'
env_file "migration:\n  tracking_table: app.${long:1}\nsync:\n  jobs: 32\ninclude_dirs: ['5', db/schema]"
run cf validate-config
expect_rc 0 "63-byte schema-qualified names, the maximum jobs and a quoted \"5\" pass"
expect_err 'include directory "5" does not exist' "a quoted 5 is a path"
env_file 'migration:\n  tracking_table: ~'
run cf validate-config
expect_rc 0 "tracking_table: ~ falls back to the default instead of crashing"
run cf doctor -f json -d "$BAD"
expect_json '.settings["migration.tracking_table"].value' "tb_confiture" "and the default is what is used"
cp local.bak db/environments/local.yaml
run env CONFITURE_SYNC_JOBS=0 "$CONFITURE_BIN" validate-config
expect_rc 5 "CONFITURE_SYNC_JOBS=0 exits 5"
expect_err 'invalid value for "sync.jobs" in environment variable CONFITURE_SYNC_JOBS: expected an integer from 1 to 32' \
	"names the variable and the bounds"
run cf migrate up --lock-timeout 4294967297 -d "$BAD"
expect_rc 2 "an out-of-range --lock-timeout is a usage error"
expect_err 'invalid value for --lock-timeout: expected an integer from 0 to 2147483647, got "4294967297"' \
	"names the flag and the bounds"

printf 'zzz: 1\n' >odd.yaml
run cf validate-config -c odd.yaml
expect_err 'confiture: hint: Known keys here: name, database_url, database, protected,' "an unknown key's hint lists the keys"
expect_no_err 'database, database' "and names each section once"

done_testing
