/*
 * plan.c -- cutting a table into key ranges.
 *
 * Ranges are half-open, [lo, hi), and the first and the last are open-ended:
 * whatever the statistics say, every row falls in exactly one range. The
 * cut points only decide how big the ranges are, so they come from the
 * cheapest good source: the planner's histogram of the key, else min/max
 * for integer keys, else one ordered pass over the key's index.
 */
#include "s2s.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long s2s_recommend_batch(double rows, long long bytes, bool has_key)
{
	if (!has_key)
		return rows > 0 ? (long)rows : 0;
	/* About 8 MiB of rows per transaction: long enough to amortize the
	 * round trips, short enough that a rerun repeats little. */
	double avg = rows > 0 && bytes > 0 ? (double)bytes / rows : 100.0;
	double b = 8.0 * 1024 * 1024 / (avg < 16 ? 16 : avg);
	if (b < 1000)
		b = 1000;
	if (b > 100000)
		b = 100000;
	double p = pow(10, floor(log10(b)));
	double m = b / p;
	return (long)(p * (m >= 5 ? 5 : m >= 2 ? 2 : 1));
}

static bool is_integer_type(const char *type)
{
	return strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
	       strcmp(type, "smallint") == 0;
}

/* Rows of the source relation: the estimate, or a count when there is none. */
static cf_status source_rows(cf_pg *src, const s2s_table *t, double *rows)
{
	*rows = t->src.reltuples;
	char k = t->src.relkind;
	if (*rows >= 0 && (k == 'r' || k == 'm' || k == 'p'))
		return CF_OK;
	char *sql = cf_sql_format(src, "SELECT count(*) FROM %I.%I", t->ft.remote_schema,
	                          t->ft.remote_name);
	char *v = NULL;
	cf_status st = cf_pg_query_value(src, sql, 0, NULL, &v);
	*rows = v ? strtod(v, NULL) : 0;
	free(v);
	free(sql);
	return st;
}

static cf_status histogram(cf_pg *src, const s2s_table *t, cf_strv *out)
{
	const char *p[] = {t->ft.remote_schema, t->ft.remote_name, t->key};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(
		src,
		"SELECT u.b FROM (SELECT histogram_bounds FROM pg_catalog.pg_stats"
		"                  WHERE schemaname = $1 AND tablename = $2 AND attname = $3"
		"                  ORDER BY inherited DESC LIMIT 1) s,"
		"     pg_catalog.unnest(s.histogram_bounds::text::text[]) WITH ORDINALITY u(b, o)"
		" ORDER BY u.o",
		3, p, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_strv_push(out, cf_pgres_get(res, i, 0));
	cf_pgres_free(res);
	return st;
}

static void push_distinct_ll(cf_strv *bounds, long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", v);
	if (bounds->n && strcmp(bounds->v[bounds->n - 1], buf) == 0)
		return;
	cf_strv_push(bounds, buf);
}

/* Integer keys: equal-frequency cuts, interpolated inside the histogram's
 * buckets (or between min and max when there is no histogram). */
static cf_status integer_bounds(cf_pg *src, const s2s_table *t, long n_ranges, cf_strv *hist,
                                cf_strv *bounds)
{
	long double *h = NULL;
	size_t n = hist->n;
	cf_status st = CF_OK;
	if (n >= 2) {
		h = cf_calloc(n, sizeof(*h));
		for (size_t i = 0; i < n; i++)
			h[i] = strtold(hist->v[i], NULL);
	} else {
		char *sql = cf_sql_format(src, "SELECT min(%I)::text, max(%I)::text FROM %I.%I", t->key,
		                          t->key, t->ft.remote_schema, t->ft.remote_name);
		cf_pgres *res = NULL;
		st = cf_pg_query(src, sql, 0, NULL, &res);
		free(sql);
		if (!st && cf_pgres_get(res, 0, 0)) {
			n = 2;
			h = cf_calloc(n, sizeof(*h));
			h[0] = strtold(cf_pgres_get(res, 0, 0), NULL);
			h[1] = strtold(cf_pgres_get(res, 0, 1), NULL) + 1;
		}
		cf_pgres_free(res);
	}
	for (long i = 1; !st && h && i < n_ranges; i++) {
		long double pos = (long double)i * (long double)(n - 1) / (long double)n_ranges;
		size_t b = (size_t)pos;
		if (b >= n - 1)
			b = n - 2;
		long double v = h[b] + (pos - (long double)b) * (h[b + 1] - h[b]);
		push_distinct_ll(bounds, (long long)ceill(v));
	}
	free(h);
	return st;
}

/* Other keys: histogram points when there are enough, else every BATCH-th
 * key in one ordered pass (an index scan of the primary key). */
static cf_status other_bounds(cf_pg *src, const s2s_table *t, long n_ranges, long batch,
                              cf_strv *hist, cf_strv *bounds)
{
	if (hist->n >= 2 && (long)hist->n - 1 >= n_ranges) {
		size_t last = hist->n - 1;
		for (long i = 1; i < n_ranges; i++) {
			const char *v = hist->v[(size_t)((double)i * (double)last / (double)n_ranges)];
			if (!bounds->n || strcmp(bounds->v[bounds->n - 1], v) != 0)
				cf_strv_push(bounds, v);
		}
		return CF_OK;
	}
	char *sql = cf_sql_format(src,
	                          "SELECT k::text FROM (SELECT %I AS k, row_number() OVER (ORDER BY "
	                          "%I) AS rn FROM %I.%I) x WHERE rn %% $1 = 0 GROUP BY k ORDER BY k",
	                          t->key, t->key, t->ft.remote_schema, t->ft.remote_name);
	char every[32];
	snprintf(every, sizeof(every), "%ld", batch);
	const char *p[] = {every};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(src, sql, 1, p, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_strv_push(bounds, cf_pgres_get(res, i, 0));
	cf_pgres_free(res);
	free(sql);
	return st;
}

cf_status s2s_plan_bounds(cf_pg *src, const s2s_table *t, long batch, cf_strv *bounds)
{
	if (!t->key || batch <= 0)
		return CF_OK;
	double rows = 0;
	cf_status st = source_rows(src, t, &rows);
	long n_ranges = (long)ceil(rows / (double)batch);
	if (st || n_ranges <= 1)
		return st;
	cf_strv hist;
	cf_strv_init(&hist);
	st = histogram(src, t, &hist);
	if (!st && is_integer_type(t->key_type))
		st = integer_bounds(src, t, n_ranges, &hist, bounds);
	else if (!st)
		st = other_bounds(src, t, n_ranges, batch, &hist, bounds);
	cf_log_debug(cf_pg_ctx(src), "%s: %.0f rows, %zu ranges of about %ld rows (%s)",
	             t->e->name, rows, bounds->n + 1, batch,
	             hist.n >= 2 ? "from the key's histogram" : "from the key itself");
	cf_strv_release(&hist);
	return st;
}
