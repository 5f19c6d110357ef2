/*
 * verify.c -- --verify: after the load, checks that
 *   - row counts match (the source counted in the run's snapshot, through
 *     the same subset predicate),
 *   - a checksum over the columns that are not masked matches,
 *   - masked columns hold none of the sampled source values (the whole
 *     column for strategies whose output cannot collide by chance, each
 *     sampled row for the others),
 *   - no foreign key of the target has orphans.
 * Findings are issues (never with a value in them) and make the run fail
 * with CF_ERR_CHECK.
 */
#include "sync.h"
#include "error.h"
#include "json.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static cf_status value_of(cf_pg *pg, const char *sql, int n, const char *const *params,
                          char **out)
{
	return cf_pg_query_value(pg, sql, n, params, out);
}

static bool is_masked(const plan_col *c)
{
	return c->rule != NULL;
}

/* The order-independent checksum of the unmasked columns, as SQL over the
 * table's rows. On the source, columns are cast to the target's types
 * through text (what COPY does), so both sides print the same. */
static char *checksum_expr(cf_pg *pg, const plan_table *t, bool source)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "coalesce(sum(('x' || substr(md5(ROW(");
	size_t n = 0;
	for (size_t i = 0; i < t->n_cols; i++) {
		const plan_col *c = &t->cols[i];
		if (is_masked(c))
			continue;
		if (source && !t->is_binary && strcmp(c->sc->type, c->dc->type) != 0)
			cf_sql_appendf(pg, &b, "%s%I::text::%s", n++ ? ", " : "", c->sc->name, c->dc->type);
		else
			cf_sql_appendf(pg, &b, "%s%I", n++ ? ", " : "", c->sc->name);
	}
	cf_buf_puts(&b, ")::text), 1, 15))::bit(60)::bigint), 0)");
	if (n == 0) {
		cf_buf_release(&b);
		return NULL;
	}
	return b.data;
}

static cf_status check_counts(runner *R, plan_table *t, bool *ok)
{
	char *src_sql = plan_select_sql(R->src, t, -1, "count(*)");
	char *dst_sql = cf_sql_format(R->dst, "SELECT count(*) FROM ONLY %s", t->dt->quoted);
	char *a = NULL, *b = NULL;
	cf_status st = value_of(R->src, src_sql, 0, NULL, &a);
	if (!st)
		st = value_of(R->dst, dst_sql, 0, NULL, &b);
	if (!st && strcmp(a, b) != 0) {
		plan_issue(R->p, t->st->qname, NULL, "row_count", "\"%s\" has %s rows in the source but %s "
		           "in the target", t->st->qname, a, b);
		*ok = false;
	}
	free(src_sql);
	free(dst_sql);
	free(a);
	free(b);
	return st;
}

static cf_status check_checksum(runner *R, plan_table *t, bool *ok)
{
	char *se = checksum_expr(R->src, t, true), *de = checksum_expr(R->dst, t, false);
	cf_status st = CF_OK;
	if (se && de) {
		char *src_sql = plan_select_sql(R->src, t, -1, se);
		char *dst_sql = cf_sql_format(R->dst, "SELECT %s FROM ONLY %s", de, t->dt->quoted);
		char *a = NULL, *b = NULL;
		st = value_of(R->src, src_sql, 0, NULL, &a);
		if (!st)
			st = value_of(R->dst, dst_sql, 0, NULL, &b);
		if (!st && strcmp(a, b) != 0) {
			plan_issue(R->p, t->st->qname, NULL, "checksum", "the unmasked columns of \"%s\" "
			           "differ between the source and the target", t->st->qname);
			*ok = false;
		}
		free(src_sql);
		free(dst_sql);
		free(a);
		free(b);
	}
	free(se);
	free(de);
	return st;
}

/* A JSON array of the result's first column (values of masked columns:
 * wiped by the caller). */
static char *json_column(const cf_pgres *r, int col)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_arr_begin(&j);
	for (int i = 0; i < cf_pgres_nrows(r); i++)
		cf_json_str(&j, cf_pgres_get(r, i, col));
	cf_json_arr_end(&j);
	return b.data;
}

static char *json_pairs(const cf_pgres *r)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_arr_begin(&j);
	for (int i = 0; i < cf_pgres_nrows(r); i++) {
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "k", cf_pgres_get(r, i, 0));
		cf_json_kv_str(&j, "v", cf_pgres_get(r, i, 1));
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	return b.data;
}

static void secret_free(char *s)
{
	if (s)
		cf_memzero(s, strlen(s));
	free(s);
}

static void row_key(cf_pg *pg, const table_info *t, const char *alias, cf_buf *b)
{
	cf_buf_puts(b, "ROW(");
	for (size_t k = 0; k < t->n_pk; k++)
		cf_sql_appendf(pg, b, "%s%s%s%I", k ? ", " : "", alias ? alias : "", alias ? "." : "",
		               t->cols[t->pk[k]].name);
	cf_buf_puts(b, ")::text");
}

/* Does a masked column still hold sampled source values? */
static cf_status check_masked(runner *R, plan_table *t, const plan_col *c, bool *ok)
{
	char mode = strat_verify_mode(c->rule);
	long n = R->o->verify_sample > 0 ? R->o->verify_sample : 100;
	if (mode == 'r' && (t->st->n_pk == 0 || t->dt->n_pk == 0))
		mode = 's';
	if (!mode)
		return CF_OK;
	cf_buf list;
	cf_buf_init(&list);
	if (mode == 'r') {
		row_key(R->src, t->st, NULL, &list);
		cf_buf_puts(&list, ", ");
	}
	cf_sql_appendf(R->src, &list, "%I::text", c->sc->name);
	char *sel = plan_select_sql(R->src, t, -1, list.data);
	char *sql = cf_sql_format(R->src, "%s%s %I IS NOT NULL LIMIT %ld", sel,
	                          t->pred ? " AND" : " WHERE", c->sc->name, n);
	free(sel);
	cf_buf_release(&list);
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->src, sql, 0, NULL, &r);
	free(sql);
	if (st || cf_pgres_nrows(r) == 0) {
		cf_pgres_free(r);
		return st;
	}
	char *vals = mode == 'r' ? json_pairs(r) : json_column(r, 0);
	int sampled = cf_pgres_nrows(r);
	cf_pgres_free(r);
	cf_buf q;
	cf_buf_init(&q);
	if (mode == 's') {
		cf_sql_appendf(R->dst, &q, "SELECT count(*) FROM ONLY %s WHERE %I::text IN (SELECT "
		               "json_array_elements_text($1::json))", t->dt->quoted, c->dc->name);
	} else {
		cf_sql_appendf(R->dst, &q, "SELECT count(*) FROM json_to_recordset($1::json) AS "
		               "s(k text, v text) JOIN ONLY %s confiture_t ON ", t->dt->quoted);
		row_key(R->dst, t->dt, "confiture_t", &q);
		cf_sql_appendf(R->dst, &q, " = s.k WHERE confiture_t.%I::text = s.v", c->dc->name);
	}
	char *kept = NULL;
	const char *params[] = {vals};
	st = value_of(R->dst, q.data, 1, params, &kept);
	cf_buf_release(&q);
	secret_free(vals);
	if (!st && kept && atoll(kept) > 0) {
		plan_issue(R->p, t->st->qname, c->sc->name, "masked_value_kept",
		           "masked column \"%s\" of \"%s\" still holds source values (%s %s of %d "
		           "sampled)", c->sc->name, t->st->qname, kept,
		           mode == 'r' ? "rows unchanged" : "values found", sampled);
		*ok = false;
	}
	free(kept);
	return st;
}

static cf_status check_orphans(runner *R, bool *any)
{
	bool *copied = cf_calloc(R->dcat->n_tables + 1, sizeof(bool));
	for (size_t i = 0; i < R->p->n; i++)
		copied[R->p->tables[i].di] = true;
	cf_status st = CF_OK;
	for (size_t f = 0; !st && f < R->dcat->n_fks; f++) {
		const fk_info *fk = &R->dcat->fks[f];
		if (fk->child < 0 || fk->parent < 0 || !(copied[fk->child] || copied[fk->parent]))
			continue;
		cf_buf b;
		cf_buf_init(&b);
		cf_sql_appendf(R->dst, &b, "SELECT count(*) FROM ONLY %s c WHERE ", fk->child_q);
		for (size_t k = 0; k < fk->n_cols; k++)
			cf_sql_appendf(R->dst, &b, "c.%I IS NOT NULL AND ", fk->child_cols[k]);
		cf_sql_appendf(R->dst, &b, "NOT EXISTS (SELECT 1 FROM ONLY %s p WHERE ", fk->parent_q);
		for (size_t k = 0; k < fk->n_cols; k++)
			cf_sql_appendf(R->dst, &b, "%sp.%I = c.%I", k ? " AND " : "", fk->parent_cols[k],
			               fk->child_cols[k]);
		cf_buf_putc(&b, ')');
		char *n = NULL;
		st = value_of(R->dst, b.data, 0, NULL, &n);
		cf_buf_release(&b);
		if (!st && n && atoll(n) > 0) {
			const table_info *ct = &R->dcat->tables[fk->child];
			plan_issue(R->p, ct->qname, NULL, "fk_orphans", "%s rows of \"%s\" reference missing "
			           "rows through foreign key \"%s\"", n, ct->qname, fk->name);
			*any = true;
		}
		free(n);
	}
	free(copied);
	return st;
}

cf_status sync_verify(runner *R)
{
	cf_ctx *ctx = R->ctx;
	bool all_ok = true;
	cf_status st = CF_OK;
	size_t first = R->p->n_issues; /* earlier issues (PII findings) are not verify's */
	for (size_t i = 0; !st && i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		bool ok = true;
		st = check_counts(R, t, &ok);
		if (!st)
			st = check_checksum(R, t, &ok);
		for (size_t k = 0; !st && k < t->n_cols; k++)
			if (is_masked(&t->cols[k]))
				st = check_masked(R, t, &t->cols[k], &ok);
		t->verified = ok ? 1 : 0;
		all_ok = all_ok && ok;
	}
	bool orphans = false;
	if (!st)
		st = check_orphans(R, &orphans);
	if (st) {
		cf_error_context(ctx, "while verifying the sync");
		return st;
	}
	size_t problems = R->p->n_issues - first;
	if (all_ok && !orphans) {
		cf_log_info(ctx, "verified %zu tables: counts, checksums, masking and foreign keys agree",
		            R->p->n);
		return CF_OK;
	}
	cf_error_set(ctx, CF_ERR_CHECK, "verify found %zu problem%s", problems,
	             problems == 1 ? "" : "s");
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = first; i < R->p->n_issues && i < first + 20; i++)
		cf_buf_printf(&b, "%s%s.", i > first ? "\n" : "", R->p->issues[i].message);
	cf_error_detail(ctx, "%s", b.data);
	cf_buf_release(&b);
	return CF_ERR_CHECK;
}
