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
	char *key;         /* pairs an up with its down: VERSION_NAME, or Flyway's version */
	char *file;        /* the file name */
	char *version, *name;
	int kind;          /* 0 up, 1 down, 2 verify */
} entry;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : x->kind - y->kind;
}

static int file_cmp(const void *a, const void *b)
{
	const mig_file *x = a, *y = b;
	int c = strcmp(x->version, y->version);
	return c ? c : strcmp(x->base, y->base);
}

static void push_entry(entry **ents, size_t *n, size_t *cap, entry e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*ents = cf_realloc(*ents, *cap * sizeof(entry));
	}
	(*ents)[(*n)++] = e;
}

/* VERSION_NAME.up.sql, .down.sql or .verify.sql: the entry, or false. */
static bool native_entry(const char *nm, size_t len, entry *e)
{
	static const char *const suffixes[] = {".up.sql", ".down.sql", ".verify.sql"};
	for (int k = 0; k < 3; k++) {
		size_t sl = strlen(suffixes[k]);
		if (!ends_with(nm, len, suffixes[k]) || len == sl)
			continue;
		const char *us = memchr(nm, '_', len - sl);
		if (!us || us == nm || (size_t)(us - nm) + 1 == len - sl)
			return false; /* no VERSION_NAME shape */
		*e = (entry){.key = cf_strndup(nm, len - sl), .file = cf_strdup(nm),
		             .version = cf_strndup(nm, (size_t)(us - nm)),
		             .name = cf_strndup(us + 1, len - sl - (size_t)(us - nm) - 1), .kind = k};
		return true;
	}
	return false;
}

/*
 * Flyway's layout: V<version>__<description>.sql migrates, U<version>__...
 * undoes it. The version is digits with "." or "_" between them (Flyway
 * reads "_" as "."): V1_1__add_users.sql is version 1.1, as Flyway records
 * it in flyway_schema_history.
 */
static bool flyway_entry(const char *nm, size_t len, entry *e)
{
	if ((nm[0] != 'V' && nm[0] != 'U') || !ends_with(nm, len, ".sql"))
		return false;
	const char *sep = strstr(nm + 1, "__");
	if (!sep || sep == nm + 1 || sep + 2 >= nm + len - 4)
		return false;
	for (const char *c = nm + 1; c < sep; c++) {
		bool digit = *c >= '0' && *c <= '9';
		bool dot = (*c == '.' || *c == '_') && c > nm + 1 && c[-1] >= '0' && c[-1] <= '9';
		if (!digit && !dot)
			return false;
	}
	if (sep[-1] < '0' || sep[-1] > '9')
		return false;
	char *version = cf_strndup(nm + 1, (size_t)(sep - nm - 1));
	for (char *c = version; *c; c++)
		if (*c == '_')
			*c = '.';
	*e = (entry){.key = cf_asprintf("\x01%s", version), .file = cf_strdup(nm), .version = version,
	             .name = cf_strndup(sep + 2, (size_t)(nm + len - 4 - sep - 2)),
	             .kind = nm[0] == 'V' ? 0 : 1};
	return true;
}

/* Classifies one directory entry. */
static cf_status classify(cf_ctx *ctx, mig_set *set, DIR *d, const struct dirent *de,
                          entry **ents, size_t *n, size_t *cap)
{
	const char *nm = de->d_name;
	size_t len = strlen(nm);
	if (nm[0] == '.' || !ends_with(nm, len, ".sql"))
		return CF_OK;
	/* d_type answers for regular files; symlinks and the rest need a stat. */
	cf_ftype t = cf_ftype_at(dirfd(d), nm, de->d_type, NULL);
	if (t != CF_FT_REGULAR) {
		char *p = cf_path_join(set->dir, nm);
		cf_status st = cf_not_a_file_error(ctx, "migration file", p, t);
		free(p);
		return st;
	}
	entry e;
	if (native_entry(nm, len, &e) || flyway_entry(nm, len, &e))
		push_entry(ents, n, cap, e);
	else
		cf_strv_push_owned(&set->orphans, cf_path_join(set->dir, nm));
	return CF_OK;
}

static void entry_release(entry *e)
{
	free(e->key);
	free(e->file);
	free(e->version);
	free(e->name);
}

static void file_init(mig_set *set, mig_file *f, entry *e)
{
	memset(f, 0, sizeof(*f));
	f->is_flyway = e->key[0] == '\x01';
	f->base = f->is_flyway ? cf_strndup(e->file, strlen(e->file) - 4) : cf_strdup(e->key);
	f->version = e->version;
	f->name = e->name;
	e->version = e->name = NULL;
	f->up = cf_path_join(set->dir, e->file);
	f->up_abs = cf_path_join(set->dir_abs, e->file);
}

/* Groups the sorted entries by key into files; downs without ups are orphans. */
static void group(mig_set *set, entry *ents, size_t n)
{
	set->v = cf_calloc(n ? n : 1, sizeof(mig_file));
	mig_file *cur = NULL;
	const char *cur_key = NULL;
	for (size_t i = 0; i < n; i++) {
		entry *e = &ents[i];
		if (e->kind == 0) {
			cur = &set->v[set->n++];
			cur_key = e->key;
			file_init(set, cur, e);
		} else if (cur && strcmp(cur_key, e->key) == 0) {
			char **rel = e->kind == 1 ? &cur->down : &cur->verify;
			char **abs = e->kind == 1 ? &cur->down_abs : &cur->verify_abs;
			*rel = cf_path_join(set->dir, e->file);
			*abs = cf_path_join(set->dir_abs, e->file);
		} else {
			cf_strv_push_owned(&set->orphans, cf_path_join(set->dir, e->file));
		}
	}
	for (size_t i = 0; i < n; i++)
		entry_release(&ents[i]);
	/* Sorted by key is sorted by version unless a version is a prefix of
	 * another ("1_x" sorts after "10_y"), or the layouts mix: sort again
	 * only then. */
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
		st = classify(ctx, set, d, de, &ents, &n, &cap);
	closedir(d);
	if (!st) {
		if (n) /* an empty directory: no array to sort (NULL to qsort is undefined) */
			qsort(ents, n, sizeof(entry), entry_cmp);
		group(set, ents, n);
		find_dups(set);
	} else {
		for (size_t i = 0; i < n; i++)
			entry_release(&ents[i]);
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

/* Compares dotted numbers component by component ("001" == "1", "1.10" >
 * "1.9"); both must be digits and dots. */
int mig_num_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		while (*a == '0' && a[1] >= '0' && a[1] <= '9')
			a++;
		while (*b == '0' && b[1] >= '0' && b[1] <= '9')
			b++;
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		if (la != lb)
			return la < lb ? -1 : 1;
		int c = strncmp(a, b, la);
		if (c)
			return c;
		a += la;
		b += lb;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/*
 * Versions run in text order. Flyway orders its versions as numbers, so a
 * Flyway history whose two orders differ (V9 and V10) would run in an order
 * Flyway never used: refused, naming the pair.
 */
static cf_status check_flyway_order(cf_ctx *ctx, const mig_set *set)
{
	const mig_file *prev = NULL;
	for (size_t i = 0; i < set->n; i++) {
		const mig_file *f = &set->v[i];
		if (!f->is_flyway)
			continue;
		if (prev && mig_num_cmp(prev->version, f->version) > 0) {
			cf_error_set(ctx, CF_ERR_VALIDATION, "Flyway versions \"%s\" and \"%s\" do not sort "
			                                     "as text the way they sort as numbers",
			             prev->version, f->version);
			cf_error_detail(ctx, "confiture runs migrations in the text order of their versions: "
			                     "%s would run before %s, which Flyway runs after it.",
			                prev->up, f->up);
			cf_error_hint(ctx, "Give the versions the same number of digits (V009__, V010__) "
			                   "before adopting the history.");
			return CF_ERR_VALIDATION;
		}
		prev = f;
	}
	return CF_OK;
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
	cf_status st = check_flyway_order(ctx, set);
	return st ? st : mig_set_check_unmatched(ctx, set);
}

cf_status mig_set_check_unmatched(cf_ctx *ctx, const mig_set *set)
{
	if (!set->orphans.n)
		return CF_OK;
	const cf_config *cfg = ctx->cfg;
	char *list = cf_strv_join(&set->orphans, ", ");
	size_t n = set->orphans.n;
	cf_status st = CF_OK;
	if (cfg->migration.strict_mode) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "orphan migration file%s (strict mode): %s",
		                  n > 1 ? "s" : "", list);
		cf_error_hint(ctx, "Name migrations VERSION_NAME.up.sql (with an optional .down.sql), "
		                   "move other files elsewhere, or set migration.strict_mode: false.");
	} else if (!cfg->migration.ignore_unmatched) {
		st = cf_error_set(ctx, CF_ERR_VALIDATION, "%zu file%s in \"%s\" %s not named as a "
		                                          "migration and would never run: %s",
		                  n, n > 1 ? "s" : "", set->dir, n > 1 ? "are" : "is", list);
		cf_error_hint(ctx, "Name migrations VERSION_NAME.up.sql (with an optional "
		                   "VERSION_NAME.down.sql), or in Flyway's layout V<version>__<name>.sql "
		                   "(with U<version>__<name>.sql); move other files elsewhere, or set "
		                   "migration.ignore_unmatched: true to leave them.");
	} else {
		cf_log_warning(ctx, "ignoring %zu file%s that %s not named as a migration "
		                    "(migration.ignore_unmatched): %s",
		               n, n > 1 ? "s" : "", n > 1 ? "are" : "is", list);
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

char *mig_down_name(const mig_file *f)
{
	return f->is_flyway ? cf_asprintf("U%s.sql", f->base + 1) : cf_asprintf("%s.down.sql", f->base);
}
