/*
 * sqlparse.c -- libpg_query: statements with offsets, positions and kinds.
 *
 * The only user of libpg_query. The parse tree arrives as protobuf; we walk
 * it with protobuf-c (header only, the code is inside libpg_query).
 */
#include "sqlparse.h"
#include "buf.h"
#include "error.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Skips whitespace and comments (nested block comments included). */
static size_t skip_blank(const char *t, size_t i, size_t end)
{
	while (i < end) {
		if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r' || t[i] == '\f') {
			i++;
		} else if (t[i] == '-' && i + 1 < end && t[i + 1] == '-') {
			/* As PostgreSQL's scanner: "\r" ends a comment too. */
			while (i < end && t[i] != '\n' && t[i] != '\r')
				i++;
		} else if (t[i] == '/' && i + 1 < end && t[i + 1] == '*') {
			int depth = 0;
			do {
				if (t[i] == '/' && i + 1 < end && t[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (t[i] == '*' && i + 1 < end && t[i + 1] == '/') {
					depth--;
					i += 2;
				} else {
					i++;
				}
			} while (i < end && depth > 0);
		} else {
			break;
		}
	}
	return i;
}

static bool has_defelem(PgQuery__Node **items, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (items[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(items[i]->def_elem->defname, name) == 0)
			return true;
	return false;
}

/* Does any String node in the tree under M equal NEEDLE? */
static bool tree_has_string(const ProtobufCMessage *m, const char *needle)
{
	if (!m)
		return false;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (d == &pg_query__string__descriptor)
		return strcmp(((const PgQuery__String *)m)->sval, needle) == 0;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const ProtobufCMessage *const *arr =
				*(const ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t j = 0; j < n; j++)
				if (tree_has_string(arr[j], needle))
					return true;
		} else {
			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
				uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
				if (which != f->id)
					continue;
			}
			if (tree_has_string(*(const ProtobufCMessage *const *)(base + f->offset), needle))
				return true;
		}
	}
	return false;
}

static const char *node_name(const PgQuery__Node *n)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor, n->node_case);
	return f ? f->name : "unknown";
}

static cf_stmt_kind txn_kind(const PgQuery__TransactionStmt *t)
{
	switch (t->kind) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		return CF_STMT_BEGIN;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
		return CF_STMT_COMMIT;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		return CF_STMT_ROLLBACK;
	default:
		return CF_STMT_TXN_OTHER;
	}
}

/* Why STMT cannot run inside a transaction block, or NULL. */
static const char *nontx_reason(const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		return n->index_stmt->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		return n->drop_stmt->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
	case PG_QUERY__NODE__NODE_REINDEX_STMT: {
		const PgQuery__ReindexStmt *r = n->reindex_stmt;
		if (has_defelem(r->params, r->n_params, "concurrently"))
			return "REINDEX CONCURRENTLY";
		if (r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA ||
		    r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM ||
		    r->kind == PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE)
			return "REINDEX SCHEMA/SYSTEM/DATABASE";
		return NULL;
	}
	case PG_QUERY__NODE__NODE_VACUUM_STMT:
		return n->vacuum_stmt->is_vacuumcmd ? "VACUUM" : NULL;
	case PG_QUERY__NODE__NODE_CLUSTER_STMT:
		return n->cluster_stmt->relation ? NULL : "CLUSTER without a table";
	case PG_QUERY__NODE__NODE_CREATEDB_STMT:
		return "CREATE DATABASE";
	case PG_QUERY__NODE__NODE_DROPDB_STMT:
		return "DROP DATABASE";
	case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
		return "CREATE TABLESPACE";
	case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
		return "DROP TABLESPACE";
	case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
		return "ALTER SYSTEM";
	case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT:
		return "CREATE SUBSCRIPTION";
	case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
		return "DROP SUBSCRIPTION";
	case PG_QUERY__NODE__NODE_DISCARD_STMT:
		return n->discard_stmt->target == PG_QUERY__DISCARD_MODE__DISCARD_ALL ? "DISCARD ALL"
		                                                                        : NULL;
	default:
		return NULL;
	}
}

static cf_status parse_error(cf_ctx *ctx, const char *file, const char *text, size_t len,
                             size_t base, const PgQueryError *e)
{
	int line = 1, col = 1;
	if (e->cursorpos > 0) {
		size_t off = base + cf_text_char_offset(text + base, len - base, e->cursorpos);
		cf_text_linecol(text, off, &line, &col);
	}
	cf_error_set(ctx, CF_ERR_SCHEMA, "%s", e->message);
	cf_error_at(ctx, file, line, col);
	cf_error_sqlstate(ctx, "42601");
	return CF_ERR_SCHEMA;
}

/* A "-- confiture:no-transaction" comment in TEXT[0..N), found with the scanner. */
static bool scan_no_tx_marker(const char *text, size_t n)
{
	char *piece = cf_strndup(text, n);
	PgQueryScanResult sr = pg_query_scan(piece);
	bool found = false;
	if (!sr.error) {
		PgQuery__ScanResult *scan =
			pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
		for (size_t i = 0; scan && i < scan->n_tokens && !found; i++) {
			const PgQuery__ScanToken *t = scan->tokens[i];
			if (t->token != PG_QUERY__TOKEN__SQL_COMMENT && t->token != PG_QUERY__TOKEN__C_COMMENT)
				continue;
			char *c = cf_strndup(piece + t->start, (size_t)(t->end - t->start));
			found = strstr(c, "confiture:no-transaction") != NULL;
			free(c);
		}
		if (scan)
			pg_query__scan_result__free_unpacked(scan, NULL);
	}
	pg_query_free_scan_result(sr);
	free(piece);
	return found;
}

static bool is_copy_from_stdin(const PgQuery__Node *n)
{
	return n->node_case == PG_QUERY__NODE__NODE_COPY_STMT && n->copy_stmt->is_from &&
	       (!n->copy_stmt->filename || !*n->copy_stmt->filename);
}

/* The reason given to an ALTER TYPE ... ADD VALUE that a later statement uses:
 * it can run in a transaction block, but needs its own transaction. */
static const char ENUM_USED[] = "ALTER TYPE ... ADD VALUE used later in the file";

bool cf_stmt_needs_autocommit(const cf_stmt *st)
{
	return st->nontx && st->nontx != ENUM_USED;
}

/* ---- standard_conforming_strings ---------------------------------------------- */

/*
 * libpg_query's scanner reads backslashes in '...' literals as the server
 * does, from its own (thread-local) copy of the setting. A script that says
 * SET standard_conforming_strings = off is split with the setting off from
 * that statement on, as psql and the server read it: the script is parsed
 * in pieces, a new one starting at each statement that changes the setting.
 */
extern __thread bool standard_conforming_strings;

/* PostgreSQL's parse_bool, enough for this one setting: -1 when not a boolean. */
static int bool_text(const char *v)
{
	static const char *const yes[] = {"on", "true", "yes", "1"}, *const no[] = {"off", "false",
	                                                                             "no", "0"};
	size_t n = strlen(v);
	for (int i = 0; n && i < 4; i++) {
		if (strncasecmp(v, yes[i], n) == 0 && (i || n >= 2))
			return 1;
		if (strncasecmp(v, no[i], n) == 0 && (i || n >= 2))
			return 0;
	}
	return -1;
}

/* The value STMT gives standard_conforming_strings: 0 or 1, -1 when none. */
static int scs_value(const PgQuery__Node *n)
{
	if (!n || n->node_case != PG_QUERY__NODE__NODE_VARIABLE_SET_STMT)
		return -1;
	const PgQuery__VariableSetStmt *v = n->variable_set_stmt;
	if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL)
		return 1;
	if (!v->name || strcmp(v->name, "standard_conforming_strings") != 0)
		return -1;
	if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT ||
	    v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET)
		return 1;
	if (v->kind != PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE || v->n_args != 1 ||
	    v->args[0]->node_case != PG_QUERY__NODE__NODE_A_CONST)
		return -1;
	const PgQuery__AConst *c = v->args[0]->a_const;
	if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL)
		return bool_text(c->sval->sval);
	if (c->val_case == PG_QUERY__A__CONST__VAL_IVAL)
		return c->ival->ival != 0;
	if (c->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL)
		return c->boolval->boolval;
	return -1;
}

/* ---- Building a script ------------------------------------------------------------ */

/* A part of the script split with one standard_conforming_strings value. */
typedef struct piece {
	size_t start;
	bool scs;
} piece;

typedef struct builder {
	cf_ctx *ctx;
	const char *file, *text;
	size_t len;
	bool is_lite;
	bool watch_scs;               /* the text mentions standard_conforming_strings */
	bool scs_start;               /* the setting the script starts with */
	cf_script *s;
	size_t cap;
	PgQuery__ParseResult **trees; /* full mode: one per piece, freed at the end */
	size_t n_trees;
	const PgQuery__Node **nodes;  /* full mode: each statement's tree */
	bool *scs;                    /* each statement's setting */
	piece *pieces;
	size_t n_pieces;
	int line, col;                /* position of last_off */
	size_t last_off;
} builder;

static void classify(cf_stmt *st, const PgQuery__Node *n)
{
	st->node = n ? node_name(n) : "empty";
	if (n && n->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT)
		st->kind = txn_kind(n->transaction_stmt);
	else if (n && is_copy_from_stdin(n))
		st->kind = CF_STMT_COPY_STDIN;
	st->nontx = n ? nontx_reason(n) : NULL;
	st->is_set = n && n->node_case == PG_QUERY__NODE__NODE_VARIABLE_SET_STMT &&
	             n->variable_set_stmt->kind != PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI;
}

/* Adds the statement in TEXT[START..END) unless it is blank; its index or -1. */
static long add_stmt(builder *b, size_t start, size_t end, const PgQuery__Node *n, bool scs)
{
	size_t first = skip_blank(b->text, start, end);
	if (first >= end)
		return -1;
	cf_script *s = b->s;
	if (s->n_stmts == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		s->stmts = cf_realloc(s->stmts, b->cap * sizeof(cf_stmt));
		b->nodes = cf_realloc(b->nodes, b->cap * sizeof(*b->nodes));
		b->scs = cf_realloc(b->scs, b->cap * sizeof(bool));
	}
	size_t i = s->n_stmts++;
	cf_stmt *st = &s->stmts[i];
	memset(st, 0, sizeof(*st));
	st->offset = first;
	st->len = end - first;
	/* Positions advance incrementally: O(n) over the whole file. */
	for (size_t k = b->last_off; k < first; k++) {
		unsigned char ch = (unsigned char)b->text[k];
		if (ch == '\n') {
			b->line++;
			b->col = 1;
		} else if ((ch & 0xC0) != 0x80) {
			b->col++;
		}
	}
	b->last_off = first;
	st->line = b->line;
	st->column = b->col;
	b->nodes[i] = n;
	b->scs[i] = scs;
	st->is_scs_off = !scs;
	if (n)
		classify(st, n);
	return (long)i;
}

static PgQuery__ParseResult *tree_of(const char *text, PgQueryError **err,
                                     PgQueryProtobufParseResult *res)
{
	*res = pg_query_parse_protobuf(text);
	*err = res->error;
	if (res->error)
		return NULL;
	return pg_query__parse_result__unpack(NULL, res->parse_tree.len,
	                                      (const uint8_t *)res->parse_tree.data);
}

/* Parses one statement alone; NULL when it does not parse by itself. */
static PgQuery__ParseResult *parse_one(const char *text, size_t off, size_t len)
{
	char *one = cf_strndup(text + off, len);
	PgQueryProtobufParseResult res;
	PgQueryError *err;
	PgQuery__ParseResult *pr = tree_of(one, &err, &res);
	pg_query_free_protobuf_parse_result(res);
	free(one);
	if (pr && pr->n_stmts != 1) {
		pg_query__parse_result__free_unpacked(pr, NULL);
		pr = NULL;
	}
	return pr;
}

/* Parses TEXT into an unpacked tree (free with free_unpacked); a syntax error
 * is CF_ERR_SCHEMA at FILE:line:column. */
static cf_status parse_tree(cf_ctx *ctx, const char *file, const char *text, size_t len,
                            PgQuery__ParseResult **out)
{
	PgQueryProtobufParseResult res;
	PgQueryError *err;
	*out = tree_of(text, &err, &res);
	cf_status st = err ? parse_error(ctx, file, text, len, 0, err) : CF_OK;
	pg_query_free_protobuf_parse_result(res);
	if (!st && !*out)
		st = cf_error_set(ctx, CF_ERR_INTERNAL, "could not decode the parse tree of \"%s\"",
		                  file);
	return st;
}

/* The setting the statement in TEXT[OFF..OFF+LEN) gives, parsed alone. */
static int scs_of_text(const char *text, size_t off, size_t len)
{
	size_t i = off;
	char w[16];
	i = skip_blank(text, i, off + len);
	size_t k = 0;
	while (i < off + len && k + 1 < sizeof(w) && text[i] != ' ' && text[i] != '\t' &&
	       text[i] != '\n' && text[i] != '\r')
		w[k++] = text[i++];
	w[k] = '\0';
	if (strcasecmp(w, "SET") != 0 && strcasecmp(w, "RESET") != 0)
		return -1;
	PgQuery__ParseResult *pr = parse_one(text, off, len);
	int v = pr ? scs_value(pr->stmts[0]->stmt) : -1;
	if (pr)
		pg_query__parse_result__free_unpacked(pr, NULL);
	return v;
}

/*
 * After a parse error at or after a SET standard_conforming_strings, the
 * text up to that statement (with its ";") is the piece to parse first:
 * the end of the first such prefix whose last statement changes the setting
 * away from SCS, or 0.
 */
static size_t scs_cut(const builder *b, size_t pos, bool scs)
{
	const char *p = b->text + pos;
	while ((p = strcasestr(p, "standard_conforming_strings"))) {
		const char *semi = strchr(p, ';');
		if (!semi)
			return 0;
		size_t cut = (size_t)(semi - b->text) + 1;
		PgQuerySplitResult sp;
		char *prefix = cf_strndup(b->text + pos, cut - pos);
		sp = pg_query_split_with_parser(prefix);
		int v = -1;
		if (!sp.error && sp.n_stmts > 0) {
			const PgQuerySplitStmt *last = sp.stmts[sp.n_stmts - 1];
			size_t s0 = (size_t)last->stmt_location;
			size_t n = last->stmt_len ? (size_t)last->stmt_len : strlen(prefix) - s0;
			v = scs_of_text(prefix, s0, n);
		}
		pg_query_free_split_result(sp);
		free(prefix);
		if (v >= 0 && v != scs)
			return cut;
		p = semi + 1;
	}
	return 0;
}

/* Parses the piece at POS (full parse trees); *TO is the setting the next
 * piece starts with (at *NEXT), or -1 when this piece runs to the end. */
static cf_status piece_full(builder *b, size_t pos, bool scs, size_t *next, int *to)
{
	PgQueryProtobufParseResult res;
	PgQueryError *err;
	size_t limit = b->len;
	PgQuery__ParseResult *pr = tree_of(b->text + pos, &err, &res);
	size_t cut = err && b->watch_scs ? scs_cut(b, pos, scs) : 0;
	if (cut) {
		char *prefix = cf_strndup(b->text + pos, cut - pos);
		PgQueryProtobufParseResult res2;
		PgQuery__ParseResult *pr2 = tree_of(prefix, &err, &res2);
		free(prefix);
		if (pr2) {
			pg_query_free_protobuf_parse_result(res);
			res = res2;
			pr = pr2;
			limit = cut;
		} else {
			pg_query_free_protobuf_parse_result(res2);
			err = res.error;
		}
	}
	if (err) {
		cf_status st = parse_error(b->ctx, b->file, b->text, b->len, pos, err);
		pg_query_free_protobuf_parse_result(res);
		return st;
	}
	pg_query_free_protobuf_parse_result(res);
	if (!pr)
		return cf_error_set(b->ctx, CF_ERR_INTERNAL, "could not decode the parse tree of \"%s\"",
		                    b->file);
	b->trees = cf_realloc(b->trees, (b->n_trees + 1) * sizeof(*b->trees));
	b->trees[b->n_trees++] = pr;
	for (size_t i = 0; i < pr->n_stmts; i++) {
		const PgQuery__RawStmt *raw = pr->stmts[i];
		size_t s0 = pos + (size_t)raw->stmt_location;
		size_t e0 = raw->stmt_len ? s0 + (size_t)raw->stmt_len : limit;
		add_stmt(b, s0, e0, raw->stmt, scs);
		int v = b->watch_scs ? scs_value(raw->stmt) : -1;
		if (v >= 0 && v != scs) {
			*next = e0;
			*to = v;
			break;
		}
	}
	return CF_OK;
}

/* Same as piece_full, with the parser's split only (no trees kept). */
static cf_status piece_lite(builder *b, size_t pos, bool scs, size_t *next, int *to)
{
	size_t limit = b->len;
	PgQuerySplitResult res = pg_query_split_with_parser(b->text + pos);
	size_t cut = res.error && b->watch_scs ? scs_cut(b, pos, scs) : 0;
	if (cut) {
		char *prefix = cf_strndup(b->text + pos, cut - pos);
		PgQuerySplitResult res2 = pg_query_split_with_parser(prefix);
		free(prefix);
		if (!res2.error) {
			pg_query_free_split_result(res);
			res = res2;
			limit = cut;
		} else {
			pg_query_free_split_result(res2);
		}
	}
	if (res.error) {
		cf_status st = parse_error(b->ctx, b->file, b->text, b->len, pos, res.error);
		pg_query_free_split_result(res);
		return st;
	}
	for (int i = 0; i < res.n_stmts; i++) {
		size_t s0 = pos + (size_t)res.stmts[i]->stmt_location;
		size_t e0 = res.stmts[i]->stmt_len ? s0 + (size_t)res.stmts[i]->stmt_len : limit;
		long k = add_stmt(b, s0, e0, NULL, scs);
		if (k < 0 || !b->watch_scs)
			continue;
		const cf_stmt *st = &b->s->stmts[k];
		int v = scs_of_text(b->text, st->offset, st->len);
		if (v >= 0 && v != scs) {
			*next = e0;
			*to = v;
			break;
		}
	}
	pg_query_free_split_result(res);
	return CF_OK;
}

static cf_status build_pieces(builder *b)
{
	size_t pos = 0;
	bool scs = b->scs_start;
	cf_status st = CF_OK;
	for (;;) {
		b->pieces = cf_realloc(b->pieces, (b->n_pieces + 1) * sizeof(piece));
		b->pieces[b->n_pieces++] = (piece){pos, scs};
		standard_conforming_strings = scs;
		size_t next = 0;
		int to = -1;
		st = b->is_lite ? piece_lite(b, pos, scs, &next, &to) : piece_full(b, pos, scs, &next, &to);
		if (st || to < 0)
			break;
		pos = next;
		scs = to != 0;
	}
	return st;
}

/* ALTER TYPE ... ADD VALUE is only a problem when a later statement uses it.
 * NODES[i] is statement I's tree (NULL when it has none). */
static void mark_enum_nodes(const PgQuery__Node *const *nodes, cf_stmt *stmts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const PgQuery__Node *a = nodes[i];
		if (!a || a->node_case != PG_QUERY__NODE__NODE_ALTER_ENUM_STMT ||
		    !a->alter_enum_stmt->new_val || !*a->alter_enum_stmt->new_val)
			continue;
		for (size_t j = i + 1; j < n; j++)
			if (nodes[j] && tree_has_string((const ProtobufCMessage *)nodes[j],
			                                a->alter_enum_stmt->new_val)) {
				stmts[i].nontx = ENUM_USED;
				break;
			}
	}
}

static void mark_enum_uses(builder *b)
{
	mark_enum_nodes(b->nodes, b->s->stmts, b->s->n_stmts);
}

static void lite_classify(builder *b);

static bool has_no_tx_marker(const builder *b)
{
	if (!strstr(b->text, "confiture:no-transaction"))
		return false;
	for (size_t i = 0; i < b->n_pieces; i++) {
		size_t end = i + 1 < b->n_pieces ? b->pieces[i + 1].start : b->len;
		standard_conforming_strings = b->pieces[i].scs;
		if (scan_no_tx_marker(b->text + b->pieces[i].start, end - b->pieces[i].start))
			return true;
	}
	return false;
}

static cf_status script_build(cf_ctx *ctx, const char *file, const char *text, size_t len,
                              bool is_lite, bool scs, cf_script **out)
{
	*out = NULL;
	cf_script *s = cf_calloc(1, sizeof(*s));
	s->text = text;
	s->len = len;
	builder b = {.ctx = ctx, .file = file, .text = text, .len = len, .is_lite = is_lite,
	             .s = s, .line = 1, .col = 1, .scs_start = scs};
	b.watch_scs = !scs || strcasestr(text, "standard_conforming_strings") != NULL;
	cf_status st = build_pieces(&b);
	if (!st) {
		if (is_lite)
			lite_classify(&b);
		else
			mark_enum_uses(&b);
		s->has_no_tx_marker = has_no_tx_marker(&b);
		s->scs_end = b.pieces[b.n_pieces - 1].scs;
	}
	standard_conforming_strings = true;
	for (size_t i = 0; i < b.n_trees; i++)
		pg_query__parse_result__free_unpacked(b.trees[i], NULL);
	free(b.trees);
	free(b.nodes);
	free(b.scs);
	free(b.pieces);
	if (st) {
		cf_script_free(s);
		return st;
	}
	if (!s->stmts)
		s->stmts = cf_calloc(1, sizeof(cf_stmt));
	*out = s;
	return CF_OK;
}

cf_status cf_script_parse(cf_ctx *ctx, const char *file, const char *text, size_t len,
                          cf_script **out)
{
	return script_build(ctx, file, text, len, false, true, out);
}

void cf_script_free(cf_script *s)
{
	if (!s)
		return;
	free(s->stmts);
	free(s);
}

bool cf_script_needs_autocommit(const cf_script *s)
{
	if (s->has_no_tx_marker)
		return true;
	for (size_t i = 0; i < s->n_stmts; i++)
		if (s->stmts[i].nontx)
			return true;
	return false;
}

/* ---- Added for migrate: what a non-transactional statement targets ------- */

static char *nonempty(const char *s)
{
	return s && *s ? cf_strdup(s) : NULL;
}

/* The first object of a DROP: a List of String nodes, [schema.]name. */
static void drop_target(const PgQuery__DropStmt *d, cf_nontx_target *t)
{
	if (d->n_objects < 1 || d->objects[0]->node_case != PG_QUERY__NODE__NODE_LIST)
		return;
	const PgQuery__List *l = d->objects[0]->list;
	if (l->n_items < 1 || l->items[l->n_items - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
		return;
	t->name = nonempty(l->items[l->n_items - 1]->string->sval);
	if (l->n_items >= 2 && l->items[l->n_items - 2]->node_case == PG_QUERY__NODE__NODE_STRING)
		t->schema = nonempty(l->items[l->n_items - 2]->string->sval);
}

static void fill_target(const PgQuery__Node *n, cf_nontx_target *t)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		t->kind = CF_TARGET_CREATE_INDEX;
		t->name = nonempty(n->index_stmt->idxname);
		if (n->index_stmt->relation)
			t->schema = nonempty(n->index_stmt->relation->schemaname);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		if (n->drop_stmt->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_INDEX)
			break;
		t->kind = CF_TARGET_DROP_INDEX;
		drop_target(n->drop_stmt, t);
		break;
	case PG_QUERY__NODE__NODE_CREATEDB_STMT:
		t->kind = CF_TARGET_CREATE_DATABASE;
		t->name = nonempty(n->createdb_stmt->dbname);
		break;
	case PG_QUERY__NODE__NODE_DROPDB_STMT:
		t->kind = CF_TARGET_DROP_DATABASE;
		t->name = nonempty(n->dropdb_stmt->dbname);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
		t->kind = CF_TARGET_CREATE_TABLESPACE;
		t->name = nonempty(n->create_table_space_stmt->tablespacename);
		break;
	case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
		t->kind = CF_TARGET_DROP_TABLESPACE;
		t->name = nonempty(n->drop_table_space_stmt->tablespacename);
		break;
	case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT:
		t->kind = CF_TARGET_CREATE_SUBSCRIPTION;
		t->name = nonempty(n->create_subscription_stmt->subname);
		break;
	case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
		t->kind = CF_TARGET_DROP_SUBSCRIPTION;
		t->name = nonempty(n->drop_subscription_stmt->subname);
		break;
	default:
		break;
	}
}

cf_status cf_sql_nontx_target(cf_ctx *ctx, const char *sql, cf_nontx_target *out)
{
	memset(out, 0, sizeof(*out));
	PgQuery__ParseResult *pr = NULL;
	cf_status st = parse_tree(ctx, "(statement)", sql, strlen(sql), &pr);
	if (st)
		return st;
	if (pr->n_stmts >= 1 && pr->stmts[0]->stmt)
		fill_target(pr->stmts[0]->stmt, out);
	pg_query__parse_result__free_unpacked(pr, NULL);
	return CF_OK;
}

void cf_nontx_target_release(cf_nontx_target *t)
{
	free(t->schema);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

/* ---- Lighter parsing for large scripts ------------------------------------ */

/* Reads the word at T[*I] (letters, digits, "_") after blanks and comments. */
static size_t next_word(const char *t, size_t *i, size_t end, char *w, size_t wmax)
{
	*i = skip_blank(t, *i, end);
	size_t n = 0;
	while (*i < end) {
		char c = t[*i];
		bool is_word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		               (c >= '0' && c <= '9');
		if (!is_word)
			break;
		if (n + 1 < wmax)
			w[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		(*i)++;
	}
	w[n] = '\0';
	return n;
}

static bool word_in(const char *w, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(w, set[i]) == 0)
			return true;
	return false;
}

/*
 * Could the statement be transaction control, COPY, or one that cannot run
 * in a transaction block? Only its first words are read; a "yes" is then
 * settled with a parse tree, so false positives cost time, never accuracy.
 */
static bool needs_tree(const char *t, size_t start, size_t end)
{
	static const char *const first[] = {
		"VACUUM", "CLUSTER",   "REINDEX", "DISCARD", "BEGIN",   "START",   "COMMIT",
		"END",    "ROLLBACK",  "ABORT",   "SAVEPOINT", "RELEASE", "PREPARE", "COPY", NULL};
	static const char *const objects[] = {"DATABASE", "TABLESPACE", "SUBSCRIPTION", NULL};
	char w[4][16];
	size_t i = start;
	for (int k = 0; k < 4; k++)
		next_word(t, &i, end, w[k], sizeof(w[k]));
	if (word_in(w[0], first))
		return true;
	if (strcmp(w[0], "CREATE") == 0 || strcmp(w[0], "DROP") == 0)
		return word_in(w[1], objects) || strcmp(w[2], "CONCURRENTLY") == 0 ||
		       strcmp(w[3], "CONCURRENTLY") == 0;
	if (strcmp(w[0], "ALTER") == 0)
		return strcmp(w[1], "SYSTEM") == 0 || strcmp(w[1], "TYPE") == 0;
	return false;
}

/*
 * Could the tree of T[0..LEN) hold a String node equal to VAL? A string
 * constant or a quoted identifier can spell VAL with escapes ('it''s',
 * E'\x68', U&'\0068', 'a' 'b' across lines), so any quote sends the statement
 * to the parser; without quotes there are only bare words, which the parser
 * folds to lower case.
 */
static bool may_hold_string(const char *t, size_t len, const char *val, size_t vl)
{
	if (memchr(t, '\'', len) || memchr(t, '"', len))
		return true;
	for (size_t i = 0; i + vl <= len; i++)
		if (strncasecmp(t + i, val, vl) == 0)
			return true;
	return false;
}

/* ALTER TYPE ... ADD VALUE 'v' at I: does a later statement use 'v'? */
static void lite_enum_uses(builder *b, size_t i, const char *val)
{
	cf_script *s = b->s;
	size_t vl = strlen(val);
	for (size_t j = i + 1; j < s->n_stmts; j++) {
		const cf_stmt *later = &s->stmts[j];
		if (!may_hold_string(s->text + later->offset, later->len, val, vl))
			continue;
		standard_conforming_strings = b->scs[j];
		PgQuery__ParseResult *pr = parse_one(s->text, later->offset, later->len);
		bool uses = pr && tree_has_string((const ProtobufCMessage *)pr->stmts[0]->stmt, val);
		if (pr)
			pg_query__parse_result__free_unpacked(pr, NULL);
		if (uses) {
			s->stmts[i].nontx = ENUM_USED;
			return;
		}
	}
}

/* Parse trees for the statements needs_tree picks. */
static void lite_classify(builder *b)
{
	cf_script *s = b->s;
	for (size_t i = 0; i < s->n_stmts; i++) {
		cf_stmt *st = &s->stmts[i];
		if (!needs_tree(s->text, st->offset, st->offset + st->len))
			continue;
		standard_conforming_strings = b->scs[i];
		PgQuery__ParseResult *pr = parse_one(s->text, st->offset, st->len);
		if (!pr)
			continue;
		const PgQuery__Node *n = pr->stmts[0]->stmt;
		classify(st, n);
		if (n && n->node_case == PG_QUERY__NODE__NODE_ALTER_ENUM_STMT &&
		    n->alter_enum_stmt->new_val && *n->alter_enum_stmt->new_val)
			lite_enum_uses(b, i, n->alter_enum_stmt->new_val);
		pg_query__parse_result__free_unpacked(pr, NULL);
	}
}

cf_status cf_script_parse_lite(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               cf_script **out)
{
	return script_build(ctx, file, text, len, true, true, out);
}

cf_status cf_script_parse_with(cf_ctx *ctx, const char *file, const char *text, size_t len,
                               bool lite, bool scs_off, cf_script **out)
{
	return script_build(ctx, file, text, len, lite, !scs_off, out);
}

/* ---- Added for lint: the parse tree itself --------------------------------- */

const char *cf_sqltree_node_name(const void *node)
{
	return node_name(node);
}

static void walk(const ProtobufCMessage *m, cf_sqltree_visit_fn fn, void *ud)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (!fn(ud, m, d->short_name))
		return;
	const char *base = (const char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const ProtobufCMessage *const *arr =
				*(const ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t j = 0; j < n; j++)
				if (arr[j])
					walk(arr[j], fn, ud);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *child = *(const ProtobufCMessage *const *)(base + f->offset);
		if (child)
			walk(child, fn, ud);
	}
}

void cf_sqltree_walk(const void *root, cf_sqltree_visit_fn fn, void *ud)
{
	if (root)
		walk(root, fn, ud);
}

/* Bytes of an identifier token once dequoted ("" counts as one). */
static size_t ident_bytes(const char *t, size_t start, size_t end)
{
	if (end - start < 2 || t[start] != '"')
		return end - start;
	size_t n = 0;
	for (size_t i = start + 1; i + 1 < end; i++, n++)
		if (t[i] == '"' && t[i + 1] == '"')
			i++;
	return n;
}

static void span_push(cf_sql_span **v, size_t *n, size_t start, size_t end)
{
	*v = cf_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (cf_sql_span){start, end};
}

/* Comments and over-long identifiers, from the scanner. */
static void scan_extras(cf_sqltree *t)
{
	PgQueryScanResult sr = pg_query_scan(t->text);
	PgQuery__ScanResult *scan = NULL;
	if (!sr.error)
		scan = pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
	for (size_t i = 0; scan && i < scan->n_tokens; i++) {
		const PgQuery__ScanToken *k = scan->tokens[i];
		size_t a = (size_t)k->start, b = (size_t)k->end;
		if (k->token == PG_QUERY__TOKEN__SQL_COMMENT || k->token == PG_QUERY__TOKEN__C_COMMENT)
			span_push(&t->comments, &t->n_comments, a, b);
		else if (k->token == PG_QUERY__TOKEN__IDENT && ident_bytes(t->text, a, b) > 63)
			span_push(&t->long_idents, &t->n_long_idents, a, b);
	}
	if (scan)
		pg_query__scan_result__free_unpacked(scan, NULL);
	pg_query_free_scan_result(sr);
}

static void index_lines(cf_sqltree *t)
{
	size_t n = 1;
	for (size_t i = 0; i < t->len; i++)
		n += t->text[i] == '\n';
	t->line_starts = cf_malloc(n * sizeof(size_t));
	t->line_starts[0] = 0;
	t->n_lines = 1;
	for (size_t i = 0; i < t->len; i++)
		if (t->text[i] == '\n')
			t->line_starts[t->n_lines++] = i + 1;
}

void cf_sqltree_linecol(const cf_sqltree *t, size_t offset, int *line, int *column)
{
	if (offset > t->len)
		offset = t->len;
	size_t lo = 0, hi = t->n_lines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->line_starts[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	int col = 1;
	for (size_t i = t->line_starts[lo]; i < offset; i++)
		col += ((unsigned char)t->text[i] & 0xC0) != 0x80;
	*line = (int)lo + 1;
	*column = col;
}

cf_status cf_sqltree_parse(cf_ctx *ctx, const char *file, const char *text, size_t len,
                           cf_sqltree **out)
{
	*out = NULL;
	PgQuery__ParseResult *pr = NULL;
	cf_status st = parse_tree(ctx, file, text, len, &pr);
	if (st)
		return st;
	cf_sqltree *t = cf_calloc(1, sizeof(*t));
	t->text = text;
	t->len = len;
	t->pr = pr;
	index_lines(t);
	t->stmts = cf_calloc(pr->n_stmts ? pr->n_stmts : 1, sizeof(cf_stmt));
	t->n_stmts = pr->n_stmts;
	for (size_t i = 0; i < pr->n_stmts; i++) {
		const PgQuery__RawStmt *raw = pr->stmts[i];
		size_t start = (size_t)raw->stmt_location;
		size_t end = raw->stmt_len ? start + (size_t)raw->stmt_len : len;
		cf_stmt *s = &t->stmts[i];
		s->offset = skip_blank(text, start, end);
		s->len = end - s->offset;
		cf_sqltree_linecol(t, s->offset, &s->line, &s->column);
		classify(s, raw->stmt);
	}
	const PgQuery__Node **nodes = cf_calloc(pr->n_stmts + 1, sizeof(*nodes));
	for (size_t i = 0; i < pr->n_stmts; i++)
		nodes[i] = pr->stmts[i]->stmt;
	mark_enum_nodes(nodes, t->stmts, t->n_stmts);
	free(nodes);
	scan_extras(t);
	*out = t;
	return CF_OK;
}

void cf_sqltree_free(cf_sqltree *t)
{
	if (!t)
		return;
	if (t->pr)
		pg_query__parse_result__free_unpacked(t->pr, NULL);
	free(t->stmts);
	free(t->comments);
	free(t->long_idents);
	free(t->line_starts);
	free(t);
}

bool cf_sql_ident_needs_quotes(const char *name)
{
	if (!*name || !((*name >= 'a' && *name <= 'z') || *name == '_'))
		return true;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
			return true;
	/* A keyword other than an unreserved one: ask the scanner. */
	PgQueryScanResult sr = pg_query_scan(name);
	bool kw = false;
	if (!sr.error) {
		PgQuery__ScanResult *scan =
			pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
		kw = scan && scan->n_tokens == 1 &&
		     scan->tokens[0]->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
		     scan->tokens[0]->keyword_kind != PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD;
		if (scan)
			pg_query__scan_result__free_unpacked(scan, NULL);
	}
	pg_query_free_scan_result(sr);
	return kw;
}
