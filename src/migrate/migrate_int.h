/*
 * migrate_int.h -- the migrate medium's internal API.
 *
 *   discover.c   the migrations directory: files, versions, orphans, duplicates
 *   checksum.c   SHA-256 of .up.sql bytes with CRLF normalized to LF
 *   script.c     reading, parsing and preparing a migration file for sending
 *   ledger.c     the tracking table: probe, create, read, insert/delete SQL
 *   lock.c       the session-level advisory lock and its holder
 *   apply.c      running migrations: transactional and statement by statement
 *   ops.c        the public entry points (cf_migrate_*)
 *   baseline.c   adopting an existing database
 *   check.c      verify, verify-checksums, preflight
 */
#ifndef CF_MIGRATE_INT_H
#define CF_MIGRATE_INT_H

#include "confiture.h"
#include "buf.h"
#include "error.h"
#include "pg.h"
#include "sqlparse.h"

#include <stdbool.h>
#include <stddef.h>

/* The advisory lock namespace shared with the Python precursor. */
#define MIG_LOCK_NAMESPACE 1751936052L

/* ---- discover.c ---------------------------------------------------------- */

typedef struct mig_file {
	char *version;     /* text before the first "_" */
	char *name;        /* text after it, without .up.sql */
	char *base;        /* VERSION_NAME */
	char *up;          /* path shown to users: relative to the project */
	char *up_abs;      /* absolute path */
	char *down;        /* or NULL when there is no .down.sql */
	char *down_abs;
	char *verify;      /* .verify.sql sidecar, or NULL */
	char *verify_abs;
	char *checksum;    /* filled by mig_set_read_all / mig_file_checksum, or NULL */
	char *text;        /* .up.sql content once read, or NULL */
	size_t len;
} mig_file;

typedef struct mig_set {
	char *dir;         /* as shown: relative to the project */
	char *dir_abs;
	mig_file *v;       /* sorted by version (strcmp) */
	size_t n;
	cf_strv orphans;   /* .sql files that are not migrations, as shown */
	cf_strv dups;      /* "VERSION: a.up.sql, b.up.sql" */
	cf_strv dup_versions;
} mig_set;

/* Scans the migrations directory. CF_ERR_CONFIG when it is missing, CF_ERR_IO
 * when it or a .sql entry cannot be read. */
cf_status mig_set_load(cf_ctx *ctx, mig_set *set);
void mig_set_release(mig_set *set);
/* The file with VERSION, or NULL. */
mig_file *mig_set_find(const mig_set *set, const char *version);
/* Errors found before connecting: duplicates (CF_ERR_SQL) and, under
 * strict_mode, orphans (CF_ERR_CHECK). Logs orphans as warnings otherwise. */
cf_status mig_set_check(cf_ctx *ctx, const mig_set *set);
/* Reads F's .up.sql (once) and computes its checksum. CF_ERR_IO. */
cf_status mig_file_read(cf_ctx *ctx, mig_file *f);

/* ---- checksum.c ----------------------------------------------------------- */

/* SHA-256 hex of DATA with every CRLF counted as LF. */
void mig_checksum(const char *data, size_t n, char out[65]);

/* ---- script.c ---------------------------------------------------------------- */

typedef struct mig_script {
	const char *file;       /* as shown (not owned) */
	char *text;             /* file content (owned) */
	size_t len;
	cf_script *parsed;
	char *send;             /* TEXT with stripped wrapper statements blanked */
	bool is_nontx;          /* runs statement by statement in autocommit */
	const char *nontx_why;  /* the first reason, or the marker */
	bool was_wrapped;       /* a BEGIN/COMMIT pair was stripped */
	size_t first, last;     /* statement range to run: [first, last) */
} mig_script;

/*
 * Parses TEXT (taking ownership) from FILE and prepares it: strips a
 * BEGIN ... COMMIT pair that wraps the whole file (with a warning), refuses
 * transaction control anywhere else and COPY FROM STDIN, and decides whether
 * it runs in one transaction. Errors are CF_ERR_SQL with file:line:column.
 */
cf_status mig_script_prepare(cf_ctx *ctx, const char *file, char *text, size_t len,
                             mig_script *out);
void mig_script_release(mig_script *s);
/* Statement I's text (a copy, without the ";"). */
char *mig_script_stmt(const mig_script *s, size_t i);

/* ---- ledger.c ------------------------------------------------------------- */

typedef struct mig_row {
	char *version, *name, *slug, *applied_at, *checksum, *applied_by;
	long execution_time_ms; /* -1 when NULL */
} mig_row;

typedef struct mig_ledger {
	mig_row *v;        /* sorted by version (strcmp) */
	size_t n;
} mig_ledger;

/* A connection with what the medium needs to know about it. */
typedef struct mig_session {
	cf_ctx *ctx;
	cf_pg *pg;
	char *table;       /* tracking table as configured (for messages) */
	char *progress;    /* its progress table: TABLE_progress (for messages) */
	char *qtable;      /* schema.table, for SQL: immune to a migration's search_path */
	char *qprogress;
	bool has_ledger;
	bool has_applied_by;
	bool has_progress;
	bool has_lock;
	long lock_key;
	char *dbname;
	mig_ledger ledger;
	cf_strv slugs;     /* slugs of the second slug_ts (ledger and this run) */
	char *slug_ts;
	char *sync_commit; /* the session's synchronous_commit while it is off, or NULL */
} mig_session;

/* Connects to CONNINFO (NULL: the environment) and probes the ledger. */
cf_status mig_session_open(cf_ctx *ctx, const char *conninfo, mig_session *s);
/* Asks again whether the ledger and progress table exist (after waiting
 * for the lock, another run may have created them). */
cf_status mig_session_probe(mig_session *s);
/* Releases the lock (when held) and closes. */
void mig_session_close(mig_session *s);
/* Reads the ledger rows (when the table exists); without FULL, only
 * version, name, applied_at and execution_time_ms. */
cf_status mig_ledger_read(mig_session *s, bool full);
/* Creates the ledger (and indexes) when absent; upgrades a precursor table
 * that lacks applied_by. */
cf_status mig_ledger_ensure(mig_session *s);
/* The DDL that creates the ledger, for dry runs and docs. Caller frees. */
char *mig_ledger_ddl(mig_session *s);
void mig_ledger_release(mig_ledger *l);
const mig_row *mig_ledger_find(const mig_ledger *l, const char *version);
/* The newest applied version (highest string), or NULL. */
const mig_row *mig_ledger_current(const mig_ledger *l);
/* "name_YYYYmmdd_HHMMSS" (+ "_SUFFIX" when SUFFIX), in local time. */
char *mig_slug(const char *name, const char *suffix);
/*
 * SQL inserting F's ledger row; execution_time_ms is MS, or is measured by
 * the server: with MS -1 from the start of the current message (the one
 * holding the migration text), with MS -2 from the time the batch stored
 * in the transaction's confiture.t0 setting. Values
 * are quoted with PQescapeLiteral: the statement rides in the same
 * simple-protocol message as the migration text, which has no parameters.
 */
char *mig_ledger_insert_sql(mig_session *s, const mig_file *f, const char *checksum, long ms);
/* SQL deleting VERSION's ledger row (same reason for quoting). */
char *mig_ledger_delete_sql(mig_session *s, const char *version);
/*
 * Commit durability for a run of transactional migrations: commits are
 * asynchronous (no WAL flush each), and mig_async_end restores the
 * session's synchronous_commit and commits one transaction that waits for
 * the flush, which makes every earlier commit durable. Each migration stays
 * atomic with its ledger row either way; only the flush is shared. Call
 * mig_async_end before reporting (success or failure) and before anything
 * non-transactional.
 */
cf_status mig_async_begin(mig_session *s);
cf_status mig_async_end(mig_session *s);
/* Creates the progress table of non-transactional migrations when absent. */
cf_status mig_progress_ensure(mig_session *s);

/* ---- lock.c ---------------------------------------------------------------- */

/* Takes the lock, waiting up to the configured timeout. CF_ERR_LOCK names
 * the holder. */
cf_status mig_lock(mig_session *s);
void mig_unlock(mig_session *s);

/* ---- apply.c ----------------------------------------------------------------- */

typedef enum mig_dir { MIG_UP, MIG_DOWN } mig_dir;

typedef struct mig_run {
	mig_session *sess;
	bool in_outer_tx;      /* dry-run-execute: one transaction, no commits, no hooks */
	bool fire_hooks;
	long long elapsed_ms;  /* of the last migration */
} mig_run;

/*
 * Runs one migration (F, in direction DIR, with SCRIPT prepared from the
 * file) and records it in the ledger. Transactional scripts run in one
 * transaction with their ledger row; others statement by statement with
 * recorded progress. On failure everything of this migration is rolled back
 * (or, for a non-transactional one, left resumable) and the error names
 * file:line:column.
 */
cf_status mig_apply(mig_run *run, const mig_file *f, mig_dir dir, mig_script *script,
                    const char *checksum);
/*
 * Applies N transactional migrations in one message: each in its own
 * BEGIN ... COMMIT with its ledger row, so one round trip serves them all
 * while every migration stays atomic. Stops at the first failure (rolled
 * back, located in its file); *N_OK migrations before it are committed.
 * No per-migration hooks fire: callers batch only when none are declared.
 */
cf_status mig_apply_batch(mig_run *run, mig_file **files, mig_script *scripts, size_t n,
                          size_t *n_ok);
/* Runs SCRIPT's text in the current transaction, locating errors. */
cf_status mig_exec_script(mig_session *s, const mig_script *script, const char *tail);

/* ---- ops.c (result helpers shared by the entry points) ------------------------ */

typedef struct mig_res {
	cf_migrate_result *r;
	cf_errlist errs;
	cf_strv warnings;
	size_t cap;
} mig_res;

void mig_res_init(mig_res *m, const char *action);
cf_migration *mig_res_add(mig_res *m, const char *version, const char *name);
void mig_res_warn(mig_res *m, cf_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finishes the result: message, duration, errors (the context's, when ST). */
cf_status mig_res_finish(mig_res *m, cf_ctx *ctx, cf_status st, double t0, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Fills an entry's fields from a file and a ledger row (either may be NULL). */
void mig_entry_fill(cf_migration *e, const mig_file *f, const mig_row *row);

/* The steps every operation shares: the files, the session, the result. */
typedef struct mig_op {
	cf_ctx *ctx;
	mig_set set;
	mig_session sess;
	mig_res m;
	double t0;
	bool has_set, has_sess;
	bool has_current;  /* result->current was set by the operation */
	bool light_ledger; /* status, current: no slug, checksum, applied_by */
	struct cf_prog *prog; /* progress of run_plan, or NULL */
} mig_op;

/* Clears the context's error, starts the result (*OUT is set at once) and
 * reads the migrations directory; with CHECKS, duplicates and strict-mode
 * orphans are errors. */
cf_status mig_op_begin(mig_op *op, cf_ctx *ctx, const char *action, cf_migrate_result **out,
                       bool checks);
/* Opens the session (CONNINFO NULL: the environment), takes the lock when
 * LOCK (and locking is enabled), requires the ledger when NEED_LEDGER
 * (CF_ERR_NO_LEDGER), and reads it (whole unless op->light_ledger). */
cf_status mig_op_connect(mig_op *op, const char *conninfo, bool lock, bool need_ledger);
/* Closes everything and finishes the result with ST; FMT is the message on
 * success (on failure the error's message is used). */
cf_status mig_op_end(mig_op *op, cf_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
