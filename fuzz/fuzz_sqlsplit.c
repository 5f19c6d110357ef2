/*
 * fuzz_sqlsplit.c -- the SQL splitter (src/core/sqlparse.c).
 *
 * The input is an SQL file. It is split twice, by cf_script_parse (full parse
 * trees) and by cf_script_parse_lite (split, then trees only where needed),
 * which promise the same contract: both must agree on success, on the error's
 * position, and on every statement's range and position; and every statement
 * the full parse marks as transaction control, COPY FROM STDIN or unable to
 * run in a transaction block must be marked the same by the lite one.
 */
#include "fuzz.h"
#include "sqlparse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Line and column (1-based, columns count UTF-8 characters) of OFF in TEXT. */
static void linecol(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t k = 0; k < off; k++) {
		unsigned char ch = (unsigned char)text[k];
		if (ch == '\n') {
			(*line)++;
			*col = 1;
		} else if ((ch & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static void check_stmts(const cf_script *s)
{
	size_t prev_end = 0;
	for (size_t i = 0; i < s->n_stmts; i++) {
		const cf_stmt *st = &s->stmts[i];
		FUZZ_ASSERT(st->offset >= prev_end && st->offset + st->len <= s->len);
		int line, col;
		linecol(s->text, st->offset, &line, &col);
		FUZZ_ASSERT(line == st->line && col == st->column);
		prev_end = st->offset + st->len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	size_t len = strlen(text); /* the parser stops at a NUL, as a file's reader would not */
	cf_ctx *full_ctx = cf_ctx_new(), *lite_ctx = cf_ctx_new();
	cf_script *full = NULL, *lite = NULL;
	cf_status a = cf_script_parse(full_ctx, "f.sql", text, len, &full);
	cf_status b = cf_script_parse_lite(lite_ctx, "f.sql", text, len, &lite);
	FUZZ_ASSERT(a == b);
	if (a == CF_OK) {
		check_stmts(full);
		check_stmts(lite);
		FUZZ_ASSERT(full->n_stmts == lite->n_stmts);
		for (size_t i = 0; i < full->n_stmts; i++) {
			const cf_stmt *f = &full->stmts[i], *l = &lite->stmts[i];
			FUZZ_ASSERT(f->offset == l->offset && f->len == l->len);
			FUZZ_ASSERT(f->line == l->line && f->column == l->column);
			FUZZ_ASSERT(f->kind == l->kind);
			FUZZ_ASSERT((f->nontx == NULL) == (l->nontx == NULL));
		}
		FUZZ_ASSERT(full->has_no_tx_marker == lite->has_no_tx_marker);
		FUZZ_ASSERT(cf_script_needs_autocommit(full) == cf_script_needs_autocommit(lite));
		/* What migrate does with each non-transactional statement. */
		for (size_t i = 0; i < full->n_stmts; i++) {
			if (!full->stmts[i].nontx)
				continue;
			char *one = strndup(text + full->stmts[i].offset, full->stmts[i].len);
			cf_nontx_target t;
			memset(&t, 0, sizeof(t));
			if (cf_sql_nontx_target(full_ctx, one, &t) == CF_OK)
				cf_nontx_target_release(&t);
			cf_ctx_clear_error(full_ctx);
			free(one);
		}
	} else {
		const cf_error_info *ea = cf_last_error_info(full_ctx), *eb = cf_last_error_info(lite_ctx);
		FUZZ_ASSERT(ea && eb && ea->line == eb->line && ea->column == eb->column);
	}
	cf_script_free(full);
	cf_script_free(lite);
	cf_ctx_free(full_ctx);
	cf_ctx_free(lite_ctx);
	free(text);
	return 0;
}
