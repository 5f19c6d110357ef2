#!/usr/bin/env bash
# confiture completion bash|zsh|fish: generated from the command table, so
# every flag the parsers accept is in each script; the scripts parse in their
# shell, and complete commands, actions, flags, environments and versions.
. "$(dirname "$0")/../lib.sh"

# Every long option of every getopt table in src/cli (the parsers' truth), and
# every short option of their shortopts strings.
longs=$(grep -ho '{"[a-z][a-z0-9-]*", *\(no\|required\|optional\)_argument' "$ROOT"/src/cli/*.c |
	sed 's/{"\([^"]*\)".*/--\1/' | sort -u)
shorts=$(grep -ho 'cli_opts [a-z_]* = {"[^"]*"' "$ROOT"/src/cli/*.c | sed 's/.*{"//; s/"$//' |
	tr -d ':\n' | fold -w1 | sort -u | sed 's/^/-/')
[ -n "$longs" ] && [ -n "$shorts" ] || _fail "found the parsers' option tables"

for sh in bash zsh fish; do
	run cf completion "$sh"
	expect_rc 0 "completion $sh prints a script"
	printf '%s\n' "$out" >"$TMP/confiture.$sh"
	missing=
	for f in $longs $shorts; do
		grep -q -- " $f\( \|$\|\"\|'\)" "$TMP/confiture.$sh" || missing="$missing $f"
	done
	expect_eq "${missing:-none}" "none" "the $sh script has every flag the parsers accept"
	if command -v "$sh" >/dev/null; then
		run "$sh" -n "$TMP/confiture.$sh"
		expect_rc 0 "$sh -n accepts the $sh script"
	else
		skip "$sh is not installed"
	fi
done

# A project to complete in.
p=$(newproject)
cd "$p"
rm -f db/migrations/*.sql # the sample project's own
printf 'database_url: postgresql:///prod\n' >db/environments/prod.yaml
printf 'x\n' >db/migrations/20260101000000_a.up.sql
printf 'x\n' >db/migrations/20260202000000_b.up.sql
printf 'x\n' >db/migrations/20260202000000_b.down.sql

# Candidates at the cursor for WORDS (after "confiture"), in each shell, one a line.
cands() {
	local sh=$1
	shift
	case $sh in
	bash) bash -c '. "$0"; COMP_WORDS=(confiture "$@"); COMP_CWORD=$#; _confiture; printf "%s\n" "${COMPREPLY[@]}"' \
		"$TMP/confiture.bash" "$@" ;;
	zsh) zsh -c '. "$0"; _confiture_candidates "$@" | tr " " "\n"' "$TMP/confiture.zsh" "$@" ;;
	fish) fish -c 'source $argv[1]; complete -C "confiture $argv[2]"' "$TMP/confiture.fish" "$*" | cut -f1 ;;
	esac
}
has() { printf '%s\n' "$1" | grep -qx -- "$2"; }

for sh in bash zsh fish; do
	command -v "$sh" >/dev/null || { skip "$sh is not installed"; continue; }
	c=$(cands "$sh" -e prod migrate "")
	has "$c" up && has "$c" down-to && has "$c" status &&
		_ok "$sh: -e prod migrate <TAB> offers the actions" ||
		_fail "$sh: -e prod migrate <TAB> offers the actions" "$c"
	c=$(cands "$sh" "")
	has "$c" migrate && has "$c" completion && has "$c" schema-to-schema &&
		_ok "$sh: the commands" || _fail "$sh: the commands" "$c"
	c=$(cands "$sh" --env "")
	has "$c" prod && has "$c" local && _ok "$sh: environments from db/environments/" ||
		_fail "$sh: environments from db/environments/" "$c"
	c=$(cands "$sh" migrate down-to "")
	has "$c" 20260101000000 && has "$c" 20260202000000 && [ "$(printf '%s\n' "$c" | grep -c .)" = 2 ] &&
		_ok "$sh: versions from db/migrations/" || _fail "$sh: versions from db/migrations/" "$c"
	c=$(cands "$sh" -f json migrate up --target "")
	has "$c" 20260202000000 && _ok "$sh: migrate up --target offers versions" ||
		_fail "$sh: migrate up --target offers versions" "$c"
	c=$(cands "$sh" migrate up --)
	has "$c" --dry-run-execute && ! has "$c" --through && has "$c" --env &&
		_ok "$sh: an action's own flags, and the globals" || _fail "$sh: an action's own flags, and the globals" "$c"
	c=$(cands "$sh" s2s setup --source "")
	has "$c" prod && _ok "$sh: s2s --source offers environments" || _fail "$sh: s2s --source offers environments" "$c"
	c=$(cands "$sh" hooks test "")
	has "$c" before_migrate && _ok "$sh: hook events" || _fail "$sh: hook events" "$c"
	c=$(cands "$sh" -f "")
	has "$c" json && has "$c" csv && _ok "$sh: formats" || _fail "$sh: formats" "$c"
	c=$(cands "$sh" sync history --)
	has "$c" --limit && ! has "$c" --anonymize && _ok "$sh: sync history has its own flags" ||
		_fail "$sh: sync history has its own flags" "$c"
done

# bash splits --env=prod at "=": the value is still a value, not the command.
c=$(cands bash --env = prod migrate "")
has "$c" up && _ok "bash: --env=prod migrate <TAB> offers the actions" ||
	_fail "bash: --env=prod migrate <TAB> offers the actions" "$c"
# --project-dir points the lookups elsewhere.
cd "$TMP"
c=$(cands bash --project-dir "$p" migrate down-to "")
has "$c" 20260101000000 && _ok "bash: --project-dir is where environments and versions are read" ||
	_fail "bash: --project-dir is where environments and versions are read" "$c"

run cf completion tcsh
expect_rc 2 "an unknown shell is a usage error"
expect_err 'unknown shell "tcsh" (bash, zsh or fish)' "naming the shells"

done_testing
