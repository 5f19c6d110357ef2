/* plugin.c -- shared-object plugins: loading and lifecycle. */
#include "plugin.h"

#include <stdlib.h>

struct cf_plugin_set {
	size_t n;
};

void cf_plugins_free(struct cf_plugin_set *set)
{
	free(set);
}
