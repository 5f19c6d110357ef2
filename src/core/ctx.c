/* ctx.c -- the context: lifecycle, loading, overrides. */
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "log.h"
#include "pg.h"
#include "secret.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

cf_ctx *cf_ctx_new(void)
{
	cf_ctx *ctx = cf_calloc(1, sizeof(*ctx));
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	/* Recursive: a logger may call back into the context. */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ctx->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	atomic_init(&ctx->is_cancelled, false);
	ctx->cfg = cf_config_new_defaults();
	cf_uuid_v4(ctx->execution_id);
	ctx->app_name = cf_strdup("confiture");
	cf_strv_init(&ctx->secrets);
	cf_strv_init(&ctx->notices);
	return ctx;
}

void cf_ctx_free(cf_ctx *ctx)
{
	if (!ctx)
		return;
	cf_ctx_clear_error(ctx);
	cf_config_free(ctx->cfg);
	cf_overrides_release(&ctx->overrides);
	free(ctx->config_file);
	free(ctx->project_file);
	free(ctx->project_dir);
	free(ctx->env);
	free(ctx->app_name);
	for (size_t i = 0; i < ctx->n_hook_cbs; i++) {
		free(ctx->hook_cbs[i].event);
		free(ctx->hook_cbs[i].origin);
	}
	free(ctx->hook_cbs);
	cf_plugins_free(ctx->plugins);
	for (size_t i = 0; i < ctx->secrets.n; i++)
		cf_memzero(ctx->secrets.v[i], strlen(ctx->secrets.v[i]));
	cf_strv_release(&ctx->secrets);
	cf_strv_release(&ctx->notices);
	pthread_mutex_destroy(&ctx->mu);
	free(ctx);
}

void cf_ctx_add_secret(cf_ctx *ctx, const char *value)
{
	if (!value || !*value)
		return;
	pthread_mutex_lock(&ctx->mu);
	if (!cf_strv_contains(&ctx->secrets, value))
		cf_strv_push(&ctx->secrets, value);
	pthread_mutex_unlock(&ctx->mu);
}

void cf_ctx_set_app_name(cf_ctx *ctx, const char *command)
{
	char *name = command && *command ? cf_asprintf("confiture %s", command)
	                                 : cf_strdup("confiture");
	/* application_name is limited to NAMEDATALEN - 1 bytes. */
	if (strlen(name) > 63)
		name[63] = '\0';
	free(ctx->app_name);
	ctx->app_name = name;
}

/*
 * The precursor took --config db/environments/production.yaml; here that
 * file would be read as the project file and the command would run against
 * the default environment. Its place in the tree gives it away.
 */
static cf_status refuse_env_file(cf_ctx *ctx, const char *path, const char *real)
{
	char *dir = cf_strdup(real);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	size_t n = strlen(dir);
	bool is_env_file = n >= 16 && strcmp(dir + n - 16, "/db/environments") == 0;
	free(dir);
	if (!is_env_file)
		return CF_OK;
	const char *base = strrchr(real, '/') + 1;
	char *env = cf_strndup(base, strcspn(base, "."));
	cf_error_set(ctx, CF_ERR_CONFIG, "\"%s\" is an environment file, not a project file", path);
	cf_error_detail(ctx, "--config names the project file (confiture.yaml). Environment files "
	                "are found in db/environments/ by their name.");
	cf_error_hint(ctx, "Select the environment with -e %s (from the project directory, or with "
	              "--project-dir).", env);
	free(env);
	return CF_ERR_CONFIG;
}

cf_status cf_ctx_set_config_file(cf_ctx *ctx, const char *path)
{
	cf_ftype t = cf_ftype_at(AT_FDCWD, path, DT_UNKNOWN, NULL);
	if (t == CF_FT_MISSING || t == CF_FT_UNREADABLE || t == CF_FT_DIR) {
		cf_error_set(ctx, CF_ERR_CONFIG, "could not open config file \"%s\": %s", path,
		             t == CF_FT_DIR ? "it is a directory" : strerror(errno ? errno : ENOENT));
		return CF_ERR_CONFIG;
	}
	if (t != CF_FT_REGULAR) {
		/* -c /dev/null: say what it is rather than what reading it did. */
		cf_error_set(ctx, CF_ERR_CONFIG, "could not use config file \"%s\": it is %s, not a "
		             "regular file", path, cf_ftype_name(t));
		cf_error_hint(ctx, "Pass a YAML project file, or leave out -c: the project directory's "
		                   "confiture.yaml is read when present, and none is required.");
		return CF_ERR_CONFIG;
	}
	char real[PATH_MAX];
	const char *p = realpath(path, real) ? real : path;
	cf_status st = refuse_env_file(ctx, path, p);
	if (!st)
		cf_str_set(&ctx->config_file, p);
	return st;
}

/* The project file: the one set, else confiture.yaml (or .yml) if present. */
static char *project_file(const cf_ctx *ctx, const char *dir)
{
	if (ctx->config_file)
		return cf_strdup(ctx->config_file);
	static const char *const names[] = {"confiture.yaml", "confiture.yml"};
	for (size_t i = 0; i < 2; i++) {
		char *p = cf_path_join(dir, names[i]);
		if (cf_is_file(p))
			return p;
		free(p);
	}
	return NULL;
}

static cf_status resolve_env(cf_ctx *ctx, const char *file, const char *env, char **out)
{
	if (env && *env) {
		*out = cf_strdup(env);
		return CF_OK;
	}
	const char *var = getenv("CONFITURE_ENV");
	if (var && *var) {
		*out = cf_strdup(var);
		return CF_OK;
	}
	char *dflt = NULL;
	cf_status st = cf_config_default_env(ctx, file, &dflt);
	if (st)
		return st;
	*out = dflt ? dflt : cf_strdup("local");
	return CF_OK;
}

static bool has_override(const cf_ctx *ctx, const char *key)
{
	for (size_t i = 0; i < ctx->overrides.n; i++)
		if (strcmp(ctx->overrides.v[i].key, key) == 0)
			return true;
	return false;
}

/*
 * A CONFITURE_DATABASE_URL left in the shell would override the database of
 * the environment the user just named: one database per command, and the
 * user decides which. An explicit database URL (-d) still wins.
 */
static cf_status check_env_url(cf_ctx *ctx, const char *env)
{
	const char *url = getenv("CONFITURE_DATABASE_URL");
	if (!env || !*env || !url || !*url || has_override(ctx, "database_url"))
		return CF_OK;
	char *shown = cf_dsn_mask(url);
	cf_error_set(ctx, CF_ERR_USAGE, "CONFITURE_DATABASE_URL is set and --env \"%s\" is given: "
	             "which database is meant?", env);
	cf_error_detail(ctx, "CONFITURE_DATABASE_URL (%s) would replace the database of environment "
	                "\"%s\".", shown, env);
	cf_error_hint(ctx, "Unset CONFITURE_DATABASE_URL to use the environment's database, or give "
	                   "the database with -d to override it explicitly.");
	free(shown);
	return CF_ERR_USAGE;
}

cf_status cf_ctx_load(cf_ctx *ctx, const char *project_dir, const char *env)
{
	cf_status est = check_env_url(ctx, env);
	if (est)
		return est;
	char real[PATH_MAX];
	const char *dir = project_dir && *project_dir ? project_dir : ".";
	if (!realpath(dir, real) || !cf_is_dir(real)) {
		cf_error_set(ctx, CF_ERR_CONFIG, "project directory \"%s\" does not exist", dir);
		return CF_ERR_CONFIG;
	}
	cf_str_set(&ctx->project_dir, real);
	char *file = project_file(ctx, real);
	char *name = NULL;
	cf_config *cfg = NULL;
	cf_status st = resolve_env(ctx, file, env, &name);
	if (!st)
		st = cf_config_load(ctx, real, file, name, &ctx->overrides, &cfg);
	if (!st) {
		cf_config_free(ctx->cfg);
		ctx->cfg = cfg;
		free(ctx->env);
		ctx->env = name;
		name = NULL;
		cf_str_set(&ctx->project_file, file);
		char *pw = cf_dsn_password(cfg->database_url);
		cf_ctx_add_secret(ctx, pw);
		cf_secret_free(pw);
		/* Plugins add hooks to every medium, so they load with the config. */
		if (cfg->plugins.n)
			st = cf_plugins_load(ctx);
	}
	free(name);
	free(file);
	return st;
}

static void override_add(cf_ctx *ctx, const char *key, const char *value, const char *origin)
{
	cf_overrides *o = &ctx->overrides;
	o->v = cf_realloc(o->v, (o->n + 1) * sizeof(cf_override));
	o->v[o->n++] = (cf_override){cf_strdup(key), cf_strdup(value), cf_strdup(origin)};
}

cf_status cf_ctx_set_option(cf_ctx *ctx, const char *key, const char *value, const char *origin)
{
	/* Validate now, against a scratch config, so bad flags fail early. */
	cf_config *probe = cf_config_new_defaults();
	cf_status st = cf_config_set(ctx, probe, key, value, origin);
	cf_config_free(probe);
	if (st)
		return st;
	override_add(ctx, key, value, origin);
	bool was_protected = ctx->cfg->is_protected;
	if (ctx->env)
		st = cf_config_set(ctx, ctx->cfg, key, value, origin);
	/* An override adds protection, never removes it (as in cf_config_load). */
	if (was_protected)
		ctx->cfg->is_protected = true;
	return st;
}

cf_status cf_ctx_set_database_url(cf_ctx *ctx, const char *url)
{
	char *pw = cf_dsn_password(url);
	cf_ctx_add_secret(ctx, pw);
	cf_secret_free(pw);
	/* A bare name is a database on libpq's defaults, as psql -d takes it. */
	bool is_name = *url && strcmp(url, "embedded") != 0 && !strstr(url, "://") &&
	               !strchr(url, '=');
	char *q = is_name ? cf_dsn_quote(url) : NULL;
	char *value = q ? cf_asprintf("dbname=%s", q) : cf_strdup(url);
	free(q);
	cf_status st = cf_ctx_set_option(ctx, "database_url", value, "--database-url");
	cf_secret_free(value);
	return st;
}

const char *cf_ctx_env(const cf_ctx *ctx)
{
	return ctx->env;
}

const char *cf_ctx_project_dir(const cf_ctx *ctx)
{
	return ctx->project_dir;
}

const char *cf_ctx_project_file(const cf_ctx *ctx)
{
	return ctx->project_file;
}

void cf_ctx_visit_settings(const cf_ctx *ctx, cf_setting_fn fn, void *ud)
{
	cf_config_visit(ctx->cfg, fn, ud);
}
