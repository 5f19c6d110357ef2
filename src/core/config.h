/*
 * config.h -- the configuration of one environment, and the YAML reader.
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

/* ---- YAML ------------------------------------------------------------- */

typedef enum cf_ykind { CF_Y_NULL, CF_Y_SCALAR, CF_Y_MAP, CF_Y_SEQ } cf_ykind;

/* A YAML node with its position. Maps keep keys in k[] and values in v[]. */
typedef struct cf_ynode {
	cf_ykind kind;
	int line, column;      /* 1-based */
	char *str;             /* scalar text (CF_Y_SCALAR) */
	bool is_quoted;        /* scalar was quoted: never null/bool by spelling */
	size_t n;
	struct cf_ynode **k;   /* map keys (scalars) */
	struct cf_ynode **v;   /* map values or sequence items */
} cf_ynode;

typedef struct cf_ydoc {
	char *file;            /* path as given, for messages */
	cf_ynode *root;        /* NULL for an empty document */
} cf_ydoc;

enum { CF_YAML_EXPAND_VARS = 1 };

/*
 * Reads and parses a YAML file; SHOWN (or PATH when NULL) names it in
 * messages. With CF_YAML_EXPAND_VARS, ${VAR} and
 * ${VAR:-default} are expanded in every scalar; a missing variable is an
 * error at its line. Errors: CF_ERR_IO (unreadable), CF_ERR_CONFIG (syntax,
 * duplicate key, missing variable), each with file and line.
 * *OUT is freed with cf_ydoc_free.
 */
cf_status cf_yaml_load(cf_ctx *ctx, const char *path, const char *shown, int flags,
                       cf_ydoc **out);
/* Same, from a string; NAME is used in messages. */
cf_status cf_yaml_parse(cf_ctx *ctx, const char *name, const char *text, size_t len, int flags,
                        cf_ydoc **out);
void cf_ydoc_free(cf_ydoc *doc);

/* The value for KEY in a map node, or NULL. */
cf_ynode *cf_ynode_get(const cf_ynode *map, const char *key);
/* Scalar helpers; each records a CF_ERR_CONFIG at the node on a bad type. */
cf_status cf_ynode_str(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                       char **out);
cf_status cf_ynode_bool(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        bool *out);
cf_status cf_ynode_long(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                        long *out);
/* Records "KEY in FILE must be WHAT" at the node. Returns CF_ERR_CONFIG. */
cf_status cf_ynode_type_error(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n, const char *key,
                              const char *what);
/* Records an unknown key error with a "did you mean" hint among KNOWN. */
cf_status cf_ynode_unknown_key(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *keynode,
                               const char *where, const char *const *known, size_t n_known);
/* Parses true/false/yes/no/on/off/1/0: 1, 0, or -1 when not a boolean. */
int cf_parse_bool(const char *s);
/* Parses a base-10 integer with nothing after it: 0, or -1. */
int cf_parse_long(const char *s, long *out);
/* Expands ${VAR} and ${VAR:-default} in S. Missing variable: NULL and *MISSING set. */
char *cf_expand_vars(const char *s, char **missing);

/* ---- Config ----------------------------------------------------------- */

typedef struct cf_include_dir {
	char *path;         /* relative to the project dir, or absolute */
	cf_strv include;    /* globs matched against paths relative to PATH */
	cf_strv exclude;
	bool recursive;
	long order;         /* lower first; ties keep declaration order */
	char *origin;       /* "file:line" */
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
		bool lock_enabled;
		long lock_timeout_ms;
		char *on_checksum_mismatch; /* fail | warn | ignore */
	} migration;
	struct {
		char *rules;
		char *key_env;
		long jobs;
	} sync;
	struct {
		char *staging_schema;
		long batch_size;
		long jobs;
	} s2s;

	cf_hook_decl *hooks;
	size_t n_hooks;
	cf_strv plugins;

	char **origins;              /* per key in the key table: "default", "file:line", ... */
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


/* True when CFG uses the embedded cluster. */
bool cf_config_is_embedded(const cf_config *cfg);

#endif
