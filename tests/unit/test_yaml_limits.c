/* Unit tests: the YAML reader's limits on hostile input (depth, alias bombs). */
#include "t.h"
#include "buf.h"
#include "fs.h"
#include "s2s/s2s.h"
#include "ydoc.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static cf_status parse(cf_ctx *ctx, const char *text, cf_ydoc **doc)
{
	*doc = NULL;
	cf_ctx_clear_error(ctx);
	return cf_yaml_parse(ctx, "t.yaml", text, strlen(text), 0, doc);
}

/* N nested flow sequences: "[[[...]]]". */
static char *nested(size_t n, bool closed)
{
	char *s = malloc(2 * n + 1);
	memset(s, '[', n);
	if (closed)
		memset(s + n, ']', n);
	s[closed ? 2 * n : n] = '\0';
	return s;
}

static void test_depth(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;

	/* 100,000 levels overflowed the stack of the recursive builder. */
	char *deep = nested(100000, false);
	CHECK_INT(parse(ctx, deep, &doc), CF_ERR_CONFIG, "100000 nested [ is an error, not a crash");
	CHECK_STR(cf_last_error(ctx), "could not parse YAML file \"t.yaml\": nested deeper than 64 "
	          "levels", "names the limit");
	CHECK_INT(cf_last_error_info(ctx)->line, 1, "at the line");
	CHECK_INT(cf_last_error_info(ctx)->column, 65, "at the column of the 65th level");
	free(deep);

	char *ok = nested(64, true);
	CHECK_INT(parse(ctx, ok, &doc), CF_OK, "64 levels are fine");
	cf_ydoc_free(doc);
	free(ok);
	char *over = nested(65, true);
	CHECK_INT(parse(ctx, over, &doc), CF_ERR_CONFIG, "65 levels are not");
	free(over);

	/* Block style nests the same way. */
	cf_buf b;
	cf_buf_init(&b);
	for (int i = 0; i < 200; i++)
		cf_buf_printf(&b, "%*sk%d:\n", i * 2, "", i);
	CHECK_INT(parse(ctx, b.data, &doc), CF_ERR_CONFIG, "200 nested mappings are an error");
	CHECK_INT(cf_last_error_info(ctx)->line, 65, "at the line where the 65th level opens");
	cf_buf_release(&b);

	/* An alias cannot stack an anchored tree deeper than the limit. */
	char *inner = nested(40, true);
	char *text = cf_asprintf("a: &a %s\nb: [[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	                         inner);
	CHECK_INT(parse(ctx, text, &doc), CF_ERR_CONFIG, "an alias that lands too deep is an error");
	CHECK_STR(cf_last_error(ctx), "could not parse YAML file \"t.yaml\": nested deeper than 64 "
	          "levels", "names the depth limit");
	CHECK_INT(cf_last_error_info(ctx)->line, 2, "at the alias's line");
	free(text);
	free(inner);
	cf_ctx_free(ctx);
}

static void test_alias_bomb(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	/* Nine levels of nine aliases: 9^9 nodes; doctor grew to 23 GB on it. */
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 9; i++) {
		cf_buf_printf(&b, "l%d: &l%d [", i, i);
		for (int j = 0; j < 9; j++)
			cf_buf_printf(&b, "%s*l%d", j ? ", " : "", i - 1);
		cf_buf_puts(&b, "]\n");
	}
	CHECK_INT(parse(ctx, b.data, &doc), CF_ERR_CONFIG, "an alias bomb is an error");
	CHECK_STR(cf_last_error(ctx), "could not parse YAML file \"t.yaml\": aliases expand to too "
	          "much data", "says what is wrong");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->file, "t.yaml", "names the file");
	CHECK_INT(e->line, 6, "at the first alias past the budget");
	CHECK(e->detail && strstr(e->detail, "at most 100000 nodes and 10 MB"), "detail gives the "
	      "limits");
	cf_buf_release(&b);

	/* Bytes count too: few nodes, each a long string. */
	cf_buf_init(&b);
	cf_buf_puts(&b, "s: &s '");
	for (int i = 0; i < 1 << 20; i++)
		cf_buf_putc(&b, 'x');
	cf_buf_puts(&b, "'\nt: [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s, *s, *s]\n");
	CHECK_INT(parse(ctx, b.data, &doc), CF_ERR_CONFIG, "12 copies of 1 MB are over 10 MB");
	cf_buf_release(&b);

	/* A merge key copies too, and counts. */
	cf_buf_init(&b);
	cf_buf_puts(&b, "a: &a {");
	for (int i = 0; i < 1000; i++)
		cf_buf_printf(&b, "%sk%d: v", i ? ", " : "", i);
	cf_buf_puts(&b, "}\n");
	for (int i = 0; i < 60; i++)
		cf_buf_printf(&b, "m%d: {<<: *a}\n", i);
	CHECK_INT(parse(ctx, b.data, &doc), CF_ERR_CONFIG, "merge keys count against the budget");
	cf_buf_release(&b);
	cf_ctx_free(ctx);
}

static void test_aliases_still_work(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	/* The merged map is anchored itself, and aliased after the merge consumed it. */
	const char *text = "base:\n  <<: &m {x: 1, y: 2}\n  y: 3\nagain: *m\n"
	                   "twice:\n  <<: &n {p: 1}\n  <<: &o {q: 2}\nn: *n\no: *o\n";
	CHECK_INT(parse(ctx, text, &doc), CF_OK, "anchors on merged maps parse");
	if (doc) {
		const cf_ynode *again = cf_ynode_get(doc->root, "again");
		CHECK(again && again->kind == CF_Y_MAP && again->n == 2, "an alias to a merged map");
		CHECK_STR(cf_ynode_get(again, "y")->str, "2", "keeps its own values");
		CHECK_STR(cf_ynode_get(cf_ynode_get(doc->root, "base"), "y")->str, "3",
		          "own keys win over merged ones");
		CHECK_STR(cf_ynode_get(cf_ynode_get(doc->root, "n"), "p")->str, "1",
		          "an alias to a replaced merge map");
		CHECK_STR(cf_ynode_get(cf_ynode_get(doc->root, "twice"), "q")->str, "2",
		          "the last merge key is the one used");
	}
	cf_ydoc_free(doc);

	/* Aliases well within the budget: 9^4 nodes. */
	const char *fine = "a: &a [x, x, x, x, x, x, x, x, x]\n"
	                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, "
	                   "*c, *c]\n";
	CHECK_INT(parse(ctx, fine, &doc), CF_OK, "a few thousand aliased nodes are fine");
	if (doc)
		CHECK_INT(cf_ynode_get(doc->root, "d")->v[8]->v[8]->v[8]->n, 9, "and expand fully");
	cf_ydoc_free(doc);
	cf_ctx_free(ctx);
}

/* Files that are not regular: /dev/zero was read until memory ran out. */
static void test_not_files(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	CHECK_INT(cf_yaml_load(ctx, "/dev/zero", "zero.yaml", 0, &doc), CF_ERR_CONFIG,
	          "a character device is refused");
	CHECK_STR(cf_last_error(ctx), "could not read YAML file \"zero.yaml\": it is a character "
	          "device, not a regular file", "and named");
	cf_ctx_clear_error(ctx);
	s2s_mapping m;
	CHECK_INT(s2s_mapping_load(ctx, "/dev/zero", &m), CF_ERR_CONFIG,
	          "s2s mapping: /dev/zero is refused before it is read");
	cf_ctx_clear_error(ctx);

	char dir[] = "/tmp/cf_yl_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temp dir");
	char *fifo = cf_path_join(dir, "f.yaml");
	mkfifo(fifo, 0600);
	CHECK_INT(cf_yaml_load(ctx, fifo, "f.yaml", 0, &doc), CF_ERR_CONFIG,
	          "a FIFO is refused, not waited on");
	CHECK_STR(cf_last_error(ctx), "could not read YAML file \"f.yaml\": it is a FIFO, not a "
	          "regular file", "and named");
	cf_ctx_clear_error(ctx);
	unlink(fifo);

	cf_file_write_atomic(ctx, fifo, "a: 1\n", 5);
	char *text = NULL;
	size_t len = 0;
	CHECK_INT(cf_file_read_max(ctx, fifo, 4, &text, &len), CF_ERR_IO,
	          "a file over the cap is refused");
	CHECK(text == NULL, "and nothing is kept");
	cf_ctx_clear_error(ctx);
	CHECK_INT(cf_file_read_max(ctx, fifo, 5, &text, &len), CF_OK, "a file at the cap is read");
	CHECK_STR(text, "a: 1\n", "whole");
	free(text);
	unlink(fifo);
	rmdir(dir);
	free(fifo);
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_depth();
	test_alias_bomb();
	test_aliases_still_work();
	test_not_files();
	return t_done();
}
