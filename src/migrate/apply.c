/*
 * apply.c -- running a migration in a transaction, alone or batched.
 *
 * A migration alone takes two round trips: BEGIN, then one simple-protocol
 * message holding the whole file followed by the session reset and the
 * ledger INSERT (or DELETE), then COMMIT. The COMMIT is deliberately its own
 * message: if confiture dies while the file runs, the server rolls the
 * migration back (it notices the client is gone, through
 * client_connection_check_interval or at the latest when it reads the next
 * message), so a migration is never committed behind a dead client's back.
 *
 * Each migration starts from the session the connection had when the run
 * began, whatever the one before it did (SET search_path, SET ROLE, temp
 * tables, ...): the reset after it (mig_session_reset_sql) runs before its
 * ledger row is written, so the row is written by the connecting user. The
 * result does not depend on how migrations are split across runs, and
 * equals psql applying each file in a session of its own.
 *
 * COPY ... FROM stdin with inline data rides in the same message: the
 * server asks for the data when it reaches the statement, and gets it from
 * the file (PQputCopyData), then goes on with the rest of the message.
 *
 * Migrations that cannot run in a transaction are in nontx.c.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "hooks.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mig_locate(cf_ctx *ctx, const mig_script *sc, const char *sent, size_t sent_at, size_t i)
{
	if (i == SIZE_MAX)
		return;
	const cf_copyblk *b = mig_script_copy(sc, i);
	if (b && cf_psql_copy_locate(ctx, sc->file, b))
		return;
	const cf_stmt *stmt = &sc->parsed->stmts[i];
	if (cf_error_server_position_get(ctx) > 0 && sent)
		cf_error_locate(ctx, sc->file, sent, sent_at);
	else
		cf_error_locate(ctx, sc->file, sc->text, stmt->offset);
}

cf_status mig_fire(mig_run *run, const char *event, cf_hook_part part, const mig_file *f,
                   int success, long long elapsed_ms)
{
	if (!run->fire_hooks)
		return CF_OK;
	cf_hook_fire h = CF_HOOK_FIRE_INIT(event);
	h.part = part;
	h.migration_version = f->version;
	h.migration_name = f->name;
	h.success = success;
	h.elapsed_ms = elapsed_ms;
	h.pg = run->sess->pg;
	return cf_hooks_fire(run->sess->ctx, &h);
}

cf_status mig_feed_copy(void *arg, cf_pg *pg, size_t k)
{
	const mig_feed *fd = arg;
	if (fd->one)
		return cf_psql_copy_put(cf_pg_ctx(pg), pg, fd->scripts->text, fd->one);
	k += fd->base;
	for (size_t j = 0; j < fd->n; j++) {
		const mig_script *sc = &fd->scripts[j];
		if (k < sc->ps.n_copies)
			return cf_psql_copy_put(cf_pg_ctx(pg), pg, sc->text, &sc->ps.copies[k]);
		k -= sc->ps.n_copies;
	}
	return cf_error_set(cf_pg_ctx(pg), CF_ERR_INTERNAL,
	                    "the server asked for COPY data the migrations do not hold");
}

char *mig_tail(mig_session *s, const mig_file *f, mig_dir dir, const char *checksum, long ms)
{
	const char *reset = mig_session_reset_sql(s, NULL);
	if (!f)
		return cf_strdup(reset);
	char *row = dir == MIG_UP ? mig_ledger_insert_sql(s, f, checksum, ms)
	                          : mig_ledger_delete_sql(s, f->version);
	char *tail = cf_asprintf("%s;%s", reset, row);
	free(row);
	return tail;
}

/* COPY blocks of SC before its K-th statement. */
static size_t copies_before(const mig_script *sc, size_t k)
{
	size_t n = 0;
	for (size_t j = 0; j < k; j++)
		n += mig_script_copy(sc, mig_script_nth(sc, j)) != NULL;
	return n;
}

/* Sends piece P of SC (see find_pieces), with TAIL after the last one. */
static cf_status exec_piece(mig_session *s, const mig_script *sc, size_t p, const char *tail)
{
	size_t n = mig_script_count(sc);
	size_t k0 = sc->piece_k[p], k1 = p + 1 < sc->n_pieces ? sc->piece_k[p + 1] : n;
	size_t from = p ? sc->send_at[mig_script_nth(sc, k0)] : 0;
	size_t to = k1 < n ? sc->send_at[mig_script_nth(sc, k1)] : strlen(sc->send);
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_reserve(&b, to - from + (tail ? strlen(tail) : 0) + 4);
	cf_buf_append(&b, sc->send + from, to - from);
	if (tail) {
		/* A newline first: the file may end inside a -- comment. */
		cf_buf_puts(&b, "\n;");
		cf_buf_puts(&b, tail);
	}
	size_t n_done = 0;
	mig_feed fd = {.scripts = sc, .n = 1, .base = p ? copies_before(sc, k0) : 0};
	cf_status st = cf_pg_exec_feed(s->pg, b.data, mig_feed_copy, &fd, &n_done);
	cf_buf_release(&b);
	if (st && k0 + n_done < k1)
		mig_locate(s->ctx, sc, sc->send, from, mig_script_nth(sc, k0 + n_done));
	else if (st && tail)
		cf_error_context(s->ctx, "while resetting the session and recording the migration in "
		                         "\"%s\"", s->table);
	return st;
}

cf_status mig_exec_script(mig_session *s, const mig_script *sc, const char *tail)
{
	cf_status st = CF_OK;
	for (size_t p = 0; !st && p < sc->n_pieces; p++)
		st = exec_piece(s, sc, p, p + 1 == sc->n_pieces ? tail : NULL);
	return st;
}

static cf_status run_tx(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                        const char *checksum)
{
	mig_session *s = run->sess;
	cf_ctx *ctx = s->ctx;
	double t0 = cf_now();
	char *tail = mig_tail(s, f, dir, checksum, -1);
	/* Shell hooks and callbacks run outside the transaction: before_migration
	 * ones before BEGIN, after_migration ones once the migration is committed.
	 * SQL hooks run inside it, so that a failing one rolls the migration back. */
	cf_status st = mig_fire(run, "before_migration", CF_HOOKS_OUTSIDE, f, -1, -1);
	bool began = false;
	if (!st && !run->in_outer_tx) {
		st = cf_pg_begin(s->pg);
		began = st == CF_OK;
	}
	if (!st)
		st = mig_fire(run, "before_migration", CF_HOOKS_SQL, f, -1, -1);
	if (!st)
		st = mig_exec_script(s, sc, tail);
	long long ms = (long long)((cf_now() - t0) * 1000);
	if (!st)
		st = mig_fire(run, "after_migration", CF_HOOKS_SQL, f, 1, ms);
	if (!st && began) {
		st = cf_pg_commit(s->pg);
		if (st)
			cf_error_context(ctx, "while committing");
	}
	if (st && began)
		cf_pg_rollback(s->pg);
	if (!st)
		st = mig_fire(run, "after_migration", CF_HOOKS_OUTSIDE, f, 1, ms);
	free(tail);
	return st;
}

cf_status mig_apply(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                    const char *checksum)
{
	cf_ctx *ctx = run->sess->ctx;
	double t0 = cf_now();
	cf_status st = sc->is_nontx ? mig_run_nontx(run, f, dir, sc, checksum)
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

/* The statements the batch sends for one migration besides its own: BEGIN
 * before; the session reset, the ledger INSERT and COMMIT after. */
typedef struct batch {
	mig_session *s;
	const mig_script *scripts;
	size_t n;
	size_t *starts;     /* character position of each migration's text */
	size_t n_after;
} batch;

enum { BATCH_BEFORE = 1 };

/* Points the error at the migration of the batch that failed; its index. */
static size_t batch_locate(const batch *bt, size_t n_done)
{
	cf_ctx *ctx = bt->s->ctx;
	size_t base = 0, k = 0;
	for (; k < bt->n; k++) {
		size_t cnt = BATCH_BEFORE + mig_script_count(&bt->scripts[k]) + bt->n_after;
		if (n_done < base + cnt)
			break;
		base += cnt;
	}
	if (k == bt->n)
		return bt->n - 1; /* cannot happen: the failure is inside the batch */
	int pos = cf_error_server_position_get(ctx);
	if (pos > 0 && n_done == 0) {
		/* Nothing ran: the server could not parse the message. Its position
		 * says which migration. */
		while (k + 1 < bt->n && (size_t)pos > bt->starts[k + 1])
			k++;
		cf_error_server_position(ctx, pos - (int)bt->starts[k]);
		const mig_script *sc = &bt->scripts[k];
		cf_error_locate(ctx, sc->file, sc->send, 0);
		return k;
	}
	const mig_script *sc = &bt->scripts[k];
	size_t local = n_done - base, n_stmts = mig_script_count(sc);
	bool in_file = local >= BATCH_BEFORE && local < BATCH_BEFORE + n_stmts;
	if (pos > 0 && (size_t)pos > bt->starts[k])
		/* Make the position relative to this migration's text. */
		cf_error_server_position(ctx, pos - (int)bt->starts[k]);
	if (in_file)
		mig_locate(ctx, sc, sc->send, 0, mig_script_nth(sc, local - BATCH_BEFORE));
	else if (local >= BATCH_BEFORE + n_stmts)
		cf_error_context(ctx, "while resetting the session and recording the migration in "
		                      "\"%s\"", bt->s->table);
	return k;
}

/* The whole message: each migration in BEGIN ... COMMIT with its reset and
 * ledger row. */
static void batch_text(batch *bt, mig_file **files, cf_buf *b)
{
	mig_session *s = bt->s;
	const char *reset = mig_session_reset_sql(s, &bt->n_after);
	bt->n_after += 2;
	size_t chars = 0;
	for (size_t k = 0; k < bt->n; k++) {
		cf_buf_puts(b, "BEGIN;");
		chars += 6;
		bt->starts[k] = chars;
		const char *send = bt->scripts[k].send;
		size_t len = strlen(send);
		cf_buf_append(b, send, len);
		chars += char_count(send, len);
		char *ins = mig_ledger_insert_batch_sql(s, files[k], files[k]->checksum,
		                                        k ? files[k - 1]->version : NULL);
		size_t before = b->len;
		cf_buf_printf(b, "\n;%s;%s;COMMIT;", reset, ins);
		chars += char_count(b->data + before, b->len - before);
		free(ins);
	}
}

cf_status mig_apply_batch(mig_run *run, mig_file **files, mig_script *scripts, size_t n,
                          size_t *n_ok, long *ms)
{
	mig_session *s = run->sess;
	batch bt = {.s = s, .scripts = scripts, .n = n, .starts = cf_calloc(n, sizeof(size_t))};
	cf_buf b;
	cf_buf_init(&b);
	batch_text(&bt, files, &b);
	size_t n_done = 0;
	double t0 = cf_now();
	mig_feed fd = {.scripts = scripts, .n = n};
	cf_status st = cf_pg_exec_feed(s->pg, b.data, mig_feed_copy, &fd, &n_done);
	run->elapsed_ms = (long long)((cf_now() - t0) * 1000);
	*n_ok = n;
	if (st) {
		size_t k = batch_locate(&bt, n_done);
		*n_ok = k;
		cf_pg_rollback(s->pg);
		cf_error_context(s->ctx, "while applying migration \"%s\"", files[k]->base);
	}
	free(bt.starts);
	cf_buf_release(&b);
	if (*n_ok)
		mig_ledger_times(s, files, *n_ok, ms);
	return st;
}
