/*
 * dbref.h -- "ENV|URL" arguments (sync --from/--to, s2s --source/--target)
 * and protected environments.
 */
#ifndef CF_DBREF_H
#define CF_DBREF_H

#include "confiture.h"

#include <stdbool.h>

typedef struct cf_dbref {
	char *conninfo;      /* a secret: wiped by cf_dbref_release */
	char *display;       /* for messages: password masked */
	char *env;           /* the environment's name, or NULL for a URL */
	bool is_protected;   /* the environment, or the environment this URL belongs to */
	char *protected_by;  /* name of the protected environment that matched, or NULL */
} cf_dbref;

/*
 * Resolves TEXT: a connection URI or key=value string is used as is; anything
 * else is an environment name of the loaded project, whose database_url (or
 * embedded database) is used. CF_ERR_CONFIG for an unknown environment.
 */
cf_status cf_dbref_resolve(cf_ctx *ctx, const char *text, cf_dbref *out);
void cf_dbref_release(cf_dbref *r);

/* True when TEXT looks like a connection string rather than an env name. */
bool cf_dbref_is_url(const char *text);

/*
 * Finds a protected environment of the project whose database is the one
 * CONNINFO names (same host/socket, port and dbname). *ENV_OUT is that
 * environment's name (caller frees), or NULL when none matches.
 */
cf_status cf_find_protected_env(cf_ctx *ctx, const char *conninfo, char **env_out);

#endif
