/*
 * order.c -- the order of a change's statements: topological sorts of the
 * dependency graphs (Kahn's algorithm), ties broken by kind and name so that
 * the script is stable and reads like pg_dump's (schemas, types, functions,
 * tables, then constraints, indexes, triggers...).
 *
 * Creates follow the target's graph: an object comes after what it needs.
 * An object created inline by its parent (a column in CREATE TABLE) lends its
 * needs to the parent. Drops follow the source's graph backwards: an object
 * goes after everything that needs it. A cycle (rare: pg_depend has none
 * among the kinds modeled, but a function and a table can refer to each
 * other through a default) is broken at its smallest member.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct heap {
	int32_t *v;
	size_t n;
	const plan *p;
	bool is_drop;       /* drops: higher kinds first */
} heap;

static const sc_obj *node_obj(const plan *p, int32_t k)
{
	const node *n = &p->nodes[k];
	return n->t >= 0 ? &p->tgt->objs[n->t] : &p->src->objs[n->s];
}

static const sc_obj *node_src_obj(const plan *p, int32_t k)
{
	const node *n = &p->nodes[k];
	return n->s >= 0 ? &p->src->objs[n->s] : &p->tgt->objs[n->t];
}

static int key_cmp(const heap *h, int32_t a, int32_t b)
{
	const sc_obj *x = h->is_drop ? node_src_obj(h->p, a) : node_obj(h->p, a);
	const sc_obj *y = h->is_drop ? node_src_obj(h->p, b) : node_obj(h->p, b);
	int px = kind_priority(x->kind), py = kind_priority(y->kind);
	if (px != py)
		return h->is_drop ? (px > py ? -1 : 1) : (px < py ? -1 : 1);
	return strcmp(x->id, y->id);
}

static void heap_push(heap *h, int32_t k)
{
	size_t i = h->n++;
	h->v[i] = k;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (key_cmp(h, h->v[i], h->v[up]) >= 0)
			break;
		int32_t tmp = h->v[i];
		h->v[i] = h->v[up];
		h->v[up] = tmp;
		i = up;
	}
}

static int32_t heap_pop(heap *h)
{
	int32_t top = h->v[0];
	h->v[0] = h->v[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && key_cmp(h, h->v[l], h->v[m]) < 0)
			m = l;
		if (r < h->n && key_cmp(h, h->v[r], h->v[m]) < 0)
			m = r;
		if (m == i)
			break;
		int32_t tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
	return top;
}

/* Edges "TO runs after FROM" between nodes of the set. */
typedef struct graph {
	int32_t *from, *to;
	size_t n, cap;
} graph;

static void edge(graph *g, int32_t from, int32_t to)
{
	if (from < 0 || to < 0 || from == to)
		return;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->from = cf_realloc(g->from, g->cap * sizeof(int32_t));
		g->to = cf_realloc(g->to, g->cap * sizeof(int32_t));
	}
	g->from[g->n] = from;
	g->to[g->n++] = to;
}

/* Kahn over the nodes with IN_SET, emitting into OUT. */
static size_t topo(const plan *p, const bool *in_set, const graph *g, bool is_drop, int32_t *out)
{
	size_t n = p->n;
	uint32_t *indeg = cf_calloc(n + 1, sizeof(uint32_t));
	uint32_t *start = cf_calloc(n + 2, sizeof(uint32_t));
	int32_t *succ = cf_malloc((g->n + 1) * sizeof(int32_t));
	for (size_t i = 0; i < g->n; i++) {
		indeg[g->to[i]]++;
		start[g->from[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	uint32_t *fill = cf_malloc((n + 1) * sizeof(uint32_t));
	memcpy(fill, start, (n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < g->n; i++)
		succ[fill[g->from[i]]++] = g->to[i];
	free(fill);

	heap h = {.v = cf_malloc((n + 1) * sizeof(int32_t)), .p = p, .is_drop = is_drop};
	bool *done = cf_calloc(n + 1, sizeof(bool));
	size_t total = 0, emitted = 0;
	for (size_t i = 0; i < n; i++) {
		total += in_set[i];
		if (in_set[i] && indeg[i] == 0)
			heap_push(&h, (int32_t)i);
	}
	while (emitted < total) {
		if (!h.n) {
			/* A cycle: release its smallest member. */
			int32_t best = -1;
			for (size_t i = 0; i < n; i++)
				if (in_set[i] && !done[i] && (best < 0 || key_cmp(&h, (int32_t)i, best) < 0))
					best = (int32_t)i;
			indeg[best] = 0;
			heap_push(&h, best);
		}
		int32_t k = heap_pop(&h);
		if (done[k])
			continue;
		done[k] = true;
		out[emitted++] = k;
		for (uint32_t e = start[k]; e < start[k + 1]; e++)
			if (--indeg[succ[e]] == 0 && !done[succ[e]])
				heap_push(&h, succ[e]);
	}
	free(done);
	free(h.v);
	free(indeg);
	free(start);
	free(succ);
	return emitted;
}

static bool in_create_set(const node *n)
{
	if (n->t < 0 || n->is_covered)
		return false;
	return node_is_created(n) || n->st == NS_ALTER || n->is_default_rebuilt || n->is_refused;
}

/* The node that stands for target object I in the create set, or -1. */
static int32_t create_rep(const plan *p, const bool *in_set, int32_t i)
{
	for (int depth = 0; i >= 0 && depth < 8; depth++) {
		int32_t k = p->of_tgt[i];
		if (k < 0)
			return -1;
		if (in_set[k])
			return k;
		if (!p->nodes[k].is_covered)
			return -1;
		i = p->tgt->objs[i].parent;
	}
	return -1;
}

size_t order_creates(plan *p, int32_t *out)
{
	bool *in_set = cf_calloc(p->n + 1, sizeof(bool));
	for (size_t i = 0; i < p->n; i++)
		in_set[i] = in_create_set(&p->nodes[i]);
	graph g = {0};
	for (size_t i = 0; i < p->tgt->n; i++) {
		int32_t r = create_rep(p, in_set, (int32_t)i);
		if (r < 0)
			continue;
		const sc_obj *o = &p->tgt->objs[i];
		for (uint32_t d = 0; d < o->n_deps; d++)
			edge(&g, create_rep(p, in_set, o->deps[d].to), r);
	}
	size_t n = topo(p, in_set, &g, false, out);
	free(g.from);
	free(g.to);
	free(in_set);
	return n;
}

/* The node that stands for source object I in the drop set: an object that
 * goes with its parent (a table's foreign key) is dropped when the parent
 * is, so what it needs gone first must be gone before the parent. */
static int32_t drop_rep(const plan *p, const bool *in_set, int32_t i)
{
	int32_t k = -1;
	for (int depth = 0; i >= 0 && depth < 8; depth++) {
		int32_t n = p->of_src[i];
		if (n < 0 || !in_set[n])
			return k;
		k = n;
		if (!p->nodes[n].is_implicit)
			return k;
		const sc_obj *o = &p->src->objs[i];
		int32_t up = o->parent >= 0 && p->of_src[o->parent] >= 0 &&
		                     in_set[p->of_src[o->parent]]
		                 ? o->parent
		                 : o->owner2;
		i = up;
	}
	return k;
}

size_t order_drops(plan *p, bool late, int32_t *out)
{
	bool *in_set = cf_calloc(p->n + 1, sizeof(bool));
	for (size_t i = 0; i < p->n; i++) {
		const node *n = &p->nodes[i];
		in_set[i] = n->is_dropped && n->is_late == late;
		if (!late && n->is_default_rebuilt && !n->is_dropped)
			in_set[i] = true;
	}
	graph g = {0};
	for (size_t i = 0; i < p->src->n; i++) {
		int32_t j = drop_rep(p, in_set, (int32_t)i);
		if (j < 0)
			continue;
		const sc_obj *o = &p->src->objs[i];
		/* What needs X is dropped before X. */
		for (uint32_t d = 0; d < o->n_deps; d++)
			edge(&g, j, drop_rep(p, in_set, o->deps[d].to));
		if (o->owner2 >= 0)
			edge(&g, j, drop_rep(p, in_set, o->owner2));
	}
	size_t n = topo(p, in_set, &g, true, out);
	free(g.from);
	free(g.to);
	free(in_set);
	return n;
}
