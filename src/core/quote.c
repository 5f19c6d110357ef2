/*
 * quote.c -- quoting identifiers and literals, and the SQL builder.
 *
 * The only place where user-provided text is put into SQL text.
 */
#include "pg.h"
#include "pg_internal.h"
#include "secret.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *quote_ident_by_hand(const char *name)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_putc(&b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			cf_buf_putc(&b, '"');
		cf_buf_putc(&b, *p);
	}
	cf_buf_putc(&b, '"');
	return b.data;
}

static char *quote_literal_by_hand(const char *text)
{
	cf_buf b;
	cf_buf_init(&b);
	bool has_backslash = strchr(text, '\\') != NULL;
	cf_buf_puts(&b, has_backslash ? " E'" : "'");
	for (const char *p = text; *p; p++) {
		if (*p == '\'' || *p == '\\')
			cf_buf_putc(&b, *p);
		cf_buf_putc(&b, *p);
	}
	cf_buf_putc(&b, '\'');
	return b.data;
}

/* libpq's results are freed with PQfreemem; hand back malloc'd copies. */
static char *from_libpq(char *s)
{
	if (!s)
		return NULL;
	char *copy = cf_strdup(s);
	PQfreemem(s);
	return copy;
}

char *cf_quote_ident(cf_pg *pg, const char *name)
{
	PGconn *conn = pg ? cf_pg_conn(pg) : NULL;
	char *q = conn ? from_libpq(PQescapeIdentifier(conn, name, strlen(name))) : NULL;
	return q ? q : quote_ident_by_hand(name);
}

char *cf_quote_qualified(cf_pg *pg, const char *name)
{
	const char *dot = strchr(name, '.');
	if (!dot || name[0] == '"')
		return name[0] == '"' ? cf_strdup(name) : cf_quote_ident(pg, name);
	char *schema = cf_strndup(name, (size_t)(dot - name));
	char *qs = cf_quote_ident(pg, schema);
	char *qn = cf_quote_ident(pg, dot + 1);
	char *out = cf_asprintf("%s.%s", qs, qn);
	free(schema);
	free(qs);
	free(qn);
	return out;
}

char *cf_quote_literal(cf_pg *pg, const char *text)
{
	PGconn *conn = pg ? cf_pg_conn(pg) : NULL;
	char *q = conn ? from_libpq(PQescapeLiteral(conn, text, strlen(text))) : NULL;
	return q ? q : quote_literal_by_hand(text);
}

static void sql_vappendf(cf_pg *pg, cf_buf *out, const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			cf_buf_putc(out, *p);
			continue;
		}
		p++;
		char *q = NULL;
		switch (*p) {
		case 'I':
			q = cf_quote_ident(pg, va_arg(ap, const char *));
			break;
		case 'Q':
			q = cf_quote_qualified(pg, va_arg(ap, const char *));
			break;
		case 'L':
			q = cf_quote_literal(pg, va_arg(ap, const char *));
			break;
		case 's':
			cf_buf_puts(out, va_arg(ap, const char *));
			break;
		case 'd':
			cf_buf_printf(out, "%d", va_arg(ap, int));
			break;
		case 'z':
			p++; /* %zu */
			cf_buf_printf(out, "%zu", va_arg(ap, size_t));
			break;
		case 'l':
			if (p[1] == 'l') {
				p += 2;
				cf_buf_printf(out, "%lld", va_arg(ap, long long));
			} else {
				p++;
				cf_buf_printf(out, "%ld", va_arg(ap, long));
			}
			break;
		case '%':
			cf_buf_putc(out, '%');
			break;
		default:
			abort(); /* a bad format is a programming error */
		}
		if (q) {
			cf_buf_puts(out, q);
			free(q);
		}
	}
}

void cf_sql_appendf(cf_pg *pg, cf_buf *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sql_vappendf(pg, out, fmt, ap);
	va_end(ap);
}

char *cf_sql_format(cf_pg *pg, const char *fmt, ...)
{
	cf_buf b;
	cf_buf_init(&b);
	va_list ap;
	va_start(ap, fmt);
	sql_vappendf(pg, &b, fmt, ap);
	va_end(ap);
	return b.data;
}

/* Like %L, for a secret: the quoted copies made on the way are wiped. */
void cf_sql_append_secret(cf_pg *pg, cf_buf *out, const char *secret)
{
	PGconn *conn = pg ? cf_pg_conn(pg) : NULL;
	size_t n = strlen(secret);
	char *q = conn ? PQescapeLiteral(conn, secret, n) : NULL;
	if (q) {
		size_t qn = strlen(q);
		cf_buf_reserve(out, qn + 1);
		cf_buf_append(out, q, qn);
		cf_memzero(q, qn);
		PQfreemem(q);
		return;
	}
	char *h = quote_literal_by_hand(secret);
	size_t hn = strlen(h);
	cf_buf_reserve(out, hn + 1);
	cf_buf_append(out, h, hn);
	cf_memzero(h, hn);
	free(h);
}
