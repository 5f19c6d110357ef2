/*
 * model.h -- the snapshot's storage, private to src/schema: an arena for its
 * strings, the objects, and two hash maps (identity -> object, catalog
 * address -> object).
 */
#ifndef CF_SCHEMA_MODEL_H
#define CF_SCHEMA_MODEL_H

#include "schema.h"

/* A bump allocator: everything a snapshot holds is freed at once. */
typedef struct sc_arena {
	struct sc_chunk *head;
	size_t bytes;
} sc_arena;

void *sc_arena_alloc(sc_arena *a, size_t n);
const char *sc_arena_strdup(sc_arena *a, const char *s);
const char *sc_arena_printf(sc_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sc_arena_release(sc_arena *a);

/* Open addressing map from a key to an object index. */
typedef struct sc_map {
	struct sc_slot *slots;
	size_t cap;   /* a power of two */
	size_t n;
} sc_map;

void sc_map_release(sc_map *m);
/* Identity map: KEY must outlive the map (arena strings). */
void sc_map_put_str(sc_map *m, const char *key, int32_t ix);
int32_t sc_map_get_str(const sc_map *m, const char *key);
/* Address map: (class, oid, subid); IS_ALIAS marks an address that stands for
 * the object in pg_depend but carries no comment (an array type, a view's
 * rule, the index of a constraint). */
void sc_map_put_addr(sc_map *m, uint32_t cls, uint32_t oid, int32_t subid, int32_t ix,
                     bool is_alias);
int32_t sc_map_get_addr(const sc_map *m, uint32_t cls, uint32_t oid, int32_t subid,
                        bool with_aliases);

/* STR's copy in A, shared with every equal string interned in M before. */
const char *sc_map_intern(sc_map *m, sc_arena *a, const char *str);

/* The catalogs an address can name, by the text of regclass. */
uint32_t sc_class_of(const char *name);

struct sc_snapshot {
	sc_arena arena;
	sc_obj *objs;
	size_t n, cap;
	sc_map ids;
	sc_map addrs;
	sc_map strings;   /* short property values, interned ("false", "integer") */
	cf_strv unmodeled;
	bool is_schema_filtered; /* --schema/--exclude-schema: UNMODELED counts the whole database */
};

/* Appends an object (zeroed but for parent/owner2 = -1) and returns it. The
 * pointer is valid until the next append. */
sc_obj *sc_snapshot_add(sc_snapshot *s);
/* Adds a dependency of FROM on TO (both indexes), once. */
void sc_obj_add_dep(sc_snapshot *s, int32_t from, int32_t to, uint8_t flags);
/* Index of ID, or -1. */
int32_t sc_snapshot_index(const sc_snapshot *s, const char *id);
/* Sets or replaces a property (KEY and VAL must be arena strings). */
void sc_obj_set_prop(sc_snapshot *s, sc_obj *o, const char *key, const char *val);

/* Kind from its name (the kind column of the queries); SC_N_KINDS if unknown. */
sc_kind sc_kind_from_name(const char *name);

#endif
