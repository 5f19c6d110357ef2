/*
 * maskers.c -- how each strategy masks one value (the numeric strategy is in
 * numeric.c, json in jsonmask.c).
 *
 * Every output is drawn from the keyed hash of the value under the rule's
 * key (mask_kh), so the same value masks alike wherever the same rule
 * applies. Nothing here ever puts an input value into an error: failures
 * carry a fixed reason.
 */
#include "sync.h"
#include "mask.h"
#include "plugin.h"
#include "secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Keys ------------------------------------------------------------------------------- */

/* The keyed hash of one value: HMAC-SHA256 under the rule's key (derived
 * with keyed BLAKE2b from the master key, the strategy and the seed). */
void mask_kh(const mask_rule *r, const void *in, size_t n, unsigned char out[32])
{
	cf_hmac_key_hash(&r->hk, in, n, out);
}

uint64_t mask_u64(const unsigned char *h, int i)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = (v << 8) | h[8 * i + k];
	return v;
}

void drbg_init(drbg *g, const mask_rule *r, const void *in, size_t n)
{
	g->r = r;
	mask_kh(r, in, n, g->h);
	g->word = 0;
	g->left = 0;
}

uint64_t drbg_u64(drbg *g)
{
	if (g->word == 4) {
		unsigned char next[32];
		mask_kh(g->r, g->h, 32, next);
		memcpy(g->h, next, 32);
		g->word = 0;
	}
	return mask_u64(g->h, g->word++);
}

int drbg_digit(drbg *g)
{
	if (g->left == 0) {
		g->cur = drbg_u64(g);
		g->left = 19;
	}
	int d = (int)(g->cur % 10);
	g->cur /= 10;
	g->left--;
	return d;
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static const char HEX[] = "0123456789abcdef";

static void put_hex(cf_buf *out, const unsigned char *h, long chars)
{
	cf_buf_reserve(out, (size_t)chars);
	char *o = out->data + out->len;
	for (long i = 0; i < chars; i++)
		o[i] = HEX[(h[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out->len += (size_t)chars;
	out->data[out->len] = '\0';
}

void mask_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* ---- Strategies ----------------------------------------------------------------------------- */

mask_rc mask_email(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	unsigned char h[32];
	mask_kh(r, in, n, h);
	cf_buf_puts(out, r->prefix);
	put_hex(out, h, r->length);
	cf_buf_putc(out, '@');
	const char *at = r->keep_domain ? memchr(in, '@', n) : NULL;
	const char *last = at;
	while (last && last + 1 < in + n && memchr(last + 1, '@', (size_t)(in + n - last - 1)))
		last = memchr(last + 1, '@', (size_t)(in + n - last - 1));
	if (last && last + 1 < in + n)
		cf_buf_append(out, last + 1, (size_t)(in + n - last - 1));
	else
		cf_buf_puts(out, r->domain);
	return MASK_OK;
}

/* ---- Shapes: phone numbers and cards ------------------------------------------------------- */

/* Bytes of the character at S[0..N): a UTF-8 sequence, else one. */
static size_t char_len(const char *s, size_t n)
{
	size_t k = 1;
	if ((unsigned char)s[0] >= 0xC0)
		while (k < n && k < 4 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k++;
	return k;
}

/*
 * Writes IN[0..N) to OUT with its digits replaced, in order, by DIG, and its
 * letters redrawn: a phone or card value may carry a name or a note ("ext.
 * Jane", "VISA J SMITH"), and a value without digits may be one altogether.
 * A letter becomes a letter of the same case drawn from the keyed hash of
 * the whole value; any other character outside ASCII becomes a lower-case
 * letter; digits aside, only ASCII punctuation and spaces stay. Never gives
 * back a value that had a digit or a letter unchanged. Wipes and frees DIG.
 */
static void put_shape(const mask_rule *r, const char *in, size_t n, char *dig, cf_buf *out)
{
	size_t start = out->len, last_letter = SIZE_MAX, k = 0;
	drbg g;
	bool seeded = false;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)in[i];
		if (isdigit(c)) {
			cf_buf_putc(out, dig[k++]);
			i++;
			continue;
		}
		if (!isalpha(c) && c < 0x80) {
			cf_buf_putc(out, (char)c);
			i++;
			continue;
		}
		if (!seeded)
			drbg_init(&g, r, in, n), seeded = true;
		char l = (char)('a' + drbg_u64(&g) % 26);
		last_letter = out->len;
		cf_buf_putc(out, isupper(c) ? (char)toupper(l) : l);
		i += char_len(in + i, n - i);
	}
	if (last_letter != SIZE_MAX && out->len - start == n && memcmp(out->data + start, in, n) == 0) {
		char *l = &out->data[last_letter];
		*l = *l == 'z' ? 'a' : *l == 'Z' ? 'A' : (char)(*l + 1);
	}
	if (seeded)
		cf_memzero(&g, sizeof(g));
	cf_memzero(dig, k);
	free(dig);
}

/* The digits of IN[0..N) into a new string (caller frees); *ND their count. */
static char *digits_of(const char *in, size_t n, size_t *nd)
{
	char *d = cf_malloc(n + 1);
	*nd = 0;
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)in[i]))
			d[(*nd)++] = in[i];
	d[*nd] = '\0';
	return d;
}

/* Replaces the digits of IN (after the first KEEP) from a stream keyed on the
 * digits alone, so that "+1 (415) 555-0100" and "14155550100" agree. A value
 * with no more than KEEP digits has them all redrawn: keeping them would
 * keep the value. */
mask_rc mask_digits(const mask_rule *r, const char *in, size_t n, long keep, cf_buf *out)
{
	size_t nd;
	char *d = digits_of(in, n, &nd);
	if ((long)nd <= keep)
		keep = 0;
	if (nd > 0) {
		drbg g;
		drbg_init(&g, r, d, nd);
		bool changed = false;
		for (size_t i = (size_t)keep; i < nd; i++) {
			char nc = (char)('0' + drbg_digit(&g));
			changed = changed || nc != d[i];
			d[i] = nc;
		}
		if (!changed)
			d[nd - 1] = (char)('0' + (d[nd - 1] - '0' + 1) % 10);
		cf_memzero(&g, sizeof(g));
	}
	put_shape(r, in, n, d, out);
	return MASK_OK;
}

mask_rc mask_name(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	mask_trim(&in, &n);
	unsigned char h[32];
	mask_kh(r, in, n, h);
	size_t f = (size_t)(mask_u64(h, 0) % cf_n_first_names);
	size_t l = (size_t)(mask_u64(h, 1) % cf_n_last_names);
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t start = out->len;
		if (r->part != 2)
			cf_buf_puts(out, cf_first_names[f]);
		if (r->part == 0)
			cf_buf_putc(out, ' ');
		if (r->part != 1)
			cf_buf_puts(out, cf_last_names[l]);
		/* Never hand a value back unchanged. */
		if (out->len - start != n || memcmp(out->data + start, in, n) != 0)
			break;
		out->len = start;
		out->data[start] = '\0';
		f = (f + 1) % cf_n_first_names;
		l = (l + 1) % cf_n_last_names;
	}
	return MASK_OK;
}

mask_rc mask_partial(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)in[i] & 0xC0) != 0x80;
	size_t kf = (size_t)r->keep_first, kl = (size_t)r->keep_last;
	if (chars <= kf + kl)
		kf = kl = 0; /* too short to show anything */
	size_t ci = 0;
	for (size_t i = 0; i < n;) {
		size_t len = 1;
		while (i + len < n && ((unsigned char)in[i + len] & 0xC0) == 0x80)
			len++;
		if (ci < kf || ci >= chars - kl)
			cf_buf_append(out, in + i, len);
		else
			cf_buf_puts(out, r->mask_char);
		i += len;
		ci++;
	}
	return MASK_OK;
}

/* The day range [*lo, *hi] a date may move to, given the constraints. */
static void day_bounds(const mask_rule *r, int64_t days, int64_t *lo, int64_t *hi)
{
	*lo = days - r->max_days;
	*hi = days + r->max_days;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (r->keep_year) {
		int64_t a = days_from_civil(y, 1, 1), b = days_from_civil(y + 1, 1, 1) - 1;
		*lo = *lo > a ? *lo : a;
		*hi = *hi < b ? *hi : b;
	}
	if (r->keep_month) {
		int64_t a = days_from_civil(y, m, 1);
		int64_t b = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) - 1;
		*lo = *lo > a ? *lo : a;
		*hi = *hi < b ? *hi : b;
	}
}

/* Picks a value in [LO, HI] other than CUR from H. */
static int64_t pick_other(uint64_t h, int64_t lo, int64_t hi, int64_t cur)
{
	uint64_t count = (uint64_t)(hi - lo); /* candidates, CUR excluded */
	if (count == 0)
		return cur;
	int64_t v = lo + (int64_t)(h % count);
	return v >= cur ? v + 1 : v;
}

/* Reads the input of the date strategies into V. False when there is nothing
 * to shift, with *RC: MASK_FAIL when it is not a date, MASK_OK when it is
 * infinity (copied: it is no one's birthday). */
static bool dt_input(const char *in, size_t n, dt_val *v, cf_buf *out, const char **why,
                     mask_rc *rc)
{
	if (!dt_parse(in, n, v)) {
		*why = "value is not an ISO date or timestamp";
		*rc = MASK_FAIL;
		return false;
	}
	if (v->is_special) {
		cf_buf_append(out, in, n);
		*rc = MASK_OK;
		return false;
	}
	return true;
}

mask_rc mask_date(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why)
{
	dt_val v;
	mask_rc rc;
	if (!dt_input(in, n, &v, out, why, &rc))
		return rc;
	unsigned char h[32];
	int64_t canon = v.days;
	mask_kh(r, &canon, sizeof(canon), h);
	int64_t lo, hi;
	day_bounds(r, v.days, &lo, &hi);
	v.days = pick_other(mask_u64(h, 0), lo, hi, v.days);
	dt_format(&v, out);
	return MASK_OK;
}

mask_rc mask_timestamp(const mask_rule *r, const char *in, size_t n, cf_buf *out,
                       const char **why)
{
	dt_val v;
	mask_rc rc;
	if (!dt_input(in, n, &v, out, why, &rc))
		return rc;
	const int64_t usec_day = INT64_C(86400000000);
	int64_t total = v.days * usec_day + v.usec;
	unsigned char h[32];
	mask_kh(r, &total, sizeof(total), h);
	int64_t lo, hi;
	day_bounds(r, v.days, &lo, &hi);
	if (!v.has_time) {
		v.days = pick_other(mask_u64(h, 0), lo, hi, v.days);
		dt_format(&v, out);
		return MASK_OK;
	}
	/* Whole seconds move; the fraction stays, so the text keeps its shape. */
	int64_t secs = v.days * 86400 + v.usec / 1000000, frac = v.usec % 1000000;
	int64_t slo = secs - r->max_days * 86400, shi = secs + r->max_days * 86400;
	slo = slo > lo * 86400 ? slo : lo * 86400;
	shi = shi < hi * 86400 + 86399 ? shi : hi * 86400 + 86399;
	int64_t ns = pick_other(mask_u64(h, 0), slo, shi, secs);
	int64_t nd = ns >= 0 ? ns / 86400 : -((-ns + 86399) / 86400);
	v.days = nd;
	v.usec = (ns - nd * 86400) * 1000000 + frac;
	dt_format(&v, out);
	return MASK_OK;
}

mask_rc mask_hash(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	if (strcmp(r->strategy, ST_IBAN_DOMAIN) == 0)
		return mask_iban(r, in, n, out);
	unsigned char h[32];
	mask_kh(r, in, n, h);
	cf_buf_puts(out, r->prefix);
	put_hex(out, h, r->length);
	return MASK_OK;
}

mask_rc mask_ip(const mask_rule *r, vtype t, const char *in, size_t n, cf_buf *out,
                const char **why)
{
	ip_val v;
	if (!ip_parse(in, n, &v)) {
		*why = "value is not an IP address";
		return MASK_FAIL;
	}
	int total = v.family == 4 ? 32 : 128, keep = (int)(v.family == 4 ? r->prefix_v4 : r->prefix_v6);
	int end = t == VT_CIDR ? v.bits : total;
	ip_val o = v;
	if (keep < end) {
		unsigned char seed[17];
		seed[0] = (unsigned char)v.family;
		memcpy(seed + 1, v.addr, 16);
		unsigned char h[32];
		mask_kh(r, seed, v.family == 4 ? 5 : 17, h);
		for (int b = keep; b < end; b++) {
			int bit = (h[b / 8] >> (b % 8)) & 1;
			unsigned char mask = (unsigned char)(0x80 >> (b % 8));
			o.addr[b / 8] = (unsigned char)(bit ? o.addr[b / 8] | mask : o.addr[b / 8] & ~mask);
		}
		if (memcmp(o.addr, v.addr, 16) == 0)
			o.addr[(end - 1) / 8] ^= (unsigned char)(0x80 >> ((end - 1) % 8));
	}
	bool show = v.has_bits || t == VT_CIDR;
	ip_format(&o, show, out);
	return MASK_OK;
}

mask_rc mask_card(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	size_t nd;
	char *d = digits_of(in, n, &nd);
	size_t keep_last = (size_t)r->keep_last, keep_first = (size_t)r->keep_first;
	if (nd > keep_last + keep_first) {
		drbg g;
		drbg_init(&g, r, d, nd);
		for (size_t i = keep_first; i < nd - keep_last; i++)
			d[i] = i == 0 ? (char)('3' + drbg_digit(&g) % 4) /* a plausible network digit */
			              : (char)('0' + drbg_digit(&g));
		/* The last generated digit makes the number Luhn-valid. */
		size_t fix = nd - keep_last - 1;
		for (int x = 0; x < 10; x++) {
			d[fix] = (char)('0' + x);
			if (luhn_valid(d, nd))
				break;
		}
		cf_memzero(&g, sizeof(g));
	}
	put_shape(r, in, n, d, out);
	return MASK_OK;
}

/* IBAN lookalike: same country, same length, digits and letters redrawn,
 * valid check digits. */
mask_rc mask_iban(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	char c[40];
	size_t nc = 0;
	for (size_t i = 0; i < n && nc < 34; i++)
		if (isalnum((unsigned char)in[i]))
			c[nc++] = (char)toupper((unsigned char)in[i]);
	if (nc < 5) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	drbg g;
	drbg_init(&g, r, c, nc);
	for (size_t i = 4; i < nc; i++)
		c[i] = isdigit((unsigned char)c[i]) ? (char)('0' + drbg_digit(&g))
		                                    : (char)('A' + drbg_u64(&g) % 26);
	c[2] = c[3] = '0';
	int rem = 0;
	for (size_t k = 0; k < nc; k++) {
		char ch = c[(k + 4) % nc];
		int v = isdigit((unsigned char)ch) ? ch - '0' : ch - 'A' + 10;
		rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
	}
	int check = 98 - rem;
	c[2] = (char)('0' + check / 10);
	c[3] = (char)('0' + check % 10);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		cf_buf_putc(out, isalnum((unsigned char)in[i]) && k < nc ? c[k++] : in[i]);
	return MASK_OK;
}

mask_rc mask_uuid(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	unsigned char b[16], h[32];
	if (uuid_parse(in, n, b))
		mask_kh(r, b, 16, h);
	else
		mask_kh(r, in, n, h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x40);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	uuid_format(h, out);
	return MASK_OK;
}

/* Applies the custom regexes of R to TEXT, writing to OUT. */
static void custom_regexes(const mask_rule *r, const char *text, cf_buf *out)
{
	cf_buf cur;
	cf_buf_init(&cur);
	cf_buf_puts(&cur, text);
	const char *rep = r->replacement ? r->replacement : "[REDACTED]";
	for (size_t i = 0; i < r->n_custom; i++) {
		cf_buf next;
		cf_buf_init(&next);
		const char *p = cur.data;
		int flags = 0;
		regmatch_t m;
		while (*p && regexec(&r->custom[i], p, 1, &m, flags) == 0) {
			if (m.rm_eo == m.rm_so) { /* an empty match: step over one byte */
				cf_buf_putc(&next, *p++);
				flags = REG_NOTBOL;
				continue;
			}
			cf_buf_append(&next, p, (size_t)m.rm_so);
			cf_buf_puts(&next, rep);
			p += m.rm_eo;
			flags = REG_NOTBOL;
		}
		cf_buf_puts(&next, p);
		cf_buf_release(&cur);
		cur = next;
	}
	cf_buf_append(out, cur.data, cur.len);
	cf_buf_release(&cur);
}

mask_rc mask_text_redact(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	cf_buf tmp;
	cf_buf_init(&tmp);
	cf_buf *dst = r->n_custom ? &tmp : out;
	size_t pos = 0, s, e;
	pat_kind k;
	while (pat_find(r->patterns, in, n, pos, &k, &s, &e)) {
		cf_buf_append(dst, in + pos, s - pos);
		const char *why = NULL;
		if (r->replacement)
			cf_buf_puts(dst, r->replacement);
		else if (strat_mask(r->sub[k], VCOL_TEXT, in + s, e - s, dst, &why) != MASK_OK)
			cf_buf_puts(dst, "[REDACTED]");
		pos = e;
	}
	cf_buf_append(dst, in + pos, n - pos);
	if (r->n_custom) {
		/* Regexes need a C string: a NUL inside the text ends it there. */
		custom_regexes(r, tmp.data, out);
	}
	cf_buf_release(&tmp);
	return MASK_OK;
}

/* ---- Plugins ----------------------------------------------------------------------------------- */

struct cf_mask_out {
	cf_buf *buf;
	bool is_null;
	bool has_error;
	char error[256];
};

static void host_write(cf_mask_out *o, const char *data, size_t n)
{
	if (data && n)
		cf_buf_append(o->buf, data, n);
}

static void host_null(cf_mask_out *o)
{
	o->is_null = true;
}

static void host_error(cf_mask_out *o, const char *msg)
{
	o->has_error = true;
	snprintf(o->error, sizeof(o->error), "%s", msg ? msg : "plugin failed");
}

static void host_hash(const unsigned char *key, size_t keylen, const void *data, size_t n,
                      unsigned char *out, size_t outlen)
{
	cf_keyed_hash(key, keylen, data, n, out, outlen < 16 ? 16 : outlen > 64 ? 64 : outlen);
}

static const cf_plugin_host HOST = {CF_PLUGIN_ABI_VERSION, host_write, host_null, host_error,
                                    host_hash};

static _Thread_local char tl_plugin_why[300];

mask_rc mask_plugin(const mask_rule *r, const char *in, size_t n, cf_buf *out,
                    const char **why)
{
	size_t start = out->len;
	cf_mask_out o = {.buf = out};
	cf_mask_in mi = {in, n, r->rule_key, sizeof(r->rule_key), &HOST};
	int rc = r->plugin->mask(r->plugin_state, &mi, &o);
	if (rc != 0 || o.has_error) {
		out->len = start;
		out->data[start] = '\0';
		/* A plugin's message must not carry the value; make sure of it. */
		char *hit = n >= 3 ? memmem(o.error, strlen(o.error), in, n) : NULL;
		if (hit)
			snprintf(tl_plugin_why, sizeof(tl_plugin_why), "plugin \"%s\" failed",
			         r->strategy + 7);
		else
			snprintf(tl_plugin_why, sizeof(tl_plugin_why), "plugin \"%s\" failed: %s",
			         r->strategy + 7, o.has_error ? o.error : "no reason given");
		*why = tl_plugin_why;
		return MASK_FAIL;
	}
	return o.is_null ? MASK_NULL : MASK_OK;
}
