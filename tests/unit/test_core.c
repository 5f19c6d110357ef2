/* Unit tests: hashing, keyed hashing, JSON, DSN masking, buffers, errors. */
#include "t.h"
#include "buf.h"
#include "error.h"
#include "hash.h"
#include "json.h"
#include "pg.h"
#include "secret.h"

static void test_hash(void)
{
	char hex[65];
	cf_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc");
	cf_sha256 h;
	cf_sha256_init(&h);
	cf_sha256_update(&h, "a", 1);
	cf_sha256_update(&h, "bc", 2);
	unsigned char raw[32];
	cf_sha256_final(&h, raw);
	cf_hex_encode(raw, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "streaming");
	unsigned char mac[32];
	cf_hmac_sha256("key", 3, "The quick brown fox jumps over the lazy dog", 43, mac);
	cf_hex_encode(mac, 32, hex);
	CHECK_STR(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", "HMAC-SHA256");
}

static void test_keyed(void)
{
	unsigned char a[16], b[16], c[16];
	cf_keyed_hash("k1", 2, "alice@example.com", 17, a, 16);
	cf_keyed_hash("k1", 2, "alice@example.com", 17, b, 16);
	cf_keyed_hash("k2", 2, "alice@example.com", 17, c, 16);
	CHECK(memcmp(a, b, 16) == 0, "same key, same input: same output");
	CHECK(memcmp(a, c, 16) != 0, "another key: another output");
	char longkey[200];
	memset(longkey, 'x', sizeof(longkey));
	cf_keyed_hash(longkey, sizeof(longkey), "v", 1, a, 16);
	cf_keyed_hash(longkey, sizeof(longkey), "v", 1, b, 16);
	CHECK(memcmp(a, b, 16) == 0, "keys longer than 64 bytes work");
	cf_keyed_state st;
	cf_keyed_init(&st, "k1", 2, 16);
	cf_keyed_update(&st, "alice@", 6);
	cf_keyed_update(&st, "example.com", 11);
	cf_keyed_final(&st, b, 16);
	cf_keyed_hash("k1", 2, "alice@example.com", 17, a, 16);
	CHECK(memcmp(a, b, 16) == 0, "streaming keyed hash equals one-shot");
	char u[37];
	cf_uuid_v4(u);
	CHECK(strlen(u) == 36 && u[14] == '4' && strchr("89ab", u[19]), "uuid v4 format: %s", u);
	char *s = cf_strdup("hunter2");
	cf_secret_free(s);
	CHECK(true, "secret free");
}

static void test_json(void)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "s", "a\"b\\c\nd\x01");
	cf_json_kv_int(&j, "n", -3);
	cf_json_key(&j, "arr");
	cf_json_arr_begin(&j);
	cf_json_int(&j, 1);
	cf_json_str(&j, NULL);
	cf_json_obj_begin(&j);
	cf_json_obj_end(&j);
	cf_json_arr_end(&j);
	cf_json_kv_bool(&j, "t", true);
	cf_json_obj_end(&j);
	CHECK_STR(b.data, "{\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"n\":-3,\"arr\":[1,null,{}],\"t\":true}",
	          "JSON writer output");
	cf_buf_release(&b);
}

/* Escapes S and returns the JSON text (caller frees). */
static char *escaped(const char *s, size_t n)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json_escape(&b, s, n);
	char *e = cf_buf_detach(&b);
	cf_buf_release(&b);
	return e;
}

static void test_json_utf8(void)
{
	static const struct {
		const char *in, *out, *what;
	} cases[] = {
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x93", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\x93",
		 "valid 2-, 3- and 4-byte sequences pass through"},
		{"caf\xe9.sql", "caf\\ufffd.sql", "a LATIN1 byte becomes \\ufffd"},
		{"\x80x", "\\ufffdx", "a stray continuation byte"},
		{"a\xe2\x82", "a\\ufffd\\ufffd", "a truncated sequence: each byte"},
		{"\xc0\xaf", "\\ufffd\\ufffd", "an overlong encoding"},
		{"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "a surrogate"},
		{"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd", "above U+10FFFF"},
		{"\xff\xfe", "\\ufffd\\ufffd", "bytes that never start a sequence"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *e = escaped(cases[i].in, strlen(cases[i].in));
		CHECK_STR(e, cases[i].out, cases[i].what);
		free(e);
	}
}

static void test_dsn(void)
{
	char *m = cf_dsn_mask("postgresql://app:s3cret@db.example:5432/prod?sslmode=require");
	CHECK_STR(m, "postgresql://app:***@db.example:5432/prod?sslmode=require", "URI password masked");
	free(m);
	m = cf_dsn_mask("postgres://app@db/prod?password=s3cret&sslmode=require");
	CHECK_STR(m, "postgres://app@db/prod?password=***&sslmode=require", "URI password= parameter masked");
	free(m);
	m = cf_dsn_mask("host=db user=app password='s3 cret' dbname=prod");
	CHECK(m && !strstr(m, "s3") && strstr(m, "password=***") && strstr(m, "host=db"),
	      "key=value password masked: %s", m);
	free(m);
	char *pw = cf_dsn_password("postgresql://app:s3cret@db/prod");
	CHECK_STR(pw, "s3cret", "password extracted from a URI");
	cf_secret_free(pw);
	pw = cf_dsn_password("host=db dbname=x");
	CHECK(pw == NULL, "no password");
	CHECK(cf_dsn_same_db("postgresql://a@localhost:5432/x", "host=127.0.0.1 port=5432 dbname=x user=b"),
	      "localhost and 127.0.0.1 are the same database");
	CHECK(!cf_dsn_same_db("postgresql://a@localhost:5432/x", "postgresql://a@localhost:5433/x"),
	      "another port is another database");
	char *err = NULL;
	CHECK(!cf_dsn_valid("host=db bogus_option=1", &err), "invalid conninfo detected");
	CHECK_STR(err, "invalid connection option \"bogus_option\"", "libpq's reason");
	free(err);
	char *q = cf_dsn_quote("it's a \\ path");
	CHECK_STR(q, "'it\\'s a \\\\ path'", "conninfo quoting");
	free(q);
}

static void test_quote(void)
{
	char *s = cf_sql_format(NULL, "SELECT %I FROM %Q WHERE x = %L AND n = %d", "we\"ird", "s.t",
	                        "it's", 7);
	CHECK_STR(s, "SELECT \"we\"\"ird\" FROM \"s\".\"t\" WHERE x = 'it''s' AND n = 7", "SQL builder");
	free(s);
}

static void test_errors(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_error_set(ctx, CF_ERR_SQL, "first %d", 1);
	cf_error_detail(ctx, "Detail one.");
	cf_error_set(ctx, CF_ERR_CONFIG, "second");
	cf_error_detail(ctx, "Detail two.");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "first 1", "the first failure wins");
	CHECK_STR(e->detail, "Detail one.", "later details do not leak onto it");
	CHECK_INT(e->code, CF_ERR_SQL, "code of the first failure");
	cf_error_context(ctx, "while doing %s", "x");
	cf_error_context(ctx, "while doing %s", "y");
	CHECK_STR(cf_last_error_info(ctx)->context, "while doing x\nwhile doing y", "context lines accumulate");
	cf_ctx_clear_error(ctx);
	CHECK_STR(cf_last_error(ctx), "", "cleared");
	/* Server positions map into the file. */
	const char *text = "SELECT 1;\nCREATE TABLE t (\n  a nosuchtype\n);";
	cf_error_set(ctx, CF_ERR_SQL, "type \"nosuchtype\" does not exist");
	cf_error_server_position(ctx, 22);
	cf_error_locate(ctx, "x.sql", text, 10);
	e = cf_last_error_info(ctx);
	CHECK(e->line == 3 && e->column == 5, "server position mapped to file line:col (%d:%d)",
	      e->line, e->column);
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	CHECK(!cf_error_is_set(ctx), "stash sets the error aside");
	cf_error_set(ctx, CF_ERR_IO, "noise");
	cf_error_unstash(ctx, &stash);
	CHECK_STR(cf_last_error(ctx), "type \"nosuchtype\" does not exist", "unstash restores it");
	cf_ctx_free(ctx);
}

static void test_buf(void)
{
	CHECK_INT(cf_edit_distance("kitten", "sitting"), 3, "edit distance");
	const char *c[] = {"database_url", "include_dirs", "protected"};
	CHECK_STR(cf_closest("databse_url", c, 3), "database_url", "closest");
	CHECK(cf_closest("zzzzzz", c, 3) == NULL, "nothing close");
	cf_strv sv;
	cf_strv_init(&sv);
	cf_strv_split(&sv, " a, b ,,c ", ',');
	char *j = cf_strv_join(&sv, "|");
	CHECK_STR(j, "a|b|c", "split trims and drops empties");
	free(j);
	cf_strv_release(&sv);
	cf_buf b;
	cf_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		cf_buf_printf(&b, "%d,", i);
	CHECK(b.len == strlen(b.data) && strncmp(b.data + b.len - 4, "999,", 4) == 0, "buffer growth");
	cf_buf_release(&b);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	test_hash();
	test_keyed();
	test_json();
	test_json_utf8();
	test_dsn();
	test_quote();
	test_errors();
	test_buf();
	return t_done();
}
