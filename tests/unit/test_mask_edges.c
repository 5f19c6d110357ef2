/*
 * Unit tests: values a strategy could not mask must never come out in clear,
 * and structural tricks in JSON must not dodge a rule (issue 12 §3, from the
 * fuzz findings). Each check here failed on the code before its fix.
 */
#include "t.h"
#include "sync/sync.h"
#include "ydoc.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static mask_rule *rule_new(const char *yaml)
{
	mask_rule *r = cf_calloc(1, sizeof(*r));
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	cf_status st = cf_yaml_parse(ctx, "r.yaml", yaml, strlen(yaml), 0, &doc);
	if (!st)
		st = strat_parse(ctx, doc, doc->root, NULL, 0, r);
	if (!CHECK(st == CF_OK, "rule loads: %s", yaml))
		printf("    %s\n", cf_last_error(ctx));
	unsigned char master[32] = {42};
	strat_prime(r, master);
	cf_ydoc_free(doc);
	cf_ctx_free(ctx);
	return r;
}

static void rule_free(mask_rule *r)
{
	strat_release(r);
	free(r);
}

/* Masks IN[0..N) as a value of type C: the output (caller frees), or
 * "<NULL>", or "<FAIL: why>". */
static char *mask_n(const mask_rule *r, vcol c, const char *in, size_t n)
{
	cf_buf out;
	cf_buf_init(&out);
	const char *why = NULL;
	mask_rc rc = strat_mask(r, c, in, n, &out, &why);
	char *res = rc == MASK_NULL   ? cf_strdup("<NULL>")
	            : rc == MASK_FAIL ? cf_asprintf("<FAIL: %s>", why ? why : "(no reason)")
	                              : cf_strndup(out.data, out.len);
	cf_buf_release(&out);
	return res;
}

static char *mask_s(const mask_rule *r, vcol c, const char *in)
{
	return mask_n(r, c, in, strlen(in));
}

#define COL(t) ((vcol){(t), -1, -1})

/* A plain decimal or exponent number, as numeric's input takes it. */
static bool is_number(const char *s)
{
	size_t i = 0;
	if (s[i] == '-')
		i++;
	size_t d = i;
	while (isdigit((unsigned char)s[i]))
		i++;
	if (s[i] == '.')
		for (i++; isdigit((unsigned char)s[i]); i++)
			;
	if (i == d)
		return false;
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		size_t e = i;
		while (isdigit((unsigned char)s[i]))
			i++;
		if (i == e)
			return false;
	}
	return s[i] == '\0';
}

static size_t decimals(const char *s)
{
	const char *dot = strchr(s, '.');
	return dot ? strlen(dot + 1) : 0;
}

static char *repeat(char c, size_t n)
{
	char *s = cf_malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- numeric ---------------------------------------------------------------------- */

/* 1e400 overflowed strtod to infinity and was copied as it was. */
static void test_numeric_beyond_double(void)
{
	mask_rule *r = rule_new("{strategy: numeric}");
	static const char *const ins[] = {"1e400", "-1e400", "1.5E+400", "2e-400",
	                                  "1e99999999999999999999"};
	for (size_t k = 0; k < sizeof(ins) / sizeof(*ins); k++) {
		char *o = mask_s(r, COL(VT_TEXT), ins[k]);
		CHECK(strcmp(o, ins[k]) != 0 && is_number(o) && !strstr(o, "inf") && !strstr(o, "nan"),
		      "numeric: %s is masked into another number (%.40s)", ins[k], o);
		free(o);
	}
	/* The same sizes written out, as numeric and jsonb print them. */
	char *big = repeat('0', 401), *tiny = repeat('0', 402);
	big[0] = '9';
	tiny[1] = '.';
	tiny[401] = '3';
	vcol num = COL(VT_NUMERIC);
	char *o = mask_s(r, num, big);
	CHECK(strcmp(o, big) != 0 && is_number(o) && strlen(o) >= 400 && strlen(o) <= 402 &&
	          decimals(o) == 0,
	      "numeric: a 401-digit integer becomes another integer of its size");
	CHECK(strcmp(o + 20, big + 20) != 0, "numeric: and its low digits are redrawn too");
	free(o);
	o = mask_s(r, num, tiny);
	CHECK(strcmp(o, tiny) != 0 && is_number(o) && decimals(o) == 400 && !strstr(o, "nan"),
	      "numeric: a value with 400 decimals keeps its scale (%.12s...%s)", o,
	      strlen(o) > 8 ? o + strlen(o) - 8 : o);
	free(o);
	free(big);
	free(tiny);
	rule_free(r);
}

/* Long digit strings lost their low digits to the double, and a noise
 * smaller than the double's step gave the input back. */
static void test_numeric_long_digits(void)
{
	mask_rule *r = rule_new("{strategy: numeric, percent: 0.000000000000000001}");
	static const char *const ins[] = {"100000000000000000000", "123456789012345678901234567890.25",
	                                  "-98765432109876543210", "0.000000000000000000000000000001"};
	for (size_t k = 0; k < sizeof(ins) / sizeof(*ins); k++) {
		char *o = mask_s(r, COL(VT_NUMERIC), ins[k]);
		CHECK(strcmp(o, ins[k]) != 0 && is_number(o) && decimals(o) == decimals(ins[k]),
		      "numeric: the tiniest noise never gives %s back (%s)", ins[k], o);
		free(o);
	}
	rule_free(r);
	/* The differences between two long values survive into their masks. */
	r = rule_new("{strategy: numeric}");
	char *a = mask_s(r, COL(VT_NUMERIC), "12345678901234567890123456789001");
	char *b = mask_s(r, COL(VT_NUMERIC), "12345678901234567890123456789002");
	CHECK(strcmp(a, b) != 0, "numeric: long values differing in their last digit mask apart");
	free(a);
	free(b);
	rule_free(r);
}

/* bigint's extremes were "left rather than overflowed": copied. */
static void test_numeric_bigint_extremes(void)
{
	mask_rule *r = rule_new("{strategy: numeric, percent: 50}");
	static const char *const ins[] = {"9223372036854775807", "-9223372036854775808",
	                                  "9223372036854775000", "4611686018427387904"};
	for (size_t k = 0; k < sizeof(ins) / sizeof(*ins); k++) {
		char *o = mask_s(r, COL(VT_INT8), ins[k]);
		cf_buf bin;
		cf_buf_init(&bin);
		CHECK(strcmp(o, ins[k]) != 0 && value_text_to_bin(VT_INT8, o, strlen(o), &bin),
		      "numeric: bigint %s is masked into a bigint (%s)", ins[k], o);
		cf_buf_release(&bin);
		free(o);
	}
	static const char *const ins4[] = {"2147483647", "-2147483648"};
	for (size_t k = 0; k < 2; k++) {
		char *o = mask_s(r, COL(VT_INT4), ins4[k]);
		long long v = strtoll(o, NULL, 10);
		CHECK(strcmp(o, ins4[k]) != 0 && v >= INT32_MIN && v <= INT32_MAX,
		      "numeric: integer %s stays an integer (%s)", ins4[k], o);
		free(o);
	}
	char *o = mask_n(r, (vcol){VT_NUMERIC, 30, 0}, "999999999999999999999999999999", 30);
	CHECK(strcmp(o, "999999999999999999999999999999") != 0 && strlen(o) == 30,
	      "numeric: numeric(30,0) at its maximum stays inside (%s)", o);
	free(o);
	/* numeric(2,-3) holds 12000, and rounds 12345 back to it when stored. */
	int bad = 0;
	for (int i = 10; i < 100; i++) {
		char in[16];
		snprintf(in, sizeof(in), "%d000", i);
		o = mask_s(r, (vcol){VT_NUMERIC, 2, -3}, in);
		size_t l = strlen(o);
		bad += strcmp(o, in) == 0 || l < 4 || l > 5 + (o[0] == '-') || strcmp(o + l - 3, "000") != 0;
		free(o);
	}
	CHECK_INT(bad, 0, "numeric: numeric(2,-3) moves by thousands, inside the type");
	rule_free(r);
}

/* Floats near their type's limits were pushed past them (to infinity). */
static void test_numeric_float_limits(void)
{
	mask_rule *r = rule_new("{strategy: numeric, percent: 100}");
	int bad4 = 0, bad8 = 0;
	for (int i = 0; i < 40; i++) {
		char in[64];
		snprintf(in, sizeof(in), "%.9g", FLT_MAX * (1 - i / 100.0));
		char *o = mask_s(r, COL(VT_FLOAT4), in);
		errno = 0;
		float f = strtof(o, NULL);
		bad4 += errno != 0 || !isfinite(f) || strcmp(o, in) == 0;
		free(o);
		snprintf(in, sizeof(in), "%.17g", -DBL_MAX * (1 - i / 100.0));
		o = mask_s(r, COL(VT_FLOAT8), in);
		errno = 0;
		double d = strtod(o, NULL);
		bad8 += errno != 0 || !isfinite(d) || strcmp(o, in) == 0;
		free(o);
	}
	CHECK_INT(bad4, 0, "numeric: real values near its maximum stay finite reals");
	CHECK_INT(bad8, 0, "numeric: double values near its maximum stay finite doubles");
	char *o = mask_s(r, COL(VT_FLOAT4), "-0");
	float f = strtof(o, NULL); /* the smallest subnormal: PostgreSQL takes it */
	CHECK(f != 0 && isfinite(f), "numeric: real -0 becomes a real other than 0 (%s)",
	      o);
	free(o);
	rule_free(r);
}

/* NaN and the infinities are not measurements: they stay (documented). */
static void test_numeric_specials(void)
{
	mask_rule *r = rule_new("{strategy: numeric}");
	static const char *const ins[] = {"NaN", "Infinity", "-Infinity", "inf", "-inf", "nan"};
	for (size_t k = 0; k < sizeof(ins) / sizeof(*ins); k++) {
		char *o = mask_s(r, COL(VT_NUMERIC), ins[k]);
		CHECK(strcmp(o, ins[k]) == 0, "numeric: %s stays (%s)", ins[k], o);
		free(o);
	}
	char *o = mask_s(r, COL(VT_NUMERIC), "-0");
	CHECK(strcmp(o, "1") == 0 || strcmp(o, "-1") == 0, "numeric: -0 moves by one unit (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "1.5e-3");
	CHECK(strcmp(o, "1.5e-3") != 0 && is_number(o) && strstr(o, "e-3") && decimals(o) != 0,
	      "numeric: 1.5e-3 keeps its shape (%s)", o);
	free(o);
	static const char *const bad[] = {"0x1p4", "1e", "--1", "1.2.3", "", " ", "12 apples"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
		o = mask_s(r, COL(VT_TEXT), bad[k]);
		CHECK(strcmp(o, "<FAIL: value is not a number>") == 0, "numeric: \"%s\" is not a number (%s)", bad[k], o);
		free(o);
	}
	rule_free(r);
}

/* ---- json ---------------------------------------------------------------------------------- */

static void check_json(const mask_rule *r, const char *in, const char *want, const char *what)
{
	char *o = mask_s(r, COL(VT_JSON), in);
	CHECK_STR(o, want, what);
	free(o);
}

/* Keys were compared as C strings: "email\u0000x" was "email". */
static void test_json_keys_by_bytes(void)
{
	mask_rule *r = rule_new("{strategy: json, keys: [email]}");
	check_json(r, "{\"email\\u0000x\": \"a@b\", \"email\": \"c@d\"}",
	           "{\"email\\u0000x\": \"a@b\", \"email\": \"[REDACTED]\"}",
	           "json: a key holding \\u0000 is not the key before it");
	check_json(r, "{\"em\\u0061il\": \"a@b\", \"\\u0065mail\": [\"c@d\"]}",
	           "{\"em\\u0061il\": \"[REDACTED]\", \"\\u0065mail\": [\"[REDACTED]\"]}",
	           "json: a key spelled with escapes is matched decoded");
	check_json(r, "{\"email\": \"a@b\", \"email\": \"c@d\"}",
	           "{\"email\": \"[REDACTED]\", \"email\": \"[REDACTED]\"}",
	           "json: both of two duplicate keys are masked");
	check_json(r, "[{\"x\": [{\"email\": \"a@b\"}]}, {\"Email\": 1}]",
	           "[{\"x\": [{\"email\": \"[REDACTED]\"}]}, {\"Email\": 1}]",
	           "json: keys inside arrays of objects; keys are case-sensitive");
	rule_free(r);
	r = rule_new("{strategy: json, keys: ['[email]']}");
	check_json(r, "{\"[email]\": \"a@b\", \"a\": \"c\"}",
	           "{\"[email]\": \"[REDACTED]\", \"a\": \"c\"}",
	           "json: a key that starts with \"[\" can be ruled");
	rule_free(r);
}

/* Paths were strict: an array on the way, or a value where [*] expected an
 * array, let the value through; "$" masked nothing. */
static void test_json_lax_paths(void)
{
	mask_rule *r = rule_new("{strategy: json, paths: ['$.user.name', '$.items[*].card']}");
	check_json(r, "{\"user\": [{\"name\": \"Jane\"}, {\"name\": \"Joe\"}], \"name\": \"k\"}",
	           "{\"user\": [{\"name\": \"[REDACTED]\"}, {\"name\": \"[REDACTED]\"}], \"name\": \"k\"}",
	           "json: $.user.name finds names in an array of users");
	check_json(r, "[{\"user\": {\"name\": \"Jane\"}}]", "[{\"user\": {\"name\": \"[REDACTED]\"}}]",
	           "json: and in a document that is an array");
	check_json(r, "{\"items\": {\"card\": \"4111\"}}", "{\"items\": {\"card\": \"[REDACTED]\"}}",
	           "json: $.items[*].card takes a single item that is not in an array");
	check_json(r, "{\"items\": [[{\"card\": \"4111\"}]]}",
	           "{\"items\": [[{\"card\": \"[REDACTED]\"}]]}", "json: and items nested in arrays");
	rule_free(r);
	r = rule_new("{strategy: json, paths: ['$']}");
	check_json(r, "{\"a\": \"x\", \"b\": [1, null, true]}",
	           "{\"a\": \"[REDACTED]\", \"b\": [\"[REDACTED]\", null, true]}",
	           "json: $ masks the whole value");
	rule_free(r);
	r = rule_new("{strategy: json, paths: ['$.\"e-mail\"', \"$['a.b']\", '$.**.ssn']}");
	check_json(r, "{\"e-mail\": \"a\", \"a.b\": \"c\", \"a\": {\"b\": \"k\"}, \"d\": [{\"q\": {\"ssn\": \"1\"}}]}",
	           "{\"e-mail\": \"[REDACTED]\", \"a.b\": \"[REDACTED]\", \"a\": {\"b\": \"k\"}, \"d\": [{\"q\": {\"ssn\": \"[REDACTED]\"}}]}",
	           "json: quoted keys in paths, and ** for any depth");
	rule_free(r);
}

/* A string holding JSON hid its keys from the rule. */
static void test_json_in_a_string(void)
{
	mask_rule *r = rule_new("{strategy: json, keys: [email]}");
	check_json(r, "{\"p\": \"{\\\"email\\\": \\\"a@b.co\\\", \\\"n\\\": 1}\"}",
	           "{\"p\": \"{\\\"email\\\": \\\"[REDACTED]\\\", \\\"n\\\": 1}\"}",
	           "json: a key inside a string holding JSON is masked");
	check_json(r, "[\" [{\\\"x\\\": \\\"{\\\\\\\"email\\\\\\\": 5}\\\"}]\"]",
	           "[\" [{\\\"x\\\": \\\"{\\\\\\\"email\\\\\\\": \\\\\\\"[REDACTED]\\\\\\\"}\\\"}]\"]",
	           "json: and in JSON inside JSON inside a string");
	check_json(r, "{\"p\": \"{not json \\\"email\\\"\", \"q\": \"[\\\"email\\\"]\"}",
	           "{\"p\": \"{not json \\\"email\\\"\", \"q\": \"[\\\"email\\\"]\"}",
	           "json: other strings are kept byte for byte");
	rule_free(r);
	r = rule_new("{strategy: json, paths: ['$.p.email'], with: {strategy: numeric}}");
	char *o = mask_s(r, COL(VT_JSON), "{\"p\": \"{\\\"email\\\": \\\"a@b\\\"}\"}");
	CHECK_STR(o, "<FAIL: value is not a number>",
	          "json: a value inside a string that cannot be masked fails the value");
	free(o);
	rule_free(r);
}

/* The decoder took what PostgreSQL's json refuses. */
static void test_json_strict(void)
{
	mask_rule *r = rule_new("{strategy: json, keys: [email]}");
	static const char *const bad[] = {"\"\\x\"", "{\"a\": \"x\ty\"}", "[01]", "[-01.5]", "[1.]",
	                                  "{\"a\" 1}", "[1,]", "\"\\u12\"", "[1] x", "{\"a\": tru}"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
		char *o = mask_s(r, COL(VT_JSON), bad[k]);
		CHECK(strcmp(o, "<FAIL: value is not valid JSON>") == 0, "json: %s is not valid JSON (%s)", bad[k], o);
		free(o);
	}
	check_json(r, "{\"\\ud800\": \"a\", \"\\ud83d\\ude00\": \"\\ud800\\u0041\", \"email\": 0}",
	           "{\"\\ud800\": \"a\", \"\\ud83d\\ude00\": \"\\ud800\\u0041\", \"email\": \"[REDACTED]\"}",
	           "json: lone surrogates are read (PostgreSQL's json keeps them) and kept");
	char nul[] = "[\"a\", 1\0]";
	char *o = mask_n(r, COL(VT_JSON), nul, sizeof(nul) - 1);
	CHECK_STR(o, "<FAIL: value is not valid JSON>", "json: a NUL byte is not JSON");
	free(o);
	rule_free(r);
}

/* ---- phone and credit_card ------------------------------------------------------------------ */

/* Letters were copied as they were, and so was a value with no digits, or no
 * more digits than kept. */
static void test_phone_letters(void)
{
	mask_rule *r = rule_new("{strategy: phone}");
	char *o = mask_s(r, COL(VT_TEXT), "+1 415 555 0100 ext. Jane");
	CHECK(strncmp(o, "+", 1) == 0 && strlen(o) == 25 && !strstr(o, "Jane") && !strstr(o, "ext") &&
	          strstr(o, ". "),
	      "phone: letters are redrawn, punctuation kept (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "Jane Doe");
	CHECK(strlen(o) == 8 && o[4] == ' ' && isupper((unsigned char)o[0]) &&
	          isupper((unsigned char)o[5]) && strcmp(o, "Jane Doe") != 0,
	      "phone: a name in a phone column is not copied (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "J\xc3\xbcrgen");
	CHECK(strlen(o) == 6 && !strchr(o, '\xc3'), "phone: letters outside ASCII too (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "n/a");
	CHECK(strlen(o) == 3 && o[1] == '/' && strcmp(o, "n/a") != 0, "phone: n/a is masked (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "a");
	CHECK(strlen(o) == 1 && strcmp(o, "a") != 0, "phone: never the input, even one letter (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "- ()");
	CHECK_STR(o, "- ()", "phone: punctuation alone is kept");
	free(o);
	rule_free(r);
	r = rule_new("{strategy: phone, keep_first: 4}");
	o = mask_s(r, COL(VT_TEXT), "12-34");
	CHECK(strlen(o) == 5 && o[2] == '-' && strcmp(o, "12-34") != 0,
	      "phone: a value no longer than keep_first is redrawn whole (%s)", o);
	free(o);
	rule_free(r);
}

/* A card value of 64 digits or more was copied whole; so were its letters. */
static void test_card_long_and_letters(void)
{
	mask_rule *r = rule_new("{strategy: credit_card}");
	char in[200] = "";
	for (int i = 0; i < 8; i++)
		strcat(in, i ? " 4111111111111111" : "4111111111111111");
	char *o = mask_s(r, COL(VT_TEXT), in);
	CHECK(strlen(o) == strlen(in) && strncmp(o, in, strlen(in) - 4) != 0 &&
	          strcmp(o + strlen(o) - 4, "1111") == 0,
	      "credit_card: 135 characters of digits are masked, the last 4 kept");
	size_t same = 0;
	for (size_t i = 0; i + 4 < strlen(in); i++)
		same += o[i] == in[i] && in[i] != ' ';
	CHECK(same < 40, "credit_card: and few digits come out as they were (%zu)", same);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "VISA J SMITH 4111 1111 1111 1111");
	CHECK(strlen(o) == 32 && !strstr(o, "SMITH") && !strstr(o, "VISA") &&
	          strcmp(o + 28, "1111") == 0,
	      "credit_card: letters are redrawn (%s)", o);
	free(o);
	o = mask_s(r, COL(VT_TEXT), "N/A");
	CHECK(strlen(o) == 3 && strcmp(o, "N/A") != 0, "credit_card: N/A is masked (%s)", o);
	free(o);
	rule_free(r);
}

/* ---- The rules file --------------------------------------------------------------------------- */

/* Loads PATH as the rules file; its status, and the error's message and hint. */
static cf_status load_rules(const char *path, char **msg, char **hint)
{
	cf_ctx *ctx = cf_ctx_new();
	sync_rules *r = NULL;
	cf_status st = rules_load(ctx, path, "rules.yaml", &r);
	const cf_error_info *e = cf_last_error_info(ctx);
	*msg = cf_strdup(st && e && e->message ? e->message : "");
	*hint = cf_strdup(st && e && e->hint ? e->hint : "");
	rules_free(r);
	cf_ctx_free(ctx);
	return st;
}

/* A FIFO (or a directory) was reported as "does not exist". */
static void test_rules_file_kinds(void)
{
	char dir[] = "/tmp/cf-mask-edges-XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL, "a temporary directory"))
		return;
	char *fifo = cf_asprintf("%s/fifo.yaml", dir), *sub = cf_asprintf("%s/d.yaml", dir);
	char *link = cf_asprintf("%s/link.yaml", dir), *none = cf_asprintf("%s/none.yaml", dir);
	mkfifo(fifo, 0600);
	mkdir(sub, 0700);
	if (symlink(none, link) != 0)
		perror("symlink");
	static const struct {
		const char *what, *msg;
	} cases[] = {
		{"a FIFO", "could not read rules file \"rules.yaml\": it is a FIFO, not a regular file"},
		{"a directory",
		 "could not read rules file \"rules.yaml\": it is a directory, not a regular file"},
		{"a broken link", "could not read rules file \"rules.yaml\": it is a broken symbolic "
		                  "link, not a regular file"},
		{"missing", "rules file \"rules.yaml\" does not exist"},
	};
	const char *paths[] = {fifo, sub, link, none};
	for (size_t k = 0; k < 4; k++) {
		char *msg, *hint;
		CHECK_INT(load_rules(paths[k], &msg, &hint), CF_ERR_CONFIG, cases[k].what);
		CHECK_STR(msg, cases[k].msg, cases[k].what);
		CHECK(*hint != '\0', "with a hint (%s)", hint);
		free(msg);
		free(hint);
	}
	unlink(fifo);
	rmdir(sub);
	unlink(link);
	rmdir(dir);
	free(fifo);
	free(sub);
	free(link);
	free(none);
}

/* A json path that cannot be read is refused where it is written. */
static void test_rules_bad_json_path(void)
{
	const char *yaml = "t:\n  - column: doc\n    strategy: json\n    paths: ['$.a', '$..b']\n";
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	cf_yaml_parse(ctx, "rules.yaml", yaml, strlen(yaml), 0, &doc);
	mask_rule r;
	memset(&r, 0, sizeof(r));
	const cf_ynode *rule = doc->root->v[0]->v[0];
	static const char *const skip[] = {"column"};
	CHECK_INT(strat_parse(ctx, doc, rule, skip, 1, &r), CF_ERR_CONFIG, "json: a bad path is refused");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "invalid json path \"$..b\": a step is empty", "json: saying why");
	CHECK(e->line == 4 && e->column == 20, "json: at the path's line and column (%d:%d)", e->line,
	      e->column);
	strat_release(&r);
	cf_ydoc_free(doc);
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_numeric_beyond_double();
	test_numeric_long_digits();
	test_numeric_bigint_extremes();
	test_numeric_float_limits();
	test_numeric_specials();
	test_phone_letters();
	test_card_long_and_letters();
	test_json_keys_by_bytes();
	test_json_lax_paths();
	test_json_in_a_string();
	test_json_strict();
	test_rules_file_kinds();
	test_rules_bad_json_path();
	return t_done();
}
