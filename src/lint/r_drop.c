/*
 * r_drop.c -- what removes things: Squawk's drop rules, and the data-loss
 * rules, which name the objects whose data would be lost.
 *
 * Type narrowing needs the column's type before the change: the run keeps a
 * model of the columns that the files seen so far declare (every earlier
 * migration, applied ones included), updated statement by statement.
 */
#include "lint_int.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

/* ---- Squawk's drop rules ------------------------------------------------------- */

void lint_drops(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_DROPDB_STMT)
			lint_report(f, "ban-drop-database", -1, NULL,
			            "Dropping database \"%s\" may break existing clients.",
			            n->dropdb_stmt->dbname);
		else if (n->node_case == PG_QUERY__NODE__NODE_DROP_STMT &&
		         n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			lint_report(f, "ban-drop-table", -1, NULL,
			            "Dropping a table may break existing clients.");
		else if (n->node_case == PG_QUERY__NODE__NODE_TRUNCATE_STMT &&
		         n->truncate_stmt->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE)
			lint_report(f, "ban-truncate-cascade", -1,
			            "Remove the `CASCADE` and name exactly the tables to truncate.",
			            "`TRUNCATE ... CASCADE` also empties every table with a foreign key to "
			            "these, and the tables referencing those, recursively.");
	}
}

/* ---- The column model ------------------------------------------------------------ */

/* FNV-1a of "TABLE\0COLUMN": a model of thousands of columns is searched
 * for every column a statement names. */
static uint64_t col_key(const char *table, const char *column)
{
	return cf_fnv1a(column, strlen(column), cf_fnv1a(table, strlen(table) + 1, CF_FNV1A_SEED));
}

static lint_column *col_find(lint_run *run, const char *table, const char *column)
{
	uint64_t key = col_key(table, column);
	for (size_t i = 0; i < run->n_columns; i++)
		if (run->columns[i].key == key && strcmp(run->columns[i].table, table) == 0 &&
		    strcmp(run->columns[i].column, column) == 0)
			return &run->columns[i];
	return NULL;
}

static void col_drop(lint_run *run, lint_column *c)
{
	free(c->table);
	free(c->column);
	free(c->type);
	*c = run->columns[--run->n_columns];
}

/* The canonical name of a type for comparisons: serials are their integers. */
static const char *canonical(const char *name)
{
	static const char *const MAP[][2] = {
		{"serial", "int4"}, {"serial4", "int4"}, {"bigserial", "int8"}, {"serial8", "int8"},
		{"smallserial", "int2"}, {"serial2", "int2"}, {"int", "int4"}, {"integer", "int4"},
		{"bigint", "int8"}, {"smallint", "int2"}, {"decimal", "numeric"},
	};
	for (size_t i = 0; i < sizeof(MAP) / sizeof(*MAP); i++)
		if (strcmp(name, MAP[i][0]) == 0)
			return MAP[i][1];
	return name;
}

static void col_set(lint_run *run, const char *table, const char *column,
                    const PgQuery__TypeName *t)
{
	const char *name = lint_type_name(t);
	if (!table || !column || !name)
		return;
	lint_column *c = col_find(run, table, column);
	if (!c) {
		if (run->n_columns == run->cap_columns) {
			run->cap_columns = run->cap_columns ? 2 * run->cap_columns : 64;
			run->columns = cf_realloc(run->columns, run->cap_columns * sizeof(lint_column));
		}
		c = &run->columns[run->n_columns++];
		c->table = cf_strdup(table);
		c->column = cf_strdup(column);
		c->key = col_key(table, column);
		c->type = NULL;
	}
	cf_str_set(&c->type, t->n_array_bounds ? "array" : canonical(name));
	c->typmod[0] = lint_typmod(t, 0);
	c->typmod[1] = lint_typmod(t, 1);
}

static void model_alter(lint_run *run, const PgQuery__AlterTableStmt *a)
{
	const char *table = a->relation ? a->relation->relname : NULL;
	for (size_t k = 0; table && k < a->n_cmds; k++) {
		if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const PgQuery__AlterTableCmd *c = a->cmds[k]->alter_table_cmd;
		const PgQuery__ColumnDef *cd =
			c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF ? c->def->column_def
			                                                               : NULL;
		if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn && cd)
			col_set(run, table, cd->colname, cd->type_name);
		else if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType && cd)
			col_set(run, table, c->name, cd->type_name);
		else if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn && c->name) {
			lint_column *col = col_find(run, table, c->name);
			if (col)
				col_drop(run, col);
		}
	}
}

static void model_drop_table(lint_run *run, const char *table)
{
	for (size_t i = run->n_columns; i > 0; i--)
		if (strcmp(run->columns[i - 1].table, table) == 0)
			col_drop(run, &run->columns[i - 1]);
}

static void model_rename(lint_run *run, const PgQuery__RenameStmt *r)
{
	const char *table = r->relation ? r->relation->relname : NULL;
	if (!table || !r->newname)
		return;
	for (size_t i = 0; i < run->n_columns; i++) {
		lint_column *c = &run->columns[i];
		if (strcmp(c->table, table) != 0)
			continue;
		if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			cf_str_set(&c->table, r->newname);
		else if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN && r->subname &&
		         strcmp(c->column, r->subname) == 0)
			cf_str_set(&c->column, r->newname);
		c->key = col_key(c->table, c->column);
	}
}

/* Updates RUN's column model with statement N. */
static void model_stmt(lint_run *run, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT: {
		const PgQuery__CreateStmt *c = n->create_stmt;
		const char *table = c->relation ? c->relation->relname : NULL;
		if (table)
			model_drop_table(run, table); /* a re-created table starts over */
		for (size_t i = 0; table && i < c->n_table_elts; i++)
			if (c->table_elts[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
				col_set(run, table, c->table_elts[i]->column_def->colname,
				        c->table_elts[i]->column_def->type_name);
		break;
	}
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		model_alter(run, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT:
		model_rename(run, n->rename_stmt);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			for (size_t i = 0; i < n->drop_stmt->n_objects; i++) {
				const PgQuery__Node *o = n->drop_stmt->objects[i];
				const char *t = o->node_case == PG_QUERY__NODE__NODE_LIST
				                    ? lint_last_name(o->list->items, o->list->n_items)
				                    : NULL;
				if (t)
					model_drop_table(run, t);
			}
		break;
	default:
		break;
	}
}

void lint_model_file(lint_run *run, const char *file, const char *text, size_t len)
{
	cf_sqltree *t = NULL;
	if (cf_sqltree_parse(run->ctx, file, text, len, &t) != CF_OK) {
		cf_ctx_clear_error(run->ctx);
		return;
	}
	for (size_t i = 0; i < t->n_stmts; i++)
		if (t->pr->stmts[i]->stmt)
			model_stmt(run, t->pr->stmts[i]->stmt);
	/* Tables it creates are new for the files after it only if it is pending:
	 * the caller decides by linting rather than modelling those. */
	cf_sqltree_free(t);
}

/* ---- Type narrowing ------------------------------------------------------------- */

typedef struct tinfo {
	const char *name;
	int m0, m1;
} tinfo;

static int int_rank(const char *n)
{
	return strcmp(n, "int2") == 0 ? 1 : strcmp(n, "int4") == 0 ? 2 : strcmp(n, "int8") == 0 ? 3 : 0;
}

static int int_digits(int rank)
{
	return rank == 1 ? 5 : rank == 2 ? 10 : 19;
}

static bool is_text(const char *n)
{
	return strcmp(n, "text") == 0 || strcmp(n, "varchar") == 0 || strcmp(n, "bpchar") == 0;
}

/* Character limit of a text type, or -1 (unlimited). bpchar alone is char(1). */
static int text_limit(const tinfo *t)
{
	if (strcmp(t->name, "text") == 0)
		return -1;
	if (strcmp(t->name, "bpchar") == 0)
		return t->m0 > 0 ? t->m0 : 1;
	return t->m0 > 0 ? t->m0 : -1;
}

static bool numeric_narrower(const tinfo *from, const tinfo *to)
{
	if (to->m0 < 0)
		return false; /* unconstrained numeric holds anything */
	if (from->m0 < 0)
		return true;
	int to_s = to->m1 > 0 ? to->m1 : 0, from_s = from->m1 > 0 ? from->m1 : 0;
	return to_s < from_s || to->m0 - to_s < from->m0 - from_s;
}

/* Can values of FROM be truncated, rounded or rejected when cast to TO? */
static bool is_narrowing(const tinfo *from, const tinfo *to)
{
	int fr = int_rank(from->name), tr = int_rank(to->name);
	if (fr && tr)
		return tr < fr;
	if (tr && (strcmp(from->name, "numeric") == 0 || strcmp(from->name, "float4") == 0 ||
	           strcmp(from->name, "float8") == 0))
		return true;
	if (strcmp(to->name, "numeric") == 0) {
		if (fr)
			return to->m0 >= 0 && to->m0 - (to->m1 > 0 ? to->m1 : 0) < int_digits(fr);
		if (strcmp(from->name, "numeric") == 0)
			return numeric_narrower(from, to);
		return strcmp(from->name, "float4") == 0 || strcmp(from->name, "float8") == 0;
	}
	if (strcmp(from->name, "float8") == 0 && strcmp(to->name, "float4") == 0)
		return true;
	if ((strcmp(from->name, "numeric") == 0) &&
	    (strcmp(to->name, "float4") == 0 || strcmp(to->name, "float8") == 0))
		return true;
	if (is_text(from->name) && is_text(to->name)) {
		int fl = text_limit(from), tl = text_limit(to);
		return tl >= 0 && (fl < 0 || tl < fl);
	}
	bool from_ts = strcmp(from->name, "timestamp") == 0 || strcmp(from->name, "timestamptz") == 0;
	return from_ts && (strcmp(to->name, "date") == 0 || strcmp(to->name, "time") == 0 ||
	                   strcmp(to->name, "timetz") == 0);
}

static char *type_text(const tinfo *t)
{
	if (t->m0 >= 0 && t->m1 >= 0)
		return cf_asprintf("%s(%d,%d)", t->name, t->m0, t->m1);
	if (t->m0 >= 0)
		return cf_asprintf("%s(%d)", t->name, t->m0);
	return cf_strdup(t->name);
}

/* ---- Data loss ---------------------------------------------------------------------- */

static void narrowing(lint_file *f, const char *table, const PgQuery__AlterTableCmd *c)
{
	const PgQuery__ColumnDef *cd =
		c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF ? c->def->column_def : NULL;
	const lint_column *old = c->name ? col_find(f->run, table, c->name) : NULL;
	const char *name = cd ? lint_type_name(cd->type_name) : NULL;
	if (!old || !name || cd->type_name->n_array_bounds || strcmp(old->type, "array") == 0)
		return;
	tinfo from = {old->type, old->typmod[0], old->typmod[1]};
	tinfo to = {canonical(name), lint_typmod(cd->type_name, 0), lint_typmod(cd->type_name, 1)};
	if (!is_narrowing(&from, &to))
		return;
	char *a = type_text(&from), *b = type_text(&to);
	char *obj = cf_asprintf("%s.%s", table, c->name);
	cf_lint_finding *fi = lint_report(
		f, "data-loss-narrowing", cd->type_name->location,
		"Check the longest or largest value first, or keep the wider type.",
		"Changing column \"%s\" from %s to %s can truncate, round or reject its values.", obj,
		a, b);
	lint_finding_object(fi, obj);
	free(obj);
	free(a);
	free(b);
}

static void drop_columns(lint_file *f, const PgQuery__AlterTableStmt *a)
{
	if (a->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE || !a->relation)
		return;
	char *table = lint_rangevar_name(a->relation);
	bool is_new = lint_table_is_new(f, a->relation->relname);
	for (size_t k = 0; k < a->n_cmds; k++) {
		if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const PgQuery__AlterTableCmd *c = a->cmds[k]->alter_table_cmd;
		if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn && c->name && !is_new) {
			char *obj = cf_asprintf("%s.%s", table, c->name);
			lint_finding_object(
				lint_report(f, "data-loss-drop-column", -1,
				            "Keep the column until nothing reads it, and back its values up "
				            "first; then acknowledge with -- confiture:lint-ignore "
				            "data-loss-drop-column.",
				            "Dropping column \"%s\" deletes its values.", obj),
				obj);
			free(obj);
		} else if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType && !is_new) {
			narrowing(f, a->relation->relname, c);
		}
	}
	free(table);
}

/* DROP TABLE a, b: the tables that hold data (not those this run creates). */
static void drop_tables(lint_file *f, const PgQuery__DropStmt *d)
{
	bool schema = d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA &&
	              d->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
	if (d->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !schema)
		return;
	cf_lint_finding *fi = NULL;
	for (size_t i = 0; i < d->n_objects; i++) {
		const PgQuery__Node *o = d->objects[i];
		char *name = NULL;
		if (o->node_case == PG_QUERY__NODE__NODE_LIST) {
			if (lint_table_is_new(f, lint_last_name(o->list->items, o->list->n_items)))
				continue;
			name = lint_join_names(o->list->items, o->list->n_items);
		} else if (o->node_case == PG_QUERY__NODE__NODE_STRING) {
			name = cf_asprintf("%s.*", o->string->sval);
		}
		if (!name)
			continue;
		if (!fi)
			fi = lint_report(f, "data-loss-drop-table", -1,
			                 "Back the data up (or keep the table until nothing reads it); "
			                 "then acknowledge with -- confiture:lint-ignore "
			                 "data-loss-drop-table.",
			                 schema ? "Dropping schema \"%s\" with CASCADE deletes every table "
			                          "in it and their rows."
			                        : "Dropping table \"%s\" deletes its rows.",
			                 name);
		lint_finding_object(fi, name);
		free(name);
	}
}

static void truncate_tables(lint_file *f, const PgQuery__TruncateStmt *t)
{
	cf_lint_finding *fi = NULL;
	for (size_t i = 0; i < t->n_relations; i++) {
		const PgQuery__Node *o = t->relations[i];
		if (o->node_case != PG_QUERY__NODE__NODE_RANGE_VAR ||
		    lint_table_is_new(f, o->range_var->relname))
			continue;
		char *name = lint_rangevar_name(o->range_var);
		if (!fi)
			fi = lint_report(f, "data-loss-truncate", -1,
			                 "Make sure the rows are not needed, or copy them first.",
			                 t->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE
			                     ? "Truncating \"%s\" deletes its rows, and CASCADE deletes "
			                       "those of every table referencing it."
			                     : "Truncating \"%s\" deletes every row.",
			                 name);
		lint_finding_object(fi, name);
		free(name);
	}
}

void lint_data_loss(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_DROP_STMT)
			drop_tables(f, n->drop_stmt);
		else if (n->node_case == PG_QUERY__NODE__NODE_TRUNCATE_STMT)
			truncate_tables(f, n->truncate_stmt);
		else if (n->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_STMT)
			drop_columns(f, n->alter_table_stmt);
		model_stmt(f->run, n);
	}
}
