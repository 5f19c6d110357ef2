/* diff and check through the public C API, against a real server: the
 * change list and its counts, a database only read, cf_check's steps, and
 * cf_ctx_cancel from another thread dropping the scratch databases. */
#include "itest.h"
#include "fs.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static char *g_root;

static char *url_of(const char *db)
{
	return cf_asprintf("postgresql://%s@/%s?host=%s&port=%s",
	                   getenv("PGUSER") ? getenv("PGUSER") : "postgres", db, getenv("PGHOST"),
	                   getenv("PGPORT") ? getenv("PGPORT") : "5432");
}

/* How many scratch databases of this process exist (WHERE is "" or a filter
 * of pg_stat_activity's sleeping sessions). */
static long scratch_count(bool sleeping)
{
	char *q = sleeping
	              ? cf_asprintf("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
	                            "AND starts_with(datname, 'cf_scratch_%ld_')", (long)getpid())
	              : cf_asprintf("SELECT count(*) FROM pg_database WHERE starts_with(datname, "
	                            "'cf_scratch_%ld_')", (long)getpid());
	char *n = t_query1("dbname=postgres", q);
	long v = n ? atol(n) : -1;
	free(n);
	free(q);
	return v;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	cf_ctx *ctx = cf_ctx_new();
	char *path = cf_path_join(dir, rel);
	cf_file_write_atomic(ctx, path, text, strlen(text));
	free(path);
	cf_ctx_free(ctx);
}

static void test_diff(void)
{
	char *a = t_newdb("test_diff_api_a"), *b = t_newdb("test_diff_api_b");
	t_exec(a, "CREATE TABLE t (id int)");
	t_exec(b, "CREATE TABLE t (id int, v text); CREATE INDEX t_v ON t (v)");
	char *ua = url_of("test_diff_api_a"), *ub = url_of("test_diff_api_b");
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_load(ctx, g_root, NULL);
	cf_diff_opts o = {.from = ua, .to = ub};
	cf_diff_result *r = NULL;
	cf_status st = cf_diff(ctx, &o, &r);
	CHECK_INT(st, CF_ERR_CHECK, "different schemas: CF_ERR_CHECK");
	CHECK(r && !r->is_equal && r->n_changes == 2, "two changes");
	CHECK(r && r->n_by_hazard[CF_HAZARD_ADDITIVE] == 1 && r->n_by_hazard[CF_HAZARD_LOCK_RISKY] == 1,
	      "counted by hazard: the column is additive, the index on an existing table lock_risky");
	CHECK(cf_last_error_info(ctx) == NULL, "differing is not an error");
	char *script = r ? cf_diff_result_script(r) : NULL;
	CHECK(script && strstr(script, "ALTER TABLE public.t ADD COLUMN v text;"), "the script");
	free(script);
	cf_diff_result_free(r);
	char *n = t_query1(a, "SELECT count(*) FROM pg_class WHERE relname = 't_v'");
	CHECK_STR(n, "0", "the source is only read");
	free(n);

	o.to = ua;
	st = cf_diff(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "a database against itself: CF_OK");
	CHECK(r && r->is_equal && r->n_changes == 0, "equal, no change");
	cf_diff_result_free(r);

	o.to = NULL;
	st = cf_diff(ctx, &o, &r);
	CHECK_INT(st, CF_ERR_USAGE, "no side: CF_ERR_USAGE");
	CHECK(r && r->n_errors == 1, "the error is in the result too");
	cf_diff_result_free(r);
	cf_diff_result_free(NULL);
	cf_ctx_free(ctx);
	free(ua);
	free(ub);
	free(a);
	free(b);
}

static const char *g_scratch;

static cf_status check_project(const char *slow, cf_check_result **out, cf_ctx *ctx)
{
	char *dir = cf_asprintf("%s/p_%s", g_root, slow ? "slow" : "ok");
	write_file(dir, "db/schema/t.sql", "CREATE TABLE t (id int PRIMARY KEY);\n");
	write_file(dir, "db/migrations/001_t.up.sql", "CREATE TABLE t (id int PRIMARY KEY);\n");
	write_file(dir, "db/migrations/001_t.down.sql", "DROP TABLE t;\n");
	if (slow)
		write_file(dir, "db/migrations/002_slow.up.sql", slow);
	cf_ctx_load(ctx, dir, NULL);
	cf_check_opts o = {.scratch_url = g_scratch, .downs = !slow};
	cf_status st = cf_check(ctx, &o, out);
	free(dir);
	return st;
}

static void *cancel_later(void *arg)
{
	cf_ctx *ctx = arg;
	/* Wait until the replay sleeps, then cancel as Ctrl-C would. */
	for (int i = 0; i < 600 && scratch_count(true) < 1; i++)
		usleep(100000);
	cf_ctx_cancel(ctx);
	return NULL;
}

static void test_check(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_check_result *r = NULL;
	cf_status st = check_project(NULL, &r, ctx);
	CHECK_INT(st, CF_OK, "a consistent project: CF_OK");
	CHECK(r && r->success && r->n_failed == 0, "every step passed");
	CHECK(r && r->n_migrations == 1 && strcmp(r->migrations[0].down, "passed") == 0,
	      "the migration's down undoes its up");
	const char *names = "parse,build,replay,drift,downs,lint";
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; r && i < r->n_steps; i++)
		cf_buf_printf(&b, "%s%s", i ? "," : "", r->steps[i].name);
	CHECK_STR(b.data, names, "the steps, in order");
	cf_buf_release(&b);
	cf_check_result_free(r);
	cf_ctx_free(ctx);

	ctx = cf_ctx_new();
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, ctx);
	st = check_project("SELECT pg_sleep(600);\n", &r, ctx);
	pthread_join(t, NULL);
	CHECK_INT(st, CF_ERR_CANCELLED, "cf_ctx_cancel during the replay: CF_ERR_CANCELLED");
	CHECK_INT(scratch_count(false), 0, "no scratch database is left");
	cf_check_result_free(r);
	cf_check_result_free(NULL);
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	char tmpl[] = "/tmp/cfdiffapi.XXXXXX";
	g_root = mkdtemp(tmpl);
	char *scratch = url_of("postgres");
	g_scratch = scratch;
	test_diff();
	test_check();
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, g_root);
	cf_ctx_free(ctx);
	free(scratch);
	return t_failures ? 1 : 0;
}
