/*
 * mapping.c -- the mapping file of s2s migrate and verify.
 *
 * The precursor's format, one entry per target table:
 *
 *   users:                      # entry name (default for both table names)
 *     source_table: old_users   # name or schema.name in the source
 *     target_table: users       # name or schema.name in the target
 *     columns: {full_name: display_name, email: email}
 *
 * extended with expressions (target column: SQL over source columns),
 * defaults (target column: value, used when the source gives none), where
 * (SQL filter over source columns), key (the source column ranges are cut
 * on) and batch_size. Every value keeps its line, so that a problem found
 * later against the databases still points into this file.
 *
 * ${VAR} is expanded in names and defaults (names are quoted identifiers,
 * defaults travel as $n parameters), never in expressions and where: they
 * are SQL, and a variable's value must not become SQL (as in sql: hooks).
 */
#include "s2s.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ENTRY_KEYS[] = {"source_table", "target_table", "columns", "expressions",
                                         "defaults",     "where",        "key",     "batch_size"};
#define N_ENTRY_KEYS (sizeof(ENTRY_KEYS) / sizeof(*ENTRY_KEYS))

cf_status s2s_mapping_error(cf_ctx *ctx, const s2s_mapping *m, s2s_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	cf_error_set(ctx, CF_ERR_CONFIG, "%s", msg);
	cf_error_at(ctx, m->file, pos.line, pos.col);
	free(msg);
	return CF_ERR_CONFIG;
}

static s2s_pos pos_of(const cf_ynode *n)
{
	/* A quoted scalar's text starts after its quote. */
	return (s2s_pos){n->line, n->column + (n->kind == CF_Y_SCALAR && n->is_quoted ? 1 : 0)};
}

static void pair_release(s2s_pair *p)
{
	free(p->key);
	free(p->value);
}

static void entry_release(s2s_entry *e)
{
	free(e->name);
	free(e->source_table);
	free(e->target_table);
	for (size_t i = 0; i < e->n_columns; i++)
		pair_release(&e->columns[i]);
	for (size_t i = 0; i < e->n_exprs; i++)
		pair_release(&e->exprs[i]);
	for (size_t i = 0; i < e->n_defaults; i++)
		pair_release(&e->defaults[i]);
	free(e->columns);
	free(e->exprs);
	free(e->defaults);
	free(e->where);
	free(e->key);
}

void s2s_mapping_release(s2s_mapping *m)
{
	for (size_t i = 0; i < m->n; i++)
		entry_release(&m->v[i]);
	free(m->v);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

/* An unset ${VAR} in a value that is expanded is an error at its line. */
static cf_status check_set(cf_ctx *ctx, const s2s_mapping *m, const cf_ynode *n)
{
	return n->missing ? cf_ynode_missing_error(ctx, &(cf_ydoc){.file = m->file}, n) : CF_OK;
}

/* A non-empty string scalar, or an error naming WHAT. */
static cf_status want_name(cf_ctx *ctx, const s2s_mapping *m, const cf_ynode *n, const char *what,
                           char **out)
{
	if (n->kind != CF_Y_SCALAR || !*n->str)
		return s2s_mapping_error(ctx, m, pos_of(n), "%s must be a non-empty string", what);
	cf_status st = check_set(ctx, m, n);
	if (!st)
		*out = cf_strdup(n->str);
	return st;
}

/* Whether N is a scalar whose text, as written, is not empty. */
static bool has_text(const cf_ynode *n)
{
	return n->kind == CF_Y_SCALAR && *(n->raw ? n->raw : n->str);
}

/* A non-empty SQL text, kept as written (see the top of the file). */
static cf_status want_sql(cf_ctx *ctx, const s2s_mapping *m, const cf_ynode *n, const char *what,
                          char **out)
{
	if (!has_text(n))
		return s2s_mapping_error(ctx, m, pos_of(n), "%s must be a non-empty string", what);
	*out = cf_ynode_as_written(n);
	return CF_OK;
}

/* columns: a map {source: target} (a null target keeps the name), or a list
 * of names copied under the same name. */
static cf_status parse_columns(cf_ctx *ctx, const s2s_mapping *m, const char *entry,
                               const cf_ynode *n, s2s_entry *e)
{
	char *what = cf_asprintf("a column of \"%s\"", entry);
	cf_status st = CF_OK;
	if (n->kind == CF_Y_SEQ) {
		e->columns = cf_calloc(n->n + 1, sizeof(s2s_pair));
		for (size_t i = 0; !st && i < n->n; i++) {
			s2s_pair *p = &e->columns[e->n_columns];
			st = want_name(ctx, m, n->v[i], what, &p->key);
			if (!st) {
				p->value = cf_strdup(p->key);
				p->at_key = p->at_value = pos_of(n->v[i]);
				e->n_columns++;
			}
		}
	} else if (n->kind == CF_Y_MAP) {
		e->columns = cf_calloc(n->n + 1, sizeof(s2s_pair));
		for (size_t i = 0; !st && i < n->n; i++) {
			s2s_pair *p = &e->columns[e->n_columns];
			st = want_name(ctx, m, n->k[i], what, &p->key);
			if (!st && n->v[i]->kind == CF_Y_NULL)
				p->value = cf_strdup(p->key);
			else if (!st)
				st = want_name(ctx, m, n->v[i], what, &p->value);
			if (!st) {
				p->at_key = pos_of(n->k[i]);
				p->at_value = n->v[i]->kind == CF_Y_NULL ? p->at_key : pos_of(n->v[i]);
				e->n_columns++;
			} else {
				free(p->key);
				p->key = NULL;
			}
		}
	} else {
		st = s2s_mapping_error(ctx, m, pos_of(n),
		                       "\"columns\" of \"%s\" must map source columns to target columns",
		                       entry);
		cf_error_hint(ctx, "Write columns: {source_column: target_column, ...}, or a list of "
		                   "names copied as they are.");
	}
	free(what);
	return st;
}

/* expressions / defaults: a map {target column: text}; defaults accept null. */
static cf_status parse_values(cf_ctx *ctx, const s2s_mapping *m, const char *entry,
                              const char *key, const cf_ynode *n, bool allow_null, s2s_pair **v,
                              size_t *count)
{
	if (n->kind != CF_Y_MAP)
		return s2s_mapping_error(ctx, m, pos_of(n),
		                         "\"%s\" of \"%s\" must map target columns to %s", key, entry,
		                         allow_null ? "values" : "SQL expressions");
	*v = cf_calloc(n->n + 1, sizeof(s2s_pair));
	char *what = cf_asprintf("a target column in \"%s\" of \"%s\"", key, entry);
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < n->n; i++) {
		s2s_pair *p = &(*v)[*count];
		const cf_ynode *val = n->v[i];
		st = want_name(ctx, m, n->k[i], what, &p->key);
		if (!st && val->kind == CF_Y_NULL && allow_null) {
			p->value = NULL;
		} else if (!st && (val->kind != CF_Y_SCALAR || (!allow_null && !has_text(val)))) {
			st = s2s_mapping_error(ctx, m, pos_of(val),
			                       "the %s for \"%s\" in \"%s\" must be %s", key, p->key, entry,
			                       allow_null ? "a value" : "a SQL expression");
		} else if (!st && !allow_null) {
			p->value = cf_ynode_as_written(val); /* an expression is SQL */
		} else if (!st && !(st = check_set(ctx, m, val))) {
			p->value = cf_strdup(val->str);
		}
		if (!st) {
			p->at_key = pos_of(n->k[i]);
			p->at_value = pos_of(val);
			(*count)++;
		} else {
			free(p->key);
			p->key = NULL;
		}
	}
	free(what);
	return st;
}

/* A target column may be filled once (columns + defaults is a COALESCE). */
static cf_status check_duplicates(cf_ctx *ctx, const s2s_mapping *m, const s2s_entry *e)
{
	for (size_t i = 0; i < e->n_columns; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(e->columns[i].value, e->columns[j].value) == 0)
				return s2s_mapping_error(ctx, m, e->columns[i].at_value,
				                         "target column \"%s\" of \"%s\" is mapped twice",
				                         e->columns[i].value, e->name);
	for (size_t i = 0; i < e->n_exprs; i++) {
		for (size_t j = 0; j < e->n_columns; j++)
			if (strcmp(e->exprs[i].key, e->columns[j].value) == 0)
				return s2s_mapping_error(
					ctx, m, e->exprs[i].at_key,
					"target column \"%s\" of \"%s\" has both a column and an expression",
					e->exprs[i].key, e->name);
		for (size_t j = 0; j < e->n_defaults; j++)
			if (strcmp(e->exprs[i].key, e->defaults[j].key) == 0)
				return s2s_mapping_error(
					ctx, m, e->defaults[j].at_key,
					"target column \"%s\" of \"%s\" has both an expression and a default",
					e->exprs[i].key, e->name);
	}
	return CF_OK;
}

static cf_status parse_entry(cf_ctx *ctx, const s2s_mapping *m, const cf_ynode *keynode,
                             const cf_ynode *n, s2s_entry *e)
{
	e->name = cf_strdup(keynode->str);
	e->at = pos_of(keynode);
	if (keynode->missing)
		return check_set(ctx, m, keynode);
	if (n->kind != CF_Y_MAP) {
		cf_status st = s2s_mapping_error(ctx, m, pos_of(n),
		                                 "entry \"%s\" must be a mapping", e->name);
		cf_error_hint(ctx, "Give source_table, target_table and columns under it.");
		return st;
	}
	cf_status st = CF_OK;
	char *where = cf_asprintf("entry \"%s\"", e->name);
	for (size_t i = 0; !st && i < n->n; i++) {
		const char *k = n->k[i]->str;
		const cf_ynode *v = n->v[i];
		if (strcmp(k, "source_table") == 0) {
			st = want_name(ctx, m, v, "source_table", &e->source_table);
			e->at_source = pos_of(v);
		} else if (strcmp(k, "target_table") == 0) {
			st = want_name(ctx, m, v, "target_table", &e->target_table);
			e->at_target = pos_of(v);
		} else if (strcmp(k, "columns") == 0) {
			st = parse_columns(ctx, m, e->name, v, e);
		} else if (strcmp(k, "expressions") == 0) {
			st = parse_values(ctx, m, e->name, k, v, false, &e->exprs, &e->n_exprs);
		} else if (strcmp(k, "defaults") == 0) {
			st = parse_values(ctx, m, e->name, k, v, true, &e->defaults, &e->n_defaults);
		} else if (strcmp(k, "where") == 0) {
			st = want_sql(ctx, m, v, "where", &e->where);
			e->at_where = pos_of(v);
		} else if (strcmp(k, "key") == 0) {
			st = want_name(ctx, m, v, "key", &e->key);
			e->at_key = pos_of(v);
		} else if (strcmp(k, "batch_size") == 0) {
			st = check_set(ctx, m, v);
			if (!st)
				st = cf_ynode_long(ctx, &(cf_ydoc){.file = m->file}, v, "batch_size",
				                   &e->batch_size);
			if (!st && e->batch_size <= 0)
				st = s2s_mapping_error(ctx, m, pos_of(v), "batch_size must be positive");
		} else {
			st = cf_ynode_unknown_key(ctx, &(cf_ydoc){.file = m->file}, n->k[i], where,
			                          ENTRY_KEYS, N_ENTRY_KEYS);
		}
	}
	free(where);
	if (st)
		return st;
	if (!e->source_table) {
		e->source_table = cf_strdup(e->name);
		e->at_source = e->at;
	}
	if (!e->target_table) {
		e->target_table = cf_strdup(e->name);
		e->at_target = e->at;
	}
	if (e->n_columns + e->n_exprs + e->n_defaults == 0) {
		st = s2s_mapping_error(ctx, m, e->at, "entry \"%s\" maps no columns", e->name);
		cf_error_hint(ctx, "Give columns: {source_column: target_column}, expressions or "
		                   "defaults.");
		return st;
	}
	return check_duplicates(ctx, m, e);
}

static cf_status parse_doc(cf_ctx *ctx, cf_ydoc *doc, s2s_mapping *out)
{
	out->file = cf_strdup(doc->file);
	const cf_ynode *root = doc->root;
	if (!root || root->kind != CF_Y_MAP || root->n == 0) {
		cf_status st = s2s_mapping_error(ctx, out, root ? pos_of(root) : (s2s_pos){1, 1},
		                                 "the mapping file has no entries");
		cf_error_hint(ctx, "Write one entry per target table: NAME: {source_table: ..., "
		                   "target_table: ..., columns: {source_column: target_column}}.");
		return st;
	}
	out->v = cf_calloc(root->n, sizeof(s2s_entry));
	for (size_t i = 0; i < root->n; i++) {
		cf_status st = parse_entry(ctx, out, root->k[i], root->v[i], &out->v[out->n++]);
		if (st)
			return st;
	}
	return CF_OK;
}

cf_status s2s_mapping_load(cf_ctx *ctx, const char *file, s2s_mapping *out)
{
	memset(out, 0, sizeof(*out));
	cf_ydoc *doc = NULL;
	int flags = CF_YAML_EXPAND_VARS | CF_YAML_DEFER_MISSING;
	cf_status st = cf_yaml_load(ctx, file, file, flags, &doc);
	if (st) {
		cf_error_context(ctx, "while reading the mapping file \"%s\"", file);
		return st;
	}
	st = parse_doc(ctx, doc, out);
	cf_ydoc_free(doc);
	if (st)
		s2s_mapping_release(out);
	return st;
}

cf_status s2s_mapping_parse(cf_ctx *ctx, const char *name, const char *text, s2s_mapping *out)
{
	memset(out, 0, sizeof(*out));
	cf_ydoc *doc = NULL;
	int flags = CF_YAML_EXPAND_VARS | CF_YAML_DEFER_MISSING;
	cf_status st = cf_yaml_parse(ctx, name, text, strlen(text), flags, &doc);
	if (st)
		return st;
	st = parse_doc(ctx, doc, out);
	cf_ydoc_free(doc);
	if (st)
		s2s_mapping_release(out);
	return st;
}
