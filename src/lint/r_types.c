/*
 * r_types.c -- column types: bigint over int and smallint, identity over
 * serial, text over varchar(n), timestamptz over timestamp, no char(n).
 *
 * As in Squawk, the types looked at are those of CREATE TABLE columns,
 * ALTER TABLE ... ADD COLUMN and ALTER COLUMN ... TYPE; arrays count as their
 * element type. The parser has already resolved spellings: "integer" and
 * "int" are pg_catalog.int4, "character(3)" is pg_catalog.bpchar.
 */
#include "lint_int.h"

#include <string.h>

static bool name_in(const char *name, const char *const *set)
{
	for (size_t i = 0; name && set[i]; i++)
		if (strcmp(name, set[i]) == 0)
			return true;
	return false;
}

static void check_type(lint_file *f, const PgQuery__TypeName *t)
{
	if (!t || t->pct_type)
		return;
	static const char *const INTS[] = {"int4", "serial", "serial4", NULL};
	static const char *const SMALLINTS[] = {"int2", "smallserial", "serial2", NULL};
	static const char *const SERIALS[] = {"serial",      "serial2",   "serial4", "serial8",
	                                      "smallserial", "bigserial", NULL};
	const char *name = lint_type_name(t);
	if (name_in(name, INTS))
		lint_report(f, "prefer-bigint-over-int", t->location,
		            "Use 64-bit integer values instead to prevent hitting this limit.",
		            "Using 32-bit integer fields can result in hitting the max `int` limit.");
	if (name_in(name, SMALLINTS))
		lint_report(f, "prefer-bigint-over-smallint", t->location,
		            "Use 64-bit integer values instead to prevent hitting this limit.",
		            "Using 16-bit integer fields can result in hitting the max `int` limit.");
	if (name_in(name, SERIALS))
		lint_report(f, "prefer-identity", t->location, "Use an `IDENTITY` column instead.",
		            "Serial types make schema, dependency, and permission management "
		            "difficult.");
	if (name && strcmp(name, "varchar") == 0 && t->n_typmods > 0)
		lint_report(f, "prefer-text-field", t->location,
		            "Use a `TEXT` field with a `CHECK` constraint.",
		            "Changing the size of a `varchar` field requires an ACCESS EXCLUSIVE lock, "
		            "that will prevent all reads and writes to the table.");
	if (name && strcmp(name, "timestamp") == 0)
		lint_report(f, "prefer-timestamp-tz", t->location,
		            "Use `timestamptz` instead of `timestamp` for your column type.",
		            "A `timestamp` column drops the UTC offset: 2019-10-11 21:11:24+02 and "
		            "2019-10-11 21:11:24-06 are both stored as 2019-10-11 21:11:24, eight hours "
		            "apart.");
	if (name && (strcmp(name, "bpchar") == 0 || strcmp(name, "character") == 0))
		lint_report(f, "ban-char-field", t->location,
		            "Use `text` or `varchar` instead.",
		            "Using `character` is likely a mistake and should almost always be "
		            "replaced by `text` or `varchar`.");
}

static void create_table_types(lint_file *f, const PgQuery__CreateStmt *c)
{
	for (size_t i = 0; i < c->n_table_elts; i++)
		if (c->table_elts[i]->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
			check_type(f, c->table_elts[i]->column_def->type_name);
}

static void alter_table_types(lint_file *f, const PgQuery__AlterTableStmt *a)
{
	for (size_t k = 0; k < a->n_cmds; k++) {
		if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const PgQuery__AlterTableCmd *c = a->cmds[k]->alter_table_cmd;
		if ((c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn ||
		     c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType) &&
		    c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
			check_type(f, c->def->column_def->type_name);
	}
}

void lint_column_types(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_CREATE_STMT)
			create_table_types(f, n->create_stmt);
		else if (n->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_STMT &&
		         n->alter_table_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			alter_table_types(f, n->alter_table_stmt);
	}
}
