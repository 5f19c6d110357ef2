#!/usr/bin/env bash
# make install, pkg-config, and a C program built against the installed library.
. "$(dirname "$0")/../lib.sh"

prefix=$TMP/inst
# SAN=0: make test SAN=1 exports SAN, and install takes the release build
# (a sanitized build never replaces ./confiture).
run make -s -C "$ROOT" install SAN=0 PREFIX="$prefix"
expect_rc 0 "make install PREFIX=... succeeds"
for f in bin/confiture lib/libconfiture.a lib/libconfiture.so include/confiture.h \
	lib/pkgconfig/confiture.pc share/man/man1/confiture.1 share/bash-completion/completions/confiture \
	share/zsh/site-functions/_confiture share/fish/vendor_completions.d/confiture.fish; do
	[ -e "$prefix/$f" ] && _ok "installs $f" || _fail "installs $f"
done
run "$ROOT/confiture" completion bash
expect_eq "$(cat "$prefix/share/bash-completion/completions/confiture")" "$out" \
	"the installed bash completion is the generated one"

run readelf -d "$prefix/lib/libconfiture.so"
expect_out "Library soname: [libconfiture.so.0]" "the shared library has a soname"
run sh -c "nm -D --defined-only '$prefix/lib/libconfiture.so' | awk '\$2 == \"T\" {print \$3}' | grep -v '^cf_' | head -5"
expect_eq "$out" "" "it exports only cf_ symbols"
run sh -c "nm -D --defined-only '$prefix/lib/libconfiture.so' | grep -c ' T cf_pg_connect$'"
expect_eq "$out" "0" "internal functions stay hidden"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
run pkg-config --cflags --libs confiture
expect_rc 0 "pkg-config knows confiture"
expect_out "-lconfiture" "and links it"
flags=$out

run "$prefix/bin/confiture" --version
expect_eq "$out" "confiture 0.1.0" "the installed binary runs"

run sh -c "cc -std=c11 -Wall -Wextra -Werror $ROOT/contrib/examples/doctor.c $flags -Wl,-rpath,$prefix/lib -o $TMP/doctor"
expect_rc 0 "an example compiles against the installed header with pkg-config"
db=$(newdb ex)
mkdir -p "$TMP/exproj/db/environments"
printf 'database_url: "%s"\n' "$(dburl "$db")" >"$TMP/exproj/db/environments/local.yaml"
run "$TMP/doctor" "$TMP/exproj"
expect_rc 0 "and runs against the shared library"
expect_out "env=local connected=1 server=15" "reporting what the library found"
expect_err "[debug] connected to postgresql://postgres@/$db" "through its logger"
run sh -c "ldd $TMP/doctor | grep -c '$prefix/lib/libconfiture.so'"
expect_eq "$out" "1" "linked against the installed shared library"

# The example from docs/api.md: a migration driven through the installed library.
run sh -c "cc -std=c11 -Wall -Wextra -Werror $ROOT/contrib/examples/migrate.c $flags -Wl,-rpath,$prefix/lib -o $TMP/migrate"
expect_rc 0 "the migration example compiles against the installed library"
mdb=$(newdb mig)
mkdir -p "$TMP/mproj/db/migrations"
printf 'CREATE TABLE a (id int);\n' >"$TMP/mproj/db/migrations/001_a.up.sql"
printf 'CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n' >"$TMP/mproj/db/migrations/002_b.up.sql"
run "$TMP/migrate" "$TMP/mproj" "$(dburl "$mdb")"
expect_rc 0 "it applies the migrations"
expect_out "hook before_migration 001 a" "its hook callbacks are called, with the migration's context"
expect_out "hook after_migration 002 b" "for every migration"
expect_out "applied=2 pending=0 current=002 before=2 after=2 logged=yes" "result counts, hooks and logger are right"
expect_eq "$(q "$mdb" "SELECT string_agg(version, ',' ORDER BY version) FROM tb_confiture")" "001,002" "the ledger has both"
run "$TMP/migrate" "$TMP/mproj" "$(dburl "$mdb")"
expect_out "applied=0 pending=0 current=002 before=0 after=0" "a second run applies nothing"
printf 'CREATE TABLE c (id nosuchtype);\n' >"$TMP/mproj/db/migrations/003_c.up.sql"
run "$TMP/migrate" "$TMP/mproj" "$(dburl "$mdb")"
expect_rc 1 "a failing migration fails the program"
expect_err "failed (sql): type \"nosuchtype\" does not exist" "with the library's status and message"
expect_err "at db/migrations/003_c.up.sql:1:20" "and the file position"

run env MANWIDTH=80 man -l "$prefix/share/man/man1/confiture.1"
expect_out "confiture [OPTIONS] COMMAND [ARGS]" "the man page is installed and readable"

done_testing
