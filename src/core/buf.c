/* buf.c -- memory helpers, string buffer, string vector. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *oom(void)
{
	fputs("confiture: out of memory\n", stderr);
	abort();
}

void *cf_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *cf_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	return p ? p : oom();
}

void *cf_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom();
}

char *cf_strdup(const char *s)
{
	return s ? cf_strndup(s, strlen(s)) : NULL;
}

char *cf_strndup(const char *s, size_t n)
{
	char *p = cf_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *cf_vasprintf(const char *fmt, va_list ap)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_vprintf(&b, fmt, ap);
	return b.data;
}

char *cf_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = cf_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void cf_str_set(char **dst, const char *src)
{
	char *copy = cf_strdup(src);
	free(*dst);
	*dst = copy;
}

void cf_buf_init(cf_buf *b)
{
	b->cap = 64;
	b->len = 0;
	b->data = cf_malloc(b->cap);
	b->data[0] = '\0';
}

void cf_buf_release(cf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void cf_buf_reset(cf_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void cf_buf_reserve(cf_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = cf_realloc(b->data, cap);
	b->cap = cap;
}

void cf_buf_append(cf_buf *b, const void *data, size_t n)
{
	cf_buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void cf_buf_puts(cf_buf *b, const char *s)
{
	cf_buf_append(b, s, strlen(s));
}

void cf_buf_putc(cf_buf *b, char c)
{
	cf_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void cf_buf_vprintf(cf_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	cf_buf_reserve(b, 0); /* a released buffer has no data to print into */
	va_copy(ap2, ap);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= b->cap - b->len) {
		cf_buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	b->len += (size_t)n;
}

void cf_buf_printf(cf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cf_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *cf_buf_detach(cf_buf *b)
{
	/* B is left released, not re-initialized: a detached local buffer then
	 * needs no cf_buf_release, and appending to B again allocates anew. */
	char *s = b->data ? b->data : cf_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void cf_strv_init(cf_strv *sv)
{
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void cf_strv_release(cf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	cf_strv_init(sv);
}

void cf_strv_push_owned(cf_strv *sv, char *s)
{
	if (sv->n + 1 >= sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = cf_realloc(sv->v, sv->cap * sizeof(char *));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void cf_strv_push(cf_strv *sv, const char *s)
{
	cf_strv_push_owned(sv, cf_strdup(s));
}

bool cf_strv_contains(const cf_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void cf_strv_split(cf_strv *sv, const char *s, char sep)
{
	while (s && *s) {
		const char *end = strchr(s, sep);
		size_t n = end ? (size_t)(end - s) : strlen(s);
		const char *a = s, *z = s + n;
		while (a < z && (*a == ' ' || *a == '\t'))
			a++;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
			z--;
		if (z > a)
			cf_strv_push_owned(sv, cf_strndup(a, (size_t)(z - a)));
		s = end ? end + 1 : NULL;
	}
}

char *cf_strv_join(const cf_strv *sv, const char *sep)
{
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			cf_buf_puts(&b, sep);
		cf_buf_puts(&b, sv->v[i]);
	}
	return b.data;
}

size_t cf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = cf_malloc((lb + 1) * sizeof(size_t));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

const char *cf_closest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t d = cf_edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	/* Close enough: a third of the word, at least two edits. */
	size_t limit = strlen(word) / 3;
	if (limit < 2)
		limit = 2;
	return best_d <= limit ? best : NULL;
}

double cf_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
