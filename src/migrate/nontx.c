/*
 * nontx.c -- migrations that run statement by statement, in autocommit.
 *
 * Each statement that can run in a transaction shares one (implicit) with
 * the row recording its completion, so it is done and recorded, or neither.
 * Statements that cannot (CREATE INDEX CONCURRENTLY, VACUUM, ...) are
 * recorded as started before and done after; a rerun that finds one started
 * but not done asks the catalogs whether it completed (an index that exists
 * and is valid, a database that exists, ...), and otherwise runs it again,
 * which for the statements without a catalog trace (VACUUM, REINDEX,
 * CLUSTER, ALTER SYSTEM) leaves the same state.
 *
 * The statements of one migration share the session, as they would with
 * psql: a SET ROLE holds for the ones after it. The progress rows are
 * written as the connecting user all the same (SET LOCAL, undone at the end
 * of each implicit transaction), and the ledger row after the session is
 * reset (see mig_session_reset_sql).
 */
#include "migrate_int.h"
#include "ctx.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_NONE, P_STARTED, P_DONE };

typedef struct progress {
	int *state;      /* per statement */
	int *pid;
	size_t n;
	bool any;
} progress;

static const char *dir_name(mig_dir dir)
{
	return dir == MIG_UP ? "up" : "down";
}

/* The progress row of statement I, written as the connecting user whatever
 * role the migration took (a multi-statement message is one implicit
 * transaction, which ends the SET LOCALs). */
static char *progress_sql(mig_session *s, const mig_file *f, mig_dir dir, size_t i,
                          const char *checksum, const char *state)
{
	return cf_sql_format(s->pg,
	                     "SET LOCAL SESSION AUTHORIZATION DEFAULT;SET LOCAL ROLE NONE;"
	                     "INSERT INTO %Q (version, direction, stmt_index, checksum, state, pid) "
	                     "VALUES (%L, %L, %zu, %L, %L, pg_backend_pid()) "
	                     "ON CONFLICT (version, direction, stmt_index) DO UPDATE "
	                     "SET state = EXCLUDED.state, pid = EXCLUDED.pid, updated_at = now()",
	                     s->qprogress, f->version, dir_name(dir), i, checksum, state);
}

static cf_status progress_read(mig_session *s, const mig_file *f, mig_dir dir,
                               const mig_script *sc, const char *checksum, progress *p)
{
	cf_ctx *ctx = s->ctx;
	p->n = sc->parsed->n_stmts;
	p->state = cf_calloc(p->n + 1, sizeof(int));
	p->pid = cf_calloc(p->n + 1, sizeof(int));
	char *sql = cf_sql_format(s->pg, "SELECT stmt_index, state, checksum, coalesce(pid, 0) FROM %Q "
	                                 "WHERE version = $1 AND direction = $2",
	                          s->qprogress);
	const char *params[] = {f->version, dir_name(dir)};
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(s->pg, sql, 2, params, &r);
	free(sql);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		long idx = atol(cf_pgres_get(r, i, 0));
		if (strcmp(cf_pgres_get(r, i, 2), checksum) != 0) {
			st = cf_error_set(ctx, CF_ERR_CHECK,
			                  "migration file \"%s\" changed since its interrupted run", sc->file);
			cf_error_detail(ctx, "Part of it ran with checksum %s; the file now has %s. "
			                     "Resuming would mix two versions of the migration.",
			                cf_pgres_get(r, i, 2), checksum);
			cf_error_hint(ctx, "Restore the file as it was, finish the migration by hand, "
			                   "then clear its rows from \"%s\".", s->progress);
			break;
		}
		if (idx < 0 || (size_t)idx >= p->n)
			continue;
		p->state[idx] = strcmp(cf_pgres_get(r, i, 1), "done") == 0 ? P_DONE : P_STARTED;
		p->pid[idx] = atoi(cf_pgres_get(r, i, 3));
		p->any = true;
	}
	cf_pgres_free(r);
	return st;
}

static void progress_release(progress *p)
{
	free(p->state);
	free(p->pid);
}

static cf_status query_bool(mig_session *s, const char *sql, const char *param, bool *out)
{
	char *v = NULL;
	const char *params[] = {param};
	cf_status st = cf_pg_query_value(s->pg, sql, 1, params, &v);
	*out = v && strcmp(v, "t") == 0;
	free(v);
	return st;
}

/* Settles a started index build: valid means done; invalid is dropped. */
static cf_status settle_index(mig_session *s, const cf_nontx_target *t, bool *done)
{
	char *qname = t->schema ? cf_sql_format(s->pg, "%I.%I", t->schema, t->name)
	                        : cf_quote_ident(s->pg, t->name);
	char *v = NULL;
	const char *params[] = {qname};
	cf_status st = cf_pg_query_value(
		s->pg, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", 1, params,
		&v);
	if (!st && v && strcmp(v, "t") == 0) {
		*done = true;
	} else if (!st && v) {
		cf_log_warning(s->ctx, "dropping the invalid index %s left by the interrupted run", qname);
		char *sql = cf_sql_format(s->pg, "DROP INDEX CONCURRENTLY IF EXISTS %s", qname);
		st = cf_pg_exec(s->pg, sql);
		free(sql);
	}
	free(v);
	free(qname);
	return st;
}

static cf_status settle_target(mig_session *s, const cf_nontx_target *t, bool *done)
{
	static const char *const exists_sql[] = {
		[CF_TARGET_CREATE_DATABASE] = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
		[CF_TARGET_DROP_DATABASE] = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
		[CF_TARGET_CREATE_TABLESPACE] =
			"SELECT EXISTS (SELECT 1 FROM pg_tablespace WHERE spcname = $1)",
		[CF_TARGET_DROP_TABLESPACE] =
			"SELECT EXISTS (SELECT 1 FROM pg_tablespace WHERE spcname = $1)",
		[CF_TARGET_CREATE_SUBSCRIPTION] =
			"SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1)",
		[CF_TARGET_DROP_SUBSCRIPTION] =
			"SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1)",
	};
	if (t->kind == CF_TARGET_CREATE_INDEX)
		return settle_index(s, t, done);
	bool exists = false;
	cf_status st;
	if (t->kind == CF_TARGET_DROP_INDEX) {
		char *qname = t->schema ? cf_sql_format(s->pg, "%I.%I", t->schema, t->name)
		                        : cf_quote_ident(s->pg, t->name);
		st = query_bool(s, "SELECT to_regclass($1) IS NOT NULL", qname, &exists);
		free(qname);
	} else {
		st = query_bool(s, exists_sql[t->kind], t->name, &exists);
	}
	bool creates = t->kind == CF_TARGET_CREATE_DATABASE || t->kind == CF_TARGET_CREATE_TABLESPACE ||
	               t->kind == CF_TARGET_CREATE_SUBSCRIPTION;
	*done = !st && (creates ? exists : !exists);
	return st;
}

/*
 * Statement I was recorded as started but not done: the run that started it
 * died. Decides whether it completed (*DONE) or must run again.
 */
static cf_status settle(mig_session *s, const mig_script *sc, size_t i, int pid, bool *done)
{
	cf_ctx *ctx = s->ctx;
	*done = false;
	if (pid > 0) {
		bool running = false;
		char num[16];
		snprintf(num, sizeof(num), "%d", pid);
		cf_status st = query_bool(s, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
		                             "WHERE pid = $1::int AND pid <> pg_backend_pid())",
		                          num, &running);
		if (st)
			return st;
		if (running) {
			cf_error_set(ctx, CF_ERR_LOCK, "statement %zu of \"%s\" is still running in pid %d",
			             i + 1, sc->file, pid);
			cf_error_hint(ctx, "Wait for it to finish, or cancel it with "
			                   "SELECT pg_cancel_backend(%d), then run again.", pid);
			return CF_ERR_LOCK;
		}
	}
	char *sql = mig_script_stmt(sc, i);
	cf_nontx_target t;
	cf_status st = cf_sql_nontx_target(ctx, sql, &t);
	free(sql);
	if (st)
		return st;
	if (t.kind != CF_TARGET_NONE && t.name)
		st = settle_target(s, &t, done);
	else
		cf_log_warning(ctx, "%s:%d: statement %zu (%s) was interrupted; its completion leaves "
		                    "no trace in the catalogs, so it runs again",
		               sc->file, sc->parsed->stmts[i].line, i + 1, sc->parsed->stmts[i].nontx);
	if (!st && *done)
		cf_log_info(ctx, "%s:%d: statement %zu completed before the interruption",
		            sc->file, sc->parsed->stmts[i].line, i + 1);
	cf_nontx_target_release(&t);
	return st;
}

/* Runs statement I (with its COPY data) in SQL, a message of its own. */
static cf_status exec_stmt(mig_session *s, const mig_script *sc, size_t i, const char *sql,
                           size_t *n_done)
{
	mig_feed fd = {.scripts = sc, .n = 1, .one = mig_script_copy(sc, i)};
	return cf_pg_exec_feed(s->pg, sql, fd.one ? mig_feed_copy : NULL, &fd, n_done);
}

static cf_status run_stmt(mig_session *s, const mig_file *f, mig_dir dir, const mig_script *sc,
                          size_t i, const char *checksum)
{
	const cf_stmt *stmt = &sc->parsed->stmts[i];
	char *text = mig_script_stmt(sc, i);
	char *done = progress_sql(s, f, dir, i, checksum, "done");
	cf_status st;
	size_t n_done = 0;
	if (!cf_stmt_needs_autocommit(stmt)) {
		/* The statement and its record commit together (implicit transaction). */
		char *both = cf_asprintf("%s\n;%s", text, done);
		st = exec_stmt(s, sc, i, both, &n_done);
		free(both);
	} else {
		char *started = progress_sql(s, f, dir, i, checksum, "started");
		st = cf_pg_exec(s->pg, started);
		free(started);
		if (!st) {
			st = exec_stmt(s, sc, i, text, &n_done);
			n_done = 0;
		}
		if (!st)
			st = cf_pg_exec(s->pg, done);
	}
	if (st && n_done == 0)
		mig_locate(s->ctx, sc, NULL, 0, i);
	free(text);
	free(done);
	return st;
}

cf_status mig_run_nontx(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                        const char *checksum)
{
	mig_session *s = run->sess;
	cf_ctx *ctx = s->ctx;
	double t0 = cf_now();
	/* A down script has no stored checksum: key its progress on its text. */
	char sum[65];
	if (!checksum) {
		mig_checksum(sc->text, sc->len, sum);
		checksum = sum;
	}
	progress p = {0};
	cf_status st = mig_progress_ensure(s);
	if (!st)
		st = progress_read(s, f, dir, sc, checksum, &p);
	if (!st && p.any)
		cf_log_info(ctx, "resuming %s: statements already done are skipped", sc->file);
	if (!st)
		st = mig_fire(run, "before_migration", CF_HOOKS_ALL, f, -1, -1);
	size_t k = 0, n = mig_script_count(sc), i = 0;
	for (; !st && k < n; k++) {
		i = mig_script_nth(sc, k);
		if (cf_ctx_is_cancelled(ctx)) {
			st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
			break;
		}
		bool done = p.state[i] == P_DONE;
		if (!done && p.state[i] == P_STARTED)
			st = settle(s, sc, i, p.pid[i], &done);
		if (!st && done)
			continue;
		if (!st)
			st = run_stmt(s, f, dir, sc, i, checksum);
	}
	if (st && k > 1)
		cf_error_context(ctx, "statements before statement %zu are done and recorded; a rerun "
		                      "resumes at the first one that did not finish", i + 1);
	if (!st) {
		char *tail = mig_tail(s, f, dir, checksum, (long)((cf_now() - t0) * 1000));
		char *sql = cf_sql_format(s->pg, "%s; DELETE FROM %Q WHERE version = %L AND direction = %L",
		                          tail, s->qprogress, f->version, dir_name(dir));
		st = cf_pg_exec(s->pg, sql);
		if (st)
			cf_error_context(ctx, "while recording the migration in \"%s\"", s->table);
		free(sql);
		free(tail);
	}
	if (!st)
		st = mig_fire(run, "after_migration", CF_HOOKS_ALL, f, 1,
		              (long long)((cf_now() - t0) * 1000));
	progress_release(&p);
	return st;
}
