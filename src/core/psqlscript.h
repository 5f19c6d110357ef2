/*
 * psqlscript.h -- a SQL file as psql reads it: SQL statements, the inline
 * data of COPY ... FROM stdin, and the \restrict / \unrestrict lines that
 * pg_dump writes around a dump. Build, seed and migrate read files through
 * it, so that what psql accepts they accept, and refuse the same way what
 * they do not run (other meta-commands).
 */
#ifndef CF_PSQLSCRIPT_H
#define CF_PSQLSCRIPT_H

#include "confiture.h"
#include "pg.h"
#include "sqlparse.h"

#include <stdbool.h>
#include <stddef.h>

/* A COPY ... FROM stdin statement's inline data:
 *
 *   COPY public.users (id, email) FROM stdin;
 *   1	ada@example.com
 *   \.
 */
typedef struct cf_copyblk {
	size_t stmt_offset;   /* the COPY statement's first byte */
	size_t data_offset;   /* the first data byte (the line after the statement) */
	size_t data_len;      /* data bytes, up to the "\." line */
	size_t end_offset;    /* the end of the "\." line (its newline excluded) */
	int line;             /* the statement's line */
	int data_line;        /* the first data line */
	bool is_terminated;   /* a "\." line ends the data */
} cf_copyblk;

/* A byte range of the text that is not SQL. */
typedef struct cf_span {
	size_t start, end;
} cf_span;

typedef struct cf_psql_script {
	cf_script *script;    /* the statements; offsets and lines are the file's */
	cf_copyblk *copies;   /* in order, one per COPY ... FROM stdin statement */
	size_t n_copies;
	cf_span *blanks;      /* not SQL, in order: COPY data with its "\." line, \restrict lines */
	size_t n_blanks;
} cf_psql_script;

/*
 * Parses TEXT (LEN bytes, NUL-terminated, from FILE) as psql would read it:
 * COPY data and pg_dump's "\restrict KEY" / "\unrestrict KEY" lines are left
 * out of the SQL (each checked to stand where psql would take it: data right
 * after a COPY ... FROM stdin, meta lines between statements), and the rest
 * is parsed (cf_script_parse_lite when LITE, else cf_script_parse). Errors
 * are CF_ERR_SCHEMA at FILE:LINE:COLUMN; other meta-commands (\i, \set, ...)
 * are refused with a hint naming the line and the command. *OUT points into
 * TEXT, which must outlive it; release it with cf_psql_script_release.
 */
cf_status cf_psql_parse(cf_ctx *ctx, const char *file, const char *text, size_t len, bool lite,
                        cf_psql_script *out);
/* The same for a file that starts with standard_conforming_strings off
 * (SCS_OFF): in one session, after a file that set it off. */
cf_status cf_psql_parse_with(cf_ctx *ctx, const char *file, const char *text, size_t len,
                             bool lite, bool scs_off, cf_psql_script *out);
void cf_psql_script_release(cf_psql_script *p);

/* The inline data of the COPY statement ST, or NULL. */
const cf_copyblk *cf_psql_copy_of(const cf_psql_script *p, const cf_stmt *st);

/*
 * Once a COPY ... FROM stdin has started on PG, streams the data of B (in
 * TEXT) with PQputCopyData, in chunks; the caller ends the COPY.
 * CF_ERR_CANCELLED when cancelled (the caller then aborts the COPY).
 */
cf_status cf_psql_copy_put(cf_ctx *ctx, cf_pg *pg, const char *text, const cf_copyblk *b);

/* Puts a recorded COPY data error at its line of FILE, when the server named
 * the row ("COPY t, line N": the block's first data line counts as 1). True
 * when it did. */
bool cf_psql_copy_locate(cf_ctx *ctx, const char *file, const cf_copyblk *b);

#endif
