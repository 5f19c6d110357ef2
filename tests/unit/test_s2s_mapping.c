/* Unit tests: the s2s mapping file (errors at file:line) and batch sizes. */
#include "t.h"
#include "s2s/s2s.h"

static s2s_mapping m;

static cf_status parse(cf_ctx *ctx, const char *text)
{
	s2s_mapping_release(&m);
	cf_ctx_clear_error(ctx);
	return s2s_mapping_parse(ctx, "map.yaml", text, &m);
}

static void check_error(cf_ctx *ctx, const char *text, int line, int col, const char *msg,
                        const char *what)
{
	cf_status st = parse(ctx, text);
	const cf_error_info *e = cf_last_error_info(ctx);
	bool ok = st == CF_ERR_CONFIG && e && e->line == line && (col == 0 || e->column == col) &&
	          e->file && strcmp(e->file, "map.yaml") == 0 && strstr(e->message, msg);
	CHECK(ok, "%s", what);
	if (!ok)
		printf("    got: st=%d %s:%d:%d %s\n", st, e && e->file ? e->file : "-", e ? e->line : 0,
		       e ? e->column : 0, e ? e->message : "(no error)");
}

static void test_precursor_format(cf_ctx *ctx)
{
	cf_status st = parse(ctx, "users:\n"
	                          "  source_table: old_users\n"
	                          "  target_table: users\n"
	                          "  columns:\n"
	                          "    full_name: display_name\n"
	                          "    email: email\n"
	                          "posts:\n"
	                          "  columns: {post_title: title}\n");
	CHECK_INT(st, CF_OK, "the precursor's format parses");
	CHECK_INT(m.n, 2, "two entries, in file order");
	CHECK_STR(m.v[0].source_table, "old_users", "source_table");
	CHECK_STR(m.v[0].target_table, "users", "target_table");
	CHECK_STR(m.v[0].columns[0].key, "full_name", "source column");
	CHECK_STR(m.v[0].columns[0].value, "display_name", "target column");
	CHECK_INT(m.v[0].columns[0].at_key.line, 5, "the source column keeps its line");
	CHECK_INT(m.v[0].columns[0].at_value.line, 5, "the target column keeps its line");
	CHECK_INT(m.v[0].columns[0].at_value.col, 16, "and its column");
	CHECK_STR(m.v[1].source_table, "posts", "source_table defaults to the entry name");
	CHECK_STR(m.v[1].target_table, "posts", "target_table defaults to the entry name");
}

static void test_extensions(cf_ctx *ctx)
{
	cf_status st = parse(ctx, "users:\n"
	                          "  columns: [id, email]\n"
	                          "  expressions:\n"
	                          "    slug: \"lower(name)\"\n"
	                          "  defaults:\n"
	                          "    status: active\n"
	                          "    note: ~\n"
	                          "  where: deleted_at IS NULL\n"
	                          "  key: id\n"
	                          "  batch_size: 500\n");
	CHECK_INT(st, CF_OK, "expressions, defaults, where, key and batch_size parse");
	CHECK_INT(m.v[0].n_columns, 2, "a list of columns keeps their names");
	CHECK_STR(m.v[0].columns[1].value, "email", "same name on both sides");
	CHECK_STR(m.v[0].exprs[0].value, "lower(name)", "the expression's SQL");
	CHECK_INT(m.v[0].exprs[0].at_value.col, 12, "an expression's column is inside its quotes");
	CHECK_STR(m.v[0].defaults[0].value, "active", "a default value");
	CHECK(m.v[0].defaults[1].value == NULL, "a null default is SQL NULL");
	CHECK_STR(m.v[0].where, "deleted_at IS NULL", "the where clause");
	CHECK_INT(m.v[0].at_where.line, 8, "the where clause keeps its line");
	CHECK_STR(m.v[0].key, "id", "the key");
	CHECK_INT(m.v[0].batch_size, 500, "the batch size");
	st = parse(ctx, "users:\n  columns:\n    id:\n");
	CHECK(st == CF_OK && strcmp(m.v[0].columns[0].value, "id") == 0,
	      "a column with no target keeps its name");
}

static void test_errors(cf_ctx *ctx)
{
	check_error(ctx, "", 1, 0, "the mapping file has no entries", "an empty file");
	check_error(ctx, "- a\n- b\n", 1, 0, "no entries", "a list instead of entries");
	check_error(ctx, "users: 3\n", 1, 8, "entry \"users\" must be a mapping", "a scalar entry");
	check_error(ctx, "users:\n  source_table: a\n  colums: {a: b}\n", 3, 3,
	            "unknown key \"colums\" in entry \"users\"", "an unknown key");
	cf_status st = parse(ctx, "users:\n  colums: {a: b}\n");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(st && e->hint && strstr(e->hint, "Did you mean \"columns\"?"),
	      "an unknown key gets a did-you-mean hint");
	check_error(ctx, "users:\n  source_table: a\n", 1, 1, "entry \"users\" maps no columns",
	            "an entry without columns");
	check_error(ctx, "users:\n  columns: id\n", 2, 12, "must map source columns",
	            "columns as a scalar");
	check_error(ctx, "users:\n  columns:\n    a: x\n    b: x\n", 4, 8,
	            "target column \"x\" of \"users\" is mapped twice", "a target column mapped twice");
	check_error(ctx, "users:\n  columns: {a: x}\n  expressions:\n    x: \"1\"\n", 4, 5,
	            "has both a column and an expression", "a column and an expression");
	check_error(ctx, "users:\n  columns: {a: b}\n  expressions:\n    c: \"\"\n", 4, 0,
	            "must be a SQL expression", "an empty expression");
	check_error(ctx, "users:\n  columns: {a: b}\n  batch_size: 0\n", 3, 15,
	            "batch_size must be positive", "a zero batch size");
	check_error(ctx, "users:\n  columns: {a: b}\n  batch_size: lots\n", 3, 15,
	            "expected an integer", "a batch size that is not a number");
	check_error(ctx, "users:\n  source_table: [a]\n  columns: {a: b}\n", 2, 17,
	            "source_table must be a non-empty string", "a list as source_table");
	check_error(ctx, "users:\n  source_table: \"${CF_S2S_UNSET_VAR}\"\n  columns: {a: b}\n", 2, 0,
	            "CF_S2S_UNSET_VAR", "a missing ${VAR} in a name");
	check_error(ctx, "users:\n  columns: {a: b}\n  defaults: {c: \"${CF_S2S_UNSET_VAR}\"}\n", 3, 0,
	            "CF_S2S_UNSET_VAR", "a missing ${VAR} in a default");
	check_error(ctx, "users:\n  columns: {a: b}\n  batch_size: ${CF_S2S_UNSET_VAR}\n", 3, 0,
	            "CF_S2S_UNSET_VAR", "a missing ${VAR} in batch_size");
}

/* ${VAR} never becomes SQL: expressions and where keep it as written (like
 * sql: hooks); names and defaults (quoted, or sent as parameters) expand. */
static void test_vars(cf_ctx *ctx)
{
	setenv("CF_S2S_EVIL", "1); DROP TABLE users; --", 1);
	setenv("CF_S2S_TABLE", "old_users", 1);
	cf_status st = parse(ctx, "users:\n"
	                          "  source_table: ${CF_S2S_TABLE}\n"
	                          "  columns: {id: id}\n"
	                          "  expressions:\n"
	                          "    slug: \"lower('${CF_S2S_EVIL}')\"\n"
	                          "    tag: \"'$${literal}'\"\n"
	                          "  defaults: {note: \"${CF_S2S_EVIL}\"}\n"
	                          "  where: \"id > ${CF_S2S_EVIL}\"\n");
	CHECK_INT(st, CF_OK, "a mapping with ${VAR} in SQL parses");
	CHECK_STR(m.v[0].source_table, "old_users", "a name expands ${VAR}");
	CHECK_STR(m.v[0].exprs[0].value, "lower('${CF_S2S_EVIL}')",
	          "an expression keeps ${VAR} as written: the value never becomes SQL");
	CHECK_STR(m.v[0].exprs[1].value, "'${literal}'", "$${ is written ${, as before");
	CHECK_STR(m.v[0].where, "id > ${CF_S2S_EVIL}", "the where clause keeps ${VAR} as written");
	CHECK_STR(m.v[0].defaults[0].value, "1); DROP TABLE users; --",
	          "a default expands ${VAR}: it is sent as a parameter");
	unsetenv("CF_S2S_EVIL");
	st = parse(ctx, "users:\n  columns: {id: id}\n  where: \"x = '${CF_S2S_EVIL}'\"\n"
	                "  expressions: {a: \"${CF_S2S_EVIL:-1}\"}\n");
	CHECK_INT(st, CF_OK, "an unset ${VAR} in SQL is no error: it is not a variable there");
	CHECK_STR(m.v[0].exprs[0].value, "${CF_S2S_EVIL:-1}", "nor is a default applied");
	setenv("CF_S2S_EMPTY", "", 1);
	st = parse(ctx, "users:\n  columns: {id: id}\n  where: \"${CF_S2S_EMPTY}\"\n");
	CHECK(st == CF_OK && strcmp(m.v[0].where, "${CF_S2S_EMPTY}") == 0,
	      "a where that is only a ${VAR} is not empty");
	unsetenv("CF_S2S_EMPTY");
	unsetenv("CF_S2S_TABLE");
}

static void test_batch(void)
{
	CHECK_INT(s2s_recommend_batch(1e6, 100LL << 20, true), 50000,
	          "100 B rows: 50k rows per range (about 8 MiB)");
	CHECK_INT(s2s_recommend_batch(1e6, 4000LL << 20, true), 2000, "4 kB rows: 2k rows per range");
	CHECK_INT(s2s_recommend_batch(1e6, 1LL << 20, true), 100000, "tiny rows: capped at 100k");
	CHECK_INT(s2s_recommend_batch(1e4, 1LL << 40, true), 1000, "huge rows: at least 1k");
	CHECK_INT(s2s_recommend_batch(-1, -1, true), 50000, "no statistics: 100 B rows assumed");
	CHECK_INT(s2s_recommend_batch(1234, 1LL << 20, false), 1234,
	          "no key: the whole table in one range");
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	cf_ctx *ctx = cf_ctx_new();
	test_precursor_format(ctx);
	test_extensions(ctx);
	test_errors(ctx);
	test_vars(ctx);
	test_batch();
	s2s_mapping_release(&m);
	cf_ctx_free(ctx);
	return t_done();
}
