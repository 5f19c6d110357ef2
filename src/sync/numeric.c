/*
 * numeric.c -- the numeric strategy: keyed noise of +-percent on a number,
 * keeping its number of decimals, staying inside the column's type, and
 * never giving the input back.
 *
 * It masks any numeric text, not only what a double holds: a numeric has up
 * to 131072 digits before the point and 16383 after, and json or text may say
 * 1e400. A number is read as its digits and a scale, and the noise is
 * computed on the integer N = value * 10^scale:
 *   - up to 15 digits, N is exact in a double and the noise is computed
 *     there, keyed on the value's double as before (ordinary values mask as
 *     they did, but for the odd last-place rounding);
 *   - beyond, the 15 leading digits take the noise and every digit after them
 *     is redrawn from the keyed stream, so no digit of a long value passes.
 * A number written with an exponent keeps it; the noise moves its mantissa.
 * real and double precision are masked as doubles. NaN and the infinities
 * are not measurements and stay. Anything else is "not a number", and the
 * run stops on it rather than copy it.
 */
#include "sync.h"
#include "mask.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Integers below 10^15, and twice that, are exact in a double. */
#define EXACT_DIGITS 15
/* numeric holds at most this many digits before the point. */
#define NUMERIC_MAX_INT_DIGITS 131072

/* A finite number as written: sign, integer and fraction digits, and its
 * exponent part ("e-3"), all pointing into the text. */
typedef struct num {
	bool neg;
	const char *ip, *fp, *exp;
	size_t n_ip, n_fp, n_exp;
} num;

typedef enum num_kind { NUM_BAD, NUM_SPECIAL, NUM_FINITE } num_kind;

/* The largest magnitude of N a column holds: at most DIGITS digits, and no
 * more than MAX when it has exactly that many (NULL: all nines). */
typedef struct lim {
	size_t digits;
	const char *max;
} lim;

#define NO_LIMIT ((lim){SIZE_MAX, NULL})

/* What the noise of one value is drawn from. */
typedef struct noise {
	const mask_rule *r;
	unsigned char h[32];
	double f;  /* the relative change, within +-percent */
	bool up;   /* which way to step when the change rounds to nothing */
} noise;

static bool is_special(const char *s, size_t n)
{
	if (n && (*s == '+' || *s == '-'))
		s++, n--;
	return (n == 3 && (strncasecmp(s, "nan", 3) == 0 || strncasecmp(s, "inf", 3) == 0)) ||
	       (n == 8 && strncasecmp(s, "infinity", 8) == 0);
}

static size_t span_digits(const char *s, size_t n, size_t i)
{
	size_t j = i;
	while (j < n && isdigit((unsigned char)s[j]))
		j++;
	return j - i;
}

/* Reads S[0..N): [+-] digits [. digits] [e [+-] digits], or a special. */
static num_kind num_read(const char *s, size_t n, num *v)
{
	memset(v, 0, sizeof(*v));
	if (is_special(s, n))
		return NUM_SPECIAL;
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		v->neg = s[i++] == '-';
	v->ip = s + i;
	v->n_ip = span_digits(s, n, i);
	i += v->n_ip;
	v->fp = s + i;
	if (i < n && s[i] == '.') {
		v->fp = s + ++i;
		v->n_fp = span_digits(s, n, i);
		i += v->n_fp;
	}
	if (v->n_ip + v->n_fp == 0)
		return NUM_BAD;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = span_digits(s, n, i);
		if (d == 0)
			return NUM_BAD;
		i += d;
		v->exp = s + e;
		v->n_exp = i - e;
	}
	return i == n ? NUM_FINITE : NUM_BAD;
}

/* ---- Digit strings ---------------------------------------------------------------------- */

/* Magnitude comparison of digit strings without leading zeros. */
static int digits_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	if (na != nb)
		return na < nb ? -1 : 1;
	return memcmp(a, b, na);
}

/* Adds one to the digits of B (no leading zeros). */
static void digits_inc(cf_buf *b)
{
	size_t i = b->len;
	while (i > 0 && b->data[i - 1] == '9')
		b->data[--i] = '0';
	if (i > 0) {
		b->data[i - 1]++;
		return;
	}
	cf_buf_putc(b, '0');
	memmove(b->data + 1, b->data, b->len - 1);
	b->data[0] = '1';
}

/* Subtracts one from the digits of B, above zero; keeps no leading zero. */
static void digits_dec(cf_buf *b)
{
	size_t i = b->len;
	while (i > 0 && b->data[i - 1] == '0')
		b->data[--i] = '9';
	b->data[i - 1]--;
	if (b->len > 1 && b->data[0] == '0') {
		memmove(b->data, b->data + 1, b->len - 1);
		b->data[--b->len] = '\0';
	}
}

static bool over_limit(const cf_buf *b, lim l)
{
	if (l.digits == SIZE_MAX || b->len < l.digits)
		return false;
	if (b->len > l.digits)
		return true;
	return l.max && memcmp(b->data, l.max, b->len) > 0;
}

static void set_max(cf_buf *b, lim l)
{
	cf_buf_reset(b);
	if (l.max)
		cf_buf_puts(b, l.max);
	else
		for (size_t i = 0; i < l.digits; i++)
			cf_buf_putc(b, '9');
}

/* ---- The noise ------------------------------------------------------------------------------ */

static void noise_init(noise *z, const mask_rule *r, const void *seed, size_t n)
{
	z->r = r;
	mask_kh(r, seed, n, z->h);
	double u = (double)(mask_u64(z->h, 0) >> 11) * 0x1.0p-53;
	z->f = (2 * u - 1) * r->percent / 100.0;
	z->up = mask_u64(z->h, 1) & 1;
}

/* N (no leading zeros, at most EXACT_DIGITS) with noise, exactly, into OUT;
 * *NEG is the sign in and out. */
static void noise_exact(const noise *z, const char *d, size_t n, bool *neg, lim l, cf_buf *out)
{
	double x = 0, max = INFINITY;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (d[i] - '0');
	if (*neg)
		x = -x;
	if (l.digits <= EXACT_DIGITS)
		max = l.max ? strtod(l.max, NULL) : pow(10, (double)l.digits) - 1;
	double v = round(x * (1 + z->f));
	if (v == x)
		v = x + (z->up ? 1 : -1);
	if (v > max)
		v = x + 1 <= max ? max : x - 1;
	if (v < -max)
		v = x - 1 >= -max ? -max : x + 1;
	*neg = v < 0;
	cf_buf_printf(out, "%.0f", fabs(v));
}

/* Drops the leading zeros of the digits in B (all of them for zero). */
static void strip_zeros(cf_buf *b)
{
	size_t k = 0;
	while (k < b->len && b->data[k] == '0')
		k++;
	if (k == 0)
		return;
	memmove(b->data, b->data + k, b->len - k);
	b->len -= k;
	b->data[b->len] = '\0';
}

/* N (no leading zeros, more than EXACT_DIGITS) with noise, into OUT: its
 * leading digits move, the others are redrawn; never N itself, never past L. */
static void noise_long(const noise *z, const char *d, size_t n, lim l, cf_buf *out)
{
	double hi = 0;
	for (size_t i = 0; i < EXACT_DIGITS; i++)
		hi = hi * 10 + (d[i] - '0');
	cf_buf_printf(out, "%.0f", round(hi * (1 + z->f)));
	drbg g;
	drbg_init(&g, z->r, z->h, sizeof(z->h)); /* a stream apart from the noise's own bits */
	for (size_t i = EXACT_DIGITS; i < n; i++)
		cf_buf_putc(out, (char)('0' + drbg_digit(&g)));
	cf_memzero(&g, sizeof(g));
	strip_zeros(out);
	if (out->len == 0)
		cf_buf_putc(out, '0');
	if (over_limit(out, l))
		set_max(out, l);
	if (digits_cmp(out->data, out->len, d, n) != 0)
		return;
	if (z->up) {
		digits_inc(out);
		if (!over_limit(out, l))
			return;
		digits_dec(out);
	}
	digits_dec(out);
}

/* ---- Decimals ---------------------------------------------------------------------------- */

/* The column's limit on N at SCALE. */
static lim limit_of(vcol c, long scale)
{
	switch (c.vt) {
	case VT_INT2: return (lim){5, "32767"};
	case VT_INT4: return (lim){10, "2147483647"};
	case VT_INT8: return (lim){19, "9223372036854775807"};
	case VT_NUMERIC:
		if (c.precision > 0)
			return (lim){(size_t)c.precision, NULL};
		return (lim){NUMERIC_MAX_INT_DIGITS + (size_t)(scale > 0 ? scale : 0), NULL};
	default: return NO_LIMIT;
	}
}

/* The digits of N = |V| * 10^SCALE into D, without leading zeros (none for
 * zero). Digits beyond SCALE are dropped; a negative SCALE (numeric(p,-s))
 * drops integer digits, which such a column holds as zeros. */
static void num_digits(const num *v, long scale, cf_buf *d)
{
	size_t nip = v->n_ip;
	if (scale < 0)
		nip = (size_t)-scale < nip ? nip - (size_t)-scale : 0;
	cf_buf_append(d, v->ip, nip);
	for (long i = 0; i < scale; i++)
		cf_buf_putc(d, (size_t)i < v->n_fp ? v->fp[i] : '0');
	strip_zeros(d);
}

/* Writes the number of sign NEG and digits D (N at SCALE) to OUT. */
static void put_decimal(bool neg, const cf_buf *d, long scale, cf_buf *out)
{
	bool zero = d->len == 0 || strspn(d->data, "0") == d->len;
	if (neg && !zero)
		cf_buf_putc(out, '-');
	if (scale <= 0) {
		cf_buf_append(out, zero ? "0" : d->data, zero ? 1 : d->len);
		for (long i = 0; !zero && i < -scale; i++)
			cf_buf_putc(out, '0');
		return;
	}
	size_t sc = (size_t)scale;
	if (d->len > sc) {
		cf_buf_append(out, d->data, d->len - sc);
		cf_buf_putc(out, '.');
		cf_buf_append(out, d->data + d->len - sc, sc);
		return;
	}
	cf_buf_puts(out, "0.");
	for (size_t i = d->len; i < sc; i++)
		cf_buf_putc(out, '0');
	cf_buf_append(out, d->data, d->len);
}

/* What a value's noise is keyed on: its double when that holds it exactly
 * enough, so that 5, 5.0 and 5e0 agree across columns; else its digits. */
static void seed_of(const num *v, const char *text, const cf_buf *d, long scale, cf_buf *seed)
{
	if (d->len <= EXACT_DIGITS) {
		errno = 0;
		double x = strtod(text, NULL);
		if (errno == 0 && isfinite(x)) {
			cf_buf_append(seed, &x, sizeof(x));
			return;
		}
	}
	cf_buf_printf(seed, "%s%s/%ld", v->neg ? "-" : "", d->len ? d->data : "", scale);
	if (v->n_exp)
		cf_buf_append(seed, v->exp, v->n_exp);
}

/* A decimal (any length, any scale): noise on N, written back with the same
 * scale, and the exponent as it was. */
static void noise_decimal(const mask_rule *r, vcol c, const num *v, const char *text, cf_buf *out)
{
	bool typed = c.vt == VT_NUMERIC && c.precision > 0 && v->n_exp == 0;
	long scale = typed ? c.scale : (long)v->n_fp;
	lim l = v->n_exp ? NO_LIMIT : limit_of(c, scale);
	cf_buf d, seed, m;
	cf_buf_init(&d);
	cf_buf_init(&seed);
	cf_buf_init(&m);
	num_digits(v, scale, &d);
	seed_of(v, text, &d, scale, &seed);
	noise z;
	noise_init(&z, r, seed.data, seed.len);
	bool neg = v->neg;
	if (d.len <= EXACT_DIGITS)
		noise_exact(&z, d.data, d.len, &neg, l, &m);
	else
		noise_long(&z, d.data, d.len, l, &m);
	put_decimal(neg, &m, scale, out);
	if (v->n_exp)
		cf_buf_append(out, v->exp, v->n_exp);
	cf_memzero(d.data, d.cap);
	cf_memzero(seed.data, seed.cap);
	cf_memzero(&z, sizeof(z));
	cf_buf_release(&d);
	cf_buf_release(&seed);
	cf_buf_release(&m);
}

/* ---- Floats ------------------------------------------------------------------------------ */

/* real and double precision: noise on the double, staying a finite value of
 * the type. */
static mask_rc noise_float(const mask_rule *r, vtype t, const char *text, cf_buf *out,
                           const char **why)
{
	bool f4 = t == VT_FLOAT4;
	double v = strtod(text, NULL), max = f4 ? FLT_MAX : DBL_MAX;
	if (f4 ? !isfinite((float)v) : !isfinite(v)) {
		*why = f4 ? "value is out of range for type real" : "value is out of range for type "
		                                                     "double precision";
		return MASK_FAIL;
	}
	noise z;
	noise_init(&z, r, &v, sizeof(v));
	double nv = fmax(-max, fmin(max, v * (1 + z.f)));
	if (f4) {
		float fv = (float)v, fn = (float)nv;
		if (fn == fv)
			fn = nextafterf(fv, z.up ? INFINITY : -INFINITY);
		if (!isfinite(fn))
			fn = nextafterf(fv, z.up ? -INFINITY : INFINITY);
		cf_buf_printf(out, "%.9g", (double)fn);
	} else {
		if (nv == v)
			nv = nextafter(v, z.up ? INFINITY : -INFINITY);
		if (!isfinite(nv))
			nv = nextafter(v, z.up ? -INFINITY : INFINITY);
		cf_buf_printf(out, "%.17g", nv);
	}
	cf_memzero(&z, sizeof(z));
	return MASK_OK;
}

mask_rc mask_numeric(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                     const char **why)
{
	mask_trim(&in, &n);
	num v;
	num_kind k = num_read(in, n, &v);
	if (k == NUM_BAD) {
		*why = "value is not a number";
		return MASK_FAIL;
	}
	if (k == NUM_SPECIAL) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	char *text = cf_strndup(in, n);
	mask_rc rc = MASK_OK;
	if (c.vt == VT_FLOAT4 || c.vt == VT_FLOAT8)
		rc = noise_float(r, c.vt, text, out, why);
	else
		noise_decimal(r, c, &v, text, out);
	cf_memzero(text, n);
	free(text);
	return rc;
}
