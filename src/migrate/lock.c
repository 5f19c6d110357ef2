/*
 * lock.c -- the migration lock of the interop contract: a session-level
 * advisory lock on (1751936052, first 4 bytes of sha256(current_database())
 * & 0x7fffffff), the same key the Python precursor takes, so that the two
 * tools exclude each other too.
 *
 * The wait is bounded with lock_timeout set for one transaction only: the
 * lock itself is session-level and outlives that transaction, while the
 * migrations that follow keep the session's own lock_timeout.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "log.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records the lock error, naming the holder when it can be found. */
static cf_status holder_error(mig_session *s, long timeout_ms)
{
	cf_ctx *ctx = s->ctx;
	char ns[32], key[32];
	snprintf(ns, sizeof(ns), "%ld", MIG_LOCK_NAMESPACE);
	snprintf(key, sizeof(key), "%ld", s->lock_key);
	const char *params[] = {ns, key};
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(s->pg, cf_sql_migrate_lock_holder, 2, params, &r);
	if (st)
		return st;
	if (cf_pgres_nrows(r) == 0) {
		cf_pgres_free(r);
		cf_error_set(ctx, CF_ERR_LOCK, "could not take the migration lock on \"%s\": it was "
		                               "held by another session", s->dbname);
		cf_error_hint(ctx, "The holder has just released it; run the command again.");
		return CF_ERR_LOCK;
	}
	const char *pid = cf_pgres_get(r, 0, 0), *app = cf_pgres_get(r, 0, 1),
	           *client = cf_pgres_get(r, 0, 2), *user = cf_pgres_get(r, 0, 3),
	           *state = cf_pgres_get(r, 0, 5);
	long held = atol(cf_pgres_get(r, 0, 4));
	char held_for[64];
	if (held < 0)
		snprintf(held_for, sizeof(held_for), "an unknown time");
	else if (held < 120)
		snprintf(held_for, sizeof(held_for), "%ld s", held);
	else
		snprintf(held_for, sizeof(held_for), "%ld min %ld s", held / 60, held % 60);
	cf_error_set(ctx, CF_ERR_LOCK,
	             "migration lock on \"%s\" is held by pid %s (application_name \"%s\", "
	             "client %s) for %s",
	             s->dbname, pid, app, client, held_for);
	cf_error_detail(ctx, "Waited %ld ms. The holder is user \"%s\", session state \"%s\"; "
	                     "the time held is counted from the start of its session.",
	                timeout_ms, user, state);
	cf_error_hint(ctx, "Wait for it to finish and run again, or wait longer with "
	                   "--lock-timeout MS. If that process is gone but its session "
	                   "remains, end it with SELECT pg_terminate_backend(%s).", pid);
	cf_pgres_free(r);
	return CF_ERR_LOCK;
}

static cf_status try_lock(mig_session *s, bool *got)
{
	char *sql = cf_sql_format(s->pg, "SELECT pg_try_advisory_lock(%ld, %ld)", MIG_LOCK_NAMESPACE,
	                          s->lock_key);
	char *v = NULL;
	cf_status st = cf_pg_query_value(s->pg, sql, 0, NULL, &v);
	*got = !st && v && strcmp(v, "t") == 0;
	free(v);
	free(sql);
	return st;
}

cf_status mig_lock(mig_session *s)
{
	cf_ctx *ctx = s->ctx;
	long timeout = ctx->cfg->migration.lock_timeout_ms;
	bool got = false;
	cf_status st = try_lock(s, &got);
	if (st || got) {
		s->has_lock = got;
		return st;
	}
	if (timeout > 0) {
		cf_log_info(ctx, "waiting up to %ld ms for the migration lock on \"%s\"", timeout,
		            s->dbname);
		char *sql = cf_sql_format(s->pg,
		                          "BEGIN; SELECT set_config('lock_timeout', '%ldms', true); "
		                          "SELECT pg_advisory_lock(%ld, %ld); COMMIT",
		                          timeout, MIG_LOCK_NAMESPACE, s->lock_key);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
		if (!st) {
			s->has_lock = true;
			return CF_OK;
		}
		cf_pg_rollback(s->pg);
		const char *state = cf_error_sqlstate_get(ctx);
		if (!state || strcmp(state, "55P03") != 0)
			return st; /* cancelled, or the connection broke */
		cf_ctx_clear_error(ctx);
	}
	return holder_error(s, timeout);
}

void mig_unlock(mig_session *s)
{
	if (!s->has_lock || !s->pg || cf_pg_is_bad(s->pg))
		return;
	/* Cleanup must not clobber the error being reported. */
	cf_err_stash stash;
	cf_error_stash(s->ctx, &stash);
	if (cf_pg_in_transaction(s->pg))
		cf_pg_rollback(s->pg);
	char *sql = cf_sql_format(s->pg, "SELECT pg_advisory_unlock(%ld, %ld)", MIG_LOCK_NAMESPACE,
	                          s->lock_key);
	cf_pg_exec(s->pg, sql);
	free(sql);
	cf_ctx_clear_error(s->ctx);
	cf_error_unstash(s->ctx, &stash);
	s->has_lock = false;
}
