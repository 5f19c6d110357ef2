/*
 * Unit tests: a regression for each problem the fuzz targets found that a
 * unit test can pin (fuzz/README.md lists them all). The inputs themselves
 * are in fuzz/corpus/ and run in tests/e2e/test_fuzz_corpus.sh when clang is
 * installed; these tests fail on the old code with any compiler.
 */
#include "t.h"
#include "sqlparse.h"
#include "sync/sync.h"
#include "ydoc.h"

#include <stdlib.h>

/* fuzz_sqlsplit: "--" comments end at "\r" as in PostgreSQL's scanner. The
 * splitter ran them to the next "\n", so the statement after such a comment
 * was dropped (lite parse) or given an empty range at the end of the file. */
static void test_cr_ends_line_comment(void)
{
	const char *text = "SELECT 1;\r-- no transaction here\rABORT;\r";
	size_t len = strlen(text);
	cf_status (*parse[2])(cf_ctx *, const char *, const char *, size_t, cf_script **) = {
		cf_script_parse, cf_script_parse_lite};
	const char *name[2] = {"full", "lite"};
	for (int k = 0; k < 2; k++) {
		cf_ctx *ctx = cf_ctx_new();
		cf_script *s = NULL;
		CHECK_INT(parse[k](ctx, "cr.sql", text, len, &s), CF_OK, name[k]);
		CHECK_INT(s ? (long)s->n_stmts : -1, 2, "both statements are found");
		if (s && s->n_stmts == 2) {
			CHECK_INT(s->stmts[1].offset, 33, "the second starts at ABORT");
			CHECK_INT(s->stmts[1].len, 5, "and spans it");
			CHECK(s->stmts[1].kind == CF_STMT_ROLLBACK, "%s: and is transaction control", name[k]);
		}
		cf_script_free(s);
		cf_ctx_free(ctx);
	}
}

/* fuzz_sqlsplit: the lite split looked for a new enum value in later
 * statements as raw text, so a use spelled with escapes ('it''s', E'\x..')
 * was missed and ALTER TYPE ... ADD VALUE ran inside the transaction that
 * then used it; the full parse sees it. */
static void test_enum_value_spelled_with_escapes(void)
{
	const char *texts[] = {
		"CREATE TYPE m AS ENUM ('a');\nALTER TYPE m ADD VALUE 'it''s';\nSELECT 'it''s'::m;\n",
		"ALTER TYPE m ADD VALUE 'happy';\nSELECT E'h\\x61ppy'::m;\n",
		"ALTER TYPE m ADD VALUE 'happy';\nSELECT U&'h\\0061ppy'::m;\n",
	};
	for (size_t k = 0; k < 3; k++) {
		cf_ctx *ctx = cf_ctx_new();
		cf_script *full = NULL, *lite = NULL;
		cf_script_parse(ctx, "e.sql", texts[k], strlen(texts[k]), &full);
		cf_script_parse_lite(ctx, "e.sql", texts[k], strlen(texts[k]), &lite);
		size_t add = k == 0 ? 1 : 0;
		CHECK(full && full->stmts[add].nontx, "full parse: the ADD VALUE is used later (%zu)", k);
		CHECK(lite && lite->n_stmts == full->n_stmts && lite->stmts[add].nontx,
		      "lite parse agrees (%zu)", k);
		cf_script_free(full);
		cf_script_free(lite);
		cf_ctx_free(ctx);
	}
}

static void rule_from(const char *yaml, mask_rule *r)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	memset(r, 0, sizeof(*r));
	cf_yaml_parse(ctx, "r.yaml", yaml, strlen(yaml), 0, &doc);
	CHECK_INT(strat_parse(ctx, doc, doc->root, NULL, 0, r), CF_OK, yaml);
	unsigned char master[32] = {1};
	strat_prime(r, master);
	cf_ydoc_free(doc);
	cf_ctx_free(ctx);
}

/* fuzz_jsonmask: the numeric strategy refused numbers of 128 characters or
 * more ("value is not a number"), though numeric holds thousands of digits
 * and masking 1e200 itself prints 201 of them. */
static void test_numeric_long_values(void)
{
	mask_rule num, js;
	rule_from("{strategy: numeric, percent: 10}", &num);
	rule_from("{strategy: json, keys: [n], with: {strategy: numeric, percent: 10}}", &js);
	char digits[301];
	memset(digits, '7', 300);
	digits[300] = '\0';
	cf_buf out;
	cf_buf_init(&out);
	const char *why = NULL;
	CHECK_INT(strat_mask(&num, (vcol){VT_NUMERIC, -1, -1}, digits, 300, &out, &why), MASK_OK,
	          "a 300-digit numeric is masked");
	CHECK(out.len >= 290 && strcmp(out.data, digits) != 0, "into another number of its size");
	out.len = 0;
	const char *doc = "{\"n\": 1e200}";
	CHECK_INT(json_mask(&js, doc, strlen(doc), &out, &why), MASK_OK, "json: 1e200 is masked");
	char *once = cf_strndup(out.data, out.len);
	out.len = 0;
	CHECK_INT(json_mask(&js, once, strlen(once), &out, &why), MASK_OK,
	          "and what it became can be masked again");
	free(once);
	cf_buf_release(&out);
	strat_release(&num);
	strat_release(&js);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_cr_ends_line_comment();
	test_enum_value_spelled_with_escapes();
	test_numeric_long_values();
	return t_done();
}
