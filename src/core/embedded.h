/* embedded.h -- the project-local cluster (internal part). */
#ifndef CF_EMBEDDED_H
#define CF_EMBEDDED_H

#include "confiture.h"

/*
 * Conninfo for the environment's database on the embedded cluster: starts
 * the cluster when needed and creates the database (named after the
 * environment) when missing. Caller frees with cf_secret_free.
 */
cf_status cf_embedded_conninfo(cf_ctx *ctx, char **out);
/* Same for the database of environment ENV (the cluster is per project). */
cf_status cf_embedded_conninfo_for(cf_ctx *ctx, const char *env, char **out);

/* The server binary directory, or NULL with an error recorded. */
char *cf_pg_bindir(cf_ctx *ctx);

#endif
