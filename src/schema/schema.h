/*
 * schema.h -- catalog snapshots, their comparison, and the SQL that turns one
 * schema into another (src/schema: a layer under the mediums; uses only
 * src/core, never prints).
 *
 * A snapshot reads a database's catalogs with a few bulk queries (sql/
 * schema_*.sql) inside one read-only repeatable-read transaction, into a
 * normalized model: objects identified by kind and name (functions by full
 * signature), never by OID, each with the properties that are compared, its
 * comment, and its dependencies from pg_depend.
 *
 * sc_diff compares two snapshots and plans the change: drops in reverse
 * dependency order of the source, creates and alterations in dependency order
 * of the target, objects that depend on a changed one dropped and re-created
 * around the change, and a hazard tag on every change.
 */
#ifndef CF_SCHEMA_H
#define CF_SCHEMA_H

#include "confiture.h"
#include "buf.h"
#include "pg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sc_kind {
	SC_SCHEMA,
	SC_EXTENSION,
	SC_COLLATION,
	SC_TYPE,
	SC_ATTRIBUTE,    /* of a composite type (created with it) */
	SC_FUNCTION,
	SC_PROCEDURE,
	SC_AGGREGATE,
	SC_SEQUENCE,
	SC_TABLE,
	SC_COLUMN,       /* of a table (created with it) */
	SC_ATTACH,       /* a partition attached to its parent */
	SC_VIEW,
	SC_MATVIEW,
	SC_VIEW_COLUMN,  /* of a view or materialized view (created with it) */
	SC_SEQ_OWNED,    /* ALTER SEQUENCE ... OWNED BY */
	SC_CONSTRAINT,
	SC_INDEX,
	SC_INDEX_ATTACH, /* an index attached to its parent's partitioned index */
	SC_TRIGGER,
	SC_POLICY,
	SC_PUBLICATION,
	SC_DEFAULT_ACL,
	SC_N_KINDS
} sc_kind;

/* The kind's name as it appears in ids and output, e.g. "table". */
const char *sc_kind_name(sc_kind k);

typedef struct sc_prop {
	const char *key;  /* the query's column name (owned by the snapshot) */
	const char *val;
} sc_prop;

/* A dependency: this object needs TO to exist. */
enum {
	SC_DEP_NORMAL = 0,
	SC_DEP_DEFAULT = 1, /* through a column default (pg_attrdef) */
	SC_DEP_AUTO = 2,    /* deptype 'a' */
	SC_DEP_INTERNAL = 4 /* deptype 'i' (a partition key's column on its table) */
};
typedef struct sc_dep {
	int32_t to;
	uint8_t flags;
} sc_dep;

typedef struct sc_obj {
	sc_kind kind;
	const char *id;      /* "table app.person": kind and name, unique */
	const char *name;    /* the name as SQL: app.person, app.add(integer, integer) */
	const char *schema;  /* unquoted schema name, or NULL */
	const char *parent_id;
	const char *comment; /* or NULL */
	sc_prop *props;      /* non-NULL properties, in query order */
	uint32_t n_props;
	int32_t parent;      /* index of the parent, or -1 */
	int32_t owner2;      /* index of another object whose drop drops this one, or -1 */
	uint32_t cls;        /* catalog address: class (index into a name table), oid, subid */
	uint32_t oid;
	int32_t subid;
	bool is_excluded;    /* left out by a filter */
	sc_dep *deps;
	uint32_t n_deps, cap_deps;
} sc_obj;

typedef struct sc_snapshot sc_snapshot;

typedef struct sc_filter {
	const char *const *schemas;          /* only these schemas (none: every one) */
	size_t n_schemas;
	const char *const *exclude_schemas;
	size_t n_exclude_schemas;
	const char *const *exclude_tables;   /* "table" or "schema.table", e.g. the ledger */
	size_t n_exclude_tables;
	bool no_privileges;                  /* leave GRANTs and default privileges out */
} sc_filter;

/*
 * Reads the catalogs of PG's database into *OUT: one read-only, repeatable
 * read transaction, a fixed number of queries whatever the size of the
 * schema. FILTER may be NULL. The connection is only read. On failure *OUT is
 * NULL and the context holds the error.
 */
cf_status sc_snapshot_take(cf_pg *pg, const sc_filter *filter, sc_snapshot **out);
void sc_snapshot_free(sc_snapshot *s);

size_t sc_snapshot_count(const sc_snapshot *s);
/* The object at index I, for I < sc_snapshot_count. */
const sc_obj *sc_snapshot_obj(const sc_snapshot *s, size_t i);
/* The object with ID, or NULL. */
const sc_obj *sc_snapshot_find(const sc_snapshot *s, const char *id);
/* Kinds of objects present that the model does not compare: "rules (2)". */
const cf_strv *sc_snapshot_unmodeled(const sc_snapshot *s);
/* Bytes held by the snapshot (for the benchmark's memory figure). */
size_t sc_snapshot_bytes(const sc_snapshot *s);

/* A property's value, or NULL when absent (SQL NULL). */
const char *sc_prop_get(const sc_obj *o, const char *key);
/* True when the property is the text "true". */
bool sc_prop_true(const sc_obj *o, const char *key);

/* ---- Comparison ----------------------------------------------------------- */

/*
 * The change that turns FROM into TO: the changes in the order to run them,
 * the notes (column order, probable renames), and the kinds neither side
 * compares. Owned by the caller: free with sc_diff_free.
 */
typedef struct sc_diff {
	cf_schema_change *changes;
	size_t n_changes;
	cf_strv notes;
	cf_strv not_compared;
	/* Kinds it does not model whose counts differ between the sides (the first
	 * N_UNMODELED_DIFFER notes say which): the sides are not equal, though
	 * there is no change to write for them. */
	size_t n_unmodeled_differ;
} sc_diff;

/* Compares two snapshots (never fails; memory aside). */
sc_diff *sc_diff_new(const sc_snapshot *from, const sc_snapshot *to);
void sc_diff_free(sc_diff *d);

/* The script of the changes, with a header listing the hazards and the NOTES:
 * what -f sql prints and what a generated migration holds. FROM/TO name the
 * sides. */
/* Appends TEXT to B inside a "--" comment, its line breaks turned into spaces:
 * a name may hold one (a quoted identifier, an enum value, a file name), and
 * must not end the comment and start SQL in a script someone runs. */
void sc_comment_append(cf_buf *b, const char *text);

char *sc_diff_script(const cf_schema_change *changes, size_t n, const char *from,
                     const char *to, char *const *notes, size_t n_notes);

#endif
