/*
 * buf.h -- memory helpers, a growable string buffer, and a string vector.
 *
 * Allocation failure aborts the process: confiture cannot do anything useful
 * without memory, and checking every allocation would hide the real logic.
 */
#ifndef CF_BUF_H
#define CF_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void *cf_malloc(size_t n);
void *cf_calloc(size_t n, size_t size);
void *cf_realloc(void *p, size_t n);
char *cf_strdup(const char *s);           /* NULL in, NULL out */
char *cf_strndup(const char *s, size_t n);
char *cf_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *cf_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Replaces *DST with a copy of SRC, freeing the old value. */
void cf_str_set(char **dst, const char *src);

/* A NUL-terminated growable buffer. data is never NULL after init. */
typedef struct cf_buf {
	char *data;
	size_t len;
	size_t cap;
} cf_buf;

void cf_buf_init(cf_buf *b);
void cf_buf_release(cf_buf *b);
void cf_buf_reset(cf_buf *b);
void cf_buf_reserve(cf_buf *b, size_t extra);
void cf_buf_append(cf_buf *b, const void *data, size_t n);
void cf_buf_puts(cf_buf *b, const char *s);
void cf_buf_putc(cf_buf *b, char c);
void cf_buf_printf(cf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cf_buf_vprintf(cf_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the data (the caller frees it) and leaves B released: appending
 * to it again is fine, and releasing it is not needed. */
char *cf_buf_detach(cf_buf *b);

/* A growable vector of owned strings. */
typedef struct cf_strv {
	char **v;
	size_t n;
	size_t cap;
} cf_strv;

void cf_strv_init(cf_strv *sv);
void cf_strv_release(cf_strv *sv);
void cf_strv_push(cf_strv *sv, const char *s);    /* copies S */
void cf_strv_push_owned(cf_strv *sv, char *s);    /* takes S */
bool cf_strv_contains(const cf_strv *sv, const char *s);
/* Splits S on SEP into trimmed, non-empty items appended to SV. */
void cf_strv_split(cf_strv *sv, const char *s, char sep);
char *cf_strv_join(const cf_strv *sv, const char *sep);

/* Levenshtein distance, for "did you mean" hints. */
size_t cf_edit_distance(const char *a, const char *b);
/* The candidate closest to WORD, or NULL when none is close enough. */
const char *cf_closest(const char *word, const char *const *candidates, size_t n);

/* Monotonic seconds, for durations. */
double cf_now(void);

#endif
