/*
 * values.c -- value codecs for the COPY stream.
 *
 * Strategies work on a value's text form, the one PostgreSQL prints with the
 * session settings sync uses (DateStyle ISO, TimeZone UTC). In binary COPY a
 * masked value is turned into that text form, masked, and turned back, so
 * that a value masks to the same output whichever format its table uses.
 */
#include "sync.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01. */
#define PG_EPOCH_DAYS 10957
#define USEC_PER_DAY INT64_C(86400000000)

/* ---- Types ------------------------------------------------------------------- */

typedef struct vt_name {
	const char *name;
	vtype vt;
} vt_name;

static const vt_name VT_NAMES[] = {
	{"text", VT_TEXT},          {"varchar", VT_TEXT},   {"name", VT_TEXT},
	{"citext", VT_TEXT},        {"bpchar", VT_BPCHAR},  {"int2", VT_INT2},
	{"int4", VT_INT4},          {"int8", VT_INT8},      {"float4", VT_FLOAT4},
	{"float8", VT_FLOAT8},      {"numeric", VT_NUMERIC}, {"date", VT_DATE},
	{"timestamp", VT_TIMESTAMP}, {"timestamptz", VT_TIMESTAMPTZ}, {"uuid", VT_UUID},
	{"inet", VT_INET},          {"cidr", VT_CIDR},      {"json", VT_JSON},
	{"jsonb", VT_JSONB},        {"bool", VT_BOOL},
};

vtype vtype_of(const char *base, char category)
{
	for (size_t i = 0; i < sizeof(VT_NAMES) / sizeof(*VT_NAMES); i++)
		if (strcmp(VT_NAMES[i].name, base) == 0)
			return VT_NAMES[i].vt;
	/* Other string types (domains over text are resolved by the catalog):
	 * their text form is all a strategy sees, but binary is unknown. */
	(void)category;
	return VT_OTHER;
}

bool vtype_is_textlike(vtype t)
{
	return t == VT_TEXT || t == VT_BPCHAR;
}

bool vtype_has_codec(vtype t)
{
	return t != VT_OTHER;
}

/* ---- Big-endian helpers ---------------------------------------------------------- */

static uint16_t get16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint16_t)((u[0] << 8) | u[1]);
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

static uint64_t get64(const char *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void put16(cf_buf *b, uint16_t v)
{
	char c[2] = {(char)(v >> 8), (char)v};
	cf_buf_append(b, c, 2);
}

static void put32(cf_buf *b, uint32_t v)
{
	char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
	cf_buf_append(b, c, 4);
}

static void put64(cf_buf *b, uint64_t v)
{
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

/* ---- COPY text escaping ---------------------------------------------------------- */

void copy_text_unescape(const char *in, size_t n, cf_buf *out)
{
	cf_buf_reserve(out, n);
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c != '\\' || i + 1 >= n) {
			out->data[out->len++] = c;
			continue;
		}
		c = in[++i];
		switch (c) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'v': c = '\v'; break;
		case 'x':
			if (i + 1 < n && isxdigit((unsigned char)in[i + 1])) {
				int v = 0, k = 0;
				while (k < 2 && i + 1 < n && isxdigit((unsigned char)in[i + 1])) {
					char h = in[++i];
					v = v * 16 + (isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
					k++;
				}
				c = (char)v;
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', k = 1;
				while (k < 3 && i + 1 < n && in[i + 1] >= '0' && in[i + 1] <= '7') {
					v = v * 8 + (in[++i] - '0');
					k++;
				}
				c = (char)v;
			}
			break; /* any other escaped character stands for itself */
		}
		out->data[out->len++] = c;
	}
	out->data[out->len] = '\0';
}

void copy_text_escape(const char *in, size_t n, cf_buf *out)
{
	cf_buf_reserve(out, n + 8);
	for (size_t i = 0; i < n; i++) {
		char c = in[i], e = 0;
		switch (c) {
		case '\\': e = '\\'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		case '\v': e = 'v'; break;
		default: break;
		}
		if (out->len + 3 > out->cap)
			cf_buf_reserve(out, n - i + 8);
		if (e) {
			out->data[out->len++] = '\\';
			out->data[out->len++] = e;
		} else {
			out->data[out->len++] = c;
		}
	}
	out->data[out->len] = '\0';
}

/* ---- Dates ------------------------------------------------------------------------- */

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

static bool digits(const char *s, size_t n, size_t *i, int min, int max, int64_t *out)
{
	int64_t v = 0;
	int k = 0;
	while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	*out = v;
	return k >= min;
}

static bool is_special(const char *s, size_t n, dt_val *v)
{
	if ((n == 8 && memcmp(s, "infinity", 8) == 0) || (n == 9 && memcmp(s, "-infinity", 9) == 0)) {
		memset(v, 0, sizeof(*v));
		v->is_special = true;
		return true;
	}
	return false;
}

bool dt_parse(const char *s, size_t n, dt_val *v)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (is_special(s, n, v))
		return true;
	memset(v, 0, sizeof(*v));
	size_t i = 0;
	int64_t y, mo, d, h = 0, mi = 0, se = 0;
	if (!digits(s, n, &i, 4, 7, &y) || i >= n || s[i++] != '-' || !digits(s, n, &i, 2, 2, &mo) ||
	    i >= n || s[i++] != '-' || !digits(s, n, &i, 2, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	if (i < n && (s[i] == ' ' || s[i] == 'T') && i + 1 < n && isdigit((unsigned char)s[i + 1])) {
		v->has_t = s[i] == 'T';
		i++;
		if (!digits(s, n, &i, 2, 2, &h) || i >= n || s[i++] != ':' ||
		    !digits(s, n, &i, 2, 2, &mi))
			return false;
		if (i < n && s[i] == ':') {
			i++;
			if (!digits(s, n, &i, 2, 2, &se))
				return false;
		}
		if (h > 24 || mi > 59 || se > 60)
			return false;
		int64_t frac = 0;
		if (i < n && s[i] == '.') {
			i++;
			size_t f0 = i;
			if (!digits(s, n, &i, 1, 6, &frac))
				return false;
			v->frac_digits = (int)(i - f0);
			for (int k = v->frac_digits; k < 6; k++)
				frac *= 10;
			while (i < n && isdigit((unsigned char)s[i]))
				i++; /* more than microseconds: dropped */
		}
		v->has_time = true;
		v->usec = ((h * 60 + mi) * 60 + se) * INT64_C(1000000) + frac;
	}
	bool bc = false;
	if (n - i >= 3 && memcmp(s + n - 3, " BC", 3) == 0) {
		bc = true;
		n -= 3;
	}
	if (n - i >= sizeof(v->suffix))
		return false;
	/* Whatever is left must look like a zone: Z, +HH, -HH:MM, ... */
	for (size_t k = i; k < n; k++)
		if (!strchr("Z+-:0123456789", s[k]))
			return false;
	memcpy(v->suffix, s + i, n - i);
	v->suffix[n - i] = '\0';
	if (bc)
		y = 1 - y;
	v->days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	return true;
}

void dt_format(const dt_val *v, cf_buf *out)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(v->days, &y, &m, &d);
	bool bc = y <= 0;
	cf_buf_printf(out, "%04" PRId64 "-%02u-%02u", bc ? 1 - y : y, m, d);
	if (v->has_time) {
		int64_t secs = v->usec / 1000000, frac = v->usec % 1000000;
		cf_buf_printf(out, "%c%02d:%02d:%02d", v->has_t ? 'T' : ' ', (int)(secs / 3600),
		              (int)(secs / 60 % 60), (int)(secs % 60));
		if (v->frac_digits > 0) {
			char f[8];
			snprintf(f, sizeof(f), "%06d", (int)frac);
			cf_buf_printf(out, ".%.*s", v->frac_digits, f);
		}
	}
	cf_buf_puts(out, v->suffix);
	if (bc)
		cf_buf_puts(out, " BC");
}

/* Seconds east of UTC written in SUFFIX ("+05:30"), 0 when none or "Z". */
static int64_t zone_offset(const char *suffix)
{
	if (suffix[0] != '+' && suffix[0] != '-')
		return 0;
	int sign = suffix[0] == '-' ? -1 : 1;
	int h = 0, m = 0, s = 0;
	sscanf(suffix + 1, "%2d:%2d:%2d", &h, &m, &s);
	return sign * (h * 3600 + m * 60 + s);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void ts_to_text(int64_t v, bool tz, cf_buf *out)
{
	if (v == INT64_MIN || v == INT64_MAX) {
		cf_buf_puts(out, v == INT64_MIN ? "-infinity" : "infinity");
		return;
	}
	dt_val d = {0};
	d.days = floor_div(v, USEC_PER_DAY) + PG_EPOCH_DAYS;
	d.usec = v - (d.days - PG_EPOCH_DAYS) * USEC_PER_DAY;
	d.has_time = true;
	/* PostgreSQL prints the fraction without trailing zeros. */
	int64_t frac = d.usec % 1000000;
	d.frac_digits = 0;
	if (frac) {
		d.frac_digits = 6;
		while (frac % 10 == 0) {
			frac /= 10;
			d.frac_digits--;
		}
	}
	if (tz)
		strcpy(d.suffix, "+00");
	dt_format(&d, out);
}

static bool ts_from_text(const char *s, size_t n, bool tz, int64_t *out)
{
	dt_val d;
	if (!dt_parse(s, n, &d))
		return false;
	if (d.is_special) {
		*out = s[0] == '-' ? INT64_MIN : INT64_MAX;
		return true;
	}
	*out = (d.days - PG_EPOCH_DAYS) * USEC_PER_DAY + d.usec;
	if (tz)
		*out -= zone_offset(d.suffix) * INT64_C(1000000);
	return true;
}

/* ---- Numeric --------------------------------------------------------------------------- */

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

static bool numeric_to_text(const char *in, size_t n, cf_buf *out)
{
	if (n < 8)
		return false;
	int ndigits = (int16_t)get16(in), weight = (int16_t)get16(in + 2);
	unsigned sign = get16(in + 4), dscale = get16(in + 6);
	if (ndigits < 0 || n != 8 + (size_t)ndigits * 2)
		return false;
	if (sign == NUMERIC_NAN || sign == NUMERIC_PINF || sign == NUMERIC_NINF) {
		cf_buf_puts(out, sign == NUMERIC_NAN ? "NaN" : sign == NUMERIC_PINF ? "Infinity" : "-Infinity");
		return true;
	}
	const char *dig = in + 8;
	if (sign == NUMERIC_NEG)
		cf_buf_putc(out, '-');
	if (weight < 0) {
		cf_buf_putc(out, '0');
	} else {
		for (int i = 0; i <= weight; i++) {
			int dv = i < ndigits ? (int16_t)get16(dig + 2 * i) : 0;
			cf_buf_printf(out, i == 0 ? "%d" : "%04d", dv);
		}
	}
	if (dscale > 0) {
		cf_buf_putc(out, '.');
		unsigned written = 0;
		for (int i = weight + 1; written < dscale; i++) {
			int dv = i >= 0 && i < ndigits ? (int16_t)get16(dig + 2 * i) : 0;
			char four[8];
			snprintf(four, sizeof(four), "%04d", dv);
			for (int k = 0; k < 4 && written < dscale; k++, written++)
				cf_buf_putc(out, four[k]);
		}
	}
	return true;
}

static bool numeric_from_text(const char *s, size_t n, cf_buf *out)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	uint16_t special = 0;
	if (n == 3 && strncasecmp(s, "NaN", 3) == 0)
		special = NUMERIC_NAN;
	else if ((n == 8 && strncasecmp(s, "Infinity", 8) == 0) ||
	         (n == 9 && strncasecmp(s, "+Infinity", 9) == 0))
		special = NUMERIC_PINF;
	else if (n == 9 && strncasecmp(s, "-Infinity", 9) == 0)
		special = NUMERIC_NINF;
	if (special) {
		put16(out, 0);
		put16(out, 0);
		put16(out, special);
		put16(out, 0);
		return true;
	}
	bool neg = false;
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	size_t int_start = i;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	size_t int_len = i - int_start, frac_start = i, frac_len = 0;
	if (i < n && s[i] == '.') {
		frac_start = ++i;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		frac_len = i - frac_start;
	}
	if (i != n || int_len + frac_len == 0 || frac_len > 16383)
		return false;
	/* Digits aligned on groups of four around the decimal point. */
	size_t lead = (4 - int_len % 4) % 4, ngroups_int = (int_len + lead) / 4;
	size_t ngroups_frac = (frac_len + 3) / 4, total = ngroups_int + ngroups_frac;
	int16_t *g = cf_calloc(total + 1, sizeof(int16_t));
	for (size_t k = 0; k < int_len; k++) {
		size_t pos = lead + k;
		g[pos / 4] = (int16_t)(g[pos / 4] * 10 + (s[int_start + k] - '0'));
	}
	for (size_t k = 0; k < ngroups_frac * 4; k++) {
		int dv = k < frac_len ? s[frac_start + k] - '0' : 0;
		size_t gi = ngroups_int + k / 4;
		g[gi] = (int16_t)(g[gi] * 10 + dv);
	}
	int weight = (int)ngroups_int - 1;
	size_t first = 0, last = total;
	while (first < total && g[first] == 0) {
		first++;
		weight--;
	}
	while (last > first && g[last - 1] == 0)
		last--;
	size_t nd = last - first;
	if (nd == 0) {
		weight = 0;
		neg = false;
	}
	put16(out, (uint16_t)nd);
	put16(out, (uint16_t)(int16_t)weight);
	put16(out, neg ? NUMERIC_NEG : NUMERIC_POS);
	put16(out, (uint16_t)frac_len);
	for (size_t k = first; k < last; k++)
		put16(out, (uint16_t)g[k]);
	free(g);
	return true;
}

/* ---- Addresses ------------------------------------------------------------------------- */

bool ip_parse(const char *s, size_t n, ip_val *v)
{
	char buf[64];
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(v, 0, sizeof(*v));
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, v->addr) == 1)
		v->family = 4;
	else if (inet_pton(AF_INET6, buf, v->addr) == 1)
		v->family = 6;
	else
		return false;
	int max = v->family == 4 ? 32 : 128;
	v->bits = max;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || b < 0 || b > max)
			return false;
		v->bits = (int)b;
		v->has_bits = true;
	}
	return true;
}

void ip_format(const ip_val *v, bool show_bits, cf_buf *out)
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(v->family == 4 ? AF_INET : AF_INET6, v->addr, buf, sizeof(buf));
	cf_buf_puts(out, buf);
	if (show_bits)
		cf_buf_printf(out, "/%d", v->bits);
}

static bool inet_bin_to_text(const char *in, size_t n, bool cidr, cf_buf *out)
{
	if (n < 4)
		return false;
	ip_val v = {0};
	int fam = (unsigned char)in[0], nb = (unsigned char)in[3];
	v.family = fam == 2 ? 4 : fam == 3 ? 6 : 0;
	v.bits = (unsigned char)in[1];
	if (!v.family || nb != (v.family == 4 ? 4 : 16) || n != 4 + (size_t)nb)
		return false;
	memcpy(v.addr, in + 4, (size_t)nb);
	int max = v.family == 4 ? 32 : 128;
	ip_format(&v, cidr || v.bits != max, out);
	return true;
}

static bool inet_text_to_bin(const char *s, size_t n, bool cidr, cf_buf *out)
{
	ip_val v;
	if (!ip_parse(s, n, &v))
		return false;
	int nb = v.family == 4 ? 4 : 16;
	char hdr[4] = {(char)(v.family == 4 ? 2 : 3), (char)v.bits, (char)(cidr ? 1 : 0), (char)nb};
	cf_buf_append(out, hdr, 4);
	cf_buf_append(out, v.addr, (size_t)nb);
	return true;
}

bool uuid_parse(const char *s, size_t n, unsigned char out[16])
{
	int k = 0, hi = -1;
	size_t i = 0;
	if (n && s[0] == '{') {
		if (s[n - 1] != '}')
			return false;
		i = 1;
		n--;
	}
	for (; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '-')
			continue;
		if (!isxdigit(c) || k >= 16)
			return false;
		int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return k == 16 && hi < 0;
}

void uuid_format(const unsigned char b[16], cf_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	char s[37], *o = s;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
	cf_buf_append(out, s, 36);
}

/* ---- Binary <-> text --------------------------------------------------------------------- */

static void float_text(double d, int digits, cf_buf *out)
{
	if (isnan(d))
		cf_buf_puts(out, "NaN");
	else if (isinf(d))
		cf_buf_puts(out, d > 0 ? "Infinity" : "-Infinity");
	else
		cf_buf_printf(out, "%.*g", digits, d);
}

static bool float_parse(const char *s, size_t n, double *out)
{
	char buf[512];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	*out = strtod(buf, &end);
	while (*end == ' ')
		end++;
	return *end == '\0' && end != buf;
}

static bool int_parse(const char *s, size_t n, long long *out)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	while (*end == ' ')
		end++;
	return *end == '\0' && end != buf && errno == 0;
}

bool value_bin_to_text(vtype t, const char *in, size_t n, cf_buf *out)
{
	switch (t) {
	case VT_TEXT:
	case VT_BPCHAR:
	case VT_JSON:
		cf_buf_append(out, in, n);
		return true;
	case VT_JSONB:
		if (n < 1 || in[0] != 1)
			return false;
		cf_buf_append(out, in + 1, n - 1);
		return true;
	case VT_BOOL:
		if (n != 1)
			return false;
		cf_buf_putc(out, in[0] ? 't' : 'f');
		return true;
	case VT_INT2:
		if (n != 2)
			return false;
		cf_buf_printf(out, "%d", (int16_t)get16(in));
		return true;
	case VT_INT4:
		if (n != 4)
			return false;
		cf_buf_printf(out, "%d", (int32_t)get32(in));
		return true;
	case VT_INT8:
		if (n != 8)
			return false;
		cf_buf_printf(out, "%" PRId64, (int64_t)get64(in));
		return true;
	case VT_FLOAT4: {
		if (n != 4)
			return false;
		uint32_t u = get32(in);
		float f;
		memcpy(&f, &u, 4);
		float_text(f, 9, out);
		return true;
	}
	case VT_FLOAT8: {
		if (n != 8)
			return false;
		uint64_t u = get64(in);
		double d;
		memcpy(&d, &u, 8);
		float_text(d, 17, out);
		return true;
	}
	case VT_NUMERIC:
		return numeric_to_text(in, n, out);
	case VT_DATE: {
		if (n != 4)
			return false;
		int32_t v = (int32_t)get32(in);
		if (v == INT32_MIN || v == INT32_MAX) {
			cf_buf_puts(out, v == INT32_MIN ? "-infinity" : "infinity");
			return true;
		}
		dt_val d = {.days = (int64_t)v + PG_EPOCH_DAYS};
		dt_format(&d, out);
		return true;
	}
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ:
		if (n != 8)
			return false;
		ts_to_text((int64_t)get64(in), t == VT_TIMESTAMPTZ, out);
		return true;
	case VT_UUID:
		if (n != 16)
			return false;
		uuid_format((const unsigned char *)in, out);
		return true;
	case VT_INET:
	case VT_CIDR:
		return inet_bin_to_text(in, n, t == VT_CIDR, out);
	case VT_OTHER:
		break;
	}
	return false;
}

bool value_text_to_bin(vtype t, const char *in, size_t n, cf_buf *out)
{
	switch (t) {
	case VT_TEXT:
	case VT_BPCHAR:
	case VT_JSON:
		cf_buf_append(out, in, n);
		return true;
	case VT_JSONB:
		cf_buf_putc(out, 1);
		cf_buf_append(out, in, n);
		return true;
	case VT_BOOL: {
		int b = n == 1 ? (in[0] == 't' ? 1 : in[0] == 'f' ? 0 : -1) : -1;
		if (b < 0) {
			char buf[8];
			if (n >= sizeof(buf))
				return false;
			memcpy(buf, in, n);
			buf[n] = '\0';
			b = cf_parse_bool(buf);
		}
		if (b < 0)
			return false;
		cf_buf_putc(out, (char)b);
		return true;
	}
	case VT_INT2:
	case VT_INT4:
	case VT_INT8: {
		long long v;
		if (!int_parse(in, n, &v))
			return false;
		if (t == VT_INT2 && (v < INT16_MIN || v > INT16_MAX))
			return false;
		if (t == VT_INT4 && (v < INT32_MIN || v > INT32_MAX))
			return false;
		if (t == VT_INT2)
			put16(out, (uint16_t)(int16_t)v);
		else if (t == VT_INT4)
			put32(out, (uint32_t)(int32_t)v);
		else
			put64(out, (uint64_t)v);
		return true;
	}
	case VT_FLOAT4:
	case VT_FLOAT8: {
		double d;
		if (!float_parse(in, n, &d))
			return false;
		if (t == VT_FLOAT4) {
			float f = (float)d;
			uint32_t u;
			memcpy(&u, &f, 4);
			put32(out, u);
		} else {
			uint64_t u;
			memcpy(&u, &d, 8);
			put64(out, u);
		}
		return true;
	}
	case VT_NUMERIC:
		return numeric_from_text(in, n, out);
	case VT_DATE: {
		dt_val d;
		if (!dt_parse(in, n, &d) || (!d.is_special && d.has_time))
			return false;
		int64_t v = d.is_special ? (in[0] == '-' ? INT32_MIN : INT32_MAX) : d.days - PG_EPOCH_DAYS;
		if (v < INT32_MIN || v > INT32_MAX)
			return false;
		put32(out, (uint32_t)(int32_t)v);
		return true;
	}
	case VT_TIMESTAMP:
	case VT_TIMESTAMPTZ: {
		int64_t v;
		if (!ts_from_text(in, n, t == VT_TIMESTAMPTZ, &v))
			return false;
		put64(out, (uint64_t)v);
		return true;
	}
	case VT_UUID: {
		unsigned char b[16];
		if (!uuid_parse(in, n, b))
			return false;
		cf_buf_append(out, b, 16);
		return true;
	}
	case VT_INET:
	case VT_CIDR:
		return inet_text_to_bin(in, n, t == VT_CIDR, out);
	case VT_OTHER:
		break;
	}
	return false;
}
