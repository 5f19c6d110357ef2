/*
 * apply.c -- running the parsed files of a build on a database.
 *
 * Statements go to the server in pipelines (libpq pipeline mode): a few
 * round trips for the whole build instead of one per statement, which is
 * what makes this faster than `psql -1 -f`. The whole build (schema, then
 * seeds) runs in one transaction by default. Statements that cannot run in
 * a transaction block (CREATE INDEX CONCURRENTLY, CREATE DATABASE, ...) are
 * found from the parse tree and run afterwards, one at a time.
 *
 * A server error is reported at the file's line and column: the pipeline
 * tells which statement failed, the statement knows its file and offset, and
 * cf_error_locate adds the server's position within the statement.
 */
#include "build_internal.h"
#include "progress.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* A pipeline is cut after this many statements or bytes: a round trip per
 * chunk costs nothing next to the server's work, and lets progress move. */
#define CHUNK_STMTS 2048
#define CHUNK_BYTES (512 * 1024)

#define SEED_SAVEPOINT "confiture_seed"

typedef struct sref {
	const bfile *f;
	const cf_stmt *st;
	const cf_copyblk *copy; /* COPY ... FROM stdin: its inline data */
} sref;

typedef struct slist {
	sref *v;
	size_t n, cap;
} slist;

static void slist_push(slist *l, const bfile *f, const cf_stmt *st, const cf_copyblk *copy)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = cf_realloc(l->v, l->cap * sizeof(sref));
	}
	l->v[l->n++] = (sref){f, st, copy};
}

void bapply_stats_release(bapply_stats *st)
{
	free(st->seed_failed);
	cf_errlist_release(&st->seed_errors);
	memset(st, 0, sizeof(*st));
}

/* ---- Errors ------------------------------------------------------------------ */

/* Is the recorded error about the statement (a schema or data problem),
 * rather than about the session: a lost connection, an administrator's
 * shutdown (class 08 and 57)? */
static bool is_statement_error(cf_ctx *ctx, cf_pg *pg)
{
	const char *state = cf_error_sqlstate_get(ctx);
	return state && cf_error_code(ctx) == CF_ERR_SQL && !cf_pg_is_bad(pg) &&
	       strncmp(state, "08", 2) != 0 && strncmp(state, "57", 2) != 0;
}

/* Puts the recorded error at STMT of F: file:line:column, with the code of
 * a build error, for statement errors; a context line for session errors.
 * Returns the code. */
static cf_status locate(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const bfile *f,
                        const cf_stmt *st)
{
	if (is_statement_error(ctx, pg)) {
		cf_error_locate(ctx, f->path, f->text, st->offset);
		cf_error_recode(ctx, o->sql_error);
	} else {
		cf_error_context(ctx, "while running %s:%d:%d", f->path, st->line, st->column);
	}
	return cf_error_code(ctx);
}

/* ---- Sorting statements ------------------------------------------------------ */

/* The inline data of F's COPY statement ST, or NULL. */
static const cf_copyblk *copy_of(const bfile *f, const cf_stmt *st)
{
	for (size_t i = 0; i < f->n_copies; i++)
		if (f->copies[i].stmt_offset == st->offset)
			return &f->copies[i];
	return NULL;
}

/* Splits the statements of files [FROM, TO) into the transactional and the
 * non-transactional ones. Transaction control in the files is left out. */
static cf_status collect(cf_ctx *ctx, const bset *s, size_t from, size_t to, slist *tx,
                         slist *nontx, bapply_stats *stats)
{
	for (size_t i = from; i < to; i++) {
		const bfile *f = &s->v[i];
		for (size_t k = 0; k < f->script->n_stmts; k++) {
			const cf_stmt *st = &f->script->stmts[k];
			const cf_copyblk *copy = NULL;
			switch (st->kind) {
			case CF_STMT_BEGIN:
			case CF_STMT_COMMIT:
				cf_log_warning(ctx, "%s:%d:%d: skipping %s: the build runs its own transaction",
				               f->path, st->line, st->column,
				               st->kind == CF_STMT_BEGIN ? "BEGIN" : "COMMIT");
				stats->n_skipped++;
				continue;
			case CF_STMT_ROLLBACK:
				cf_error_set(ctx, CF_ERR_SCHEMA, "ROLLBACK is not allowed in a build file");
				cf_error_at(ctx, f->path, st->line, st->column);
				cf_error_hint(ctx, "Remove it: the build runs in its own transaction and rolls "
				                   "back by itself when a statement fails.");
				return CF_ERR_SCHEMA;
			case CF_STMT_COPY_STDIN:
				copy = copy_of(f, st);
				if (copy)
					break;
				cf_error_set(ctx, CF_ERR_SCHEMA, "COPY ... FROM STDIN without data");
				cf_error_at(ctx, f->path, st->line, st->column);
				cf_error_hint(ctx, "Put the statement alone on its line, followed by the data "
				                   "and a line \"\\.\", as pg_dump writes it.");
				return CF_ERR_SCHEMA;
			default:
				break;
			}
			/* An ALTER TYPE ... ADD VALUE used later stays in its place: in the
			 * build's transaction PostgreSQL then says "unsafe use of new
			 * value", with its hint, as psql -1 would. */
			slist_push(cf_stmt_needs_autocommit(st) ? nontx : tx, f, st, copy);
		}
	}
	return CF_OK;
}

/* ---- COPY data ------------------------------------------------------------------ */

/* Streams a COPY ... FROM stdin statement's inline data. */
static cf_status run_copy(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const sref *r)
{
	char *sql = cf_strndup(r->f->text + r->st->offset, r->st->len);
	cf_status st = cf_pg_copy_in_start(pg, sql);
	free(sql);
	if (st)
		return locate(ctx, pg, o, r->f, r->st);
	st = cf_psql_copy_put(ctx, pg, r->f->text, r->copy);
	if (st) {
		cf_pg_copy_in_end(pg, "aborted");
		return st == CF_ERR_CANCELLED ? st : locate(ctx, pg, o, r->f, r->st);
	}
	st = cf_pg_copy_in_end(pg, NULL);
	if (!st)
		return CF_OK;
	if (is_statement_error(ctx, pg) && cf_psql_copy_locate(ctx, r->f->path, r->copy)) {
		cf_error_recode(ctx, o->sql_error);
		return cf_error_code(ctx);
	}
	return locate(ctx, pg, o, r->f, r->st);
}

/* ---- Pipelines ------------------------------------------------------------------ */

/*
 * Reports the files whose statements REFS[FROM..TO) just ran (of REFS[0..N)):
 * a file begins at its first statement in REFS and ends at its last.
 */
static void report_files(cf_prog *prog, const sref *refs, size_t n, size_t from, size_t to)
{
	size_t k = from;
	while (prog && k < to) {
		const bfile *f = refs[k].f;
		size_t e = k;
		while (e < to && refs[e].f == f)
			e++;
		if (k == 0 || refs[k - 1].f != f) {
			size_t m = e;
			while (m < n && refs[m].f == f)
				m++;
			cf_prog_item_begin(prog, f->path, (long long)(m - k));
		}
		cf_prog_item_add(prog, f->path, (long long)(e - k), 0, 0);
		if (e == n || refs[e].f != f)
			cf_prog_item_end(prog, f->path, true, NULL);
		k = e;
	}
}

/*
 * Runs REFS[0..N) in pipelines of at most MAX_STMTS statements, with PRE and
 * POST statements (may be NULL) around the whole run: they ride in the first
 * and the last pipeline. A COPY with inline data ends the pipeline before it
 * and streams its data. Outside a transaction block each pipeline is an
 * implicit transaction of its own. Progress advances per pipeline.
 */
static cf_status run_refs(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const sref *refs,
                          size_t n, const char *pre, const char *post, size_t max_stmts,
                          cf_prog *prog, size_t *done)
{
	const char **stmts = cf_calloc(CHUNK_STMTS + 2, sizeof(char *));
	size_t *lens = cf_calloc(CHUNK_STMTS + 2, sizeof(size_t));
	cf_status st = CF_OK;
	size_t i = 0;
	while (!st) {
		size_t k = 0, bytes = 0, start = i;
		int has_pre = 0;
		if (pre) {
			stmts[k] = pre;
			lens[k++] = strlen(pre);
			has_pre = 1;
			pre = NULL;
		}
		while (i < n && !refs[i].copy && k - (size_t)has_pre < max_stmts &&
		       (bytes < CHUNK_BYTES || k == 0)) {
			stmts[k] = refs[i].f->text + refs[i].st->offset;
			lens[k] = refs[i].st->len;
			bytes += lens[k++];
			i++;
		}
		bool last = i == n;
		if (last && post) {
			stmts[k] = post;
			lens[k++] = strlen(post);
		}
		if (cf_ctx_is_cancelled(ctx)) {
			st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
			break;
		}
		size_t failed = 0;
		if (k)
			st = cf_pg_pipeline(pg, stmts, lens, k, &failed);
		if (st) {
			size_t idx = failed - (size_t)has_pre;
			if (failed >= (size_t)has_pre && start + idx < i)
				st = locate(ctx, pg, o, refs[start + idx].f, refs[start + idx].st);
			break;
		}
		if (!last && refs[i].copy) {
			st = run_copy(ctx, pg, o, &refs[i]);
			if (st)
				break;
			i++;
		}
		*done += i - start;
		report_files(prog, refs, n, start, i);
		if (last)
			break;
	}
	free(stmts);
	free(lens);
	return st;
}

/* Runs each statement alone, in autocommit. */
static cf_status run_nontx(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const slist *l)
{
	cf_prog_phase(o->prog, "running statements outside the transaction", (long)l->n);
	for (size_t i = 0; i < l->n; i++) {
		const sref *r = &l->v[i];
		cf_prog_phase_step(o->prog, (long)i);
		cf_log_info(ctx, "%s:%d:%d: running %s outside the transaction", r->f->path,
		            r->st->line, r->st->column, r->st->nontx);
		char *sql = cf_strndup(r->f->text + r->st->offset, r->st->len);
		cf_status st = cf_pg_exec(pg, sql);
		free(sql);
		if (st) {
			st = locate(ctx, pg, o, r->f, r->st);
			cf_error_detail(ctx, "It runs after the build's transaction, which is committed: "
			                     "the statements before it are in the database.");
			return st;
		}
	}
	return CF_OK;
}

/* ---- Seeds, one file at a time ------------------------------------------------------ */

/* Runs one seed file: in a savepoint inside the build's transaction (IN_TX),
 * else in a transaction of its own. On failure, undoes the file only. */
static cf_status seed_file(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const slist *refs,
                           size_t from, size_t to, bool in_tx)
{
	size_t done = 0;
	const char *pre = in_tx ? "SAVEPOINT " SEED_SAVEPOINT : "BEGIN";
	const char *post = in_tx ? "RELEASE SAVEPOINT " SEED_SAVEPOINT : "COMMIT";
	cf_status st = run_refs(ctx, pg, o, refs->v + from, to - from, pre, post, CHUNK_STMTS,
	                        NULL, &done);
	if (st && !cf_pg_is_bad(pg)) {
		cf_err_stash stash;
		cf_error_stash(ctx, &stash);
		if (in_tx)
			cf_pg_exec(pg, "ROLLBACK TO SAVEPOINT " SEED_SAVEPOINT "; RELEASE SAVEPOINT "
			               SEED_SAVEPOINT);
		else if (cf_pg_in_transaction(pg))
			cf_pg_rollback(pg);
		cf_ctx_clear_error(ctx);
		cf_error_unstash(ctx, &stash);
	}
	return st;
}

/* "file:line:col: message" of the recorded error. */
static char *error_line(const cf_ctx *ctx, const char *fallback)
{
	const cf_error_info *e = cf_last_error_info(ctx);
	if (e && e->file && e->line)
		return cf_asprintf("%s:%d:%d: %s", e->file, e->line, e->column, e->message);
	return cf_asprintf("%s: %s", fallback, e ? e->message : "failed");
}

static cf_status run_seeds_sequential(cf_ctx *ctx, cf_pg *pg, const bset *s,
                                      const bapply_opts *o, const slist *seeds, bool in_tx,
                                      bapply_stats *stats)
{
	stats->seed_failed = cf_calloc(s->n, sizeof(bool));
	size_t i = 0;
	while (i < seeds->n) {
		const bfile *f = seeds->v[i].f;
		size_t j = i;
		while (j < seeds->n && seeds->v[j].f == f)
			j++;
		cf_prog_item_begin(o->prog, f->path, (long long)(j - i));
		cf_status st = seed_file(ctx, pg, o, seeds, i, j, in_tx);
		size_t fi = (size_t)(f - s->v);
		if (!st)
			cf_prog_item_add(o->prog, f->path, (long long)(j - i), 0, 0);
		cf_prog_item_end(o->prog, f->path, !st, st ? cf_last_error(ctx) : NULL);
		if (st) {
			stats->n_seed_failed++;
			stats->seed_failed[fi] = true;
			if (st == CF_ERR_CANCELLED || !o->is_continue || cf_pg_is_bad(pg))
				return st;
			char *msg = error_line(ctx, f->path);
			cf_log_warning(ctx, "%s (seed file rolled back, going on)", msg);
			free(msg);
			cf_errlist_push_ctx(&stats->seed_errors, ctx);
			cf_ctx_clear_error(ctx);
		} else {
			stats->n_seed_applied++;
			stats->n_statements += j - i;
		}
		i = j;
	}
	return CF_OK;
}

/* Files with statements in SEEDS, counted once each. */
static size_t count_files(const slist *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += i == 0 || l->v[i].f != l->v[i - 1].f;
	return n;
}

/* ---- The whole run ---------------------------------------------------------------- */

/* Without the build's transaction, every statement commits on its own (as
 * with psql without -1): one statement per pipeline. */
static size_t chunk_of(const bapply_opts *o)
{
	return o->is_transaction ? CHUNK_STMTS : 1;
}

static cf_status run_schema(cf_ctx *ctx, cf_pg *pg, const bapply_opts *o, const slist *tx,
                            bapply_stats *stats)
{
	double t0 = cf_now();
	cf_prog_phase(o->prog, o->phase_schema, -1);
	size_t done = 0;
	cf_status st = run_refs(ctx, pg, o, tx->v, tx->n, NULL, NULL, chunk_of(o), o->prog, &done);
	stats->n_statements += done;
	stats->apply_s = cf_now() - t0;
	return st;
}

static cf_status run_seeds(cf_ctx *ctx, cf_pg *pg, const bset *s, const bapply_opts *o,
                           const slist *seeds, bapply_stats *stats)
{
	double t0 = cf_now();
	cf_status st;
	cf_prog_phase(o->prog, o->phase_seeds, -1);
	if (o->is_sequential) {
		st = run_seeds_sequential(ctx, pg, s, o, seeds,
		                          o->is_transaction && !o->is_seed_tx_per_file, stats);
	} else {
		size_t done = 0;
		st = run_refs(ctx, pg, o, seeds->v, seeds->n, NULL, NULL, chunk_of(o), o->prog, &done);
		stats->n_statements += done;
		if (!st)
			stats->n_seed_applied = count_files(seeds);
	}
	stats->seeds_s = cf_now() - t0;
	return st;
}

cf_status bapply(cf_ctx *ctx, cf_pg *pg, const bset *s, const bapply_opts *o, bapply_stats *stats)
{
	slist tx = {0}, seeds = {0}, nontx = {0};
	size_t n_schema = s->n - s->n_seeds;
	cf_status st = collect(ctx, s, 0, n_schema, &tx, &nontx, stats);
	if (!st)
		st = collect(ctx, s, n_schema, s->n, &seeds, &nontx, stats);
	if (!st)
		cf_prog_plan(o->prog, (long)(count_files(&tx) + count_files(&seeds)),
		             (long long)(tx.n + seeds.n));
	bool is_tx = o->is_transaction && !(o->is_sequential && o->is_seed_tx_per_file);
	if (!st && is_tx)
		st = cf_pg_begin(pg);
	if (!st && tx.n)
		st = run_schema(ctx, pg, o, &tx, stats);
	if (!st && seeds.n)
		st = run_seeds(ctx, pg, s, o, &seeds, stats);
	if (!st && is_tx) {
		st = cf_pg_commit(pg);
		if (st && is_statement_error(ctx, pg)) {
			cf_error_recode(ctx, o->sql_error);
			cf_error_context(ctx, "while committing the build's transaction");
			st = cf_error_code(ctx);
		}
	}
	if (st && cf_pg_in_transaction(pg)) {
		cf_err_stash stash;
		cf_error_stash(ctx, &stash);
		cf_pg_rollback(pg);
		cf_error_unstash(ctx, &stash);
	}
	if (!st && nontx.n) {
		st = run_nontx(ctx, pg, o, &nontx);
		stats->n_nontx = nontx.n;
		stats->n_statements += nontx.n;
	}
	free(tx.v);
	free(seeds.v);
	free(nontx.v);
	return st;
}
