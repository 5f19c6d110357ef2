/*
 * apply.c -- running one migration.
 *
 * Transactional migrations take two round trips: BEGIN, then one
 * simple-protocol message holding the whole file followed by the ledger
 * INSERT (or DELETE), then COMMIT. The COMMIT is deliberately its own
 * message: if confiture dies while the file runs, the server rolls the
 * migration back (it notices the client is gone, through
 * client_connection_check_interval or at the latest when it reads the next
 * message), so a migration is never committed behind a dead client's back.
 *
 * Non-transactional migrations run statement by statement in autocommit.
 * Each statement that can run in a transaction shares one (implicit) with
 * the row recording its completion, so it is done and recorded, or neither.
 * Statements that cannot (CREATE INDEX CONCURRENTLY, VACUUM, ...) are
 * recorded as started before and done after; a rerun that finds one started
 * but not done asks the catalogs whether it completed (an index that exists
 * and is valid, a database that exists, ...), and otherwise runs it again,
 * which for the statements without a catalog trace (VACUUM, REINDEX,
 * CLUSTER, ALTER SYSTEM) leaves the same state.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "hooks.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Points the recorded server error into the file: SENT_AT is the byte
 * offset in the file where the text sent to the server begins, STMT the
 * statement that failed (NULL when it was confiture's own). */
static void locate(cf_ctx *ctx, const mig_script *sc, size_t sent_at, const cf_stmt *stmt)
{
	if (cf_error_server_position_get(ctx) > 0)
		cf_error_locate(ctx, sc->file, sc->text, sent_at);
	else if (stmt)
		cf_error_locate(ctx, sc->file, sc->text, stmt->offset);
}

static cf_status fire(mig_run *run, const char *event, cf_hook_part part, const mig_file *f,
                      cf_pg *pg, int success, long long elapsed_ms)
{
	if (!run->fire_hooks)
		return CF_OK;
	cf_hook_fire h = CF_HOOK_FIRE_INIT(event);
	h.part = part;
	h.migration_version = f->version;
	h.migration_name = f->name;
	h.success = success;
	h.elapsed_ms = elapsed_ms;
	h.pg = pg;
	return cf_hooks_fire(run->sess->ctx, &h);
}

cf_status mig_exec_script(mig_session *s, const mig_script *sc, const char *tail)
{
	cf_buf b;
	cf_buf_init(&b);
	size_t n_send = strlen(sc->send);
	cf_buf_reserve(&b, n_send + (tail ? strlen(tail) : 0) + 4);
	cf_buf_append(&b, sc->send, n_send);
	if (tail) {
		/* A newline first: the file may end inside a -- comment. */
		cf_buf_puts(&b, "\n;");
		cf_buf_puts(&b, tail);
	}
	size_t n_done = 0;
	cf_status st = cf_pg_exec_count(s->pg, b.data, &n_done);
	cf_buf_release(&b);
	if (st) {
		size_t idx = sc->first + n_done;
		const cf_stmt *stmt = idx < sc->last ? &sc->parsed->stmts[idx] : NULL;
		locate(s->ctx, sc, 0, stmt);
		if (!stmt && tail)
			cf_error_context(s->ctx, "while recording the migration in \"%s\"", s->table);
	}
	return st;
}

static char *ledger_tail(mig_session *s, const mig_file *f, mig_dir dir, const char *checksum,
                         long ms)
{
	return dir == MIG_UP ? mig_ledger_insert_sql(s, f, checksum, ms)
	                     : mig_ledger_delete_sql(s, f->version);
}

static cf_status run_tx(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                        const char *checksum)
{
	mig_session *s = run->sess;
	cf_ctx *ctx = s->ctx;
	double t0 = cf_now();
	char *tail = ledger_tail(s, f, dir, checksum, -1);
	/* Shell hooks and callbacks run outside the transaction: before_migration
	 * ones before BEGIN, after_migration ones once the migration is committed.
	 * SQL hooks run inside it, so that a failing one rolls the migration back. */
	cf_status st = fire(run, "before_migration", CF_HOOKS_OUTSIDE, f, s->pg, -1, -1);
	bool began = false;
	if (!st && !run->in_outer_tx) {
		st = cf_pg_begin(s->pg);
		began = st == CF_OK;
	}
	if (!st)
		st = fire(run, "before_migration", CF_HOOKS_SQL, f, s->pg, -1, -1);
	if (!st)
		st = mig_exec_script(s, sc, tail);
	long long ms = (long long)((cf_now() - t0) * 1000);
	if (!st)
		st = fire(run, "after_migration", CF_HOOKS_SQL, f, s->pg, 1, ms);
	if (!st && began) {
		st = cf_pg_commit(s->pg);
		if (st)
			cf_error_context(ctx, "while committing");
	}
	if (st && began)
		cf_pg_rollback(s->pg);
	if (!st)
		st = fire(run, "after_migration", CF_HOOKS_OUTSIDE, f, s->pg, 1, ms);
	free(tail);
	return st;
}

/* ---- Non-transactional migrations ------------------------------------------ */

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

static char *progress_sql(mig_session *s, const mig_file *f, mig_dir dir, size_t i,
                          const char *checksum, const char *state)
{
	return cf_sql_format(s->pg,
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

/* Runs in autocommit only what cannot run in a transaction block. ALTER
 * TYPE ... ADD VALUE can: it only needs its own transaction, which every
 * statement gets here. */
static bool needs_autocommit(const cf_stmt *st)
{
	return st->nontx && strncmp(st->nontx, "ALTER TYPE", 10) != 0;
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

static cf_status run_stmt(mig_session *s, const mig_file *f, mig_dir dir, const mig_script *sc,
                          size_t i, const char *checksum)
{
	const cf_stmt *stmt = &sc->parsed->stmts[i];
	char *text = mig_script_stmt(sc, i);
	char *done = progress_sql(s, f, dir, i, checksum, "done");
	cf_status st;
	size_t n_done = 0;
	if (!needs_autocommit(stmt)) {
		/* The statement and its record commit together (implicit transaction). */
		char *both = cf_asprintf("%s\n;%s", text, done);
		st = cf_pg_exec_count(s->pg, both, &n_done);
		free(both);
	} else {
		char *started = progress_sql(s, f, dir, i, checksum, "started");
		st = cf_pg_exec(s->pg, started);
		free(started);
		if (!st) {
			st = cf_pg_exec_count(s->pg, text, &n_done);
			n_done = 0;
		}
		if (!st)
			st = cf_pg_exec(s->pg, done);
	}
	if (st && n_done == 0)
		locate(s->ctx, sc, stmt->offset, stmt);
	free(text);
	free(done);
	return st;
}

static cf_status run_nontx(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
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
		st = fire(run, "before_migration", CF_HOOKS_ALL, f, s->pg, -1, -1);
	size_t i = sc->first;
	for (; !st && i < sc->last; i++) {
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
	if (st && i > sc->first)
		cf_error_context(ctx, "statements before statement %zu are done and recorded; a rerun "
		                      "resumes at the first one that did not finish", i);
	if (!st) {
		char *tail = ledger_tail(s, f, dir, checksum, (long)((cf_now() - t0) * 1000));
		char *sql = cf_sql_format(s->pg, "%s; DELETE FROM %Q WHERE version = %L AND direction = %L",
		                          tail, s->qprogress, f->version, dir_name(dir));
		st = cf_pg_exec(s->pg, sql);
		if (st)
			cf_error_context(ctx, "while recording the migration in \"%s\"", s->table);
		free(sql);
		free(tail);
	}
	if (!st)
		st = fire(run, "after_migration", CF_HOOKS_ALL, f, s->pg, 1,
		          (long long)((cf_now() - t0) * 1000));
	progress_release(&p);
	return st;
}

cf_status mig_apply(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                    const char *checksum)
{
	cf_ctx *ctx = run->sess->ctx;
	double t0 = cf_now();
	cf_status st = sc->is_nontx ? run_nontx(run, f, dir, sc, checksum)
	                            : run_tx(run, f, dir, sc, checksum);
	run->elapsed_ms = (long long)((cf_now() - t0) * 1000);
	if (st)
		cf_error_context(ctx, "while %s migration \"%s\"",
		                 dir == MIG_UP ? "applying" : "rolling back", f->base);
	return st;
}

/* ---- Batches ------------------------------------------------------------------- */

/* Characters (not bytes) in S[0..N): server positions count characters. */
static size_t char_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Statements the batch sends for one migration besides its own: BEGIN and
 * the start-time mark before, the ledger INSERT and COMMIT after. */
enum { BATCH_BEFORE = 2, BATCH_AFTER = 2 };

/* Points the error at the migration of the batch that failed. */
static size_t batch_locate(mig_session *s, mig_script *scripts, const size_t *starts, size_t n,
                           size_t n_done)
{
	size_t base = 0, k = 0;
	for (; k < n; k++) {
		size_t cnt = BATCH_BEFORE + (scripts[k].last - scripts[k].first) + BATCH_AFTER;
		if (n_done < base + cnt)
			break;
		base += cnt;
	}
	if (k == n)
		return n - 1; /* cannot happen: the failure is inside the batch */
	const mig_script *sc = &scripts[k];
	size_t local = n_done - base, n_stmts = sc->last - sc->first;
	int pos = cf_error_server_position_get(s->ctx);
	if (pos > 0 && (size_t)pos > starts[k]) {
		/* Make the position relative to this migration's text. */
		cf_error_server_position(s->ctx, pos - (int)starts[k]);
		if (local >= BATCH_BEFORE && local < BATCH_BEFORE + n_stmts)
			cf_error_locate(s->ctx, sc->file, sc->text, 0);
	} else if (local >= BATCH_BEFORE && local < BATCH_BEFORE + n_stmts) {
		cf_error_locate(s->ctx, sc->file, sc->text,
		                sc->parsed->stmts[sc->first + local - BATCH_BEFORE].offset);
	}
	if (local >= BATCH_BEFORE + n_stmts)
		cf_error_context(s->ctx, "while recording the migration in \"%s\"", s->table);
	return k;
}

cf_status mig_apply_batch(mig_run *run, mig_file **files, mig_script *scripts, size_t n,
                          size_t *n_ok)
{
	mig_session *s = run->sess;
	cf_buf b;
	cf_buf_init(&b);
	size_t *starts = cf_calloc(n, sizeof(size_t));
	size_t chars = 0;
	for (size_t k = 0; k < n; k++) {
		/* The start mark lets the server measure each migration's own time. */
		static const char head[] =
			"BEGIN;SELECT set_config('confiture.t0', clock_timestamp()::text, true);";
		cf_buf_puts(&b, head);
		chars += sizeof(head) - 1;
		starts[k] = chars;
		size_t len = strlen(scripts[k].send);
		cf_buf_append(&b, scripts[k].send, len);
		chars += char_count(scripts[k].send, len);
		char *ins = mig_ledger_insert_sql(s, files[k], files[k]->checksum, -2);
		size_t before = b.len;
		cf_buf_printf(&b, "\n;%s;COMMIT;", ins);
		chars += char_count(b.data + before, b.len - before);
		free(ins);
	}
	size_t n_done = 0;
	double t0 = cf_now();
	cf_status st = cf_pg_exec_count(s->pg, b.data, &n_done);
	run->elapsed_ms = (long long)((cf_now() - t0) * 1000);
	*n_ok = n;
	if (st) {
		size_t k = batch_locate(s, scripts, starts, n, n_done);
		*n_ok = k;
		cf_pg_rollback(s->pg);
		cf_error_context(s->ctx, "while applying migration \"%s\"", files[k]->base);
	}
	free(starts);
	cf_buf_release(&b);
	return st;
}
