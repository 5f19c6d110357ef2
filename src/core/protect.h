/*
 * protect.h -- is a command's target one of the project's protected
 * databases? Decided by what the servers say, not by how URLs are spelled.
 *
 * Every destructive path (build --recreate and --template, migrate down and
 * down-to, seed apply, sync into a target, s2s --restart and cleanup) asks
 * here before it writes, and words its own refusal.
 */
#ifndef CF_PROTECT_H
#define CF_PROTECT_H

#include "confiture.h"
#include "pg.h"

#include <stdbool.h>

/* What a destructive operation is about to write to. */
typedef struct cf_protect_target {
	const char *conninfo;     /* how it is reached (a secret; not kept) */
	const char *env;          /* the environment that named it, or NULL for a URL */
	bool is_env_protected;    /* that environment is protected by its configuration */
	bool is_embedded;         /* the project's own cluster: never production */
	cf_pg *pg;                /* an open connection to its server, or NULL to open one */
	const char *dbname;       /* the database written, when PG is on another one of the
	                             same server (build's maintenance connection); NULL: PG's */
	const char *consent_flag; /* a flag that accepts the risk ("--yes-i-mean-production"),
	                             named in the hint when a check is impossible; or NULL */
} cf_protect_target;

typedef struct cf_protect_verdict {
	bool is_protected;
	bool is_by_config;        /* the target's own environment is protected */
	char *env;                /* the protected environment it is, or NULL */
	char *why;                /* how that was decided: a sentence for a detail */
} cf_protect_verdict;

/*
 * Decides whether T is protected: by its environment's configuration; else
 * by comparing, for every protected environment of the project (as its own
 * files define it: CONFITURE_* variables and flags select and override the
 * chosen environment only), first the socket directory (real path) or host,
 * port and database libpq would use, then the identity the servers report:
 * system_identifier (pg_control_system()), port and current_database(), or,
 * where pg_control_system() is not granted, the postmaster's start time in
 * its place. A protected environment's identity is cached for an hour in
 * .confiture/identities, keyed by its connection settings.
 *
 * A protected environment that can be neither reached nor found in the
 * cache makes the check fail: CF_ERR_VALIDATION naming it, with a hint.
 * Other failures: CF_ERR_CONFIG (an environment file that does not load),
 * CF_ERR_CONNECT (the target itself). *V is filled on success; release it.
 */
cf_status cf_protect_check(cf_ctx *ctx, const cf_protect_target *t, cf_protect_verdict *v);
void cf_protect_verdict_release(cf_protect_verdict *v);

/*
 * Records the refusal of WHAT ("roll back migrations") on V's database:
 * CF_ERR_VALIDATION, "refusing to WHAT: environment "E" is protected" or
 * "...: the target is the database of protected environment "E"", V's reason
 * as detail and HINT. Returns CF_ERR_VALIDATION.
 */
cf_status cf_protect_refuse(cf_ctx *ctx, const char *what, const cf_protect_verdict *v,
                            const char *hint);

/*
 * For operations a user may run on production once sure (migrate down and
 * down-to, seed apply, s2s cleanup): unless IS_OK, checks the loaded
 * environment's database (PG is connected to it) and refuses WHAT there
 * with HINT when it is protected. A check that cannot be made refuses too,
 * naming --yes-i-mean-production.
 */
cf_status cf_protect_guard_env(cf_ctx *ctx, cf_pg *pg, const char *what, bool is_ok,
                               const char *hint);

#endif
