/*
 * test_schema_plan.c -- src/schema without a server: snapshots built by hand,
 * compared, and the change planned: the order of creates and drops, objects
 * re-created around a column type change, enum values, refusals, privileges,
 * and the script's header.
 */
#include "t.h"
#include "schema/model.h"

#include <string.h>

static sc_snapshot *snap_new(void)
{
	sc_snapshot *s = cf_calloc(1, sizeof(*s));
	cf_strv_init(&s->unmodeled);
	return s;
}

/* Adds KIND NAME (child of PARENT, or -1) with KEY=VALUE pairs (NULL-ended). */
static int32_t add(sc_snapshot *s, sc_kind kind, const char *name, int32_t parent, ...)
{
	int32_t ix = (int32_t)s->n;
	sc_obj *o = sc_snapshot_add(s);
	o->kind = kind;
	o->name = sc_arena_strdup(&s->arena, name);
	o->id = sc_arena_printf(&s->arena, "%s %s", sc_kind_name(kind), name);
	o->schema = "app";
	if (parent >= 0) {
		o->parent = parent;
		o->parent_id = s->objs[parent].id;
	}
	va_list ap;
	va_start(ap, parent);
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		sc_obj_set_prop(s, &s->objs[ix], sc_arena_strdup(&s->arena, k),
		                sc_arena_strdup(&s->arena, v));
	}
	va_end(ap);
	sc_map_put_str(&s->ids, s->objs[ix].id, ix);
	if (parent >= 0)
		sc_obj_add_dep(s, ix, parent, SC_DEP_NORMAL);
	return ix;
}

static int32_t column(sc_snapshot *s, int32_t table, const char *name, const char *type,
                      const char *pos)
{
	char *full = cf_asprintf("%s.%s", s->objs[table].name, name);
	int32_t ix = add(s, SC_COLUMN, full, table, "_name", name, "type", type, "_position", pos,
	                 "not_null", "false", NULL);
	free(full);
	return ix;
}

/* The index of the change on OBJECT with ACTION, or -1. */
static int find(const sc_diff *d, const char *action, const char *object)
{
	for (size_t i = 0; i < d->n_changes; i++)
		if (strcmp(d->changes[i].action, action) == 0 &&
		    strcmp(d->changes[i].object, object) == 0)
			return (int)i;
	return -1;
}

static void test_create_in_order(void)
{
	sc_snapshot *a = snap_new(), *b = snap_new();
	add(a, SC_SCHEMA, "app", -1, NULL);
	int32_t sb = add(b, SC_SCHEMA, "app", -1, NULL);
	/* Created in the reverse of dependency order, on purpose. */
	int32_t v = add(b, SC_VIEW, "app.v", -1, "definition", " SELECT a FROM app.t;", NULL);
	int32_t t = add(b, SC_TABLE, "app.t", -1, "partitioned", "false", "unlogged", "false", NULL);
	column(b, t, "a", "integer", "1");
	column(b, t, "b", "text", "2");
	int32_t i = add(b, SC_INDEX, "app.t_a", t, "definition",
	                "CREATE INDEX t_a ON app.t USING btree (a)", NULL);
	sc_obj_add_dep(b, v, t, SC_DEP_NORMAL);
	sc_obj_add_dep(b, t, sb, SC_DEP_NORMAL);
	sc_obj_add_dep(b, i, t + 1, SC_DEP_AUTO);
	sc_diff *d = sc_diff_new(a, b);
	CHECK_INT((long long)d->n_changes, 3, "a table, its index and a view: three changes");
	int ct = find(d, "create", "app.t"), ci = find(d, "create", "app.t_a"),
	    cv = find(d, "create", "app.v");
	CHECK(ct >= 0 && ct < cv && ct < ci, "the table comes before what needs it");
	CHECK(ct >= 0 && strstr(d->changes[ct].sql, "CREATE TABLE app.t (\n    a integer,\n    b text\n)"),
	      "its columns are in its CREATE TABLE, in order");
	CHECK(find(d, "create", "app.t.a") < 0, "no ADD COLUMN for a new table's columns");
	CHECK(ci >= 0 && d->changes[ci].hazard == CF_HAZARD_ADDITIVE,
	      "an index of a new table is additive");
	sc_diff_free(d);
	sc_snapshot_free(a);
	sc_snapshot_free(b);
}

static void test_drop_in_reverse(void)
{
	sc_snapshot *a = snap_new(), *b = snap_new();
	int32_t t = add(a, SC_TABLE, "app.t", -1, "partitioned", "false", NULL);
	column(a, t, "a", "integer", "1");
	int32_t u = add(a, SC_TABLE, "app.u", -1, "partitioned", "false", NULL);
	int32_t fk = add(a, SC_CONSTRAINT, "app.u.u_t_fkey", u, "_name", "u_t_fkey", "definition",
	                 "FOREIGN KEY (a) REFERENCES app.t(a)", NULL);
	int32_t v = add(a, SC_VIEW, "app.v", -1, "definition", " SELECT 1;", NULL);
	sc_obj_add_dep(a, fk, t, SC_DEP_NORMAL);
	sc_obj_add_dep(a, v, u, SC_DEP_NORMAL);
	sc_diff *d = sc_diff_new(a, b);
	int dt = find(d, "drop", "app.t"), du = find(d, "drop", "app.u"), dv = find(d, "drop", "app.v");
	CHECK(dv >= 0 && dv < du, "a view goes before the table it reads");
	CHECK(du >= 0 && du < dt, "a table goes before the table its foreign key references");
	CHECK(find(d, "drop", "app.u.u_t_fkey") < 0, "the foreign key goes with its table");
	CHECK(find(d, "drop", "app.t.a") < 0, "and the columns with theirs");
	CHECK(dt >= 0 && d->changes[dt].hazard == CF_HAZARD_DESTRUCTIVE,
	      "dropping a table is destructive");
	CHECK(dv >= 0 && d->changes[dv].hazard == CF_HAZARD_REVERSIBLE, "dropping a view is reversible");
	sc_diff_free(d);
	sc_snapshot_free(a);
	sc_snapshot_free(b);
}

static void test_type_change_rebuilds_view(void)
{
	sc_snapshot *a = snap_new(), *b = snap_new();
	sc_snapshot *s[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		int32_t t = add(s[k], SC_TABLE, "app.t", -1, "partitioned", "false", NULL);
		int32_t c = column(s[k], t, "n", k ? "bigint" : "integer", "1");
		int32_t v = add(s[k], SC_VIEW, "app.v", -1, "definition", " SELECT n FROM app.t;", NULL);
		sc_obj_add_dep(s[k], v, c, SC_DEP_NORMAL);
	}
	sc_diff *d = sc_diff_new(a, b);
	int dv = find(d, "recreate", "app.v"), ac = find(d, "alter", "app.t.n");
	int cv = -1;
	for (size_t i = 0; i < d->n_changes; i++)
		if (strcmp(d->changes[i].object, "app.v") == 0 && strstr(d->changes[i].sql, "CREATE VIEW"))
			cv = (int)i;
	CHECK(dv >= 0 && ac > dv && cv > ac, "the view is dropped before the ALTER and created after");
	CHECK(ac >= 0 && strstr(d->changes[ac].sql, "ALTER TABLE app.t ALTER COLUMN n TYPE bigint USING "
	                                            "n::bigint;"),
	      "ALTER COLUMN ... TYPE ... USING");
	CHECK(ac >= 0 && d->changes[ac].hazard == CF_HAZARD_LOCK_RISKY, "a type change is lock_risky");
	sc_diff_free(d);
	sc_snapshot_free(a);
	sc_snapshot_free(b);
}

static void test_enum(void)
{
	sc_snapshot *a = snap_new(), *b = snap_new(), *c = snap_new();
	add(a, SC_TYPE, "app.mood", -1, "typtype", "enum", "labels", "'sad', 'ok'", NULL);
	add(b, SC_TYPE, "app.mood", -1, "typtype", "enum", "labels",
	    "'bad', 'sad', 'meh', 'ok', E'a''\\\\b'", NULL);
	add(c, SC_TYPE, "app.mood", -1, "typtype", "enum", "labels", "'ok'", NULL);
	sc_diff *d = sc_diff_new(a, b);
	CHECK_INT((long long)d->n_changes, 1, "added values: one change");
	CHECK_STR(d->n_changes ? d->changes[0].sql : NULL,
	          "ALTER TYPE app.mood ADD VALUE 'bad' BEFORE 'sad';\n"
	          "ALTER TYPE app.mood ADD VALUE 'meh' AFTER 'sad';\n"
	          "ALTER TYPE app.mood ADD VALUE E'a''\\\\b' AFTER 'ok';\n",
	          "each value added in its place (BEFORE the first, else AFTER its predecessor)");
	CHECK(d->n_changes && d->changes[0].hazard == CF_HAZARD_NON_TRANSACTIONAL,
	      "ADD VALUE is non_transactional");
	sc_diff_free(d);
	d = sc_diff_new(a, c);
	CHECK(d->n_changes == 1 && d->changes[0].is_refused, "a removed value is refused");
	CHECK(d->n_changes && strstr(d->changes[0].sql, "-- refused: cannot remove value 'sad'"),
	      "and the script says which");
	sc_diff_free(d);
	sc_snapshot_free(a);
	sc_snapshot_free(b);
	sc_snapshot_free(c);
}

static void test_privileges(void)
{
	sc_snapshot *a = snap_new(), *b = snap_new();
	add(a, SC_TABLE, "app.t", -1, "acl", "@owner=SELECT,reader=SELECT,writer=UPDATE*", NULL);
	add(b, SC_TABLE, "app.t", -1, "acl",
	    "\"odd, role\"=INSERT,@owner=SELECT,reader=SELECT*,writer=UPDATE", "_owner", "boss",
	    NULL);
	sc_obj_set_prop(a, &a->objs[0], "_owner", "boss");
	sc_diff *d = sc_diff_new(a, b);
	const char *sql = d->n_changes ? d->changes[0].sql : "";
	CHECK(strstr(sql, "GRANT INSERT ON TABLE app.t TO \"odd, role\";") != NULL,
	      "a grantee with a comma in its (quoted) name");
	CHECK(strstr(sql, "GRANT SELECT ON TABLE app.t TO reader WITH GRANT OPTION;") != NULL,
	      "a grant option added");
	CHECK(strstr(sql, "REVOKE GRANT OPTION FOR UPDATE ON TABLE app.t FROM writer;") != NULL,
	      "a grant option taken away, the privilege kept");
	CHECK(strstr(sql, "boss") == NULL, "the owner's own rights, unchanged, are left alone");
	sc_diff_free(d);
	sc_snapshot_free(a);
	sc_snapshot_free(b);
}

static void test_script(void)
{
	cf_schema_change c[2] = {
		{.action = "drop", .kind = "column", .object = "app.t.x", .sql = "ALTER TABLE app.t DROP "
		 "COLUMN x;\n", .hazard = CF_HAZARD_DESTRUCTIVE, .note = "The column's data is lost."},
		{.action = "create", .kind = "function", .object = "app.f()", .sql = "CREATE FUNCTION "
		 "app.f() ...;\n", .hazard = CF_HAZARD_ADDITIVE},
	};
	char *note = "column order of table app.t differs";
	char *s = sc_diff_script(c, 2, "a", "b", &note, 1);
	CHECK(strstr(s, "-- 2 changes: 1 additive, 1 destructive\n") != NULL, "the header counts");
	CHECK(strstr(s, "--   destructive: drop column app.t.x (The column's data is lost.)\n") != NULL,
	      "and lists the risky steps");
	CHECK(strstr(s, "-- Note: column order of table app.t differs\n") != NULL, "and the notes");
	CHECK(strstr(s, "SET check_function_bodies = false;") != NULL,
	      "function bodies are not checked while the script runs");
	free(s);
	s = sc_diff_script(NULL, 0, "a", "b", NULL, 0);
	CHECK(strstr(s, "-- No differences.") != NULL, "an empty script says so");
	free(s);
	CHECK_STR(cf_hazard_name(CF_HAZARD_LOCK_RISKY), "lock_risky", "hazard names");
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_create_in_order();
	test_drop_in_reverse();
	test_type_change_rebuilds_view();
	test_enum();
	test_privileges();
	test_script();
	return t_failures ? 1 : 0;
}
