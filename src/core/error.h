/*
 * error.h -- recording errors on a context.
 *
 * The first failure wins: cf_error_set records an error only when none is
 * recorded yet, and the detail/hint/location setters that follow apply to it
 * only if that set was the one recorded. cf_error_context always applies, so
 * callers can add "while ..." lines to whatever failed below them.
 */
#ifndef CF_ERROR_H
#define CF_ERROR_H

#include "confiture.h"

#include <stdbool.h>
#include <stddef.h>

cf_status cf_error_set(cf_ctx *ctx, cf_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cf_error_detail(cf_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_error_hint(cf_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a context line ("while applying migration ..."). */
void cf_error_context(cf_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_error_at(cf_ctx *ctx, const char *file, int line, int column);
void cf_error_sqlstate(cf_ctx *ctx, const char *sqlstate);
/* The server's 1-based character position of the error in the statement. */
void cf_error_server_position(cf_ctx *ctx, int pos);
/* Changes the code of the recorded error, e.g. a SQL error during a build. */
void cf_error_recode(cf_ctx *ctx, cf_status st);

/* Records FROM's error (message, detail, hint, place, SQLSTATE, context) in
 * TO, unless TO has one already: a child context's failure, reported by its
 * parent. */
void cf_error_copy(cf_ctx *to, const cf_ctx *from);

bool cf_error_is_set(const cf_ctx *ctx);
cf_status cf_error_code(const cf_ctx *ctx);
const char *cf_error_sqlstate_get(const cf_ctx *ctx);

/*
 * Maps the recorded server position into FILE: TEXT is the file's content
 * and STMT_OFFSET the byte offset where the failing statement starts. With
 * no server position, the location is the statement's start. Does nothing
 * when no error is recorded or the error already has a file.
 */
void cf_error_locate(cf_ctx *ctx, const char *file, const char *text, size_t stmt_offset);

/* Byte offset to 1-based line and column (columns count characters). */
void cf_text_linecol(const char *text, size_t offset, int *line, int *column);
/* 1-based character position within TEXT to a byte offset. */
size_t cf_text_char_offset(const char *text, size_t len, int charpos);

/*
 * Sets the recorded error aside (so that work done while reporting a failure,
 * such as hooks, cannot clobber it) and puts it back. After unstash, the
 * stashed error wins over anything recorded meanwhile.
 */
typedef struct cf_err_stash {
	void *saved;
} cf_err_stash;
void cf_error_stash(cf_ctx *ctx, cf_err_stash *s);
void cf_error_unstash(cf_ctx *ctx, cf_err_stash *s);

/* The recorded server position (1-based characters into the statement text
 * sent), or 0 when the server gave none. */
int cf_error_server_position_get(const cf_ctx *ctx);

/* A list of errors, as kept in results. */
typedef struct cf_errlist {
	cf_error_item *v;
	size_t n;
	size_t cap;
} cf_errlist;

/* Appends a copy of the context's recorded error. */
void cf_errlist_push_ctx(cf_errlist *l, const cf_ctx *ctx);
void cf_errlist_release(cf_errlist *l);
void cf_error_item_release(cf_error_item *it);

#endif
