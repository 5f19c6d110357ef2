/*
 * config.c -- configuration: the key table, layering.
 *
 * Precedence, lowest to highest: built-in defaults, confiture.yaml (top-level
 * keys, then environments.ENV), db/environments/ENV.yaml, CONFITURE_*
 * variables, then flags and API overrides. The YAML itself is read by ydoc.c.
 */
#include "config.h"
#include "error.h"
#include "fs.h"
#include "log.h"
#include "pg.h"
#include "secret.h"
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The key table ------------------------------------------------------ */

typedef enum ktype {
	KT_STR, KT_BOOL, KT_LONG, KT_ENUM, KT_STRV, KT_INCLUDE_DIRS, KT_HOOKS,
	KT_IGNORED /* a precursor key with no meaning here: accepted, any value */
} ktype;

typedef struct keydef {
	const char *path;
	ktype type;
	size_t off;
	const char *dflt;    /* text form; NULL = unset */
	const char *choices; /* KT_ENUM: "a|b|c" */
	const char *doc;
} keydef;

#define OFF(f) offsetof(cf_config, f)
#define IGNORED(p) {p, KT_IGNORED, 0, NULL, NULL, NULL}

static const keydef KEYS[] = {
	{"name", KT_STR, OFF(name), NULL, NULL,
	 "Environment name. Informational: the file name or the environments: key decides."},
	{"database_url", KT_STR, OFF(database_url), NULL, NULL,
	 "libpq URI or key=value string, or \"embedded\". Unset in \"local\" means embedded; "
	 "unset elsewhere means libpq defaults (PGHOST, PGDATABASE, ...)."},
	{"database.host", KT_STR, OFF(database.host), NULL, NULL,
	 "Precursor form of the connection, used when database_url is unset."},
	{"database.port", KT_STR, OFF(database.port), NULL, NULL, "See database.host."},
	{"database.database", KT_STR, OFF(database.database), NULL, NULL, "See database.host."},
	{"database.user", KT_STR, OFF(database.user), NULL, NULL, "See database.host."},
	{"database.password", KT_STR, OFF(database.password), NULL, NULL,
	 "See database.host. Prefer ~/.pgpass or PGPASSWORD."},
	{"protected", KT_BOOL, OFF(is_protected), "false", NULL,
	 "Forbid destructive commands on this database, however it is reached (build --recreate, "
	 "sync into it, s2s --restart; down, seed apply, s2s cleanup need --yes-i-mean-production). "
	 "Only the environment's files can say false."},
	{"include_dirs", KT_INCLUDE_DIRS, OFF(include_dirs), "db/schema,db/seeds", NULL,
	 "Schema directories: strings, or {path, include, exclude, recursive, order}. Files "
	 "with a seed/seeds path component are seeds. Missing default directories are skipped."},
	{"exclude_dirs", KT_STRV, OFF(exclude_dirs), NULL, NULL,
	 "Directories (relative to the project) left out of the build."},
	{"build.separators.style", KT_ENUM, OFF(build.separator_style), "block_comment",
	 "block_comment|line_comment|mysql|custom|none",
	 "Separator written before each file in the output (build.separators: STYLE works too)."},
	{"build.separators.custom_template", KT_STR, OFF(build.separator_template), NULL, NULL,
	 "For style custom: text with {file_path}."},
	{"build.validate_comments.enabled", KT_BOOL, OFF(build.validate_comments), "true", NULL,
	 "Reject files that end inside an unclosed block comment (build.validate_comments: BOOL "
	 "works too)."},
	{"build.transaction", KT_BOOL, OFF(build.transaction), "true", NULL,
	 "Run build --apply in one transaction."},
	{"build.sort_mode", KT_ENUM, OFF(build.sort_mode), "path", "path|alphabetical|hex",
	 "File order: by relative path (alphabetical is the same), or by hexadecimal prefix."},
	{"build.output", KT_STR, OFF(build.output), NULL, NULL,
	 "Output file; default db/generated/schema_{env}.sql."},
	{"seed.execution_mode", KT_ENUM, OFF(seed.execution_mode), "concatenate",
	 "concatenate|sequential", "sequential runs each seed file in its own savepoint."},
	{"seed.continue_on_error", KT_BOOL, OFF(seed.continue_on_error), "false", NULL,
	 "With sequential, report a failing seed file and go on."},
	{"seed.transaction_mode", KT_ENUM, OFF(seed.transaction_mode), "savepoint",
	 "savepoint|transaction", "With sequential: a savepoint per file, or a transaction per file."},
	{"migration.dir", KT_STR, OFF(migration.dir), "db/migrations", NULL,
	 "Directory of {VERSION}_{name}.up.sql / .down.sql files."},
	{"migration.tracking_table", KT_STR, OFF(migration.tracking_table), "tb_confiture", NULL,
	 "Ledger table, optionally schema-qualified."},
	{"migration.strict_mode", KT_BOOL, OFF(migration.strict_mode), "false", NULL,
	 "Treat orphan .sql files in the migrations directory as errors."},
	{"migration.ignore_unmatched", KT_BOOL, OFF(migration.ignore_unmatched), "false", NULL,
	 "Warn about .sql files in the migrations directory that are not named as migrations, "
	 "instead of refusing to run (exit 5)."},
	{"migration.locking.enabled", KT_BOOL, OFF(migration.lock_enabled), "true", NULL,
	 "Take the advisory lock while migrating (--no-lock turns it off)."},
	{"migration.lock_timeout_ms", KT_LONG, OFF(migration.lock_timeout_ms), "30000", NULL,
	 "How long to wait for the migration lock (migration.locking.timeout_ms works too)."},
	{"migration.on_checksum_mismatch", KT_ENUM, OFF(migration.on_checksum_mismatch), "fail",
	 "fail|warn|ignore", "What to do when an applied migration's file has changed."},
	{"sync.rules", KT_STR, OFF(sync.rules), "db/sync/anonymization.yaml", NULL,
	 "Anonymization rules file."},
	{"sync.key_env", KT_STR, OFF(sync.key_env), "CONFITURE_ANON_KEY", NULL,
	 "Name of the environment variable holding the anonymization key."},
	{"sync.jobs", KT_LONG, OFF(sync.jobs), "1", NULL, "Tables copied in parallel."},
	{"sync.retries", KT_LONG, OFF(sync.retries), "3", NULL,
	 "Times a table (or range) is retried after a transient failure (lost connection, "
	 "serialization failure, deadlock, admin shutdown)."},
	{"sync.table_timeout_s", KT_LONG, OFF(sync.table_timeout_s), "0", NULL,
	 "Statement timeout for each table's statements, in seconds (0: none)."},
	{"sync.analyze_target", KT_LONG, OFF(sync.analyze_target), "0", NULL,
	 "Statistics target of the ANALYZE after each loaded table (0: the server's "
	 "default_statistics_target)."},
	{"s2s.staging_schema", KT_STR, OFF(s2s.staging_schema), "confiture_src", NULL,
	 "Schema on the target holding the imported foreign tables."},
	{"s2s.batch_size", KT_LONG, OFF(s2s.batch_size), "0", NULL,
	 "Rows per primary-key range (0 lets analyze recommend one)."},
	{"s2s.jobs", KT_LONG, OFF(s2s.jobs), "1", NULL, "Tables migrated in parallel."},
	{"lint.select", KT_STRV, OFF(lint.select), NULL, NULL,
	 "Lint rules or families to run (default: the default set; \"default\" names it)."},
	{"lint.ignore", KT_STRV, OFF(lint.ignore), NULL, NULL,
	 "Lint rules or families not to run (Squawk's rule names work)."},
	{"lint.severity.error", KT_STRV, OFF(lint.severity_error), NULL, NULL,
	 "Lint rules or families reported as errors (an error fails the lint, exit 1)."},
	{"lint.severity.warning", KT_STRV, OFF(lint.severity_warning), NULL, NULL,
	 "Lint rules or families reported as warnings."},
	{"lint.severity.info", KT_STRV, OFF(lint.severity_info), NULL, NULL,
	 "Lint rules or families reported as information only."},
	{"lint.pg_version", KT_STR, OFF(lint.pg_version), NULL, NULL,
	 "PostgreSQL version the lint rules assume (e.g. 13 or 15.4); default: the server's, "
	 "else the oldest supported (13)."},
	{"lint.block_on", KT_ENUM, OFF(lint.block_on), "never", "never|error|warning",
	 "Whether migrate up --dry-run and preflight stop on lint findings of this severity."},
	{"hooks", KT_HOOKS, OFF(hooks), NULL, NULL,
	 "Event -> list of {run | sql | sql_file, timeout_s, on_failure: abort|warn}."},
	{"plugins", KT_STRV, OFF(plugins), NULL, NULL,
	 "Shared objects to load (anonymization strategies, hook callbacks)."},
	/* Precursor keys accepted for compatibility; they have no effect here. */
	IGNORED("superuser_dirs"), IGNORED("superuser_post_dirs"), IGNORED("auto_backup"),
	IGNORED("require_confirmation"), IGNORED("infrastructure"), IGNORED("pggit"),
	IGNORED("ssh_tunnel"), IGNORED("acls"), IGNORED("acls_lint_enabled"), IGNORED("ownership"),
	IGNORED("function_coverage"), IGNORED("security_lint"), IGNORED("notifications"),
	IGNORED("build.two_pass"), IGNORED("build.lint"),
	IGNORED("build.validate_comments.fail_on_unclosed_blocks"),
	IGNORED("build.validate_comments.fail_on_spillover"), IGNORED("migration.view_helpers"),
	IGNORED("migration.migration_generators"), IGNORED("migration.snapshot_history"),
	IGNORED("migration.snapshots_dir"), IGNORED("migration.live_snapshot"),
	IGNORED("migration.rebuild_threshold"), IGNORED("migration.grant_dir"),
	IGNORED("migration.allow_unsafe_under_replication"), IGNORED("seed.profiles"),
};

#define N_KEYS (sizeof(KEYS) / sizeof(KEYS[0]))

/* Keys of the project file that are not environment keys. */
static const char *const PROJECT_ONLY_KEYS[] = {"default_env", "environments"};

/* Other spellings of our keys: precursor names and shorthand forms. */
typedef enum alias_how {
	AL_SAME,             /* the same key under another name */
	AL_NOTICE,           /* the precursor's documented name: said once, on stderr */
	AL_SEEDS,            /* seed_dirs: include_dirs entries whose files are all seeds */
	AL_NONE,             /* a precursor key with nothing to map to (version: 1) */
} alias_how;

typedef struct alias {
	const char *from, *to;
	alias_how how;
} alias;

static const alias ALIASES[] = {
	{"migration_table", "migration.tracking_table", AL_SAME},
	{"migration.locking.timeout_ms", "migration.lock_timeout_ms", AL_SAME},
	{"build.separators", "build.separators.style", AL_SAME},        /* when a scalar */
	{"build.validate_comments", "build.validate_comments.enabled", AL_SAME}, /* when a scalar */
	/* The precursor's documented configuration. */
	{"version", NULL, AL_NONE},
	{"schema_dirs", "include_dirs", AL_NOTICE},
	{"seed_dirs", "include_dirs", AL_SEEDS},
	{"migrations_dir", "migration.dir", AL_NOTICE},
	{"database.url", "database_url", AL_NOTICE},
	{"database.name", "database.database", AL_NOTICE},
};

#define N_ALIASES (sizeof(ALIASES) / sizeof(ALIASES[0]))

/*
 * Bounds on values, checked wherever a value is set (YAML, CONFITURE_*
 * variables, flags, the API), so that a bad value is refused at its file
 * and line rather than failing later against a server. Kept apart from
 * KEYS so that its rows stay as they are.
 */
typedef enum kshape {
	KS_RANGE,       /* KT_LONG within [min, max] */
	KS_IDENT,       /* a PostgreSQL identifier: 1 to 63 bytes */
	KS_TABLE        /* letters, digits, "_": 1 to 63 of them, optionally schema.table */
} kshape;

typedef struct keybound {
	const char *path;
	kshape shape;
	long min, max;
} keybound;

static const keybound BOUNDS[] = {
	{"migration.lock_timeout_ms", KS_RANGE, 0, INT_MAX}, /* PostgreSQL's lock_timeout */
	{"sync.jobs", KS_RANGE, 1, 32},                       /* src/sync/run.c caps at 32 */
	{"sync.analyze_target", KS_RANGE, 0, 10000},          /* default_statistics_target's */
	{"s2s.jobs", KS_RANGE, 1, 32},
	{"s2s.batch_size", KS_RANGE, 0, 1000000000},
	{"migration.tracking_table", KS_TABLE, 0, 0},
	{"s2s.staging_schema", KS_IDENT, 0, 0},
};

/* A hook's timeout_s: 0 waits forever; at most a day. */
#define HOOK_TIMEOUT_MAX 86400

#define N_BOUNDS (sizeof(BOUNDS) / sizeof(BOUNDS[0]))

static const keybound *bound_find(const char *path)
{
	for (size_t i = 0; i < N_BOUNDS; i++)
		if (strcmp(BOUNDS[i].path, path) == 0)
			return &BOUNDS[i];
	return NULL;
}

/* "an integer from MIN to MAX", in a per-thread buffer (key_set_text's
 * reasons are otherwise static strings). */
static const char *range_text(long min, long max)
{
	static _Thread_local char buf[64];
	snprintf(buf, sizeof(buf), "an integer from %ld to %ld", min, max);
	return buf;
}

static bool ident_chars_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Why TEXT is out of B's bounds, or NULL. */
static const char *bound_check_str(const keybound *b, const char *text)
{
	size_t n = strlen(text);
	if (b->shape == KS_IDENT)
		return n == 0 || n > 63 ? "a name of 1 to 63 bytes" : NULL;
	const char *dot = strchr(text, '.');
	bool ok = dot ? ident_chars_ok(text, (size_t)(dot - text)) &&
	                    ident_chars_ok(dot + 1, strlen(dot + 1))
	              : ident_chars_ok(text, n);
	return ok ? NULL
	          : "a table name of 1 to 63 letters, digits or underscores, optionally "
	            "schema.table";
}

static const keydef *key_find(const char *path)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(KEYS[i].path, path) == 0)
			return &KEYS[i];
	return NULL;
}

static size_t key_index(const keydef *k)
{
	return (size_t)(k - KEYS);
}

/* True when some key lives under PREFIX ("build" for build.*). */
static bool key_is_section(const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < N_KEYS; i++)
		if (strncmp(KEYS[i].path, prefix, n) == 0 && KEYS[i].path[n] == '.')
			return true;
	return false;
}

/* The names allowed directly under PREFIX ("" for the top level). */
static size_t section_children(const char *prefix, const char **out, size_t max)
{
	size_t n = 0, lp = strlen(prefix);
	for (size_t i = 0; i < N_KEYS && n < max; i++) {
		const char *p = KEYS[i].path;
		if (KEYS[i].type == KT_IGNORED)
			continue;
		if (lp && (strncmp(p, prefix, lp) != 0 || p[lp] != '.'))
			continue;
		const char *child = lp ? p + lp + 1 : p;
		size_t cl = strcspn(child, ".");
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			if (strcspn(out[j], ".") == cl && strncmp(out[j], child, cl) == 0)
				dup = true;
		if (!dup)
			out[n++] = child; /* may run past cl: callers compare prefixes */
	}
	return n;
}

/* ---- Config lifecycle ---------------------------------------------------- */

static void include_dir_release(cf_include_dir *d)
{
	free(d->path);
	cf_strv_release(&d->include);
	cf_strv_release(&d->exclude);
	free(d->origin);
}

static void include_dirs_clear(cf_config *cfg)
{
	for (size_t i = 0; i < cfg->n_include_dirs; i++)
		include_dir_release(&cfg->include_dirs[i]);
	free(cfg->include_dirs);
	cfg->include_dirs = NULL;
	cfg->n_include_dirs = 0;
}

static void hook_decl_release(cf_hook_decl *h)
{
	free(h->event);
	free(h->run);
	free(h->sql);
	free(h->sql_file);
	free(h->origin);
}

static void hooks_clear(cf_config *cfg)
{
	for (size_t i = 0; i < cfg->n_hooks; i++)
		hook_decl_release(&cfg->hooks[i]);
	free(cfg->hooks);
	cfg->hooks = NULL;
	cfg->n_hooks = 0;
}

void cf_config_free(cf_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		void *field = (char *)cfg + KEYS[i].off;
		switch (KEYS[i].type) {
		case KT_STR:
		case KT_ENUM:
			if (strcmp(KEYS[i].path, "database_url") == 0 || strstr(KEYS[i].path, "password"))
				cf_secret_free(*(char **)field);
			else
				free(*(char **)field);
			break;
		case KT_STRV:
			cf_strv_release(field);
			break;
		default:
			break;
		}
		free(cfg->origins[i]);
	}
	include_dirs_clear(cfg);
	hooks_clear(cfg);
	free(cfg->origins);
	free(cfg->default_env);
	free(cfg->unresolved_var);
	free(cfg);
}

static cf_include_dir *include_dir_add(cf_config *cfg, const char *path, const char *origin)
{
	cfg->include_dirs =
		cf_realloc(cfg->include_dirs, (cfg->n_include_dirs + 1) * sizeof(cf_include_dir));
	cf_include_dir *d = &cfg->include_dirs[cfg->n_include_dirs];
	memset(d, 0, sizeof(*d));
	d->path = cf_strdup(path);
	d->recursive = true;
	d->order = (long)cfg->n_include_dirs;
	d->origin = cf_strdup(origin);
	cfg->n_include_dirs++;
	return d;
}

/* Sets a scalar-typed key from text. Returns a static reason on bad input. */
static const char *key_set_text(cf_config *cfg, const keydef *k, const char *text)
{
	void *field = (char *)cfg + k->off;
	switch (k->type) {
	case KT_STR: {
		const keybound *b = bound_find(k->path);
		const char *why = b ? bound_check_str(b, text) : NULL;
		if (why)
			return why;
		cf_str_set(field, text);
		return NULL;
	}
	case KT_ENUM: {
		size_t n = strlen(text);
		for (const char *c = k->choices; c;) {
			const char *bar = strchr(c, '|');
			size_t cl = bar ? (size_t)(bar - c) : strlen(c);
			if (cl == n && strncmp(c, text, n) == 0) {
				cf_str_set(field, text);
				return NULL;
			}
			c = bar ? bar + 1 : NULL;
		}
		return "one of";
	}
	case KT_BOOL: {
		int v = cf_parse_bool(text);
		if (v < 0)
			return "true or false";
		*(bool *)field = v == 1;
		return NULL;
	}
	case KT_LONG: {
		long v;
		const keybound *b = bound_find(k->path);
		long min = b ? b->min : 0, max = b ? b->max : LONG_MAX;
		if (cf_parse_long(text, &v) != 0 || v < min || v > max)
			return b ? range_text(min, max) : "a non-negative integer";
		*(long *)field = v;
		return NULL;
	}
	case KT_STRV:
		cf_strv_release(field);
		cf_strv_split(field, text, ',');
		return NULL;
	case KT_INCLUDE_DIRS: {
		include_dirs_clear(cfg);
		cf_strv parts;
		cf_strv_init(&parts);
		cf_strv_split(&parts, text, ',');
		for (size_t i = 0; i < parts.n; i++)
			include_dir_add(cfg, parts.v[i], NULL);
		cf_strv_release(&parts);
		return NULL;
	}
	case KT_HOOKS:
		return "hooks in a YAML file";
	case KT_IGNORED:
		return NULL;
	}
	return "a value";
}

static void origin_set(cf_config *cfg, const keydef *k, const char *origin)
{
	cf_str_set(&cfg->origins[key_index(k)], origin);
	/* Include dirs carry their own origin: the build treats dirs without one
	 * as defaults, which may be missing. */
	if (k->type == KT_INCLUDE_DIRS && strcmp(origin, "default") != 0)
		for (size_t i = 0; i < cfg->n_include_dirs; i++)
			if (!cfg->include_dirs[i].origin)
				cf_str_set(&cfg->include_dirs[i].origin, origin);
}

cf_config *cf_config_new_defaults(void)
{
	cf_config *cfg = cf_calloc(1, sizeof(*cfg));
	cfg->origins = cf_calloc(N_KEYS, sizeof(char *));
	for (size_t i = 0; i < N_KEYS; i++) {
		if (KEYS[i].dflt)
			key_set_text(cfg, &KEYS[i], KEYS[i].dflt);
		cfg->origins[i] = cf_strdup("default");
	}
	return cfg;
}

static cf_key_doc key_docs[N_KEYS];
static pthread_once_t key_docs_once = PTHREAD_ONCE_INIT;

static size_t n_key_docs;

static void key_docs_fill(void)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (KEYS[i].type != KT_IGNORED)
			key_docs[n_key_docs++] = (cf_key_doc){KEYS[i].path, KEYS[i].dflt, KEYS[i].doc};
}

const cf_key_doc *cf_config_key_docs(size_t *n)
{
	pthread_once(&key_docs_once, key_docs_fill);
	*n = n_key_docs;
	return key_docs;
}

bool cf_config_is_embedded(const cf_config *cfg)
{
	if (cfg->database_url)
		return strcmp(cfg->database_url, "embedded") == 0;
	return cfg->name && strcmp(cfg->name, "local") == 0;
}

void cf_overrides_release(cf_overrides *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		cf_secret_free(o->v[i].value); /* may be a URL with a password */
		free(o->v[i].origin);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* ---- Applying YAML ------------------------------------------------------- */

typedef struct layer {
	cf_ctx *ctx;
	cf_config *cfg;
	const cf_ydoc *doc;
	const char *project_dir;
	const char *shown;    /* file name for messages and origins */
	bool hooks_append;    /* hooks accumulate across layers */
	bool is_lenient;      /* a missing ${VAR} is tolerated (see cf_config_load_files) */
	char **set_by;        /* per key: the name that set it in this mapping, if any */
	int *set_line;        /* and its line */
} layer;

static char *origin_of(const layer *ly, const cf_ynode *n)
{
	return cf_asprintf("%s:%d", ly->shown, n->line);
}

/*
 * An unquoted 5 or true where a path is expected is a number or a boolean in
 * YAML, not a directory name: "include_dirs: 5" is a mistake, not db/5.
 */
static cf_status path_node(const layer *ly, const cf_ynode *n, const char *key, const char *what)
{
	long v;
	if (n->kind != CF_Y_SCALAR)
		return cf_ynode_type_error(ly->ctx, ly->doc, n, key, what);
	if (n->is_quoted || (cf_parse_long(n->str, &v) != 0 && cf_parse_bool(n->str) < 0))
		return CF_OK;
	cf_ynode_type_error(ly->ctx, ly->doc, n, key, what);
	cf_error_hint(ly->ctx, "Quote it (\"%s\") if a path is really named so.", n->str);
	return CF_ERR_CONFIG;
}

static cf_status strv_from_node(const layer *ly, const cf_ynode *n, const char *key, cf_strv *out)
{
	cf_strv_release(out);
	if (n->kind == CF_Y_NULL)
		return CF_OK;
	if (n->kind == CF_Y_SCALAR) {
		cf_status st = path_node(ly, n, key, "a string or a list of strings");
		if (!st)
			cf_strv_push(out, n->str);
		return st;
	}
	if (n->kind != CF_Y_SEQ)
		return cf_ynode_type_error(ly->ctx, ly->doc, n, key, "a string or a list of strings");
	for (size_t i = 0; i < n->n; i++) {
		cf_status st = path_node(ly, n->v[i], key, "a string");
		if (st)
			return st;
		cf_strv_push(out, n->v[i]->str);
	}
	return CF_OK;
}

static cf_status include_dir_from_map(const layer *ly, const cf_ynode *m)
{
	static const char *const known[] = {"path", "include", "exclude", "recursive", "order",
	                                    "auto_discover"};
	const cf_ynode *path = cf_ynode_get(m, "path");
	if (!path || path->kind != CF_Y_SCALAR) {
		cf_error_set(ly->ctx, CF_ERR_CONFIG, "include_dirs entry has no \"path\"");
		cf_error_at(ly->ctx, ly->doc->file, m->line, m->column);
		cf_error_hint(ly->ctx, "Write {path: db/schema} or just the path as a string.");
		return CF_ERR_CONFIG;
	}
	cf_status pst = path_node(ly, path, "include_dirs.path", "a path");
	if (pst)
		return pst;
	char *origin = origin_of(ly, m);
	cf_include_dir *d = include_dir_add(ly->cfg, path->str, origin);
	free(origin);
	cf_status st = CF_OK;
	for (size_t i = 0; i < m->n && !st; i++) {
		const char *k = m->k[i]->str;
		const cf_ynode *v = m->v[i];
		if (strcmp(k, "path") == 0)
			continue;
		if (strcmp(k, "include") == 0)
			st = strv_from_node(ly, v, "include_dirs.include", &d->include);
		else if (strcmp(k, "exclude") == 0)
			st = strv_from_node(ly, v, "include_dirs.exclude", &d->exclude);
		else if (strcmp(k, "recursive") == 0)
			st = cf_ynode_bool(ly->ctx, ly->doc, v, "include_dirs.recursive", &d->recursive);
		else if (strcmp(k, "order") == 0)
			st = cf_ynode_long(ly->ctx, ly->doc, v, "include_dirs.order", &d->order);
		else if (strcmp(k, "auto_discover") == 0)
			continue; /* precursor key: discovery is always on here */
		else
			st = cf_ynode_unknown_key(ly->ctx, ly->doc, m->k[i], "an include_dirs entry", known,
			                          sizeof(known) / sizeof(*known));
	}
	return st;
}

/* Drops the include_dirs entries that are not seed_dirs ones (SEEDS false),
 * or the seed_dirs ones (SEEDS true), so that either key replaces its own. */
static void include_dirs_drop(cf_config *cfg, bool seeds)
{
	size_t k = 0;
	for (size_t i = 0; i < cfg->n_include_dirs; i++) {
		if (cfg->include_dirs[i].is_seed == seeds)
			include_dir_release(&cfg->include_dirs[i]);
		else
			cfg->include_dirs[k++] = cfg->include_dirs[i];
	}
	cfg->n_include_dirs = k;
}

/* include_dirs, or with SEEDS the precursor's seed_dirs (KEY names it). */
static cf_status include_dirs_read(const layer *ly, const cf_ynode *n, const char *key, bool seeds)
{
	include_dirs_drop(ly->cfg, seeds);
	size_t first = ly->cfg->n_include_dirs;
	cf_status st = CF_OK;
	if (n->kind == CF_Y_SCALAR) {
		st = path_node(ly, n, key, "a path or a list of paths");
		char *origin = origin_of(ly, n);
		if (!st)
			include_dir_add(ly->cfg, n->str, origin);
		free(origin);
	} else if (n->kind != CF_Y_SEQ && n->kind != CF_Y_NULL) {
		return cf_ynode_type_error(ly->ctx, ly->doc, n, key, "a list");
	}
	for (size_t i = 0; n->kind == CF_Y_SEQ && i < n->n && !st; i++) {
		const cf_ynode *item = n->v[i];
		if (item->kind == CF_Y_SCALAR) {
			st = path_node(ly, item, key, "a path or {path: ...}");
			char *origin = origin_of(ly, item);
			if (!st)
				include_dir_add(ly->cfg, item->str, origin);
			free(origin);
		} else if (item->kind == CF_Y_MAP) {
			st = include_dir_from_map(ly, item);
		} else {
			st = cf_ynode_type_error(ly->ctx, ly->doc, item, key, "a path or {path: ...}");
		}
	}
	for (size_t i = first; i < ly->cfg->n_include_dirs; i++)
		ly->cfg->include_dirs[i].is_seed = seeds;
	return st;
}

static cf_status include_dirs_from_node(const layer *ly, const cf_ynode *n)
{
	return include_dirs_read(ly, n, "include_dirs", false);
}

static cf_status hook_from_map(const layer *ly, const char *event, const cf_ynode *m)
{
	static const char *const known[] = {"run", "sql", "sql_file", "timeout_s", "on_failure"};
	if (m->kind != CF_Y_MAP)
		return cf_ynode_type_error(ly->ctx, ly->doc, m, "hooks",
		                           "{run: ...}, {sql: ...} or {sql_file: ...}");
	cf_config *cfg = ly->cfg;
	cfg->hooks = cf_realloc(cfg->hooks, (cfg->n_hooks + 1) * sizeof(cf_hook_decl));
	cf_hook_decl *h = &cfg->hooks[cfg->n_hooks++];
	memset(h, 0, sizeof(*h));
	h->event = cf_strdup(event);
	h->timeout_s = 30;
	h->is_abort = true;
	h->origin = origin_of(ly, m);
	cf_status st = CF_OK;
	int n_actions = 0;
	for (size_t i = 0; i < m->n && !st; i++) {
		const char *k = m->k[i]->str;
		const cf_ynode *v = m->v[i];
		if (strcmp(k, "run") == 0 || strcmp(k, "sql") == 0 || strcmp(k, "sql_file") == 0) {
			char **field = k[0] == 'r' ? &h->run : k[3] == '\0' ? &h->sql : &h->sql_file;
			n_actions++;
			st = cf_ynode_str(ly->ctx, ly->doc, v, k, field);
			/* Commands as written: ${VAR} is left for the shell to expand
			 * from the hook's environment, as data, and stays literal in SQL. */
			if (!st && v->kind == CF_Y_SCALAR && field != &h->sql_file) {
				free(*field);
				*field = cf_ynode_as_written(v);
			}
		} else if (strcmp(k, "timeout_s") == 0) {
			st = cf_ynode_long(ly->ctx, ly->doc, v, "timeout_s", &h->timeout_s);
			if (!st && (h->timeout_s < 0 || h->timeout_s > HOOK_TIMEOUT_MAX))
				st = cf_ynode_type_error(ly->ctx, ly->doc, v, "timeout_s",
				                         range_text(0, HOOK_TIMEOUT_MAX));
		} else if (strcmp(k, "on_failure") == 0) {
			if (v->kind == CF_Y_SCALAR && strcmp(v->str, "abort") == 0)
				h->is_abort = true;
			else if (v->kind == CF_Y_SCALAR && strcmp(v->str, "warn") == 0)
				h->is_abort = false;
			else
				st = cf_ynode_type_error(ly->ctx, ly->doc, v, "on_failure", "abort or warn");
		} else {
			st = cf_ynode_unknown_key(ly->ctx, ly->doc, m->k[i], "a hook", known,
			                          sizeof(known) / sizeof(*known));
		}
	}
	if (!st && n_actions != 1) {
		cf_error_set(ly->ctx, CF_ERR_CONFIG,
		             "hook for \"%s\" must have exactly one of run, sql or sql_file", event);
		cf_error_at(ly->ctx, ly->doc->file, m->line, m->column);
		st = CF_ERR_CONFIG;
	}
	return st;
}

static cf_status hooks_from_node(const layer *ly, const cf_ynode *n)
{
	if (!ly->hooks_append)
		hooks_clear(ly->cfg);
	if (n->kind == CF_Y_NULL)
		return CF_OK;
	if (n->kind != CF_Y_MAP)
		return cf_ynode_type_error(ly->ctx, ly->doc, n, "hooks", "a mapping of events");
	const char *const *events = cf_hook_events();
	size_t n_events = 0;
	while (events[n_events])
		n_events++;
	for (size_t i = 0; i < n->n; i++) {
		const char *event = n->k[i]->str;
		bool known = false;
		for (size_t j = 0; j < n_events; j++)
			known = known || strcmp(events[j], event) == 0;
		if (!known)
			return cf_ynode_unknown_key(ly->ctx, ly->doc, n->k[i], "hooks (an event name)",
			                            events, n_events);
		const cf_ynode *list = n->v[i];
		cf_status st = CF_OK;
		if (list->kind == CF_Y_SEQ) {
			for (size_t j = 0; j < list->n && !st; j++)
				st = hook_from_map(ly, event, list->v[j]);
		} else if (list->kind != CF_Y_NULL) {
			st = hook_from_map(ly, event, list);
		}
		if (st)
			return st;
	}
	return CF_OK;
}

/* "database_url:" with nothing after it: only a missing key means the
 * default (embedded for local), never an empty one. */
static bool is_empty_url(const keydef *k, const cf_ynode *n)
{
	return strcmp(k->path, "database_url") == 0 &&
	       (n->kind == CF_Y_NULL || (n->kind == CF_Y_SCALAR && !*n->str));
}

static cf_status empty_url_error(const layer *ly, const cf_ynode *keynode)
{
	cf_error_set(ly->ctx, CF_ERR_CONFIG, "\"database_url\" is empty");
	cf_error_at(ly->ctx, ly->doc->file, keynode->line, keynode->column);
	cf_error_hint(ly->ctx, "Give a connection URL, or the word embedded for the project's own "
	                       "cluster; remove the key for the default (embedded in the local "
	                       "environment, libpq's PG* variables elsewhere).");
	return CF_ERR_CONFIG;
}

/*
 * A lenient load (the protection scan) meets a value whose ${VAR} is unset:
 * protection is assumed, a connection setting is kept as written and named
 * in unresolved_var, and anything else is left at its default.
 */
static void key_unresolved(const layer *ly, const keydef *k, const cf_ynode *n)
{
	cf_config *cfg = ly->cfg;
	if (k->off == OFF(is_protected)) {
		cfg->is_protected = true;
	} else if (k->type == KT_STR && (k->off == OFF(database_url) ||
	                                 strncmp(k->path, "database.", 9) == 0)) {
		key_set_text(cfg, k, n->str);
		cf_str_set(&cfg->unresolved_var, n->missing);
	}
}

static cf_status key_from_node(const layer *ly, const keydef *k, const cf_ynode *keynode,
                               const cf_ynode *n)
{
	void *field = (char *)ly->cfg + k->off;
	cf_status st = CF_OK;
	if (ly->is_lenient && (k->type == KT_HOOKS || n->missing)) {
		if (n->missing)
			key_unresolved(ly, k, n);
		return CF_OK;
	}
	if (is_empty_url(k, n))
		return empty_url_error(ly, keynode);
	switch (k->type) {
	case KT_INCLUDE_DIRS:
		st = include_dirs_from_node(ly, n);
		break;
	case KT_HOOKS:
		st = hooks_from_node(ly, n);
		break;
	case KT_STRV:
		st = strv_from_node(ly, n, k->path, field);
		break;
	default:
		if (n->kind == CF_Y_NULL && k->type == KT_STR) {
			/* "key: ~" unsets the key: back to its default, never a NULL
			 * where a default is relied on. */
			free(*(char **)field);
			*(char **)field = NULL;
			if (k->dflt)
				key_set_text(ly->cfg, k, k->dflt);
			break;
		}
		if (n->kind != CF_Y_SCALAR) {
			st = cf_ynode_type_error(ly->ctx, ly->doc, n, k->path,
			                         k->type == KT_BOOL   ? "true or false"
			                         : k->type == KT_LONG ? "an integer"
			                                              : "a string");
			break;
		}
		const char *why = key_set_text(ly->cfg, k, n->str);
		if (why) {
			if (k->type == KT_ENUM) {
				cf_error_set(ly->ctx, CF_ERR_CONFIG,
				             "invalid value for \"%s\": expected one of %s, got \"%s\"",
				             k->path, k->choices, n->str);
				cf_error_at(ly->ctx, ly->doc->file, n->line, n->column);
				st = CF_ERR_CONFIG;
			} else {
				st = cf_ynode_type_error(ly->ctx, ly->doc, n, k->path, why);
			}
		}
		break;
	}
	if (!st) {
		char *origin = origin_of(ly, keynode);
		origin_set(ly->cfg, k, origin);
		free(origin);
	}
	return st;
}

static cf_status apply_map(const layer *ly, const cf_ynode *map, const char *prefix,
                           bool is_project_top);

/* The alias PATH is, if any (a shorthand applies only to a scalar VAL). */
static const alias *alias_find(const char *path, const cf_ynode *val)
{
	bool scalar = val->kind == CF_Y_SCALAR || val->kind == CF_Y_NULL;
	for (size_t i = 0; i < N_ALIASES; i++)
		if (strcmp(ALIASES[i].from, path) == 0 && (scalar || !key_is_section(path)))
			return &ALIASES[i];
	return NULL;
}

/* One line naming the native key of a precursor key, once a run (the same
 * file may be read more than once). */
static void alias_notice(const layer *ly, const cf_ynode *keynode, const char *path,
                         const alias *al)
{
	char *msg;
	if (al->how == AL_NONE)
		msg = cf_asprintf("%s:%d: \"%s\" (the precursor's file version) is not needed here: "
		                  "ignored", ly->shown, keynode->line, path);
	else if (al->how == AL_SEEDS)
		msg = cf_asprintf("%s:%d: \"%s\" is the precursor's name: read as \"include_dirs\" "
		                  "entries whose files are all seeds", ly->shown, keynode->line, path);
	else
		msg = cf_asprintf("%s:%d: \"%s\" is the precursor's name for \"%s\"", ly->shown,
		                  keynode->line, path, al->to);
	cf_log_once(ly->ctx, CF_LOG_INFO, msg);
	free(msg);
}

/* A key set twice in one mapping, under two spellings (a precursor's name
 * and ours), is an error naming both: which one wins is not for us to guess. */
static cf_status set_once(const layer *ly, const keydef *k, const cf_ynode *keynode,
                          const char *path)
{
	size_t i = key_index(k);
	if (!ly->set_by[i]) {
		ly->set_by[i] = cf_strdup(path);
		ly->set_line[i] = keynode->line;
		return CF_OK;
	}
	cf_error_set(ly->ctx, CF_ERR_CONFIG,
	             "conflicting values for \"%s\": \"%s\" at line %d and \"%s\" at line %d",
	             k->path, ly->set_by[i], ly->set_line[i], path, keynode->line);
	cf_error_at(ly->ctx, ly->doc->file, keynode->line, keynode->column);
	cf_error_hint(ly->ctx, "They are two names of one key (the precursor's and confiture's): "
	                       "keep one.");
	return CF_ERR_CONFIG;
}

static cf_status apply_entry(const layer *ly, const cf_ynode *keynode, const cf_ynode *val,
                             const char *prefix, bool is_project_top)
{
	const char *name = keynode->str;
	char *path = *prefix ? cf_asprintf("%s.%s", prefix, name) : cf_strdup(name);
	cf_status st = CF_OK;
	const keydef *k = key_find(path);
	const alias *al = k ? NULL : alias_find(path, val);
	if (al && al->how != AL_SAME)
		alias_notice(ly, keynode, path, al);
	if (al && al->to)
		k = key_find(al->to);
	/* seed_dirs adds to include_dirs; any other second spelling of a key
	 * would leave one of two values silently unused. */
	if (k && !(al && al->how == AL_SEEDS) && k->type != KT_IGNORED)
		st = set_once(ly, k, keynode, path);
	if (st) {
		/* the conflict is the error */
	} else if (al && al->how == AL_NONE) {
		/* said by alias_notice */
	} else if (al && al->how == AL_SEEDS) {
		st = include_dirs_read(ly, val, path, true);
		if (!st) {
			char *origin = origin_of(ly, keynode);
			origin_set(ly->cfg, k, origin);
			free(origin);
		}
	} else if (k && k->type == KT_IGNORED) {
		cf_log_debug(ly->ctx, "%s:%d: \"%s\" has no effect in confiture (accepted for "
		             "compatibility)", ly->shown, keynode->line, path);
	} else if (k) {
		st = key_from_node(ly, k, keynode, val);
	} else if (key_is_section(path)) {
		if (val->kind == CF_Y_MAP)
			st = apply_map(ly, val, path, false);
		else if (val->kind != CF_Y_NULL)
			st = cf_ynode_type_error(ly->ctx, ly->doc, val, path, "a mapping");
	} else {
		const char *known[N_KEYS + N_ALIASES + 2];
		size_t n = section_children(prefix, known, N_KEYS);
		char **trimmed = cf_calloc(n + 2, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			trimmed[i] = cf_strndup(known[i], strcspn(known[i], "."));
		if (is_project_top)
			for (size_t i = 0; i < 2; i++)
				trimmed[n++] = cf_strdup(PROJECT_ONLY_KEYS[i]);
		char *where = *prefix ? cf_asprintf("section \"%s\"", prefix)
		                      : cf_strdup(is_project_top ? "the project file" : "the environment");
		st = cf_ynode_unknown_key(ly->ctx, ly->doc, keynode, where, (const char *const *)trimmed,
		                          n);
		free(where);
		for (size_t i = 0; i < n; i++)
			free(trimmed[i]);
		free(trimmed);
	}
	free(path);
	return st;
}

static cf_status apply_map(const layer *ly, const cf_ynode *map, const char *prefix,
                           bool is_project_top)
{
	for (size_t i = 0; i < map->n; i++) {
		const char *name = map->k[i]->str;
		if (is_project_top && (strcmp(name, "default_env") == 0 || strcmp(name, "environments") == 0))
			continue;
		cf_status st = apply_entry(ly, map->k[i], map->v[i], prefix, is_project_top);
		if (st)
			return st;
	}
	return CF_OK;
}

/* ---- Layering ------------------------------------------------------------ */

static bool env_name_ok(const char *env)
{
	if (!*env)
		return false;
	for (const char *p = env; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			return false;
	return env[0] != '.';
}

static char *env_file_path(const char *project_dir, const char *env)
{
	char *p = cf_asprintf("%s/db/environments/%s.yaml", project_dir, env);
	if (!cf_is_file(p)) {
		char *alt = cf_asprintf("%s/db/environments/%s.yml", project_dir, env);
		if (cf_is_file(alt)) {
			free(p);
			return alt;
		}
		free(alt);
	}
	return p;
}

/* PATH as shown in messages: relative to the working directory when inside it. */
static char *shown_path(const char *path)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return cf_strdup(path);
	return cf_path_relative(cwd, path);
}

/*
 * The first unset ${VAR} of a document, outside hook commands (run: and sql:
 * under hooks, which are never expanded), is an error at its line.
 */
static cf_status check_missing(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, bool in_hooks)
{
	if (!n || n->kind == CF_Y_NULL)
		return CF_OK;
	if (n->kind == CF_Y_SCALAR)
		return n->missing ? cf_ynode_missing_error(ctx, doc, n) : CF_OK;
	cf_status st = CF_OK;
	for (size_t i = 0; i < n->n && !st; i++) {
		const cf_ynode *key = n->k ? n->k[i] : NULL;
		bool is_command = in_hooks && key && key->str &&
		                  (strcmp(key->str, "run") == 0 || strcmp(key->str, "sql") == 0);
		if (key)
			st = check_missing(ctx, doc, key, false);
		if (!st && !is_command)
			st = check_missing(ctx, doc, n->v[i],
			                   in_hooks || (key && key->str && strcmp(key->str, "hooks") == 0));
	}
	return st;
}

/* Reads a config file; unset variables are errors unless LENIENT. */
static cf_status config_doc(cf_ctx *ctx, const char *path, bool lenient, cf_ydoc **out)
{
	char *shown = shown_path(path);
	cf_status st = cf_yaml_load(ctx, path, shown, CF_YAML_EXPAND_VARS | CF_YAML_DEFER_MISSING,
	                            out);
	free(shown);
	if (!st && !lenient && (st = check_missing(ctx, *out, (*out)->root, false))) {
		cf_ydoc_free(*out);
		*out = NULL;
	}
	return st;
}

static cf_status project_doc_mode(cf_ctx *ctx, const char *project_file, bool lenient,
                                  cf_ydoc **out)
{
	*out = NULL;
	if (!project_file)
		return CF_OK;
	cf_status st = config_doc(ctx, project_file, lenient, out);
	if (st)
		return st;
	const cf_ynode *root = (*out)->root;
	if (root && root->kind != CF_Y_MAP) {
		st = cf_ynode_type_error(ctx, *out, root, "the project file", "a mapping");
		cf_ydoc_free(*out);
		*out = NULL;
	}
	return st;
}

static cf_status project_doc(cf_ctx *ctx, const char *project_file, cf_ydoc **out)
{
	return project_doc_mode(ctx, project_file, false, out);
}

static cf_status project_envs(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode **out)
{
	*out = doc ? cf_ynode_get(doc->root, "environments") : NULL;
	if (*out && (*out)->kind == CF_Y_NULL)
		*out = NULL;
	if (*out && (*out)->kind != CF_Y_MAP)
		return cf_ynode_type_error(ctx, doc, *out, "environments", "a mapping of environments");
	return CF_OK;
}

cf_status cf_config_default_env(cf_ctx *ctx, const char *project_file, char **out)
{
	*out = NULL;
	cf_ydoc *doc = NULL;
	cf_status st = project_doc(ctx, project_file, &doc);
	const cf_ynode *n = doc ? cf_ynode_get(doc->root, "default_env") : NULL;
	if (!st && n && n->kind != CF_Y_NULL)
		st = cf_ynode_str(ctx, doc, n, "default_env", out);
	cf_ydoc_free(doc);
	return st;
}

cf_status cf_config_env_names(cf_ctx *ctx, const char *project_dir, const char *project_file,
                              cf_strv *sv)
{
	cf_ydoc *doc = NULL;
	/* Names only: an unset variable in some value does not hide them. */
	cf_status st = project_doc_mode(ctx, project_file, true, &doc);
	const cf_ynode *envs = NULL;
	if (!st)
		st = project_envs(ctx, doc, &envs);
	for (size_t i = 0; !st && envs && i < envs->n; i++)
		if (!cf_strv_contains(sv, envs->k[i]->str))
			cf_strv_push(sv, envs->k[i]->str);
	cf_ydoc_free(doc);
	char *dir = cf_asprintf("%s/db/environments", project_dir);
	if (!st && cf_is_dir(dir)) {
		cf_strv files;
		cf_strv_init(&files);
		st = cf_dir_list(ctx, dir, false, &files);
		for (size_t i = 0; !st && i < files.n; i++) {
			char *name = files.v[i];
			size_t n = strlen(name);
			size_t ext = n > 5 && strcmp(name + n - 5, ".yaml") == 0 ? 5
			             : n > 4 && strcmp(name + n - 4, ".yml") == 0 ? 4
			                                                          : 0;
			if (!ext)
				continue;
			name[n - ext] = '\0';
			if (!cf_strv_contains(sv, name))
				cf_strv_push(sv, name);
		}
		cf_strv_release(&files);
	}
	free(dir);
	cf_strv_sort_paths(sv);
	return st;
}

static cf_status unknown_env(cf_ctx *ctx, const char *project_dir, const char *project_file,
                             const char *env)
{
	cf_strv names;
	cf_strv_init(&names);
	cf_config_env_names(ctx, project_dir, project_file, &names);
	if (!cf_strv_contains(&names, "local"))
		cf_strv_push(&names, "local");
	cf_strv_sort_paths(&names);
	cf_error_set(ctx, CF_ERR_CONFIG, "unknown environment \"%s\"", env);
	char *list = cf_strv_join(&names, ", ");
	cf_error_detail(ctx, "Defined environments: %s.", list);
	const char *best = cf_closest(env, (const char *const *)names.v, names.n);
	if (best)
		cf_error_hint(ctx, "Did you mean \"%s\"?", best);
	else
		cf_error_hint(ctx, "Create db/environments/%s.yaml, or add \"%s\" under environments: "
		                   "in confiture.yaml.", env, env);
	free(list);
	cf_strv_release(&names);
	return CF_ERR_CONFIG;
}

static char *env_var_name(const char *path)
{
	char *name = cf_asprintf("CONFITURE_%s", path);
	for (char *p = name; *p; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	return name;
}

static cf_status apply_env_vars(cf_ctx *ctx, cf_config *cfg)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const keydef *k = &KEYS[i];
		if (k->type == KT_HOOKS)
			continue;
		char *var = env_var_name(k->path);
		const char *val = getenv(var);
		cf_status st = CF_OK;
		if (val) {
			const char *why = key_set_text(cfg, k, val);
			if (why) {
				cf_error_set(ctx, CF_ERR_CONFIG, "invalid value for \"%s\" in environment "
				             "variable %s: expected %s%s%s", k->path, var, why,
				             k->type == KT_ENUM ? " " : "",
				             k->type == KT_ENUM ? k->choices : "");
				st = CF_ERR_CONFIG;
			} else {
				char *origin = cf_asprintf("env %s", var);
				origin_set(cfg, k, origin);
				free(origin);
			}
		}
		free(var);
		if (st)
			return st;
	}
	return CF_OK;
}

cf_status cf_config_set(cf_ctx *ctx, cf_config *cfg, const char *key, const char *value,
                        const char *origin)
{
	const keydef *k = key_find(key);
	if (!k || k->type == KT_HOOKS) {
		cf_error_set(ctx, CF_ERR_CONFIG, "unknown config key \"%s\"", key);
		return CF_ERR_CONFIG;
	}
	const char *why = key_set_text(cfg, k, value);
	if (why) {
		bool is_flag = origin && origin[0] == '-';
		cf_error_set(ctx, is_flag ? CF_ERR_USAGE : CF_ERR_CONFIG,
		             "invalid value for %s: expected %s%s%s, got \"%s\"",
		             is_flag ? origin : key, why, k->type == KT_ENUM ? " " : "",
		             k->type == KT_ENUM ? k->choices : "", value);
		return is_flag ? CF_ERR_USAGE : CF_ERR_CONFIG;
	}
	origin_set(cfg, k, origin ? origin : "api");
	return CF_OK;
}

static cf_status apply_doc(cf_ctx *ctx, cf_config *cfg, const cf_ydoc *doc, const cf_ynode *map,
                           const char *project_dir, bool is_project_top, bool lenient)
{
	if (!map || map->kind == CF_Y_NULL)
		return CF_OK;
	if (map->kind != CF_Y_MAP)
		return cf_ynode_type_error(ctx, doc, map, "the environment", "a mapping");
	(void)project_dir;
	char *shown = cf_strdup(doc->file);
	layer ly = {.ctx = ctx, .cfg = cfg, .doc = doc, .project_dir = project_dir, .shown = shown,
	            .hooks_append = true, .is_lenient = lenient,
	            .set_by = cf_calloc(N_KEYS, sizeof(char *)),
	            .set_line = cf_calloc(N_KEYS, sizeof(int))};
	cf_status st = apply_map(&ly, map, "", is_project_top);
	for (size_t i = 0; i < N_KEYS; i++)
		free(ly.set_by[i]);
	free(ly.set_by);
	free(ly.set_line);
	free(shown);
	return st;
}

/* The precursor's database: {host, port, database, user, password} form. */
static void compose_database_url(cf_config *cfg)
{
	const char *keys[] = {"host", "port", "dbname", "user", "password"};
	const char *vals[] = {cfg->database.host, cfg->database.port, cfg->database.database,
	                      cfg->database.user, cfg->database.password};
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < 5; i++) {
		if (!vals[i])
			continue;
		char *q = cf_dsn_quote(vals[i]);
		cf_buf_printf(&b, "%s%s=%s", b.len ? " " : "", keys[i], q);
		cf_secret_free(q);
	}
	if (!b.len) {
		cf_buf_release(&b);
		return;
	}
	cfg->database_url = b.data;
	static const char *const parts[] = {"database.host", "database.port", "database.database",
	                                    "database.user", "database.password"};
	for (size_t i = 0; i < 5; i++) {
		const char *origin = cfg->origins[key_index(key_find(parts[i]))];
		if (strcmp(origin, "default") != 0) {
			origin_set(cfg, key_find("database_url"), origin);
			break;
		}
	}
}

/* The file (NAME:LINE) ORIGIN names, or NULL for a default, variable or flag. */
static char *origin_file(const char *origin)
{
	const char *colon = origin ? strrchr(origin, ':') : NULL;
	if (!colon || colon[1] < '1' || colon[1] > '9')
		return NULL;
	return cf_strndup(origin, (size_t)(colon - origin));
}

/*
 * One file giving both a URL and the precursor's parts (database: {url,
 * host}): which one connects would be a guess, so neither does. Across
 * layers the higher one wins, as for every key.
 */
static cf_status check_one_database_form(cf_ctx *ctx, cf_config *cfg)
{
	static const char *const parts[] = {"database.host", "database.port", "database.database",
	                                    "database.user", "database.password"};
	char *url_file = origin_file(cfg->origins[key_index(key_find("database_url"))]);
	cf_status st = CF_OK;
	for (size_t i = 0; url_file && !st && i < 5; i++) {
		char *f = origin_file(cfg->origins[key_index(key_find(parts[i]))]);
		if (f && strcmp(f, url_file) == 0) {
			st = cf_error_set(ctx, CF_ERR_CONFIG,
			                  "\"%s\" is set along with \"database_url\": a connection is "
			                  "a URL or its parts, not both", parts[i]);
			cf_config_error_at_key(ctx, cfg, parts[i]);
			cf_error_hint(ctx, "Keep database_url (or database.url), or the database: "
			                   "host, port, database, user and password keys, in %s.", f);
		}
		free(f);
	}
	free(url_file);
	return st;
}

/* How much of the layering a load applies. */
typedef struct load_mode {
	bool is_files_only;  /* no CONFITURE_* variables, no overrides */
	bool is_lenient;     /* unset ${VAR}: see key_unresolved */
} load_mode;

/*
 * Protection can be added by a variable or a flag, never removed: only the
 * environment's own files can say protected: false.
 */
static void keep_file_protection(cf_ctx *ctx, cf_config *cfg, bool was, const char *origin)
{
	if (!was || cfg->is_protected)
		return;
	const keydef *k = key_find("protected");
	cf_log_warning(ctx, "%s cannot lift the protection of environment \"%s\": only its own "
	               "file can say protected: false", cfg->origins[key_index(k)], cfg->name);
	cfg->is_protected = true;
	origin_set(cfg, k, origin);
}

static cf_status config_layers(cf_ctx *ctx, cf_config *cfg, const char *project_dir,
                               const char *project_file, const char *env, load_mode m)
{
	cf_ydoc *doc = NULL, *envdoc = NULL;
	char *env_path = env_file_path(project_dir, env);
	const cf_ynode *envs = NULL;
	cf_status st = project_doc_mode(ctx, project_file, m.is_lenient, &doc);
	if (!st)
		st = project_envs(ctx, doc, &envs);
	if (!st && doc) {
		const cf_ynode *d = cf_ynode_get(doc->root, "default_env");
		if (d && d->kind != CF_Y_NULL)
			st = cf_ynode_str(ctx, doc, d, "default_env", &cfg->default_env);
	}
	if (!st && doc)
		st = apply_doc(ctx, cfg, doc, doc->root, project_dir, true, m.is_lenient);
	const cf_ynode *envmap = envs ? cf_ynode_get(envs, env) : NULL;
	if (!st && envmap)
		st = apply_doc(ctx, cfg, doc, envmap, project_dir, false, m.is_lenient);
	/* Anything there but a regular file is an error from cf_yaml_load, not
	 * an environment silently without its file. */
	bool has_file = cf_ftype_at(AT_FDCWD, env_path, DT_UNKNOWN, NULL) != CF_FT_MISSING;
	if (!st && has_file) {
		st = config_doc(ctx, env_path, m.is_lenient, &envdoc);
		if (!st)
			st = apply_doc(ctx, cfg, envdoc, envdoc->root, project_dir, false, m.is_lenient);
	}
	if (!st && !envmap && !has_file && strcmp(env, "local") != 0)
		st = unknown_env(ctx, project_dir, project_file, env);
	cf_ydoc_free(doc);
	cf_ydoc_free(envdoc);
	free(env_path);
	return st;
}

static cf_status config_load(cf_ctx *ctx, const char *project_dir, const char *project_file,
                             const char *env, const cf_overrides *overrides, load_mode m,
                             cf_config **out)
{
	if (!env_name_ok(env)) {
		cf_error_set(ctx, CF_ERR_CONFIG, "invalid environment name \"%s\"", env);
		cf_error_hint(ctx, "Use letters, digits, \"_\" and \"-\".");
		return CF_ERR_CONFIG;
	}
	cf_config *cfg = cf_config_new_defaults();
	cf_str_set(&cfg->name, env);
	cf_status st = config_layers(ctx, cfg, project_dir, project_file, env, m);
	bool file_protected = cfg->is_protected;
	char *file_origin = cf_strdup(cfg->origins[key_index(key_find("protected"))]);
	if (!st && !m.is_files_only)
		st = apply_env_vars(ctx, cfg);
	for (size_t i = 0; !st && !m.is_files_only && overrides && i < overrides->n; i++)
		st = cf_config_set(ctx, cfg, overrides->v[i].key, overrides->v[i].value,
		                   overrides->v[i].origin);
	if (!st)
		keep_file_protection(ctx, cfg, file_protected, file_origin);
	free(file_origin);
	if (!st && cfg->database_url)
		st = check_one_database_form(ctx, cfg);
	else if (!st)
		compose_database_url(cfg);
	/* The environment is the one chosen, whatever a "name:" key says. */
	if (!st)
		cf_str_set(&cfg->name, env);
	if (st) {
		cf_config_free(cfg);
		return st;
	}
	*out = cfg;
	return CF_OK;
}

cf_status cf_config_load(cf_ctx *ctx, const char *project_dir, const char *project_file,
                         const char *env, const cf_overrides *overrides, cf_config **out)
{
	return config_load(ctx, project_dir, project_file, env, overrides, (load_mode){0}, out);
}

cf_status cf_config_load_files(cf_ctx *ctx, const char *project_dir, const char *project_file,
                               const char *env, bool is_lenient, cf_config **out)
{
	load_mode m = {.is_files_only = true, .is_lenient = is_lenient};
	return config_load(ctx, project_dir, project_file, env, NULL, m, out);
}

/* ---- Doctor -------------------------------------------------------------- */

void cf_config_visit(const cf_config *cfg, cf_config_visit_fn fn, void *ud)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const keydef *k = &KEYS[i];
		const void *field = (const char *)cfg + k->off;
		char *text = NULL;
		if (k->type == KT_IGNORED || strncmp(k->path, "database.", 9) == 0)
			continue;
		switch (k->type) {
		case KT_STR:
		case KT_ENUM: {
			const char *s = *(char *const *)field;
			if (strcmp(k->path, "database_url") == 0 && s && strcmp(s, "embedded") != 0)
				text = cf_dsn_mask(s);
			else
				text = cf_strdup(s ? s : "");
			break;
		}
		case KT_BOOL:
			text = cf_strdup(*(const bool *)field ? "true" : "false");
			break;
		case KT_LONG:
			text = cf_asprintf("%ld", *(const long *)field);
			break;
		case KT_STRV:
			text = cf_strv_join(field, ", ");
			break;
		case KT_INCLUDE_DIRS: {
			cf_buf b;
			cf_buf_init(&b);
			for (size_t j = 0; j < cfg->n_include_dirs; j++)
				cf_buf_printf(&b, "%s%s", j ? ", " : "", cfg->include_dirs[j].path);
			text = b.data;
			break;
		}
		case KT_HOOKS:
			text = cf_asprintf("%zu", cfg->n_hooks);
			break;
		case KT_IGNORED:
			break;
		}
		fn(ud, k->path, text, cfg->origins[i]);
		free(text);
	}
}

void cf_config_error_at_key(cf_ctx *ctx, const cf_config *cfg, const char *key)
{
	const keydef *k = key_find(key);
	const char *origin = k ? cfg->origins[key_index(k)] : NULL;
	char *file = origin_file(origin);
	if (!file)
		return; /* a default, a variable or a flag: no place in a file */
	cf_error_at(ctx, file, atoi(strrchr(origin, ':') + 1), 0);
	free(file);
}
