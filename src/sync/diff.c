/*
 * diff.c -- the dry run's diff: what a sync would change, without writing.
 *
 * For every table: the rows on each side, and
 *   - for a table an incremental run can compare (delta.c): exactly what it
 *     would add, update and delete, found the same way, read-only: the
 *     changed rows' keys are looked up in the target (by key, in batches),
 *     the per-bucket key counts point at the buckets to compare, and those
 *     are merged key by key from two sorted streams;
 *   - for a table an incremental run would copy in full: with --incremental,
 *     that (its rows added, the target's deleted); otherwise, a table whose
 *     columns are not masked is in line when both sides have the same rows
 *     (counts and an order-independent checksum), and any other is taken to
 *     change.
 * The run then exits 1 when something would change, 0 when the target is in
 * line.
 */
#include "sync.h"
#include "error.h"
#include "json.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 5000

static cf_status count_of(cf_pg *pg, const plan_table *t, bool is_source, long long *n)
{
	char *sql = is_source ? plan_select_sql(pg, t, -1, "count(*)")
	                      : cf_sql_format(pg, "SELECT count(*) FROM ONLY %s", t->dt->quoted);
	char *v = NULL;
	cf_status st = cf_pg_query_value(pg, sql, 0, NULL, &v);
	*n = v ? atoll(v) : 0;
	free(v);
	free(sql);
	return st;
}

/* ---- Changed keys, looked up in the target ------------------------------------------------ */

typedef struct lookup {
	runner *R;
	plan_table *t;
	const delta_buckets *B;
	long long *added;        /* per bucket: changed keys the target lacks */
	long long updated;       /* changed keys the target has */
	cf_strv keys;            /* the batch: key texts */
	int *buckets;
} lookup;

/* The target's rows among the batch's keys, matched on the key's own
 * columns (so its index serves), as key texts. */
static char *lookup_sql(cf_pg *pg, const plan_table *t)
{
	const table_info *dt = t->dt;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "SELECT ");
	delta_key_text(pg, dt, "t", &b);
	cf_sql_appendf(pg, &b, " FROM ONLY %s t WHERE ", dt->quoted);
	if (dt->n_ukey == 1) {
		const col_info *k = &dt->cols[dt->ukey[0]];
		cf_sql_appendf(pg, &b, "t.%I = ANY(ARRAY(SELECT json_array_elements_text($1::json))::%s[])",
		               k->name, k->type);
		return b.data;
	}
	cf_buf_puts(&b, "(");
	for (size_t i = 0; i < dt->n_ukey; i++)
		cf_sql_appendf(pg, &b, "%st.%I", i ? ", " : "", dt->cols[dt->ukey[i]].name);
	cf_buf_puts(&b, ") IN (SELECT ");
	for (size_t i = 0; i < dt->n_ukey; i++)
		cf_sql_appendf(pg, &b, "%s(e::json ->> %zu)::%s", i ? ", " : "", i,
		               dt->cols[dt->ukey[i]].type);
	cf_buf_puts(&b, " FROM json_array_elements_text($1::json) e)");
	return b.data;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static cf_status flush(lookup *L)
{
	if (!L->keys.n)
		return CF_OK;
	cf_pg *dst = L->R->dst;
	cf_buf arr;
	cf_buf_init(&arr);
	cf_json j;
	cf_json_init(&j, &arr, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < L->keys.n; i++)
		cf_json_str(&j, L->keys.v[i]);
	cf_json_arr_end(&j);
	char *sql = lookup_sql(dst, L->t);
	cf_pgres *r = NULL;
	const char *params[] = {arr.data};
	cf_status st = cf_pg_query(dst, sql, 1, params, &r);
	free(sql);
	cf_buf_release(&arr);
	int n = st ? 0 : cf_pgres_nrows(r);
	char **found = cf_calloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
		found[i] = (char *)cf_pgres_get(r, i, 0);
	qsort(found, (size_t)n, sizeof(char *), cmp_str);
	for (size_t i = 0; !st && i < L->keys.n; i++) {
		const char *k = L->keys.v[i];
		if (bsearch(&k, found, (size_t)n, sizeof(char *), cmp_str))
			L->updated++;
		else
			L->added[L->buckets[i] >= 0 && L->buckets[i] < L->B->n ? L->buckets[i] : 0]++;
	}
	free(found);
	cf_pgres_free(r);
	cf_strv_release(&L->keys);
	cf_strv_init(&L->keys);
	return st;
}

/* One line of "COPY ... TO STDOUT" text: the key text, a tab, the bucket. */
static cf_status take_line(lookup *L, const char *line, long n)
{
	if (n > 0 && line[n - 1] == '\n')
		n--;
	const char *tab = memchr(line, '\t', (size_t)n);
	if (!tab)
		return CF_OK;
	cf_buf k;
	cf_buf_init(&k);
	copy_text_unescape(line, (size_t)(tab - line), &k);
	L->buckets[L->keys.n] = atoi(tab + 1);
	cf_strv_push(&L->keys, k.data);
	cf_buf_release(&k);
	return L->keys.n >= BATCH ? flush(L) : CF_OK;
}

/* Streams the keys of the source's changed rows and looks them up. */
static cf_status changed_keys(runner *R, plan_table *t, lookup *L)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "COPY (SELECT ");
	delta_key_text(R->src, t->st, NULL, &b);
	cf_buf_puts(&b, ", ");
	delta_bucket(R->src, t->st, NULL, L->B, &b);
	cf_sql_appendf(R->src, &b, " FROM ONLY %s WHERE (%s)", t->st->quoted, t->changed_pred);
	if (t->pred)
		cf_buf_printf(&b, " AND (%s)", t->pred);
	cf_buf_puts(&b, ") TO STDOUT");
	cf_status st = cf_pg_copy_out_start(R->src, b.data);
	cf_buf_release(&b);
	char *buf;
	long n;
	while (!st && (n = cf_pg_copy_out_read(R->src, &buf)) != 0) {
		if (n < 0)
			return cf_error_code(R->ctx) ? cf_error_code(R->ctx) : CF_ERR_SQL;
		st = take_line(L, buf, n);
		cf_pg_copy_free(buf);
	}
	if (!st)
		st = flush(L);
	return st;
}

/* ---- Buckets compared key by key ----------------------------------------------------------- */

/* Next key of a sorted COPY stream, unescaped into K; false at its end. */
static bool next_key(cf_pg *pg, cf_buf *k, bool *failed)
{
	char *buf;
	long n = cf_pg_copy_out_read(pg, &buf);
	if (n <= 0) {
		*failed = n < 0;
		return false;
	}
	cf_buf_reset(k);
	copy_text_unescape(buf, (size_t)(n > 0 && buf[n - 1] == '\n' ? n - 1 : n), k);
	cf_pg_copy_free(buf);
	return true;
}

/* Merges the two sides' sorted keys of BUCKETS: counts keys only the target
 * has and keys only the source has. */
static cf_status merge_keys(runner *R, const plan_table *t, const delta_buckets *B,
                            const char *buckets,
                            long long *only_dst, long long *only_src)
{
	char *s_sql = delta_keys_copy_sql(R->src, t, true, B, buckets);
	char *d_sql = delta_keys_copy_sql(R->dst, t, false, B, buckets);
	cf_status st = cf_pg_copy_out_start(R->src, s_sql);
	if (!st)
		st = cf_pg_copy_out_start(R->dst, d_sql);
	free(s_sql);
	free(d_sql);
	if (st)
		return st;
	cf_buf a, b;
	cf_buf_init(&a);
	cf_buf_init(&b);
	bool fa = false, fb = false;
	bool ha = next_key(R->src, &a, &fa), hb = next_key(R->dst, &b, &fb);
	while (ha || hb) {
		int c = !ha ? 1 : !hb ? -1 : strcmp(a.data, b.data);
		if (c < 0)
			(*only_src)++;
		else if (c > 0)
			(*only_dst)++;
		if (c <= 0)
			ha = next_key(R->src, &a, &fa);
		if (c >= 0)
			hb = next_key(R->dst, &b, &fb);
	}
	cf_buf_release(&a);
	cf_buf_release(&b);
	if (fa || fb)
		return cf_error_code(R->ctx) ? cf_error_code(R->ctx) : CF_ERR_SQL;
	return CF_OK;
}

/* ---- One table ------------------------------------------------------------------------------- */

static cf_status diff_incremental(runner *R, plan_table *t)
{
	delta_buckets B = {0};
	cf_status st = delta_buckets_plan(R->src, t, &B);
	if (st) {
		delta_buckets_release(&B);
		return st;
	}
	int nb = B.n;
	lookup L = {.R = R, .t = t, .B = &B};
	L.added = cf_calloc((size_t)nb, sizeof(long long));
	L.buckets = cf_calloc(BATCH + 1, sizeof(int));
	cf_strv_init(&L.keys);
	long long *src = cf_calloc((size_t)nb, sizeof(long long));
	long long *diff = cf_calloc((size_t)nb, sizeof(long long));
	st = changed_keys(R, t, &L);
	long long added_c = 0, added_in = 0, only_dst = 0, only_src = 0;
	for (int k = 0; k < nb; k++)
		added_c += L.added[k];
	bool per_bucket = !st;
	if (per_bucket)
		st = delta_bucket_counts(R->src, t, true, &B, src, NULL);
	if (per_bucket && !st)
		st = delta_bucket_counts(R->dst, t, false, &B, diff, NULL);
	for (int k = 0; per_bucket && k < nb; k++) {
		diff[k] += L.added[k] - src[k];
		if (diff[k])
			added_in += L.added[k];
	}
	char *buckets = per_bucket && !st ? delta_bucket_list(diff, nb) : NULL;
	if (buckets)
		st = merge_keys(R, t, &B, buckets, &only_dst, &only_src);
	free(buckets);
	/* Source-only keys of the compared buckets: the new changed rows there,
	 * and rows the target lost on its own. */
	t->added = added_c + (only_src - added_in);
	t->updated = L.updated;
	t->deleted = only_dst;
	t->unchanged = t->src_count - t->added - t->updated;
	t->has_diff = !st;
	cf_strv_release(&L.keys);
	free(L.added);
	free(L.buckets);
	free(src);
	free(diff);
	delta_buckets_release(&B);
	return st;
}

cf_status sync_in_line(cf_pg *src, cf_pg *dst, const plan_table *t, long long *rows,
                       bool *in_line)
{
	*in_line = false;
	if (t->has_stream_masks || t->has_pushdown)
		return CF_OK;
	char *se = sync_checksum_expr(src, t, true), *de = sync_checksum_expr(dst, t, false);
	cf_status st = CF_OK;
	if (se && de) {
		char *list_s = cf_asprintf("count(*) || '/' || %s", se);
		char *list_d = cf_asprintf("count(*) || '/' || %s", de);
		char *s_sql = plan_select_sql(src, t, -1, list_s);
		char *d_sql = cf_sql_format(dst, "SELECT %s FROM ONLY %s", list_d, t->dt->quoted);
		char *a = NULL, *b = NULL;
		st = cf_pg_query_value(src, s_sql, 0, NULL, &a);
		if (!st)
			st = cf_pg_query_value(dst, d_sql, 0, NULL, &b);
		*in_line = !st && a && b && strcmp(a, b) == 0;
		if (*in_line)
			*rows = atoll(a);
		free(a);
		free(b);
		free(s_sql);
		free(d_sql);
		free(list_s);
		free(list_d);
	}
	free(se);
	free(de);
	return st;
}

/* A table a sync would copy in full: in line when it holds the same rows
 * (its columns unmasked: counts and checksums, which an incremental run
 * checks too before copying); else, with --incremental, what the full copy
 * would do, and without, taken to change. */
static cf_status diff_full(runner *R, plan_table *t)
{
	bool in_line = false;
	long long rows = 0;
	cf_status st = sync_in_line(R->src, R->dst, t, &rows, &in_line);
	if (!st && in_line) {
		t->unchanged = rows;
		t->has_diff = true;
	} else if (!st && R->o->incremental) {
		t->added = t->src_count;
		t->deleted = t->dst_count;
		t->has_diff = true;
	}
	return st;
}

static bool changes(const plan_table *t)
{
	return !t->has_diff || t->added || t->updated || t->deleted;
}

cf_status sync_dry_diff(runner *R)
{
	cf_prog_phase(R->prog, "diffing", (long)R->p->n);
	cf_status st = CF_OK;
	size_t n_changing = 0;
	for (size_t i = 0; !st && i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		cf_prog_phase_step(R->prog, (long)i);
		st = count_of(R->src, t, true, &t->src_count);
		if (!st)
			st = count_of(R->dst, t, false, &t->dst_count);
		if (!st)
			st = t->mode == TM_INCREMENTAL ? diff_incremental(R, t) : diff_full(R, t);
		n_changing += !st && changes(t);
	}
	if (st) {
		cf_error_context(R->ctx, "while comparing the source with the target");
		return st;
	}
	if (!n_changing) {
		cf_log_info(R->ctx, "the target is in line with the source: nothing would change");
		return CF_OK;
	}
	cf_error_set(R->ctx, CF_ERR_CHECK, "%zu of %zu table%s would change", n_changing, R->p->n,
	             R->p->n == 1 ? "" : "s");
	cf_error_hint(R->ctx, "This was a dry run: nothing was written. Run without --dry-run to "
	                      "sync.");
	return CF_ERR_CHECK;
}
