/*
 * Unit tests of the build: discovery (include/exclude dirs and globs, seeds,
 * order), the schema hash, the output file, parse errors, and the cache.
 * File-only builds: no server.
 */
#include "t.h"
#include "build/build_internal.h"
#include "fs.h"
#include "hash.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Helpers ------------------------------------------------------------------ */

static char *new_project(void)
{
	const char *base = getenv("CF_TEST_WORK");
	char *dir = cf_asprintf("%s/buildXXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir))
		abort();
	return dir;
}

static void put(const char *dir, const char *rel, const char *text)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(dir, rel);
	if (cf_file_write_atomic(ctx, p, text, strlen(text)) != CF_OK)
		abort();
	free(p);
	cf_ctx_free(ctx);
}

static cf_ctx *load(const char *dir)
{
	cf_ctx *ctx = cf_ctx_new();
	if (cf_ctx_load(ctx, dir, NULL) != CF_OK) {
		printf("    load: %s\n", cf_last_error(ctx));
		abort();
	}
	return ctx;
}

/* Builds DIR (file only) and returns the relpaths in order, space-separated. */
static char *order_of(const char *dir, bool schema_only, cf_status *st_out)
{
	cf_ctx *ctx = load(dir);
	cf_build_options o = {.is_schema_only = schema_only, .is_no_output = true};
	cf_build_result *r = NULL;
	cf_status st = cf_build(ctx, &o, &r);
	if (st_out)
		*st_out = st;
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < r->n_files; i++)
		cf_buf_printf(&b, "%s%s%s", i ? " " : "", r->files[i].relpath,
		              r->files[i].is_seed ? "(seed)" : "");
	if (st)
		cf_buf_printf(&b, "error: %s", cf_last_error(ctx));
	cf_build_result_free(r);
	cf_ctx_free(ctx);
	return b.data; /* the buffer is handed over whole */
}

/* ---- Pure functions ------------------------------------------------------------ */

static void test_seed_components(void)
{
	const char *yes[] = {"seed", "seeds", "SEEDS", "10_seed", "seed_users", "x-seeds-y", "01_seeds"};
	const char *no[] = {"seedling", "reseed", "seedsx", "users", "xseed", "seeds2"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		CHECK(bseed_component(yes[i], strlen(yes[i])), "\"%s\" marks a seed file", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		CHECK(!bseed_component(no[i], strlen(no[i])), "\"%s\" does not mark a seed file", no[i]);
}

static void test_hex_order(void)
{
	CHECK(bhex_path_cmp("9_a.sql", "0A_b.sql") < 0, "hex: 9 before 0A");
	CHECK(bhex_path_cmp("A_x.sql", "10_x.sql") < 0, "hex: A (10) before 10 (16)");
	CHECK(bhex_path_cmp("0F_x/1_a.sql", "10_y/0_b.sql") < 0, "hex: per component");
	CHECK(bhex_path_cmp("01_a.sql", "1_a.sql") != 0, "hex: equal values still order");
	CHECK(bhex_path_cmp("2_a.sql", "readme.sql") < 0, "hex: numbered before unnumbered");
	CHECK(bhex_path_cmp("add_x.sql", "b_y.sql") < 0, "hex: lowercase is not hex");
	CHECK(cf_path_cmp("10_x.sql", "9_x.sql") < 0, "path mode compares bytes");
}

static void test_normalize(void)
{
	char *p = bpath_normalize("/a/./b/../c//d/");
	CHECK_STR(p, "/a/c/d", "normalize . .. and //");
	free(p);
	p = bpath_normalize("x/../..");
	CHECK_STR(p, "..", "leading .. kept");
	free(p);
}

/* ---- Discovery ------------------------------------------------------------------- */

static void test_default_layout(void)
{
	char *dir = new_project();
	put(dir, "db/schema/10_tables/b.sql", "CREATE TABLE b (x int);\n");
	put(dir, "db/schema/10_tables/a.sql", "CREATE TABLE a (x int);\n");
	put(dir, "db/schema/10_tables-x.sql", "SELECT 1;\n");
	put(dir, "db/schema/00_common/t.sql", "CREATE TYPE t AS (x int);\n");
	put(dir, "db/schema/.hidden/h.sql", "SELECT 1;\n");
	put(dir, "db/schema/notes.txt", "not sql");
	put(dir, "db/seeds/10_users.sql", "SELECT 1;\n");
	put(dir, "db/schema/20_data/seed_lookup.sql", "SELECT 2;\n");
	char *o = order_of(dir, false, NULL);
	CHECK_STR(o, "schema/00_common/t.sql schema/10_tables/a.sql schema/10_tables/b.sql "
	             "schema/10_tables-x.sql schema/20_data/seed_lookup.sql(seed) "
	             "seeds/10_users.sql(seed)",
	          "default include_dirs: path order, folder by folder, seeds last");
	free(o);
	o = order_of(dir, true, NULL);
	CHECK_STR(o, "schema/00_common/t.sql schema/10_tables/a.sql schema/10_tables/b.sql "
	             "schema/10_tables-x.sql",
	          "--schema-only leaves the seed files out");
	free(o);
	char *gen = cf_path_join(dir, "db/seeds");
	char *cmd = cf_asprintf("rm -rf '%s'", gen);
	CHECK(system(cmd) == 0, "remove db/seeds");
	o = order_of(dir, true, NULL);
	CHECK_STR(o, "00_common/t.sql 10_tables/a.sql 10_tables/b.sql 10_tables-x.sql",
	          "a missing default dir is skipped; one dir: relpaths inside it");
	free(o);
	free(cmd);
	free(gen);
	free(dir);
}

static void test_include_config(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml",
	    "include_dirs:\n"
	    "  - path: sql/views\n"
	    "    order: 20\n"
	    "  - path: sql/tables\n"
	    "    order: 10\n"
	    "    exclude: [\"**/*_old.sql\"]\n"
	    "  - path: sql/top\n"
	    "    recursive: false\n"
	    "    order: 30\n"
	    "  - path: sql/custom\n"
	    "    include: [\"**/*.ddl\"]\n"
	    "    order: 40\n"
	    "exclude_dirs: [sql/tables/99_experimental]\n");
	put(dir, "sql/views/v.sql", "SELECT 1;\n");
	put(dir, "sql/tables/a.sql", "SELECT 1;\n");
	put(dir, "sql/tables/a_old.sql", "SELECT 1;\n");
	put(dir, "sql/tables/99_experimental/x.sql", "SELECT 1;\n");
	put(dir, "sql/top/t.sql", "SELECT 1;\n");
	put(dir, "sql/top/deep/d.sql", "SELECT 1;\n");
	put(dir, "sql/custom/c.ddl", "SELECT 1;\n");
	put(dir, "sql/custom/c.sql", "SELECT 1;\n");
	char *o = order_of(dir, false, NULL);
	CHECK_STR(o, "tables/a.sql views/v.sql top/t.sql custom/c.ddl",
	          "include dirs by order; exclude globs, exclude_dirs, recursive: false, include globs");
	free(o);
	free(dir);
}

static void test_hex_mode(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml", "include_dirs: [db/schema]\nbuild:\n  sort_mode: hex\n");
	put(dir, "db/schema/0A_ten.sql", "SELECT 1;\n");
	put(dir, "db/schema/9_nine.sql", "SELECT 1;\n");
	put(dir, "db/schema/10_sixteen.sql", "SELECT 1;\n");
	put(dir, "db/schema/zz.sql", "SELECT 1;\n");
	char *o = order_of(dir, false, NULL);
	CHECK_STR(o, "9_nine.sql 0A_ten.sql 10_sixteen.sql zz.sql", "sort_mode: hex");
	free(o);
	free(dir);
}

static void test_discovery_errors(void)
{
	char *dir = new_project();
	cf_status st;
	char *o = order_of(dir, false, &st);
	CHECK_INT(st, CF_ERR_SCHEMA, "no files is CF_ERR_SCHEMA");
	CHECK_STR(o, "error: no SQL files found", "no files: the message");
	free(o);

	put(dir, "db/environments/local.yaml", "include_dirs:\n  - db/schema\n  - db/missing\n");
	put(dir, "db/schema/a.sql", "SELECT 1;\n");
	o = order_of(dir, false, &st);
	CHECK_INT(st, CF_ERR_SCHEMA, "a configured include dir that is missing is CF_ERR_SCHEMA");
	CHECK_STR(o, "error: include directory \"db/missing\" does not exist",
	          "missing include dir: the message (relative to the working directory)");
	free(o);

	put(dir, "db/environments/local.yaml", "include_dirs:\n  - db/schema\n  - db/schema/sub\n");
	put(dir, "db/schema/sub/b.sql", "SELECT 1;\n");
	o = order_of(dir, false, &st);
	CHECK_INT(st, CF_ERR_SCHEMA, "a file reached twice is CF_ERR_SCHEMA");
	CHECK(strstr(o, "error: file \"") && strstr(o, "db/schema/sub/b.sql\" is included twice"),
	      "duplicate include: the message names the file");
	free(o);
	free(dir);
}

/* ---- Hash and output ------------------------------------------------------------------- */

static void test_hash_and_output(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml", "include_dirs: [db/schema]\n");
	put(dir, "db/schema/a.sql", "CREATE TABLE a (x int);\n");
	put(dir, "db/schema/b/c.sql", "CREATE TABLE c (x int)"); /* no final newline */
	cf_sha256 h;
	cf_sha256_init(&h);
	cf_sha256_update(&h, "a.sql\0CREATE TABLE a (x int);\n\0", 31);
	cf_sha256_update(&h, "b/c.sql\0CREATE TABLE c (x int)\0", 31);
	unsigned char raw[32];
	char want[65];
	cf_sha256_final(&h, raw);
	cf_hex_encode(raw, 32, want);

	cf_ctx *ctx = load(dir);
	cf_build_options o = {0};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "file-only build");
	CHECK_STR(r->hash, want, "hash: SHA-256 over relpath NUL content NUL, in build order");
	CHECK_INT(r->n_statements, 2, "statements counted");
	CHECK(r->is_output_written, "output written");
	char *text = NULL;
	CHECK_INT(cf_file_read(ctx, r->output_path, &text, NULL), CF_OK, "output readable");
	char *expect_head = cf_asprintf(
		"-- ============================================\n"
		"-- PostgreSQL Schema for Confiture\n"
		"-- ============================================\n"
		"--\n"
		"-- Environment: local\n");
	CHECK(strncmp(text, expect_head, strlen(expect_head)) == 0, "header starts as the precursor's");
	char *hash_line = cf_asprintf("-- Schema Hash: %s\n-- Files Included: 2\n", want);
	CHECK(strstr(text, hash_line) != NULL, "header has the hash and the file count");
	const char *body =
		"-- ============================================\n\n"
		"\n/* ==========================================\n"
		" * File: a.sql\n"
		" * ========================================== */\n\n"
		"CREATE TABLE a (x int);\n"
		"\n/* ==========================================\n"
		" * File: b/c.sql\n"
		" * ========================================== */\n\n"
		"CREATE TABLE c (x int)\n";
	size_t tl = strlen(text), bl = strlen(body);
	CHECK(tl > bl && strcmp(text + tl - bl, body) == 0,
	      "block-comment separators, a final newline added");
	char *suffix = strstr(r->output_path, "/db/generated/schema_local.sql");
	CHECK(suffix && suffix[strlen("/db/generated/schema_local.sql")] == '\0',
	      "default output path db/generated/schema_{env}.sql");
	free(text);
	free(hash_line);
	free(expect_head);
	cf_build_result_free(r);

	/* Same tree, same hash; a second build leaves the file alone. */
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "second build");
	CHECK_STR(r->hash, want, "the hash is stable");
	CHECK(!r->is_output_written, "an up-to-date output is not rewritten");
	cf_build_result_free(r);

	/* Other separator styles. */
	CHECK_INT(cf_ctx_set_option(ctx, "build.separators.style", "line_comment", "test"), CF_OK,
	          "line_comment style");
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "build with line comments");
	CHECK(r->is_output_written, "a new style rewrites the output");
	cf_file_read(ctx, r->output_path, &text, NULL);
	CHECK(strstr(text, "\n-- ==========================================\n-- File: b/c.sql\n"
	                   "-- ==========================================\n\n") != NULL,
	      "line_comment separator");
	free(text);
	cf_build_result_free(r);
	cf_ctx_set_option(ctx, "build.separators.style", "custom", "test");
	cf_ctx_set_option(ctx, "build.separators.custom_template", "-- >>> {file_path} {{x}}", "test");
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "build with a custom separator");
	cf_file_read(ctx, r->output_path, &text, NULL);
	CHECK(strstr(text, "\n-- >>> b/c.sql {x}\nCREATE TABLE c") != NULL, "custom separator");
	free(text);
	cf_build_result_free(r);
	cf_ctx_free(ctx);
	free(dir);
}

/* ---- Parse errors ---------------------------------------------------------------------- */

static void test_parse_errors(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml", "include_dirs: [db/schema]\n");
	put(dir, "db/schema/1_ok.sql", "CREATE TABLE ok (x int);\n");
	put(dir, "db/schema/2_bad.sql", "CREATE TABLE t (\n  a int,,\n  b int\n);\n");
	put(dir, "db/schema/3_comment.sql", "SELECT 1;\n/* never closed\n");
	put(dir, "db/schema/4_bad.sql", "CREAT TABLE x (a int);\n");
	cf_ctx *ctx = load(dir);
	cf_build_options o = {0};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_ERR_SCHEMA, "a parse error is CF_ERR_SCHEMA");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "syntax error at or near \",\"", "the parser's message");
	CHECK(e->file && strstr(e->file, "db/schema/2_bad.sql"), "the first bad file in build order");
	CHECK_INT(e->line, 2, "line of the stray comma");
	CHECK_INT(e->column, 9, "column of the stray comma");
	CHECK(e->detail && strstr(e->detail, "2 more files failed too:") &&
	          strstr(e->detail, "3_comment.sql:2:1") && strstr(e->detail, "4_bad.sql:1:1"),
	      "the detail lists the other failing files");
	CHECK_INT(r->n_errors, 3, "every failing file is in the result's errors");
	CHECK_STR(r->errors[1].message, "unterminated /* comment at or near \"/* never closed\n\"",
	          "an unclosed comment is a parse error");
	CHECK(r->output_path && !cf_is_file(r->output_path), "no output on failure");
	cf_build_result_free(r);
	cf_ctx_free(ctx);
	free(dir);
}

/* ---- COPY ... FROM stdin data -------------------------------------------------------- */

static void test_copy_blocks(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml", "include_dirs: [db/seeds]\n");
	put(dir, "db/seeds/1_copy.sql",
	    "COPY public.t (id, name) FROM stdin;\n1\tone\n2\t\\N\n\\.\nINSERT INTO t VALUES (3);\n");
	put(dir, "db/seeds/2_body.sql",
	    "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$\nCOPY t FROM stdin;\n$$;\n");
	cf_ctx *ctx = load(dir);
	cf_build_options o = {.is_no_output = true};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "COPY data parses (masked), and a COPY line in a body");
	CHECK_INT(r->files[0].n_statements, 2, "COPY block: the COPY and the INSERT");
	CHECK_INT(r->files[1].n_statements, 1, "a COPY line inside a function body is no block");
	cf_build_result_free(r);
	put(dir, "db/seeds/1_copy.sql",
	    "COPY t (id) FROM stdin;\n1\n\\.\nINSERT INTO t VALUES (3,,);\n");
	CHECK_INT(cf_build(ctx, &o, &r), CF_ERR_SCHEMA, "a syntax error after COPY data");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "syntax error at or near \",\"", "the parser's message");
	CHECK(e->line == 4 && e->column == 25, "at its own line and column, not at the data");
	cf_build_result_free(r);
	cf_ctx_free(ctx);
	free(dir);
}

/* ---- The cache -------------------------------------------------------------------------- */

static void test_cache(void)
{
	char *dir = new_project();
	put(dir, "db/environments/local.yaml", "include_dirs: [db/schema]\n");
	put(dir, "db/schema/a.sql", "CREATE TABLE a (x int);\n");
	put(dir, "db/schema/b.sql", "CREATE TABLE b (x int);\n");
	sleep(2); /* entries are only recorded for files older than two seconds */
	cf_ctx *ctx = load(dir);
	cf_build_options o = {0};
	cf_build_result *r = NULL;
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "first build");
	CHECK_INT(r->n_parsed, 2, "first build parses every file");
	char *hash = cf_strdup(r->hash);
	cf_build_result_free(r);
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "second build");
	CHECK_INT(r->n_parsed, 0, "an unchanged tree is not parsed again");
	CHECK_STR(r->hash, hash, "the cached hash is the same");
	CHECK_INT(r->n_statements, 2, "statement counts come from the cache");
	cf_build_result_free(r);
	/* Same size, new content: the ctime and mtime tell. */
	put(dir, "db/schema/b.sql", "CREATE TABLE b (y int);\n");
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "build after an edit");
	CHECK_INT(r->n_parsed, 1, "only the edited file is parsed");
	CHECK(strcmp(r->hash, hash) != 0, "the hash follows the content");
	CHECK(r->is_output_written, "the output is rewritten");
	cf_build_result_free(r);
	put(dir, "db/schema/b.sql", "CREATE TABLE b (y int,);\n");
	CHECK_INT(cf_build(ctx, &o, &r), CF_ERR_SCHEMA, "a file broken after a good build fails");
	cf_build_result_free(r);
	char *cache = cf_path_join(dir, ".confiture/build/cache");
	put(dir, ".confiture/build/cache", "garbage\nF 1 2\nH zz\n");
	put(dir, "db/schema/b.sql", "CREATE TABLE b (y int);\n");
	CHECK_INT(cf_build(ctx, &o, &r), CF_OK, "a corrupt cache is ignored");
	cf_build_result_free(r);
	free(cache);
	free(hash);
	cf_ctx_free(ctx);
	free(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_seed_components();
	test_hex_order();
	test_normalize();
	test_default_layout();
	test_include_config();
	test_hex_mode();
	test_discovery_errors();
	test_hash_and_output();
	test_parse_errors();
	test_copy_blocks();
	test_cache();
	return t_done();
}
