/*
 * snapshot.c -- reads a database's catalogs into the model.
 *
 * A fixed list of bulk queries (sql/schema_*.sql) runs in one read-only,
 * repeatable-read transaction with an empty search_path, so that every name
 * the catalog functions print is schema-qualified the same way on both sides.
 * Then the rows are tied together: parents by identity, comments and
 * dependencies by catalog address (OIDs are used only inside one snapshot),
 * and a few objects are derived: a partition's attachment, an index's
 * attachment to its parent's index, and a sequence's OWNED BY.
 */
#include "model.h"
#include "error.h"
#include "log.h"
#include "sql_embed.h"

#define CF_STR_(x) #x
#define CF_STR(x) CF_STR_(x)

#include <stdlib.h>
#include <string.h>

typedef struct query {
	const char *name;
	const char *sql;
} query;

static const query OBJECT_QUERIES[] = {
	{"schemas", cf_sql_schema_schemas},       {"extensions", cf_sql_schema_extensions},
	{"collations", cf_sql_schema_collations}, {"types", cf_sql_schema_types},
	{"sequences", cf_sql_schema_sequences},   {"functions", cf_sql_schema_functions},
	{"relations", cf_sql_schema_relations},   {"columns", cf_sql_schema_columns},
	{"constraints", cf_sql_schema_constraints}, {"indexes", cf_sql_schema_indexes},
	{"triggers", cf_sql_schema_triggers},     {"policies", cf_sql_schema_policies},
	{"default_acls", cf_sql_schema_default_acls}, {"publications", cf_sql_schema_publications},
};

/* The fixed leading columns of every object query. */
enum { C_KIND, C_CLS, C_OID, C_SUBID, C_SCHEMA, C_ID, C_PARENT, C_FIRST_PROP };

static uint32_t parse_u32(const char *s)
{
	return s ? (uint32_t)strtoul(s, NULL, 10) : 0;
}

/* "cls:oid" (N bytes of TEXT) into an address; false when it names none. */
static bool parse_addr(const char *text, size_t n, uint32_t *cls, uint32_t *oid)
{
	const char *colon = memchr(text, ':', n);
	if (!colon)
		return false;
	char name[64];
	size_t cn = (size_t)(colon - text) < sizeof(name) - 1 ? (size_t)(colon - text)
	                                                     : sizeof(name) - 1;
	memcpy(name, text, cn);
	name[cn] = '\0';
	*cls = sc_class_of(name);
	*oid = parse_u32(colon + 1);
	return *cls != 0;
}

/* "pg_type:123 pg_class:456": more addresses that stand for object IX. */
static void add_aliases(sc_snapshot *s, int32_t ix, const char *text)
{
	const char *p = text;
	while (p && *p) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		uint32_t cls, oid;
		if (parse_addr(p, n, &cls, &oid))
			sc_map_put_addr(&s->addrs, cls, oid, 0, ix, true);
		p = sp ? sp + 1 : NULL;
	}
}

/* The object at "cls:oid" (an alias will do: a composite type's relation). */
static int32_t find_of(const sc_snapshot *s, const char *addr)
{
	uint32_t cls, oid;
	if (!addr || !parse_addr(addr, strlen(addr), &cls, &oid))
		return -1;
	return sc_map_get_addr(&s->addrs, cls, oid, 0, true);
}

/* "X<SEP>Y" in the arena, without a printf (once per row of large queries). */
static const char *arena_join(sc_arena *a, const char *x, char sep, const char *y)
{
	size_t k = strlen(x), n = strlen(y);
	char *out = sc_arena_alloc(a, k + n + 2);
	memcpy(out, x, k);
	out[k] = sep;
	memcpy(out + k + 1, y, n + 1);
	return out;
}

/* A property's value: short ones repeat across objects ("false", "integer")
 * and are kept once. */
static const char *value(sc_snapshot *s, const char *v)
{
	return strlen(v) <= 32 ? sc_map_intern(&s->strings, &s->arena, v)
	                       : sc_arena_strdup(&s->arena, v);
}

static void load_row(sc_snapshot *s, const cf_pgres *r, int row, const char *const *keys,
                     int addr_col, int name_col, int of_col)
{
	int ncols = cf_pgres_ncols(r);
	sc_kind kind = sc_kind_from_name(cf_pgres_get(r, row, C_KIND));
	if (kind == SC_N_KINDS)
		return;
	int32_t ix = (int32_t)s->n;
	sc_obj *o = sc_snapshot_add(s);
	o->kind = kind;
	o->cls = sc_class_of(cf_pgres_get(r, row, C_CLS));
	o->oid = parse_u32(cf_pgres_get(r, row, C_OID));
	o->subid = (int32_t)parse_u32(cf_pgres_get(r, row, C_SUBID));
	o->schema = sc_arena_strdup(&s->arena, cf_pgres_get(r, row, C_SCHEMA));
	if (cf_pgres_isnull(r, row, C_ID)) {
		/* A column or constraint: named after its parent, at address _of. */
		int32_t p = of_col >= 0 ? find_of(s, cf_pgres_get(r, row, of_col)) : -1;
		const char *col = cf_pgres_get(r, row, name_col);
		if (p < 0 || !col) {
			s->n--;
			return;
		}
		o->name = arena_join(&s->arena, s->objs[p].name, '.', col);
		o->parent_id = s->objs[p].id;
	} else {
		o->name = sc_arena_strdup(&s->arena, cf_pgres_get(r, row, C_ID));
		o->parent_id = sc_arena_strdup(&s->arena, cf_pgres_get(r, row, C_PARENT));
	}
	o->id = arena_join(&s->arena, sc_kind_name(kind), ' ', o->name);
	uint32_t n = 0;
	for (int c = C_FIRST_PROP; c < ncols; c++)
		n += c != addr_col && c != of_col && !cf_pgres_isnull(r, row, c);
	o->props = n ? sc_arena_alloc(&s->arena, n * sizeof(sc_prop)) : NULL;
	for (int c = C_FIRST_PROP; c < ncols; c++) {
		if (cf_pgres_isnull(r, row, c) || c == of_col)
			continue;
		if (c == addr_col)
			add_aliases(s, ix, cf_pgres_get(r, row, c));
		else
			o->props[o->n_props++] = (sc_prop){keys[c], value(s, cf_pgres_get(r, row, c))};
	}
	sc_map_put_str(&s->ids, o->id, ix);
	if (o->cls)
		sc_map_put_addr(&s->addrs, o->cls, o->oid, o->subid, ix, false);
}

/*
 * Runs SQL through a cursor, FETCH_ROWS rows at a time, calling FN for each
 * batch: a large schema never sits in memory twice (its rows and the model).
 */
#define FETCH_ROWS 5000

typedef void (*batch_fn)(sc_snapshot *s, const cf_pgres *r, void *ud);

static cf_status batched(sc_snapshot *s, cf_pg *pg, const char *sql, batch_fn fn, void *ud)
{
	char *declare = cf_asprintf("DECLARE cf_snapshot NO SCROLL CURSOR FOR %s", sql);
	cf_status st = cf_pg_exec(pg, declare);
	free(declare);
	for (int n = FETCH_ROWS; !st && n == FETCH_ROWS;) {
		cf_pgres *r = NULL;
		st = cf_pg_query(pg, "FETCH " CF_STR(FETCH_ROWS) " FROM cf_snapshot", 0, NULL, &r);
		if (!st) {
			n = cf_pgres_nrows(r);
			fn(s, r, ud);
		}
		cf_pgres_free(r);
	}
	if (!st)
		st = cf_pg_exec(pg, "CLOSE cf_snapshot");
	return st;
}

static void load_batch(sc_snapshot *s, const cf_pgres *r, void *ud)
{
	(void)ud;
	int ncols = cf_pgres_ncols(r);
	const char **keys = cf_calloc((size_t)ncols, sizeof(*keys));
	for (int c = 0; c < ncols; c++)
		keys[c] = sc_map_intern(&s->strings, &s->arena, cf_pgres_fname(r, c));
	int addr_col = cf_pgres_fnumber(r, "_addr"), name_col = cf_pgres_fnumber(r, "_name");
	int of_col = cf_pgres_fnumber(r, "_of");
	for (int row = 0; row < cf_pgres_nrows(r); row++)
		load_row(s, r, row, keys, addr_col, name_col, of_col);
	free(keys);
}

static cf_status load_objects(sc_snapshot *s, cf_pg *pg, const query *q)
{
	double t0 = cf_now();
	size_t before = s->n;
	cf_status st = batched(s, pg, q->sql, load_batch, NULL);
	cf_log_debug(cf_pg_ctx(pg), "snapshot query %s: %zu objects in %.3f s", q->name,
	             s->n - before, cf_now() - t0);
	return st;
}

/* ---- Filters -------------------------------------------------------------------- */

static bool in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s && strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Table O is one of the excluded tables ("table" or "schema.table"). */
static bool table_excluded(const sc_filter *f, const sc_obj *o)
{
	const char *relname = sc_prop_get(o, "_relname");
	for (size_t i = 0; relname && i < f->n_exclude_tables; i++) {
		const char *want = f->exclude_tables[i], *dot = strchr(want, '.');
		if (!dot && strcmp(want, relname) == 0)
			return true;
		if (dot && strcmp(dot + 1, relname) == 0 && o->schema &&
		    strlen(o->schema) == (size_t)(dot - want) &&
		    strncmp(want, o->schema, (size_t)(dot - want)) == 0)
			return true;
	}
	return false;
}

static bool filtered_out(const sc_filter *f, const sc_obj *o)
{
	if (!f)
		return false;
	if (f->n_schemas && o->schema && !in_list(f->schemas, f->n_schemas, o->schema))
		return true;
	if (f->n_schemas && !o->schema && o->kind != SC_EXTENSION)
		return true;
	if (in_list(f->exclude_schemas, f->n_exclude_schemas, o->schema))
		return true;
	if (o->kind == SC_DEFAULT_ACL && f->no_privileges)
		return true;
	return o->kind == SC_TABLE && table_excluded(f, o);
}

static void strip_acl(sc_obj *o)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < o->n_props; i++)
		if (strcmp(o->props[i].key, "acl") != 0)
			o->props[k++] = o->props[i];
	o->n_props = k;
}

/* Parents by identity; an object whose parent is missing or left out is left
 * out too (parents always come before their children in the queries). */
static void link_parents(sc_snapshot *s, const sc_filter *f)
{
	for (size_t i = 0; i < s->n; i++) {
		sc_obj *o = &s->objs[i];
		o->is_excluded = filtered_out(f, o);
		if (f && f->no_privileges)
			strip_acl(o);
		if (!o->parent_id)
			continue;
		o->parent = sc_snapshot_index(s, o->parent_id);
		if (o->parent < 0 || s->objs[o->parent].is_excluded)
			o->is_excluded = true;
	}
}

/* ---- Derived objects ------------------------------------------------------------ */

/* The object derived from OF when OF has the property FROM (a name): it is
 * "KIND NAME-of-OF", holds that name as KEY, and needs the object
 * "TO_KIND NAME", which OF goes with when that one is dropped. Returns its
 * index, or -1 when OF has no FROM; *TO is the needed object's index. */
static int32_t derive(sc_snapshot *s, int32_t of, const char *from, sc_kind kind, const char *key,
                      const char *to_kind, int32_t *to)
{
	const char *val = sc_prop_get(&s->objs[of], from);
	if (!val)
		return -1;
	const char *name = s->objs[of].name, *schema = s->objs[of].schema;
	bool excluded = s->objs[of].is_excluded;
	const char *id = sc_arena_printf(&s->arena, "%s %s", sc_kind_name(kind), name);
	const char *parent_id = s->objs[of].id;
	int32_t ix = (int32_t)s->n;
	sc_obj *o = sc_snapshot_add(s);
	o->kind = kind;
	o->name = name;
	o->schema = schema;
	o->id = id;
	o->parent_id = parent_id;
	o->parent = of;
	o->is_excluded = excluded;
	sc_obj_set_prop(s, o, key, val);
	sc_map_put_str(&s->ids, id, ix);
	sc_obj_add_dep(s, ix, of, SC_DEP_NORMAL);
	*to = sc_snapshot_index(s, sc_arena_printf(&s->arena, "%s %s", to_kind, val));
	sc_obj_add_dep(s, ix, *to, SC_DEP_NORMAL);
	s->objs[of].owner2 = *to;
	return ix;
}

/* A partition's ATTACH PARTITION, so that the partition can be created as a
 * table of its own (with the indexes its parent's indexes need) first;
 * dropping the parent drops its partitions. */
static void derive_attach(sc_snapshot *s, int32_t t)
{
	int32_t p;
	int32_t a = derive(s, t, "_partition_of", SC_ATTACH, "partition_of", "table", &p);
	if (a >= 0)
		sc_obj_set_prop(s, &s->objs[a], "bound", sc_prop_get(&s->objs[t], "_bound"));
}

static void derive_index_attach(sc_snapshot *s, int32_t i)
{
	int32_t p;
	int32_t a = derive(s, i, "_attached_to", SC_INDEX_ATTACH, "attached_to", "index", &p);
	if (a < 0)
		return;
	/* The partition's own index exists before the partition is attached (so
	 * that ATTACH adopts it instead of building another), and is attached to
	 * the parent's index after. */
	int32_t table = s->objs[i].parent;
	int32_t ta = table < 0 ? -1
	             : sc_snapshot_index(s, sc_arena_printf(&s->arena, "partition %s",
	                                                     s->objs[table].name));
	if (ta >= 0) {
		sc_obj_add_dep(s, ta, i, SC_DEP_NORMAL);
		sc_obj_add_dep(s, a, ta, SC_DEP_NORMAL);
	}
}

/* OWNED BY: dropping the column drops the sequence. */
static void derive_seq_owned(sc_snapshot *s, int32_t q)
{
	int32_t c;
	derive(s, q, "_owned_by", SC_SEQ_OWNED, "owned_by", "column", &c);
}

static void derive_objects(sc_snapshot *s)
{
	size_t n = s->n;
	for (size_t i = 0; i < n; i++)
		if (s->objs[i].kind == SC_TABLE)
			derive_attach(s, (int32_t)i);
	for (size_t i = 0; i < n; i++) {
		if (s->objs[i].kind == SC_INDEX)
			derive_index_attach(s, (int32_t)i);
		else if (s->objs[i].kind == SC_SEQUENCE)
			derive_seq_owned(s, (int32_t)i);
	}
	for (size_t i = 0; i < n; i++)
		if (s->objs[i].parent >= 0)
			sc_obj_add_dep(s, (int32_t)i, s->objs[i].parent, SC_DEP_NORMAL);
}

/* ---- Comments, dependencies, what is not modeled ------------------------------------ */

static int32_t find_addr(const sc_snapshot *s, const char *cls, const char *oid,
                         const char *subid, bool aliases)
{
	uint32_t c = sc_class_of(cls);
	if (!c)
		return -1;
	uint32_t o = parse_u32(oid);
	int32_t sub = (int32_t)parse_u32(subid);
	int32_t ix = sc_map_get_addr(&s->addrs, c, o, sub, aliases);
	if (ix < 0 && sub != 0 && aliases)
		ix = sc_map_get_addr(&s->addrs, c, o, 0, aliases);
	return ix;
}

static void comments_batch(sc_snapshot *s, const cf_pgres *r, void *ud)
{
	(void)ud;
	for (int i = 0; i < cf_pgres_nrows(r); i++) {
		int32_t ix = find_addr(s, cf_pgres_get(r, i, 0), cf_pgres_get(r, i, 1),
		                       cf_pgres_get(r, i, 2), false);
		if (ix >= 0)
			s->objs[ix].comment = sc_arena_strdup(&s->arena, cf_pgres_get(r, i, 3));
	}
}

static void add_depend_row(sc_snapshot *s, const cf_pgres *r, int i)
{
	int32_t from = find_addr(s, cf_pgres_get(r, i, 0), cf_pgres_get(r, i, 1),
	                         cf_pgres_get(r, i, 2), true);
	int32_t to = find_addr(s, cf_pgres_get(r, i, 3), cf_pgres_get(r, i, 4),
	                       cf_pgres_get(r, i, 5), true);
	if (from < 0 || to < 0 || s->objs[from].is_excluded || s->objs[to].is_excluded)
		return;
	const char *deptype = cf_pgres_get(r, i, 6);
	uint8_t flags = strcmp(cf_pgres_get(r, i, 0), "pg_attrdef") == 0 ? SC_DEP_DEFAULT : 0;
	if (deptype[0] == 'a')
		flags |= SC_DEP_AUTO;
	else if (deptype[0] == 'i')
		flags |= SC_DEP_INTERNAL;
	/* OWNED BY: the sequence does not need the column, its ownership does. */
	if (s->objs[from].kind == SC_SEQUENCE && s->objs[to].kind == SC_COLUMN && deptype[0] == 'a') {
		from = sc_snapshot_index(s, sc_arena_printf(&s->arena, "sequence_owner %s",
		                                            s->objs[from].name));
		if (from < 0)
			return;
	}
	sc_obj_add_dep(s, from, to, flags);
}

static void depend_batch(sc_snapshot *s, const cf_pgres *r, void *ud)
{
	(void)ud;
	for (int i = 0; i < cf_pgres_nrows(r); i++)
		add_depend_row(s, r, i);
}

static cf_status load_unmodeled(sc_snapshot *s, cf_pg *pg)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, cf_sql_schema_unmodeled, 0, NULL, &r);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++)
		cf_strv_push_owned(&s->unmodeled, cf_asprintf("%s (%s)", cf_pgres_get(r, i, 0),
		                                              cf_pgres_get(r, i, 1)));
	cf_pgres_free(r);
	return st;
}

cf_status sc_snapshot_take(cf_pg *pg, const sc_filter *filter, sc_snapshot **out)
{
	*out = NULL;
	cf_ctx *ctx = cf_pg_ctx(pg);
	double t0 = cf_now();
	sc_snapshot *s = cf_calloc(1, sizeof(*s));
	cf_strv_init(&s->unmodeled);
	s->is_schema_filtered = filter && (filter->n_schemas || filter->n_exclude_schemas);
	/* Read only: a protected production database can be compared. The rows
	 * come through cursors, which the planner would otherwise plan for the
	 * first rows (nested loops over a whole catalog); nor is JIT worth it. */
	cf_status st = cf_pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
	                              "SET LOCAL search_path = ''; "
	                              "SET LOCAL cursor_tuple_fraction = 1; SET LOCAL jit = off");
	size_t nq = sizeof(OBJECT_QUERIES) / sizeof(*OBJECT_QUERIES);
	for (size_t i = 0; !st && i < nq; i++)
		st = load_objects(s, pg, &OBJECT_QUERIES[i]);
	if (!st) {
		link_parents(s, filter);
		derive_objects(s);
		st = batched(s, pg, cf_sql_schema_comments, comments_batch, NULL);
	}
	if (!st)
		st = batched(s, pg, cf_sql_schema_depend, depend_batch, NULL);
	if (!st)
		st = load_unmodeled(s, pg);
	cf_pg_rollback(pg);
	if (st) {
		cf_error_context(ctx, "while reading the catalogs of %s", cf_pg_display(pg));
		sc_snapshot_free(s);
		return st;
	}
	cf_log_debug(ctx, "snapshot of %s: %zu objects, %.1f MB, in %.3f s", cf_pg_display(pg),
	             s->n, sc_snapshot_bytes(s) / 1048576.0, cf_now() - t0);
	*out = s;
	return CF_OK;
}
