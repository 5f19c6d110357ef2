/*
 * workers.c -- the threads that copy the run's items.
 *
 * Each worker is a thread with its own connection pair and its own context
 * for errors: its source connection imports the snapshot the coordinator
 * exported, so every table is read as of one instant, and a worker's
 * failure can be judged (transient or not) without another worker's error
 * in the way. The coordinator thread watches: Ctrl-C on the run's context is
 * passed on to every worker's context.
 *
 * An item that fails for a transient reason (a lost connection, a
 * serialization failure, a deadlock, an administrator's shutdown or
 * pg_terminate_backend, a server not yet accepting connections) has already
 * been rolled back by copy_item; it runs again after an exponential backoff
 * with jitter, up to sync.retries times, on fresh connections where the old
 * ones broke. Any other failure, or the last attempt's, stops the run: the
 * first worker to fail moves its error into the run's context and cancels
 * the others. With --continue-on-error, the failed table is recorded
 * instead (its progress item "failed", for --resume) and the others go on.
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void cancel_worker(worker *w)
{
	if (w->src)
		cf_pg_cancel_shared(w->src);
	if (w->dst)
		cf_pg_cancel_shared(w->dst);
}

/* The first failure stops every worker: its error becomes the run's, and
 * the others' statements are cancelled. */
static void runner_fail(runner *R, worker *failed)
{
	if (atomic_exchange(&R->stop, true))
		return;
	if (failed && cf_error_is_set(failed->ctx))
		cf_error_copy(R->ctx, failed->ctx); /* the first one recorded stays */
	pthread_mutex_lock(&R->mu);
	for (long i = 0; R->workers && i < R->jobs; i++)
		if (&R->workers[i] != failed)
			cancel_worker(&R->workers[i]);
	pthread_mutex_unlock(&R->mu);
}

static void drop_conn(worker *w, cf_pg **pg)
{
	runner *R = w->R;
	pthread_mutex_lock(&R->mu);
	cf_pg *old = *pg;
	*pg = NULL;
	pthread_mutex_unlock(&R->mu);
	if (old && old == w->src)
		cf_pg_rollback(old);
	cf_pg_close(old);
}

/* sync.table_timeout_s bounds each statement of a table: its COPY on both
 * sides, its index builds. */
static cf_status set_timeout(runner *R, cf_pg *pg)
{
	long s = R->ctx->cfg->sync.table_timeout_s;
	if (s <= 0)
		return CF_OK;
	char *sql = cf_asprintf("SET statement_timeout = '%lds'", s);
	cf_status st = cf_pg_exec(pg, sql);
	free(sql);
	return st;
}

static cf_status connect_src(worker *w)
{
	runner *R = w->R;
	cf_pg *src = NULL;
	cf_status st = cf_pg_connect(w->ctx, R->from.conninfo, &src);
	if (!st)
		st = sync_session_setup(R, src, true);
	if (!st)
		st = set_timeout(R, src);
	if (!st)
		st = cf_pg_exec(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (!st) {
		char *sql = cf_sql_format(src, "SET TRANSACTION SNAPSHOT %L", R->snapshot);
		st = cf_pg_exec(src, sql);
		free(sql);
	}
	pthread_mutex_lock(&R->mu);
	w->src = src;
	pthread_mutex_unlock(&R->mu);
	return st;
}

static cf_status connect_dst(worker *w)
{
	runner *R = w->R;
	cf_pg *dst = NULL;
	cf_status st = cf_pg_connect(w->ctx, R->to.conninfo, &dst);
	if (!st)
		st = sync_session_setup(R, dst, false);
	if (!st)
		st = set_timeout(R, dst);
	pthread_mutex_lock(&R->mu);
	w->dst = dst;
	pthread_mutex_unlock(&R->mu);
	return st;
}

/* Connections that broke are replaced; working ones are kept. */
static cf_status ensure_conns(worker *w)
{
	if (w->src && cf_pg_is_bad(w->src))
		drop_conn(w, &w->src);
	if (w->dst && cf_pg_is_bad(w->dst))
		drop_conn(w, &w->dst);
	cf_status st = w->src ? CF_OK : connect_src(w);
	if (!st && !w->dst)
		st = connect_dst(w);
	return st;
}

/* ---- Retries -------------------------------------------------------------------------- */

static bool is_transient_state(const char *s)
{
	return s && (strncmp(s, "08", 2) == 0 ||      /* connection exception */
	             strcmp(s, "40001") == 0 ||       /* serialization_failure */
	             strcmp(s, "40P01") == 0 ||       /* deadlock_detected */
	             strcmp(s, "57P01") == 0 ||       /* admin_shutdown */
	             strcmp(s, "57P02") == 0 ||       /* crash_shutdown */
	             strcmp(s, "57P03") == 0);        /* cannot_connect_now */
}

static bool is_transient(worker *w, cf_status st)
{
	if (st == CF_ERR_CANCELLED || atomic_load(&w->R->stop) || cf_ctx_is_cancelled(w->ctx))
		return false;
	if (!cf_error_is_set(w->ctx))
		return false; /* the run's context holds it: a hook, not the copy */
	if (st == CF_ERR_CONNECT || is_transient_state(cf_error_sqlstate_get(w->ctx)))
		return true;
	return (w->src && cf_pg_is_bad(w->src)) || (w->dst && cf_pg_is_bad(w->dst));
}

/* Exponential backoff with full jitter: about 0.5 s, 1 s, 2 s ... (capped). */
static double backoff_s(int attempt)
{
	double cap = 0.5 * pow(2.0, attempt - 1);
	if (cap > 30)
		cap = 30;
	unsigned char r[4];
	cf_random_bytes(r, sizeof(r));
	double u = (double)((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3]) /
	           4294967296.0;
	return cap / 2 + u * cap / 2;
}

/* Sleeps S seconds, waking early when the run stops. */
static void nap(runner *R, worker *w, double s)
{
	double end = cf_now() + s;
	while (cf_now() < end && !atomic_load(&R->stop) && !cf_ctx_is_cancelled(w->ctx)) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void announce_retry(worker *w, work_item *it, int attempt, int max, double delay)
{
	runner *R = w->R;
	plan_table *t = it->t;
	const char *why = cf_last_error(w->ctx);
	char *key = plan_item_key(t, it->range);
	cf_log_warning(R->ctx, "retrying \"%s\" in %.1f s (attempt %d of %d) after a transient "
	               "failure: %s", key, delay, attempt, max, why);
	cf_prog_retry(R->prog, t->st->qname, it->range >= 0 ? key : NULL, attempt, max, delay, why);
	pthread_mutex_lock(&R->mu);
	t->retries++;
	pthread_mutex_unlock(&R->mu);
	free(key);
}

/* Runs IT until it succeeds, fails for good, or its retries run out. */
static cf_status run_item(worker *w, work_item *it)
{
	runner *R = w->R;
	int max = (int)R->retries + 1;
	for (int attempt = 1;; attempt++) {
		cf_status st = ensure_conns(w);
		if (!st)
			st = it->t->mode == TM_INCREMENTAL ? merge_item(w, it) : copy_item(w, it);
		if (!st)
			return st;
		bool again = attempt < max && is_transient(w, st);
		/* The source's transaction may have been left aborted (its COPY
		 * cancelled half-way): the next attempt, or item, gets a fresh one
		 * in the same snapshot. */
		drop_conn(w, &w->src);
		if (!again)
			return st;
		double delay = backoff_s(attempt);
		announce_retry(w, it, attempt + 1, max, delay);
		cf_ctx_clear_error(w->ctx);
		nap(R, w, delay);
		if (atomic_load(&R->stop) || cf_ctx_is_cancelled(w->ctx))
			return cf_error_set(w->ctx, CF_ERR_CANCELLED, "interrupted");
	}
}

/* ---- Failed tables (--continue-on-error) -------------------------------------------------- */

static void record_failed(worker *w, work_item *it)
{
	runner *R = w->R;
	plan_table *t = it->t;
	char *key = plan_item_key(t, it->range);
	const char *why = cf_last_error(w->ctx);
	pthread_mutex_lock(&R->mu);
	if (!t->is_failed) {
		t->is_failed = true;
		t->error = cf_strdup(why);
	}
	pthread_mutex_unlock(&R->mu);
	cf_log_warning(R->ctx, "could not copy \"%s\", going on (--continue-on-error): %s", key, why);
	cf_ctx_clear_error(w->ctx);
	/* The progress item says "failed": --resume copies it again. */
	if (ensure_conns(w) == CF_OK) {
		const char *params[] = {R->run_id, key};
		cf_pg_exec_params(w->dst, "UPDATE confiture.sync_progress SET state = 'failed', "
		                  "finished_at = now() WHERE run_id = $1 AND item = $2", 2, params);
	}
	cf_ctx_clear_error(w->ctx);
	free(key);
}

static bool may_go_on(worker *w, cf_status st)
{
	runner *R = w->R;
	return R->o->continue_on_error && st != CF_ERR_CANCELLED && !atomic_load(&R->stop) &&
	       !cf_ctx_is_cancelled(w->ctx) && !cf_ctx_is_cancelled(R->ctx) &&
	       cf_error_is_set(w->ctx);
}

/* ---- Threads ------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	worker *w = arg;
	runner *R = w->R;
	cf_status st = CF_OK;
	while (!atomic_load(&R->stop) && !cf_ctx_is_cancelled(w->ctx)) {
		work_item *it = next_item(R);
		if (!it)
			break;
		st = run_item(w, it);
		if (st && may_go_on(w, st)) {
			record_failed(w, it);
			st = CF_OK;
		}
		if (st)
			break;
	}
	if (!st && cf_ctx_is_cancelled(w->ctx))
		st = cf_error_set(w->ctx, CF_ERR_CANCELLED, "interrupted");
	if (st)
		runner_fail(R, w);
	drop_conn(w, &w->src);
	drop_conn(w, &w->dst);
	w->status = st;
	return NULL;
}

/* The coordinator's watch: Ctrl-C on the run reaches every worker. It
 * wakes as soon as the last worker ends (a short incremental run would
 * otherwise wait out the rest of a polling interval), and every 50 ms to
 * look for Ctrl-C. */
static void watch(runner *R, long started)
{
	bool passed_on = false;
	pthread_mutex_lock(&R->mu);
	for (;;) {
		long running = 0;
		for (long i = 0; i < started; i++)
			running += !atomic_load(&R->workers[i].is_done);
		if (!running)
			break;
		if (!passed_on && cf_ctx_is_cancelled(R->ctx)) {
			passed_on = true;
			pthread_mutex_unlock(&R->mu);
			for (long i = 0; i < started; i++)
				cf_ctx_cancel(R->workers[i].ctx);
			pthread_mutex_lock(&R->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&R->worker_done, &R->mu, &ts);
	}
	pthread_mutex_unlock(&R->mu);
}

static void *worker_thread(void *arg)
{
	worker *w = arg;
	worker_main(w);
	pthread_mutex_lock(&w->R->mu);
	atomic_store(&w->is_done, true);
	pthread_cond_broadcast(&w->R->worker_done);
	pthread_mutex_unlock(&w->R->mu);
	return NULL;
}

cf_status sync_run_workers(runner *R)
{
	R->workers = cf_calloc((size_t)R->jobs + 1, sizeof(worker));
	long started = 0;
	for (long i = 0; i < R->jobs; i++) {
		worker *w = &R->workers[i];
		*w = (worker){.R = R, .id = (int)i, .ctx = cf_ctx_new()};
		atomic_init(&w->is_done, false);
		if (pthread_create(&w->thread, NULL, worker_thread, w) != 0) {
			cf_ctx_free(w->ctx);
			w->ctx = NULL;
			cf_error_set(R->ctx, CF_ERR_INTERNAL, "could not start a worker thread");
			runner_fail(R, NULL);
			break;
		}
		started++;
	}
	watch(R, started);
	cf_status st = CF_OK;
	for (long i = 0; i < started; i++) {
		pthread_join(R->workers[i].thread, NULL);
		if (!st)
			st = R->workers[i].status;
		cf_ctx_free(R->workers[i].ctx);
		R->workers[i].ctx = NULL;
	}
	if (!st && started < R->jobs)
		st = CF_ERR_INTERNAL;
	if (!st && cf_ctx_is_cancelled(R->ctx))
		st = cf_error_set(R->ctx, CF_ERR_CANCELLED, "interrupted");
	/* The first error recorded is the one to report. */
	return st ? (cf_error_code(R->ctx) ? cf_error_code(R->ctx) : st) : CF_OK;
}
