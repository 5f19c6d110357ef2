/*
 * gen_kinds.c -- what each kind of object is (its place in a script, whether
 * its parent creates it, whether it can be re-created), what forces a
 * replacement, and the dispatch of create/drop/alter to the generators.
 */
#include "plan.h"
#include "pg.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct kind_info {
	int priority;        /* tie-break in a script: lower first */
	bool is_inline;      /* its parent's CREATE makes it */
	bool is_rebuildable; /* can be dropped and created again, no data lost */
} kind_info;

static const kind_info KINDS[SC_N_KINDS] = {
	[SC_SCHEMA] = {0, false, false},
	[SC_DEFAULT_ACL] = {1, false, true},
	[SC_EXTENSION] = {2, false, false},
	[SC_COLLATION] = {3, false, false},
	[SC_TYPE] = {4, false, false},
	[SC_ATTRIBUTE] = {5, true, false},
	[SC_FUNCTION] = {6, false, true},
	[SC_PROCEDURE] = {6, false, true},
	[SC_AGGREGATE] = {7, false, true},
	[SC_SEQUENCE] = {8, false, false},
	[SC_TABLE] = {9, false, false},
	[SC_COLUMN] = {10, true, false},
	[SC_ATTACH] = {11, false, true},
	[SC_VIEW] = {12, false, true},
	[SC_MATVIEW] = {13, false, true},
	[SC_VIEW_COLUMN] = {14, true, true},
	[SC_SEQ_OWNED] = {15, false, true},
	[SC_CONSTRAINT] = {16, false, true},
	[SC_INDEX] = {17, false, true},
	[SC_INDEX_ATTACH] = {18, false, true},
	[SC_TRIGGER] = {19, false, true},
	[SC_POLICY] = {20, false, true},
	[SC_PUBLICATION] = {21, false, true},
};

int kind_priority(sc_kind k)
{
	return KINDS[k].priority;
}

bool kind_is_inline(sc_kind k)
{
	return KINDS[k].is_inline;
}

bool kind_is_rebuildable(sc_kind k)
{
	return KINDS[k].is_rebuildable;
}

/* ---- Statements ------------------------------------------------------------------- */

void gen_stmt(gen *g, cf_hazard h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cf_buf_vprintf(&g->sql, fmt, ap);
	va_end(ap);
	cf_buf_puts(&g->sql, ";\n");
	if (h > g->hazard)
		g->hazard = h;
}

void gen_note(gen *g, const char *fmt, ...)
{
	if (g->note.len)
		cf_buf_putc(&g->note, ' ');
	va_list ap;
	va_start(ap, fmt);
	cf_buf_vprintf(&g->note, fmt, ap);
	va_end(ap);
}

char *gen_literal(const char *text)
{
	return cf_quote_literal(NULL, text ? text : "");
}

/* ---- What a change needs ------------------------------------------------------------ */

static bool differs(const sc_obj *s, const sc_obj *t, const char *key)
{
	const char *a = sc_prop_get(s, key), *b = sc_prop_get(t, key);
	return !(a == b || (a && b && strcmp(a, b) == 0));
}

static bool type_needs_replace(const sc_obj *s, const sc_obj *t)
{
	if (differs(s, t, "typtype"))
		return true;
	const char *tt = sc_prop_get(t, "typtype");
	if (strcmp(tt, "domain") == 0)
		return differs(s, t, "base_type") || differs(s, t, "collation");
	if (strcmp(tt, "range") == 0)
		return differs(s, t, "subtype") || differs(s, t, "subtype_opclass") ||
		       differs(s, t, "range_collation") || differs(s, t, "canonical") ||
		       differs(s, t, "subtype_diff") || differs(s, t, "multirange_type_name");
	return false;
}

static bool routine_needs_replace(const sc_obj *s, const sc_obj *t)
{
	/* CREATE OR REPLACE keeps dependents, but cannot change the result type
	 * or the parameters' names and defaults. */
	return differs(s, t, "_result") || differs(s, t, "_arguments");
}

static bool publication_needs_replace(const sc_obj *s, const sc_obj *t)
{
	const char *a = sc_prop_get(s, "objects"), *b = sc_prop_get(t, "objects");
	bool all_a = a && strcmp(a, "FOR ALL TABLES") == 0, all_b = b && strcmp(b, "FOR ALL TABLES") == 0;
	return all_a != all_b || (a && !b);
}

bool kind_needs_replace(const sc_obj *s, const sc_obj *t)
{
	switch (t->kind) {
	case SC_COLLATION:
		return differs(s, t, "provider") || differs(s, t, "locale") ||
		       differs(s, t, "lc_collate") || differs(s, t, "lc_ctype") ||
		       differs(s, t, "deterministic");
	case SC_TYPE:
		return type_needs_replace(s, t);
	case SC_TABLE:
		return differs(s, t, "partitioned") || differs(s, t, "partition_by");
	case SC_COLUMN:
		/* A stored generation expression cannot be changed or added in place. */
		return !sc_prop_true(t, "_inherited") && sc_prop_get(t, "generated") &&
		       differs(s, t, "generated");
	case SC_VIEW:
	case SC_MATVIEW:
		return differs(s, t, "definition");
	case SC_FUNCTION:
	case SC_PROCEDURE:
		return routine_needs_replace(s, t);
	case SC_AGGREGATE:
		return differs(s, t, "aggregate") || differs(s, t, "aggregate_kind");
	case SC_CONSTRAINT:
		return differs(s, t, "definition") ||
		       (sc_prop_true(s, "validated") && !sc_prop_true(t, "validated"));
	case SC_INDEX:
	case SC_TRIGGER:
		return differs(s, t, "definition");
	case SC_POLICY:
		return differs(s, t, "mode") || differs(s, t, "command") || differs(s, t, "roles") ||
		       differs(s, t, "using") || differs(s, t, "with_check");
	case SC_ATTACH:
		return differs(s, t, "partition_of") || differs(s, t, "bound");
	case SC_INDEX_ATTACH:
		return differs(s, t, "attached_to");
	case SC_PUBLICATION:
		return publication_needs_replace(s, t);
	default:
		return false;
	}
}

bool kind_is_type_change(const sc_obj *s, const sc_obj *t)
{
	if (t->kind != SC_COLUMN && t->kind != SC_ATTRIBUTE)
		return false;
	if (sc_prop_true(t, "_inherited"))
		return false;
	return differs(s, t, "type") || differs(s, t, "collation");
}

/* ---- Dispatch --------------------------------------------------------------------- */

static bool is_rel_kind(sc_kind k)
{
	return k == SC_TABLE || k == SC_COLUMN || k == SC_ATTACH || k == SC_CONSTRAINT ||
	       k == SC_INDEX || k == SC_INDEX_ATTACH || k == SC_SEQUENCE || k == SC_SEQ_OWNED ||
	       k == SC_ATTRIBUTE || k == SC_VIEW_COLUMN;
}

static int cmp_position(const void *a, const void *b)
{
	const sc_obj *x = *(const sc_obj *const *)a, *y = *(const sc_obj *const *)b;
	const char *px = sc_prop_get(x, "_position"), *py = sc_prop_get(y, "_position");
	long lx = px ? atol(px) : 0, ly = py ? atol(py) : 0;
	return lx < ly ? -1 : lx > ly;
}

/* Children by parent, built once per snapshot of a plan: a large create
 * (every table of a schema) asks for every table's columns. */
static const kid_index *kids_of(plan *p, const sc_snapshot *snap)
{
	kid_index *k = snap == p->tgt ? &p->kids[1] : &p->kids[0];
	if (k->start)
		return k;
	size_t n = snap->n;
	k->start = cf_calloc(n + 2, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		if (snap->objs[i].parent >= 0)
			k->start[snap->objs[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		k->start[i + 1] += k->start[i];
	k->who = cf_malloc((k->start[n] + 1) * sizeof(int32_t));
	uint32_t *fill = cf_malloc((n + 1) * sizeof(uint32_t));
	memcpy(fill, k->start, (n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		if (snap->objs[i].parent >= 0)
			k->who[fill[snap->objs[i].parent]++] = (int32_t)i;
	free(fill);
	return k;
}

size_t obj_children(plan *p, const sc_snapshot *snap, const sc_obj *o, int kind,
                    const sc_obj ***out)
{
	const kid_index *k = kids_of(p, snap);
	size_t ix = (size_t)(o - snap->objs), n = 0;
	const sc_obj **v = cf_malloc((k->start[ix + 1] - k->start[ix] + 1) * sizeof(*v));
	for (uint32_t e = k->start[ix]; e < k->start[ix + 1]; e++) {
		const sc_obj *c = &snap->objs[k->who[e]];
		if (c->is_excluded)
			continue;
		if (kind >= 0 ? c->kind != (sc_kind)kind : !kind_is_inline(c->kind))
			continue;
		v[n++] = c;
	}
	qsort(v, n, sizeof(*v), cmp_position);
	*out = v;
	return n;
}

void gen_create(gen *g, const sc_obj *t)
{
	if (is_rel_kind(t->kind))
		rel_create(g, t);
	else
		other_create(g, t);
	if (t->comment)
		acl_comment(g, t, t->comment);
	const char *acl = sc_prop_get(t, "acl");
	if (acl && t->kind != SC_DEFAULT_ACL)
		acl_change(g, t, acl_initial(g, t), acl, "CURRENT_USER");
	if (t->kind == SC_TABLE || t->kind == SC_VIEW || t->kind == SC_MATVIEW ||
	    t->kind == SC_TYPE) {
		const sc_obj **kids;
		size_t n = obj_children(g->p, g->p->tgt, t, -1, &kids);
		for (size_t i = 0; i < n; i++)
			gen_inline_extras(g, kids[i]);
		free(kids);
	}
}

void gen_inline_extras(gen *g, const sc_obj *t)
{
	if (t->comment)
		acl_comment(g, t, t->comment);
	const char *acl = sc_prop_get(t, "acl");
	if (acl)
		acl_change(g, t, NULL, acl, "CURRENT_USER");
	if (t->kind == SC_COLUMN)
		rel_column_extras(g, t);
	else if (t->kind == SC_VIEW_COLUMN && sc_prop_get(t, "default"))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER VIEW %s ALTER COLUMN %s SET DEFAULT %s",
		         obj_parent(g->p->tgt, t)->name, sc_prop_get(t, "_name"),
		         sc_prop_get(t, "default"));
}

void gen_drop(gen *g, const sc_obj *s)
{
	if (is_rel_kind(s->kind))
		rel_drop(g, s);
	else
		other_drop(g, s);
}

/* The role that owns O, for "@owner" in its ACL. */
static const char *owner_of(gen *g, const sc_obj *o)
{
	const char *own = sc_prop_get(o, "_owner");
	if (!own && o->parent >= 0)
		own = sc_prop_get(obj_parent(g->p->src, o), "_owner");
	return own ? own : "CURRENT_USER";
}

void gen_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (is_rel_kind(t->kind))
		rel_alter(g, s, t);
	else
		other_alter(g, s, t);
	if (!(s->comment == t->comment || (s->comment && t->comment &&
	                                   strcmp(s->comment, t->comment) == 0)))
		acl_comment(g, t, t->comment);
	if (t->kind != SC_DEFAULT_ACL && differs(s, t, "acl"))
		acl_change(g, t, sc_prop_get(s, "acl"), sc_prop_get(t, "acl"), owner_of(g, s));
}

const char *name_last(const char *qualified)
{
	const char *last = qualified;
	bool quoted = false;
	for (const char *p = qualified; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '.' && !quoted)
			last = p + 1;
	}
	return last;
}

bool gen_creates(gen *g, const char *id)
{
	return node_is_created(plan_node_tgt(g->p, sc_snapshot_index(g->p->tgt, id)));
}
