/*
 * hooks.h -- firing hook events (internal).
 *
 * Each medium fires its events through cf_hooks_fire. Callbacks registered
 * through the API (and by plugins) run first, then the hooks declared in YAML,
 * in declaration order. A failing hook with on_failure: abort (or a non-zero
 * callback on a before_* event) makes cf_hooks_fire fail; with warn it logs a
 * warning and the operation goes on. An error already recorded on the context
 * (for migration_failed and on_error) is preserved.
 */
#ifndef CF_HOOKS_H
#define CF_HOOKS_H

#include "confiture.h"
#include "pg.h"

/* Which hooks of an event to run: all of them, or one side of a transaction. */
typedef enum cf_hook_part {
	CF_HOOKS_ALL = 0,
	CF_HOOKS_SQL,      /* SQL hooks only (inside the caller's transaction) */
	CF_HOOKS_OUTSIDE   /* callbacks and shell hooks only (outside it) */
} cf_hook_part;

typedef struct cf_hook_fire {
	const char *event;
	cf_hook_part part;
	const char *migration_version;
	const char *migration_name;
	const char *table;
	const char *step;
	const char *error;
	long long rows;        /* -1 when not relevant */
	int success;           /* 1, 0, -1 */
	long long elapsed_ms;  /* -1 when not relevant */
	/* SQL hooks run on this connection, inside its current transaction; NULL
	 * opens a connection to the environment's database for them. */
	cf_pg *pg;
} cf_hook_fire;

/* A cf_hook_fire with every optional field "not relevant". */
#define CF_HOOK_FIRE_INIT(ev) \
	{ .event = (ev), .rows = -1, .success = -1, .elapsed_ms = -1 }

cf_status cf_hooks_fire(cf_ctx *ctx, const cf_hook_fire *f);
/* True when anything would run for EVENT (to skip building context). */
bool cf_hooks_any(const cf_ctx *ctx, const char *event);

/* cf_hook_register, recording ORIGIN ("plugin NAME") for `hooks list`. */
cf_status cf_hook_register_from(cf_ctx *ctx, const char *event, cf_hook_fn fn, void *ud,
                                const char *origin);

/* Fires on_error with the recorded error; keeps that error. */
void cf_hooks_fire_on_error(cf_ctx *ctx, cf_pg *pg);

#endif
