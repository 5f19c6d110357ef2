/* plugin.h -- shared-object plugins (internal). */
#ifndef CF_PLUGIN_H
#define CF_PLUGIN_H

#include "confiture.h"

struct cf_plugin_set;

/* Frees loaded plugins (dlclose). NULL is a no-op. */
void cf_plugins_free(struct cf_plugin_set *set);

/*
 * Loads the shared objects listed under `plugins:` in the loaded config
 * (paths relative to the project directory), once per context: dlopen,
 * then the entry point confiture_plugin() and its ABI version. Registers the
 * plugins' hook callbacks. A missing file, a missing entry point or another
 * ABI version is CF_ERR_CONFIG naming the plugin and where it is declared.
 */
cf_status cf_plugins_load(cf_ctx *ctx);

/* The strategy NAME of a loaded plugin, or NULL. Call cf_plugins_load first.
 * *PLUGIN_NAME (when not NULL) is set to the plugin's name. */
const cf_plugin_strategy *cf_plugin_strategy_find(const cf_ctx *ctx, const char *name,
                                                  const char **plugin_name);

/* The names of every plugin strategy, for "did you mean" hints. Returns the
 * count; *OUT is freed with free() (the strings belong to the plugins). */
size_t cf_plugin_strategy_names(const cf_ctx *ctx, const char ***out);

#endif
