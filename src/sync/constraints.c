/*
 * constraints.c -- the target's foreign keys and triggers while a sync loads.
 *
 * Loading tables in parallel, each in its own transaction, needs the foreign
 * keys touching them out of the way and their user triggers quiet. Both are
 * recorded in confiture.sync_restore in the same transaction that drops or
 * disables them, so that whoever ends the run can put them back:
 *
 *   - the run itself, when it completes, and on every failure path it lives
 *     through (an error, a cancelled statement, Ctrl-C, a lost connection:
 *     then on a fresh connection);
 *   - its guard process (guard.c), when confiture itself dies (kill -9);
 *   - the next sync, if even the guard could not reach the target.
 *
 * Putting back happens in two steps. First, in one transaction, triggers are
 * enabled in their old mode and foreign keys added back NOT VALID (instant:
 * no scan), their rows marked "added". Then each is validated on its own; a
 * validated one leaves the table. One that does not validate (a table outside
 * the sync references rows the sync replaced, or the run stopped between a
 * parent and its children) stays NOT VALID, still enforced for new rows, and
 * recorded, so that the next completed sync validates it again.
 */
#include "sync.h"
#include "error.h"
#include "log.h"
#include "sql_embed.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_RECORD[] =
	"INSERT INTO confiture.sync_restore (kind, table_name, name, definition, run_id, state) "
	"VALUES ($1, $2, $3, $4, $5, 'dropped') ON CONFLICT (kind, table_name, name) "
	"DO UPDATE SET state = 'dropped', run_id = EXCLUDED.run_id";

static cf_status drop_fks(cf_pg *dst, const catalog *dcat, const bool *copied, const char *run_id)
{
	cf_status st = CF_OK;
	for (size_t f = 0; !st && f < dcat->n_fks; f++) {
		const fk_info *fk = &dcat->fks[f];
		bool touches = (fk->child >= 0 && copied[fk->child]) ||
		               (fk->parent >= 0 && copied[fk->parent]);
		if (!touches)
			continue;
		const char *params[] = {"fk", fk->child_q, fk->name, fk->def, run_id};
		st = cf_pg_exec_params(dst, SQL_RECORD, 5, params);
		if (!st) {
			char *sql = cf_sql_format(dst, "ALTER TABLE %s DROP CONSTRAINT %I", fk->child_q,
			                          fk->name);
			st = cf_pg_exec(dst, sql);
			free(sql);
		}
	}
	return st;
}

static cf_status disable_triggers(cf_pg *dst, const catalog *dcat, const bool *copied,
                                  const char *run_id)
{
	cf_pgres *tr = NULL;
	cf_status st = cf_pg_query(dst, cf_sql_sync_triggers, 0, NULL, &tr);
	for (int k = 0; !st && k < cf_pgres_nrows(tr); k++) {
		int di = catalog_find(dcat, cf_pgres_get(tr, k, 0), cf_pgres_get(tr, k, 1));
		if (di < 0 || !copied[di])
			continue;
		const table_info *t = &dcat->tables[di];
		const char *params[] = {"trigger", t->quoted, cf_pgres_get(tr, k, 2),
		                        cf_pgres_get(tr, k, 3), run_id};
		st = cf_pg_exec_params(dst, SQL_RECORD, 5, params);
		if (!st) {
			char *sql = cf_sql_format(dst, "ALTER TABLE %s DISABLE TRIGGER %I", t->quoted,
			                          cf_pgres_get(tr, k, 2));
			st = cf_pg_exec(dst, sql);
			free(sql);
		}
	}
	cf_pgres_free(tr);
	return st;
}

cf_status sync_constraints_take(cf_ctx *ctx, cf_pg *dst, const catalog *dcat, const bool *copied,
                                const char *run_id)
{
	cf_status st = cf_pg_begin(dst);
	if (!st)
		st = drop_fks(dst, dcat, copied, run_id);
	if (!st)
		st = disable_triggers(dst, dcat, copied, run_id);
	if (!st)
		st = cf_pg_commit(dst);
	if (st) {
		cf_pg_rollback(dst);
		cf_error_context(ctx, "while dropping the target's foreign keys for the load");
	}
	return st;
}

cf_status sync_constraints_disable(runner *R)
{
	bool *copied = cf_calloc(R->dcat->n_tables + 1, sizeof(bool));
	for (size_t i = 0; i < R->p->n; i++)
		copied[R->p->tables[i].di] = true;
	cf_status st = sync_constraints_take(R->ctx, R->dst, R->dcat, copied, R->run_id);
	free(copied);
	return st;
}

/* Step 1: everything back in one transaction, foreign keys NOT VALID. */
static cf_status put_back(cf_ctx *ctx, cf_pg *dst)
{
	/* A table dropped since it was recorded has nothing to get back. */
	cf_pgres *r = NULL;
	cf_status st = cf_pg_exec(dst, "DELETE FROM confiture.sync_restore "
	                          "WHERE to_regclass(table_name) IS NULL");
	if (!st)
		st = cf_pg_query(dst, "SELECT kind, table_name, name, definition FROM "
		                 "confiture.sync_restore WHERE state = 'dropped' "
		                 "ORDER BY kind DESC, table_name, name", 0, NULL, &r);
	if (!st)
		st = cf_pg_begin(dst);
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++) {
		const char *kind = cf_pgres_get(r, k, 0), *table = cf_pgres_get(r, k, 1),
		           *name = cf_pgres_get(r, k, 2), *def = cf_pgres_get(r, k, 3);
		bool is_trigger = strcmp(kind, "trigger") == 0;
		char *sql;
		if (is_trigger) {
			const char *mode = def[0] == 'A' ? "ALWAYS " : def[0] == 'R' ? "REPLICA " : "";
			sql = cf_sql_format(dst, "ALTER TABLE %s ENABLE %sTRIGGER %I", table, mode, name);
		} else {
			size_t dl = strlen(def);
			bool not_valid = dl >= 9 && strcmp(def + dl - 9, "NOT VALID") == 0;
			sql = cf_sql_format(dst, "ALTER TABLE %s ADD CONSTRAINT %I %s%s", table, name, def,
			                    not_valid ? "" : " NOT VALID");
		}
		st = cf_pg_exec(dst, sql);
		free(sql);
		if (!st) {
			/* Triggers are done; foreign keys still have to validate. */
			const char *params[] = {kind, table, name};
			st = cf_pg_exec_params(dst, is_trigger
			                                ? "DELETE FROM confiture.sync_restore WHERE kind = $1 "
			                                  "AND table_name = $2 AND name = $3"
			                                : "UPDATE confiture.sync_restore SET state = 'added' "
			                                  "WHERE kind = $1 AND table_name = $2 AND name = $3",
			                       3, params);
		}
		if (st)
			cf_error_context(ctx, "while restoring %s \"%s\" on %s", kind, name, table);
	}
	cf_pgres_free(r);
	if (!st)
		st = cf_pg_commit(dst);
	else
		cf_pg_rollback(dst);
	return st;
}

/* Step 2: each foreign key added back is validated on its own. */
static cf_status validate_all(cf_ctx *ctx, cf_pg *dst, cf_prog *prog, cf_strv *failed)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(dst, "SELECT table_name, name, definition FROM "
	                           "confiture.sync_restore WHERE kind = 'fk' AND state = 'added' "
	                           "ORDER BY table_name, name", 0, NULL, &r);
	if (!st && cf_pgres_nrows(r))
		cf_prog_phase(prog, "validating foreign keys", cf_pgres_nrows(r));
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++) {
		cf_prog_phase_step(prog, k);
		const char *table = cf_pgres_get(r, k, 0), *name = cf_pgres_get(r, k, 1),
		           *def = cf_pgres_get(r, k, 2);
		size_t dl = strlen(def);
		bool was_valid = !(dl >= 9 && strcmp(def + dl - 9, "NOT VALID") == 0);
		if (was_valid) {
			char *sql = cf_sql_format(dst, "ALTER TABLE %s VALIDATE CONSTRAINT %I", table, name);
			cf_status vs = cf_pg_exec(dst, sql);
			free(sql);
			if (vs == CF_ERR_CANCELLED || cf_pg_is_bad(dst)) {
				st = vs;
				break;
			}
			if (vs) {
				/* It stays NOT VALID, and recorded: the next sync tries again. */
				cf_strv_push_owned(failed, cf_asprintf("%s on %s: %s", name, table,
				                                       cf_last_error(ctx)));
				cf_ctx_clear_error(ctx);
				continue;
			}
		}
		const char *params[] = {table, name};
		st = cf_pg_exec_params(dst, "DELETE FROM confiture.sync_restore WHERE kind = 'fk' AND "
		                       "table_name = $1 AND name = $2", 2, params);
	}
	cf_pgres_free(r);
	return st;
}

cf_status sync_constraints_restore(cf_ctx *ctx, cf_pg *dst, cf_prog *prog, cf_strv *failed)
{
	cf_status st = put_back(ctx, dst);
	if (!st)
		st = validate_all(ctx, dst, prog, failed);
	return st;
}

cf_status sync_constraints_restore_anew(const char *conninfo, cf_strv *failed, char **why)
{
	cf_ctx *cx = cf_ctx_new();
	cf_pg *pg = NULL;
	*why = NULL;
	cf_status st = cf_pg_connect(cx, conninfo, &pg);
	if (!st)
		st = sync_constraints_restore(cx, pg, NULL, failed);
	if (st)
		*why = cf_strdup(cf_last_error(cx));
	cf_pg_close(pg);
	cf_ctx_free(cx);
	return st;
}
