/*
 * Integration tests of the build API against a real server: cf_build with
 * is_apply, result fields, hook callbacks (a before_build callback aborts
 * before anything runs), and cf_seed_apply.
 */
#include "unit/t.h"
#include "fs.h"
#include "pg.h"

#include <stdlib.h>
#include <unistd.h>

static char *g_admin; /* conninfo of the server's postgres database */

static void put(const char *dir, const char *rel, const char *text)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(dir, rel);
	if (cf_file_write_atomic(ctx, p, text, strlen(text)) != CF_OK)
		abort();
	free(p);
	cf_ctx_free(ctx);
}

static char *fresh_db(const char *name)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, g_admin, &pg) != CF_OK) {
		printf("    connect: %s\n", cf_last_error(ctx));
		abort();
	}
	char *sql = cf_sql_format(pg, "DROP DATABASE IF EXISTS %I", name);
	cf_pg_exec(pg, sql);
	free(sql);
	sql = cf_sql_format(pg, "CREATE DATABASE %I", name);
	if (cf_pg_exec(pg, sql) != CF_OK)
		abort();
	free(sql);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
	return cf_dsn_with_dbname(g_admin, name);
}

static long count(const char *conninfo, const char *sql)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	char *v = NULL;
	long n = -1;
	if (cf_pg_connect(ctx, conninfo, &pg) == CF_OK &&
	    cf_pg_query_value(pg, sql, 0, NULL, &v) == CF_OK && v)
		n = atol(v);
	free(v);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
	return n;
}

static char *project(void)
{
	const char *base = getenv("CF_TEST_WORK");
	char *dir = cf_asprintf("%s/apiXXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir))
		abort();
	put(dir, "db/schema/10_t.sql", "CREATE TABLE t (id int PRIMARY KEY, v text);\n");
	put(dir, "db/schema/20_v.sql", "CREATE VIEW v AS SELECT id FROM t;\n");
	put(dir, "db/seeds/10_t.sql", "INSERT INTO t VALUES (1, 'a'), (2, 'b');\n");
	return dir;
}

typedef struct seen {
	int before, after;
	char env[32];
} seen;

static int on_before(void *ud, const cf_hook_event *ev)
{
	seen *s = ud;
	s->before++;
	snprintf(s->env, sizeof(s->env), "%s", ev->env);
	return 0;
}

static int on_after(void *ud, const cf_hook_event *ev)
{
	seen *s = ud;
	s->after += ev->success == 1 && ev->elapsed_ms >= 0;
	return 0;
}

static int refuse(void *ud, const cf_hook_event *ev)
{
	(void)ud;
	(void)ev;
	return 1;
}

static void test_apply(void)
{
	char *dir = project();
	char *url = fresh_db("it_build_api");
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_set_database_url(ctx, url), CF_OK, "database url");
	CHECK_INT(cf_ctx_load(ctx, dir, NULL), CF_OK, "load");
	seen s = {0};
	cf_hook_register(ctx, "before_build", on_before, &s);
	cf_hook_register(ctx, "after_build", on_after, &s);
	cf_build_options o = {.is_apply = true};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "cf_build with is_apply");
	CHECK(r->success && r->is_applied && r->changes_detected, "result: success, applied, changed");
	CHECK_STR(r->database, "it_build_api", "result: the database");
	CHECK_INT(r->n_files, 3, "result: files");
	CHECK_INT(r->n_seed_files, 1, "result: seed files");
	CHECK_INT(r->n_statements, 3, "result: statements run");
	CHECK(r->files[2].is_seed && strcmp(r->files[2].relpath, "seeds/10_t.sql") == 0,
	      "result: the seed file last");
	CHECK(r->duration_s > 0 && r->timings.apply_s > 0, "result: timings");
	CHECK_INT(r->n_errors, 0, "result: no errors");
	CHECK_INT(s.before, 1, "before_build callback fired once");
	CHECK_INT(s.after, 1, "after_build callback fired once, with success and elapsed_ms");
	CHECK_STR(s.env, "local", "the hook event names the environment");
	CHECK_INT(count(url, "SELECT count(*) FROM t"), 2, "rows from the seed");
	cf_build_result_free(r);

	/* A failing statement: errors carry the location. */
	put(dir, "db/schema/30_bad.sql", "\nCREATE TABLE bad (x int REFERENCES nope (id));\n");
	o.is_recreate = true;
	CHECK_INT(cf_build(ctx, &o, &r), CF_ERR_SCHEMA, "a failing statement is CF_ERR_SCHEMA");
	CHECK(!r->success, "result: not a success");
	CHECK_INT(r->n_errors, 1, "result: one error");
	CHECK(r->errors[0].file && strstr(r->errors[0].file, "db/schema/30_bad.sql"),
	      "error item: the file");
	CHECK_INT(r->errors[0].line, 2, "error item: the line");
	CHECK_STR(r->errors[0].sqlstate, "42P01", "error item: the SQLSTATE");
	CHECK_INT(count(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0,
	          "recreated, then rolled back: empty");
	cf_build_result_free(r);
	char *bad = cf_path_join(dir, "db/schema/30_bad.sql");
	unlink(bad);
	free(bad);

	/* A before_build callback that refuses: nothing runs. */
	cf_hook_register(ctx, "before_build", refuse, NULL);
	CHECK_INT(cf_build(ctx, &o, &r), CF_ERR_VALIDATION, "a refusing before_build callback aborts");
	CHECK_STR(cf_last_error(ctx), "hook callback for \"before_build\" aborted", "its message");
	CHECK_INT(r->n_files, 0, "nothing was even read");
	cf_build_result_free(r);
	cf_ctx_free(ctx);
	free(url);
	free(dir);
}

static void test_seed_api(void)
{
	char *dir = project();
	char *url = fresh_db("it_build_seed_api");
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_database_url(ctx, url);
	cf_ctx_load(ctx, dir, NULL);
	cf_build_options o = {.is_apply = true, .is_schema_only = true};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "schema only");
	cf_build_result_free(r);
	cf_seed_result *sr = NULL;
	CHECK_INT(cf_seed_apply(ctx, NULL, &sr), CF_OK, "cf_seed_apply");
	CHECK(sr->success && sr->changes_detected, "seed result: success, changed");
	CHECK_INT(sr->n_applied, 1, "seed result: applied");
	CHECK_INT(sr->n_statements, 1, "seed result: statements");
	CHECK(sr->n_files == 1 && sr->files[0].success, "seed result: per file");
	cf_seed_result_free(sr);
	cf_seed_options so = {.is_sequential = true, .is_continue_on_error = true};
	CHECK_INT(cf_seed_apply(ctx, &so, &sr), CF_ERR_SQL, "seeding twice breaks the primary key");
	CHECK_INT(sr->n_failed, 1, "seed result: one failed");
	CHECK(!sr->files[0].success, "seed result: the file failed");
	CHECK_STR(sr->errors[0].sqlstate, "23505", "seed result: the error's SQLSTATE");
	cf_seed_result_free(sr);
	CHECK_INT(count(url, "SELECT count(*) FROM t"), 2, "still two rows");
	cf_ctx_free(ctx);
	free(url);
	free(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	g_admin = cf_asprintf("host=%s port=%s user=postgres dbname=postgres", host ? host : "",
	                      port ? port : "5432");
	test_apply();
	test_seed_api();
	free(g_admin);
	return t_done();
}
