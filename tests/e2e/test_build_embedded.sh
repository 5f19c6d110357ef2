#!/usr/bin/env bash
# A new user: `confiture init`, then `confiture build --apply` with nothing
# configured builds into the project's embedded cluster.
. "$(dirname "$0")/../lib.sh"

cd "$TMP" || exit 1
run cf init app
expect_rc 0 "init exits 0"
cd app || exit 1
run cf build --apply
expect_rc 0 "build --apply on the embedded default exits 0"
expect_err 'built database "local" from 7 files' "built into the environment's database"
url=$(cf embedded url)
expect_eq "$(psql -XAtq -d "$url" -c "SELECT count(*) FROM users")" "3" "the embedded database has the seeds"
run cf build --recreate -f json
expect_rc 0 "--recreate on the embedded cluster"
expect_json .recreated true "recreated"
expect_eq "$(psql -XAtq -d "$url" -c "SELECT count(*) FROM users")" "3" "rebuilt from scratch"
run cf build --template -f json
expect_json .cloned false "--template: first build"
run cf build --template -f json
expect_json .cloned true "--template: then a clone"
cf embedded destroy >/dev/null 2>&1

done_testing
