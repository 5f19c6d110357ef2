/* json.c -- streaming JSON writer. */
#include "json.h"

#include <math.h>
#include <string.h>

void cf_json_init(cf_json *j, cf_buf *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->is_pretty = pretty;
}

static void newline(cf_json *j)
{
	if (!j->is_pretty)
		return;
	cf_buf_putc(j->out, '\n');
	for (int i = 0; i < j->depth; i++)
		cf_buf_puts(j->out, "  ");
}

/* Before any value: a comma if needed, unless it follows a key. */
static void before_value(cf_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			cf_buf_putc(j->out, ',');
		newline(j);
	}
	if (j->depth < 64)
		j->need_comma[j->depth] = true;
}

static void open(cf_json *j, char c)
{
	before_value(j);
	cf_buf_putc(j->out, c);
	j->depth++;
	if (j->depth < 64)
		j->need_comma[j->depth] = false;
}

static void close_(cf_json *j, char c)
{
	bool had = j->depth < 64 && j->need_comma[j->depth];
	j->depth--;
	if (had)
		newline(j);
	cf_buf_putc(j->out, c);
}

void cf_json_obj_begin(cf_json *j) { open(j, '{'); }
void cf_json_obj_end(cf_json *j) { close_(j, '}'); }
void cf_json_arr_begin(cf_json *j) { open(j, '['); }
void cf_json_arr_end(cf_json *j) { close_(j, ']'); }

/*
 * The length of the valid UTF-8 sequence at S (at most N bytes), or 0 when
 * the bytes there are not one: a stray continuation byte, a truncated or
 * overlong sequence, a surrogate, or a code point above U+10FFFF.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

void cf_json_escape(cf_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			/* JSON is UTF-8: each byte that is not part of a valid sequence
			 * becomes U+FFFD, so that the document stays readable. */
			size_t len = utf8_len((const unsigned char *)s + i, n - i);
			if (len == 0) {
				cf_buf_puts(out, "\\ufffd");
				continue;
			}
			cf_buf_append(out, s + i, len);
			i += len - 1;
			continue;
		}
		switch (c) {
		case '"': cf_buf_puts(out, "\\\""); break;
		case '\\': cf_buf_puts(out, "\\\\"); break;
		case '\n': cf_buf_puts(out, "\\n"); break;
		case '\r': cf_buf_puts(out, "\\r"); break;
		case '\t': cf_buf_puts(out, "\\t"); break;
		default:
			if (c < 0x20) {
				char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
				cf_buf_puts(out, u);
			} else {
				cf_buf_putc(out, (char)c);
			}
		}
	}
}

void cf_json_key(cf_json *j, const char *key)
{
	before_value(j);
	cf_buf_putc(j->out, '"');
	cf_json_escape(j->out, key, strlen(key));
	cf_buf_puts(j->out, j->is_pretty ? "\": " : "\":");
	j->after_key = true;
}

void cf_json_strn(cf_json *j, const char *s, size_t n)
{
	before_value(j);
	cf_buf_putc(j->out, '"');
	cf_json_escape(j->out, s, n);
	cf_buf_putc(j->out, '"');
}

void cf_json_str(cf_json *j, const char *s)
{
	if (!s)
		cf_json_null(j);
	else
		cf_json_strn(j, s, strlen(s));
}

void cf_json_int(cf_json *j, long long v)
{
	before_value(j);
	cf_buf_printf(j->out, "%lld", v);
}

void cf_json_num(cf_json *j, double v)
{
	if (isnan(v) || isinf(v)) {
		cf_json_null(j);
		return;
	}
	before_value(j);
	cf_buf_printf(j->out, "%.6g", v);
}

void cf_json_bool(cf_json *j, bool v)
{
	before_value(j);
	cf_buf_puts(j->out, v ? "true" : "false");
}

void cf_json_null(cf_json *j)
{
	before_value(j);
	cf_buf_puts(j->out, "null");
}

void cf_json_raw(cf_json *j, const char *json)
{
	before_value(j);
	cf_buf_puts(j->out, json);
}

void cf_json_kv_str(cf_json *j, const char *key, const char *v)
{
	cf_json_key(j, key);
	cf_json_str(j, v);
}

void cf_json_kv_int(cf_json *j, const char *key, long long v)
{
	cf_json_key(j, key);
	cf_json_int(j, v);
}

void cf_json_kv_num(cf_json *j, const char *key, double v)
{
	cf_json_key(j, key);
	cf_json_num(j, v);
}

void cf_json_kv_bool(cf_json *j, const char *key, bool v)
{
	cf_json_key(j, key);
	cf_json_bool(j, v);
}

void cf_json_kv_count(cf_json *j, const char *key, long long v)
{
	cf_json_key(j, key);
	if (v >= 0)
		cf_json_int(j, v);
	else
		cf_json_null(j);
}

void cf_json_kv_strs(cf_json *j, const char *key, char *const *v, size_t n)
{
	cf_json_key(j, key);
	cf_json_arr_begin(j);
	for (size_t i = 0; i < n; i++)
		cf_json_str(j, v[i]);
	cf_json_arr_end(j);
}
