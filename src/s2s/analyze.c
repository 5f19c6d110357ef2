/*
 * analyze.c -- s2s analyze: what a migration of each table involves.
 *
 * Reads the source directly and the target, and needs no setup. Columns are
 * paired by the mapping file when one is given, else by name. Casts are
 * classified by the target server itself (an EXPLAIN of the INSERT it would
 * run), so domains, enums and custom casts count as they really will.
 */
#include "s2s.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pairing {
	const char *src;         /* source column or NULL */
	const char *tgt;         /* target column or NULL */
	const char *expression;  /* mapping expression or default value, or NULL */
	bool is_default;
} pairing;

static void add_column(cf_s2s_table *out, const char *src, const char *tgt, const char *stype,
                       const char *ttype, const char *cast, const char *expr, bool required)
{
	out->columns = cf_realloc(out->columns, (out->n_columns + 1) * sizeof(*out->columns));
	out->columns[out->n_columns++] = (cf_s2s_column){
		.source = cf_strdup(src),
		.target = cf_strdup(tgt),
		.source_type = cf_strdup(stype),
		.target_type = cf_strdup(ttype),
		.cast = cf_strdup(cast),
		.expression = cf_strdup(expr),
		.is_required = required,
	};
}

/* The cast a source value of TYPE needs to enter TC; a type the target lacks
 * travels as text (that is how setup imports it). */
static cf_status classify(s2s_run *run, const s2s_rel *tgt, const s2s_col *sc, const s2s_col *tc,
                          s2s_cast *cast)
{
	char *known = NULL;
	const char *p[] = {sc->type};
	cf_status st = cf_pg_query_value(run->tgt, "SELECT pg_catalog.to_regtype($1) IS NOT NULL", 1,
	                                 p, &known);
	const char *type = known && known[0] == 't' ? sc->type : "text";
	char *why = NULL;
	if (!st)
		st = s2s_cast_probe(run->tgt, tgt->qual, tc->name, type, tc->type, cast, &why);
	free(why);
	free(known);
	return st;
}

static bool pairs_target(const pairing *v, size_t n, const char *tgt)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].tgt && strcmp(v[i].tgt, tgt) == 0)
			return true;
	return false;
}

static bool pairs_source(const pairing *v, size_t n, const char *src)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].src && strcmp(v[i].src, src) == 0)
			return true;
	return false;
}

/* Column pairs from the mapping entry E, or by name when E is NULL. */
static pairing *make_pairs(const s2s_entry *e, const s2s_rel *src, const s2s_rel *tgt, size_t *n)
{
	size_t cap = src->n_cols + (e ? e->n_columns + e->n_exprs + e->n_defaults : 0) + 1;
	pairing *v = cf_calloc(cap, sizeof(*v));
	*n = 0;
	if (!e) {
		for (size_t i = 0; i < src->n_cols; i++)
			if (s2s_rel_col(tgt, src->cols[i].name))
				v[(*n)++] = (pairing){src->cols[i].name, src->cols[i].name, NULL, false};
		return v;
	}
	for (size_t i = 0; i < e->n_columns; i++)
		v[(*n)++] = (pairing){e->columns[i].key, e->columns[i].value, NULL, false};
	for (size_t i = 0; i < e->n_exprs; i++)
		v[(*n)++] = (pairing){NULL, e->exprs[i].key, e->exprs[i].value, false};
	for (size_t i = 0; i < e->n_defaults; i++)
		if (!pairs_target(v, *n, e->defaults[i].key))
			v[(*n)++] = (pairing){NULL, e->defaults[i].key,
			                      e->defaults[i].value ? e->defaults[i].value : "NULL", true};
	return v;
}

static cf_status analyze_columns(s2s_run *run, const s2s_entry *e, const s2s_rel *src,
                                 const s2s_rel *tgt, cf_s2s_table *out, bool *ok)
{
	size_t n = 0;
	pairing *v = make_pairs(e, src, tgt, &n);
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < n; i++) {
		const s2s_col *sc = v[i].src ? s2s_rel_col(src, v[i].src) : NULL;
		const s2s_col *tc = s2s_rel_col(tgt, v[i].tgt);
		const char *cast = NULL;
		s2s_cast c = S2S_CAST_NONE;
		if (sc && tc) {
			st = classify(run, tgt, sc, tc, &c);
			cast = s2s_cast_name(c);
			out->n_mismatches += c != S2S_CAST_NONE;
		} else if (v[i].src && !sc) {
			cast = "missing source column";
		} else if (!tc) {
			cast = "missing target column";
		}
		*ok = *ok && (sc || !v[i].src) && tc && c != S2S_CAST_IMPOSSIBLE;
		char *expr = v[i].is_default ? cf_asprintf("default %s", v[i].expression)
		                             : cf_strdup(v[i].expression);
		add_column(out, v[i].src, v[i].tgt, sc ? sc->type : NULL, tc ? tc->type : NULL, cast,
		           expr, false);
		free(expr);
	}
	for (size_t i = 0; i < src->n_cols; i++)
		if (!pairs_source(v, n, src->cols[i].name))
			add_column(out, src->cols[i].name, NULL, src->cols[i].type, NULL, NULL, NULL, false);
	for (size_t i = 0; i < tgt->n_cols; i++) {
		const s2s_col *tc = &tgt->cols[i];
		if (pairs_target(v, n, tc->name))
			continue;
		bool required = tc->is_notnull && !tc->has_default;
		*ok = *ok && !required;
		add_column(out, NULL, tc->name, NULL, tc->type, NULL, NULL, required);
	}
	free(v);
	return st;
}

static cf_status analyze_one(s2s_run *run, const s2s_entry *e, unsigned int src_oid,
                             const char *target_name, cf_s2s_table *out)
{
	s2s_rel src = {0}, tgt = {0};
	s2s_src_info info = {0};
	cf_strv_init(&info.pk);
	unsigned int tgt_oid = 0;
	cf_status st = s2s_rel_load(run->src, src_oid, &src);
	if (!st)
		st = s2s_src_info_load(run->src, src.schema, src.name, &info);
	if (!st)
		st = s2s_find_rel(run->tgt, target_name, NULL, 0, &tgt_oid);
	if (!st && tgt_oid)
		st = s2s_rel_load(run->tgt, tgt_oid, &tgt);
	if (st)
		goto done;
	out->source_table = cf_strdup(src.display);
	out->target_table = tgt_oid ? cf_strdup(tgt.display) : NULL;
	out->row_estimate = info.reltuples >= 0 ? (long long)info.reltuples : -1;
	out->size_bytes = info.size_bytes;
	out->has_primary_key = info.pk.n > 0;
	const char *key = e && e->key ? e->key : info.pk.n ? info.pk.v[0] : NULL;
	out->key_column = cf_strdup(key);
	out->recommended_batch_size =
		s2s_recommend_batch(info.reltuples, info.size_bytes, key != NULL);
	bool ok = true;
	if (tgt_oid) {
		st = analyze_columns(run, e, &src, &tgt, out, &ok);
		out->status = cf_strdup(ok ? "ready" : "needs_mapping");
	} else {
		for (size_t i = 0; i < src.n_cols; i++)
			add_column(out, src.cols[i].name, NULL, src.cols[i].type, NULL, NULL, NULL, false);
		out->status = cf_strdup("no_target");
	}
	if (!st && !key)
		out->message = cf_strdup("no primary key: migrate copies it in one transaction (or "
		                         "give key: in the mapping)");
done:
	s2s_rel_release(&src);
	s2s_rel_release(&tgt);
	s2s_src_info_release(&info);
	return st;
}

static cf_status analyze_mapping(s2s_run *run, const char *const *schemas, size_t n_schemas)
{
	s2s_mapping m = {0};
	cf_status st = s2s_mapping_load(run->ctx, run->opts->mapping_file, &m);
	for (size_t i = 0; !st && i < m.n; i++) {
		const s2s_entry *e = &m.v[i];
		unsigned int oid = 0;
		st = s2s_find_rel(run->src, e->source_table, schemas, n_schemas, &oid);
		if (!st && !oid) {
			st = s2s_mapping_error(run->ctx, &m, e->at_source,
			                       "source table \"%s\" of \"%s\" does not exist in the source",
			                       e->source_table, e->name);
			cf_error_hint(run->ctx, "Check source_table, or name its schema with --schema.");
		}
		cf_s2s_table *out = st ? NULL : s2s_result_table(run, e->name);
		if (!st)
			st = analyze_one(run, e, oid, e->target_table, out);
	}
	s2s_mapping_release(&m);
	return st;
}

static cf_status analyze_by_name(s2s_run *run, const char *const *schemas, size_t n_schemas)
{
	char *arr = s2s_text_array(schemas, n_schemas);
	const char *p[] = {arr};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(run->src,
	                           "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c"
	                           "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	                           " WHERE n.nspname = ANY ($1::text[])"
	                           "   AND c.relkind IN ('r', 'v', 'f', 'm', 'p')"
	                           "   AND NOT c.relispartition"
	                           " ORDER BY n.nspname, c.relname",
	                           1, p, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++) {
		unsigned int oid = (unsigned int)strtoul(cf_pgres_get(res, i, 0), NULL, 10);
		char *qualified = cf_asprintf("%s.%s", cf_pgres_get(res, i, 1), cf_pgres_get(res, i, 2));
		unsigned int tgt = 0;
		/* The same schema.name on the target, else the name on its search_path. */
		st = s2s_find_rel(run->tgt, qualified, NULL, 0, &tgt);
		const char *target = tgt ? qualified : cf_pgres_get(res, i, 2);
		cf_s2s_table *out = s2s_result_table(run, cf_pgres_get(res, i, 2));
		if (!st)
			st = analyze_one(run, NULL, oid, target, out);
		free(qualified);
	}
	cf_pgres_free(res);
	free(arr);
	return st;
}

static cf_status do_analyze(s2s_run *run)
{
	static const char *const dflt[] = {"public"};
	const cf_s2s_opts *o = run->opts;
	const char *const *schemas = o->n_schemas ? o->schemas : dflt;
	size_t n_schemas = o->n_schemas ? o->n_schemas : 1;
	/* Cast probes use savepoints; everything is rolled back. */
	cf_status st = cf_pg_begin(run->tgt);
	if (!st && o->mapping_file && *o->mapping_file)
		st = analyze_mapping(run, schemas, n_schemas);
	else if (!st)
		st = analyze_by_name(run, schemas, n_schemas);
	cf_pg_rollback(run->tgt);
	if (st)
		return st;
	size_t ready = 0, needs = 0, none = 0;
	for (size_t i = 0; i < run->res->n_tables; i++) {
		const char *s = run->res->tables[i].status;
		ready += strcmp(s, "ready") == 0;
		needs += strcmp(s, "needs_mapping") == 0;
		none += strcmp(s, "no_target") == 0;
	}
	s2s_result_message(run, "%zu table%s: %zu ready, %zu need%s a mapping, %zu without a target "
	                        "table",
	                   run->res->n_tables, run->res->n_tables == 1 ? "" : "s", ready, needs,
	                   needs == 1 ? "s" : "", none);
	return CF_OK;
}

cf_status cf_s2s_analyze(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out)
{
	s2s_run run;
	cf_status st = s2s_run_start(&run, ctx, opts, "analyze", true, out);
	if (!st)
		st = do_analyze(&run);
	return s2s_run_finish(&run, st);
}
