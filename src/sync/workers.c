/*
 * workers.c -- the threads that copy the run's items. With --jobs 1 the
 * coordinator's connections do the work; with more, each worker opens its own
 * pair and imports the source snapshot the coordinator exported, so every
 * table is read as of one instant. The first failure stops everyone: their
 * running statements are cancelled.
 */
#include "sync.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static work_item *next_item(runner *R)
{
	work_item *it = NULL;
	pthread_mutex_lock(&R->mu);
	while (R->next_item < R->n_items && !it) {
		work_item *c = &R->items[R->next_item++];
		if (!c->is_done)
			it = c;
	}
	pthread_mutex_unlock(&R->mu);
	return it;
}

/* The first failure stops every worker: their statements are cancelled. */
static void runner_fail(runner *R)
{
	if (atomic_exchange(&R->stop, true))
		return;
	pthread_mutex_lock(&R->mu);
	for (long i = 0; R->workers && i < R->jobs; i++) {
		worker *w = &R->workers[i];
		if (!w->owns_conns)
			continue;
		if (w->src)
			cf_pg_cancel_shared(w->src);
		if (w->dst)
			cf_pg_cancel_shared(w->dst);
	}
	pthread_mutex_unlock(&R->mu);
}

static cf_status worker_connect(worker *w)
{
	runner *R = w->R;
	cf_pg *src = NULL, *dst = NULL;
	cf_status st = cf_pg_connect(R->ctx, R->from.conninfo, &src);
	if (!st)
		st = cf_pg_connect(R->ctx, R->to.conninfo, &dst);
	if (!st)
		st = sync_session_setup(R, src, true);
	if (!st)
		st = sync_session_setup(R, dst, false);
	if (!st)
		st = cf_pg_exec(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (!st) {
		char *sql = cf_sql_format(src, "SET TRANSACTION SNAPSHOT %L", R->snapshot);
		st = cf_pg_exec(src, sql);
		free(sql);
	}
	pthread_mutex_lock(&R->mu);
	w->src = src;
	w->dst = dst;
	pthread_mutex_unlock(&R->mu);
	return st;
}

static void worker_disconnect(worker *w)
{
	runner *R = w->R;
	pthread_mutex_lock(&R->mu);
	cf_pg *src = w->src, *dst = w->dst;
	w->src = w->dst = NULL;
	pthread_mutex_unlock(&R->mu);
	if (src)
		cf_pg_rollback(src);
	cf_pg_close(src);
	cf_pg_close(dst);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	runner *R = w->R;
	cf_status st = w->owns_conns ? worker_connect(w) : CF_OK;
	while (!st && !atomic_load(&R->stop) && !cf_ctx_is_cancelled(R->ctx)) {
		work_item *it = next_item(R);
		if (!it)
			break;
		st = copy_item(w, it);
	}
	if (!st && cf_ctx_is_cancelled(R->ctx))
		st = cf_error_set(R->ctx, CF_ERR_CANCELLED, "interrupted");
	if (st)
		runner_fail(R);
	if (w->owns_conns)
		worker_disconnect(w);
	w->status = st;
	return NULL;
}

cf_status sync_run_workers(runner *R)
{
	R->workers = cf_calloc((size_t)R->jobs + 1, sizeof(worker));
	if (R->jobs == 1) {
		worker *w = &R->workers[0];
		*w = (worker){.R = R, .src = R->src, .dst = R->dst};
		worker_main(w);
		return w->status;
	}
	long started = 0;
	for (long i = 0; i < R->jobs; i++) {
		worker *w = &R->workers[i];
		*w = (worker){.R = R, .id = (int)i, .owns_conns = true};
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			cf_error_set(R->ctx, CF_ERR_INTERNAL, "could not start a worker thread");
			runner_fail(R);
			break;
		}
		started++;
	}
	cf_status st = CF_OK;
	for (long i = 0; i < started; i++) {
		pthread_join(R->workers[i].thread, NULL);
		if (!st)
			st = R->workers[i].status;
	}
	if (!st && started < R->jobs)
		st = CF_ERR_INTERNAL;
	/* The first error recorded is the one to report. */
	return st ? (cf_error_code(R->ctx) ? cf_error_code(R->ctx) : st) : CF_OK;
}

