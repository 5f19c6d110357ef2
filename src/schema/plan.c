/*
 * plan.c -- matches two snapshots and plans the change between them.
 *
 * Every identity becomes a node: added, dropped, unchanged, altered in place,
 * or replaced (dropped and created again). Then what a replacement takes with
 * it is found on the source's dependency graph: objects that depend on a
 * replaced one (a view on a re-created function, an index of a re-created
 * table) are rebuilt around it, and views that read a column whose type
 * changes are dropped before the ALTER and created again after. What cannot
 * be rebuilt without losing data is refused with the reason.
 *
 * The script then runs in three phases: drops, in reverse dependency order of
 * the source; creates and alterations, in dependency order of the target;
 * and the drops that had to wait for an alteration (an enum type still used
 * by a column until the column's type changes).
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

node *plan_node_src(const plan *p, int32_t s)
{
	return s < 0 || p->of_src[s] < 0 ? NULL : &p->nodes[p->of_src[s]];
}

node *plan_node_tgt(const plan *p, int32_t t)
{
	return t < 0 || p->of_tgt[t] < 0 ? NULL : &p->nodes[p->of_tgt[t]];
}

const sc_obj *obj_parent(const sc_snapshot *snap, const sc_obj *o)
{
	return o->parent < 0 ? NULL : &snap->objs[o->parent];
}

bool node_is_created(const node *n)
{
	return n && n->t >= 0 && !n->is_refused && (n->st == NS_ADD || n->is_rebuilt);
}

/* ---- Matching ------------------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Properties whose change matters for O (inherited columns follow their
 * parent's type and constraints; only their own default and grants count). */
static bool prop_compared(const sc_obj *o, const char *key)
{
	if (key[0] == '_')
		return false;
	if ((o->kind == SC_COLUMN || o->kind == SC_CONSTRAINT) && sc_prop_true(o, "_inherited"))
		return o->kind == SC_COLUMN && (strcmp(key, "default") == 0 || strcmp(key, "acl") == 0);
	return true;
}

static bool props_equal(const sc_obj *s, const sc_obj *t)
{
	for (uint32_t i = 0; i < s->n_props; i++)
		if (prop_compared(t, s->props[i].key) &&
		    !str_eq(s->props[i].val, sc_prop_get(t, s->props[i].key)))
			return false;
	for (uint32_t i = 0; i < t->n_props; i++)
		if (prop_compared(t, t->props[i].key) && !sc_prop_get(s, t->props[i].key))
			return false;
	return str_eq(s->comment, t->comment);
}

static node *node_new(plan *p)
{
	if (p->n % 1024 == 0)
		p->nodes = cf_realloc(p->nodes, (p->n + 1024) * sizeof(*p->nodes));
	node *n = &p->nodes[p->n++];
	memset(n, 0, sizeof(*n));
	n->s = n->t = -1;
	return n;
}

static void match(plan *p)
{
	sc_map ids = {0};
	size_t ns = p->src->n, nt = p->tgt->n;
	p->of_src = cf_malloc((ns + 1) * sizeof(int32_t));
	p->of_tgt = cf_malloc((nt + 1) * sizeof(int32_t));
	for (size_t i = 0; i < ns; i++) {
		p->of_src[i] = -1;
		if (p->src->objs[i].is_excluded)
			continue;
		p->of_src[i] = (int32_t)p->n;
		node_new(p)->s = (int32_t)i;
		sc_map_put_str(&ids, p->src->objs[i].id, p->of_src[i]);
	}
	for (size_t i = 0; i < nt; i++) {
		p->of_tgt[i] = -1;
		if (p->tgt->objs[i].is_excluded)
			continue;
		int32_t k = sc_map_get_str(&ids, p->tgt->objs[i].id);
		if (k < 0) {
			k = (int32_t)p->n;
			node_new(p);
		}
		p->nodes[k].t = (int32_t)i;
		p->of_tgt[i] = k;
	}
	sc_map_release(&ids);
}

static void classify(plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		if (n->t < 0) {
			n->st = NS_DROP;
			continue;
		}
		if (n->s < 0) {
			n->st = NS_ADD;
			continue;
		}
		const sc_obj *s = &p->src->objs[n->s], *t = &p->tgt->objs[n->t];
		if (props_equal(s, t))
			n->st = NS_SAME;
		else if (kind_needs_replace(s, t)) {
			n->st = NS_REPLACE;
			n->is_rebuilt = true;
		} else {
			n->st = NS_ALTER;
			n->is_type_change = kind_is_type_change(s, t);
		}
	}
}

/* ---- What a change takes with it -------------------------------------------------- */

/* Compressed adjacency of the source: who depends on each object (with the
 * dependency's flags), and who goes away with it (children, owned objects). */
typedef struct adjacency {
	uint32_t *start;   /* n + 1 offsets */
	int32_t *who;
	uint8_t *flags;
} adjacency;

static void adjacency_build(const sc_snapshot *s, bool owned, adjacency *a)
{
	size_t n = s->n;
	a->start = cf_calloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		const sc_obj *o = &s->objs[i];
		if (owned) {
			if (o->parent >= 0)
				a->start[o->parent + 1]++;
			if (o->owner2 >= 0)
				a->start[o->owner2 + 1]++;
		} else {
			for (uint32_t k = 0; k < o->n_deps; k++)
				a->start[o->deps[k].to + 1]++;
		}
	}
	for (size_t i = 0; i < n; i++)
		a->start[i + 1] += a->start[i];
	a->who = cf_malloc((a->start[n] + 1) * sizeof(int32_t));
	a->flags = cf_malloc(a->start[n] + 1);
	uint32_t *fill = cf_malloc((n + 1) * sizeof(uint32_t));
	memcpy(fill, a->start, (n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		const sc_obj *o = &s->objs[i];
		if (owned) {
			int32_t up[2] = {o->parent, o->owner2};
			for (int k = 0; k < 2; k++)
				if (up[k] >= 0) {
					a->who[fill[up[k]]] = (int32_t)i;
					a->flags[fill[up[k]]++] = 0;
				}
		} else {
			for (uint32_t k = 0; k < o->n_deps; k++) {
				int32_t to = o->deps[k].to;
				a->who[fill[to]] = (int32_t)i;
				a->flags[fill[to]++] = o->deps[k].flags;
			}
		}
	}
	free(fill);
}

static void adjacency_release(adjacency *a)
{
	free(a->start);
	free(a->who);
	free(a->flags);
}

/* A sequence owned by a column goes away with the column, unless its OWNED BY
 * moves elsewhere first (then the ownership change runs before the drop). */
static bool owned_sequence_follows(plan *p, const sc_obj *seq)
{
	char *id = cf_asprintf("sequence_owner %s", seq->name);
	int32_t k = sc_snapshot_index(p->src, id);
	free(id);
	node *n = plan_node_src(p, k);
	return n && n->st == NS_SAME;
}

static const char *cause(plan *p, const node *from)
{
	const sc_obj *o = &p->src->objs[from->s];
	return sc_arena_printf(&p->arena, "%s %s", sc_kind_name(o->kind), o->name);
}

static void refuse(plan *p, node *n, const sc_obj *needs)
{
	const sc_obj *o = &p->src->objs[n->s];
	n->is_refused = true;
	n->why = sc_arena_printf(&p->arena,
	                         "%s %s would have to be dropped and created again, and %s %s, "
	                         "which depends on it, cannot be re-created without losing data",
	                         sc_kind_name(o->kind), o->name, sc_kind_name(needs->kind),
	                         needs->name);
}

/* Kinds a column type change breaks (PostgreSQL refuses the ALTER while they
 * exist); indexes and constraints it rebuilds by itself. */
static bool breaks_on_type_change(sc_kind k)
{
	return k == SC_VIEW || k == SC_MATVIEW || k == SC_TRIGGER || k == SC_POLICY ||
	       k == SC_FUNCTION || k == SC_PROCEDURE || k == SC_AGGREGATE || k == SC_PUBLICATION;
}

typedef struct work {
	int32_t *q;
	size_t n, cap;
} work;

static void push(work *w, int32_t k)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->q = cf_realloc(w->q, w->cap * sizeof(int32_t));
	}
	w->q[w->n++] = k;
}

static void rebuild(plan *p, work *w, node *n, const node *from)
{
	if (n->is_rebuilt)
		return;
	n->is_rebuilt = true;
	n->why = cause(p, from);
	push(w, (int32_t)(n - p->nodes));
}

/* What a replaced node X takes with it. */
static void spread_replace(plan *p, work *w, node *x, const adjacency *deps,
                           const adjacency *owned)
{
	for (uint32_t k = owned->start[x->s]; k < owned->start[x->s + 1]; k++) {
		const sc_obj *o = &p->src->objs[owned->who[k]];
		node *j = plan_node_src(p, owned->who[k]);
		if (!j || j->st == NS_DROP)
			continue;
		if (o->kind == SC_SEQUENCE && !owned_sequence_follows(p, o))
			continue;
		rebuild(p, w, j, x);
	}
	for (uint32_t k = deps->start[x->s]; k < deps->start[x->s + 1]; k++) {
		const sc_obj *o = &p->src->objs[deps->who[k]];
		node *j = plan_node_src(p, deps->who[k]);
		if (!j || j->st == NS_DROP || j->is_rebuilt)
			continue;
		if (o->kind == SC_COLUMN && (deps->flags[k] & SC_DEP_DEFAULT))
			j->is_default_rebuilt = true;
		else if (kind_is_rebuildable(o->kind))
			rebuild(p, w, j, x);
		else
			refuse(p, x, o);
	}
}

/* Type changes PostgreSQL has no ALTER for, whatever is dropped around them: a
 * column of a partition key (the column depends on its own table, internally,
 * in pg_depend), and an attribute of a composite type a table column stores. */
static bool refuse_type_change(plan *p, node *x, const adjacency *deps)
{
	const sc_obj *c = &p->src->objs[x->s];
	if (c->parent < 0)
		return false;
	const sc_obj *up = &p->src->objs[c->parent];
	const char *why = NULL;
	for (uint32_t k = 0; c->kind == SC_COLUMN && !why && k < c->n_deps; k++)
		if (c->deps[k].to == c->parent && (c->deps[k].flags & SC_DEP_INTERNAL))
			why = sc_arena_printf(&p->arena, "column %s is in the partition key of %s %s, "
			                      "and PostgreSQL cannot change its type (create the table "
			                      "again and move its rows, by hand)", c->name,
			                      sc_kind_name(up->kind), up->name);
	for (uint32_t k = deps->start[c->parent];
	     c->kind == SC_ATTRIBUTE && !why && k < deps->start[c->parent + 1]; k++) {
		const sc_obj *o = &p->src->objs[deps->who[k]];
		if (o->kind == SC_COLUMN)
			why = sc_arena_printf(&p->arena, "column %s stores type %s, and PostgreSQL cannot "
			                      "change the type of attribute %s while a table uses it "
			                      "(convert the column by hand)", o->name, up->name, c->name);
	}
	if (!why)
		return false;
	x->is_refused = true;
	x->why = why;
	return true;
}

static void spread_type_change(plan *p, work *w, node *x, const adjacency *deps)
{
	if (refuse_type_change(p, x, deps))
		return;
	for (uint32_t k = deps->start[x->s]; k < deps->start[x->s + 1]; k++) {
		const sc_obj *o = &p->src->objs[deps->who[k]];
		node *j = plan_node_src(p, deps->who[k]);
		if (!j || j->st == NS_DROP || j->is_rebuilt)
			continue;
		/* A stored generated column computed from it (its expression depends on
		 * the column through pg_attrdef): PostgreSQL refuses the ALTER while it
		 * exists, and adding it again computes its values anew. */
		bool is_generated = o->kind == SC_COLUMN && sc_prop_get(o, "generated");
		if (breaks_on_type_change(o->kind) || is_generated)
			rebuild(p, w, j, x);
		else if (o->kind == SC_COLUMN && !(deps->flags[k] & SC_DEP_DEFAULT))
			refuse(p, x, o);
	}
}

static void spread(plan *p)
{
	adjacency deps, owned;
	adjacency_build(p->src, false, &deps);
	adjacency_build(p->src, true, &owned);
	work w = {0};
	for (size_t i = 0; i < p->n; i++)
		if (p->nodes[i].is_rebuilt)
			push(&w, (int32_t)i);
	for (size_t i = 0; i < p->n; i++)
		if (p->nodes[i].is_type_change)
			spread_type_change(p, &w, &p->nodes[i], &deps);
	while (w.n) {
		node *x = &p->nodes[w.q[--w.n]];
		if (x->s >= 0)
			spread_replace(p, &w, x, &deps, &owned);
	}
	free(w.q);
	adjacency_release(&deps);
	adjacency_release(&owned);
}

/* ---- Drops: which, implicit or not, early or late ------------------------------------ */

static bool is_inherited(const sc_obj *o)
{
	return o && (o->kind == SC_COLUMN || o->kind == SC_CONSTRAINT) &&
	       sc_prop_true(o, "_inherited");
}

static void mark_drops(plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		n->is_dropped = n->s >= 0 && !n->is_refused && (n->st == NS_DROP || n->is_rebuilt);
	}
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		if (!n->is_dropped)
			continue;
		const sc_obj *o = &p->src->objs[n->s];
		node *up = plan_node_src(p, o->parent), *own = plan_node_src(p, o->owner2);
		n->is_implicit = (up && up->is_dropped) || (own && own->is_dropped) ||
		                 (is_inherited(o) && n->st == NS_DROP) ||
		                 o->kind == SC_INDEX_ATTACH;
	}
}

/* A dropped object waits for the alterations when something that stays
 * needs it until then; and a parent waits for its children. */
static void mark_late(plan *p)
{
	adjacency deps;
	adjacency_build(p->src, false, &deps);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < p->n; i++) {
			node *x = &p->nodes[i];
			if (!x->is_dropped || x->is_rebuilt)
				continue;
			for (uint32_t k = deps.start[x->s]; k < deps.start[x->s + 1] && !x->is_late; k++) {
				node *j = plan_node_src(p, deps.who[k]);
				if (j && ((!j->is_dropped && j->t >= 0) || j->is_late))
					x->is_late = changed = true;
			}
			if (!x->is_late || !x->is_implicit)
				continue;
			/* It goes with its owner: the owner waits too. */
			const sc_obj *o = &p->src->objs[x->s];
			node *owners[2] = {plan_node_src(p, o->parent), plan_node_src(p, o->owner2)};
			for (int k = 0; k < 2; k++)
				if (owners[k] && owners[k]->is_dropped && !owners[k]->is_rebuilt &&
				    !owners[k]->is_late)
					owners[k]->is_late = changed = true;
		}
	}
	adjacency_release(&deps);
}

/* Inline children of a created parent come with its CREATE; inherited
 * columns and constraints come with their parent's. */
static void mark_covered(plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		if (n->t < 0 || !node_is_created(n))
			continue;
		const sc_obj *t = &p->tgt->objs[n->t];
		node *up = plan_node_tgt(p, t->parent);
		n->is_covered = (kind_is_inline(t->kind) && node_is_created(up)) ||
		                (is_inherited(t) && n->st == NS_ADD);
	}
}

/* ---- Emitting the changes --------------------------------------------------------------- */

/* The top-level object O belongs to (in whichever snapshot holds O). */
static const sc_obj *group_of(const plan *p, const sc_obj *o)
{
	const sc_snapshot *snap = o >= p->tgt->objs && o < p->tgt->objs + p->tgt->n ? p->tgt : p->src;
	for (int depth = 0; o->parent >= 0 && depth < 8; depth++)
		o = &snap->objs[o->parent];
	return o;
}

static void add_change(plan *p, const char *action, const sc_obj *o, gen *g, bool refused)
{
	if (!g->sql.len && !refused)
		return;
	if (p->n_changes == p->cap_changes) {
		p->cap_changes = p->cap_changes ? p->cap_changes * 2 : 64;
		p->changes = cf_realloc(p->changes, p->cap_changes * sizeof(*p->changes));
	}
	cf_schema_change *c = &p->changes[p->n_changes++];
	memset(c, 0, sizeof(*c));
	c->action = cf_strdup(action);
	c->kind = cf_strdup(sc_kind_name(o->kind));
	c->object = cf_strdup(o->name);
	c->group = cf_strdup(group_of(p, o)->id);
	c->sql = cf_strdup(g->sql.data);
	c->hazard = g->hazard;
	c->note = g->note.len ? cf_strdup(g->note.data) : NULL;
	c->is_refused = refused;
}

static void gen_init(gen *g, plan *p)
{
	memset(g, 0, sizeof(*g));
	g->p = p;
	cf_buf_init(&g->sql);
	cf_buf_init(&g->note);
}

static void gen_release(gen *g)
{
	cf_buf_release(&g->sql);
	cf_buf_release(&g->note);
}

static void emit_drop(plan *p, node *n)
{
	if (n->is_dropped && n->is_implicit)
		return; /* it goes with its parent or owner */
	const sc_obj *s = &p->src->objs[n->s];
	gen g;
	gen_init(&g, p);
	if (n->is_dropped) {
		gen_drop(&g, s);
		if (n->is_rebuilt && n->why && n->st != NS_REPLACE)
			gen_note(&g, "Dropped to be created again around the change of %s.", n->why);
	} else if (n->is_default_rebuilt && sc_prop_get(s, "default")) {
		const sc_obj *t = obj_parent(p->src, s);
		gen_stmt(&g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
		         t->name, sc_prop_get(s, "_name"));
		gen_note(&g, "The default is set again after the change it depends on.");
	}
	add_change(p, n->is_rebuilt ? "recreate" : n->is_dropped ? "drop" : "alter", s, &g, false);
	gen_release(&g);
}

static void emit_refused(plan *p, node *n)
{
	const sc_obj *o = n->t >= 0 ? &p->tgt->objs[n->t] : &p->src->objs[n->s];
	gen g;
	gen_init(&g, p);
	g.hazard = CF_HAZARD_DESTRUCTIVE;
	cf_buf_puts(&g.sql, "-- refused: ");
	sc_comment_append(&g.sql, n->why);
	cf_buf_putc(&g.sql, '\n');
	gen_note(&g, "Not generated: %s.", n->why);
	add_change(p, "alter", o, &g, true);
	gen_release(&g);
}

static void emit_create(plan *p, node *n)
{
	if (n->is_refused) {
		emit_refused(p, n);
		return;
	}
	const sc_obj *t = &p->tgt->objs[n->t];
	gen g;
	gen_init(&g, p);
	const char *action = "alter";
	if (node_is_created(n)) {
		gen_create(&g, t);
		action = n->st == NS_ADD ? "create" : "recreate";
		if (n->is_rebuilt && n->st != NS_REPLACE && n->why)
			gen_note(&g, "Created again after the change of %s.", n->why);
	} else if (n->st == NS_ALTER || n->is_default_rebuilt) {
		g.is_default_dropped = n->is_default_rebuilt;
		gen_alter(&g, &p->src->objs[n->s], t);
	}
	add_change(p, action, t, &g, g.is_refused);
	gen_release(&g);
}

static void emit_all(plan *p)
{
	int32_t *order = cf_malloc((p->n + 1) * sizeof(int32_t));
	size_t n = order_drops(p, false, order);
	for (size_t i = 0; i < n; i++)
		emit_drop(p, &p->nodes[order[i]]);
	n = order_creates(p, order);
	for (size_t i = 0; i < n; i++)
		emit_create(p, &p->nodes[order[i]]);
	n = order_drops(p, true, order);
	for (size_t i = 0; i < n; i++)
		emit_drop(p, &p->nodes[order[i]]);
	free(order);
}

/* ---- Notes ---------------------------------------------------------------------------- */

/* After the script, the table's columns are the kept ones in their old order
 * followed by the added ones: when that is not the target's order, say so. */
static void note_column_order(plan *p, const node *n)
{
	const sc_obj **sc, **tc;
	size_t ns = obj_children(p, p->src, &p->src->objs[n->s], SC_COLUMN, &sc);
	size_t nt = obj_children(p, p->tgt, &p->tgt->objs[n->t], SC_COLUMN, &tc);
	cf_strv after, want;
	cf_strv_init(&after);
	cf_strv_init(&want);
	for (size_t i = 0; i < ns; i++)
		if (sc_snapshot_find(p->tgt, sc[i]->id))
			cf_strv_push(&after, sc_prop_get(sc[i], "_name"));
	for (size_t i = 0; i < nt; i++) {
		cf_strv_push(&want, sc_prop_get(tc[i], "_name"));
		if (!sc_snapshot_find(p->src, tc[i]->id))
			cf_strv_push(&after, sc_prop_get(tc[i], "_name"));
	}
	char *a = cf_strv_join(&after, ", "), *b = cf_strv_join(&want, ", ");
	if (strcmp(a, b) != 0)
		cf_strv_push_owned(p->notes,
		                   cf_asprintf("column order of table %s differs: it will be (%s), "
		                               "the target has (%s); not changed, as that needs the "
		                               "table rebuilt", p->tgt->objs[n->t].name, a, b));
	free(a);
	free(b);
	cf_strv_release(&after);
	cf_strv_release(&want);
	free(sc);
	free(tc);
}

/* A dropped table or column next to an added one of the same shape may be
 * a rename: say so (the added ones are gathered first: drops of a whole
 * schema must not meet every other node). */
static void note_renames(plan *p)
{
	int32_t *adds = cf_malloc((p->n + 1) * sizeof(int32_t));
	size_t n_adds = 0;
	for (size_t i = 0; i < p->n; i++) {
		const node *a = &p->nodes[i];
		if (a->st == NS_ADD && (p->tgt->objs[a->t].kind == SC_COLUMN ||
		                        p->tgt->objs[a->t].kind == SC_TABLE))
			adds[n_adds++] = (int32_t)i;
	}
	for (size_t i = 0; n_adds && i < p->n; i++) {
		node *d = &p->nodes[i];
		if (d->st != NS_DROP)
			continue;
		const sc_obj *s = &p->src->objs[d->s];
		if (s->kind != SC_COLUMN && s->kind != SC_TABLE)
			continue;
		for (size_t k = 0; k < n_adds; k++) {
			const sc_obj *t = &p->tgt->objs[p->nodes[adds[k]].t];
			if (t->kind != s->kind || !str_eq(t->schema, s->schema))
				continue;
			if (s->kind == SC_COLUMN &&
			    (!str_eq(s->parent_id, t->parent_id) ||
			     !str_eq(sc_prop_get(s, "type"), sc_prop_get(t, "type"))))
				continue;
			cf_strv_push_owned(p->notes,
			                   cf_asprintf("%s %s is dropped and %s %s is added: if this is a "
			                               "rename, write ALTER ... RENAME instead, as the "
			                               "generated SQL loses the data", sc_kind_name(s->kind),
			                               s->name, sc_kind_name(t->kind), t->name));
			break;
		}
	}
	free(adds);
}

/* Tables whose columns were added, dropped or moved. */
static void mark_reordered(plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		const sc_obj *o = n->t >= 0 ? &p->tgt->objs[n->t] : &p->src->objs[n->s];
		if (o->kind != SC_COLUMN)
			continue;
		bool moved = n->st == NS_ADD || n->st == NS_DROP ||
		             !str_eq(sc_prop_get(&p->src->objs[n->s], "_position"),
		                     sc_prop_get(&p->tgt->objs[n->t], "_position"));
		node *table = n->t >= 0 ? plan_node_tgt(p, o->parent) : plan_node_src(p, o->parent);
		if (moved && table)
			table->mark = 1;
	}
}

static void add_notes(plan *p)
{
	mark_reordered(p);
	for (size_t i = 0; i < p->n; i++) {
		node *n = &p->nodes[i];
		if (n->mark && n->s >= 0 && n->t >= 0 && !n->is_rebuilt)
			note_column_order(p, n);
		n->mark = 0;
	}
	note_renames(p);
}

/* The count in an UNMODELED item "KIND (N)" of KIND, or 0. */
static long unmodeled_count(const cf_strv *v, const char *kind, size_t len)
{
	for (size_t i = 0; i < v->n; i++)
		if (strncmp(v->v[i], kind, len) == 0 && strncmp(v->v[i] + len, " (", 2) == 0)
			return strtol(v->v[i] + len + 2, NULL, 10);
	return 0;
}

/* Objects it does not model are only counted; when a kind's counts differ,
 * the sides differ though no change says so: a note, and no "equal". Counts
 * of a filtered snapshot cover the whole database, so they are not compared. */
static void note_unmodeled(sc_diff *d, const sc_snapshot *a, const sc_snapshot *b)
{
	if (a->is_schema_filtered || b->is_schema_filtered)
		return;
	const cf_strv *v[2] = {&a->unmodeled, &b->unmodeled};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < v[k]->n; i++) {
			const char *kind = v[k]->v[i];
			size_t len = strcspn(kind, "(") - 1;
			long n[2] = {unmodeled_count(v[0], kind, len), unmodeled_count(v[1], kind, len)};
			if (n[0] == n[1] || (k == 1 && n[0]))
				continue; /* equal, or noted from the first side */
			cf_strv_push_owned(&d->notes, cf_asprintf("%.*s differ (%ld in from, %ld in to): "
			                                          "diff does not compare them and writes "
			                                          "no SQL for them", (int)len, kind,
			                                          n[0], n[1]));
			d->n_unmodeled_differ++;
		}
}

static void add_not_compared(sc_diff *d, const sc_snapshot *a, const sc_snapshot *b)
{
	const cf_strv *v[2] = {&a->unmodeled, &b->unmodeled};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < v[k]->n; i++) {
			char *item = cf_asprintf("%s in %s", v[k]->v[i], k ? "to" : "from");
			cf_strv_push_owned(&d->not_compared, item);
		}
	cf_strv_push(&d->not_compared, "owners (ALTER ... OWNER TO)");
}

sc_diff *sc_diff_new(const sc_snapshot *from, const sc_snapshot *to)
{
	sc_diff *d = cf_calloc(1, sizeof(*d));
	cf_strv_init(&d->notes);
	cf_strv_init(&d->not_compared);
	plan p = {.src = from, .tgt = to, .notes = &d->notes};
	match(&p);
	classify(&p);
	spread(&p);
	mark_drops(&p);
	mark_late(&p);
	mark_covered(&p);
	emit_all(&p);
	note_unmodeled(d, from, to);
	add_notes(&p);
	add_not_compared(d, from, to);
	d->changes = p.changes;
	d->n_changes = p.n_changes;
	free(p.nodes);
	free(p.of_src);
	free(p.of_tgt);
	free(p.dacls);
	for (int k = 0; k < 2; k++) {
		free(p.kids[k].start);
		free(p.kids[k].who);
	}
	sc_arena_release(&p.arena);
	return d;
}

void sc_diff_free(sc_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_changes; i++) {
		cf_schema_change *c = &d->changes[i];
		free(c->action);
		free(c->kind);
		free(c->object);
		free(c->group);
		free(c->sql);
		free(c->note);
	}
	free(d->changes);
	cf_strv_release(&d->notes);
	cf_strv_release(&d->not_compared);
	free(d);
}
