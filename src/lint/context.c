/*
 * context.c -- what a run assumes: which rules at which severity (options,
 * then the lint: section of the config), and the PostgreSQL version.
 */
#include "lint_int.h"
#include "config.h"
#include "ctx.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static const char *const FAMILIES[] = {"squawk", "context", "data-loss", "timeout", "naming",
                                       "pk",     "doc",     "security",  NULL};

/* Does selector SEL (a rule, alias, family, "default" or "all") name R? */
static bool selects(const char *sel, const lint_rule *r)
{
	if (strcmp(sel, "all") == 0)
		return true;
	if (strcmp(sel, "default") == 0)
		return r->is_default;
	if (strcmp(sel, "require-timeout-settings") == 0) /* Squawk's alias of the two */
		return strcmp(r->family, "timeout") == 0;
	return strcmp(sel, r->name) == 0 || strcmp(sel, r->family) == 0 ||
	       (r->alias && strcmp(sel, r->alias) == 0);
}

static bool selector_known(const char *sel)
{
	if (strcmp(sel, "all") == 0 || strcmp(sel, "default") == 0 ||
	    strcmp(sel, "require-timeout-settings") == 0 || lint_rule_find(sel))
		return true;
	for (size_t i = 0; FAMILIES[i]; i++)
		if (strcmp(sel, FAMILIES[i]) == 0)
			return true;
	return false;
}

/* Checks every selector of LIST; the first unknown one is an error. */
static cf_status check_selectors(cf_ctx *ctx, const char *const *list, size_t n, bool from_opts,
                                 const char *where)
{
	for (size_t i = 0; i < n; i++) {
		if (selector_known(list[i]))
			continue;
		size_t nr;
		const lint_rule *rules = lint_rules(&nr);
		const char **names = cf_calloc(nr, sizeof(char *));
		for (size_t k = 0; k < nr; k++)
			names[k] = rules[k].name;
		const char *best = cf_closest(list[i], names, nr);
		cf_status st = cf_error_set(ctx, from_opts ? CF_ERR_USAGE : CF_ERR_CONFIG,
		                            "unknown lint rule \"%s\" in %s", list[i], where);
		if (!from_opts)
			cf_config_error_at_key(ctx, ctx->cfg, where);
		if (best)
			cf_error_hint(ctx, "Did you mean \"%s\"? confiture lint --list-rules lists them.",
			              best);
		else
			cf_error_hint(ctx, "confiture lint --list-rules lists the rules and families.");
		free(names);
		return st;
	}
	return CF_OK;
}

/* Turns the rules LIST names on at their default severity (ON), or off. */
static void apply(lint_run *run, const char *const *list, size_t n, bool on)
{
	size_t nr;
	const lint_rule *rules = lint_rules(&nr);
	for (size_t r = 0; r < nr; r++)
		for (size_t i = 0; i < n; i++)
			if (selects(list[i], &rules[r]))
				run->severity[r] = on ? rules[r].severity : CF_LINT_OFF;
}

/* Severity overrides keep "off" rules off: they only re-grade what runs. */
static void regrade(lint_run *run, const cf_strv *list, cf_lint_severity sev)
{
	size_t nr;
	const lint_rule *rules = lint_rules(&nr);
	for (size_t r = 0; r < nr; r++)
		for (size_t i = 0; i < list->n; i++)
			if (selects(list->v[i], &rules[r]) && run->severity[r] != CF_LINT_OFF)
				run->severity[r] = sev;
}

cf_status lint_settings(cf_ctx *ctx, const cf_lint_opts *opts, lint_run *run)
{
	const cf_config *cfg = ctx->cfg;
	size_t nr;
	lint_rules(&nr);
	run->severity = cf_calloc(nr, sizeof(cf_lint_severity));
	cf_status st = CF_OK;
	bool opt_select = opts && opts->n_select;
	if (opt_select)
		st = check_selectors(ctx, opts->select, opts->n_select, true, "--select");
	if (!st && opts && opts->n_ignore)
		st = check_selectors(ctx, opts->ignore, opts->n_ignore, true, "--ignore");
	const cf_strv *lists[] = {&cfg->lint.select, &cfg->lint.ignore, &cfg->lint.severity_error,
	                          &cfg->lint.severity_warning, &cfg->lint.severity_info};
	static const char *const keys[] = {"lint.select", "lint.ignore", "lint.severity.error",
	                                   "lint.severity.warning", "lint.severity.info"};
	for (size_t i = 0; !st && i < 5; i++)
		st = check_selectors(ctx, (const char *const *)lists[i]->v, lists[i]->n, false, keys[i]);
	if (st)
		return st;
	/* The set: --select, else lint.select, else the default rules. */
	for (size_t r = 0; r < nr; r++)
		run->severity[r] = CF_LINT_OFF;
	if (opt_select)
		apply(run, opts->select, opts->n_select, true);
	else if (cfg->lint.select.n)
		apply(run, (const char *const *)cfg->lint.select.v, cfg->lint.select.n, true);
	else
		apply(run, (const char *const[]){"default"}, 1, true);
	apply(run, (const char *const *)cfg->lint.ignore.v, cfg->lint.ignore.n, false);
	if (opts)
		apply(run, opts->ignore, opts->n_ignore, false);
	regrade(run, &cfg->lint.severity_error, CF_LINT_ERROR);
	regrade(run, &cfg->lint.severity_warning, CF_LINT_WARNING);
	regrade(run, &cfg->lint.severity_info, CF_LINT_INFO);
	return CF_OK;
}

int lint_parse_pg_version(const char *text)
{
	if (!text || !*text)
		return 0;
	char *end;
	long major = strtol(text, &end, 10);
	if (end == text || major < 0)
		return 0;
	if (major >= 10000 && !*end)
		return major >= 90600 && major < 1000000 ? (int)major : 0; /* server_version_num */
	long minor = 0;
	if (*end == '.') {
		char *p = end + 1;
		minor = strtol(p, &end, 10);
		if (end == p || minor < 0 || minor > 99)
			return 0;
		if (*end == '.') { /* 9.6.x style: major 9, minor 6 */
			p = end + 1;
			long patch = strtol(p, &end, 10);
			if (end == p || major != 9)
				return 0;
			(void)patch;
		}
	}
	if (*end || major < 9 || major > 99)
		return 0;
	if (major == 9)
		return (int)(90000 + minor * 100);
	return (int)(major * 10000 + minor);
}
