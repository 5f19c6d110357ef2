#!/usr/bin/env bash
# contrib/ci/github-actions.yml and contrib/git-hooks/pre-commit work from a
# fresh clone: the workflow's own commands (all but the install step) run in
# a clone of a sample project, on its embedded cluster, with nothing
# configured; the hook refuses a commit that breaks the schema.
. "$(dirname "$0")/../lib.sh"

command -v git >/dev/null || { skip "git is not installed"; done_testing; exit; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t
export GIT_COMMITTER_EMAIL=t@example.invalid
mkdir -p "$TMP/bin"
ln -s "$CONFITURE_BIN" "$TMP/bin/confiture"
export PATH=$TMP/bin:$PATH
WF=$ROOT/contrib/ci/github-actions.yml

# The single-line `run:` of the workflow step named $1.
step_run() {
	awk -v want="$1" '/- name: / { name = $0; sub(/.*- name: /, "", name) }
		name == want && /^ *run: / { sub(/^ *run: /, ""); print; exit }' "$WF"
}

# A project whose migrations give its schema, committed, then cloned.
ORIGIN=$TMP/origin
mkdir -p "$ORIGIN"
cp -r "$ROOT/db" "$ORIGIN/db"
rm -rf "$ORIGIN/db/migrations"
mkdir -p "$ORIGIN/db/migrations"
printf 'CREATE TABLE notes (id int PRIMARY KEY, body text);\n' >"$ORIGIN/db/schema/10_tables/30_notes.sql"
(cd "$ORIGIN" && git init -q && printf '.confiture/\n' >.gitignore && git add -A && git commit -qm init)
(cd "$ORIGIN" && confiture migrate generate initial --from-diff --version-id 001 >/dev/null 2>&1 &&
	git add -A && git commit -qm "first migration")
CLONE=$TMP/clone
git clone -q "$ORIGIN" "$CLONE"

for s in "Configuration" "confiture check" "JUnit report"; do
	cmd=$(step_run "$s")
	[ -n "$cmd" ] || { _fail "the workflow has a step \"$s\""; continue; }
	run bash -c "cd '$CLONE' && $cmd"
	expect_rc 0 "workflow step \"$s\" passes on a fresh clone: $cmd"
done
if grep -q '<testsuite name="confiture.check"' "$CLONE/confiture-check.xml" 2>/dev/null; then
	_ok "the JUnit report is written"; else _fail "the JUnit report is written" "$(cat "$CLONE/confiture-check.xml" 2>&1)"; fi
expect_eq "$(grep -c '<testcase ' "$CLONE/confiture-check.xml")" 8 "a test case per step and two for the migration"

# The same workflow step fails when a migration is missing.
printf 'ALTER TABLE notes ADD COLUMN title text;\n' >>"$CLONE/db/schema/10_tables/30_notes.sql"
run bash -c "cd '$CLONE' && $(step_run "confiture check")"
expect_rc 1 "the check step fails when db/schema has what no migration gives"
expect_out "ALTER TABLE public.notes ADD COLUMN title text;" "and shows the missing SQL"
run bash -c "cd '$CLONE' && $(step_run "Annotations on the pull request")"
expect_out "::error title=drift::the migrations lack column public.notes.title" \
	"the annotations step names the drift"

# ---- The pre-commit hook ----------------------------------------------------------------
cp "$ROOT/contrib/git-hooks/pre-commit" "$CLONE/.git/hooks/pre-commit"
chmod +x "$CLONE/.git/hooks/pre-commit"
run bash -c "cd '$CLONE' && git add -A && git commit -qm 'title without its migration'"
expect_rc 1 "the hook refuses a commit that breaks the check"
expect_err "pre-commit: confiture check failed; commit refused" "and says why"
run bash -c "cd '$CLONE' && confiture migrate generate add_title --from-diff --version-id 002 >/dev/null && git add -A && git commit -qm 'title, with its migration'"
expect_rc 0 "with its migration the commit goes through"
cf --project-dir "$CLONE" -q embedded destroy >/dev/null 2>&1
cf --project-dir "$ORIGIN" -q embedded destroy >/dev/null 2>&1

done_testing
