/*
 * r_index.c -- indexes, reindex, partitions, table rewrites, and whether a
 * statement can be re-run (prefer-robust-stmts).
 */
#include "lint_int.h"

#include <string.h>

void lint_require_concurrent_index_creation(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_INDEX_STMT)
			continue;
		const PgQuery__IndexStmt *ix = n->index_stmt;
		if (ix->concurrent || !ix->relation || lint_table_is_new(f, ix->relation->relname))
			continue;
		lint_report(f, "require-concurrent-index-creation", -1,
		            "Use `CONCURRENTLY` to avoid blocking writes.",
		            "Creating an index on \"%s\" blocks its writes (reads are still allowed) "
		            "while the index is built.",
		            ix->relation->relname);
	}
}

static bool is_drop_index(const PgQuery__Node *n)
{
	return n->node_case == PG_QUERY__NODE__NODE_DROP_STMT &&
	       n->drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX;
}

void lint_require_concurrent_index_deletion(lint_file *f)
{
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (is_drop_index(n) && !n->drop_stmt->concurrent)
			lint_report(f, "require-concurrent-index-deletion", -1,
			            "Drop the index `CONCURRENTLY`.",
			            "A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the table, "
			            "blocking every access until the drop completes.");
	}
}

void lint_ban_concurrent_index_creation_in_transaction(lint_file *f)
{
	/* A single statement runs alone in autocommit, even where a tool would
	 * wrap files in a transaction (Squawk's view, kept). */
	if (f->t->n_stmts < 2)
		return;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_INDEX_STMT && n->index_stmt->concurrent &&
		    f->in_tx[f->cur])
			lint_report(f, "ban-concurrent-index-creation-in-transaction", -1,
			            "Build the index outside any transaction.",
			            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block.");
	}
}

static bool has_concurrently(PgQuery__Node *const *params, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (params[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(params[i]->def_elem->defname, "concurrently") == 0)
			return true;
	return false;
}

void lint_require_concurrent_reindex(lint_file *f)
{
	/* REINDEX CONCURRENTLY exists from PostgreSQL 12 on. */
	if (f->run->pg_version < 120000)
		return;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_REINDEX_STMT)
			continue;
		const PgQuery__ReindexStmt *r = n->reindex_stmt;
		if (r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM ||
		    has_concurrently(r->params, r->n_params))
			continue;
		lint_report(f, "require-concurrent-reindex", -1,
		            "Use `CONCURRENTLY` to avoid blocking reads and writes.",
		            "Reindexing without `CONCURRENTLY` blocks reads and writes.");
	}
}

void lint_require_concurrent_partition_detach(lint_file *f)
{
	/* DETACH PARTITION ... CONCURRENTLY exists from PostgreSQL 14 on. */
	if (f->run->pg_version < 140000)
		return;
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_STMT)
			continue;
		const PgQuery__AlterTableStmt *a = n->alter_table_stmt;
		for (size_t k = 0; k < a->n_cmds; k++) {
			const PgQuery__Node *cn = a->cmds[k];
			if (cn->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD ||
			    cn->alter_table_cmd->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition)
				continue;
			const PgQuery__Node *d = cn->alter_table_cmd->def;
			if (d && d->node_case == PG_QUERY__NODE__NODE_PARTITION_CMD &&
			    d->partition_cmd->concurrent)
				continue;
			lint_report(f, "require-concurrent-partition-detach", -1,
			            "Detach the partition `CONCURRENTLY`.",
			            "Detaching a partition takes an ACCESS EXCLUSIVE lock, which blocks reads "
			            "and writes to the table.");
		}
	}
}

static bool is_vacuum_full(const PgQuery__VacuumStmt *v)
{
	if (!v->is_vacuumcmd)
		return false;
	for (size_t i = 0; i < v->n_options; i++)
		if (v->options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(v->options[i]->def_elem->defname, "full") == 0) {
			const PgQuery__Node *arg = v->options[i]->def_elem->arg;
			/* FULL false is not full. */
			return !(arg && arg->node_case == PG_QUERY__NODE__NODE_STRING &&
			         (strcmp(arg->string->sval, "false") == 0 ||
			          strcmp(arg->string->sval, "off") == 0));
		}
	return false;
}

void lint_prefer_repack(lint_file *f)
{
	/* REPACK arrives with PostgreSQL 19. */
	if (f->run->pg_version < 190000)
		return;
	static const char *help = "Use `repack` to rewrite the table without blocking reads and "
	                          "writes.";
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		if (n->node_case == PG_QUERY__NODE__NODE_CLUSTER_STMT)
			lint_report(f, "prefer-repack", -1, help,
			            "`cluster` takes an ACCESS EXCLUSIVE lock, which blocks reads and "
			            "writes to the table.");
		else if (n->node_case == PG_QUERY__NODE__NODE_VACUUM_STMT &&
		         is_vacuum_full(n->vacuum_stmt))
			lint_report(f, "prefer-repack", -1, help,
			            "`vacuum full` takes an ACCESS EXCLUSIVE lock, which blocks reads and "
			            "writes to the table.");
	}
}

/* ---- prefer-robust-stmts ------------------------------------------------------------- */

static const char *MISSING_IF_EXISTS =
	"Missing `IF EXISTS`, the migration can't be rerun if it fails part way through.";
static const char *MISSING_IF_NOT_EXISTS =
	"Missing `IF NOT EXISTS`, the migration can't be rerun if it fails part way through.";
static const char *MISSING_TX =
	"Missing transaction, the migration can't be rerun if it fails part way through.";

/* Constraints dropped earlier in the file may be re-added (and validated)
 * without a guard: a rerun drops them again first. */
typedef struct robust_state {
	cf_strv dropped, readded;
} robust_state;

static const char *robust_cmd(const PgQuery__AlterTableCmd *c, robust_state *st)
{
	switch (c->subtype) {
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropConstraint:
		if (c->name && !cf_strv_contains(&st->dropped, c->name))
			cf_strv_push(&st->dropped, c->name);
		return c->missing_ok ? NULL : MISSING_IF_EXISTS;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
		return c->missing_ok ? NULL : MISSING_IF_NOT_EXISTS;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
		return c->missing_ok ? NULL : MISSING_IF_EXISTS;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_ValidateConstraint:
		return c->name && (cf_strv_contains(&st->dropped, c->name) ||
		                   cf_strv_contains(&st->readded, c->name))
		           ? NULL
		           : MISSING_TX;
	case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint: {
		const PgQuery__Constraint *con = lint_constraint(c->def);
		if (con && con->conname && cf_strv_contains(&st->dropped, con->conname) &&
		    !cf_strv_contains(&st->readded, con->conname)) {
			cf_strv_push(&st->readded, con->conname);
			return NULL;
		}
		return MISSING_TX;
	}
	default:
		return MISSING_TX;
	}
}

static void robust_alter(lint_file *f, const PgQuery__AlterTableStmt *a, robust_state *st)
{
	for (size_t k = 0; k < a->n_cmds; k++) {
		if (a->cmds[k]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const char *msg = robust_cmd(a->cmds[k]->alter_table_cmd, st);
		if (msg && !f->in_tx[f->cur])
			lint_report(f, "prefer-robust-stmts", -1, NULL, "%s", msg);
	}
}

static bool drop_guarded_kind(const PgQuery__DropStmt *d)
{
	return d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_INDEX ||
	       d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE ||
	       d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE;
}

/* Is N an ALTER TABLE written as RENAME or SET SCHEMA? */
static bool alters_table(const PgQuery__Node *n)
{
	if (n->node_case == PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT)
		return n->alter_object_schema_stmt->object_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;
	const PgQuery__RenameStmt *r = n->rename_stmt;
	return r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE ||
	       r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT ||
	       (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
	        r->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE);
}

void lint_prefer_robust_stmts(lint_file *f)
{
	robust_state st;
	cf_strv_init(&st.dropped);
	cf_strv_init(&st.readded);
	for (f->cur = 0; f->cur < f->t->n_stmts; f->cur++) {
		const PgQuery__Node *n = lint_stmt(f, f->cur);
		bool in_tx = f->in_tx[f->cur];
		switch (n->node_case) {
		case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
			if (n->alter_table_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
				robust_alter(f, n->alter_table_stmt, &st);
			break;
		case PG_QUERY__NODE__NODE_RENAME_STMT:
		case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
			/* ALTER TABLE ... RENAME / SET SCHEMA: table actions too. */
			if (alters_table(n) && !in_tx)
				lint_report(f, "prefer-robust-stmts", -1, NULL, "%s", MISSING_TX);
			break;
		case PG_QUERY__NODE__NODE_INDEX_STMT: {
			const PgQuery__IndexStmt *ix = n->index_stmt;
			if (!ix->if_not_exists && ix->idxname && *ix->idxname && (ix->concurrent || !in_tx))
				lint_report(f, "prefer-robust-stmts", -1,
				            "Use an explicit name for a concurrently created index.", "%s",
				            MISSING_IF_NOT_EXISTS);
			break;
		}
		case PG_QUERY__NODE__NODE_CREATE_STMT: {
			const PgQuery__CreateStmt *c = n->create_stmt;
			bool temp_drop = c->relation && c->relation->relpersistence &&
			                 strcmp(c->relation->relpersistence, "t") == 0 &&
			                 c->oncommit == PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_DROP;
			if (!c->if_not_exists && !in_tx && !temp_drop)
				lint_report(f, "prefer-robust-stmts", -1, NULL, "%s", MISSING_IF_NOT_EXISTS);
			break;
		}
		case PG_QUERY__NODE__NODE_DROP_STMT:
			if (drop_guarded_kind(n->drop_stmt) && !n->drop_stmt->missing_ok && !in_tx)
				lint_report(f, "prefer-robust-stmts", -1, NULL, "%s", MISSING_IF_EXISTS);
			break;
		default:
			break;
		}
	}
	cf_strv_release(&st.dropped);
	cf_strv_release(&st.readded);
}
