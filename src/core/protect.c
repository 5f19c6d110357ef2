/*
 * protect.c -- protection by the server's identity.
 *
 * A URL can be spelled many ways (a trailing "/", "/sock/../sock", a
 * symlinked socket directory, a service file, PGHOST), and a comparison of
 * spellings lets a protected database through. So the target is compared
 * with each protected environment twice: cheaply, by the socket directory
 * (real path) or host, port and database libpq resolves for each; then, as
 * long as nothing matched, by what the servers report about themselves.
 * A protected environment that cannot be asked refuses the command: a
 * difference that cannot be shown is not assumed.
 */
#include "protect.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "log.h"
#include "secret.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_FILE ".confiture/identities"
#define CACHE_TTL_S 3600 /* a protected server moved elsewhere is seen within the hour */

/* ---- Where a connection string leads (no connection) -------------------------- */

typedef struct endpoint {
	char *host;   /* socket directory (real path) or lowercase host */
	char *port;
	char *dbname;
} endpoint;

static char *canonical_host(const char *host)
{
	if (host[0] == '/') {
		char real[PATH_MAX];
		if (realpath(host, real))
			return cf_strdup(real);
		char *h = cf_strdup(host);
		for (size_t n = strlen(h); n > 1 && h[n - 1] == '/'; n--)
			h[n - 1] = '\0';
		return h;
	}
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return cf_strdup("127.0.0.1");
	char *h = cf_strdup(host);
	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return h;
}

static void endpoint_of(const char *conninfo, const char *dbname, endpoint *e)
{
	cf_dsn_parts p;
	cf_dsn_resolve(conninfo, &p);
	e->host = canonical_host(p.host);
	e->port = cf_strdup(p.port);
	e->dbname = cf_strdup(dbname ? dbname : p.dbname);
	cf_dsn_parts_release(&p);
}

static void endpoint_release(endpoint *e)
{
	free(e->host);
	free(e->port);
	free(e->dbname);
}

static bool endpoint_same(const endpoint *a, const endpoint *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0 &&
	       strcmp(a->dbname, b->dbname) == 0;
}

/* ---- What a server says it is ----------------------------------------------------- */

typedef struct server_id {
	char *sysid;    /* system_identifier, or NULL where pg_control_system() is not granted */
	char *port;     /* the server's port setting */
	char *started;  /* the postmaster's start, as an epoch (the fallback) */
	char *dbname;
} server_id;

/* pg_control_system() is executable by PUBLIC by default (PostgreSQL 15), but
 * a DBA may revoke it, and a function's privilege is checked when a query
 * is planned, whatever branch runs: so it is asked first. The postmaster's
 * start time, as an epoch so that no session setting changes its text, then
 * tells one running server from another; it is never cached (a restart
 * changes it). */
static const char GRANTS_SQL[] =
	"SELECT pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE'),"
	"       pg_catalog.has_function_privilege('pg_catalog.pg_postmaster_start_time()',"
	"                                         'EXECUTE'),"
	"       pg_catalog.current_setting('port'), pg_catalog.current_database()";
static const char SYSID_SQL[] =
	"SELECT system_identifier::text FROM pg_catalog.pg_control_system()";
static const char STARTED_SQL[] =
	"SELECT extract(epoch FROM pg_catalog.pg_postmaster_start_time())::text";

static void server_id_release(server_id *id)
{
	free(id->sysid);
	free(id->port);
	free(id->started);
	free(id->dbname);
	memset(id, 0, sizeof(*id));
}

static cf_status server_id_read(cf_pg *pg, const char *dbname, server_id *id)
{
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(pg, GRANTS_SQL, 0, NULL, &res);
	if (st)
		return st;
	bool has_sysid = strcmp(cf_pgres_get(res, 0, 0), "t") == 0;
	bool has_started = strcmp(cf_pgres_get(res, 0, 1), "t") == 0;
	id->port = cf_strdup(cf_pgres_get(res, 0, 2));
	id->dbname = cf_strdup(dbname ? dbname : cf_pgres_get(res, 0, 3));
	cf_pgres_free(res);
	if (has_sysid)
		st = cf_pg_query_value(pg, SYSID_SQL, 0, NULL, &id->sysid);
	if (!st && has_started)
		st = cf_pg_query_value(pg, STARTED_SQL, 0, NULL, &id->started);
	return st;
}

/* 1: the same database; 0: another one; -1: the servers cannot tell. */
static int server_id_same(const server_id *a, const server_id *b)
{
	if (strcmp(a->dbname, b->dbname) != 0 || strcmp(a->port, b->port) != 0)
		return 0;
	if (a->sysid && b->sysid)
		return strcmp(a->sysid, b->sysid) == 0;
	if (a->started && b->started)
		return strcmp(a->started, b->started) == 0;
	return -1;
}

/* ---- The cache of protected identities ---------------------------------------------- */

/* One line per environment: NAME KEY SYSID PORT DBNAME EPOCH, tab-separated. The
 * key covers the environment's connection settings (password masked) and
 * where libpq resolves them, so any change there is a miss. */
static void cache_key(const char *env, const char *conninfo, char out[CF_SHA256_HEX_LEN + 1])
{
	char *masked = cf_dsn_mask(conninfo);
	cf_dsn_parts p;
	cf_dsn_resolve(conninfo, &p);
	char *text = cf_asprintf("%s\n%s\n%s\n%s\n%s\n%s", env, masked, p.host, p.port, p.dbname,
	                         p.user);
	cf_sha256_hex(text, strlen(text), out);
	free(text);
	free(masked);
	cf_dsn_parts_release(&p);
}

static char *cache_path(const cf_ctx *ctx)
{
	return ctx->project_dir ? cf_path_join(ctx->project_dir, CACHE_FILE) : NULL;
}

/* Splits LINE (modified) on tabs into at most N fields; returns the count. */
static size_t split_tabs(char *line, char **f, size_t n)
{
	size_t k = 0;
	while (line && k < n) {
		f[k++] = line;
		char *tab = strchr(line, '\t');
		if (tab)
			*tab = '\0';
		line = tab ? tab + 1 : NULL;
	}
	return k;
}

/* Calls FN on each line of the cache that is fresh; FN returns true to stop. */
typedef bool (*cache_fn)(void *ud, char **f, const char *line);

static void cache_each(cf_ctx *ctx, cache_fn fn, void *ud)
{
	char *path = cache_path(ctx), *text = NULL;
	if (!path || !cf_is_file(path) || cf_file_read(ctx, path, &text, NULL)) {
		cf_ctx_clear_error(ctx);
		free(path);
		return;
	}
	time_t now = time(NULL);
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char *copy = cf_strdup(line), *f[6];
		long long at = split_tabs(line, f, 6) == 6 ? atoll(f[5]) : 0;
		bool stop = at > 0 && now - at >= 0 && now - at < CACHE_TTL_S && fn(ud, f, copy);
		free(copy);
		if (stop)
			break;
	}
	free(text);
	free(path);
}

typedef struct cache_find {
	const char *key;
	server_id *id;
	bool found;
} cache_find;

static bool cache_find_fn(void *ud, char **f, const char *line)
{
	(void)line;
	cache_find *cf = ud;
	if (strcmp(f[1], cf->key) != 0)
		return false;
	cf->id->sysid = cf_strdup(f[2]);
	cf->id->port = cf_strdup(f[3]);
	cf->id->dbname = cf_strdup(f[4]);
	cf->found = true;
	return true;
}

static bool cache_get(cf_ctx *ctx, const char *key, server_id *id)
{
	cache_find cf = {key, id, false};
	cache_each(ctx, cache_find_fn, &cf);
	return cf.found;
}

typedef struct cache_keep {
	const char *env;
	cf_buf *out;
} cache_keep;

static bool cache_keep_fn(void *ud, char **f, const char *line)
{
	cache_keep *k = ud;
	if (strcmp(f[0], k->env) != 0)
		cf_buf_printf(k->out, "%s\n", line);
	return false;
}

/* Records ENV's identity (only a system identifier is worth keeping). Best
 * effort: a cache that cannot be written costs a connection next time. */
static void cache_put(cf_ctx *ctx, const char *env, const char *key, const server_id *id)
{
	char *path = cache_path(ctx);
	if (!path || !id->sysid || strpbrk(id->dbname, "\t\n") || strpbrk(env, "\t\n")) {
		free(path);
		return;
	}
	cf_buf b;
	cf_buf_init(&b);
	cache_keep k = {env, &b};
	cache_each(ctx, cache_keep_fn, &k);
	cf_buf_printf(&b, "%s\t%s\t%s\t%s\t%s\t%lld\n", env, key, id->sysid, id->port, id->dbname,
	              (long long)time(NULL));
	char *dir = cf_path_join(ctx->project_dir, ".confiture");
	if (cf_mkdirs(ctx, dir, 0755) || cf_file_write_atomic(ctx, path, b.data, b.len)) {
		cf_log_debug(ctx, "could not cache the identity of \"%s\": %s", env, cf_last_error(ctx));
		cf_ctx_clear_error(ctx);
	}
	free(dir);
	cf_buf_release(&b);
	free(path);
}

/* ---- The protected environments ------------------------------------------------------ */

typedef struct penv {
	char *name;
	char *conninfo;        /* a secret */
	char *unresolved_var;  /* its database_url needs this unset variable */
	char *problem;         /* why it could not be asked, once tried */
} penv;

static void penvs_free(penv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		cf_secret_free(v[i].conninfo);
		free(v[i].unresolved_var);
		free(v[i].problem);
	}
	free(v);
}

/* The project's protected environments (embedded ones are the project's own
 * cluster, never production), each as its own files define it. */
static cf_status protected_envs(cf_ctx *ctx, penv **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!ctx->project_dir)
		return CF_OK;
	cf_strv names;
	cf_strv_init(&names);
	cf_status st = cf_config_env_names(ctx, ctx->project_dir, ctx->project_file, &names);
	for (size_t i = 0; !st && i < names.n; i++) {
		cf_config *cfg = NULL;
		st = cf_config_load_files(ctx, ctx->project_dir, ctx->project_file, names.v[i], true,
		                          &cfg);
		if (st)
			cf_error_context(ctx, "while looking for protected environments (every "
			                      "environment is read)");
		if (!st && cfg->is_protected && !cf_config_is_embedded(cfg)) {
			*out = cf_realloc(*out, (*n + 1) * sizeof(penv));
			(*out)[(*n)++] = (penv){cf_strdup(names.v[i]),
			                        cf_strdup(cfg->database_url ? cfg->database_url : ""),
			                        cf_strdup(cfg->unresolved_var), NULL};
		}
		cf_config_free(cfg);
	}
	cf_strv_release(&names);
	return st;
}

/* ---- The check ----------------------------------------------------------------------------- */

typedef struct check {
	cf_ctx *ctx;
	const cf_protect_target *t;
	cf_protect_verdict *v;
	penv *envs;
	size_t n_envs;
	endpoint te;          /* the target, resolved */
	server_id tid;        /* the target, as its server says */
	bool has_tid;
} check;

static void verdict(check *c, const char *env, char *why)
{
	c->v->is_protected = true;
	c->v->env = cf_strdup(env);
	c->v->why = why;
}

/* Same socket directory (or host), port and database: no need to ask. */
static bool cheap_match(check *c)
{
	for (size_t i = 0; i < c->n_envs; i++) {
		const penv *p = &c->envs[i];
		if (p->unresolved_var)
			continue;
		endpoint pe;
		endpoint_of(p->conninfo, NULL, &pe);
		bool same = endpoint_same(&pe, &c->te);
		endpoint_release(&pe);
		if (same) {
			verdict(c, p->name,
			        cf_asprintf("The target and environment \"%s\" (protected: true) lead to the "
			                    "same %s \"%s\", port %s and database \"%s\".",
			                    p->name, c->te.host[0] == '/' ? "socket directory" : "host",
			                    c->te.host, c->te.port, c->te.dbname));
			return true;
		}
	}
	return false;
}

static cf_status target_id(check *c)
{
	if (c->has_tid)
		return CF_OK;
	cf_pg *own = NULL;
	cf_pg *pg = c->t->pg;
	cf_status st = pg ? CF_OK : cf_pg_connect(c->ctx, c->t->conninfo, &own);
	if (!st)
		st = server_id_read(pg ? pg : own, c->t->dbname, &c->tid);
	cf_pg_close(own);
	c->has_tid = st == CF_OK;
	if (st)
		cf_error_context(c->ctx, "while reading the identity of the target's server");
	return st;
}

/* Asks P's server who it is (or the cache); records why when it cannot. */
static bool protected_id(check *c, penv *p, server_id *id)
{
	cf_ctx *ctx = c->ctx;
	char key[CF_SHA256_HEX_LEN + 1];
	cache_key(p->name, p->conninfo, key);
	if (c->tid.sysid && cache_get(ctx, key, id)) {
		cf_log_debug(ctx, "identity of protected environment \"%s\" from %s", p->name,
		             CACHE_FILE);
		return true;
	}
	cf_pg *pg = NULL;
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	cf_status st = cf_pg_connect(ctx, p->conninfo, &pg);
	if (!st)
		st = server_id_read(pg, NULL, id);
	cf_pg_close(pg);
	if (st) {
		p->problem = cf_strdup(cf_last_error(ctx));
		cf_ctx_clear_error(ctx);
	}
	cf_error_unstash(ctx, &stash);
	if (!st)
		cache_put(ctx, p->name, key, id);
	return st == CF_OK;
}

static char *identity_why(const check *c, const penv *p, const server_id *id)
{
	if (id->sysid && c->tid.sysid)
		return cf_asprintf("The servers report the same system identifier (%s), port (%s) and "
		                   "database (\"%s\") for the target and for environment \"%s\" "
		                   "(protected: true).", id->sysid, id->port, id->dbname, p->name);
	return cf_asprintf("The servers report the same postmaster start time, port (%s) and "
	                   "database (\"%s\") for the target and for environment \"%s\" (protected: "
	                   "true); pg_control_system() is not granted, so the system identifier "
	                   "could not be read.", id->port, id->dbname, p->name);
}

/* Compares the target's identity with each protected environment's. */
static cf_status identity_match(check *c, penv **unverified)
{
	*unverified = NULL;
	for (size_t i = 0; i < c->n_envs; i++) {
		penv *p = &c->envs[i];
		if (p->unresolved_var) {
			*unverified = *unverified ? *unverified : p;
			continue;
		}
		cf_status st = target_id(c);
		if (st)
			return st;
		server_id id = {0};
		int same = protected_id(c, p, &id) ? server_id_same(&c->tid, &id) : -1;
		if (same == 1)
			verdict(c, p->name, identity_why(c, p, &id));
		else if (same < 0 && !p->problem)
			p->problem = cf_strdup("the servers report neither a system identifier nor a "
			                       "start time that can be compared");
		server_id_release(&id);
		if (same == 1)
			return CF_OK;
		if (same < 0 && !*unverified)
			*unverified = p;
	}
	return CF_OK;
}

static cf_status unverifiable(check *c, const penv *p)
{
	cf_ctx *ctx = c->ctx;
	cf_error_set(ctx, CF_ERR_VALIDATION, "could not check that the target is not the database of "
	             "protected environment \"%s\"", p->name);
	if (p->unresolved_var)
		cf_error_detail(ctx, "Its database_url needs the environment variable \"%s\", which is "
		                "not set. A destructive command runs only once the servers' identities "
		                "show that its target is no protected database.", p->unresolved_var);
	else
		cf_error_detail(ctx, "%s. A destructive command runs only once the servers' identities "
		                "show that its target is no protected database.", p->problem);
	char *also = c->t->consent_flag
	                 ? cf_asprintf(", or pass %s to run anyway", c->t->consent_flag)
	                 : cf_strdup("");
	if (p->unresolved_var)
		cf_error_hint(ctx, "Set %s so that environment \"%s\" can be reached and compared (its "
		              "identity is then kept for an hour in " CACHE_FILE ")%s.",
		              p->unresolved_var, p->name, also);
	else
		cf_error_hint(ctx, "Make environment \"%s\" reachable from here once (its identity is "
		              "then kept for an hour in " CACHE_FILE "), correct its database_url, or "
		              "remove the environment if it is gone%s.", p->name, also);
	free(also);
	return CF_ERR_VALIDATION;
}

cf_status cf_protect_check(cf_ctx *ctx, const cf_protect_target *t, cf_protect_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (t->is_env_protected) {
		v->is_protected = v->is_by_config = true;
		v->env = cf_strdup(t->env);
		v->why = cf_strdup("Its configuration sets protected: true.");
		return CF_OK;
	}
	if (t->is_embedded)
		return CF_OK;
	check c = {.ctx = ctx, .t = t, .v = v};
	cf_status st = protected_envs(ctx, &c.envs, &c.n_envs);
	if (!st && c.n_envs) {
		endpoint_of(t->conninfo, t->dbname, &c.te);
		penv *unverified = NULL;
		if (!cheap_match(&c))
			st = identity_match(&c, &unverified);
		if (!st && !v->is_protected && unverified)
			st = unverifiable(&c, unverified);
		endpoint_release(&c.te);
	}
	server_id_release(&c.tid);
	penvs_free(c.envs, c.n_envs);
	if (st)
		cf_protect_verdict_release(v);
	return st;
}

void cf_protect_verdict_release(cf_protect_verdict *v)
{
	free(v->env);
	free(v->why);
	memset(v, 0, sizeof(*v));
}

cf_status cf_protect_guard_env(cf_ctx *ctx, cf_pg *pg, const char *what, bool is_ok,
                               const char *hint)
{
	if (is_ok)
		return CF_OK;
	const cf_config *cfg = ctx->cfg;
	cf_protect_target t = {.conninfo = cfg->database_url ? cfg->database_url : "",
	                       .env = ctx->env, .is_env_protected = cfg->is_protected,
	                       .is_embedded = cf_config_is_embedded(cfg), .pg = pg,
	                       .consent_flag = "--yes-i-mean-production"};
	cf_protect_verdict v;
	cf_status st = cf_protect_check(ctx, &t, &v);
	if (!st && v.is_protected)
		st = cf_protect_refuse(ctx, what, &v, hint);
	cf_protect_verdict_release(&v);
	return st;
}

cf_status cf_protect_refuse(cf_ctx *ctx, const char *what, const cf_protect_verdict *v,
                            const char *hint)
{
	if (v->is_by_config)
		cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to %s: environment \"%s\" is protected",
		             what, v->env);
	else
		cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to %s: the target is the database of "
		             "protected environment \"%s\"", what, v->env);
	if (v->why)
		cf_error_detail(ctx, "%s", v->why);
	if (hint)
		cf_error_hint(ctx, "%s", hint);
	return CF_ERR_VALIDATION;
}
