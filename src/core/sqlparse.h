/*
 * sqlparse.h -- SQL scripts through libpg_query (the only user of it).
 *
 * A script is parsed once: statements come back with their byte ranges and
 * source positions, and with what confiture needs to know about each one
 * (transaction control, whether it can run inside a transaction block).
 */
#ifndef CF_SQLPARSE_H
#define CF_SQLPARSE_H

#include "confiture.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum cf_stmt_kind {
	CF_STMT_OTHER,
	CF_STMT_BEGIN,     /* BEGIN or START TRANSACTION */
	CF_STMT_COMMIT,    /* COMMIT or END */
	CF_STMT_ROLLBACK,  /* ROLLBACK or ABORT (not ROLLBACK TO) */
	CF_STMT_TXN_OTHER, /* SAVEPOINT, RELEASE, ROLLBACK TO, PREPARE TRANSACTION, ... */
	CF_STMT_COPY_STDIN /* COPY ... FROM STDIN: needs data the script cannot hold */
} cf_stmt_kind;

typedef struct cf_stmt {
	size_t offset;          /* byte offset of the first token in the text */
	size_t len;             /* bytes up to, not including, the ";" */
	int line, column;       /* 1-based position of the first token */
	cf_stmt_kind kind;
	const char *node;       /* parse node name, e.g. "create_stmt" (static) */
	const char *nontx;      /* why it cannot run in a transaction block, or NULL */
	bool is_set;            /* SET or RESET of a run-time parameter (full parse only) */
	bool is_scs_off;        /* split with standard_conforming_strings off */
} cf_stmt;

typedef struct cf_script {
	const char *text;       /* not owned */
	size_t len;
	cf_stmt *stmts;
	size_t n_stmts;
	bool has_no_tx_marker;  /* a "-- confiture:no-transaction" comment */
	bool scs_end;           /* standard_conforming_strings after the last statement */
} cf_script;

/*
 * Parses TEXT (LEN bytes, NUL-terminated). FILE names the source in errors.
 * A syntax error returns CF_ERR_SCHEMA with FILE:LINE:COLUMN and the
 * parser's message. *OUT is freed with cf_script_free; it points into TEXT,
 * which must outlive it. The script starts with standard_conforming_strings
 * on; from a statement that sets it off (SET standard_conforming_strings =
 * off), backslashes in '...' literals are escapes, as psql and the server
 * read them.
 */
cf_status cf_script_parse(cf_ctx *ctx, const char *file, const char *text, size_t len,
                          cf_script **out);
void cf_script_free(cf_script *s);

/* Any statement that cannot run in a transaction block (or the marker). */
bool cf_script_needs_autocommit(const cf_script *s);

/* Must ST run outside a transaction block? Unlike ST->nontx, false for an
 * ALTER TYPE ... ADD VALUE used later in its script: that one may run in a
 * transaction block, it only needs a commit before the use. */
bool cf_stmt_needs_autocommit(const cf_stmt *st);

/* ---- Added for migrate --------------------------------------------------- */

/*
 * What a non-transactional statement creates or drops, so that a run
 * interrupted while it ran can tell from the catalogs whether it completed.
 */
typedef enum cf_target_kind {
	CF_TARGET_NONE,            /* nothing observable (VACUUM, REINDEX, ...) */
	CF_TARGET_CREATE_INDEX,
	CF_TARGET_DROP_INDEX,
	CF_TARGET_CREATE_DATABASE,
	CF_TARGET_DROP_DATABASE,
	CF_TARGET_CREATE_TABLESPACE,
	CF_TARGET_DROP_TABLESPACE,
	CF_TARGET_CREATE_SUBSCRIPTION,
	CF_TARGET_DROP_SUBSCRIPTION
} cf_target_kind;

typedef struct cf_nontx_target {
	cf_target_kind kind;
	char *schema;          /* an index's schema, or NULL (search_path) */
	char *name;            /* the object's name, or NULL when the statement gives none */
} cf_nontx_target;

/* Parses SQL (one statement) and fills *OUT; release with
 * cf_nontx_target_release. CF_ERR_SCHEMA when it does not parse. */
cf_status cf_sql_nontx_target(cf_ctx *ctx, const char *sql, cf_nontx_target *out);
void cf_nontx_target_release(cf_nontx_target *t);

/*
 * Same contract as cf_script_parse, about 20 times faster on large DDL: the
 * script is split by the parser (syntax errors are found and reported the
 * same way), and only statements that may be transaction control, COPY, or
 * unable to run in a transaction block get a parse tree; the others have
 * kind CF_STMT_OTHER, nontx NULL and node NULL.
 */
cf_status cf_script_parse_lite(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               cf_script **out);

/* cf_script_parse (or, with LITE, cf_script_parse_lite) of a script that
 * starts with standard_conforming_strings off when SCS_OFF: one that runs
 * after another script left it off in the same session. */
cf_status cf_script_parse_with(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               bool lite, bool scs_off, cf_script **out);

/* ---- Added for lint: the parse tree itself --------------------------------- */

/*
 * A whole script with its protobuf parse tree (types from
 * <pg_query/pg_query.pb-c.h>; node locations are byte offsets into TEXT),
 * its statements as cf_script has them, and what the scanner saw that the
 * tree drops: comments and over-long identifiers.
 */
struct PgQuery__ParseResult;

typedef struct cf_sql_span {
	size_t start, end;          /* byte range in the text */
} cf_sql_span;

typedef struct cf_sqltree {
	const char *text;           /* not owned */
	size_t len;
	struct PgQuery__ParseResult *pr; /* pr->stmts[i] is statement I */
	cf_stmt *stmts;             /* n_stmts == pr->n_stmts */
	size_t n_stmts;
	cf_sql_span *comments;      /* "--" and block comments, in order */
	size_t n_comments;
	cf_sql_span *long_idents;   /* identifiers over 63 bytes (the parser truncates them) */
	size_t n_long_idents;
	size_t *line_starts;        /* byte offset of each line's first byte */
	size_t n_lines;
} cf_sqltree;

/*
 * Parses TEXT (LEN bytes, NUL-terminated) into *OUT (free with
 * cf_sqltree_free; it points into TEXT). A syntax error is CF_ERR_SCHEMA at
 * FILE:LINE:COLUMN, as with cf_script_parse.
 */
cf_status cf_sqltree_parse(cf_ctx *ctx, const char *file, const char *text, size_t len,
                           cf_sqltree **out);
void cf_sqltree_free(cf_sqltree *t);
/* 1-based line and column (in characters) of byte OFFSET. */
void cf_sqltree_linecol(const cf_sqltree *t, size_t offset, int *line, int *column);
/* The parse node's name, e.g. "index_stmt" (static). */
const char *cf_sqltree_node_name(const void *node);

/* Calls FN on every message under ROOT (a PgQuery message), depth first,
 * ROOT included. FN returns false to skip a message's children. */
typedef bool (*cf_sqltree_visit_fn)(void *ud, const void *message, const char *type_name);
void cf_sqltree_walk(const void *root, cf_sqltree_visit_fn fn, void *ud);

/* Would quote_ident() quote NAME: characters other than a-z, 0-9, _ and $, a
 * leading digit or $, or a keyword that is not unreserved? */
bool cf_sql_ident_needs_quotes(const char *name);

#endif
