/*
 * dbref.h -- "ENV|URL" arguments (sync --from/--to, s2s --source/--target),
 * and the description of a command's target for its "target:" line.
 */
#ifndef CF_DBREF_H
#define CF_DBREF_H

#include "confiture.h"
#include "pg.h"
#include "protect.h"

#include <stdbool.h>

typedef struct cf_dbref {
	char *conninfo;      /* a secret: wiped by cf_dbref_release */
	char *display;       /* for messages: password masked */
	char *env;           /* the environment's name, or NULL for a URL */
	bool is_protected;   /* the environment is protected by its configuration */
	bool is_embedded;    /* the environment uses the project's embedded cluster */
} cf_dbref;

/*
 * Resolves TEXT: a connection URI or key=value string is used as is; anything
 * else is an environment name of the loaded project, whose database_url (or
 * embedded database) is used, as its files define it (CONFITURE_* variables
 * and flags apply to the selected environment only). CF_ERR_CONFIG for an
 * unknown environment. Whether a URL is a protected database is decided
 * once connected: see cf_dbref_check_protected.
 */
cf_status cf_dbref_resolve(cf_ctx *ctx, const char *text, cf_dbref *out);
void cf_dbref_release(cf_dbref *r);

/* True when TEXT looks like a connection string rather than an env name. */
bool cf_dbref_is_url(const char *text);

/* cf_protect_check for the database R names; PG is a connection to it, or
 * NULL to open one when the servers must be asked. */
cf_status cf_dbref_check_protected(cf_ctx *ctx, const cf_dbref *r, cf_pg *pg,
                                   cf_protect_verdict *v);

/* What a command is about to write to, for people: no password, no
 * connection, no cluster started. */
typedef struct cf_target_desc {
	char *where;         /* user@host:port/db (host may be a socket directory),
	                        or embedded/DB */
	char *env;           /* the environment, or NULL for a URL */
	bool is_protected;   /* by the environment's configuration */
} cf_target_desc;

/* Describes REF (ENV|URL), or the loaded environment when REF is NULL. */
cf_status cf_target_describe(cf_ctx *ctx, const char *ref, cf_target_desc *out);
void cf_target_desc_release(cf_target_desc *d);

#endif
