/*
 * verify.c -- s2s verify: the same checksum computed on both sides.
 *
 * Per row, each copied column is hashed with the extended hash function of
 * its (target) type and a per-column seed, and the column hashes are XORed;
 * the table's checksum is the count and the SUM of the row hashes. A sum
 * does not depend on row order, and unlike an XOR of rows it notices values
 * swapped between rows. Every function is built-in and immutable, so
 * postgres_fdw runs the source side's aggregate on the source server: one
 * row comes back instead of the table. Both sides run at the same time, on
 * two target sessions.
 *
 * On a difference, the same aggregate grouped by key range (width_bucket
 * over the plan's cut points) finds the first differing range, and a join
 * of the two sides within that range finds the first differing key.
 */
#include "s2s.h"
#include "ctx.h"
#include "hash.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A query run on another thread while this one runs the other side. */
typedef struct side {
	cf_pg *pg;
	char *sql;
	const char *const *params;
	int nparams;
	cf_pgres *res;
	cf_status st;
	pthread_t thread;
} side;

static void *side_main(void *arg)
{
	side *s = arg;
	s->st = cf_pg_query(s->pg, s->sql, s->nparams, s->params, &s->res);
	return NULL;
}

/* Runs A on this thread and B on another, both to completion. */
static cf_status run_both(cf_ctx *ctx, side *a, side *b)
{
	bool threaded = pthread_create(&b->thread, NULL, side_main, b) == 0;
	side_main(a);
	if (threaded)
		pthread_join(b->thread, NULL);
	else
		side_main(b);
	(void)ctx;
	return a->st ? a->st : b->st;
}

static void side_release(side *s)
{
	cf_pgres_free(s->res);
	free(s->sql);
	s->res = NULL;
	s->sql = NULL;
}

static char *checksum_text(const char *count, const char *sum)
{
	char *raw = cf_asprintf("%s:%s", count, sum ? sum : "0");
	char hex[CF_SHA256_HEX_LEN + 1];
	cf_sha256_hex(raw, strlen(raw), hex);
	free(raw);
	hex[16] = '\0';
	return cf_strdup(hex);
}

static char *source_sql(cf_pg *pg, const s2s_run *run, const s2s_table *t, const char *select,
                        const char *extra_where, const char *tail)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_sql_appendf(pg, &b, "SELECT %s FROM %I.%I AS s", select, run->staging, t->ft.name);
	if (t->e->where)
		cf_buf_printf(&b, " WHERE (%s)", t->e->where); /* the mapping's filter */
	if (extra_where)
		cf_buf_printf(&b, "%s%s", t->e->where ? " AND " : " WHERE ", extra_where);
	if (tail)
		cf_buf_printf(&b, " %s", tail);
	return b.data;
}

static cf_status check_pushdown(s2s_run *run, cf_pg *pg, const char *sql, bool *out)
{
	char *explain = cf_asprintf("EXPLAIN (VERBOSE) %s", sql);
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, explain, 0, NULL, &res);
	*out = false;
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		if (strstr(cf_pgres_get(res, i, 0), "Aggregate on"))
			*out = true;
	cf_pgres_free(res);
	free(explain);
	(void)run;
	return st;
}

/* The plan's cut points when migrate stored one, else fresh ones. */
static cf_status bounds_for(s2s_run *run, const s2s_table *t, cf_strv *bounds)
{
	char *sql = cf_sql_format(run->tgt,
	                          "SELECT u.b FROM %I.confiture_s2s_plan p,"
	                          "       pg_catalog.unnest(p.bounds) WITH ORDINALITY u(b, o)"
	                          " WHERE p.target_table = $1 AND p.key_column = $2 ORDER BY u.o",
	                          run->staging);
	const char *p[] = {t->tgt.display, t->key};
	cf_pgres *res = NULL;
	/* The progress table is absent when verify runs before any migrate. */
	char *exists = NULL;
	char *reg = cf_sql_format(run->tgt, "%I.confiture_s2s_plan", run->staging);
	const char *q[] = {reg};
	cf_status st = cf_pg_query_value(run->tgt, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1,
	                                 q, &exists);
	if (!st && exists && exists[0] == 't')
		st = cf_pg_query(run->tgt, sql, 2, p, &res);
	free(exists);
	free(reg);
	for (int i = 0; !st && res && i < cf_pgres_nrows(res); i++)
		cf_strv_push(bounds, cf_pgres_get(res, i, 0));
	bool found = res && cf_pgres_nrows(res) > 0;
	cf_pgres_free(res);
	free(sql);
	if (!st && !found && run->src) {
		long batch = run->ctx->cfg->s2s.batch_size > 0 ? run->ctx->cfg->s2s.batch_size : 10000;
		st = s2s_plan_bounds(run->src, t, batch, bounds);
	}
	return st;
}

/* The first key range whose count or checksum differs: bucket numbers as
 * width_bucket gives them (0 is below the first cut point). */
static cf_status first_range(s2s_run *run, cf_pg *other, const s2s_table *t, cf_strv *bounds,
                             long *bucket)
{
	*bucket = -1;
	char *arr = s2s_text_array((const char *const *)bounds->v, bounds->n);
	const char *p[] = {arr};
	side a = {.pg = run->tgt, .params = p, .nparams = 1};
	side b = {.pg = other, .params = p, .nparams = 1};
	char *sel = cf_sql_format(run->tgt,
	                          "pg_catalog.width_bucket(s.%I, $1::%s[]), count(*), sum(%s)::text",
	                          t->key, t->key_type, t->src_hash);
	b.sql = source_sql(run->tgt, run, t, sel, NULL, "GROUP BY 1 ORDER BY 1");
	a.sql = cf_sql_format(run->tgt,
	                      "SELECT pg_catalog.width_bucket(%s, $1::%s[]), count(*), sum(%s)::text"
	                      "  FROM %s AS t GROUP BY 1 ORDER BY 1",
	                      t->tgt_key_expr, t->key_type, t->tgt_hash, t->tgt.qual);
	cf_status st = run_both(run->ctx, &a, &b);
	int na = st ? 0 : cf_pgres_nrows(a.res), nb = st ? 0 : cf_pgres_nrows(b.res);
	for (int i = 0, k = 0; !st && (i < na || k < nb);) {
		long ba = i < na ? atol(cf_pgres_get(a.res, i, 0)) : -1;
		long bb = k < nb ? atol(cf_pgres_get(b.res, k, 0)) : -1;
		if (ba < 0 || (bb >= 0 && bb < ba)) {
			*bucket = bb;
			break;
		}
		if (bb < 0 || ba < bb) {
			*bucket = ba;
			break;
		}
		const char *sa = cf_pgres_get(a.res, i, 2), *sb = cf_pgres_get(b.res, k, 2);
		if (strcmp(cf_pgres_get(a.res, i, 1), cf_pgres_get(b.res, k, 1)) != 0 ||
		    strcmp(sa ? sa : "", sb ? sb : "") != 0) {
			*bucket = ba;
			break;
		}
		i++;
		k++;
	}
	side_release(&a);
	side_release(&b);
	free(sel);
	free(arr);
	return st;
}

/* Within one range: the first key present on one side only, or whose row
 * hash differs. Both sides are read on the target (the source through the
 * foreign table), so one FULL JOIN compares them. */
static cf_status first_key(s2s_run *run, const s2s_table *t, const char *lo, const char *hi,
                           char **out)
{
	cf_pg *pg = run->tgt;
	const char *p[2];
	int np = 0;
	cf_buf sw, tw;
	cf_buf_init(&sw);
	cf_buf_init(&tw);
	if (lo) {
		p[np++] = lo;
		cf_sql_appendf(pg, &sw, "s.%I >= $%d::%s", t->key, np, t->key_type);
		cf_buf_printf(&tw, " WHERE %s >= $%d::%s", t->tgt_key_expr, np, t->key_type);
	}
	if (hi) {
		p[np++] = hi;
		cf_sql_appendf(pg, &sw, "%ss.%I < $%d::%s", sw.len ? " AND " : "", t->key, np,
		               t->key_type);
		cf_buf_printf(&tw, "%s%s < $%d::%s", tw.len ? " AND " : " WHERE ", t->tgt_key_expr, np,
		              t->key_type);
	}
	char *sel = cf_sql_format(pg, "s.%I AS k, %s AS h", t->key, t->src_hash);
	char *src = source_sql(pg, run, t, sel, sw.len ? sw.data : NULL, NULL);
	char *sql = cf_sql_format(pg,
	                          "WITH a AS (%s), b AS (SELECT %s AS k, %s AS h FROM %s AS t%s)"
	                          " SELECT coalesce(a.k, b.k)::text FROM a FULL JOIN b ON a.k = b.k"
	                          " WHERE a.k IS NULL OR b.k IS NULL OR a.h <> b.h"
	                          " ORDER BY coalesce(a.k, b.k) LIMIT 1",
	                          src, t->tgt_key_expr, t->tgt_hash, t->tgt.qual, tw.data);
	cf_status st = cf_pg_query_value(pg, sql, np, p, out);
	free(sql);
	free(src);
	free(sel);
	cf_buf_release(&sw);
	cf_buf_release(&tw);
	return st;
}

static cf_status locate_difference(s2s_run *run, cf_pg *other, const s2s_table *t,
                                   cf_s2s_table *out)
{
	if (!t->key || !t->tgt_key_expr)
		return CF_OK; /* no key copied as is: nothing to cut both sides on */
	cf_strv bounds;
	cf_strv_init(&bounds);
	long b = -1;
	cf_status st = bounds_for(run, t, &bounds);
	if (!st)
		st = first_range(run, other, t, &bounds, &b);
	if (!st && b >= 0) {
		const char *lo = b > 0 && (size_t)b - 1 < bounds.n ? bounds.v[b - 1] : NULL;
		const char *hi = (size_t)b < bounds.n ? bounds.v[b] : NULL;
		out->has_diff_range = true;
		out->diff_range_lo = cf_strdup(lo);
		out->diff_range_hi = cf_strdup(hi);
		st = first_key(run, t, lo, hi, &out->first_diff_key);
	}
	cf_strv_release(&bounds);
	return st;
}

static void fill_columns(const s2s_table *t, cf_s2s_table *out)
{
	out->checked_columns = cf_calloc(t->checked.n + 1, sizeof(char *));
	for (size_t i = 0; i < t->checked.n; i++)
		out->checked_columns[out->n_checked_columns++] = cf_strdup(t->checked.v[i]);
	out->unchecked_columns = cf_calloc(t->unchecked.n + 1, sizeof(char *));
	for (size_t i = 0; i < t->unchecked.n; i++)
		out->unchecked_columns[out->n_unchecked_columns++] = cf_strdup(t->unchecked.v[i]);
}

static cf_status verify_table(s2s_run *run, cf_pg *other, const s2s_table *t, cf_s2s_table *out)
{
	char *sel = cf_asprintf("count(*), sum(%s)::text", t->src_hash);
	side b = {.pg = other, .sql = source_sql(run->tgt, run, t, sel, NULL, NULL)};
	side a = {.pg = run->tgt, .sql = cf_sql_format(run->tgt,
	                                                "SELECT count(*), sum(%s)::text FROM %s AS t",
	                                                t->tgt_hash, t->tgt.qual)};
	free(sel);
	cf_status st = check_pushdown(run, other, b.sql, &out->is_pushed_down);
	if (!st && !out->is_pushed_down)
		cf_log_warning(run->ctx,
		               "%s: the source side of the checksum cannot run on the source server "
		               "(a cast or type postgres_fdw does not ship): every row is fetched",
		               t->tgt.display);
	if (!st)
		st = run_both(run->ctx, &a, &b);
	if (!st) {
		out->target_rows = atoll(cf_pgres_get(a.res, 0, 0));
		out->source_rows = atoll(cf_pgres_get(b.res, 0, 0));
		out->target_checksum = checksum_text(cf_pgres_get(a.res, 0, 0), cf_pgres_get(a.res, 0, 1));
		out->source_checksum = checksum_text(cf_pgres_get(b.res, 0, 0), cf_pgres_get(b.res, 0, 1));
		out->is_match = out->source_rows == out->target_rows &&
		                strcmp(out->source_checksum, out->target_checksum) == 0;
	}
	side_release(&a);
	side_release(&b);
	if (!st && !out->is_match)
		st = locate_difference(run, other, t, out);
	if (st)
		st = s2s_fdw_error(run, st);
	return st;
}

static void describe(cf_buf *d, const cf_s2s_table *t)
{
	cf_buf_printf(d, "%s%s: ", d->len ? "\n" : "", t->target_table);
	if (t->source_rows != t->target_rows)
		cf_buf_printf(d, "%lld rows in the source, %lld in the target", t->source_rows,
		              t->target_rows);
	else
		cf_buf_printf(d, "%lld rows on both sides, checksums differ", t->source_rows);
	if (t->has_diff_range)
		cf_buf_printf(d, "; first difference in %s range [%s, %s)", t->key_column,
		              t->diff_range_lo ? t->diff_range_lo : "start",
		              t->diff_range_hi ? t->diff_range_hi : "end");
	if (t->first_diff_key)
		cf_buf_printf(d, ", at %s = %s", t->key_column, t->first_diff_key);
}

static cf_status do_verify(s2s_run *run)
{
	s2s_mapping m = {0};
	s2s_table *tables = NULL;
	size_t n = 0;
	cf_pg *other = NULL;
	cf_status st = s2s_require_setup(run);
	if (!st)
		st = s2s_probe_source(run, run->tgt);
	if (!st)
		st = s2s_tables_load(run, false, true, &m, &tables, &n);
	for (size_t i = 0; !st && i < n; i++)
		s2s_result_table(run, tables[i].e->name);
	if (!st)
		st = s2s_connect_target(run, &other);
	/* The checksum queries are short and wide: JIT would cost more than it saves. */
	if (!st)
		st = cf_pg_exec(run->tgt, "SET jit = off");
	if (!st)
		st = cf_pg_exec(other, "SET jit = off");
	cf_buf detail;
	cf_buf_init(&detail);
	for (size_t i = 0; !st && i < n; i++) {
		const s2s_table *t = &tables[i];
		cf_s2s_table *out = &run->res->tables[i];
		out->source_table = cf_asprintf("%s.%s", t->ft.remote_schema, t->ft.remote_name);
		out->target_table = cf_strdup(t->tgt.display);
		out->key_column = cf_strdup(t->key);
		fill_columns(t, out);
		double t0 = cf_now();
		st = s2s_table_hook(run, run->tgt, "before_s2s_step", t->tgt.display, -1, -1, -1, NULL);
		if (!st)
			st = verify_table(run, other, t, out);
		out->duration_s = cf_now() - t0;
		out->status = cf_strdup(st ? "failed" : out->is_match ? "match" : "mismatch");
		if (!st && !out->is_match) {
			run->res->n_mismatches++;
			describe(&detail, out);
		}
		char *err = st ? cf_strdup(cf_last_error(run->ctx)) : NULL;
		cf_status hst = s2s_table_hook(run, run->tgt, "after_s2s_step", t->tgt.display,
		                               out->target_rows, st == CF_OK && out->is_match,
		                               out->duration_s, err);
		free(err);
		if (!st)
			st = hst;
	}
	cf_pg_close(other);
	if (!st && run->res->n_mismatches) {
		run->res->changes_detected = true;
		st = cf_error_set(run->ctx, CF_ERR_CHECK, "verify found differences in %zu of %zu table%s",
		                  run->res->n_mismatches, n, n == 1 ? "" : "s");
		cf_error_detail(run->ctx, "%s", detail.data);
		cf_error_hint(run->ctx, "Rows changed on the source since the copy? Run \"confiture s2s "
		                        "migrate --upsert\" to catch up, then verify again.");
	} else if (!st) {
		s2s_result_message(run, "%zu table%s match%s", n, n == 1 ? "" : "s", n == 1 ? "es" : "");
	}
	cf_buf_release(&detail);
	s2s_tables_free(tables, n);
	s2s_mapping_release(&m);
	return st;
}

cf_status cf_s2s_verify(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out)
{
	s2s_run run;
	cf_status st = s2s_run_start(&run, ctx, opts, "verify", true, out);
	if (!st)
		st = do_verify(&run);
	return s2s_run_finish(&run, st);
}
