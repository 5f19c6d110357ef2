/* dbref.c -- resolving "ENV|URL" and finding protected environments. */
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
	free(r->protected_by);
	memset(r, 0, sizeof(*r));
}

/* The conninfo of environment ENV's database, from its loaded config. */
static cf_status env_conninfo(cf_ctx *ctx, const cf_config *cfg, const char *env, char **out)
{
	if (cf_config_is_embedded(cfg))
		return cf_embedded_conninfo_for(ctx, env, out);
	*out = cf_strdup(cfg->database_url ? cfg->database_url : "");
	return CF_OK;
}

static cf_status load_env(cf_ctx *ctx, const char *env, cf_config **out)
{
	if (!ctx->project_dir)
		return cf_error_set(ctx, CF_ERR_USAGE, "no project loaded (call cf_ctx_load first)");
	return cf_config_load(ctx, ctx->project_dir, ctx->project_file, env, &ctx->overrides, out);
}

cf_status cf_find_protected_env(cf_ctx *ctx, const char *conninfo, char **env_out)
{
	*env_out = NULL;
	cf_strv names;
	cf_strv_init(&names);
	cf_status st = ctx->project_dir
	                   ? cf_config_env_names(ctx, ctx->project_dir, ctx->project_file, &names)
	                   : CF_OK;
	for (size_t i = 0; !st && !*env_out && i < names.n; i++) {
		cf_config *cfg = NULL;
		st = load_env(ctx, names.v[i], &cfg);
		/* Embedded environments are never production: no need to start them. */
		if (!st && cfg->is_protected && !cf_config_is_embedded(cfg) &&
		    cf_dsn_same_db(conninfo, cfg->database_url ? cfg->database_url : ""))
			*env_out = cf_strdup(names.v[i]);
		cf_config_free(cfg);
	}
	cf_strv_release(&names);
	return st;
}

cf_status cf_dbref_resolve(cf_ctx *ctx, const char *text, cf_dbref *out)
{
	memset(out, 0, sizeof(*out));
	cf_status st = CF_OK;
	if (cf_dbref_is_url(text)) {
		out->conninfo = cf_strdup(text);
		char *pw = cf_dsn_password(text);
		cf_ctx_add_secret(ctx, pw);
		cf_secret_free(pw);
	} else {
		cf_config *cfg = NULL;
		st = load_env(ctx, text, &cfg);
		if (!st) {
			out->env = cf_strdup(text);
			out->is_protected = cfg->is_protected;
			if (cfg->is_protected)
				out->protected_by = cf_strdup(text);
			st = env_conninfo(ctx, cfg, text, &out->conninfo);
		}
		if (!st) {
			char *pw = cf_dsn_password(out->conninfo);
			cf_ctx_add_secret(ctx, pw);
			cf_secret_free(pw);
		}
		cf_config_free(cfg);
	}
	if (!st && !out->is_protected) {
		st = cf_find_protected_env(ctx, out->conninfo, &out->protected_by);
		out->is_protected = out->protected_by != NULL;
	}
	if (st) {
		cf_dbref_release(out);
		return st;
	}
	out->display = cf_dsn_mask(out->conninfo);
	return CF_OK;
}
