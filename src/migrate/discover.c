/*
 * discover.c -- the migrations directory.
 *
 * Only the top level is read (as the precursor does). `migrate status` over
 * ten thousand files must stay well under 100 ms, so entries are classified
 * from readdir's d_type and names alone; stat is only needed for symlinks
 * and file systems that do not fill d_type.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "fs.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

typedef struct entry {
	char *base;        /* name without the .up/.down/.verify.sql suffix */
	int kind;          /* 0 up, 1 down, 2 verify */
} entry;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c = strcmp(x->base, y->base);
	return c ? c : x->kind - y->kind;
}

static int file_cmp(const void *a, const void *b)
{
	const mig_file *x = a, *y = b;
	int c = strcmp(x->version, y->version);
	return c ? c : strcmp(x->base, y->base);
}

/* Is the entry a regular file? Symlinks and unknown types need stat. */
static cf_status entry_is_file(cf_ctx *ctx, const char *dir, const struct dirent *de, bool *is_file)
{
	if (de->d_type == DT_REG) {
		*is_file = true;
		return CF_OK;
	}
	if (de->d_type != DT_LNK && de->d_type != DT_UNKNOWN) {
		*is_file = false;
		return CF_OK;
	}
	char *p = cf_path_join(dir, de->d_name);
	struct stat stbuf;
	cf_status st = CF_OK;
	if (stat(p, &stbuf) != 0)
		st = cf_error_set(ctx, CF_ERR_IO, "could not read migration file \"%s\": %s", p,
		                  strerror(errno));
	else
		*is_file = S_ISREG(stbuf.st_mode);
	free(p);
	return st;
}

/* Classifies one directory entry. */
static cf_status classify(cf_ctx *ctx, mig_set *set, const struct dirent *de, entry **ents,
                          size_t *n, size_t *cap)
{
	const char *nm = de->d_name;
	size_t len = strlen(nm);
	if (nm[0] == '.' || !ends_with(nm, len, ".sql"))
		return CF_OK;
	bool is_file = false;
	cf_status st = entry_is_file(ctx, set->dir_abs, de, &is_file);
	if (st)
		return st;
	if (!is_file) {
		char *p = cf_path_join(set->dir, nm);
		st = cf_error_set(ctx, CF_ERR_IO, "could not read migration file \"%s\": not a regular file",
		                  p);
		free(p);
		return st;
	}
	static const char *const suffixes[] = {".up.sql", ".down.sql", ".verify.sql"};
	for (int k = 0; k < 3; k++) {
		size_t sl = strlen(suffixes[k]);
		if (!ends_with(nm, len, suffixes[k]) || len == sl)
			continue;
		const char *us = memchr(nm, '_', len - sl);
		if (!us || us == nm || (size_t)(us - nm) + 1 == len - sl)
			break; /* no VERSION_NAME shape: an orphan */
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*ents = cf_realloc(*ents, *cap * sizeof(entry));
		}
		(*ents)[(*n)++] = (entry){cf_strndup(nm, len - sl), k};
		return CF_OK;
	}
	cf_strv_push_owned(&set->orphans, cf_path_join(set->dir, nm));
	return CF_OK;
}

static void file_init(mig_set *set, mig_file *f, const char *base)
{
	memset(f, 0, sizeof(*f));
	const char *us = strchr(base, '_');
	f->base = cf_strdup(base);
	f->version = cf_strndup(base, (size_t)(us - base));
	f->name = cf_strdup(us + 1);
	char *nm = cf_asprintf("%s.up.sql", base);
	f->up = cf_path_join(set->dir, nm);
	f->up_abs = cf_path_join(set->dir_abs, nm);
	free(nm);
}

static void side_paths(mig_set *set, const char *base, const char *suffix, char **rel, char **abs)
{
	char *nm = cf_asprintf("%s%s", base, suffix);
	*rel = cf_path_join(set->dir, nm);
	*abs = cf_path_join(set->dir_abs, nm);
	free(nm);
}

/* Groups the sorted entries by base into files; downs without ups are orphans. */
static void group(mig_set *set, entry *ents, size_t n)
{
	set->v = cf_calloc(n ? n : 1, sizeof(mig_file));
	mig_file *cur = NULL;
	for (size_t i = 0; i < n; i++) {
		entry *e = &ents[i];
		if (e->kind == 0) {
			cur = &set->v[set->n++];
			file_init(set, cur, e->base);
		} else if (cur && strcmp(cur->base, e->base) == 0) {
			if (e->kind == 1)
				side_paths(set, e->base, ".down.sql", &cur->down, &cur->down_abs);
			else
				side_paths(set, e->base, ".verify.sql", &cur->verify, &cur->verify_abs);
		} else {
			char *nm = cf_asprintf("%s%s", e->base, e->kind == 1 ? ".down.sql" : ".verify.sql");
			cf_strv_push_owned(&set->orphans, cf_path_join(set->dir, nm));
			free(nm);
		}
		free(e->base);
	}
	/* Sorted by base is sorted by version unless a version is a prefix of
	 * another ("1_x" sorts after "10_y"): sort again only then. */
	bool sorted = true;
	for (size_t i = 1; i < set->n && sorted; i++)
		sorted = file_cmp(&set->v[i - 1], &set->v[i]) <= 0;
	if (!sorted)
		qsort(set->v, set->n, sizeof(mig_file), file_cmp);
	cf_strv_sort_paths(&set->orphans);
}

static void find_dups(mig_set *set)
{
	for (size_t i = 0; i + 1 < set->n;) {
		size_t j = i + 1;
		while (j < set->n && strcmp(set->v[i].version, set->v[j].version) == 0)
			j++;
		if (j - i > 1) {
			cf_buf b;
			cf_buf_init(&b);
			cf_buf_printf(&b, "%s:", set->v[i].version);
			for (size_t k = i; k < j; k++)
				cf_buf_printf(&b, "%s %s", k > i ? "," : "", cf_path_base(set->v[k].up));
			cf_strv_push_owned(&set->dups, cf_buf_detach(&b));
			cf_strv_push(&set->dup_versions, set->v[i].version);
			cf_buf_release(&b);
		}
		i = j;
	}
}

cf_status mig_set_load(cf_ctx *ctx, mig_set *set)
{
	memset(set, 0, sizeof(*set));
	cf_strv_init(&set->orphans);
	cf_strv_init(&set->dups);
	cf_strv_init(&set->dup_versions);
	const char *dir = ctx->cfg->migration.dir ? ctx->cfg->migration.dir : "db/migrations";
	set->dir = cf_strdup(dir);
	set->dir_abs = cf_path_join(ctx->project_dir ? ctx->project_dir : ".", dir);
	DIR *d = opendir(set->dir_abs);
	if (!d) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR) {
			cf_error_set(ctx, CF_ERR_CONFIG, "migrations directory \"%s\" does not exist",
			             set->dir);
			cf_error_hint(ctx, "Create it (confiture migrate generate NAME does), or set "
			                   "migration.dir in the environment.");
			return CF_ERR_CONFIG;
		}
		return cf_error_set(ctx, CF_ERR_IO, "could not open migrations directory \"%s\": %s",
		                    set->dir, strerror(err));
	}
	entry *ents = NULL;
	size_t n = 0, cap = 0;
	cf_status st = CF_OK;
	struct dirent *de;
	while (!st && (de = readdir(d)))
		st = classify(ctx, set, de, &ents, &n, &cap);
	closedir(d);
	if (!st) {
		if (n) /* an empty directory: no array to sort (NULL to qsort is undefined) */
			qsort(ents, n, sizeof(entry), entry_cmp);
		group(set, ents, n);
		find_dups(set);
	} else {
		for (size_t i = 0; i < n; i++)
			free(ents[i].base);
	}
	free(ents);
	return st;
}

static void file_release(mig_file *f)
{
	free(f->version);
	free(f->name);
	free(f->base);
	free(f->up);
	free(f->up_abs);
	free(f->down);
	free(f->down_abs);
	free(f->verify);
	free(f->verify_abs);
	free(f->checksum);
	free(f->text);
}

void mig_set_release(mig_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		file_release(&set->v[i]);
	free(set->v);
	free(set->dir);
	free(set->dir_abs);
	cf_strv_release(&set->orphans);
	cf_strv_release(&set->dups);
	cf_strv_release(&set->dup_versions);
	memset(set, 0, sizeof(*set));
}

mig_file *mig_set_find(const mig_set *set, const char *version)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(set->v[mid].version, version);
		if (c == 0)
			return &set->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

cf_status mig_set_check(cf_ctx *ctx, const mig_set *set)
{
	if (set->dups.n) {
		char *list = cf_strv_join(&set->dups, "; ");
		cf_error_set(ctx, CF_ERR_SQL, "duplicate migration version%s in \"%s\": %s",
		             set->dups.n > 1 ? "s" : "", set->dir, list);
		cf_error_hint(ctx, "Each migration needs its own VERSION (the text before the first "
		                   "\"_\"). Rename one of them; new versions are 14-digit timestamps.");
		free(list);
		return CF_ERR_SQL;
	}
	if (!set->orphans.n)
		return CF_OK;
	char *list = cf_strv_join(&set->orphans, ", ");
	cf_status st = CF_OK;
	if (ctx->cfg->migration.strict_mode) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "orphan migration file%s (strict mode): %s",
		                  set->orphans.n > 1 ? "s" : "", list);
		cf_error_hint(ctx, "Name migrations VERSION_NAME.up.sql (with an optional .down.sql), "
		                   "move other files elsewhere, or set migration.strict_mode: false.");
	} else {
		cf_log_warning(ctx, "ignoring %zu file%s that %s not named VERSION_NAME.up.sql/.down.sql: %s",
		               set->orphans.n, set->orphans.n > 1 ? "s" : "",
		               set->orphans.n > 1 ? "are" : "is", list);
	}
	free(list);
	return st;
}

cf_status mig_file_read(cf_ctx *ctx, mig_file *f)
{
	if (f->text)
		return CF_OK;
	cf_status st = cf_file_read(ctx, f->up_abs, &f->text, &f->len);
	if (st) {
		/* Name the file as the user knows it, keeping the system's reason. */
		const char *msg = cf_last_error(ctx);
		const char *why = strrchr(msg, ':');
		char *reason = cf_strdup(why ? why + 2 : msg);
		cf_ctx_clear_error(ctx);
		cf_error_set(ctx, CF_ERR_IO, "could not read migration file \"%s\": %s", f->up, reason);
		free(reason);
		return CF_ERR_IO;
	}
	char sum[65];
	mig_checksum(f->text, f->len, sum);
	cf_str_set(&f->checksum, sum);
	return CF_OK;
}
