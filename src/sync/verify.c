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
char *sync_checksum_expr(cf_pg *pg, const plan_table *t, bool source)
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
	char *se = sync_checksum_expr(R->src, t, true), *de = sync_checksum_expr(R->dst, t, false);
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

/* ---- Masked columns: keyed digests, compared on the client ----------------------------
 *
 * Source values of masked columns are personal data: they must never reach
 * the target's session (as parameters they would land in its server log).
 * So both sides' values come to confiture, each is reduced to a keyed digest
 * (HMAC-SHA256 under a random key made for this check) and the digests are
 * compared here. The target only ever receives confiture's own SQL (and, for
 * the per-row check, the sampled rows' primary keys, which are not masked). */

#define DLEN 16

typedef struct vdigest {
	char *key;               /* ROW(pk)::text for per-row checks, else NULL */
	unsigned char d[DLEN];
} vdigest;

static void digest_of(const cf_hmac_key *hk, const char *v, size_t n, unsigned char out[DLEN])
{
	unsigned char full[32];
	cf_hmac_key_hash(hk, v, n, full);
	memcpy(out, full, DLEN);
	cf_memzero(full, sizeof(full));
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(((const vdigest *)a)->d, ((const vdigest *)b)->d, DLEN);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const vdigest *)a)->key, ((const vdigest *)b)->key);
}

static void row_key(cf_pg *pg, const table_info *t, cf_buf *b)
{
	cf_buf_puts(b, "ROW(");
	for (size_t k = 0; k < t->n_pk; k++)
		cf_sql_appendf(pg, b, "%s%I", k ? ", " : "", t->cols[t->pk[k]].name);
	cf_buf_puts(b, ")::text");
}

/* Samples up to N source values of C (with their row keys in mode 'r') and
 * digests them; the values themselves are not kept. */
static cf_status sample_source(runner *R, const plan_table *t, const plan_col *c, char mode,
                               const cf_hmac_key *hk, vdigest **out, size_t *n_out)
{
	long n = R->o->verify_sample > 0 ? R->o->verify_sample : 100;
	cf_buf list;
	cf_buf_init(&list);
	if (mode == 'r') {
		row_key(R->src, t->st, &list);
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
	int rows = st ? 0 : cf_pgres_nrows(r);
	vdigest *d = cf_calloc((size_t)rows + 1, sizeof(vdigest));
	int vc = mode == 'r' ? 1 : 0;
	for (int i = 0; i < rows; i++) {
		const char *v = cf_pgres_get(r, i, vc);
		digest_of(hk, v, strlen(v), d[i].d);
		if (mode == 'r')
			d[i].key = cf_strdup(cf_pgres_get(r, i, 0));
	}
	cf_pgres_free(r);
	qsort(d, (size_t)rows, sizeof(vdigest), mode == 'r' ? cmp_key : cmp_digest);
	*out = d;
	*n_out = (size_t)rows;
	return st;
}

/* Mode 's': how many target values of C are among the sampled digests. The
 * whole column is read (COPY), one value at a time. */
static cf_status kept_in_column(runner *R, const plan_table *t, const plan_col *c,
                                const cf_hmac_key *hk, const vdigest *d, size_t n,
                                long long *kept)
{
	char *sql = cf_sql_format(R->dst, "COPY (SELECT %I::text FROM ONLY %s WHERE %I IS NOT NULL) "
	                          "TO STDOUT", c->dc->name, t->dt->quoted, c->dc->name);
	cf_status st = cf_pg_copy_out_start(R->dst, sql);
	free(sql);
	cf_buf v;
	cf_buf_init(&v);
	long len;
	char *buf;
	while (!st && (len = cf_pg_copy_out_read(R->dst, &buf)) != 0) {
		if (len < 0) {
			st = cf_error_code(R->ctx) ? cf_error_code(R->ctx) : CF_ERR_SQL;
			break;
		}
		cf_buf_reset(&v);
		copy_text_unescape(buf, (size_t)(len > 0 && buf[len - 1] == '\n' ? len - 1 : len), &v);
		cf_pg_copy_free(buf);
		vdigest probe = {0};
		digest_of(hk, v.data, v.len, probe.d);
		*kept += bsearch(&probe, d, n, sizeof(vdigest), cmp_digest) != NULL;
	}
	cf_memzero(v.data, v.cap);
	cf_buf_release(&v);
	return st;
}

/* Mode 'r': how many sampled rows (by primary key) still hold their value. */
static cf_status kept_in_rows(runner *R, const plan_table *t, const plan_col *c,
                              const cf_hmac_key *hk, const vdigest *d, size_t n, long long *kept)
{
	cf_buf keys, q;
	cf_buf_init(&keys);
	cf_buf_init(&q);
	cf_json j;
	cf_json_init(&j, &keys, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < n; i++)
		cf_json_str(&j, d[i].key);
	cf_json_arr_end(&j);
	cf_buf_puts(&q, "SELECT ");
	row_key(R->dst, t->dt, &q);
	cf_sql_appendf(R->dst, &q, ", %I::text FROM ONLY %s WHERE ", c->dc->name, t->dt->quoted);
	row_key(R->dst, t->dt, &q);
	cf_buf_puts(&q, " IN (SELECT json_array_elements_text($1::json))");
	cf_pgres *r = NULL;
	const char *params[] = {keys.data};
	cf_status st = cf_pg_query(R->dst, q.data, 1, params, &r);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		const char *v = cf_pgres_get(r, i, 1);
		if (!v)
			continue;
		vdigest probe = {.key = (char *)cf_pgres_get(r, i, 0)};
		const vdigest *hit = bsearch(&probe, d, n, sizeof(vdigest), cmp_key);
		digest_of(hk, v, strlen(v), probe.d);
		*kept += hit && memcmp(hit->d, probe.d, DLEN) == 0;
	}
	cf_pgres_free(r);
	cf_buf_release(&keys);
	cf_buf_release(&q);
	return st;
}

static bool key_is_masked(const plan_table *t)
{
	for (size_t k = 0; k < t->st->n_pk; k++)
		for (size_t i = 0; i < t->n_cols; i++)
			if (t->cols[i].rule && t->cols[i].sc == &t->st->cols[t->st->pk[k]])
				return true;
	return false;
}

/* Does a masked column still hold sampled source values? */
static cf_status check_masked(runner *R, plan_table *t, const plan_col *c, bool *ok)
{
	char mode = strat_verify_mode(c->rule);
	if (mode == 'r' && (t->st->n_pk == 0 || t->dt->n_pk == 0))
		mode = 's';
	/* A masked key cannot be sent to the target: the rows cannot be matched. */
	if (!mode || (mode == 'r' && key_is_masked(t)))
		return CF_OK;
	unsigned char key[32];
	cf_random_bytes(key, sizeof(key));
	cf_hmac_key hk;
	cf_hmac_key_init(&hk, key, sizeof(key));
	cf_memzero(key, sizeof(key));
	vdigest *d = NULL;
	size_t n = 0;
	long long kept = 0;
	cf_status st = sample_source(R, t, c, mode, &hk, &d, &n);
	if (!st && n)
		st = mode == 's' ? kept_in_column(R, t, c, &hk, d, n, &kept)
		                 : kept_in_rows(R, t, c, &hk, d, n, &kept);
	cf_hmac_key_wipe(&hk);
	for (size_t i = 0; i < n; i++)
		free(d[i].key);
	free(d);
	if (!st && kept > 0) {
		plan_issue(R->p, t->st->qname, c->sc->name, "masked_value_kept",
		           "masked column \"%s\" of \"%s\" still holds source values (%lld %s of %zu "
		           "sampled)", c->sc->name, t->st->qname, kept,
		           mode == 'r' ? "rows unchanged" : "values found", n);
		*ok = false;
	}
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
