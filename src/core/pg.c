/*
 * pg.c -- connections, statements, pipelines, COPY and cancellation.
 *
 * With quote.c, the only user of libpq.
 */
#include "pg.h"
#include "ctx.h"
#include "embedded.h"
#include "error.h"
#include "log.h"
#include "pg_internal.h"
#include "secret.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct cf_pg {
	cf_ctx *ctx;
	PGconn *conn;
	int cancel_slot;    /* index in ctx->cancels, or -1 */
	char *display;      /* masked URI */
	bool used_password;
};

struct cf_pgres {
	PGresult *res;
};

PGconn *cf_pg_conn(const cf_pg *pg)
{
	return pg->conn;
}

/* ---- Connection strings --------------------------------------------------- */

static bool is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* In a URI, replaces the userinfo password and any password= parameter. */
static char *mask_uri(const char *uri)
{
	cf_buf b;
	cf_buf_init(&b);
	const char *auth = strstr(uri, "://") + 3;
	const char *end = auth + strcspn(auth, "/?");
	const char *at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p; /* the last @ ends the userinfo */
	cf_buf_append(&b, uri, (size_t)(auth - uri));
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			cf_buf_append(&b, auth, (size_t)(colon - auth));
			cf_buf_puts(&b, ":***");
		} else {
			cf_buf_append(&b, auth, (size_t)(at - auth));
		}
		auth = at;
	}
	/* Copy the rest, masking password=... in the query string. */
	const char *q = strchr(auth, '?');
	cf_buf_append(&b, auth, q ? (size_t)(q - auth) : strlen(auth));
	while (q && *q) {
		const char *amp = strchr(q + 1, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		if (strncmp(q + 1, "password=", 9) == 0)
			cf_buf_printf(&b, "%cpassword=***", *q);
		else
			cf_buf_append(&b, q, n);
		q = amp;
	}
	return b.data;
}

char *cf_dsn_quote(const char *value)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_putc(&b, '\'');
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			cf_buf_putc(&b, '\\');
		cf_buf_putc(&b, *p);
	}
	cf_buf_putc(&b, '\'');
	return b.data;
}

char *cf_dsn_mask(const char *conninfo)
{
	if (!conninfo)
		return cf_strdup("");
	if (is_uri(conninfo))
		return mask_uri(conninfo);
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	if (!opts)
		return cf_strdup("(invalid connection string)");
	cf_buf b;
	cf_buf_init(&b);
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		bool secret = strcmp(o->keyword, "password") == 0;
		char *lit = secret ? NULL : cf_dsn_quote(o->val);
		bool plain = !secret && strpbrk(o->val, " '\\") == NULL && *o->val;
		cf_buf_printf(&b, "%s%s=%s", b.len ? " " : "", o->keyword,
		              secret ? "***" : plain ? o->val : lit);
		free(lit);
	}
	PQconninfoFree(opts);
	return b.data;
}

/* Finds OPTION in a parsed conninfo. */
static const char *opt_get(const PQconninfoOption *opts, const char *keyword)
{
	for (const PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val;
	return NULL;
}

char *cf_dsn_password(const char *conninfo)
{
	PQconninfoOption *opts = conninfo ? PQconninfoParse(conninfo, NULL) : NULL;
	char *pw = cf_strdup(opt_get(opts, "password"));
	if (opts) {
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (o->val && strcmp(o->keyword, "password") == 0)
				cf_memzero(o->val, strlen(o->val));
		PQconninfoFree(opts);
	}
	return pw;
}

bool cf_dsn_valid(const char *conninfo, char **errmsg)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	if (errmsg) {
		*errmsg = cf_strdup(err ? err : "invalid connection string");
		size_t n = strlen(*errmsg);
		while (n && ((*errmsg)[n - 1] == '\n' || (*errmsg)[n - 1] == '.'))
			(*errmsg)[--n] = '\0';
	}
	PQfreemem(err);
	return false;
}

/*
 * libpq applies its defaults (PGHOST, PGPORT, PGUSER, PGDATABASE, the service
 * file, the OS user) only on the way to connecting. An invalid sslmode, given
 * after CONNINFO so that it wins, stops PQconnectStartParams once every
 * default is in place and before any socket is opened: the handle then tells
 * what libpq would have used.
 */
void cf_dsn_resolve(const char *conninfo, cf_dsn_parts *out)
{
	memset(out, 0, sizeof(*out));
	const char *keys[] = {"dbname", "sslmode", NULL};
	const char *vals[] = {conninfo ? conninfo : "", "confiture-resolve-only", NULL};
	PGconn *conn = PQconnectStartParams(keys, vals, 1);
	const char *host = conn ? PQhost(conn) : NULL, *port = conn ? PQport(conn) : NULL;
	out->host = cf_strdup(host && *host ? host : "/var/run/postgresql");
	out->port = cf_strdup(port && *port ? port : "5432");
	out->dbname = cf_strdup(conn && PQdb(conn) ? PQdb(conn) : "");
	out->user = cf_strdup(conn && PQuser(conn) ? PQuser(conn) : "");
	PQfinish(conn);
}

void cf_dsn_parts_release(cf_dsn_parts *p)
{
	free(p->host);
	free(p->port);
	free(p->dbname);
	free(p->user);
	memset(p, 0, sizeof(*p));
}

/* Resolves host/port/dbname the way libpq would, defaults included. */
typedef cf_dsn_parts dbid;

static void dbid_resolve(const char *conninfo, dbid *id)
{
	cf_dsn_resolve(conninfo, id);
	if (strcmp(id->host, "localhost") == 0 || strcmp(id->host, "::1") == 0) {
		free(id->host);
		id->host = cf_strdup("127.0.0.1");
	}
}

static void dbid_release(dbid *id)
{
	cf_dsn_parts_release(id);
}

bool cf_dsn_same_db(const char *a, const char *b)
{
	dbid x, y;
	dbid_resolve(a, &x);
	dbid_resolve(b, &y);
	bool same = strcmp(x.host, y.host) == 0 && strcmp(x.port, y.port) == 0 &&
	            strcmp(x.dbname, y.dbname) == 0;
	dbid_release(&x);
	dbid_release(&y);
	return same;
}

char *cf_dsn_dbname(const char *conninfo)
{
	dbid id;
	dbid_resolve(conninfo, &id);
	char *db = id.dbname;
	id.dbname = NULL;
	dbid_release(&id);
	return db;
}

char *cf_dsn_with_dbname(const char *conninfo, const char *dbname)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	cf_buf b;
	cf_buf_init(&b);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || strcmp(o->keyword, "dbname") == 0)
			continue;
		char *lit = cf_dsn_quote(o->val);
		cf_buf_printf(&b, "%s%s=%s", b.len ? " " : "", o->keyword, lit);
		cf_memzero(lit, strlen(lit));
		free(lit);
		cf_memzero(o->val, strlen(o->val));
	}
	char *lit = cf_dsn_quote(dbname);
	cf_buf_printf(&b, "%sdbname=%s", b.len ? " " : "", lit);
	free(lit);
	if (opts)
		PQconninfoFree(opts);
	return b.data;
}

char *cf_dsn_without_password(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	cf_buf b;
	cf_buf_init(&b);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "password") != 0) {
			char *lit = cf_dsn_quote(o->val);
			cf_buf_printf(&b, "%s%s=%s", b.len ? " " : "", o->keyword, lit);
			free(lit);
		}
		cf_memzero(o->val, strlen(o->val));
	}
	if (opts)
		PQconninfoFree(opts);
	return b.data;
}

cf_status cf_ctx_conninfo(cf_ctx *ctx, char **out)
{
	if (cf_config_is_embedded(ctx->cfg))
		return cf_embedded_conninfo(ctx, out);
	*out = cf_strdup(ctx->cfg->database_url ? ctx->cfg->database_url : "");
	return CF_OK;
}

/* ---- Connections ------------------------------------------------------------ */

static void notice_receiver(void *arg, const PGresult *res)
{
	cf_pg *pg = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!msg)
		return;
	bool is_warning = sev && strcmp(sev, "WARNING") == 0;
	cf_log(pg->ctx, is_warning ? CF_LOG_WARNING : CF_LOG_DEBUG, "server %s: %s",
	       is_warning ? "warning" : "notice", msg);
}

static char *display_of(PGconn *conn)
{
	const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn),
	           *user = PQuser(conn);
	host = host ? host : "";
	if (host[0] == '/' || host[0] == '\0')
		return cf_asprintf("postgresql://%s@/%s?host=%s&port=%s", user ? user : "",
		                   db ? db : "", host, port ? port : "");
	return cf_asprintf("postgresql://%s@%s:%s/%s", user ? user : "", host, port ? port : "",
	                   db ? db : "");
}

static void register_cancel(cf_pg *pg)
{
	PGcancel *c = PQgetCancel(pg->conn);
	if (!c)
		return;
	cf_ctx *ctx = pg->ctx;
	pthread_mutex_lock(&ctx->mu);
	for (int i = 0; i < CF_MAX_CANCELS; i++)
		if (!ctx->cancels[i]) {
			ctx->cancels[i] = c;
			pg->cancel_slot = i;
			c = NULL;
			break;
		}
	pthread_mutex_unlock(&ctx->mu);
	if (c)
		PQfreeCancel(c); /* too many connections to cancel them all: rare */
}

static void unregister_cancel(cf_pg *pg)
{
	if (pg->cancel_slot < 0)
		return;
	cf_ctx *ctx = pg->ctx;
	pthread_mutex_lock(&ctx->mu);
	PGcancel *c = ctx->cancels[pg->cancel_slot];
	ctx->cancels[pg->cancel_slot] = NULL;
	pthread_mutex_unlock(&ctx->mu);
	PQfreeCancel(c);
	pg->cancel_slot = -1;
}

/* Splits libpq's connection error into the first line and the rest. */
static void connect_error(cf_ctx *ctx, PGconn *conn, const char *display)
{
	const char *raw = conn ? PQerrorMessage(conn) : "out of memory";
	char *msg = cf_strdup(raw);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	cf_error_set(ctx, CF_ERR_CONNECT, "could not connect to \"%s\": %s", display, msg);
	if (nl) {
		char *rest = nl + 1;
		while (*rest == '\t' || *rest == ' ')
			rest++;
		if (*rest)
			cf_error_detail(ctx, "%s", rest);
	}
	if (strstr(raw, "password authentication failed") || strstr(raw, "no password supplied"))
		cf_error_hint(ctx, "Check the password in database_url, PGPASSWORD or ~/.pgpass.");
	else if (strstr(raw, "does not exist") && strstr(raw, "database"))
		cf_error_hint(ctx, "Create the database, or check dbname in database_url.");
	else if (strstr(raw, "No such file") || strstr(raw, "Connection refused"))
		cf_error_hint(ctx, "Is the server running? Check host and port in database_url.");
	free(msg);
}

cf_status cf_pg_connect(cf_ctx *ctx, const char *conninfo, cf_pg **out)
{
	*out = NULL;
	if (cf_ctx_is_cancelled(ctx))
		return cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
	char *bad = NULL;
	if (conninfo && *conninfo && !cf_dsn_valid(conninfo, &bad)) {
		char *shown = is_uri(conninfo) ? mask_uri(conninfo) : cf_strdup("(key=value string)");
		cf_error_set(ctx, CF_ERR_CONNECT, "invalid connection string \"%s\": %s", shown, bad);
		cf_error_hint(ctx, "Write a libpq URI (postgresql://user@host:5432/db) or "
		                   "key=value pairs (host=... dbname=...).");
		free(shown);
		free(bad);
		return CF_ERR_CONNECT;
	}
	const char *keys[4], *vals[4];
	int k = 0;
	if (!getenv("PGCONNECT_TIMEOUT")) {
		keys[k] = "connect_timeout";
		vals[k++] = "10";
	}
	keys[k] = "fallback_application_name";
	vals[k++] = ctx->app_name;
	keys[k] = "dbname"; /* last, so that the string's own settings win */
	vals[k++] = conninfo ? conninfo : "";
	keys[k] = NULL;
	vals[k] = NULL;
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char *display = conn ? display_of(conn) : cf_dsn_mask(conninfo);
		connect_error(ctx, conn, display);
		free(display);
		PQfinish(conn);
		return CF_ERR_CONNECT;
	}
	cf_pg *pg = cf_calloc(1, sizeof(*pg));
	pg->ctx = ctx;
	pg->conn = conn;
	pg->cancel_slot = -1;
	pg->display = display_of(conn);
	pg->used_password = PQconnectionUsedPassword(conn) != 0;
	if (PQpass(conn) && *PQpass(conn))
		cf_ctx_add_secret(ctx, PQpass(conn));
	PQsetNoticeReceiver(conn, notice_receiver, pg);
	register_cancel(pg);
	cf_log_debug(ctx, "connected to %s", pg->display);
	*out = pg;
	return CF_OK;
}

cf_status cf_pg_connect_env(cf_ctx *ctx, cf_pg **out)
{
	char *conninfo = NULL;
	cf_status st = cf_ctx_conninfo(ctx, &conninfo);
	if (!st)
		st = cf_pg_connect(ctx, conninfo, out);
	cf_secret_free(conninfo);
	return st;
}

void cf_pg_close(cf_pg *pg)
{
	if (!pg)
		return;
	unregister_cancel(pg);
	PQfinish(pg->conn);
	free(pg->display);
	free(pg);
}

cf_ctx *cf_pg_ctx(const cf_pg *pg) { return pg->ctx; }
const char *cf_pg_dbname(const cf_pg *pg) { return PQdb(pg->conn); }
const char *cf_pg_user(const cf_pg *pg) { return PQuser(pg->conn); }
const char *cf_pg_host(const cf_pg *pg) { return PQhost(pg->conn); }
const char *cf_pg_port(const cf_pg *pg) { return PQport(pg->conn); }
const char *cf_pg_password(const cf_pg *pg) { return PQpass(pg->conn); }
bool cf_pg_used_password(const cf_pg *pg) { return pg->used_password; }
const char *cf_pg_display(const cf_pg *pg) { return pg->display; }
int cf_pg_server_version(const cf_pg *pg) { return PQserverVersion(pg->conn); }
int cf_pg_backend_pid(const cf_pg *pg) { return PQbackendPID(pg->conn); }
bool cf_pg_is_bad(const cf_pg *pg) { return PQstatus(pg->conn) != CONNECTION_OK; }

bool cf_pg_in_transaction(const cf_pg *pg)
{
	PGTransactionStatusType t = PQtransactionStatus(pg->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* ---- Errors ---------------------------------------------------------------- */

/* Records the server error in RES (or the connection's error when NULL). */
static cf_status result_error(cf_pg *pg, const PGresult *res)
{
	cf_ctx *ctx = pg->ctx;
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	bool cancelled = cf_ctx_is_cancelled(ctx) && sqlstate && strcmp(sqlstate, "57014") == 0;
	cf_status st = cancelled ? CF_ERR_CANCELLED : CF_ERR_SQL;
	if (primary) {
		cf_error_set(ctx, st, "%s", primary);
	} else {
		char *msg = cf_strdup(PQerrorMessage(pg->conn));
		size_t n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		char *nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		cf_error_set(ctx, st, "%s", *msg ? msg : "connection to the server was lost");
		free(msg);
	}
	if (!res)
		return st;
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
	if (detail)
		cf_error_detail(ctx, "%s", detail);
	if (hint)
		cf_error_hint(ctx, "%s", hint);
	if (sqlstate)
		cf_error_sqlstate(ctx, sqlstate);
	if (pos)
		cf_error_server_position(ctx, atoi(pos));
	if (where)
		cf_error_context(ctx, "%s", where);
	return st;
}

static cf_status check_cancelled(cf_pg *pg)
{
	if (cf_ctx_is_cancelled(pg->ctx))
		return cf_error_set(pg->ctx, CF_ERR_CANCELLED, "interrupted");
	return CF_OK;
}

static cf_status result_status(cf_pg *pg, PGresult *res)
{
	ExecStatusType t = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_EMPTY_QUERY)
		return CF_OK;
	return result_error(pg, res);
}

/* ---- Statements ------------------------------------------------------------ */

cf_status cf_pg_exec(cf_pg *pg, const char *sql)
{
	size_t n_done;
	return cf_pg_exec_count(pg, sql, &n_done);
}

cf_status cf_pg_query(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                      cf_pgres **out)
{
	*out = NULL;
	cf_status st = check_cancelled(pg);
	if (st)
		return st;
	PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = result_status(pg, res);
	if (st) {
		PQclear(res);
		return st;
	}
	*out = cf_malloc(sizeof(cf_pgres));
	(*out)->res = res;
	return CF_OK;
}

cf_status cf_pg_exec_params(cf_pg *pg, const char *sql, int nparams, const char *const *params)
{
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(pg, sql, nparams, params, &r);
	cf_pgres_free(r);
	return st;
}

cf_status cf_pg_query_value(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                            char **out)
{
	cf_pgres *r = NULL;
	*out = NULL;
	cf_status st = cf_pg_query(pg, sql, nparams, params, &r);
	if (!st && cf_pgres_nrows(r) > 0 && cf_pgres_ncols(r) > 0)
		*out = cf_strdup(cf_pgres_get(r, 0, 0));
	cf_pgres_free(r);
	return st;
}

int cf_pgres_nrows(const cf_pgres *r) { return PQntuples(r->res); }
int cf_pgres_ncols(const cf_pgres *r) { return PQnfields(r->res); }
bool cf_pgres_isnull(const cf_pgres *r, int row, int col) { return PQgetisnull(r->res, row, col); }
const char *cf_pgres_fname(const cf_pgres *r, int col) { return PQfname(r->res, col); }
int cf_pgres_fnumber(const cf_pgres *r, const char *name) { return PQfnumber(r->res, name); }

const char *cf_pgres_get(const cf_pgres *r, int row, int col)
{
	return PQgetisnull(r->res, row, col) ? NULL : PQgetvalue(r->res, row, col);
}

long long cf_pgres_cmd_tuples(const cf_pgres *r)
{
	const char *t = PQcmdTuples(r->res);
	return t && *t ? atoll(t) : 0;
}

void cf_pgres_free(cf_pgres *r)
{
	if (!r)
		return;
	PQclear(r->res);
	free(r);
}

cf_status cf_pg_begin(cf_pg *pg)
{
	return cf_pg_exec(pg, "BEGIN");
}

cf_status cf_pg_commit(cf_pg *pg)
{
	return cf_pg_exec(pg, "COMMIT");
}

void cf_pg_rollback(cf_pg *pg)
{
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return;
	PGresult *res = PQexec(pg->conn, "ROLLBACK");
	PQclear(res);
}

/* ---- Pipelines ----------------------------------------------------------- */

/* Flushes the output buffer, reading input meanwhile so the server never
 * blocks on a full socket while we block on ours. */
static int pipe_flush(PGconn *conn)
{
	for (;;) {
		int r = PQflush(conn);
		if (r <= 0)
			return r;
		struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN | POLLOUT};
		if (poll(&pfd, 1, -1) < 0)
			continue;
		if ((pfd.revents & POLLIN) && !PQconsumeInput(conn))
			return -1;
	}
}

/* Reads results until the sync; records the first error. */
static cf_status pipe_drain(cf_pg *pg, size_t n_sent, size_t *failed)
{
	cf_status st = CF_OK;
	size_t i = 0;
	for (;;) {
		PGresult *res = PQgetResult(pg->conn);
		if (!res) {
			if (PQstatus(pg->conn) != CONNECTION_OK) {
				if (!st) {
					st = result_error(pg, NULL);
					*failed = i < n_sent ? i : n_sent - 1;
				}
				break;
			}
			i++; /* NULL ends one statement's results */
			continue;
		}
		ExecStatusType t = PQresultStatus(res);
		if (t == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (t == PGRES_FATAL_ERROR && !st) {
			st = result_error(pg, res);
			*failed = i;
		} else if (t != PGRES_PIPELINE_ABORTED && t != PGRES_FATAL_ERROR && !st) {
			st = result_status(pg, res);
			if (st)
				*failed = i;
		}
		PQclear(res);
		if (PQstatus(pg->conn) != CONNECTION_OK) {
			if (!st) {
				st = result_error(pg, NULL);
				*failed = i < n_sent ? i : n_sent - 1;
			}
			break;
		}
	}
	return st;
}

cf_status cf_pg_pipeline(cf_pg *pg, const char *const *stmts, const size_t *lens, size_t n,
                         size_t *failed)
{
	cf_status st = check_cancelled(pg);
	if (st || n == 0)
		return st;
	PGconn *conn = pg->conn;
	if (!PQenterPipelineMode(conn))
		return result_error(pg, NULL);
	PQsetnonblocking(conn, 1);
	size_t sent = 0;
	cf_buf sql;
	cf_buf_init(&sql);
	for (; sent < n; sent++) {
		cf_buf_reset(&sql);
		cf_buf_append(&sql, stmts[sent], lens ? lens[sent] : strlen(stmts[sent]));
		if (!PQsendQueryParams(conn, sql.data, 0, NULL, NULL, NULL, NULL, 0))
			break;
		if (pipe_flush(conn) < 0)
			break;
	}
	cf_buf_release(&sql);
	bool send_failed = sent < n;
	if (!PQpipelineSync(conn) || pipe_flush(conn) < 0)
		send_failed = true;
	PQsetnonblocking(conn, 0);
	*failed = 0;
	if (PQstatus(conn) == CONNECTION_OK)
		st = pipe_drain(pg, sent, failed);
	if (!st && send_failed) {
		st = result_error(pg, NULL);
		*failed = sent;
	}
	if (PQstatus(conn) == CONNECTION_OK)
		PQexitPipelineMode(conn);
	return st;
}

/* ---- COPY ------------------------------------------------------------------- */

static cf_status copy_start(cf_pg *pg, const char *sql, ExecStatusType want)
{
	cf_status st = check_cancelled(pg);
	if (st)
		return st;
	PGresult *res = PQexec(pg->conn, sql);
	if (res && PQresultStatus(res) == want) {
		PQclear(res);
		return CF_OK;
	}
	st = result_status(pg, res);
	if (!st)
		st = cf_error_set(pg->ctx, CF_ERR_SQL, "statement did not start a COPY");
	PQclear(res);
	return st;
}

cf_status cf_pg_copy_out_start(cf_pg *pg, const char *sql)
{
	return copy_start(pg, sql, PGRES_COPY_OUT);
}

/* After a COPY ends, the command's own result tells whether it succeeded. */
static cf_status copy_finish(cf_pg *pg)
{
	cf_status st = CF_OK;
	PGresult *res;
	while ((res = PQgetResult(pg->conn))) {
		if (!st)
			st = result_status(pg, res);
		PQclear(res);
	}
	return st;
}

long cf_pg_copy_out_read(cf_pg *pg, char **buf)
{
	*buf = NULL;
	int n = PQgetCopyData(pg->conn, buf, 0);
	if (n > 0)
		return n;
	if (n == -1)
		return copy_finish(pg) ? -1 : 0;
	result_error(pg, NULL);
	copy_finish(pg);
	return -1;
}

void cf_pg_copy_free(char *buf)
{
	if (buf)
		PQfreemem(buf);
}

cf_status cf_pg_copy_in_start(cf_pg *pg, const char *sql)
{
	return copy_start(pg, sql, PGRES_COPY_IN);
}

cf_status cf_pg_copy_in_put(cf_pg *pg, const char *data, size_t n)
{
	if (PQputCopyData(pg->conn, data, (int)n) != 1)
		return result_error(pg, NULL);
	return CF_OK;
}

cf_status cf_pg_copy_in_end(cf_pg *pg, const char *errmsg)
{
	if (PQputCopyEnd(pg->conn, errmsg) != 1)
		return errmsg ? CF_OK : result_error(pg, NULL);
	if (!errmsg)
		return copy_finish(pg);
	/* An abort we asked for is not news: the caller knows why. */
	PGresult *res;
	while ((res = PQgetResult(pg->conn)))
		PQclear(res);
	return CF_OK;
}

/* ---- Cancellation ---------------------------------------------------------- */

void cf_pg_cancel(cf_pg *pg)
{
	PGcancel *c = PQgetCancel(pg->conn);
	if (!c)
		return;
	char err[256];
	PQcancel(c, err, sizeof(err));
	PQfreeCancel(c);
}

void cf_ctx_cancel(cf_ctx *ctx)
{
	atomic_store(&ctx->is_cancelled, true);
	pthread_mutex_lock(&ctx->mu);
	for (int i = 0; i < CF_MAX_CANCELS; i++)
		if (ctx->cancels[i]) {
			char err[256];
			PQcancel(ctx->cancels[i], err, sizeof(err));
		}
	for (size_t i = 0; i < sizeof(ctx->linked) / sizeof(*ctx->linked); i++)
		if (ctx->linked[i])
			cf_ctx_cancel(ctx->linked[i]);
	pthread_mutex_unlock(&ctx->mu);
}

void cf_ctx_link_cancel(cf_ctx *parent, cf_ctx *child)
{
	pthread_mutex_lock(&parent->mu);
	for (size_t i = 0; i < sizeof(parent->linked) / sizeof(*parent->linked); i++)
		if (!parent->linked[i]) {
			parent->linked[i] = child;
			break;
		}
	if (cf_ctx_is_cancelled(parent))
		cf_ctx_cancel(child);
	pthread_mutex_unlock(&parent->mu);
}

void cf_ctx_unlink_cancel(cf_ctx *parent, cf_ctx *child)
{
	pthread_mutex_lock(&parent->mu);
	for (size_t i = 0; i < sizeof(parent->linked) / sizeof(*parent->linked); i++)
		if (parent->linked[i] == child)
			parent->linked[i] = NULL;
	pthread_mutex_unlock(&parent->mu);
}

bool cf_ctx_is_cancelled(const cf_ctx *ctx)
{
	return atomic_load(&((cf_ctx *)ctx)->is_cancelled);
}

/* ---- Additions for sync (medium 3) ------------------------------------------ */

cf_status cf_pg_copy_in_finish(cf_pg *pg, long long *rows)
{
	*rows = 0;
	if (PQputCopyEnd(pg->conn, NULL) != 1)
		return result_error(pg, NULL);
	cf_status st = CF_OK;
	PGresult *res;
	while ((res = PQgetResult(pg->conn))) {
		if (!st)
			st = result_status(pg, res);
		if (!st && PQresultStatus(res) == PGRES_COMMAND_OK && PQcmdTuples(res)[0])
			*rows = atoll(PQcmdTuples(res));
		PQclear(res);
	}
	return st;
}

cf_status cf_pg_exec_always(cf_pg *pg, const char *sql, int nparams, const char *const *params)
{
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return result_error(pg, NULL);
	PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType t = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	cf_status st = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? CF_OK : CF_ERR_SQL;
	PQclear(res);
	return st;
}

void cf_pg_cancel_shared(cf_pg *pg)
{
	if (pg->cancel_slot < 0)
		return;
	cf_ctx *ctx = pg->ctx;
	pthread_mutex_lock(&ctx->mu);
	PGcancel *c = ctx->cancels[pg->cancel_slot];
	if (c) {
		char err[256];
		PQcancel(c, err, sizeof(err));
	}
	pthread_mutex_unlock(&ctx->mu);
}

/* ---- Multi-statement scripts ---------------------------------------------- */

/* PQexec keeps only the last result: every one of a multi-statement text is
 * checked here, and COPY with no data source is drained or refused. */
cf_status cf_pg_exec_count(cf_pg *pg, const char *sql, size_t *n_done)
{
	return cf_pg_exec_feed(pg, sql, NULL, NULL, n_done);
}

/* Answers a COPY FROM STDIN of the script: with FEED's data, or refused. */
static cf_status copy_in(cf_pg *pg, cf_copy_feed feed, void *arg, size_t k)
{
	if (!feed) {
		PQputCopyEnd(pg->conn, "COPY FROM STDIN has no data here");
		return CF_OK;
	}
	cf_status st = feed(arg, pg, k);
	/* On our own failure the COPY is aborted; the server's error that
	 * follows is not the one to report. */
	PQputCopyEnd(pg->conn, st ? "aborted by confiture" : NULL);
	return st;
}

cf_status cf_pg_exec_feed(cf_pg *pg, const char *sql, cf_copy_feed feed, void *arg,
                          size_t *n_done)
{
	*n_done = 0;
	cf_status st = check_cancelled(pg);
	if (st)
		return st;
	if (!PQsendQuery(pg->conn, sql))
		return result_error(pg, NULL);
	/* One result per statement, in order: the first failing one is the
	 * number of results that came before it. */
	PGresult *res;
	size_t n_copies = 0;
	while ((res = PQgetResult(pg->conn))) {
		ExecStatusType t = PQresultStatus(res);
		if (t == PGRES_COPY_OUT) {
			/* Output nobody reads: drain it, or libpq stays in COPY mode. */
			char *buf;
			while (PQgetCopyData(pg->conn, &buf, 0) > 0)
				PQfreemem(buf);
		} else if (t == PGRES_COPY_IN || t == PGRES_COPY_BOTH) {
			cf_status cst = st ? CF_OK : copy_in(pg, t == PGRES_COPY_IN ? feed : NULL, arg,
			                                      n_copies++);
			if (st)
				PQputCopyEnd(pg->conn, "aborted");
			st = st ? st : cst;
		}
		if (t == PGRES_COPY_OUT || t == PGRES_COPY_IN || t == PGRES_COPY_BOTH) {
			PQclear(res);
			continue; /* the COPY's own result follows */
		}
		if (!st) {
			st = result_status(pg, res);
			if (!st)
				(*n_done)++;
		}
		PQclear(res);
	}
	if (!st && PQstatus(pg->conn) != CONNECTION_OK)
		st = result_error(pg, NULL);
	return st;
}
