/* history.c -- `sync history`: the runs recorded in a target. */
#include "sync.h"
#include "dbref.h"
#include "error.h"
#include "fs.h"

#include <stdlib.h>
#include <string.h>

/* Columns added by later versions are read through to_jsonb, so that the
 * history of a target last synced by an older confiture still lists. */
static const char SQL_HISTORY[] =
	"SELECT h.run_id, to_char(h.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"to_char(h.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), h.run_by, "
	"h.source, h.outcome, h.error, h.resumed_from, h.tables::text, h.rows, h.bytes, h.duration_s, "
	"h.anonymized, coalesce(to_jsonb(h)->>'mode', 'full'), to_jsonb(h)->>'added', "
	"to_jsonb(h)->>'updated', to_jsonb(h)->>'deleted', to_jsonb(h)->>'unchanged', %s "
	"FROM confiture.sync_history h %s ORDER BY h.started_at DESC, h.run_id";
static const char SQL_BACKUP_COLS[] =
	"b.kind, b.location, b.kind = 'schema' AND to_regnamespace(quote_ident(b.location)) IS NOT NULL";
static const char SQL_BACKUP_JOIN[] =
	"LEFT JOIN confiture.sync_backups b ON b.run_id = h.run_id";

static void fill_run(cf_sync_run *run, const cf_pgres *r, int i)
{
	run->run_id = cf_strdup(cf_pgres_get(r, i, 0));
	run->started_at = cf_strdup(cf_pgres_get(r, i, 1));
	run->finished_at = cf_strdup(cf_pgres_get(r, i, 2));
	run->run_by = cf_strdup(cf_pgres_get(r, i, 3));
	run->source = cf_strdup(cf_pgres_get(r, i, 4));
	run->outcome = cf_strdup(cf_pgres_get(r, i, 5));
	run->error = cf_strdup(cf_pgres_get(r, i, 6));
	run->resumed_from = cf_strdup(cf_pgres_get(r, i, 7));
	cf_strv tables;
	cf_strv_init(&tables);
	parse_text_array(cf_pgres_get(r, i, 8), &tables);
	run->n_tables = tables.n;
	run->tables = tables.v ? tables.v : cf_calloc(1, sizeof(char *));
	run->rows = atoll(cf_pgres_get(r, i, 9));
	run->bytes = atoll(cf_pgres_get(r, i, 10));
	const char *d = cf_pgres_get(r, i, 11);
	run->duration_s = d ? atof(d) : 0;
	run->is_anonymized = strcmp(cf_pgres_get(r, i, 12), "t") == 0;
	run->mode = cf_strdup(cf_pgres_get(r, i, 13));
	run->has_counts = cf_pgres_get(r, i, 14) != NULL;
	run->added = run->has_counts ? atoll(cf_pgres_get(r, i, 14)) : 0;
	run->updated = run->has_counts ? atoll(cf_pgres_get(r, i, 15)) : 0;
	run->deleted = run->has_counts ? atoll(cf_pgres_get(r, i, 16)) : 0;
	run->unchanged = run->has_counts ? atoll(cf_pgres_get(r, i, 17)) : 0;
	run->backup_kind = cf_strdup(cf_pgres_get(r, i, 18));
	run->backup_location = cf_strdup(cf_pgres_get(r, i, 19));
	run->is_backup_present = run->backup_kind &&
	                         (strcmp(run->backup_kind, "dir") == 0
	                              ? cf_is_file(run->backup_location)
	                              : strcmp(cf_pgres_get(r, i, 20), "t") == 0);
}

cf_status sync_connect_target(cf_ctx *ctx, const char *target, cf_pg **pg, char **display)
{
	if (!target) {
		cf_status st = cf_pg_connect_env(ctx, pg);
		if (!st)
			*display = cf_strdup(cf_pg_display(*pg));
		return st;
	}
	cf_dbref ref;
	cf_status st = cf_dbref_resolve(ctx, target, &ref);
	if (st)
		return st;
	*display = cf_strdup(ref.display);
	st = cf_pg_connect(ctx, ref.conninfo, pg);
	cf_dbref_release(&ref);
	return st;
}

cf_status cf_sync_history_list(cf_ctx *ctx, const char *target, long limit, cf_sync_history **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_history *h = cf_calloc(1, sizeof(*h));
	*out = h;
	cf_pg *pg = NULL;
	cf_status st = sync_connect_target(ctx, target, &pg, &h->target);
	char *exists = NULL;
	if (!st)
		st = cf_pg_query_value(pg, "SELECT to_regclass('confiture.sync_history') IS NOT NULL", 0,
		                       NULL, &exists);
	char *backups = NULL;
	if (!st)
		st = cf_pg_query_value(pg, "SELECT to_regclass('confiture.sync_backups') IS NOT NULL", 0,
		                       NULL, &backups);
	if (!st && exists && strcmp(exists, "t") == 0) {
		cf_pgres *r = NULL;
		bool has_b = backups && strcmp(backups, "t") == 0;
		char *sql = cf_asprintf(SQL_HISTORY, has_b ? SQL_BACKUP_COLS : "NULL, NULL, NULL",
		                        has_b ? SQL_BACKUP_JOIN : "");
		st = cf_pg_query(pg, sql, 0, NULL, &r);
		free(sql);
		int n = st ? 0 : cf_pgres_nrows(r);
		if (limit > 0 && n > limit)
			n = (int)limit;
		h->runs = cf_calloc((size_t)n + 1, sizeof(cf_sync_run));
		for (int i = 0; i < n; i++)
			fill_run(&h->runs[h->n_runs++], r, i);
		cf_pgres_free(r);
	}
	free(exists);
	free(backups);
	cf_pg_close(pg);
	h->success = st == CF_OK;
	if (st) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, ctx);
		h->errors = l.v;
		h->n_errors = l.n;
	}
	return st;
}

void cf_sync_history_free(cf_sync_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_runs; i++) {
		cf_sync_run *r = &h->runs[i];
		free(r->run_id);
		free(r->started_at);
		free(r->finished_at);
		free(r->run_by);
		free(r->source);
		free(r->outcome);
		free(r->error);
		free(r->resumed_from);
		free(r->mode);
		free(r->backup_kind);
		free(r->backup_location);
		for (size_t k = 0; k < r->n_tables; k++)
			free(r->tables[k]);
		free(r->tables);
	}
	free(h->runs);
	for (size_t i = 0; i < h->n_errors; i++)
		cf_error_item_release(&h->errors[i]);
	free(h->errors);
	free(h->target);
	free(h);
}
