/* diff.c -- cf_diff: compare two schemas, whatever each side is. */
#include "check.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static char **strv_take(cf_strv *sv, size_t *n)
{
	*n = sv->n;
	char **v = sv->v;
	memset(sv, 0, sizeof(*sv));
	return v;
}

cf_diff_result *check_diff_result(sc_diff *d, const side *from, const side *to)
{
	cf_diff_result *r = cf_calloc(1, sizeof(*r));
	r->from = cf_strdup(from->label);
	r->to = cf_strdup(to->label);
	r->changes = d->changes;
	r->n_changes = d->n_changes;
	d->changes = NULL;
	d->n_changes = 0;
	for (size_t i = 0; i < r->n_changes; i++) {
		r->n_by_hazard[r->changes[i].hazard]++;
		r->n_refused += r->changes[i].is_refused;
	}
	r->notes = strv_take(&d->notes, &r->n_notes);
	r->not_compared = strv_take(&d->not_compared, &r->n_not_compared);
	r->is_equal = r->n_changes == 0 && !d->n_unmodeled_differ;
	return r;
}

static char *summary(const cf_diff_result *r)
{
	if (r->is_equal)
		return cf_strdup("no differences");
	if (!r->n_changes)
		return cf_strdup("no change to write, but objects diff does not compare differ");
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "%zu change%s", r->n_changes, r->n_changes == 1 ? "" : "s");
	const char *sep = " (";
	for (int h = 0; h < 5; h++)
		if (r->n_by_hazard[h]) {
			cf_buf_printf(&b, "%s%zu %s", sep, r->n_by_hazard[h], cf_hazard_name((cf_hazard)h));
			sep = ", ";
		}
	if (r->n_refused)
		cf_buf_printf(&b, "%s%zu refused", sep, r->n_refused);
	cf_buf_putc(&b, ')');
	return cf_buf_detach(&b);
}

static bool needs_scratch(const side *s)
{
	return s->kind != SIDE_ENV && s->kind != SIDE_URL;
}

static bool has_schema(const sc_snapshot *s, const char *name)
{
	for (size_t i = 0; i < sc_snapshot_count(s); i++) {
		const sc_obj *o = sc_snapshot_obj(s, i);
		if (o->kind == SC_SCHEMA && o->schema && strcmp(o->schema, name) == 0)
			return true;
	}
	return false;
}

/* A --schema that names no schema of either side is a typo: comparing
 * nothing would say "no differences". */
static cf_status check_schemas_exist(cf_ctx *ctx, const sc_filter *f, const side *a,
                                     const side *b)
{
	for (size_t i = 0; i < f->n_schemas; i++) {
		if (has_schema(a->snap, f->schemas[i]) || has_schema(b->snap, f->schemas[i]))
			continue;
		cf_error_set(ctx, CF_ERR_USAGE, "schema \"%s\" is on neither side", f->schemas[i]);
		cf_error_hint(ctx, "--schema takes a schema's name as the catalog spells it (case "
		              "matters, no quotes).");
		return CF_ERR_USAGE;
	}
	return CF_OK;
}

static cf_status compare(cf_ctx *ctx, const cf_diff_opts *opts, side *a, side *b,
                         cf_diff_result **out)
{
	scratch s = {0};
	bool has_scratch = false;
	cf_status st = side_resolve(ctx, opts->from, a);
	if (!st)
		st = side_resolve(ctx, opts->to, b);
	if (!st && (needs_scratch(a) || needs_scratch(b))) {
		st = scratch_open(ctx, opts->scratch_url, &s);
		has_scratch = !st;
	}
	if (!st)
		st = side_scratch(a, &s, "from");
	if (!st)
		st = side_scratch(b, &s, "to");
	sc_filter f;
	check_own own;
	check_filter(ctx, opts, &f, &own);
	if (!st)
		st = side_prepare_both(ctx, a, b, &f);
	if (!st)
		st = check_schemas_exist(ctx, &f, a, b);
	if (!st) {
		double t0 = cf_now();
		sc_diff *d = sc_diff_new(a->snap, b->snap);
		cf_log_debug(ctx, "compared %zu and %zu objects in %.3f s", sc_snapshot_count(a->snap),
		             sc_snapshot_count(b->snap), cf_now() - t0);
		*out = check_diff_result(d, a, b);
		sc_diff_free(d);
	}
	if (has_scratch)
		scratch_close(&s);
	return st;
}

cf_status cf_diff(cf_ctx *ctx, const cf_diff_opts *opts, cf_diff_result **out)
{
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	*out = NULL;
	side a = {0}, b = {0};
	cf_status st = CF_OK;
	if (!opts || !opts->from || !opts->to || !*opts->from || !*opts->to) {
		st = cf_error_set(ctx, CF_ERR_USAGE, "diff needs --from and --to");
		cf_error_hint(ctx, "Each is an environment, a URL, \"schema\", \"migrations\" or a "
		                   "path, e.g. confiture diff --from production --to migrations.");
	} else {
		st = compare(ctx, opts, &a, &b, out);
	}
	if (st && cf_ctx_is_cancelled(ctx) && cf_error_code(ctx) != CF_ERR_CANCELLED) {
		cf_ctx_clear_error(ctx);
		st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
	}
	cf_diff_result *r = *out ? *out : cf_calloc(1, sizeof(*r));
	if (!*out) {
		r->from = cf_strdup(a.label ? a.label : opts && opts->from ? opts->from : "");
		r->to = cf_strdup(b.label ? b.label : opts && opts->to ? opts->to : "");
	}
	r->duration_s = cf_now() - t0;
	r->success = !st;
	r->message = st ? cf_strdup(cf_last_error(ctx)) : summary(r);
	if (st) {
		/* Every file that failed to build, else the error itself. */
		cf_errlist l = {0};
		side *sides[2] = {&a, &b};
		for (int k = 0; k < 2; k++) {
			l.v = cf_realloc(l.v, (l.n + sides[k]->errors.n + 1) * sizeof(*l.v));
			if (sides[k]->errors.n)
				memcpy(l.v + l.n, sides[k]->errors.v, sides[k]->errors.n * sizeof(*l.v));
			l.n += sides[k]->errors.n;
			l.cap = l.n;
			free(sides[k]->errors.v);
			memset(&sides[k]->errors, 0, sizeof(sides[k]->errors));
		}
		if (!l.n)
			cf_errlist_push_ctx(&l, ctx);
		r->errors = l.v;
		r->n_errors = l.n;
	}
	side_release(&a);
	side_release(&b);
	if (!st && !r->is_equal)
		st = CF_ERR_CHECK;
	*out = r;
	return st;
}

void cf_diff_result_free(cf_diff_result *r)
{
	if (!r)
		return;
	sc_diff d = {.changes = r->changes, .n_changes = r->n_changes};
	cf_strv_init(&d.notes);
	cf_strv_init(&d.not_compared);
	d.notes.v = r->notes;
	d.notes.n = d.notes.cap = r->n_notes;
	d.not_compared.v = r->not_compared;
	d.not_compared.n = d.not_compared.cap = r->n_not_compared;
	sc_diff *heap = cf_malloc(sizeof(*heap));
	*heap = d;
	sc_diff_free(heap);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r->from);
	free(r->to);
	free(r);
}

char *cf_diff_result_script(const cf_diff_result *r)
{
	return sc_diff_script(r->changes, r->n_changes, r->from, r->to, r->notes, r->n_notes);
}
