/*
 * script.c -- preparing a migration file for the server.
 *
 * The file is parsed once, as psql reads it (psqlscript.c: COPY ... FROM
 * stdin with its inline data, pg_dump's \restrict lines). Transaction
 * control is decided from the parse tree, never with a regex: a BEGIN ...
 * COMMIT pair around the whole file (SET statements may come before the
 * BEGIN) is stripped, since the migration gets its own transaction, while
 * "DO $$ BEGIN ... END $$" is just one statement.
 *
 * The text sent keeps every statement where it is in the file: stripped
 * statements are blanked (a space per character), and the lines that are
 * not SQL (COPY data, \restrict) are emptied, their newlines kept. A server
 * error position, counted in the text sent, then maps to the file's line
 * and column. It goes in one message, or in a few when the file changes
 * standard_conforming_strings (see find_pieces).
 */
#include "migrate_int.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_SKIP SIZE_MAX

static cf_status stmt_error(cf_ctx *ctx, const mig_script *s, const cf_stmt *st, const char *fmt,
                            const char *what)
{
	cf_error_set(ctx, CF_ERR_SQL, fmt, what);
	cf_error_at(ctx, s->file, st->line, st->column);
	return CF_ERR_SQL;
}

static const char *kind_word(const cf_stmt *st)
{
	switch (st->kind) {
	case CF_STMT_BEGIN: return "BEGIN";
	case CF_STMT_COMMIT: return "COMMIT";
	case CF_STMT_ROLLBACK: return "ROLLBACK";
	default: return "transaction control";
	}
}

static bool is_txn(const cf_stmt *st)
{
	return st->kind == CF_STMT_BEGIN || st->kind == CF_STMT_COMMIT || st->kind == CF_STMT_ROLLBACK;
}

/* A BEGIN ... COMMIT that leaves statement AT outside it. */
static cf_status partial_block(cf_ctx *ctx, const mig_script *s, const cf_stmt *at)
{
	cf_error_set(ctx, CF_ERR_SQL, "the BEGIN ... COMMIT block does not wrap the whole migration");
	cf_error_at(ctx, s->file, at->line, at->column);
	cf_error_detail(ctx, "This statement is outside the block. A BEGIN ... COMMIT may wrap the "
	                     "whole file (with SET statements before the BEGIN), and is then "
	                     "stripped: each migration runs in one transaction with its ledger row.");
	cf_error_hint(ctx, "Move the statement inside the block, or remove the BEGIN and COMMIT.");
	return CF_ERR_SQL;
}

/*
 * Finds the wrapper: SET statements, then BEGIN, ..., then a COMMIT that
 * ends the file. A block that wraps only part of the file is refused at the
 * first statement outside it.
 */
static cf_status find_wrapper(cf_ctx *ctx, mig_script *s)
{
	const cf_script *p = s->parsed;
	size_t n = p->n_stmts, i0 = 0, b = n, c = n;
	while (i0 < n && p->stmts[i0].is_set)
		i0++;
	for (size_t i = 0; i < n && b == n; i++)
		if (p->stmts[i].kind == CF_STMT_BEGIN)
			b = i;
	for (size_t i = b + 1; i < n && c == n; i++)
		if (is_txn(&p->stmts[i]))
			c = i;
	if (b == n || c == n || p->stmts[c].kind != CF_STMT_COMMIT)
		return CF_OK; /* no block: any transaction control is refused later */
	if (i0 < b)
		return partial_block(ctx, s, &p->stmts[i0]);
	if (c + 1 < n)
		return partial_block(ctx, s, &p->stmts[c + 1]);
	s->was_wrapped = true;
	s->wrap_begin = b;
	s->last = n - 1;
	if (b == 0)
		s->first = 1;
	else
		s->skip = b;
	return CF_OK;
}

/* Refuses transaction control anywhere but the wrapper, and COPY FROM
 * STDIN without inline data. */
static cf_status check_txn(cf_ctx *ctx, mig_script *s)
{
	cf_script *p = s->parsed;
	s->first = 0;
	s->last = p->n_stmts;
	s->skip = NO_SKIP;
	cf_status rc = find_wrapper(ctx, s);
	for (size_t k = 0; !rc && k < mig_script_count(s); k++) {
		const cf_stmt *st = &p->stmts[mig_script_nth(s, k)];
		if (is_txn(st)) {
			rc = stmt_error(ctx, s, st, "%s in the middle of a migration is not allowed",
			                kind_word(st));
			cf_error_detail(ctx, "Each migration runs in one transaction with its ledger row; "
			                     "a %s here would split it, leaving the ledger wrong after a "
			                     "failure.", kind_word(st));
			cf_error_hint(ctx, "Remove it. For statements that cannot run in a transaction, "
			                   "add a \"-- confiture:no-transaction\" comment to the file.");
		} else if (st->kind == CF_STMT_COPY_STDIN && !cf_psql_copy_of(&s->ps, st)) {
			rc = stmt_error(ctx, s, st, "%s without data", "COPY ... FROM STDIN");
			cf_error_hint(ctx, "Put the statement alone on its line, followed by the data and a "
			                   "line \"\\.\", as pg_dump writes it.");
		}
	}
	return rc;
}

static bool in_wrapper(const mig_script *s, size_t i)
{
	if (!s->was_wrapped)
		return false;
	const cf_stmt *v = s->parsed->stmts;
	size_t n = s->parsed->n_stmts;
	size_t cut[2][2] = {{v[s->wrap_begin].offset, v[s->wrap_begin].offset + v[s->wrap_begin].len},
	                    {v[n - 1].offset, v[n - 1].offset + v[n - 1].len}};
	for (int r = 0; r < 2; r++) {
		if (cut[r][1] < s->len && s->text[cut[r][1]] == ';')
			cut[r][1]++;
		if (i >= cut[r][0] && i < cut[r][1])
			return true;
	}
	return false;
}

/* The text sent (see the file comment); SEND_AT gets each statement's
 * offset in it. */
static char *send_text(const mig_script *s, size_t *send_at)
{
	const cf_stmt *v = s->parsed->stmts;
	size_t n = s->parsed->n_stmts, j = 0;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_reserve(&b, s->len);
	size_t k = 0;
	for (size_t i = 0; i < s->len; i++) {
		while (j < n && v[j].offset == i)
			send_at[j++] = b.len;
		unsigned char ch = (unsigned char)s->text[i];
		while (k < s->ps.n_blanks && s->ps.blanks[k].end <= i)
			k++;
		bool not_sql = k < s->ps.n_blanks && i >= s->ps.blanks[k].start;
		if (ch == '\n' || (!not_sql && !in_wrapper(s, i)))
			cf_buf_putc(&b, (char)ch);
		else if (!not_sql && (ch & 0xC0) != 0x80)
			cf_buf_putc(&b, ' ');
	}
	while (j < n)
		send_at[j++] = b.len;
	return b.data;
}

/*
 * The server parses a whole message before it runs any of it, so a
 * SET standard_conforming_strings changes how it reads the next message
 * only (psql sends one statement at a time): the statements after one that
 * changes the setting start a new message.
 */
static void find_pieces(mig_script *s)
{
	size_t n = mig_script_count(s);
	s->piece_k = cf_calloc(n + 1, sizeof(size_t));
	s->n_pieces = 1;
	for (size_t k = 1; k < n; k++)
		if (s->parsed->stmts[mig_script_nth(s, k)].is_scs_off !=
		    s->parsed->stmts[mig_script_nth(s, k - 1)].is_scs_off)
			s->piece_k[s->n_pieces++] = k;
}

cf_status mig_script_prepare(cf_ctx *ctx, const char *file, char *text, size_t len,
                             mig_script *out)
{
	memset(out, 0, sizeof(*out));
	out->file = file;
	out->text = text;
	out->len = len;
	cf_status st = cf_psql_parse(ctx, file, text, len, false, &out->ps);
	if (st) {
		/* A migration that cannot run is a failed migration (exit 3). */
		cf_error_recode(ctx, CF_ERR_SQL);
		return st == CF_ERR_CANCELLED ? st : CF_ERR_SQL;
	}
	out->parsed = out->ps.script;
	st = check_txn(ctx, out);
	if (st)
		return st;
	if (out->was_wrapped)
		cf_log_warning(ctx, "%s: stripped the BEGIN/COMMIT around the file; confiture runs "
		                    "each migration in its own transaction", file);
	out->is_nontx = out->parsed->has_no_tx_marker;
	if (out->is_nontx)
		out->nontx_why = "-- confiture:no-transaction";
	for (size_t k = 0; k < mig_script_count(out) && !out->is_nontx; k++) {
		const cf_stmt *s = &out->parsed->stmts[mig_script_nth(out, k)];
		if (s->nontx) {
			out->is_nontx = true;
			out->nontx_why = s->nontx;
		}
	}
	out->send_at = cf_calloc(out->parsed->n_stmts + 1, sizeof(size_t));
	out->send = send_text(out, out->send_at);
	find_pieces(out);
	return CF_OK;
}

void mig_script_release(mig_script *s)
{
	cf_psql_script_release(&s->ps);
	free(s->text);
	free(s->send);
	free(s->send_at);
	free(s->piece_k);
	memset(s, 0, sizeof(*s));
}

char *mig_script_stmt(const mig_script *s, size_t i)
{
	const cf_stmt *st = &s->parsed->stmts[i];
	return cf_strndup(s->text + st->offset, st->len);
}

size_t mig_script_count(const mig_script *s)
{
	return s->last - s->first - (s->skip != NO_SKIP);
}

size_t mig_script_nth(const mig_script *s, size_t k)
{
	size_t i = s->first + k;
	return s->skip != NO_SKIP && i >= s->skip ? i + 1 : i;
}

const cf_copyblk *mig_script_copy(const mig_script *s, size_t i)
{
	const cf_stmt *st = &s->parsed->stmts[i];
	return st->kind == CF_STMT_COPY_STDIN ? cf_psql_copy_of(&s->ps, st) : NULL;
}

bool mig_script_is_batchable(const mig_script *s)
{
	return !s->is_nontx && s->n_pieces <= 1;
}
