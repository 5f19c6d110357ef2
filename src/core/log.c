/* log.c -- logging and progress through the context's callbacks. */
#include "log.h"
#include "ctx.h"

#include <stdarg.h>
#include <stdlib.h>

void cf_log(cf_ctx *ctx, cf_log_level level, const char *fmt, ...)
{
	if (!ctx->log_fn)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->mu);
	ctx->log_fn(ctx->log_ud, level, msg);
	pthread_mutex_unlock(&ctx->mu);
	free(msg);
}

void cf_log_once(cf_ctx *ctx, cf_log_level level, const char *msg)
{
	pthread_mutex_lock(&ctx->mu);
	bool seen = cf_strv_contains(&ctx->notices, msg);
	if (!seen)
		cf_strv_push(&ctx->notices, msg);
	pthread_mutex_unlock(&ctx->mu);
	if (!seen)
		cf_log(ctx, level, "%s", msg);
}

bool cf_log_enabled(const cf_ctx *ctx)
{
	return ctx->log_fn != NULL;
}

void cf_progress_emit(cf_ctx *ctx, const cf_progress *p)
{
	if (!ctx->progress_fn)
		return;
	pthread_mutex_lock(&ctx->mu);
	ctx->progress_fn(ctx->progress_ud, p);
	pthread_mutex_unlock(&ctx->mu);
}

bool cf_progress_enabled(const cf_ctx *ctx)
{
	return ctx->progress_fn != NULL;
}

void cf_ctx_set_logger(cf_ctx *ctx, cf_log_fn fn, void *ud)
{
	ctx->log_fn = fn;
	ctx->log_ud = ud;
}

void cf_ctx_set_progress(cf_ctx *ctx, cf_progress_fn fn, void *ud)
{
	ctx->progress_fn = fn;
	ctx->progress_ud = ud;
}
