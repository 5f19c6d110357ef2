/* plugin.h -- shared-object plugins (internal). */
#ifndef CF_PLUGIN_H
#define CF_PLUGIN_H

#include "confiture.h"

struct cf_plugin_set;

/* Frees loaded plugins (dlclose). NULL is a no-op. */
void cf_plugins_free(struct cf_plugin_set *set);

#endif
