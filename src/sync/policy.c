/*
 * policy.c -- what an anonymized run must satisfy before any data moves, so
 * that "anonymized" is never a lie:
 *
 *   - the rules mask at least one column of the tables being copied (an empty
 *     or non-matching rules file is an error, not a verbatim copy);
 *   - every column that looks like personal data (pii.c) is masked, or kept
 *     on purpose with {strategy: keep, reason: ...}; otherwise the run is
 *     refused, listing the columns and the rules to add, unless
 *     --allow-unmasked accepts them (and the result says so).
 *
 * Every refusal is CF_ERR_CONFIG or CF_ERR_VALIDATION (exit 5).
 */
#include "sync.h"
#include "error.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define LISTED 20

static bool is_pii(const cf_sync_issue *is)
{
	return strncmp(is->kind, "pii_", 4) == 0;
}

static size_t n_pii(const plan *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_issues; i++)
		n += is_pii(&p->issues[i]);
	return n;
}

/* The rules to add, grouped by table, as they would be written in the
 * rules file. */
static void rules_to_add(const plan *p, cf_buf *b)
{
	const char *table = NULL;
	size_t listed = 0;
	for (size_t i = 0; i < p->n_issues && listed < LISTED; i++) {
		const cf_sync_issue *is = &p->issues[i];
		if (!is_pii(is) || !is->suggestion)
			continue;
		if (!table || strcmp(table, is->table) != 0) {
			table = is->table;
			const char *name = strncmp(table, "public.", 7) == 0 ? table + 7 : table;
			cf_buf_printf(b, "\n  %s:", name);
		}
		cf_buf_printf(b, "\n    - %s", is->suggestion);
		listed++;
	}
}

static void pii_detail(const plan *p, cf_buf *b)
{
	size_t listed = 0, n = n_pii(p);
	for (size_t i = 0; i < p->n_issues && listed < LISTED; i++)
		if (is_pii(&p->issues[i]))
			cf_buf_printf(b, "%s%s.", listed++ ? "\n" : "", p->issues[i].message);
	if (n > LISTED)
		cf_buf_printf(b, "\n... and %zu more.", n - LISTED);
}

static cf_status masks_something(runner *R)
{
	size_t masked = 0, kept = 0, entries = 0;
	for (size_t i = 0; i < R->p->n; i++) {
		entries += R->p->tables[i].tr != NULL;
		for (size_t k = 0; k < R->p->tables[i].n_cols; k++) {
			masked += R->p->tables[i].cols[k].rule != NULL;
			kept += R->p->tables[i].cols[k].kept != NULL;
		}
	}
	if (masked)
		return CF_OK;
	cf_ctx *ctx = R->ctx;
	cf_error_set(ctx, CF_ERR_CONFIG, "the rules in \"%s\" mask no column of the tables to copy",
	             R->rules->shown);
	if (R->rules->n_tables == 0)
		cf_error_detail(ctx, "The rules file has no rules: with --anonymize, nothing would be "
		                     "masked.");
	else if (kept)
		cf_error_detail(ctx, "Its rules for the %zu selected table%s only keep columns: with "
		                     "--anonymize, nothing would be masked.", R->p->n,
		                R->p->n == 1 ? "" : "s");
	else if (entries)
		cf_error_detail(ctx, "Its entries for the selected tables have no column rules: with "
		                     "--anonymize, nothing would be masked.");
	else
		cf_error_detail(ctx, "None of its %zu table entr%s is among the %zu selected table%s: "
		                     "with --anonymize, nothing would be masked.", R->rules->n_tables,
		                R->rules->n_tables == 1 ? "y" : "ies", R->p->n,
		                R->p->n == 1 ? "" : "s");
	if (n_pii(R->p)) {
		cf_buf b;
		cf_buf_init(&b);
		rules_to_add(R->p, &b);
		cf_error_hint(ctx, "Columns that look like personal data, with rules to add:%s", b.data);
		cf_buf_release(&b);
	} else {
		cf_error_hint(ctx, "No column of these tables looks like personal data: copy them "
		                   "without --anonymize, or add rules for the columns to mask.");
	}
	return CF_ERR_CONFIG;
}

static void record_unmasked(runner *R)
{
	const plan *p = R->p;
	for (size_t i = 0; i < p->n_issues; i++) {
		const cf_sync_issue *is = &p->issues[i];
		if (!is_pii(is))
			continue;
		char *name = cf_asprintf("%s.%s", is->table, is->column);
		if (!cf_strv_contains(&R->unmasked, name))
			cf_strv_push(&R->unmasked, name);
		free(name);
	}
	cf_strv_push_owned(&R->warnings,
	                   cf_asprintf("--allow-unmasked: %zu column%s that look%s like personal data "
	                               "%s copied unmasked", R->unmasked.n,
	                               R->unmasked.n == 1 ? "" : "s", R->unmasked.n == 1 ? "s" : "",
	                               R->o->dry_run ? "would be" : "are"));
}

static cf_status unruled_pii(runner *R)
{
	size_t n = n_pii(R->p);
	if (!n)
		return CF_OK;
	if (R->o->allow_unmasked) {
		record_unmasked(R);
		return CF_OK;
	}
	cf_ctx *ctx = R->ctx;
	cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to anonymize: %zu column%s look%s like "
	             "personal data and %s no rule", n, n == 1 ? "" : "s", n == 1 ? "s" : "",
	             n == 1 ? "has" : "have");
	cf_buf b;
	cf_buf_init(&b);
	pii_detail(R->p, &b);
	cf_error_detail(ctx, "%s", b.data);
	cf_buf_reset(&b);
	rules_to_add(R->p, &b);
	cf_error_hint(ctx, "Mask them in %s, or keep a column on purpose with {column: NAME, "
	                   "strategy: keep, reason: \"...\"}:%s\nOr pass --allow-unmasked to copy "
	                   "them as they are. No data was copied.", R->rules->shown, b.data);
	cf_buf_release(&b);
	return CF_ERR_VALIDATION;
}

cf_status sync_policy_check(runner *R)
{
	cf_status st = masks_something(R);
	if (!st)
		st = unruled_pii(R);
	R->is_policy_ok = st == CF_OK;
	return st;
}
