/* result.c -- cf_sync_result: what the run did, for the caller to render. */
#include "sync.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

void sync_fill_result(runner *R, cf_status st)
{
	cf_sync_result *res = R->res;
	res->success = st == CF_OK;
	res->duration_s = cf_now() - R->t0;
	/* Only a run whose rules passed the policy may say "anonymized". */
	res->is_anonymized = R->anonymize && R->is_policy_ok;
	res->is_dry_run = R->o->dry_run;
	plan *p = R->p;
	if (p) {
		res->tables = cf_calloc(p->n + 1, sizeof(cf_sync_table));
		res->n_tables = p->n;
		for (size_t i = 0; i < p->n; i++) {
			plan_table *t = &p->tables[i];
			cf_sync_table *o = &res->tables[i];
			o->name = cf_strdup(t->st->qname);
			o->format = t->is_binary ? "binary" : "text";
			o->est_rows = t->est_rows;
			o->rows = t->rows;
			o->bytes = t->bytes;
			o->duration_s = t->duration_s;
			o->n_ranges = t->n_ranges;
			o->is_skipped = t->is_skipped;
			o->is_subset = t->is_subset;
			o->where = cf_strdup(t->pred);
			o->verified = t->verified;
			o->retries = t->retries;
			o->mode = t->mode == TM_INCREMENTAL ? "incremental" : "full";
			o->mode_reason = cf_strdup(t->mode_reason);
			o->has_diff = t->has_diff;
			o->added = t->added;
			o->updated = t->updated;
			o->deleted = t->deleted;
			o->unchanged = t->unchanged;
			o->failed_rows = t->failed_rows;
			o->src_count = R->o->dry_run ? t->src_count : -1;
			o->dst_count = R->o->dry_run ? t->dst_count : -1;
			o->is_in_line = t->has_diff && !t->added && !t->updated && !t->deleted;
			res->added += t->added;
			res->updated += t->updated;
			res->deleted += t->deleted;
			res->unchanged += t->unchanged;
			res->failed_rows += t->failed_rows;
			o->is_failed = t->is_failed;
			o->error = cf_strdup(t->error);
			res->n_failed += t->is_failed;
			o->masked = cf_calloc(t->n_cols + 1, sizeof(char *));
			o->kept = cf_calloc(t->n_cols + 1, sizeof(char *));
			for (size_t k = 0; k < t->n_cols; k++) {
				if (t->cols[k].rule)
					o->masked[o->n_masked++] = cf_asprintf("%s: %s", t->cols[k].sc->name,
					                                       t->cols[k].rule->strategy);
				if (t->cols[k].kept)
					o->kept[o->n_kept++] = cf_asprintf("%s: %s", t->cols[k].sc->name,
					                                   t->cols[k].kept->reason);
			}
			if (t->is_skipped)
				res->n_skipped++;
			else if (!R->o->dry_run && !t->is_failed &&
			         (t->rows > 0 || t->ranges_done > 0 || t->duration_s > 0))
				res->n_copied++;
			res->rows += t->rows;
			res->bytes += t->bytes;
		}
		res->issues = p->issues;
		res->n_issues = p->n_issues;
		p->issues = NULL;
		p->n_issues = 0;
	}
	res->is_incremental = R->o->incremental;
	res->changes_detected = res->rows > 0 || res->deleted > 0;
	res->is_verified = R->o->verify && st == CF_OK;
	res->unmasked = cf_calloc(R->unmasked.n + 1, sizeof(char *));
	for (size_t i = 0; i < R->unmasked.n; i++)
		res->unmasked[res->n_unmasked++] = cf_strdup(R->unmasked.v[i]);
	res->warnings = cf_calloc(R->warnings.n + 1, sizeof(char *));
	for (size_t i = 0; i < R->warnings.n; i++)
		res->warnings[res->n_warnings++] = cf_strdup(R->warnings.v[i]);
	if (!res->message)
		res->message = st ? cf_strdup(cf_last_error(R->ctx))
		               : R->o->dry_run ? cf_asprintf("plan: %zu tables", res->n_tables)
		                               : cf_asprintf("synced %ld tables, %lld rows", res->n_copied,
		                                             res->rows);
	if (st) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, R->ctx);
		res->errors = l.v;
		res->n_errors = l.n;
	}
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cf_sync_result_free(cf_sync_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tables; i++) {
		cf_sync_table *t = &r->tables[i];
		free(t->name);
		free(t->where);
		free(t->error);
		free(t->mode_reason);
		free_strs(t->masked, t->n_masked);
		free_strs(t->kept, t->n_kept);
	}
	free(r->tables);
	for (size_t i = 0; i < r->n_issues; i++) {
		free(r->issues[i].table);
		free(r->issues[i].column);
		free(r->issues[i].kind);
		free(r->issues[i].message);
		free(r->issues[i].suggestion);
	}
	free(r->issues);
	free_strs(r->unmasked, r->n_unmasked);
	free_strs(r->warnings, r->n_warnings);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r->run_id);
	free(r->backup_location);
	free(r->restored_from);
	free(r->resumed_from);
	free(r->source);
	free(r->target);
	free(r);
}

