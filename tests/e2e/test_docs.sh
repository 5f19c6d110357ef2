#!/usr/bin/env bash
# The docs stay true to the binary: every key, every command, the example file.
. "$(dirname "$0")/../lib.sh"

run cf help config -f json
expect_rc 0 "help config lists the keys"
keys=$(printf '%s' "$out" | jq -r '.keys[].key')
missing_example= missing_ref=
for k in $keys; do
	leaf=${k##*.}
	grep -q "^ *#\? *$leaf:" "$ROOT/confiture.yaml.example" || missing_example="$missing_example $k"
	case $k in
	database.*) pat='`database.{host,port,database,user,password}`' ;;
	*) pat="\`$k\`" ;;
	esac
	grep -qF "$pat" "$ROOT/docs/configuration.md" || missing_ref="$missing_ref $k"
done
expect_eq "${missing_example:-none}" "none" "confiture.yaml.example documents every key"
expect_eq "${missing_ref:-none}" "none" "docs/configuration.md documents every key"

mkdir -p "$TMP/ex"
cp "$ROOT/confiture.yaml.example" "$TMP/ex/confiture.yaml"
run cf validate-config --all --project-dir "$TMP/ex"
expect_rc 0 "confiture.yaml.example is itself a valid project file"

run cf --help
cmds=$(printf '%s\n' "$out" | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 {print $1}')
missing_page= missing_man=
for c in $cmds; do
	case $c in help | version) continue ;; esac
	[ -f "$ROOT/docs/$c.md" ] || missing_page="$missing_page $c"
	grep -q "^\.B.*$(printf '%s' "$c" | sed 's/-/\\\\-/g')" "$ROOT/docs/confiture.1" || missing_man="$missing_man $c"
done
expect_eq "${missing_page:-none}" "none" "every command has a page in docs/"
expect_eq "${missing_man:-none}" "none" "every command is in the man page"

run groff -man -ww -z "$ROOT/docs/confiture.1"
expect_eq "$err" "" "the man page renders without warnings"

run cf --exit-codes-json
for code in $(printf '%s' "$out" | jq -r '.exit_codes[].code'); do
	grep -q "^| $code |" "$ROOT/docs/exit-codes.md" || _fail "docs/exit-codes.md lists $code"
done
_ok "docs/exit-codes.md lists every exit code"

undocumented=
for f in $(grep -o 'cf_[a-z0-9_]*(' "$ROOT/include/confiture.h" | sort -u | sed 's/($//'); do
	grep -qw "$f" "$ROOT/docs/api.md" || undocumented="$undocumented $f"
done
expect_eq "${undocumented:-none}" "none" "docs/api.md documents every public function"

grep -q '^make demo' "$ROOT/README.md" && grep -q '^make test' "$ROOT/README.md" &&
	_ok "the README gives the two set-up commands" || _fail "the README gives the two set-up commands"

done_testing
