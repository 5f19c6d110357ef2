/*
 * pg.h -- PostgreSQL connections through libpq (pg.c and quote.c are the only
 * users of libpq).
 *
 * Every connection carries application_name "confiture <command>" so that
 * lock holders can be named, registers itself for cancellation on its
 * context, and logs server notices through the context's logger.
 *
 * Errors from the server are recorded on the context as CF_ERR_SQL with the
 * server's message, detail, hint, SQLSTATE and statement position; callers
 * running SQL from a file then call cf_error_locate to point into the file.
 * When the context was cancelled, the code is CF_ERR_CANCELLED instead.
 */
#ifndef CF_PG_H
#define CF_PG_H

#include "confiture.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cf_pg cf_pg;
typedef struct cf_pgres cf_pgres;

/* ---- Connection strings ----------------------------------------------- */

/* CONNINFO (URI or key=value) for display, password replaced by "***". */
char *cf_dsn_mask(const char *conninfo);
/* The password written in CONNINFO, or NULL. Free with cf_secret_free. */
char *cf_dsn_password(const char *conninfo);
/* True when CONNINFO parses as a libpq connection string or URI. */
bool cf_dsn_valid(const char *conninfo, char **errmsg);
/* True when A and B name the same database (host/socket, port, dbname),
 * after libpq's defaults (PGHOST, PGPORT, ...) are applied. */
bool cf_dsn_same_db(const char *a, const char *b);
/* Where CONNINFO leads, as libpq resolves it (service file, PG* variables,
 * OS user and socket directory defaults applied), without connecting. */
typedef struct cf_dsn_parts {
	char *host;          /* host name, address or socket directory */
	char *port;
	char *dbname;
	char *user;
} cf_dsn_parts;
void cf_dsn_resolve(const char *conninfo, cf_dsn_parts *out);
void cf_dsn_parts_release(cf_dsn_parts *p);
/* VALUE quoted for a key=value connection string: 'v' with \ escapes. */
char *cf_dsn_quote(const char *value);
/* CONNINFO with dbname replaced by DBNAME. Caller frees (a secret). */
char *cf_dsn_with_dbname(const char *conninfo, const char *dbname);
/* The dbname CONNINFO resolves to (after libpq defaults). Caller frees. */
char *cf_dsn_dbname(const char *conninfo);
/* CONNINFO as a key=value string without its password: for a child
 * program's argv (the password goes through its environment). */
char *cf_dsn_without_password(const char *conninfo);

/*
 * The connection string of the context's environment: database_url, or the
 * embedded cluster (started on demand, database created on demand). The
 * result is a secret: free with cf_secret_free.
 */
cf_status cf_ctx_conninfo(cf_ctx *ctx, char **out);

/* ---- Connections ---------------------------------------------------------- */

/* Connects to CONNINFO. CF_ERR_CONNECT names the target, password masked. */
cf_status cf_pg_connect(cf_ctx *ctx, const char *conninfo, cf_pg **out);
/* Connects to the context's environment (see cf_ctx_conninfo). */
cf_status cf_pg_connect_env(cf_ctx *ctx, cf_pg **out);
/* Closes and frees. NULL is a no-op. */
void cf_pg_close(cf_pg *pg);

cf_ctx *cf_pg_ctx(const cf_pg *pg);
/* Resolved connection facts (never the password). */
const char *cf_pg_dbname(const cf_pg *pg);
const char *cf_pg_user(const cf_pg *pg);
const char *cf_pg_host(const cf_pg *pg);  /* host name or socket directory */
const char *cf_pg_port(const cf_pg *pg);
/* The password libpq used (from the DSN, PGPASSWORD or .pgpass), or NULL. */
const char *cf_pg_password(const cf_pg *pg);
/* Whether the server asked for a password on this connection. */
bool cf_pg_used_password(const cf_pg *pg);
/* The connection as a masked URI, for messages. */
const char *cf_pg_display(const cf_pg *pg);
int cf_pg_server_version(const cf_pg *pg); /* e.g. 150020 */
int cf_pg_backend_pid(const cf_pg *pg);
/* True when the connection is inside a transaction block (or failed one). */
bool cf_pg_in_transaction(const cf_pg *pg);
/* True when the connection is broken. */
bool cf_pg_is_bad(const cf_pg *pg);

/* ---- Statements --------------------------------------------------------- */

/* Runs SQL (one or more statements, simple protocol), discarding results. */
cf_status cf_pg_exec(cf_pg *pg, const char *sql);
/* Runs one statement with $n parameters (NULL entries are SQL NULLs). */
cf_status cf_pg_exec_params(cf_pg *pg, const char *sql, int nparams, const char *const *params);
/* Same, keeping the result in *OUT (free with cf_pgres_free). */
cf_status cf_pg_query(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                      cf_pgres **out);
/* Runs a query expected to return one row; *OUT is NULL when no row (copy). */
cf_status cf_pg_query_value(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                            char **out);

int cf_pgres_nrows(const cf_pgres *r);
int cf_pgres_ncols(const cf_pgres *r);
const char *cf_pgres_get(const cf_pgres *r, int row, int col); /* NULL for SQL NULL */
bool cf_pgres_isnull(const cf_pgres *r, int row, int col);
const char *cf_pgres_fname(const cf_pgres *r, int col);
int cf_pgres_fnumber(const cf_pgres *r, const char *name);     /* -1 when absent */
long long cf_pgres_cmd_tuples(const cf_pgres *r);
void cf_pgres_free(cf_pgres *r);

/* Convenience for transactions. ROLLBACK never records an error on a broken
 * connection (it is the cleanup path). */
cf_status cf_pg_begin(cf_pg *pg);
cf_status cf_pg_commit(cf_pg *pg);
void cf_pg_rollback(cf_pg *pg);

/*
 * Sends STMTS (each one SQL statement, no trailing ";" needed) in pipeline
 * mode: one round trip for all of them, stopping at the first error. On
 * error, *FAILED is the index of the failing statement and the context holds
 * the server error. The caller opens and closes any transaction.
 */
cf_status cf_pg_pipeline(cf_pg *pg, const char *const *stmts, const size_t *lens, size_t n,
                         size_t *failed);

/* ---- COPY ----------------------------------------------------------------- */

/* Starts COPY ... TO STDOUT. */
cf_status cf_pg_copy_out_start(cf_pg *pg, const char *sql);
/*
 * Reads the next chunk (one row for text, one tuple for binary) into *BUF,
 * owned by libpq until the next call or cf_pg_copy_free. Returns the length,
 * 0 at the end (after which the final status is checked), or -1 on error.
 */
long cf_pg_copy_out_read(cf_pg *pg, char **buf);
/* Frees a chunk from cf_pg_copy_out_read. */
void cf_pg_copy_free(char *buf);

/* Starts COPY ... FROM STDIN. */
cf_status cf_pg_copy_in_start(cf_pg *pg, const char *sql);
cf_status cf_pg_copy_in_put(cf_pg *pg, const char *data, size_t n);
/* Ends the COPY: ERRMSG NULL commits the data, else aborts with ERRMSG. */
cf_status cf_pg_copy_in_end(cf_pg *pg, const char *errmsg);

/* ---- Cancellation ----------------------------------------------------------- */

/* Cancels the statement running on PG (thread-safe). */
void cf_pg_cancel(cf_pg *pg);

/* ---- Quoting (quote.c) ----------------------------------------------------- */

/*
 * Identifier and literal quoting. With a connection, PQescapeIdentifier and
 * PQescapeLiteral do the work (they know the connection's encoding); with
 * PG NULL (offline SQL generation) the same rules are applied by hand.
 * Results are malloc'd; the caller frees.
 */
char *cf_quote_ident(cf_pg *pg, const char *name);
/* schema.name -> "schema"."name"; an unqualified name is quoted alone. */
char *cf_quote_qualified(cf_pg *pg, const char *name);
char *cf_quote_literal(cf_pg *pg, const char *text);

/*
 * Appends to OUT a SQL text built from FMT, where
 *   %I  quotes an identifier          %Q  quotes a possibly qualified name
 *   %L  quotes a literal              %s  inserts trusted SQL (confiture's own)
 *   %d %ld %lld %zu  integers         %%  a percent sign
 * This is the only place where text other than confiture's own is put into
 * SQL; values should normally travel as $n parameters instead.
 */
void cf_sql_appendf(cf_pg *pg, cf_buf *out, const char *fmt, ...);
char *cf_sql_format(cf_pg *pg, const char *fmt, ...);
/* Appends SECRET as a quoted literal (like %L), wiping every quoted copy
 * made on the way. Reserve room in OUT first so that it does not grow (a
 * grown buffer leaves the old copy behind). */
void cf_sql_append_secret(cf_pg *pg, cf_buf *out, const char *secret);

/* ---- Additions for sync (medium 3) ------------------------------------------ */

/*
 * Ends a COPY FROM STDIN successfully and reports how many rows the server
 * stored (the command tag), in *ROWS. Errors as cf_pg_copy_in_end.
 */
cf_status cf_pg_copy_in_finish(cf_pg *pg, long long *rows);

/*
 * Runs SQL like cf_pg_exec_params even after cf_ctx_cancel: for bookkeeping
 * on the way out (marking a run interrupted). Never cancels itself.
 */
cf_status cf_pg_exec_always(cf_pg *pg, const char *sql, int nparams, const char *const *params);

/* Sends a cancel request for PG's running statement through the handle
 * registered at connect time: safe while another thread uses PG. */
void cf_pg_cancel_shared(cf_pg *pg);

/* ---- Added for migrate --------------------------------------------------- */

/*
 * Runs SQL (one or more statements, simple protocol) like cf_pg_exec, and
 * sets *N_DONE to the number of statements that completed: on failure, the
 * index of the failing statement among the non-empty ones.
 */
cf_status cf_pg_exec_count(cf_pg *pg, const char *sql, size_t *n_done);

/* Streams the data of the K-th COPY ... FROM STDIN of a script (counting
 * from 0) with cf_pg_copy_in_put; an error aborts that COPY. */
typedef cf_status (*cf_copy_feed)(void *arg, cf_pg *pg, size_t k);

/* cf_pg_exec_count, with FEED (may be NULL: COPY FROM STDIN is refused)
 * answering the script's COPY ... FROM STDIN statements in turn. */
cf_status cf_pg_exec_feed(cf_pg *pg, const char *sql, cf_copy_feed feed, void *arg,
                          size_t *n_done);

#endif
