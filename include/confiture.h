/*
 * confiture.h -- the public API of libconfiture.
 *
 * libconfiture is a PostgreSQL migration toolkit: it builds databases from
 * DDL trees, applies tracked migrations, copies data with anonymization, and
 * moves data between schemas over postgres_fdw.
 *
 * Conventions:
 * - Everything hangs off an opaque cf_ctx. Use one cf_ctx per thread.
 * - Every function that can fail returns cf_status; CF_OK is 0. On failure
 *   the context records the first error (cf_last_error, cf_last_error_info)
 *   until cf_ctx_clear_error() or the next top-level entry point.
 * - The library never prints and never exits. Set a logger to see what it
 *   does, and a progress callback to follow long work.
 * - Result structs are allocated by the library and freed by the caller with
 *   the matching *_free function; *_free(NULL) is a no-op. Strings inside a
 *   result belong to the result.
 */
#ifndef CONFITURE_H
#define CONFITURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONFITURE_VERSION "0.1.0"
#define CONFITURE_VERSION_NUM 100 /* major*10000 + minor*100 + patch */

/* Status codes. src/cli/main.c maps each to a process exit code. */
typedef enum cf_status {
	CF_OK = 0,
	CF_ERR_CHECK,        /* a check found something (pending, mismatch, drift) */
	CF_ERR_USAGE,        /* bad arguments */
	CF_ERR_NO_LEDGER,    /* the tracking table is absent where it is required */
	CF_ERR_CONNECT,      /* could not connect */
	CF_ERR_SQL,          /* a statement or migration failed and was rolled back */
	CF_ERR_SCHEMA,       /* a schema or build error, e.g. a DDL file that does not parse */
	CF_ERR_CONFIG,       /* configuration, rules or mapping invalid */
	CF_ERR_VALIDATION,   /* a validation failure, e.g. a protected environment */
	CF_ERR_LOCK,         /* the migration lock is held by another session */
	CF_ERR_PREFLIGHT,    /* preflight found errors */
	CF_ERR_IRREVERSIBLE, /* a needed .down.sql is missing, or state is inconsistent */
	CF_ERR_CANCELLED,    /* interrupted: the running statement was cancelled */
	CF_ERR_IO,           /* a file could not be read or written */
	CF_ERR_INTERNAL      /* a bug or resource exhaustion */
} cf_status;

/* Short stable name of a status, e.g. "config" for CF_ERR_CONFIG. */
const char *cf_status_name(cf_status st);

typedef struct cf_ctx cf_ctx;

/* The recorded error. Fields other than code and message may be NULL/0. */
typedef struct cf_error_info {
	cf_status code;
	const char *message;  /* primary message, lowercase, no period */
	const char *detail;   /* full sentences */
	const char *hint;     /* full sentences */
	const char *context;  /* "while applying migration ..." */
	const char *file;     /* where the problem is: a SQL or YAML file */
	int line;             /* 1-based, 0 when unknown */
	int column;           /* 1-based, 0 when unknown */
	const char *sqlstate; /* five characters, or NULL */
} cf_error_info;

/* One error in a result's error list. */
typedef struct cf_error_item {
	cf_status code;
	char *message;
	char *detail;
	char *hint;
	char *file;
	int line;
	int column;
	char *sqlstate;
} cf_error_item;

/* ---- Context ---------------------------------------------------------- */

/* Allocates a context with built-in defaults. Never returns NULL. */
cf_ctx *cf_ctx_new(void);
/* Frees the context, its config, hooks and plugins. NULL is a no-op. */
void cf_ctx_free(cf_ctx *ctx);

/*
 * Sets the project file to read instead of PROJECT_DIR/confiture.yaml.
 * Call before cf_ctx_load. The file must exist.
 */
cf_status cf_ctx_set_config_file(cf_ctx *ctx, const char *path);

/*
 * Loads the configuration of one environment: built-in defaults, then
 * confiture.yaml (environments.ENV), then db/environments/ENV.yaml, then
 * CONFITURE_* variables, then the overrides set with cf_ctx_set_option and
 * cf_ctx_set_database_url. PROJECT_DIR NULL means the current directory;
 * ENV NULL means CONFITURE_ENV, else default_env, else "local".
 * On failure (CF_ERR_CONFIG) the error names file, line and key.
 */
cf_status cf_ctx_load(cf_ctx *ctx, const char *project_dir, const char *env);

/* Overrides database_url at flag level (highest precedence). */
cf_status cf_ctx_set_database_url(cf_ctx *ctx, const char *url);

/*
 * Overrides one config key at flag level, e.g. ("migration.lock_timeout_ms",
 * "5000", "--lock-timeout"). ORIGIN names the flag for `doctor`. Unknown keys
 * and bad values return CF_ERR_CONFIG (or CF_ERR_USAGE when ORIGIN is a flag).
 */
cf_status cf_ctx_set_option(cf_ctx *ctx, const char *key, const char *value,
                            const char *origin);

/* Names connections "confiture COMMAND" in application_name, so that a DBA
 * (and the migration lock report) can tell what holds a session. */
void cf_ctx_set_app_name(cf_ctx *ctx, const char *command);

/* The resolved environment name, or NULL before cf_ctx_load. */
const char *cf_ctx_env(const cf_ctx *ctx);
/* The project directory (absolute), or NULL before cf_ctx_load. */
const char *cf_ctx_project_dir(const cf_ctx *ctx);
/* The project file loaded (absolute), or NULL when the project has none. */
const char *cf_ctx_project_file(const cf_ctx *ctx);

/* Last error message, or "" when none. Valid until the next call on ctx. */
const char *cf_last_error(const cf_ctx *ctx);
/* Full last error, or NULL when none. Valid until the next call on ctx. */
const cf_error_info *cf_last_error_info(const cf_ctx *ctx);
void cf_ctx_clear_error(cf_ctx *ctx);

/* ---- Logging and progress --------------------------------------------- */

typedef enum cf_log_level {
	CF_LOG_ERROR,
	CF_LOG_WARNING,
	CF_LOG_INFO,
	CF_LOG_DEBUG
} cf_log_level;

typedef void (*cf_log_fn)(void *ud, cf_log_level level, const char *msg);

/* Sets the logger; NULL silences the library (the default). Messages never
 * contain passwords or anonymization keys. FN may be called from worker
 * threads of the same operation, never concurrently. */
void cf_ctx_set_logger(cf_ctx *ctx, cf_log_fn fn, void *ud);

/* What a progress report is about. One run of a medium reports START first
 * and DONE last; ITEM_START/ITEM_DONE bracket each item. */
typedef enum cf_progress_kind {
	CF_PROGRESS_START,      /* the run began, with the planner's totals */
	CF_PROGRESS_ITEM_START, /* an item began: a table (sync, s2s), file (build), migration */
	CF_PROGRESS_UPDATE,     /* work advanced; sent at least every second during long work */
	CF_PROGRESS_ITEM_DONE,  /* an item ended; is_ok says how */
	CF_PROGRESS_RETRY,      /* an item is retried after a transient failure */
	CF_PROGRESS_PHASE,      /* a labeled phase began: of the run, or of ITEM when set */
	CF_PROGRESS_ERROR,      /* an item failed; MESSAGE says why */
	CF_PROGRESS_DONE        /* the run ended; is_ok says how */
} cf_progress_kind;

/*
 * One progress report: a snapshot of the run's counters. Strings are valid
 * during the callback only. Counts that are not known are -1, and so are
 * percentages, rates and ETAs that cannot be computed yet.
 */
typedef struct cf_progress {
	const char *phase;      /* the current phase of ITEM, else of the run; may be NULL */
	const char *item;       /* the table, file or migration reported on; NULL: the run */
	long done;              /* items finished in the run */
	long total;             /* items in the run */
	long long rows;         /* rows moved so far for ITEM (for the run when ITEM is NULL) */
	long long bytes;        /* bytes moved so far, likewise */
	double elapsed_s;       /* since the run began */
	bool finished;          /* kind is ITEM_DONE or DONE */

	cf_progress_kind kind;
	const char *run_id;     /* one id per run (a sync's run_id) */
	const char *medium;     /* "build", "migrate", "sync", "s2s" */
	const char *unit;       /* what the units count: "rows", "ranges", "statements", "migrations" */
	const char *item_kind;  /* "table", "file", "migration" */
	long long units_done;   /* in the run, including units done by an earlier run */
	long long units_total;  /* the planner's total (sync: estimated rows) */
	double percent;         /* of the run, 0-100 */
	double rate;            /* units per second, over this run's work */
	double rows_per_s;      /* rows per second, over this run's work */
	double eta_s;           /* seconds left in the run */
	long long run_rows;     /* rows moved in the run */
	long long run_bytes;    /* bytes moved in the run */
	long phase_done;        /* steps of the run's phase done, e.g. constraints validated */
	long phase_total;       /* steps in the run's phase */

	long long item_done;    /* ITEM's units done */
	long long item_total;   /* ITEM's units */
	double item_percent;
	double item_rate;       /* ITEM's units per second */
	double item_eta_s;
	double item_elapsed_s;

	int attempt;            /* RETRY: the attempt about to run (2 = the first retry) */
	int max_attempts;       /* RETRY: attempts allowed in all */
	double delay_s;         /* RETRY: the wait before it */
	const char *message;    /* RETRY, ERROR: why */
	bool is_ok;             /* ITEM_DONE, DONE: success */
} cf_progress;

typedef void (*cf_progress_fn)(void *ud, const cf_progress *p);
/* Sets the progress callback; NULL disables it. Same threading as the logger:
 * reports may come from worker threads and from the run's one-second
 * heartbeat thread, never concurrently. docs/events.md describes the reports. */
void cf_ctx_set_progress(cf_ctx *ctx, cf_progress_fn fn, void *ud);

/*
 * Requests cancellation: running queries are cancelled on the server and the
 * current operation stops with CF_ERR_CANCELLED after rolling back.
 * Thread-safe; may be called from any thread, not from a signal handler.
 */
void cf_ctx_cancel(cf_ctx *ctx);
bool cf_ctx_is_cancelled(const cf_ctx *ctx);

/* ---- Hooks -------------------------------------------------------------- */

typedef struct cf_hook_event {
	const char *event;             /* "before_migration", ... */
	const char *env;               /* environment name */
	const char *database;          /* database name, never a DSN */
	const char *migration_version; /* or NULL */
	const char *migration_name;    /* or NULL */
	const char *table;             /* or NULL */
	long long rows;                /* -1 when not relevant */
	int success;                   /* 1, 0, or -1 when not decided yet */
	const char *error;             /* or NULL */
	long long elapsed_ms;          /* -1 when not relevant */
	const char *execution_id;      /* one id per confiture invocation */
	const char *step;              /* s2s step name, or NULL */
	const char *json;              /* the whole context as one JSON document */
} cf_hook_event;

typedef int (*cf_hook_fn)(void *ud, const cf_hook_event *ev);

/*
 * Registers a callback for EVENT (a name from cf_hook_events(), or "*" for
 * all). A non-zero return aborts a before_* event and the operation fails.
 */
cf_status cf_hook_register(cf_ctx *ctx, const char *event, cf_hook_fn fn, void *ud);

/* NULL-terminated list of the event names, in firing order per medium. */
const char *const *cf_hook_events(void);

/* What fires when, for `hooks list`. Strings point into the context. */
typedef struct cf_hook_info {
	const char *event;
	const char *kind;      /* "run", "sql", "sql_file" or "callback" */
	const char *action;    /* the command, SQL or file */
	long timeout_s;
	bool is_abort;         /* on_failure: abort (else warn) */
	const char *origin;    /* "file:line" or "api" */
} cf_hook_info;

/* Lists hooks in firing order (events in cf_hook_events order). The caller
 * frees *OUT with free(). Returns the count. */
size_t cf_hooks_list(const cf_ctx *ctx, cf_hook_info **out);

/* Fires EVENT with a sample context, as `hooks test` does. */
cf_status cf_hooks_test(cf_ctx *ctx, const char *event);

/* ---- Introspection -------------------------------------------------------- */

typedef void (*cf_setting_fn)(void *ud, const char *key, const char *value, const char *origin);
/* Calls FN for every setting of the loaded environment with its value (the
 * database URL with its password masked) and where it came from. */
void cf_ctx_visit_settings(const cf_ctx *ctx, cf_setting_fn fn, void *ud);

/* Documentation of every config key: path, default (NULL when unset), text. */
typedef struct cf_key_doc {
	const char *key, *dflt, *doc;
} cf_key_doc;
const cf_key_doc *cf_config_key_docs(size_t *n);

/* ---- Projects: init, validate-config, doctor ------------------------------ */

typedef struct cf_init_result {
	bool success;
	char *dir;             /* absolute */
	char **written;        /* files created, relative to DIR */
	size_t n_written;
	char **kept;           /* existing files left alone (.gitignore entries appended) */
	size_t n_kept;
} cf_init_result;

/*
 * Scaffolds a project in DIR (created when missing): the sample schema,
 * seeds, migrations directory, db/environments/local.yaml (embedded cluster),
 * db/sync/anonymization.yaml, confiture.yaml and .gitignore entries. Refuses
 * (CF_ERR_VALIDATION, nothing written) when a file exists, unless FORCE.
 */
cf_status cf_init_project(cf_ctx *ctx, const char *dir, bool force, cf_init_result **out);
void cf_init_result_free(cf_init_result *r);

typedef struct cf_validate_result {
	bool success;
	char *project_file;    /* or NULL when the project has none */
	char **envs;           /* environments checked */
	size_t n_envs;
	char **warnings;
	size_t n_warnings;
} cf_validate_result;

/*
 * Checks the configuration without connecting: the project file, then the
 * environment chosen by cf_ctx_load's rules (or every environment with ALL),
 * each with its keys, ${VAR} expansion, connection string syntax, hook files,
 * plugin files and tracking table name. The first problem is the error.
 * *OUT is filled on success and failure alike.
 */
cf_status cf_validate_config(cf_ctx *ctx, const char *project_dir, const char *env, bool all,
                             cf_validate_result **out);
void cf_validate_result_free(cf_validate_result *r);

typedef struct cf_doctor_report {
	char *env;
	char *project_dir;
	char *project_file;        /* or NULL */
	char *target;              /* the connection, password masked */
	bool is_embedded;
	bool is_connected;
	double connect_ms;
	char *server_version;      /* e.g. "PostgreSQL 15.20 (Debian ...)" */
	int server_version_num;
	char *current_user;
	bool is_superuser;
	bool has_fdw_available;    /* postgres_fdw can be created */
	bool has_fdw_installed;    /* already created in this database */
	char *tracking_table;
	bool has_ledger;
	long n_applied;
	char *current_version;     /* latest applied, or NULL */
	char *ledger_error;        /* why the ledger could not be read, or NULL */
} cf_doctor_report;

/*
 * Connects to the loaded environment and reports on it. On a connection
 * failure returns CF_ERR_CONNECT with *OUT still filled (is_connected false).
 */
cf_status cf_doctor(cf_ctx *ctx, cf_doctor_report **out);
void cf_doctor_report_free(cf_doctor_report *r);

/* ---- Embedded cluster ---------------------------------------------------- */

typedef struct cf_embedded_status {
	bool is_initialized;
	bool is_running;
	int pid;               /* postmaster pid when running, else 0 */
	char *data_dir;        /* absolute */
	char *socket_dir;      /* absolute */
	int port;
	char *bin_dir;         /* server binaries used, or NULL when not found */
	char *url;             /* conninfo for the environment's database */
} cf_embedded_status;

/* Initializes (first time) and starts the project's embedded cluster, and
 * creates the loaded environment's database on it when missing. */
cf_status cf_embedded_start(cf_ctx *ctx);
/* Stops it; not running is success. */
cf_status cf_embedded_stop(cf_ctx *ctx);
/* Stops it and deletes its files. */
cf_status cf_embedded_destroy(cf_ctx *ctx);
/* Reports on it without starting it. *OUT is freed with cf_embedded_status_free. */
cf_status cf_embedded_status_get(cf_ctx *ctx, cf_embedded_status **out);
void cf_embedded_status_free(cf_embedded_status *st);

/* ==== Medium 1: build (src/build) ======================================== */

/*
 * `confiture build`: the files of include_dirs (minus exclude_dirs), in
 * order -- include dirs by `order`, files by relative path compared
 * component by component (or by hexadecimal prefix with build.sort_mode:
 * hex), seed files (a "seed"/"seeds" path component) after all schema
 * files -- parsed with libpg_query, hashed, concatenated into one file, and
 * optionally run on the environment's database.
 */
typedef struct cf_build_options {
	const char *output;  /* output file (relative to the working directory); NULL:
	                        build.output (relative to the project), else
	                        db/generated/schema_{env}.sql */
	bool is_apply;       /* run the build on the environment's database */
	bool is_recreate;    /* drop and re-create that database first (implies is_apply) */
	bool is_template;    /* keep the built database as a template named after the
	                        schema hash and clone it while the hash is unchanged
	                        (implies is_apply and re-creates the database) */
	bool is_schema_only; /* leave seed files out (of the output, hash and apply) */
	bool is_no_output;   /* do not write the output file */
} cf_build_options;

typedef struct cf_build_file {
	char *path;          /* as shown in messages (relative to the working directory) */
	char *relpath;       /* as in the separators and the hash */
	size_t bytes;
	size_t n_statements;
	bool is_seed;
	bool is_parsed;      /* parsed this time (else known to parse from the build cache) */
} cf_build_file;

typedef struct cf_build_timings {
	double discover_s;   /* walking include_dirs */
	double load_s;       /* reading and parsing the files */
	double hash_s;
	double prepare_s;    /* connecting, re-creating or cloning the database */
	double apply_s;      /* the schema statements */
	double seeds_s;
	double write_s;      /* rendering and writing the output file */
} cf_build_timings;

typedef struct cf_build_result {
	bool success;
	char *message;              /* one line for people */
	double duration_s;
	bool changes_detected;      /* the output file was (re)written or a database built */
	char *env;
	char *hash;                 /* the schema hash, 64 hex characters */
	char *output_path;          /* absolute; NULL with is_no_output */
	bool is_output_written;     /* false when the file was already up to date */
	cf_build_file *files;       /* in build order */
	size_t n_files;
	size_t n_schema_files;
	size_t n_seed_files;
	size_t bytes;               /* SQL bytes in the files */
	size_t n_parsed;            /* files parsed this time */
	size_t n_statements;        /* statements in the files (run, with is_apply) */
	size_t n_nontx;             /* statements run after the transaction, one at a time */
	size_t n_skipped;           /* BEGIN/COMMIT statements left out */
	bool is_applied;
	char *database;             /* the database built, or NULL */
	bool is_recreated;
	bool is_cloned;             /* made from the template, without running the files */
	char *template_name;        /* with is_template */
	size_t n_templates_dropped; /* stale templates dropped */
	cf_build_timings timings;
	cf_error_item *errors;      /* the failure, and every file that does not parse */
	size_t n_errors;
} cf_build_result;

/*
 * Builds the loaded environment. Every file is read and parsed before any
 * SQL runs; a parse error is CF_ERR_SCHEMA at file:line:column. With
 * is_apply the files run on the environment's database (the embedded
 * cluster by default) in one transaction (build.transaction); a server error
 * rolls it back and is CF_ERR_SCHEMA at the file's line and column, with
 * SQLSTATE, detail and hint. --recreate and --template against a protected
 * database are CF_ERR_VALIDATION before anything is touched: one whose
 * environment says protected: true, or whose server reports the identity
 * (system identifier, port, database) of a protected environment's; a
 * protected environment that cannot be reached to show the difference
 * refuses too. The output file is written
 * atomically, after everything else succeeded. Fires before_build,
 * after_build, and on_error on failure. *OUT is filled on success and
 * failure alike; free it with cf_build_result_free.
 */
cf_status cf_build(cf_ctx *ctx, const cf_build_options *opts, cf_build_result **out);
void cf_build_result_free(cf_build_result *r);

/*
 * The files cf_build would read for the loaded environment, in build order,
 * found the same way (include_dirs and their globs, exclude_dirs, seeds,
 * sort_mode; the output file left out), without reading or running them
 * and without firing hooks: fills env, files, n_files, n_schema_files and
 * n_seed_files (with is_schema_only, the seed files are left out). Errors
 * are the build's discovery errors (CF_ERR_SCHEMA: a configured include dir
 * is missing, a file is reached twice, no files). *OUT is filled on success
 * and failure alike; free it with cf_build_result_free.
 */
cf_status cf_build_list(cf_ctx *ctx, const cf_build_options *opts, cf_build_result **out);

/* `confiture seed apply`: the seed files of a build, alone. */
typedef struct cf_seed_options {
	bool is_sequential;      /* each file in its own savepoint (or also seed.execution_mode) */
	bool is_continue_on_error; /* with sequential: report a failing file, go on (or also
	                              seed.continue_on_error) */
	bool is_production_ok;   /* allowed on a protected database (--yes-i-mean-production) */
} cf_seed_options;

typedef struct cf_seed_file {
	char *path;
	size_t n_statements;
	bool success;            /* false: rolled back (see the result's errors) */
} cf_seed_file;

typedef struct cf_seed_result {
	bool success;            /* every file applied */
	char *message;
	double duration_s;
	bool changes_detected;   /* at least one file applied (committed) */
	char *database;
	bool is_sequential;
	cf_seed_file *files;     /* in order */
	size_t n_files;
	size_t n_applied;
	size_t n_failed;
	size_t n_statements;     /* statements run */
	cf_error_item *errors;
	size_t n_errors;
} cf_seed_result;

/*
 * Applies the seed files of the loaded environment, in build order, on its
 * database. By default (seed.execution_mode: concatenate) all in one
 * transaction; sequential runs each file in a savepoint (or in a transaction
 * of its own with seed.transaction_mode: transaction), and with
 * continue_on_error a failing file is rolled back, reported in errors, and
 * the others go on. A failed file makes the status CF_ERR_SQL, with the
 * error at its file:line:column. On a protected database (see build's
 * protection) nothing runs unless OPTS->is_production_ok: CF_ERR_VALIDATION.
 * OPTS may be NULL. *OUT is filled on success and failure alike; free it
 * with cf_seed_result_free.
 */
cf_status cf_seed_apply(cf_ctx *ctx, const cf_seed_options *opts, cf_seed_result **out);
void cf_seed_result_free(cf_seed_result *r);

/* ==== Medium 2: migrate (src/migrate) ===================================== */

/*
 * Migrations live in migration.dir (default db/migrations) as
 * {VERSION}_{name}.up.sql with an optional .down.sql and .verify.sql.
 * VERSION is the text before the first "_"; versions compare as strings.
 * The ledger is migration.tracking_table (default tb_confiture), the same
 * table the Python precursor writes. Each operation below connects to the
 * loaded environment, takes the advisory lock when it changes anything
 * (migration.locking.enabled, migration.lock_timeout_ms), and fills a
 * cf_migrate_result that the caller frees with cf_migrate_result_free. *OUT
 * is always set, on success and on failure alike; OPTS NULL means defaults.
 */

/* One migration as an operation saw it. */
typedef struct cf_migration {
	char *version;
	char *name;
	char *file;             /* .up.sql relative to the project, or NULL (applied, file gone) */
	char *down_file;        /* or NULL */
	char *verify_file;      /* or NULL */
	/* "applied", "pending", "unknown" (no database), "missing" (applied, no
	 * file), or what the operation did: "applied_now", "rolled_back",
	 * "would_apply", "not_tried" (a dry run could not try it: see note),
	 * "would_roll_back", "baselined", "failed", "verified",
	 * "verify_failed", "checksum_ok", "checksum_mismatch", "checksum_fixed",
	 * "no_checksum". */
	const char *status;
	char *applied_at;       /* ISO 8601, or NULL */
	char *checksum;         /* of the local .up.sql, or NULL when not read */
	char *stored_checksum;  /* in the ledger, or NULL */
	long execution_time_ms; /* -1 when unknown */
	bool is_nontx;          /* runs statement by statement outside a transaction */
	char *note;             /* e.g. why it is non-transactional; or NULL */
} cf_migration;

typedef struct cf_migrate_opts {
	const char *target;     /* up: stop after this version (NULL: all pending) */
	long steps;             /* down: how many to roll back (0 means 1) */
	bool dry_run;           /* up/down/down-to/baseline: list what would run */
	bool dry_run_execute;   /* up: run in one transaction, then roll it back */
	const char *version;    /* down-to: the version to keep; generate: explicit version */
	const char *name;       /* generate: the migration's name */
	const char *through;    /* baseline: mark up to this version as applied */
	const char *from_db;    /* baseline: ENV|URL whose history is copied */
	const char *import_tool;/* baseline: "dbmate", "golang-migrate" or "flyway" */
	const char *against;    /* preflight: ENV|URL to replay pending migrations on */
	bool fix;               /* verify-checksums: rewrite stored checksums */
	bool offline;           /* status: list files only, never connect */
	const char *up_sql;     /* generate: the .up.sql's text instead of the template
	                           (with down_sql; see cf_migrate_generate_from_diff) */
	const char *down_sql;   /* generate: the .down.sql's text */
	bool is_production_ok;  /* down, down-to: allowed on a protected database
	                           (--yes-i-mean-production) */
} cf_migrate_opts;

typedef struct cf_migrate_result {
	bool success;
	const char *message;     /* one-line summary (owned by the result) */
	double duration_s;
	bool changes_detected;   /* something was (or, dry run, would be) changed */
	long n_applied;          /* migrations applied (up), rolled back (down), marked (baseline) */
	long n_pending;          /* pending after the operation (status, up) */
	long n_total;            /* local migrations */
	long n_failed;           /* preflight/verify/verify-checksums findings */
	const char *action;      /* "status", "up", "down", ... (static) */
	bool is_offline;         /* status without a database */
	bool has_ledger;         /* the tracking table exists */
	bool is_dry_run;
	char *tracking_table;
	char *current;           /* newest applied version after the operation, or NULL */
	cf_migration *migrations;/* per operation: see each function */
	size_t n_migrations;
	char **orphans;          /* .sql files that are not migrations */
	size_t n_orphans;
	char **duplicates;       /* "VERSION: a.up.sql, b.up.sql" */
	size_t n_duplicates;
	char **warnings;
	size_t n_warnings;
	char **created;          /* generate: files written, relative to the project */
	size_t n_created;
	cf_error_item *errors;   /* the failure (and, for preflight, every finding) */
	size_t n_errors;
} cf_migrate_result;

void cf_migrate_result_free(cf_migrate_result *r);

/* How `migrate up` runs one migration file (see cf_migration_mode_of). */
typedef struct cf_migration_mode {
	bool is_transactional;   /* in one transaction together with its ledger row */
	const char *why_not;     /* static: the first statement (or the marker) that
	                            makes it run statement by statement, or NULL */
	bool is_wrapped;         /* a BEGIN ... COMMIT around the whole file is stripped */
} cf_migration_mode;

/*
 * Tells how `migrate up` would run the migration FILE with content TEXT (LEN
 * bytes), the way it decides it: from the parse tree and the
 * "-- confiture:no-transaction" marker. Connects to nothing. When migrate
 * would refuse the file (transaction control in the middle, COPY FROM STDIN,
 * a syntax error) the status is CF_ERR_SQL with file:line:column.
 */
cf_status cf_migration_mode_of(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               cf_migration_mode *out);

/*
 * Lists every migration with its status (applied, pending, missing), orphans
 * and duplicate versions. Never creates the ledger. Returns CF_OK when
 * nothing is pending, CF_ERR_CHECK when something is, CF_ERR_NO_LEDGER when
 * the tracking table is absent, CF_ERR_CONNECT when the database cannot be
 * reached. Without a database (OPTS->offline, or an environment with no
 * database_url whose embedded cluster was never initialized) every file is
 * "unknown" and the status is CF_OK.
 */
cf_status cf_migrate_status(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Applies pending migrations in version order (up to OPTS->target), each in
 * its own transaction together with its ledger row; non-transactional ones
 * statement by statement with recorded progress, resumable after a crash.
 * Checks before connecting: duplicate versions (CF_ERR_SQL), strict-mode
 * orphans (CF_ERR_CHECK), unreadable files (CF_ERR_IO). Checks before
 * applying: checksums of applied migrations (CF_ERR_CHECK unless
 * migration.on_checksum_mismatch is warn or ignore) and the syntax of every
 * pending file. The first failure stops the run (CF_ERR_SQL) with
 * file:line:column and SQLSTATE; earlier migrations stay applied. A held
 * lock gives CF_ERR_LOCK. result->migrations lists what was applied (or
 * would be, in a dry run), then the one that failed.
 */
cf_status cf_migrate_up(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Rolls back the newest OPTS->steps applied migrations (default 1), each
 * .down.sql in a transaction with its ledger row deleted. The whole plan is
 * checked first: a missing .down.sql gives CF_ERR_IRREVERSIBLE with nothing
 * rolled back. On a protected database (its environment says protected:
 * true, or the server's identity is that of a protected environment) only
 * a dry run is allowed, unless OPTS->is_production_ok: CF_ERR_VALIDATION.
 */
cf_status cf_migrate_down(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Rolls back every applied migration newer than OPTS->version, checking the
 * whole plan first (CF_ERR_IRREVERSIBLE when a .down.sql is missing). An
 * unknown version is CF_ERR_SQL; the version already current is CF_OK with
 * nothing done. Protected databases as for cf_migrate_down.
 */
cf_status cf_migrate_down_to(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/* The newest applied version in result->current (NULL when none) and its
 * row in result->migrations. CF_ERR_NO_LEDGER when the table is absent. */
cf_status cf_migrate_current(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Creates {VERSION}_{OPTS->name}.up.sql and .down.sql in the migrations
 * directory (created when missing); VERSION is OPTS->version or the local
 * time as YYYYMMDDHHMMSS. Their text is OPTS->up_sql and OPTS->down_sql when
 * set, else a commented template. Refuses (CF_ERR_VALIDATION, nothing
 * written) to overwrite a file or reuse a version. result->created lists the
 * files.
 */
cf_status cf_migrate_generate(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Records migrations as applied without running them: every local migration
 * up to OPTS->through; or the ledger rows of OPTS->from_db; or, with
 * OPTS->import_tool, the local versions found in that tool's history table
 * (of OPTS->from_db, else of the target database). Creates the ledger when
 * absent. Already recorded versions are left alone.
 */
cf_status cf_migrate_baseline(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Runs the {VERSION}_{name}.verify.sql sidecar of every applied migration,
 * in a transaction that is rolled back; the first column of its first row
 * must be true. CF_ERR_CHECK when one is not; CF_ERR_SQL when one fails.
 */
cf_status cf_migrate_verify(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Compares the stored checksum of every applied migration with its file.
 * CF_OK when all match, CF_ERR_CHECK on a mismatch, CF_ERR_NO_LEDGER when
 * there is no ledger. With OPTS->fix the stored checksums of mismatching
 * (and unrecorded) migrations are rewritten, and the status is CF_OK.
 */
cf_status cf_verify_checksums(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/*
 * Checks the migrations without changing anything: duplicate versions,
 * unparsable files, transaction control in the middle of a file, missing
 * .down.sql, non-transactional statements, and checksum drift against the
 * ledger. With OPTS->against, replays the pending migrations on that database
 * inside savepoints, going on past failures, and rolls everything back.
 * Every finding is in result->errors; CF_ERR_PREFLIGHT when any is an error.
 */
cf_status cf_migrate_preflight(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out);

/* ==== Medium 3: sync (src/sync) =========================================== */

/*
 * confiture sync copies the tables of one database into another, streaming
 * COPY TO STDOUT on the source into COPY FROM STDIN on the target, and
 * rewriting masked columns inside the stream (constant memory). See
 * docs/sync.md and docs/anonymization.md.
 */
typedef struct cf_sync_opts {
	const char *from;            /* ENV name or connection URL (required) */
	const char *to;              /* ENV name or connection URL (required) */
	bool anonymize;              /* mask columns with the rules file */
	const char *rules_file;      /* NULL: sync.rules; setting it implies anonymize */
	const char *const *tables;   /* globs ("users", "sales.*"); none = every table */
	size_t n_tables;
	const char *const *exclude;  /* globs left out */
	size_t n_exclude;
	long jobs;                   /* parallel workers; 0 = sync.jobs */
	bool dry_run;                /* plan and warn; move nothing */
	bool resume;                 /* continue the last interrupted run */
	bool verify;                 /* check counts, checksums, masking, FKs after */
	bool allow_random;           /* no key: mask with a random per-run key */
	long long split_rows;        /* with jobs > 1, split tables estimated above
	                                this many rows into PK ranges; 0 = 1,000,000 */
	long verify_sample;          /* source values sampled per masked column; 0 = 100 */
	bool allow_unmasked;         /* copy columns that look personal and have no rule */
	bool continue_on_error;      /* a table that keeps failing is recorded, the others go on */
	bool no_analyze;             /* do not ANALYZE the loaded tables */
	bool incremental;            /* move only the rows changed since the last sync
	                                (tables without a usable key: in full) */
	bool backup;                 /* keep the overwritten tables in a schema
	                                confiture_backup_<run> of the target */
	const char *backup_dir;      /* or dump them (pg_dump -Fc) into this directory */
} cf_sync_opts;

/* One table of a sync: its plan and, after the run, what moved. */
typedef struct cf_sync_table {
	char *name;                  /* schema.table */
	const char *format;          /* "binary" or "text" (static) */
	long long est_rows;          /* source estimate (dry run: the plan) */
	long long rows;              /* rows written to the target */
	long long bytes;             /* COPY bytes written to the target */
	double duration_s;
	int n_ranges;                /* primary-key ranges (1 = copied in one piece) */
	bool is_skipped;             /* done by the interrupted run being resumed */
	bool is_subset;              /* filtered by a where: or by its parents */
	char *where;                 /* the subset predicate run on the source, or NULL */
	char **masked;               /* "column: strategy" per masked column */
	size_t n_masked;
	char **kept;                 /* "column: reason" per column kept on purpose */
	size_t n_kept;
	int verified;                /* -1 not verified, 1 ok, 0 found a problem */
	int retries;                 /* transient failures retried */
	bool is_failed;              /* given up on (continue_on_error) */
	char *error;                 /* why, when is_failed */
	const char *mode;            /* "incremental" or "full" (static) */
	char *mode_reason;           /* why "full" when incremental was asked, or NULL */
	bool has_diff;               /* the counts below are known (incremental runs, dry runs) */
	long long added, updated, deleted, unchanged, failed_rows;
	long long src_count, dst_count; /* dry run: rows on each side, -1 unknown */
	bool is_in_line;             /* dry run: nothing would change */
} cf_sync_table;

/* A finding: a column mismatch (stops the run before any data moves), a PII
 * warning (dry run), or a verify failure. Never holds a data value. */
typedef struct cf_sync_issue {
	char *table;
	char *column;                /* or NULL */
	char *kind;                  /* missing_in_target, missing_in_source,
	                                type_mismatch, pii_name, pii_values,
	                                row_count, checksum, masked_value_kept,
	                                fk_orphans */
	char *message;
	char *suggestion;            /* pii_*: the rule to add, as YAML; else NULL */
} cf_sync_issue;

typedef struct cf_sync_result {
	bool success;
	char *message;
	double duration_s;
	bool changes_detected;       /* rows were written */
	char *run_id;                /* uuid of the run (in the target's history once it
	                                starts writing; dry runs have one too) */
	bool is_nothing_to_resume;   /* resume found no interrupted run: nothing done */
	char *resumed_from;          /* run_id continued by --resume, or NULL */
	char *source;                /* connection, password masked */
	char *target;
	bool is_anonymized;
	bool is_dry_run;
	bool is_verified;            /* --verify ran and found nothing */
	long n_copied;               /* tables copied by this run */
	long n_skipped;              /* tables already done (resume) */
	long n_failed;               /* tables given up on (continue_on_error) */
	bool is_incremental;
	long long added, updated, deleted, unchanged, failed_rows; /* totals of the tables' */
	const char *backup_kind;     /* "schema", "dir", or NULL without a backup (static) */
	char *backup_location;       /* the schema, or the dump file */
	char *restored_from;         /* cf_sync_restore: the run whose backup was restored */
	long long rows;              /* rows written by this run */
	long long bytes;
	cf_sync_table *tables;       /* in load order */
	size_t n_tables;
	cf_sync_issue *issues;
	size_t n_issues;
	char **warnings;
	size_t n_warnings;
	cf_error_item *errors;
	size_t n_errors;
	char **unmasked;             /* "schema.table.column" copied as they are under
	                                allow_unmasked though they look personal */
	size_t n_unmasked;
} cf_sync_result;

/*
 * Copies data from OPTS->from to OPTS->to. Refuses (CF_ERR_VALIDATION) a
 * protected target or a target that is the source. Rules errors, missing
 * key and column mismatches are CF_ERR_CONFIG / CF_ERR_VALIDATION before
 * anything changes; a verify problem is CF_ERR_CHECK. Each table is loaded
 * in one target transaction (truncate + COPY), so a failure leaves every
 * table either as it was or complete (a table split into primary-key ranges
 * with jobs > 1 is loaded range by range instead: each range is atomic, and
 * opts->resume completes it). *OUT is filled on success and failure
 * alike (free with cf_sync_result_free). Masked source values never appear
 * in errors or logs.
 */
cf_status cf_sync(cf_ctx *ctx, const cf_sync_opts *opts, cf_sync_result **out);
void cf_sync_result_free(cf_sync_result *r);

/* One recorded run, newest first. */
typedef struct cf_sync_run {
	char *run_id;
	char *started_at;            /* ISO 8601, UTC */
	char *finished_at;           /* or NULL while running / after a crash */
	char *run_by;                /* "os_user@host as db_user" */
	char *source;                /* password masked */
	char *outcome;               /* running, success, failed, interrupted */
	char *error;                 /* or NULL */
	char *resumed_from;          /* or NULL */
	char **tables;
	size_t n_tables;
	long long rows;
	long long bytes;
	double duration_s;
	bool is_anonymized;
	char *mode;                  /* "full", "incremental", "restore" */
	char *backup_kind;           /* "schema", "dir", or NULL when the run kept none */
	char *backup_location;
	bool is_backup_present;      /* not pruned since */
	bool has_counts;             /* incremental runs: the counts below */
	long long added, updated, deleted, unchanged;
} cf_sync_run;

typedef struct cf_sync_history {
	bool success;
	char *target;                /* masked */
	cf_sync_run *runs;
	size_t n_runs;
	cf_error_item *errors;
	size_t n_errors;
} cf_sync_history;

/*
 * Lists the runs recorded in TARGET (ENV or URL; NULL = the loaded
 * environment), newest first, at most LIMIT (0 = all). A database where no
 * sync ever ran has an empty history. Free with cf_sync_history_free.
 */
cf_status cf_sync_history_list(cf_ctx *ctx, const char *target, long limit,
                               cf_sync_history **out);
void cf_sync_history_free(cf_sync_history *h);

/*
 * Puts back the tables run RUN_ID of a sync overwrote, from the backup it
 * kept (sync --backup or --backup-dir), into TARGET (ENV or URL): each table
 * in one transaction, its foreign keys and triggers taken away and back as
 * in a sync, the sequences the sync set back to their values. Refuses a
 * protected target (CF_ERR_VALIDATION), a run without a backup
 * (CF_ERR_VALIDATION). *OUT lists the tables restored (free with
 * cf_sync_result_free).
 */
cf_status cf_sync_restore(cf_ctx *ctx, const char *target, const char *run_id,
                          cf_sync_result **out);

/* A backup kept by a sync run. */
typedef struct cf_sync_backup {
	char *run_id;
	char *kind;                  /* "schema" or "dir" */
	char *location;              /* the schema, or the dump file */
	char *created_at;            /* ISO 8601, UTC */
	char **tables;
	size_t n_tables;
	bool is_present;             /* the schema (or file) is still there */
	bool is_removed;             /* removed by cf_sync_backups_prune */
} cf_sync_backup;

typedef struct cf_sync_backups {
	bool success;
	char *target;                /* masked */
	cf_sync_backup *backups;     /* newest first */
	size_t n_backups;
	size_t n_removed;
	cf_error_item *errors;
	size_t n_errors;
} cf_sync_backups;

/* Lists the backups recorded in TARGET (ENV or URL; NULL = the loaded
 * environment), newest first. Free with cf_sync_backups_free. */
cf_status cf_sync_backups_list(cf_ctx *ctx, const char *target, cf_sync_backups **out);
/* Removes all but the KEEP newest backups of TARGET (their schemas dropped,
 * their dump files deleted, their records gone); refuses a protected
 * target. *OUT lists every backup, the removed ones marked. */
cf_status cf_sync_backups_prune(cf_ctx *ctx, const char *target, long keep,
                                cf_sync_backups **out);
void cf_sync_backups_free(cf_sync_backups *b);


/* ==== Medium 4: schema-to-schema (src/s2s) ================================ */

/*
 * confiture s2s moves data from a source database (or schema) into a target
 * one over postgres_fdw. Everything runs on the TARGET: a foreign server
 * pointing at the source, a user mapping, and a staging schema of imported
 * foreign tables. The copy is INSERT ... SELECT from the staging tables in
 * primary-key ranges, one transaction per range, recorded in progress
 * tables inside the staging schema so that a rerun never duplicates rows.
 */

/* Options shared by the s2s entry points. Strings are borrowed. */
typedef struct cf_s2s_opts {
	const char *source;          /* ENV name or connection string (required,
	                                except for cleanup) */
	const char *target;          /* ENV name or connection string (required) */
	const char *mapping_file;    /* migrate, verify (required); analyze (optional) */
	const char *staging_schema;  /* NULL: s2s.staging_schema */
	const char *const *schemas;  /* setup, analyze: source schemas; NULL: "public" */
	size_t n_schemas;
	const char *const *tables;   /* migrate, verify: only these mapping entries */
	size_t n_tables;
	long jobs;                   /* migrate, verify: 0 means s2s.jobs */
	long batch_size;             /* migrate: rows per range; 0 means s2s.batch_size,
	                                and 0 there means the recommended size */
	bool is_resume;              /* migrate: continue an earlier run (required) */
	bool is_restart;             /* migrate: truncate the target tables first */
	bool is_upsert;              /* migrate: ON CONFLICT (pk) DO UPDATE catch-up pass */
	bool is_skip_import;         /* setup: server and user mapping only */
	bool is_production_ok;       /* cleanup: allowed on a protected database
	                                (--yes-i-mean-production) */
} cf_s2s_opts;

/* One column pair as analyze sees it. */
typedef struct cf_s2s_column {
	char *source;                /* source column, or NULL (unmapped target column) */
	char *target;                /* target column, or NULL (unmapped source column) */
	char *source_type;
	char *target_type;
	char *cast;                  /* "none", "assignment", "explicit", "impossible",
	                                or NULL when unmapped */
	char *expression;            /* from the mapping's expressions/defaults, or NULL */
	bool is_required;            /* unmapped target column that is NOT NULL with no default */
} cf_s2s_column;

/* One table of an s2s step. Fields not relevant to the step are NULL/0/-1. */
typedef struct cf_s2s_table {
	char *entry;                 /* mapping entry, or the table name */
	char *source_table;          /* schema.name on the source */
	char *target_table;          /* schema.name on the target, or NULL when none */
	char *status;                /* migrate: copied|resumed|skipped|empty|failed;
	                                verify: match|mismatch|failed;
	                                analyze: ready|needs_mapping|no_target */
	char *key_column;            /* source column ranges are cut on, or NULL */
	char *message;               /* failure or note, or NULL */
	double duration_s;

	/* analyze */
	long long row_estimate;      /* -1 when unknown */
	long long size_bytes;        /* -1 when unknown */
	bool has_primary_key;
	long recommended_batch_size;
	cf_s2s_column *columns;
	size_t n_columns;
	size_t n_mismatches;         /* column pairs whose types differ */

	/* migrate */
	long long rows;              /* rows written by this run */
	long n_ranges;               /* ranges in the plan */
	long n_ranges_done;          /* ranges finished (this run and earlier ones) */
	long n_ranges_skipped;       /* ranges an earlier run had finished */
	long batch_size;
	char *mode;                  /* "insert" or "upsert" */

	/* verify */
	long long source_rows;
	long long target_rows;
	char *source_checksum;
	char *target_checksum;
	bool is_match;
	bool is_pushed_down;         /* the source aggregate ran on the source server */
	char *diff_range_lo;         /* first differing key range [lo, hi); NULL bound = open */
	char *diff_range_hi;
	bool has_diff_range;
	char *first_diff_key;        /* first key whose row differs, or NULL */
	char **checked_columns;      /* target columns covered by the checksum */
	size_t n_checked_columns;
	char **unchecked_columns;    /* target columns filled by expressions or defaults */
	size_t n_unchecked_columns;
} cf_s2s_table;

typedef struct cf_s2s_result {
	bool success;
	char *message;               /* one line: what happened */
	double duration_s;
	bool changes_detected;       /* setup/cleanup changed something; migrate wrote rows;
	                                verify found a mismatch */
	char *step;                  /* "setup", "analyze", "migrate", "verify", "cleanup" */
	char *source;                /* masked */
	char *target;                /* masked */
	char *server;                /* the foreign server's name */
	char *staging_schema;
	char *fdw_host;              /* setup: the source as the foreign server sees it */
	char *fdw_port;
	char *fdw_dbname;
	char *fdw_user;
	bool has_password;           /* setup: the user mapping carries a password */
	bool is_password_required;   /* setup: false when password_required 'false' was set */
	char **actions;              /* setup/cleanup: what was created, changed or dropped */
	size_t n_actions;
	char **hints;                /* advice for a person: full sentences */
	size_t n_hints;
	cf_s2s_table *tables;
	size_t n_tables;
	long long rows_copied;       /* migrate */
	size_t n_mismatches;         /* verify */
	cf_error_item *errors;
	size_t n_errors;
} cf_s2s_result;

/*
 * Prepares the target to read the source: CREATE EXTENSION IF NOT EXISTS
 * postgres_fdw; a foreign server with the host (or socket directory), port
 * and dbname libpq used to reach the source; a user mapping for the target
 * user with the source user and the password libpq used (DSN, PGPASSWORD or
 * .pgpass; never logged); and IMPORT FOREIGN SCHEMA of OPTS->schemas into the
 * staging schema. Idempotent: what already matches is left alone, and
 * changes_detected says whether anything changed. One transaction: on
 * failure nothing is left behind. *OUT is filled on success and failure.
 */
cf_status cf_s2s_setup(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out);

/*
 * Reads both catalogs and reports, per source table: row estimate, size,
 * primary key, the mapped and unmapped columns on both sides (by the mapping
 * file when given, else by name), type mismatches with the cast each needs,
 * and a recommended batch size. Changes nothing.
 */
cf_status cf_s2s_analyze(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out);

/*
 * Copies every entry of the mapping file: INSERT INTO target SELECT ... FROM
 * the staging table, one primary-key range per transaction, OPTS->jobs
 * tables at a time, each worker on its own connection. Ranges finished by an
 * earlier run are skipped. The whole mapping is checked before any row
 * moves (CF_ERR_CONFIG naming the mapping file's line). A target table that
 * holds rows this tool did not copy is refused (CF_ERR_VALIDATION) unless
 * is_restart (truncates; refused on a protected target) or is_upsert.
 * A source the target server cannot reach gives CF_ERR_CONNECT.
 */
cf_status cf_s2s_migrate(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out);

/*
 * Compares each mapped table on both sides: row counts and an
 * order-independent checksum of the columns the mapping copies unchanged
 * (renames and casts), the source side computed through the foreign table
 * (on the source server when postgres_fdw can push the aggregate down). On a
 * difference, finds the first differing key range. Returns CF_ERR_CHECK
 * when any table differs.
 */
cf_status cf_s2s_verify(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out);

/*
 * Drops the staging schema (with the progress tables), the user mapping and
 * the foreign server, and postgres_fdw itself when setup created it and
 * nothing else uses it. Idempotent. On a protected target, CF_ERR_VALIDATION
 * unless OPTS->is_production_ok.
 */
cf_status cf_s2s_cleanup(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out);

void cf_s2s_result_free(cf_s2s_result *r);


/* ==== Lint (src/lint) ======================================================== */

/*
 * `confiture lint`: migration safety rules on PostgreSQL's parse tree. The
 * rules include Squawk's whole default set under Squawk's names, and rules
 * only a tool that knows the project can have: which migrations are pending,
 * whether a file will run inside a transaction, what it would drop.
 */
typedef enum cf_lint_severity {
	CF_LINT_ERROR,       /* fails the lint (CF_ERR_CHECK, exit 1) */
	CF_LINT_WARNING,
	CF_LINT_INFO,
	CF_LINT_OFF          /* not run */
} cf_lint_severity;

typedef struct cf_lint_rule_info {
	const char *name;        /* e.g. "ban-drop-column" */
	const char *family;      /* "squawk", "context", "data-loss", "timeout", "naming",
	                            "pk", "doc", "security" */
	bool is_squawk;          /* Squawk has a rule of this name and meaning */
	const char *alias;       /* another accepted name (the precursor's code), or NULL */
	cf_lint_severity severity; /* default severity */
	bool is_default;         /* runs without --select */
	const char *summary;
} cf_lint_rule_info;

/* Every rule, in a stable order. Static; N receives the count. */
const cf_lint_rule_info *cf_lint_rules(size_t *n);

typedef struct cf_lint_finding {
	char *file;              /* as shown (relative to the working directory) */
	int line, column;        /* 1-based */
	int end_line, end_column;/* the statement's end; end column exclusive */
	cf_lint_severity severity;
	const char *rule;        /* static */
	char *message;
	const char *help;        /* static, or NULL */
	char *statement;         /* the offending statement's text */
	char **objects;          /* what would lose data, e.g. "public.users.email" */
	size_t n_objects;
} cf_lint_finding;

typedef struct cf_lint_opts {
	const char *const *paths;/* files or directories of .sql files; none: see below */
	size_t n_paths;
	bool is_all;             /* every migration, not only pending ones */
	bool is_schema;          /* the db/schema files (include_dirs, seeds left out) */
	const char *pg_version;  /* "13", "15.4"; NULL: lint.pg_version, else the
	                            server's, else the oldest supported (13) */
	const char *const *select; /* rules or families to run (NULL: the default set) */
	size_t n_select;
	const char *const *ignore; /* rules or families not to run */
	size_t n_ignore;
	int assume_in_transaction; /* plain files: 1 run in a transaction, 0 not,
	                              -1 (or 0 in a zeroed struct) Squawk's default: not */
	bool is_offline;         /* never connect (pending = every migration) */
} cf_lint_opts;

typedef struct cf_lint_result {
	bool success;            /* no error-level finding */
	char *message;
	double duration_s;
	const char *scope;       /* "pending", "all", "schema" or "paths" (static) */
	int pg_version;          /* the version the rules assumed, e.g. 130000 */
	const char *pg_version_from; /* "--pg-version", "lint.pg_version", "server" or
	                                "oldest supported" (static) */
	char **files;            /* linted, as shown */
	size_t n_files;
	size_t n_statements;
	cf_lint_finding *findings; /* in file order, then position */
	size_t n_findings;
	size_t n_error_findings, n_warning_findings, n_info_findings;
	bool is_blocking;        /* lint.block_on says `migrate` must stop on this result */
	char **assumptions;      /* what lint assumed, for people: no database, ... */
	size_t n_assumptions;
	cf_error_item *errors;   /* the failure, when the status is not OK or CHECK */
	size_t n_errors;
} cf_lint_result;

/*
 * Lints the files OPTS selects: the paths given; else with is_schema the
 * schema files; else every migration (is_all) or the pending ones, which
 * needs the ledger when a database is reachable (without one every migration
 * counts as pending, and result->assumptions says so). OPTS NULL lints the
 * pending migrations with the config's settings, which is what `confiture
 * check` and `migrate up --dry-run` do. Returns CF_ERR_CHECK when a finding
 * has error severity, CF_OK otherwise; CF_ERR_USAGE for an unknown rule or
 * version in OPTS, CF_ERR_CONFIG in the config, CF_ERR_IO for an unreadable
 * path. *OUT is filled on success and failure (free with
 * cf_lint_result_free).
 */
cf_status cf_lint(cf_ctx *ctx, const cf_lint_opts *opts, cf_lint_result **out);
void cf_lint_result_free(cf_lint_result *r);

/*
 * Checks the `lint:` section of the loaded project (rule names, families and
 * pg_version) without linting anything: CF_ERR_CONFIG naming the key, as
 * cf_lint would. `confiture validate-config` runs it after
 * cf_validate_config.
 */
cf_status cf_lint_check_config(cf_ctx *ctx);

/* ==== Schema diff and the CI gate (src/schema, src/check) =================== */

/*
 * confiture compares schemas by their catalogs: a snapshot of each side (a
 * few bulk queries, read-only), objects identified by name and signature,
 * and the SQL that turns one into the other, ordered by pg_depend and tagged
 * with a hazard. A side is an environment, a URL, "schema" (db/schema built
 * in a scratch database), "migrations" (replayed from empty in a scratch
 * database), or a path to a .sql file or a directory of them. Scratch
 * databases live on the project's embedded cluster, or on scratch_url, and
 * are always dropped afterwards. See docs/diff.md and docs/check.md.
 */

/* How risky a change is, from the least to the most. */
typedef enum cf_hazard {
	CF_HAZARD_ADDITIVE,          /* adds something; nothing existing changes */
	CF_HAZARD_REVERSIBLE,        /* changes or removes something without losing data */
	CF_HAZARD_LOCK_RISKY,        /* rewrites a table or holds a long lock */
	CF_HAZARD_DESTRUCTIVE,       /* data is lost (a dropped table or column) */
	CF_HAZARD_NON_TRANSACTIONAL  /* cannot run inside a transaction block */
} cf_hazard;

/* "additive", "reversible", "lock_risky", "destructive", "non_transactional". */
const char *cf_hazard_name(cf_hazard h);

/* One change, in the order the script runs them. */
typedef struct cf_schema_change {
	char *action;        /* "create", "drop", "alter", "recreate" (dropped, then
	                        created again around a change it depends on) */
	char *kind;          /* "table", "column", "index", "function", ... */
	char *object;        /* the identity: app.person, app.person.email,
	                        app.add(integer, integer) */
	char *group;         /* the top-level object it belongs to, for grouping:
	                        "table app.person" (its own kind and name if none) */
	char *sql;           /* the statements, each ending with ";\n" */
	cf_hazard hazard;
	char *note;          /* why it is risky, or what to know; or NULL */
	bool is_refused;     /* cannot be generated (sql is a comment saying why) */
} cf_schema_change;

typedef struct cf_diff_opts {
	const char *from;              /* ENV, URL, "schema", "migrations" or a path (required) */
	const char *to;                /* the same (required) */
	const char *scratch_url;       /* server for scratch databases; NULL: embedded cluster */
	const char *const *schemas;    /* compare only these schemas */
	size_t n_schemas;
	const char *const *exclude_schemas;
	size_t n_exclude_schemas;
	bool no_privileges;            /* leave GRANTs and default privileges out */
} cf_diff_opts;

typedef struct cf_diff_result {
	bool success;
	char *message;
	double duration_s;
	bool is_equal;                 /* no change (notes aside) */
	char *from;                    /* each side as shown: "production (postgresql://...)",
	                                  "schema (db/schema, scratch)", a path */
	char *to;
	cf_schema_change *changes;
	size_t n_changes;
	size_t n_by_hazard[5];         /* indexed by cf_hazard */
	size_t n_refused;
	char **notes;                  /* column order, probable renames */
	size_t n_notes;
	char **not_compared;           /* object kinds present but not modeled: "rules (2)" */
	size_t n_not_compared;
	cf_error_item *errors;
	size_t n_errors;
} cf_diff_result;

/*
 * Compares OPTS->from with OPTS->to and lists what turns the first into the
 * second. An environment or URL is only read (one read-only transaction), so
 * a protected database can be compared. CF_OK when they are equal,
 * CF_ERR_CHECK when they differ; a side that cannot be built is
 * CF_ERR_SCHEMA (DDL) or CF_ERR_SQL (a migration), with the file and line.
 * Scratch databases are dropped before returning, also on failure and after
 * cf_ctx_cancel. *OUT is filled on success and failure alike.
 */
cf_status cf_diff(cf_ctx *ctx, const cf_diff_opts *opts, cf_diff_result **out);
void cf_diff_result_free(cf_diff_result *r);

/* The SQL script of R's changes with a header listing the hazards (what
 * `diff -f sql` prints). Caller frees. */
char *cf_diff_result_script(const cf_diff_result *r);

/* `confiture migrate generate NAME --from-diff`. Strings are borrowed. */
typedef struct cf_generate_opts {
	const char *name;              /* the migration's name (required) */
	const char *version;           /* NULL: the local time, YYYYMMDDHHMMSS */
	const char *scratch_url;       /* NULL: embedded cluster */
	bool allow_destructive;        /* write destructive and non-transactional steps */
} cf_generate_opts;

typedef struct cf_generate_result {
	bool success;
	char *message;
	double duration_s;
	cf_diff_result *up;            /* migrations -> schema: the .up.sql */
	cf_diff_result *down;          /* schema -> migrations: the .down.sql */
	char **created;                /* files written, relative to the project */
	size_t n_created;
	cf_error_item *errors;         /* the failure, or each blocked step */
	size_t n_errors;
} cf_generate_result;

/*
 * Writes a migration pair from the difference between db/migrations
 * (replayed in a scratch database) and db/schema (built in another): the
 * .up.sql turns the first into the second, the .down.sql turns it back.
 * Nothing to generate is CF_ERR_CHECK with no file written. A destructive or
 * non-transactional step without OPTS->allow_destructive is CF_ERR_CHECK
 * with each such step in errors, and no file written. Change that cannot be
 * generated (refused) is CF_ERR_CHECK too.
 */
cf_status cf_migrate_generate_from_diff(cf_ctx *ctx, const cf_generate_opts *opts,
                                        cf_generate_result **out);
void cf_generate_result_free(cf_generate_result *r);

/* `confiture check`. Strings are borrowed. */
typedef struct cf_check_opts {
	const char *scratch_url;       /* NULL: embedded cluster */
	bool downs;                    /* check that each down undoes its up */
	bool checksums;                /* verify the applied migrations' checksums in
	                                  the loaded environment's database (read only);
	                                  lint then takes the migrations pending there
	                                  (else every migration) */
} cf_check_opts;

/* A finding of a step, with where it is. */
typedef struct cf_check_step {
	char *name;                    /* "parse", "build", "replay", "drift", "downs",
	                                  "checksums", "lint" */
	char *title;                   /* "every DDL file parses", ... */
	const char *status;            /* "passed", "failed", "skipped" (static) */
	char *message;                 /* one line: what happened */
	double duration_s;
	char *sql;                     /* drift: the SQL that brings the migrations to
	                                  db/schema, ready for a new migration; or NULL */
	cf_error_item *errors;         /* each failure, with file:line when known */
	size_t n_errors;
} cf_check_step;

/* A migration as check saw it (one test case each in junit). */
typedef struct cf_check_migration {
	char *version;
	char *name;
	char *file;                    /* .up.sql, relative to the project */
	char *down_file;               /* or NULL */
	const char *replay;            /* "passed", "failed", "skipped" (static) */
	const char *down;              /* "passed", "failed", "missing", "skipped" (static) */
	char *message;                 /* why it failed, or NULL */
	char *sql;                     /* down: what the down left different, as SQL; or NULL */
	double duration_s;
} cf_check_migration;

typedef struct cf_check_result {
	bool success;                  /* every step passed (or was skipped) */
	char *message;
	double duration_s;
	char *scratch;                 /* the scratch server, password masked */
	cf_check_step *steps;
	size_t n_steps;
	size_t n_failed;
	cf_check_migration *migrations;
	size_t n_migrations;
	cf_lint_result *lint;          /* the lint step's findings, or NULL when it did not run */
} cf_check_result;

/*
 * The CI gate: every DDL and migration file parses; db/schema builds; the
 * migrations replay from empty; the replay equals the build (or the drift is
 * given as SQL); with OPTS->downs, each .down.sql undoes its .up.sql exactly
 * (up, down, compare, up again) and a missing one is reported; with
 * OPTS->checksums, the checksums of the migrations applied in the loaded
 * environment match their files (read only). Every step runs and reports;
 * CF_ERR_CHECK when any failed. Scratch databases are dropped before
 * returning, also on failure and after cf_ctx_cancel (CF_ERR_CANCELLED).
 * Nothing else is touched. *OUT is filled on success and failure alike.
 */
cf_status cf_check(cf_ctx *ctx, const cf_check_opts *opts, cf_check_result **out);
void cf_check_result_free(cf_check_result *r);
/* ==== Plugins ================================================================ */

/*
 * Plugins (ABI version 1). A plugin is a shared object listed under
 * `plugins:` in the config; cf_ctx_load loads every listed plugin (paths are
 * relative to the project). It exports
 *
 *     const cf_plugin *confiture_plugin(void);
 *
 * and its descriptor carries anonymization strategies (used in rules files as
 * `strategy: plugin:NAME`) and hook callbacks (registered like
 * cf_hook_register's, for every medium). A missing file, a missing entry
 * point or another ABI version makes cf_ctx_load fail with CF_ERR_CONFIG.
 * See docs/plugins.md and contrib/plugins/.
 */
#define CF_PLUGIN_ABI_VERSION 1

/* Where a strategy writes its output (opaque; use the host functions). */
typedef struct cf_mask_out cf_mask_out;

/* Services confiture offers to a plugin. */
typedef struct cf_plugin_host {
	uint32_t abi_version;
	/* Appends N bytes to the masked value. */
	void (*write)(cf_mask_out *out, const char *data, size_t n);
	/* Makes the masked value SQL NULL. */
	void (*set_null)(cf_mask_out *out);
	/* Records why masking failed (never put the input value in it). */
	void (*set_error)(cf_mask_out *out, const char *message);
	/* Keyed BLAKE2b of DATA under KEY: OUTLEN bytes, 16..64. */
	void (*keyed_hash)(const unsigned char *key, size_t keylen, const void *data, size_t n,
	                   unsigned char *out, size_t outlen);
} cf_plugin_host;

/* One value to mask: its text form (not NUL-terminated) and the rule's key. */
typedef struct cf_mask_in {
	const char *value;
	size_t len;
	const unsigned char *key;    /* 32 bytes derived from the run key, the
	                                strategy name and the rule's seed */
	size_t keylen;
	const cf_plugin_host *host;
} cf_mask_in;

typedef struct cf_plugin_strategy {
	const char *name;            /* used as plugin:NAME */
	/*
	 * Called once per rule with the rule's other keys as strings. Returns 0
	 * and sets *STATE (may stay NULL), or non-zero with a message in ERR
	 * (the rules file error then names that line). May be NULL.
	 */
	int (*init)(void **state, const char *const *keys, const char *const *values, size_t n,
	            char *err, size_t errlen);
	/* Masks one non-NULL value: 0 on success, non-zero after set_error.
	 * Called from several threads at once with the same STATE. */
	int (*mask)(void *state, const cf_mask_in *in, cf_mask_out *out);
	void (*release)(void *state); /* may be NULL */
} cf_plugin_strategy;

typedef struct cf_plugin_hook {
	const char *event;           /* an event of cf_hook_events(), or "*" */
	cf_hook_fn fn;
	void *ud;
} cf_plugin_hook;

typedef struct cf_plugin {
	uint32_t abi_version;        /* CF_PLUGIN_ABI_VERSION */
	const char *name;
	const char *version;
	const cf_plugin_strategy *strategies;
	size_t n_strategies;
	const cf_plugin_hook *hooks;
	size_t n_hooks;
} cf_plugin;

typedef const cf_plugin *(*cf_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* CONFITURE_H */
