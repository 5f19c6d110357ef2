/*
 * r_alter.c -- rules about ALTER TABLE (columns and constraints), domains
 * and enums.
 */
#include "lint_int.h"

#include <stdlib.h>
#include <string.h>

/* ALTER TABLE (not INDEX, VIEW, SEQUENCE, ...) of statement I, or NULL. */
static const PgQuery__AlterTableStmt *alter_table(const lint_file *f, size_t i)
{
	const PgQuery__Node *n = lint_stmt(f, i);
	if (n->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_STMT ||
	    n->alter_table_stmt->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return NULL;
	return n->alter_table_stmt;
}

static const PgQuery__AlterTableCmd *cmd_at(const PgQuery__AlterTableStmt *a, size_t k)
{
	const PgQuery__Node *n = a->cmds[k];
	return n->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD ? n->alter_table_cmd : NULL;
}

static const PgQuery__ColumnDef *added_column(const PgQuery__AlterTableCmd *c)
{
	if (!c || c->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn || !c->def ||
	    c->def->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
		return NULL;
	return c->def->column_def;
}

static const PgQuery__Constraint *added_constraint(const PgQuery__AlterTableCmd *c)
{
	if (!c || c->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint)
		return NULL;
	return lint_constraint(c->def);
}

/*
 * Is table NAME new in this run: created earlier in a pending migration, or
 * in this file (Squawk: inside a transaction; a migration: anywhere, since
 * the whole file runs before anyone else sees the table)?
 */
bool lint_table_is_new(const lint_file *f, const char *name)
{
	if (!name)
		return false;
	if (f->kind != LINT_PLAIN && cf_strv_contains(&f->run->pending_tables, name))
		return true;
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		const PgQuery__Node *n = lint_stmt(f, i);
		if (n->node_case != PG_QUERY__NODE__NODE_CREATE_STMT || !n->create_stmt->relation)
			continue;
		if ((f->kind != LINT_PLAIN || f->in_tx[i]) && n->create_stmt->relation->relname &&
		    strcmp(n->create_stmt->relation->relname, name) == 0)
			return true;
	}
	return false;
}

static const char *HELP_DEFAULT =
	"Add the column as nullable, backfill existing rows, and add a trigger to update the "
	"column on write instead.";

void lint_adding_field_with_default(lint_file *f)
{
	bool pg11 = f->run->pg_version >= 110000;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__ColumnDef *cd = added_column(cmd_at(a, k));
			for (size_t j = 0; cd && j < cd->n_constraints; j++) {
				const PgQuery__Constraint *c = lint_constraint(cd->constraints[j]);
				if (!c)
					continue;
				if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT) {
					if (pg11 && lint_is_constant_expr(c->raw_expr))
						continue;
					lint_report(f, "adding-field-with-default", c->location, HELP_DEFAULT,
					            pg11 ? "Adding column \"%s\" with a volatile default rewrites "
					                   "the table under an ACCESS EXCLUSIVE lock."
					                 : "Adding column \"%s\" with a default rewrites the "
					                   "table under an ACCESS EXCLUSIVE lock before "
					                   "PostgreSQL 11.",
					            cd->colname);
				} else if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED ||
				           c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY) {
					lint_report(f, "adding-field-with-default", c->location, HELP_DEFAULT,
					            "Adding generated column \"%s\" rewrites the table under an "
					            "ACCESS EXCLUSIVE lock.",
					            cd->colname);
				}
			}
		}
	}
}

static const char *rule_lock(PgQuery__ConstrType contype);

/*
 * Reports RULE for each constraint of CONTYPE that ALTER TABLE adds to an
 * existing table: table constraints unless SAFE says they avoid the lock,
 * and constraints written inline in ADD COLUMN (which never can).
 */
static void added_constraints(lint_file *f, PgQuery__ConstrType contype, const char *rule,
                              bool (*safe)(const PgQuery__Constraint *), const char *help,
                              const char *what)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		if (!a || !a->relation)
			continue;
		bool is_new = lint_table_is_new(f, a->relation->relname);
		for (size_t k = 0; k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			const PgQuery__Constraint *con = added_constraint(c);
			if (con && con->contype == contype && !safe(con) && !is_new)
				lint_report(f, rule, con->location, help, "Adding %s to \"%s\" %s", what,
				            a->relation->relname, rule_lock(contype));
			const PgQuery__ColumnDef *cd = added_column(c);
			for (size_t j = 0; cd && j < cd->n_constraints; j++) {
				const PgQuery__Constraint *cc = lint_constraint(cd->constraints[j]);
				if (cc && cc->contype == contype)
					lint_report(f, rule, cc->location, help, "Adding %s to \"%s\" %s", what,
					            a->relation->relname, rule_lock(contype));
			}
		}
	}
}

static const char *rule_lock(PgQuery__ConstrType contype)
{
	return contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN
	           ? "scans it under a SHARE ROW EXCLUSIVE lock on both tables, which blocks "
	             "writes to each."
	           : "takes an ACCESS EXCLUSIVE lock that blocks reads and writes while its index "
	             "is built.";
}

static bool not_valid(const PgQuery__Constraint *c)
{
	return c->skip_validation;
}

void lint_adding_foreign_key_constraint(lint_file *f)
{
	added_constraints(f, PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN, "adding-foreign-key-constraint",
	                  not_valid,
	                  "Add `NOT VALID` to the constraint in one transaction and then VALIDATE the "
	                  "constraint in a separate transaction.",
	                  "a foreign key");
}

/* "col IS NOT NULL" of a CHECK: the column, or NULL. */
static const char *not_null_check_column(const PgQuery__Node *e)
{
	if (!e || e->node_case != PG_QUERY__NODE__NODE_NULL_TEST ||
	    e->null_test->nulltesttype != PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL)
		return NULL;
	const PgQuery__Node *arg = e->null_test->arg;
	if (!arg || arg->node_case != PG_QUERY__NODE__NODE_COLUMN_REF ||
	    arg->column_ref->n_fields != 1)
		return NULL;
	return lint_last_name(arg->column_ref->fields, arg->column_ref->n_fields);
}

/* A validated "CHECK (col IS NOT NULL)" lets SET NOT NULL skip the scan (PG 12+). */
typedef struct nn_check {
	char *constraint, *table, *column;
	bool is_validated;
} nn_check;

static bool nn_validated(const nn_check *v, size_t n, const char *table, const char *column,
                         const cf_strv *external)
{
	if (cf_strv_contains(external, table))
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i].is_validated && strcmp(v[i].table, table) == 0 &&
		    strcmp(v[i].column, column) == 0)
			return true;
	return false;
}

static void nn_track(const PgQuery__AlterTableCmd *c, const char *table, nn_check **v, size_t *n,
                     cf_strv *external)
{
	const PgQuery__Constraint *con = added_constraint(c);
	if (con && con->skip_validation && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK &&
	    con->conname && *con->conname && not_null_check_column(con->raw_expr)) {
		*v = cf_realloc(*v, (*n + 1) * sizeof(nn_check));
		(*v)[(*n)++] = (nn_check){cf_strdup(con->conname), cf_strdup(table),
		                          cf_strdup(not_null_check_column(con->raw_expr)), false};
	}
	if (c->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint || !c->name)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].constraint, c->name) == 0 && strcmp((*v)[i].table, table) == 0) {
			(*v)[i].is_validated = true;
			return;
		}
	/* NOT VALID in an earlier migration, validated here. */
	if (!cf_strv_contains(external, table))
		cf_strv_push(external, table);
}

void lint_adding_not_nullable_field(lint_file *f)
{
	bool pg12 = f->run->pg_version >= 120000;
	nn_check *v = NULL;
	size_t n = 0;
	cf_strv external;
	cf_strv_init(&external);
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		if (!a || !a->relation || !a->relation->relname)
			continue;
		const char *table = a->relation->relname;
		for (size_t k = 0; k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			if (!c)
				continue;
			if (pg12)
				nn_track(c, table, &v, &n, &external);
			if (c->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull)
				continue;
			if (pg12 && c->name && nn_validated(v, n, table, c->name, &external))
				continue;
			lint_report(f, "adding-not-nullable-field", -1,
			            "Make the field nullable and use a `CHECK` constraint instead.",
			            "Setting column \"%s\" NOT NULL blocks reads while the table is "
			            "scanned.",
			            c->name);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].constraint);
		free(v[i].table);
		free(v[i].column);
	}
	free(v);
	cf_strv_release(&external);
}

void lint_adding_serial_primary_key_field(lint_file *f)
{
	static const char *help = "Add the `PRIMARY KEY` constraint `USING` an index.";
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			const PgQuery__Constraint *con = added_constraint(c);
			if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY &&
			    !(con->indexname && *con->indexname))
				lint_report(f, "adding-serial-primary-key-field", con->location, help,
				            "Adding a primary key takes an ACCESS EXCLUSIVE lock that blocks "
				            "reads and writes while its index is built.");
			const PgQuery__ColumnDef *cd = added_column(c);
			for (size_t j = 0; cd && j < cd->n_constraints; j++) {
				const PgQuery__Constraint *cc = lint_constraint(cd->constraints[j]);
				if (cc && cc->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
					lint_report(f, "adding-serial-primary-key-field", cc->location, help,
					            "Adding a primary key takes an ACCESS EXCLUSIVE lock that "
					            "blocks reads and writes while its index is built.");
			}
		}
	}
}

void lint_adding_required_field(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__ColumnDef *cd = added_column(cmd_at(a, k));
			if (!cd)
				continue;
			bool not_null = cd->is_not_null, has_default = false, generated = false;
			for (size_t j = 0; j < cd->n_constraints; j++) {
				const PgQuery__Constraint *c = lint_constraint(cd->constraints[j]);
				if (!c)
					continue;
				not_null |= c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL;
				has_default |= c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT;
				generated |= c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED;
			}
			if (not_null && !has_default && !generated)
				lint_report(f, "adding-required-field", cd->location,
				            "Make the field nullable or add a non-VOLATILE DEFAULT.",
				            "Adding column \"%s\" NOT NULL without a default makes it "
				            "required: inserts that do not name it fail.",
				            cd->colname);
		}
	}
}

void lint_changing_column_type(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			if (!c || c->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType)
				continue;
			const PgQuery__ColumnDef *cd =
				c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF ? c->def->column_def
				                                                               : NULL;
			lint_report(f, "changing-column-type",
			            cd && cd->type_name ? cd->type_name->location : -1, NULL,
			            "Changing the type of column \"%s\" takes an ACCESS EXCLUSIVE lock and "
			            "rewrites the table; it may also break clients reading it.",
			            c->name);
		}
	}
}

/* NOT VALID, then VALIDATE in the same transaction: as slow as a plain ADD. */
static void validate_in_same_tx(lint_file *f)
{
	cf_strv not_valid;
	cf_strv_init(&not_valid);
	bool was_in = f->runs_in_tx;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		if (f->t->stmts[f->cur].kind == CF_STMT_BEGIN && !was_in) {
			cf_strv_release(&not_valid);
			cf_strv_init(&not_valid);
		}
		was_in = f->in_tx[f->cur];
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			const PgQuery__Constraint *con = added_constraint(c);
			if (con && con->skip_validation && con->conname && *con->conname)
				cf_strv_push(&not_valid, con->conname);
			if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint &&
			    c->name && f->in_tx[f->cur] && cf_strv_contains(&not_valid, c->name))
				lint_report(f, "constraint-missing-not-valid", -1,
				            "Add the constraint `NOT VALID` in one transaction and `VALIDATE "
				            "CONSTRAINT` in a separate one (a later migration).",
				            "Using `NOT VALID` and `VALIDATE CONSTRAINT` \"%s\" in the same "
				            "transaction blocks all writes while the constraint is validated.",
				            c->name);
		}
	}
	cf_strv_release(&not_valid);
}

void lint_constraint_missing_not_valid(lint_file *f)
{
	validate_in_same_tx(f);
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		if (!a || !a->relation || lint_table_is_new(f, a->relation->relname))
			continue;
		for (size_t k = 0; k < a->n_cmds; k++) {
			const PgQuery__Constraint *con = added_constraint(cmd_at(a, k));
			if (!con || con->skip_validation)
				continue;
			if ((con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE ||
			     con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) &&
			    con->indexname && *con->indexname)
				continue;
			lint_report(f, "constraint-missing-not-valid", con->location,
			            "Use `NOT VALID` with a later `VALIDATE CONSTRAINT` call.",
			            "Adding a constraint to \"%s\" scans the table and blocks writes while "
			            "the scan runs.",
			            a->relation->relname);
		}
	}
}

static bool using_index(const PgQuery__Constraint *c)
{
	return c->indexname && *c->indexname;
}

void lint_disallowed_unique_constraint(lint_file *f)
{
	added_constraints(f, PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE, "disallowed-unique-constraint",
	                  using_index,
	                  "Create an index `CONCURRENTLY` and create the constraint using the index.",
	                  "a `UNIQUE` constraint");
}

void lint_renaming(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_RENAME_STMT)
			continue;
		const PgQuery__RenameStmt *r = n->rename_stmt;
		if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
		    r->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			lint_report(f, "renaming-column", -1, NULL,
			            "Renaming column \"%s\" to \"%s\" may break existing clients.",
			            r->subname, r->newname);
		else if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			lint_report(f, "renaming-table", -1, NULL,
			            "Renaming table \"%s\" to \"%s\" may break existing clients.",
			            r->relation ? r->relation->relname : "?", r->newname);
	}
}

void lint_ban_drop_column(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn)
				lint_report(f, "ban-drop-column", -1, NULL,
				            "Dropping column \"%s\" may break existing clients.", c->name);
		}
	}
}

void lint_ban_drop_not_null(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__AlterTableStmt *a = alter_table(f, f->cur);
		for (size_t k = 0; a && k < a->n_cmds; k++) {
			const PgQuery__AlterTableCmd *c = cmd_at(a, k);
			if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropNotNull)
				lint_report(f, "ban-drop-not-null", -1, NULL,
				            "Dropping the NOT NULL of column \"%s\" may break existing "
				            "clients.",
				            c->name);
		}
	}
}

void lint_domains(lint_file *f)
{
	static const char *msg = "Domains with constraints have poor support for online "
	                         "migrations. Use table and column constraints instead.";
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT) {
			const PgQuery__CreateDomainStmt *d = n->create_domain_stmt;
			for (size_t i = 0; i < d->n_constraints; i++) {
				const PgQuery__Constraint *c = lint_constraint(d->constraints[i]);
				/* DEFAULT and NULL are clauses, not constraints (Squawk counts them). */
				if (c && c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT &&
				    c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_NULL) {
					lint_report(f, "ban-create-domain-with-constraint", c->location, NULL,
					            "%s", msg);
					break;
				}
			}
		} else if (n->node_case == PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT &&
		           n->alter_domain_stmt->subtype && strcmp(n->alter_domain_stmt->subtype, "C") == 0) {
			const PgQuery__Constraint *c = lint_constraint(n->alter_domain_stmt->def);
			lint_report(f, "ban-alter-domain-with-add-constraint", c ? c->location : -1, NULL,
			            "%s", msg);
		}
	}
}

void lint_require_enum_value_ordering(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_ALTER_ENUM_STMT)
			continue;
		const PgQuery__AlterEnumStmt *e = n->alter_enum_stmt;
		if (!e->new_val || !*e->new_val || (e->old_val && *e->old_val) ||
		    (e->new_val_neighbor && *e->new_val_neighbor))
			continue;
		lint_report(f, "require-enum-value-ordering", -1,
		            "Add `BEFORE` or `AFTER` to specify the position of the new enum value.",
		            "ADD VALUE '%s' without BEFORE or AFTER appends it to the end of the enum, "
		            "which may give an unexpected order.",
		            e->new_val);
	}
}
