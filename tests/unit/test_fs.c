/* Unit tests: path ordering, globs, atomic writes, directory walks. */
#include "t.h"
#include "fs.h"

#include <sys/stat.h>
#include <unistd.h>

static void test_path_order(void)
{
	CHECK(cf_path_cmp("a/b.sql", "a-b.sql") < 0, "a/b.sql sorts before a-b.sql (component-wise)");
	CHECK(cf_path_cmp("10_tables/x.sql", "2_views/y.sql") < 0, "bytes compare, not numbers");
	CHECK(cf_path_cmp("a/b", "a/b/c") < 0, "a parent sorts before its children");
	CHECK(cf_path_cmp("a.sql", "a.sql") == 0, "equal paths compare equal");
	cf_strv sv;
	cf_strv_init(&sv);
	const char *in[] = {"a-b.sql", "a/c.sql", "a/b.sql", "0/z.sql", "a.sql"};
	for (size_t i = 0; i < 5; i++)
		cf_strv_push(&sv, in[i]);
	cf_strv_sort_paths(&sv);
	char *joined = cf_strv_join(&sv, " ");
	CHECK_STR(joined, "0/z.sql a/b.sql a/c.sql a-b.sql a.sql", "sorted build order");
	free(joined);
	cf_strv_release(&sv);
}

static void test_glob(void)
{
	CHECK(cf_glob_match("**/*.sql", "a/b/c.sql"), "** spans directories");
	CHECK(cf_glob_match("**/*.sql", "c.sql"), "** matches zero directories");
	CHECK(!cf_glob_match("*.sql", "a/c.sql"), "* stays within one component");
	CHECK(cf_glob_match("a/**/z.sql", "a/z.sql"), "a/**/z.sql matches a/z.sql");
	CHECK(cf_glob_match("a/**/z.sql", "a/b/c/z.sql"), "a/**/z.sql matches deep paths");
	CHECK(!cf_glob_match("a/**/z.sql", "b/z.sql"), "prefix must match");
	CHECK(cf_glob_match("**/*.bak", "x/y.bak") && !cf_glob_match("**/*.bak", "x/y.sql"),
	      "exclude-style patterns");
	CHECK(cf_glob_match("seed?/[0-9]*.sql", "seeds/1_x.sql"), "? and [..] classes");
}

static void test_atomic_write(void)
{
	cf_ctx *ctx = cf_ctx_new();
	char dir[] = "/tmp/cf_fs_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	char *path = cf_path_join(dir, "sub/deeper/out.sql");
	CHECK_INT(cf_file_write_atomic(ctx, path, "hello\n", 6), CF_OK, "write creates parents");
	char *text = NULL;
	size_t len = 0;
	CHECK_INT(cf_file_read(ctx, path, &text, &len), CF_OK, "read back");
	CHECK_STR(text, "hello\n", "content");
	free(text);
	char *sub = cf_path_join(dir, "sub/deeper");
	cf_strv files;
	cf_strv_init(&files);
	CHECK_INT(cf_dir_list(ctx, sub, false, &files), CF_OK, "list");
	CHECK_INT(files.n, 1, "no temporary file is left behind");
	cf_strv_release(&files);
	CHECK_INT(cf_file_read(ctx, "/nonexistent/x", &text, &len), CF_ERR_IO, "missing file is CF_ERR_IO");
	CHECK_STR(cf_last_error(ctx), "could not open file \"/nonexistent/x\": No such file or directory",
	          "missing file message");
	cf_remove_tree(ctx, dir);
	CHECK(!cf_is_dir(dir), "remove_tree");
	free(sub);
	free(path);
	cf_ctx_free(ctx);
}

static void test_dir_list(void)
{
	cf_ctx *ctx = cf_ctx_new();
	char dir[] = "/tmp/cf_fs_XXXXXX";
	mkdtemp(dir);
	const char *files[] = {"b/2.sql", "b/10.sql", "a-b.sql", "a/x.sql", ".hidden.sql", "b/.h/z.sql"};
	for (size_t i = 0; i < 6; i++) {
		char *p = cf_path_join(dir, files[i]);
		cf_file_write_atomic(ctx, p, "", 0);
		free(p);
	}
	cf_strv sv;
	cf_strv_init(&sv);
	CHECK_INT(cf_dir_list(ctx, dir, true, &sv), CF_OK, "recursive list");
	char *joined = cf_strv_join(&sv, " ");
	CHECK_STR(joined, "a/x.sql a-b.sql b/10.sql b/2.sql", "sorted, hidden entries skipped");
	free(joined);
	cf_strv_release(&sv);
	cf_strv_init(&sv);
	cf_dir_list(ctx, dir, false, &sv);
	CHECK_INT(sv.n, 1, "non-recursive lists the top level only");
	cf_strv_release(&sv);
	cf_remove_tree(ctx, dir);
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_path_order();
	test_glob();
	test_atomic_write();
	test_dir_list();
	return t_done();
}
