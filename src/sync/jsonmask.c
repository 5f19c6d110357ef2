/*
 * jsonmask.c -- the json strategy: masks the values of chosen keys (at any
 * depth) or paths inside json/jsonb text, copying everything else as it is.
 *
 * A matched string is masked with the rule's inner strategy (with:); a matched
 * number too, staying a number when the result is one; a matched object or
 * array has every string and number inside it masked. null, true and false
 * carry nothing personal and stay.
 */
#include "sync.h"
#include "json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

typedef struct jm {
	const mask_rule *r;
	const char *s;
	size_t n, i;
	cf_buf *out;
	const char *why;
	cf_strv path;          /* keys from the root to the current member */
	cf_buf tmp, masked;
	int depth;
} jm;

/* Skips whitespace, keeping it: json values keep their layout. */
static void ws(jm *j)
{
	size_t s = j->i;
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
	                       j->s[j->i] == '\r'))
		j->i++;
	if (j->i > s)
		cf_buf_append(j->out, j->s + s, j->i - s);
}

static bool fail(jm *j)
{
	if (!j->why)
		j->why = "value is not valid JSON";
	return false;
}

static void put_utf8(cf_buf *b, unsigned cp)
{
	if (cp < 0x80) {
		cf_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		cf_buf_putc(b, (char)(0xC0 | (cp >> 6)));
		cf_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		cf_buf_putc(b, (char)(0xE0 | (cp >> 12)));
		cf_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		cf_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		cf_buf_putc(b, (char)(0xF0 | (cp >> 18)));
		cf_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
		cf_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
		cf_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	}
}

static bool hex4(jm *j, unsigned *out)
{
	if (j->i + 4 > j->n)
		return false;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = j->s[j->i++];
		if (!isxdigit((unsigned char)c))
			return false;
		v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return true;
}

/* Reads a string at j->i ('"'): its raw span, and its decoded text in DEC. */
static bool string(jm *j, size_t *start, size_t *end, cf_buf *dec)
{
	*start = j->i++;
	cf_buf_reset(dec);
	while (j->i < j->n) {
		char c = j->s[j->i++];
		if (c == '"') {
			*end = j->i;
			return true;
		}
		if (c != '\\') {
			cf_buf_putc(dec, c);
			continue;
		}
		if (j->i >= j->n)
			return fail(j);
		c = j->s[j->i++];
		switch (c) {
		case 'b': cf_buf_putc(dec, '\b'); break;
		case 'f': cf_buf_putc(dec, '\f'); break;
		case 'n': cf_buf_putc(dec, '\n'); break;
		case 'r': cf_buf_putc(dec, '\r'); break;
		case 't': cf_buf_putc(dec, '\t'); break;
		case 'u': {
			unsigned cp;
			if (!hex4(j, &cp))
				return fail(j);
			if (cp >= 0xD800 && cp < 0xDC00 && j->i + 6 <= j->n && j->s[j->i] == '\\' &&
			    j->s[j->i + 1] == 'u') {
				unsigned lo;
				j->i += 2;
				if (!hex4(j, &lo))
					return fail(j);
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			put_utf8(dec, cp);
			break;
		}
		default: cf_buf_putc(dec, c); break;
		}
	}
	return fail(j);
}

static bool is_number_text(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	size_t d0 = i;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == d0)
		return false;
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == f0)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t e0 = i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == e0)
			return false;
	}
	return i == n;
}

/* Masks one scalar (TEXT, decoded) and writes it as JSON. */
static bool mask_scalar(jm *j, const char *text, size_t len, bool is_number)
{
	cf_buf_reset(&j->masked);
	const char *why = NULL;
	mask_rc rc = strat_mask(j->r->inner, VCOL_TEXT, text, len, &j->masked, &why);
	if (rc == MASK_FAIL) {
		j->why = why;
		return false;
	}
	if (rc == MASK_NULL) {
		cf_buf_puts(j->out, "null");
	} else if (is_number && is_number_text(j->masked.data, j->masked.len)) {
		cf_buf_append(j->out, j->masked.data, j->masked.len);
	} else {
		cf_buf_putc(j->out, '"');
		cf_json_escape(j->out, j->masked.data, j->masked.len);
		cf_buf_putc(j->out, '"');
	}
	return true;
}

/* Does the member KEY (or "[]", an array element) at the current depth match
 * a key or a path? In paths "*" stands for any key or element. */
static bool matches(const jm *j, const char *key)
{
	const mask_rule *r = j->r;
	for (size_t i = 0; key[0] != '[' && i < r->n_keys; i++)
		if (strcmp(r->keys[i], key) == 0)
			return true;
	size_t d = j->path.n; /* key is step d */
	for (size_t p = 0; p < r->n_paths; p++) {
		char **steps = r->paths[p];
		size_t m = 0;
		while (steps[m])
			m++;
		if (m != d + 1)
			continue;
		bool ok = strcmp(steps[d], "*") == 0 || strcmp(steps[d], key) == 0;
		for (size_t k = 0; ok && k < d; k++)
			ok = strcmp(steps[k], "*") == 0 || strcmp(steps[k], j->path.v[k]) == 0;
		if (ok)
			return true;
	}
	return false;
}

static bool value(jm *j, bool masked);

static bool object(jm *j, bool masked)
{
	cf_buf_putc(j->out, '{');
	j->i++;
	ws(j);
	if (j->i < j->n && j->s[j->i] == '}') {
		j->i++;
		cf_buf_putc(j->out, '}');
		return true;
	}
	for (;;) {
		ws(j);
		if (j->i >= j->n || j->s[j->i] != '"')
			return fail(j);
		size_t ks, ke;
		if (!string(j, &ks, &ke, &j->tmp))
			return false;
		cf_buf_append(j->out, j->s + ks, ke - ks);
		char *key = cf_strndup(j->tmp.data, j->tmp.len);
		ws(j);
		if (j->i >= j->n || j->s[j->i] != ':') {
			free(key);
			return fail(j);
		}
		j->i++;
		cf_buf_putc(j->out, ':');
		ws(j);
		bool m = masked || matches(j, key);
		cf_strv_push_owned(&j->path, key);
		bool ok = value(j, m);
		free(j->path.v[--j->path.n]);
		j->path.v[j->path.n] = NULL;
		if (!ok)
			return false;
		ws(j);
		if (j->i < j->n && j->s[j->i] == ',') {
			j->i++;
			cf_buf_putc(j->out, ',');
			continue;
		}
		if (j->i < j->n && j->s[j->i] == '}') {
			j->i++;
			cf_buf_putc(j->out, '}');
			return true;
		}
		return fail(j);
	}
}

static bool array(jm *j, bool masked)
{
	cf_buf_putc(j->out, '[');
	j->i++;
	ws(j);
	if (j->i < j->n && j->s[j->i] == ']') {
		j->i++;
		cf_buf_putc(j->out, ']');
		return true;
	}
	for (;;) {
		ws(j);
		bool m = masked || matches(j, "[]");
		cf_strv_push(&j->path, "[]");
		bool ok = value(j, m);
		free(j->path.v[--j->path.n]);
		j->path.v[j->path.n] = NULL;
		if (!ok)
			return false;
		ws(j);
		if (j->i < j->n && j->s[j->i] == ',') {
			j->i++;
			cf_buf_putc(j->out, ',');
			continue;
		}
		if (j->i < j->n && j->s[j->i] == ']') {
			j->i++;
			cf_buf_putc(j->out, ']');
			return true;
		}
		return fail(j);
	}
}

static bool literal(jm *j, const char *word)
{
	size_t l = strlen(word);
	if (j->i + l > j->n || memcmp(j->s + j->i, word, l) != 0)
		return fail(j);
	cf_buf_append(j->out, word, l);
	j->i += l;
	return true;
}

static bool value(jm *j, bool masked)
{
	if (j->i >= j->n)
		return fail(j);
	if (++j->depth > MAX_DEPTH) {
		j->why = "JSON value is nested too deeply";
		return false;
	}
	bool ok;
	char c = j->s[j->i];
	if (c == '{') {
		ok = object(j, masked);
	} else if (c == '[') {
		ok = array(j, masked);
	} else if (c == '"') {
		size_t s, e;
		cf_buf dec;
		cf_buf_init(&dec);
		ok = string(j, &s, &e, &dec);
		if (ok && masked)
			ok = mask_scalar(j, dec.data, dec.len, false);
		else if (ok)
			cf_buf_append(j->out, j->s + s, e - s);
		cf_buf_release(&dec);
	} else if (c == '-' || isdigit((unsigned char)c)) {
		size_t s = j->i;
		while (j->i < j->n && strchr("+-.eE0123456789", j->s[j->i]))
			j->i++;
		ok = is_number_text(j->s + s, j->i - s) || fail(j);
		if (ok && masked)
			ok = mask_scalar(j, j->s + s, j->i - s, true);
		else if (ok)
			cf_buf_append(j->out, j->s + s, j->i - s);
	} else if (c == 't') {
		ok = literal(j, "true");
	} else if (c == 'f') {
		ok = literal(j, "false");
	} else if (c == 'n') {
		ok = literal(j, "null");
	} else {
		ok = fail(j);
	}
	j->depth--;
	return ok;
}

mask_rc json_mask(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why)
{
	jm j = {.r = r, .s = in, .n = n, .out = out};
	cf_strv_init(&j.path);
	cf_buf_init(&j.tmp);
	cf_buf_init(&j.masked);
	size_t start = out->len;
	ws(&j);
	bool ok = value(&j, false);
	ws(&j);
	if (ok && j.i != n)
		ok = fail(&j);
	cf_strv_release(&j.path);
	cf_buf_release(&j.tmp);
	cf_buf_release(&j.masked);
	if (!ok) {
		out->len = start;
		out->data[start] = '\0';
		*why = j.why;
		return MASK_FAIL;
	}
	return MASK_OK;
}
