/* Integration: cf_sync and cf_sync_history_list through the library API,
 * against the test server: result structs, logger and hook callbacks,
 * parallel workers with split tables, failures with their error lists. */
#include "unit/t.h"
#include "pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *url(const char *db)
{
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	char *u = malloc(512);
	snprintf(u, 512, "postgresql://postgres@/%s?host=%s&port=%s", db, host ? host : "/tmp",
	         port ? port : "5432");
	return u;
}

static void sql(cf_ctx *ctx, const char *db, const char *text)
{
	char *u = url(db);
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, u, &pg) == CF_OK) {
		if (cf_pg_exec(pg, text) != CF_OK)
			printf("    sql failed: %s\n", cf_last_error(ctx));
		cf_pg_close(pg);
	} else {
		printf("    connect failed: %s\n", cf_last_error(ctx));
	}
	free(u);
}

static char *value(cf_ctx *ctx, const char *db, const char *text)
{
	char *u = url(db), *v = NULL;
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, u, &pg) == CF_OK) {
		cf_pg_query_value(pg, text, 0, NULL, &v);
		cf_pg_close(pg);
	}
	free(u);
	return v;
}

typedef struct seen {
	pthread_mutex_t mu;
	int n_logs;
	int after_table;
	long long rows;
	char events[1024];
} seen;

static void logger(void *ud, cf_log_level level, const char *msg)
{
	seen *s = ud;
	(void)level;
	(void)msg;
	pthread_mutex_lock(&s->mu);
	s->n_logs++;
	pthread_mutex_unlock(&s->mu);
}

static int hook(void *ud, const cf_hook_event *ev)
{
	seen *s = ud;
	pthread_mutex_lock(&s->mu);
	if (strcmp(ev->event, "after_sync_table") == 0) {
		s->after_table++;
		s->rows += ev->rows;
	}
	size_t n = strlen(s->events);
	snprintf(s->events + n, sizeof(s->events) - n, "%s%s", n ? "," : "", ev->event);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static const char SCHEMA[] =
	"CREATE TABLE a (id int PRIMARY KEY, email text);"
	"CREATE TABLE b (id bigint PRIMARY KEY, a_id int REFERENCES a(id), v text);";

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	cf_ctx *ctx = cf_ctx_new();
	const char *src = "integration_test_sync_api_src", *dst = "integration_test_sync_api_dst";
	char drop_src[128], drop_dst[128];
	snprintf(drop_src, sizeof(drop_src), "DROP DATABASE IF EXISTS %s", src);
	snprintf(drop_dst, sizeof(drop_dst), "DROP DATABASE IF EXISTS %s", dst);
	sql(ctx, "postgres", drop_src);
	sql(ctx, "postgres", drop_dst);
	char create[256];
	snprintf(create, sizeof(create), "CREATE DATABASE %s", src);
	sql(ctx, "postgres", create);
	snprintf(create, sizeof(create), "CREATE DATABASE %s", dst);
	sql(ctx, "postgres", create);
	sql(ctx, src, SCHEMA);
	sql(ctx, dst, SCHEMA);
	sql(ctx, src, "INSERT INTO a SELECT g, 'p' || g || '@x.example' FROM generate_series(1, 300) g;"
	              "INSERT INTO b SELECT g, 1 + g % 300, 'v' || g FROM generate_series(1, 5000) g; ANALYZE");

	char dir[] = "/tmp/cf_sync_api_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp project");
	char rules[512];
	snprintf(rules, sizeof(rules), "%s/rules.yaml", dir);
	FILE *f = fopen(rules, "w");
	fputs("a:\n  - {column: email, strategy: email}\n", f);
	fclose(f);
	setenv("CONFITURE_ANON_KEY", "api-test-key-0123456789abcdef", 1);
	CHECK_INT(cf_ctx_load(ctx, dir, NULL), CF_OK, "load an empty project");

	seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	cf_ctx_set_logger(ctx, logger, &s);
	CHECK_INT(cf_hook_register(ctx, "*", hook, &s), CF_OK, "register a hook callback");

	char *from = url(src), *to = url(dst);
	cf_sync_opts o = {.from = from, .to = to, .rules_file = rules, .jobs = 3, .split_rows = 1000,
	                  .verify = true};
	cf_sync_result *r = NULL;
	cf_status st = cf_sync(ctx, &o, &r);
	CHECK_INT(st, CF_OK, "cf_sync with 3 workers and split tables");
	if (st)
		printf("    %s\n", cf_last_error(ctx));
	CHECK(r && r->success && r->is_anonymized && r->is_verified, "result: success, anonymized, verified");
	CHECK_INT(r ? r->n_tables : 0, 2, "result: two tables");
	CHECK_INT(r ? r->rows : 0, 5300, "result: rows");
	CHECK(r && r->bytes > 0 && r->duration_s > 0 && r->run_id && strlen(r->run_id) == 36,
	      "result: bytes, duration, run id");
	CHECK(r && strcmp(r->tables[0].name, "public.a") == 0 && strcmp(r->tables[1].name, "public.b") == 0,
	      "result: parents first");
	CHECK(r && r->tables[1].n_ranges > 1 && r->tables[1].rows == 5000, "result: b was split and complete");
	CHECK(r && r->tables[0].n_masked == 1 && strcmp(r->tables[0].masked[0], "email: email") == 0,
	      "result: masked columns");
	CHECK_INT(s.after_table, 2, "after_sync_table fired once per table (split too)");
	CHECK_INT(s.rows, 5300, "with the table's rows");
	size_t el = strlen(s.events);
	CHECK(strncmp(s.events, "before_sync,", 12) == 0 && el > 11 &&
	      strcmp(s.events + el - 11, ",after_sync") == 0,
	      "before_sync first, after_sync last (%s)", s.events);
	CHECK(s.n_logs > 0, "the logger was called");
	char *n = value(ctx, dst, "SELECT count(*) FROM b");
	CHECK_STR(n, "5000", "rows in the target");
	free(n);
	n = value(ctx, dst, "SELECT count(*) FROM a WHERE email LIKE 'p%@x.example'");
	CHECK_STR(n, "0", "emails masked in the target");
	free(n);
	cf_sync_result_free(r);

	cf_sync_history *h = NULL;
	CHECK_INT(cf_sync_history_list(ctx, to, 0, &h), CF_OK, "cf_sync_history_list");
	CHECK(h && h->n_runs == 1 && strcmp(h->runs[0].outcome, "success") == 0 && h->runs[0].rows == 5300 &&
	      h->runs[0].n_tables == 2 && h->runs[0].is_anonymized, "history: one successful run");
	cf_sync_history_free(h);

	/* A failure: the result is filled too, with the error list. */
	sql(ctx, dst, "ALTER TABLE b DROP COLUMN v");
	r = NULL;
	cf_sync_opts bad = {.from = from, .to = to};
	st = cf_sync(ctx, &bad, &r);
	CHECK_INT(st, CF_ERR_VALIDATION, "a column mismatch is CF_ERR_VALIDATION");
	CHECK(r && !r->success && r->n_errors == 1 && r->errors[0].code == CF_ERR_VALIDATION,
	      "result: not a success, one error");
	CHECK(r && r->n_issues == 1 && strcmp(r->issues[0].kind, "missing_in_target") == 0 &&
	      strcmp(r->issues[0].column, "v") == 0, "result: the issue names the column");
	cf_sync_result_free(r);
	cf_sync_result_free(NULL);
	cf_sync_history_free(NULL);

	r = NULL;
	cf_sync_opts none = {0};
	CHECK_INT(cf_sync(ctx, &none, &r), CF_ERR_USAGE, "no --from/--to is a usage error");
	cf_sync_result_free(r);

	free(from);
	free(to);
	unlink(rules);
	rmdir(dir);
	cf_ctx_clear_error(ctx);
	sql(ctx, "postgres", drop_src);
	sql(ctx, "postgres", drop_dst);
	cf_ctx_free(ctx);
	return t_done();
}
