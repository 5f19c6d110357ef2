/*
 * ops.c -- the public entry points of the migrate medium: status, up, down,
 * down-to, current, generate; and the result helpers they share with
 * baseline.c and check.c.
 */
#include "migrate_int.h"
#include "progress.h"
#include "ctx.h"
#include "fs.h"
#include "hooks.h"
#include "log.h"
#include "protect.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Results ------------------------------------------------------------------ */

void mig_res_init(mig_res *m, const char *action)
{
	memset(m, 0, sizeof(*m));
	m->r = cf_calloc(1, sizeof(cf_migrate_result));
	m->r->action = action;
	cf_strv_init(&m->warnings);
}

cf_migration *mig_res_add(mig_res *m, const char *version, const char *name)
{
	cf_migrate_result *r = m->r;
	if (r->n_migrations == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		r->migrations = cf_realloc(r->migrations, m->cap * sizeof(cf_migration));
	}
	cf_migration *e = &r->migrations[r->n_migrations++];
	memset(e, 0, sizeof(*e));
	e->version = cf_strdup(version);
	e->name = cf_strdup(name);
	e->execution_time_ms = -1;
	e->status = "pending";
	return e;
}

void mig_res_warn(mig_res *m, cf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	cf_log_warning(ctx, "%s", msg);
	cf_strv_push_owned(&m->warnings, msg);
}

void mig_entry_fill(cf_migration *e, const mig_file *f, const mig_row *row)
{
	if (f) {
		cf_str_set(&e->file, f->up);
		cf_str_set(&e->down_file, f->down);
		cf_str_set(&e->verify_file, f->verify);
		cf_str_set(&e->checksum, f->checksum);
	}
	if (row) {
		cf_str_set(&e->applied_at, row->applied_at);
		cf_str_set(&e->stored_checksum, row->checksum);
		e->execution_time_ms = row->execution_time_ms;
	}
}

static char **strv_take(cf_strv *sv, size_t *n)
{
	*n = sv->n;
	char **v = sv->v;
	cf_strv_init(sv);
	return v;
}

cf_status mig_res_finish(mig_res *m, cf_ctx *ctx, cf_status st, double t0, const char *fmt, ...)
{
	cf_migrate_result *r = m->r;
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	if (st && cf_error_is_set(ctx)) {
		/* Preflight and verify keep every finding already; the summary error
		 * only names them. */
		if (!m->errs.n)
			cf_errlist_push_ctx(&m->errs, ctx);
		free(msg);
		msg = cf_strdup(cf_last_error(ctx));
	}
	r->message = msg;
	r->success = st == CF_OK;
	r->duration_s = cf_now() - t0;
	r->warnings = strv_take(&m->warnings, &r->n_warnings);
	r->errors = m->errs.v;
	r->n_errors = m->errs.n;
	memset(&m->errs, 0, sizeof(m->errs));
	return st;
}

static void strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cf_migrate_result_free(cf_migrate_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_migrations; i++) {
		cf_migration *e = &r->migrations[i];
		free(e->version);
		free(e->name);
		free(e->file);
		free(e->down_file);
		free(e->verify_file);
		free(e->applied_at);
		free(e->checksum);
		free(e->stored_checksum);
		free(e->note);
	}
	free(r->migrations);
	strs_free(r->orphans, r->n_orphans);
	strs_free(r->duplicates, r->n_duplicates);
	strs_free(r->warnings, r->n_warnings);
	strs_free(r->created, r->n_created);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free((char *)r->message);
	free(r->tracking_table);
	free(r->current);
	free(r);
}

/* ---- The steps every operation shares ------------------------------------------ */

static void copy_strv(char ***dst, size_t *n, const cf_strv *src)
{
	*n = src->n;
	*dst = cf_calloc(src->n + 1, sizeof(char *));
	for (size_t i = 0; i < src->n; i++)
		(*dst)[i] = cf_strdup(src->v[i]);
}

cf_status mig_op_begin(mig_op *op, cf_ctx *ctx, const char *action, cf_migrate_result **out,
                       bool checks)
{
	memset(op, 0, sizeof(*op));
	op->ctx = ctx;
	op->t0 = cf_now();
	cf_ctx_clear_error(ctx);
	mig_res_init(&op->m, action);
	*out = op->m.r;
	op->m.r->tracking_table = cf_strdup(ctx->cfg->migration.tracking_table);
	cf_status st = mig_set_load(ctx, &op->set);
	op->has_set = st == CF_OK;
	if (st)
		return st;
	cf_migrate_result *r = op->m.r;
	copy_strv(&r->orphans, &r->n_orphans, &op->set.orphans);
	copy_strv(&r->duplicates, &r->n_duplicates, &op->set.dups);
	r->n_total = (long)op->set.n;
	return checks ? mig_set_check(ctx, &op->set) : CF_OK;
}

cf_status mig_op_connect(mig_op *op, const char *conninfo, bool lock, bool need_ledger)
{
	cf_status st = mig_session_open(op->ctx, conninfo, &op->sess);
	op->has_sess = true;
	if (!st && lock && op->ctx->cfg->migration.lock_enabled) {
		st = mig_lock(&op->sess);
		if (!st)
			st = mig_session_probe(&op->sess);
	}
	op->m.r->has_ledger = op->sess.has_ledger;
	if (!st && need_ledger && !op->sess.has_ledger) {
		st = cf_error_set(op->ctx, CF_ERR_NO_LEDGER, "tracking table \"%s\" does not exist in "
		                                             "database \"%s\"",
		                  op->sess.table, op->sess.dbname);
		cf_error_hint(op->ctx, "Nothing was ever applied here. Run confiture migrate up to "
		                       "create it, or confiture migrate baseline to adopt an existing "
		                       "database.");
	}
	if (!st)
		st = mig_ledger_read(&op->sess, !op->light_ledger);
	return st;
}

cf_status mig_op_end(mig_op *op, cf_status st, const char *fmt, ...)
{
	cf_migrate_result *r = op->m.r;
	/* The message may point into the ledger or the files: format it first. */
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	if (op->has_sess) {
		const mig_row *cur = mig_ledger_current(&op->sess.ledger);
		if (!op->has_current && cur)
			r->current = cf_strdup(cur->version);
		mig_session_close(&op->sess);
	}
	mig_set_release(&op->set);
	st = mig_res_finish(&op->m, op->ctx, st, op->t0, "%s", msg);
	free(msg);
	return st;
}

/* Reads every .up.sql, so that an unreadable file stops the run before
 * anything connects. */
static cf_status read_all(mig_op *op)
{
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < op->set.n; i++)
		st = mig_file_read(op->ctx, &op->set.v[i]);
	return st;
}

/* Compares the stored checksum of each applied migration with its file. */
static cf_status verify_applied(mig_op *op)
{
	cf_ctx *ctx = op->ctx;
	const char *mode = ctx->cfg->migration.on_checksum_mismatch;
	if (mode && strcmp(mode, "ignore") == 0)
		return CF_OK;
	bool fail = !mode || strcmp(mode, "fail") == 0;
	cf_strv bad;
	cf_strv_init(&bad);
	for (size_t i = 0; i < op->sess.ledger.n; i++) {
		const mig_row *row = &op->sess.ledger.v[i];
		mig_file *f = mig_set_find(&op->set, row->version);
		if (!f || !row->checksum || !f->checksum || strcmp(f->checksum, row->checksum) == 0)
			continue;
		cf_strv_push(&bad, f->up);
		if (!fail)
			mig_res_warn(&op->m, ctx, "checksum mismatch: \"%s\" changed after it was applied "
			                          "(stored %.12s..., file %.12s...)",
			             f->up, row->checksum, f->checksum);
	}
	cf_status st = CF_OK;
	if (bad.n && fail) {
		char *list = cf_strv_join(&bad, ", ");
		st = cf_error_set(ctx, CF_ERR_CHECK, "checksum mismatch: %zu applied migration%s changed "
		                                     "since %s applied: %s",
		                  bad.n, bad.n > 1 ? "s" : "", bad.n > 1 ? "they were" : "it was", list);
		cf_error_detail(ctx, "A migration that already ran must not change: the databases "
		                     "that applied the old text would differ from new ones.");
		cf_error_hint(ctx, "Restore the file. If the change is harmless (a comment), record "
		                   "it with confiture verify-checksums --fix, or pass "
		                   "--on-checksum-mismatch warn.");
		free(list);
	}
	op->m.r->n_failed = (long)bad.n;
	cf_strv_release(&bad);
	return st;
}

/* ---- status --------------------------------------------------------------------- */

/* No database to ask: the embedded cluster was never created, or nothing
 * says where a server is. */
static bool has_no_database(cf_ctx *ctx)
{
	const cf_config *cfg = ctx->cfg;
	if (cf_config_is_embedded(cfg)) {
		cf_embedded_status *es = NULL;
		bool none = cf_embedded_status_get(ctx, &es) != CF_OK || !es->is_initialized;
		cf_embedded_status_free(es);
		cf_ctx_clear_error(ctx);
		return none;
	}
	if (cfg->database_url && *cfg->database_url)
		return false;
	return !getenv("PGHOST") && !getenv("PGDATABASE") && !getenv("PGSERVICE") &&
	       !getenv("PGHOSTADDR");
}

static void status_entries(mig_op *op, bool offline)
{
	mig_set *set = &op->set;
	const mig_ledger *l = &op->sess.ledger;
	size_t i = 0, j = 0;
	long pending = 0;
	while (i < set->n || j < l->n) {
		int c = i >= set->n ? 1 : j >= l->n ? -1 : strcmp(set->v[i].version, l->v[j].version);
		mig_file *f = c <= 0 ? &set->v[i] : NULL;
		const mig_row *row = c >= 0 ? &l->v[j] : NULL;
		cf_migration *e = mig_res_add(&op->m, f ? f->version : row->version,
		                              f ? f->name : row->name);
		/* The file's checksum, to show beside the stored one; an unreadable
		 * file shows none (verify-checksums reports it). */
		if (f && row && mig_file_read(op->ctx, f))
			cf_ctx_clear_error(op->ctx);
		mig_entry_fill(e, f, row);
		if (offline)
			e->status = "unknown";
		else if (f && row)
			e->status = "applied", op->m.r->n_applied++;
		else if (row)
			e->status = "missing";
		else
			e->status = "pending", pending++;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	op->m.r->n_pending = offline ? 0 : pending;
}

cf_status cf_migrate_status(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "status", out, false);
	if (st)
		return mig_op_end(&op, st, "status failed");
	bool offline = (opts && opts->offline) || has_no_database(ctx);
	op.m.r->is_offline = offline;
	op.light_ledger = true;
	if (!offline) {
		st = mig_op_connect(&op, NULL, false, false);
		if (st)
			return mig_op_end(&op, st, "status failed");
	}
	status_entries(&op, offline);
	cf_migrate_result *r = op.m.r;
	if (!offline && !op.sess.has_ledger) {
		st = cf_error_set(ctx, CF_ERR_NO_LEDGER, "tracking table \"%s\" does not exist in "
		                                         "database \"%s\"",
		                  op.sess.table, op.sess.dbname);
		cf_error_hint(ctx, "Run confiture migrate up to apply the migrations (it creates the "
		                   "table), or confiture migrate baseline to adopt an existing database.");
	} else {
		/* Files that will never run make "0 pending" a lie. */
		st = mig_set_check_unmatched(ctx, &op.set);
		if (!st && r->n_pending > 0)
			st = CF_ERR_CHECK; /* a finding, not an error: the result says what */
	}
	long applied = (long)op.sess.ledger.n;
	const char *s = r->n_total == 1 ? "" : "s";
	if (offline)
		return mig_op_end(&op, st, "%ld migration%s (no database)", r->n_total, s);
	return mig_op_end(&op, st, "%ld migration%s: %ld applied, %ld pending", r->n_total, s,
	                  applied, r->n_pending);
}

/* ---- up --------------------------------------------------------------------------- */

/*
 * The newest applied version after the run: the ledger as read, plus what
 * this run applied, minus what it rolled back (entries of DOWN).
 */
static void set_current(mig_op *op, const cf_migrate_result *down)
{
	cf_migrate_result *r = op->m.r;
	const mig_ledger *l = &op->sess.ledger;
	const char *cur = NULL;
	for (size_t i = l->n; i > 0 && !cur; i--) {
		const char *v = l->v[i - 1].version;
		bool gone = false;
		for (size_t k = 0; down && k < down->n_migrations && !gone; k++)
			gone = strcmp(down->migrations[k].status, "rolled_back") == 0 &&
			       strcmp(down->migrations[k].version, v) == 0;
		if (!gone)
			cur = v;
	}
	for (size_t k = 0; !down && k < r->n_migrations; k++)
		if (strcmp(r->migrations[k].status, "applied_now") == 0 &&
		    (!cur || strcmp(r->migrations[k].version, cur) > 0))
			cur = r->migrations[k].version;
	cf_str_set(&r->current, cur);
	op->has_current = true;
}

typedef struct plan {
	mig_file **files;
	mig_script *scripts;
	size_t n;
} plan;

static void plan_release(plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		mig_script_release(&p->scripts[i]);
	free(p->scripts);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

static cf_status plan_up(mig_op *op, const char *target, plan *p)
{
	cf_ctx *ctx = op->ctx;
	if (target && !mig_set_find(&op->set, target) && !mig_ledger_find(&op->sess.ledger, target)) {
		cf_error_set(ctx, CF_ERR_SQL, "unknown migration version \"%s\"", target);
		cf_error_hint(ctx, "confiture migrate status lists the versions.");
		return CF_ERR_SQL;
	}
	p->files = cf_calloc(op->set.n + 1, sizeof(mig_file *));
	p->scripts = cf_calloc(op->set.n + 1, sizeof(mig_script));
	for (size_t i = 0; i < op->set.n; i++) {
		mig_file *f = &op->set.v[i];
		if (target && strcmp(f->version, target) > 0)
			break;
		if (mig_ledger_find(&op->sess.ledger, f->version))
			continue;
		p->files[p->n] = f;
		/* The script owns its text from now on. */
		char *text = f->text;
		f->text = NULL;
		cf_status st = mig_script_prepare(ctx, f->up, text, f->len, &p->scripts[p->n]);
		p->n++;
		if (st)
			return st;
	}
	return CF_OK;
}

static void entry_for(mig_op *op, const mig_file *f, const mig_script *sc, const char *status)
{
	cf_migration *e = mig_res_add(&op->m, f->version, f->name);
	mig_entry_fill(e, f, NULL);
	e->status = status;
	/* n_failed counts the failed entries: the two never disagree. */
	op->m.r->n_failed += strcmp(status, "failed") == 0;
	e->is_nontx = sc && sc->is_nontx;
	if (e->is_nontx)
		e->note = cf_asprintf("runs statement by statement outside a transaction (%s)",
		                      sc->nontx_why);
}

static cf_status fire_op(mig_op *op, const char *event, int success, long long elapsed)
{
	cf_hook_fire h = CF_HOOK_FIRE_INIT(event);
	h.success = success;
	h.elapsed_ms = elapsed;
	cf_pg *pg = op->sess.pg;
	h.pg = pg && !cf_pg_is_bad(pg) && !cf_pg_in_transaction(pg) ? pg : NULL;
	return cf_hooks_fire(op->ctx, &h);
}

static void fire_failed(mig_op *op, const mig_file *f, long long elapsed)
{
	cf_hook_fire h = CF_HOOK_FIRE_INIT("migration_failed");
	h.migration_version = f->version;
	h.migration_name = f->name;
	h.success = 0;
	h.elapsed_ms = elapsed;
	char *msg = cf_strdup(cf_last_error(op->ctx));
	h.error = msg;
	cf_pg *pg = op->sess.pg;
	h.pg = pg && !cf_pg_is_bad(pg) && !cf_pg_in_transaction(pg) ? pg : NULL;
	cf_hooks_fire(op->ctx, &h);
	cf_hooks_fire_on_error(op->ctx, h.pg);
	free(msg);
}

/* Reports migration F as done (IS_OK) or failed; batched migrations are
 * reported when their batch returns. */
static void progress_item(mig_op *op, const mig_file *f, bool begin, bool is_ok)
{
	if (begin)
		cf_prog_item_begin(op->prog, f->base, 1);
	if (is_ok)
		cf_prog_item_add(op->prog, f->base, 1, 0, 0);
	cf_prog_item_end(op->prog, f->base, is_ok, is_ok ? NULL : cf_last_error(op->ctx));
}

/* Migrations sent in one message at most (and bytes of SQL). */
#define BATCH_MAX 200
#define BATCH_BYTES (4u << 20)

static void record_done(mig_op *op, mig_file *f, const mig_script *sc, const char *status,
                        long long ms)
{
	entry_for(op, f, sc, status);
	op->m.r->migrations[op->m.r->n_migrations - 1].execution_time_ms = ms;
}

/* Applies P->files[*I..] that can share one message; advances *I. */
static cf_status run_batch(mig_op *op, mig_run *run, plan *p, size_t *i)
{
	size_t j = *i, bytes = 0;
	while (j < p->n && mig_script_is_batchable(&p->scripts[j]) && j - *i < BATCH_MAX &&
	       bytes < BATCH_BYTES)
		bytes += p->scripts[j++].len;
	size_t n_ok = 0;
	long *ms = cf_calloc(j - *i, sizeof(long));
	cf_status st = mig_apply_batch(run, p->files + *i, p->scripts + *i, j - *i, &n_ok, ms);
	for (size_t k = *i; k < *i + n_ok; k++) {
		record_done(op, p->files[k], &p->scripts[k], "applied_now", ms[k - *i]);
		progress_item(op, p->files[k], true, true);
		op->m.r->n_applied++;
		op->m.r->changes_detected = true;
	}
	if (st) {
		mig_file *f = p->files[*i + n_ok];
		record_done(op, f, &p->scripts[*i + n_ok], "failed", -1);
		progress_item(op, f, true, false);
		fire_failed(op, f, run->elapsed_ms);
	}
	free(ms);
	*i = j;
	return st;
}

/* Applies one migration on its own (hooks, non-transactional, down). */
static cf_status run_one(mig_op *op, mig_run *run, plan *p, size_t i, mig_dir dir,
                         const char *done_status)
{
	mig_file *f = p->files[i];
	mig_script *sc = &p->scripts[i];
	/* Autocommit statements get no shared flush: make earlier commits
	 * durable first, and commit these synchronously. */
	cf_status st = sc->is_nontx ? mig_async_end(&op->sess) : CF_OK;
	cf_prog_item_begin(op->prog, f->base, 1);
	if (!st)
		st = mig_apply(run, f, dir, sc, dir == MIG_UP ? f->checksum : NULL);
	progress_item(op, f, false, !st);
	record_done(op, f, sc, st ? "failed" : done_status, run->elapsed_ms);
	if (st) {
		fire_failed(op, f, run->elapsed_ms);
		return st;
	}
	op->m.r->n_applied++;
	op->m.r->changes_detected = true;
	return sc->is_nontx ? mig_async_begin(&op->sess) : CF_OK;
}

/*
 * Runs the plan in direction DIR. Consecutive transactional migrations
 * going up share one message when no per-migration hooks are declared
 * (hooks must run inside each migration's transaction).
 */
static cf_status run_plan(mig_op *op, plan *p, mig_dir dir, const char *done_status)
{
	cf_ctx *ctx = op->ctx;
	mig_run run = {.sess = &op->sess, .fire_hooks = true};
	bool batch = dir == MIG_UP && !cf_hooks_any(ctx, "before_migration") &&
	             !cf_hooks_any(ctx, "after_migration");
	cf_status st = fire_op(op, "before_migrate", -1, -1);
	if (!st && dir == MIG_UP) {
		st = mig_ledger_ensure(&op->sess);
		mig_ledger_created(&op->sess, st == CF_OK); /* autocommit: done */
	}
	if (!st && p->n)
		st = mig_async_begin(&op->sess);
	op->prog = cf_prog_new(ctx, "migrate", "migrations", "migration");
	cf_prog_plan(op->prog, (long)p->n, (long long)p->n);
	cf_prog_phase(op->prog, dir == MIG_UP ? "applying" : "rolling back", -1);
	for (size_t i = 0; !st && i < p->n;) {
		if (cf_ctx_is_cancelled(ctx)) {
			st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
			break;
		}
		if (batch && mig_script_is_batchable(&p->scripts[i])) {
			st = run_batch(op, &run, p, &i);
		} else {
			st = run_one(op, &run, p, i, dir, done_status);
			i++;
		}
	}
	/* Durable before anything is reported, on failure too. */
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	cf_status flushed = mig_async_end(&op->sess);
	cf_error_unstash(ctx, &stash);
	if (!st)
		st = flushed;
	cf_prog_free(op->prog, st == CF_OK);
	op->prog = NULL;
	cf_status after = fire_op(op, "after_migrate", st ? 0 : 1,
	                          (long long)((cf_now() - op->t0) * 1000));
	return st ? st : after;
}

/* up --dry-run-execute: everything in one transaction, rolled back. */
static cf_status run_dry_execute(mig_op *op, plan *p)
{
	mig_dry d = {.op = op, .what = "--dry-run-execute", .with_ledger = true};
	cf_status st = cf_pg_begin(op->sess.pg);
	if (!st && !op->sess.has_ledger) {
		char *ddl = mig_ledger_ddl(&op->sess);
		st = cf_pg_exec(op->sess.pg, ddl);
		free(ddl);
	}
	if (!st)
		st = mig_dry_run(&d, p->files, p->scripts, p->n);
	cf_err_stash stash;
	cf_error_stash(op->ctx, &stash);
	cf_pg_rollback(op->sess.pg);
	cf_error_unstash(op->ctx, &stash);
	op->m.r->n_applied = (long)d.n_tried;
	op->m.r->changes_detected = p->n > 0;
	op->n_not_tried = d.n_not_tried;
	return st;
}

cf_status cf_migrate_up(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	opts = opts ? opts : &none;
	mig_op op;
	plan p = {0};
	cf_status st = mig_op_begin(&op, ctx, "up", out, true);
	cf_migrate_result *r = op.m.r;
	r->is_dry_run = opts->dry_run || opts->dry_run_execute;
	if (!st)
		st = read_all(&op);
	if (!st)
		st = mig_op_connect(&op, NULL, !opts->dry_run, false);
	if (!st)
		st = verify_applied(&op);
	if (!st)
		st = plan_up(&op, opts->target, &p);
	r->n_pending = (long)p.n;
	if (st) {
		/* Nothing ran: report the file that stopped the plan. */
	} else if (opts->dry_run) {
		for (size_t i = 0; i < p.n; i++)
			entry_for(&op, p.files[i], &p.scripts[i], "would_apply");
		r->changes_detected = p.n > 0;
	} else if (opts->dry_run_execute) {
		st = run_dry_execute(&op, &p);
	} else {
		st = run_plan(&op, &p, MIG_UP, "applied_now");
		r->n_pending -= r->n_applied;
	}
	size_t n = p.n;
	plan_release(&p);
	set_current(&op, NULL);
	if (st)
		return mig_op_end(&op, st, "migrate up failed");
	if (opts->dry_run_execute && op.n_not_tried)
		return mig_op_end(&op, st, "would apply %zu migration%s: %ld tried and rolled back, %zu "
		                  "not tried (see the warning)",
		                  n, n == 1 ? "" : "s", r->n_applied, op.n_not_tried);
	if (opts->dry_run_execute)
		return mig_op_end(&op, st, "would apply %zu migration%s: all tried and rolled back", n,
		                  n == 1 ? "" : "s");
	if (r->is_dry_run)
		return mig_op_end(&op, st, "would apply %zu migration%s", n, n == 1 ? "" : "s");
	if (n == 0)
		return mig_op_end(&op, st, "nothing to apply");
	return mig_op_end(&op, st, "applied %ld migration%s", r->n_applied,
	                  r->n_applied == 1 ? "" : "s");
}

/* ---- down / down-to ------------------------------------------------------------- */

/* Builds the rollback plan from ROWS (newest first), checking it whole. */
static cf_status plan_down(mig_op *op, const mig_row **rows, size_t n, plan *p)
{
	cf_ctx *ctx = op->ctx;
	cf_strv missing;
	cf_strv_init(&missing);
	p->files = cf_calloc(n + 1, sizeof(mig_file *));
	p->scripts = cf_calloc(n + 1, sizeof(mig_script));
	for (size_t i = 0; i < n; i++) {
		mig_file *f = mig_set_find(&op->set, rows[i]->version);
		if (!f || !f->down)
			cf_strv_push_owned(&missing, f ? mig_down_name(f)
			                               : cf_asprintf("%s_%s (no files at all)",
			                                             rows[i]->version, rows[i]->name));
		p->files[i] = f;
	}
	cf_status st = CF_OK;
	if (missing.n) {
		char *list = cf_strv_join(&missing, ", ");
		st = cf_error_set(ctx, CF_ERR_IRREVERSIBLE, "cannot roll back: %zu migration%s ha%s no "
		                                            ".down.sql: %s",
		                  missing.n, missing.n > 1 ? "s" : "", missing.n > 1 ? "ve" : "s", list);
		cf_error_detail(ctx, "Nothing was rolled back: the whole plan is checked first.");
		cf_error_hint(ctx, "Write the missing .down.sql files in \"%s\", or roll back to a "
		                   "newer version.", op->set.dir);
		free(list);
	}
	cf_strv_release(&missing);
	for (size_t i = 0; !st && i < n; i++) {
		mig_file *f = p->files[i];
		char *text = NULL;
		size_t len = 0;
		st = cf_file_read(ctx, f->down_abs, &text, &len);
		if (!st) {
			st = mig_script_prepare(ctx, f->down, text, len, &p->scripts[i]);
			p->n = i + 1;
		}
	}
	return st;
}

static cf_status do_down(mig_op *op, const cf_migrate_opts *opts, const mig_row **rows, size_t n)
{
	plan p = {0};
	cf_status st = plan_down(op, rows, n, &p);
	if (!st && opts->dry_run) {
		for (size_t i = 0; i < p.n; i++)
			entry_for(op, p.files[i], &p.scripts[i], "would_roll_back");
		op->m.r->changes_detected = p.n > 0;
	} else if (!st) {
		st = run_plan(op, &p, MIG_DOWN, "rolled_back");
	}
	plan_release(&p);
	return st;
}

static cf_status down_end(mig_op *op, cf_status st, const cf_migrate_opts *opts, size_t n)
{
	set_current(op, op->m.r);
	if (st)
		return mig_op_end(op, st, "migrate %s failed", op->m.r->action);
	op->m.r->is_dry_run = opts->dry_run;
	if (opts->dry_run)
		return mig_op_end(op, st, "would roll back %zu migration%s", n, n == 1 ? "" : "s");
	return mig_op_end(op, st, "rolled back %ld migration%s", op->m.r->n_applied,
	                  op->m.r->n_applied == 1 ? "" : "s");
}

/* A rollback loses data: on a protected database only when the user says so.
 * A dry run writes nothing. */
static cf_status down_allowed(mig_op *op, const cf_migrate_opts *opts)
{
	return cf_protect_guard_env(op->ctx, op->sess.pg, "roll back migrations",
	                            opts->dry_run || opts->is_production_ok,
	                            "Run with --dry-run to see the plan; pass "
	                            "--yes-i-mean-production if this is the database you mean.");
}

cf_status cf_migrate_down(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	opts = opts ? opts : &none;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "down", out, true);
	if (!st)
		st = mig_op_connect(&op, NULL, !opts->dry_run, true);
	if (!st)
		st = down_allowed(&op, opts);
	size_t steps = opts->steps > 0 ? (size_t)opts->steps : 1, n = 0;
	const mig_row **rows = NULL;
	if (!st) {
		const mig_ledger *l = &op.sess.ledger;
		n = steps < l->n ? steps : l->n;
		rows = cf_calloc(n + 1, sizeof(*rows));
		for (size_t i = 0; i < n; i++)
			rows[i] = &l->v[l->n - 1 - i];
		st = do_down(&op, opts, rows, n);
	}
	free(rows);
	if (!st && n == 0)
		return mig_op_end(&op, st, "nothing to roll back");
	return down_end(&op, st, opts, n);
}

cf_status cf_migrate_down_to(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	opts = opts ? opts : &none;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "down-to", out, true);
	const char *ver = opts->version;
	if (!st && (!ver || !*ver))
		st = cf_error_set(ctx, CF_ERR_USAGE, "down-to needs a VERSION");
	if (!st)
		st = mig_op_connect(&op, NULL, !opts->dry_run, true);
	if (!st)
		st = down_allowed(&op, opts);
	const mig_ledger *l = &op.sess.ledger;
	if (!st && !mig_set_find(&op.set, ver) && !mig_ledger_find(l, ver)) {
		st = cf_error_set(ctx, CF_ERR_SQL, "unknown migration version \"%s\"", ver);
		cf_error_hint(ctx, "confiture migrate status lists the versions.");
	}
	size_t n = 0;
	const mig_row **rows = NULL;
	if (!st) {
		rows = cf_calloc(l->n + 1, sizeof(*rows));
		for (size_t i = l->n; i > 0 && strcmp(l->v[i - 1].version, ver) > 0; i--)
			rows[n++] = &l->v[i - 1];
		if (n)
			st = do_down(&op, opts, rows, n);
	}
	free(rows);
	if (!st && n == 0)
		return mig_op_end(&op, st, "already at %s: nothing to roll back", ver);
	return down_end(&op, st, opts, n);
}

/* ---- current ---------------------------------------------------------------------- */

cf_status cf_migrate_current(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	(void)opts;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "current", out, false);
	if (st == CF_ERR_CONFIG) {
		/* The ledger answers without the files. */
		cf_ctx_clear_error(ctx);
		st = CF_OK;
	}
	if (!st)
		st = mig_op_connect(&op, NULL, false, true);
	const mig_row *cur = st ? NULL : mig_ledger_current(&op.sess.ledger);
	if (cur) {
		cf_migration *e = mig_res_add(&op.m, cur->version, cur->name);
		mig_entry_fill(e, mig_set_find(&op.set, cur->version), cur);
		e->status = "applied";
	}
	if (st)
		return mig_op_end(&op, st, "migrate current failed");
	return cur ? mig_op_end(&op, st, "%s_%s", cur->version, cur->name)
	           : mig_op_end(&op, st, "no migration applied");
}

/* ---- generate ------------------------------------------------------------------------ */

static bool valid_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static bool valid_version(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
	return true;
}

static cf_status write_new(mig_op *op, const char *rel, const char *abs, const char *text)
{
	cf_status st = cf_file_write_atomic(op->ctx, abs, text, strlen(text));
	if (!st) {
		cf_migrate_result *r = op->m.r;
		r->created = cf_realloc(r->created, (r->n_created + 1) * sizeof(char *));
		r->created[r->n_created++] = cf_strdup(rel);
	}
	return st;
}

static cf_status generate_files(mig_op *op, const char *version, const char *name,
                                const cf_migrate_opts *opts)
{
	cf_ctx *ctx = op->ctx;
	const mig_file *same = mig_set_find(&op->set, version);
	if (same) {
		cf_error_set(ctx, CF_ERR_VALIDATION, "migration version \"%s\" is already used by \"%s\"",
		             version, same->up);
		cf_error_hint(ctx, "Each migration needs its own version; wait a second and run again, "
		              "or pass another --version-id.");
		return CF_ERR_VALIDATION;
	}
	char *base = cf_asprintf("%s_%s", version, name);
	const char *suffixes[] = {".up.sql", ".down.sql"};
	char *rel[2], *abs[2];
	cf_status st = CF_OK;
	for (int k = 0; k < 2; k++) {
		char *file = cf_asprintf("%s%s", base, suffixes[k]);
		rel[k] = cf_path_join(op->set.dir, file);
		abs[k] = cf_path_join(op->set.dir_abs, file);
		free(file);
		if (!st && (cf_is_file(abs[k]) || cf_is_dir(abs[k]))) {
			st = cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to overwrite \"%s\"", rel[k]);
			cf_error_hint(ctx, "Pick another name, or remove the file first.");
		}
	}
	char *up = cf_asprintf("-- %s: the change. It runs in one transaction together with its\n"
	                       "-- ledger row. Statements such as CREATE INDEX CONCURRENTLY need the\n"
	                       "-- no-transaction marker comment; see docs/migrate.md.\n\n",
	                       base);
	char *down = cf_asprintf("-- %s: undoes what %s.up.sql does (confiture migrate down).\n\n",
	                         base, base);
	/* --from-diff passes the text of both files. */
	if (opts->up_sql && opts->down_sql) {
		cf_str_set(&up, opts->up_sql);
		cf_str_set(&down, opts->down_sql);
	}
	if (!st)
		st = write_new(op, rel[0], abs[0], up);
	if (!st)
		st = write_new(op, rel[1], abs[1], down);
	for (int k = 0; k < 2; k++) {
		free(rel[k]);
		free(abs[k]);
	}
	free(up);
	free(down);
	free(base);
	return st;
}

cf_status cf_migrate_generate(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	opts = opts ? opts : &none;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "generate", out, false);
	if (st == CF_ERR_CONFIG && op.set.dir_abs) {
		/* A missing directory is created. */
		cf_ctx_clear_error(ctx);
		st = cf_mkdirs(ctx, op.set.dir_abs, 0755);
		op.has_set = true;
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	const char *version = opts->version ? opts->version : stamp;
	if (!st && !valid_name(opts->name)) {
		st = cf_error_set(ctx, CF_ERR_USAGE, "invalid migration name \"%s\"",
		                  opts->name ? opts->name : "");
		cf_error_hint(ctx, "Use letters, digits and underscores, e.g. add_users_email.");
	}
	if (!st && !valid_version(version)) {
		st = cf_error_set(ctx, CF_ERR_USAGE, "invalid migration version \"%s\"", version);
		cf_error_hint(ctx, "A version has no \"_\": e.g. 20260101120000 or 0042.");
	}
	if (!st)
		st = generate_files(&op, version, opts->name, opts);
	if (st)
		return mig_op_end(&op, st, "migrate generate failed");
	op.m.r->changes_detected = true;
	return mig_op_end(&op, st, "created %s_%s", version, opts->name);
}
