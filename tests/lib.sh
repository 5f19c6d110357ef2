# lib.sh -- helpers for end-to-end tests (sourced by tests/e2e/test_*.sh).
#
# A test runs the confiture binary and asserts what a user sees: exit code,
# stdout, stderr, JSON fields and rows in the database. Each check prints one
# line: "ok NAME: what", "FAIL NAME: what" (with the evidence), "skip NAME: why".
#
#   run CMD...                 runs CMD; sets $rc, $out (stdout), $err (stderr)
#   cf ARGS...                 run "$CONFITURE_BIN" ARGS...
#   expect_rc N "what"         checks $rc
#   expect_out TEXT "what"     $out contains TEXT          (expect_no_out: does not)
#   expect_err TEXT "what"     $err contains TEXT          (expect_no_err: does not)
#   expect_eq ACTUAL EXPECTED "what"
#   expect_json FILTER EXPECTED "what"   jq -r FILTER on $out equals EXPECTED
#   newdb NAME                 creates a fresh database; prints its name
#   dburl DB                   the connection URL of DB on the test server
#   q DB SQL                   psql -XAtq on DB, output on stdout
#   newproject                 a project dir with the sample db/ tree; prints its path
#   migproject                 a project dir with an empty db/migrations/; prints its path
#   migfile DIR NAME TEXT      writes DIR/db/migrations/NAME
#
# Every JSON document that `run cf -f json ...` prints is validated against
# docs/schemas/ when the test file ends (done_testing).
set -u
T=${CF_TEST_NAME:-$(basename "$0" .sh)}
ROOT=${CONFITURE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CONFITURE_BIN=${CONFITURE_BIN:-$ROOT/confiture}
SHARED=$ROOT/../shared
TMP=$(mktemp -d "${CF_TEST_WORK:-/tmp}/t.XXXXXX")
chmod 755 "$TMP"
failures=0
rc=0 out= err=

_ok() { echo "ok $T: $1"; }
_fail() {
	echo "FAIL $T: $1"
	shift
	for line in "$@"; do printf '    %s\n' "$line"; done
	failures=$((failures + 1))
}
skip() { echo "skip $T: $1"; }

run() {
	local o=$TMP/.out e=$TMP/.err
	"$@" >"$o" 2>"$e"
	rc=$?
	out=$(cat "$o")
	err=$(cat "$e")
	_keep_json "$@"
}

# Keeps the output of `confiture -f json ...` for done_testing to validate.
_keep_json() {
	[ "$1" = cf ] || [ "$1" = "$CONFITURE_BIN" ] || return 0
	local a prev= json=0
	for a in "$@"; do
		case "$prev $a" in "-f json" | "--format json") json=1 ;; esac
		case $a in -fjson | --format=json) json=1 ;; esac
		prev=$a
	done
	[ $json = 1 ] && [ -n "$out" ] && printf '%s\n' "$out" >>"$TMP/.json-docs"
	return 0
}

_validate_json() {
	[ -s "$TMP/.json-docs" ] || return 0
	local v n
	n=$(grep -c . "$TMP/.json-docs")
	v=$("$ROOT/tests/validate-json" --commands "$ROOT/docs/schemas" "$TMP/.json-docs" 2>&1)
	case $? in
	0) _ok "its $n JSON documents match docs/schemas" ;;
	77) skip "python3-jsonschema is not installed: $n JSON documents not validated" ;;
	*) _fail "its JSON documents match docs/schemas" "${v:0:3000}" ;;
	esac
}
cf() { "$CONFITURE_BIN" "$@"; }

_evidence() { echo "exit: $rc" "stdout: ${out:0:2000}" "stderr: ${err:0:2000}"; }

expect_rc() {
	if [ "$rc" = "$1" ]; then _ok "$2"; else
		_fail "$2 (expected exit $1, got $rc)" "stdout: ${out:0:2000}" "stderr: ${err:0:2000}"
	fi
}
expect_out() {
	if [[ $out == *"$1"* ]]; then _ok "$2"; else
		_fail "$2 (stdout lacks: $1)" "stdout: ${out:0:2000}" "stderr: ${err:0:1000}"
	fi
}
expect_no_out() {
	if [[ $out != *"$1"* ]]; then _ok "$2"; else _fail "$2 (stdout has: $1)" "stdout: ${out:0:2000}"; fi
}
expect_err() {
	if [[ $err == *"$1"* ]]; then _ok "$2"; else
		_fail "$2 (stderr lacks: $1)" "stderr: ${err:0:2000}" "stdout: ${out:0:1000}"
	fi
}
expect_no_err() {
	if [[ $err != *"$1"* ]]; then _ok "$2"; else _fail "$2 (stderr has: $1)" "stderr: ${err:0:2000}"; fi
}
expect_eq() {
	if [ "$1" = "$2" ]; then _ok "$3"; else _fail "$3" "expected: $2" "actual:   $1"; fi
}
expect_json() {
	local v
	v=$(printf '%s' "$out" | jq -r "$1" 2>&1)
	if [ "$v" = "$2" ]; then _ok "$3"; else
		_fail "$3 (jq '$1')" "expected: $2" "actual:   $v" "stdout: ${out:0:1500}"
	fi
}

# Databases are named after the test, so parallel tests never collide.
_dbseq=0
newdb() {
	_dbseq=$((_dbseq + 1))
	local name
	name=$(printf '%s_%s_%s' "$T" "$1" "$_dbseq" | tr -c 'a-zA-Z0-9_\n' '_' | tr 'A-Z' 'a-z')
	name=${name:0:63}
	psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1
	psql -XAtq -d postgres -c "CREATE DATABASE \"$name\"" >/dev/null || { _fail "createdb $name"; return 1; }
	echo "$name"
}
dburl() { echo "postgresql://postgres@/$1?host=$PGHOST&port=$PGPORT"; }
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

newproject() {
	local p
	p=$(mktemp -d "$TMP/proj.XXXXXX")
	cp -r "$ROOT/db" "$p/db"
	echo "$p"
}

migproject() {
	local p
	p=$(mktemp -d "$TMP/p.XXXXXX")
	mkdir -p "$p/db/migrations"
	echo "$p"
}
migfile() { printf '%s' "$3" >"$1/db/migrations/$2"; }

# Call at the end of every test file.
done_testing() {
	_validate_json
	rm -rf "$TMP"
	[ $failures -eq 0 ]
}
