/* Integration: hook dispatch -- callbacks, shell hooks, SQL hooks, context, failures. */
#include "itest.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hooks.h"

#include <stdlib.h>
#include <unistd.h>

static char *db;
static char proj[64];

static void write_project(const char *yaml)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(proj, "confiture.yaml");
	cf_file_write_atomic(ctx, p, yaml, strlen(yaml));
	free(p);
	cf_ctx_free(ctx);
}

static cf_ctx *load(const char *yaml)
{
	write_project(yaml);
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_database_url(ctx, db);
	if (cf_ctx_load(ctx, proj, "local") != CF_OK)
		printf("    load failed: %s\n", cf_last_error(ctx));
	return ctx;
}

static char *slurp(const char *rel)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(proj, rel), *text = NULL;
	if (cf_file_read(ctx, p, &text, NULL) != CF_OK)
		text = cf_strdup("(missing)");
	free(p);
	cf_ctx_free(ctx);
	return text;
}

typedef struct calls {
	char log[512];
	int abort_on;
} calls;

static int record(void *ud, const cf_hook_event *ev)
{
	calls *c = ud;
	strcat(c->log, ev->event);
	strcat(c->log, ";");
	return c->abort_on && strcmp(ev->event, "before_migrate") == 0;
}

static void test_callbacks(void)
{
	cf_ctx *ctx = load("hooks: {}\n");
	calls c = {.abort_on = 0};
	CHECK_INT(cf_hook_register(ctx, "before_migrate", record, &c), CF_OK, "register");
	CHECK_INT(cf_hook_register(ctx, "*", record, &c), CF_OK, "register for every event");
	CHECK_INT(cf_hook_register(ctx, "before_migrat", record, &c), CF_ERR_USAGE, "unknown event refused");
	CHECK_STR(cf_last_error_info(ctx)->hint, "Did you mean \"before_migrate\"?", "with a hint");
	cf_ctx_clear_error(ctx);
	cf_hook_fire f = CF_HOOK_FIRE_INIT("before_migrate");
	CHECK_INT(cf_hooks_fire(ctx, &f), CF_OK, "fires");
	cf_hook_fire g = CF_HOOK_FIRE_INIT("after_build");
	cf_hooks_fire(ctx, &g);
	CHECK_STR(c.log, "before_migrate;before_migrate;after_build;", "callbacks in order, * included");
	c.abort_on = 1;
	CHECK_INT(cf_hooks_fire(ctx, &f), CF_ERR_VALIDATION, "non-zero aborts a before_* event");
	CHECK_STR(cf_last_error(ctx), "hook callback for \"before_migrate\" aborted", "abort message");
	cf_ctx_free(ctx);
}

static void test_shell(void)
{
	setenv("PGPASSWORD", "pg-secret-1", 1);
	setenv("CONFITURE_ANON_KEY", "anon-secret-2", 1);
	cf_ctx *ctx = load(
		"hooks:\n"
		"  after_migration:\n"
		"    - run: 'env | grep -E \"^(CONFITURE_|PG)\" | sort > env.out; cat > ctx.json; echo hello from hook'\n"
		"  before_migrate:\n"
		"    - run: 'exit 3'\n"
		"  after_migrate:\n"
		"    - run: 'exit 4'\n"
		"      on_failure: warn\n"
		"    - run: 'touch ran-after-warn'\n"
		"  before_build:\n"
		"    - run: 'sleep 5'\n"
		"      timeout_s: 1\n");
	cf_ctx_add_secret(ctx, "url-secret-3");
	setenv("SOME_URL", "postgresql://u:url-secret-3@h/d", 1);
	cf_hook_fire f = CF_HOOK_FIRE_INIT("after_migration");
	f.migration_version = "20260101120000";
	f.migration_name = "add_users";
	f.success = 1;
	f.elapsed_ms = 42;
	CHECK_INT(cf_hooks_fire(ctx, &f), CF_OK, "a shell hook runs");
	char *env = slurp("env.out");
	CHECK(strstr(env, "CONFITURE_EVENT=after_migration\n") != NULL, "CONFITURE_EVENT");
	CHECK(strstr(env, "CONFITURE_ENV=local\n") != NULL, "CONFITURE_ENV");
	CHECK(strstr(env, "CONFITURE_DATABASE=itest_hooks\n") != NULL, "CONFITURE_DATABASE is the name");
	CHECK(strstr(env, "CONFITURE_MIGRATION_VERSION=20260101120000\n") != NULL, "version");
	CHECK(strstr(env, "CONFITURE_MIGRATION_NAME=add_users\n") != NULL, "name");
	CHECK(strstr(env, "CONFITURE_SUCCESS=true\n") != NULL, "success");
	CHECK(strstr(env, "CONFITURE_ELAPSED_MS=42\n") != NULL, "elapsed");
	CHECK(strstr(env, "CONFITURE_EXECUTION_ID=") != NULL, "execution id");
	CHECK(!strstr(env, "pg-secret-1") && !strstr(env, "PGPASSWORD"), "PGPASSWORD never reaches a hook");
	CHECK(!strstr(env, "anon-secret-2"), "the anonymization key never reaches a hook");
	free(env);
	char *json = slurp("ctx.json");
	CHECK(strstr(json, "\"event\":\"after_migration\"") && strstr(json, "\"migration_version\":\"20260101120000\"") &&
	          strstr(json, "\"success\":true") && strstr(json, "\"rows\":null"),
	      "the same context as JSON on stdin: %s", json);
	free(json);

	cf_hook_fire b = CF_HOOK_FIRE_INIT("before_migrate");
	CHECK_INT(cf_hooks_fire(ctx, &b), CF_ERR_VALIDATION, "a failing abort hook fails the event");
	CHECK_STR(cf_last_error(ctx), "hook for \"before_migrate\" failed with exit code 3", "exit code named");
	cf_ctx_clear_error(ctx);

	cf_hook_fire a = CF_HOOK_FIRE_INIT("after_migrate");
	CHECK_INT(cf_hooks_fire(ctx, &a), CF_OK, "on_failure: warn goes on");
	char *ran = cf_path_join(proj, "ran-after-warn");
	CHECK(cf_is_file(ran), "the next hook still ran");
	free(ran);

	cf_hook_fire t = CF_HOOK_FIRE_INIT("before_build");
	CHECK_INT(cf_hooks_fire(ctx, &t), CF_ERR_VALIDATION, "a hook past its timeout fails");
	CHECK_STR(cf_last_error(ctx), "hook for \"before_build\" timed out after 1 s", "timeout message");
	cf_ctx_clear_error(ctx);

	/* Reporting a failure: the original error stays. */
	cf_error_set(ctx, CF_ERR_SQL, "the real failure");
	cf_hooks_fire(ctx, &b);
	CHECK_STR(cf_last_error(ctx), "the real failure", "hooks do not clobber the error being reported");
	cf_ctx_free(ctx);
	unsetenv("PGPASSWORD");
	unsetenv("CONFITURE_ANON_KEY");
	unsetenv("SOME_URL");
}

static void test_sql(void)
{
	cf_ctx *ctx = load("hooks:\n"
	                   "  after_migration:\n"
	                   "    - sql: \"INSERT INTO audit VALUES ('hooked')\"\n"
	                   "  before_migration:\n"
	                   "    - sql: 'SELECT 1/0'\n"
	                   "  after_migrate:\n"
	                   "    - sql: 'SELECT nosuchfunction()'\n"
	                   "      on_failure: warn\n"
	                   "    - sql_file: hooks/after.sql\n");
	char *path = cf_path_join(proj, "hooks/after.sql");
	cf_file_write_atomic(ctx, path, "INSERT INTO audit VALUES ('from file');", 39);
	free(path);
	cf_pg *pg = NULL;
	cf_pg_connect(ctx, db, &pg);
	cf_pg_exec(pg, "CREATE TABLE audit (what text)");

	cf_pg_begin(pg);
	cf_pg_exec(pg, "CREATE TABLE m1 (a int)");
	cf_hook_fire f = CF_HOOK_FIRE_INIT("after_migration");
	f.pg = pg;
	CHECK_INT(cf_hooks_fire(ctx, &f), CF_OK, "an SQL hook runs in the caller's transaction");
	cf_pg_rollback(pg);
	char *v = NULL;
	cf_pg_query_value(pg, "SELECT count(*) FROM audit", 0, NULL, &v);
	CHECK_STR(v, "0", "and rolls back with it");
	free(v);

	cf_pg_begin(pg);
	cf_hook_fire b = CF_HOOK_FIRE_INIT("before_migration");
	b.pg = pg;
	CHECK_INT(cf_hooks_fire(ctx, &b), CF_ERR_SQL, "a failing SQL hook fails the event");
	CHECK_STR(cf_last_error(ctx), "division by zero", "with the server's message");
	CHECK(strstr(cf_last_error_info(ctx)->context, "in the SQL hook for \"before_migration\"") != NULL,
	      "and where the hook is declared");
	cf_pg_rollback(pg);
	cf_ctx_clear_error(ctx);

	cf_pg_begin(pg);
	cf_hook_fire a = CF_HOOK_FIRE_INIT("after_migrate");
	a.pg = pg;
	CHECK_INT(cf_hooks_fire(ctx, &a), CF_OK, "a warn SQL hook does not poison the transaction");
	CHECK_INT(cf_pg_commit(pg), CF_OK, "the transaction still commits");
	cf_pg_query_value(pg, "SELECT string_agg(what, ',') FROM audit", 0, NULL, &v);
	CHECK_STR(v, "from file", "the sql_file hook after it ran");
	free(v);

	cf_hook_fire own = CF_HOOK_FIRE_INIT("after_migration");
	CHECK_INT(cf_hooks_fire(ctx, &own), CF_OK, "without a connection, SQL hooks open one");
	cf_pg_query_value(pg, "SELECT count(*) FROM audit WHERE what = 'hooked'", 0, NULL, &v);
	CHECK_STR(v, "1", "and commit their work");
	free(v);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

static void test_list(void)
{
	cf_ctx *ctx = load("hooks:\n  after_build:\n    - run: 'true'\n  before_build:\n    - sql: 'SELECT 1'\n      on_failure: warn\n");
	cf_hook_info *v = NULL;
	size_t n = cf_hooks_list(ctx, &v);
	CHECK_INT(n, 2, "two hooks");
	CHECK(n == 2 && strcmp(v[0].event, "before_build") == 0 && strcmp(v[1].event, "after_build") == 0,
	      "listed in firing order");
	CHECK(n == 2 && !v[0].is_abort && strcmp(v[0].kind, "sql") == 0, "kind and on_failure");
	free(v);
	CHECK_INT(cf_hooks_test(ctx, "after_build"), CF_OK, "hooks test runs an event");
	CHECK_INT(cf_hooks_test(ctx, "after_biuld"), CF_ERR_USAGE, "hooks test of an unknown event");
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	db = t_newdb("itest_hooks");
	strcpy(proj, "/tmp/cf_hooks_XXXXXX");
	mkdtemp(proj);
	test_callbacks();
	test_shell();
	test_sql();
	test_list();
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, proj);
	cf_ctx_free(ctx);
	free(db);
	return t_done();
}
