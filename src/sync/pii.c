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
	{"email", "an email address", false},   {"mail", "an email address", false},
	{"phone", "a phone number", false},    {"mobile", "a phone number", false},
	{"telephone", "a phone number", false}, {"tel", "a phone number", true},
	{"fax", "a phone number", false},      {"msisdn", "a phone number", false},
	{"ssn", "a social security number", false}, {"nir", "a social security number", true},
	{"iban", "a bank account", false},     {"bic", "a bank account", true},
	{"passport", "a passport number", false}, {"taxid", "a tax identifier", false},
	{"tin", "a tax identifier", true},     {"card", "a payment card", false},
	{"cvv", "a payment card", false},      {"pan", "a payment card", true},
	{"dob", "a date of birth", false},     {"birth", "a date of birth", false},
	{"birthdate", "a date of birth", false}, {"birthday", "a date of birth", false},
	{"firstname", "a person name", false}, {"lastname", "a person name", false},
	{"surname", "a person name", false},   {"fullname", "a person name", false},
	{"name", "a person name", true},       {"address", "a postal address", false},
	{"street", "a postal address", false}, {"ip", "an IP address", true},
	{"password", "a password", false},     {"salary", "a salary", false},
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
		return "a person name";
	return NULL;
}

/* ---- Dry run --------------------------------------------------------------------------- */

#include "error.h"

#include <stdlib.h>

#define SAMPLE 200

static const pat_kind VALUE_KINDS[] = {PAT_EMAIL, PAT_PHONE, PAT_CARD, PAT_IBAN, PAT_SSN, PAT_IP};
#define N_VALUE_KINDS (sizeof(VALUE_KINDS) / sizeof(VALUE_KINDS[0]))

static const char *kind_words(pat_kind k)
{
	switch (k) {
	case PAT_EMAIL: return "email addresses";
	case PAT_PHONE: return "phone numbers";
	case PAT_CARD: return "card numbers";
	case PAT_IBAN: return "IBANs";
	case PAT_SSN: return "social security numbers";
	case PAT_IP: return "IP addresses";
	default: return "personal data";
	}
}

/* Counts of whole and embedded matches per kind among the sampled values. */
static void scan_values(const cf_pgres *r, int col, int *nonnull, int *whole, int *inside)
{
	*nonnull = 0;
	memset(whole, 0, N_VALUE_KINDS * sizeof(int));
	memset(inside, 0, N_VALUE_KINDS * sizeof(int));
	for (int row = 0; row < cf_pgres_nrows(r); row++) {
		const char *v = cf_pgres_get(r, row, col);
		if (!v || !*v)
			continue;
		(*nonnull)++;
		size_t n = strlen(v);
		for (size_t k = 0; k < N_VALUE_KINDS; k++) {
			pat_kind kind;
			size_t s, e;
			if (pat_whole(VALUE_KINDS[k], v, n))
				whole[k]++;
			else if (pat_find(1u << VALUE_KINDS[k], v, n, 0, &kind, &s, &e))
				inside[k]++;
		}
	}
}

/* Samples the text columns of T that have no rule. */
static cf_status sample_table(runner *R, plan_table *t, const bool *flagged)
{
	cf_buf list;
	cf_buf_init(&list);
	int idx[256], n = 0;
	for (size_t i = 0; i < t->n_cols && n < 256; i++) {
		const plan_col *c = &t->cols[i];
		if (c->rule || c->sc->category != 'S' || flagged[i])
			continue;
		cf_sql_appendf(R->src, &list, "%s%I::text", n ? ", " : "", c->sc->name);
		idx[n++] = (int)i;
	}
	if (n == 0) {
		cf_buf_release(&list);
		return CF_OK;
	}
	char *sql = cf_sql_format(R->src, "SELECT %s FROM ONLY %s LIMIT %d", list.data,
	                          t->st->quoted, SAMPLE);
	cf_buf_release(&list);
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->src, sql, 0, NULL, &r);
	free(sql);
	for (int k = 0; !st && k < n; k++) {
		int nonnull, whole[N_VALUE_KINDS], inside[N_VALUE_KINDS];
		scan_values(r, k, &nonnull, whole, inside);
		int threshold = nonnull / 5 > 3 ? nonnull / 5 : 3;
		const char *col = t->cols[idx[k]].sc->name;
		for (size_t j = 0; j < N_VALUE_KINDS; j++) {
			if (whole[j] >= threshold) {
				plan_issue(R->p, t->st->qname, col, "pii_values",
				           "values of column \"%s\" of \"%s\" look like %s (%d of %d sampled) and "
				           "it has no rule", col, t->st->qname, kind_words(VALUE_KINDS[j]),
				           whole[j], nonnull);
				break;
			}
			if (inside[j] >= threshold) {
				plan_issue(R->p, t->st->qname, col, "pii_values",
				           "text in column \"%s\" of \"%s\" contains %s (%d of %d sampled) and "
				           "it has no rule; text_redact masks them", col, t->st->qname,
				           kind_words(VALUE_KINDS[j]), inside[j], nonnull);
				break;
			}
		}
	}
	cf_pgres_free(r);
	return st;
}

cf_status sync_pii_scan(runner *R)
{
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		if (t->st->est_rows < 0 && t->st->pages < 100000) {
			/* Never analyzed: count, so the plan shows real numbers. */
			char *sql = cf_sql_format(R->src, "SELECT count(*) FROM ONLY %s", t->st->quoted);
			char *v = NULL;
			cf_status st = cf_pg_query_value(R->src, sql, 0, NULL, &v);
			free(sql);
			if (st)
				return st;
			t->est_rows = v ? atoll(v) : 0;
			free(v);
		}
		bool *flagged = cf_calloc(t->n_cols + 1, sizeof(bool));
		for (size_t k = 0; k < t->n_cols; k++) {
			const plan_col *c = &t->cols[k];
			const char *why = c->rule || c->sc->category == 'B' ? NULL
			                                                    : pii_name_reason(c->sc->name);
			if (!why)
				continue;
			flagged[k] = true;
			plan_issue(R->p, t->st->qname, c->sc->name, "pii_name",
			           "column \"%s\" of \"%s\" looks like %s and has no rule", c->sc->name,
			           t->st->qname, why);
		}
		cf_status st = sample_table(R, t, flagged);
		free(flagged);
		if (st)
			return st;
	}
	return CF_OK;
}
