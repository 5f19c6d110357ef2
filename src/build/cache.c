/*
 * cache.c -- .confiture/build/cache: what the last builds already know.
 *
 * Two kinds of entries:
 *   F dev ino size mtime_ns ctime_ns n_stmts path   a file that parses
 *   O dev ino size mtime_ns key path                 the output last written
 * A file whose identity (device, inode, size, mtime and ctime, as git's index
 * keeps them) is unchanged is not parsed again by a file-only build; an
 * output file that is unchanged and has the same key is not rewritten. Files
 * modified in the two seconds before an entry would be written are left out,
 * so that a write landing in the same timestamp tick is never missed.
 * --apply always parses: it needs the statements.
 */
#include "build_internal.h"
#include "ctx.h"
#include "fs.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CACHE_MAGIC "confiture build cache 1 " CONFITURE_VERSION
#define RACY_NS 2000000000ULL

typedef struct centry {
	char *path;
	unsigned long long dev, ino, size, mtime_ns, ctime_ns;
	size_t n_stmts;
} centry;

struct bcache {
	char *file;           /* the cache file, or NULL when there is no project */
	centry *v;            /* files, sorted by path */
	size_t n;
	char *out_path;       /* the output entry */
	unsigned long long out_dev, out_ino, out_size, out_mtime_ns;
	char out_key[CF_SHA256_HEX_LEN + 1];
	bool is_dirty;
};

static int centry_cmp(const void *a, const void *b)
{
	return strcmp(((const centry *)a)->path, ((const centry *)b)->path);
}

static void parse_line(bcache *c, char *line, size_t *cap)
{
	unsigned long long v[6];
	int off = 0;
	if (line[0] == 'F' && sscanf(line, "F %llu %llu %llu %llu %llu %llu %n", &v[0], &v[1], &v[2],
	                             &v[3], &v[4], &v[5], &off) == 6 && off > 0 && line[off]) {
		if (c->n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			c->v = cf_realloc(c->v, *cap * sizeof(centry));
		}
		c->v[c->n++] = (centry){cf_strdup(line + off), v[0], v[1], v[2], v[3], v[4], v[5]};
	} else if (line[0] == 'O' && sscanf(line, "O %llu %llu %llu %llu %64s %n", &v[0], &v[1],
	                                    &v[2], &v[3], c->out_key, &off) == 5 &&
	           off > 0 && line[off]) {
		c->out_dev = v[0];
		c->out_ino = v[1];
		c->out_size = v[2];
		c->out_mtime_ns = v[3];
		cf_str_set(&c->out_path, line + off);
	}
}

bcache *bcache_load(cf_ctx *ctx)
{
	bcache *c = cf_calloc(1, sizeof(*c));
	if (!ctx->project_dir)
		return c;
	c->file = cf_asprintf("%s/.confiture/build/cache", ctx->project_dir);
	char *text = NULL;
	size_t len = 0;
	if (!cf_is_file(c->file) || cf_file_read(ctx, c->file, &text, &len) != CF_OK) {
		cf_ctx_clear_error(ctx);
		return c;
	}
	size_t cap = 0;
	char *p = text;
	char *nl = strchr(p, '\n');
	if (nl && (size_t)(nl - p) == strlen(CACHE_MAGIC) && strncmp(p, CACHE_MAGIC, strlen(CACHE_MAGIC)) == 0) {
		for (p = nl + 1; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (!nl)
				break;
			*nl = '\0';
			parse_line(c, p, &cap);
		}
	}
	free(text);
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(centry), centry_cmp);
	return c;
}

/* Looks PATH up among the first N entries (the sorted ones). */
static const centry *find(const bcache *c, const char *path, size_t n)
{
	centry key = {.path = (char *)path};
	return n ? bsearch(&key, c->v, n, sizeof(centry), centry_cmp) : NULL;
}

/* Is F, as read (its fstat identity), the file an entry describes? */
static bool same_file(const bfile *f, const centry *e)
{
	return e->dev == f->dev && e->ino == f->ino && e->size == f->size &&
	       e->mtime_ns == f->mtime_ns && e->ctime_ns == f->ctime_ns;
}

bool bcache_lookup(const bcache *c, const bfile *f, size_t *n_stmts)
{
	const centry *e = c ? find(c, f->abs, c->n) : NULL;
	if (!e || !same_file(f, e))
		return false;
	*n_stmts = e->n_stmts;
	return true;
}

bool bcache_output_fresh(const bcache *c, const char *output, const char *key)
{
	struct stat sb;
	if (!c->out_path || strcmp(c->out_path, output) != 0 || strcmp(c->out_key, key) != 0 ||
	    stat(output, &sb) != 0)
		return false;
	unsigned long long m = (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL +
	                       (unsigned long long)sb.st_mtim.tv_nsec;
	return c->out_dev == (unsigned long long)sb.st_dev &&
	       c->out_ino == (unsigned long long)sb.st_ino &&
	       c->out_size == (unsigned long long)sb.st_size && c->out_mtime_ns == m;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Adds or refreshes the entries of the files parsed this time. */
static void record_files(bcache *c, const bset *s)
{
	unsigned long long limit = now_ns() - RACY_NS;
	size_t n0 = c->n;
	for (size_t i = 0; i < s->n; i++) {
		const bfile *f = &s->v[i];
		if (f->err.message || strchr(f->abs, '\n'))
			continue;
		const centry *e = find(c, f->abs, n0);
		if (f->is_cached && e && same_file(f, e))
			continue;
		if (!f->script || f->mtime_ns >= limit || f->ctime_ns >= limit)
			continue;
		centry *slot = (centry *)e;
		if (!slot) {
			c->v = cf_realloc(c->v, (c->n + 1) * sizeof(centry));
			slot = &c->v[c->n++];
			slot->path = cf_strdup(f->abs);
		}
		slot->dev = f->dev;
		slot->ino = f->ino;
		slot->size = f->size;
		slot->mtime_ns = f->mtime_ns;
		slot->ctime_ns = f->ctime_ns;
		slot->n_stmts = f->n_stmts;
		c->is_dirty = true;
	}
	if (c->n != n0)
		qsort(c->v, c->n, sizeof(centry), centry_cmp);
}

static void record_output(bcache *c, const char *output, const char *key)
{
	struct stat sb;
	if (!output || strchr(output, '\n') || stat(output, &sb) != 0)
		return;
	unsigned long long m = (unsigned long long)sb.st_mtim.tv_sec * 1000000000ULL +
	                       (unsigned long long)sb.st_mtim.tv_nsec;
	if (c->out_path && strcmp(c->out_path, output) == 0 && strcmp(c->out_key, key) == 0 &&
	    c->out_dev == (unsigned long long)sb.st_dev && c->out_ino == (unsigned long long)sb.st_ino &&
	    c->out_size == (unsigned long long)sb.st_size && c->out_mtime_ns == m)
		return;
	cf_str_set(&c->out_path, output);
	snprintf(c->out_key, sizeof(c->out_key), "%s", key);
	c->out_dev = (unsigned long long)sb.st_dev;
	c->out_ino = (unsigned long long)sb.st_ino;
	c->out_size = (unsigned long long)sb.st_size;
	c->out_mtime_ns = m;
	c->is_dirty = true;
}

void bcache_save(cf_ctx *ctx, bcache *c, const bset *s, const char *output, const char *key)
{
	if (!c->file)
		return;
	record_files(c, s);
	if (key)
		record_output(c, output, key);
	if (!c->is_dirty)
		return;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, CACHE_MAGIC "\n");
	for (size_t i = 0; i < c->n; i++) {
		const centry *e = &c->v[i];
		/* Entries of files that are gone are dropped. */
		if (!cf_is_file(e->path))
			continue;
		cf_buf_printf(&b, "F %llu %llu %llu %llu %llu %zu %s\n", e->dev, e->ino, e->size,
		              e->mtime_ns, e->ctime_ns, e->n_stmts, e->path);
	}
	if (c->out_path)
		cf_buf_printf(&b, "O %llu %llu %llu %llu %s %s\n", c->out_dev, c->out_ino, c->out_size,
		              c->out_mtime_ns, c->out_key, c->out_path);
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	if (cf_file_write_atomic(ctx, c->file, b.data, b.len) != CF_OK)
		cf_log_debug(ctx, "could not write the build cache: %s", cf_last_error(ctx));
	cf_ctx_clear_error(ctx);
	cf_error_unstash(ctx, &stash);
	cf_buf_release(&b);
	c->is_dirty = false;
}

void bcache_free(bcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	free(c->out_path);
	free(c->file);
	free(c);
}
