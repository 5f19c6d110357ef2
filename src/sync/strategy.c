/*
 * strategy.c -- the anonymization strategies.
 *
 * Every strategy is deterministic under the run's key: each rule derives its
 * own key with keyed BLAKE2b (libsodium, secret.c) from the master key and a
 * domain made of the strategy's name and the rule's seed; a value is hashed
 * with HMAC-SHA256 (OpenSSL, hash.c) under that key, and the output is drawn
 * from that hash. HMAC with precomputed pads costs two SHA-256 blocks per
 * short value, under half the cost of keyed BLAKE2b here. The same value therefore masks to the same output in every table and
 * column using the same strategy and parameters (joins survive), and a
 * different key gives unrelated output. Nothing here ever puts an input
 * value into an error: failures carry a fixed reason.
 */
#include "sync.h"
#include "error.h"
#include "plugin.h"
#include "sqlparse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Registry ------------------------------------------------------------------ */

typedef struct strat_def {
	const char *name;
	strat_kind kind;
	const char *params; /* space-separated parameter names */
} strat_def;

static const strat_def DEFS[] = {
	{"email", ST_EMAIL, "keep_domain domain prefix length"},
	{"phone", ST_PHONE, "keep_first"},
	{"name", ST_NAME, "part"},
	{"hash", ST_HASH, "length prefix"},
	{"redact", ST_REDACT, "replacement"},
	{"null", ST_NULL, ""},
	{"constant", ST_CONSTANT, "value"},
	{"partial", ST_PARTIAL, "keep_first keep_last mask_char"},
	{"date", ST_DATE, "max_days keep_year keep_month"},
	{"timestamp", ST_TIMESTAMP, "max_days keep_year keep_month"},
	{"numeric", ST_NUMERIC, "percent"},
	{"ip", ST_IP, "prefix_v4 prefix_v6"},
	{"credit_card", ST_CARD, "keep_first keep_last"},
	{"uuid", ST_UUID, ""},
	{"text_redact", ST_TEXT_REDACT, "patterns custom replacement"},
	{"json", ST_JSON, "keys paths with"},
	{"sql", ST_SQL, "expression"},
	{"keep", ST_KEEP, "reason"},
};
#define N_DEFS (sizeof(DEFS) / sizeof(DEFS[0]))

/* The iban lookalike maker used by text_redact has no public name. */
#define ST_IBAN_DOMAIN "iban"

typedef struct alias {
	const char *from, *to;
} alias;

static const alias ALIASES[] = {
	{"date_shift", "date"},       {"timestamp_shift", "timestamp"}, {"numeric_noise", "numeric"},
	{"noise", "numeric"},         {"ip_address", "ip"},             {"card", "credit_card"},
	{"text_redaction", "text_redact"}, {"nullify", "null"},
};

const char *const *strat_names(void)
{
	static const char *names[N_DEFS + 2];
	if (!names[0]) {
		for (size_t i = 0; i < N_DEFS; i++)
			names[i] = DEFS[i].name;
		names[N_DEFS] = "plugin:NAME";
	}
	return names;
}

static const strat_def *def_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ALIASES) / sizeof(*ALIASES); i++)
		if (strcmp(ALIASES[i].from, name) == 0)
			name = ALIASES[i].to;
	for (size_t i = 0; i < N_DEFS; i++)
		if (strcmp(DEFS[i].name, name) == 0)
			return &DEFS[i];
	return NULL;
}

static const strat_def *def_of(strat_kind k)
{
	for (size_t i = 0; i < N_DEFS; i++)
		if (DEFS[i].kind == k)
			return &DEFS[i];
	return NULL;
}

/* ---- Defaults and release ---------------------------------------------------------- */

static void set_defaults(mask_rule *r)
{
	r->keep_domain = false;
	r->domain = cf_strdup("example.com");
	r->prefix = cf_strdup(r->kind == ST_EMAIL ? "user_" : "");
	r->length = r->kind == ST_EMAIL ? 16 : 16;
	r->keep_first = r->kind == ST_PARTIAL ? 1 : 0;
	r->keep_last = r->kind == ST_PARTIAL ? 1 : r->kind == ST_CARD ? 4 : 0;
	r->part = 0;
	r->replacement = r->kind == ST_TEXT_REDACT ? NULL : cf_strdup("[REDACTED]");
	r->mask_char = cf_strdup("*");
	r->max_days = 30;
	r->percent = 10.0;
	r->prefix_v4 = 24;
	r->prefix_v6 = 64;
	r->patterns = (1u << PAT_EMAIL) | (1u << PAT_PHONE) | (1u << PAT_CARD);
}

void strat_release(mask_rule *r)
{
	if (!r)
		return;
	free(r->column);
	free(r->strategy);
	free(r->seed);
	free(r->domain);
	free(r->prefix);
	free(r->replacement);
	free(r->value);
	free(r->mask_char);
	free(r->expression);
	free(r->reason);
	for (size_t i = 0; i < r->n_custom; i++)
		regfree(&r->custom[i]);
	free(r->custom);
	for (size_t i = 0; i < r->n_keys; i++)
		free(r->keys[i]);
	free(r->keys);
	for (size_t i = 0; i < r->n_paths; i++) {
		for (char **s = r->paths[i]; *s; s++)
			free(*s);
		free(r->paths[i]);
	}
	free(r->paths);
	if (r->inner) {
		strat_release(r->inner);
		free(r->inner);
	}
	for (int k = 0; k < PAT_N; k++)
		if (r->sub[k]) {
			strat_release(r->sub[k]);
			free(r->sub[k]);
		}
	if (r->plugin && r->plugin->release)
		r->plugin->release(r->plugin_state);
	cf_hmac_key_wipe(&r->hk);
	cf_memzero(r->rule_key, sizeof(r->rule_key));
	memset(r, 0, sizeof(*r));
}

/* ---- Parameters --------------------------------------------------------------------- */

typedef struct pctx {
	cf_ctx *ctx;
	const cf_ydoc *doc;
	const char *strategy;
} pctx;

static cf_status bad_param(const pctx *p, const cf_ynode *n, const char *key, const char *what)
{
	cf_ynode_type_error(p->ctx, p->doc, n, key, what);
	cf_error_context(p->ctx, "in the parameters of strategy \"%s\"", p->strategy);
	return CF_ERR_CONFIG;
}

static cf_status p_long(const pctx *p, const cf_ynode *n, const char *key, long lo, long hi,
                        long *out)
{
	long v;
	if (n->kind != CF_Y_SCALAR || cf_parse_long(n->str, &v) != 0 || v < lo || v > hi) {
		char what[64];
		snprintf(what, sizeof(what), "an integer from %ld to %ld", lo, hi);
		return bad_param(p, n, key, what);
	}
	*out = v;
	return CF_OK;
}

static cf_status p_bool(const pctx *p, const cf_ynode *n, const char *key, bool *out)
{
	int v = n->kind == CF_Y_SCALAR ? cf_parse_bool(n->str) : -1;
	if (v < 0)
		return bad_param(p, n, key, "true or false");
	*out = v == 1;
	return CF_OK;
}

static cf_status p_str(const pctx *p, const cf_ynode *n, const char *key, bool allow_empty,
                       char **out)
{
	if (n->kind != CF_Y_SCALAR || (!allow_empty && !*n->str))
		return bad_param(p, n, key, allow_empty ? "a string" : "a non-empty string");
	cf_str_set(out, n->str);
	return CF_OK;
}

/* A string or a list of strings. */
static cf_status p_list(const pctx *p, const cf_ynode *n, const char *key, cf_strv *out)
{
	if (n->kind == CF_Y_SCALAR && *n->str) {
		cf_strv_push(out, n->str);
		return CF_OK;
	}
	if (n->kind != CF_Y_SEQ || n->n == 0)
		return bad_param(p, n, key, "a non-empty list of strings");
	for (size_t i = 0; i < n->n; i++) {
		if (n->v[i]->kind != CF_Y_SCALAR || !*n->v[i]->str)
			return bad_param(p, n->v[i], key, "a non-empty string");
		cf_strv_push(out, n->v[i]->str);
	}
	return CF_OK;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static cf_status p_domain(const pctx *p, const cf_ynode *n, char **out)
{
	cf_status st = p_str(p, n, "domain", false, out);
	if (st)
		return st;
	for (const char *c = *out; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
			return bad_param(p, n, "domain", "a domain name (letters, digits, dots, dashes)");
	return CF_OK;
}

static cf_status p_patterns(const pctx *p, const cf_ynode *n, unsigned *out)
{
	cf_strv names;
	cf_strv_init(&names);
	cf_status st = p_list(p, n, "patterns", &names);
	*out = 0;
	for (size_t i = 0; !st && i < names.n; i++) {
		int k = pat_from_name(names.v[i]);
		if (k < 0) {
			const cf_ynode *at = n->kind == CF_Y_SEQ ? n->v[i] : n;
			cf_error_set(p->ctx, CF_ERR_CONFIG, "unknown pattern \"%s\" in text_redact",
			             names.v[i]);
			cf_error_at(p->ctx, p->doc->file, at->line, at->column);
			cf_error_hint(p->ctx, "Known patterns: email, phone, credit_card, ssn, iban, ip.");
			st = CF_ERR_CONFIG;
		} else {
			*out |= 1u << k;
		}
	}
	cf_strv_release(&names);
	return st;
}

static cf_status p_custom(const pctx *p, const cf_ynode *n, mask_rule *r)
{
	cf_strv res;
	cf_strv_init(&res);
	cf_status st = p_list(p, n, "custom", &res);
	r->custom = cf_calloc(res.n + 1, sizeof(regex_t));
	for (size_t i = 0; !st && i < res.n; i++) {
		int rc = regcomp(&r->custom[i], res.v[i], REG_EXTENDED);
		if (rc) {
			char why[128];
			regerror(rc, &r->custom[i], why, sizeof(why));
			const cf_ynode *at = n->kind == CF_Y_SEQ ? n->v[i] : n;
			cf_error_set(p->ctx, CF_ERR_CONFIG, "invalid regular expression in text_redact: %s",
			             why);
			cf_error_at(p->ctx, p->doc->file, at->line, at->column);
			cf_error_hint(p->ctx, "Patterns are POSIX extended regular expressions.");
			st = CF_ERR_CONFIG;
		} else {
			r->n_custom++;
		}
	}
	cf_strv_release(&res);
	return st;
}

/* "$.a.b", "a.b", "a.*.c", "$.items[*].card": split into steps; "[*]" and
 * "[N]" become a "*" step (any array element). */
static char **split_path(const char *path)
{
	if (path[0] == '$')
		path += path[1] == '.' ? 2 : 1;
	cf_buf norm;
	cf_buf_init(&norm);
	for (const char *p = path; *p; p++) {
		if (*p == '[') {
			const char *close = strchr(p, ']');
			if (close) {
				cf_buf_puts(&norm, ".*");
				p = close;
				continue;
			}
		}
		cf_buf_putc(&norm, *p);
	}
	cf_strv sv;
	cf_strv_init(&sv);
	cf_strv_split(&sv, norm.data, '.');
	cf_buf_release(&norm);
	char **steps = cf_calloc(sv.n + 1, sizeof(char *));
	for (size_t i = 0; i < sv.n; i++)
		steps[i] = sv.v[i];
	free(sv.v);
	return steps;
}

static cf_status p_json(const pctx *p, const char *k, const cf_ynode *v, mask_rule *r)
{
	cf_strv sv;
	cf_strv_init(&sv);
	cf_status st = CF_OK;
	if (strcmp(k, "keys") == 0) {
		st = p_list(p, v, "keys", &sv);
		r->keys = cf_calloc(sv.n + 1, sizeof(char *));
		for (size_t i = 0; !st && i < sv.n; i++)
			r->keys[r->n_keys++] = cf_strdup(sv.v[i]);
	} else if (strcmp(k, "paths") == 0) {
		st = p_list(p, v, "paths", &sv);
		r->paths = cf_calloc(sv.n + 1, sizeof(char **));
		for (size_t i = 0; !st && i < sv.n; i++)
			r->paths[r->n_paths++] = split_path(sv.v[i]);
	} else { /* with: a strategy name, or {strategy: ..., params...} */
		r->inner = cf_calloc(1, sizeof(mask_rule));
		if (v->kind == CF_Y_SCALAR) {
			st = strat_default(p->ctx, v->str, r->inner);
			if (st)
				cf_error_at(p->ctx, p->doc->file, v->line, v->column);
		} else if (v->kind == CF_Y_MAP) {
			static const char *const skip[] = {"strategy"};
			st = strat_parse(p->ctx, p->doc, v, skip, 0, r->inner);
		} else {
			st = bad_param(p, v, "with", "a strategy name or {strategy: ..., ...}");
		}
		if (!st && (r->inner->kind == ST_SQL || r->inner->kind == ST_JSON ||
		            r->inner->kind == ST_KEEP)) {
			cf_error_set(p->ctx, CF_ERR_CONFIG, "strategy \"%s\" cannot be used inside json",
			             r->inner->strategy);
			cf_error_at(p->ctx, p->doc->file, v->line, v->column);
			st = CF_ERR_CONFIG;
		}
	}
	cf_strv_release(&sv);
	return st;
}

static cf_status parse_param(const pctx *p, const char *k, const cf_ynode *v, mask_rule *r)
{
	switch (r->kind) {
	case ST_EMAIL:
		if (strcmp(k, "keep_domain") == 0)
			return p_bool(p, v, k, &r->keep_domain);
		if (strcmp(k, "domain") == 0)
			return p_domain(p, v, &r->domain);
		if (strcmp(k, "prefix") == 0)
			return p_str(p, v, k, true, &r->prefix);
		return p_long(p, v, k, 8, 32, &r->length);
	case ST_PHONE:
		return p_long(p, v, k, 0, 8, &r->keep_first);
	case ST_NAME:
		if (v->kind == CF_Y_SCALAR && strcmp(v->str, "full") == 0)
			r->part = 0;
		else if (v->kind == CF_Y_SCALAR && strcmp(v->str, "first") == 0)
			r->part = 1;
		else if (v->kind == CF_Y_SCALAR && strcmp(v->str, "last") == 0)
			r->part = 2;
		else
			return bad_param(p, v, k, "first, last or full");
		return CF_OK;
	case ST_HASH:
		if (strcmp(k, "prefix") == 0)
			return p_str(p, v, k, true, &r->prefix);
		return p_long(p, v, k, 4, 64, &r->length);
	case ST_REDACT:
		return p_str(p, v, k, true, &r->replacement);
	case ST_CONSTANT:
		return p_str(p, v, k, true, &r->value);
	case ST_PARTIAL:
		if (strcmp(k, "mask_char") == 0) {
			cf_status st = p_str(p, v, k, false, &r->mask_char);
			if (!st && utf8_len(r->mask_char) != 1)
				st = bad_param(p, v, k, "one character");
			return st;
		}
		return p_long(p, v, k, 0, 1000, strcmp(k, "keep_first") == 0 ? &r->keep_first
		                                                               : &r->keep_last);
	case ST_DATE:
	case ST_TIMESTAMP:
		if (strcmp(k, "max_days") == 0)
			return p_long(p, v, k, 1, 36500, &r->max_days);
		return p_bool(p, v, k, strcmp(k, "keep_year") == 0 ? &r->keep_year : &r->keep_month);
	case ST_NUMERIC: {
		char *end = NULL;
		double d = v->kind == CF_Y_SCALAR ? strtod(v->str, &end) : 0;
		if (v->kind != CF_Y_SCALAR || *end || end == v->str || !(d > 0 && d <= 100))
			return bad_param(p, v, k, "a number above 0, at most 100");
		r->percent = d;
		return CF_OK;
	}
	case ST_IP:
		if (strcmp(k, "prefix_v4") == 0)
			return p_long(p, v, k, 0, 31, &r->prefix_v4);
		return p_long(p, v, k, 0, 127, &r->prefix_v6);
	case ST_CARD:
		return p_long(p, v, k, 0, 6, strcmp(k, "keep_first") == 0 ? &r->keep_first
		                                                          : &r->keep_last);
	case ST_TEXT_REDACT:
		if (strcmp(k, "patterns") == 0)
			return p_patterns(p, v, &r->patterns);
		if (strcmp(k, "custom") == 0)
			return p_custom(p, v, r);
		return p_str(p, v, k, true, &r->replacement);
	case ST_JSON:
		return p_json(p, k, v, r);
	case ST_SQL:
		return p_str(p, v, k, false, &r->expression);
	case ST_KEEP:
		return p_str(p, v, k, false, &r->reason);
	default:
		break;
	}
	return CF_OK;
}

/* True when NAME is a parameter of DEF. */
static bool def_has(const strat_def *def, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = def->params; *p;) {
		size_t l = strcspn(p, " ");
		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

static size_t def_param_list(const strat_def *def, char buf[][24], const char **out)
{
	size_t k = 0;
	for (const char *p = def->params; *p && k < 8;) {
		size_t l = strcspn(p, " ");
		snprintf(buf[k], 24, "%.*s", (int)l, p);
		out[k] = buf[k];
		k++;
		p += l;
		while (*p == ' ')
			p++;
	}
	return k;
}

static cf_status unknown_strategy(cf_ctx *ctx, const char *name)
{
	cf_error_set(ctx, CF_ERR_CONFIG, "unknown strategy \"%s\"", name);
	const char *const *names = strat_names();
	size_t n = 0;
	while (names[n])
		n++;
	const char *best = cf_closest(name, names, n);
	if (best)
		cf_error_hint(ctx, "Did you mean \"%s\"?", best);
	else
		cf_error_hint(ctx, "Known strategies: email, phone, name, hash, redact, null, constant, "
		                   "partial, date, timestamp, numeric, ip, credit_card, uuid, "
		                   "text_redact, json, sql, plugin:NAME.");
	return CF_ERR_CONFIG;
}

static cf_status plugin_lookup(cf_ctx *ctx, const char *name, mask_rule *r)
{
	cf_status st = cf_plugins_load(ctx);
	if (st)
		return st;
	r->plugin = cf_plugin_strategy_find(ctx, name, NULL);
	if (r->plugin)
		return CF_OK;
	cf_error_set(ctx, CF_ERR_CONFIG, "unknown plugin strategy \"%s\"", name);
	const char **names = NULL;
	size_t n = cf_plugin_strategy_names(ctx, &names);
	const char *best = cf_closest(name, names, n);
	if (best)
		cf_error_hint(ctx, "Did you mean \"plugin:%s\"?", best);
	else if (n == 0)
		cf_error_hint(ctx, "No plugin is loaded: list shared objects under \"plugins:\" in the "
		                   "configuration.");
	free(names);
	return CF_ERR_CONFIG;
}

/* Resolves R->strategy into a kind (and plugin). */
static cf_status resolve_kind(cf_ctx *ctx, mask_rule *r)
{
	if (strncmp(r->strategy, "plugin:", 7) == 0) {
		r->kind = ST_PLUGIN;
		return plugin_lookup(ctx, r->strategy + 7, r);
	}
	const strat_def *def = def_find(r->strategy);
	if (!def)
		return unknown_strategy(ctx, r->strategy);
	r->kind = def->kind;
	/* Keep the canonical name: it is the hashing domain. */
	cf_str_set(&r->strategy, def->name);
	return CF_OK;
}

static void make_subs(mask_rule *r)
{
	static const strat_kind kinds[PAT_N] = {ST_CARD, ST_HASH, ST_PHONE, ST_EMAIL, ST_PHONE, ST_IP};
	static const char *const names[PAT_N] = {"credit_card", ST_IBAN_DOMAIN, "ssn", "email",
	                                          "phone", "ip"};
	for (int k = 0; k < PAT_N; k++) {
		mask_rule *s = cf_calloc(1, sizeof(*s));
		s->kind = kinds[k];
		s->strategy = cf_strdup(names[k]);
		set_defaults(s);
		r->sub[k] = s;
	}
}

static cf_status plugin_init(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *map,
                             const char *const *skip, size_t n_skip, mask_rule *r)
{
	size_t n = 0;
	const char **keys = cf_calloc(map ? map->n + 1 : 1, sizeof(char *));
	const char **vals = cf_calloc(map ? map->n + 1 : 1, sizeof(char *));
	cf_status st = CF_OK;
	for (size_t i = 0; map && i < map->n; i++) {
		const char *k = map->k[i]->str;
		bool skipped = strcmp(k, "strategy") == 0 || strcmp(k, "seed") == 0;
		for (size_t j = 0; j < n_skip; j++)
			skipped = skipped || strcmp(k, skip[j]) == 0;
		if (skipped)
			continue;
		if (map->v[i]->kind != CF_Y_SCALAR) {
			pctx p = {ctx, doc, r->strategy};
			st = bad_param(&p, map->v[i], k, "a string (plugin parameters are scalars)");
			break;
		}
		keys[n] = k;
		vals[n++] = map->v[i]->str;
	}
	if (!st && r->plugin->init) {
		char err[256] = "";
		if (r->plugin->init(&r->plugin_state, keys, vals, n, err, sizeof(err)) != 0) {
			st = cf_error_set(ctx, CF_ERR_CONFIG, "plugin strategy \"%s\" rejected its "
			                  "parameters: %s", r->strategy, *err ? err : "no reason given");
			if (doc && map)
				cf_error_at(ctx, doc->file, map->line, map->column);
		}
	}
	free(keys);
	free(vals);
	return st;
}

cf_status strat_parse(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *map,
                      const char *const *skip, size_t n_skip, mask_rule *r)
{
	const cf_ynode *sn = cf_ynode_get(map, "strategy");
	/* "strategy: null" reads as a YAML null: it means the null strategy. */
	bool is_null = sn && sn->kind == CF_Y_NULL;
	if (!sn || (!is_null && (sn->kind != CF_Y_SCALAR || !*sn->str))) {
		cf_error_set(ctx, CF_ERR_CONFIG, "rule has no \"strategy\"");
		cf_error_at(ctx, doc->file, map->line, map->column);
		cf_error_hint(ctx, "Write e.g. {column: email, strategy: email}.");
		return CF_ERR_CONFIG;
	}
	r->strategy = cf_strdup(is_null ? "null" : sn->str);
	r->line = map->line;
	r->col = map->column;
	cf_status st = resolve_kind(ctx, r);
	if (st) {
		/* A plugin that does not load is located where it is declared. */
		const cf_error_info *e = cf_last_error_info(ctx);
		if (!e || !e->file)
			cf_error_at(ctx, doc->file, sn->line, sn->column);
		return st;
	}
	set_defaults(r);
	const cf_ynode *seed = cf_ynode_get(map, "seed");
	if (seed && seed->kind != CF_Y_SCALAR) {
		pctx p = {ctx, doc, r->strategy};
		return bad_param(&p, seed, "seed", "a number or a string");
	}
	if (seed)
		r->seed = cf_strdup(seed->str);
	if (r->kind == ST_PLUGIN)
		return plugin_init(ctx, doc, map, skip, n_skip, r);
	const strat_def *def = def_of(r->kind);
	pctx p = {ctx, doc, r->strategy};
	for (size_t i = 0; !st && i < map->n; i++) {
		const char *k = map->k[i]->str;
		bool skipped = strcmp(k, "strategy") == 0 || strcmp(k, "seed") == 0;
		for (size_t j = 0; j < n_skip; j++)
			skipped = skipped || strcmp(k, skip[j]) == 0;
		if (skipped)
			continue;
		if (!def_has(def, k)) {
			char buf[8][24];
			const char *known[10];
			size_t nk = def_param_list(def, buf, known);
			char *where = cf_asprintf("the parameters of strategy \"%s\"", r->strategy);
			if (nk == 0) {
				cf_error_set(ctx, CF_ERR_CONFIG, "unknown key \"%s\" in %s", k, where);
				cf_error_at(ctx, doc->file, map->k[i]->line, map->k[i]->column);
				cf_error_hint(ctx, "Strategy \"%s\" takes no parameters.", r->strategy);
				st = CF_ERR_CONFIG;
			} else {
				st = cf_ynode_unknown_key(ctx, doc, map->k[i], where, known, nk);
			}
			free(where);
			break;
		}
		st = parse_param(&p, k, map->v[i], r);
	}
	if (st)
		return st;
	if (r->kind == ST_CONSTANT && !r->value) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"constant\" needs a \"value\"");
		cf_error_at(ctx, doc->file, map->line, map->column);
		cf_error_hint(ctx, "Write {column: ..., strategy: constant, value: \"...\"}, or use "
		                   "strategy null.");
		return CF_ERR_CONFIG;
	}
	if (r->kind == ST_SQL && !r->expression) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"sql\" needs an \"expression\"");
		cf_error_at(ctx, doc->file, map->line, map->column);
		cf_error_hint(ctx, "Write {column: ..., strategy: sql, expression: \"left(email, 2) "
		                   "|| '***'\"}.");
		return CF_ERR_CONFIG;
	}
	if (r->kind == ST_KEEP && !r->reason) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"keep\" needs a \"reason\"");
		cf_error_at(ctx, doc->file, map->line, map->column);
		cf_error_detail(ctx, "A column kept as it is must say why it holds no personal data.");
		cf_error_hint(ctx, "Write {column: ..., strategy: keep, reason: \"public product "
		                   "names\"}.");
		return CF_ERR_CONFIG;
	}
	if (r->kind == ST_JSON && !r->n_keys && !r->n_paths) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"json\" needs \"keys\" or \"paths\"");
		cf_error_at(ctx, doc->file, map->line, map->column);
		cf_error_hint(ctx, "Write {column: ..., strategy: json, keys: [email, phone]}.");
		return CF_ERR_CONFIG;
	}
	if (r->kind == ST_JSON && !r->inner) {
		r->inner = cf_calloc(1, sizeof(mask_rule));
		st = strat_default(ctx, "redact", r->inner);
	}
	if (r->kind == ST_SQL) {
		/* The expression must be one expression: it may not close the select
		 * list and run something else. */
		char *probe = cf_asprintf("SELECT (%s) AS x", r->expression);
		cf_script *sc = NULL;
		cf_status pst = cf_script_parse(ctx, doc->file, probe, strlen(probe), &sc);
		bool one = !pst && sc->n_stmts == 1 && sc->stmts[0].kind == CF_STMT_OTHER &&
		           strcmp(sc->stmts[0].node, "select_stmt") == 0;
		cf_script_free(sc);
		free(probe);
		if (!one) {
			cf_ctx_clear_error(ctx);
			cf_error_set(ctx, CF_ERR_CONFIG, "invalid SQL expression for strategy \"sql\"");
			cf_error_at(ctx, doc->file, map->line, map->column);
			cf_error_detail(ctx, "The expression must be a single SQL expression over the "
			                     "table's columns.");
			st = CF_ERR_CONFIG;
		}
	}
	if (r->kind == ST_TEXT_REDACT)
		make_subs(r);
	return st;
}

cf_status strat_default(cf_ctx *ctx, const char *strategy, mask_rule *r)
{
	r->strategy = cf_strdup(strategy);
	cf_status st = resolve_kind(ctx, r);
	if (st)
		return st;
	set_defaults(r);
	if (r->kind == ST_CONSTANT || r->kind == ST_SQL || r->kind == ST_JSON || r->kind == ST_KEEP) {
		cf_error_set(ctx, CF_ERR_CONFIG, "strategy \"%s\" needs parameters", r->strategy);
		cf_error_hint(ctx, "Write it as a mapping: {strategy: %s, ...}.", r->strategy);
		return CF_ERR_CONFIG;
	}
	if (r->kind == ST_PLUGIN)
		return plugin_init(ctx, NULL, NULL, NULL, 0, r);
	if (r->kind == ST_TEXT_REDACT)
		make_subs(r);
	return CF_OK;
}

/* ---- Keys ------------------------------------------------------------------------------- */

void strat_prime(mask_rule *r, const unsigned char master[32])
{
	static const char tag[] = "confiture/anonymize/v1";
	cf_buf dom;
	cf_buf_init(&dom);
	cf_buf_append(&dom, tag, sizeof(tag)); /* with its NUL */
	cf_buf_append(&dom, r->strategy, strlen(r->strategy) + 1);
	if (r->seed)
		cf_buf_append(&dom, r->seed, strlen(r->seed));
	cf_buf_putc(&dom, '\0');
	cf_keyed_hash(master, 32, dom.data, dom.len, r->rule_key, 32);
	cf_hmac_key_init(&r->hk, r->rule_key, sizeof(r->rule_key));
	cf_buf_release(&dom);
	r->is_primed = true;
	if (r->inner)
		strat_prime(r->inner, master);
	for (int k = 0; k < PAT_N; k++)
		if (r->sub[k])
			strat_prime(r->sub[k], master);
}

/* The keyed hash of one value: HMAC-SHA256 under the rule's key (derived
 * with keyed BLAKE2b from the master key, the strategy and the seed). */
static void kh(const mask_rule *r, const void *in, size_t n, unsigned char out[32])
{
	cf_hmac_key_hash(&r->hk, in, n, out);
}

static uint64_t u64_at(const unsigned char *h, int i)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = (v << 8) | h[8 * i + k];
	return v;
}

/* An endless keyed digit (or byte) stream drawn from a value's hash. */
typedef struct drbg {
	const mask_rule *r;
	unsigned char h[32];
	int word;
	uint64_t cur;
	int left;
} drbg;

static void drbg_init(drbg *g, const mask_rule *r, const void *in, size_t n)
{
	g->r = r;
	kh(r, in, n, g->h);
	g->word = 0;
	g->left = 0;
}

static uint64_t drbg_u64(drbg *g)
{
	if (g->word == 4) {
		unsigned char next[32];
		kh(g->r, g->h, 32, next);
		memcpy(g->h, next, 32);
		g->word = 0;
	}
	return u64_at(g->h, g->word++);
}

static int drbg_digit(drbg *g)
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

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* ---- Strategies ----------------------------------------------------------------------------- */

static mask_rc m_email(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	unsigned char h[32];
	kh(r, in, n, h);
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

/* Replaces the digits of IN (after the first KEEP) from a stream keyed on the
 * digits alone, so that "+1 (415) 555-0100" and "14155550100" agree. */
static mask_rc m_digits(const mask_rule *r, const char *in, size_t n, long keep, cf_buf *out)
{
	char stack[64];
	char *d = n <= sizeof(stack) ? stack : cf_malloc(n);
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] >= '0' && in[i] <= '9')
			d[nd++] = in[i];
	if (nd == 0 || (long)nd <= keep) {
		cf_buf_append(out, in, n);
		if (d != stack)
			free(d);
		return MASK_OK;
	}
	drbg g;
	drbg_init(&g, r, d, nd);
	if (d != stack)
		free(d);
	cf_buf_reserve(out, n);
	char *o = out->data + out->len;
	size_t last = 0, k = 0;
	bool changed = false;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= '0' && c <= '9' && (long)k++ >= keep) {
			char nc = (char)('0' + drbg_digit(&g));
			changed = changed || nc != c;
			last = i;
			c = nc;
		}
		o[i] = c;
	}
	if (!changed)
		o[last] = (char)('0' + (o[last] - '0' + 1) % 10);
	out->len += n;
	out->data[out->len] = '\0';
	cf_memzero(&g, sizeof(g));
	return MASK_OK;
}

static mask_rc m_name(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	trim(&in, &n);
	unsigned char h[32];
	kh(r, in, n, h);
	size_t f = (size_t)(u64_at(h, 0) % cf_n_first_names);
	size_t l = (size_t)(u64_at(h, 1) % cf_n_last_names);
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

static mask_rc m_partial(const mask_rule *r, const char *in, size_t n, cf_buf *out)
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

static mask_rc m_date(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why)
{
	dt_val v;
	if (!dt_parse(in, n, &v)) {
		*why = "value is not an ISO date or timestamp";
		return MASK_FAIL;
	}
	if (v.is_special) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	unsigned char h[32];
	int64_t canon = v.days;
	kh(r, &canon, sizeof(canon), h);
	int64_t lo, hi;
	day_bounds(r, v.days, &lo, &hi);
	v.days = pick_other(u64_at(h, 0), lo, hi, v.days);
	dt_format(&v, out);
	return MASK_OK;
}

static mask_rc m_timestamp(const mask_rule *r, const char *in, size_t n, cf_buf *out,
                           const char **why)
{
	dt_val v;
	if (!dt_parse(in, n, &v)) {
		*why = "value is not an ISO date or timestamp";
		return MASK_FAIL;
	}
	if (v.is_special) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	const int64_t usec_day = INT64_C(86400000000);
	int64_t total = v.days * usec_day + v.usec;
	unsigned char h[32];
	kh(r, &total, sizeof(total), h);
	int64_t lo, hi;
	day_bounds(r, v.days, &lo, &hi);
	if (!v.has_time) {
		v.days = pick_other(u64_at(h, 0), lo, hi, v.days);
		dt_format(&v, out);
		return MASK_OK;
	}
	/* Whole seconds move; the fraction stays, so the text keeps its shape. */
	int64_t secs = v.days * 86400 + v.usec / 1000000, frac = v.usec % 1000000;
	int64_t slo = secs - r->max_days * 86400, shi = secs + r->max_days * 86400;
	slo = slo > lo * 86400 ? slo : lo * 86400;
	shi = shi < hi * 86400 + 86399 ? shi : hi * 86400 + 86399;
	int64_t ns = pick_other(u64_at(h, 0), slo, shi, secs);
	int64_t nd = ns >= 0 ? ns / 86400 : -((-ns + 86399) / 86400);
	v.days = nd;
	v.usec = (ns - nd * 86400) * 1000000 + frac;
	dt_format(&v, out);
	return MASK_OK;
}

/* Limits of the column's type, for numeric noise to stay storable. */
static void numeric_limits(vtype t, int precision, int scale, double *max)
{
	switch (t) {
	case VT_INT2: *max = 32767; return;
	case VT_INT4: *max = 2147483647.0; return;
	case VT_INT8: *max = 9.2233720368547e18; return;
	case VT_NUMERIC:
		if (precision > 0) {
			*max = pow(10, precision - (scale > 0 ? scale : 0)) - pow(10, -(scale > 0 ? scale : 0));
			return;
		}
		break;
	default: break;
	}
	*max = INFINITY;
}

static mask_rc numeric_masked(const mask_rule *r, vcol c, const char *buf, const char *in,
                              size_t n, cf_buf *out, const char **why);

static mask_rc m_numeric(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                         const char **why)
{
	trim(&in, &n);
	if (n == 0) {
		*why = "value is not a number";
		return MASK_FAIL;
	}
	/* A numeric may have thousands of digits (and masking 1e200 gives 201):
	 * no fixed-size copy. */
	char *buf = cf_strndup(in, n);
	mask_rc rc = numeric_masked(r, c, buf, in, n, out, why);
	free(buf);
	return rc;
}

/* m_numeric on BUF, the NUL-terminated copy of IN[0..N). */
static mask_rc numeric_masked(const mask_rule *r, vcol c, const char *buf, const char *in,
                              size_t n, cf_buf *out, const char **why)
{
	vtype t = c.vt;
	char *end;
	double v = strtod(buf, &end);
	if (*end || end == buf) {
		*why = "value is not a number";
		return MASK_FAIL;
	}
	if (isnan(v) || isinf(v)) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	unsigned char h[32];
	kh(r, &v, sizeof(v), h);
	double u = (double)(u64_at(h, 0) >> 11) * 0x1.0p-53;
	double f = (2 * u - 1) * r->percent / 100.0;
	double nv = v * (1 + f);
	bool up = u64_at(h, 1) & 1;
	if (t == VT_FLOAT4 || t == VT_FLOAT8) {
		if (nv == v)
			nv = nextafter(v, up ? INFINITY : -INFINITY);
		cf_buf_printf(out, "%.*g", t == VT_FLOAT4 ? 9 : 17, nv);
		return MASK_OK;
	}
	/* Decimal: the input's number of decimals, and never the input itself. */
	int scale = 0;
	const char *dot = strchr(buf, '.');
	if (dot && !strpbrk(buf, "eE"))
		scale = (int)strspn(dot + 1, "0123456789");
	if (t == VT_NUMERIC && c.scale >= 0)
		scale = c.scale;
	double unit = pow(10, -scale), max;
	numeric_limits(t, c.precision, c.scale, &max);
	double rv = round(nv / unit) * unit, ov = round(v / unit) * unit;
	if (rv == ov)
		rv = ov + (up ? unit : -unit);
	if (rv > max)
		rv = ov + unit <= max ? max : ov - unit;
	if (rv < -max)
		rv = ov - unit >= -max ? -max : ov + unit;
	if (t == VT_INT8 && fabs(rv) >= 9.2233720368547e18)
		rv = ov; /* beyond exact doubles: leave it rather than overflow */
	cf_buf_printf(out, "%.*f", scale, rv);
	return MASK_OK;
}

static mask_rc m_ip(const mask_rule *r, vtype t, const char *in, size_t n, cf_buf *out,
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
		kh(r, seed, v.family == 4 ? 5 : 17, h);
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

static mask_rc m_card(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	char d[64];
	size_t nd = 0;
	for (size_t i = 0; i < n && nd < sizeof(d); i++)
		if (isdigit((unsigned char)in[i]))
			d[nd++] = in[i];
	size_t keep_last = (size_t)r->keep_last, keep_first = (size_t)r->keep_first;
	if (nd <= keep_last + keep_first || nd >= sizeof(d)) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	drbg g;
	drbg_init(&g, r, d, nd);
	char o[64];
	for (size_t i = 0; i < nd; i++) {
		if (i < keep_first || i >= nd - keep_last)
			o[i] = d[i];
		else if (i == 0)
			o[i] = (char)('3' + drbg_digit(&g) % 4); /* a plausible network digit */
		else
			o[i] = (char)('0' + drbg_digit(&g));
	}
	/* The last generated digit makes the number Luhn-valid. */
	size_t fix = nd - keep_last - 1;
	if (fix >= keep_first) {
		for (int x = 0; x < 10; x++) {
			o[fix] = (char)('0' + x);
			if (luhn_valid(o, nd))
				break;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		cf_buf_putc(out, isdigit((unsigned char)in[i]) && k < nd ? o[k++] : in[i]);
	return MASK_OK;
}

/* IBAN lookalike: same country, same length, digits and letters redrawn,
 * valid check digits. */
static mask_rc m_iban(const mask_rule *r, const char *in, size_t n, cf_buf *out)
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

static mask_rc m_uuid(const mask_rule *r, const char *in, size_t n, cf_buf *out)
{
	unsigned char b[16], h[32];
	if (uuid_parse(in, n, b))
		kh(r, b, 16, h);
	else
		kh(r, in, n, h);
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

static mask_rc m_text_redact(const mask_rule *r, const char *in, size_t n, cf_buf *out)
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

static mask_rc m_plugin(const mask_rule *r, const char *in, size_t n, cf_buf *out,
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

/* ---- Dispatch ------------------------------------------------------------------------------------ */

mask_rc strat_mask(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                   const char **why)
{
	vtype t = c.vt;
	if (t == VT_BPCHAR)
		while (n && in[n - 1] == ' ')
			n--;
	switch (r->kind) {
	case ST_EMAIL: return m_email(r, in, n, out);
	case ST_PHONE: return m_digits(r, in, n, r->keep_first, out);
	case ST_NAME: return m_name(r, in, n, out);
	case ST_HASH: {
		if (strcmp(r->strategy, ST_IBAN_DOMAIN) == 0)
			return m_iban(r, in, n, out);
		unsigned char h[32];
		kh(r, in, n, h);
		cf_buf_puts(out, r->prefix);
		put_hex(out, h, r->length);
		return MASK_OK;
	}
	case ST_REDACT:
		cf_buf_puts(out, r->replacement);
		return MASK_OK;
	case ST_NULL:
		return MASK_NULL;
	case ST_CONSTANT:
		cf_buf_puts(out, r->value);
		return MASK_OK;
	case ST_PARTIAL: return m_partial(r, in, n, out);
	case ST_DATE: return m_date(r, in, n, out, why);
	case ST_TIMESTAMP: return m_timestamp(r, in, n, out, why);
	case ST_NUMERIC: return m_numeric(r, c, in, n, out, why);
	case ST_IP: return m_ip(r, t, in, n, out, why);
	case ST_CARD: return m_card(r, in, n, out);
	case ST_UUID: return m_uuid(r, in, n, out);
	case ST_TEXT_REDACT: return m_text_redact(r, in, n, out);
	case ST_JSON: return json_mask(r, in, n, out, why);
	case ST_PLUGIN: return m_plugin(r, in, n, out, why);
	case ST_KEEP:
		cf_buf_append(out, in, n);
		return MASK_OK;
	case ST_SQL:
		break;
	}
	*why = "strategy is applied on the source";
	return MASK_FAIL;
}

bool strat_accepts(const mask_rule *r, vtype t)
{
	bool text = vtype_is_textlike(t);
	switch (r->kind) {
	case ST_NULL:
	case ST_CONSTANT:
	case ST_SQL:
	case ST_PLUGIN:
	case ST_KEEP:
		return true;
	case ST_DATE:
	case ST_TIMESTAMP:
		return text || t == VT_DATE || t == VT_TIMESTAMP || t == VT_TIMESTAMPTZ;
	case ST_NUMERIC:
		return text || t == VT_INT2 || t == VT_INT4 || t == VT_INT8 || t == VT_FLOAT4 ||
		       t == VT_FLOAT8 || t == VT_NUMERIC;
	case ST_IP:
		return text || t == VT_INET || t == VT_CIDR;
	case ST_UUID:
		return text || t == VT_UUID;
	case ST_JSON:
		return text || t == VT_JSON || t == VT_JSONB;
	default:
		return text;
	}
}

bool strat_is_pushdown(const mask_rule *r)
{
	return r->kind == ST_NULL || r->kind == ST_CONSTANT || r->kind == ST_SQL;
}

double strat_output_bits(const mask_rule *r)
{
	switch (r->kind) {
	case ST_EMAIL:
	case ST_HASH:
		return 4.0 * (double)r->length;
	case ST_UUID:
		return 122;
	case ST_NAME:
		return log2(r->part == 1 ? (double)cf_n_first_names
		            : r->part == 2 ? (double)cf_n_last_names
		                           : (double)cf_n_first_names * (double)cf_n_last_names);
	case ST_PHONE: /* counted as a 10-digit number */
		return log2(10.0) * (double)(10 - r->keep_first);
	case ST_CARD: /* 16 digits, the last one a check digit */
		return log2(10.0) * (double)(15 - r->keep_first - r->keep_last);
	case ST_DATE:
		return log2(2.0 * (double)r->max_days);
	case ST_TIMESTAMP:
		return log2(2.0 * (double)r->max_days * 86400.0);
	case ST_IP:
		return (double)(32 - r->prefix_v4);
	case ST_REDACT:
	case ST_CONSTANT:
	case ST_PARTIAL:
	case ST_NUMERIC:
		return 0; /* many inputs give one output */
	default:
		return -1;
	}
}

char strat_verify_mode(const mask_rule *r)
{
	switch (r->kind) {
	case ST_EMAIL:
	case ST_UUID:
	case ST_REDACT:
	case ST_CONSTANT:
	case ST_NULL:
		return 's';
	case ST_HASH:
		return r->length >= 12 ? 's' : 'r';
	case ST_TEXT_REDACT:
	case ST_JSON:
		return 0; /* text without PII is kept as it is, by design */
	default:
		return 'r';
	}
}
