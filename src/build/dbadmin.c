/*
 * dbadmin.c -- what --recreate and --template do to databases.
 *
 * Databases are dropped and created from the server's maintenance database
 * ("postgres", or "template1" when the target is "postgres"). A template is
 * named after the schema hash; it is marked with IS_TEMPLATE and a comment
 * naming the database it serves only once its build has committed, so a
 * half-built template is never cloned: it is dropped and built again.
 */
#include "build_internal.h"
#include "config.h"
#include "ctx.h"
#include "dbref.h"
#include "log.h"
#include "protect.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

#define TEMPLATE_PREFIX "confiture_tpl_"
#define TEMPLATE_COMMENT "confiture build template for database "

cf_status bcheck_protected(cf_ctx *ctx, const char *what)
{
	if (!ctx->cfg->is_protected)
		return CF_OK;
	cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to %s: environment \"%s\" is protected", what,
	             ctx->env);
	cf_error_detail(ctx, "Its configuration sets protected: true.");
	cf_error_hint(ctx, "Build into another environment. Nothing was changed.");
	return CF_ERR_VALIDATION;
}

cf_status bcheck_protected_server(cf_ctx *ctx, const btarget *t, cf_pg *admin, const char *what)
{
	const cf_config *cfg = ctx->cfg;
	cf_protect_target pt = {.conninfo = t->conninfo, .env = ctx->env,
	                        .is_env_protected = cfg->is_protected,
	                        .is_embedded = cf_config_is_embedded(cfg), .pg = admin,
	                        .dbname = t->dbname};
	cf_protect_verdict v;
	cf_status st = cf_protect_check(ctx, &pt, &v);
	if (!st && v.is_protected) {
		cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to %s: its database is the one of "
		             "protected environment \"%s\"", what, v.env);
		cf_error_detail(ctx, "%s", v.why);
		cf_error_hint(ctx, "Point database_url at another database. Nothing was changed.");
		st = CF_ERR_VALIDATION;
	}
	cf_protect_verdict_release(&v);
	return st;
}

cf_status btarget_init(cf_ctx *ctx, btarget *t)
{
	memset(t, 0, sizeof(*t));
	cf_status st = cf_ctx_conninfo(ctx, &t->conninfo);
	if (st)
		return st;
	t->dbname = cf_dsn_dbname(t->conninfo);
	t->admin = cf_dsn_with_dbname(t->conninfo,
	                              strcmp(t->dbname, "postgres") == 0 ? "template1" : "postgres");
	return CF_OK;
}

void btarget_release(btarget *t)
{
	cf_secret_free(t->conninfo);
	cf_secret_free(t->admin);
	free(t->dbname);
	memset(t, 0, sizeof(*t));
}

/* Runs SQL built with cf_sql_format on the admin connection. */
static cf_status admin_exec(cf_pg *admin, char *sql)
{
	cf_status st = cf_pg_exec(admin, sql);
	free(sql);
	return st;
}

static void in_use_hint(cf_ctx *ctx, const char *name)
{
	const char *state = cf_error_sqlstate_get(ctx);
	if (state && strcmp(state, "55006") == 0)
		cf_error_hint(ctx, "Close the other sessions on \"%s\" (see pg_stat_activity), then "
		                   "build again.", name);
}

cf_status bdb_drop(cf_ctx *ctx, cf_pg *admin, const char *name)
{
	const char *params[] = {name};
	char *is_tpl = NULL;
	cf_status st = cf_pg_query_value(admin, "SELECT datistemplate FROM pg_database WHERE "
	                                        "datname = $1", 1, params, &is_tpl);
	if (!st && is_tpl && strcmp(is_tpl, "t") == 0)
		st = admin_exec(admin, cf_sql_format(admin, "ALTER DATABASE %I IS_TEMPLATE false", name));
	if (!st && is_tpl) {
		cf_log_debug(ctx, "dropping database \"%s\"", name);
		st = admin_exec(admin, cf_sql_format(admin, "DROP DATABASE IF EXISTS %I", name));
		if (st)
			in_use_hint(ctx, name);
	}
	free(is_tpl);
	if (st)
		cf_error_context(ctx, "while dropping database \"%s\"", name);
	return st;
}

/*
 * How to copy a template. From PostgreSQL 15 the default (WAL_LOG) writes
 * every block of the template to the WAL, which makes a durable copy cheap
 * to sync. On a server running with fsync off (the embedded cluster, CI and
 * test clusters) nothing is synced anyway, and FILE_COPY -- a checkpoint and
 * a plain copy of the files -- is several times faster for a large schema.
 */
static const char *clone_strategy(cf_ctx *ctx, cf_pg *admin)
{
	if (cf_pg_server_version(admin) < 150000)
		return "";
	char *fsync = NULL;
	cf_status st = cf_pg_query_value(admin, "SELECT current_setting('fsync')", 0, NULL, &fsync);
	bool is_off = !st && fsync && strcmp(fsync, "off") == 0;
	free(fsync);
	if (st)
		cf_ctx_clear_error(ctx);
	return is_off ? " STRATEGY FILE_COPY" : "";
}

cf_status bdb_recreate(cf_ctx *ctx, cf_pg *admin, const char *dbname, const char *template)
{
	cf_status st = bdb_drop(ctx, admin, dbname);
	if (st)
		return st;
	char *sql = template ? cf_sql_format(admin, "CREATE DATABASE %I TEMPLATE %I%s", dbname,
	                                     template, clone_strategy(ctx, admin))
	                     : cf_sql_format(admin, "CREATE DATABASE %I", dbname);
	st = admin_exec(admin, sql);
	if (st) {
		if (template)
			in_use_hint(ctx, template);
		cf_error_context(ctx, "while creating database \"%s\"", dbname);
	}
	return st;
}

char *btemplate_name(const char *hash, const char *target)
{
	/* The schema hash, and a short digest of the target so that two
	 * databases built from the same tree never share (or race on) one. */
	char t[CF_SHA256_HEX_LEN + 1];
	cf_sha256_hex(target, strlen(target), t);
	return cf_asprintf(TEMPLATE_PREFIX "%.20s_%.8s", hash, t);
}

cf_status btemplate_valid(cf_ctx *ctx, cf_pg *admin, const char *name, bool *out)
{
	(void)ctx;
	const char *params[] = {name};
	char *v = NULL;
	cf_status st = cf_pg_query_value(
		admin,
		"SELECT datistemplate AND coalesce(shobj_description(oid, 'pg_database'), '') "
		"LIKE '" TEMPLATE_COMMENT "%' FROM pg_database WHERE datname = $1",
		1, params, &v);
	*out = !st && v && strcmp(v, "t") == 0;
	free(v);
	return st;
}

static char *comment_for(const char *target)
{
	return cf_asprintf(TEMPLATE_COMMENT "\"%s\"", target);
}

cf_status btemplate_seal(cf_ctx *ctx, cf_pg *admin, const char *name, const char *target)
{
	(void)ctx;
	char *comment = comment_for(target);
	cf_status st = admin_exec(admin, cf_sql_format(admin, "COMMENT ON DATABASE %I IS %L", name,
	                                               comment));
	if (!st)
		st = admin_exec(admin, cf_sql_format(admin, "ALTER DATABASE %I WITH IS_TEMPLATE true "
		                                             "ALLOW_CONNECTIONS false", name));
	free(comment);
	return st;
}

cf_status btemplate_drop_stale(cf_ctx *ctx, cf_pg *admin, const char *target, const char *keep,
                               size_t *n)
{
	*n = 0;
	char *comment = comment_for(target);
	const char *params[] = {comment, keep};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(admin,
	                           "SELECT datname FROM pg_database WHERE datname <> $2 AND "
	                           "shobj_description(oid, 'pg_database') = $1 ORDER BY datname",
	                           2, params, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++) {
		const char *name = cf_pgres_get(res, i, 0);
		cf_log_info(ctx, "dropping stale template \"%s\"", name);
		st = bdb_drop(ctx, admin, name);
		if (!st)
			(*n)++;
	}
	cf_pgres_free(res);
	free(comment);
	return st;
}
