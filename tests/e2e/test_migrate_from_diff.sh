#!/usr/bin/env bash
# confiture migrate generate NAME --from-diff: the pair from the difference
# between db/migrations and db/schema, its hazards, what it refuses without
# --allow-destructive, nothing to generate, and the round trip (up then down
# gives the schema from before).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diff_lib.inc"

SCRATCH=$(dburl postgres)
G() { cf --project-dir "$P" migrate generate "$@" --from-diff --scratch-url "$SCRATCH"; }
files() { (cd "$P/db/migrations" && ls | tr '\n' ' '); }

P=$(migproject)
mkdir -p "$P/db/schema"
migfile "$P" 001_users.up.sql 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, old_note text);'
migfile "$P" 001_users.down.sql 'DROP TABLE users;'
cat >"$P/db/schema/users.sql" <<'SQL'
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, old_note text, bio text, mood mood);
CREATE INDEX users_email ON users (email);
CREATE VIEW user_emails AS SELECT id, email FROM users;
SQL

# ---- The pair, its hazards, the round trip -----------------------------------------------------
run G add_profile --version-id 002
expect_rc 0 "generate --from-diff writes the pair"
expect_out "up (db/migrations -> db/schema):" "lists the steps"
expect_out "  create    index public.users_email  [lock_risky]" "with their hazards"
expect_out "created db/migrations/002_add_profile.up.sql" "the up file"
expect_out "created db/migrations/002_add_profile.down.sql" "the down file"
up=$(cat "$P/db/migrations/002_add_profile.up.sql")
if [[ $up == *"ALTER TABLE public.users ADD COLUMN bio text;"* && $up == *"CREATE VIEW public.user_emails"* ]]; then
	_ok "the up adds what db/schema has"; else _fail "the up adds what db/schema has" "$up"; fi
down=$(cat "$P/db/migrations/002_add_profile.down.sql")
if [[ $down == *"DROP VIEW public.user_emails;"* && $down == *"DROP TYPE public.mood;"* ]]; then
	_ok "the down removes it"; else _fail "the down removes it" "$down"; fi

DB=$(newdb rt)
URL=$(dburl "$DB")
cf --project-dir "$P" -d "$URL" migrate up --target 001 >/dev/null 2>&1
before=$(dump_norm "$DB")
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "the generated up applies"
run cf --project-dir "$P" diff --from "$URL" --to schema --scratch-url "$SCRATCH"
expect_rc 0 "after the up, the database is db/schema"
run cf --project-dir "$P" -d "$URL" migrate down
expect_rc 0 "the generated down applies"
after=$(dump_norm "$DB")
expect_eq "$after" "$before" "after the down, pg_dump -s is as before the up (the pair round-trips)"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "and the up applies again"

# ---- Nothing to generate ---------------------------------------------------------------------------
before_files=$(files)
run G nothing --version-id 003
expect_rc 1 "nothing to generate: exit 1"
expect_err "nothing to generate: db/migrations already give db/schema" "says so"
expect_eq "$(files)" "$before_files" "no file is written"

# ---- Destructive and non-transactional steps ------------------------------------------------------------
cat >"$P/db/schema/users.sql" <<'SQL'
CREATE TYPE mood AS ENUM ('ok', 'meh', 'sad');
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, bio text, mood mood);
CREATE INDEX users_email ON users (email);
CREATE VIEW user_emails AS SELECT id, email FROM users;
SQL
run G drop_note --version-id 003
expect_rc 1 "a destructive step without --allow-destructive: exit 1"
expect_err "2 steps of the migration need --allow-destructive" "says how many"
expect_err "destructive: drop column public.users.old_note (The column's data is lost.)" "lists the destructive step"
expect_err "non_transactional: alter type public.mood" "and the non-transactional one"
expect_eq "$(files)" "$before_files" "no file is written"
run G drop_note --version-id 003 -f json
expect_json '.ok' false "json: ok is false"
expect_json '[.errors[].message] | join("|")' \
	"destructive: drop column public.users.old_note (The column's data is lost.)|non_transactional: alter type public.mood (A new enum value cannot be used in the transaction that adds it.)" \
	"json: each blocked step is an error"
run G drop_note --version-id 003 --allow-destructive
expect_rc 0 "with --allow-destructive the pair is written"
expect_out "created db/migrations/003_drop_note.up.sql" "the file"
expect_out "warning: the .down.sql cannot undo 1 step; write it by hand:
  alter type public.mood (PostgreSQL cannot remove an enum value" \
	"says the down cannot remove the enum value it added"
run cf --project-dir "$P" -d "$URL" migrate up
expect_rc 0 "it applies (the enum value is added outside a transaction)"
run cf --project-dir "$P" diff --from "$URL" --to schema --scratch-url "$SCRATCH"
expect_rc 0 "and gives db/schema"

# ---- A version already used ---------------------------------------------------------------------------
before_files=$(files)
printf 'CREATE TABLE extra (id int);\n' >>"$P/db/schema/users.sql"
run G extra --version-id 003
expect_rc 5 "a --version-id already used: exit 5"
expect_err 'migration version "003" is already used by "db/migrations/003_drop_note.up.sql"' "names the file"
expect_err "or pass another --version-id." "the hint names the real option"
expect_eq "$(files)" "$before_files" "no file is written"

# ---- Usage ---------------------------------------------------------------------------------------------------
run cf --project-dir "$P" migrate generate x --allow-destructive
expect_rc 2 "--allow-destructive without --from-diff: exit 2"
expect_err "go with --from-diff" "says so"

# ---- A difference only in objects diff does not model ---------------------------------------------
P=$(migproject)
mkdir -p "$P/db/schema"
migfile "$P" 001_t.up.sql 'CREATE TABLE t (id int);'
printf 'CREATE TABLE t (id int);\nCREATE RULE t_keep AS ON DELETE TO t DO INSTEAD NOTHING;\n' >"$P/db/schema/t.sql"
before_files=$(files)
run G rule --version-id 002
expect_rc 1 "a rule only in db/schema: exit 1"
expect_err "nothing to generate, but db/migrations and db/schema differ in objects diff does not compare" \
	"says the difference cannot be generated"
expect_err "rules differ (0 in from, 1 in to)" "names the kind"
expect_eq "$(files)" "$before_files" "no file is written"

done_testing
