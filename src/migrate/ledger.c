/*
 * ledger.c -- the tracking table (tb_confiture by default) and the session
 * that reads and writes it.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "log.h"
#include "secret.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The table name without its schema, for index names. */
static const char *table_base(const char *table)
{
	const char *dot = strrchr(table, '.');
	return dot ? dot + 1 : table;
}

cf_status mig_session_probe(mig_session *s)
{
	char *qt = cf_quote_qualified(s->pg, s->table);
	char *qp = cf_quote_qualified(s->pg, s->progress);
	const char *params[] = {qt, qp, s->table};
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(s->pg, cf_sql_migrate_probe, 3, params, &r);
	if (!st) {
		cf_str_set(&s->dbname, cf_pgres_get(r, 0, 0));
		s->lock_key = atol(cf_pgres_get(r, 0, 1));
		s->has_ledger = strcmp(cf_pgres_get(r, 0, 2), "t") == 0;
		s->has_applied_by = strcmp(cf_pgres_get(r, 0, 3), "t") == 0;
		s->has_progress = strcmp(cf_pgres_get(r, 0, 4), "t") == 0;
		s->has_check_interval = !cf_pgres_isnull(r, 0, 6);
		const char *schema = cf_pgres_get(r, 0, 5), *base = table_base(s->table);
		free(s->qtable);
		free(s->qprogress);
		s->qtable = cf_asprintf("%s.%s", schema, base);
		s->qprogress = cf_asprintf("%s.%s_progress", schema, base);
	}
	cf_pgres_free(r);
	free(qt);
	free(qp);
	return st;
}

cf_status mig_session_open(cf_ctx *ctx, const char *conninfo, mig_session *s)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	cf_strv_init(&s->slugs);
	s->table = cf_strdup(ctx->cfg->migration.tracking_table ? ctx->cfg->migration.tracking_table
	                                                       : "tb_confiture");
	s->progress = cf_asprintf("%s_progress", s->table);
	cf_status st = conninfo ? cf_pg_connect(ctx, conninfo, &s->pg) : cf_pg_connect_env(ctx, &s->pg);
	return st ? st : mig_session_probe(s);
}

void mig_session_close(mig_session *s)
{
	if (s->pg && s->has_lock)
		mig_unlock(s);
	cf_pg_close(s->pg);
	mig_ledger_release(&s->ledger);
	cf_strv_release(&s->slugs);
	free(s->slug_ts);
	free(s->sync_commit);
	free(s->reset_sql);
	free(s->table);
	free(s->progress);
	free(s->qtable);
	free(s->qprogress);
	free(s->dbname);
	memset(s, 0, sizeof(*s));
}

/* ---- Reading ----------------------------------------------------------------- */

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const mig_row *)a)->version, ((const mig_row *)b)->version);
}

/* Microseconds since the epoch to ISO 8601 in UTC. Formatting on the
 * client: to_json(timestamptz) costs the server several times more, which
 * shows over ten thousand rows. */
static char *iso_utc(const char *us_text)
{
	if (!us_text)
		return NULL;
	long long us = atoll(us_text);
	time_t sec = (time_t)(us / 1000000);
	long frac = (long)(us % 1000000);
	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	struct tm tm;
	gmtime_r(&sec, &tm);
	char buf[64];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06ld+00:00", frac);
	return cf_strdup(buf);
}

cf_status mig_ledger_read(mig_session *s, bool full)
{
	mig_ledger_release(&s->ledger);
	if (!s->has_ledger)
		return CF_OK;
	/* status and current need no slug or applied_by. */
	char *sql = cf_sql_format(
		s->pg,
		"SELECT version, name, (extract(epoch FROM applied_at) * 1000000)::bigint, "
		"execution_time_ms, %s checksum, %s FROM %Q",
		full ? "slug," : "NULL::text,",
		full && s->has_applied_by ? "applied_by" : "NULL::text", s->qtable);
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(s->pg, sql, 0, NULL, &r);
	free(sql);
	if (st)
		return st;
	int n = cf_pgres_nrows(r);
	s->ledger.v = cf_calloc((size_t)n + 1, sizeof(mig_row));
	for (int i = 0; i < n; i++) {
		mig_row *row = &s->ledger.v[i];
		row->version = cf_strdup(cf_pgres_get(r, i, 0));
		row->name = cf_strdup(cf_pgres_get(r, i, 1));
		row->applied_at = iso_utc(cf_pgres_get(r, i, 2));
		row->execution_time_ms = cf_pgres_isnull(r, i, 3) ? -1 : atol(cf_pgres_get(r, i, 3));
		row->checksum = cf_strdup(cf_pgres_get(r, i, 5));
		if (full) {
			row->slug = cf_strdup(cf_pgres_get(r, i, 4));
			row->applied_by = cf_strdup(cf_pgres_get(r, i, 6));
		}
	}
	s->ledger.n = (size_t)n;
	cf_pgres_free(r);
	/* Versions compare as strings (bytes), whatever the database collation. */
	qsort(s->ledger.v, s->ledger.n, sizeof(mig_row), row_cmp);
	return CF_OK;
}

void mig_ledger_release(mig_ledger *l)
{
	for (size_t i = 0; i < l->n; i++) {
		mig_row *r = &l->v[i];
		free(r->version);
		free(r->name);
		free(r->slug);
		free(r->applied_at);
		free(r->checksum);
		free(r->applied_by);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const mig_row *mig_ledger_find(const mig_ledger *l, const char *version)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid].version, version);
		if (c == 0)
			return &l->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const mig_row *mig_ledger_current(const mig_ledger *l)
{
	return l->n ? &l->v[l->n - 1] : NULL;
}

/* ---- Writing ------------------------------------------------------------------ */

char *mig_ledger_ddl(mig_session *s)
{
	const char *base = table_base(s->table);
	char *i1 = cf_asprintf("idx_%s_pk_confiture", base);
	char *i2 = cf_asprintf("idx_%s_slug", base);
	char *i3 = cf_asprintf("idx_%s_version", base);
	char *i4 = cf_asprintf("idx_%s_applied_at", base);
	const char *t = s->qtable;
	char *sql = cf_sql_format(s->pg, cf_sql_migrate_ledger, t, i1, t, i2, t, i3, t, i4, t);
	free(i1);
	free(i2);
	free(i3);
	free(i4);
	return sql;
}

cf_status mig_ledger_ensure(mig_session *s)
{
	cf_status st = CF_OK;
	if (!s->has_ledger) {
		char *sql = mig_ledger_ddl(s);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
		if (!st)
			s->has_ledger = s->has_applied_by = s->created_ledger = true;
		return st;
	}
	if (!s->has_applied_by) {
		/* A ledger written by an older precursor. */
		char *sql = cf_sql_format(s->pg, "ALTER TABLE %Q ADD COLUMN IF NOT EXISTS applied_by TEXT",
		                          s->qtable);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
		s->has_applied_by = st == CF_OK;
	}
	return st;
}

void mig_ledger_created(mig_session *s, bool committed)
{
	if (s->created_ledger && committed)
		cf_log_info(s->ctx, "created the tracking table \"%s\"", s->table);
	else if (s->created_ledger)
		s->has_ledger = s->has_applied_by = false;
	s->created_ledger = false;
}

/*
 * What a migration can leave in the session that changes what the next one
 * does: session authorization and role, settings, prepared statements,
 * temporary tables. (DISCARD ALL does this and more, and cannot run in a
 * transaction block; nor may the advisory lock go.) Each statement is
 * cheap, but there are as many resets as migrations: cursors, LISTEN,
 * sequence state and cached plans, which change nothing another migration
 * does, are left.
 */
static const char RESET_SQL[] = "RESET SESSION AUTHORIZATION;RESET ROLE;RESET ALL;"
                                "DEALLOCATE ALL;DISCARD TEMP";
enum { RESET_STMTS = 5 };

const char *mig_session_reset_sql(mig_session *s, size_t *n_stmts)
{
	/* RESET ALL also resets the settings the run made itself: put them back. */
	free(s->reset_sql);
	s->reset_sql = cf_asprintf("%s%s%s", RESET_SQL,
	                           s->has_check_interval
	                               ? ";SET client_connection_check_interval = '1s'" : "",
	                           s->sync_commit ? ";SET synchronous_commit = off" : "");
	if (n_stmts)
		*n_stmts = RESET_STMTS + s->has_check_interval + (s->sync_commit != NULL);
	return s->reset_sql;
}

cf_status mig_progress_ensure(mig_session *s)
{
	if (s->has_progress)
		return CF_OK;
	char *sql = cf_sql_format(s->pg, cf_sql_migrate_progress, s->qprogress);
	cf_status st = cf_pg_exec(s->pg, sql);
	free(sql);
	s->has_progress = st == CF_OK;
	return st;
}

char *mig_slug(const char *name, const char *suffix)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d_%H%M%S", &tm);
	return suffix ? cf_asprintf("%s_%s_%s", name, ts, suffix) : cf_asprintf("%s_%s", name, ts);
}

/* Does SLUG end with "_" TS? */
static bool slug_has_ts(const char *slug, const char *ts)
{
	size_t n = strlen(slug), k = strlen(ts);
	return n > k && slug[n - k - 1] == '_' && strcmp(slug + n - k, ts) == 0;
}

/*
 * The precursor's slug is NAME_TIMESTAMP, which repeats when two migrations
 * with the same name are applied within one second; the column is UNIQUE,
 * so such a slug gets the version appended. Only slugs of the current second
 * can collide: s->slugs holds those (from the ledger and from this run).
 * Decided here rather than by the server: a run of a thousand migrations
 * would pay a lookup each. (baseline.c, which copies other ledgers' slugs,
 * asks the server.)
 */
static char *unique_slug(mig_session *s, const char *name, const char *version)
{
	char *slug = mig_slug(name, NULL);
	const char *ts = slug + strlen(name) + 1;
	if (!s->slug_ts || strcmp(s->slug_ts, ts) != 0) {
		cf_str_set(&s->slug_ts, ts);
		cf_strv_release(&s->slugs);
		cf_strv_init(&s->slugs);
		for (size_t i = 0; i < s->ledger.n; i++)
			if (s->ledger.v[i].slug && slug_has_ts(s->ledger.v[i].slug, ts))
				cf_strv_push(&s->slugs, s->ledger.v[i].slug);
	}
	if (cf_strv_contains(&s->slugs, slug)) {
		char *longer = cf_asprintf("%s_%s", slug, version);
		free(slug);
		slug = longer;
	}
	cf_strv_push(&s->slugs, slug);
	return slug;
}

/* The INSERT of F's row; APPLIED_AT and ELAPSED are SQL expressions. */
static char *insert_sql(mig_session *s, const mig_file *f, const char *checksum,
                        const char *applied_at, const char *elapsed)
{
	char *slug = unique_slug(s, f->name, f->version);
	char *sql = cf_sql_format(
		s->pg,
		"INSERT INTO %Q (slug, version, name, applied_at, execution_time_ms, checksum, "
		"applied_by) VALUES (%L, %L, %L, %s, %s, %L, current_user)",
		s->qtable, slug, f->version, f->name, applied_at, elapsed, checksum);
	free(slug);
	return sql;
}

char *mig_ledger_insert_sql(mig_session *s, const mig_file *f, const char *checksum, long ms)
{
	char *elapsed = ms >= 0 ? cf_asprintf("%ld", ms)
	                        : cf_strdup("(extract(epoch FROM clock_timestamp() - "
	                                    "statement_timestamp()) * 1000)::integer");
	char *sql = insert_sql(s, f, checksum, "now()", elapsed);
	free(elapsed);
	return sql;
}

char *mig_ledger_insert_batch_sql(mig_session *s, const mig_file *f, const char *checksum,
                                  const char *prev)
{
	char *start = prev ? cf_sql_format(s->pg, "coalesce((SELECT applied_at FROM %Q WHERE "
	                                          "version = %L), statement_timestamp())",
	                                   s->qtable, prev)
	                   : cf_strdup("statement_timestamp()");
	char *elapsed = cf_asprintf("(extract(epoch FROM clock_timestamp() - %s) * 1000)::integer",
	                            start);
	char *sql = insert_sql(s, f, checksum, "clock_timestamp()", elapsed);
	free(elapsed);
	free(start);
	return sql;
}

char *mig_ledger_delete_sql(mig_session *s, const char *version)
{
	return cf_sql_format(s->pg, "DELETE FROM %Q WHERE version = %L", s->qtable, version);
}

void mig_ledger_times(mig_session *s, mig_file **files, size_t n, long *ms)
{
	cf_buf arr;
	cf_buf_init(&arr);
	cf_buf_putc(&arr, '{');
	for (size_t i = 0; i < n; i++) {
		ms[i] = -1;
		cf_buf_puts(&arr, i ? ",\"" : "\"");
		for (const char *c = files[i]->version; *c; c++) {
			if (*c == '"' || *c == '\\')
				cf_buf_putc(&arr, '\\');
			cf_buf_putc(&arr, *c);
		}
		cf_buf_putc(&arr, '"');
	}
	cf_buf_putc(&arr, '}');
	cf_err_stash stash;
	cf_error_stash(s->ctx, &stash);
	char *sql = cf_sql_format(s->pg, "SELECT version, execution_time_ms FROM %Q "
	                                 "WHERE version = ANY ($1::text[])",
	                          s->qtable);
	const char *params[] = {arr.data};
	cf_pgres *r = NULL;
	if (!cf_pg_is_bad(s->pg) && cf_pg_query(s->pg, sql, 1, params, &r) == CF_OK) {
		for (int row = 0; row < cf_pgres_nrows(r); row++)
			for (size_t i = 0; i < n; i++)
				if (!cf_pgres_isnull(r, row, 1) &&
				    strcmp(files[i]->version, cf_pgres_get(r, row, 0)) == 0)
					ms[i] = atol(cf_pgres_get(r, row, 1));
	}
	cf_pgres_free(r);
	free(sql);
	cf_buf_release(&arr);
	cf_ctx_clear_error(s->ctx);
	cf_error_unstash(s->ctx, &stash);
}

/* ---- Commit durability ----------------------------------------------------------- */

cf_status mig_async_begin(mig_session *s)
{
	if (s->sync_commit)
		return CF_OK;
	char *v = NULL;
	cf_status st = cf_pg_query_value(s->pg, "SELECT current_setting('synchronous_commit')", 0,
	                                 NULL, &v);
	if (!st && v && strcmp(v, "off") != 0) {
		st = cf_pg_exec(s->pg, "SET synchronous_commit = off");
		if (!st) {
			s->sync_commit = v;
			v = NULL;
		}
	}
	free(v);
	return st;
}

cf_status mig_async_end(mig_session *s)
{
	if (!s->sync_commit)
		return CF_OK;
	char *setting = s->sync_commit;
	s->sync_commit = NULL;
	cf_status st = CF_OK;
	if (s->pg && !cf_pg_is_bad(s->pg)) {
		/* A transaction with an xid commits a record, and with synchronous
		 * commit waits until the WAL up to it is flushed (and replicated, as
		 * configured): every earlier commit is then durable too. */
		const char *params[] = {setting};
		st = cf_pg_exec_params(s->pg, "SELECT set_config('synchronous_commit', $1, false)", 1,
		                       params);
		if (!st)
			st = cf_pg_exec(s->pg, "BEGIN; SELECT txid_current(); COMMIT");
		if (st)
			cf_pg_rollback(s->pg);
	}
	free(setting);
	return st;
}
