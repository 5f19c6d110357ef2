/* catalog.c -- what the source, the staging schema and the target hold. */
#include "s2s.h"
#include "log.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void s2s_rel_release(s2s_rel *r)
{
	for (size_t i = 0; i < r->n_cols; i++) {
		free(r->cols[i].name);
		free(r->cols[i].type);
		free(r->cols[i].sequence);
	}
	free(r->cols);
	free(r->schema);
	free(r->name);
	free(r->qual);
	free(r->display);
	free(r->remote_schema);
	free(r->remote_name);
	memset(r, 0, sizeof(*r));
}

const s2s_col *s2s_rel_col(const s2s_rel *r, const char *name)
{
	for (size_t i = 0; i < r->n_cols; i++)
		if (strcmp(r->cols[i].name, name) == 0)
			return &r->cols[i];
	return NULL;
}

const char *s2s_rel_closest(const s2s_rel *r, const char *name)
{
	const char **names = cf_calloc(r->n_cols + 1, sizeof(*names));
	for (size_t i = 0; i < r->n_cols; i++)
		names[i] = r->cols[i].name;
	const char *best = cf_closest(name, names, r->n_cols);
	free(names);
	return best;
}

/* Runs SQL with search_path = pg_catalog, then puts the session's back, so
 * that format_type qualifies every type outside pg_catalog. (Inside an
 * aborted transaction the restore fails, but the abort undoes the SET too.) */
cf_status s2s_query_catalog(cf_pg *pg, const char *sql, int n, const char *const *params,
                            cf_pgres **out)
{
	*out = NULL;
	char *old = NULL;
	cf_status st = cf_pg_query_value(pg, "SELECT current_setting('search_path')", 0, NULL, &old);
	if (!st)
		st = cf_pg_exec(pg, "SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)");
	if (!st)
		st = cf_pg_query(pg, sql, n, params, out);
	if (old) {
		const char *p[] = {old};
		cf_status st2 = cf_pg_exec_params(
			pg, "SELECT pg_catalog.set_config('search_path', $1, false)", 1, p);
		if (!st)
			st = st2;
	}
	free(old);
	if (st) {
		cf_pgres_free(*out);
		*out = NULL;
	}
	return st;
}

static bool is_true(const char *v)
{
	return v && v[0] == 't';
}

cf_status s2s_rel_load(cf_pg *pg, unsigned int oid, s2s_rel *r)
{
	memset(r, 0, sizeof(*r));
	char oidtext[16];
	snprintf(oidtext, sizeof(oidtext), "%u", oid);
	const char *p[] = {oidtext};
	cf_pgres *res = NULL;
	cf_status st = s2s_query_catalog(pg, cf_sql_s2s_rel_columns, 1, p, &res);
	if (st)
		return st;
	int n = cf_pgres_nrows(res);
	if (n == 0) {
		cf_pgres_free(res);
		return cf_error_set(cf_pg_ctx(pg), CF_ERR_INTERNAL, "relation %u vanished", oid);
	}
	r->oid = oid;
	r->schema = cf_strdup(cf_pgres_get(res, 0, 0));
	r->name = cf_strdup(cf_pgres_get(res, 0, 1));
	r->relkind = cf_pgres_get(res, 0, 2)[0];
	r->qual = cf_sql_format(pg, "%I.%I", r->schema, r->name);
	r->display = cf_asprintf("%s.%s", r->schema, r->name);
	r->remote_schema = cf_strdup(cf_pgres_get(res, 0, 10));
	r->remote_name = cf_strdup(cf_pgres_get(res, 0, 11));
	r->cols = cf_calloc((size_t)n, sizeof(s2s_col));
	for (int i = 0; i < n; i++) {
		if (cf_pgres_isnull(res, i, 3))
			continue; /* a relation without columns */
		s2s_col *c = &r->cols[r->n_cols++];
		c->name = cf_strdup(cf_pgres_get(res, i, 3));
		c->type = cf_strdup(cf_pgres_get(res, i, 4));
		c->is_notnull = is_true(cf_pgres_get(res, i, 5));
		c->has_default = is_true(cf_pgres_get(res, i, 6));
		const char *ident = cf_pgres_get(res, i, 7);
		c->identity = ident && *ident ? ident[0] : 0;
		c->is_generated = is_true(cf_pgres_get(res, i, 8));
		c->sequence = cf_strdup(cf_pgres_get(res, i, 9));
	}
	cf_pgres_free(res);
	return CF_OK;
}

cf_status s2s_find_rel(cf_pg *pg, const char *name, const char *const *schemas, size_t n,
                       unsigned int *oid)
{
	*oid = 0;
	const char *dot = strchr(name, '.');
	char *schema = dot ? cf_strndup(name, (size_t)(dot - name)) : NULL;
	char *path = schemas && n ? s2s_text_array(schemas, n) : NULL;
	const char *p[] = {schema, dot ? dot + 1 : name, path};
	char *v = NULL;
	/* Names as written (like the precursor's quoted identifiers): no case
	 * folding; an unqualified name is looked up along SCHEMAS, else along
	 * the session's search_path. */
	cf_status st = cf_pg_query_value(
		pg,
		"SELECT c.oid FROM pg_catalog.pg_class c"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relname = $2"
		"   AND CASE WHEN $1::text IS NOT NULL THEN n.nspname = $1::text"
		"            ELSE n.nspname = ANY (coalesce($3::text[],"
		"                                          pg_catalog.current_schemas(false)::text[])) END"
		"   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
		" ORDER BY pg_catalog.array_position(coalesce($3::text[],"
		"                                    pg_catalog.current_schemas(false)::text[]),"
		"                                    n.nspname::text)"
		" LIMIT 1",
		3, p, &v);
	if (!st && v)
		*oid = (unsigned int)strtoul(v, NULL, 10);
	free(v);
	free(path);
	free(schema);
	return st;
}

cf_status s2s_staging_find(cf_pg *pg, const char *staging, const char *name, unsigned int *oid,
                           bool *ambiguous)
{
	*oid = 0;
	*ambiguous = false;
	const char *dot = strchr(name, '.');
	char *schema = dot ? cf_strndup(name, (size_t)(dot - name)) : NULL;
	const char *p[] = {staging, schema, dot ? dot + 1 : name};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_s2s_staging_find, 3, p, &res);
	if (!st) {
		int n = cf_pgres_nrows(res);
		if (n == 1)
			*oid = (unsigned int)strtoul(cf_pgres_get(res, 0, 0), NULL, 10);
		for (int i = 0; n > 1 && i < n; i++)
			if (strcmp(cf_pgres_get(res, i, 1), "public") == 0)
				*oid = (unsigned int)strtoul(cf_pgres_get(res, i, 0), NULL, 10);
		*ambiguous = n > 1 && *oid == 0;
	}
	cf_pgres_free(res);
	free(schema);
	return st;
}

void s2s_src_info_release(s2s_src_info *i)
{
	cf_strv_release(&i->pk);
	memset(i, 0, sizeof(*i));
}

/* Parses a text[] literal of simple names ({a,b} or {"a b",c}). */
static void parse_name_array(const char *lit, cf_strv *out)
{
	if (!lit || lit[0] != '{')
		return;
	const char *p = lit + 1;
	while (*p && *p != '}') {
		cf_buf b;
		cf_buf_init(&b);
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				cf_buf_putc(&b, *p);
			}
			if (*p == '"')
				p++;
		} else {
			for (; *p && *p != ',' && *p != '}'; p++)
				cf_buf_putc(&b, *p);
		}
		cf_strv_push_owned(out, cf_buf_detach(&b));
		if (*p == ',')
			p++;
	}
}

cf_status s2s_src_info_load(cf_pg *src, const char *schema, const char *name, s2s_src_info *out)
{
	memset(out, 0, sizeof(*out));
	cf_strv_init(&out->pk);
	out->reltuples = -1;
	out->size_bytes = -1;
	const char *p[] = {schema, name};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(src, cf_sql_s2s_src_info, 2, p, &res);
	if (!st && cf_pgres_nrows(res) == 1) {
		out->exists = true;
		out->relkind = cf_pgres_get(res, 0, 0)[0];
		const char *t = cf_pgres_get(res, 0, 1);
		out->reltuples = t ? strtod(t, NULL) : -1;
		const char *sz = cf_pgres_get(res, 0, 2);
		out->size_bytes = sz ? strtoll(sz, NULL, 10) : -1;
		parse_name_array(cf_pgres_get(res, 0, 3), &out->pk);
	}
	cf_pgres_free(res);
	return st;
}

cf_status s2s_type_hash_fn(cf_pg *pg, const char *type, char **fn64, char **fn32,
                           bool *is_hashable)
{
	*fn64 = *fn32 = NULL;
	*is_hashable = false;
	const char *p[] = {type};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_s2s_hash_fn, 1, p, &res);
	bool is_poly = false;
	if (!st && cf_pgres_nrows(res) == 1) {
		*fn64 = cf_strdup(cf_pgres_get(res, 0, 0));
		*fn32 = cf_strdup(cf_pgres_get(res, 0, 1));
		const char *poly = cf_pgres_get(res, 0, 2); /* NULL: not polymorphic */
		is_poly = poly && poly[0] == 't';
	}
	cf_pgres_free(res);
	if (st || (*fn64 && !is_poly)) {
		*is_hashable = *fn64 != NULL;
		return st;
	}
	/* Polymorphic functions (hash_array, ...) hash the elements with their
	 * own type's function, which may not exist (json[]); other types have no
	 * function found above. Ask the type cache through hash_array, which
	 * fails at once (even on a NULL element) when the type has no hash. */
	char *sql = cf_sql_format(pg, "SELECT pg_catalog.hash_array_extended(ARRAY[NULL::%s], 0)",
	                          type);
	char *msg = NULL, *state = NULL;
	st = s2s_try(pg, sql, 0, NULL, &msg, &state);
	*is_hashable = st == CF_OK;
	if (!*is_hashable) {
		free(*fn64);
		free(*fn32);
		*fn64 = *fn32 = NULL;
	}
	if (st && state && strcmp(state, "42883") != 0 && strcmp(state, "0A000") != 0 &&
	    strcmp(state, "42704") != 0)
		cf_log_debug(cf_pg_ctx(pg), "hash probe of %s: %s", type, msg);
	free(sql);
	free(msg);
	free(state);
	return cf_pg_is_bad(pg) ? cf_error_set(cf_pg_ctx(pg), CF_ERR_SQL, "connection lost") : CF_OK;
}

const char *s2s_cast_name(s2s_cast c)
{
	switch (c) {
	case S2S_CAST_NONE: return "none";
	case S2S_CAST_ASSIGNMENT: return "assignment";
	case S2S_CAST_EXPLICIT: return "explicit";
	case S2S_CAST_IMPOSSIBLE: return "impossible";
	}
	return "?";
}

cf_status s2s_cast_probe(cf_pg *pg, const char *tgt_qual, const char *col, const char *src_type,
                         const char *tgt_type, s2s_cast *out, char **detail)
{
	*out = S2S_CAST_NONE;
	*detail = NULL;
	if (strcmp(src_type, tgt_type) == 0)
		return CF_OK;
	/* INSERT applies assignment casts by itself. */
	char *sql = cf_sql_format(pg, "EXPLAIN INSERT INTO %s (%I) SELECT NULL::%s", tgt_qual, col,
	                          src_type);
	char *msg = NULL, *state = NULL;
	cf_status st = s2s_try(pg, sql, 0, NULL, &msg, &state);
	free(sql);
	if (!st) {
		*out = S2S_CAST_ASSIGNMENT;
		goto done;
	}
	if (!state || strcmp(state, "42804") != 0) {
		/* Not a type problem (privileges, a vanished table): a real error. */
		st = cf_error_set(cf_pg_ctx(pg), CF_ERR_SQL, "%s", msg ? msg : "cast probe failed");
		if (state)
			cf_error_sqlstate(cf_pg_ctx(pg), state);
		goto done;
	}
	free(msg);
	free(state);
	msg = state = NULL;
	sql = cf_sql_format(pg, "SELECT NULL::%s::%s", src_type, tgt_type);
	st = s2s_try(pg, sql, 0, NULL, &msg, &state);
	free(sql);
	if (!st) {
		*out = S2S_CAST_EXPLICIT;
	} else {
		*out = S2S_CAST_IMPOSSIBLE;
		*detail = msg;
		msg = NULL;
		st = CF_OK;
	}
done:
	free(msg);
	free(state);
	return st;
}
