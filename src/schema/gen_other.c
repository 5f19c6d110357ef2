/*
 * gen_other.c -- SQL for schemas, extensions, collations, types, functions,
 * procedures, aggregates, views, materialized views, triggers, policies,
 * publications and default privileges.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static bool differs(const sc_obj *s, const sc_obj *t, const char *key)
{
	const char *a = sc_prop_get(s, key), *b = sc_prop_get(t, key);
	return !(a == b || (a && b && strcmp(a, b) == 0));
}

static const char *typtype(const sc_obj *o)
{
	const char *v = sc_prop_get(o, "typtype");
	return v ? v : "";
}

static const char *parent_name(gen *g, const sc_obj *o, bool target)
{
	const sc_obj *p = obj_parent(target ? g->p->tgt : g->p->src, o);
	return p ? p->name : "?";
}

/* TEXT without trailing blanks and semicolon (view and function bodies). */
static char *trimmed(const char *text)
{
	size_t n = strlen(text);
	while (n && (text[n - 1] == ';' || text[n - 1] == ' ' || text[n - 1] == '\n'))
		n--;
	return cf_strndup(text, n);
}

/* ---- Types ------------------------------------------------------------------------ */

/* The quoted literals of a list like "'a', 'b', E'c\\d'". */
static void labels_split(const char *text, cf_strv *out)
{
	cf_strv_init(out);
	const char *p = text ? text : "";
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *start = p;
		if (*p == 'E')
			p++;
		if (*p != '\'')
			break;
		for (p++; *p; p++) {
			if (*p == '\\' && start[0] == 'E' && p[1])
				p++;
			else if (*p == '\'' && p[1] == '\'')
				p++;
			else if (*p == '\'') {
				p++;
				break;
			}
		}
		cf_strv_push_owned(out, cf_strndup(start, (size_t)(p - start)));
	}
}

static void enum_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	cf_strv old, want;
	labels_split(sc_prop_get(s, "labels"), &old);
	labels_split(sc_prop_get(t, "labels"), &want);
	/* The old labels must all remain, in the same order. */
	size_t k = 0;
	for (size_t i = 0; i < want.n && k < old.n; i++)
		if (strcmp(want.v[i], old.v[k]) == 0)
			k++;
	if (k < old.n) {
		bool gone = !cf_strv_contains(&want, old.v[k]);
		char *why = cf_asprintf("%s %s of enum type %s", gone ? "cannot remove value"
		                        : "cannot move value", old.v[k], t->name);
		cf_buf_puts(&g->sql, "-- refused: ");
		sc_comment_append(&g->sql, why);
		cf_buf_putc(&g->sql, '\n');
		free(why);
		gen_note(g, "PostgreSQL cannot %s an enum value (there is no ALTER TYPE ... DROP "
		         "VALUE): create a new type, convert every column that uses this one with "
		         "ALTER COLUMN ... TYPE ... USING, and drop the old type, by hand.",
		         gone ? "remove" : "reorder");
		g->hazard = CF_HAZARD_DESTRUCTIVE;
		g->is_refused = true;
	} else {
		for (size_t i = 0; i < want.n; i++) {
			if (cf_strv_contains(&old, want.v[i]))
				continue;
			if (i > 0)
				gen_stmt(g, CF_HAZARD_NON_TRANSACTIONAL, "ALTER TYPE %s ADD VALUE %s AFTER %s",
				         t->name, want.v[i], want.v[i - 1]);
			else if (want.n > 1)
				gen_stmt(g, CF_HAZARD_NON_TRANSACTIONAL, "ALTER TYPE %s ADD VALUE %s BEFORE %s",
				         t->name, want.v[i], want.v[i + 1]);
			else
				gen_stmt(g, CF_HAZARD_NON_TRANSACTIONAL, "ALTER TYPE %s ADD VALUE %s", t->name,
				         want.v[i]);
		}
		gen_note(g, "A new enum value cannot be used in the transaction that adds it.");
	}
	cf_strv_release(&old);
	cf_strv_release(&want);
}

static void domain_create(gen *g, const sc_obj *t)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE DOMAIN %s AS %s", t->name, sc_prop_get(t, "base_type"));
	const char *v;
	if ((v = sc_prop_get(t, "collation")))
		cf_buf_printf(&b, " COLLATE %s", v);
	if ((v = sc_prop_get(t, "default")))
		cf_buf_printf(&b, " DEFAULT %s", v);
	if (sc_prop_true(t, "not_null"))
		cf_buf_puts(&b, " NOT NULL");
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
}

static void composite_create(gen *g, const sc_obj *t)
{
	const sc_obj **attrs;
	size_t n = obj_children(g->p, g->p->tgt, t, SC_ATTRIBUTE, &attrs);
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE TYPE %s AS (", t->name);
	for (size_t i = 0; i < n; i++) {
		const char *coll = sc_prop_get(attrs[i], "collation");
		cf_buf_printf(&b, "%s\n    %s %s%s%s", i ? "," : "", sc_prop_get(attrs[i], "_name"),
		              sc_prop_get(attrs[i], "type"), coll ? " COLLATE " : "", coll ? coll : "");
	}
	cf_buf_puts(&b, n ? "\n)" : ")");
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
	free(attrs);
}

static void range_create(gen *g, const sc_obj *t)
{
	static const struct {
		const char *key, *opt;
	} opts[] = {{"subtype_opclass", "SUBTYPE_OPCLASS"}, {"range_collation", "COLLATION"},
	            {"canonical", "CANONICAL"},           {"subtype_diff", "SUBTYPE_DIFF"},
	            {"multirange_type_name", "MULTIRANGE_TYPE_NAME"}};
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE TYPE %s AS RANGE (SUBTYPE = %s", t->name, sc_prop_get(t, "subtype"));
	for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
		const char *v = sc_prop_get(t, opts[i].key);
		if (v)
			cf_buf_printf(&b, ", %s = %s", opts[i].opt, v);
	}
	cf_buf_putc(&b, ')');
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
}

static void type_create(gen *g, const sc_obj *t)
{
	const char *tt = typtype(t);
	if (strcmp(tt, "enum") == 0)
		gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE TYPE %s AS ENUM (%s)", t->name,
		         sc_prop_get(t, "labels") ? sc_prop_get(t, "labels") : "");
	else if (strcmp(tt, "domain") == 0)
		domain_create(g, t);
	else if (strcmp(tt, "composite") == 0)
		composite_create(g, t);
	else
		range_create(g, t);
}

static void domain_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (differs(s, t, "default")) {
		const char *d = sc_prop_get(t, "default");
		if (d)
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER DOMAIN %s SET DEFAULT %s", t->name, d);
		else
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER DOMAIN %s DROP DEFAULT", t->name);
	}
	if (differs(s, t, "not_null")) {
		bool nn = sc_prop_true(t, "not_null");
		gen_stmt(g, nn ? CF_HAZARD_LOCK_RISKY : CF_HAZARD_REVERSIBLE, "ALTER DOMAIN %s %s NOT NULL",
		         t->name, nn ? "SET" : "DROP");
		if (nn)
			gen_note(g, "SET NOT NULL checks every column of the domain.");
	}
}

/* ---- Routines, views, triggers, policies, publications ------------------------------- */

static void routine_create(gen *g, const sc_obj *t, cf_hazard h)
{
	if (t->kind == SC_AGGREGATE) {
		gen_stmt(g, h, "CREATE AGGREGATE %s (%s)", t->name,
		         sc_prop_get(t, "aggregate"));
		return;
	}
	char *def = trimmed(sc_prop_get(t, "definition"));
	gen_stmt(g, h, "%s", def);
	free(def);
}

static void view_create(gen *g, const sc_obj *t)
{
	char *def = trimmed(sc_prop_get(t, "definition"));
	const char *opts = sc_prop_get(t, "options");
	char *with = opts ? cf_asprintf(" WITH (%s)", opts) : cf_strdup("");
	if (t->kind == SC_VIEW)
		gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE VIEW %s%s AS\n%s", t->name, with, def);
	else
		gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE MATERIALIZED VIEW %s%s AS\n%s\n  WITH DATA",
		         t->name, with, def);
	free(with);
	free(def);
}

static const char *trigger_enable(const char *state)
{
	if (!state || strcmp(state, "origin") == 0)
		return "ENABLE";
	if (strcmp(state, "disabled") == 0)
		return "DISABLE";
	return strcmp(state, "replica") == 0 ? "ENABLE REPLICA" : "ENABLE ALWAYS";
}

static void trigger_create(gen *g, const sc_obj *t)
{
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", sc_prop_get(t, "definition"));
	const char *state = sc_prop_get(t, "enabled");
	if (state && strcmp(state, "origin") != 0)
		gen_stmt(g, CF_HAZARD_ADDITIVE, "ALTER TABLE %s %s TRIGGER %s", parent_name(g, t, true),
		         trigger_enable(state), sc_prop_get(t, "_name"));
}

static void policy_create(gen *g, const sc_obj *t)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE POLICY %s ON %s AS %s FOR %s TO %s", sc_prop_get(t, "_name"),
	              parent_name(g, t, true), sc_prop_get(t, "mode"), sc_prop_get(t, "command"),
	              sc_prop_get(t, "roles"));
	const char *v;
	if ((v = sc_prop_get(t, "using")))
		cf_buf_printf(&b, " USING (%s)", v);
	if ((v = sc_prop_get(t, "with_check")))
		cf_buf_printf(&b, " WITH CHECK (%s)", v);
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
}

static void publication_create(gen *g, const sc_obj *t)
{
	const char *objects = sc_prop_get(t, "objects");
	gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE PUBLICATION %s%s%s WITH (%s)", t->name,
	         objects ? " " : "", objects ? objects : "", sc_prop_get(t, "options"));
}

static void publication_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	const char *objects = sc_prop_get(t, "objects");
	if (differs(s, t, "objects") && objects && strncmp(objects, "FOR ", 4) == 0)
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER PUBLICATION %s SET %s", t->name, objects + 4);
	if (differs(s, t, "options"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER PUBLICATION %s SET (%s)", t->name,
		         sc_prop_get(t, "options"));
}

static void collation_create(gen *g, const sc_obj *t)
{
	const char *provider = sc_prop_get(t, "provider");
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "CREATE COLLATION %s (provider = %s", t->name, provider);
	const char *v;
	if ((v = sc_prop_get(t, "locale"))) {
		char *lit = gen_literal(v);
		cf_buf_printf(&b, ", locale = %s", lit);
		free(lit);
	}
	if ((v = sc_prop_get(t, "lc_collate"))) {
		char *a = gen_literal(v), *c = gen_literal(sc_prop_get(t, "lc_ctype"));
		cf_buf_printf(&b, ", lc_collate = %s, lc_ctype = %s", a, c);
		free(a);
		free(c);
	}
	if (!sc_prop_true(t, "deterministic"))
		cf_buf_puts(&b, ", deterministic = false");
	cf_buf_putc(&b, ')');
	gen_stmt(g, CF_HAZARD_ADDITIVE, "%s", b.data);
	cf_buf_release(&b);
}

static void extension_create(gen *g, const sc_obj *t)
{
	char *version = gen_literal(sc_prop_get(t, "version"));
	gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE EXTENSION %s WITH SCHEMA %s VERSION %s", t->name,
	         sc_prop_get(t, "ext_schema"), version);
	free(version);
}

static void extension_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	if (differs(s, t, "version")) {
		char *version = gen_literal(sc_prop_get(t, "version"));
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER EXTENSION %s UPDATE TO %s", t->name, version);
		free(version);
	}
	if (differs(s, t, "ext_schema"))
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER EXTENSION %s SET SCHEMA %s", t->name,
		         sc_prop_get(t, "ext_schema"));
}

/* ---- Dispatch ---------------------------------------------------------------------------- */

void other_create(gen *g, const sc_obj *t)
{
	switch (t->kind) {
	case SC_SCHEMA:
		gen_stmt(g, CF_HAZARD_ADDITIVE, "CREATE SCHEMA %s", t->name);
		break;
	case SC_EXTENSION:
		extension_create(g, t);
		break;
	case SC_COLLATION:
		collation_create(g, t);
		break;
	case SC_TYPE:
		type_create(g, t);
		break;
	case SC_FUNCTION:
	case SC_PROCEDURE:
	case SC_AGGREGATE:
		routine_create(g, t, CF_HAZARD_ADDITIVE);
		break;
	case SC_VIEW:
	case SC_MATVIEW:
		view_create(g, t);
		break;
	case SC_TRIGGER:
		trigger_create(g, t);
		break;
	case SC_POLICY:
		policy_create(g, t);
		break;
	case SC_PUBLICATION:
		publication_create(g, t);
		break;
	case SC_DEFAULT_ACL:
		acl_default_change(g, NULL, t);
		break;
	default:
		break;
	}
}

void other_drop(gen *g, const sc_obj *s)
{
	switch (s->kind) {
	case SC_SCHEMA:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP SCHEMA %s", s->name);
		break;
	case SC_EXTENSION:
		gen_stmt(g, CF_HAZARD_DESTRUCTIVE, "DROP EXTENSION %s", s->name);
		gen_note(g, "Dropping an extension drops its objects (and any data they hold).");
		break;
	case SC_COLLATION:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP COLLATION %s", s->name);
		break;
	case SC_TYPE:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP %s %s",
		         strcmp(typtype(s), "domain") == 0 ? "DOMAIN" : "TYPE", s->name);
		break;
	case SC_FUNCTION:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP FUNCTION %s", s->name);
		break;
	case SC_PROCEDURE:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP PROCEDURE %s", s->name);
		break;
	case SC_AGGREGATE:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP AGGREGATE %s", s->name);
		break;
	case SC_VIEW:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP VIEW %s", s->name);
		break;
	case SC_MATVIEW:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP MATERIALIZED VIEW %s", s->name);
		break;
	case SC_TRIGGER:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP TRIGGER %s ON %s", sc_prop_get(s, "_name"),
		         parent_name(g, s, false));
		break;
	case SC_POLICY:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP POLICY %s ON %s", sc_prop_get(s, "_name"),
		         parent_name(g, s, false));
		break;
	case SC_PUBLICATION:
		gen_stmt(g, CF_HAZARD_REVERSIBLE, "DROP PUBLICATION %s", s->name);
		break;
	case SC_DEFAULT_ACL:
		acl_default_change(g, s, NULL);
		break;
	default:
		break;
	}
}

void other_alter(gen *g, const sc_obj *s, const sc_obj *t)
{
	switch (t->kind) {
	case SC_EXTENSION:
		extension_alter(g, s, t);
		break;
	case SC_TYPE:
		if (strcmp(typtype(t), "enum") == 0 && differs(s, t, "labels"))
			enum_alter(g, s, t);
		else if (strcmp(typtype(t), "domain") == 0)
			domain_alter(g, s, t);
		break;
	case SC_FUNCTION:
	case SC_PROCEDURE:
		if (differs(s, t, "definition"))
			routine_create(g, t, CF_HAZARD_REVERSIBLE); /* CREATE OR REPLACE */
		break;
	case SC_VIEW:
	case SC_MATVIEW:
		if (differs(s, t, "options"))
			rel_options_alter(g, t->kind == SC_VIEW ? "VIEW" : "MATERIALIZED VIEW", t->name,
			                  sc_prop_get(s, "options"), sc_prop_get(t, "options"));
		break;
	case SC_TRIGGER:
		if (differs(s, t, "enabled"))
			gen_stmt(g, CF_HAZARD_REVERSIBLE, "ALTER TABLE %s %s TRIGGER %s",
			         parent_name(g, t, true), trigger_enable(sc_prop_get(t, "enabled")),
			         sc_prop_get(t, "_name"));
		break;
	case SC_PUBLICATION:
		publication_alter(g, s, t);
		break;
	case SC_DEFAULT_ACL:
		acl_default_change(g, s, t);
		break;
	default:
		break;
	}
}
