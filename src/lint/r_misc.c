/*
 * r_misc.c -- identifiers too long, columns named twice, schema-qualified
 * table names.
 */
#include "lint_int.h"

#include <stdlib.h>
#include <string.h>

/* The statement holding byte OFFSET, or SIZE_MAX. */
static size_t stmt_at(const lint_file *f, size_t offset)
{
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		const cf_stmt *s = &f->t->stmts[i];
		if (offset >= s->offset && offset < s->offset + s->len)
			return i;
	}
	return SIZE_MAX;
}

/* The parser truncates identifiers silently; the scanner still sees them whole. */
void lint_identifier_too_long(lint_file *f)
{
	for (size_t i = 0; i < f->t->n_long_idents; i++) {
		const cf_sql_span *sp = &f->t->long_idents[i];
		size_t at = stmt_at(f, sp->start);
		if (at == SIZE_MAX)
			continue;
		f->cur = at;
		const char *p = f->t->text + sp->start;
		size_t n = sp->end - sp->start;
		if (n >= 2 && *p == '"') {
			p++;
			n -= 2;
		}
		lint_report(f, "identifier-too-long", (int)sp->start,
		            "Use a name of at most 63 bytes: PostgreSQL truncates longer ones.",
		            "`%.*s` is too long and will be truncated to 63 bytes.", (int)n, p);
	}
}

/* ---- ban-duplicate-column-assignments ---------------------------------------------- */

typedef struct named {
	const char *name;
	int location;
	bool is_partial;   /* a[1] = ..., or a.f = ... */
} named;

static void report_dups(lint_file *f, const named *v, size_t n, bool is_assignment)
{
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;
		bool all_partial = true, first = true;
		for (size_t j = 0; j < n; j++)
			if (strcmp(v[i].name, v[j].name) == 0) {
				count++;
				all_partial &= v[j].is_partial;
				if (j < i)
					first = false;
			}
		if (count < 2 || (is_assignment && all_partial))
			continue;
		(void)first;
		lint_report(f, "ban-duplicate-column-assignments", v[i].location,
		            is_assignment ? "Keep one assignment to the column."
		                          : "Name each column once.",
		            is_assignment ? "Multiple assignments to the same column `%s`."
		                          : "Column `%s` is specified more than once.",
		            v[i].name);
	}
}

static void res_targets(lint_file *f, PgQuery__Node *const *v, size_t n, bool is_assignment)
{
	named *list = cf_calloc(n ? n : 1, sizeof(named));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->node_case != PG_QUERY__NODE__NODE_RES_TARGET)
			continue;
		const PgQuery__ResTarget *rt = v[i]->res_target;
		const char *name = rt->name && *rt->name ? rt->name : NULL;
		if (!name && !is_assignment && rt->val) {
			/* The name PostgreSQL gives an unnamed output column. */
			if (rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF)
				name = lint_last_name(rt->val->column_ref->fields, rt->val->column_ref->n_fields);
			else if (rt->val->node_case == PG_QUERY__NODE__NODE_FUNC_CALL)
				name = lint_last_name(rt->val->func_call->funcname, rt->val->func_call->n_funcname);
		}
		if (name)
			list[k++] = (named){name, rt->location, rt->n_indirection > 0};
	}
	report_dups(f, list, k, is_assignment);
	free(list);
}

static void string_names(lint_file *f, PgQuery__Node *const *v, size_t n)
{
	named *list = cf_calloc(n ? n : 1, sizeof(named));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i]->node_case == PG_QUERY__NODE__NODE_STRING)
			list[k++] = (named){v[i]->string->sval, -1, false};
	report_dups(f, list, k, false);
	free(list);
}

static void column_defs(lint_file *f, PgQuery__Node *const *v, size_t n)
{
	named *list = cf_calloc(n ? n : 1, sizeof(named));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF && v[i]->column_def->colname)
			list[k++] = (named){v[i]->column_def->colname, v[i]->column_def->location, false};
	report_dups(f, list, k, false);
	free(list);
}

static bool dup_visit(void *ud, const void *m, const char *type)
{
	lint_file *f = ud;
	if (strcmp(type, "InsertStmt") == 0) {
		const PgQuery__InsertStmt *s = m;
		res_targets(f, s->cols, s->n_cols, true);
	} else if (strcmp(type, "UpdateStmt") == 0) {
		const PgQuery__UpdateStmt *s = m;
		res_targets(f, s->target_list, s->n_target_list, true);
	} else if (strcmp(type, "OnConflictClause") == 0) {
		const PgQuery__OnConflictClause *s = m;
		res_targets(f, s->target_list, s->n_target_list, true);
	} else if (strcmp(type, "MergeWhenClause") == 0) {
		const PgQuery__MergeWhenClause *s = m;
		res_targets(f, s->target_list, s->n_target_list, true);
	} else if (strcmp(type, "CreateStmt") == 0) {
		const PgQuery__CreateStmt *s = m;
		column_defs(f, s->table_elts, s->n_table_elts);
		return false; /* defaults and checks hold no statement */
	} else if (strcmp(type, "ViewStmt") == 0) {
		const PgQuery__ViewStmt *s = m;
		if (s->n_aliases)
			string_names(f, s->aliases, s->n_aliases);
		else if (s->query && s->query->node_case == PG_QUERY__NODE__NODE_SELECT_STMT)
			res_targets(f, s->query->select_stmt->target_list,
			            s->query->select_stmt->n_target_list, false);
		return false; /* its query is not a SELECT INTO */
	} else if (strcmp(type, "SelectStmt") == 0) {
		const PgQuery__SelectStmt *s = m;
		if (s->into_clause)
			res_targets(f, s->target_list, s->n_target_list, false);
	} else if (strcmp(type, "CreateTableAsStmt") == 0) {
		const PgQuery__CreateTableAsStmt *s = m;
		if (s->into && s->into->n_col_names)
			string_names(f, s->into->col_names, s->into->n_col_names);
	}
	return true;
}

/* Statements that hold no INSERT, UPDATE, MERGE, CREATE TABLE, view or
 * SELECT INTO anywhere in their tree: not walked (most of a migration). */
static bool holds_no_target_list(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
	case PG_QUERY__NODE__NODE_INDEX_STMT:
	case PG_QUERY__NODE__NODE_DROP_STMT:
	case PG_QUERY__NODE__NODE_COMMENT_STMT:
	case PG_QUERY__NODE__NODE_RENAME_STMT:
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
	case PG_QUERY__NODE__NODE_GRANT_STMT:
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
	case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
		return true;
	default:
		return false;
	}
}

void lint_ban_duplicate_column_assignments(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++)
		if (!holds_no_target_list(f->t->pr->stmts[f->cur]->stmt))
			cf_sqltree_walk(f->t->pr->stmts[f->cur]->stmt, dup_visit, f);
}

/* ---- require-table-schema (opt-in) ------------------------------------------------- */

static void need_schema(lint_file *f, const PgQuery__RangeVar *rv)
{
	if (rv && rv->relname && !(rv->schemaname && *rv->schemaname))
		lint_report(f, "require-table-schema", rv->location, NULL,
		            "Table name \"%s\" is not schema-qualified. Use schema.table (e.g., "
		            "public.%s).",
		            rv->relname, rv->relname);
}

static bool is_temp(const PgQuery__RangeVar *rv)
{
	return rv && rv->relpersistence && strcmp(rv->relpersistence, "t") == 0;
}

void lint_require_table_schema(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_CREATE_STMT && !is_temp(n->create_stmt->relation))
			need_schema(f, n->create_stmt->relation);
		else if (n->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
		         n->create_table_as_stmt->into && !is_temp(n->create_table_as_stmt->into->rel))
			need_schema(f, n->create_table_as_stmt->into->rel);
		else if (n->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_STMT &&
		         n->alter_table_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			need_schema(f, n->alter_table_stmt->relation);
		else if (n->node_case == PG_QUERY__NODE__NODE_DROP_STMT &&
		         n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			for (size_t i = 0; i < n->drop_stmt->n_objects; i++) {
				const PgQuery__Node *o = n->drop_stmt->objects[i];
				if (o->node_case == PG_QUERY__NODE__NODE_LIST && o->list->n_items == 1)
					lint_report(f, "require-table-schema", -1, NULL,
					            "Table name \"%s\" is not schema-qualified. Use schema.table "
					            "(e.g., public.%s).",
					            lint_last_name(o->list->items, 1), lint_last_name(o->list->items, 1));
			}
	}
}
