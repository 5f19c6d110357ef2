/* scrub.c -- secrets in every written form: raw, percent-encoded, conninfo-quoted. */
#include "scrub.h"

#include <string.h>

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* How many bytes of S spell byte C: itself, %XX, "+" for a space, or a
 * backslash escape; 0 when none does. */
static size_t spell_len(const char *s, char c)
{
	if (*s == c)
		return 1;
	if (s[0] == '%' && s[1] && s[2]) {
		int hi = hex_value(s[1]), lo = hex_value(s[2]);
		if (hi >= 0 && lo >= 0 && (char)(hi * 16 + lo) == c)
			return 3;
	}
	if (c == ' ' && *s == '+')
		return 1;
	if (s[0] == '\\' && s[1] == c)
		return 2;
	return 0;
}

/* Length of the text at S that spells SECRET, or 0. */
static size_t match_at(const char *s, const char *secret)
{
	size_t n = 0;
	for (const char *c = secret; *c; c++) {
		size_t k = spell_len(s + n, *c);
		if (!k)
			return 0;
		n += k;
	}
	return n;
}

/* The longest match of any secret at S (longest first, so that a secret
 * that contains another is masked whole). */
static size_t match_any(const cf_strv *secrets, const char *s)
{
	size_t best = 0;
	for (size_t i = 0; i < secrets->n; i++) {
		if (strlen(secrets->v[i]) < CF_SCRUB_MIN_LEN)
			continue;
		size_t n = match_at(s, secrets->v[i]);
		if (n > best)
			best = n;
	}
	return best;
}

bool cf_scrub_has_secret(const cf_strv *secrets, const char *text)
{
	for (const char *p = text; p && *p; p++)
		if (match_any(secrets, p))
			return true;
	return false;
}

char *cf_scrub_secrets(const cf_strv *secrets, const char *text)
{
	cf_buf b;
	cf_buf_init(&b);
	for (const char *p = text; p && *p;) {
		size_t n = match_any(secrets, p);
		if (n) {
			cf_buf_puts(&b, "***");
			p += n;
		} else {
			cf_buf_putc(&b, *p++);
		}
	}
	return b.data; /* the caller owns it */
}
