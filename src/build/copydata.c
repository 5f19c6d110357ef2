/*
 * copydata.c -- COPY ... FROM stdin with inline data, as pg_dump writes it.
 *
 *   COPY public.users (id, email) FROM stdin;
 *   1	ada@example.com
 *   \.
 *
 * The data lines are not SQL, so the parser would stop at the first one. A
 * file with such blocks is parsed with its data masked out (every byte but
 * the newlines becomes a space, so that offsets, lines and columns stay
 * those of the file), and each block is checked to follow a statement the
 * parser itself sees as COPY ... FROM STDIN: a "COPY" line inside a string
 * or a comment is no block, and the file is then parsed as it is. At apply
 * time the data is streamed to the server with the COPY protocol.
 */
#include "build_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* "COPY ... FROM stdin ... ;" alone on its line (pg_dump's form). */
static bool is_copy_line(const char *p, const char *eol)
{
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t' || eol[-1] == '\r'))
		eol--;
	size_t n = (size_t)(eol - p);
	if (n < 16 || strncasecmp(p, "COPY", 4) != 0 || (p[4] != ' ' && p[4] != '\t') ||
	    eol[-1] != ';')
		return false;
	for (size_t i = 5; i + 10 <= n; i++)
		if (strncasecmp(p + i, "from stdin", 10) == 0)
			return true;
	return false;
}

/* Is the line "\." (the end of COPY data)? */
static bool is_end_line(const char *p, const char *eol)
{
	size_t n = (size_t)(eol - p);
	return (n == 2 || (n == 3 && p[2] == '\r')) && p[0] == '\\' && p[1] == '.';
}

static void push(bfile *f, const bcopyblk *c)
{
	f->copies = cf_realloc(f->copies, (f->n_copies + 1) * sizeof(bcopyblk));
	f->copies[f->n_copies++] = *c;
}

bool bcopy_scan(bfile *f)
{
	const char *text = f->text, *end = f->text + f->len;
	int line = 1;
	for (const char *p = text; p < end;) {
		const char *eol = line_end(p, end);
		if (!is_copy_line(p, eol)) {
			p = eol + 1;
			line++;
			continue;
		}
		bcopyblk c = {.line = line};
		c.stmt_offset = (size_t)(p - text);
		while (text[c.stmt_offset] == ' ' || text[c.stmt_offset] == '\t')
			c.stmt_offset++;
		const char *d = eol < end ? eol + 1 : end;
		c.data_offset = (size_t)(d - text);
		c.data_line = line + 1;
		const char *q = d;
		int l = line + 1;
		while (q < end && !is_end_line(q, line_end(q, end))) {
			q = line_end(q, end) + 1;
			l++;
		}
		c.data_len = (size_t)((q < end ? q : end) - d);
		c.is_terminated = q < end;
		c.end_offset = q < end ? (size_t)(line_end(q, end) - text) : f->len;
		push(f, &c);
		p = c.end_offset < f->len ? text + c.end_offset + 1 : end;
		line = l + 1;
	}
	if (!f->n_copies)
		return false;
	f->masked = cf_malloc(f->len + 1);
	memcpy(f->masked, text, f->len + 1);
	for (size_t i = 0; i < f->n_copies; i++)
		for (size_t k = f->copies[i].data_offset; k < f->copies[i].end_offset; k++)
			if (f->masked[k] != '\n')
				f->masked[k] = ' ';
	return true;
}

bool bcopy_matches(const bfile *f, const cf_script *s)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n_copies; i++) {
		while (k < s->n_stmts && s->stmts[k].offset < f->copies[i].stmt_offset)
			k++;
		if (k == s->n_stmts || s->stmts[k].offset != f->copies[i].stmt_offset ||
		    s->stmts[k].kind != CF_STMT_COPY_STDIN)
			return false;
	}
	return true;
}

void bcopy_forget(bfile *f)
{
	free(f->copies);
	free(f->masked);
	f->copies = NULL;
	f->masked = NULL;
	f->n_copies = 0;
}

const bcopyblk *bcopy_of(const bfile *f, const cf_stmt *st)
{
	for (size_t i = 0; i < f->n_copies; i++)
		if (f->copies[i].stmt_offset == st->offset)
			return &f->copies[i];
	return NULL;
}
