/*
 * plan.h -- private to src/schema: how two snapshots are matched and the
 * change planned (plan.c, order.c), and the SQL each object needs
 * (gen_*.c, acl.c).
 */
#ifndef CF_SCHEMA_PLAN_H
#define CF_SCHEMA_PLAN_H

#include "model.h"

typedef enum node_state {
	NS_SAME,
	NS_ADD,      /* only in the target */
	NS_DROP,     /* only in the source */
	NS_ALTER,    /* in both, changed in place */
	NS_REPLACE   /* in both, dropped and created again */
} node_state;

/* One identity, on either side or both. */
typedef struct node {
	int32_t s, t;          /* index in the source / target snapshot, or -1 */
	node_state st;
	bool is_rebuilt;       /* dropped and created again (replaced, or around a change) */
	bool is_default_rebuilt; /* a column whose default is dropped and set again */
	bool is_type_change;   /* a column or attribute changes type */
	bool is_dropped;       /* goes away in the drop phase (explicitly or with its owner) */
	bool is_implicit;      /* goes away with its parent or owner: no statement */
	bool is_late;          /* dropped after the creates: something that stays needs it */
	bool is_covered;       /* created inline by its parent's CREATE */
	bool is_refused;
	const char *why;       /* rebuild cause or refusal reason (arena or static) */
	int mark;              /* scratch for graph walks */
} node;

/* Children by parent (compressed), for one snapshot. */
typedef struct kid_index {
	uint32_t *start;
	int32_t *who;
} kid_index;

typedef struct plan {
	const sc_snapshot *src, *tgt;
	node *nodes;
	size_t n;
	int32_t *of_src, *of_tgt;   /* object index -> node index, or -1 */
	sc_arena arena;             /* strings made while planning */
	/* the changes, appended in order */
	cf_schema_change *changes;
	size_t n_changes, cap_changes;
	cf_strv *notes;
	kid_index kids[2];          /* children in the source [0] and the target [1] */
	int32_t *dacls;             /* the target's default privileges (object indexes) */
	size_t n_dacls;
	bool has_dacls;
} plan;

/* The statements of one change being generated. */
typedef struct gen {
	plan *p;
	cf_buf sql;
	cf_hazard hazard;
	cf_buf note;
	bool is_refused;       /* the change cannot be generated (sql says why) */
	bool is_default_dropped; /* the column's default was dropped in the drop phase */
} gen;

/* Appends one statement (";\n" added) and raises the change's hazard to H. */
void gen_stmt(gen *g, cf_hazard h, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds a sentence to the change's note. */
void gen_note(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A literal of TEXT (the quoting rules of quote.c); caller frees. */
char *gen_literal(const char *text);

/* The node of a source / target object (index), or NULL. */
node *plan_node_src(const plan *p, int32_t s);
node *plan_node_tgt(const plan *p, int32_t t);
/* The object's parent in its snapshot, or NULL. */
const sc_obj *obj_parent(const sc_snapshot *snap, const sc_obj *o);
/* The children of O in SNAP of KIND (-1: the inline ones), in column order;
 * caller frees *OUT. */
size_t obj_children(struct plan *p, const sc_snapshot *snap, const sc_obj *o, int kind,
                    const sc_obj ***out);
/* The part of a qualified, quoted name after its last dot. */
const char *name_last(const char *qualified);
/* True when the target object with ID is created in this change. */
bool gen_creates(gen *g, const char *id);
/* True when the node's object is created in this change (added or rebuilt). */
bool node_is_created(const node *n);

/* Kind behaviour (gen_kinds.c). */
int kind_priority(sc_kind k);
bool kind_is_inline(sc_kind k);     /* created by its parent's CREATE */
bool kind_is_rebuildable(sc_kind k); /* can be dropped and created again without data loss */
/* Whether a change from S to T needs a drop and create (else ALTERs do). */
bool kind_needs_replace(const sc_obj *s, const sc_obj *t);
/* Whether the change from S to T alters a column's (attribute's) type. */
bool kind_is_type_change(const sc_obj *s, const sc_obj *t);

/* The statements (gen_kinds.c and the files it dispatches to). */
void gen_create(gen *g, const sc_obj *t);             /* with comment, grants, inline children */
void gen_drop(gen *g, const sc_obj *s);
void gen_alter(gen *g, const sc_obj *s, const sc_obj *t);
/* Only what an inline child adds to its parent's CREATE (comment, grants, storage). */
void gen_inline_extras(gen *g, const sc_obj *t);

/* Tables, columns, partitions, constraints, indexes, sequences (gen_rel.c). */
void rel_create(gen *g, const sc_obj *t);
void rel_drop(gen *g, const sc_obj *s);
void rel_alter(gen *g, const sc_obj *s, const sc_obj *t);
void rel_column_extras(gen *g, const sc_obj *t);
char *rel_column_def(const sc_obj *c, bool with_default);
/* ALTER WHAT NAME SET (...) / RESET (...) between two "k=v, k=v" lists. */
void rel_options_alter(gen *g, const char *what, const char *name, const char *from,
                       const char *to);

/* Everything else (gen_other.c). */
void other_create(gen *g, const sc_obj *t);
void other_drop(gen *g, const sc_obj *s);
void other_alter(gen *g, const sc_obj *s, const sc_obj *t);

/* Comments and privileges (acl.c). */
void acl_comment(gen *g, const sc_obj *o, const char *comment);
/* GRANT and REVOKE that turn FROM_ACL into TO_ACL on O (the target object);
 * OWNER names the owner for "@owner" items. */
void acl_change(gen *g, const sc_obj *o, const char *from_acl, const char *to_acl,
                const char *owner);
/* The privileges a newly created O starts with (built-in defaults and the
 * target's default privileges). */
const char *acl_initial(gen *g, const sc_obj *o);
/* The change of a default privileges entry. */
void acl_default_change(gen *g, const sc_obj *s, const sc_obj *t);

/* Ordering (order.c): node indexes in the order to run them. */
size_t order_drops(plan *p, bool late, int32_t *out);
size_t order_creates(plan *p, int32_t *out);

#endif
