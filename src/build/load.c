/*
 * load.c -- reading and parsing the files of a build, and the schema hash.
 *
 * Reading and parsing run on a few threads (libpg_query keeps its state per
 * thread). Each worker has its own scratch context, so the error reported is
 * always the one of the first failing file in build order, whatever thread
 * found it first.
 */
#include "build_internal.h"
#include "progress.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WORKERS 8
#define FILES_PER_WORKER 16 /* fewer files than this per thread: not worth one */

typedef struct loader {
	cf_ctx *ctx;          /* the caller's: cancellation and progress only */
	bset *s;
	bool need_scripts;
	const bcache *cache;
	atomic_size_t next;
	atomic_size_t done;
	cf_prog *prog;
} loader;

static cf_status read_file(cf_ctx *wctx, bfile *f)
{
	int fd = open(f->abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cf_error_set(wctx, CF_ERR_IO, "could not open file \"%s\": %s", f->path,
		                    strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int err = S_ISREG(sb.st_mode) ? errno : EISDIR;
		close(fd);
		return cf_error_set(wctx, CF_ERR_IO, "could not read file \"%s\": %s", f->path,
		                    strerror(err));
	}
	f->dev = (unsigned long long)sb.st_dev;
	f->ino = (unsigned long long)sb.st_ino;
	f->size = (unsigned long long)sb.st_size;
	f->mtime_ns = (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL +
	              (unsigned long long)sb.st_mtim.tv_nsec;
	f->ctime_ns = (unsigned long long)sb.st_ctim.tv_sec * 1000000000ULL +
	              (unsigned long long)sb.st_ctim.tv_nsec;
	size_t cap = (size_t)sb.st_size + 1, len = 0;
	char *buf = cf_malloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			cap *= 2;
			buf = cf_realloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			free(buf);
			return cf_error_set(wctx, CF_ERR_IO, "could not read file \"%s\": %s", f->path,
			                    strerror(err));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	f->text = buf;
	f->len = len;
	return CF_OK;
}

/* A NUL byte inside a SQL file would silently cut the parse short. */
static cf_status check_text(cf_ctx *wctx, const bfile *f)
{
	const char *nul = memchr(f->text, '\0', f->len);
	if (!nul)
		return CF_OK;
	int line, col;
	cf_text_linecol(f->text, (size_t)(nul - f->text), &line, &col);
	cf_error_set(wctx, CF_ERR_SCHEMA, "file contains a NUL byte");
	cf_error_at(wctx, f->path, line, col);
	cf_error_hint(wctx, "Is it a SQL text file? Check its encoding.");
	return CF_ERR_SCHEMA;
}

/* Parses F as psql reads it: COPY data and pg_dump's \restrict lines are
 * not SQL (psqlscript.c). */
static cf_status parse_file(cf_ctx *wctx, bfile *f)
{
	cf_psql_script ps;
	cf_status st = cf_psql_parse_with(wctx, f->path, f->text, f->len, true, f->is_scs_off, &ps);
	if (st)
		return st;
	f->script = ps.script;
	f->copies = ps.copies;
	f->n_copies = ps.n_copies;
	f->n_stmts = f->script->n_stmts;
	free(ps.blanks);
	return CF_OK;
}

/*
 * A last statement without its ";" runs fine on its own, but in the
 * generated file it would run into the next file's first statement, and
 * psql would see one broken statement.
 */
static void warn_unterminated(cf_ctx *ctx, const bfile *f)
{
	const cf_script *s = f->script;
	if (!s->n_stmts)
		return;
	const cf_stmt *last = &s->stmts[s->n_stmts - 1];
	if (last->offset + last->len < f->len && f->text[last->offset + last->len] == ';')
		return;
	cf_log_warning(ctx, "%s:%d:%d: the last statement has no \";\": in the generated file it "
	               "would run into the next file's first statement", f->path, last->line,
	               last->column);
}

/* Moves the error recorded on WCTX into F. */
static void keep_error(cf_ctx *wctx, bfile *f)
{
	cf_errlist l = {0};
	cf_errlist_push_ctx(&l, wctx);
	f->err = l.v[0];
	free(l.v);
	cf_ctx_clear_error(wctx);
}

/* Reads F unless it was read, then parses it unless it was parsed or (when
 * scripts are not needed) the cache knows it parses. Safe to call again. */
static void load_one(loader *L, cf_ctx *wctx, bfile *f)
{
	if (f->err.message)
		return;
	cf_status st = CF_OK;
	if (!f->text) {
		st = read_file(wctx, f);
		if (!st)
			st = check_text(wctx, f);
	}
	bool parse = false;
	if (!st && !f->script) {
		f->is_cached = !L->need_scripts && bcache_lookup(L->cache, f, &f->n_stmts);
		parse = !f->is_cached;
	}
	if (parse) {
		st = parse_file(wctx, f);
		if (!st)
			warn_unterminated(L->ctx, f);
	}
	if (st)
		keep_error(wctx, f);
}

/*
 * The files of a build share one session, as they do when psql -1 runs the
 * generated file: a SET standard_conforming_strings holds for the files
 * after its own. A file that starts with the setting off is parsed again
 * so (rare: the parallel parse assumes it on).
 */
static void carry_scs(cf_ctx *wctx, bset *s)
{
	bool off = false;
	for (size_t i = 0; i < s->n; i++) {
		bfile *f = &s->v[i];
		if (f->text && (f->script || f->err.message) && f->is_scs_off != off) {
			cf_script_free(f->script);
			free(f->copies);
			f->script = NULL;
			f->copies = NULL;
			f->n_copies = 0;
			cf_error_item_release(&f->err);
			f->is_scs_off = off;
			if (parse_file(wctx, f))
				keep_error(wctx, f);
		}
		if (f->script)
			off = !f->script->scs_end;
	}
}

static void *worker(void *arg)
{
	loader *L = arg;
	cf_ctx *wctx = cf_ctx_new();
	for (;;) {
		if (cf_ctx_is_cancelled(L->ctx))
			break;
		size_t i = atomic_fetch_add(&L->next, 1);
		if (i >= L->s->n)
			break;
		load_one(L, wctx, &L->s->v[i]);
		size_t done = atomic_fetch_add(&L->done, 1) + 1;
		cf_prog_phase_step(L->prog, (long)done);
	}
	cf_ctx_free(wctx);
	return NULL;
}

static size_t n_workers(size_t n_files)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus : 1;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	size_t by_files = n_files / FILES_PER_WORKER;
	if (n > by_files)
		n = by_files ? by_files : 1;
	return n;
}

/* "N more files ...: a.sql:1:2, b.sql:3:4 ..." for the detail. */
static void other_failures(cf_ctx *ctx, const bset *s, size_t first)
{
	size_t n = 0;
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = first + 1; i < s->n; i++) {
		const cf_error_item *e = &s->v[i].err;
		if (!e->message)
			continue;
		if (++n <= 5)
			cf_buf_printf(&b, "%s%s:%d:%d", n > 1 ? ", " : "", e->file ? e->file : s->v[i].path,
			              e->line, e->column);
	}
	if (n)
		cf_error_detail(ctx, "%zu more file%s failed too: %s%s.", n, n == 1 ? "" : "s", b.data,
		                n > 5 ? ", ..." : "");
	cf_buf_release(&b);
}

/* Records the first failing file's error (in build order) on CTX. */
static cf_status report_first(cf_ctx *ctx, const bset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const cf_error_item *e = &s->v[i].err;
		if (!e->message)
			continue;
		cf_error_set(ctx, e->code, "%s", e->message);
		if (e->detail)
			cf_error_detail(ctx, "%s", e->detail);
		if (e->hint)
			cf_error_hint(ctx, "%s", e->hint);
		if (e->file)
			cf_error_at(ctx, e->file, e->line, e->column);
		if (e->sqlstate)
			cf_error_sqlstate(ctx, e->sqlstate);
		if (!e->detail)
			other_failures(ctx, s, i);
		return e->code;
	}
	return CF_OK;
}

cf_status bload(cf_ctx *ctx, bset *s, bool need_scripts, const bcache *cache,
                cf_prog *prog)
{
	cf_prog_phase(prog, "parsing", (long)s->n);
	loader L = {.ctx = ctx, .s = s, .need_scripts = need_scripts, .cache = cache,
	            .prog = prog};
	atomic_init(&L.next, 0);
	atomic_init(&L.done, 0);
	size_t nw = n_workers(s->n);
	pthread_t tids[MAX_WORKERS];
	size_t started = 0;
	for (size_t i = 1; i < nw; i++)
		if (pthread_create(&tids[started], NULL, worker, &L) == 0)
			started++;
	worker(&L); /* the calling thread works too */
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (cf_ctx_is_cancelled(ctx))
		return cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
	cf_ctx *wctx = cf_ctx_new();
	carry_scs(wctx, s);
	cf_ctx_free(wctx);
	cf_prog_phase_step(prog, (long)s->n);
	return report_first(ctx, s);
}

void bhash(const bset *s, char out[CF_SHA256_HEX_LEN + 1])
{
	cf_sha256 h;
	cf_sha256_init(&h);
	static const char nul = '\0';
	for (size_t i = 0; i < s->n; i++) {
		cf_sha256_update(&h, s->v[i].relpath, strlen(s->v[i].relpath));
		cf_sha256_update(&h, &nul, 1);
		cf_sha256_update(&h, s->v[i].text, s->v[i].len);
		cf_sha256_update(&h, &nul, 1);
	}
	unsigned char raw[32];
	cf_sha256_final(&h, raw);
	cf_hex_encode(raw, 32, out);
}
