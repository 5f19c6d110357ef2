/* Unit tests: statements, positions and kinds from libpg_query. */
#include "t.h"
#include "sqlparse.h"

static cf_script *parse(cf_ctx *ctx, const char *text)
{
	cf_script *s = NULL;
	cf_script_parse(ctx, "f.sql", text, strlen(text), &s);
	return s;
}

static void test_split(void)
{
	cf_ctx *ctx = cf_ctx_new();
	const char *text = "-- header\nCREATE TABLE a (id int);\n\n/* two */ CREATE TABLE b (\n  x text\n);\n"
	                   "INSERT INTO a VALUES (1)";
	cf_script *s = parse(ctx, text);
	CHECK(s && s->n_stmts == 3, "three statements");
	if (s && s->n_stmts == 3) {
		CHECK_INT(s->stmts[0].line, 2, "first statement starts after the comment");
		CHECK_INT(s->stmts[1].line, 4, "second statement line");
		CHECK_INT(s->stmts[1].column, 11, "second statement column (after the block comment)");
		CHECK(strncmp(text + s->stmts[1].offset, "CREATE TABLE b", 14) == 0, "offset points at it");
		CHECK_STR(s->stmts[0].node, "create_stmt", "node name");
		CHECK(text[s->stmts[2].offset + s->stmts[2].len] == '\0', "last statement runs to the end");
	}
	cf_script_free(s);
	cf_ctx_free(ctx);
}

static void test_kinds(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_script *s = parse(ctx, "BEGIN; DO $$ BEGIN PERFORM 1; END $$; COMMIT; START TRANSACTION; "
	                          "SAVEPOINT x; ROLLBACK TO x; ROLLBACK; END;");
	CHECK(s && s->n_stmts == 8, "eight statements");
	if (s && s->n_stmts == 8) {
		CHECK_INT(s->stmts[0].kind, CF_STMT_BEGIN, "BEGIN");
		CHECK_INT(s->stmts[1].kind, CF_STMT_OTHER, "DO $$ BEGIN ... END $$ is not transaction control");
		CHECK_INT(s->stmts[2].kind, CF_STMT_COMMIT, "COMMIT");
		CHECK_INT(s->stmts[3].kind, CF_STMT_BEGIN, "START TRANSACTION");
		CHECK_INT(s->stmts[4].kind, CF_STMT_TXN_OTHER, "SAVEPOINT");
		CHECK_INT(s->stmts[5].kind, CF_STMT_TXN_OTHER, "ROLLBACK TO");
		CHECK_INT(s->stmts[6].kind, CF_STMT_ROLLBACK, "ROLLBACK");
		CHECK_INT(s->stmts[7].kind, CF_STMT_COMMIT, "END");
	}
	cf_script_free(s);
	s = parse(ctx, "COPY t FROM STDIN; COPY t FROM '/x'; COPY t TO STDOUT;");
	CHECK(s && s->stmts[0].kind == CF_STMT_COPY_STDIN && s->stmts[1].kind == CF_STMT_OTHER &&
	          s->stmts[2].kind == CF_STMT_OTHER, "COPY FROM STDIN is flagged");
	cf_script_free(s);
	cf_ctx_free(ctx);
}

static void test_nontx(void)
{
	cf_ctx *ctx = cf_ctx_new();
	struct {
		const char *sql;
		const char *why;
	} cases[] = {
		{"CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"},
		{"CREATE INDEX i ON t (a)", NULL},
		{"DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"},
		{"REINDEX (CONCURRENTLY) INDEX i", "REINDEX CONCURRENTLY"},
		{"REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"},
		{"REINDEX TABLE t", NULL},
		{"VACUUM t", "VACUUM"},
		{"VACUUM (ANALYZE) t", "VACUUM"},
		{"ANALYZE t", NULL},
		{"CREATE DATABASE d", "CREATE DATABASE"},
		{"DROP DATABASE d", "DROP DATABASE"},
		{"ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"},
		{"CLUSTER", "CLUSTER without a table"},
		{"CLUSTER t USING i", NULL},
		{"REFRESH MATERIALIZED VIEW CONCURRENTLY v", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cf_script *s = parse(ctx, cases[i].sql);
		CHECK_STR(s && s->n_stmts == 1 ? s->stmts[0].nontx : "(parse failed)", cases[i].why,
		          cases[i].sql);
		cf_script_free(s);
	}
	cf_script *s = parse(ctx, "ALTER TYPE mood ADD VALUE 'meh'; CREATE TABLE x (m mood DEFAULT 'meh');");
	CHECK_STR(s->stmts[0].nontx, "ALTER TYPE ... ADD VALUE used later in the file",
	          "ADD VALUE used later needs autocommit");
	cf_script_free(s);
	s = parse(ctx, "ALTER TYPE mood ADD VALUE 'meh'; CREATE TABLE x (m text);");
	CHECK(s->stmts[0].nontx == NULL, "ADD VALUE not used later stays transactional");
	CHECK(!cf_script_needs_autocommit(s), "no autocommit needed");
	cf_script_free(s);
	s = parse(ctx, "-- confiture:no-transaction\nUPDATE t SET a = 1;");
	CHECK(s->has_no_tx_marker && cf_script_needs_autocommit(s), "the marker comment");
	cf_script_free(s);
	s = parse(ctx, "SELECT '-- confiture:no-transaction';");
	CHECK(!s->has_no_tx_marker, "the marker inside a string literal is not a marker");
	cf_script_free(s);
	cf_ctx_free(ctx);
}

static void test_errors(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_script *s = NULL;
	const char *text = "CREATE TABLE a (id int);\nCREATE TABLE b (x int,, y int);\n";
	CHECK_INT(cf_script_parse(ctx, "db/schema/b.sql", text, strlen(text), &s), CF_ERR_SCHEMA,
	          "a stray ,, is a schema error");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "syntax error at or near \",\"", "the parser's message");
	CHECK_STR(e->file, "db/schema/b.sql", "the file");
	CHECK_INT(e->line, 2, "the line");
	CHECK_INT(e->column, 23, "the column");
	cf_ctx_clear_error(ctx);
	text = "CREATE TABLE a (id int);\n/* never closed\nCREATE TABLE b (x int);\n";
	CHECK_INT(cf_script_parse(ctx, "c.sql", text, strlen(text), &s), CF_ERR_SCHEMA,
	          "an unclosed comment is a schema error");
	CHECK_STR(cf_last_error(ctx), "unterminated /* comment at or near \"/* never closed\nCREATE TABLE b (x int);\n\"",
	          "unclosed comment message");
	CHECK_INT(cf_last_error_info(ctx)->line, 2, "unclosed comment line");
	cf_ctx_clear_error(ctx);
	text = "SELECT 'é';\nSELECT 'ü' FROM FROM;";
	cf_script_parse(ctx, "u.sql", text, strlen(text), &s);
	CHECK_INT(cf_last_error_info(ctx)->column, 17, "columns count characters, not bytes");
	cf_ctx_free(ctx);
}

/* SET standard_conforming_strings = off: backslash escapes in '...', as psql splits. */
static void test_standard_conforming_strings(void)
{
	cf_ctx *ctx = cf_ctx_new();
	const char *text = "SET standard_conforming_strings = off;\n"
	                   "INSERT INTO t VALUES ('it\\'s; here');\n"
	                   "RESET standard_conforming_strings;\n"
	                   "SELECT 'c\\';\n"
	                   "SET standard_conforming_strings TO 'false'; SELECT 'd\\'';";
	for (int lite = 0; lite < 2; lite++) {
		cf_script *s = NULL;
		cf_status st = lite ? cf_script_parse_lite(ctx, "s.sql", text, strlen(text), &s)
		                    : cf_script_parse(ctx, "s.sql", text, strlen(text), &s);
		CHECK(st == CF_OK && s && s->n_stmts == 6, "%s: a script with scs off splits in six",
		      lite ? "lite" : "full");
		if (s && s->n_stmts == 6) {
			CHECK(strncmp(text + s->stmts[1].offset, "INSERT", 6) == 0 &&
			          text[s->stmts[1].offset + s->stmts[1].len - 1] == ')',
			      "%s: 'it\\'s; here' is one literal", lite ? "lite" : "full");
			CHECK_INT(s->stmts[3].line, 4, "lines stay those of the file");
			CHECK_INT(s->stmts[5].column, 45, "columns too");
			CHECK(!s->scs_end, "the script ends with the setting off");
			CHECK(lite || s->stmts[0].is_set, "SET is flagged");
		}
		cf_script_free(s);
		cf_ctx_clear_error(ctx);
	}
	text = "SELECT 1;\nINSERT INTO t VALUES ('it\\'s');\n";
	cf_script *s = NULL;
	CHECK_INT(cf_script_parse(ctx, "t.sql", text, strlen(text), &s), CF_ERR_SCHEMA,
	          "without the SET, \\' ends the literal (the server would say so too)");
	CHECK_INT(cf_last_error_info(ctx)->line, 2, "and the error is on its line");
	cf_ctx_clear_error(ctx);
	text = "SET standard_conforming_strings = off;\nSELECT 1 FROM FROM;\n";
	CHECK_INT(cf_script_parse(ctx, "u.sql", text, strlen(text), &s), CF_ERR_SCHEMA,
	          "a syntax error after the SET is reported");
	CHECK_INT(cf_last_error_info(ctx)->line, 2, "at its line");
	CHECK_INT(cf_last_error_info(ctx)->column, 15, "and column");
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_split();
	test_kinds();
	test_nontx();
	test_errors();
	test_standard_conforming_strings();
	return t_done();
}
