/*
 * Integration tests of the s2s API: result structs, hook callbacks around
 * steps and tables, a before hook that refuses, and cancellation from a
 * progress callback (the copy stops between ranges and resumes later).
 */
#include "unit/t.h"
#include "pg.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[256];
static char src_url[512], tgt_url[512];

typedef struct seen {
	char lines[64][160];
	int n;
	const char *refuse_table; /* before_s2s_step of this table returns 1 */
} seen;

static int on_hook(void *ud, const cf_hook_event *ev)
{
	seen *s = ud;
	if (s->n < 64)
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s %s %s rows=%lld ok=%d", ev->event,
		         ev->step ? ev->step : "-", ev->table ? ev->table : "-", ev->rows, ev->success);
	return s->refuse_table && ev->table && strcmp(ev->table, s->refuse_table) == 0 &&
	       strcmp(ev->event, "before_s2s_step") == 0;
}

static int n_progress;
/* Cancels after the second committed range. */
static void cancel_after_two(void *ud, const cf_progress *p)
{
	if (p->kind == CF_PROGRESS_UPDATE && p->item && ++n_progress == 2)
		cf_ctx_cancel(ud);
}

static bool sql(cf_ctx *ctx, const char *db, const char *text)
{
	char url[512];
	snprintf(url, sizeof(url), "dbname=%s", db);
	cf_pg *pg = NULL;
	cf_status st = cf_pg_connect(ctx, url, &pg);
	if (!st)
		st = cf_pg_exec(pg, text);
	if (st)
		printf("    sql failed: %s\n", cf_last_error(ctx));
	cf_pg_close(pg);
	return st == CF_OK;
}

static long long value(cf_ctx *ctx, const char *db, const char *query)
{
	char url[512];
	snprintf(url, sizeof(url), "dbname=%s", db);
	cf_pg *pg = NULL;
	char *v = NULL;
	if (!cf_pg_connect(ctx, url, &pg))
		cf_pg_query_value(pg, query, 0, NULL, &v);
	long long n = v ? atoll(v) : -1;
	free(v);
	cf_pg_close(pg);
	return n;
}

static cf_ctx *new_ctx(void)
{
	cf_ctx *ctx = cf_ctx_new();
	if (cf_ctx_load(ctx, dir, NULL) != CF_OK)
		printf("    load failed: %s\n", cf_last_error(ctx));
	return ctx;
}

static bool has_line(const seen *s, const char *line)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->lines[i], line) == 0)
			return true;
	return false;
}

static void test_steps_and_hooks(void)
{
	cf_ctx *ctx = new_ctx();
	seen s = {0};
	cf_hook_register(ctx, "*", on_hook, &s);
	cf_s2s_opts o = {.source = src_url, .target = tgt_url};
	cf_s2s_result *r = NULL;
	cf_status st = cf_s2s_setup(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "cf_s2s_setup succeeds");
	CHECK(r && r->success && r->changes_detected && r->n_actions >= 4,
	      "the setup result lists what it created");
	CHECK_STR(r->step, "setup", "the result names its step");
	CHECK(has_line(&s, "before_s2s_step setup - rows=-1 ok=-1") &&
	          has_line(&s, "after_s2s_step setup - rows=-1 ok=1"),
	      "before/after_s2s_step fire around setup");
	cf_s2s_result_free(r);

	char map[300];
	snprintf(map, sizeof(map), "%s/map.yaml", dir);
	o.mapping_file = map;
	o.batch_size = 250;
	s.n = 0;
	s.refuse_table = "public.a";
	st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_ERR_VALIDATION, "a before_s2s_step callback that refuses a table fails the step");
	CHECK_INT(value(ctx, "s2s_api_tgt", "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)"),
	          0, "the refused table, and the one after it, are left untouched");
	CHECK(r && !r->success && r->n_errors == 1, "the result carries the error");
	cf_s2s_result_free(r);

	s.n = 0;
	s.refuse_table = NULL;
	cf_ctx_clear_error(ctx);
	st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "cf_s2s_migrate succeeds");
	CHECK_INT(r->rows_copied, 1500, "rows_copied counts both tables");
	CHECK_INT(r->n_tables, 2, "one result per mapping entry");
	CHECK_INT(r->tables[1].n_ranges, 4, "1000 rows in ranges of 250");
	CHECK_STR(r->tables[1].status, "copied", "the table's status");
	CHECK(has_line(&s, "before_s2s_step migrate public.b rows=-1 ok=-1"),
	      "before_s2s_step fires for each table");
	CHECK(has_line(&s, "after_s2s_step migrate public.b rows=1000 ok=1"),
	      "after_s2s_step carries the table's rows");
	CHECK(has_line(&s, "after_s2s_step migrate - rows=1500 ok=1"),
	      "after_s2s_step of the step carries all rows");
	cf_s2s_result_free(r);

	st = cf_s2s_verify(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "cf_s2s_verify succeeds");
	CHECK(r->n_tables == 2 && r->tables[0].is_match && r->tables[1].is_match &&
	          r->tables[1].source_rows == 1000 && r->tables[1].is_pushed_down,
	      "both tables match, checksummed on the source");
	cf_s2s_result_free(r);
	cf_ctx_free(ctx);
}

static void test_cancel_and_resume(void)
{
	cf_ctx *ctx = new_ctx();
	cf_ctx *q = cf_ctx_new(); /* for queries: CTX ends up cancelled */
	cf_ctx_set_progress(ctx, cancel_after_two, ctx);
	char map[300];
	snprintf(map, sizeof(map), "%s/map.yaml", dir);
	const char *only[] = {"b"};
	cf_s2s_opts o = {.source = src_url, .target = tgt_url, .mapping_file = map, .batch_size = 100,
	                 .is_restart = true, .tables = only, .n_tables = 1};
	cf_s2s_result *r = NULL;
	cf_status st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_ERR_CANCELLED, "cancelling from a progress callback stops the copy");
	long long n = value(q, "s2s_api_tgt", "SELECT count(*) FROM b");
	CHECK(n > 0 && n < 1000, "the copy stopped part-way (%lld of 1000 rows)", n);
	CHECK_INT(value(q, "s2s_api_tgt",
	                "SELECT sum(rows) FROM confiture_src.confiture_s2s_ranges"
	                " WHERE target_table = 'public.b'"),
	          n, "the recorded ranges hold exactly the rows copied");
	cf_s2s_result_free(r);
	cf_ctx_free(ctx);

	ctx = new_ctx();
	o.is_restart = false;
	o.is_resume = true;
	st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "a new context resumes");
	CHECK_STR(r->tables[0].status, "resumed", "the table is resumed");
	CHECK_INT(r->tables[0].rows + n, 1000, "only the missing rows are copied");
	CHECK_INT(value(ctx, "s2s_api_tgt", "SELECT count(DISTINCT id) FROM b"), 1000,
	          "the table is complete");
	cf_s2s_result_free(r);

	/* An upsert pass interrupted, then continued by a plain run: it stays an
	 * upsert pass (regression: it lacked the ON CONFLICT target). */
	cf_ctx_free(ctx);
	ctx = new_ctx();
	n_progress = 0;
	cf_ctx_set_progress(ctx, cancel_after_two, ctx);
	o.is_resume = false;
	o.is_upsert = true;
	st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_ERR_CANCELLED, "an upsert pass is cancelled part-way");
	cf_s2s_result_free(r);
	cf_ctx_free(ctx);
	ctx = new_ctx();
	o.is_upsert = false;
	st = cf_s2s_migrate(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "a plain run continues the interrupted upsert pass");
	CHECK(r && r->n_tables == 1 && strcmp(r->tables[0].mode, "upsert") == 0 &&
	          strcmp(r->tables[0].status, "resumed") == 0,
	      "in upsert mode");
	CHECK_INT(value(q, "s2s_api_tgt", "SELECT count(*) FROM b"), 1000, "no row duplicated or lost");
	cf_s2s_result_free(r);

	st = cf_s2s_cleanup(ctx, &o, &r);
	CHECK(st == CF_OK && r->changes_detected, "cf_s2s_cleanup succeeds");
	cf_s2s_result_free(r);
	cf_s2s_result_free(NULL);
	cf_ctx_free(ctx);
	cf_ctx_free(q);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	const char *work = getenv("CF_TEST_WORK");
	snprintf(dir, sizeof(dir), "%s/s2s-api.XXXXXX", work ? work : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	snprintf(src_url, sizeof(src_url), "host=%s port=%s dbname=s2s_api_src", host, port);
	snprintf(tgt_url, sizeof(tgt_url), "host=%s port=%s dbname=s2s_api_tgt", host, port);
	char path[300];
	snprintf(path, sizeof(path), "%s/map.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs("a:\n  columns: [id, v]\nb:\n  columns: {id: id, v: w}\n", f);
	fclose(f);

	cf_ctx *ctx = cf_ctx_new();
	bool ok = sql(ctx, "postgres", "DROP DATABASE IF EXISTS s2s_api_src") &&
	          sql(ctx, "postgres", "DROP DATABASE IF EXISTS s2s_api_tgt") &&
	          sql(ctx, "postgres", "CREATE DATABASE s2s_api_src") &&
	          sql(ctx, "postgres", "CREATE DATABASE s2s_api_tgt") &&
	          sql(ctx, "s2s_api_src",
	              "CREATE TABLE a (id int PRIMARY KEY, v text);"
	              "INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 500) g;"
	              "CREATE TABLE b (id int PRIMARY KEY, v int);"
	              "INSERT INTO b SELECT g, g FROM generate_series(1, 1000) g; ANALYZE") &&
	          sql(ctx, "s2s_api_tgt",
	              "CREATE TABLE a (id int PRIMARY KEY, v text);"
	              "CREATE TABLE b (id int PRIMARY KEY, w bigint)");
	cf_ctx_free(ctx);
	CHECK(ok, "test databases created");
	if (ok) {
		test_steps_and_hooks();
		test_cancel_and_resume();
	}
	return t_done();
}
