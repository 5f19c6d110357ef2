/* model.c -- snapshot storage: arena, objects, hash maps. */
#include "model.h"
#include "hash.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Arena ------------------------------------------------------------------- */

#define CHUNK_SIZE (64 * 1024)

struct sc_chunk {
	struct sc_chunk *next;
	size_t used, size;
	max_align_t data[];
};

void *sc_arena_alloc(sc_arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct sc_chunk *c = a->head;
	if (!c || c->used + n > c->size) {
		size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		c = cf_malloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->bytes += sizeof(*c) + size;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

const char *sc_arena_strdup(sc_arena *a, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = sc_arena_alloc(a, n);
	memcpy(p, s, n);
	return p;
}

const char *sc_arena_printf(sc_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *tmp = cf_vasprintf(fmt, ap);
	va_end(ap);
	const char *s = sc_arena_strdup(a, tmp);
	free(tmp);
	return s;
}

void sc_arena_release(sc_arena *a)
{
	struct sc_chunk *c = a->head;
	while (c) {
		struct sc_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes = 0;
}

/* ---- Maps ------------------------------------------------------------------ */

struct sc_slot {
	uint64_t hash;       /* 0: empty */
	union {
		const char *key; /* identity maps */
		struct {
			uint32_t cls, oid;
		} a;             /* address maps */
	} k;
	int32_t subid;
	int32_t ix;          /* identity and address maps; is_alias for addresses */
};

/* Never 0, which marks an empty slot. */
static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	h = cf_fnv1a(p, n, h);
	return h ? h : 1;
}

static uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), CF_FNV1A_SEED);
}

static uint64_t hash_addr(uint32_t cls, uint32_t oid, int32_t subid)
{
	/* splitmix64's finalizer over the packed address: OIDs come in runs. */
	uint64_t x = ((uint64_t)oid << 32) ^ ((uint64_t)cls << 20) ^ (uint32_t)subid;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x ? x : 1;
}

static void map_grow(sc_map *m);

static struct sc_slot *map_insert_slot(sc_map *m, uint64_t h)
{
	if ((m->n + 1) * 2 >= m->cap) /* at most half full: short probes */
		map_grow(m);
	size_t i = h & (m->cap - 1);
	while (m->slots[i].hash)
		i = (i + 1) & (m->cap - 1);
	m->n++;
	return &m->slots[i];
}

static void map_grow(sc_map *m)
{
	struct sc_slot *old = m->slots;
	size_t old_cap = m->cap;
	m->cap = old_cap ? old_cap * 2 : 256;
	m->slots = cf_calloc(m->cap, sizeof(*m->slots));
	m->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].hash)
			*map_insert_slot(m, old[i].hash) = old[i];
	free(old);
}

void sc_map_release(sc_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void sc_map_put_str(sc_map *m, const char *key, int32_t ix)
{
	uint64_t h = hash_str(key);
	struct sc_slot *s = map_insert_slot(m, h);
	*s = (struct sc_slot){.hash = h, .k.key = key, .ix = ix};
}

int32_t sc_map_get_str(const sc_map *m, const char *key)
{
	if (!m->cap)
		return -1;
	uint64_t h = hash_str(key);
	for (size_t i = h & (m->cap - 1); m->slots[i].hash; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].hash == h && strcmp(m->slots[i].k.key, key) == 0)
			return m->slots[i].ix;
	return -1;
}

/* Address slots keep IX shifted left by one, the low bit saying "alias". */
void sc_map_put_addr(sc_map *m, uint32_t cls, uint32_t oid, int32_t subid, int32_t ix,
                     bool is_alias)
{
	uint64_t h = hash_addr(cls, oid, subid);
	struct sc_slot *s = map_insert_slot(m, h);
	*s = (struct sc_slot){.hash = h, .k.a = {cls, oid}, .subid = subid,
	                      .ix = (int32_t)(((uint32_t)ix << 1) | is_alias)};
}

int32_t sc_map_get_addr(const sc_map *m, uint32_t cls, uint32_t oid, int32_t subid,
                        bool with_aliases)
{
	if (!m->cap)
		return -1;
	uint64_t h = hash_addr(cls, oid, subid);
	for (size_t i = h & (m->cap - 1); m->slots[i].hash; i = (i + 1) & (m->cap - 1)) {
		const struct sc_slot *s = &m->slots[i];
		if (s->hash == h && s->k.a.cls == cls && s->k.a.oid == oid && s->subid == subid &&
		    (with_aliases || !(s->ix & 1)))
			return (int32_t)((uint32_t)s->ix >> 1);
	}
	return -1;
}

const char *sc_map_intern(sc_map *m, sc_arena *a, const char *str)
{
	uint64_t h = hash_str(str);
	for (size_t i = m->cap ? h & (m->cap - 1) : 0; m->cap && m->slots[i].hash;
	     i = (i + 1) & (m->cap - 1))
		if (m->slots[i].hash == h && strcmp(m->slots[i].k.key, str) == 0)
			return m->slots[i].k.key;
	const char *copy = sc_arena_strdup(a, str);
	sc_map_put_str(m, copy, 0);
	return copy;
}

static const char *const CLASSES[] = {
	"",              "pg_namespace",  "pg_extension", "pg_collation", "pg_type",
	"pg_class",      "pg_proc",       "pg_constraint", "pg_attrdef",  "pg_rewrite",
	"pg_trigger",    "pg_policy",     "pg_publication", "pg_default_acl",
};

uint32_t sc_class_of(const char *name)
{
	for (uint32_t i = 1; i < sizeof(CLASSES) / sizeof(*CLASSES); i++)
		if (strcmp(CLASSES[i], name) == 0)
			return i;
	return 0;
}

/* ---- Kinds ------------------------------------------------------------------ */

static const char *const KIND_NAMES[SC_N_KINDS] = {
	[SC_SCHEMA] = "schema",           [SC_EXTENSION] = "extension",
	[SC_COLLATION] = "collation",     [SC_TYPE] = "type",
	[SC_ATTRIBUTE] = "attribute",     [SC_FUNCTION] = "function",
	[SC_PROCEDURE] = "procedure",     [SC_AGGREGATE] = "aggregate",
	[SC_SEQUENCE] = "sequence",       [SC_TABLE] = "table",
	[SC_COLUMN] = "column",           [SC_ATTACH] = "partition",
	[SC_VIEW] = "view",               [SC_MATVIEW] = "matview",
	[SC_VIEW_COLUMN] = "view_column", [SC_SEQ_OWNED] = "sequence_owner",
	[SC_CONSTRAINT] = "constraint",   [SC_INDEX] = "index",
	[SC_INDEX_ATTACH] = "index_partition", [SC_TRIGGER] = "trigger",
	[SC_POLICY] = "policy",           [SC_PUBLICATION] = "publication",
	[SC_DEFAULT_ACL] = "default_privileges",
};

const char *sc_kind_name(sc_kind k)
{
	return k < SC_N_KINDS ? KIND_NAMES[k] : "?";
}

sc_kind sc_kind_from_name(const char *name)
{
	for (int k = 0; k < SC_N_KINDS; k++)
		if (strcmp(KIND_NAMES[k], name) == 0)
			return (sc_kind)k;
	/* The queries name materialized views "matview" and default ACLs so. */
	if (strcmp(name, "default_acl") == 0)
		return SC_DEFAULT_ACL;
	return SC_N_KINDS;
}

/* ---- Objects ------------------------------------------------------------------- */

sc_obj *sc_snapshot_add(sc_snapshot *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->objs = cf_realloc(s->objs, s->cap * sizeof(*s->objs));
	}
	sc_obj *o = &s->objs[s->n++];
	memset(o, 0, sizeof(*o));
	o->parent = -1;
	o->owner2 = -1;
	return o;
}

void sc_obj_add_dep(sc_snapshot *s, int32_t from, int32_t to, uint8_t flags)
{
	if (from == to || from < 0 || to < 0)
		return;
	sc_obj *o = &s->objs[from];
	for (uint32_t i = 0; i < o->n_deps; i++)
		if (o->deps[i].to == to) {
			o->deps[i].flags |= flags;
			return;
		}
	if (o->n_deps == o->cap_deps) {
		o->cap_deps = o->cap_deps ? o->cap_deps * 2 : 4;
		o->deps = cf_realloc(o->deps, o->cap_deps * sizeof(*o->deps));
	}
	o->deps[o->n_deps++] = (sc_dep){to, flags};
}

int32_t sc_snapshot_index(const sc_snapshot *s, const char *id)
{
	return sc_map_get_str(&s->ids, id);
}

void sc_obj_set_prop(sc_snapshot *s, sc_obj *o, const char *key, const char *val)
{
	for (uint32_t i = 0; i < o->n_props; i++)
		if (strcmp(o->props[i].key, key) == 0) {
			o->props[i].val = val;
			return;
		}
	sc_prop *p = sc_arena_alloc(&s->arena, (o->n_props + 1) * sizeof(*p));
	if (o->n_props)
		memcpy(p, o->props, o->n_props * sizeof(*p));
	p[o->n_props++] = (sc_prop){key, val};
	o->props = p;
}

const char *sc_prop_get(const sc_obj *o, const char *key)
{
	for (uint32_t i = 0; i < o->n_props; i++)
		if (strcmp(o->props[i].key, key) == 0)
			return o->props[i].val;
	return NULL;
}

bool sc_prop_true(const sc_obj *o, const char *key)
{
	const char *v = sc_prop_get(o, key);
	return v && strcmp(v, "true") == 0;
}

/* ---- Snapshot accessors ------------------------------------------------------ */

void sc_snapshot_free(sc_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->objs[i].deps);
	free(s->objs);
	sc_map_release(&s->ids);
	sc_map_release(&s->addrs);
	sc_map_release(&s->strings);
	sc_arena_release(&s->arena);
	cf_strv_release(&s->unmodeled);
	free(s);
}

size_t sc_snapshot_count(const sc_snapshot *s)
{
	return s->n;
}

const sc_obj *sc_snapshot_obj(const sc_snapshot *s, size_t i)
{
	return &s->objs[i];
}

const sc_obj *sc_snapshot_find(const sc_snapshot *s, const char *id)
{
	int32_t i = sc_snapshot_index(s, id);
	return i < 0 ? NULL : &s->objs[i];
}

const cf_strv *sc_snapshot_unmodeled(const sc_snapshot *s)
{
	return &s->unmodeled;
}

size_t sc_snapshot_bytes(const sc_snapshot *s)
{
	size_t n = s->arena.bytes + s->cap * sizeof(*s->objs) +
	           (s->ids.cap + s->addrs.cap + s->strings.cap) * sizeof(struct sc_slot);
	for (size_t i = 0; i < s->n; i++)
		n += s->objs[i].cap_deps * sizeof(sc_dep);
	return n;
}
