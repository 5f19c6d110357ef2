/*
 * discover.c -- which files a build runs, and in what order.
 *
 * Include dirs are taken in `order` (declaration order by default), files in
 * each by relative path compared component by component, or with
 * hexadecimal prefixes compared as numbers when build.sort_mode is hex. Seed
 * files (a path component "seed"/"seeds", alone or between "_"/"-") move
 * after all schema files, keeping their relative order.
 */
#include "build_internal.h"
#include "config.h"
#include "ctx.h"
#include "fs.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void bset_release(bset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		bfile *f = &s->v[i];
		free(f->abs);
		free(f->path);
		free(f->relpath);
		free(f->inrel);
		free(f->text);
		cf_script_free(f->script);
		free(f->copies);
		cf_error_item_release(&f->err);
	}
	free(s->v);
	free(s->base);
	cf_strv_release(&s->searched);
	memset(s, 0, sizeof(*s));
}

/* ---- Paths ------------------------------------------------------------------ */

char *bpath_normalize(const char *path)
{
	cf_strv parts, out;
	cf_strv_init(&parts);
	cf_strv_init(&out);
	cf_strv_split(&parts, path, '/');
	for (size_t i = 0; i < parts.n; i++) {
		if (strcmp(parts.v[i], ".") == 0)
			continue;
		if (strcmp(parts.v[i], "..") == 0 && out.n && strcmp(out.v[out.n - 1], "..") != 0) {
			free(out.v[--out.n]);
			continue;
		}
		cf_strv_push(&out, parts.v[i]);
	}
	char *joined = cf_strv_join(&out, "/");
	char *res = path[0] == '/' ? cf_asprintf("/%s", joined) : cf_strdup(*joined ? joined : ".");
	free(joined);
	cf_strv_release(&parts);
	cf_strv_release(&out);
	return res;
}

/* A "/" B, for the walk's hot loop (cf_path_join formats). Caller frees. */
static char *join2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = cf_malloc(la + lb + 2);
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

/* Is PATH equal to DIR or inside it? Both normalized. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* PATH for messages: relative to CWD (the working directory) when inside it. */
static char *shown_in(const char *cwd, const char *path)
{
	return cwd ? cf_path_relative(cwd, path) : cf_strdup(path);
}

static char *shown_path(const char *path)
{
	char cwd[PATH_MAX];
	return shown_in(getcwd(cwd, sizeof(cwd)), path);
}

/* The longest common directory of the (normalized, absolute) DIRS. */
static char *common_parent(char **dirs, size_t n)
{
	if (n == 0)
		return cf_strdup("/");
	size_t len = strlen(dirs[0]);
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < len && dirs[i][k] && dirs[i][k] == dirs[0][k])
			k++;
		/* Only whole components count. */
		if (!(k == len && (dirs[i][k] == '/' || dirs[i][k] == '\0')))
			while (k > 0 && dirs[0][k] != '/')
				k--;
		len = k;
	}
	return len ? cf_strndup(dirs[0], len) : cf_strdup("/");
}

/* ---- Seeds and ordering -------------------------------------------------------- */

/* The precursor's (?:^|[_-])seeds?(?:$|[_-]), case-insensitive. */
bool bseed_component(const char *comp, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		if (i > 0 && comp[i - 1] != '_' && comp[i - 1] != '-')
			continue;
		if (strncasecmp(comp + i, "seed", 4) != 0)
			continue;
		size_t e = i + 4;
		if (e < n && (comp[e] == 's' || comp[e] == 'S'))
			e++;
		if (e == n || comp[e] == '_' || comp[e] == '-')
			return true;
	}
	return false;
}

/* Is a file a seed: DIRNAME (its include dir's name), then INREL's components,
 * the last one without its extension. */
static bool is_seed_path(const char *dirname, const char *inrel)
{
	if (bseed_component(dirname, strlen(dirname)))
		return true;
	const char *p = inrel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!slash) {
			const char *dot = memrchr(p, '.', n);
			if (dot && dot > p)
				n = (size_t)(dot - p);
		}
		if (bseed_component(p, n))
			return true;
		if (!slash)
			return false;
		p = slash + 1;
	}
}

/* Length of the hexadecimal prefix of a component ("0A_x" -> 2), 0 if none.
 * Like the precursor: uppercase hex digits, ended by "_". */
static size_t hex_prefix(const char *c, size_t n)
{
	size_t k = 0;
	while (k < n && (isdigit((unsigned char)c[k]) || (c[k] >= 'A' && c[k] <= 'F')))
		k++;
	return k > 0 && k < n && c[k] == '_' ? k : 0;
}

/* Compares hex digit strings by value. */
static int hex_value_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	while (na > 1 && *a == '0')
		a++, na--;
	while (nb > 1 && *b == '0')
		b++, nb--;
	if (na != nb)
		return na < nb ? -1 : 1;
	int c = memcmp(a, b, na);
	return c < 0 ? -1 : c > 0;
}

static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	if (c)
		return c < 0 ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

int bhex_path_cmp(const char *a, const char *b)
{
	for (;;) {
		size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
		size_t ha = hex_prefix(a, na), hb = hex_prefix(b, nb);
		int c;
		if (ha && hb) {
			c = hex_value_cmp(a, ha, b, hb);
			if (!c)
				c = bytes_cmp(a + ha, na - ha, b + hb, nb - hb);
		} else if (ha || hb) {
			c = ha ? -1 : 1; /* numbered entries first */
		} else {
			c = 0;
		}
		if (!c)
			c = bytes_cmp(a, na, b, nb);
		if (c)
			return c;
		bool ea = a[na] == '\0', eb = b[nb] == '\0';
		if (ea || eb)
			return ea && eb ? 0 : ea ? -1 : 1;
		a += na + 1;
		b += nb + 1;
	}
}

static int file_cmp(const void *pa, const void *pb, void *arg)
{
	const bfile *a = pa, *b = pb;
	bool is_hex = *(const bool *)arg;
	if (a->is_seed != b->is_seed)
		return a->is_seed ? 1 : -1;
	if (a->dir_rank != b->dir_rank)
		return a->dir_rank < b->dir_rank ? -1 : 1;
	return is_hex ? bhex_path_cmp(a->inrel, b->inrel) : cf_path_cmp(a->inrel, b->inrel);
}

/* ---- Include dirs ----------------------------------------------------------------- */

typedef struct idir {
	const cf_include_dir *cfg;
	size_t index;
	char *abs;        /* normalized absolute */
	char *real;       /* realpath, for duplicate detection */
	bool is_present;
} idir;

static void find_default(void *ud, const char *key, const char *value, const char *origin)
{
	(void)value;
	if (strcmp(key, "include_dirs") == 0)
		*(bool *)ud = strcmp(origin, "default") == 0;
}

static bool include_dirs_are_default(const cf_ctx *ctx)
{
	bool is_default = false;
	cf_config_visit(ctx->cfg, find_default, &is_default);
	return is_default;
}

static cf_status missing_dir(cf_ctx *ctx, const idir *d, const char *shown)
{
	bool exists = access(d->abs, F_OK) == 0;
	cf_error_set(ctx, CF_ERR_SCHEMA, exists ? "include directory \"%s\" is not a directory"
	                                        : "include directory \"%s\" does not exist",
	             shown);
	if (d->cfg->origin)
		cf_error_detail(ctx, "It is listed in include_dirs at %s.", d->cfg->origin);
	cf_error_hint(ctx, "Create the directory, or remove it from include_dirs.");
	return CF_ERR_SCHEMA;
}

static int idir_rank_cmp(const void *pa, const void *pb)
{
	const idir *a = pa, *b = pb;
	if (a->cfg->order != b->cfg->order)
		return a->cfg->order < b->cfg->order ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static cf_status resolve_dirs(cf_ctx *ctx, idir **out, size_t *n_out, bset *s)
{
	const cf_config *cfg = ctx->cfg;
	bool is_default = include_dirs_are_default(ctx);
	idir *dirs = cf_calloc(cfg->n_include_dirs + 1, sizeof(idir));
	size_t n = 0;
	cf_status st = CF_OK;
	for (size_t i = 0; i < cfg->n_include_dirs && !st; i++) {
		idir *d = &dirs[n];
		d->cfg = &cfg->include_dirs[i];
		d->index = i;
		char *joined = cf_path_join(ctx->project_dir, d->cfg->path);
		d->abs = bpath_normalize(joined);
		free(joined);
		/* Messages name the directory as configured. */
		char *shown = cf_strdup(d->cfg->path);
		cf_strv_push(&s->searched, shown);
		if (!cf_is_dir(d->abs)) {
			if (is_default) {
				cf_log_debug(ctx, "skipping default include directory \"%s\": not present",
				             shown);
				free(d->abs);
				d->abs = NULL;
			} else {
				st = missing_dir(ctx, d, shown);
			}
			free(shown);
			continue;
		}
		free(shown);
		char real[PATH_MAX];
		d->real = cf_strdup(realpath(d->abs, real) ? real : d->abs);
		d->is_present = true;
		n++;
	}
	if (st) {
		for (size_t i = 0; i <= n; i++) {
			free(dirs[i].abs);
			free(dirs[i].real);
		}
		free(dirs);
		return st;
	}
	qsort(dirs, n, sizeof(idir), idir_rank_cmp);
	*out = dirs;
	*n_out = n;
	return CF_OK;
}

/* ---- Files ---------------------------------------------------------------------------- */

static bool glob_any(const cf_strv *pats, const char *path)
{
	for (size_t i = 0; i < pats->n; i++)
		if (cf_glob_match(pats->v[i], path))
			return true;
	return false;
}

/* The default patterns (any depth then "*.sql", or "*.sql" alone when not
 * recursive), on a walk that skips hidden entries, come down to the file
 * name's suffix. */
static bool is_sql_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".sql") == 0;
}

static bool is_included(const idir *d, const char *rel, const char *name)
{
	const cf_strv *inc = &d->cfg->include;
	if (inc->n ? !glob_any(inc, rel) : !is_sql_name(name))
		return false;
	return !glob_any(&d->cfg->exclude, rel);
}

static bool in_exclude_dirs(const cf_strv *excl, const char *abs)
{
	for (size_t i = 0; i < excl->n; i++)
		if (path_within(abs, excl->v[i]))
			return true;
	return false;
}

/* Adds the file REL of D (ABS is its absolute path; taken). */
static void file_add(bset *s, const idir *d, long rank, const char *rel, char *abs,
                     const struct stat *sb)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = cf_realloc(s->v, s->cap * sizeof(bfile));
	}
	bfile *f = &s->v[s->n++];
	memset(f, 0, sizeof(*f));
	f->abs = abs;
	f->inrel = cf_strdup(rel);
	f->dir = d->index;
	f->dir_rank = rank;
	f->is_seed = d->cfg->is_seed || is_seed_path(cf_path_base(d->abs), rel);
	f->dev = (unsigned long long)sb->st_dev;
	f->ino = (unsigned long long)sb->st_ino;
	f->size = (unsigned long long)sb->st_size;
	f->mtime_ns = (unsigned long long)sb->st_mtim.tv_sec * 1000000000ULL +
	              (unsigned long long)sb->st_mtim.tv_nsec;
	f->ctime_ns = (unsigned long long)sb->st_ctim.tv_sec * 1000000000ULL +
	              (unsigned long long)sb->st_ctim.tv_nsec;
}

typedef struct walk {
	cf_ctx *ctx;
	const idir *d;
	long rank;
	const cf_strv *excl;
	bset *s;
} walk;

static cf_status walk_error(cf_ctx *ctx, const char *what, const char *path)
{
	char *shown = shown_path(path);
	cf_error_set(ctx, CF_ERR_IO, "could not %s \"%s\": %s", what, shown, strerror(errno));
	free(shown);
	return CF_ERR_IO;
}

/*
 * Walks DIRFD (the directory REL under the include dir; REL NULL at the top),
 * following symlinks, skipping hidden entries. Takes ownership of DIRFD.
 * Directories in exclude_dirs are not entered.
 */
static cf_status walk_dir(walk *w, int dirfd, const char *rel, int depth)
{
	DIR *dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		char *abs = rel ? cf_path_join(w->d->abs, rel) : cf_strdup(w->d->abs);
		cf_status st = walk_error(w->ctx, "open directory", abs);
		free(abs);
		return st;
	}
	cf_status st = CF_OK;
	struct dirent *de;
	while (!st && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		bool maybe_dir = de->d_type == DT_DIR || de->d_type == DT_LNK || de->d_type == DT_UNKNOWN;
		if (!maybe_dir && !is_sql_name(de->d_name) && !w->d->cfg->include.n)
			continue; /* not a directory, and no pattern could take it */
		struct stat sb;
		cf_ftype t = cf_ftype_at(dirfd, de->d_name, de->d_type, &sb);
		char *child = rel ? join2(rel, de->d_name) : cf_strdup(de->d_name);
		bool wanted = is_included(w->d, child, de->d_name);
		char *abs = join2(w->d->abs, child);
		if (t == CF_FT_REGULAR) {
			if (wanted && !in_exclude_dirs(w->excl, abs)) {
				file_add(w->s, w->d, w->rank, child, abs, &sb);
				abs = NULL;
			}
		} else if (t == CF_FT_DIR && !(wanted && is_sql_name(de->d_name))) {
			if (!w->d->cfg->recursive || in_exclude_dirs(w->excl, abs)) {
				/* not entered */
			} else if (depth > 64) {
				errno = ELOOP;
				st = walk_error(w->ctx, "walk directory", abs);
			} else {
				int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				st = fd < 0 ? walk_error(w->ctx, "open directory", abs)
				            : walk_dir(w, fd, child, depth + 1);
			}
		} else if (wanted && !in_exclude_dirs(w->excl, abs)) {
			/* Named like a file the build takes, but not one: skipping it would
			 * build something other than what the directory holds. */
			char *shown = shown_path(abs);
			st = cf_not_a_file_error(w->ctx, "SQL file", shown, t);
			free(shown);
		}
		free(abs);
		free(child);
	}
	closedir(dir);
	return st;
}

static cf_status list_dir(cf_ctx *ctx, const idir *d, long rank, const cf_strv *excl, bset *s)
{
	if (in_exclude_dirs(excl, d->abs))
		return CF_OK;
	int fd = open(d->abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return walk_error(ctx, "open directory", d->abs);
	walk w = {ctx, d, rank, excl, s};
	return walk_dir(&w, fd, NULL, 0);
}

/* Leaves out the file ABS (the build's own output, when it lies inside an
 * include dir: building it into itself would double every statement). */
static void drop_file(bset *s, const char *abs)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].abs, abs) != 0)
			continue;
		free(s->v[i].abs);
		free(s->v[i].inrel);
		memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(bfile));
		s->n--;
		return;
	}
}

/* ---- Duplicates ----------------------------------------------------------------------- */

typedef struct dupkey {
	char *real;
	size_t file;
} dupkey;

static int dupkey_cmp(const void *pa, const void *pb)
{
	const dupkey *a = pa, *b = pb;
	int c = strcmp(a->real, b->real);
	return c ? c : (a->file < b->file ? -1 : a->file > b->file);
}

static const idir *dir_of(const idir *dirs, size_t n, size_t index)
{
	for (size_t i = 0; i < n; i++)
		if (dirs[i].index == index)
			return &dirs[i];
	return NULL;
}

static cf_status duplicate_error(cf_ctx *ctx, const bset *s, const idir *dirs, size_t nd,
                                 size_t a, size_t b)
{
	const bfile *fa = &s->v[a], *fb = &s->v[b];
	const idir *da = dir_of(dirs, nd, fa->dir), *db = dir_of(dirs, nd, fb->dir);
	char *shown = shown_path(fa->abs);
	cf_error_set(ctx, CF_ERR_SCHEMA, "file \"%s\" is included twice", shown);
	if (da == db) {
		cf_error_detail(ctx, "Include directory \"%s\" reaches it as \"%s\" and \"%s\".",
		                da->cfg->path, fa->inrel, fb->inrel);
	} else {
		cf_error_detail(ctx, "It is found through include directory \"%s\"%s%s%s and through "
		                "\"%s\"%s%s%s.", da->cfg->path, da->cfg->origin ? " (" : "",
		                da->cfg->origin ? da->cfg->origin : "", da->cfg->origin ? ")" : "",
		                db->cfg->path, db->cfg->origin ? " (" : "",
		                db->cfg->origin ? db->cfg->origin : "", db->cfg->origin ? ")" : "");
	}
	cf_error_hint(ctx, "Remove the overlap from include_dirs, or leave the inner directory out "
	                   "with exclude_dirs or an exclude pattern.");
	free(shown);
	return CF_ERR_SCHEMA;
}

/* Can two include dirs reach the same file (one inside the other)? */
static bool dirs_overlap(const idir *dirs, size_t nd)
{
	for (size_t i = 0; i < nd; i++)
		for (size_t j = i + 1; j < nd; j++)
			if (path_within(dirs[i].real, dirs[j].real) || path_within(dirs[j].real, dirs[i].real))
				return true;
	return false;
}

/* A file reached twice: through overlapping include dirs, or through
 * symlinks inside them (only looked for when the dirs overlap). */
static cf_status check_duplicates(cf_ctx *ctx, const bset *s, const idir *dirs, size_t nd)
{
	if (s->n < 2 || !dirs_overlap(dirs, nd))
		return CF_OK;
	dupkey *keys = cf_calloc(s->n, sizeof(dupkey));
	for (size_t i = 0; i < s->n; i++) {
		const idir *d = dir_of(dirs, nd, s->v[i].dir);
		keys[i].real = cf_path_join(d->real, s->v[i].inrel);
		keys[i].file = i;
	}
	qsort(keys, s->n, sizeof(dupkey), dupkey_cmp);
	cf_status st = CF_OK;
	for (size_t i = 1; i < s->n && !st; i++)
		if (strcmp(keys[i - 1].real, keys[i].real) == 0)
			st = duplicate_error(ctx, s, dirs, nd, keys[i - 1].file, keys[i].file);
	for (size_t i = 0; i < s->n; i++)
		free(keys[i].real);
	free(keys);
	return st;
}

/* ---- Discovery ------------------------------------------------------------------------- */

static cf_status no_files(cf_ctx *ctx, const bset *s, bool schema_only, bool seeds_only,
                          size_t n_found)
{
	char *list = cf_strv_join(&s->searched, ", ");
	if (seeds_only)
		cf_error_set(ctx, CF_ERR_SCHEMA, "no seed files found");
	else if (schema_only && n_found)
		cf_error_set(ctx, CF_ERR_SCHEMA, "no schema files found (only seed files)");
	else
		cf_error_set(ctx, CF_ERR_SCHEMA, "no SQL files found");
	cf_error_detail(ctx, "Searched: %s.", *list ? list : "(no include_dirs)");
	if (seeds_only)
		cf_error_hint(ctx, "Seed files are those with a \"seeds\" or \"seed\" path component, "
		                   "such as db/seeds/10_users.sql.");
	else
		cf_error_hint(ctx, "Add .sql files under db/schema/, or set include_dirs in the "
		                   "environment's config.");
	free(list);
	return CF_ERR_SCHEMA;
}

/* Keeps the files that match KEEP_SEEDS. */
static void filter_seeds(bset *s, bool keep_seeds)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].is_seed == keep_seeds) {
			s->v[k++] = s->v[i];
			continue;
		}
		bfile *f = &s->v[i];
		free(f->abs);
		free(f->inrel);
	}
	s->n = k;
}

static void name_files(bset *s)
{
	char buf[PATH_MAX];
	const char *cwd = getcwd(buf, sizeof(buf));
	for (size_t i = 0; i < s->n; i++) {
		bfile *f = &s->v[i];
		f->relpath = cf_path_relative(s->base, f->abs);
		if (strcmp(s->base, "/") == 0 && f->abs[0] == '/')
			cf_str_set(&f->relpath, f->abs + 1);
		f->path = shown_in(cwd, f->abs);
	}
	s->n_seeds = 0;
	for (size_t i = 0; i < s->n; i++)
		s->n_seeds += s->v[i].is_seed;
}

cf_status bdiscover(cf_ctx *ctx, bool schema_only, bool seeds_only, const char *skip, bset *out)
{
	memset(out, 0, sizeof(*out));
	cf_strv_init(&out->searched);
	idir *dirs = NULL;
	size_t nd = 0;
	cf_status st = resolve_dirs(ctx, &dirs, &nd, out);
	if (st)
		return st;
	cf_strv excl;
	cf_strv_init(&excl);
	for (size_t i = 0; i < ctx->cfg->exclude_dirs.n; i++) {
		char *joined = cf_path_join(ctx->project_dir, ctx->cfg->exclude_dirs.v[i]);
		cf_strv_push_owned(&excl, bpath_normalize(joined));
		free(joined);
	}
	for (size_t i = 0; i < nd && !st; i++)
		st = list_dir(ctx, &dirs[i], (long)i, &excl, out);
	if (!st && skip)
		drop_file(out, skip);
	if (!st)
		st = check_duplicates(ctx, out, dirs, nd);
	if (!st) {
		bool is_hex = ctx->cfg->build.sort_mode && strcmp(ctx->cfg->build.sort_mode, "hex") == 0;
		if (out->n > 1)
			qsort_r(out->v, out->n, sizeof(bfile), file_cmp, &is_hex);
		size_t n_found = out->n;
		if (schema_only || seeds_only)
			filter_seeds(out, seeds_only);
		if (out->n == 0)
			st = no_files(ctx, out, schema_only, seeds_only, n_found);
	}
	if (!st) {
		char **abs = cf_calloc(nd + 1, sizeof(char *));
		for (size_t i = 0; i < nd; i++)
			abs[i] = dirs[i].abs;
		out->base = nd == 1 ? cf_strdup(dirs[0].abs) : common_parent(abs, nd);
		free(abs);
		name_files(out);
	}
	for (size_t i = 0; i < nd; i++) {
		free(dirs[i].abs);
		free(dirs[i].real);
	}
	free(dirs);
	cf_strv_release(&excl);
	if (st)
		bset_release(out);
	return st;
}
