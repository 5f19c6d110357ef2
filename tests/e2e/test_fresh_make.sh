#!/usr/bin/env bash
# make demo and make test work on the first run on a machine where nothing of
# the project is installed: the Makefile asks pkg-config for the libraries'
# flags only after `make deps` has installed them. Shown on a copy of the
# tree, with a PATH where pkg-config fails until apt-get (a shim recording
# what it was asked to install) has run, and dpkg-query reports nothing
# installed until then. The compiler is a shim too: it records its arguments
# (and links the real binary), so that no second build is needed.
. "$(dirname "$0")/../lib.sh"

real_pc=$(command -v pkg-config) || { skip "pkg-config is not installed"; done_testing; exit; }
want_cflags=$(pkg-config --cflags libpq yaml-0.1 libsodium libcrypto)
want_libs=$(pkg-config --libs libpq yaml-0.1 libsodium libcrypto)

src=$TMP/tree
mkdir -p "$src"
tar -C "$ROOT" --exclude=./build --exclude=./demo-project --exclude=./.git \
	--exclude='./confiture' --exclude='./libconfiture.*' -cf - . | tar -C "$src" -xf -

shim=$TMP/shim
mkdir -p "$shim"
installed=$TMP/installed
cat >"$shim/pkg-config" <<SH
#!/bin/sh
[ -e "$installed" ] || { echo "pkg-config: not installed" >&2; exit 127; }
exec "$real_pc" "\$@"
SH
cat >"$shim/dpkg-query" <<SH
#!/bin/sh
[ -e "$installed" ] && echo 'install ok installed'
exit 0
SH
cat >"$shim/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >>"$TMP/apt.log"
case " \$* " in *" install "*) touch "$installed" ;; esac
exit 0
SH
printf '#!/bin/sh\nexec "$@"\n' >"$shim/sudo"
cat >"$shim/cc" <<SH
#!/bin/sh
# Records the command; writes what it was asked to write.
echo "cc \$*" >>"$TMP/cc.log"
out=; prev=; compile=0
for a in "\$@"; do
	[ "\$prev" = -o ] && out=\$a
	[ "\$a" = -c ] && compile=1
	prev=\$a
done
[ -n "\$out" ] || exit 0
case \$out in
*/confiture) cp "$CONFITURE_BIN" "\$out" ;;
*/tests/*) printf '#!/bin/sh\nexit 0\n' >"\$out"; chmod +x "\$out" ;;
*) : >"\$out" ;;
esac
SH
chmod +x "$shim"/*

cd "$src"
export PATH="$shim:$PATH"
# A user's first make: not the outer make's variables (SAN=1 builds no ./confiture).
unset SAN VALGRIND MAKEFLAGS MFLAGS MAKELEVEL
run make demo
expect_rc 0 "make demo works on the first run"
expect_out "installing:" "make deps installed what was missing"
grep -q "install .*libpq-dev" "$TMP/apt.log" && _ok "apt-get was asked for libpq-dev" ||
	_fail "apt-get was asked for libpq-dev" "$(cat "$TMP/apt.log" 2>&1)"
for p in groff man-db zsh fish python3-jsonschema jq postgresql-15; do
	grep -q "install .* $p\b" "$TMP/apt.log" || _fail "apt-get was asked for $p" "$(cat "$TMP/apt.log")"
done
_ok "and for every tool the tests use (groff, man-db, zsh, fish, python3-jsonschema, ...)"
pg_c=$(grep -- '-c src/core/pg.c' "$TMP/cc.log")
[[ $pg_c == *"$want_cflags"* ]] && _ok "pg.c was compiled with pkg-config's flags, asked after deps" ||
	_fail "pg.c was compiled with pkg-config's flags, asked after deps" "$pg_c"
link=$(grep -- '-o build/rel/confiture ' "$TMP/cc.log")
[[ $link == *"$want_libs"* ]] && _ok "the binary was linked with pkg-config's libraries" ||
	_fail "the binary was linked with pkg-config's libraries" "$link"
expect_out "20260102000000" "the demo's migrate status lists the sample's migrations"
expect_out "make install PREFIX=~/.local" "the demo says how to put confiture on PATH"
(cd demo-project && "$CONFITURE_BIN" -q embedded destroy >/dev/null 2>&1)

rm -f "$TMP/cc.log"
run make test TESTS=no-such-test
expect_rc 0 "make test then works (nothing is installed twice)"
expect_out "0 passed, 0 failed" "and runs the test runner"
n=$(grep -c ' install ' "$TMP/apt.log")
expect_eq "$n" 1 "apt-get install ran once: the second deps found everything"

done_testing
