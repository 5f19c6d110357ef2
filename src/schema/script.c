/* script.c -- a change list as one SQL script, hazards listed first. */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

const char *cf_hazard_name(cf_hazard h)
{
	static const char *const names[] = {"additive", "reversible", "lock_risky", "destructive",
	                                    "non_transactional"};
	return (unsigned)h < 5 ? names[h] : "?";
}

void sc_comment_append(cf_buf *b, const char *text)
{
	for (const char *p = text; *p; p++)
		cf_buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
}

/* Prints TEXT as comment lines, each under 100 columns (a line break in TEXT
 * is a space). */
static void comment_wrapped(cf_buf *b, const char *indent, const char *text)
{
	size_t col = 2 + strlen(indent);
	cf_buf_printf(b, "--%s", indent);
	bool first = true;
	for (const char *p = text; *p;) {
		while (*p == ' ' || *p == '\n' || *p == '\r')
			p++;
		size_t n = strcspn(p, " \n\r");
		if (!n)
			break;
		if (!first && col + 1 + n > 96) {
			cf_buf_printf(b, "\n--%s  ", indent);
			col = 4 + strlen(indent);
		} else if (!first) {
			cf_buf_putc(b, ' ');
			col++;
		}
		cf_buf_append(b, p, n);
		col += n;
		p += n;
		first = false;
	}
	cf_buf_putc(b, '\n');
}

static void header(cf_buf *b, const cf_schema_change *c, size_t n, const char *from,
                   const char *to)
{
	size_t by[5] = {0}, refused = 0;
	for (size_t i = 0; i < n; i++) {
		by[c[i].hazard]++;
		refused += c[i].is_refused;
	}
	cf_buf_puts(b, "-- confiture diff: the SQL that turns ");
	sc_comment_append(b, from);
	cf_buf_puts(b, " into ");
	sc_comment_append(b, to);
	cf_buf_puts(b, ".\n");
	cf_buf_puts(b, "-- Review it before running it: see docs/diff.md for the hazards.\n--\n");
	if (!n) {
		cf_buf_puts(b, "-- No differences.\n");
		return;
	}
	cf_buf_printf(b, "-- %zu change%s:", n, n == 1 ? "" : "s");
	const char *sep = " ";
	for (int h = 0; h < 5; h++)
		if (by[h]) {
			cf_buf_printf(b, "%s%zu %s", sep, by[h], cf_hazard_name((cf_hazard)h));
			sep = ", ";
		}
	if (refused)
		cf_buf_printf(b, "; %zu refused", refused);
	cf_buf_puts(b, "\n");
	if (by[CF_HAZARD_LOCK_RISKY] + by[CF_HAZARD_DESTRUCTIVE] + by[CF_HAZARD_NON_TRANSACTIONAL])
		cf_buf_puts(b, "-- Hazards:\n");
	for (size_t i = 0; i < n; i++) {
		if (c[i].hazard < CF_HAZARD_LOCK_RISKY)
			continue;
		char *line = cf_asprintf("%s: %s %s %s%s%s%s", c[i].is_refused ? "refused"
		                                              : cf_hazard_name(c[i].hazard),
		                         c[i].action, c[i].kind, c[i].object, c[i].note ? " (" : "",
		                         c[i].note ? c[i].note : "", c[i].note ? ")" : "");
		comment_wrapped(b, "   ", line);
		free(line);
	}
}

char *sc_diff_script(const cf_schema_change *changes, size_t n, const char *from,
                     const char *to, char *const *notes, size_t n_notes)
{
	cf_buf b;
	cf_buf_init(&b);
	header(&b, changes, n, from, to);
	for (size_t i = 0; i < n_notes; i++) {
		char *line = cf_asprintf("Note: %s", notes[i]);
		comment_wrapped(&b, " ", line);
		free(line);
	}
	bool routines = false;
	for (size_t i = 0; i < n; i++)
		routines |= strcmp(changes[i].kind, "function") == 0 ||
		            strcmp(changes[i].kind, "procedure") == 0;
	if (routines)
		/* Function bodies may name tables created further down (as pg_dump). */
		cf_buf_puts(&b, "\nSET check_function_bodies = false;\n");
	for (size_t i = 0; i < n; i++) {
		const cf_schema_change *c = &changes[i];
		cf_buf_printf(&b, "\n-- %s %s ", c->action, c->kind);
		sc_comment_append(&b, c->object);
		cf_buf_printf(&b, " [%s]\n", c->is_refused ? "refused" : cf_hazard_name(c->hazard));
		cf_buf_puts(&b, c->sql);
	}
	return cf_buf_detach(&b);
}
