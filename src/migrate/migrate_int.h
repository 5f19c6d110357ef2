/*
 * migrate_int.h -- the migrate medium's internal API.
 *
 *   discover.c   the migrations directory: files, versions, orphans, duplicates
 *   checksum.c   SHA-256 of .up.sql bytes with CRLF normalized to LF
 *   script.c     reading, parsing and preparing a migration file for sending
 *   ledger.c     the tracking table: probe, create, read, insert/delete SQL
 *   lock.c       the session-level advisory lock and its holder
 *   apply.c      running migrations in a transaction, alone or batched
 *   nontx.c      running migrations statement by statement, resumable
 *   ops.c        the public entry points (cf_migrate_*)
 *   dryrun.c     trying pending migrations and rolling them back
 *   baseline.c   adopting an existing database
 *   check.c      verify, verify-checksums, preflight
 */
#ifndef CF_MIGRATE_INT_H
#define CF_MIGRATE_INT_H

#include "confiture.h"
#include "buf.h"
#include "error.h"
#include "hooks.h"
#include "pg.h"
#include "psqlscript.h"
#include "sqlparse.h"

#include <stdbool.h>
#include <stddef.h>

/* The advisory lock namespace shared with the Python precursor. */
#define MIG_LOCK_NAMESPACE 1751936052L

/* ---- discover.c ---------------------------------------------------------- */

typedef struct mig_file {
	char *version;     /* text before the first "_" (Flyway: after the V, "_" read as ".") */
	char *name;        /* text after it, without .up.sql (Flyway: the description) */
	char *base;        /* VERSION_NAME (Flyway: the file name without .sql) */
	bool is_flyway;    /* V<version>__<desc>.sql, with U<version>__<desc>.sql as its down */
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
/* Errors found before connecting: duplicates (CF_ERR_SQL), Flyway versions
 * whose text order is not their numeric order (CF_ERR_VALIDATION), and
 * mig_set_check_unmatched. */
cf_status mig_set_check(cf_ctx *ctx, const mig_set *set);
/* .sql files not named as migrations (set->orphans): CF_ERR_VALIDATION
 * naming each, CF_ERR_CHECK under strict_mode, a warning naming each with
 * migration.ignore_unmatched. */
cf_status mig_set_check_unmatched(cf_ctx *ctx, const mig_set *set);
/* Compares dotted numbers ("001" == "1", "1.10" > "1.9"). */
int mig_num_cmp(const char *a, const char *b);
/* The name of F's down file as its layout has it (for messages). Caller frees. */
char *mig_down_name(const mig_file *f);
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
	cf_psql_script ps;      /* the file as psql reads it */
	cf_script *parsed;      /* ps.script */
	char *send;             /* the text sent: see script.c */
	size_t *send_at;        /* each statement's offset in SEND */
	size_t *piece_k;        /* messages: the first statement (count) of each */
	size_t n_pieces;
	bool is_nontx;          /* runs statement by statement in autocommit */
	const char *nontx_why;  /* the first reason, or the marker */
	bool was_wrapped;       /* a BEGIN/COMMIT pair was stripped */
	size_t wrap_begin;      /* the stripped BEGIN */
	size_t first, last;     /* statement range to run: [first, last) ... */
	size_t skip;            /* ... without this one (the BEGIN after SETs), or SIZE_MAX */
} mig_script;

/*
 * Parses TEXT (taking ownership) from FILE and prepares it: strips a
 * BEGIN ... COMMIT pair that wraps the whole file (SET statements may come
 * before it), with a warning; refuses transaction control anywhere else (a
 * block around part of the file at the first statement outside it) and
 * COPY FROM STDIN without inline data; decides whether it runs in one
 * transaction. Errors are CF_ERR_SQL with file:line:column.
 */
cf_status mig_script_prepare(cf_ctx *ctx, const char *file, char *text, size_t len,
                             mig_script *out);
void mig_script_release(mig_script *s);
/* Statement I's text (a copy, without the ";"). */
char *mig_script_stmt(const mig_script *s, size_t i);
/* How many statements run, and the script index of the K-th of them. */
size_t mig_script_count(const mig_script *s);
size_t mig_script_nth(const mig_script *s, size_t k);
/* The inline data of statement I when it is a COPY ... FROM STDIN, or NULL. */
const cf_copyblk *mig_script_copy(const mig_script *s, size_t i);
/* Can the script share a message with others (one piece, in a transaction)? */
bool mig_script_is_batchable(const mig_script *s);

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
	bool created_ledger; /* mig_ledger_ensure created it in this transaction */
	mig_ledger ledger;
	cf_strv slugs;     /* slugs of the second slug_ts (ledger and this run) */
	char *slug_ts;
	char *sync_commit; /* the session's synchronous_commit while it is off, or NULL */
	bool has_check_interval; /* the probe set client_connection_check_interval */
	char *reset_sql;   /* mig_session_reset_sql's last answer */
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
 * that lacks applied_by. Says nothing: see mig_ledger_created. */
cf_status mig_ledger_ensure(mig_session *s);
/* Reports a ledger that mig_ledger_ensure created, once its transaction
 * COMMITTED (else forgets it: it was rolled back). */
void mig_ledger_created(mig_session *s, bool committed);
/* The DDL that creates the ledger, for dry runs and docs. Caller frees. */
char *mig_ledger_ddl(mig_session *s);
void mig_ledger_release(mig_ledger *l);
const mig_row *mig_ledger_find(const mig_ledger *l, const char *version);
/* The newest applied version (highest string), or NULL. */
const mig_row *mig_ledger_current(const mig_ledger *l);
/* "name_YYYYmmdd_HHMMSS" (+ "_SUFFIX" when SUFFIX), in local time. */
char *mig_slug(const char *name, const char *suffix);
/*
 * SQL inserting F's ledger row (slug NAME_TIMESTAMP, with _VERSION when the
 * ledger or this run has that slug already; applied_by current_user); execution_time_ms is MS, or with MS -1 is measured by the
 * server from the start of the current message (the one holding the
 * migration text). Values are quoted with PQescapeLiteral: the statement
 * rides in the same simple-protocol message as the migration text, which
 * has no parameters.
 */
char *mig_ledger_insert_sql(mig_session *s, const mig_file *f, const char *checksum, long ms);
/* The same in a batch (many migrations in one message): applied_at is the
 * clock time of the INSERT, and execution_time_ms runs from the applied_at
 * of PREV (the migration before it in the batch), or from the start of the
 * message for the first one (PREV NULL). */
char *mig_ledger_insert_batch_sql(mig_session *s, const mig_file *f, const char *checksum,
                                  const char *prev);
/*
 * The statements (trusted SQL, ";"-separated, *N_STMTS of them when not
 * NULL) that give the session back the state it had when the run began:
 * settings go back to those the connection was made with (the connection
 * string's options, ALTER ROLE/DATABASE ... SET, the server's), then the
 * run's own are set again (client_connection_check_interval, and
 * synchronous_commit while it is off); role and session authorization,
 * temporary tables and prepared statements go. Run after each migration,
 * before its ledger row is written. Valid until the next call.
 */
const char *mig_session_reset_sql(mig_session *s, size_t *n_stmts);
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
/* Reads back the execution_time_ms the server recorded for FILES[0..N)
 * into MS (-1 when unknown). Keeps a recorded error. */
void mig_ledger_times(mig_session *s, mig_file **files, size_t n, long *ms);
cf_status mig_async_end(mig_session *s);
/* Creates the progress table of non-transactional migrations when absent. */
cf_status mig_progress_ensure(mig_session *s);

/* ---- lock.c ---------------------------------------------------------------- */

/* Takes the lock, waiting up to the configured timeout. CF_ERR_LOCK names
 * the holder. */
cf_status mig_lock(mig_session *s);
void mig_unlock(mig_session *s);

/* ---- apply.c, nontx.c ------------------------------------------------------ */

typedef enum mig_dir { MIG_UP, MIG_DOWN } mig_dir;

typedef struct mig_run {
	mig_session *sess;
	bool in_outer_tx;      /* dry runs: inside the caller's transaction, no commits, no hooks */
	bool fire_hooks;
	long long elapsed_ms;  /* of the last migration */
} mig_run;

/*
 * Runs one migration (F, in direction DIR, with SCRIPT prepared from the
 * file) and records it in the ledger. Transactional scripts run in one
 * transaction with their ledger row; others statement by statement with
 * recorded progress. Either way the session is reset before the ledger row
 * is written (mig_session_reset_sql). On failure everything of this
 * migration is rolled back (or, for a non-transactional one, left
 * resumable) and the error names file:line:column.
 */
cf_status mig_apply(mig_run *run, const mig_file *f, mig_dir dir, mig_script *script,
                    const char *checksum);
/*
 * Applies N transactional migrations in one message: each in its own
 * BEGIN ... COMMIT with its session reset and ledger row, so one round trip
 * serves them all while every migration stays atomic and starts from the
 * same session. Stops at the first failure (rolled back, located in its
 * file); *N_OK migrations before it are committed, and MS[0..*N_OK) get the
 * execution times the server measured for them.
 * No per-migration hooks fire: callers batch only when none are declared.
 */
cf_status mig_apply_batch(mig_run *run, mig_file **files, mig_script *scripts, size_t n,
                          size_t *n_ok, long *ms);
/* Runs SCRIPT's text, then TAIL (may be NULL), in one message, in the
 * current transaction, locating errors. */
cf_status mig_exec_script(mig_session *s, const mig_script *script, const char *tail);
/* What follows a migration's text: the session reset, then F's ledger row
 * INSERT (MS as mig_ledger_insert_sql) or DELETE; the reset alone when F
 * is NULL. Caller frees. */
char *mig_tail(mig_session *s, const mig_file *f, mig_dir dir, const char *checksum, long ms);
/* Puts the recorded server error at statement I of SC (SIZE_MAX: none of
 * its statements failed), or at the data line of its COPY. The server
 * position counts from SENT + SENT_AT when the message held SC's text from
 * there, else (SENT NULL) from the statement. */
void mig_locate(cf_ctx *ctx, const mig_script *sc, const char *sent, size_t sent_at, size_t i);
/* Fires a per-migration hook (unless the run fires none). */
cf_status mig_fire(mig_run *run, const char *event, cf_hook_part part, const mig_file *f,
                   int success, long long elapsed_ms);
/* The COPY data the server asks for, as cf_copy_feed: the K-th block of
 * SCRIPTS[0..N), or ONE when set (a statement sent alone). */
typedef struct mig_feed {
	const mig_script *scripts;
	size_t n;
	size_t base;             /* blocks of SCRIPTS sent before this message */
	const cf_copyblk *one;
} mig_feed;
cf_status mig_feed_copy(void *arg, cf_pg *pg, size_t k);
/* nontx.c: a migration statement by statement, in autocommit. */
cf_status mig_run_nontx(mig_run *run, const mig_file *f, mig_dir dir, mig_script *sc,
                        const char *checksum);

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
	size_t n_not_tried; /* dry runs: migrations they could not try */
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

/* ---- dryrun.c ------------------------------------------------------------------- */

typedef struct mig_dry {
	mig_op *op;
	const char *what;    /* "--dry-run-execute", "preflight": for the warning */
	bool with_ledger;    /* write (and roll back) the ledger rows too */
	bool keep_going;     /* a failed migration is a finding: go on with the next */
	size_t n_tried, n_failed, n_not_tried;
} mig_dry;

/*
 * Tries FILES[0..N) (SCRIPTS prepared) in the current transaction, each as
 * the real run would run it (see dryrun.c), adding an entry per migration:
 * "would_apply", "failed", or "not_tried" with a note saying why, for the
 * first one a dry run cannot try (it runs outside a transaction, or uses an
 * enum value only an earlier migration's commit makes usable) and every one
 * after it; a warning names them. A failure stops the run (the error is
 * returned) unless D->keep_going, which keeps it in the result's errors as
 * a CF_ERR_PREFLIGHT finding. The caller rolls the transaction back.
 */
cf_status mig_dry_run(mig_dry *d, mig_file **files, mig_script *scripts, size_t n);

#endif
