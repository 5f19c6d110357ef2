/*
 * table.c -- one mapping entry checked against the databases, and the SQL
 * built from it.
 *
 * Everything that can be wrong with a mapping is found here, before any row
 * moves: a missing table or column, a cast the target cannot do, a NOT NULL
 * column left without a value, and (through a PREPARE of the real copy
 * statement) any mistake in the user's expressions and where clause. Each
 * error points at the mapping file's line.
 */
#include "s2s.h"
#include "hash.h"
#include "log.h"
#include "sql_embed.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void s2s_table_release(s2s_table *t)
{
	s2s_rel_release(&t->ft);
	s2s_rel_release(&t->tgt);
	s2s_src_info_release(&t->src);
	free(t->key);
	free(t->key_type);
	free(t->tgt_key);
	cf_strv_release(&t->tgt_pk);
	cf_strv_release(&t->insert_cols);
	cf_strv_release(&t->select_items);
	free(t->frags);
	for (size_t i = 0; i < t->params.n; i++)
		free(t->params.v[i]);
	free(t->params.v);
	free(t->param_null);
	cf_strv_release(&t->seq_cols);
	cf_strv_release(&t->seq_names);
	free(t->plan_hash);
	free(t->src_hash);
	free(t->tgt_hash);
	free(t->tgt_key_expr);
	cf_strv_release(&t->checked);
	cf_strv_release(&t->unchecked);
	free(t->deps);
	memset(t, 0, sizeof(*t));
}

static void table_init(s2s_table *t, const s2s_entry *e)
{
	memset(t, 0, sizeof(*t));
	t->e = e;
	cf_strv_init(&t->tgt_pk);
	cf_strv_init(&t->insert_cols);
	cf_strv_init(&t->select_items);
	cf_strv_init(&t->params);
	cf_strv_init(&t->seq_cols);
	cf_strv_init(&t->seq_names);
	cf_strv_init(&t->checked);
	cf_strv_init(&t->unchecked);
	cf_strv_init(&t->src.pk);
}

/* ---- Statements ------------------------------------------------------------------ */

static void add_item(s2s_table *t, char *col_quoted, char *item, s2s_pos at, bool is_user)
{
	cf_strv_push_owned(&t->insert_cols, col_quoted);
	cf_strv_push_owned(&t->select_items, item);
	t->frags = cf_realloc(t->frags, (t->n_frags + 2) * sizeof(*t->frags));
	t->frags[t->n_frags++] = (s2s_frag){.at = at, .is_user_sql = is_user};
}

/* Adds a default value as parameter $n; returns n. */
static int add_param(s2s_table *t, const char *value)
{
	cf_strv_push(&t->params, value ? value : "");
	t->param_null = cf_realloc(t->param_null, t->params.n * sizeof(bool));
	t->param_null[t->params.n - 1] = value == NULL;
	return (int)t->params.n;
}

static bool is_pk_col(const s2s_table *t, const char *quoted)
{
	for (size_t i = 0; i < t->tgt_pk.n; i++)
		if (strcmp(t->tgt_pk.v[i], quoted) == 0)
			return true;
	return false;
}

static void append_conflict(cf_pg *pg, const s2s_table *t, cf_buf *b)
{
	cf_buf_puts(b, " ON CONFLICT (");
	for (size_t i = 0; i < t->tgt_pk.n; i++)
		cf_buf_printf(b, "%s%s", i ? ", " : "", t->tgt_pk.v[i]);
	cf_buf_puts(b, ") DO ");
	cf_buf set, old, new;
	cf_buf_init(&set);
	cf_buf_init(&old);
	cf_buf_init(&new);
	for (size_t i = 0; i < t->insert_cols.n; i++) {
		const char *c = t->insert_cols.v[i];
		if (is_pk_col(t, c))
			continue;
		cf_buf_printf(&set, "%s%s = EXCLUDED.%s", set.len ? ", " : "", c, c);
		cf_buf_printf(&old, "%st.%s", old.len ? ", " : "", c);
		cf_buf_printf(&new, "%sEXCLUDED.%s", new.len ? ", " : "", c);
	}
	(void)pg;
	/* Rows that did not change are left alone: no dead tuples, and the
	 * count says how many rows the catch-up really changed. */
	if (set.len)
		cf_buf_printf(b, "UPDATE SET %s WHERE ROW(%s) IS DISTINCT FROM ROW(%s)", set.data,
		              old.data, new.data);
	else
		cf_buf_puts(b, "NOTHING");
	cf_buf_release(&set);
	cf_buf_release(&old);
	cf_buf_release(&new);
}

char *s2s_copy_sql(cf_pg *pg, const s2s_table *t, const char *staging, bool has_lo, bool has_hi,
                   bool upsert, s2s_frag **frags_out, size_t *n_frags_out)
{
	cf_buf b;
	cf_buf_init(&b);
	s2s_frag *frags = cf_calloc(t->n_frags + 1, sizeof(*frags));
	cf_sql_appendf(pg, &b, "INSERT INTO %s AS t (", t->tgt.qual);
	for (size_t i = 0; i < t->insert_cols.n; i++)
		cf_buf_printf(&b, "%s%s", i ? ", " : "", t->insert_cols.v[i]);
	cf_buf_puts(&b, t->is_overriding ? ") OVERRIDING SYSTEM VALUE SELECT " : ") SELECT ");
	for (size_t i = 0; i < t->select_items.n; i++) {
		if (i)
			cf_buf_puts(&b, ", ");
		frags[i] = t->frags[i];
		frags[i].start = b.len;
		cf_buf_puts(&b, t->select_items.v[i]);
		frags[i].end = b.len;
	}
	cf_sql_appendf(pg, &b, " FROM %I.%I AS s", staging, t->ft.name);
	int n = (int)t->params.n;
	const char *sep = " WHERE ";
	if (t->e->where) {
		size_t k = t->select_items.n;
		frags[k] = (s2s_frag){.at = t->e->at_where, .is_user_sql = true};
		cf_buf_puts(&b, " WHERE (");
		frags[k].start = b.len;
		cf_buf_puts(&b, t->e->where); /* the user's own SQL: a filter, by design */
		frags[k].end = b.len;
		cf_buf_putc(&b, ')');
		sep = " AND ";
	}
	if (has_lo) {
		cf_sql_appendf(pg, &b, "%ss.%I >= $%d::%s", sep, t->key, ++n, t->key_type);
		sep = " AND ";
	}
	if (has_hi)
		cf_sql_appendf(pg, &b, "%ss.%I < $%d::%s", sep, t->key, ++n, t->key_type);
	if (upsert)
		append_conflict(pg, t, &b);
	if (frags_out) {
		*frags_out = frags;
		*n_frags_out = t->select_items.n + (t->e->where ? 1 : 0);
	} else {
		free(frags);
	}
	return b.data;
}

/* ---- Errors at the mapping's lines ---------------------------------------------- */

static cf_status entry_error(s2s_run *run, const s2s_mapping *m, s2s_pos at, cf_status st,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static cf_status entry_error(s2s_run *run, const s2s_mapping *m, s2s_pos at, cf_status st,
                             const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	cf_error_set(run->ctx, st, "%s", msg);
	cf_error_at(run->ctx, m->file, at.line, at.col);
	free(msg);
	return st;
}

static void hint_closest(s2s_run *run, const s2s_rel *r, const char *name)
{
	const char *best = s2s_rel_closest(r, name);
	if (best)
		cf_error_hint(run->ctx, "Did you mean \"%s\"?", best);
}

/* Where in the mapping file byte OFF of statement SQL comes from. */
static s2s_pos locate(const char *sql, const s2s_frag *frags, size_t n, size_t off, s2s_pos dflt)
{
	for (size_t i = 0; i < n; i++) {
		const s2s_frag *f = &frags[i];
		if (off < f->start || off > f->end)
			continue;
		if (!f->is_user_sql)
			return f->at;
		int line = 0, col = 0;
		char *piece = cf_strndup(sql + f->start, off - f->start);
		cf_text_linecol(piece, strlen(piece), &line, &col);
		free(piece);
		return line == 1 ? (s2s_pos){f->at.line, f->at.col + col - 1}
		                 : (s2s_pos){f->at.line + line - 1, col};
	}
	return dflt;
}

/* Whether the entry's SQL (expressions, where) holds a "${", which the
 * mapping keeps as written (mapping.c). */
static bool sql_has_var(const s2s_entry *e)
{
	if (e->where && strstr(e->where, "${"))
		return true;
	for (size_t i = 0; i < e->n_exprs; i++)
		if (strstr(e->exprs[i].value, "${"))
			return true;
	return false;
}

/* PREPAREs the copy statement (parse analysis: names, types, casts,
 * expressions, ON CONFLICT) without running it. */
static cf_status check_statement(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t,
                                 bool upsert)
{
	s2s_frag *frags = NULL;
	size_t n_frags = 0;
	bool has_key = t->key != NULL;
	char *sql = s2s_copy_sql(pg, t, run->staging, has_key, has_key, upsert, &frags, &n_frags);
	char *stmt = cf_asprintf("PREPARE confiture_s2s_check AS %s", sql);
	size_t prefix = strlen(stmt) - strlen(sql);
	cf_status st = cf_pg_exec(pg, stmt);
	if (st && st != CF_ERR_CANCELLED && !cf_pg_is_bad(pg)) {
		int pos = cf_error_server_position_get(run->ctx);
		size_t off = pos > 0 ? cf_text_char_offset(stmt, strlen(stmt), pos) : 0;
		s2s_pos at = off >= prefix ? locate(sql, frags, n_frags, off - prefix, t->e->at) : t->e->at;
		s2s_error_rewrite(run->ctx, CF_ERR_CONFIG, m->file, at,
		                  "invalid mapping for \"%s\"", t->e->name);
		if (sql_has_var(t->e) && !cf_last_error_info(run->ctx)->hint)
			cf_error_hint(run->ctx, "${VAR} is not expanded in expressions and where: they are "
			                        "SQL, and a variable's value must not become SQL. A value "
			                        "can come from a variable through defaults, as a "
			                        "parameter.");
		st = CF_ERR_CONFIG;
	} else if (!st) {
		st = cf_pg_exec(pg, "DEALLOCATE confiture_s2s_check");
	}
	free(frags);
	free(stmt);
	free(sql);
	return st;
}

/* ---- Resolution -------------------------------------------------------------------- */

static cf_status find_tables(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t)
{
	const s2s_entry *e = t->e;
	unsigned int oid = 0;
	bool ambiguous = false;
	cf_status st = s2s_staging_find(pg, run->staging, e->source_table, &oid, &ambiguous);
	if (st)
		return st;
	if (ambiguous) {
		st = entry_error(run, m, e->at_source, CF_ERR_CONFIG,
		                 "source table \"%s\" of \"%s\" is in several source schemas",
		                 e->source_table, e->name);
		cf_error_hint(run->ctx, "Write it as schema.table.");
		return st;
	}
	if (!oid) {
		st = entry_error(run, m, e->at_source, CF_ERR_CONFIG,
		                 "source table \"%s\" of \"%s\" is not in the staging schema \"%s\"",
		                 e->source_table, e->name, run->staging);
		cf_error_hint(run->ctx, "Check source_table; a table created on the source since "
		                        "setup (or in another schema) needs \"confiture s2s setup\" "
		                        "again (with --schema).");
		return st;
	}
	st = s2s_rel_load(pg, oid, &t->ft);
	if (st)
		return st;
	st = s2s_find_rel(pg, e->target_table, NULL, 0, &oid);
	if (st)
		return st;
	if (!oid) {
		st = entry_error(run, m, e->at_target, CF_ERR_CONFIG,
		                 "target table \"%s\" of \"%s\" does not exist in the target",
		                 e->target_table, e->name);
		cf_error_hint(run->ctx, "Create the new schema on the target first, or check "
		                        "target_table (schema.table; names are taken as written).");
		return st;
	}
	st = s2s_rel_load(pg, oid, &t->tgt);
	if (!st && t->tgt.relkind != 'r' && t->tgt.relkind != 'p')
		st = entry_error(run, m, e->at_target, CF_ERR_CONFIG,
		                 "target \"%s\" of \"%s\" is not a table", t->tgt.display, e->name);
	return st;
}

static cf_status check_writable(s2s_run *run, const s2s_mapping *m, s2s_table *t,
                                const s2s_col *tc, s2s_pos at)
{
	if (tc->is_generated)
		return entry_error(run, m, at, CF_ERR_CONFIG,
		                   "target column \"%s\" of \"%s\" is generated and cannot be written",
		                   tc->name, t->tgt.display);
	if (tc->identity == 'a')
		t->is_overriding = true;
	if (tc->sequence) {
		cf_strv_push(&t->seq_cols, tc->name);
		cf_strv_push(&t->seq_names, tc->sequence);
	}
	return CF_OK;
}

static const s2s_pair *default_for(const s2s_entry *e, const char *target)
{
	for (size_t i = 0; i < e->n_defaults; i++)
		if (strcmp(e->defaults[i].key, target) == 0)
			return &e->defaults[i];
	return NULL;
}

static cf_status map_columns(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t)
{
	const s2s_entry *e = t->e;
	for (size_t i = 0; i < e->n_columns; i++) {
		const s2s_pair *p = &e->columns[i];
		const s2s_col *sc = s2s_rel_col(&t->ft, p->key);
		const s2s_col *tc = s2s_rel_col(&t->tgt, p->value);
		cf_status st;
		if (!sc) {
			st = entry_error(run, m, p->at_key, CF_ERR_CONFIG,
			                 "column \"%s\" does not exist in source table \"%s.%s\"", p->key,
			                 t->ft.remote_schema, t->ft.remote_name);
			hint_closest(run, &t->ft, p->key);
			return st;
		}
		if (!tc) {
			st = entry_error(run, m, p->at_value, CF_ERR_CONFIG,
			                 "column \"%s\" does not exist in target table \"%s\"", p->value,
			                 t->tgt.display);
			hint_closest(run, &t->tgt, p->value);
			return st;
		}
		st = check_writable(run, m, t, tc, p->at_value);
		s2s_cast cast = S2S_CAST_NONE;
		char *why = NULL;
		if (!st)
			st = s2s_cast_probe(pg, t->tgt.qual, tc->name, sc->type, tc->type, &cast, &why);
		if (!st && cast == S2S_CAST_IMPOSSIBLE) {
			st = entry_error(run, m, p->at_value, CF_ERR_CONFIG,
			                 "cannot cast source column \"%s\" (%s) to target column \"%s\" "
			                 "(%s) in \"%s\"",
			                 sc->name, sc->type, tc->name, tc->type, e->name);
			if (why)
				cf_error_detail(run->ctx, "The target server says: %s.", why);
			cf_error_hint(run->ctx, "Use an expression instead, e.g. expressions: {%s: "
			                        "\"...%s...\"}.",
			              tc->name, sc->name);
		}
		free(why);
		if (st)
			return st;
		char *item = cast == S2S_CAST_EXPLICIT
		                 ? cf_sql_format(pg, "CAST(s.%I AS %s)", sc->name, tc->type)
		                 : cf_sql_format(pg, "s.%I", sc->name);
		const s2s_pair *d = default_for(e, tc->name);
		if (d) {
			/* COALESCE wants one type: the column's, on both arguments. */
			char *with = cf_asprintf("COALESCE(CAST(%s AS %s), $%d::%s)", item, tc->type,
			                         add_param(t, d->value), tc->type);
			free(item);
			item = with;
			cf_strv_push(&t->unchecked, tc->name);
		} else {
			cf_strv_push(&t->checked, tc->name);
		}
		add_item(t, cf_quote_ident(pg, tc->name), item, p->at_key, false);
		if (t->key && strcmp(sc->name, t->key) == 0 && !t->tgt_key)
			t->tgt_key = cf_strdup(tc->name);
	}
	return CF_OK;
}

static cf_status map_values(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t)
{
	const s2s_entry *e = t->e;
	for (size_t i = 0; i < e->n_exprs + e->n_defaults; i++) {
		bool is_expr = i < e->n_exprs;
		const s2s_pair *p = is_expr ? &e->exprs[i] : &e->defaults[i - e->n_exprs];
		const s2s_col *tc = s2s_rel_col(&t->tgt, p->key);
		if (!tc) {
			cf_status st = entry_error(run, m, p->at_key, CF_ERR_CONFIG,
			                           "column \"%s\" does not exist in target table \"%s\"",
			                           p->key, t->tgt.display);
			hint_closest(run, &t->tgt, p->key);
			return st;
		}
		if (!is_expr && cf_strv_contains(&t->unchecked, tc->name))
			continue; /* a default of a mapped column: the COALESCE above */
		cf_status st = check_writable(run, m, t, tc, p->at_key);
		if (st)
			return st;
		char *item = is_expr ? cf_asprintf("(%s)", p->value) /* the user's SQL, by design */
		                     : cf_asprintf("$%d::%s", add_param(t, p->value), tc->type);
		cf_strv_push(&t->unchecked, tc->name);
		s2s_pos at = is_expr ? (s2s_pos){p->at_value.line, p->at_value.col - 1} : p->at_key;
		add_item(t, cf_quote_ident(pg, tc->name), item, at, is_expr);
	}
	return CF_OK;
}

/* Target columns that would be NULL while declared NOT NULL with no default. */
static cf_status check_required(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t)
{
	for (size_t i = 0; i < t->tgt.n_cols; i++) {
		const s2s_col *c = &t->tgt.cols[i];
		if (!c->is_notnull || c->has_default)
			continue;
		char *q = cf_quote_ident(pg, c->name);
		bool covered = cf_strv_contains(&t->insert_cols, q);
		free(q);
		if (covered)
			continue;
		cf_status st = entry_error(run, m, t->e->at, CF_ERR_CONFIG,
		                           "target column \"%s\" of \"%s\" is NOT NULL and \"%s\" gives "
		                           "it no value",
		                           c->name, t->tgt.display, t->e->name);
		cf_error_hint(run->ctx, "Map a source column to it, or give it an expression or a "
		                        "default in the mapping.");
		return st;
	}
	return CF_OK;
}

static cf_status choose_key(s2s_run *run, const s2s_mapping *m, s2s_table *t)
{
	const s2s_entry *e = t->e;
	const char *key = e->key ? e->key : t->src.pk.n ? t->src.pk.v[0] : NULL;
	if (!key) {
		cf_log_warning(run->ctx, "\"%s\": the source has no primary key and the mapping no "
		                         "key: it is copied in one range",
		               e->name);
		return CF_OK;
	}
	const s2s_col *kc = s2s_rel_col(&t->ft, key);
	if (!kc) {
		cf_status st = entry_error(run, m, e->key ? e->at_key : e->at_source, CF_ERR_CONFIG,
		                           "key column \"%s\" does not exist in source table \"%s.%s\"",
		                           key, t->ft.remote_schema, t->ft.remote_name);
		hint_closest(run, &t->ft, key);
		return st;
	}
	t->key = cf_strdup(kc->name);
	t->key_type = cf_strdup(kc->type);
	return CF_OK;
}

/* The target's primary key, always loaded: a copy started with --upsert is
 * continued in that mode by any later run. Required (and checked) with UPSERT. */
static cf_status target_pk(s2s_run *run, cf_pg *pg, const s2s_mapping *m, s2s_table *t,
                           bool upsert)
{
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", t->tgt.oid);
	const char *p[] = {oid};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg,
	                           "SELECT a.attname"
	                           "  FROM pg_catalog.pg_index i"
	                           "  CROSS JOIN LATERAL pg_catalog.unnest(i.indkey)"
	                           "       WITH ORDINALITY AS k(attnum, ord)"
	                           "  JOIN pg_catalog.pg_attribute a"
	                           "    ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
	                           " WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord",
	                           1, p, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_strv_push_owned(&t->tgt_pk, cf_quote_ident(pg, cf_pgres_get(res, i, 0)));
	cf_pgres_free(res);
	if (st || !upsert)
		return st;
	if (t->tgt_pk.n == 0) {
		st = entry_error(run, m, t->e->at_target, CF_ERR_CONFIG,
		                 "upsert needs a primary key on target table \"%s\"", t->tgt.display);
		cf_error_hint(run->ctx, "Add the primary key, or copy without --upsert.");
		return st;
	}
	for (size_t i = 0; i < t->tgt_pk.n; i++)
		if (!cf_strv_contains(&t->insert_cols, t->tgt_pk.v[i])) {
			st = entry_error(run, m, t->e->at, CF_ERR_CONFIG,
			                 "upsert needs the primary key column %s of \"%s\" to be mapped",
			                 t->tgt_pk.v[i], t->tgt.display);
			cf_error_hint(run->ctx, "Without it every row would look new.");
			return st;
		}
	return CF_OK;
}

/*
 * One column's term in the row hash: the same expression on both sides, over
 * the value as the target stores it. Built-in, immutable functions only, so
 * that postgres_fdw can run the source side on the source.
 *
 * A NOT NULL column gets its type's 64-bit hash with the column's seed. A
 * nullable one gets SEED + its 32-bit hash through int4_sum(), the non-strict
 * transition function of sum(int4): a NULL leaves SEED, so a NULL is a value
 * of its own and the row hash never becomes NULL (a strict function would
 * drop the row from the sum). Types whose hash functions take another type
 * go through hash_array, which finds the function itself; bool and
 * timestamptz, common and otherwise array-bound, are converted first
 * (timestamptz to UTC wall time with an interval zone: a text zone would stop
 * postgres_fdw; infinity stays infinity).
 */
static cf_status hash_term(cf_pg *pg, const char *type, const char *val, size_t seed,
                           bool nullable, cf_buf *out)
{
	char *fn64 = NULL, *fn32 = NULL, *conv = NULL;
	bool hashable = false;
	cf_status st = CF_OK;
	if (strcmp(type, "boolean") == 0) {
		fn64 = cf_strdup("hashint4extended");
		fn32 = cf_strdup("hashint4");
		conv = cf_asprintf("CAST(%s AS integer)", val);
	} else if (strcmp(type, "timestamp with time zone") == 0) {
		fn64 = cf_strdup("timestamp_hash_extended");
		fn32 = cf_strdup("timestamp_hash");
		conv = cf_asprintf("pg_catalog.timezone('00:00'::interval, %s)", val);
	} else {
		st = s2s_type_hash_fn(pg, type, &fn64, &fn32, &hashable);
		conv = cf_strdup(val);
	}
	if (st)
		goto done;
	if (out->len)
		cf_buf_puts(out, " # ");
	if (fn64 && !nullable)
		cf_sql_appendf(pg, out, "pg_catalog.%I(%s, %zu)", fn64, conv, seed);
	else if (fn32)
		cf_sql_appendf(pg, out, "pg_catalog.int4_sum(%zu, pg_catalog.%I(%s))", seed, fn32, conv);
	else if (hashable) /* hash_array hashes a NULL element as a value too */
		cf_buf_printf(out, "pg_catalog.hash_array_extended(ARRAY[%s], %zu)", conv, seed);
	else
		cf_buf_printf(out, "pg_catalog.hash_array_extended(ARRAY[(%s)::text], %zu)", conv, seed);
done:
	free(fn64);
	free(fn32);
	free(conv);
	return st;
}

/*
 * The row hash is the XOR of the column terms, and the table's checksum the
 * count and the SUM of the row hashes: XOR does not distribute over the sum,
 * so values swapped between rows change it (a linear row hash would not).
 */
static cf_status build_checksums(cf_pg *pg, const s2s_entry *e, s2s_table *t)
{
	cf_buf src, tgt;
	cf_buf_init(&src);
	cf_buf_init(&tgt);
	cf_status st = CF_OK;
	size_t seed = 0;
	for (size_t i = 0; !st && i < e->n_columns; i++) {
		const s2s_col *sc = s2s_rel_col(&t->ft, e->columns[i].key);
		const s2s_col *tc = s2s_rel_col(&t->tgt, e->columns[i].value);
		if (!cf_strv_contains(&t->checked, tc->name))
			continue;
		bool nullable = !sc->is_notnull || !tc->is_notnull;
		char *sv = strcmp(sc->type, tc->type) == 0
		               ? cf_sql_format(pg, "s.%I", sc->name)
		               : cf_sql_format(pg, "CAST(s.%I AS %s)", sc->name, tc->type);
		char *tv = cf_sql_format(pg, "t.%I", tc->name);
		/* Seeds far apart, so that SEED + a 32-bit hash of one column never
		 * lands on another column's range by construction. */
		seed += 0x100000000ULL;
		st = hash_term(pg, tc->type, sv, seed, nullable, &src);
		if (!st)
			st = hash_term(pg, tc->type, tv, seed, nullable, &tgt);
		free(sv);
		free(tv);
	}
	if (!st) {
		t->src_hash = src.len ? cf_buf_detach(&src) : cf_strdup("0::int8");
		t->tgt_hash = tgt.len ? cf_buf_detach(&tgt) : cf_strdup("0::int8");
		if (t->tgt_key)
			t->tgt_key_expr = cf_sql_format(pg, "CAST(t.%I AS %s)", t->tgt_key, t->key_type);
	}
	cf_buf_release(&src);
	cf_buf_release(&tgt);
	return st;
}

static void compute_hash(cf_pg *pg, s2s_table *t, const char *staging)
{
	char *sql = s2s_copy_sql(pg, t, staging, t->key != NULL, t->key != NULL, false, NULL, NULL);
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "%s\n%s\n", t->key ? t->key : "", sql);
	for (size_t i = 0; i < t->params.n; i++)
		cf_buf_printf(&b, "%s%s\n", t->param_null[i] ? "N" : "V", t->params.v[i]);
	char hex[CF_SHA256_HEX_LEN + 1];
	cf_sha256_hex(b.data, b.len, hex);
	t->plan_hash = cf_strdup(hex);
	cf_buf_release(&b);
	free(sql);
}

cf_status s2s_table_resolve(s2s_run *run, cf_pg *pg, const s2s_mapping *m, const s2s_entry *e,
                            bool upsert, bool checksums, s2s_table *t)
{
	table_init(t, e);
	cf_status st = find_tables(run, pg, m, t);
	if (!st && run->src) {
		st = s2s_src_info_load(run->src, t->ft.remote_schema, t->ft.remote_name, &t->src);
		if (!st && !t->src.exists) {
			st = entry_error(run, m, e->at_source, CF_ERR_VALIDATION,
			                 "source table \"%s.%s\" of \"%s\" no longer exists on the source",
			                 t->ft.remote_schema, t->ft.remote_name, e->name);
			cf_error_hint(run->ctx, "Run \"confiture s2s setup\" again to refresh the staging "
			                        "schema, and check source_table.");
		}
	}
	if (!st)
		st = choose_key(run, m, t);
	if (!st)
		st = map_columns(run, pg, m, t);
	if (!st)
		st = map_values(run, pg, m, t);
	if (!st)
		st = check_required(run, pg, m, t);
	if (!st)
		st = target_pk(run, pg, m, t, upsert);
	if (!st)
		st = check_statement(run, pg, m, t, upsert);
	if (!st && checksums)
		st = build_checksums(pg, e, t);
	if (!st)
		compute_hash(pg, t, run->staging);
	if (st)
		cf_error_context(run->ctx, "while checking \"%s\" of the mapping file \"%s\"", e->name,
		                 m->file);
	return st;
}

cf_status s2s_tables_deps(cf_pg *pg, s2s_table *v, size_t n)
{
	cf_buf arr;
	cf_buf_init(&arr);
	cf_buf_putc(&arr, '{');
	for (size_t i = 0; i < n; i++)
		cf_buf_printf(&arr, "%s%u", i ? "," : "", v[i].tgt.oid);
	cf_buf_putc(&arr, '}');
	const char *p[] = {arr.data};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_s2s_fks, 1, p, &res);
	for (int r = 0; !st && r < cf_pgres_nrows(res); r++) {
		unsigned int from = (unsigned int)strtoul(cf_pgres_get(res, r, 0), NULL, 10);
		unsigned int to = (unsigned int)strtoul(cf_pgres_get(res, r, 1), NULL, 10);
		for (size_t i = 0; i < n; i++) {
			if (v[i].tgt.oid != from)
				continue;
			for (size_t j = 0; j < n; j++)
				if (v[j].tgt.oid == to) {
					v[i].deps = cf_realloc(v[i].deps, (v[i].n_deps + 1) * sizeof(size_t));
					v[i].deps[v[i].n_deps++] = j;
				}
		}
	}
	cf_pgres_free(res);
	cf_buf_release(&arr);
	return st;
}

/* Keeps the entries named in --table (all when none); unknown names are a
 * usage error. */
static cf_status select_entries(s2s_run *run, const s2s_mapping *m, bool *keep)
{
	const cf_s2s_opts *o = run->opts;
	for (size_t i = 0; i < m->n; i++)
		keep[i] = o->n_tables == 0;
	for (size_t k = 0; k < o->n_tables; k++) {
		bool found = false;
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->v[i].name, o->tables[k]) == 0)
				keep[i] = found = true;
		if (!found) {
			const char **names = cf_calloc(m->n + 1, sizeof(*names));
			for (size_t i = 0; i < m->n; i++)
				names[i] = m->v[i].name;
			const char *best = cf_closest(o->tables[k], names, m->n);
			free(names);
			cf_status st = cf_error_set(run->ctx, CF_ERR_USAGE,
			                            "no entry \"%s\" in the mapping file \"%s\"",
			                            o->tables[k], m->file);
			if (best)
				cf_error_hint(run->ctx, "Did you mean \"%s\"?", best);
			return st;
		}
	}
	return CF_OK;
}

cf_status s2s_tables_load(s2s_run *run, bool upsert, bool checksums, s2s_mapping *m,
                          s2s_table **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!run->opts->mapping_file || !*run->opts->mapping_file)
		return cf_error_set(run->ctx, CF_ERR_USAGE, "missing --mapping FILE");
	cf_status st = s2s_mapping_load(run->ctx, run->opts->mapping_file, m);
	if (st)
		return st;
	bool *keep = cf_calloc(m->n + 1, sizeof(bool));
	st = select_entries(run, m, keep);
	s2s_table *v = cf_calloc(m->n + 1, sizeof(*v));
	/* Checks only: the transaction is rolled back. */
	if (!st)
		st = cf_pg_begin(run->tgt);
	for (size_t i = 0; !st && i < m->n; i++) {
		if (!keep[i])
			continue;
		st = s2s_table_resolve(run, run->tgt, m, &m->v[i], upsert, checksums, &v[*n]);
		v[*n].index = *n;
		(*n)++;
		for (size_t j = 0; !st && j + 1 < *n; j++)
			if (v[j].tgt.oid == v[*n - 1].tgt.oid) {
				st = cf_error_set(run->ctx, CF_ERR_CONFIG,
				                  "entries \"%s\" and \"%s\" both fill \"%s\"", v[j].e->name,
				                  m->v[i].name, v[j].tgt.display);
				cf_error_at(run->ctx, m->file, m->v[i].at.line, m->v[i].at.col);
				cf_error_hint(run->ctx, "Give each target table one entry; use where: in one "
				                        "source query instead of two entries.");
			}
	}
	if (!st)
		st = s2s_tables_deps(run->tgt, v, *n);
	cf_pg_rollback(run->tgt);
	free(keep);
	*out = v;
	return st;
}

void s2s_tables_free(s2s_table *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		s2s_table_release(&v[i]);
	free(v);
}
