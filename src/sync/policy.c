/*
 * policy.c -- what an anonymized run must satisfy before any data moves, so
 * that "anonymized" is never a lie:
 *
 *   - the rules mask at least one column of the tables being copied (an empty
 *     or non-matching rules file is an error, not a verbatim copy);
 *   - every column that looks like personal data (pii.c) is masked, or kept
 *     on purpose with {strategy: keep, reason: ...}; otherwise the run is
 *     refused, listing the columns and the rules to add, unless
 *     --allow-unmasked accepts them (and the result says so);
 *   - a column that is unique in the target is not masked by a strategy
 *     with too few distinct outputs for the table's rows: two rows would mask
 *     alike and the load would fail halfway on the constraint.
 *
 * Every refusal is CF_ERR_CONFIG or CF_ERR_VALIDATION (exit 5).
 */
#include "sync.h"
#include "error.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
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

/* ---- Unique columns ------------------------------------------------------------------ */

/* Above this chance that two of a table's rows mask to the same value, a
 * unique column's strategy is refused (one sync in 10,000 would fail). */
#define MAX_COLLISION 1e-4

/* log2 of the expected number of colliding pairs among N values drawn from
 * 2^BITS. */
static double log2_pairs(double n, double bits)
{
	return log2(n) + log2(n - 1) - 1 - bits;
}

static void unique_hint(const plan_col *c, double need, cf_buf *hint)
{
	const mask_rule *r = c->rule;
	long len = (long)ceil(need / 4.0);
	long max = r->kind == ST_EMAIL ? 32 : 64;
	cf_buf_printf(hint, "%s", hint->len ? "\n" : "");
	if ((r->kind == ST_EMAIL || r->kind == ST_HASH) && len <= max)
		cf_buf_printf(hint, "For \"%s\", use {strategy: %s, length: %ld} or more.",
		              c->sc->name, r->strategy, len < 8 ? 8 : len);
	else
		cf_buf_printf(hint, "For \"%s\", use a strategy that keeps values distinct: email, "
		                    "uuid, or hash with length: %ld or more.", c->sc->name,
		              len < 12 ? 12 : len > 64 ? 64 : len);
}

static cf_status unique_space(runner *R)
{
	cf_buf detail, hint;
	cf_buf_init(&detail);
	cf_buf_init(&hint);
	size_t bad = 0;
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		double n = (double)t->est_rows;
		for (size_t k = 0; n >= 2 && k < t->n_cols; k++) {
			const plan_col *c = &t->cols[k];
			double bits = c->rule && c->dc->uniq ? strat_output_bits(c->rule) : -1;
			if (bits < 0 || log2_pairs(n, bits) <= log2(MAX_COLLISION))
				continue;
			bad++;
			double pairs = exp2(log2_pairs(n, bits));
			char chance[64];
			if (pairs >= 0.5)
				snprintf(chance, sizeof(chance), "two rows would almost surely mask alike");
			else
				snprintf(chance, sizeof(chance), "two rows may mask alike (about 1 chance in %.0f)",
				         1.0 / pairs);
			cf_buf_printf(&detail, "%sColumn \"%s\" of \"%s\" is unique in the target (\"%s\"), "
			              "but strategy \"%s\" gives about 2^%.0f distinct values for about "
			              "%.0f rows: %s, and the load would fail halfway.",
			              detail.len ? "\n" : "", c->sc->name, t->st->qname, c->dc->uniq,
			              c->rule->strategy, floor(bits), n, chance);
			unique_hint(c, log2(n) + log2(n - 1) - 1 - log2(MAX_COLLISION), &hint);
		}
	}
	if (bad) {
		cf_error_set(R->ctx, CF_ERR_CONFIG, "%zu unique column%s would be masked into too few "
		             "distinct values", bad, bad == 1 ? "" : "s");
		cf_error_detail(R->ctx, "%s", detail.data);
		cf_error_hint(R->ctx, "%s No data was copied.", hint.data);
	}
	cf_buf_release(&detail);
	cf_buf_release(&hint);
	return bad ? CF_ERR_CONFIG : CF_OK;
}

cf_status sync_policy_check(runner *R)
{
	cf_status st = masks_something(R);
	if (!st)
		st = unruled_pii(R);
	if (!st)
		st = unique_space(R);
	R->is_policy_ok = st == CF_OK;
	return st;
}
