/*
 * script.c -- preparing a migration file for the server.
 *
 * The file is parsed once with libpg_query. Transaction control is decided
 * from the parse tree, never with a regex: a BEGIN ... COMMIT pair around the
 * whole file is stripped (the migration gets its own transaction), while
 * "DO $$ BEGIN ... END $$" is just one statement. The stripped statements are
 * blanked rather than cut, keeping every other character at its position, so
 * that a server error position maps straight back into the file.
 */
#include "migrate_int.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static cf_status stmt_error(cf_ctx *ctx, const mig_script *s, const cf_stmt *st, const char *fmt,
                            const char *what)
{
	cf_error_set(ctx, CF_ERR_SQL, fmt, what);
	cf_error_at(ctx, s->file, st->line, st->column);
	return CF_ERR_SQL;
}

static const char *kind_word(const mig_script *s, const cf_stmt *st)
{
	(void)s;
	switch (st->kind) {
	case CF_STMT_BEGIN: return "BEGIN";
	case CF_STMT_COMMIT: return "COMMIT";
	case CF_STMT_ROLLBACK: return "ROLLBACK";
	default: return "transaction control";
	}
}

/* Finds the wrapper pair and refuses transaction control anywhere else. */
static cf_status check_txn(cf_ctx *ctx, mig_script *s)
{
	cf_script *p = s->parsed;
	size_t n = p->n_stmts;
	s->first = 0;
	s->last = n;
	if (n >= 2 && p->stmts[0].kind == CF_STMT_BEGIN && p->stmts[n - 1].kind == CF_STMT_COMMIT) {
		s->was_wrapped = true;
		s->first = 1;
		s->last = n - 1;
	}
	for (size_t i = s->first; i < s->last; i++) {
		const cf_stmt *st = &p->stmts[i];
		if (st->kind == CF_STMT_BEGIN || st->kind == CF_STMT_COMMIT ||
		    st->kind == CF_STMT_ROLLBACK) {
			cf_status rc = stmt_error(ctx, s, st,
			                          "%s in the middle of a migration is not allowed",
			                          kind_word(s, st));
			cf_error_detail(ctx, "Each migration runs in one transaction with its ledger row; "
			                     "a %s here would split it, leaving the ledger wrong after a "
			                     "failure.", kind_word(s, st));
			cf_error_hint(ctx, "Remove it. For statements that cannot run in a transaction, "
			                   "add a \"-- confiture:no-transaction\" comment to the file.");
			return rc;
		}
		if (st->kind == CF_STMT_COPY_STDIN)
			return stmt_error(ctx, s, st, "%s is not supported in migrations",
			                  "COPY ... FROM STDIN");
	}
	return CF_OK;
}

/* The text sent for a transactional run: wrapper statements (and their
 * ";") become one space per character, newlines stay, so that the server's
 * character positions still point at the same places in the file. */
static char *blanked(const mig_script *s)
{
	if (!s->was_wrapped)
		return cf_strndup(s->text, s->len);
	const cf_stmt *v = s->parsed->stmts;
	size_t n = s->parsed->n_stmts;
	size_t cut[2][2] = {{v[0].offset, v[0].offset + v[0].len},
	                    {v[n - 1].offset, v[n - 1].offset + v[n - 1].len}};
	for (int r = 0; r < 2; r++)
		if (cut[r][1] < s->len && s->text[cut[r][1]] == ';')
			cut[r][1]++;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_reserve(&b, s->len);
	for (size_t i = 0; i < s->len; i++) {
		unsigned char ch = (unsigned char)s->text[i];
		bool in_cut = (i >= cut[0][0] && i < cut[0][1]) || (i >= cut[1][0] && i < cut[1][1]);
		if (!in_cut || ch == '\n')
			cf_buf_putc(&b, (char)ch);
		else if ((ch & 0xC0) != 0x80)
			cf_buf_putc(&b, ' ');
	}
	return b.data;
}

cf_status mig_script_prepare(cf_ctx *ctx, const char *file, char *text, size_t len,
                             mig_script *out)
{
	memset(out, 0, sizeof(*out));
	out->file = file;
	out->text = text;
	out->len = len;
	cf_status st = cf_script_parse(ctx, file, text, len, &out->parsed);
	if (st) {
		/* A migration that cannot run is a failed migration (exit 3). */
		cf_error_recode(ctx, CF_ERR_SQL);
		return st == CF_ERR_CANCELLED ? st : CF_ERR_SQL;
	}
	st = check_txn(ctx, out);
	if (st)
		return st;
	if (out->was_wrapped)
		cf_log_warning(ctx, "%s: stripped the BEGIN/COMMIT around the file; confiture runs "
		                    "each migration in its own transaction", file);
	out->is_nontx = out->parsed->has_no_tx_marker;
	if (out->is_nontx)
		out->nontx_why = "-- confiture:no-transaction";
	for (size_t i = out->first; i < out->last && !out->is_nontx; i++)
		if (out->parsed->stmts[i].nontx) {
			out->is_nontx = true;
			out->nontx_why = out->parsed->stmts[i].nontx;
		}
	out->send = blanked(out);
	return CF_OK;
}

void mig_script_release(mig_script *s)
{
	cf_script_free(s->parsed);
	free(s->text);
	free(s->send);
	memset(s, 0, sizeof(*s));
}

char *mig_script_stmt(const mig_script *s, size_t i)
{
	const cf_stmt *st = &s->parsed->stmts[i];
	return cf_strndup(s->text + st->offset, st->len);
}
