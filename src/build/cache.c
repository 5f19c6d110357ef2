/*
 * cache.c -- .confiture/build/cache: what the last builds already know.
 *
 Three kinds of entries:
 *   F dev ino size mtime_ns ctime_ns n_stmts path   a file that parses
 *   H setkey hash                                    the schema hash of a set of files
 *   O dev ino size mtime_ns key path                 the output last written
 * A file whose identity (device, inode, size, mtime and ctime, as git's index
 * keeps them) is unchanged is not parsed again by a file-only build. When
 * every file of a build is unchanged, the set's key (its relpaths and
 * identities, in order) gives the schema hash without reading them, and an
 * output file that is unchanged and has the same key is not rewritten: an
 * unchanged tree builds without reading a file. Files modified in the two
 * seconds before an entry would be written are left out, so that a write
 * landing in the same timestamp tick is never missed. --apply always reads
 * and parses: it needs the statements.
 */
#include "build_internal.h"
#include "ctx.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_MAGIC "confiture build cache 2 " CONFITURE_VERSION
#define RACY_NS 2000000000ULL
#define MAX_SETS 16

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
	char out_key[BKEY_HEX_LEN + 1];
	struct {
		char key[BKEY_HEX_LEN + 1];
		char hash[CF_SHA256_HEX_LEN + 1];
	} sets[MAX_SETS];                 /* newest first */
	size_t n_sets;
	bool is_dirty;
};

static int centry_cmp(const void *a, const void *b)
{
	return strcmp(((const centry *)a)->path, ((const centry *)b)->path);
}

/* Reads N unsigned numbers separated by single spaces; returns the rest. */
static char *read_numbers(char *p, unsigned long long *v, int n)
{
	for (int i = 0; i < n; i++) {
		if (*p != ' ' || p[1] < '0' || p[1] > '9')
			return NULL;
		v[i] = strtoull(p + 1, &p, 10);
	}
	return *p == ' ' && p[1] ? p + 1 : NULL;
}

/* Reads " " and a hex word of N characters into OUT; returns the rest. */
static char *read_hex(char *p, char *out, size_t n)
{
	if (*p != ' ' || strspn(p + 1, "0123456789abcdef") != n)
		return NULL;
	memcpy(out, p + 1, n);
	out[n] = '\0';
	p += 1 + n;
	return *p == ' ' || *p == '\0' ? p : NULL;
}

static void parse_line(bcache *c, char *line, size_t *cap)
{
	unsigned long long v[6];
	char *rest;
	if (line[0] == 'F' && (rest = read_numbers(line + 1, v, 6))) {
		if (c->n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			c->v = cf_realloc(c->v, *cap * sizeof(centry));
		}
		c->v[c->n++] = (centry){cf_strdup(rest), v[0], v[1], v[2], v[3], v[4], v[5]};
	} else if (line[0] == 'H' && c->n_sets < MAX_SETS) {
		rest = read_hex(line + 1, c->sets[c->n_sets].key, BKEY_HEX_LEN);
		if (rest && read_hex(rest, c->sets[c->n_sets].hash, CF_SHA256_HEX_LEN))
			c->n_sets++;
	} else if (line[0] == 'O' && (rest = read_numbers(line + 1, v, 4))) {
		char key[BKEY_HEX_LEN + 1];
		rest = read_hex(rest - 1, key, BKEY_HEX_LEN);
		if (!rest || *rest != ' ' || !rest[1])
			return;
		memcpy(c->out_key, key, sizeof(key));
		c->out_dev = v[0];
		c->out_ino = v[1];
		c->out_size = v[2];
		c->out_mtime_ns = v[3];
		cf_str_set(&c->out_path, rest + 1);
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

void bkey_init(bkey *k)
{
	k->h = ((unsigned __int128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
}

void bkey_add(bkey *k, const void *data, size_t n)
{
	const unsigned __int128 prime = ((unsigned __int128)1 << 88) | 0x13b;
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		k->h ^= p[i];
		k->h *= prime;
	}
}

void bkey_hex(const bkey *k, char out[BKEY_HEX_LEN + 1])
{
	unsigned char raw[16];
	for (int i = 0; i < 16; i++)
		raw[i] = (unsigned char)(k->h >> (8 * (15 - i)));
	cf_hex_encode(raw, 16, out);
}

/* The key of a set of files: relpaths and identities, in build order. */
static void set_key(const bset *s, char out[BKEY_HEX_LEN + 1])
{
	bkey k;
	bkey_init(&k);
	for (size_t i = 0; i < s->n; i++) {
		const bfile *f = &s->v[i];
		unsigned long long id[6] = {f->dev, f->ino, f->size, f->mtime_ns, f->ctime_ns,
		                            f->is_seed};
		bkey_add(&k, f->relpath, strlen(f->relpath) + 1);
		bkey_add(&k, id, sizeof(id));
	}
	bkey_hex(&k, out);
}

/* Are all the files of S in the cache, unchanged? Their entries in E. */
static bool all_known(const bcache *c, const bset *s, const centry **e)
{
	for (size_t i = 0; i < s->n; i++) {
		e[i] = find(c, s->v[i].abs, c->n);
		if (!e[i] || !same_file(&s->v[i], e[i]))
			return false;
	}
	return true;
}

bool bcache_known_hash(const bcache *c, bset *s, char out[CF_SHA256_HEX_LEN + 1])
{
	if (!c || !c->n_sets)
		return false;
	const centry **e = cf_calloc(s->n + 1, sizeof(centry *));
	bool known = all_known(c, s, e);
	char key[BKEY_HEX_LEN + 1];
	if (known)
		set_key(s, key);
	size_t k = 0;
	while (known && k < c->n_sets && strcmp(c->sets[k].key, key) != 0)
		k++;
	known = known && k < c->n_sets;
	if (known) {
		for (size_t i = 0; i < s->n; i++) {
			s->v[i].is_cached = true;
			s->v[i].n_stmts = e[i]->n_stmts;
		}
		memcpy(out, c->sets[k].hash, CF_SHA256_HEX_LEN + 1);
	}
	free(e);
	return known;
}

/* Remembers the hash of S when every file of it is in the cache. */
static void record_set(bcache *c, const bset *s, const char *hash)
{
	const centry **e = cf_calloc(s->n + 1, sizeof(centry *));
	bool known = all_known(c, s, e);
	free(e);
	if (!known)
		return;
	char key[BKEY_HEX_LEN + 1];
	set_key(s, key);
	size_t k = 0;
	while (k < c->n_sets && strcmp(c->sets[k].key, key) != 0)
		k++;
	if (k == 0 && c->n_sets && strcmp(c->sets[0].hash, hash) == 0)
		return; /* already the newest */
	if (k == c->n_sets)
		k = c->n_sets < MAX_SETS ? c->n_sets++ : MAX_SETS - 1;
	memmove(&c->sets[1], &c->sets[0], k * sizeof(c->sets[0]));
	snprintf(c->sets[0].key, sizeof(c->sets[0].key), "%s", key);
	snprintf(c->sets[0].hash, sizeof(c->sets[0].hash), "%s", hash);
	c->is_dirty = true;
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

/*
 * Writes the cache through a temporary file and a rename, so that readers
 * never see half of it, but without fsync: losing it in a crash costs one
 * slower build, and every line is checked when read back.
 */
static int write_cache(const char *path, const char *data, size_t n)
{
	char *dir = cf_strndup(path, (size_t)(strrchr(path, '/') - path));
	char *tmp = cf_asprintf("%s.tmp.%ld", path, (long)getpid());
	int rc = -1, fd = -1;
	char *parent = cf_strndup(dir, (size_t)(strrchr(dir, '/') - dir)); /* .confiture */
	mkdir(parent, 0755);
	free(parent);
	if ((mkdir(dir, 0755) == 0 || errno == EEXIST) &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(fd, data + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				break;
			done += (size_t)w;
		}
		rc = close(fd) == 0 && done == n ? rename(tmp, path) : -1;
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	free(dir);
	return rc;
}

void bcache_save(cf_ctx *ctx, bcache *c, const bset *s, const char *hash, const char *output,
                 const char *key)
{
	if (!c->file)
		return;
	record_files(c, s);
	record_set(c, s, hash);
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
	for (size_t k = 0; k < c->n_sets; k++)
		cf_buf_printf(&b, "H %s %s\n", c->sets[k].key, c->sets[k].hash);
	if (c->out_path)
		cf_buf_printf(&b, "O %llu %llu %llu %llu %s %s\n", c->out_dev, c->out_ino, c->out_size,
		              c->out_mtime_ns, c->out_key, c->out_path);
	if (write_cache(c->file, b.data, b.len) != 0)
		cf_log_debug(ctx, "could not write the build cache \"%s\": %s", c->file,
		             strerror(errno));
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
