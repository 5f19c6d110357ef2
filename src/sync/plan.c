/*
 * plan.c -- what a sync will do, decided before any data moves.
 *
 * Tables are selected with globs, matched with the rules, compared column by
 * column with the target (every mismatch is reported at once), put in
 * foreign-key order (parents first), given a COPY format, and, when the rules
 * keep subsets, given the predicate the source runs to keep them.
 *
 * Subsets. Tables with a `where:` are the seeds. A table is "subsetted" when
 * it is a seed or references a subsetted table. Then:
 *  - the anchored rows A(T) of a table are its seed rows and every row that
 *    kept rows need as parents, transitively: A(T) = W(T) OR (key) IN
 *    (SELECT fk FROM C WHERE A(C)) for each referencing table C;
 *  - a seed keeps A(T): its where plus the parents its children need;
 *  - another subsetted table keeps A(T) and the rows whose references to
 *    subsetted tables all point at kept rows (children of dropped parents go).
 * Every kept row's parents are therefore kept: the target has no orphans.
 */
#include "sync.h"
#include "error.h"
#include "fs.h"
#include "log.h"
#include "sqlparse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRED (1024 * 1024)

void plan_issue(plan *p, const char *table, const char *column, const char *kind,
                const char *fmt, ...)
{
	p->issues = cf_realloc(p->issues, (p->n_issues + 1) * sizeof(cf_sync_issue));
	cf_sync_issue *is = &p->issues[p->n_issues++];
	va_list ap;
	va_start(ap, fmt);
	is->message = cf_vasprintf(fmt, ap);
	va_end(ap);
	is->table = cf_strdup(table);
	is->column = cf_strdup(column);
	is->kind = cf_strdup(kind);
	is->suggestion = NULL;
}

void plan_free(plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		plan_table *t = &p->tables[i];
		free(t->cols);
		free(t->pred);
		free(t->type_note);
		free(t->error);
		free(t->mode_reason);
		free(t->shape);
		free(t->source_id);
		free(t->changed_pred);
		free(t->target_bound);
		for (int k = 0; k + 1 < t->n_ranges; k++)
			free(t->bounds[k]);
		free(t->bounds);
	}
	free(p->tables);
	for (size_t i = 0; i < p->n_issues; i++) {
		free(p->issues[i].table);
		free(p->issues[i].column);
		free(p->issues[i].kind);
		free(p->issues[i].message);
		free(p->issues[i].suggestion);
	}
	free(p->issues);
	cf_strv_release(&p->warnings);
	free(p);
}

/* ---- Selection -------------------------------------------------------------------------- */

static bool glob_hit(const char *pattern, const table_info *t)
{
	return strchr(pattern, '.') ? cf_glob_match(pattern, t->qname)
	                            : cf_glob_match(pattern, t->name);
}

static bool is_ledger(const table_info *t, const char *ledger)
{
	if (!ledger || !*ledger)
		return false;
	if (strchr(ledger, '.'))
		return strcmp(ledger, t->qname) == 0;
	return strcmp(ledger, t->name) == 0 && strcmp(t->schema, "public") == 0;
}

static cf_status select_tables(cf_ctx *ctx, const plan_opts *po, const catalog *src, bool *sel)
{
	const cf_sync_opts *o = po->o;
	for (size_t g = 0; g < o->n_tables; g++) {
		bool any = false;
		for (size_t i = 0; i < src->n_tables && !any; i++)
			any = glob_hit(o->tables[g], &src->tables[i]);
		if (!any) {
			cf_error_set(ctx, CF_ERR_VALIDATION, "no table of the source matches \"%s\"",
			             o->tables[g]);
			cf_error_hint(ctx, "Patterns match \"schema.table\" when they hold a dot, else the "
			                   "table name in any schema.");
			return CF_ERR_VALIDATION;
		}
	}
	for (size_t i = 0; i < src->n_tables; i++) {
		const table_info *t = &src->tables[i];
		bool in = o->n_tables == 0;
		for (size_t g = 0; !in && g < o->n_tables; g++)
			in = glob_hit(o->tables[g], t);
		for (size_t g = 0; in && g < o->n_exclude; g++)
			in = !glob_hit(o->exclude[g], t);
		sel[i] = in && !is_ledger(t, po->ledger);
	}
	return CF_OK;
}

/* ---- Rules against the catalog ---------------------------------------------------------- */

static cf_status rules_error(cf_ctx *ctx, const sync_rules *r, int line, int col, cf_status st)
{
	cf_error_at(ctx, r->shown, line, col);
	return st;
}

/* The catalog table a rules entry names, or -1 after recording an error. */
static int resolve_rules_table(cf_ctx *ctx, const sync_rules *r, const table_rules *tr,
                               const catalog *src)
{
	const char *dot = strchr(tr->name, '.');
	if (dot) {
		char *schema = cf_strndup(tr->name, (size_t)(dot - tr->name));
		int i = catalog_find(src, schema, dot + 1);
		free(schema);
		if (i >= 0)
			return i;
	} else {
		int found = -1, n = 0;
		for (size_t i = 0; i < src->n_tables; i++)
			if (strcmp(src->tables[i].name, tr->name) == 0) {
				if (found < 0 || strcmp(src->tables[i].schema, "public") == 0)
					found = (int)i;
				n++;
			}
		if (n == 1 || (n > 1 && strcmp(src->tables[found].schema, "public") == 0))
			return found;
		if (n > 1) {
			cf_error_set(ctx, CF_ERR_CONFIG, "table \"%s\" in the rules file is ambiguous",
			             tr->name);
			cf_error_hint(ctx, "Several schemas have a table \"%s\": write schema.%s.",
			              tr->name, tr->name);
			rules_error(ctx, r, tr->line, tr->col, CF_ERR_CONFIG);
			return -1;
		}
	}
	cf_error_set(ctx, CF_ERR_CONFIG, "unknown table \"%s\" in the rules file", tr->name);
	cf_error_detail(ctx, "The source database has no such table.");
	const char **names = cf_calloc(src->n_tables + 1, sizeof(char *));
	for (size_t i = 0; i < src->n_tables; i++)
		names[i] = dot ? src->tables[i].qname : src->tables[i].name;
	const char *best = cf_closest(tr->name, names, src->n_tables);
	if (best)
		cf_error_hint(ctx, "Did you mean \"%s\"?", best);
	free(names);
	rules_error(ctx, r, tr->line, tr->col, CF_ERR_CONFIG);
	return -1;
}

static cf_status check_rule(cf_ctx *ctx, const sync_rules *r, const mask_rule *mr,
                            const table_info *st, const table_info *dt)
{
	int ci = table_col(st, mr->column);
	if (ci < 0) {
		cf_error_set(ctx, CF_ERR_CONFIG, "unknown column \"%s\" of table \"%s\" in the rules "
		             "file", mr->column, st->qname);
		const char **names = cf_calloc(st->n_cols + 1, sizeof(char *));
		for (size_t i = 0; i < st->n_cols; i++)
			names[i] = st->cols[i].name;
		const char *best = cf_closest(mr->column, names, st->n_cols);
		if (best)
			cf_error_hint(ctx, "Did you mean \"%s\"?", best);
		free(names);
		return rules_error(ctx, r, mr->line, mr->col, CF_ERR_CONFIG);
	}
	const col_info *c = &st->cols[ci];
	if (!strat_accepts(mr, c->vt)) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"%s\" cannot mask column \"%s\" of table "
		             "\"%s\": its type is %s", mr->strategy, c->name, st->qname, c->type);
		return rules_error(ctx, r, mr->line, mr->col, CF_ERR_CONFIG);
	}
	int di = dt ? table_col(dt, mr->column) : -1;
	if (mr->kind == ST_NULL && di >= 0 && dt->cols[di].is_notnull) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"null\" cannot mask column \"%s\" of table "
		             "\"%s\": it is NOT NULL in the target", c->name, st->qname);
		cf_error_hint(ctx, "Use redact or constant instead.");
		return rules_error(ctx, r, mr->line, mr->col, CF_ERR_CONFIG);
	}
	return CF_OK;
}

/* ---- Columns -------------------------------------------------------------------------------- */

static bool compatible(const col_info *s, const col_info *d)
{
	return s->category == d->category || d->category == 'S';
}

/* Builds the column list of T; records mismatches as issues. */
static void build_columns(plan *p, plan_table *t, bool *blocked)
{
	const table_info *st = t->st, *dt = t->dt;
	t->cols = cf_calloc(st->n_cols + 1, sizeof(plan_col));
	bool binary = true;
	for (size_t i = 0; i < st->n_cols; i++) {
		const col_info *sc = &st->cols[i];
		if (sc->is_generated)
			continue; /* the target computes its own */
		int di = table_col(dt, sc->name);
		if (di < 0) {
			plan_issue(p, st->qname, sc->name, "missing_in_target",
			           "column \"%s\" of \"%s\" is missing in the target", sc->name, st->qname);
			*blocked = true;
			continue;
		}
		const col_info *dc = &dt->cols[di];
		if (dc->is_generated)
			continue;
		if (strcmp(sc->base_full, dc->base_full) != 0) {
			if (!compatible(sc, dc)) {
				plan_issue(p, st->qname, sc->name, "type_mismatch",
				           "column \"%s\" of \"%s\" is %s in the source but %s in the target",
				           sc->name, st->qname, sc->type, dc->type);
				*blocked = true;
				continue;
			}
			if (binary && !t->type_note)
				t->type_note = cf_asprintf("column \"%s\" is %s in the source, %s in the target",
				                           sc->name, sc->type, dc->type);
			binary = false;
		}
		if (binary && (!sc->is_bin_ok || !dc->is_bin_ok)) {
			t->type_note = cf_asprintf("column \"%s\" (%s) has no portable binary form",
			                           sc->name, sc->type);
			binary = false;
		}
		plan_col *pc = &t->cols[t->n_cols++];
		pc->sc = sc;
		pc->dc = dc;
		pc->vt = sc->vt;
	}
	for (size_t i = 0; i < dt->n_cols; i++) {
		const col_info *dc = &dt->cols[i];
		if (table_col(st, dc->name) >= 0 || dc->is_generated)
			continue;
		if (dc->is_notnull && !dc->has_default) {
			plan_issue(p, st->qname, dc->name, "missing_in_source",
			           "column \"%s\" of \"%s\" is NOT NULL without a default in the target and "
			           "missing in the source", dc->name, st->qname);
			*blocked = true;
		} else {
			char *w = cf_asprintf("column \"%s\" of \"%s\" exists only in the target; it gets "
			                      "its default", dc->name, st->qname);
			cf_strv_push_owned(&p->warnings, w);
		}
	}
	t->is_binary = binary;
}

static void attach_rules(plan_table *t)
{
	if (!t->tr)
		return;
	for (size_t k = 0; k < t->tr->n_rules; k++) {
		const mask_rule *mr = &t->tr->rules[k];
		for (size_t i = 0; i < t->n_cols; i++) {
			plan_col *pc = &t->cols[i];
			if (strcmp(pc->sc->name, mr->column) != 0)
				continue;
			if (mr->kind == ST_KEEP) {
				pc->kept = mr;
				continue;
			}
			pc->rule = mr;
			pc->in_stream = !strat_is_pushdown(mr);
			if (pc->in_stream)
				t->has_stream_masks = true;
			else
				t->has_pushdown = true;
			/* Masked values are parsed from their text form: binary needs a codec. */
			if (pc->in_stream && t->is_binary && !vtype_has_codec(pc->vt)) {
				t->is_binary = false;
				free(t->type_note);
				t->type_note = cf_asprintf("masked column \"%s\" (%s) is masked in its text form",
				                           pc->sc->name, pc->sc->type);
			}
		}
	}
}

/* ---- Order ---------------------------------------------------------------------------------- */

/* Parents before children (Kahn), ties in catalog order. Returns the number
 * of tables left in cycles (appended at the end). */
static size_t fk_order(const catalog *src, const int *pidx, size_t n, int *order, bool *in_cycle)
{
	int *indeg = cf_calloc(n + 1, sizeof(int));
	bool *done = cf_calloc(n + 1, sizeof(bool));
	for (size_t f = 0; f < src->n_fks; f++) {
		const fk_info *fk = &src->fks[f];
		if (fk->child < 0 || fk->parent < 0 || fk->child == fk->parent)
			continue;
		int c = pidx[fk->child], p = pidx[fk->parent];
		if (c >= 0 && p >= 0)
			indeg[c]++;
	}
	size_t k = 0;
	for (;;) {
		int next = -1;
		for (size_t i = 0; i < n && next < 0; i++)
			if (!done[i] && indeg[i] == 0)
				next = (int)i;
		if (next < 0)
			break;
		done[next] = true;
		order[k++] = next;
		for (size_t f = 0; f < src->n_fks; f++) {
			const fk_info *fk = &src->fks[f];
			if (fk->child < 0 || fk->parent < 0 || fk->child == fk->parent)
				continue;
			if (pidx[fk->parent] == next && pidx[fk->child] >= 0)
				indeg[pidx[fk->child]]--;
		}
	}
	size_t cyc = n - k;
	for (size_t i = 0; i < n; i++)
		if (!done[i]) {
			in_cycle[i] = true;
			order[k++] = (int)i;
		}
	free(indeg);
	free(done);
	return cyc;
}

/* ---- Subsets -------------------------------------------------------------------------------- */

typedef struct subset {
	cf_ctx *ctx;
	cf_pg *pg;
	const catalog *src;
	plan_table *t;          /* in load order */
	size_t n;
	int *pidx;              /* catalog index -> position in t */
	bool *subsetted;
	char **anch;            /* A(T) predicate or NULL */
	char **kept;            /* kept(T) predicate or NULL (all rows) */
} subset;

static void append_cols(cf_pg *pg, cf_buf *b, char **cols, size_t n)
{
	cf_buf_putc(b, '(');
	for (size_t i = 0; i < n; i++)
		cf_sql_appendf(pg, b, "%s%I", i ? ", " : "", cols[i]);
	cf_buf_putc(b, ')');
}

static const fk_info *self_fk(const subset *s, int ci, size_t *count)
{
	const fk_info *found = NULL;
	*count = 0;
	for (size_t f = 0; f < s->src->n_fks; f++)
		if (s->src->fks[f].child == ci && s->src->fks[f].parent == ci) {
			found = found ? found : &s->src->fks[f];
			(*count)++;
		}
	return found;
}

/* Rows of T given by BASE, closed over T's self-reference FK: with UP, the
 * rows that base rows point at (their ancestors); else base rows whose
 * parents are themselves in the set, from the roots down. */
static char *self_closure(const subset *s, const table_info *ti, const fk_info *fk,
                          const char *base, bool up)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_pg *pg = s->pg;
	append_cols(pg, &b, fk->parent_cols, fk->n_cols);
	cf_buf_puts(&b, " IN (WITH RECURSIVE confiture_r AS (SELECT ");
	for (size_t i = 0; i < fk->n_cols; i++)
		cf_sql_appendf(pg, &b, "%s%I AS k%d, %I AS f%d", i ? ", " : "", fk->parent_cols[i],
		               (int)i, fk->child_cols[i], (int)i);
	cf_sql_appendf(pg, &b, " FROM ONLY %s WHERE (%s)", ti->quoted, base);
	if (!up) {
		cf_buf_puts(&b, " AND (");
		for (size_t i = 0; i < fk->n_cols; i++)
			cf_sql_appendf(pg, &b, "%s%I IS NULL", i ? " OR " : "", fk->child_cols[i]);
		cf_buf_putc(&b, ')');
	}
	cf_buf_puts(&b, " UNION SELECT ");
	for (size_t i = 0; i < fk->n_cols; i++)
		cf_sql_appendf(pg, &b, "%sconfiture_t.%I, confiture_t.%I", i ? ", " : "",
		               fk->parent_cols[i], fk->child_cols[i]);
	cf_sql_appendf(pg, &b, " FROM ONLY %s confiture_t JOIN confiture_r ON ", ti->quoted);
	for (size_t i = 0; i < fk->n_cols; i++) {
		/* up: t is the parent of r (t.key = r.fk); down: t is a child of r. */
		if (up)
			cf_sql_appendf(pg, &b, "%sconfiture_t.%I = confiture_r.f%d", i ? " AND " : "",
			               fk->parent_cols[i], (int)i);
		else
			cf_sql_appendf(pg, &b, "%sconfiture_t.%I = confiture_r.k%d", i ? " AND " : "",
			               fk->child_cols[i], (int)i);
	}
	if (!up) {
		/* A child joins only when it passes the same conditions. */
		cf_buf_puts(&b, " WHERE confiture_t.ctid IN (SELECT ctid FROM ONLY ");
		cf_sql_appendf(pg, &b, "%s WHERE (%s))", ti->quoted, base);
	}
	cf_buf_puts(&b, ") SELECT ");
	for (size_t i = 0; i < fk->n_cols; i++)
		cf_buf_printf(&b, "%sk%d", i ? ", " : "", (int)i);
	cf_buf_puts(&b, " FROM confiture_r)");
	return b.data;
}

/* A(T), computed children first (reverse load order). */
static void compute_anchored(subset *s)
{
	for (size_t k = s->n; k-- > 0;) {
		plan_table *t = &s->t[k];
		cf_buf b;
		cf_buf_init(&b);
		if (t->tr && t->tr->where)
			cf_buf_printf(&b, "(%s)", t->tr->where);
		for (size_t f = 0; f < s->src->n_fks; f++) {
			const fk_info *fk = &s->src->fks[f];
			if (fk->parent != t->si || fk->child == fk->parent || fk->child < 0)
				continue;
			int ci = s->pidx[fk->child];
			if (ci < 0 || !s->anch[ci])
				continue;
			if (b.len)
				cf_buf_puts(&b, " OR ");
			append_cols(s->pg, &b, fk->parent_cols, fk->n_cols);
			cf_buf_puts(&b, " IN (SELECT ");
			for (size_t c = 0; c < fk->n_cols; c++)
				cf_sql_appendf(s->pg, &b, "%s%I", c ? ", " : "", fk->child_cols[c]);
			cf_sql_appendf(s->pg, &b, " FROM ONLY %s WHERE %s)", s->t[ci].st->quoted, s->anch[ci]);
		}
		if (!b.len) {
			cf_buf_release(&b);
			continue;
		}
		size_t nself;
		const fk_info *sf = self_fk(s, t->si, &nself);
		if (sf && nself == 1) {
			char *c = self_closure(s, t->st, sf, b.data, true);
			cf_buf_release(&b);
			s->anch[k] = c;
		} else {
			s->anch[k] = cf_buf_detach(&b);
		}
	}
}

/* kept(T), computed parents first (load order). */
static void compute_kept(subset *s)
{
	for (size_t k = 0; k < s->n; k++) {
		plan_table *t = &s->t[k];
		if (!s->subsetted[k])
			continue;
		if (t->tr && t->tr->where) {
			s->kept[k] = cf_strdup(s->anch[k]);
			continue;
		}
		cf_buf b;
		cf_buf_init(&b);
		for (size_t f = 0; f < s->src->n_fks; f++) {
			const fk_info *fk = &s->src->fks[f];
			if (fk->child != t->si || fk->parent < 0 || fk->child == fk->parent)
				continue;
			int pi = s->pidx[fk->parent];
			if (pi < 0 || !s->kept[pi])
				continue;
			cf_buf_puts(&b, b.len ? " AND (" : "(");
			for (size_t c = 0; c < fk->n_cols; c++)
				cf_sql_appendf(s->pg, &b, "%I IS NULL OR ", fk->child_cols[c]);
			append_cols(s->pg, &b, fk->child_cols, fk->n_cols);
			cf_buf_puts(&b, " IN (SELECT ");
			for (size_t c = 0; c < fk->n_cols; c++)
				cf_sql_appendf(s->pg, &b, "%s%I", c ? ", " : "", fk->parent_cols[c]);
			cf_sql_appendf(s->pg, &b, " FROM ONLY %s WHERE %s))", s->t[pi].st->quoted,
			               s->kept[pi]);
		}
		size_t nself;
		const fk_info *sf = self_fk(s, t->si, &nself);
		char *down = NULL;
		if (sf && nself == 1)
			down = self_closure(s, t->st, sf, b.len ? b.data : "true", false);
		else
			down = cf_strdup(b.data);
		cf_buf_release(&b);
		if (s->anch[k])
			s->kept[k] = cf_asprintf("(%s) OR (%s)", s->anch[k], down);
		else
			s->kept[k] = cf_asprintf("(%s)", down);
		free(down);
	}
}

static cf_status check_where(cf_ctx *ctx, const sync_rules *r, const table_rules *tr)
{
	char *probe = cf_asprintf("SELECT 1 FROM t WHERE (%s)", tr->where);
	cf_script *sc = NULL;
	cf_status st = cf_script_parse(ctx, r->shown, probe, strlen(probe), &sc);
	bool one = !st && sc->n_stmts == 1 && strcmp(sc->stmts[0].node, "select_stmt") == 0;
	cf_script_free(sc);
	free(probe);
	if (one)
		return CF_OK;
	cf_ctx_clear_error(ctx);
	cf_error_set(ctx, CF_ERR_CONFIG, "invalid where: for table \"%s\"", tr->name);
	cf_error_detail(ctx, "It must be one SQL condition over the table's columns.");
	cf_error_at(ctx, r->shown, tr->where_line, 0);
	return CF_ERR_CONFIG;
}

static cf_status compute_subsets(cf_ctx *ctx, cf_pg *pg, plan *p, const plan_opts *po, int *pidx,
                                 const bool *in_cycle)
{
	subset s = {ctx, pg, p->src, p->tables, p->n, pidx, NULL, NULL, NULL};
	bool any = false;
	for (size_t i = 0; i < p->n; i++)
		if (p->tables[i].tr && p->tables[i].tr->where) {
			cf_status st = check_where(ctx, po->rules, p->tables[i].tr);
			if (st)
				return st;
			any = true;
		}
	if (!any)
		return CF_OK;
	s.subsetted = cf_calloc(p->n + 1, sizeof(bool));
	s.anch = cf_calloc(p->n + 1, sizeof(char *));
	s.kept = cf_calloc(p->n + 1, sizeof(char *));
	/* Subsetted: seeds, and (transitively) tables referencing one. */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t k = 0; k < p->n; k++) {
			if (s.subsetted[k])
				continue;
			bool sub = p->tables[k].tr && p->tables[k].tr->where;
			for (size_t f = 0; !sub && f < p->src->n_fks; f++) {
				const fk_info *fk = &p->src->fks[f];
				if (fk->child == p->tables[k].si && fk->parent >= 0 && fk->parent != fk->child &&
				    pidx[fk->parent] >= 0 && s.subsetted[pidx[fk->parent]])
					sub = true;
			}
			if (sub)
				s.subsetted[k] = changed = true;
		}
	}
	cf_status st = CF_OK;
	for (size_t k = 0; !st && k < p->n; k++) {
		size_t nself;
		self_fk(&s, p->tables[k].si, &nself);
		if (s.subsetted[k] && in_cycle[k]) {
			st = cf_error_set(ctx, CF_ERR_CONFIG, "cannot keep a subset of \"%s\": it is part "
			                  "of a foreign-key cycle", p->tables[k].st->qname);
			cf_error_hint(ctx, "Subsets follow foreign keys from parents to children; exclude "
			                   "one table of the cycle, or drop the where: rules around it.");
		} else if (s.subsetted[k] && nself > 1) {
			st = cf_error_set(ctx, CF_ERR_CONFIG, "cannot keep a subset of \"%s\": it references "
			                  "itself through %zu foreign keys", p->tables[k].st->qname, nself);
		}
	}
	if (!st) {
		compute_anchored(&s);
		compute_kept(&s);
		for (size_t k = 0; k < p->n; k++) {
			if (s.kept[k] && strlen(s.kept[k]) > MAX_PRED) {
				st = cf_error_set(ctx, CF_ERR_CONFIG, "the subset of \"%s\" follows too many "
				                  "foreign keys", p->tables[k].st->qname);
				break;
			}
			p->tables[k].pred = s.kept[k];
			p->tables[k].is_subset = s.kept[k] != NULL;
			s.kept[k] = NULL;
		}
	}
	for (size_t k = 0; k < p->n; k++) {
		free(s.anch[k]);
		free(s.kept[k]);
	}
	free(s.anch);
	free(s.kept);
	free(s.subsetted);
	return st;
}

/* ---- Build ---------------------------------------------------------------------------------- */

static cf_status match_rules(cf_ctx *ctx, const plan_opts *po, const catalog *src,
                             const catalog *dst, const bool *sel, const table_rules **by_table)
{
	const sync_rules *r = po->rules;
	for (size_t i = 0; r && i < r->n_tables; i++) {
		const table_rules *tr = &r->tables[i];
		int ti = resolve_rules_table(ctx, r, tr, src);
		if (ti < 0)
			return CF_ERR_CONFIG;
		if (by_table[ti]) {
			cf_error_set(ctx, CF_ERR_CONFIG, "table \"%s\" has two entries in the rules file",
			             src->tables[ti].qname);
			cf_error_detail(ctx, "The other one is at line %d.", by_table[ti]->line);
			return rules_error(ctx, r, tr->line, tr->col, CF_ERR_CONFIG);
		}
		by_table[ti] = tr;
		if (!sel[ti])
			continue;
		int di = catalog_find(dst, src->tables[ti].schema, src->tables[ti].name);
		for (size_t k = 0; k < tr->n_rules; k++) {
			cf_status st = check_rule(ctx, r, &tr->rules[k], &src->tables[ti],
			                          di >= 0 ? &dst->tables[di] : NULL);
			if (st)
				return st;
		}
	}
	return CF_OK;
}

static cf_status blocked_error(cf_ctx *ctx, const plan *p)
{
	cf_error_set(ctx, CF_ERR_VALIDATION, "the target does not match the source: %zu problem%s",
	             p->n_issues, p->n_issues == 1 ? "" : "s");
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < p->n_issues && i < 20; i++)
		cf_buf_printf(&b, "%s%s.", i ? "\n" : "", p->issues[i].message);
	if (p->n_issues > 20)
		cf_buf_printf(&b, "\n... and %zu more.", p->n_issues - 20);
	cf_error_detail(ctx, "%s", b.data);
	cf_buf_release(&b);
	cf_error_hint(ctx, "Migrate the target to the source's schema, or leave these tables out "
	                   "with --exclude. No data was copied.");
	return CF_ERR_VALIDATION;
}

cf_status plan_build(cf_ctx *ctx, cf_pg *src_pg, const catalog *src, const catalog *dst,
                     const plan_opts *po, plan **out)
{
	*out = NULL;
	plan *p = cf_calloc(1, sizeof(*p));
	p->src = src;
	p->dst = dst;
	cf_strv_init(&p->warnings);
	bool *sel = cf_calloc(src->n_tables + 1, sizeof(bool));
	const table_rules **by_table = cf_calloc(src->n_tables + 1, sizeof(table_rules *));
	int *pidx = cf_calloc(src->n_tables + 1, sizeof(int));
	cf_status st = select_tables(ctx, po, src, sel);
	if (!st)
		st = match_rules(ctx, po, src, dst, sel, by_table);
	size_t n = 0;
	for (size_t i = 0; i < src->n_tables; i++)
		n += sel[i];
	plan_table *tmp = cf_calloc(n + 1, sizeof(plan_table));
	bool blocked = false;
	size_t k = 0;
	for (size_t i = 0; !st && i < src->n_tables; i++) {
		pidx[i] = -1;
		if (!sel[i])
			continue;
		const table_info *t = &src->tables[i];
		int di = catalog_find(dst, t->schema, t->name);
		if (di < 0) {
			plan_issue(p, t->qname, NULL, "missing_in_target", "table \"%s\" is missing in the "
			           "target", t->qname);
			blocked = true;
			continue;
		}
		pidx[i] = (int)k;
		plan_table *pt = &tmp[k++];
		pt->si = (int)i;
		pt->di = di;
		pt->st = t;
		pt->dt = &dst->tables[di];
		pt->tr = by_table[i];
		pt->est_rows = t->est_rows < 0 ? 0 : t->est_rows;
		pt->n_ranges = 1;
		pt->verified = -1;
		build_columns(p, pt, &blocked);
		attach_rules(pt);
	}
	if (!st && blocked)
		st = blocked_error(ctx, p);
	if (!st) {
		int *order = cf_calloc(k + 1, sizeof(int));
		bool *cyc = cf_calloc(k + 1, sizeof(bool)), *in_cycle = cf_calloc(k + 1, sizeof(bool));
		size_t n_cyc = fk_order(src, pidx, k, order, cyc);
		if (n_cyc)
			cf_strv_push_owned(&p->warnings, cf_asprintf("%zu tables form foreign-key cycles; "
			                                             "they load last", n_cyc));
		p->tables = cf_calloc(k + 1, sizeof(plan_table));
		p->n = k;
		for (size_t i = 0; i < k; i++) {
			p->tables[i] = tmp[order[i]];
			in_cycle[i] = cyc[order[i]];
		}
		for (size_t i = 0; i < k; i++)
			pidx[p->tables[i].si] = (int)i;
		st = compute_subsets(ctx, src_pg, p, po, pidx, in_cycle);
		free(order);
		free(cyc);
		free(in_cycle);
	} else {
		for (size_t i = 0; i < k; i++) {
			free(tmp[i].cols);
			free(tmp[i].type_note);
		}
	}
	free(tmp);
	free(sel);
	free(by_table);
	free(pidx);
	*out = p;
	return st;
}

/* ---- Ranges ---------------------------------------------------------------------------------- */

static cf_status split_one(cf_ctx *ctx, cf_pg *src, plan_table *t, long long split_rows)
{
	const col_info *pk = &t->st->cols[t->st->pk[0]];
	long n = (long)ceil((double)t->est_rows / (double)split_rows);
	if (n > 64)
		n = 64;
	if (n < 2)
		return CF_OK;
	cf_buf fr;
	cf_buf_init(&fr);
	for (long i = 1; i < n; i++)
		cf_buf_printf(&fr, "%s%.6f", i > 1 ? "," : "", (double)i / (double)n);
	/* A sample is enough to place the boundaries. */
	double pct = 100.0 * 200000.0 / (double)(t->est_rows > 0 ? t->est_rows : 1);
	if (pct > 100)
		pct = 100;
	if (pct < 0.5)
		pct = 0.5;
	char pctxt[32];
	snprintf(pctxt, sizeof(pctxt), "%.3f", pct);
	char *sql = cf_sql_format(src, "SELECT percentile_disc(ARRAY[%s]::float8[]) WITHIN GROUP "
	                          "(ORDER BY %I)::text[] FROM ONLY %s TABLESAMPLE SYSTEM (%s)",
	                          fr.data, pk->name, t->st->quoted, pctxt);
	char *val = NULL;
	cf_status st = cf_pg_query_value(src, sql, 0, NULL, &val);
	free(sql);
	cf_buf_release(&fr);
	if (st || !val) {
		free(val);
		return st;
	}
	cf_strv b;
	cf_strv_init(&b);
	parse_text_array(val, &b);
	free(val);
	/* Drop repeated boundaries (skewed keys). */
	cf_strv u;
	cf_strv_init(&u);
	for (size_t i = 0; i < b.n; i++)
		if (!u.n || strcmp(u.v[u.n - 1], b.v[i]) != 0)
			cf_strv_push(&u, b.v[i]);
	cf_strv_release(&b);
	if (u.n == 0) {
		cf_strv_release(&u);
		return CF_OK;
	}
	t->bounds = u.v;
	t->n_ranges = (int)u.n + 1;
	t->range_col = t->st->pk[0];
	(void)ctx;
	return CF_OK;
}

cf_status plan_split(cf_ctx *ctx, cf_pg *src, plan *p, long jobs, long long split_rows)
{
	if (jobs < 2)
		return CF_OK;
	for (size_t i = 0; i < p->n; i++) {
		plan_table *t = &p->tables[i];
		if (t->st->n_pk != 1 || t->est_rows <= split_rows)
			continue;
		cf_status st = split_one(ctx, src, t, split_rows);
		if (st)
			return st;
	}
	return CF_OK;
}

/* ---- SQL ---------------------------------------------------------------------------------------- */

static void select_list(cf_pg *pg, const plan_table *t, cf_buf *b)
{
	for (size_t i = 0; i < t->n_cols; i++) {
		const plan_col *c = &t->cols[i];
		if (i)
			cf_buf_puts(b, ", ");
		if (!c->rule || c->in_stream) {
			cf_sql_appendf(pg, b, "%I", c->sc->name);
			continue;
		}
		/* Pushed down: the type is the target's in text COPY, the source's (the
		 * same) in binary. */
		const char *type = c->dc->type;
		if (c->rule->kind == ST_NULL)
			cf_sql_appendf(pg, b, "NULL::%s", type);
		else if (c->rule->kind == ST_CONSTANT)
			cf_sql_appendf(pg, b, "CASE WHEN %I IS NULL THEN NULL ELSE %L::%s END", c->sc->name,
			               c->rule->value, type);
		else
			cf_sql_appendf(pg, b, "(%s)::%s", c->rule->expression, type);
		cf_sql_appendf(pg, b, " AS %I", c->sc->name);
	}
}

static void where_clause(cf_pg *pg, const plan_table *t, int range, cf_buf *b)
{
	bool any = false;
	if (t->pred) {
		cf_buf_printf(b, " WHERE (%s)", t->pred);
		any = true;
	}
	if (range >= 0 && t->n_ranges > 1) {
		const col_info *k = &t->st->cols[t->range_col];
		if (range > 0)
			cf_sql_appendf(pg, b, "%s%I >= %L::%s", any ? " AND " : " WHERE ", k->name,
			               t->bounds[range - 1], k->type);
		any = any || range > 0;
		if (range < t->n_ranges - 1)
			cf_sql_appendf(pg, b, "%s%I < %L::%s", any ? " AND " : " WHERE ", k->name,
			               t->bounds[range], k->type);
	}
}

char *plan_select_sql(cf_pg *src, const plan_table *t, int range, const char *list)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "SELECT ");
	if (list)
		cf_buf_puts(&b, list);
	else
		select_list(src, t, &b);
	cf_sql_appendf(src, &b, " FROM ONLY %s", t->st->quoted);
	where_clause(src, t, range, &b);
	return b.data;
}

char *plan_copy_out_sql(cf_pg *src, const plan_table *t, int range)
{
	const char *fmt = t->is_binary ? "binary" : "text";
	cf_buf b;
	cf_buf_init(&b);
	bool simple = !t->has_pushdown && !t->pred && (range < 0 || t->n_ranges <= 1);
	if (simple) {
		cf_sql_appendf(src, &b, "COPY %s ", t->st->quoted);
		if (t->n_cols) {
			cf_buf_putc(&b, '(');
			for (size_t i = 0; i < t->n_cols; i++)
				cf_sql_appendf(src, &b, "%s%I", i ? ", " : "", t->cols[i].sc->name);
			cf_buf_puts(&b, ") ");
		}
		cf_buf_printf(&b, "TO STDOUT (FORMAT %s)", fmt);
		return b.data;
	}
	char *sel = plan_select_sql(src, t, range, NULL);
	cf_buf_printf(&b, "COPY (%s) TO STDOUT (FORMAT %s)", sel, fmt);
	free(sel);
	return b.data;
}

char *plan_copy_in_sql(cf_pg *dst, const plan_table *t, bool freeze)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_sql_appendf(dst, &b, "COPY %s ", t->dt->quoted);
	if (t->n_cols) {
		cf_buf_putc(&b, '(');
		for (size_t i = 0; i < t->n_cols; i++)
			cf_sql_appendf(dst, &b, "%s%I", i ? ", " : "", t->cols[i].dc->name);
		cf_buf_puts(&b, ") ");
	}
	cf_buf_printf(&b, "FROM STDIN (FORMAT %s%s)", t->is_binary ? "binary" : "text",
	              freeze ? ", FREEZE" : "");
	return b.data;
}

char *plan_item_key(const plan_table *t, int range)
{
	if (range < 0 || t->n_ranges <= 1)
		return cf_strdup(t->st->qname);
	return cf_asprintf("%s#%d", t->st->qname, range);
}
