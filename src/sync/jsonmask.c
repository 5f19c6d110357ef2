/*
 * jsonmask.c -- the json strategy: masks the values of chosen keys (at any
 * depth) or paths inside json/jsonb text, copying everything else as it is.
 *
 * A matched string is masked with the rule's inner strategy (with:); a matched
 * number too, staying a number when the result is one; a matched object or
 * array has every string and number inside it masked. null, true and false
 * carry nothing personal and stay.
 *
 * Matching must not be dodged by how a document is spelled or shaped:
 *   - keys are compared decoded, by length and bytes: "em\u0061il" is
 *     "email", and "email\u0000x" is not;
 *   - every member is checked, so a duplicate key is masked twice;
 *   - paths are lax, as in PostgreSQL's jsonpath: a step over a key also
 *     looks inside arrays on the way ($.user.name finds {"user": [{"name":
 *     ...}]}), and [*] also takes a value that is not an array;
 *   - a string that holds a JSON object or array is looked into as if it were
 *     that value, and rewritten when something inside it was masked.
 * The text must be valid JSON (as PostgreSQL's json type takes it); anything
 * else fails without being copied.
 */
#include "sync.h"
#include "mask.h"
#include "json.h"
#include "secret.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256

static const char NOT_JSON[] = "value is not valid JSON";

/* One step from the root to the current value: a member's decoded key, or an
 * array element. */
typedef struct pel {
	char *key;
	size_t n;
	bool is_elem;
} pel;

typedef struct jm {
	const mask_rule *r;
	const char *s;
	size_t n, i;
	cf_buf *out;
	const char *why;
	pel *path;             /* from the root to the current member */
	size_t n_path, cap_path;
	cf_buf tmp, masked;
	cf_buf reach;          /* scratch for path matching */
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
		j->why = NOT_JSON;
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

/* A \u escape at j->i (after "\u"). A high surrogate followed by a low one
 * is one code point; a lone surrogate is kept as its own three bytes, which
 * no key in a rules file can hold. */
static bool unicode_escape(jm *j, cf_buf *dec)
{
	unsigned cp;
	if (!hex4(j, &cp))
		return false;
	if (cp >= 0xD800 && cp < 0xDC00 && j->i + 6 <= j->n && j->s[j->i] == '\\' &&
	    j->s[j->i + 1] == 'u') {
		size_t at = j->i;
		unsigned lo;
		j->i += 2;
		if (!hex4(j, &lo))
			return false;
		if (lo >= 0xDC00 && lo < 0xE000)
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		else
			j->i = at; /* not a pair: the next escape stands alone */
	}
	put_utf8(dec, cp);
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
		if ((unsigned char)c < 0x20)
			return fail(j); /* control characters must be escaped */
		if (c != '\\') {
			cf_buf_putc(dec, c);
			continue;
		}
		if (j->i >= j->n)
			return fail(j);
		c = j->s[j->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/': cf_buf_putc(dec, c); break;
		case 'b': cf_buf_putc(dec, '\b'); break;
		case 'f': cf_buf_putc(dec, '\f'); break;
		case 'n': cf_buf_putc(dec, '\n'); break;
		case 'r': cf_buf_putc(dec, '\r'); break;
		case 't': cf_buf_putc(dec, '\t'); break;
		case 'u':
			if (!unicode_escape(j, dec))
				return fail(j);
			break;
		default: return fail(j);
		}
	}
	return fail(j);
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_number_text(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	size_t d0 = i;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == d0 || (s[d0] == '0' && i - d0 > 1))
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

/* ---- Paths -------------------------------------------------------------------------------- */

/*
 * A path is stored as its steps, each a string whose first byte says what
 * it is: 'k' a key (the rest of the string), '*' any one member or element,
 * '[' any one element or member, or none (lax: a value that is not an array
 * is taken as one), '#' any number of steps (jsonpath's "**").
 */

static bool quoted(const char **pp, char q, cf_buf *key)
{
	const char *p = *pp + 1;
	for (; *p && *p != q; p++) {
		if (*p == '\\' && p[1])
			p++;
		cf_buf_putc(key, *p);
	}
	if (*p != q)
		return false;
	*pp = p + 1;
	return true;
}

/* One step after a "." at *PP. */
static const char *member_step(const char **pp, cf_buf *step)
{
	const char *p = *pp;
	if (p[0] == '*' && p[1] == '*') {
		cf_buf_putc(step, '#');
		p += 2;
	} else if (*p == '*') {
		cf_buf_putc(step, '*');
		p++;
	} else if (*p == '"') {
		cf_buf_putc(step, 'k');
		if (!quoted(&p, '"', step))
			return "a quoted key is not closed";
	} else {
		size_t n = strcspn(p, ".[");
		if (n == 0)
			return "a step is empty";
		cf_buf_putc(step, 'k');
		cf_buf_append(step, p, n);
		p += n;
	}
	*pp = p;
	return NULL;
}

/* One step inside "[...]" at *PP (after the '['). */
static const char *bracket_step(const char **pp, cf_buf *step)
{
	const char *p = *pp;
	if (*p == '*') {
		cf_buf_putc(step, '[');
		p++;
	} else if (isdigit((unsigned char)*p)) {
		cf_buf_putc(step, '['); /* an index widens to every element */
		while (isdigit((unsigned char)*p))
			p++;
	} else if (*p == '\'' || *p == '"') {
		cf_buf_putc(step, 'k');
		if (!quoted(&p, *p, step))
			return "a quoted key is not closed";
	} else {
		return "\"[\" takes *, an index or a quoted key";
	}
	if (*p != ']')
		return "\"[\" is not closed";
	*pp = p + 1;
	return NULL;
}

char **json_path_parse(const char *path, const char **why)
{
	cf_strv steps;
	cf_strv_init(&steps);
	cf_buf step;
	cf_buf_init(&step);
	const char *p = path, *err = NULL;
	bool rooted = *p == '$';
	if (rooted)
		p++;
	else if (!*p)
		err = "it is empty";
	for (bool first = true; !err && *p; first = false) {
		cf_buf_reset(&step);
		if (*p == '.')
			p++, err = member_step(&p, &step);
		else if (*p == '[')
			p++, err = bracket_step(&p, &step);
		else if (first && !rooted)
			err = member_step(&p, &step); /* "a.b" is "$.a.b" */
		else
			err = "a step must start with \".\" or \"[\"";
		if (!err)
			cf_strv_push(&steps, step.data);
	}
	cf_buf_release(&step);
	if (err) {
		cf_strv_release(&steps);
		*why = err;
		return NULL;
	}
	char **out = cf_calloc(steps.n + 1, sizeof(char *));
	for (size_t i = 0; i < steps.n; i++)
		out[i] = steps.v[i];
	free(steps.v);
	return out;
}

static bool key_is(const pel *e, const char *key)
{
	return !e->is_elem && strlen(key) == e->n && memcmp(key, e->key, e->n) == 0;
}

/* Does the path from the root to the current value match STEPS? reach[i][k]:
 * the first i steps match the first k elements of the path. */
static bool path_matches(jm *j, char *const *steps)
{
	size_t m = 0;
	while (steps[m])
		m++;
	size_t d = j->n_path, w = d + 1;
	cf_buf_reset(&j->reach);
	cf_buf_reserve(&j->reach, (m + 1) * w);
	bool *reach = (bool *)j->reach.data;
	memset(reach, 0, (m + 1) * w);
	reach[0] = true;
	for (size_t i = 0; i <= m; i++)
		for (size_t k = 0; k <= d; k++) {
			if (!reach[i * w + k])
				continue;
			const pel *e = k < d ? &j->path[k] : NULL;
			if (e && e->is_elem)
				reach[i * w + k + 1] = true; /* lax: arrays are looked into */
			if (i == m)
				continue;
			char tag = steps[i][0];
			if (tag == '[' || tag == '#')
				reach[(i + 1) * w + k] = true;
			if (!e)
				continue;
			if (tag == '#')
				reach[i * w + k + 1] = true;
			if (tag == '*' || tag == '[' || (tag == 'k' && key_is(e, steps[i] + 1)))
				reach[(i + 1) * w + k + 1] = true;
		}
	return reach[m * w + d];
}

/* Is the value at the current path (its last element just pushed) matched
 * by a key or a path of the rule? */
static bool matches(jm *j)
{
	const mask_rule *r = j->r;
	const pel *e = j->n_path ? &j->path[j->n_path - 1] : NULL;
	for (size_t i = 0; e && i < r->n_keys; i++)
		if (key_is(e, r->keys[i]))
			return true;
	for (size_t p = 0; p < r->n_paths; p++)
		if (path_matches(j, r->paths[p]))
			return true;
	return false;
}

static void path_push(jm *j, const char *key, size_t n, bool is_elem)
{
	if (j->n_path == j->cap_path) {
		j->cap_path = j->cap_path ? 2 * j->cap_path : 16;
		j->path = cf_realloc(j->path, j->cap_path * sizeof(pel));
	}
	pel *e = &j->path[j->n_path++];
	e->key = is_elem ? NULL : cf_strndup(key, n);
	e->n = n;
	e->is_elem = is_elem;
}

static void path_pop(jm *j)
{
	free(j->path[--j->n_path].key);
}

/* ---- Values -------------------------------------------------------------------------------- */

static bool value(jm *j, bool masked);

/* The value of a member or element, its path element pushed. */
static bool child(jm *j, bool masked, const char *key, size_t n, bool is_elem)
{
	path_push(j, key, n, is_elem);
	bool ok = value(j, masked || matches(j));
	path_pop(j);
	return ok;
}

/* After a member or element: "," (true, *MORE) or CLOSE (true, !*MORE). */
static bool next(jm *j, char close, bool *more)
{
	ws(j);
	if (j->i < j->n && (j->s[j->i] == ',' || j->s[j->i] == close)) {
		*more = j->s[j->i] == ',';
		cf_buf_putc(j->out, j->s[j->i++]);
		return true;
	}
	return fail(j);
}

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
	for (bool more = true; more;) {
		ws(j);
		if (j->i >= j->n || j->s[j->i] != '"')
			return fail(j);
		size_t ks, ke;
		if (!string(j, &ks, &ke, &j->tmp))
			return false;
		cf_buf_append(j->out, j->s + ks, ke - ks);
		ws(j);
		if (j->i >= j->n || j->s[j->i] != ':')
			return fail(j);
		j->i++;
		cf_buf_putc(j->out, ':');
		ws(j);
		if (!child(j, masked, j->tmp.data, j->tmp.len, false) || !next(j, '}', &more))
			return false;
	}
	return true;
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
	for (bool more = true; more;) {
		ws(j);
		if (!child(j, masked, NULL, 0, true) || !next(j, ']', &more))
			return false;
	}
	return true;
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

/* Runs the masker over TEXT[0..N) as a whole document at the current path
 * and depth, into OUT. */
static bool document(jm *j, const char *text, size_t n, cf_buf *out, bool masked)
{
	const char *s = j->s;
	size_t sn = j->n, si = j->i;
	cf_buf *so = j->out;
	j->s = text;
	j->n = n;
	j->i = 0;
	j->out = out;
	ws(j);
	bool ok = value(j, masked);
	ws(j);
	if (ok && j->i != j->n)
		ok = fail(j);
	j->s = s;
	j->n = sn;
	j->i = si;
	j->out = so;
	return ok;
}

/* A string that is not masked as a whole: when it holds a JSON object or
 * array, what is inside is matched too, and the string is rewritten if
 * something was masked. DEC is its decoded text, RAW its span. */
static bool plain_string(jm *j, const cf_buf *dec, const char *raw, size_t raw_n)
{
	size_t lead = strspn(dec->data, " \t\n\r");
	if (lead < dec->len && (dec->data[lead] == '{' || dec->data[lead] == '[')) {
		cf_buf inner;
		cf_buf_init(&inner);
		bool ok = document(j, dec->data, dec->len, &inner, false);
		bool changed = ok && (inner.len != dec->len || memcmp(inner.data, dec->data, dec->len));
		if (changed) {
			cf_buf_putc(j->out, '"');
			cf_json_escape(j->out, inner.data, inner.len);
			cf_buf_putc(j->out, '"');
		}
		cf_memzero(inner.data, inner.cap);
		cf_buf_release(&inner);
		if (!ok && j->why != NOT_JSON)
			return false; /* a value inside could not be masked */
		j->why = NULL;    /* not JSON: an ordinary string */
		if (changed)
			return true;
	}
	cf_buf_append(j->out, raw, raw_n);
	return true;
}

static bool number(jm *j, bool masked)
{
	size_t s = j->i;
	while (j->i < j->n && j->s[j->i] && strchr("+-.eE0123456789", j->s[j->i]))
		j->i++;
	if (!is_number_text(j->s + s, j->i - s))
		return fail(j);
	if (masked)
		return mask_scalar(j, j->s + s, j->i - s, true);
	cf_buf_append(j->out, j->s + s, j->i - s);
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
			ok = plain_string(j, &dec, j->s + s, e - s);
		cf_buf_release(&dec);
	} else if (c == '-' || isdigit((unsigned char)c)) {
		ok = number(j, masked);
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
	jm j = {.r = r};
	cf_buf_init(&j.tmp);
	cf_buf_init(&j.masked);
	cf_buf_init(&j.reach);
	size_t start = out->len;
	bool ok = document(&j, in, n, out, matches(&j));
	while (j.n_path)
		path_pop(&j);
	free(j.path);
	cf_buf_release(&j.tmp);
	cf_buf_release(&j.masked);
	cf_buf_release(&j.reach);
	if (!ok) {
		out->len = start;
		out->data[start] = '\0';
		*why = j.why;
		return MASK_FAIL;
	}
	return MASK_OK;
}
