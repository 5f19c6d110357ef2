/*
 * generate.c -- confiture migrate generate NAME --from-diff: a migration
 * pair from the difference between db/migrations and db/schema.
 *
 * Both are built in scratch databases (at the same time); the .up.sql is the
 * script from the replayed migrations to the built schema, the .down.sql the
 * script back. The files are written by the migrate medium (through
 * cf_migrate_generate), only once every check has passed.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void push_error(cf_generate_result *r, cf_status code, char *message, const char *hint)
{
	r->errors = cf_realloc(r->errors, (r->n_errors + 1) * sizeof(*r->errors));
	cf_error_item *e = &r->errors[r->n_errors++];
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->message = message;
	e->hint = cf_strdup(hint);
}

/* Steps that need --allow-destructive (and refused ones, which nothing allows). */
static size_t blocked_steps(cf_generate_result *r, const cf_diff_result *up, bool allow)
{
	size_t n = 0;
	for (size_t i = 0; i < up->n_changes; i++) {
		const cf_schema_change *c = &up->changes[i];
		bool risky = c->hazard == CF_HAZARD_DESTRUCTIVE ||
		             c->hazard == CF_HAZARD_NON_TRANSACTIONAL;
		if (!c->is_refused && (!risky || allow))
			continue;
		push_error(r, CF_ERR_CHECK,
		           cf_asprintf("%s: %s %s %s%s%s%s", c->is_refused ? "refused"
		                                              : cf_hazard_name(c->hazard),
		                       c->action, c->kind, c->object, c->note ? " (" : "",
		                       c->note ? c->note : "", c->note ? ")" : ""),
		           c->is_refused ? "Write this part of the migration by hand."
		                         : "Review the step, then run again with --allow-destructive.");
		n++;
	}
	return n;
}

static cf_status build_both(cf_ctx *ctx, const cf_generate_opts *opts, cf_generate_result *r)
{
	scratch s;
	side mig = {0}, sch = {0};
	cf_status st = side_resolve(ctx, "migrations", &mig);
	if (!st)
		st = side_resolve(ctx, "schema", &sch);
	bool has_scratch = false;
	if (!st) {
		st = scratch_open(ctx, opts->scratch_url, &s);
		has_scratch = !st;
	}
	if (!st)
		st = side_scratch(&mig, &s, "migrations");
	if (!st)
		st = side_scratch(&sch, &s, "schema");
	sc_filter f;
	check_own own;
	check_filter(ctx, NULL, &f, &own);
	if (!st)
		st = side_prepare_both(ctx, &mig, &sch, &f);
	if (!st) {
		free(mig.label);
		free(sch.label);
		mig.label = cf_strdup("db/migrations");
		sch.label = cf_strdup("db/schema");
		sc_diff *up = sc_diff_new(mig.snap, sch.snap), *down = sc_diff_new(sch.snap, mig.snap);
		r->up = check_diff_result(up, &mig, &sch);
		r->down = check_diff_result(down, &sch, &mig);
		sc_diff_free(up);
		sc_diff_free(down);
	}
	if (has_scratch)
		scratch_close(&s);
	side_release(&mig);
	side_release(&sch);
	return st;
}

static cf_status write_pair(cf_ctx *ctx, const cf_generate_opts *opts, cf_generate_result *r)
{
	char *up = cf_diff_result_script(r->up), *down = cf_diff_result_script(r->down);
	cf_migrate_opts mo = {.name = opts->name, .version = opts->version, .up_sql = up,
	                      .down_sql = down};
	cf_migrate_result *mr = NULL;
	cf_status st = cf_migrate_generate(ctx, &mo, &mr);
	if (!st) {
		r->created = mr->created;
		r->n_created = mr->n_created;
		mr->created = NULL;
		mr->n_created = 0;
	}
	cf_migrate_result_free(mr);
	free(up);
	free(down);
	return st;
}

cf_status cf_migrate_generate_from_diff(cf_ctx *ctx, const cf_generate_opts *opts,
                                        cf_generate_result **out)
{
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	cf_generate_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	cf_status st = CF_OK;
	if (!opts || !opts->name || !*opts->name)
		st = cf_error_set(ctx, CF_ERR_USAGE, "migrate generate needs a NAME");
	if (!st)
		st = build_both(ctx, opts, r);
	if (!st && !r->up->is_equal && !r->up->n_changes) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "nothing to generate, but db/migrations and "
		                  "db/schema differ in objects diff does not compare");
		cf_error_detail(ctx, "%s.", r->up->notes[0]);
		cf_error_hint(ctx, "Write this migration by hand; no file was written.");
	}
	if (!st && r->up->is_equal) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "nothing to generate: db/migrations already give "
		                  "db/schema");
		cf_error_hint(ctx, "Edit db/schema first; no file was written.");
	}
	size_t blocked = 0;
	if (!st && (blocked = blocked_steps(r, r->up, opts->allow_destructive))) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "%zu step%s of the migration %s", blocked,
		                  blocked == 1 ? "" : "s",
		                  r->up->n_refused ? "cannot be generated or need --allow-destructive"
		                                   : "need --allow-destructive");
		cf_buf b;
		cf_buf_init(&b);
		for (size_t i = 0; i < r->n_errors; i++)
			cf_buf_printf(&b, "%s\n", r->errors[i].message);
		cf_error_detail(ctx, "%sDestructive and non-transactional steps are written only when "
		                "asked for. No file was written.", b.data);
		cf_buf_release(&b);
	}
	if (!st)
		st = write_pair(ctx, opts, r);
	if (st && cf_ctx_is_cancelled(ctx) && cf_error_code(ctx) != CF_ERR_CANCELLED) {
		cf_ctx_clear_error(ctx);
		st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
	}
	r->success = !st;
	r->duration_s = cf_now() - t0;
	r->message = st ? cf_strdup(cf_last_error(ctx))
	                : cf_asprintf("generated from the diff: %zu change%s", r->up->n_changes,
	                              r->up->n_changes == 1 ? "" : "s");
	if (st && !r->n_errors) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, ctx);
		r->errors = l.v;
		r->n_errors = l.n;
	}
	return st;
}

void cf_generate_result_free(cf_generate_result *r)
{
	if (!r)
		return;
	cf_diff_result_free(r->up);
	cf_diff_result_free(r->down);
	for (size_t i = 0; i < r->n_created; i++)
		free(r->created[i]);
	free(r->created);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r);
}
