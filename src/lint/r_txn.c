/*
 * r_txn.c -- transactions and timeouts: nesting, uncommitted BEGIN,
 * statements that cannot run in a transaction block, what migrate would
 * refuse, and lock_timeout / statement_timeout before slow statements.
 */
#include "lint_int.h"

#include <string.h>

static const char *NESTING_HELP =
	"Put migration statements in separate files to have them be in separate transactions or "
	"don't use the assume-in-transaction setting.";

/* Squawk's view of a plain file; a migration is migrate's business (below). */
void lint_transaction_nesting(lint_file *f)
{
	if (f->kind != LINT_PLAIN)
		return;
	bool explicit = false;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		cf_stmt_kind k = f->t->stmts[f->cur].kind;
		if (k == CF_STMT_BEGIN) {
			if (f->runs_in_tx)
				lint_report(f, "transaction-nesting", -1, NESTING_HELP,
				            "There is an existing transaction already in progress, managed by "
				            "your migration tool.");
			else if (explicit)
				lint_report(f, "transaction-nesting", -1, NESTING_HELP,
				            "There is an existing transaction already in progress.");
			explicit = true;
		} else if (k == CF_STMT_COMMIT || k == CF_STMT_ROLLBACK) {
			if (f->runs_in_tx)
				lint_report(f, "transaction-nesting", -1, NESTING_HELP,
				            "Attempting to end the transaction that is managed by your "
				            "migration tool.");
			else if (!explicit)
				lint_report(f, "transaction-nesting", -1,
				            "`BEGIN` a transaction at an earlier point in the migration or "
				            "remove this statement.",
				            "There is no transaction to `COMMIT` or `ROLLBACK`.");
			explicit = false;
		}
	}
}

void lint_ban_uncommitted_transaction(lint_file *f)
{
	size_t open = SIZE_MAX;
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		cf_stmt_kind k = f->t->stmts[i].kind;
		if (k == CF_STMT_BEGIN)
			open = i;
		else if (k == CF_STMT_COMMIT || k == CF_STMT_ROLLBACK)
			open = SIZE_MAX;
	}
	if (open == SIZE_MAX)
		return;
	f->cur = open;
	lint_report(f, "ban-uncommitted-transaction", -1,
	            "Add a `COMMIT` or `ROLLBACK` statement to complete the transaction.",
	            "Transaction never committed or rolled back.");
}

/* Why statement I cannot run in a transaction block at the run's version. */
static const char *nontx_why(const lint_file *f, size_t i)
{
	if (f->t->stmts[i].nontx)
		return f->t->stmts[i].nontx;
	const PgQuery__Node *n = lint_stmt(f, i);
	if (f->run->pg_version < 120000 && n->node_case == PG_QUERY__NODE__NODE_ALTER_ENUM_STMT &&
	    n->alter_enum_stmt->new_val && *n->alter_enum_stmt->new_val)
		return "ALTER TYPE ... ADD VALUE before PostgreSQL 12";
	return NULL;
}

void lint_nontransactional_in_transaction(lint_file *f)
{
	if (f->kind == LINT_PLAIN && f->t->n_stmts < 2)
		return; /* runs alone, as ban-concurrent-index-creation-in-transaction has it */
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		const char *why = nontx_why(f, f->cur);
		if (!why || !f->in_tx[f->cur])
			continue;
		/* CREATE INDEX CONCURRENTLY has Squawk's rule. */
		if (n->node_case == PG_QUERY__NODE__NODE_INDEX_STMT && f->kind == LINT_PLAIN)
			continue;
		lint_report(f, "nontransactional-in-transaction", -1,
		            f->kind == LINT_MIGRATION
		                ? "Move it to a migration of its own; confiture runs a file holding "
		                  "only such statements outside a transaction (or mark the file with "
		                  "-- confiture:no-transaction)."
		                : "Run it outside BEGIN ... COMMIT, in a file of its own.",
		            "%s cannot run inside a transaction block, and this %s runs in one.", why,
		            f->kind == LINT_MIGRATION ? "migration" : "file");
	}
}

/* ---- Timeouts ------------------------------------------------------------------------- */

/* Lock modes, weakest first, as PostgreSQL numbers them (lockdefs.h). */
static const char *const LOCK_NAMES[] = {"", "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE",
                                         "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
                                         "EXCLUSIVE", "ACCESS EXCLUSIVE"};
enum { L_NONE, L_AS, L_RS, L_RX, L_SUX, L_S, L_SRX, L_X, L_AX };

static int cmd_lock(const PgQuery__AlterTableCmd *c)
{
	switch (c->subtype) {
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ClusterOn:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropCluster:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetRelOptions:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ResetRelOptions:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetStatistics:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_SetOptions:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ResetOptions:
		return L_SUX;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint: {
		const PgQuery__Constraint *con = lint_constraint(c->def);
		return con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN ? L_SRX : L_AX;
	}
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableAlwaysTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableReplicaTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrig:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigAll:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_EnableTrigUser:
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DisableTrigUser:
		return L_SRX;
	default:
		return L_AX;
	}
}

static bool has_concurrent_param(PgQuery__Node *const *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(p[i]->def_elem->defname, "concurrently") == 0)
			return true;
	return false;
}

static bool vacuum_full(const PgQuery__VacuumStmt *v)
{
	for (size_t i = 0; i < v->n_options; i++)
		if (v->options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(v->options[i]->def_elem->defname, "full") == 0)
			return true;
	return false;
}

/* The lock the statement takes (0 when not known), for the message. */
static int stmt_lock(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT: {
		int l = n->alter_table_stmt->n_cmds ? L_NONE : L_AX;
		for (size_t k = 0; k < n->alter_table_stmt->n_cmds; k++) {
			const PgQuery__Node *c = n->alter_table_stmt->cmds[k];
			int m = c->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD
			            ? cmd_lock(c->alter_table_cmd)
			            : L_AX;
			l = m > l ? m : l;
		}
		return l;
	}
	case PG_QUERY__NODE__NODE_CLUSTER_STMT: return L_AX;
	case PG_QUERY__NODE__NODE_COMMENT_STMT: return L_SUX;
	case PG_QUERY__NODE__NODE_INDEX_STMT: return n->index_stmt->concurrent ? L_SUX : L_S;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX)
			return n->drop_stmt->concurrent ? L_SUX : L_AX;
		return n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE ||
		               n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_VIEW
		           ? L_AX
		           : L_NONE;
	case PG_QUERY__NODE__NODE_LOCK_STMT:
		return n->lock_stmt->mode >= L_AS && n->lock_stmt->mode <= L_AX ? n->lock_stmt->mode : L_AX;
	case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
		return n->refresh_mat_view_stmt->concurrent ? L_X : L_AX;
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		return has_concurrent_param(n->reindex_stmt->params, n->reindex_stmt->n_params) ? L_SUX
		                                                                                : L_AX;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT: return L_AX;
	case PG_QUERY__NODE__NODE_RENAME_STMT: return L_AX;
	case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT: return L_AX;
	case PG_QUERY__NODE__NODE_VACUUM_STMT: return vacuum_full(n->vacuum_stmt) ? L_AX : L_SUX;
	default: return L_NONE;
	}
}

static bool create_has_fk(const PgQuery__CreateStmt *c)
{
	for (size_t i = 0; i < c->n_table_elts; i++) {
		const PgQuery__Node *e = c->table_elts[i];
		const PgQuery__Constraint *con = lint_constraint(e);
		if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
			return true;
		if (e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
			continue;
		for (size_t j = 0; j < e->column_def->n_constraints; j++) {
			con = lint_constraint(e->column_def->constraints[j]);
			if (con && con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
				return true;
		}
	}
	return false;
}

/* Might the statement stall normal queries (DDL, locks, rewrites)? DML is not
 * counted, so that ordinary SQL files lint clean (Squawk's choice, kept). */
static bool possibly_slow(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		return create_has_fk(n->create_stmt);
	case PG_QUERY__NODE__NODE_VACUUM_STMT:
		return n->vacuum_stmt->is_vacuumcmd;
	case PG_QUERY__NODE__NODE_INSERT_STMT: case PG_QUERY__NODE__NODE_DELETE_STMT:
	case PG_QUERY__NODE__NODE_UPDATE_STMT: case PG_QUERY__NODE__NODE_MERGE_STMT:
	case PG_QUERY__NODE__NODE_SELECT_STMT: case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT: case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
	case PG_QUERY__NODE__NODE_GRANT_STMT: case PG_QUERY__NODE__NODE_GRANT_ROLE_STMT:
	case PG_QUERY__NODE__NODE_DO_STMT: case PG_QUERY__NODE__NODE_CALL_STMT:
	case PG_QUERY__NODE__NODE_COPY_STMT: case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
	case PG_QUERY__NODE__NODE_CHECK_POINT_STMT: case PG_QUERY__NODE__NODE_DISCARD_STMT:
	case PG_QUERY__NODE__NODE_NOTIFY_STMT: case PG_QUERY__NODE__NODE_LISTEN_STMT:
	case PG_QUERY__NODE__NODE_UNLISTEN_STMT: case PG_QUERY__NODE__NODE_PREPARE_STMT:
	case PG_QUERY__NODE__NODE_EXECUTE_STMT: case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
	case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT: case PG_QUERY__NODE__NODE_FETCH_STMT:
	case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT: case PG_QUERY__NODE__NODE_CONSTRAINTS_SET_STMT:
	case PG_QUERY__NODE__NODE_REASSIGN_OWNED_STMT: case PG_QUERY__NODE__NODE_SEC_LABEL_STMT:
	case PG_QUERY__NODE__NODE__NOT_SET:
		return false;
	default:
		return true; /* CREATE, ALTER, DROP, COMMENT, LOCK, REINDEX, TRUNCATE, ... */
	}
}

/* SET [LOCAL] NAME = ... (not foo.NAME) */
static bool sets(const PgQuery__Node *n, const char *name)
{
	return n->node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT &&
	       n->variable_set_stmt->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
	       n->variable_set_stmt->name && strcmp(n->variable_set_stmt->name, name) == 0;
}

void lint_timeouts(lint_file *f)
{
	/* A migration's session may already carry them (see context.c). */
	bool lock = f->kind == LINT_MIGRATION && f->run->session_lock_timeout;
	bool stmt = f->kind == LINT_MIGRATION && f->run->session_statement_timeout;
	for (f->cur = 0; f->cur < f->t->n_stmts && !(lock && stmt); f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		lock |= sets(n, "lock_timeout");
		stmt |= sets(n, "statement_timeout");
		if (!possibly_slow(n))
			continue;
		if (!lock) {
			int l = stmt_lock(n);
			static const char *const BLOCKS[] = {"", "schema changes", "schema changes",
			                                     "schema changes", "schema changes",
			                                     "writes, schema changes", "writes, schema changes",
			                                     "writes, schema changes",
			                                     "reads, writes, schema changes"};
			if (l)
				lint_report(f, "require-lock-timeout", -1,
				            "Configure a `lock_timeout` before this statement (e.g. SET "
				            "lock_timeout = '1s').",
				            "Missing `set lock_timeout` before potentially slow %s lock "
				            "operations (blocking %s).",
				            LOCK_NAMES[l], BLOCKS[l]);
			else
				lint_report(f, "require-lock-timeout", -1,
				            "Configure a `lock_timeout` before this statement (e.g. SET "
				            "lock_timeout = '1s').",
				            "Missing `set lock_timeout` before potentially slow operations.");
			lock = true; /* once per file */
		}
		if (!stmt) {
			lint_report(f, "require-statement-timeout", -1,
			            "Configure a `statement_timeout` before this statement (e.g. SET "
			            "statement_timeout = '5s').",
			            "Missing `set statement_timeout` before potentially slow operations.");
			stmt = true;
		}
	}
}

/* ---- What migrate would refuse -------------------------------------------------------- */

void lint_migration_refused(lint_file *f, const char *message, int line, int column)
{
	/* The statement at LINE:COLUMN (or the first one). */
	f->cur = 0;
	for (size_t i = 0; i < f->t->n_stmts; i++) {
		const cf_stmt *s = &f->t->stmts[i];
		if (s->line < line || (s->line == line && s->column <= column))
			f->cur = i;
	}
	if (f->t->n_stmts == 0)
		return;
	lint_report(f, "migration-refused", -1,
	            "confiture runs each migration in one transaction of its own: remove "
	            "transaction control, or see docs/migrate.md.",
	            "migrate up would refuse this file: %s", message);
}
