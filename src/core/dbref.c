/* dbref.c -- resolving "ENV|URL", and what a command's target looks like. */
#include "dbref.h"
#include "config.h"
#include "ctx.h"
#include "embedded.h"
#include "error.h"
#include "pg.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

bool cf_dbref_is_url(const char *text)
{
	return strstr(text, "://") != NULL || strchr(text, '=') != NULL;
}

void cf_dbref_release(cf_dbref *r)
{
	cf_secret_free(r->conninfo);
	free(r->display);
	free(r->env);
	memset(r, 0, sizeof(*r));
}

/*
 * Environment ENV as its files define it: CONFITURE_* variables and flags
 * such as -d belong to the environment the command selected, not to every
 * environment named on its command line.
 */
static cf_status load_env(cf_ctx *ctx, const char *env, cf_config **out)
{
	if (!ctx->project_dir)
		return cf_error_set(ctx, CF_ERR_USAGE, "no project loaded (call cf_ctx_load first)");
	cf_status st = cf_config_load_files(ctx, ctx->project_dir, ctx->project_file, env, false, out);
	/* Protection can be added to the selected environment, never removed. */
	if (!st && ctx->env && strcmp(ctx->env, env) == 0 && ctx->cfg->is_protected)
		(*out)->is_protected = true;
	return st;
}

static void add_secret(cf_ctx *ctx, const char *conninfo)
{
	char *pw = cf_dsn_password(conninfo);
	cf_ctx_add_secret(ctx, pw);
	cf_secret_free(pw);
}

cf_status cf_dbref_resolve(cf_ctx *ctx, const char *text, cf_dbref *out)
{
	memset(out, 0, sizeof(*out));
	cf_status st = CF_OK;
	if (cf_dbref_is_url(text)) {
		out->conninfo = cf_strdup(text);
	} else {
		cf_config *cfg = NULL;
		st = load_env(ctx, text, &cfg);
		if (!st) {
			out->env = cf_strdup(text);
			out->is_protected = cfg->is_protected;
			out->is_embedded = cf_config_is_embedded(cfg);
			st = out->is_embedded ? cf_embedded_conninfo_for(ctx, text, &out->conninfo)
			                      : CF_OK;
			if (!out->is_embedded)
				out->conninfo = cf_strdup(cfg->database_url ? cfg->database_url : "");
		}
		cf_config_free(cfg);
	}
	if (st) {
		cf_dbref_release(out);
		return st;
	}
	add_secret(ctx, out->conninfo);
	out->display = cf_dsn_mask(out->conninfo);
	return CF_OK;
}

cf_status cf_dbref_check_protected(cf_ctx *ctx, const cf_dbref *r, cf_pg *pg,
                                   cf_protect_verdict *v)
{
	cf_protect_target t = {.conninfo = r->conninfo, .env = r->env,
	                       .is_env_protected = r->is_protected, .is_embedded = r->is_embedded,
	                       .pg = pg};
	return cf_protect_check(ctx, &t, v);
}

/* ---- The "target:" of a command ------------------------------------------------- */

void cf_target_desc_release(cf_target_desc *d)
{
	free(d->where);
	free(d->env);
	memset(d, 0, sizeof(*d));
}

static char *where_of(const char *conninfo)
{
	cf_dsn_parts p;
	cf_dsn_resolve(conninfo, &p);
	char *w = cf_asprintf("%s@%s:%s/%s", p.user, p.host, p.port, p.dbname);
	cf_dsn_parts_release(&p);
	return w;
}

static void describe_config(const cf_config *cfg, const char *env, cf_target_desc *out)
{
	out->env = cf_strdup(env);
	out->is_protected = cfg->is_protected;
	/* Named, not started: describing a target must not boot a cluster. */
	out->where = cf_config_is_embedded(cfg)
	                 ? cf_asprintf("embedded/%s", env)
	                 : where_of(cfg->database_url ? cfg->database_url : "");
}

cf_status cf_target_describe(cf_ctx *ctx, const char *ref, cf_target_desc *out)
{
	memset(out, 0, sizeof(*out));
	if (!ref) {
		describe_config(ctx->cfg, ctx->env, out);
		return CF_OK;
	}
	if (cf_dbref_is_url(ref)) {
		out->where = where_of(ref);
		return CF_OK;
	}
	cf_config *cfg = NULL;
	cf_status st = load_env(ctx, ref, &cfg);
	if (!st)
		describe_config(cfg, ref, out);
	cf_config_free(cfg);
	return st;
}
