/*
 * r_project.c -- the precursor's schema rules: naming, primary keys,
 * documentation (COMMENT ON) and security.
 */
#include "lint_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- Naming --------------------------------------------------------------------- */

static bool is_snake_case(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Checks a name the statement creates; SNAKE is the snake-case rule, or NULL. */
static void check_name(lint_file *f, const char *name, const char *what, const char *snake,
                       int location)
{
	if (!name || !*name)
		return;
	if (strchr(name, '.'))
		lint_report(f, "identifier-with-dot", location,
		            "Rename it without the dot: confiture and many tools read it as "
		            "schema.name.",
		            "The %s name \"%s\" holds a dot.", what, name);
	if (cf_sql_ident_needs_quotes(name))
		lint_report(f, "identifier-needs-quotes", location,
		            "Use lowercase letters, digits and underscores, and no reserved word.",
		            "The %s name \"%s\" needs double quotes everywhere it is used.", what, name);
	if (snake && !is_snake_case(name))
		lint_report(f, snake, location, "Use snake_case: lowercase words joined by \"_\".",
		            "The %s name \"%s\" is not snake_case.", what, name);
}

static void name_columns(lint_file *f, PgQuery__Node *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
			check_name(f, v[i]->column_def->colname, "column", "column-name-snake-case",
			           v[i]->column_def->location);
}

static void name_alter(lint_file *f, const PgQuery__AlterTableStmt *a)
{
	for (size_t k = 0; k < a->n_cmds; k++) {
		if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const PgQuery__AlterTableCmd *c = a->cmds[k]->alter_table_cmd;
		if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn && c->def &&
		    c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
			check_name(f, c->def->column_def->colname, "column", "column-name-snake-case",
			           c->def->column_def->location);
		const PgQuery__Constraint *con =
			c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint ? lint_constraint(c->def)
			                                                           : NULL;
		if (con)
			check_name(f, con->conname, "constraint", NULL, con->location);
	}
}

static void name_rename(lint_file *f, const PgQuery__RenameStmt *r)
{
	if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		check_name(f, r->newname, "table", "table-name-snake-case", -1);
	else if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN)
		check_name(f, r->newname, "column", "column-name-snake-case", -1);
	else
		check_name(f, r->newname, "new", NULL, -1);
}

void lint_naming(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		switch (n->node_case) {
		case PG_QUERY__NODE__NODE_CREATE_STMT: {
			const PgQuery__RangeVar *rv = n->create_stmt->relation;
			check_name(f, rv ? rv->relname : NULL, "table", "table-name-snake-case",
			           rv ? rv->location : -1);
			name_columns(f, n->create_stmt->table_elts, n->create_stmt->n_table_elts);
			break;
		}
		case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
			name_alter(f, n->alter_table_stmt);
			break;
		case PG_QUERY__NODE__NODE_RENAME_STMT:
			name_rename(f, n->rename_stmt);
			break;
		case PG_QUERY__NODE__NODE_INDEX_STMT:
			check_name(f, n->index_stmt->idxname, "index", NULL, -1);
			break;
		case PG_QUERY__NODE__NODE_VIEW_STMT:
			if (n->view_stmt->view)
				check_name(f, n->view_stmt->view->relname, "view", NULL,
				           n->view_stmt->view->location);
			break;
		case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
			check_name(f, n->create_schema_stmt->schemaname, "schema", NULL, -1);
			break;
		case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
			check_name(f, lint_last_name(n->create_function_stmt->funcname,
			                             n->create_function_stmt->n_funcname),
			           n->create_function_stmt->is_procedure ? "procedure" : "function", NULL, -1);
			break;
		default:
			break;
		}
	}
}

/* ---- Primary keys ------------------------------------------------------------------- */

static bool has_pk(const PgQuery__CreateStmt *c)
{
	for (size_t i = 0; i < c->n_table_elts; i++) {
		const PgQuery__Node *e = c->table_elts[i];
		const PgQuery__Constraint *con = lint_constraint(e);
		if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
			return true;
		if (e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
			continue;
		for (size_t j = 0; j < e->column_def->n_constraints; j++) {
			con = lint_constraint(e->column_def->constraints[j]);
			if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
				return true;
		}
	}
	return false;
}

/* Is a primary key added to TABLE later in the file? */
static bool pk_added_later(const lint_file *f, size_t from, const char *table)
{
	for (size_t i = from + 1; i < f->t->n_stmts; i++) {
		const PgQuery__Node *n = lint_stmt(f, i);
		if (n->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_STMT ||
		    !n->alter_table_stmt->relation || !n->alter_table_stmt->relation->relname ||
		    strcmp(n->alter_table_stmt->relation->relname, table) != 0)
			continue;
		const PgQuery__AlterTableStmt *a = n->alter_table_stmt;
		for (size_t k = 0; k < a->n_cmds; k++) {
			if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
				continue;
			const PgQuery__Constraint *con = lint_constraint(a->cmds[k]->alter_table_cmd->def);
			if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
				return true;
		}
	}
	return false;
}

void lint_primary_key(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_CREATE_STMT)
			continue;
		const PgQuery__CreateStmt *c = n->create_stmt;
		const PgQuery__RangeVar *rv = c->relation;
		/* Temporary tables, partitions (their parent's key) and children (inherits). */
		if (!rv || !rv->relname || (rv->relpersistence && strcmp(rv->relpersistence, "t") == 0) ||
		    c->partbound || c->n_inh_relations || c->of_typename)
			continue;
		if (has_pk(c) || pk_added_later(f, f->cur, rv->relname))
			continue;
		lint_report(f, "table-missing-primary-key", rv->location,
		            "Add a PRIMARY KEY (e.g. an identity column): logical replication, "
		            "tools and updates by key need one.",
		            "Table \"%s\" has no primary key.", rv->relname);
	}
}

/* ---- Documentation ---------------------------------------------------------------- */

/* Is there a COMMENT ON <one of KINDS> whose object's last name is NAME? */
static bool commented(const lint_file *f, const char *name, const PgQuery__ObjectType *kinds,
                      size_t n_kinds)
{
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		const PgQuery__Node *n = lint_stmt(f, i);
		if (n->node_case != PG_QUERY__NODE__NODE_COMMENT_STMT || !n->comment_stmt->object)
			continue;
		bool kind = false;
		for (size_t k = 0; k < n_kinds; k++)
			kind |= n->comment_stmt->objtype == kinds[k];
		if (!kind)
			continue;
		const PgQuery__Node *o = n->comment_stmt->object;
		const char *last = NULL;
		if (o->node_case == PG_QUERY__NODE__NODE_LIST)
			last = lint_last_name(o->list->items, o->list->n_items);
		else if (o->node_case == PG_QUERY__NODE__NODE_OBJECT_WITH_ARGS)
			last = lint_last_name(o->object_with_args->objname, o->object_with_args->n_objname);
		else if (o->node_case == PG_QUERY__NODE__NODE_TYPE_NAME)
			last = lint_type_name(o->type_name);
		else if (o->node_case == PG_QUERY__NODE__NODE_STRING)
			last = o->string->sval;
		if (last && name && strcmp(last, name) == 0)
			return true;
	}
	return false;
}

static void need_comment(lint_file *f, const char *rule, const char *what, const char *name,
                         const PgQuery__ObjectType *kinds, size_t n_kinds)
{
	if (!name || commented(f, name, kinds, n_kinds))
		return;
	lint_report(f, rule, -1, "Say what it holds or does with COMMENT ON, in the same file.",
	            "%s \"%s\" has no COMMENT.", what, name);
}

void lint_documentation(lint_file *f)
{
	static const PgQuery__ObjectType TABLE[] = {PG_QUERY__OBJECT_TYPE__OBJECT_TABLE};
	static const PgQuery__ObjectType FUNC[] = {PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION,
	                                           PG_QUERY__OBJECT_TYPE__OBJECT_PROCEDURE,
	                                           PG_QUERY__OBJECT_TYPE__OBJECT_ROUTINE};
	static const PgQuery__ObjectType VIEW[] = {PG_QUERY__OBJECT_TYPE__OBJECT_VIEW,
	                                           PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW};
	static const PgQuery__ObjectType TYPE[] = {PG_QUERY__OBJECT_TYPE__OBJECT_TYPE,
	                                           PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN};
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		switch (n->node_case) {
		case PG_QUERY__NODE__NODE_CREATE_STMT: {
			const PgQuery__RangeVar *rv = n->create_stmt->relation;
			if (rv && !(rv->relpersistence && strcmp(rv->relpersistence, "t") == 0) &&
			    !n->create_stmt->partbound)
				need_comment(f, "table-missing-comment", "Table", rv->relname, TABLE, 1);
			break;
		}
		case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT: {
			const PgQuery__CreateFunctionStmt *fn = n->create_function_stmt;
			need_comment(f, "function-missing-comment", fn->is_procedure ? "Procedure" : "Function",
			             lint_last_name(fn->funcname, fn->n_funcname), FUNC, 3);
			break;
		}
		case PG_QUERY__NODE__NODE_VIEW_STMT:
			if (n->view_stmt->view)
				need_comment(f, "view-missing-comment", "View", n->view_stmt->view->relname, VIEW,
				             2);
			break;
		case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
			if (n->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW &&
			    n->create_table_as_stmt->into && n->create_table_as_stmt->into->rel)
				need_comment(f, "view-missing-comment", "Materialized view",
				             n->create_table_as_stmt->into->rel->relname, VIEW, 2);
			break;
		case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
			if (n->composite_type_stmt->typevar)
				need_comment(f, "type-missing-comment", "Type",
				             n->composite_type_stmt->typevar->relname, TYPE, 2);
			break;
		case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
			need_comment(f, "type-missing-comment", "Enum",
			             lint_last_name(n->create_enum_stmt->type_name,
			                            n->create_enum_stmt->n_type_name),
			             TYPE, 2);
			break;
		case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
			need_comment(f, "type-missing-comment", "Domain",
			             lint_last_name(n->create_domain_stmt->domainname,
			                            n->create_domain_stmt->n_domainname),
			             TYPE, 2);
			break;
		default:
			break;
		}
	}
}

/* ---- Security ------------------------------------------------------------------------ */

static bool contains_ci(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return true;
	return false;
}

static bool looks_secret(const char *name)
{
	static const char *const SECRET[] = {"password", "passwd", "secret", "token", "api_key",
	                                     "apikey", "private_key"};
	static const char *const SAFE[] = {"hash", "digest", "crypt", "_expires", "_at", "_id"};
	bool hit = false;
	for (size_t i = 0; i < sizeof(SECRET) / sizeof(*SECRET); i++)
		hit |= contains_ci(name, SECRET[i]);
	for (size_t i = 0; hit && i < sizeof(SAFE) / sizeof(*SAFE); i++)
		if (contains_ci(name, SAFE[i]))
			return false;
	return hit;
}

static void secret_column(lint_file *f, const PgQuery__ColumnDef *cd)
{
	const char *type = cd ? lint_type_name(cd->type_name) : NULL;
	if (!type || !cd->colname || !looks_secret(cd->colname))
		return;
	if (strcmp(type, "text") != 0 && strcmp(type, "varchar") != 0 && strcmp(type, "bpchar") != 0)
		return;
	lint_report(f, "secret-column-plain-text", cd->location,
	            "Store a hash (for passwords) or an encrypted value, never the secret itself.",
	            "Column \"%s\" looks like it holds a secret, as plain %s.", cd->colname, type);
}

/* SECURITY DEFINER among OPTS, and no SET search_path? */
static bool definer_unpinned(PgQuery__Node *const *opts, size_t n)
{
	bool definer = false, pinned = false;
	for (size_t i = 0; i < n; i++) {
		if (opts[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
			continue;
		const PgQuery__DefElem *d = opts[i]->def_elem;
		if (strcmp(d->defname, "security") == 0 && d->arg &&
		    d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN)
			definer = d->arg->boolean->boolval;
		else if (strcmp(d->defname, "set") == 0 && d->arg &&
		         d->arg->node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT &&
		         d->arg->variable_set_stmt->name &&
		         strcmp(d->arg->variable_set_stmt->name, "search_path") == 0 &&
		         d->arg->variable_set_stmt->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE)
			pinned = true;
	}
	return definer && !pinned;
}

static bool to_public(const PgQuery__GrantStmt *g)
{
	for (size_t i = 0; i < g->n_grantees; i++)
		if (g->grantees[i]->node_case == PG_QUERY__NODE__NODE_ROLE_SPEC &&
		    g->grantees[i]->role_spec->roletype == PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC)
			return true;
	return false;
}

static void security_stmt(lint_file *f, const PgQuery__Node *n)
{
	static const char *definer_help =
		"Add SET search_path = pg_catalog, pg_temp (and qualify the objects it uses), so that "
		"callers cannot put their own objects in its way.";
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		for (size_t i = 0; i < n->create_stmt->n_table_elts; i++)
			if (n->create_stmt->table_elts[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
				secret_column(f, n->create_stmt->table_elts[i]->column_def);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		for (size_t k = 0; k < n->alter_table_stmt->n_cmds; k++) {
			const PgQuery__Node *c = n->alter_table_stmt->cmds[k];
			if (c->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD &&
			    c->alter_table_cmd->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn &&
			    c->alter_table_cmd->def &&
			    c->alter_table_cmd->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
				secret_column(f, c->alter_table_cmd->def->column_def);
		}
		break;
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT: {
		const PgQuery__CreateFunctionStmt *fn = n->create_function_stmt;
		if (definer_unpinned(fn->options, fn->n_options))
			lint_report(f, "security-definer-search-path", -1, definer_help,
			            "SECURITY DEFINER %s \"%s\" does not pin its search_path.",
			            fn->is_procedure ? "procedure" : "function",
			            lint_last_name(fn->funcname, fn->n_funcname));
		break;
	}
	case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT: {
		const PgQuery__AlterFunctionStmt *a = n->alter_function_stmt;
		if (definer_unpinned(a->actions, a->n_actions))
			lint_report(f, "security-definer-search-path", -1, definer_help,
			            "ALTER FUNCTION ... SECURITY DEFINER without pinning its search_path.");
		break;
	}
	case PG_QUERY__NODE__NODE_GRANT_STMT:
		if (n->grant_stmt->is_grant && to_public(n->grant_stmt))
			lint_report(f, "grant-to-public", -1,
			            "Grant to the roles that need it (a group role), not to PUBLIC.",
			            "GRANT ... TO PUBLIC gives every role of the cluster, present and "
			            "future, these privileges.");
		break;
	case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT: {
		/* The grant of every object created from now on. */
		const PgQuery__GrantStmt *g = n->alter_default_privileges_stmt->action;
		if (g && g->is_grant && to_public(g))
			lint_report(f, "grant-to-public", -1,
			            "Grant to the roles that need it (a group role), not to PUBLIC.",
			            "ALTER DEFAULT PRIVILEGES ... TO PUBLIC gives every role of the "
			            "cluster these privileges on every object created from now on.");
		break;
	}
	default:
		break;
	}
}

void lint_security(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++)
		security_stmt(f, lint_stmt(f, f->cur));
}
