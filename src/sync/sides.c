/*
 * sides.c -- both sides' keys, counted while an incremental table's changed
 * rows stream (merge.c).
 *
 * Finding the keys that went reads every key on both sides: on a large table
 * that is most of an incremental run. Each side's count runs on a connection
 * of its own (the source's in the run's snapshot), opened by its own thread,
 * while the worker streams the changed rows, so that the three scans overlap
 * instead of following each other. The target's side reads the table as
 * committed: it runs only when no before_sync_table SQL hook could have
 * changed it in the worker's transaction. A small table, or a side whose
 * connection cannot be opened, is counted on the worker's own connection
 * once the rows are in, as before.
 *
 * Buckets whose sides differ by exactly one key name it (sides_decode_single).
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this many rows, a connection costs more than the overlap saves. */
#define SIDE_MIN_ROWS 50000

static cf_status side_connect(side *s)
{
	runner *R = s->w->R;
	cf_status st = cf_pg_connect(s->ctx, s->is_source ? R->from.conninfo : R->to.conninfo,
	                             &s->pg);
	if (!st)
		st = sync_session_setup(R, s->pg, s->is_source);
	long secs = R->ctx->cfg->sync.table_timeout_s;
	if (!st && secs > 0) {
		char *sql = cf_asprintf("SET statement_timeout = '%lds'", secs);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
	}
	if (!st && s->is_source)
		st = cf_pg_exec(s->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (!st && s->is_source) {
		char *sql = cf_sql_format(s->pg, "SET TRANSACTION SNAPSHOT %L", R->snapshot);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
	}
	return st;
}

/* Whether the side gets a connection of its own (opened by its thread, so
 * that the worker goes straight on to the changed rows). */
static void side_open(side *s, worker *w, const plan_table *t, bool is_source)
{
	runner *R = w->R;
	*s = (side){.w = w, .t = t, .is_source = is_source};
	if (t->est_rows < SIDE_MIN_ROWS || !R->snapshot ||
	    (!is_source && cf_hooks_any(R->ctx, "before_sync_table")))
		return;
	s->wants_conn = true;
	s->ctx = cf_ctx_new();
	cf_ctx_link_cancel(w->ctx, s->ctx);
}

static void side_close(side *s)
{
	if (s->pg) {
		if (s->is_source)
			cf_pg_rollback(s->pg);
		cf_pg_close(s->pg);
	}
	if (s->ctx) {
		cf_ctx_unlink_cancel(s->w->ctx, s->ctx);
		cf_ctx_free(s->ctx);
	}
	free(s->sums);
	memset(s, 0, sizeof(*s));
}

static void side_start(side *s, const delta_buckets *B, long long *counts, uint64_t *sums);
static void cells_arrays(cells *c, long long **counts, uint64_t **sums, bool is_source);

static void *side_main(void *arg)
{
	side *s = arg;
	cf_pg *pg = s->pg ? s->pg : s->is_source ? s->w->src : s->w->dst;
	if (s->plan_B) {
		s->st = delta_buckets_plan(pg, s->t, s->plan_B);
		if (s->st) {
			s->is_done = s->partner->is_done = true;
			return NULL;
		}
		long long *counts;
		uint64_t *sums;
		cells_init(s->plan_c, s->plan_B->n);
		cells_arrays(s->plan_c, &counts, &sums, false);
		side_start(s->partner, s->plan_B, counts, sums);
		cells_arrays(s->plan_c, &s->counts, &s->bucket_sums, true);
		s->B = s->plan_B;
		s->plan_B = NULL;
	}
	s->st = s->B ? delta_bucket_counts(pg, s->t, s->is_source, s->B, s->counts, s->bucket_sums)
	             : delta_key_sums(pg, s->t, s->is_source ? KEYS_SOURCE : KEYS_TARGET, &s->sums);
	if (s->partner && s->partner->is_running) {
		pthread_join(s->partner->th, NULL);
		s->partner->is_running = false;
	}
	s->is_done = true;
	return NULL;
}

/* A side on its own thread: its connection first. Should that fail, the
 * side is left undone, and side_wait counts it on the worker's. */
static void *side_thread(void *arg)
{
	side *s = arg;
	if (!s->pg && side_connect(s)) {
		cf_pg_close(s->pg);
		s->pg = NULL;
		s->wants_conn = false;
		cf_ctx_clear_error(s->ctx);
		return NULL;
	}
	return side_main(s);
}

/* Starts the side's count (bucket counts into COUNTS with B, else key
 * sums): on its own thread when it has a connection, else at side_wait. */
static void side_start(side *s, const delta_buckets *B, long long *counts, uint64_t *sums)
{
	s->B = B;
	s->counts = counts;
	s->bucket_sums = sums;
	free(s->sums);
	s->sums = NULL;
	s->st = CF_OK;
	s->is_done = false;
	s->is_running = s->wants_conn && pthread_create(&s->th, NULL, side_thread, s) == 0;
}

/* The side's count, done; its error, if any, becomes the worker's. */
static cf_status side_wait(side *s)
{
	if (s->is_running)
		pthread_join(s->th, NULL);
	else if (!s->is_done)
		side_main(s);
	s->is_running = false;
	if (s->st && s->ctx)
		cf_error_copy(s->w->ctx, s->ctx);
	return s->st;
}


void cells_init(cells *c, int n)
{
	c->n = n;
	c->src = cf_calloc((size_t)n, sizeof(long long));
	c->diff = cf_calloc((size_t)n, sizeof(long long));
	c->ssum = cf_calloc(2 * (size_t)n, sizeof(uint64_t));
	c->dsum = cf_calloc(2 * (size_t)n, sizeof(uint64_t));
}

static void cells_arrays(cells *c, long long **counts, uint64_t **sums, bool is_source)
{
	*counts = is_source ? c->src : c->diff;
	*sums = is_source ? c->ssum : c->dsum;
}

void cells_release(cells *c)
{
	free(c->src);
	free(c->diff);
	free(c->ssum);
	free(c->dsum);
	memset(c, 0, sizeof(*c));
}

void sides_start(side *sides, const delta_buckets *B, cells *c)
{
	side_start(&sides[0], B, c ? c->src : NULL, c ? c->ssum : NULL);
	side_start(&sides[1], B, c ? c->diff : NULL, c ? c->dsum : NULL);
}

cf_status sides_wait(side *sides)
{
	cf_status a = side_wait(&sides[0]);
	cf_status b = side_wait(&sides[1]);
	return a ? a : b;
}

/* Buckets whose sides differ by exactly one key name it: the difference of
 * their key sums, confirmed by the difference of their hash sums (computed
 * by the server: hashint8 is its own function). Such a key is gone from the
 * source (one more in the target) or missing from the target (one less);
 * it goes into GONE (a bigint[] literal) or MISSING (a text[] literal), and
 * its bucket needs no key-by-key comparison. With deletes scattered over a
 * large table, that is most of the buckets that differ. */
cf_status sides_decode_single(worker *w, const delta_buckets *B, cells *c, char **gone,
                              char **missing)
{
	*gone = *missing = NULL;
	if (!B->is_range)
		return CF_OK;
	cf_buf cand;
	cf_buf_init(&cand);
	for (int k = 0; k < c->n; k++) {
		if (c->diff[k] != 1 && c->diff[k] != -1)
			continue;
		uint64_t ks = c->dsum[2 * k];
		if (c->diff[k] < 0)
			ks = (uint64_t)0 - ks;
		long long lo, hi, key = (long long)ks;
		if (delta_bucket_range(B, k, &lo, &hi) && key >= lo && key <= hi)
			cf_buf_printf(&cand, "%s%lld", cand.len ? "," : "{", key);
	}
	if (!cand.len) {
		cf_buf_release(&cand);
		return CF_OK;
	}
	cf_buf_putc(&cand, '}');
	cf_pgres *r = NULL;
	const char *params[] = {cand.data};
	cf_status st = cf_pg_query(w->dst, "SELECT k, hashint8(k) FROM unnest($1::bigint[]) AS k", 1,
	                           params, &r);
	cf_buf g, m;
	cf_buf_init(&g);
	cf_buf_init(&m);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		long long key = atoll(cf_pgres_get(r, i, 0));
		long long h = atoll(cf_pgres_get(r, i, 1));
		for (int k = 0; k < c->n; k++) {
			long long lo, hi;
			if ((c->diff[k] != 1 && c->diff[k] != -1) || !delta_bucket_range(B, k, &lo, &hi) ||
			    key < lo || key > hi)
				continue;
			bool is_gone = c->diff[k] > 0;
			uint64_t hs = c->dsum[2 * k + 1], ks = c->dsum[2 * k];
			if (!is_gone) {
				hs = (uint64_t)0 - hs;
				ks = (uint64_t)0 - ks;
			}
			if ((long long)ks != key || (long long)hs != h)
				break;
			cf_buf *to = is_gone ? &g : &m;
			cf_buf_printf(to, "%s%lld", to->len ? "," : "{", key);
			c->diff[k] = 0;
			break;
		}
	}
	cf_pgres_free(r);
	cf_buf_release(&cand);
	if (g.len) {
		cf_buf_putc(&g, '}');
		*gone = g.data;
	} else {
		cf_buf_release(&g);
	}
	if (m.len) {
		cf_buf_putc(&m, '}');
		*missing = m.data;
	} else {
		cf_buf_release(&m);
	}
	return st;
}


void sides_open(side *sides, worker *w, const plan_table *t)
{
	side_open(&sides[0], w, t, true);
	side_open(&sides[1], w, t, false);
}

cf_status sides_start_buckets(side *sides, delta_buckets *B, cells *c)
{
	if (sides[0].wants_conn && sides[1].wants_conn) {
		/* The source's side samples the buckets' bounds too. */
		sides[0].plan_B = B;
		sides[0].plan_c = c;
		sides[0].partner = &sides[1];
		side_start(&sides[0], NULL, NULL, NULL);
		return CF_OK;
	}
	cf_status st = delta_buckets_plan(sides[0].w->src, sides[0].t, B);
	if (!st) {
		cells_init(c, B->n);
		sides_start(sides, B, c);
	}
	return st;
}

void sides_close(side *sides)
{
	/* After a failure, sides may still run: the source's first (it waits
	 * for a partner it started). */
	for (int i = 0; i < 2; i++)
		if (sides[i].is_running) {
			pthread_join(sides[i].th, NULL);
			sides[i].is_running = false;
		}
	side_close(&sides[0]);
	side_close(&sides[1]);
}
