/* Unit tests: what lint gets from sqlparse (the tree, comments, long
 * identifiers, positions) and quote_ident's rule. */
#include "t.h"
#include "sqlparse.h"

#include <pg_query/pg_query.pb-c.h>

static void test_tree(void)
{
	cf_ctx *ctx = cf_ctx_new();
	const char *text = "-- a: note\nCREATE TABLE t (id bigint);\n/* b */ SELECT é, "
	                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" FROM t;\n";
	cf_sqltree *t = NULL;
	CHECK(cf_sqltree_parse(ctx, "f.sql", text, strlen(text), &t) == CF_OK, "parses");
	if (!t) {
		cf_ctx_free(ctx);
		return;
	}
	CHECK_INT(t->n_stmts, 2, "two statements");
	CHECK_INT(t->stmts[1].line, 3, "second statement on line 3");
	CHECK_INT(t->stmts[1].column, 9, "after the block comment");
	CHECK_STR(t->stmts[0].node, "create_stmt", "node names as cf_script has them");
	CHECK_INT(t->n_comments, 2, "both comments found by the scanner");
	CHECK(strncmp(text + t->comments[1].start, "/* b */", 7) == 0, "the block comment's span");
	CHECK_INT(t->n_long_idents, 1, "the 67-byte identifier is seen whole");
	int line, col;
	cf_sqltree_linecol(t, (size_t)(strstr(text, "FROM") - text), &line, &col);
	CHECK_INT(line, 3, "linecol: line");
	CHECK_INT(col, 89, "linecol: columns count characters, not bytes (é is one)");
	CHECK_STR(cf_sqltree_node_name(t->pr->stmts[1]->stmt), "select_stmt", "node name");
	cf_sqltree_free(t);

	t = NULL;
	CHECK(cf_sqltree_parse(ctx, "g.sql", "SELEC 1;", 8, &t) == CF_ERR_SCHEMA && !t,
	      "a syntax error is CF_ERR_SCHEMA");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(e && e->line == 1 && e->column == 1, "at its line and column");
	cf_ctx_free(ctx);
}

static void test_quotes(void)
{
	CHECK(!cf_sql_ident_needs_quotes("users"), "users needs no quotes");
	CHECK(!cf_sql_ident_needs_quotes("a_1$"), "a_1$ needs none");
	CHECK(!cf_sql_ident_needs_quotes("name"), "an unreserved keyword needs none");
	CHECK(cf_sql_ident_needs_quotes("User"), "a capital needs quotes");
	CHECK(cf_sql_ident_needs_quotes("a b"), "a space needs quotes");
	CHECK(cf_sql_ident_needs_quotes("1a"), "a leading digit needs quotes");
	CHECK(cf_sql_ident_needs_quotes("select"), "a reserved word needs quotes");
	CHECK(cf_sql_ident_needs_quotes("between"), "a column-name keyword needs quotes");
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_tree();
	test_quotes();
	return t_done();
}
