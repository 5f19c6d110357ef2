/*
 * copy.c -- copying one table (or one primary-key range) in one target
 * transaction: TRUNCATE, COPY FROM STDIN fed by COPY TO STDOUT on the source
 * (rewritten in the stream when columns are masked), the item marked done in
 * the progress table, COMMIT. Any failure rolls the whole transaction back,
 * so the table keeps its old contents.
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "log.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_AT (128 * 1024)

static const char SQL_ITEM_DONE[] =
	"UPDATE confiture.sync_progress SET state = 'done', rows = $3, bytes = $4, "
	"duration_s = $5, finished_at = now() WHERE run_id = $1 AND item = $2";

static bool table_is_masked(const plan_table *t)
{
	return t->has_stream_masks || t->has_pushdown;
}

/* Tables this large get their indexes rebuilt after the load. */
#define REBUILD_ROWS 20000

/* What dropping a table's indexes took away, to build it back. */
typedef struct rebuild {
	cf_strv create;          /* statements, in order */
} rebuild;

/*
 * Drops the indexes (and the constraints they back) of T inside the load's
 * transaction, and remembers how to build them again. Does nothing for small
 * tables, or when any index is one sync must leave alone (see
 * sql/sync_indexes.sql). Everything stays in the transaction: a failure rolls
 * the indexes back with the data.
 */
static cf_status drop_indexes(cf_pg *dst, const plan_table *t, rebuild *rb)
{
	cf_strv_init(&rb->create);
	if (t->est_rows < REBUILD_ROWS)
		return CF_OK;
	cf_pgres *r = NULL;
	const char *params[] = {t->dt->quoted};
	cf_status st = cf_pg_query(dst, cf_sql_sync_indexes, 1, params, &r);
	if (st)
		return st;
	bool ok = cf_pgres_nrows(r) > 0;
	for (int i = 0; ok && i < cf_pgres_nrows(r); i++)
		ok = strcmp(cf_pgres_get(r, i, 6), "t") == 0;
	cf_strv drop;
	cf_strv_init(&drop);
	for (int i = 0; ok && i < cf_pgres_nrows(r); i++) {
		const char *idx = cf_pgres_get(r, i, 0), *conname = cf_pgres_get(r, i, 2);
		const char *name = cf_pgres_get(r, i, 7);
		if (conname) {
			cf_strv_push_owned(&drop, cf_sql_format(dst, "ALTER TABLE %s DROP CONSTRAINT %I",
			                                        t->dt->quoted, conname));
			cf_strv_push_owned(&rb->create, cf_sql_format(dst, "ALTER TABLE %s ADD CONSTRAINT %I %s",
			                                              t->dt->quoted, conname,
			                                              cf_pgres_get(r, i, 3)));
		} else {
			cf_strv_push_owned(&drop, cf_sql_format(dst, "DROP INDEX %s", idx));
			cf_strv_push(&rb->create, cf_pgres_get(r, i, 1));
		}
		if (strcmp(cf_pgres_get(r, i, 4), "t") == 0)
			cf_strv_push_owned(&rb->create, cf_sql_format(dst, "ALTER TABLE %s CLUSTER ON %I",
			                                              t->dt->quoted, name));
		if (strcmp(cf_pgres_get(r, i, 5), "t") == 0)
			cf_strv_push_owned(&rb->create, cf_sql_format(dst, "ALTER TABLE %s REPLICA IDENTITY "
			                                              "USING INDEX %I", t->dt->quoted, name));
	}
	cf_pgres_free(r);
	if (!ok) {
		cf_strv_release(&rb->create);
		cf_strv_init(&rb->create);
	}
	for (size_t i = 0; !st && i < drop.n; i++)
		st = cf_pg_exec(dst, drop.v[i]);
	cf_strv_release(&drop);
	return st;
}

static cf_status build_indexes(cf_pg *dst, rebuild *rb)
{
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < rb->create.n; i++)
		st = cf_pg_exec(dst, rb->create.v[i]);
	return st;
}

/* Stops the source's COPY early and reads it to its end. */
static void abandon_source(cf_pg *src)
{
	cf_pg_cancel(src);
	char *buf;
	long n;
	while ((n = cf_pg_copy_out_read(src, &buf)) > 0)
		cf_pg_copy_free(buf);
}

cf_status sync_mask_error(cf_ctx *ctx, const plan_table *t, int col, const char *why,
                          long long row)
{
	if (col >= 0) {
		const plan_col *c = &t->cols[col];
		cf_error_set(ctx, CF_ERR_SQL, "could not mask column \"%s\" of \"%s\" with strategy "
		             "\"%s\": %s", c->sc->name, t->st->qname, c->rule->strategy, why);
		cf_error_detail(ctx, "At row %lld of the table (or of its range). The value is not "
		                     "shown: it is personal data.", row);
		if (c->rule->line)
			cf_error_hint(ctx, "The rule is at line %d of the rules file.", c->rule->line);
	} else {
		cf_error_set(ctx, CF_ERR_SQL, "could not read the COPY data of \"%s\": %s",
		             t->st->qname, why ? why : "malformed stream");
	}
	return CF_ERR_SQL;
}

/* Large masked tables are masked on several cores (pipe.c). */
#define PIPE_ROWS 50000

cf_status sync_stream(worker *w, plan_table *t, const char *out_sql, const char *in_sql,
                      long long est, const char *key, long long *rows, long long *bytes)
{
	runner *R = w->R;
	cf_ctx *ctx = w->ctx;
	cf_status st = cf_pg_copy_in_start(w->dst, in_sql);
	if (!st) {
		st = cf_pg_copy_out_start(w->src, out_sql);
		if (st) {
			if (table_is_masked(t))
				sync_scrub_error(ctx);
			cf_pg_copy_in_end(w->dst, "the source failed");
		}
	}
	if (st)
		return st;
	bool pass = !t->has_stream_masks;
	if (!pass && est >= PIPE_ROWS) {
		pipe_fail pf = {.col = -1};
		st = pipe_copy(R, ctx, w->src, w->dst, t, key, pipe_maskers(R->jobs), bytes, &pf);
		if (pf.source_failed && table_is_masked(t))
			sync_scrub_error(ctx);
		if (!pf.reader_done)
			abandon_source(w->src);
		if (st)
			cf_pg_copy_in_end(w->dst, "aborted by confiture");
		else
			st = cf_pg_copy_in_finish(w->dst, rows);
		return st;
	}
	stream s;
	if (!pass)
		stream_init(&s, t);
	long long msgs = 0;
	bool source_done = false;
	for (;;) {
		char *buf;
		long n = cf_pg_copy_out_read(w->src, &buf);
		if (n == 0) {
			source_done = true;
			break;
		}
		if (n < 0) {
			source_done = true;
			st = cf_error_code(ctx) ? cf_error_code(ctx) : CF_ERR_SQL;
			if (table_is_masked(t))
				sync_scrub_error(ctx);
			break;
		}
		msgs++;
		if (pass) {
			st = cf_pg_copy_in_put(w->dst, buf, (size_t)n);
			*bytes += n;
		} else if (!stream_feed(&s, buf, (size_t)n)) {
			st = sync_mask_error(ctx, t, s.fail_col, s.fail_why, s.rows + 1);
		} else if (s.out.len >= FLUSH_AT) {
			st = cf_pg_copy_in_put(w->dst, s.out.data, s.out.len);
			*bytes += (long long)s.out.len;
			cf_buf_reset(&s.out);
		}
		cf_pg_copy_free(buf);
		if (st)
			break;
		if ((msgs & 1023) == 0) {
			if (cf_ctx_is_cancelled(ctx)) {
				st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
				break;
			}
			if (atomic_load(&R->stop)) {
				st = cf_error_code(ctx) ? cf_error_code(ctx) : CF_ERR_CANCELLED;
				break;
			}
			cf_prog_item_part(R->prog, t->st->qname, key, msgs, msgs, *bytes);
		}
	}
	if (!st && !pass) {
		if (s.carry.len) {
			s.fail_why = "the stream ended inside a row";
			st = sync_mask_error(ctx, t, s.fail_col, s.fail_why, s.rows + 1);
		} else if (s.out.len) {
			st = cf_pg_copy_in_put(w->dst, s.out.data, s.out.len);
			*bytes += (long long)s.out.len;
		}
	}
	if (!source_done)
		abandon_source(w->src);
	if (st)
		cf_pg_copy_in_end(w->dst, "aborted by confiture");
	else
		st = cf_pg_copy_in_finish(w->dst, rows);
	if (!pass)
		stream_release(&s);
	return st;
}

/* A loaded table gets fresh statistics, so that the target's planner is warm
 * (--no-analyze skips it). A failure here only warns: the data is in. */
static void analyze_table(worker *w, const plan_table *t)
{
	runner *R = w->R;
	if (R->o->no_analyze)
		return;
	cf_prog_item_phase(R->prog, t->st->qname, "analyzing");
	/* sync.analyze_target trades the statistics' detail for time: ANALYZE
	 * samples 300 rows per unit of target (a 1M-row table: 0.4-0.6 s at
	 * PostgreSQL's default 100, 0.05 s at 10, bench/README.md). Columns with
	 * a target of their own keep it. */
	long target = R->ctx->cfg->sync.analyze_target;
	char *sql = target > 0 ? cf_sql_format(w->dst, "SET default_statistics_target = %ld; "
	                                       "ANALYZE %s; RESET default_statistics_target", target,
	                                       t->dt->quoted)
	                       : cf_sql_format(w->dst, "ANALYZE %s", t->dt->quoted);
	if (cf_pg_exec(w->dst, sql) != CF_OK) {
		cf_log_warning(R->ctx, "could not analyze \"%s\": %s", t->st->qname,
		               cf_last_error(w->ctx));
		cf_ctx_clear_error(w->ctx);
	}
	free(sql);
}

/* Done: counts go to the table; the last range of a split table fires
 * after_sync_table. ANALYZE only when something was written. */
cf_status sync_item_finished(worker *w, work_item *it, long long rows, long long bytes,
                             double dur, bool analyze)
{
	runner *R = w->R;
	plan_table *t = it->t;
	bool table_done = false;
	pthread_mutex_lock(&R->mu);
	t->rows += rows;
	t->bytes += bytes;
	t->duration_s += dur;
	if (it->range < 0) {
		table_done = true;
	} else {
		t->ranges_done++;
		table_done = t->ranges_done == t->n_ranges;
	}
	if (table_done)
		R->tables_done++;
	pthread_mutex_unlock(&R->mu);
	char *key = plan_item_key(t, it->range);
	cf_prog_item_part(R->prog, t->st->qname, key, rows, rows, bytes);
	free(key);
	if (table_done) {
		if (analyze)
			analyze_table(w, t);
		cf_prog_item_end(R->prog, t->st->qname, true, NULL);
	}
	cf_log_debug(R->ctx, "copied %s: %lld rows, %lld bytes in %.3f s", t->st->qname, rows, bytes,
	             dur);
	if (table_done && it->range >= 0)
		return sync_fire_table_hook(R, "after_sync_table", CF_HOOKS_ALL, t, w->dst, t->rows, 1,
		                            (long long)(t->duration_s * 1000));
	if (it->range < 0)
		return sync_fire_table_hook(R, "after_sync_table", CF_HOOKS_OUTSIDE, t, w->dst, rows, 1,
		                            (long long)(dur * 1000));
	return CF_OK;
}

/* Streams the rows of T (RANGE) from w->src into the table on w->dst. */
static cf_status stream_copy(worker *w, plan_table *t, int range, const char *key,
                             long long *rows, long long *bytes)
{
	char *in_sql = plan_copy_in_sql(w->dst, t, range < 0);
	char *out_sql = plan_copy_out_sql(w->src, t, range);
	cf_status st = sync_stream(w, t, out_sql, in_sql, t->est_rows, key, rows, bytes);
	free(in_sql);
	free(out_sql);
	return st;
}

/* The rows a full copy in an incremental run deletes: the target's. */
static cf_status count_rows(cf_pg *dst, const plan_table *t, long long *n)
{
	char *sql = cf_sql_format(dst, "SELECT count(*) FROM ONLY %s", t->dt->quoted);
	char *v = NULL;
	cf_status st = cf_pg_query_value(dst, sql, 0, NULL, &v);
	*n = v ? atoll(v) : 0;
	free(v);
	free(sql);
	return st;
}

/* An incremental run does not copy a table that is already in line. */
static cf_status skip_in_line(worker *w, work_item *it, bool *skipped)
{
	runner *R = w->R;
	plan_table *t = it->t;
	long long rows = 0;
	*skipped = false;
	cf_status st = sync_in_line(w->src, w->dst, t, &rows, skipped);
	if (st || !*skipped)
		return st;
	char *key = plan_item_key(t, it->range);
	const char *params[] = {R->run_id, key, "0", "0", "0"};
	st = cf_pg_exec_params(w->dst, SQL_ITEM_DONE, 5, params);
	free(key);
	t->unchanged = rows;
	t->has_diff = true;
	/* It holds the source as of this run: the next run can compare it. */
	if (!st)
		st = delta_state_save(R, w->dst, t, true);
	if (!st)
		st = sync_item_finished(w, it, 0, 0, 0, false);
	return st;
}

cf_status copy_item(worker *w, work_item *it)
{
	runner *R = w->R;
	cf_ctx *ctx = w->ctx;
	plan_table *t = it->t;
	bool whole = it->range < 0;
	if (R->o->incremental && whole) {
		bool skipped;
		cf_status st = skip_in_line(w, it, &skipped);
		if (st || skipped)
			return st;
	}
	double t0 = cf_now();
	char *key = plan_item_key(t, it->range);
	long long rows = 0, bytes = 0;
	cf_prog_item_begin(R->prog, t->st->qname, t->est_rows);
	/* Shell hooks and callbacks run outside the table's transaction (an
	 * "after" notification only for a committed table); SQL hooks inside. */
	cf_status st = whole ? sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_OUTSIDE, t,
	                                            w->dst, -1, -1, -1)
	                     : CF_OK;
	if (!st)
		st = cf_pg_begin(w->dst);
	if (!st && whole)
		st = sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_SQL, t, w->dst, -1, -1, -1);
	rebuild rb;
	cf_strv_init(&rb.create);
	if (!st && whole && R->o->incremental)
		st = count_rows(w->dst, t, &t->deleted);
	if (!st && whole)
		st = sync_backup_table(R, w->dst, t);
	if (!st && whole) {
		char *sql = cf_sql_format(w->dst, "TRUNCATE ONLY %s", t->dt->quoted);
		st = cf_pg_exec(w->dst, sql);
		free(sql);
	}
	if (!st && whole)
		st = drop_indexes(w->dst, t, &rb);
	if (!st)
		st = stream_copy(w, t, it->range, key, &rows, &bytes);
	if (!st && rb.create.n) {
		cf_prog_item_phase(R->prog, t->st->qname, "building indexes");
		st = build_indexes(w->dst, &rb);
	}
	cf_strv_release(&rb.create);
	double dur = cf_now() - t0;
	if (!st) {
		char r[32], b[32], d[32];
		snprintf(r, sizeof(r), "%lld", rows);
		snprintf(b, sizeof(b), "%lld", bytes);
		snprintf(d, sizeof(d), "%.6f", dur);
		const char *params[] = {R->run_id, key, r, b, d};
		st = cf_pg_exec_params(w->dst, SQL_ITEM_DONE, 5, params);
	}
	/* The table's record: an incremental run can start from here (a split
	 * table's is completed by the run once every range is in). */
	if (!st && whole)
		st = delta_state_save(R, w->dst, t, true);
	if (!st && whole)
		st = sync_fire_table_hook(R, "after_sync_table", CF_HOOKS_SQL, t, w->dst, rows, 1,
		                          (long long)(dur * 1000));
	if (!st)
		st = cf_pg_commit(w->dst);
	if (st) {
		cf_pg_rollback(w->dst);
		cf_prog_item_end(R->prog, t->st->qname, false,
		                 atomic_load(&R->stop) ? "stopped: another table failed"
		                                       : cf_last_error(ctx));
		cf_error_context(ctx, "while copying \"%s\" (its target transaction was rolled back)",
		                 key);
		free(key);
		return st;
	}
	free(key);
	if (R->o->incremental && whole) {
		t->added = rows;
		t->has_diff = true;
	}
	return sync_item_finished(w, it, rows, bytes, dur, true);
}
