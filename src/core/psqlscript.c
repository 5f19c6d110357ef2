/*
 * psqlscript.c -- a SQL file as psql reads it.
 *
 * Two things in a file written for psql are not SQL, yet carry no SQL that
 * confiture would have to run itself:
 *
 *   - the inline data of COPY ... FROM stdin, up to a line "\." (pg_dump's
 *     data format), streamed to the server with the COPY protocol;
 *   - pg_dump's "\restrict KEY" and "\unrestrict KEY" lines (every pg_dump
 *     from 15.14, 16.10, 17.6 on writes them around a dump): psql refuses
 *     other meta-commands between them, which matters only to psql.
 *
 * The file is parsed with those ranges blanked (every byte but the newlines
 * becomes a space, so that offsets, lines and columns stay the file's), and
 * each range is checked to stand where psql would take it: data right after
 * a statement the parser itself sees as COPY ... FROM STDIN, a meta line
 * between statements. A "COPY" or "\restrict" line inside a string or a
 * function body is no such thing, and the file is then parsed as it is.
 * Every other meta-command (\i, \set, \connect, ...) stays a syntax error,
 * with a hint naming it.
 */
#include "psqlscript.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Trims blanks (and a CR) at both ends of [*P, *EOL). */
static void trim(const char **p, const char **eol)
{
	while (*p < *eol && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*eol > *p && ((*eol)[-1] == ' ' || (*eol)[-1] == '\t' || (*eol)[-1] == '\r'))
		(*eol)--;
}

/* "COPY ... FROM stdin ... ;" alone on its line (pg_dump's form). */
static bool is_copy_line(const char *p, const char *eol)
{
	trim(&p, &eol);
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

/* "\restrict KEY" or "\unrestrict KEY" alone on its line. */
static bool is_restrict_line(const char *p, const char *eol)
{
	trim(&p, &eol);
	size_t k = 0;
	if ((size_t)(eol - p) > 10 && strncmp(p, "\\restrict", 9) == 0)
		k = 9;
	else if ((size_t)(eol - p) > 12 && strncmp(p, "\\unrestrict", 11) == 0)
		k = 11;
	if (!k || (p[k] != ' ' && p[k] != '\t'))
		return false;
	const char *key = p + k;
	while (key < eol && (*key == ' ' || *key == '\t'))
		key++;
	for (const char *c = key; c < eol; c++)
		if (*c == ' ' || *c == '\t')
			return false; /* one argument, as pg_dump writes it */
	return key < eol;
}

static void push_blank(cf_psql_script *ps, size_t start, size_t end)
{
	ps->blanks = cf_realloc(ps->blanks, (ps->n_blanks + 1) * sizeof(cf_span));
	ps->blanks[ps->n_blanks++] = (cf_span){start, end};
}

/* Reads the COPY block whose statement is the line at P (line LINE); returns
 * where scanning goes on, and the line there in *LINE. */
static const char *scan_copy(cf_psql_script *ps, const char *text, const char *p,
                             const char *end, int *line)
{
	const char *eol = line_end(p, end);
	cf_copyblk c = {.line = *line};
	c.stmt_offset = (size_t)(p - text);
	while (text[c.stmt_offset] == ' ' || text[c.stmt_offset] == '\t')
		c.stmt_offset++;
	const char *d = eol < end ? eol + 1 : end;
	c.data_offset = (size_t)(d - text);
	c.data_line = *line + 1;
	const char *q = d;
	int l = *line + 1;
	while (q < end && !is_end_line(q, line_end(q, end))) {
		q = line_end(q, end) + 1;
		l++;
	}
	c.data_len = (size_t)((q < end ? q : end) - d);
	c.is_terminated = q < end;
	c.end_offset = q < end ? (size_t)(line_end(q, end) - text) : (size_t)(end - text);
	ps->copies = cf_realloc(ps->copies, (ps->n_copies + 1) * sizeof(cf_copyblk));
	ps->copies[ps->n_copies++] = c;
	push_blank(ps, c.data_offset, c.end_offset);
	*line = l + 1;
	return text + c.end_offset < end ? text + c.end_offset + 1 : end;
}

/* Finds the COPY blocks and \restrict lines; false when there are none. */
static bool scan(cf_psql_script *ps, const char *text, size_t len)
{
	const char *end = text + len;
	int line = 1;
	for (const char *p = text; p < end;) {
		const char *eol = line_end(p, end);
		if (is_copy_line(p, eol)) {
			p = scan_copy(ps, text, p, end, &line);
			continue;
		}
		if (*p == '\\' || *p == ' ' || *p == '\t') {
			if (is_restrict_line(p, eol))
				push_blank(ps, (size_t)(p - text), (size_t)(eol - text));
		}
		p = eol + 1;
		line++;
	}
	return ps->n_blanks > 0;
}

static char *masked_text(const cf_psql_script *ps, const char *text, size_t len)
{
	char *m = cf_malloc(len + 1);
	memcpy(m, text, len + 1);
	for (size_t i = 0; i < ps->n_blanks; i++)
		for (size_t k = ps->blanks[i].start; k < ps->blanks[i].end; k++)
			if (m[k] != '\n')
				m[k] = ' ';
	return m;
}

/* The end of ST without its trailing blanks (in the masked text M). */
static size_t stmt_end(const char *m, const cf_stmt *st)
{
	size_t e = st->offset + st->len;
	while (e > st->offset && (m[e - 1] == ' ' || m[e - 1] == '\n' || m[e - 1] == '\t' ||
	                          m[e - 1] == '\r'))
		e--;
	return e;
}

/* Does each COPY block follow a COPY FROM STDIN the parser sees, and each
 * meta line stand outside every statement? */
static bool blanks_hold(const cf_psql_script *ps, const cf_script *s, const char *m)
{
	size_t k = 0;
	for (size_t i = 0; i < ps->n_copies; i++) {
		while (k < s->n_stmts && s->stmts[k].offset < ps->copies[i].stmt_offset)
			k++;
		if (k == s->n_stmts || s->stmts[k].offset != ps->copies[i].stmt_offset ||
		    s->stmts[k].kind != CF_STMT_COPY_STDIN)
			return false;
	}
	k = 0;
	for (size_t i = 0; i < ps->n_blanks; i++) {
		size_t at = ps->blanks[i].start;
		while (k < s->n_stmts && stmt_end(m, &s->stmts[k]) <= at)
			k++;
		if (k < s->n_stmts && s->stmts[k].offset <= at)
			return false; /* inside a statement: a string, a function body */
	}
	return true;
}

static void forget(cf_psql_script *ps)
{
	free(ps->copies);
	free(ps->blanks);
	ps->copies = NULL;
	ps->blanks = NULL;
	ps->n_copies = ps->n_blanks = 0;
}

/* Every COPY block must end with its "\." line. */
static cf_status check_copies(cf_ctx *ctx, const char *file, const cf_psql_script *ps)
{
	for (size_t i = 0; i < ps->n_copies; i++) {
		if (ps->copies[i].is_terminated)
			continue;
		cf_error_set(ctx, CF_ERR_SCHEMA, "COPY data has no terminating \"\\.\" line");
		cf_error_at(ctx, file, ps->copies[i].line, 1);
		cf_error_hint(ctx, "End the data with a line holding only \"\\.\", as pg_dump does; "
		                   "otherwise the rest of the file would be read as data.");
		return CF_ERR_SCHEMA;
	}
	return CF_OK;
}

static cf_status parse_as(cf_ctx *ctx, const char *file, const char *text, size_t len, bool lite,
                          bool scs_off, cf_script **out)
{
	return cf_script_parse_with(ctx, file, text, len, lite, scs_off, out);
}

/* ---- Hints for what does not parse ---------------------------------------------- */

/* A line "COPY ... FROM stdin", as pg_dump writes before inline data. */
static bool has_copy_stdin(const char *text, size_t len)
{
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *eol = line_end(p, end);
		const char *a = p, *b = eol;
		trim(&a, &b);
		if (b - a > 5 && strncasecmp(a, "COPY ", 5) == 0)
			for (const char *c = a + 5; c + 10 <= b; c++)
				if (strncasecmp(c, "from stdin", 10) == 0)
					return true;
		p = eol + 1;
	}
	return false;
}

/* The start of line LINE of TEXT, or NULL. */
static const char *line_at(const char *text, int line)
{
	const char *p = text;
	for (int l = 1; l < line && p; l++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return p;
}

/* Explains the recorded parse error when it comes from something psql reads. */
static void hint(cf_ctx *ctx, const char *text, size_t len)
{
	const cf_error_info *e = cf_last_error_info(ctx);
	if (!e || e->hint)
		return;
	const char *p = e->line > 0 ? line_at(text, e->line) : NULL;
	while (p && (*p == ' ' || *p == '\t'))
		p++;
	if (strncmp(text, "\xEF\xBB\xBF", 3) == 0) {
		cf_error_hint(ctx, "The file starts with a UTF-8 byte order mark, which PostgreSQL "
		                   "does not accept: save it without one.");
	} else if (p && *p == '\\') {
		size_t n = strcspn(p + 1, " \t\r\n") + 1;
		cf_error_hint(ctx, "\"%.*s\" on line %d is a psql meta-command. Lines starting with a "
		                   "backslash are psql meta-commands (\\i, \\set, \\connect, ...): they "
		                   "are not SQL, and confiture runs none of them but pg_dump's \\restrict "
		                   "and \\unrestrict and the data of COPY ... FROM stdin.",
		              (int)(n > 40 ? 40 : n), p, e->line);
	} else if (has_copy_stdin(text, len)) {
		cf_error_hint(ctx, "The file has COPY ... FROM stdin followed by data that could not "
		                   "be told apart from SQL. Write the data as pg_dump does (the "
		                   "statement alone on its line, the data, then a line \"\\.\"), or "
		                   "use INSERT statements.");
	}
}

/* ---- Parsing ----------------------------------------------------------------------- */

/*
 * Parses with the blanks masked. When they do not stand where psql would
 * take them after all, the file as it is decides; when neither parses, the
 * masked parse's error is the one (its positions are the file's).
 */
static cf_status parse_masked(cf_ctx *ctx, const char *file, const char *text, size_t len,
                              bool lite, bool scs_off, cf_psql_script *ps)
{
	char *m = masked_text(ps, text, len);
	cf_ctx *mctx = cf_ctx_new();
	cf_script *ms = NULL;
	cf_status mst = parse_as(mctx, file, m, len, lite, scs_off, &ms);
	cf_status st;
	if (!mst && blanks_hold(ps, ms, m)) {
		/* The statements point into the file's text, not the mask. */
		ms->text = text;
		ps->script = ms;
		st = check_copies(ctx, file, ps);
	} else {
		cf_script_free(ms);
		forget(ps);
		st = parse_as(ctx, file, text, len, lite, scs_off, &ps->script);
		if (st && mst) {
			/* The masked parse's error: its positions are the file's. */
			cf_err_stash stash;
			cf_error_stash(mctx, &stash);
			cf_ctx_clear_error(ctx);
			cf_error_unstash(ctx, &stash);
			st = mst;
		}
	}
	cf_ctx_free(mctx);
	free(m);
	return st;
}

cf_status cf_psql_parse(cf_ctx *ctx, const char *file, const char *text, size_t len, bool lite,
                        cf_psql_script *out)
{
	return cf_psql_parse_with(ctx, file, text, len, lite, false, out);
}

cf_status cf_psql_parse_with(cf_ctx *ctx, const char *file, const char *text, size_t len,
                             bool lite, bool scs_off, cf_psql_script *out)
{
	memset(out, 0, sizeof(*out));
	cf_status st = scan(out, text, len)
	                   ? parse_masked(ctx, file, text, len, lite, scs_off, out)
	                   : parse_as(ctx, file, text, len, lite, scs_off, &out->script);
	if (st == CF_ERR_SCHEMA)
		hint(ctx, text, len);
	if (st)
		cf_psql_script_release(out);
	return st;
}

void cf_psql_script_release(cf_psql_script *p)
{
	cf_script_free(p->script);
	forget(p);
	p->script = NULL;
}

const cf_copyblk *cf_psql_copy_of(const cf_psql_script *p, const cf_stmt *st)
{
	for (size_t i = 0; i < p->n_copies; i++)
		if (p->copies[i].stmt_offset == st->offset)
			return &p->copies[i];
	return NULL;
}

/* ---- COPY data ----------------------------------------------------------------------- */

#define COPY_CHUNK (256 * 1024)

cf_status cf_psql_copy_put(cf_ctx *ctx, cf_pg *pg, const char *text, const cf_copyblk *b)
{
	const char *d = text + b->data_offset;
	size_t left = b->data_len;
	cf_status st = CF_OK;
	while (!st && left) {
		if (cf_ctx_is_cancelled(ctx))
			return cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
		size_t n = left < COPY_CHUNK ? left : COPY_CHUNK;
		st = cf_pg_copy_in_put(pg, d, n);
		d += n;
		left -= n;
	}
	return st;
}

bool cf_psql_copy_locate(cf_ctx *ctx, const char *file, const cf_copyblk *b)
{
	const cf_error_info *e = cf_last_error_info(ctx);
	const char *p = e && e->context ? strstr(e->context, "COPY ") : NULL;
	p = p ? strstr(p, ", line ") : NULL;
	int line = p ? atoi(p + 7) : 0;
	if (line <= 0 || e->file)
		return false;
	cf_error_at(ctx, file, b->data_line + line - 1, 1);
	return true;
}
