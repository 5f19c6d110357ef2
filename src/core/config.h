/*
 * config.h -- the configuration of one environment.
 *
 * Keys are declared once in a table in config.c: path, type, default, doc.
 * Everything else (loading, layering, CONFITURE_* variables, flags, doctor's
 * origins, validate-config, the example file) is driven from that table.
 */
#ifndef CF_CONFIG_H
#define CF_CONFIG_H

#include "confiture.h"
#include "buf.h"

#include <stdbool.h>

#include "ydoc.h"

/* ---- Config ----------------------------------------------------------- */

typedef struct cf_include_dir {
	char *path;         /* relative to the project dir, or absolute */
	cf_strv include;    /* globs matched against paths relative to PATH */
	cf_strv exclude;
	bool recursive;
	long order;         /* lower first; ties keep declaration order */
	char *origin;       /* "file:line" */
	bool is_seed;       /* every file in it is a seed (the precursor's seed_dirs) */
} cf_include_dir;

typedef struct cf_hook_decl {
	char *event;
	char *run;          /* exactly one of run, sql, sql_file */
	char *sql;
	char *sql_file;
	long timeout_s;
	bool is_abort;      /* on_failure: abort (default) or warn */
	char *origin;       /* "file:line" */
} cf_hook_decl;

typedef struct cf_config {
	char *default_env;           /* from confiture.yaml */
	char *name;
	char *database_url;          /* NULL: embedded for "local", else libpq defaults */
	struct {
		char *host, *port, *database, *user, *password;
	} database;                  /* precursor form; folded into database_url */
	bool is_protected;

	cf_include_dir *include_dirs;
	size_t n_include_dirs;
	cf_strv exclude_dirs;

	struct {
		char *separator_style;   /* block_comment|line_comment|mysql|custom|none */
		char *separator_template;/* custom: "{file_path}" is replaced */
		bool validate_comments;
		bool transaction;
		char *sort_mode;         /* path | alphabetical (same) | hex */
		char *output;
	} build;
	struct {
		char *execution_mode;    /* concatenate | sequential */
		bool continue_on_error;
		char *transaction_mode;  /* savepoint | transaction */
	} seed;
	struct {
		char *dir;
		char *tracking_table;
		bool strict_mode;
		bool ignore_unmatched;   /* .sql files not named as migrations: a warning, not an error */
		bool lock_enabled;
		long lock_timeout_ms;
		char *on_checksum_mismatch; /* fail | warn | ignore */
	} migration;
	struct {
		char *rules;
		char *key_env;
		long jobs;
		long retries;
		long table_timeout_s;
		long analyze_target;  /* 0: the server's default_statistics_target */
	} sync;
	struct {
		char *staging_schema;
		long batch_size;
		long jobs;
	} s2s;

	struct {
		cf_strv select;          /* rules or families to run; empty: the default set */
		cf_strv ignore;          /* rules or families not to run */
		cf_strv severity_error;  /* rules (or families) reported as errors */
		cf_strv severity_warning;
		cf_strv severity_info;
		char *pg_version;        /* e.g. "13"; NULL: the server's, else the oldest */
		char *block_on;          /* never | error | warning: when migrate stops on lint */
	} lint;

	cf_hook_decl *hooks;
	size_t n_hooks;
	cf_strv plugins;

	char **origins;              /* per key in the key table: "default", "file:line", ... */
	char *unresolved_var;        /* cf_config_load_files: the unset variable database_url
	                                needs, or NULL */
} cf_config;

/* An override set by a flag or the API, applied after everything else. */
typedef struct cf_override {
	char *key, *value, *origin;
} cf_override;

typedef struct cf_overrides {
	cf_override *v;
	size_t n;
} cf_overrides;

void cf_overrides_release(cf_overrides *o);

/* A config holding only the built-in defaults. */
cf_config *cf_config_new_defaults(void);
void cf_config_free(cf_config *cfg);

/*
 * Loads environment ENV of the project in PROJECT_DIR (absolute), layering
 * defaults, PROJECT_FILE (may be NULL when absent), the env file, CONFITURE_*
 * variables and OVERRIDES. *IS_DEFINED says whether ENV appears anywhere.
 */
cf_status cf_config_load(cf_ctx *ctx, const char *project_dir, const char *project_file,
                         const char *env, const cf_overrides *overrides, cf_config **out);

/*
 * Loads ENV from the project's files alone: no CONFITURE_* variables and no
 * overrides, which belong to the environment a command selected (for
 * another environment named on the command line, and the protection scan).
 * With IS_LENIENT (the scan) an unset ${VAR} fails nothing: protected is
 * then assumed true, a connection setting that needs it names it in
 * unresolved_var, and hooks are not read.
 */
cf_status cf_config_load_files(cf_ctx *ctx, const char *project_dir, const char *project_file,
                               const char *env, bool is_lenient, cf_config **out);

/* Reads default_env (or NULL) from PROJECT_FILE, without loading an env. */
cf_status cf_config_default_env(cf_ctx *ctx, const char *project_file, char **out);

/* Lists the environments a project defines, sorted, in SV. */
cf_status cf_config_env_names(cf_ctx *ctx, const char *project_dir, const char *project_file,
                              cf_strv *sv);

/* Applies one KEY=VALUE at override level. */
cf_status cf_config_set(cf_ctx *ctx, cf_config *cfg, const char *key, const char *value,
                        const char *origin);

/* Iterates the scalar settings for `doctor`: key, value text, origin. The
 * value of database_url is shown with its password masked. */
typedef void (*cf_config_visit_fn)(void *ud, const char *key, const char *value,
                                   const char *origin);
void cf_config_visit(const cf_config *cfg, cf_config_visit_fn fn, void *ud);


/* Places the last error at the file and line KEY's value came from, when it
 * came from a file (not from a default, a variable or a flag). */
void cf_config_error_at_key(cf_ctx *ctx, const cf_config *cfg, const char *key);

/* True when CFG uses the embedded cluster. */
bool cf_config_is_embedded(const cf_config *cfg);

#endif
