/*
 * check.c -- cf_check, the CI gate: every step runs and reports, whatever
 * failed before it, unless it needs what failed (the drift needs both a
 * build and a replay).
 *
 *   parse      every DDL and migration file parses (no database)
 *   build      db/schema builds, in a scratch database
 *   replay     db/migrations replay from empty, in another (with build)
 *   drift      the replay equals the build, else the SQL between them
 *   downs      each down undoes its up (downs.c), with opts->downs
 *   checksums  the applied migrations' checksums, with opts->checksums
 *   lint       the pending migrations' lint (when the lint layer lands)
 */
#include "check_run.h"
#include "ctx.h"
#include "fs.h"
#include "sqlparse.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Steps ----------------------------------------------------------------------- */

cf_check_step *step_begin(checker *k, const char *name, const char *title)
{
	cf_check_result *r = k->r;
	r->steps = cf_realloc(r->steps, (r->n_steps + 1) * sizeof(*r->steps));
	cf_check_step *s = &r->steps[r->n_steps++];
	memset(s, 0, sizeof(*s));
	s->name = cf_strdup(name);
	s->title = cf_strdup(title);
	s->status = "passed";
	k->t_step = cf_now();
	return s;
}

void step_error(cf_check_step *s, const cf_error_item *e)
{
	s->errors = cf_realloc(s->errors, (s->n_errors + 1) * sizeof(*s->errors));
	cf_error_item *it = &s->errors[s->n_errors++];
	*it = *e;
	it->message = cf_strdup(e->message);
	it->detail = cf_strdup(e->detail);
	it->hint = cf_strdup(e->hint);
	it->file = cf_strdup(e->file);
	it->sqlstate = cf_strdup(e->sqlstate);
}

void step_error_ctx(cf_check_step *s, cf_ctx *ctx)
{
	cf_errlist l = {0};
	cf_errlist_push_ctx(&l, ctx);
	for (size_t i = 0; i < l.n; i++)
		step_error(s, &l.v[i]);
	cf_errlist_release(&l);
	cf_ctx_clear_error(ctx);
}

void step_end(checker *k, cf_check_step *s, const char *status, const char *fmt, ...)
{
	s->status = status;
	va_list ap;
	va_start(ap, fmt);
	s->message = cf_vasprintf(fmt, ap);
	va_end(ap);
	s->duration_s = cf_now() - k->t_step;
	if (strcmp(status, "failed") == 0)
		k->r->n_failed++;
}

/* ---- parse ------------------------------------------------------------------------ */

static cf_check_migration *migration_add(cf_check_result *r, const cf_migration *m)
{
	r->migrations = cf_realloc(r->migrations, (r->n_migrations + 1) * sizeof(*r->migrations));
	cf_check_migration *c = &r->migrations[r->n_migrations++];
	memset(c, 0, sizeof(*c));
	c->version = cf_strdup(m->version);
	c->name = cf_strdup(m->name);
	c->file = cf_strdup(m->file);
	c->down_file = cf_strdup(m->down_file);
	c->replay = "skipped";
	c->down = "skipped";
	return c;
}

static void parse_file(checker *k, cf_check_step *s, const char *rel)
{
	char *abs = cf_path_join(k->ctx->project_dir, rel), *text = NULL;
	size_t len = 0;
	cf_script *script = NULL;
	cf_status st = cf_file_read(k->ctx, abs, &text, &len);
	if (!st)
		st = cf_script_parse(k->ctx, rel, text, len, &script);
	if (st)
		step_error_ctx(s, k->ctx);
	cf_script_free(script);
	free(text);
	free(abs);
}

/* The migrations, from the files alone. */
static void list_migrations(checker *k, cf_ctx *child)
{
	const char *dir = child->cfg->migration.dir ? child->cfg->migration.dir : "db/migrations";
	char *abs = cf_path_join(child->project_dir, dir);
	k->has_migrations = cf_is_dir(abs);
	free(abs);
	if (!k->has_migrations)
		return;
	cf_migrate_opts o = {.offline = true};
	cf_migrate_result *m = NULL;
	if (cf_migrate_status(child, &o, &m) == CF_OK)
		for (size_t i = 0; i < m->n_migrations; i++)
			if (m->migrations[i].file)
				migration_add(k->r, &m->migrations[i]);
	cf_migrate_result_free(m);
	cf_ctx_clear_error(child);
	/* A project that has not started its migrations has nothing to replay. */
	k->has_migrations = k->r->n_migrations > 0;
}

static void step_parse(checker *k, cf_ctx *child)
{
	cf_check_step *s = step_begin(k, "parse", "every DDL and migration file parses");
	cf_build_options o = {.is_no_output = true};
	cf_build_result *b = NULL;
	cf_status st = cf_build(child, &o, &b);
	k->n_schema_files = b ? b->n_schema_files : 0;
	if (b)
		check_relative_files(k->ctx, b->errors, b->n_errors);
	for (size_t i = 0; st && b && i < b->n_errors; i++)
		if (b->n_files)
			step_error(s, &b->errors[i]);
	k->schema_parses = !st;
	cf_build_result_free(b);
	cf_ctx_clear_error(child);
	list_migrations(k, child);
	size_t files = k->n_schema_files;
	for (size_t i = 0; i < k->r->n_migrations; i++) {
		const cf_check_migration *m = &k->r->migrations[i];
		parse_file(k, s, m->file);
		files++;
		if (m->down_file) {
			parse_file(k, s, m->down_file);
			files++;
		}
	}
	if (s->n_errors)
		step_end(k, s, "failed", "%zu of %zu files do not parse", s->n_errors, files);
	else
		step_end(k, s, "passed", "%zu file%s parse%s", files, files == 1 ? "" : "s",
		         files == 1 ? "s" : "");
}

/* ---- build, replay, drift -------------------------------------------------------- */

static void side_errors(cf_check_step *s, side *sd, cf_ctx *ctx)
{
	for (size_t i = 0; i < sd->errors.n; i++)
		step_error(s, &sd->errors.v[i]);
	if (!sd->errors.n)
		step_error_ctx(s, ctx);
}

static cf_check_migration *migration_of_file(checker *k, const char *file)
{
	for (size_t j = 0; file && j < k->r->n_migrations; j++) {
		cf_check_migration *c = &k->r->migrations[j];
		if (strcmp(c->file, file) == 0 || (c->down_file && strcmp(c->down_file, file) == 0))
			return c;
	}
	return NULL;
}

/* What the replay did to each migration: applied, failed (the one its error
 * names, even when the run stopped before applying anything), or not run. */
static void replay_results(checker *k, const cf_migrate_result *m)
{
	for (size_t i = 0; m && i < m->n_migrations; i++) {
		const cf_migration *e = &m->migrations[i];
		cf_check_migration *c = migration_of_file(k, e->file);
		if (!c)
			continue;
		c->replay = strcmp(e->status, "failed") == 0 ? "failed" : "passed";
		c->duration_s = e->execution_time_ms >= 0 ? e->execution_time_ms / 1000.0 : 0;
	}
	for (size_t i = 0; m && i < m->n_errors; i++) {
		cf_check_migration *c = migration_of_file(k, m->errors[i].file);
		if (c && !c->message) {
			c->replay = "failed";
			c->message = cf_strdup(m->errors[i].message);
		}
	}
}

/* FILE (relative to the working directory) as relative to the project. */
static char *project_path(cf_ctx *ctx, const char *file)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return cf_strdup(file);
	char *abs = cf_path_join(cwd, file);
	char *rel = cf_path_relative(ctx->project_dir, abs);
	free(abs);
	return rel;
}

/* Build and lint messages name files from the working directory: from the project. */
void check_relative_files(cf_ctx *ctx, cf_error_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].file)
			continue;
		char *rel = project_path(ctx, v[i].file);
		free(v[i].file);
		v[i].file = rel;
	}
}

static void step_build(checker *k)
{
	cf_check_step *s = step_begin(k, "build", "db/schema builds");
	if (!k->n_schema_files)
		step_end(k, s, "skipped", "no DDL files in the build's include_dirs");
	else if (!k->schema_parses)
		step_end(k, s, "skipped", "the DDL does not parse");
	else if (k->schema.st && !k->schema.is_built) {
		side_errors(s, &k->schema, k->ctx);
		step_end(k, s, "failed", "db/schema does not build");
	} else
		step_end(k, s, "passed", "%zu file%s built", k->n_schema_files,
		         k->n_schema_files == 1 ? "" : "s");
	s->duration_s = k->t_build;
}

static void step_replay(checker *k)
{
	cf_check_step *s = step_begin(k, "replay", "the migrations replay from empty");
	replay_results(k, k->mig.replay);
	if (!k->has_migrations)
		step_end(k, s, "skipped", "no migrations");
	else if (k->mig.st && !k->mig.is_built) {
		side_errors(s, &k->mig, k->ctx);
		step_end(k, s, "failed", "a migration fails on an empty database");
	} else
		step_end(k, s, "passed", "%zu migration%s replay%s", k->r->n_migrations,
		         k->r->n_migrations == 1 ? "" : "s", k->r->n_migrations == 1 ? "s" : "");
	s->duration_s = k->t_build;
}

static void step_drift(checker *k)
{
	cf_check_step *s = step_begin(k, "drift", "the migrations give db/schema");
	if (!k->has_migrations && k->n_schema_files) {
		step_end(k, s, "skipped", "no migrations yet: confiture migrate generate NAME "
		         "--from-diff writes the first from db/schema");
		return;
	}
	if (!k->schema.snap || !k->mig.snap || !k->n_schema_files) {
		if ((k->schema.st && k->schema.is_built) || (k->mig.st && k->mig.is_built))
			step_error_ctx(s, k->ctx); /* the snapshot failed */
		step_end(k, s, s->n_errors ? "failed" : "skipped",
		         "needs both a built db/schema and replayed migrations");
		return;
	}
	sc_diff *d = sc_diff_new(k->mig.snap, k->schema.snap);
	for (size_t i = 0; i < d->n_changes; i++) {
		const cf_schema_change *c = &d->changes[i];
		char *msg = strcmp(c->action, "create") == 0
		                ? cf_asprintf("the migrations lack %s %s", c->kind, c->object)
		            : strcmp(c->action, "drop") == 0
		                ? cf_asprintf("the migrations create %s %s, which db/schema does not "
		                              "have", c->kind, c->object)
		                : cf_asprintf("%s %s differs between the migrations and db/schema",
		                              c->kind, c->object);
		cf_error_item e = {.code = CF_ERR_CHECK, .message = msg};
		step_error(s, &e);
		free(msg);
	}
	for (size_t i = 0; i < d->n_unmodeled_differ; i++) {
		cf_error_item e = {.code = CF_ERR_CHECK, .message = d->notes.v[i]};
		step_error(s, &e);
	}
	if (!d->n_changes && d->n_unmodeled_differ) {
		step_end(k, s, "failed", "objects diff does not compare differ between the migrations "
		         "and db/schema");
	} else if (d->n_changes) {
		s->sql = sc_diff_script(d->changes, d->n_changes, "db/migrations", "db/schema",
		                        d->notes.v, d->notes.n);
		step_end(k, s, "failed", "%zu difference%s between the migrations and db/schema; "
		         "the SQL for a new migration follows", d->n_changes,
		         d->n_changes == 1 ? "" : "s");
	} else {
		step_end(k, s, "passed", "the migrations give db/schema");
	}
	sc_diff_free(d);
}

/* Builds db/schema and replays the migrations at once, each with its snapshot.
 * A scratch database that cannot be created fails check itself (exit 3, like
 * an unreachable scratch server), not a step: nothing was checked. */
static cf_status build_and_replay(checker *k)
{
	bool want_schema = k->n_schema_files && k->schema_parses;
	side_resolve(k->ctx, "schema", &k->schema);
	side_resolve(k->ctx, "migrations", &k->mig);
	cf_status st = CF_OK;
	if (want_schema)
		st = side_scratch(&k->schema, &k->s, "schema");
	if (!st && k->has_migrations)
		st = side_scratch(&k->mig, &k->s, "migrations");
	if (st)
		return st;
	sc_filter f;
	check_own own;
	check_filter(k->ctx, NULL, &f, &own);
	if (want_schema && k->has_migrations)
		side_prepare_both(k->ctx, &k->schema, &k->mig, &f);
	else if (want_schema)
		side_prepare(k->ctx, &k->schema, &f);
	else if (k->has_migrations)
		side_prepare(k->ctx, &k->mig, &f);
	return CF_OK;
}

/* ---- checksums, lint ------------------------------------------------------------------ */

static void step_checksums(checker *k)
{
	cf_check_step *s = step_begin(k, "checksums", "applied migrations match their files");
	cf_ctx *child = NULL;
	cf_migrate_result *m = NULL;
	cf_status st = scratch_child(k->ctx, NULL, &child);
	if (!st)
		st = cf_verify_checksums(child, NULL, &m);
	for (size_t i = 0; m && i < m->n_migrations; i++) {
		const cf_migration *e = &m->migrations[i];
		if (strcmp(e->status, "checksum_mismatch") != 0)
			continue;
		char *msg = cf_asprintf("migration \"%s_%s\" changed after it was applied", e->version,
		                        e->name);
		cf_error_item it = {.code = CF_ERR_CHECK, .message = msg, .file = e->file};
		step_error(s, &it);
		free(msg);
	}
	if (st && !s->n_errors) {
		if (child)
			cf_error_copy(k->ctx, child);
		step_error_ctx(s, k->ctx);
	}
	if (s->n_errors)
		step_end(k, s, "failed", "%s", m && m->message ? m->message : s->errors[0].message);
	else
		step_end(k, s, "passed", "%s", m && m->message ? m->message : "checksums match");
	cf_migrate_result_free(m);
	scratch_child_free(k->ctx, child);
	cf_ctx_clear_error(k->ctx);
}

/* Lint's error findings fail the step; warnings and notes are reported in
 * the result (check prints them) without failing it. */
static void step_lint(checker *k, const cf_check_opts *opts)
{
	cf_check_step *s = step_begin(k, "lint", "the pending migrations pass lint");
	if (!k->r->n_migrations) {
		step_end(k, s, "skipped", "no migrations");
		return;
	}
	cf_ctx *child = NULL;
	cf_status st = scratch_child(k->ctx, NULL, &child);
	/* Pending where -e points (read only), else every migration. */
	cf_lint_opts lo = {.is_offline = !opts->checksums, .assume_in_transaction = -1};
	if (!st)
		st = cf_lint(child, &lo, &k->r->lint);
	cf_lint_result *r = k->r->lint;
	for (size_t i = 0; r && i < r->n_findings; i++) {
		cf_lint_finding *f = &r->findings[i];
		if (f->file) {
			char *rel = project_path(k->ctx, f->file);
			free(f->file);
			f->file = rel;
		}
		if (f->severity != CF_LINT_ERROR)
			continue;
		char *msg = cf_asprintf("%s: %s", f->rule, f->message);
		cf_error_item e = {.code = CF_ERR_CHECK, .message = msg, .file = f->file,
		                   .line = f->line, .column = f->column, .hint = (char *)f->help};
		step_error(s, &e);
		free(msg);
	}
	if (st && st != CF_ERR_CHECK) {
		cf_error_copy(k->ctx, child);
		step_error_ctx(s, k->ctx);
	}
	cf_ctx_clear_error(k->ctx);
	scratch_child_free(k->ctx, child);
	if (s->n_errors)
		step_end(k, s, "failed", "%s", r && r->message ? r->message : s->errors[0].message);
	else
		step_end(k, s, "passed", "%s", r && r->message ? r->message : "no finding");
}

/* ---- The gate ---------------------------------------------------------------------------- */

static cf_status run_steps(checker *k, const cf_check_opts *opts)
{
	cf_ctx *child = NULL;
	cf_status st = scratch_child(k->ctx, NULL, &child);
	if (st)
		return st;
	step_parse(k, child);
	scratch_child_free(k->ctx, child);
	if ((k->n_schema_files && k->schema_parses) || k->has_migrations || opts->downs) {
		st = scratch_open(k->ctx, opts->scratch_url, &k->s);
		if (st)
			return st;
		k->has_scratch = true;
		double t0 = cf_now();
		st = build_and_replay(k);
		k->t_build = cf_now() - t0;
		if (st)
			return st;
	}
	if (cf_ctx_is_cancelled(k->ctx))
		return CF_ERR_CANCELLED;
	step_build(k);
	step_replay(k);
	step_drift(k);
	if (opts->downs)
		step_downs(k);
	if (cf_ctx_is_cancelled(k->ctx))
		return CF_ERR_CANCELLED;
	if (opts->checksums)
		step_checksums(k);
	step_lint(k, opts);
	return CF_OK;
}

static char *summary(const cf_check_result *r)
{
	size_t skipped = 0;
	for (size_t i = 0; i < r->n_steps; i++)
		skipped += strcmp(r->steps[i].status, "skipped") == 0;
	if (r->n_failed)
		return cf_asprintf("%zu of %zu checks failed", r->n_failed, r->n_steps - skipped);
	return skipped ? cf_asprintf("all checks passed (%zu skipped)", skipped)
	               : cf_strdup("all checks passed");
}

cf_status cf_check(cf_ctx *ctx, const cf_check_opts *opts, cf_check_result **out)
{
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	cf_check_opts none = {0};
	opts = opts ? opts : &none;
	checker k = {.ctx = ctx, .r = cf_calloc(1, sizeof(cf_check_result))};
	*out = k.r;
	cf_status st = run_steps(&k, opts);
	if (k.has_scratch) {
		k.r->scratch = cf_strdup(k.s.display);
		scratch_close(&k.s);
	}
	side_release(&k.schema);
	side_release(&k.mig);
	if (cf_ctx_is_cancelled(ctx)) {
		cf_ctx_clear_error(ctx);
		st = cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
		cf_error_detail(ctx, "The scratch databases were dropped.");
	}
	if (!st)
		cf_ctx_clear_error(ctx); /* each failure is in its step */
	k.r->duration_s = cf_now() - t0;
	k.r->success = !st && !k.r->n_failed;
	if (st)
		k.r->message = cf_strdup(cf_last_error(ctx));
	else
		k.r->message = summary(k.r);
	return st ? st : k.r->n_failed ? CF_ERR_CHECK : CF_OK;
}

void cf_check_result_free(cf_check_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_steps; i++) {
		cf_check_step *s = &r->steps[i];
		free(s->name);
		free(s->title);
		free(s->message);
		free(s->sql);
		for (size_t e = 0; e < s->n_errors; e++)
			cf_error_item_release(&s->errors[e]);
		free(s->errors);
	}
	free(r->steps);
	for (size_t i = 0; i < r->n_migrations; i++) {
		cf_check_migration *m = &r->migrations[i];
		free(m->version);
		free(m->name);
		free(m->file);
		free(m->down_file);
		free(m->message);
		free(m->sql);
	}
	free(r->migrations);
	cf_lint_result_free(r->lint);
	free(r->message);
	free(r->scratch);
	free(r);
}
