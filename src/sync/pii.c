/*
 * pii.c -- columns that look like personal data: by name, and (in a dry run)
 * by sampled values.
 */
#include "sync.h"

#include <ctype.h>
#include <string.h>

typedef struct name_rule {
	const char *token; /* matched against the name's words (split on _ and case) */
	const char *reason;
	bool whole;        /* the whole name must be the token */
} name_rule;

static const name_rule NAMES[] = {
	{"email", "email address", false},   {"mail", "email address", false},
	{"phone", "phone number", false},    {"mobile", "phone number", false},
	{"telephone", "phone number", false}, {"tel", "phone number", true},
	{"fax", "phone number", false},      {"msisdn", "phone number", false},
	{"ssn", "social security number", false}, {"nir", "social security number", true},
	{"iban", "bank account", false},     {"bic", "bank account", true},
	{"passport", "passport number", false}, {"taxid", "tax identifier", false},
	{"tin", "tax identifier", true},     {"card", "payment card", false},
	{"cvv", "payment card", false},      {"pan", "payment card", true},
	{"dob", "date of birth", false},     {"birth", "date of birth", false},
	{"birthdate", "date of birth", false}, {"birthday", "date of birth", false},
	{"firstname", "person name", false}, {"lastname", "person name", false},
	{"surname", "person name", false},   {"fullname", "person name", false},
	{"name", "person name", true},       {"address", "postal address", false},
	{"street", "postal address", false}, {"ip", "IP address", true},
	{"password", "password", false},     {"salary", "salary", false},
};

/* Lowercase words of NAME: "billingEmail" and "billing_email" give
 * "billing email"; and the name with separators removed ("firstname"). */
static void words(const char *name, char *out, size_t cap, char *joined, size_t jcap)
{
	size_t o = 0, j = 0;
	for (const char *p = name; *p && o + 2 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '_' || c == '-' || c == ' ' || c == '.') {
			if (o && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		if (isupper(c) && p != name && islower((unsigned char)p[-1]) && o && out[o - 1] != ' ')
			out[o++] = ' ';
		out[o++] = (char)tolower(c);
		if (j + 1 < jcap)
			joined[j++] = (char)tolower(c);
	}
	out[o] = '\0';
	joined[j] = '\0';
}

static bool has_word(const char *ws, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = ws; (p = strstr(p, w)); p++) {
		bool start = p == ws || p[-1] == ' ';
		bool end = p[n] == '\0' || p[n] == ' ';
		if (start && end)
			return true;
	}
	return false;
}

const char *pii_name_reason(const char *column)
{
	char ws[256], joined[256];
	words(column, ws, sizeof(ws), joined, sizeof(joined));
	for (size_t i = 0; i < sizeof(NAMES) / sizeof(*NAMES); i++) {
		const name_rule *r = &NAMES[i];
		size_t tl = strlen(r->token), jl = strlen(joined);
		bool hit = strcmp(joined, r->token) == 0;
		if (!r->whole && !hit)
			hit = has_word(ws, r->token) ||
			      (tl >= 5 && jl > tl &&
			       (strncmp(joined, r->token, tl) == 0 || strcmp(joined + jl - tl, r->token) == 0));
		if (hit)
			return r->reason;
	}
	/* "first_name", "last_name", "user_name": a name word after another word. */
	if (has_word(ws, "name") && (has_word(ws, "first") || has_word(ws, "last") ||
	                             has_word(ws, "full") || has_word(ws, "given") ||
	                             has_word(ws, "family") || has_word(ws, "middle")))
		return "person name";
	return NULL;
}
