/* Unit tests: every anonymization strategy, the rules file, the value codecs
 * and the text patterns of confiture sync. */
#include "t.h"
#include "sync/sync.h"

#include <ctype.h>
#include <unistd.h>

static cf_ctx *ctx;
static char rules_path[64];

/* Loads YAML as a rules file and primes it with KEY (NULL: no key). */
static sync_rules *load_key(const char *yaml, const char *key, cf_status *st_out)
{
	FILE *f = fopen(rules_path, "w");
	fputs(yaml, f);
	fclose(f);
	cf_ctx_clear_error(ctx);
	sync_rules *r = NULL;
	cf_status st = rules_load(ctx, rules_path, "rules.yaml", &r);
	if (!st) {
		if (key)
			setenv("T_ANON_KEY", key, 1);
		else
			unsetenv("T_ANON_KEY");
		st = rules_set_key(ctx, r, "T_ANON_KEY", false);
	}
	if (st_out)
		*st_out = st;
	if (st) {
		rules_free(r);
		return NULL;
	}
	return r;
}

static sync_rules *load(const char *yaml)
{
	cf_status st;
	sync_rules *r = load_key(yaml, "unit-test-key-0123456789", &st);
	if (!r)
		printf("    load failed: %s\n", cf_last_error(ctx));
	return r;
}

static const mask_rule *rule(const sync_rules *r, size_t t, size_t k)
{
	return &r->tables[t].rules[k];
}

/* Masks IN as a text value; returns a static copy ("<NULL>", "<FAIL: why>"). */
static const char *maskv(const mask_rule *r, vtype vt, const char *in)
{
	static char res[8][512];
	static int slot;
	char *o = res[slot++ % 8];
	cf_buf out;
	cf_buf_init(&out);
	const char *why = NULL;
	vcol c = {vt, -1, -1};
	mask_rc rc = strat_mask(r, c, in, strlen(in), &out, &why);
	if (rc == MASK_NULL)
		snprintf(o, 512, "<NULL>");
	else if (rc == MASK_FAIL)
		snprintf(o, 512, "<FAIL: %s>", why);
	else
		snprintf(o, 512, "%s", out.data);
	cf_buf_release(&out);
	return o;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Same shape: digits where digits were, other characters kept. */
static bool same_shape(const char *a, const char *b)
{
	if (strlen(a) != strlen(b))
		return false;
	for (; *a; a++, b++)
		if (isdigit((unsigned char)*a) ? !isdigit((unsigned char)*b) : *a != *b)
			return false;
	return true;
}

static void test_email(void)
{
	sync_rules *r = load("users:\n  - {column: email, strategy: email}\n"
	                     "orders:\n  - {column: buyer, strategy: email}\n"
	                     "  - {column: other, strategy: email, keep_domain: true, length: 8}\n"
	                     "  - {column: seeded, strategy: email, seed: 42}\n");
	if (!r)
		return;
	const char *a = maskv(rule(r, 0, 0), VT_TEXT, "alice@corp.example");
	CHECK(strncmp(a, "user_", 5) == 0 && strlen(a) == 5 + 16 + 12 && all_hex(a + 5, 16) &&
	      strcmp(a + 21, "@example.com") == 0, "email: user_<16 hex>@example.com (%s)", a);
	CHECK_STR(maskv(rule(r, 1, 0), VT_TEXT, "alice@corp.example"), a,
	          "email: the same value masks the same in another table (joins survive)");
	CHECK(strcmp(maskv(rule(r, 0, 0), VT_TEXT, "bob@corp.example"), a) != 0,
	      "email: another value gives another output (unique-preserving)");
	const char *k = maskv(rule(r, 1, 1), VT_TEXT, "alice@corp.example");
	CHECK(strlen(k) == 5 + 8 + 13 && strcmp(k + 13, "@corp.example") == 0,
	      "email: keep_domain keeps the domain, length sets the hex length (%s)", k);
	CHECK(strcmp(maskv(rule(r, 1, 2), VT_TEXT, "alice@corp.example"), a) != 0,
	      "email: a seed gives a separate output domain");
	rules_free(r);
	sync_rules *r2 = load_key("users:\n  - {column: email, strategy: email}\n", "another-key-abcdefghijkl", NULL);
	CHECK(r2 && strcmp(maskv(rule(r2, 0, 0), VT_TEXT, "alice@corp.example"), a) != 0,
	      "email: a different key gives a different output");
	rules_free(r2);
}

static char *digits_of(const char *s)
{
	static char d[8][64];
	static int slot;
	char *o = d[slot++ % 8];
	size_t k = 0;
	for (; *s && k < 63; s++)
		if (isdigit((unsigned char)*s))
			o[k++] = *s;
	o[k] = '\0';
	return o;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void test_phone_name_hash(void)
{
	sync_rules *r = load("t:\n  - {column: p, strategy: phone}\n"
	                     "  - {column: q, strategy: phone, keep_first: 2}\n"
	                     "  - {column: n, strategy: name}\n"
	                     "  - {column: f, strategy: name, part: first}\n"
	                     "  - {column: l, strategy: name, part: last}\n"
	                     "  - {column: h, strategy: hash}\n"
	                     "  - {column: h2, strategy: hash, length: 40, prefix: 'h_'}\n");
	if (!r)
		return;
	const char *in = "+1 (415) 555-0100";
	const char *p = maskv(rule(r, 0, 0), VT_TEXT, in);
	CHECK(same_shape(in, p) && strcmp(in, p) != 0, "phone: keeps the format and digit count (%s)", p);
	CHECK_STR(digits_of(maskv(rule(r, 0, 0), VT_TEXT, "14155550100")), digits_of(p),
	          "phone: the digits alone decide, whatever the formatting");
	const char *q = maskv(rule(r, 0, 1), VT_TEXT, "0612345678");
	CHECK(strncmp(q, "06", 2) == 0 && strlen(q) == 10 && strcmp(q, "0612345678") != 0,
	      "phone: keep_first keeps the leading digits (%s)", q);
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "n/a"), "n/a", "phone: no digits, nothing to mask");
	const char *full = maskv(rule(r, 0, 2), VT_TEXT, "Jane Q. Public");
	char first[64] = "", last[64] = "";
	sscanf(full, "%63s %63s", first, last);
	CHECK(in_list(first, cf_first_names, cf_n_first_names) &&
	      in_list(last, cf_last_names, cf_n_last_names), "name: full name from the lists (%s)", full);
	CHECK_STR(maskv(rule(r, 0, 2), VT_TEXT, "  Jane Q. Public "), full,
	      "name: surrounding blanks do not matter");
	const char *f = maskv(rule(r, 0, 3), VT_TEXT, "Jane");
	CHECK(in_list(f, cf_first_names, cf_n_first_names), "name: part first (%s)", f);
	const char *l = maskv(rule(r, 0, 4), VT_TEXT, "Public");
	CHECK(in_list(l, cf_last_names, cf_n_last_names), "name: part last (%s)", l);
	/* A value that happens to be a list name never comes back unchanged. */
	int same = 0;
	for (size_t i = 0; i < cf_n_first_names; i++)
		same += strcmp(maskv(rule(r, 0, 3), VT_TEXT, cf_first_names[i]), cf_first_names[i]) == 0;
	CHECK_INT(same, 0, "name: never returns its input");
	const char *h = maskv(rule(r, 0, 5), VT_TEXT, "secret");
	CHECK(strlen(h) == 16 && all_hex(h, 16), "hash: 16 hex characters by default (%s)", h);
	const char *h2 = maskv(rule(r, 0, 6), VT_TEXT, "secret");
	CHECK(strlen(h2) == 42 && strncmp(h2, "h_", 2) == 0 && all_hex(h2 + 2, 40),
	      "hash: length and prefix (%s)", h2);
	rules_free(r);
}

static void test_simple(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: redact}\n"
	                     "  - {column: b, strategy: redact, replacement: '***'}\n"
	                     "  - {column: c, strategy: null}\n"
	                     "  - {column: d, strategy: constant, value: 'n/a'}\n"
	                     "  - {column: e, strategy: partial}\n"
	                     "  - {column: f, strategy: partial, keep_first: 2, keep_last: 4, mask_char: '#'}\n"
	                     "  - {column: g, strategy: uuid}\n");
	if (!r)
		return;
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "secret"), "[REDACTED]", "redact: default replacement");
	CHECK_STR(maskv(rule(r, 0, 1), VT_TEXT, "secret"), "***", "redact: replacement");
	CHECK_STR(maskv(rule(r, 0, 2), VT_TEXT, "secret"), "<NULL>", "null: SQL NULL");
	CHECK_STR(maskv(rule(r, 0, 3), VT_TEXT, "secret"), "n/a", "constant: the value");
	CHECK_STR(maskv(rule(r, 0, 4), VT_TEXT, "Dupont"), "D****t", "partial: first and last kept");
	CHECK_STR(maskv(rule(r, 0, 4), VT_TEXT, "Al"), "**", "partial: too short, all masked");
	CHECK_STR(maskv(rule(r, 0, 5), VT_TEXT, "4111222233334444"), "41##########4444",
	          "partial: keep_first, keep_last, mask_char");
	CHECK_STR(maskv(rule(r, 0, 4), VT_TEXT, "Éloïse"), "É****e", "partial: counts characters, not bytes");
	const char *u = maskv(rule(r, 0, 6), VT_TEXT, "6f1c3d2e-0000-4000-8000-000000000001");
	CHECK(strlen(u) == 36 && u[8] == '-' && u[14] == '4' && strchr("89ab", u[19]),
	      "uuid: a valid version 4 UUID (%s)", u);
	CHECK_STR(maskv(rule(r, 0, 6), VT_UUID, "6F1C3D2E000040008000000000000001"), u,
	          "uuid: any spelling of the same UUID masks the same");
	rules_free(r);
}
static int64_t days_of(const char *s)
{
	dt_val v;
	return dt_parse(s, strlen(s), &v) ? v.days : INT64_MIN;
}

static void test_dates(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: date}\n"
	                     "  - {column: b, strategy: date, max_days: 400, keep_month: true}\n"
	                     "  - {column: c, strategy: date, max_days: 400, keep_year: true}\n"
	                     "  - {column: d, strategy: timestamp, max_days: 2}\n"
	                     "  - {column: e, strategy: date_shift}\n");
	if (!r)
		return;
	int bad = 0, same = 0;
	char in[32];
	for (int d = 1; d <= 28; d++) {
		snprintf(in, sizeof(in), "2021-02-%02d", d);
		const char *o = maskv(rule(r, 0, 0), VT_DATE, in);
		int64_t delta = days_of(o) - days_of(in);
		bad += delta < -30 || delta > 30 || strlen(o) != 10;
		same += delta == 0;
		const char *m = maskv(rule(r, 0, 1), VT_DATE, in);
		bad += strncmp(m, "2021-02-", 8) != 0;
		const char *y = maskv(rule(r, 0, 2), VT_DATE, in);
		bad += strncmp(y, "2021-", 5) != 0;
	}
	CHECK_INT(bad, 0, "date: within max_days, keep_month and keep_year hold");
	CHECK_INT(same, 0, "date: never returns its input");
	const char *ts = "2021-06-15 10:20:30.25+00";
	const char *o = maskv(rule(r, 0, 3), VT_TIMESTAMPTZ, ts);
	CHECK(strlen(o) == strlen(ts) && strcmp(o + 19, ".25+00") == 0 && strcmp(o, ts) != 0 &&
	      llabs(days_of(o) - days_of(ts)) <= 2, "timestamp: shifted, same shape and fraction (%s)", o);
	CHECK_STR(maskv(rule(r, 0, 3), VT_TIMESTAMP, "infinity"), "infinity", "timestamp: infinity stays");
	const char *dt = maskv(rule(r, 0, 0), VT_TIMESTAMP, "2021-06-15T08:00:00");
	CHECK(strlen(dt) == 19 && dt[10] == 'T' && strcmp(dt + 10, "T08:00:00") == 0,
	      "date: on a timestamp, whole days move and the time stays (%s)", dt);
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "not a date"), "<FAIL: value is not an ISO date or timestamp>",
	          "date: a value that is no date fails without showing it");
	CHECK_STR(maskv(rule(r, 0, 4), VT_DATE, "2021-02-10"), maskv(rule(r, 0, 0), VT_DATE, "2021-02-10"),
	          "date_shift is an alias of date (same output)");
	/* Binary and text COPY must agree: the codec round trip gives the same text. */
	cf_buf b, t;
	cf_buf_init(&b);
	cf_buf_init(&t);
	CHECK(value_text_to_bin(VT_TIMESTAMPTZ, ts, strlen(ts), &b) &&
	      value_bin_to_text(VT_TIMESTAMPTZ, b.data, b.len, &t) && strcmp(t.data, "2021-06-15 10:20:30.25+00") == 0,
	      "codec: timestamptz text -> binary -> text (%s)", t.data);
	cf_buf_reset(&b);
	cf_buf_reset(&t);
	CHECK(value_text_to_bin(VT_DATE, "1999-12-31", 10, &b) && b.len == 4 &&
	      (unsigned char)b.data[3] == 0xff && value_bin_to_text(VT_DATE, b.data, 4, &t) &&
	      strcmp(t.data, "1999-12-31") == 0, "codec: date is days since 2000-01-01");
	cf_buf_reset(&b);
	cf_buf_reset(&t);
	CHECK(value_text_to_bin(VT_DATE, "0044-03-15 BC", 13, &b) && value_bin_to_text(VT_DATE, b.data, 4, &t) &&
	      strcmp(t.data, "0044-03-15 BC") == 0, "codec: BC dates round trip (%s)", t.data);
	cf_buf_release(&b);
	cf_buf_release(&t);
	rules_free(r);
}

static void test_numeric(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: numeric}\n"
	                     "  - {column: b, strategy: numeric, percent: 50}\n");
	if (!r)
		return;
	int bad = 0;
	char in[32];
	for (int i = 1; i <= 50; i++) {
		snprintf(in, sizeof(in), "%d.%02d", 1000 + i * 37, i);
		const char *o = maskv(rule(r, 0, 0), VT_NUMERIC, in);
		double v = atof(in), w = atof(o);
		const char *dot = strchr(o, '.');
		bad += !dot || strlen(dot) != 3 || w < v * 0.9 - 0.01 || w > v * 1.1 + 0.01 || strcmp(o, in) == 0;
	}
	CHECK_INT(bad, 0, "numeric: within 10%%, same scale, never the input");
	const char *i = maskv(rule(r, 0, 0), VT_INT4, "0");
	CHECK(strcmp(i, "1") == 0 || strcmp(i, "-1") == 0, "numeric: 0 moves by one unit (%s)", i);
	const char *big = maskv(rule(r, 0, 1), VT_INT2, "32000");
	CHECK(atoi(big) <= 32767 && atoi(big) != 32000, "numeric: stays inside smallint (%s)", big);
	cf_buf out;
	cf_buf_init(&out);
	const char *why = NULL;
	vcol c = {VT_NUMERIC, 5, 2};
	strat_mask(rule(r, 0, 1), c, "999.00", 6, &out, &why);
	CHECK(atof(out.data) <= 999.99 && strchr(out.data, '.') && strlen(strchr(out.data, '.')) == 3,
	      "numeric: stays inside numeric(5,2) (%s)", out.data);
	cf_buf_release(&out);
	CHECK_STR(maskv(rule(r, 0, 0), VT_NUMERIC, "NaN"), "NaN", "numeric: NaN stays");
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "12 apples"), "<FAIL: value is not a number>",
	          "numeric: not a number fails without showing it");
	/* numeric binary codec */
	static const char *const nums[] = {"0", "0.00", "1", "-1", "12345.6789", "0.0001", "-0.5",
	                                   "100000000", "3.14159265358979323846", "10000.00", "NaN"};
	int rt = 0;
	for (size_t k = 0; k < sizeof(nums) / sizeof(*nums); k++) {
		cf_buf b, t;
		cf_buf_init(&b);
		cf_buf_init(&t);
		bool ok = value_text_to_bin(VT_NUMERIC, nums[k], strlen(nums[k]), &b) &&
		          value_bin_to_text(VT_NUMERIC, b.data, b.len, &t) && strcmp(t.data, nums[k]) == 0;
		if (!ok)
			printf("    numeric round trip: %s -> %s\n", nums[k], t.data);
		rt += ok;
		cf_buf_release(&b);
		cf_buf_release(&t);
	}
	CHECK_INT(rt, (int)(sizeof(nums) / sizeof(*nums)), "codec: numeric text -> binary -> text");
	rules_free(r);
}

static void test_ip_card(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: ip}\n"
	                     "  - {column: b, strategy: ip, prefix_v4: 16}\n"
	                     "  - {column: c, strategy: credit_card}\n"
	                     "  - {column: d, strategy: credit_card, keep_first: 1, keep_last: 2}\n");
	if (!r)
		return;
	const char *a = maskv(rule(r, 0, 0), VT_INET, "192.168.17.42");
	CHECK(strncmp(a, "192.168.17.", 11) == 0 && strcmp(a, "192.168.17.42") != 0,
	      "ip: keeps the /24 (%s)", a);
	const char *b = maskv(rule(r, 0, 1), VT_INET, "10.20.30.40/8");
	CHECK(strncmp(b, "10.20.", 6) == 0 && strstr(b, "/8") && strcmp(b, "10.20.30.40/8") != 0,
	      "ip: prefix_v4, and the netmask is kept (%s)", b);
	const char *c6 = maskv(rule(r, 0, 0), VT_INET, "2001:db8:1:2:3:4:5:6");
	CHECK(strncmp(c6, "2001:db8:1:2:", 13) == 0 && strcmp(c6, "2001:db8:1:2:3:4:5:6") != 0,
	      "ip: keeps the IPv6 /64 (%s)", c6);
	CHECK_STR(maskv(rule(r, 0, 0), VT_CIDR, "10.1.0.0/16"), "10.1.0.0/16",
	          "ip: a /16 network has no host bits below /24 to mask");
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "localhost"), "<FAIL: value is not an IP address>",
	          "ip: not an address fails");
	const char *card = "4111-1111-1111-1111";
	const char *o = maskv(rule(r, 0, 2), VT_TEXT, card);
	const char *od = digits_of(o);
	CHECK(same_shape(card, o) && strcmp(o + 15, "1111") == 0 && luhn_valid(od, strlen(od)) &&
	      strcmp(o, card) != 0, "credit_card: Luhn-valid, last 4 kept, same format (%s)", o);
	const char *d = maskv(rule(r, 0, 3), VT_TEXT, "5500005555555559");
	CHECK(d[0] == '5' && strcmp(d + 14, "59") == 0 && luhn_valid(d, 16),
	      "credit_card: keep_first, keep_last (%s)", d);
	int ok = 0;
	for (int i = 0; i < 100; i++) {
		char in[20];
		snprintf(in, sizeof(in), "4000%012d", i * 7919);
		const char *m = maskv(rule(r, 0, 2), VT_TEXT, in);
		ok += luhn_valid(m, 16) && strcmp(m + 12, in + 12) == 0 && strchr("3456", m[0]);
	}
	CHECK_INT(ok, 100, "credit_card: always Luhn-valid with a plausible first digit");
	rules_free(r);
}

static void test_text_redact(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: text_redact}\n"
	                     "  - {column: b, strategy: text_redact, patterns: [email, ssn, iban], replacement: '[X]'}\n"
	                     "  - {column: c, strategy: text_redact, patterns: email, custom: ['order #[0-9]+']}\n"
	                     "  - {column: e, strategy: email}\n");
	if (!r)
		return;
	const char *in = "Call +1 415 555 0100 or mail jane.doe@corp.example, card 4111 1111 1111 1111. Meeting on 2024-01-31 at 10:30.";
	const char *o = maskv(rule(r, 0, 0), VT_TEXT, in);
	CHECK(!strstr(o, "jane.doe") && !strstr(o, "555 0100") && !strstr(o, "4111 1111 1111 1111") &&
	      strstr(o, "Call +") && strstr(o, " or mail user_") && strstr(o, "2024-01-31 at 10:30."),
	      "text_redact: emails, phones and cards replaced by lookalikes, dates kept (%s)", o);
	char expect[64];
	snprintf(expect, sizeof(expect), "mail %s,", maskv(rule(r, 0, 3), VT_TEXT, "jane.doe@corp.example"));
	CHECK(strstr(o, expect) != NULL, "text_redact: an email masks as the email strategy masks it");
	const char *b = maskv(rule(r, 0, 1), VT_TEXT,
	                      "SSN 078-05-1120, IBAN GB82 WEST 1234 5698 7654 32, mail a@b.co, tel 0612345678");
	CHECK_STR(b, "SSN [X], IBAN [X], mail [X], tel 0612345678",
	          "text_redact: patterns choose the kinds, replacement the text");
	const char *c = maskv(rule(r, 0, 2), VT_TEXT, "Ref order #12345 from x@y.org");
	CHECK(strstr(c, "Ref [REDACTED] from user_") != NULL, "text_redact: custom regexes (%s)", c);
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "nothing personal here"), "nothing personal here",
	          "text_redact: text without PII is kept");
	rules_free(r);
}

static void test_json(void)
{
	sync_rules *r = load("t:\n  - {column: a, strategy: json, keys: [email, phone]}\n"
	                     "  - {column: b, strategy: json, paths: ['$.user.name', '$.items[*].card'], with: hash}\n"
	                     "  - {column: c, strategy: json, keys: [email], with: {strategy: email, keep_domain: true}}\n"
	                     "  - {column: d, strategy: json, keys: [salary], with: {strategy: numeric, percent: 5}}\n"
	                     "  - {column: e, strategy: json, keys: [contact]}\n");
	if (!r)
		return;
	CHECK_STR(maskv(rule(r, 0, 0), VT_JSONB, "{\"email\": \"a@b.co\", \"n\": [1, {\"phone\": \"555\"}], \"ok\": true}"),
	          "{\"email\": \"[REDACTED]\", \"n\": [1, {\"phone\": \"[REDACTED]\"}], \"ok\": true}",
	          "json: keys at any depth, the rest kept");
	const char *b = maskv(rule(r, 0, 1), VT_JSON,
	                      "{\"user\": {\"name\": \"Jane\", \"id\": 7}, \"items\": [{\"card\": \"4111\"}, {\"card\": null}], \"name\": \"keep\"}");
	CHECK(strstr(b, "\"name\": \"keep\"") && !strstr(b, "Jane") && !strstr(b, "4111") &&
	      strstr(b, "\"id\": 7") && strstr(b, "\"card\": null"),
	      "json: paths with wildcards through arrays, null stays (%s)", b);
	const char *c = maskv(rule(r, 0, 2), VT_JSON, "{\"email\": \"jane@corp.example\"}");
	CHECK(strstr(c, "@corp.example\"") && !strstr(c, "jane"), "json: with: takes a strategy and its parameters (%s)", c);
	const char *d = maskv(rule(r, 0, 3), VT_JSON, "{\"salary\": 5000.00}");
	CHECK(strncmp(d, "{\"salary\": ", 11) == 0 && d[11] != '"' && strcmp(d, "{\"salary\": 5000.00}") != 0,
	      "json: a masked number stays a number (%s)", d);
	const char *e = maskv(rule(r, 0, 4), VT_JSON, "{\"contact\": {\"mail\": \"x@y.z\", \"tags\": [\"a\", 3]}}");
	CHECK_STR(e, "{\"contact\": {\"mail\": \"[REDACTED]\", \"tags\": [\"[REDACTED]\", \"[REDACTED]\"]}}",
	          "json: everything inside a matched object is masked");
	CHECK_STR(maskv(rule(r, 0, 0), VT_JSON, "{\"email\": "), "<FAIL: value is not valid JSON>",
	          "json: invalid JSON fails without showing it");
	CHECK_STR(maskv(rule(r, 0, 0), VT_JSON, "{\"a\\u00e9\": \"\\u00e9\\\"x\"}"), "{\"a\\u00e9\": \"\\u00e9\\\"x\"}",
	          "json: escapes outside matched keys are kept byte for byte");
	rules_free(r);
}

/* Expects YAML to fail to load with MESSAGE at LINE. */
static void expect_rules_error(const char *yaml, const char *key, const char *message, int line,
                               const char *what)
{
	cf_status st;
	sync_rules *r = load_key(yaml, key, &st);
	rules_free(r);
	const cf_error_info *e = cf_last_error_info(ctx);
	bool ok = st == CF_ERR_CONFIG && e && strstr(e->message, message) &&
	          (line == 0 || (e->file && strcmp(e->file, "rules.yaml") == 0 && e->line == line));
	CHECK(ok, "%s", what);
	if (!ok)
		printf("    status %d, message: %s, at %s:%d\n", st, e ? e->message : "(none)",
		       e && e->file ? e->file : "-", e ? e->line : 0);
}

static void test_rules_errors(void)
{
	const char *k = "unit-test-key-0123456789";
	expect_rules_error("users:\n  - column: email\n    strategy: emial\n", k,
	                   "unknown strategy \"emial\"", 3, "rules: unknown strategy names its line");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(e && e->hint && strstr(e->hint, "\"email\""), "rules: with a did-you-mean hint");
	expect_rules_error("users:\n  - {column: email, strategy: email, lenght: 12}\n", k,
	                   "unknown key \"lenght\" in the parameters of strategy \"email\"", 2,
	                   "rules: unknown parameter names its line");
	expect_rules_error("users:\n  - {column: email, strategy: email, length: 3}\n", k,
	                   "invalid value for \"length\": expected an integer from 8 to 32, got \"3\"", 2,
	                   "rules: bad parameter value");
	expect_rules_error("users:\n  - {strategy: email}\n", k, "has no \"column\"", 2,
	                   "rules: missing column");
	expect_rules_error("users:\n  - {column: email}\n", k, "rule has no \"strategy\"", 2,
	                   "rules: missing strategy");
	expect_rules_error("users:\n  - {column: c, strategy: constant}\n", k,
	                   "strategy \"constant\" needs a \"value\"", 2, "rules: constant needs a value");
	expect_rules_error("users:\n  - {column: c, strategy: sql}\n", k,
	                   "strategy \"sql\" needs an \"expression\"", 2, "rules: sql needs an expression");
	expect_rules_error("users:\n  - {column: c, strategy: sql, expression: \"1); DROP TABLE users; --\"}\n",
	                   k, "invalid SQL expression", 2, "rules: sql takes one expression, nothing more");
	expect_rules_error("users:\n  - {column: c, strategy: null}\n  - {column: c, strategy: redact}\n", k,
	                   "column \"c\" of table \"users\" has two rules", 3, "rules: two rules for a column");
	expect_rules_error("users: {where: 'id < 3', colums: []}\n", k, "unknown key \"colums\"", 1,
	                   "rules: unknown key in a table map");
	expect_rules_error("users:\n  - {column: c, strategy: plugin:nope}\n", k,
	                   "unknown plugin strategy \"nope\"", 2, "rules: unknown plugin strategy");
	expect_rules_error("users:\n  - {column: c, strategy: text_redact, patterns: [email, pasport]}\n", k,
	                   "unknown pattern \"pasport\"", 2, "rules: unknown text_redact pattern");
	expect_rules_error("users:\n  - {column: c, strategy: text_redact, custom: ['(']}\n", k,
	                   "invalid regular expression", 2, "rules: bad regex");
	expect_rules_error("users:\n  - {column: email, strategy: email}\n", NULL,
	                   "no anonymization key: environment variable \"T_ANON_KEY\" is not set", 0,
	                   "rules: no key, no run");
	expect_rules_error("key_env: MY_MISSING_KEY\nusers:\n  - {column: email, strategy: email}\n", k,
	                   "\"MY_MISSING_KEY\" is not set", 1, "rules: key_env names the variable");
	/* --allow-random */
	FILE *f = fopen(rules_path, "w");
	fputs("users:\n  - {column: email, strategy: email}\n", f);
	fclose(f);
	unsetenv("T_ANON_KEY");
	sync_rules *r = NULL;
	cf_ctx_clear_error(ctx);
	cf_status st = rules_load(ctx, rules_path, "rules.yaml", &r);
	if (!st)
		st = rules_set_key(ctx, r, "T_ANON_KEY", true);
	CHECK(st == CF_OK && r->is_random && !r->has_key, "rules: --allow-random masks with a random key");
	rules_free(r);
	/* The precursor's file, as the precursor wrote it. */
	r = load("users:\n  - column: email\n    strategy: email\n    seed: 12345\n  - column: ssn\n"
	         "    strategy: redact\norders:\n  - column: credit_card_last4\n    strategy: redact\n");
	CHECK(r && r->n_tables == 2 && r->tables[0].n_rules == 2 && strcmp(r->tables[0].rules[0].seed, "12345") == 0,
	      "rules: the precursor's format loads");
	rules_free(r);
}

static void test_codecs_and_patterns(void)
{
	cf_buf b;
	cf_buf_init(&b);
	copy_text_escape("a\tb\\c\nd", 7, &b);
	CHECK_STR(b.data, "a\\tb\\\\c\\nd", "copy text: escape");
	cf_buf_reset(&b);
	copy_text_unescape("a\\tb\\\\c\\nd\\101\\x42", 18, &b);
	CHECK_STR(b.data, "a\tb\\c\ndAB", "copy text: unescape, octal and hex too");
	cf_buf_reset(&b);
	cf_buf t;
	cf_buf_init(&t);
	CHECK(value_text_to_bin(VT_INET, "10.1.2.3/24", 11, &b) && b.len == 8 &&
	      value_bin_to_text(VT_INET, b.data, b.len, &t) && strcmp(t.data, "10.1.2.3/24") == 0,
	      "codec: inet round trip");
	cf_buf_reset(&b);
	cf_buf_reset(&t);
	CHECK(value_text_to_bin(VT_UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 36, &b) &&
	      value_bin_to_text(VT_UUID, b.data, b.len, &t) &&
	      strcmp(t.data, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == 0, "codec: uuid round trip");
	cf_buf_reset(&b);
	cf_buf_reset(&t);
	CHECK(value_text_to_bin(VT_INT8, "-9223372036854775808", 20, &b) &&
	      value_bin_to_text(VT_INT8, b.data, b.len, &t) && strcmp(t.data, "-9223372036854775808") == 0,
	      "codec: int8 round trip");
	cf_buf_release(&b);
	cf_buf_release(&t);
	CHECK(pat_whole(PAT_EMAIL, "first.last+tag@sub.example.org", 30), "pattern: email");
	CHECK(!pat_whole(PAT_EMAIL, "not@an-email", 12), "pattern: no TLD, no email");
	CHECK(pat_whole(PAT_PHONE, "+33 6 12 34 56 78", 17), "pattern: phone");
	CHECK(!pat_whole(PAT_PHONE, "2024-01-31", 10), "pattern: a date is not a phone");
	CHECK(pat_whole(PAT_CARD, "4111 1111 1111 1111", 19), "pattern: card with Luhn");
	CHECK(!pat_whole(PAT_CARD, "4111 1111 1111 1112", 19), "pattern: no Luhn, no card");
	CHECK(pat_whole(PAT_IBAN, "DE89370400440532013000", 22), "pattern: IBAN (mod 97)");
	CHECK(!pat_whole(PAT_IBAN, "DE89370400440532013001", 22), "pattern: bad IBAN check digits");
	CHECK(pat_whole(PAT_SSN, "078-05-1120", 11), "pattern: SSN");
	CHECK(pat_whole(PAT_IP, "192.168.0.1", 11) && !pat_whole(PAT_IP, "192.168.0.256", 13),
	      "pattern: IPv4");
	CHECK_STR(pii_name_reason("email"), "an email address", "pii: email");
	CHECK_STR(pii_name_reason("billingEmail"), "an email address", "pii: camelCase words");
	CHECK_STR(pii_name_reason("phone_number"), "a phone number", "pii: phone_number");
	CHECK_STR(pii_name_reason("first_name"), "a person name", "pii: first_name");
	CHECK_STR(pii_name_reason("iban"), "a bank account", "pii: iban");
	CHECK_STR(pii_name_reason("ssn"), "a social security number", "pii: ssn");
	CHECK(pii_name_reason("created_at") == NULL && pii_name_reason("cardinality") == NULL &&
	      pii_name_reason("product_name") == NULL, "pii: ordinary names are not PII");
}

static void test_keep_and_output_space(void)
{
	sync_rules *r = load("t:\n"
	                     "  - {column: a, strategy: keep, reason: \"public data\"}\n"
	                     "  - {column: b, strategy: email, length: 8}\n"
	                     "  - {column: c, strategy: hash}\n"
	                     "  - {column: d, strategy: name, part: first}\n"
	                     "  - {column: e, strategy: redact}\n"
	                     "  - {column: f, strategy: sql, expression: \"1\"}\n");
	if (!r) {
		CHECK(false, "keep: rules load");
		return;
	}
	CHECK_STR(rule(r, 0, 0)->reason, "public data", "keep: carries its reason");
	CHECK_STR(maskv(rule(r, 0, 0), VT_TEXT, "as it is"), "as it is", "keep: the value is kept");
	CHECK(strat_output_bits(rule(r, 0, 1)) == 32, "output space: email of 8 hex characters is 32 bits");
	CHECK(strat_output_bits(rule(r, 0, 2)) == 64, "output space: hash of 16 is 64 bits");
	CHECK(strat_output_bits(rule(r, 0, 3)) > 7.0 && strat_output_bits(rule(r, 0, 3)) < 7.1,
	      "output space: a first name is about 7 bits");
	CHECK(strat_output_bits(rule(r, 0, 4)) == 0, "output space: redact gives one value");
	CHECK(strat_output_bits(rule(r, 0, 5)) < 0, "output space: sql cannot be told");
	rules_free(r);
	expect_rules_error("t:\n  - {column: a, strategy: keep}\n", "k",
	                   "strategy \"keep\" needs a \"reason\"", 2, "keep: a reason is required");
	CHECK_STR(pii_name_reason("E-Mail Address"), "an email address", "pii: \"E-Mail Address\"");
	CHECK_STR(pii_name_reason("contact_email"), "an email address", "pii: contact_email");
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	ctx = cf_ctx_new();
	snprintf(rules_path, sizeof(rules_path), "/tmp/cf_rules_%d.yaml", (int)getpid());
	test_email();
	test_phone_name_hash();
	test_simple();
	test_dates();
	test_numeric();
	test_ip_card();
	test_text_redact();
	test_json();
	test_rules_errors();
	test_codecs_and_patterns();
	test_keep_and_output_space();
	unlink(rules_path);
	cf_ctx_free(ctx);
	return t_done();
}
