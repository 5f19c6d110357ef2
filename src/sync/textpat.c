/*
 * textpat.c -- finding emails, phone numbers, card numbers, SSNs, IBANs and
 * IPv4 addresses in free text.
 *
 * Hand-written matchers rather than regular expressions: each attempt is
 * anchored at a token boundary and bounded in length, so a scan is linear in
 * the text, and checksums (Luhn, IBAN mod 97) weed out lookalikes.
 */
#include "sync.h"

#include <ctype.h>
#include <string.h>

static const char *const PAT_NAMES[PAT_N] = {"credit_card", "iban", "ssn", "email", "phone", "ip"};

const char *pat_name(pat_kind k)
{
	return k < PAT_N ? PAT_NAMES[k] : "?";
}

int pat_from_name(const char *name)
{
	for (int k = 0; k < PAT_N; k++)
		if (strcmp(PAT_NAMES[k], name) == 0)
			return k;
	if (strcmp(name, "card") == 0)
		return PAT_CARD;
	return -1;
}

static bool is_alnum(char c)
{
	return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

static bool is_local(char c)
{
	return isalnum((unsigned char)c) || strchr("._%+-'", c) != NULL;
}

static bool is_domain(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-';
}

bool luhn_valid(const char *d, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return n > 0 && sum % 10 == 0;
}

static size_t m_email(const char *s, size_t n, size_t i)
{
	size_t j = i;
	if (s[i] == '.' || !is_local(s[i]))
		return 0;
	while (j < n && j - i < 64 && is_local(s[j]))
		j++;
	if (j >= n || s[j] != '@' || j == i)
		return 0;
	size_t k = j + 1, dstart = k;
	while (k < n && k - dstart < 253 && is_domain(s[k]))
		k++;
	while (k > dstart && (s[k - 1] == '.' || s[k - 1] == '-'))
		k--;
	/* At least two labels, none empty, and an alphabetic TLD of 2+. */
	size_t last_dot = 0;
	bool has_dot = false;
	for (size_t p = dstart; p < k; p++) {
		if (s[p] == '.') {
			if (p == dstart || s[p - 1] == '.')
				return 0;
			last_dot = p;
			has_dot = true;
		}
	}
	if (!has_dot || k - last_dot - 1 < 2)
		return 0;
	for (size_t p = last_dot + 1; p < k; p++)
		if (!isalpha((unsigned char)s[p]))
			return 0;
	return k;
}

static size_t m_card(const char *s, size_t n, size_t i)
{
	if (!isdigit((unsigned char)s[i]))
		return 0;
	char d[24];
	size_t nd = 0, j = i, end = 0;
	while (j < n && nd < 19) {
		if (isdigit((unsigned char)s[j])) {
			d[nd++] = s[j++];
			end = j;
			continue;
		}
		if ((s[j] == ' ' || s[j] == '-') && j + 1 < n && isdigit((unsigned char)s[j + 1])) {
			j++;
			continue;
		}
		break;
	}
	if (nd < 13 || (end < n && isdigit((unsigned char)s[end])) || (end < n && is_alnum(s[end])))
		return 0;
	return luhn_valid(d, nd) ? end : 0;
}

static size_t m_ssn(const char *s, size_t n, size_t i)
{
	static const char shape[] = "ddd-dd-dddd";
	if (n - i < 11)
		return 0;
	for (size_t k = 0; k < 11; k++)
		if (shape[k] == 'd' ? !isdigit((unsigned char)s[i + k]) : s[i + k] != '-')
			return 0;
	if (i + 11 < n && (is_alnum(s[i + 11]) || s[i + 11] == '-'))
		return 0;
	return i + 11;
}

/* IBAN check: move the first four characters to the end, letters become
 * 10..35, and the number mod 97 must be 1. */
static bool iban_valid(const char *c, size_t n)
{
	if (n < 15 || n > 34)
		return false;
	int r = 0;
	for (size_t k = 0; k < n; k++) {
		char ch = c[(k + 4) % n];
		int v = isdigit((unsigned char)ch) ? ch - '0' : ch - 'A' + 10;
		r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
	}
	return r == 1;
}

static size_t m_iban(const char *s, size_t n, size_t i)
{
	if (n - i < 15 || !isupper((unsigned char)s[i]) || !isupper((unsigned char)s[i + 1]) ||
	    !isdigit((unsigned char)s[i + 2]) || !isdigit((unsigned char)s[i + 3]))
		return 0;
	char c[40];
	size_t nc = 0, j = i, ends[40], ce[40], ne = 0;
	while (j < n && nc < 34) {
		if (isupper((unsigned char)s[j]) || isdigit((unsigned char)s[j])) {
			c[nc++] = s[j++];
			if (j >= n || !(isupper((unsigned char)s[j]) || isdigit((unsigned char)s[j]))) {
				ends[ne] = j;
				ce[ne++] = nc;
			}
			continue;
		}
		if (s[j] == ' ' && j + 1 < n && (isupper((unsigned char)s[j + 1]) || isdigit((unsigned char)s[j + 1]))) {
			j++;
			continue;
		}
		break;
	}
	for (size_t k = ne; k-- > 0;) {
		size_t e = ends[k];
		if (e < n && is_alnum(s[e]))
			continue;
		if (iban_valid(c, ce[k]))
			return e;
	}
	return 0;
}

static size_t m_phone(const char *s, size_t n, size_t i)
{
	char c = s[i];
	if (c != '+' && c != '(' && !isdigit((unsigned char)c))
		return 0;
	bool marked = c == '+' || c == '(';
	size_t j = i + (c == '+' ? 1 : 0), nd = 0, end = 0;
	int first_group = -1, groups = 0, cur = 0;
	char first_sep = 0;
	while (j < n && j - i < 32) {
		char ch = s[j];
		if (isdigit((unsigned char)ch)) {
			nd++;
			cur++;
			j++;
			end = j;
			continue;
		}
		if (!strchr(" -.()", ch))
			break;
		/* No doubled separators, except around parentheses. */
		if (j > i && strchr(" -.", ch) && strchr(" -.", s[j - 1]))
			break;
		if (cur) {
			if (first_group < 0) {
				first_group = cur;
				first_sep = ch;
			}
			groups++;
		}
		cur = 0;
		j++;
	}
	if (!end || (end < n && is_alnum(s[end])))
		return 0;
	/* Dates look like digit groups too: 2024-01-31, 2024.01.31. */
	if (first_group == 4 && (first_sep == '-' || first_sep == '.' || first_sep == '/') && !marked)
		return 0;
	if (nd > 15 || nd < (marked ? 7u : 10u))
		return 0;
	/* A closing parenthesis right after the number belongs to the text. */
	return end;
}

static size_t m_ip(const char *s, size_t n, size_t i)
{
	size_t j = i;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (j >= n || s[j] != '.')
				return 0;
			j++;
		}
		int v = 0, k = 0;
		while (j < n && isdigit((unsigned char)s[j]) && k < 3) {
			v = v * 10 + (s[j++] - '0');
			k++;
		}
		if (!k || v > 255)
			return 0;
	}
	if (j < n && (isdigit((unsigned char)s[j]) || is_alnum(s[j])))
		return 0;
	if (j + 1 < n && s[j] == '.' && isdigit((unsigned char)s[j + 1]))
		return 0;
	return j;
}

typedef size_t (*matcher)(const char *s, size_t n, size_t i);
static const matcher MATCHERS[PAT_N] = {m_card, m_iban, m_ssn, m_email, m_phone, m_ip};

/* Could a match of kind K start at I? (The character before is a boundary.) */
static bool starts_here(pat_kind k, const char *s, size_t i)
{
	if (i == 0)
		return true;
	char p = s[i - 1];
	switch (k) {
	case PAT_EMAIL:
		return !is_local(p) && p != '@';
	case PAT_IP:
		return !is_alnum(p) && p != '.';
	case PAT_PHONE:
		return !is_alnum(p) && p != '+';
	default:
		return !is_alnum(p);
	}
}

bool pat_find(unsigned mask, const char *s, size_t n, size_t from, pat_kind *kind, size_t *start,
              size_t *end)
{
	for (size_t i = from; i < n; i++) {
		char c = s[i];
		if (!is_alnum(c) && c != '+' && c != '(')
			continue;
		for (int k = 0; k < PAT_N; k++) {
			if (!(mask & (1u << k)) || !starts_here((pat_kind)k, s, i))
				continue;
			size_t e = MATCHERS[k](s, n, i);
			if (e > i) {
				*kind = (pat_kind)k;
				*start = i;
				*end = e;
				return true;
			}
		}
	}
	return false;
}

bool pat_whole(pat_kind k, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n > 0 && MATCHERS[k](s, n, 0) == n;
}
