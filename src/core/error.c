/* error.c -- the context's error record. */
#include "error.h"
#include "ctx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void err_clear(cf_err *e)
{
	free(e->message);
	free(e->detail);
	free(e->hint);
	free(e->context);
	free(e->file);
	free(e->sqlstate);
	memset(e, 0, sizeof(*e));
}

cf_status cf_error_set(cf_ctx *ctx, cf_status st, const char *fmt, ...)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set) {
		ctx->err.is_fresh = false;
	} else {
		va_list ap;
		va_start(ap, fmt);
		err_clear(&ctx->err);
		ctx->err.message = cf_vasprintf(fmt, ap);
		va_end(ap);
		ctx->err.code = st;
		ctx->err.is_set = true;
		ctx->err.is_fresh = true;
	}
	pthread_mutex_unlock(&ctx->mu);
	return st;
}

/* Sets one owned string of the fresh error from a format. */
static void set_fresh(cf_ctx *ctx, char **field, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set && ctx->err.is_fresh) {
		free(*field);
		*field = cf_vasprintf(fmt, ap);
	}
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_detail(cf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_fresh(ctx, &ctx->err.detail, fmt, ap);
	va_end(ap);
}

void cf_error_hint(cf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_fresh(ctx, &ctx->err.hint, fmt, ap);
	va_end(ap);
}

void cf_error_context(cf_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = cf_vasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set) {
		char *joined = ctx->err.context ? cf_asprintf("%s\n%s", ctx->err.context, line)
		                                : cf_strdup(line);
		free(ctx->err.context);
		ctx->err.context = joined;
	}
	pthread_mutex_unlock(&ctx->mu);
	free(line);
}

void cf_error_at(cf_ctx *ctx, const char *file, int line, int column)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set && ctx->err.is_fresh) {
		cf_str_set(&ctx->err.file, file);
		ctx->err.line = line;
		ctx->err.column = column;
	}
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_sqlstate(cf_ctx *ctx, const char *sqlstate)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set && ctx->err.is_fresh)
		cf_str_set(&ctx->err.sqlstate, sqlstate);
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_server_position(cf_ctx *ctx, int pos)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set && ctx->err.is_fresh)
		ctx->err.server_pos = pos;
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_recode(cf_ctx *ctx, cf_status st)
{
	pthread_mutex_lock(&ctx->mu);
	if (ctx->err.is_set && ctx->err.code != CF_ERR_CANCELLED)
		ctx->err.code = st;
	pthread_mutex_unlock(&ctx->mu);
}

bool cf_error_is_set(const cf_ctx *ctx)
{
	return ctx->err.is_set;
}

cf_status cf_error_code(const cf_ctx *ctx)
{
	return ctx->err.is_set ? ctx->err.code : CF_OK;
}

const char *cf_error_sqlstate_get(const cf_ctx *ctx)
{
	return ctx->err.is_set ? ctx->err.sqlstate : NULL;
}

void cf_text_linecol(const char *text, size_t offset, int *line, int *column)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < offset && text[i]; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	*line = l;
	*column = c;
}

size_t cf_text_char_offset(const char *text, size_t len, int charpos)
{
	size_t i = 0;
	for (int n = 1; n < charpos && i < len; n++) {
		i++;
		while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
			i++;
	}
	return i;
}

void cf_error_locate(cf_ctx *ctx, const char *file, const char *text, size_t stmt_offset)
{
	pthread_mutex_lock(&ctx->mu);
	cf_err *e = &ctx->err;
	if (e->is_set && !e->file) {
		size_t off = stmt_offset;
		if (e->server_pos > 0)
			off += cf_text_char_offset(text + stmt_offset, strlen(text + stmt_offset),
			                           e->server_pos);
		cf_text_linecol(text, off, &e->line, &e->column);
		e->file = cf_strdup(file);
	}
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_item_release(cf_error_item *it)
{
	free(it->message);
	free(it->detail);
	free(it->hint);
	free(it->file);
	free(it->sqlstate);
	memset(it, 0, sizeof(*it));
}

void cf_errlist_push_ctx(cf_errlist *l, const cf_ctx *ctx)
{
	const cf_err *e = &ctx->err;
	if (!e->is_set)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = cf_realloc(l->v, l->cap * sizeof(*l->v));
	}
	cf_error_item *it = &l->v[l->n++];
	it->code = e->code;
	it->message = cf_strdup(e->message);
	it->detail = cf_strdup(e->detail);
	it->hint = cf_strdup(e->hint);
	it->file = cf_strdup(e->file);
	it->line = e->line;
	it->column = e->column;
	it->sqlstate = cf_strdup(e->sqlstate);
}

void cf_errlist_release(cf_errlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		cf_error_item_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *cf_last_error(const cf_ctx *ctx)
{
	return ctx->err.is_set && ctx->err.message ? ctx->err.message : "";
}

const cf_error_info *cf_last_error_info(const cf_ctx *ctx)
{
	if (!ctx->err.is_set)
		return NULL;
	/* The view points into the record; refresh it on each call. */
	cf_err *e = (cf_err *)&ctx->err;
	e->info = (cf_error_info){
		.code = e->code,
		.message = e->message,
		.detail = e->detail,
		.hint = e->hint,
		.context = e->context,
		.file = e->file,
		.line = e->line,
		.column = e->column,
		.sqlstate = e->sqlstate,
	};
	return &e->info;
}

void cf_ctx_clear_error(cf_ctx *ctx)
{
	pthread_mutex_lock(&ctx->mu);
	err_clear(&ctx->err);
	pthread_mutex_unlock(&ctx->mu);
}

const char *cf_status_name(cf_status st)
{
	switch (st) {
	case CF_OK: return "ok";
	case CF_ERR_CHECK: return "check_failed";
	case CF_ERR_USAGE: return "usage";
	case CF_ERR_NO_LEDGER: return "no_ledger";
	case CF_ERR_CONNECT: return "connection";
	case CF_ERR_SQL: return "sql";
	case CF_ERR_SCHEMA: return "schema";
	case CF_ERR_CONFIG: return "config";
	case CF_ERR_VALIDATION: return "validation";
	case CF_ERR_LOCK: return "lock_held";
	case CF_ERR_PREFLIGHT: return "preflight";
	case CF_ERR_IRREVERSIBLE: return "irreversible";
	case CF_ERR_CANCELLED: return "cancelled";
	case CF_ERR_IO: return "io";
	case CF_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

void cf_error_stash(cf_ctx *ctx, cf_err_stash *s)
{
	pthread_mutex_lock(&ctx->mu);
	s->saved = NULL;
	if (ctx->err.is_set) {
		cf_err *copy = cf_malloc(sizeof(*copy));
		*copy = ctx->err;
		memset(&ctx->err, 0, sizeof(ctx->err));
		s->saved = copy;
	}
	pthread_mutex_unlock(&ctx->mu);
}

void cf_error_unstash(cf_ctx *ctx, cf_err_stash *s)
{
	if (!s->saved)
		return;
	pthread_mutex_lock(&ctx->mu);
	err_clear(&ctx->err);
	ctx->err = *(cf_err *)s->saved;
	pthread_mutex_unlock(&ctx->mu);
	free(s->saved);
	s->saved = NULL;
}

int cf_error_server_position_get(const cf_ctx *ctx)
{
	return ctx->err.is_set ? ctx->err.server_pos : 0;
}

void cf_error_copy(cf_ctx *to, const cf_ctx *from)
{
	const cf_error_info *e = cf_last_error_info(from);
	if (!e || !e->message || cf_error_is_set(to))
		return;
	cf_error_set(to, e->code, "%s", e->message);
	if (e->detail)
		cf_error_detail(to, "%s", e->detail);
	if (e->hint)
		cf_error_hint(to, "%s", e->hint);
	if (e->file)
		cf_error_at(to, e->file, e->line, e->column);
	if (e->sqlstate)
		cf_error_sqlstate(to, e->sqlstate);
	if (e->context)
		cf_error_context(to, "%s", e->context);
}
