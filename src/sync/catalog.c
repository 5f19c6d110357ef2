/* catalog.c -- the tables, columns, keys and foreign keys of a database. */
#include "sync.h"
#include "sql_embed.h"

#include <stdlib.h>
#include <string.h>

static void table_release(table_info *t)
{
	for (size_t i = 0; i < t->n_cols; i++) {
		col_info *c = &t->cols[i];
		free(c->name);
		free(c->type);
		free(c->base);
		free(c->base_full);
		free(c->seq);
		free(c->uniq);
	}
	free(t->cols);
	free(t->pk);
	free(t->ukey);
	free(t->ukey_name);
	free(t->relid);
	free(t->schema);
	free(t->name);
	free(t->qname);
	free(t->quoted);
}

void catalog_free(catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_tables; i++)
		table_release(&c->tables[i]);
	free(c->tables);
	for (size_t i = 0; i < c->n_fks; i++) {
		fk_info *f = &c->fks[i];
		for (size_t k = 0; k < f->n_cols; k++) {
			free(f->child_cols[k]);
			free(f->parent_cols[k]);
		}
		free(f->child_cols);
		free(f->parent_cols);
		free(f->name);
		free(f->child_q);
		free(f->parent_q);
		free(f->def);
	}
	free(c->fks);
	free(c);
}

int catalog_find(const catalog *c, const char *schema, const char *name)
{
	for (size_t i = 0; i < c->n_tables; i++)
		if (strcmp(c->tables[i].schema, schema) == 0 && strcmp(c->tables[i].name, name) == 0)
			return (int)i;
	return -1;
}

int table_col(const table_info *t, const char *name)
{
	for (size_t i = 0; i < t->n_cols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

void parse_text_array(const char *lit, cf_strv *sv)
{
	const char *p = lit;
	if (!p || *p != '{')
		return;
	p++;
	cf_buf item;
	cf_buf_init(&item);
	while (*p && *p != '}') {
		cf_buf_reset(&item);
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				cf_buf_putc(&item, *p++);
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != '}')
				cf_buf_putc(&item, *p++);
		}
		cf_strv_push(sv, item.data);
		if (*p == ',')
			p++;
	}
	cf_buf_release(&item);
}

static bool is_true(const char *v)
{
	return v && v[0] == 't';
}

/* numeric(p,s) from atttypmod; -1 when unconstrained. */
static void numeric_typmod(int typmod, int *precision, int *scale)
{
	*precision = *scale = -1;
	if (typmod < 4)
		return;
	int tm = typmod - 4;
	*precision = (tm >> 16) & 0xffff;
	*scale = ((tm & 0x7ff) ^ 1024) - 1024;
}

static table_info *new_table(catalog *c, const cf_pgres *r, int row, cf_pg *pg)
{
	c->tables = cf_realloc(c->tables, (c->n_tables + 1) * sizeof(table_info));
	table_info *t = &c->tables[c->n_tables++];
	memset(t, 0, sizeof(*t));
	t->schema = cf_strdup(cf_pgres_get(r, row, 0));
	t->name = cf_strdup(cf_pgres_get(r, row, 1));
	t->qname = cf_asprintf("%s.%s", t->schema, t->name);
	char *qs = cf_quote_ident(pg, t->schema), *qn = cf_quote_ident(pg, t->name);
	t->quoted = cf_asprintf("%s.%s", qs, qn);
	free(qs);
	free(qn);
	t->est_rows = atoll(cf_pgres_get(r, row, 2));
	t->pages = atoll(cf_pgres_get(r, row, 3));
	t->is_partition = is_true(cf_pgres_get(r, row, 4));
	return t;
}

static void add_column(table_info *t, const cf_pgres *r, int row)
{
	t->cols = cf_realloc(t->cols, (t->n_cols + 1) * sizeof(col_info));
	col_info *c = &t->cols[t->n_cols++];
	memset(c, 0, sizeof(*c));
	c->name = cf_strdup(cf_pgres_get(r, row, 5));
	c->type = cf_strdup(cf_pgres_get(r, row, 6));
	c->base = cf_strdup(cf_pgres_get(r, row, 7));
	c->base_full = cf_strdup(cf_pgres_get(r, row, 8));
	const char *cat = cf_pgres_get(r, row, 9);
	c->category = cat ? cat[0] : 'X';
	c->is_notnull = is_true(cf_pgres_get(r, row, 10));
	c->has_default = is_true(cf_pgres_get(r, row, 11));
	c->is_generated = is_true(cf_pgres_get(r, row, 12));
	c->is_bin_ok = is_true(cf_pgres_get(r, row, 13));
	c->seq = cf_strdup(cf_pgres_get(r, row, 14));
	c->pk_pos = atoi(cf_pgres_get(r, row, 15));
	c->uniq = cf_strdup(cf_pgres_get(r, row, 17));
	c->vt = vtype_of(c->base, c->category);
	if (c->vt == VT_NUMERIC)
		numeric_typmod(atoi(cf_pgres_get(r, row, 16)), &c->precision, &c->scale);
	else
		c->precision = c->scale = -1;
}

static void finish_table(table_info *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_cols; i++)
		if (t->cols[i].pk_pos > 0)
			n++;
	t->pk = cf_calloc(n + 1, sizeof(int));
	t->n_pk = n;
	for (size_t i = 0; i < t->n_cols; i++)
		if (t->cols[i].pk_pos > 0 && (size_t)t->cols[i].pk_pos <= n)
			t->pk[t->cols[i].pk_pos - 1] = (int)i;
}

static cf_status load_columns(cf_ctx *ctx, cf_pg *pg, catalog *c)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_sync_columns, 0, NULL, &r);
	if (st)
		return st;
	table_info *cur = NULL;
	for (int i = 0; i < cf_pgres_nrows(r); i++) {
		if (!cur || strcmp(cur->schema, cf_pgres_get(r, i, 0)) != 0 ||
		    strcmp(cur->name, cf_pgres_get(r, i, 1)) != 0) {
			if (cur)
				finish_table(cur);
			cur = new_table(c, r, i, pg);
		}
		add_column(cur, r, i);
	}
	if (cur)
		finish_table(cur);
	cf_pgres_free(r);
	(void)ctx;
	return CF_OK;
}

static char **strv_take(cf_strv *sv)
{
	char **v = sv->v ? sv->v : cf_calloc(1, sizeof(char *));
	sv->v = NULL;
	sv->n = sv->cap = 0;
	return v;
}

static cf_status load_fks(cf_ctx *ctx, cf_pg *pg, catalog *c)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_sync_fks, 0, NULL, &r);
	if (st)
		return st;
	int n = cf_pgres_nrows(r);
	c->fks = cf_calloc((size_t)n + 1, sizeof(fk_info));
	for (int i = 0; i < n; i++) {
		fk_info *f = &c->fks[c->n_fks++];
		f->name = cf_strdup(cf_pgres_get(r, i, 0));
		f->child = catalog_find(c, cf_pgres_get(r, i, 1), cf_pgres_get(r, i, 2));
		f->parent = catalog_find(c, cf_pgres_get(r, i, 3), cf_pgres_get(r, i, 4));
		char *q1 = cf_quote_ident(pg, cf_pgres_get(r, i, 1)), *q2 = cf_quote_ident(pg, cf_pgres_get(r, i, 2));
		f->child_q = cf_asprintf("%s.%s", q1, q2);
		free(q1);
		free(q2);
		q1 = cf_quote_ident(pg, cf_pgres_get(r, i, 3));
		q2 = cf_quote_ident(pg, cf_pgres_get(r, i, 4));
		f->parent_q = cf_asprintf("%s.%s", q1, q2);
		free(q1);
		free(q2);
		cf_strv cc, pc;
		cf_strv_init(&cc);
		cf_strv_init(&pc);
		parse_text_array(cf_pgres_get(r, i, 5), &cc);
		parse_text_array(cf_pgres_get(r, i, 6), &pc);
		f->n_cols = cc.n < pc.n ? cc.n : pc.n;
		f->child_cols = strv_take(&cc);
		f->parent_cols = strv_take(&pc);
		f->def = cf_strdup(cf_pgres_get(r, i, 7));
		f->is_valid = is_true(cf_pgres_get(r, i, 8));
	}
	cf_pgres_free(r);
	(void)ctx;
	return CF_OK;
}

static cf_status load_keys(cf_pg *pg, catalog *c)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_sync_keys, 0, NULL, &r);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		int ti = catalog_find(c, cf_pgres_get(r, i, 0), cf_pgres_get(r, i, 1));
		if (ti < 0)
			continue;
		table_info *t = &c->tables[ti];
		t->relid = cf_strdup(cf_pgres_get(r, i, 2));
		if (!cf_pgres_get(r, i, 3))
			continue;
		t->ukey_name = cf_strdup(cf_pgres_get(r, i, 3));
		t->is_ukey_nullable = is_true(cf_pgres_get(r, i, 5));
		cf_strv cols;
		cf_strv_init(&cols);
		parse_text_array(cf_pgres_get(r, i, 4), &cols);
		t->ukey = cf_calloc(cols.n + 1, sizeof(int));
		for (size_t k = 0; k < cols.n; k++) {
			int ci = table_col(t, cols.v[k]);
			if (ci >= 0)
				t->ukey[t->n_ukey++] = ci;
		}
		cf_strv_release(&cols);
	}
	cf_pgres_free(r);
	return st;
}

cf_status catalog_load(cf_ctx *ctx, cf_pg *pg, catalog **out)
{
	catalog *c = cf_calloc(1, sizeof(*c));
	cf_status st = load_columns(ctx, pg, c);
	if (!st)
		st = load_fks(ctx, pg, c);
	if (!st)
		st = load_keys(pg, c);
	if (st) {
		catalog_free(c);
		return st;
	}
	*out = c;
	return CF_OK;
}
