/*
 * mode.c -- how `migrate up` would run a migration file, for other layers
 * (lint) that must agree with it rather than guess.
 */
#include "migrate_int.h"
#include "ctx.h"

#include <string.h>

cf_status cf_migration_mode_of(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               cf_migration_mode *out)
{
	memset(out, 0, sizeof(*out));
	/* Preparing logs a warning for a stripped BEGIN/COMMIT pair: that is for
	 * a real run, not for a question about one. */
	cf_log_fn fn = ctx->log_fn;
	void *ud = ctx->log_ud;
	cf_ctx_set_logger(ctx, NULL, NULL);
	mig_script sc;
	cf_status st = mig_script_prepare(ctx, file, cf_strndup(text, len), len, &sc);
	cf_ctx_set_logger(ctx, fn, ud);
	if (!st) {
		out->is_transactional = !sc.is_nontx;
		out->why_not = sc.nontx_why;
		out->is_wrapped = sc.was_wrapped;
	}
	mig_script_release(&sc);
	return st;
}
