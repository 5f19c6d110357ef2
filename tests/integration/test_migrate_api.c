/* The migrate medium through the public C API, against a real server:
 * results, error items, hook callbacks in order, aborting hooks, and the
 * batched path's error locations. */
#include "unit/t.h"
#include "buf.h"
#include "fs.h"
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *g_root;

static char *dburl(const char *db)
{
	return cf_asprintf("postgresql://%s@/%s?host=%s&port=%s", getenv("PGUSER") ? getenv("PGUSER") : "postgres",
	                   db, getenv("PGHOST"), getenv("PGPORT") ? getenv("PGPORT") : "5432");
}

static void admin(const char *sql)
{
	cf_ctx *ctx = cf_ctx_new();
	char *url = dburl("postgres");
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, url, &pg) == CF_OK)
		cf_pg_exec(pg, sql);
	cf_pg_close(pg);
	free(url);
	cf_ctx_free(ctx);
}

static char *query1(const char *db, const char *sql)
{
	cf_ctx *ctx = cf_ctx_new();
	char *url = dburl(db), *v = NULL;
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, url, &pg) == CF_OK)
		cf_pg_query_value(pg, sql, 0, NULL, &v);
	cf_pg_close(pg);
	free(url);
	cf_ctx_free(ctx);
	return v;
}

static char *newdb(const char *name)
{
	char *db = cf_asprintf("test_migrate_api_%s", name);
	char *drop = cf_asprintf("DROP DATABASE IF EXISTS %s", db);
	char *create = cf_asprintf("CREATE DATABASE %s", db);
	admin(drop);
	admin(create);
	free(drop);
	free(create);
	return db;
}

static char *project(const char *name)
{
	char *p = cf_asprintf("%s/%s", g_root, name);
	char *m = cf_path_join(p, "db/migrations");
	cf_ctx *ctx = cf_ctx_new();
	cf_mkdirs(ctx, m, 0755);
	cf_ctx_free(ctx);
	free(m);
	return p;
}

static void put(const char *proj, const char *file, const char *text)
{
	char *p = cf_asprintf("%s/db/migrations/%s", proj, file);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	free(p);
}

static cf_ctx *load(const char *proj, const char *db)
{
	cf_ctx *ctx = cf_ctx_new();
	char *url = dburl(db);
	cf_ctx_set_database_url(ctx, url);
	free(url);
	if (cf_ctx_load(ctx, proj, NULL) != CF_OK)
		printf("    load failed: %s\n", cf_last_error(ctx));
	return ctx;
}

typedef struct events {
	cf_buf log;
	const char *abort_on;
} events;

static int on_event(void *ud, const cf_hook_event *ev)
{
	events *e = ud;
	cf_buf_printf(&e->log, "%s%s%s%s;", ev->event, ev->migration_version ? ":" : "",
	              ev->migration_version ? ev->migration_version : "",
	              ev->success == 0 ? "!" : "");
	return e->abort_on && strcmp(ev->event, e->abort_on) == 0;
}

static void test_up_with_callbacks(void)
{
	char *db = newdb("cb");
	char *p = project("cb");
	put(p, "001_a.up.sql", "CREATE TABLE a (id int);");
	put(p, "002_b.up.sql", "CREATE TABLE b (id int);\nSELECT nosuch FROM b;\n");
	cf_ctx *ctx = load(p, db);
	events ev = {0};
	cf_buf_init(&ev.log);
	cf_hook_register(ctx, "*", on_event, &ev);
	cf_migrate_result *r = NULL;
	cf_status st = cf_migrate_up(ctx, NULL, &r);
	CHECK_INT(st, CF_ERR_SQL, "a failing migration returns CF_ERR_SQL");
	CHECK(r && !r->success && r->n_applied == 1, "the result counts the one applied");
	CHECK(r && r->n_migrations == 2 && strcmp(r->migrations[0].status, "applied_now") == 0 &&
	      strcmp(r->migrations[1].status, "failed") == 0, "per-migration statuses");
	CHECK(r && r->n_errors == 1, "one error item");
	if (r && r->n_errors == 1) {
		CHECK_STR(r->errors[0].file, "db/migrations/002_b.up.sql", "error item: file");
		CHECK_INT(r->errors[0].line, 2, "error item: line");
		CHECK_INT(r->errors[0].column, 8, "error item: column");
		CHECK_STR(r->errors[0].sqlstate, "42703", "error item: sqlstate");
		CHECK_INT(r->errors[0].code, CF_ERR_SQL, "error item: code");
	}
	CHECK(r && r->message && strstr(r->message, "nosuch"), "the message is the error's");
	CHECK(r && r->duration_s > 0 && r->changes_detected, "duration and changes_detected");
	CHECK_STR(ev.log.data,
	          "before_migrate;before_migration:001;after_migration:001;before_migration:002;"
	          "migration_failed:002!;on_error!;after_migrate!;",
	          "hook callbacks fire in order with their context");
	cf_migrate_result_free(r);

	/* Fixed file: the rest applies; status agrees. */
	put(p, "002_b.up.sql", "CREATE TABLE b (id int);\n");
	cf_buf_reset(&ev.log);
	st = cf_migrate_up(ctx, NULL, &r);
	CHECK(st == CF_OK && r->success && r->n_applied == 1 && r->n_pending == 0,
	      "a rerun applies the fixed migration");
	CHECK_STR(r->current, "002", "current after up");
	cf_migrate_result_free(r);
	st = cf_migrate_status(ctx, NULL, &r);
	CHECK(st == CF_OK && r->n_total == 2 && r->n_pending == 0 && r->has_ledger,
	      "status: nothing pending");
	cf_migrate_result_free(r);
	cf_migrate_result_free(NULL);
	cf_buf_release(&ev.log);
	cf_ctx_free(ctx);
	free(p);
	free(db);
}

static void test_abort(void)
{
	char *db = newdb("abort");
	char *p = project("abort");
	put(p, "001_a.up.sql", "CREATE TABLE a (id int);");
	cf_ctx *ctx = load(p, db);
	events ev = {.abort_on = "before_migration"};
	cf_buf_init(&ev.log);
	cf_hook_register(ctx, "before_migration", on_event, &ev);
	cf_migrate_result *r = NULL;
	cf_status st = cf_migrate_up(ctx, NULL, &r);
	CHECK_INT(st, CF_ERR_VALIDATION, "a before_migration callback returning non-zero aborts");
	char *v = query1(db, "SELECT (to_regclass('a') IS NULL)::text || '/' || "
	                     "(SELECT count(*) FROM tb_confiture)");
	CHECK_STR(v, "true/0", "nothing of the migration was applied");
	free(v);
	cf_migrate_result_free(r);
	cf_buf_release(&ev.log);
	cf_ctx_free(ctx);
	free(p);
	free(db);
}

/* Without per-migration hooks, consecutive migrations share one message:
 * the error still points into the right file. */
static void test_batch_location(void)
{
	char *db = newdb("batch");
	char *p = project("batch");
	put(p, "001_a.up.sql", "CREATE TABLE a (id int);");
	put(p, "002_b.up.sql", "-- é\nCREATE TABLE b (id int);");
	put(p, "003_c.up.sql", "CREATE TABLE c (id int);\n\n  SELECT * FROM a WHERE nosuch = 1;");
	put(p, "004_d.up.sql", "CREATE TABLE d (id int);");
	cf_ctx *ctx = load(p, db);
	cf_migrate_result *r = NULL;
	cf_status st = cf_migrate_up(ctx, NULL, &r);
	CHECK_INT(st, CF_ERR_SQL, "batched: the failure is reported");
	CHECK(r->n_applied == 2, "batched: the two before it are applied");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(e && e->file && strcmp(e->file, "db/migrations/003_c.up.sql") == 0 && e->line == 3 &&
	      e->column == 25, "batched: located at 003_c.up.sql:3:25");
	char *v = query1(db, "SELECT string_agg(version, ',' ORDER BY version) || '/' || "
	                     "(to_regclass('c') IS NULL)::text || (to_regclass('d') IS NULL)::text "
	                     "FROM tb_confiture");
	CHECK_STR(v, "001,002/truetrue", "batched: the failed one and the rest left nothing");
	free(v);
	v = query1(db, "SELECT bool_and(execution_time_ms >= 0) FROM tb_confiture");
	CHECK_STR(v, "t", "batched: each row has its own execution time");
	free(v);
	cf_migrate_result_free(r);
	cf_ctx_free(ctx);
	free(p);
	free(db);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	const char *work = getenv("CF_TEST_WORK");
	g_root = cf_asprintf("%s/migrate_api.%d", work ? work : "/tmp", (int)getpid());
	test_up_with_callbacks();
	test_abort();
	test_batch_location();
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, g_root);
	cf_ctx_free(ctx);
	free(g_root);
	return t_done();
}
