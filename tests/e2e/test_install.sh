#!/usr/bin/env bash
# make install, pkg-config, and a C program built against the installed library.
. "$(dirname "$0")/../lib.sh"

prefix=$TMP/inst
run make -s -C "$ROOT" install PREFIX="$prefix"
expect_rc 0 "make install PREFIX=... succeeds"
for f in bin/confiture lib/libconfiture.a lib/libconfiture.so include/confiture.h \
	lib/pkgconfig/confiture.pc share/man/man1/confiture.1; do
	[ -e "$prefix/$f" ] && _ok "installs $f" || _fail "installs $f"
done
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

run env MANWIDTH=80 man -l "$prefix/share/man/man1/confiture.1"
expect_out "confiture [OPTIONS] COMMAND [ARGS]" "the man page is installed and readable"

done_testing
