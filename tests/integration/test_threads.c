/* Integration: one cf_ctx per thread, all working at once. */
#include "itest.h"
#include "error.h"
#include "sqlparse.h"

#include <pthread.h>

enum { N_THREADS = 8, ROUNDS = 20 };

static char *db;

typedef struct worker {
	int id;
	int ok;
	int hook_calls;
} worker;

static int count_hook(void *ud, const cf_hook_event *ev)
{
	(void)ev;
	((worker *)ud)->hook_calls++;
	return 0;
}

static void *work(void *arg)
{
	worker *w = arg;
	cf_ctx *ctx = cf_ctx_new();
	cf_hook_register(ctx, "after_build", count_hook, w);
	char sql[256];
	for (int i = 0; i < ROUNDS; i++) {
		cf_pg *pg = NULL;
		if (cf_pg_connect(ctx, db, &pg) != CF_OK)
			break;
		snprintf(sql, sizeof(sql), "SELECT %d + %d", w->id, i);
		char *v = NULL;
		cf_pg_query_value(pg, sql, 0, NULL, &v);
		if (v && atoi(v) == w->id + i)
			w->ok++;
		free(v);
		cf_pg_close(pg);
		/* libpg_query keeps per-thread state; parse in every thread at once. */
		snprintf(sql, sizeof(sql), "CREATE TABLE t%d_%d (a int); SELECT 1,, 2;", w->id, i);
		cf_script *s = NULL;
		if (cf_script_parse(ctx, "x.sql", sql, strlen(sql), &s) == CF_ERR_SCHEMA &&
		    cf_last_error_info(ctx)->line == 1)
			w->ok++;
		cf_ctx_clear_error(ctx);
		cf_script_free(s);
		cf_hooks_test(ctx, "after_build");
	}
	cf_ctx_free(ctx);
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	db = t_newdb("itest_threads");
	pthread_t t[N_THREADS];
	worker w[N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		w[i] = (worker){.id = i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	int ok = 0, hooks = 0;
	for (int i = 0; i < N_THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		hooks += w[i].hook_calls;
	}
	CHECK_INT(ok, N_THREADS * ROUNDS * 2, "every query and parse right in 8 concurrent contexts");
	CHECK_INT(hooks, N_THREADS * ROUNDS, "every context's own hooks fired, and only its own");
	free(db);
	return t_done();
}
