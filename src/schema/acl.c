/*
 * acl.c -- comments, privileges and default privileges.
 *
 * An ACL arrives as the snapshot wrote it: "grantee=PRIVILEGE[*]" items
 * (grantee quoted like an identifier, PUBLIC, or @owner for the object's
 * owner), sorted. The change between two of them is computed item by item:
 * GRANT what is new, REVOKE what is gone, and the grant option on its own.
 * Grantors are not compared.
 */
#include "plan.h"
#include "pg.h"

#include <stdlib.h>
#include <string.h>

typedef struct acl_item {
	char *grantee;
	char *priv;
	bool is_grantable;
} acl_item;

typedef struct acl {
	acl_item *v;
	size_t n;
} acl;

/* Splits at commas outside double quotes. */
static void acl_parse(const char *text, acl *out)
{
	out->v = NULL;
	out->n = 0;
	const char *p = text ? text : "";
	while (*p) {
		const char *start = p;
		bool quoted = false;
		const char *eq_sign = NULL;
		for (; *p && (quoted || *p != ','); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '=' && !quoted && !eq_sign)
				eq_sign = p;
		}
		if (eq_sign) {
			out->v = cf_realloc(out->v, (out->n + 1) * sizeof(*out->v));
			acl_item *it = &out->v[out->n++];
			it->grantee = cf_strndup(start, (size_t)(eq_sign - start));
			size_t n = (size_t)(p - eq_sign - 1);
			it->is_grantable = n && eq_sign[n] == '*';
			it->priv = cf_strndup(eq_sign + 1, n - it->is_grantable);
		}
		if (*p == ',')
			p++;
	}
}

static void acl_release(acl *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].grantee);
		free(a->v[i].priv);
	}
	free(a->v);
}

static const acl_item *acl_find(const acl *a, const char *grantee, const char *priv)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].grantee, grantee) == 0 && (!priv || strcmp(a->v[i].priv, priv) == 0))
			return &a->v[i];
	return NULL;
}

/* ---- Where a GRANT or COMMENT points -------------------------------------------------- */

static bool is_domain(const sc_obj *o)
{
	const char *t = sc_prop_get(o, "typtype");
	return t && strcmp(t, "domain") == 0;
}

static bool is_column(const sc_obj *o)
{
	return o->kind == SC_COLUMN || o->kind == SC_VIEW_COLUMN || o->kind == SC_ATTRIBUTE;
}

static char *grant_target(gen *g, const sc_obj *o)
{
	switch (o->kind) {
	case SC_SCHEMA: return cf_asprintf("SCHEMA %s", o->name);
	case SC_SEQUENCE: return cf_asprintf("SEQUENCE %s", o->name);
	case SC_FUNCTION:
	case SC_AGGREGATE: return cf_asprintf("FUNCTION %s", o->name);
	case SC_PROCEDURE: return cf_asprintf("PROCEDURE %s", o->name);
	case SC_TYPE: return cf_asprintf("%s %s", is_domain(o) ? "DOMAIN" : "TYPE", o->name);
	case SC_COLUMN:
	case SC_VIEW_COLUMN: return cf_asprintf("TABLE %s", obj_parent(g->p->tgt, o)->name);
	default: return cf_asprintf("TABLE %s", o->name);
	}
}

static char *comment_target(gen *g, const sc_obj *o)
{
	const sc_obj *up = obj_parent(g->p->tgt, o);
	switch (o->kind) {
	case SC_SCHEMA: return cf_asprintf("SCHEMA %s", o->name);
	case SC_EXTENSION: return cf_asprintf("EXTENSION %s", o->name);
	case SC_COLLATION: return cf_asprintf("COLLATION %s", o->name);
	case SC_TYPE: return cf_asprintf("%s %s", is_domain(o) ? "DOMAIN" : "TYPE", o->name);
	case SC_ATTRIBUTE:
	case SC_COLUMN:
	case SC_VIEW_COLUMN: return cf_asprintf("COLUMN %s", o->name);
	case SC_FUNCTION: return cf_asprintf("FUNCTION %s", o->name);
	case SC_PROCEDURE: return cf_asprintf("PROCEDURE %s", o->name);
	case SC_AGGREGATE: return cf_asprintf("AGGREGATE %s", o->name);
	case SC_SEQUENCE: return cf_asprintf("SEQUENCE %s", o->name);
	case SC_VIEW: return cf_asprintf("VIEW %s", o->name);
	case SC_MATVIEW: return cf_asprintf("MATERIALIZED VIEW %s", o->name);
	case SC_INDEX: return cf_asprintf("INDEX %s", o->name);
	case SC_PUBLICATION: return cf_asprintf("PUBLICATION %s", o->name);
	case SC_CONSTRAINT:
		return cf_asprintf("CONSTRAINT %s ON %s%s", sc_prop_get(o, "_name"),
		                   strncmp(o->parent_id, "type ", 5) == 0 ? "DOMAIN " : "", up->name);
	case SC_TRIGGER: return cf_asprintf("TRIGGER %s ON %s", sc_prop_get(o, "_name"), up->name);
	case SC_POLICY: return cf_asprintf("POLICY %s ON %s", sc_prop_get(o, "_name"), up->name);
	default: return cf_asprintf("TABLE %s", o->name);
	}
}

void acl_comment(gen *g, const sc_obj *o, const char *comment)
{
	char *target = comment_target(g, o);
	char *lit = comment ? gen_literal(comment) : cf_strdup("NULL");
	gen_stmt(g, CF_HAZARD_ADDITIVE, "COMMENT ON %s IS %s", target, lit);
	free(lit);
	free(target);
}

/* ---- GRANT and REVOKE ------------------------------------------------------------------ */

typedef struct grant_lists {
	cf_strv grant, grant_opt, revoke, revoke_opt;
} grant_lists;

static void lists_init(grant_lists *l)
{
	cf_strv_init(&l->grant);
	cf_strv_init(&l->grant_opt);
	cf_strv_init(&l->revoke);
	cf_strv_init(&l->revoke_opt);
}

static void lists_release(grant_lists *l)
{
	cf_strv_release(&l->grant);
	cf_strv_release(&l->grant_opt);
	cf_strv_release(&l->revoke);
	cf_strv_release(&l->revoke_opt);
}

/* What GRANTEE gains and loses between A and B. */
static void lists_fill(grant_lists *l, const acl *a, const acl *b, const char *grantee,
                       const char *column)
{
	for (size_t i = 0; i < b->n; i++) {
		const acl_item *it = &b->v[i];
		if (strcmp(it->grantee, grantee) != 0)
			continue;
		const acl_item *old = acl_find(a, grantee, it->priv);
		char *p = column ? cf_asprintf("%s (%s)", it->priv, column) : cf_strdup(it->priv);
		if (!old)
			cf_strv_push(it->is_grantable ? &l->grant_opt : &l->grant, p);
		else if (it->is_grantable && !old->is_grantable)
			cf_strv_push(&l->grant_opt, p);
		else if (!it->is_grantable && old->is_grantable)
			cf_strv_push(&l->revoke_opt, p);
		free(p);
	}
	for (size_t i = 0; i < a->n; i++) {
		const acl_item *it = &a->v[i];
		if (strcmp(it->grantee, grantee) == 0 && !acl_find(b, grantee, it->priv)) {
			char *p = column ? cf_asprintf("%s (%s)", it->priv, column) : cf_strdup(it->priv);
			cf_strv_push(&l->revoke, p);
			free(p);
		}
	}
}

/* One statement for the privileges in L, when there are any: PREFIX VERB
 * L ON TARGET FROM|TO WHO TAIL. */
static void list_emit(gen *g, const cf_strv *l, cf_hazard hz, const char *prefix, const char *verb,
                      const char *target, const char *who, const char *tail)
{
	if (!l->n)
		return;
	char *v = cf_strv_join(l, ", ");
	gen_stmt(g, hz, "%s%s %s ON %s %s %s%s", prefix, verb, v, target,
	         hz == CF_HAZARD_ADDITIVE ? "TO" : "FROM", who, tail);
	free(v);
}

/* PREFIX is "" for objects, "ALTER DEFAULT PRIVILEGES ... " for defaults. */
static void lists_emit(gen *g, const grant_lists *l, const char *prefix, const char *target,
                       const char *who)
{
	list_emit(g, &l->revoke, CF_HAZARD_REVERSIBLE, prefix, "REVOKE", target, who, "");
	list_emit(g, &l->revoke_opt, CF_HAZARD_REVERSIBLE, prefix, "REVOKE GRANT OPTION FOR", target,
	          who, "");
	list_emit(g, &l->grant, CF_HAZARD_ADDITIVE, prefix, "GRANT", target, who, "");
	list_emit(g, &l->grant_opt, CF_HAZARD_ADDITIVE, prefix, "GRANT", target, who,
	          " WITH GRANT OPTION");
}

/* Every grantee of A and B, once, in order of appearance. */
static void grantees(const acl *a, const acl *b, cf_strv *out)
{
	cf_strv_init(out);
	const acl *both[2] = {b, a};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < both[k]->n; i++)
			if (!cf_strv_contains(out, both[k]->v[i].grantee))
				cf_strv_push(out, both[k]->v[i].grantee);
}

static void change(gen *g, const char *from, const char *to, const char *prefix,
                   const char *target, const char *column, const char *owner)
{
	acl a, b;
	acl_parse(from, &a);
	acl_parse(to, &b);
	cf_strv who;
	grantees(&a, &b, &who);
	for (size_t i = 0; i < who.n; i++) {
		grant_lists l;
		lists_init(&l);
		lists_fill(&l, &a, &b, who.v[i], column);
		lists_emit(g, &l, prefix, target, strcmp(who.v[i], "@owner") == 0 ? owner : who.v[i]);
		lists_release(&l);
	}
	cf_strv_release(&who);
	acl_release(&a);
	acl_release(&b);
}

void acl_change(gen *g, const sc_obj *o, const char *from_acl, const char *to_acl,
                const char *owner)
{
	char *target = grant_target(g, o);
	change(g, from_acl, to_acl, "", target, is_column(o) ? sc_prop_get(o, "_name") : NULL, owner);
	free(target);
}

/* ---- Default privileges ------------------------------------------------------------------- */

void acl_default_change(gen *g, const sc_obj *s, const sc_obj *t)
{
	const sc_obj *o = t ? t : s;
	const char *baseline = sc_prop_get(o, "_baseline");
	const char *from = s ? sc_prop_get(s, "acl") : baseline;
	const char *to = t ? sc_prop_get(t, "acl") : baseline;
	const char *schema = sc_prop_get(o, "_in_schema");
	char *prefix = cf_asprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s%s%s ",
	                           sc_prop_get(o, "_role"), schema ? " IN SCHEMA " : "",
	                           schema ? schema : "");
	change(g, from, to, prefix, sc_prop_get(o, "_objtype"), NULL, sc_prop_get(o, "_role"));
	free(prefix);
}

static const char *builtin_default(sc_kind k)
{
	switch (k) {
	case SC_SCHEMA: return "@owner=CREATE,@owner=USAGE";
	case SC_SEQUENCE: return "@owner=SELECT,@owner=UPDATE,@owner=USAGE";
	case SC_FUNCTION:
	case SC_PROCEDURE:
	case SC_AGGREGATE: return "@owner=EXECUTE,PUBLIC=EXECUTE";
	case SC_TYPE: return "@owner=USAGE,PUBLIC=USAGE";
	case SC_TABLE:
	case SC_VIEW:
	case SC_MATVIEW:
		return "@owner=DELETE,@owner=INSERT,@owner=REFERENCES,@owner=SELECT,@owner=TRIGGER,"
		       "@owner=TRUNCATE,@owner=UPDATE";
	default: return NULL;
	}
}

static const char *default_objtype(sc_kind k)
{
	switch (k) {
	case SC_SCHEMA: return "SCHEMAS";
	case SC_SEQUENCE: return "SEQUENCES";
	case SC_FUNCTION:
	case SC_PROCEDURE:
	case SC_AGGREGATE: return "FUNCTIONS";
	case SC_TYPE: return "TYPES";
	default: return "TABLES";
	}
}

/* The target's default privileges entry for ROLE (quoted) in SCHEMA (or,
 * NULL, of no schema) on OBJTYPE, or NULL. */
static const sc_obj *default_entry(gen *g, const char *role, const char *schema,
                                   const char *objtype)
{
	plan *p = g->p;
	if (!p->has_dacls) {
		for (size_t i = 0; i < p->tgt->n; i++)
			if (p->tgt->objs[i].kind == SC_DEFAULT_ACL && !p->tgt->objs[i].is_excluded) {
				p->dacls = cf_realloc(p->dacls, (p->n_dacls + 1) * sizeof(int32_t));
				p->dacls[p->n_dacls++] = (int32_t)i;
			}
		p->has_dacls = true;
	}
	for (size_t i = 0; i < p->n_dacls; i++) {
		const sc_obj *o = &p->tgt->objs[p->dacls[i]];
		const char *r = sc_prop_get(o, "_role"), *t = sc_prop_get(o, "_objtype");
		bool same_schema = schema ? o->schema && strcmp(o->schema, schema) == 0 : !o->schema;
		if (r && t && strcmp(r, role) == 0 && strcmp(t, objtype) == 0 && same_schema)
			return o;
	}
	return NULL;
}

const char *acl_initial(gen *g, const sc_obj *o)
{
	const char *builtin = builtin_default(o->kind);
	const char *owner = sc_prop_get(o, "_owner");
	if (!builtin || !owner)
		return builtin;
	const char *objtype = default_objtype(o->kind);
	const sc_obj *global = default_entry(g, owner, NULL, objtype);
	const sc_obj *local = o->kind == SC_SCHEMA ? NULL
	                                           : default_entry(g, owner, o->schema, objtype);
	const char *base = global ? sc_prop_get(global, "acl") : builtin;
	const char *extra = local ? sc_prop_get(local, "acl") : NULL;
	if (!extra)
		return base;
	return sc_arena_printf(&g->p->arena, "%s%s%s", base ? base : "", base && *base ? "," : "",
	                       extra);
}
