/*
 * backups.c -- `sync backups [list]` and `sync backups prune --keep N`: the
 * backups runs kept in a target (backup.c), and removing old ones (their
 * schemas dropped, their dump files deleted, their records gone). Pruning
 * writes to the target, so a protected target refuses it, as it refuses a
 * sync.
 */
#include "sync.h"
#include "dbref.h"
#include "error.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SQL_LIST[] =
	"SELECT run_id, kind, location, to_char(created_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), tables::text, kind = 'schema' AND "
	"to_regnamespace(quote_ident(location)) IS NOT NULL FROM confiture.sync_backups "
	"ORDER BY created_at DESC, run_id";

static cf_status list(cf_ctx *ctx, cf_pg *pg, cf_sync_backups *b)
{
	(void)ctx;
	char *exists = NULL;
	cf_status st = cf_pg_query_value(pg, "SELECT to_regclass('confiture.sync_backups') IS NOT "
	                                 "NULL", 0, NULL, &exists);
	bool has = !st && exists && strcmp(exists, "t") == 0;
	free(exists);
	cf_pgres *r = NULL;
	if (has)
		st = cf_pg_query(pg, SQL_LIST, 0, NULL, &r);
	int n = has && !st ? cf_pgres_nrows(r) : 0;
	b->backups = cf_calloc((size_t)n + 1, sizeof(cf_sync_backup));
	for (int i = 0; i < n; i++) {
		cf_sync_backup *k = &b->backups[b->n_backups++];
		k->run_id = cf_strdup(cf_pgres_get(r, i, 0));
		k->kind = cf_strdup(cf_pgres_get(r, i, 1));
		k->location = cf_strdup(cf_pgres_get(r, i, 2));
		k->created_at = cf_strdup(cf_pgres_get(r, i, 3));
		cf_strv tables;
		cf_strv_init(&tables);
		parse_text_array(cf_pgres_get(r, i, 4), &tables);
		k->n_tables = tables.n;
		k->tables = tables.v ? tables.v : cf_calloc(1, sizeof(char *));
		k->is_present = strcmp(k->kind, "dir") == 0 ? cf_is_file(k->location)
		                                             : strcmp(cf_pgres_get(r, i, 5), "t") == 0;
	}
	cf_pgres_free(r);
	return st;
}

static cf_status remove_one(cf_ctx *ctx, cf_pg *pg, cf_sync_backup *k)
{
	cf_status st = cf_pg_begin(pg);
	if (!st && strcmp(k->kind, "schema") == 0) {
		char *sql = cf_sql_format(pg, "DROP SCHEMA IF EXISTS %I CASCADE", k->location);
		st = cf_pg_exec(pg, sql);
		free(sql);
	}
	const char *params[] = {k->run_id};
	if (!st)
		st = cf_pg_exec_params(pg, "DELETE FROM confiture.sync_backups WHERE run_id = $1", 1,
		                       params);
	if (!st)
		st = cf_pg_commit(pg);
	if (st) {
		cf_pg_rollback(pg);
		return st;
	}
	/* The record is gone first: a file left over is only disk space. */
	if (strcmp(k->kind, "dir") == 0 && unlink(k->location) != 0 && errno != ENOENT)
		cf_log_warning(ctx, "could not delete \"%s\": %s", k->location, strerror(errno));
	k->is_removed = true;
	k->is_present = false;
	return CF_OK;
}

static cf_status open_for_prune(cf_ctx *ctx, const char *target, cf_pg **pg, char **display)
{
	if (target) {
		cf_dbref ref;
		cf_status st = cf_dbref_resolve(ctx, target, &ref);
		if (st)
			return st;
		st = sync_refuse_protected(ctx, &ref, "prune the backups of");
		cf_dbref_release(&ref);
		if (st)
			return st;
	}
	return sync_connect_target(ctx, target, pg, display);
}

static void finish(cf_ctx *ctx, cf_sync_backups *b, cf_status st)
{
	b->success = st == CF_OK;
	if (st) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, ctx);
		b->errors = l.v;
		b->n_errors = l.n;
	}
}

cf_status cf_sync_backups_list(cf_ctx *ctx, const char *target, cf_sync_backups **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_backups *b = cf_calloc(1, sizeof(*b));
	*out = b;
	cf_pg *pg = NULL;
	cf_status st = sync_connect_target(ctx, target, &pg, &b->target);
	if (!st)
		st = list(ctx, pg, b);
	cf_pg_close(pg);
	finish(ctx, b, st);
	return st;
}

cf_status cf_sync_backups_prune(cf_ctx *ctx, const char *target, long keep,
                                cf_sync_backups **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_backups *b = cf_calloc(1, sizeof(*b));
	*out = b;
	cf_pg *pg = NULL;
	cf_status st = keep < 0 ? cf_error_set(ctx, CF_ERR_USAGE, "--keep needs 0 or more")
	                        : open_for_prune(ctx, target, &pg, &b->target);
	char *v = NULL;
	if (!st)
		st = cf_pg_query_value(pg, "SELECT pg_try_advisory_lock(1751936052, 1937337955)", 0,
		                       NULL, &v);
	if (!st && (!v || strcmp(v, "t") != 0))
		st = cf_error_set(ctx, CF_ERR_LOCK, "another confiture sync is writing to %s", b->target);
	bool locked = !st;
	free(v);
	if (!st)
		st = list(ctx, pg, b);
	for (size_t i = (size_t)keep; !st && i < b->n_backups; i++) {
		st = remove_one(ctx, pg, &b->backups[i]);
		b->n_removed += !st;
	}
	if (locked)
		cf_pg_exec_always(pg, "SELECT pg_advisory_unlock(1751936052, 1937337955)", 0, NULL);
	cf_pg_close(pg);
	finish(ctx, b, st);
	return st;
}

void cf_sync_backups_free(cf_sync_backups *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_backups; i++) {
		cf_sync_backup *k = &b->backups[i];
		free(k->run_id);
		free(k->kind);
		free(k->location);
		free(k->created_at);
		for (size_t t = 0; t < k->n_tables; t++)
			free(k->tables[t]);
		free(k->tables);
	}
	free(b->backups);
	for (size_t i = 0; i < b->n_errors; i++)
		cf_error_item_release(&b->errors[i]);
	free(b->errors);
	free(b->target);
	free(b);
}
