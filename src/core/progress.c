/* progress.c -- the progress tracker: counts, percent, rates, ETA, heartbeat. */
#include "progress.h"
#include "buf.h"
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* UPDATE reports about one item (or the run's phase) come at most this often. */
#define THROTTLE_S 0.2
/* A running percentage never reads 100 before the work is done: estimates
 * can be short. */
#define PERCENT_CAP 99.9

/* What one part of an item reported so far, as totals. */
typedef struct ppart {
	char *name;             /* NULL: the item as a whole */
	long long units, rows, bytes;
	struct ppart *next;
} ppart;

typedef struct pitem {
	char *name;
	ppart *parts;
	const char *phase;      /* a literal */
	long long done, total;
	long long skipped;      /* units done by an earlier run: not in rates */
	long long rows, bytes;
	double t0, last;
	struct pitem *next;
} pitem;

struct cf_prog {
	cf_ctx *ctx;
	const char *medium, *unit, *item_kind;
	char run_id[37];
	pthread_mutex_t mu;
	bool has_started, has_ended;
	double t0;              /* the tracker's creation */
	double work_t0;         /* the first item's beginning; rates count from here */
	long n_items, items_done;
	long long units_total, units_done, units_skipped;
	long long rows, bytes;
	const char *phase;
	long phase_done, phase_total;
	double phase_last;
	pitem *items;
	double last_emit;
	/* heartbeat */
	bool has_ticker, stop;
	pthread_t ticker;
	pthread_cond_t cv;
};

/* ---- Computing -------------------------------------------------------------------- */

static double clamp_percent(double v)
{
	return v < 0 ? 0 : v > PERCENT_CAP ? PERCENT_CAP : v;
}

static double run_percent(const cf_prog *p)
{
	if (p->units_total > 0)
		return clamp_percent(100.0 * (double)p->units_done / (double)p->units_total);
	if (p->n_items > 0)
		return clamp_percent(100.0 * (double)p->items_done / (double)p->n_items);
	return p->n_items == 0 && p->units_total == 0 ? 0 : -1;
}

/* Rates count only this run's work, from the first item on. */
static double run_seconds(const cf_prog *p, double now)
{
	return p->work_t0 > 0 ? now - p->work_t0 : 0;
}

static double per_s(long long n, double secs)
{
	return secs > 0 ? (double)n / secs : -1;
}

static double eta(long long left, double rate)
{
	return left > 0 && rate > 0 ? (double)left / rate : -1;
}

static void fill_item(cf_progress *r, const pitem *it, double now)
{
	r->item = it->name;
	if (it->phase)
		r->phase = it->phase;
	r->rows = it->rows;
	r->bytes = it->bytes;
	r->item_done = it->done;
	r->item_total = it->total;
	r->item_elapsed_s = now - it->t0;
	r->item_rate = per_s(it->done - it->skipped, r->item_elapsed_s);
	r->item_percent = it->total > 0 ? clamp_percent(100.0 * (double)it->done / (double)it->total)
	                                : -1;
	r->item_eta_s = it->total >= 0 ? eta(it->total - it->done, r->item_rate) : -1;
}

/* A snapshot of the run (and of IT when not NULL). Called under p->mu. */
static void snapshot(const cf_prog *p, cf_progress_kind kind, const pitem *it, cf_progress *r)
{
	double now = cf_now();
	*r = (cf_progress){.kind = kind, .run_id = p->run_id, .medium = p->medium,
	                   .unit = p->unit, .item_kind = p->item_kind, .phase = p->phase,
	                   .done = p->items_done, .total = p->n_items,
	                   .rows = p->rows, .bytes = p->bytes, .elapsed_s = now - p->t0,
	                   .units_done = p->units_done, .units_total = p->units_total,
	                   .run_rows = p->rows, .run_bytes = p->bytes,
	                   .phase_done = p->phase_done, .phase_total = p->phase_total,
	                   .item_done = -1, .item_total = -1, .item_percent = -1,
	                   .item_rate = -1, .item_eta_s = -1, .item_elapsed_s = -1,
	                   .finished = kind == CF_PROGRESS_ITEM_DONE || kind == CF_PROGRESS_DONE};
	double secs = run_seconds(p, now);
	r->percent = run_percent(p);
	r->rate = per_s(p->units_done - p->units_skipped, secs);
	r->rows_per_s = per_s(p->rows, secs);
	r->eta_s = p->units_total >= 0 ? eta(p->units_total - p->units_done, r->rate) : -1;
	if (it)
		fill_item(r, it, now);
}

static void emit(cf_prog *p, cf_progress *r)
{
	p->last_emit = cf_now();
	cf_progress_emit(p->ctx, r);
}

static void emit_kind(cf_prog *p, cf_progress_kind kind, const pitem *it)
{
	cf_progress r;
	snapshot(p, kind, it, &r);
	emit(p, &r);
}

/* START goes first, whatever the medium reports first. Under p->mu. */
static bool ensure_started(cf_prog *p)
{
	if (!cf_progress_enabled(p->ctx) || p->has_ended)
		return false;
	if (!p->has_started) {
		p->has_started = true;
		emit_kind(p, CF_PROGRESS_START, NULL);
	}
	return true;
}

static pitem *find_item(cf_prog *p, const char *name)
{
	for (pitem *it = p->items; it; it = it->next)
		if (strcmp(it->name, name) == 0)
			return it;
	return NULL;
}

static void free_item(pitem *it)
{
	while (it->parts) {
		ppart *pt = it->parts;
		it->parts = pt->next;
		free(pt->name);
		free(pt);
	}
	free(it->name);
	free(it);
}

/* ---- Heartbeat ---------------------------------------------------------------------- */

static void *ticker_main(void *arg)
{
	cf_prog *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(CF_PROG_HEARTBEAT_S * 1e9 / 4);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		int rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (p->stop || (rc != 0 && rc != ETIMEDOUT))
			continue;
		if (p->has_started && !p->has_ended && cf_now() - p->last_emit >= CF_PROG_HEARTBEAT_S) {
			/* The oldest open item is the one most likely to be stuck. */
			pitem *it = p->items;
			while (it && it->next)
				it = it->next;
			emit_kind(p, CF_PROGRESS_UPDATE, it);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- Lifecycle ----------------------------------------------------------------------- */

cf_prog *cf_prog_new(cf_ctx *ctx, const char *medium, const char *unit, const char *item_kind)
{
	cf_prog *p = cf_calloc(1, sizeof(*p));
	p->ctx = ctx;
	p->medium = medium;
	p->unit = unit;
	p->item_kind = item_kind;
	cf_uuid_v4(p->run_id);
	p->t0 = cf_now();
	p->last_emit = p->t0;
	p->n_items = -1;
	p->units_total = -1;
	p->phase_done = p->phase_total = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (cf_progress_enabled(ctx))
		p->has_ticker = pthread_create(&p->ticker, NULL, ticker_main, p) == 0;
	return p;
}

void cf_prog_free(cf_prog *p, bool is_ok)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->has_ticker)
		pthread_join(p->ticker, NULL);
	if (p->has_started && !p->has_ended && cf_progress_enabled(p->ctx)) {
		cf_progress r;
		snapshot(p, CF_PROGRESS_DONE, NULL, &r);
		r.is_ok = is_ok;
		if (is_ok) {
			r.percent = 100;
			r.eta_s = 0;
		}
		r.phase = NULL;
		emit(p, &r);
	}
	while (p->items) {
		pitem *it = p->items;
		p->items = it->next;
		free_item(it);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

const char *cf_prog_run_id(const cf_prog *p)
{
	return p ? p->run_id : "";
}

void cf_prog_plan(cf_prog *p, long n_items, long long n_units)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->n_items = n_items;
	p->units_total = n_units;
	ensure_started(p);
	pthread_mutex_unlock(&p->mu);
}

/* ---- Phases ---------------------------------------------------------------------------- */

void cf_prog_phase(cf_prog *p, const char *phase, long total)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	bool on = ensure_started(p);
	p->phase = phase;
	p->phase_done = total >= 0 ? 0 : -1;
	p->phase_total = total;
	p->phase_last = cf_now();
	if (on)
		emit_kind(p, CF_PROGRESS_PHASE, NULL);
	pthread_mutex_unlock(&p->mu);
}

void cf_prog_phase_step(cf_prog *p, long done)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->phase_done = done;
	double now = cf_now();
	if (now - p->phase_last >= THROTTLE_S && ensure_started(p)) {
		p->phase_last = now;
		emit_kind(p, CF_PROGRESS_UPDATE, NULL);
	}
	pthread_mutex_unlock(&p->mu);
}

/* ---- Items ---------------------------------------------------------------------------- */

void cf_prog_item_begin(cf_prog *p, const char *item, long long total)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (!find_item(p, item)) {
		pitem *it = cf_calloc(1, sizeof(*it));
		it->name = cf_strdup(item);
		it->total = total;
		it->t0 = it->last = cf_now();
		it->next = p->items;
		p->items = it;
		if (p->work_t0 == 0)
			p->work_t0 = it->t0;
		if (ensure_started(p))
			emit_kind(p, CF_PROGRESS_ITEM_START, it);
	}
	pthread_mutex_unlock(&p->mu);
}

void cf_prog_item_phase(cf_prog *p, const char *item, const char *phase)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	if (it) {
		it->phase = phase;
		if (ensure_started(p))
			emit_kind(p, CF_PROGRESS_PHASE, it);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Under p->mu. */
static void add(cf_prog *p, pitem *it, long long units, long long rows, long long bytes,
                bool is_step)
{
	it->done += units;
	it->rows += rows;
	it->bytes += bytes;
	p->units_done += units;
	p->rows += rows;
	p->bytes += bytes;
	double now = cf_now();
	if ((is_step || now - it->last >= THROTTLE_S) && ensure_started(p)) {
		it->last = now;
		emit_kind(p, CF_PROGRESS_UPDATE, it);
	}
}

static void add_locked(cf_prog *p, const char *item, long long units, long long rows,
                       long long bytes, bool is_step)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	if (it)
		add(p, it, units, rows, bytes, is_step);
	pthread_mutex_unlock(&p->mu);
}

void cf_prog_item_add(cf_prog *p, const char *item, long long units, long long rows,
                      long long bytes)
{
	add_locked(p, item, units, rows, bytes, false);
}

void cf_prog_item_step(cf_prog *p, const char *item, long long units, long long rows,
                       long long bytes)
{
	add_locked(p, item, units, rows, bytes, true);
}

static ppart *find_part(pitem *it, const char *name, bool create)
{
	for (ppart *pt = it->parts; pt; pt = pt->next)
		if (name ? pt->name && strcmp(pt->name, name) == 0 : !pt->name)
			return pt;
	if (!create)
		return NULL;
	ppart *pt = cf_calloc(1, sizeof(*pt));
	pt->name = cf_strdup(name);
	pt->next = it->parts;
	it->parts = pt;
	return pt;
}

void cf_prog_item_part(cf_prog *p, const char *item, const char *part, long long units,
                       long long rows, long long bytes)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	if (it) {
		ppart *pt = find_part(it, part, true);
		long long du = units - pt->units, dr = rows - pt->rows, db = bytes - pt->bytes;
		pt->units = units;
		pt->rows = rows;
		pt->bytes = bytes;
		add(p, it, du, dr, db, false);
	}
	pthread_mutex_unlock(&p->mu);
}

static void unlink_item(cf_prog *p, pitem *it)
{
	for (pitem **pp = &p->items; *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			break;
		}
	}
	free_item(it);
}

void cf_prog_item_end(cf_prog *p, const char *item, bool is_ok, const char *message)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	if (it) {
		p->items_done++;
		/* The estimate gives way to what the item did. */
		if (is_ok && it->total >= 0 && p->units_total >= 0)
			p->units_total += it->done - it->total;
		if (is_ok)
			it->total = it->done;
		if (ensure_started(p)) {
			cf_progress r;
			if (!is_ok) {
				snapshot(p, CF_PROGRESS_ERROR, it, &r);
				r.message = message;
				emit(p, &r);
			}
			snapshot(p, CF_PROGRESS_ITEM_DONE, it, &r);
			r.is_ok = is_ok;
			r.message = message;
			if (is_ok) {
				r.item_percent = 100;
				r.item_eta_s = 0;
			}
			emit(p, &r);
		}
		unlink_item(p, it);
	}
	pthread_mutex_unlock(&p->mu);
}

void cf_prog_item_skip(cf_prog *p, const char *item, long long units)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	if (it) {
		it->done += units;
		it->skipped += units;
	} else {
		p->items_done++;
	}
	p->units_done += units;
	p->units_skipped += units;
	pthread_mutex_unlock(&p->mu);
}

void cf_prog_retry(cf_prog *p, const char *item, const char *part, int attempt, int max,
                   double delay_s, const char *why)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	pitem *it = find_item(p, item);
	ppart *pt = it ? find_part(it, part, false) : NULL;
	if (pt) {
		/* The failed attempt was rolled back: its work no longer counts. */
		it->done -= pt->units;
		it->rows -= pt->rows;
		it->bytes -= pt->bytes;
		p->units_done -= pt->units;
		p->rows -= pt->rows;
		p->bytes -= pt->bytes;
		pt->units = pt->rows = pt->bytes = 0;
	}
	if (ensure_started(p)) {
		cf_progress r;
		snapshot(p, CF_PROGRESS_RETRY, it, &r);
		r.item = item;
		r.attempt = attempt;
		r.max_attempts = max;
		r.delay_s = delay_s;
		r.message = why;
		emit(p, &r);
	}
	pthread_mutex_unlock(&p->mu);
}
