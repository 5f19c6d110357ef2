/*
 * gen_rel.c -- SQL for tables, columns, partitions, constraints, indexes,
 * sequences, and the attributes of composite types.
 *
 * A partition is created as a table of its own and attached afterwards
 * (ATTACH PARTITION), the way pg_dump does it: its indexes exist by then, so
 * the attach adopts them instead of building others under other names.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static bool eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool differs(const sc_obj *s, const sc_obj *t, const char *key)
{
	return !eq(sc_prop_get(s, key), sc_prop_get(t, key));
}

/* Whether the parent of target object T existed before this change. */
static bool parent_exists(gen *g, const sc_obj *t)
{
	node *n = plan_node_tgt(g->p, t->parent);
	return n && !node_is_created(n);
}

static const char *col(const sc_obj *c)
{
	return sc_prop_get(c, "_name");
}

static const char *parent_name(gen *g, const sc_obj *o, bool target)
{
	const sc_obj *p = obj_parent(target ? g->p->tgt : g->p->src, o);
	return p ? p->name : "?";
}

/* ---- Columns -------------------------------------------------------------------- */

char *rel_column_def(const sc_obj *c, bool with_default)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "%s %s", col(c), sc_prop_get(c, "type"));
	const char *v;
	if ((v = sc_prop_get(c, "collation")))
		cf_buf_printf(&b, " COLLATE %s", v);
	if ((v = sc_prop_get(c, "generated")))
		cf_buf_printf(&b, " GENERATED ALWAYS AS (%s) STORED", v);
	if ((v = sc_prop_get(c, "identity")))
		cf_buf_printf(&b, " GENERATED %s AS IDENTITY (SEQUENCE NAME %s %s)",
		              strcmp(v, "always") == 0 ? "ALWAYS" : "BY DEFAULT",
		              sc_prop_get(c, "identity_sequence"), sc_prop_get(c, "identity_options"));
	if (with_default && (v = sc_prop_get(c, "default")))
		cf_buf_printf(&b, " DEFAULT %s", v);
	if (sc_prop_true(c, "not_null"))
		cf_buf_puts(&b, " NOT NULL");
	return cf_buf_detach(&b);
}

void rel_column_extras(gen *g, const sc_obj *t)
{
	const char *tbl = parent_name(g, t, true), *v;
	if ((v = sc_prop_get(t, "storage")))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s ALTER COLUMN %s SET STORAGE %s", tbl,
		         col(t), v);
	if ((v = sc_prop_get(t, "compression")))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s ALTER COLUMN %s SET COMPRESSION %s",
		         tbl, col(t), v);
	if ((v = sc_prop_get(t, "statistics")))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s ALTER COLUMN %s SET STATISTICS %s",
		         tbl, col(t), v);
}

static void column_add(gen *g, const sc_obj *t)
{
	char *def = rel_column_def(t, true);
	cf_hazard h = CF_HAZARD_ADDITIVE;
	if (parent_exists(g, t)) {
		const char *dflt = sc_prop_get(t, "default");
		if (sc_prop_get(t, "identity") || sc_prop_get(t, "generated") ||
		    (dflt && strstr(dflt, "nextval("))) {
			h = CF_HAZARD_LOCK_RISKY;
			gen_note(g, "Adding it rewrites table %s under an ACCESS EXCLUSIVE lock.",
			         parent_name(g, t, true));
		} else if (sc_prop_true(t, "not_null") && !dflt) {
			h = CF_HAZARD_LOCK_RISKY;
			gen_note(g, "NOT NULL without a default fails when table %s has rows.",
			         parent_name(g, t, true));
		}
	}
	gen_stmt(g, h, "ALTER TABLE %s ADD COLUMN %s", parent_name(g, t, true), def);
	free(def);
	rel_column_extras(g, t);
}

/* "START WITH 1 INCREMENT BY 1 ... NO CYCLE" -> "SET START WITH 1 SET ...". */
static char *identity_set_options(const char *opts)
{
	static const char *const keys[] = {"START", "INCREMENT", "MINVALUE", "MAXVALUE", "CACHE",
	                                   "NO", "CYCLE"};
	cf_strv words;
	cf_strv_init(&words);
	cf_strv_split(&words, opts, ' ');
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < words.n; i++) {
		bool key = false;
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++)
			key |= strcmp(words.v[i], keys[k]) == 0;
		if (key && !(strcmp(words.v[i], "CYCLE") == 0 && i && strcmp(words.v[i - 1], "NO") == 0))
			cf_buf_puts(&b, b.len ? " SET " : "SET ");
		else
			cf_buf_putc(&b, ' ');
		cf_buf_puts(&b, words.v[i]);
	}
	cf_strv_release(&words);
	return cf_buf_detach(&b);
}

static void identity_alter(gen *g, const sc_obj *s, const sc_obj *t, const char *tbl)
{
	const char *si = sc_prop_get(s, "identity"), *ti = sc_prop_get(t, "identity");
	const char *how = ti && strcmp(ti, "always") == 0 ? "ALWAYS" : "BY DEFAULT";
	if (!si && ti) {
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS "
		         "IDENTITY (SEQUENCE NAME %s %s)", tbl, col(t), how,
		         sc_prop_get(t, "identity_sequence"), sc_prop_get(t, "identity_options"));
		return;
	}
	if (si && !ti) {
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY", tbl,
		         col(t));
		return;
	}
	if (!si)
		return;
	if (strcmp(si, ti) != 0)
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s SET GENERATED %s",
		         tbl, col(t), how);
	if (differs(s, t, "identity_sequence"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER SEQUENCE %s RENAME TO %s",
		         sc_prop_get(s, "identity_sequence"),
		         name_last(sc_prop_get(t, "identity_sequence")));
	if (differs(s, t, "identity_options")) {
		char *set = identity_set_options(sc_prop_get(t, "identity_options"));
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s %s", tbl, col(t), set);
		free(set);
	}
}

static void column_storage_alter(gen *g, const sc_obj *s, const sc_obj *t, const char *tbl)
{
	const char *v;
	if (differs(s, t, "storage"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s SET STORAGE %s", tbl,
		         col(t), (v = sc_prop_get(t, "storage")) ? v : sc_prop_get(t, "_typstorage"));
	if (differs(s, t, "compression"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s SET COMPRESSION %s",
		         tbl, col(t), (v = sc_prop_get(t, "compression")) ? v : "DEFAULT");
	if (differs(s, t, "statistics"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s SET STATISTICS %s",
		         tbl, col(t), (v = sc_prop_get(t, "statistics")) ? v : "-1");
}

static void column_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	const char *tbl = parent_name(g, t, true);
	const char *from_default = g->is_default_dropped ? NULL : sc_prop_get(s, "default");
	const char *to_default = sc_prop_get(t, "default");
	if (!sc_prop_true(t, "_inherited")) {
		if (differs(s, t, "type") || differs(s, t, "collation")) {
			if (from_default) {
				/* An old default may not cast to the new type. */
				gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
				         tbl, col(t));
				from_default = NULL;
			}
			const char *coll = sc_prop_get(t, "collation");
			gen_stmt(g, CF_HAZARD_LOCK_RISKY, "ALTER TABLE %s ALTER COLUMN %s TYPE %s%s%s USING "
			         "%s::%s", tbl, col(t), sc_prop_get(t, "type"), coll ? " COLLATE " : "",
			         coll ? coll : "", col(t), sc_prop_get(t, "type"));
			gen_note(g, "Changing the type rewrites table %s under an ACCESS EXCLUSIVE lock, "
			         "and fails if a value does not convert.", tbl);
		}
		if (sc_prop_get(s, "generated") && !sc_prop_get(t, "generated"))
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP EXPRESSION",
			         tbl, col(t));
		identity_alter(g, s, t, tbl);
		if (sc_prop_true(t, "not_null") && !sc_prop_true(s, "not_null")) {
			gen_stmt(g, CF_HAZARD_LOCK_RISKY, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", tbl,
			         col(t));
			gen_note(g, "SET NOT NULL reads the whole table under an ACCESS EXCLUSIVE lock.");
		} else if (!sc_prop_true(t, "not_null") && sc_prop_true(s, "not_null")) {
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", tbl,
			         col(t));
		}
		column_storage_alter(g, s, t, tbl);
	}
	if (!eq(from_default, to_default) && !sc_prop_get(t, "generated")) {
		if (to_default)
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
			         tbl, col(t), to_default);
		else
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", tbl,
			         col(t));
	}
}

static char *attribute_def(const sc_obj *a)
{
	const char *coll = sc_prop_get(a, "collation");
	return cf_asprintf("%s %s%s%s", col(a), sc_prop_get(a, "type"), coll ? " COLLATE " : "",
	                   coll ? coll : "");
}

static void attribute_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (!differs(s, t, "type") && !differs(s, t, "collation"))
		return;
	const char *coll = sc_prop_get(t, "collation");
	gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TYPE %s ALTER ATTRIBUTE %s TYPE %s%s%s",
	         parent_name(g, t, true), col(t), sc_prop_get(t, "type"), coll ? " COLLATE " : "",
	         coll ? coll : "");
}

static void view_column_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (!differs(s, t, "default"))
		return;
	const char *d = sc_prop_get(t, "default");
	if (d)
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER VIEW %s ALTER COLUMN %s SET DEFAULT %s",
		         parent_name(g, t, true), col(t), d);
	else
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER VIEW %s ALTER COLUMN %s DROP DEFAULT",
		         parent_name(g, t, true), col(t));
}

/* ---- Tables ------------------------------------------------------------------------ */

static void table_body(gen *g, const sc_obj *t, cf_buf *b)
{
	bool partition = sc_prop_get(t, "_partition_of") != NULL;
	const sc_obj **cols, **cons;
	size_t nc = obj_children(g->p, g->p->tgt, t, SC_COLUMN, &cols);
	size_t nk = obj_children(g->p, g->p->tgt, t, SC_CONSTRAINT, &cons);
	size_t items = 0;
	for (size_t i = 0; i < nc; i++) {
		/* A partition is created alone, then attached: it lists every column.
		 * An inheritance child lists its own; the others come from INHERITS. */
		if (!partition && sc_prop_true(cols[i], "_inherited") &&
		    !sc_prop_true(cols[i], "_local"))
			continue;
		char *def = rel_column_def(cols[i], true);
		cf_buf_printf(b, "%s\n    %s", items++ ? "," : "", def);
		free(def);
	}
	for (size_t i = 0; partition && i < nk; i++) {
		/* ATTACH needs the parent's CHECK constraints on the partition. */
		const char *type = sc_prop_get(cons[i], "_type");
		if (sc_prop_true(cons[i], "_inherited") && type && strcmp(type, "c") == 0)
			cf_buf_printf(b, "%s\n    CONSTRAINT %s %s", items++ ? "," : "",
			              sc_prop_get(cons[i], "_name"), sc_prop_get(cons[i], "definition"));
	}
	cf_buf_puts(b, items ? "\n)" : ")");
	free(cols);
	free(cons);
}

static void table_create(gen *g, const sc_obj *t)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE %sTABLE %s (", sc_prop_true(t, "unlogged") ? "UNLOGGED " : "",
	              t->name);
	table_body(g, t, &b);
	const char *v;
	if ((v = sc_prop_get(t, "inherits")) && !sc_prop_get(t, "_partition_of"))
		cf_buf_printf(&b, " INHERITS (%s)", v);
	if ((v = sc_prop_get(t, "partition_by")))
		cf_buf_printf(&b, " PARTITION BY %s", v);
	if ((v = sc_prop_get(t, "options")))
		cf_buf_printf(&b, " WITH (%s)", v);
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
	if (sc_prop_true(t, "row_security"))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY", t->name);
	if (sc_prop_true(t, "force_row_security"))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s FORCE ROW LEVEL SECURITY", t->name);
	v = sc_prop_get(t, "replica_identity");
	if (v && strncmp(v, "USING INDEX", 11) != 0)
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s REPLICA IDENTITY %s", t->name, v);
}

/* "a=1, b=2" into keys and items. */
static void options_split(const char *text, cf_strv *items)
{
	cf_strv_init(items);
	if (!text)
		return;
	const char *p = text;
	while (*p) {
		const char *end = strstr(p, ", ");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		cf_strv_push_owned(items, cf_strndup(p, n));
		p += n + (end ? 2 : 0);
	}
}

static bool has_key(const cf_strv *items, const char *item, bool same_value)
{
	size_t k = strcspn(item, "=");
	for (size_t i = 0; i < items->n; i++)
		if (same_value ? strcmp(items->v[i], item) == 0
		               : strncmp(items->v[i], item, k) == 0 && items->v[i][k] == '=')
			return true;
	return false;
}

/* SET (...) and RESET (...) that turn option list FROM into TO. */
void rel_options_alter(gen *g, const char *what, const char *name, const char *from,
                       const char *to)
{
	cf_strv a, b, reset, set;
	options_split(from, &a);
	options_split(to, &b);
	cf_strv_init(&reset);
	cf_strv_init(&set);
	for (size_t i = 0; i < a.n; i++)
		if (!has_key(&b, a.v[i], false))
			cf_strv_push_owned(&reset, cf_strndup(a.v[i], strcspn(a.v[i], "=")));
	for (size_t i = 0; i < b.n; i++)
		if (!has_key(&a, b.v[i], true))
			cf_strv_push(&set, b.v[i]);
	char *r = cf_strv_join(&reset, ", "), *s = cf_strv_join(&set, ", ");
	if (reset.n)
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER %s %s RESET (%s)", what, name, r);
	if (set.n)
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER %s %s SET (%s)", what, name, s);
	free(r);
	free(s);
	cf_strv_release(&a);
	cf_strv_release(&b);
	cf_strv_release(&reset);
	cf_strv_release(&set);
}

static void inherits_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	cf_strv a, b;
	options_split(sc_prop_get(s, "inherits"), &a);
	options_split(sc_prop_get(t, "inherits"), &b);
	for (size_t i = 0; i < a.n; i++)
		if (!cf_strv_contains(&b, a.v[i]))
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s NO INHERIT %s", t->name, a.v[i]);
	for (size_t i = 0; i < b.n; i++)
		if (!cf_strv_contains(&a, b.v[i]))
			gen_stmt(g, CF_HAZARD_LOCK_RISKY, "ALTER TABLE %s INHERIT %s", t->name, b.v[i]);
	cf_strv_release(&a);
	cf_strv_release(&b);
}

static void replica_identity_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (!differs(s, t, "replica_identity"))
		return;
	const char *v = sc_prop_get(t, "replica_identity");
	if (v && strncmp(v, "USING INDEX ", 12) == 0) {
		/* An index created in this change sets it itself. */
		const char *schema_end = name_last(t->name);
		char *idx = cf_asprintf("index %.*s%s", (int)(schema_end - t->name), t->name, v + 12);
		char *con = cf_asprintf("constraint %s.%s", t->name, v + 12);
		bool later = gen_creates(g, idx) || gen_creates(g, con);
		free(idx);
		free(con);
		if (later)
			return;
	}
	gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s REPLICA IDENTITY %s", t->name,
	         v ? v : "DEFAULT");
}

static void table_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (differs(s, t, "unlogged")) {
		gen_stmt(g, CF_HAZARD_LOCK_RISKY, "ALTER TABLE %s SET %s", t->name,
		         sc_prop_true(t, "unlogged") ? "UNLOGGED" : "LOGGED");
		gen_note(g, "SET LOGGED/UNLOGGED rewrites the table under an ACCESS EXCLUSIVE lock.");
	}
	if (differs(s, t, "inherits"))
		inherits_alter(g, s, t);
	if (differs(s, t, "options"))
		rel_options_alter(g, "TABLE", t->name, sc_prop_get(s, "options"),
		                  sc_prop_get(t, "options"));
	if (differs(s, t, "row_security"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s %s ROW LEVEL SECURITY", t->name,
		         sc_prop_true(t, "row_security") ? "ENABLE" : "DISABLE");
	if (differs(s, t, "force_row_security"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s %s ROW LEVEL SECURITY", t->name,
		         sc_prop_true(t, "force_row_security") ? "FORCE" : "NO FORCE");
	replica_identity_alter(g, s, t);
}

/* The table says REPLICA IDENTITY USING INDEX NAME (unqualified). */
static void replica_identity_with(gen *g, const sc_obj *table, const char *name)
{
	const char *v = table ? sc_prop_get(table, "replica_identity") : NULL;
	if (v && strncmp(v, "USING INDEX ", 12) == 0 && strcmp(v + 12, name) == 0)
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s REPLICA IDENTITY %s", table->name, v);
}

/* ---- Constraints and indexes --------------------------------------------------------- */

static bool on_domain(const sc_obj *c)
{
	return c->parent_id && strncmp(c->parent_id, "type ", 5) == 0;
}

static void constraint_create(gen *g, const sc_obj *t)
{
	const char *type = sc_prop_get(t, "_type");
	bool valid = sc_prop_true(t, "validated"), existing = parent_exists(g, t);
	cf_hazard h = CF_HAZARD_ADDITIVE;
	if (existing && type && strchr("pux", type[0])) {
		h = CF_HAZARD_LOCK_RISKY;
		gen_note(g, "Building its index blocks writes to %s until it is done.",
		         parent_name(g, t, true));
	} else if (existing && valid) {
		h = CF_HAZARD_LOCK_RISKY;
		gen_note(g, "Checking every row holds a lock on %s; add it NOT VALID, then VALIDATE "
		         "CONSTRAINT in a later migration, to avoid that.", parent_name(g, t, true));
	}
	gen_stmt(g, h, "ALTER %s %s ADD CONSTRAINT %s %s%s", on_domain(t) ? "DOMAIN" : "TABLE",
	         parent_name(g, t, true), sc_prop_get(t, "_name"), sc_prop_get(t, "definition"),
	         valid ? "" : " NOT VALID");
	if (!on_domain(t))
		replica_identity_with(g, obj_parent(g->p->tgt, t), sc_prop_get(t, "_name"));
}

static void constraint_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (sc_prop_true(t, "validated") && !sc_prop_true(s, "validated")) {
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER %s %s VALIDATE CONSTRAINT %s",
		         on_domain(t) ? "DOMAIN" : "TABLE", parent_name(g, t, true),
		         sc_prop_get(t, "_name"));
		gen_note(g, "VALIDATE reads every row, without blocking writes.");
	}
}

static void index_create(gen *g, const sc_obj *t)
{
	cf_hazard h = CF_HAZARD_ADDITIVE;
	if (parent_exists(g, t)) {
		h = CF_HAZARD_LOCK_RISKY;
		/* Not the marker itself: a comment holding it makes a migration
		 * non-transactional. */
		gen_note(g, "CREATE INDEX blocks writes to %s while it builds; for a large table, "
		         "build it with CREATE INDEX CONCURRENTLY in a migration of its own, marked "
		         "no-transaction (see docs/migrate.md).", parent_name(g, t, true));
	}
	gen_stmt(g, h, "%s", sc_prop_get(t, "definition"));
	if (sc_prop_true(t, "clustered"))
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s CLUSTER ON %s", parent_name(g, t, true),
		         name_last(t->name));
	replica_identity_with(g, obj_parent(g->p->tgt, t), name_last(t->name));
}

static void index_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (!differs(s, t, "clustered"))
		return;
	if (sc_prop_true(t, "clustered"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s CLUSTER ON %s",
		         parent_name(g, t, true), name_last(t->name));
	else
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s SET WITHOUT CLUSTER",
		         parent_name(g, t, true));
}

/* ---- Sequences ------------------------------------------------------------------------- */

static void sequence_create(gen *g, const sc_obj *t)
{
	gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE %sSEQUENCE %s AS %s START WITH %s INCREMENT BY %s "
	         "MINVALUE %s MAXVALUE %s CACHE %s%s", sc_prop_true(t, "unlogged") ? "UNLOGGED " : "",
	         t->name, sc_prop_get(t, "data_type"), sc_prop_get(t, "start"),
	         sc_prop_get(t, "increment"), sc_prop_get(t, "minvalue"), sc_prop_get(t, "maxvalue"),
	         sc_prop_get(t, "cache"), sc_prop_true(t, "cycle") ? " CYCLE" : " NO CYCLE");
}

static void sequence_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	static const struct {
		const char *key, *sql;
	} opts[] = {{"data_type", "AS"},        {"start", "START WITH"},
	            {"increment", "INCREMENT BY"}, {"minvalue", "MINVALUE"},
	            {"maxvalue", "MAXVALUE"},   {"cache", "CACHE"}};
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++)
		if (differs(s, t, opts[i].key))
			cf_buf_printf(&b, " %s %s", opts[i].sql, sc_prop_get(t, opts[i].key));
	if (differs(s, t, "cycle"))
		cf_buf_puts(&b, sc_prop_true(t, "cycle") ? " CYCLE" : " NO CYCLE");
	/* A narrower range may exclude the current value, which PostgreSQL
	 * refuses; only a restart gets past that. */
	bool narrower = atoll(sc_prop_get(t, "minvalue")) > atoll(sc_prop_get(s, "minvalue")) ||
	                atoll(sc_prop_get(t, "maxvalue")) < atoll(sc_prop_get(s, "maxvalue"));
	if (narrower) {
		cf_buf_puts(&b, " RESTART");
		gen_note(g, "Its range narrows, so it restarts at START WITH; if it is in use, "
		         "check that the values it hands out next are not taken.");
	}
	if (b.len)
		gen_stmt(g, narrower ? CF_HAZARD_DESTRUCTIVE : CF_HAZARD_REVERSIBLE,
		         "ALTER SEQUENCE %s%s", t->name, b.data);
	cf_buf_release(&b);
	if (differs(s, t, "unlogged"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER SEQUENCE %s SET %s", t->name,
		         sc_prop_true(t, "unlogged") ? "UNLOGGED" : "LOGGED");
}

/* ---- Dispatch ------------------------------------------------------------------------ */

void rel_create(gen *g, const sc_obj *t)
{
	switch (t->kind) {
	case SC_TABLE:
		table_create(g, t);
		break;
	case SC_COLUMN:
		column_add(g, t);
		break;
	case SC_ATTRIBUTE: {
		char *def = attribute_def(t);
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TYPE %s ADD ATTRIBUTE %s", parent_name(g, t, true),
		         def);
		free(def);
		break;
	}
	case SC_ATTACH: {
		bool fresh = !parent_exists(g, t);
		gen_stmt(g, fresh ? CF_HAZARD_ADDITIVE : CF_HAZARD_LOCK_RISKY,
		         "ALTER TABLE ONLY %s ATTACH PARTITION %s %s", sc_prop_get(t, "partition_of"),
		         t->name, sc_prop_get(t, "bound"));
		if (!fresh)
			gen_note(g, "ATTACH PARTITION reads the partition to check its bound.");
		break;
	}
	case SC_CONSTRAINT:
		constraint_create(g, t);
		break;
	case SC_INDEX:
		index_create(g, t);
		break;
	case SC_INDEX_ATTACH:
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER INDEX %s ATTACH PARTITION %s",
		         sc_prop_get(t, "attached_to"), t->name);
		break;
	case SC_SEQUENCE:
		sequence_create(g, t);
		break;
	case SC_SEQ_OWNED:
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER SEQUENCE %s OWNED BY %s", t->name,
		         sc_prop_get(t, "owned_by"));
		break;
	default:
		break; /* view columns come with their view */
	}
}

void rel_drop(gen *g, const sc_obj *s)
{
	switch (s->kind) {
	case SC_TABLE:
		gen_stmt(g, CF_HAZARD_DESTRUCTIVE, "DROP TABLE %s", s->name);
		gen_note(g, "The table and its rows are dropped.");
		break;
	case SC_COLUMN:
		gen_stmt(g, CF_HAZARD_DESTRUCTIVE, "ALTER TABLE %s DROP COLUMN %s",
		         parent_name(g, s, false), col(s));
		gen_note(g, "The column's data is lost.");
		break;
	case SC_ATTRIBUTE:
		gen_stmt(g, CF_HAZARD_DESTRUCTIVE, "ALTER TYPE %s DROP ATTRIBUTE %s",
		         parent_name(g, s, false), col(s));
		break;
	case SC_ATTACH:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE ONLY %s DETACH PARTITION %s",
		         sc_prop_get(s, "partition_of"), s->name);
		break;
	case SC_CONSTRAINT:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER %s %s DROP CONSTRAINT %s",
		         on_domain(s) ? "DOMAIN" : "TABLE", parent_name(g, s, false),
		         sc_prop_get(s, "_name"));
		break;
	case SC_INDEX:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP INDEX %s", s->name);
		break;
	case SC_SEQUENCE:
		gen_stmt(g, CF_HAZARD_DESTRUCTIVE, "DROP SEQUENCE %s", s->name);
		gen_note(g, "Its current value is lost.");
		break;
	case SC_SEQ_OWNED:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER SEQUENCE %s OWNED BY NONE", s->name);
		break;
	default:
		break;
	}
}

void rel_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	switch (t->kind) {
	case SC_TABLE:
		table_alter(g, s, t);
		break;
	case SC_COLUMN:
		column_alter(g, s, t);
		break;
	case SC_ATTRIBUTE:
		attribute_alter(g, s, t);
		break;
	case SC_VIEW_COLUMN:
		view_column_alter(g, s, t);
		break;
	case SC_CONSTRAINT:
		if (!sc_prop_true(t, "_inherited"))
			constraint_alter(g, s, t);
		break;
	case SC_INDEX:
		index_alter(g, s, t);
		break;
	case SC_SEQUENCE:
		sequence_alter(g, s, t);
		break;
	case SC_SEQ_OWNED:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER SEQUENCE %s OWNED BY %s", t->name,
		         sc_prop_get(t, "owned_by"));
		break;
	default:
		break;
	}
}
