/*
 * pii.c -- columns that look like personal data and have no rule: by name,
 * and by a sample of their values (text, json, jsonb, arrays, composites).
 *
 * A dry run lists them; an anonymized run refuses to start while any is
 * left (policy.c). Each finding is an issue that carries the rule to add, so
 * the message can say exactly what to write. Values are never shown: only
 * counts.
 */
#include "sync.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct name_rule {
	const char *token; /* matched against the name's words (split on _ and case) */
	const char *reason;
	bool whole;        /* the whole name must be the token */
	const char *strategy; /* the rule to suggest */
} name_rule;

static const name_rule NAMES[] = {
	{"email", "an email address", false, "email"}, {"mail", "an email address", false, "email"},
	{"phone", "a phone number", false, "phone"}, {"mobile", "a phone number", false, "phone"},
	{"telephone", "a phone number", false, "phone"}, {"tel", "a phone number", true, "phone"},
	{"fax", "a phone number", false, "phone"}, {"msisdn", "a phone number", false, "phone"},
	{"ssn", "a social security number", false, "hash"},
	{"nir", "a social security number", true, "hash"},
	{"iban", "a bank account", false, "hash"}, {"bic", "a bank account", true, "hash"},
	{"passport", "a passport number", false, "hash"}, {"taxid", "a tax identifier", false, "hash"},
	{"tin", "a tax identifier", true, "hash"}, {"card", "a payment card", false, "credit_card"},
	{"cvv", "a payment card", false, "redact"}, {"pan", "a payment card", true, "credit_card"},
	{"dob", "a date of birth", false, "date"}, {"birth", "a date of birth", false, "date"},
	{"birthdate", "a date of birth", false, "date"},
	{"birthday", "a date of birth", false, "date"},
	{"firstname", "a person name", false, "name"}, {"lastname", "a person name", false, "name"},
	{"surname", "a person name", false, "name"}, {"fullname", "a person name", false, "name"},
	{"name", "a person name", true, "name"}, {"address", "a postal address", false, "redact"},
	{"street", "a postal address", false, "redact"}, {"ip", "an IP address", true, "ip"},
	{"password", "a password", false, "redact"}, {"salary", "a salary", false, "numeric"},
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
	if (o && out[o - 1] == ' ')
		o--;
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

static const name_rule *name_match(const char *column)
{
	static const name_rule person = {"name", "a person name", false, "name"};
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
			return r;
	}
	/* "first_name", "last_name", "user_name": a name word after another word. */
	if (has_word(ws, "name") && (has_word(ws, "first") || has_word(ws, "last") ||
	                             has_word(ws, "full") || has_word(ws, "given") ||
	                             has_word(ws, "family") || has_word(ws, "middle")))
		return &person;
	return NULL;
}

const char *pii_name_reason(const char *column)
{
	const name_rule *r = name_match(column);
	return r ? r->reason : NULL;
}

/* The last word of a column name, lowercased. */
static void last_word(const char *column, char *out, size_t cap)
{
	char ws[256], joined[256];
	words(column, ws, sizeof(ws), joined, sizeof(joined));
	const char *sp = strrchr(ws, ' ');
	const char *w = sp ? sp + 1 : ws;
	size_t n = strlen(w) < cap - 1 ? strlen(w) : cap - 1;
	memcpy(out, w, n);
	out[n] = '\0';
}

/* A column named after personal data but holding something about it: a
 * reference (address_id), a kind (phone_type), a time (email_verified_at). */
static bool is_meta_name(const char *column)
{
	static const char *const meta[] = {"id", "ids", "uuid", "key", "type", "kind", "status",
	                                   "count", "at", "on", "flag", "verified", "enabled",
	                                   "format", "code", "ref", "fk", "seq"};
	char w[64];
	last_word(column, w, sizeof(w));
	for (size_t i = 0; i < sizeof(meta) / sizeof(*meta); i++)
		if (strcmp(w, meta[i]) == 0)
			return true;
	return false;
}

/* A bare "name" column is a person's only in a table of people. */
static bool is_people_table(const char *table)
{
	static const char *const people[] = {"user", "customer", "person", "people", "employee",
	                                     "staff", "member", "contact", "author", "patient",
	                                     "student", "client", "account", "profile", "applicant",
	                                     "candidate", "driver", "owner", "guest", "subscriber",
	                                     "buyer", "seller", "tenant", "actor", "partner"};
	char low[256];
	size_t i = 0;
	for (; table[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)table[i]);
	low[i] = '\0';
	for (size_t k = 0; k < sizeof(people) / sizeof(*people); k++)
		if (strstr(low, people[k]))
			return true;
	return false;
}

/* ---- Suggestions ---------------------------------------------------------------------- */

/* NAME as YAML writes it in a flow mapping. */
static void yaml_scalar(cf_buf *b, const char *name)
{
	bool plain = *name && !isdigit((unsigned char)*name);
	for (const char *p = name; plain && *p; p++)
		plain = isalnum((unsigned char)*p) || *p == '_';
	if (plain) {
		cf_buf_puts(b, name);
		return;
	}
	cf_buf_putc(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			cf_buf_putc(b, '\\');
		cf_buf_putc(b, *p);
	}
	cf_buf_putc(b, '"');
}

static bool accepts(const char *strategy, const col_info *c)
{
	mask_rule r = {0};
	r.kind = strcmp(strategy, "email") == 0         ? ST_EMAIL
	         : strcmp(strategy, "phone") == 0       ? ST_PHONE
	         : strcmp(strategy, "name") == 0        ? ST_NAME
	         : strcmp(strategy, "hash") == 0        ? ST_HASH
	         : strcmp(strategy, "credit_card") == 0 ? ST_CARD
	         : strcmp(strategy, "date") == 0        ? ST_DATE
	         : strcmp(strategy, "ip") == 0          ? ST_IP
	         : strcmp(strategy, "numeric") == 0     ? ST_NUMERIC
	         : strcmp(strategy, "text_redact") == 0 ? ST_TEXT_REDACT
	                                                : ST_REDACT;
	return strat_accepts(&r, c->vt);
}

/* "{column: NAME, strategy: S}", falling back to null when S cannot mask
 * the column's type. EXTRA is appended inside the braces when given. */
static char *suggest(const col_info *c, const char *strategy, const char *extra)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "{column: ");
	yaml_scalar(&b, c->name);
	if (accepts(strategy, c) || strcmp(strategy, "json") == 0)
		cf_buf_printf(&b, ", strategy: %s%s}", strategy, extra ? extra : "");
	else
		cf_buf_puts(&b, ", strategy: \"null\"}");
	return b.data;
}

static void add_issue(plan *p, const plan_table *t, const col_info *c, const char *kind,
                      char *suggestion, char *message)
{
	plan_issue(p, t->st->qname, c->name, kind, "%s", message);
	p->issues[p->n_issues - 1].suggestion = suggestion;
	free(message);
}

/* ---- Values --------------------------------------------------------------------------- */

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

static const char *kind_strategy(pat_kind k)
{
	switch (k) {
	case PAT_EMAIL: return "email";
	case PAT_PHONE: return "phone";
	case PAT_CARD: return "credit_card";
	case PAT_IP: return "ip";
	default: return "hash";
	}
}

typedef struct col_scan {
	int nonnull;
	int whole[N_VALUE_KINDS];
	int inside[N_VALUE_KINDS];
	cf_strv keys;           /* json: keys whose string values held a match */
} col_scan;

/* In JSON text S, the key of the string value that contains offset AT. */
static void json_key_at(const char *s, size_t at, cf_strv *keys)
{
	size_t i = at;
	while (i > 0 && !(s[i - 1] == '"' && (i < 2 || s[i - 2] != '\\')))
		i--;
	if (i == 0)
		return;
	i--; /* the value's opening quote */
	while (i > 0 && isspace((unsigned char)s[i - 1]))
		i--;
	if (i == 0 || s[i - 1] != ':')
		return;
	i--;
	while (i > 0 && isspace((unsigned char)s[i - 1]))
		i--;
	if (i == 0 || s[i - 1] != '"')
		return;
	size_t end = --i;
	while (i > 0 && s[i - 1] != '"')
		i--;
	if (i == 0 || end - i == 0 || end - i > 63 || keys->n >= 4)
		return;
	char *k = cf_strndup(s + i, end - i);
	if (!cf_strv_contains(keys, k))
		cf_strv_push(keys, k);
	free(k);
}

static void scan_values(const cf_pgres *r, int col, bool is_json, col_scan *cs)
{
	for (int row = 0; row < cf_pgres_nrows(r); row++) {
		const char *v = cf_pgres_get(r, row, col);
		if (!v || !*v)
			continue;
		cs->nonnull++;
		size_t n = strlen(v);
		for (size_t k = 0; k < N_VALUE_KINDS; k++) {
			pat_kind kind;
			size_t s, e;
			if (!is_json && pat_whole(VALUE_KINDS[k], v, n)) {
				cs->whole[k]++;
			} else if (pat_find(1u << VALUE_KINDS[k], v, n, 0, &kind, &s, &e)) {
				cs->inside[k]++;
				if (is_json)
					json_key_at(v, s, &cs->keys);
			}
		}
	}
}

/* Columns whose values are worth sampling: text, json, arrays, composites. */
static bool samples(const col_info *c)
{
	if (c->category == 'S' || c->category == 'A' || c->category == 'C')
		return true;
	return c->vt == VT_JSON || c->vt == VT_JSONB;
}

static void value_issue(runner *R, const plan_table *t, const col_info *c, col_scan *cs)
{
	int threshold = cs->nonnull / 5 > 3 ? cs->nonnull / 5 : 3;
	bool is_json = c->vt == VT_JSON || c->vt == VT_JSONB;
	const char *col = c->name, *tq = t->st->qname;
	for (size_t j = 0; j < N_VALUE_KINDS; j++) {
		const char *what = kind_words(VALUE_KINDS[j]);
		if (cs->whole[j] >= threshold) {
			add_issue(R->p, t, c, "pii_values", suggest(c, kind_strategy(VALUE_KINDS[j]), NULL),
			          cf_asprintf("values of column \"%s\" of \"%s\" look like %s (%d of %d "
			                      "sampled) and it has no rule", col, tq, what, cs->whole[j],
			                      cs->nonnull));
			return;
		}
		if (cs->inside[j] < threshold)
			continue;
		char *sg, *msg;
		if (is_json) {
			cf_buf keys;
			cf_buf_init(&keys);
			cf_buf_puts(&keys, ", keys: [");
			for (size_t k = 0; k < cs->keys.n; k++) {
				if (k)
					cf_buf_puts(&keys, ", ");
				yaml_scalar(&keys, cs->keys.v[k]);
			}
			if (!cs->keys.n)
				cf_buf_puts(&keys, "email");
			cf_buf_putc(&keys, ']');
			sg = suggest(c, "json", keys.data);
			cf_buf_release(&keys);
			msg = cf_asprintf("values of column \"%s\" of \"%s\" contain %s (%d of %d sampled) "
			                  "and it has no rule; json masks them", col, tq, what,
			                  cs->inside[j], cs->nonnull);
		} else if (vtype_is_textlike(c->vt)) {
			sg = suggest(c, "text_redact", NULL);
			msg = cf_asprintf("text in column \"%s\" of \"%s\" contains %s (%d of %d sampled) "
			                  "and it has no rule; text_redact masks them", col, tq, what,
			                  cs->inside[j], cs->nonnull);
		} else {
			sg = suggest(c, "null", NULL);
			msg = cf_asprintf("values of column \"%s\" of \"%s\" (%s) contain %s (%d of %d "
			                  "sampled) and it has no rule", col, tq, c->type, what,
			                  cs->inside[j], cs->nonnull);
		}
		add_issue(R->p, t, c, "pii_values", sg, msg);
		return;
	}
}

/* The source query reading a sample of T: a page sample when T is large. */
static char *sample_sql(cf_pg *pg, const plan_table *t, const char *list)
{
	long long est = t->st->est_rows;
	if (est <= 20000)
		return cf_sql_format(pg, "SELECT %s FROM ONLY %s LIMIT %d", list, t->st->quoted, SAMPLE);
	char pct[32];
	snprintf(pct, sizeof(pct), "%.4f", 100.0 * 4000.0 / (double)est);
	return cf_sql_format(pg, "SELECT %s FROM ONLY %s TABLESAMPLE SYSTEM (%s) LIMIT %d", list,
	                     t->st->quoted, pct, SAMPLE);
}

/* Samples the columns of T that have no rule and no name finding. */
static cf_status sample_table(runner *R, plan_table *t, const bool *flagged)
{
	cf_buf list;
	cf_buf_init(&list);
	int idx[256], n = 0;
	for (size_t i = 0; i < t->n_cols && n < 256; i++) {
		const plan_col *c = &t->cols[i];
		if (c->rule || c->kept || flagged[i] || !samples(c->sc))
			continue;
		cf_sql_appendf(R->src, &list, "%s%I::text", n ? ", " : "", c->sc->name);
		idx[n++] = (int)i;
	}
	if (n == 0) {
		cf_buf_release(&list);
		return CF_OK;
	}
	char *sql = sample_sql(R->src, t, list.data);
	cf_buf_release(&list);
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->src, sql, 0, NULL, &r);
	free(sql);
	for (int k = 0; !st && k < n; k++) {
		const col_info *c = t->cols[idx[k]].sc;
		col_scan cs = {0};
		cf_strv_init(&cs.keys);
		scan_values(r, k, c->vt == VT_JSON || c->vt == VT_JSONB, &cs);
		value_issue(R, t, c, &cs);
		cf_strv_release(&cs.keys);
	}
	cf_pgres_free(r);
	return st;
}

/* The name finding of column C of T, or NULL. */
static const name_rule *name_finding(const plan_table *t, const col_info *c)
{
	if (c->category == 'B' || is_meta_name(c->name))
		return NULL;
	const name_rule *r = name_match(c->name);
	if (!r)
		return NULL;
	if (r->whole && strcmp(r->token, "name") == 0 && !is_people_table(t->st->name))
		return NULL;
	/* A number named like an email, a name or an address is something else. */
	if (c->category == 'N' && strcmp(r->strategy, "phone") != 0 &&
	    strcmp(r->strategy, "hash") != 0 && strcmp(r->strategy, "credit_card") != 0 &&
	    strcmp(r->strategy, "numeric") != 0)
		return NULL;
	return r;
}

static cf_status count_unanalyzed(runner *R, plan_table *t)
{
	if (t->st->est_rows >= 0)
		return CF_OK;
	if (t->st->pages >= 100000) {
		t->est_rows = t->st->pages * 50; /* too large to count: a rough guess */
		return CF_OK;
	}
	/* Never analyzed: count, so the plan shows real numbers. */
	char *sql = cf_sql_format(R->src, "SELECT count(*) FROM ONLY %s", t->st->quoted);
	char *v = NULL;
	cf_status st = cf_pg_query_value(R->src, sql, 0, NULL, &v);
	free(sql);
	if (!st)
		t->est_rows = v ? atoll(v) : 0;
	free(v);
	return st;
}

cf_status sync_pii_scan(runner *R)
{
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		cf_status st = count_unanalyzed(R, t);
		if (st)
			return st;
		bool *flagged = cf_calloc(t->n_cols + 1, sizeof(bool));
		for (size_t k = 0; k < t->n_cols; k++) {
			const plan_col *c = &t->cols[k];
			const name_rule *nr = c->rule || c->kept ? NULL : name_finding(t, c->sc);
			if (!nr)
				continue;
			flagged[k] = true;
			add_issue(R->p, t, c->sc, "pii_name", suggest(c->sc, nr->strategy, NULL),
			          cf_asprintf("column \"%s\" of \"%s\" looks like %s and has no rule",
			                      c->sc->name, t->st->qname, nr->reason));
		}
		st = sample_table(R, t, flagged);
		free(flagged);
		if (st)
			return st;
	}
	return CF_OK;
}
