/* plugin.c -- shared-object plugins: loading and lifecycle. */
#include "plugin.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hooks.h"
#include "log.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef struct loaded {
	void *handle;
	char *path;
	const cf_plugin *desc;
} loaded;

struct cf_plugin_set {
	size_t n;
	loaded *v;
};

void cf_plugins_free(struct cf_plugin_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		/* Leave the object mapped under the sanitizers, so that leak reports
		 * can still symbolize frames inside it. */
#if !defined(__SANITIZE_ADDRESS__)
		dlclose(set->v[i].handle);
#endif
		free(set->v[i].path);
	}
	free(set->v);
	free(set);
}

typedef struct origin_find {
	char *origin;
} origin_find;

static void find_plugins_origin(void *ud, const char *key, const char *value, const char *origin)
{
	(void)value;
	origin_find *f = ud;
	if (strcmp(key, "plugins") == 0)
		cf_str_set(&f->origin, origin);
}

/* Points the recorded error at the config line that lists the plugins. */
static cf_status plugin_error_at(cf_ctx *ctx, cf_status st)
{
	origin_find f = {NULL};
	cf_config_visit(ctx->cfg, find_plugins_origin, &f);
	const char *colon = f.origin ? strrchr(f.origin, ':') : NULL;
	if (colon && colon[1] >= '0' && colon[1] <= '9') {
		char *file = cf_strndup(f.origin, (size_t)(colon - f.origin));
		cf_error_at(ctx, file, atoi(colon + 1), 0);
		free(file);
	}
	free(f.origin);
	return st;
}

static cf_status load_one(cf_ctx *ctx, const char *declared, loaded *out)
{
	char *path = cf_path_join(ctx->project_dir ? ctx->project_dir : ".", declared);
	if (!cf_is_file(path)) {
		cf_error_set(ctx, CF_ERR_CONFIG, "plugin \"%s\" does not exist", declared);
		free(path);
		return plugin_error_at(ctx, CF_ERR_CONFIG);
	}
	/* dlopen needs a slash to not search the library path. */
	char *open_path = strchr(path, '/') ? cf_strdup(path) : cf_asprintf("./%s", path);
	void *h = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
	free(open_path);
	if (!h) {
		const char *why = dlerror();
		cf_error_set(ctx, CF_ERR_CONFIG, "could not load plugin \"%s\"", declared);
		cf_error_detail(ctx, "%s", why ? why : "dlopen failed");
		free(path);
		return plugin_error_at(ctx, CF_ERR_CONFIG);
	}
	cf_plugin_entry_fn entry;
	*(void **)&entry = dlsym(h, "confiture_plugin");
	const cf_plugin *desc = entry ? entry() : NULL;
	cf_status st = CF_OK;
	if (!entry) {
		st = cf_error_set(ctx, CF_ERR_CONFIG, "plugin \"%s\" has no entry point "
		                  "\"confiture_plugin\"", declared);
		cf_error_hint(ctx, "A plugin exports `const cf_plugin *confiture_plugin(void)`; "
		                   "see docs/plugins.md.");
	} else if (!desc) {
		st = cf_error_set(ctx, CF_ERR_CONFIG, "plugin \"%s\" returned no descriptor", declared);
	} else if (desc->abi_version != CF_PLUGIN_ABI_VERSION) {
		st = cf_error_set(ctx, CF_ERR_CONFIG,
		                  "plugin \"%s\" was built for plugin ABI version %u, this confiture "
		                  "speaks version %d", declared, (unsigned)desc->abi_version,
		                  CF_PLUGIN_ABI_VERSION);
		cf_error_hint(ctx, "Rebuild the plugin against this confiture's confiture.h.");
	}
	if (st) {
		dlclose(h);
		free(path);
		return plugin_error_at(ctx, st);
	}
	*out = (loaded){h, path, desc};
	return CF_OK;
}

cf_status cf_plugins_load(cf_ctx *ctx)
{
	if (ctx->plugins)
		return CF_OK;
	struct cf_plugin_set *set = cf_calloc(1, sizeof(*set));
	const cf_strv *paths = &ctx->cfg->plugins;
	set->v = cf_calloc(paths->n + 1, sizeof(loaded));
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < paths->n; i++) {
		st = load_one(ctx, paths->v[i], &set->v[set->n]);
		if (!st)
			set->n++;
	}
	for (size_t i = 0; !st && i < set->n; i++) {
		const cf_plugin *d = set->v[i].desc;
		char *origin = cf_asprintf("plugin %s", d->name ? d->name : set->v[i].path);
		for (size_t k = 0; !st && d->hooks && k < d->n_hooks; k++)
			st = cf_hook_register_from(ctx, d->hooks[k].event, d->hooks[k].fn, d->hooks[k].ud,
			                           origin);
		free(origin);
		cf_log_debug(ctx, "loaded plugin %s %s (%zu strategies, %zu hooks)",
		             d->name ? d->name : "?", d->version ? d->version : "",
		             d->n_strategies, d->n_hooks);
	}
	if (st) {
		cf_plugins_free(set);
		return st;
	}
	ctx->plugins = set;
	return CF_OK;
}

const cf_plugin_strategy *cf_plugin_strategy_find(const cf_ctx *ctx, const char *name,
                                                  const char **plugin_name)
{
	const struct cf_plugin_set *set = ctx->plugins;
	for (size_t i = 0; set && i < set->n; i++) {
		const cf_plugin *d = set->v[i].desc;
		for (size_t k = 0; d->strategies && k < d->n_strategies; k++)
			if (d->strategies[k].name && strcmp(d->strategies[k].name, name) == 0) {
				if (plugin_name)
					*plugin_name = d->name;
				return &d->strategies[k];
			}
	}
	return NULL;
}

size_t cf_plugin_strategy_names(const cf_ctx *ctx, const char ***out)
{
	const struct cf_plugin_set *set = ctx->plugins;
	size_t n = 0;
	for (size_t i = 0; set && i < set->n; i++)
		n += set->v[i].desc->n_strategies;
	const char **v = cf_calloc(n + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; set && i < set->n; i++) {
		const cf_plugin *d = set->v[i].desc;
		for (size_t j = 0; d->strategies && j < d->n_strategies; j++)
			v[k++] = d->strategies[j].name;
	}
	*out = v;
	return k;
}
