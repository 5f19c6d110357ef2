/*
 * migrate.c -- s2s migrate: copying in key ranges, resumable.
 *
 * Each range is one transaction on the target:
 *
 *   BEGIN;
 *   INSERT INTO target (...) SELECT ... FROM staging.table s
 *     WHERE s.key >= $lo AND s.key < $hi;          -- pushed down to the source
 *   INSERT INTO staging.confiture_s2s_ranges ...;  -- this range is done
 *   COMMIT;
 *
 * so the progress table and the data can never disagree: after a crash, a
 * kill -9 or Ctrl-C, the next run skips exactly the ranges that committed.
 * The plan (the cut points) is stored once per table and reused, so the
 * ranges of a rerun are the ranges of the first run. Worker threads take
 * whole tables, each on its own connection, tables referenced by foreign
 * keys first.
 */
#include "s2s.h"
#include "ctx.h"
#include "log.h"
#include "progress.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_FAILED } job_state;

typedef struct job {
	s2s_table *t;
	cf_s2s_table *out;
	cf_strv bounds;          /* the plan's inner cut points */
	long batch;
	int pass;
	bool is_upsert;          /* this pass's mode */
	bool is_new_plan;        /* the plan row must be (re)written */
	bool is_skip;            /* already copied: nothing to do */
	bool is_restart;         /* truncate first */
	bool is_continued;       /* an earlier run of this pass finished some ranges */
	bool is_stopped;         /* another worker failed: left unfinished */
	char *why;               /* how this run treats the table, for the log */
	job_state state;
} job;

typedef struct migrate {
	s2s_run *run;
	job *jobs;
	size_t n_jobs;
	pthread_mutex_t mu;      /* the job states, STOP and ST */
	pthread_cond_t cv;
	bool stop;
	cf_status st;
	cf_prog *prog;           /* units: ranges; items: tables */
} migrate;

static long n_ranges_of(const job *j)
{
	return (long)j->bounds.n + 1;
}

/* ---- The plan table --------------------------------------------------------------- */

static cf_status ensure_progress_tables(s2s_run *run)
{
	char *sql = cf_sql_format(run->tgt, cf_sql_s2s_progress, run->staging, run->staging);
	cf_status st = cf_pg_exec(run->tgt, sql);
	free(sql);
	return st;
}

typedef struct plan_row {
	bool exists;
	char *hash;
	long batch;
	int pass;
	bool is_upsert;
	bool is_complete;
} plan_row;

static cf_status plan_load(s2s_run *run, const s2s_table *t, plan_row *p, cf_strv *bounds)
{
	memset(p, 0, sizeof(*p));
	char *sql = cf_sql_format(run->tgt,
	                          "SELECT plan_hash, batch_size, pass, mode = 'upsert', is_complete"
	                          "  FROM %I.confiture_s2s_plan WHERE target_table = $1",
	                          run->staging);
	const char *params[] = {t->tgt.display};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(run->tgt, sql, 1, params, &res);
	free(sql);
	if (!st && cf_pgres_nrows(res) == 1) {
		p->exists = true;
		p->hash = cf_strdup(cf_pgres_get(res, 0, 0));
		p->batch = atol(cf_pgres_get(res, 0, 1));
		p->pass = atoi(cf_pgres_get(res, 0, 2));
		p->is_upsert = cf_pgres_get(res, 0, 3)[0] == 't';
		p->is_complete = cf_pgres_get(res, 0, 4)[0] == 't';
	}
	cf_pgres_free(res);
	if (st || !p->exists)
		return st;
	sql = cf_sql_format(run->tgt,
	                    "SELECT u.b FROM %I.confiture_s2s_plan p,"
	                    "       pg_catalog.unnest(p.bounds) WITH ORDINALITY u(b, o)"
	                    " WHERE p.target_table = $1 ORDER BY u.o",
	                    run->staging);
	st = cf_pg_query(run->tgt, sql, 1, params, &res);
	free(sql);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_strv_push(bounds, cf_pgres_get(res, i, 0));
	cf_pgres_free(res);
	return st;
}

static cf_status plan_store(s2s_run *run, const job *j)
{
	const s2s_table *t = j->t;
	char *bounds = s2s_text_array((const char *const *)j->bounds.v, j->bounds.n);
	char batch[32], pass[16];
	snprintf(batch, sizeof(batch), "%ld", j->batch);
	snprintf(pass, sizeof(pass), "%d", j->pass);
	char *src = cf_asprintf("%s.%s", t->ft.remote_schema, t->ft.remote_name);
	const char *p[] = {t->tgt.display, t->e->name, src, t->key, t->plan_hash, bounds, batch, pass,
	                   j->is_upsert ? "upsert" : "insert"};
	char *sql = cf_sql_format(
		run->tgt,
		"INSERT INTO %I.confiture_s2s_plan AS p (target_table, entry, source_table, key_column,"
		"   plan_hash, bounds, batch_size, pass, mode)"
		" VALUES ($1, $2, $3, $4, $5, $6::text[], $7::bigint, $8::int, $9)"
		" ON CONFLICT (target_table) DO UPDATE SET entry = EXCLUDED.entry,"
		"   source_table = EXCLUDED.source_table, key_column = EXCLUDED.key_column,"
		"   plan_hash = EXCLUDED.plan_hash, bounds = EXCLUDED.bounds,"
		"   batch_size = EXCLUDED.batch_size, pass = EXCLUDED.pass, mode = EXCLUDED.mode,"
		"   is_complete = false, rows_copied = 0, started_at = now(), finished_at = NULL",
		run->staging);
	cf_status st = cf_pg_exec_params(run->tgt, sql, 9, p);
	free(sql);
	if (!st) {
		/* A new plan starts its pass from scratch. */
		sql = cf_sql_format(run->tgt,
		                    "DELETE FROM %I.confiture_s2s_ranges WHERE target_table = $1",
		                    run->staging);
		const char *q[] = {t->tgt.display};
		st = cf_pg_exec_params(run->tgt, sql, 1, q);
		free(sql);
	}
	free(src);
	free(bounds);
	return st;
}

static cf_status target_has_rows(cf_pg *pg, const s2s_table *t, bool *out)
{
	char *sql = cf_sql_format(pg, "SELECT EXISTS (SELECT FROM %s)", t->tgt.qual);
	char *v = NULL;
	cf_status st = cf_pg_query_value(pg, sql, 0, NULL, &v);
	*out = v && v[0] == 't';
	free(v);
	free(sql);
	return st;
}

static long batch_for(const s2s_run *run, const s2s_table *t)
{
	if (run->opts->batch_size > 0)
		return run->opts->batch_size;
	if (t->e->batch_size > 0)
		return t->e->batch_size;
	if (run->ctx->cfg->s2s.batch_size > 0)
		return run->ctx->cfg->s2s.batch_size;
	return s2s_recommend_batch(t->src.reltuples, t->src.size_bytes, t->key != NULL);
}

static cf_status refuse_nonempty(s2s_run *run, const s2s_table *t)
{
	cf_status st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
	                            "target table \"%s\" already holds rows that s2s migrate did not "
	                            "copy",
	                            t->tgt.display);
	cf_error_detail(run->ctx, "s2s migrate copies into empty tables so that it never duplicates "
	                          "a row, and its progress table (in \"%s\") has no record of "
	                          "copying into this one.",
	                run->staging);
	cf_error_hint(run->ctx, "Use --restart to empty it and copy again, or --upsert to merge the "
	                        "source rows into it by its primary key.");
	return st;
}

static cf_status refuse_changed(s2s_run *run, const s2s_table *t)
{
	cf_status st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
	                            "the mapping of \"%s\" changed since an earlier run started "
	                            "copying into \"%s\"",
	                            t->e->name, t->tgt.display);
	cf_error_detail(run->ctx, "Rows already copied were made with the old mapping; continuing "
	                          "would mix the two.");
	cf_error_hint(run->ctx, "Put the mapping back to continue, use --restart to empty the table "
	                        "and copy it again, or --upsert to rewrite every row with the new "
	                        "mapping.");
	return st;
}

/* Decides what this run does with one table (see docs/s2s.md, "Reruns"). */
static cf_status decide(s2s_run *run, job *j, bool *nothing_recorded)
{
	const cf_s2s_opts *o = run->opts;
	s2s_table *t = j->t;
	plan_row p;
	cf_strv old;
	cf_strv_init(&old);
	cf_status st = plan_load(run, t, &p, &old);
	if (st)
		goto done;
	*nothing_recorded = *nothing_recorded && !p.exists;
	bool same = p.exists && strcmp(p.hash, t->plan_hash) == 0;
	j->batch = batch_for(run, t);
	if (o->is_restart || !p.exists) {
		bool has_rows = false;
		if (!o->is_restart && !o->is_upsert)
			st = target_has_rows(run->tgt, t, &has_rows);
		if (!st && has_rows)
			st = refuse_nonempty(run, t);
		j->is_new_plan = true;
		j->is_restart = o->is_restart;
		j->is_upsert = o->is_upsert;
		j->pass = o->is_upsert ? 1 : 0;
		j->why = cf_strdup(o->is_restart ? "emptied, copying again" : "copying");
	} else if (!same && !o->is_upsert) {
		st = refuse_changed(run, t);
	} else if (!same || (p.is_complete && o->is_upsert) ||
	           (!p.is_complete && !p.is_upsert && o->is_upsert)) {
		/* A new upsert pass over every range; the old cut points stay good
		 * unless the mapping (perhaps the key) changed. */
		j->is_new_plan = true;
		j->is_upsert = true;
		j->pass = p.pass + 1;
		j->batch = same ? p.batch : j->batch;
		if (same)
			for (size_t i = 0; i < old.n; i++)
				cf_strv_push(&j->bounds, old.v[i]);
		j->why = cf_strdup(same ? "catching up (upsert)" : "rewriting with the new mapping");
	} else if (p.is_complete) {
		j->is_skip = true;
		j->pass = p.pass;
		j->is_upsert = p.is_upsert;
		for (size_t i = 0; i < old.n; i++)
			cf_strv_push(&j->bounds, old.v[i]);
		j->why = cf_strdup("already copied");
	} else {
		j->is_continued = true;
		j->pass = p.pass;
		j->is_upsert = p.is_upsert;
		j->batch = p.batch;
		for (size_t i = 0; i < old.n; i++)
			cf_strv_push(&j->bounds, old.v[i]);
		j->why = cf_strdup(p.is_upsert ? "continuing the interrupted upsert pass"
		                               : "continuing the interrupted copy");
	}
	if (!st && j->is_new_plan && j->bounds.n == 0 && !(same && p.exists && !o->is_restart))
		st = s2s_plan_bounds(run->src, t, j->batch, &j->bounds);
done:
	free(p.hash);
	cf_strv_release(&old);
	return st;
}

static cf_status check_protected(s2s_run *run)
{
	if (!run->opts->is_restart)
		return CF_OK;
	cf_protect_verdict v;
	cf_status st = cf_dbref_check_protected(run->ctx, &run->tgt_ref, run->tgt, &v);
	if (!st && v.is_protected) {
		st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
		                  "refusing --restart: the target is the protected environment \"%s\"",
		                  v.env);
		cf_error_detail(run->ctx, "--restart truncates the target tables before copying. %s",
		                v.why);
		cf_error_hint(run->ctx, "Continue the copy without --restart, use --upsert, or empty "
		                        "the tables yourself.");
	}
	cf_protect_verdict_release(&v);
	return st;
}

/* Restart: one TRUNCATE of every table to empty (foreign keys between them
 * allow no other order), then the new plans, in one transaction. */
static cf_status write_plans(migrate *mg)
{
	s2s_run *run = mg->run;
	cf_buf trunc;
	cf_buf_init(&trunc);
	for (size_t i = 0; i < mg->n_jobs; i++)
		if (mg->jobs[i].is_restart)
			cf_buf_printf(&trunc, "%s%s", trunc.len ? ", " : "TRUNCATE ", mg->jobs[i].t->tgt.qual);
	cf_status st = cf_pg_begin(run->tgt);
	if (!st && trunc.len)
		st = cf_pg_exec(run->tgt, trunc.data);
	for (size_t i = 0; !st && i < mg->n_jobs; i++)
		if (mg->jobs[i].is_new_plan)
			st = plan_store(run, &mg->jobs[i]);
	if (!st)
		st = cf_pg_commit(run->tgt);
	else
		cf_pg_rollback(run->tgt);
	cf_buf_release(&trunc);
	return st;
}

/* ---- Copying one table ------------------------------------------------------------- */

typedef struct worker {
	migrate *mg;
	cf_pg *pg;
	pthread_t thread;
	cf_status st;
} worker;

static bool should_stop(migrate *mg)
{
	pthread_mutex_lock(&mg->mu);
	bool stop = mg->stop;
	pthread_mutex_unlock(&mg->mu);
	return stop || cf_ctx_is_cancelled(mg->run->ctx);
}

static cf_status load_done(migrate *mg, cf_pg *pg, const job *j, bool *done)
{
	char *sql = cf_sql_format(pg,
	                          "SELECT range_no FROM %I.confiture_s2s_ranges"
	                          " WHERE target_table = $1 AND pass = $2::int",
	                          mg->run->staging);
	char pass[16];
	snprintf(pass, sizeof(pass), "%d", j->pass);
	const char *p[] = {j->t->tgt.display, pass};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, sql, 2, p, &res);
	long n = n_ranges_of(j);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++) {
		long r = atol(cf_pgres_get(res, i, 0));
		if (r >= 0 && r < n)
			done[r] = true;
	}
	cf_pgres_free(res);
	free(sql);
	return st;
}

static cf_status copy_range(migrate *mg, cf_pg *pg, const job *j, char **sqls, long r,
                            long long *rows)
{
	const s2s_table *t = j->t;
	long n = n_ranges_of(j);
	const char *lo = r > 0 ? j->bounds.v[r - 1] : NULL;
	const char *hi = r < n - 1 ? j->bounds.v[r] : NULL;
	int shape = (lo ? 1 : 0) | (hi ? 2 : 0);
	if (!sqls[shape])
		sqls[shape] = s2s_copy_sql(pg, t, mg->run->staging, lo != NULL, hi != NULL, j->is_upsert,
		                           NULL, NULL);
	size_t np = t->params.n;
	const char **p = cf_calloc(np + 3, sizeof(*p));
	for (size_t i = 0; i < np; i++)
		p[i] = t->param_null[i] ? NULL : t->params.v[i];
	if (lo)
		p[np++] = lo;
	if (hi)
		p[np++] = hi;
	cf_pgres *res = NULL;
	cf_status st = cf_pg_begin(pg);
	if (!st)
		st = cf_pg_query(pg, sqls[shape], (int)np, p, &res);
	*rows = res ? cf_pgres_cmd_tuples(res) : 0;
	cf_pgres_free(res);
	if (!st) {
		char *sql = cf_sql_format(pg,
		                          "INSERT INTO %I.confiture_s2s_ranges"
		                          " (target_table, pass, range_no, rows)"
		                          " VALUES ($1, $2::int, $3::int, $4::bigint)",
		                          mg->run->staging);
		char pass[16], rno[24], nrows[32];
		snprintf(pass, sizeof(pass), "%d", j->pass);
		snprintf(rno, sizeof(rno), "%ld", r);
		snprintf(nrows, sizeof(nrows), "%lld", *rows);
		const char *q[] = {t->tgt.display, pass, rno, nrows};
		st = cf_pg_exec_params(pg, sql, 4, q);
		free(sql);
	}
	if (!st)
		st = cf_pg_commit(pg);
	if (st) {
		cf_pg_rollback(pg);
		st = s2s_fdw_error(mg->run, st);
		cf_error_context(mg->run->ctx,
		                 "while copying range %ld of %ld of \"%s\" (%s from %s to %s), rolled "
		                 "back",
		                 r + 1, n, t->tgt.display, t->key ? t->key : "all rows",
		                 lo ? lo : "the start", hi ? hi : "the end");
	}
	free(p);
	return st;
}

/* After the last range: the plan is complete, and sequences that feed the
 * columns we filled are moved past the copied values. */
static cf_status finish_table(migrate *mg, cf_pg *pg, const job *j)
{
	const s2s_table *t = j->t;
	cf_status st = cf_pg_begin(pg);
	char *sql = cf_sql_format(pg,
	                          "UPDATE %I.confiture_s2s_plan p SET is_complete = true,"
	                          "       finished_at = now(),"
	                          "       rows_copied = (SELECT coalesce(sum(rows), 0)"
	                          "                        FROM %I.confiture_s2s_ranges r"
	                          "                       WHERE r.target_table = p.target_table"
	                          "                         AND r.pass = p.pass)"
	                          " WHERE target_table = $1",
	                          mg->run->staging, mg->run->staging);
	const char *p[] = {t->tgt.display};
	if (!st)
		st = cf_pg_exec_params(pg, sql, 1, p);
	free(sql);
	for (size_t i = 0; !st && i < t->seq_cols.n; i++) {
		sql = cf_sql_format(pg,
		                    "SELECT pg_catalog.setval($1::regclass, m) FROM (SELECT max(%I) AS m "
		                    "FROM %s) x WHERE m IS NOT NULL AND m > coalesce("
		                    "pg_catalog.pg_sequence_last_value($1::regclass), 0)",
		                    t->seq_cols.v[i], t->tgt.qual);
		const char *q[] = {t->seq_names.v[i]};
		cf_pgres *res = NULL;
		st = cf_pg_query(pg, sql, 1, q, &res);
		if (!st && cf_pgres_nrows(res) == 1)
			cf_log_info(mg->run->ctx, "%s: sequence %s moved to %s", t->tgt.display,
			            t->seq_names.v[i], cf_pgres_get(res, 0, 0));
		cf_pgres_free(res);
		free(sql);
	}
	if (!st)
		st = cf_pg_commit(pg);
	else
		cf_pg_rollback(pg);
	return st;
}

static cf_status copy_table(migrate *mg, cf_pg *pg, job *j)
{
	cf_s2s_table *out = j->out;
	long n = n_ranges_of(j);
	bool *done = cf_calloc((size_t)n, sizeof(bool));
	char *sqls[4] = {0};
	double t0 = cf_now();
	cf_status st = load_done(mg, pg, j, done);
	long n_done = 0;
	for (long r = 0; r < n; r++)
		n_done += done[r];
	out->n_ranges_skipped = n_done;
	cf_prog_item_begin(mg->prog, j->t->tgt.display, n);
	cf_prog_item_skip(mg->prog, j->t->tgt.display, n_done);
	if (!st)
		cf_log_info(mg->run->ctx, "%s: %s (%ld ranges%s)", j->t->tgt.display, j->why, n,
		            n_done ? ", some already done" : "");
	for (long r = 0; !st && r < n; r++) {
		if (done[r])
			continue;
		if (cf_ctx_is_cancelled(mg->run->ctx)) {
			st = cf_error_set(mg->run->ctx, CF_ERR_CANCELLED, "interrupted");
			break;
		}
		if (should_stop(mg)) {
			j->is_stopped = true; /* another worker failed: its error is the one */
			break;
		}
		long long rows = 0;
		st = copy_range(mg, pg, j, sqls, r, &rows);
		if (st)
			break;
		out->rows += rows;
		out->n_ranges_done = ++n_done;
		cf_prog_item_step(mg->prog, j->t->tgt.display, 1, rows, 0);
	}
	out->n_ranges_done = n_done;
	if (!st && !j->is_stopped)
		st = finish_table(mg, pg, j);
	double el = cf_now() - t0;
	if (!st && !j->is_stopped)
		cf_log_debug(mg->run->ctx, "%s: %lld rows in %.2f s", j->t->tgt.display, out->rows, el);
	cf_prog_item_end(mg->prog, j->t->tgt.display, !st && !j->is_stopped,
	                 j->is_stopped ? "stopped: another table failed"
	                 : st          ? cf_last_error(mg->run->ctx)
	                               : NULL);
	for (int i = 0; i < 4; i++)
		free(sqls[i]);
	free(done);
	return st;
}

static const char *status_of(const job *j)
{
	if (j->is_stopped)
		return "stopped";
	if (j->is_skip)
		return "skipped";
	if (j->is_continued && j->out->n_ranges_skipped > 0)
		return "resumed";
	if (j->is_upsert)
		return "upserted";
	return "copied";
}

static cf_status run_job(migrate *mg, worker *w, job *j)
{
	s2s_run *run = mg->run;
	cf_s2s_table *out = j->out;
	double t0 = cf_now();
	cf_status st = s2s_table_hook(run, w->pg, "before_s2s_step", j->t->tgt.display, -1, -1, -1,
	                              NULL);
	if (!st && !j->is_skip)
		st = copy_table(mg, w->pg, j);
	out->duration_s = cf_now() - t0;
	pthread_mutex_lock(&run->mu);
	out->status = cf_strdup(st ? "failed" : status_of(j));
	if (st)
		out->message = cf_strdup(cf_last_error(run->ctx));
	else if (j->is_stopped)
		out->message = cf_strdup("stopped after another table failed; the next run continues");
	else if (j->is_skip)
		out->message = cf_strdup("already copied by an earlier run");
	pthread_mutex_unlock(&run->mu);
	char *err = st ? cf_strdup(cf_last_error(run->ctx)) : NULL;
	cf_status hst = s2s_table_hook(run, w->pg, "after_s2s_step", j->t->tgt.display, out->rows,
	                               st == CF_OK, out->duration_s, err);
	free(err);
	return st ? st : hst;
}

/* ---- Workers ------------------------------------------------------------------------ */

static bool deps_done(const migrate *mg, const job *j)
{
	for (size_t d = 0; d < j->t->n_deps; d++) {
		job_state s = mg->jobs[j->t->deps[d]].state;
		if (s == JOB_PENDING || s == JOB_RUNNING)
			return false;
	}
	return true;
}

/* The next table whose referenced tables are copied; NULL when none is left.
 * A cycle of foreign keys would wait forever: then any pending table goes. */
static job *next_job(migrate *mg)
{
	pthread_mutex_lock(&mg->mu);
	job *pick = NULL;
	for (;;) {
		bool pending = false, running = false;
		for (size_t i = 0; i < mg->n_jobs && !pick; i++) {
			job *j = &mg->jobs[i];
			pending = pending || j->state == JOB_PENDING;
			if (j->state == JOB_PENDING && deps_done(mg, j))
				pick = j;
		}
		for (size_t i = 0; i < mg->n_jobs; i++)
			running = running || mg->jobs[i].state == JOB_RUNNING;
		if (pick || !pending || mg->stop)
			break;
		if (!running) {
			for (size_t i = 0; i < mg->n_jobs && !pick; i++)
				if (mg->jobs[i].state == JOB_PENDING)
					pick = &mg->jobs[i];
			break;
		}
		pthread_cond_wait(&mg->cv, &mg->mu);
	}
	if (pick && !mg->stop)
		pick->state = JOB_RUNNING;
	else
		pick = NULL;
	pthread_mutex_unlock(&mg->mu);
	return pick;
}

static void job_end(migrate *mg, job *j, cf_status st)
{
	pthread_mutex_lock(&mg->mu);
	j->state = st ? JOB_FAILED : JOB_DONE;
	if (st && !mg->stop) {
		mg->stop = true;
		mg->st = st;
	}
	pthread_cond_broadcast(&mg->cv);
	pthread_mutex_unlock(&mg->mu);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	migrate *mg = w->mg;
	job *j;
	while ((j = next_job(mg)) != NULL)
		job_end(mg, j, run_job(mg, w, j));
	return NULL;
}

static cf_status run_workers(migrate *mg, long jobs)
{
	s2s_run *run = mg->run;
	size_t n = (size_t)(jobs < 1 ? 1 : jobs);
	if (n > mg->n_jobs)
		n = mg->n_jobs;
	worker *w = cf_calloc(n + 1, sizeof(*w));
	cf_status st = CF_OK;
	size_t started = 0;
	for (size_t i = 0; !st && i < n; i++) {
		w[i].mg = mg;
		st = s2s_connect_target(run, &w[i].pg);
		if (!st && pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			st = cf_error_set(run->ctx, CF_ERR_INTERNAL, "could not start a worker thread");
			cf_pg_close(w[i].pg);
			w[i].pg = NULL;
		}
		if (!st)
			started++;
	}
	if (st) {
		pthread_mutex_lock(&mg->mu);
		mg->stop = true;
		pthread_cond_broadcast(&mg->cv);
		pthread_mutex_unlock(&mg->mu);
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		cf_pg_close(w[i].pg);
	}
	free(w);
	if (!st && mg->st)
		st = cf_error_is_set(run->ctx) ? cf_error_code(run->ctx) : mg->st;
	return st;
}

/* ---- migrate ------------------------------------------------------------------------- */

static cf_status check_options(s2s_run *run)
{
	const cf_s2s_opts *o = run->opts;
	if (o->is_restart && o->is_upsert)
		return cf_error_set(run->ctx, CF_ERR_USAGE, "--restart and --upsert cannot be combined");
	if (o->is_restart && o->is_resume)
		return cf_error_set(run->ctx, CF_ERR_USAGE, "--restart and --resume cannot be combined");
	return check_protected(run);
}

static cf_status prepare_jobs(migrate *mg, s2s_table *tables, size_t n)
{
	s2s_run *run = mg->run;
	mg->jobs = cf_calloc(n + 1, sizeof(job));
	mg->n_jobs = n;
	bool nothing_recorded = true;
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < n; i++) {
		mg->jobs[i].t = &tables[i];
		cf_strv_init(&mg->jobs[i].bounds);
		st = decide(run, &mg->jobs[i], &nothing_recorded);
	}
	if (!st && run->opts->is_resume && nothing_recorded) {
		st = cf_error_set(run->ctx, CF_ERR_USAGE,
		                  "nothing to resume: no earlier s2s migrate of these tables is recorded "
		                  "in \"%s\"",
		                  run->staging);
		cf_error_hint(run->ctx, "Run without --resume to start the copy.");
	}
	/* Every result entry exists before any worker holds a pointer to one. */
	for (size_t i = 0; !st && i < n; i++)
		s2s_result_table(run, tables[i].e->name);
	for (size_t i = 0; !st && i < n; i++) {
		job *j = &mg->jobs[i];
		cf_s2s_table *out = &run->res->tables[i];
		j->out = out;
		out->source_table = cf_asprintf("%s.%s", j->t->ft.remote_schema, j->t->ft.remote_name);
		out->target_table = cf_strdup(j->t->tgt.display);
		out->key_column = cf_strdup(j->t->key);
		out->n_ranges = n_ranges_of(j);
		out->n_ranges_done = j->is_skip ? out->n_ranges : 0;
		out->batch_size = j->batch;
		out->mode = cf_strdup(j->is_upsert ? "upsert" : "insert");
		out->row_estimate = (long long)j->t->src.reltuples;
		out->size_bytes = j->t->src.size_bytes;
		out->has_primary_key = j->t->src.pk.n > 0;
	}
	return st;
}

static void migrate_release(migrate *mg)
{
	for (size_t i = 0; i < mg->n_jobs; i++) {
		cf_strv_release(&mg->jobs[i].bounds);
		free(mg->jobs[i].why);
	}
	free(mg->jobs);
	pthread_mutex_destroy(&mg->mu);
	pthread_cond_destroy(&mg->cv);
}

static void summarize(s2s_run *run, cf_status st)
{
	cf_s2s_result *r = run->res;
	size_t copied = 0, skipped = 0;
	for (size_t i = 0; i < r->n_tables; i++) {
		r->rows_copied += r->tables[i].rows;
		if (r->tables[i].status && strcmp(r->tables[i].status, "skipped") == 0)
			skipped++;
		else if (r->tables[i].status && strcmp(r->tables[i].status, "failed") != 0)
			copied++;
	}
	r->changes_detected = r->rows_copied > 0;
	if (st)
		return;
	if (copied == 0)
		s2s_result_message(run, "nothing to do: %zu table%s already copied", skipped,
		                   skipped == 1 ? "" : "s");
	else if (run->opts->is_upsert)
		s2s_result_message(run, "upsert pass: %lld row%s inserted or changed in %zu table%s",
		                   r->rows_copied, r->rows_copied == 1 ? "" : "s", copied,
		                   copied == 1 ? "" : "s");
	else
		s2s_result_message(run, "copied %lld row%s into %zu table%s%s", r->rows_copied,
		                   r->rows_copied == 1 ? "" : "s", copied, copied == 1 ? "" : "s",
		                   skipped ? " (others were already copied)" : "");
}

/* The planner's totals: tables and their key ranges; tables an earlier run
 * copied count as done. */
static void plan_progress(migrate *mg)
{
	long long ranges = 0;
	for (size_t i = 0; i < mg->n_jobs; i++)
		ranges += n_ranges_of(&mg->jobs[i]);
	cf_prog_plan(mg->prog, (long)mg->n_jobs, ranges);
	for (size_t i = 0; i < mg->n_jobs; i++)
		if (mg->jobs[i].is_skip)
			cf_prog_item_skip(mg->prog, mg->jobs[i].t->tgt.display, n_ranges_of(&mg->jobs[i]));
}

static cf_status do_migrate(s2s_run *run)
{
	s2s_mapping m = {0};
	s2s_table *tables = NULL;
	size_t n = 0;
	migrate mg = {.run = run, .prog = cf_prog_new(run->ctx, "s2s", "ranges", "table")};
	pthread_mutex_init(&mg.mu, NULL);
	pthread_cond_init(&mg.cv, NULL);
	cf_status st = check_options(run);
	if (!st)
		st = s2s_require_setup(run);
	if (!st)
		st = s2s_probe_source(run, run->tgt);
	if (!st)
		st = s2s_lock(run);
	if (!st)
		st = ensure_progress_tables(run);
	if (!st)
		st = s2s_tables_load(run, run->opts->is_upsert, false, &m, &tables, &n);
	if (!st)
		st = prepare_jobs(&mg, tables, n);
	if (!st)
		st = write_plans(&mg);
	long jobs = run->opts->jobs > 0 ? run->opts->jobs : run->ctx->cfg->s2s.jobs;
	if (!st) {
		plan_progress(&mg);
		cf_prog_phase(mg.prog, "copying", -1);
		st = run_workers(&mg, jobs);
	}
	cf_prog_free(mg.prog, st == CF_OK);
	summarize(run, st);
	migrate_release(&mg);
	s2s_tables_free(tables, n);
	s2s_mapping_release(&m);
	return st;
}

cf_status cf_s2s_migrate(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out)
{
	s2s_run run;
	cf_status st = s2s_run_start(&run, ctx, opts, "migrate", true, out);
	if (!st)
		st = do_migrate(&run);
	return s2s_run_finish(&run, st);
}
