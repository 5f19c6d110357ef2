/* log.h -- logging and progress events through the context's callbacks. */
#ifndef CF_LOG_H
#define CF_LOG_H

#include "confiture.h"

void cf_log(cf_ctx *ctx, cf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define cf_log_error(ctx, ...) cf_log((ctx), CF_LOG_ERROR, __VA_ARGS__)
#define cf_log_warning(ctx, ...) cf_log((ctx), CF_LOG_WARNING, __VA_ARGS__)
#define cf_log_info(ctx, ...) cf_log((ctx), CF_LOG_INFO, __VA_ARGS__)
#define cf_log_debug(ctx, ...) cf_log((ctx), CF_LOG_DEBUG, __VA_ARGS__)
/* Logs MSG at LEVEL unless this context logged it already (a notice about a
 * file that is read more than once in a run). */
void cf_log_once(cf_ctx *ctx, cf_log_level level, const char *msg);
/* True when a logger is set; lets callers skip building costly messages. */
bool cf_log_enabled(const cf_ctx *ctx);

void cf_progress_emit(cf_ctx *ctx, const cf_progress *p);
bool cf_progress_enabled(const cf_ctx *ctx);

#endif
