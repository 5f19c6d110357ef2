/*
 * check.h -- private to src/check: the layer above the mediums that builds
 * schemas in scratch databases and compares them (cf_diff,
 * cf_migrate_generate_from_diff, cf_check).
 *
 * It calls the mediums only through include/confiture.h (cf_build,
 * cf_migrate_up, ...), each time on a context of its own whose database is
 * a scratch database and which fires no hooks; and it reads catalogs through
 * src/schema. Scratch databases are created on the project's embedded
 * cluster or on a server the user names, and dropped before returning,
 * whatever happened.
 */
#ifndef CF_CHECK_H
#define CF_CHECK_H

#include "confiture.h"
#include "buf.h"
#include "error.h"
#include "pg.h"
#include "schema/schema.h"

#include <pthread.h>

/* ---- Scratch databases (scratch.c) ------------------------------------------------- */

typedef struct scratch {
	cf_ctx *ctx;
	char *admin;          /* conninfo of the server's maintenance database (a secret) */
	char *display;        /* the server, password masked */
	cf_pg *pg;            /* admin connection */
	cf_strv dbs;          /* databases created, dropped by scratch_close */
	unsigned seq;
	pthread_mutex_t mu;
} scratch;

/* Finds the server: URL, or the project's embedded cluster (started on
 * demand) when URL is NULL; connects to it. */
cf_status scratch_open(cf_ctx *ctx, const char *url, scratch *s);
/* Creates an empty database (from template0) named after PURPOSE; *CONNINFO
 * (a secret, caller frees with cf_secret_free) reaches it. */
cf_status scratch_create(scratch *s, const char *purpose, char **conninfo);
/* Drops every database created, also after cf_ctx_cancel; then closes. */
void scratch_close(scratch *s);

/* A context for work on CONNINFO: the project and environment of PARENT,
 * that database instead of the environment's (NULL: the environment's own),
 * no hooks, logs forwarded to PARENT (informational ones as debug),
 * cancelled with PARENT. */
cf_status scratch_child(cf_ctx *parent, const char *conninfo, cf_ctx **out);
void scratch_child_free(cf_ctx *parent, cf_ctx *child);

/* ---- Sides of a comparison (side.c) -------------------------------------------------- */

typedef enum side_kind { SIDE_ENV, SIDE_URL, SIDE_SCHEMA, SIDE_MIGRATIONS, SIDE_PATH } side_kind;

typedef struct side {
	side_kind kind;
	const char *text;     /* as given */
	char *label;          /* for people: "production (postgresql://...)", "schema (db/schema)" */
	char *conninfo;       /* a secret */
	sc_snapshot *snap;
	cf_status st;         /* of preparing this side */
	cf_errlist errors;    /* why it could not be prepared (every file that failed) */
	bool is_built;        /* the build or replay ran (a snapshot may still have failed) */
	cf_migrate_result *replay; /* migrations: what cf_migrate_up did (check keeps it) */
} side;

/* Classifies TEXT and resolves an environment or URL (nothing is built). */
cf_status side_resolve(cf_ctx *ctx, const char *text, side *out);
/* Creates the scratch database a built side needs (before side_prepare). */
cf_status side_scratch(side *sd, scratch *s, const char *purpose);
/* Builds the side when it is built (db/schema, migrations, a path), then
 * takes its snapshot with FILTER. Safe to run for two sides in two threads. */
cf_status side_prepare(cf_ctx *ctx, side *sd, const sc_filter *filter);
/* Both sides at once (two threads); the first failure is the status. */
cf_status side_prepare_both(cf_ctx *ctx, side *a, side *b, const sc_filter *filter);
void side_release(side *sd);

/* confiture's own tables, left out of every comparison: the ledger and the
 * progress table of non-transactional migrations (LEDGER_progress). */
typedef struct check_own {
	const char *tables[2];
	char progress[160];
} check_own;

/* The filter of a diff: schemas, and confiture's own tables (OWN, which must
 * outlive F) left out. */
void check_filter(cf_ctx *ctx, const cf_diff_opts *opts, sc_filter *f, check_own *own);

/* Builds the public result of a comparison (changes moved out of D). */
cf_diff_result *check_diff_result(sc_diff *d, const side *from, const side *to);

#endif
