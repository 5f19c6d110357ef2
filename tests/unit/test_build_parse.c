/*
 * Unit tests of cf_script_parse_lite, the build's parser entry: it must find
 * the same statements, positions, kinds and non-transactional statements as
 * the full cf_script_parse, and report syntax errors at the same place.
 */
#include "t.h"
#include "sqlparse.h"

#include <stdlib.h>

static const char *const SCRIPTS[] = {
	/* transaction control, with comments between keywords */
	"BEGIN;\nCREATE TABLE a (x int); -- c\nSTART TRANSACTION;\ncommit;\nEND;\n"
	"ROLLBACK;\nABORT;\nSAVEPOINT s;\nRELEASE s;\nROLLBACK TO SAVEPOINT s;\n",
	/* non-transactional statements, in the forms people write them */
	"CREATE /* c */ UNIQUE INDEX CONCURRENTLY i ON a (x);\n"
	"create index concurrently if not exists j on a (x);\n"
	"CREATE INDEX k ON a (x);\n"
	"DROP INDEX CONCURRENTLY i;\nDROP INDEX j;\n"
	"REINDEX TABLE CONCURRENTLY a;\nREINDEX TABLE a;\nREINDEX SCHEMA public;\n"
	"VACUUM a;\nVACUUM (ANALYZE) a;\nANALYZE a;\nCLUSTER;\nCLUSTER a USING k;\n"
	"CREATE DATABASE x;\nDROP DATABASE x;\nALTER SYSTEM SET work_mem = '8MB';\n"
	"CREATE TABLESPACE t LOCATION '/tmp';\nDROP TABLESPACE t;\n"
	"DISCARD ALL;\nDISCARD PLANS;\n",
	/* ALTER TYPE ... ADD VALUE: only when a later statement uses the value */
	"CREATE TYPE mood AS ENUM ('a');\nALTER TYPE mood ADD VALUE 'zz';\n"
	"ALTER TYPE mood ADD VALUE 'unused';\nSELECT 'zz'::mood;\nALTER TYPE mood RENAME TO m2;\n",
	/* COPY, and statements that only look like the others */
	"COPY a FROM stdin;\nCOPY a TO stdout;\nCOPY a FROM '/tmp/x';\n"
	"CREATE TABLE database (\"concurrently\" int);\nSELECT 'VACUUM';\n"
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
	"-- confiture:no-transaction\nSELECT 1",
	/* multibyte text before statements: columns count characters */
	"-- été\nSELECT 'ünïcödé';  SELECT 2;\n\n\t  SELECT 3\n;",
	"",
	"-- only a comment\n",
};

static void compare(const char *text, size_t idx)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_script *full = NULL, *lite = NULL;
	cf_status a = cf_script_parse(ctx, "x.sql", text, strlen(text), &full);
	cf_status b = cf_script_parse_lite(ctx, "x.sql", text, strlen(text), &lite);
	CHECK(a == CF_OK && b == CF_OK, "script %zu parses both ways", idx);
	if (!full || !lite) {
		cf_script_free(full);
		cf_script_free(lite);
		cf_ctx_free(ctx);
		return;
	}
	CHECK_INT(lite->n_stmts, full->n_stmts, "same number of statements");
	bool same = lite->n_stmts == full->n_stmts;
	for (size_t i = 0; same && i < full->n_stmts; i++) {
		const cf_stmt *f = &full->stmts[i], *l = &lite->stmts[i];
		bool ok = f->offset == l->offset && f->len == l->len && f->line == l->line &&
		          f->column == l->column && f->kind == l->kind &&
		          (f->nontx == NULL) == (l->nontx == NULL) &&
		          (!f->nontx || strcmp(f->nontx, l->nontx) == 0);
		if (!ok)
			printf("    statement %zu: full %zu+%zu %d:%d kind %d nontx %s / lite %zu+%zu "
			       "%d:%d kind %d nontx %s\n", i, f->offset, f->len, f->line, f->column,
			       f->kind, f->nontx ? f->nontx : "-", l->offset, l->len, l->line, l->column,
			       l->kind, l->nontx ? l->nontx : "-");
		same = same && ok;
	}
	CHECK(same, "script %zu: same offsets, positions, kinds and nontx", idx);
	CHECK(lite->has_no_tx_marker == full->has_no_tx_marker, "script %zu: same marker", idx);
	cf_script_free(full);
	cf_script_free(lite);
	cf_ctx_free(ctx);
}

static void test_errors(void)
{
	static const char *const bad[] = {
		"SELECT 1;\nCREATE TABLE t (a int,,);\n",
		"SELECT 1;\n/* never closed\nSELECT 2;\n",
		"SELECT 'é', $$unterminated\n",
		"CREAT TABLE x ();",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cf_ctx *a = cf_ctx_new(), *b = cf_ctx_new();
		cf_script *s = NULL;
		cf_status sa = cf_script_parse(a, "b.sql", bad[i], strlen(bad[i]), &s);
		cf_script_free(s);
		s = NULL;
		cf_status sb = cf_script_parse_lite(b, "b.sql", bad[i], strlen(bad[i]), &s);
		cf_script_free(s);
		const cf_error_info *ea = cf_last_error_info(a), *eb = cf_last_error_info(b);
		CHECK(sa == CF_ERR_SCHEMA && sb == CF_ERR_SCHEMA, "bad script %zu fails both ways", i);
		CHECK(ea && eb && strcmp(ea->message, eb->message) == 0 && ea->line == eb->line &&
		          ea->column == eb->column && eb->file && strcmp(eb->file, "b.sql") == 0,
		      "bad script %zu: same message at the same file:line:column", i);
		cf_ctx_free(a);
		cf_ctx_free(b);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	for (size_t i = 0; i < sizeof(SCRIPTS) / sizeof(*SCRIPTS); i++)
		compare(SCRIPTS[i], i);
	test_errors();
	return t_done();
}
