/*
 * build.c -- cf_build and cf_seed_apply: the phases, hooks, progress and
 * results of `confiture build` and `confiture seed apply`.
 *
 *   before_build -> discover -> read + parse -> hash
 *     -> [--apply: prepare the database, run the files]
 *     -> write the output file -> after_build
 *
 * Nothing touches a database before every file has parsed, and the output
 * file is written only once everything else succeeded.
 */
#include "build_internal.h"
#include "config.h"
#include "ctx.h"
#include "fs.h"
#include "hooks.h"
#include "log.h"
#include "progress.h"
#include "protect.h"
#include "secret.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Checks ---------------------------------------------------------------- */

static cf_status need_project(cf_ctx *ctx)
{
	if (!ctx->project_dir || !ctx->env)
		return cf_error_set(ctx, CF_ERR_USAGE, "no project loaded (call cf_ctx_load first)");
	const char *style = ctx->cfg->build.separator_style;
	if (style && strcmp(style, "custom") == 0 && !ctx->cfg->build.separator_template) {
		cf_error_set(ctx, CF_ERR_CONFIG, "build.separators.style is \"custom\" but "
		             "build.separators.custom_template is not set");
		cf_error_hint(ctx, "Set custom_template, e.g. \"-- File: {file_path}\".");
		return CF_ERR_CONFIG;
	}
	return CF_OK;
}

/* "{env}" in build.output is the environment's name. */
static char *expand_env(const char *path, const char *env)
{
	cf_buf b;
	cf_buf_init(&b);
	for (const char *p = path; *p; p++) {
		if (strncmp(p, "{env}", 5) == 0) {
			cf_buf_puts(&b, env);
			p += 4;
		} else {
			cf_buf_putc(&b, *p);
		}
	}
	return b.data;
}

static char *output_path(const cf_ctx *ctx, const cf_build_options *o)
{
	char *raw;
	if (o->output) {
		char cwd[PATH_MAX];
		raw = o->output[0] == '/' || !getcwd(cwd, sizeof(cwd)) ? cf_strdup(o->output)
		                                                      : cf_path_join(cwd, o->output);
	} else if (ctx->cfg->build.output) {
		char *e = expand_env(ctx->cfg->build.output, ctx->env);
		raw = cf_path_join(ctx->project_dir, e);
		free(e);
	} else {
		char *rel = cf_asprintf("db/generated/schema_%s.sql", ctx->env);
		raw = cf_path_join(ctx->project_dir, rel);
		free(rel);
	}
	char *norm = bpath_normalize(raw);
	free(raw);
	return norm;
}

/* ---- Hooks ------------------------------------------------------------------ */

static cf_status fire(cf_ctx *ctx, const char *event, double t0, cf_pg *pg)
{
	cf_hook_fire f = CF_HOOK_FIRE_INIT(event);
	if (strcmp(event, "after_build") == 0) {
		f.success = 1;
		f.elapsed_ms = (long long)((cf_now() - t0) * 1000);
	}
	f.pg = pg && !cf_pg_is_bad(pg) && !cf_pg_in_transaction(pg) ? pg : NULL;
	return cf_hooks_fire(ctx, &f);
}

/* ---- Applying ------------------------------------------------------------------ */

typedef struct run {
	cf_ctx *ctx;
	const cf_build_options *o;
	bset *s;
	const char *hash;
	cf_build_result *r;
	bapply_stats stats;
	cf_pg *pg;           /* the built database, kept for after_build (plain --apply) */
	bcache *cache;
	bool is_read;        /* the files' content is loaded (and the hash computed from it) */
	bool has_scripts;    /* every file is parsed */
	cf_prog *prog;       /* progress: files are items, statements units */
	bool is_load_error;  /* the failure is a file that could not be read or parsed */
} run;

/*
 * Reads the files (once) and parses them (all of them with NEED_SCRIPTS;
 * else those the cache does not know), then hashes the content. Nothing
 * reaches a database before this succeeded with NEED_SCRIPTS.
 */
static cf_status ensure_loaded(run *R, bool need_scripts)
{
	if (R->is_read && (R->has_scripts || !need_scripts))
		return CF_OK;
	cf_build_result *r = R->r;
	double t = cf_now();
	cf_status st = bload(R->ctx, R->s, need_scripts, R->cache, R->prog);
	r->timings.load_s += cf_now() - t;
	if (st) {
		R->is_load_error = st != CF_ERR_CANCELLED;
		return st;
	}
	R->has_scripts = R->has_scripts || need_scripts;
	if (!R->is_read) {
		t = cf_now();
		char hash[CF_SHA256_HEX_LEN + 1];
		bhash(R->s, hash);
		free(r->hash);
		r->hash = cf_strdup(hash);
		R->hash = r->hash;
		r->timings.hash_s = cf_now() - t;
		R->is_read = true;
	}
	return CF_OK;
}

static bapply_opts apply_opts(const cf_ctx *ctx)
{
	const cf_config *cfg = ctx->cfg;
	return (bapply_opts){
		.is_transaction = cfg->build.transaction,
		.is_sequential = cfg->seed.execution_mode &&
		                 strcmp(cfg->seed.execution_mode, "sequential") == 0,
		.is_continue = cfg->seed.continue_on_error,
		.sql_error = CF_ERR_SCHEMA,
		.phase_schema = "applying",
		.phase_seeds = "seeding",
	};
}

static cf_status run_files(run *R, cf_pg *pg)
{
	bapply_opts ao = apply_opts(R->ctx);
	ao.prog = R->prog;
	cf_status st = bapply(R->ctx, pg, R->s, &ao, &R->stats);
	R->r->timings.apply_s = R->stats.apply_s;
	R->r->timings.seeds_s = R->stats.seeds_s;
	return st;
}

/* An object that already exists, on a database that was not re-created. */
static void already_exists_hint(cf_ctx *ctx)
{
	static const char *const states[] = {"42P07", "42710", "42723", "42P06", NULL};
	const cf_error_info *e = cf_last_error_info(ctx);
	if (!e || !e->sqlstate || e->hint)
		return;
	for (size_t i = 0; states[i]; i++)
		if (strcmp(e->sqlstate, states[i]) == 0) {
			cf_error_hint(ctx, "The database is not empty. Add --recreate to build it from "
			                   "scratch, or use migrations to change an existing database.");
			return;
		}
}

static cf_status apply_plain(run *R)
{
	double t0 = cf_now();
	cf_status st = cf_pg_connect_env(R->ctx, &R->pg);
	R->r->timings.prepare_s = cf_now() - t0;
	if (st)
		return st;
	R->r->database = cf_strdup(cf_pg_dbname(R->pg));
	st = run_files(R, R->pg);
	if (st == CF_ERR_SCHEMA)
		already_exists_hint(R->ctx);
	return st;
}

static cf_status apply_recreate(run *R, btarget *t, cf_pg *admin)
{
	double t0 = cf_now();
	cf_status st = bdb_recreate(R->ctx, admin, t->dbname, NULL);
	if (!st)
		st = cf_pg_connect(R->ctx, t->conninfo, &R->pg);
	R->r->timings.prepare_s = cf_now() - t0;
	if (st)
		return st;
	R->r->is_recreated = true;
	return run_files(R, R->pg);
}

/* Builds the template NAME from scratch. On failure it is dropped again. */
static cf_status build_template(run *R, btarget *t, cf_pg *admin, const char *name)
{
	cf_ctx *ctx = R->ctx;
	cf_log_info(ctx, "building template \"%s\"", name);
	/* Drops first: a leftover of an interrupted build is never trusted. */
	cf_status st = bdb_recreate(ctx, admin, name, NULL);
	if (st)
		return st;
	char *conninfo = cf_dsn_with_dbname(t->conninfo, name);
	cf_pg *pg = NULL;
	st = cf_pg_connect(ctx, conninfo, &pg);
	cf_secret_free(conninfo);
	if (!st)
		st = run_files(R, pg);
	cf_pg_close(pg);
	if (!st)
		st = btemplate_seal(ctx, admin, name, t->dbname);
	if (st && !cf_pg_is_bad(admin)) {
		cf_err_stash stash;
		cf_error_stash(ctx, &stash);
		bdb_drop(ctx, admin, name);
		cf_ctx_clear_error(ctx);
		cf_error_unstash(ctx, &stash);
	}
	return st;
}

/* Is there a finished template for the current hash? Names it in the result. */
static cf_status find_template(run *R, btarget *t, cf_pg *admin, bool *valid)
{
	free(R->r->template_name);
	R->r->template_name = btemplate_name(R->hash, t->dbname);
	return btemplate_valid(R->ctx, admin, R->r->template_name, valid);
}

/*
 * With an unchanged tree the hash comes from the build cache, and a clone
 * needs no file at all. Otherwise (or when the template is missing) the
 * files are read and parsed first, and the hash is the one of their content.
 */
static cf_status apply_template(run *R, btarget *t, cf_pg *admin)
{
	cf_ctx *ctx = R->ctx;
	cf_build_result *r = R->r;
	double t0 = cf_now(), load0 = r->timings.load_s + r->timings.hash_s;
	bool valid = false;
	cf_status st = find_template(R, t, admin, &valid);
	if (!st && !valid && !R->has_scripts) {
		char *before = cf_strdup(R->hash);
		st = ensure_loaded(R, true);
		if (!st && strcmp(before, R->hash) != 0)
			st = find_template(R, t, admin, &valid); /* the tree changed meanwhile */
		free(before);
	}
	if (!st && !valid) {
		st = build_template(R, t, admin, r->template_name);
	} else if (!st) {
		r->is_cloned = true;
		cf_log_info(ctx, "schema unchanged: cloning template \"%s\"", r->template_name);
	}
	if (!st)
		st = bdb_recreate(ctx, admin, t->dbname, r->template_name);
	if (!st) {
		r->is_recreated = true;
		st = btemplate_drop_stale(ctx, admin, t->dbname, r->template_name,
		                          &r->n_templates_dropped);
	}
	/* Preparing is what is left once loading and the files' own run are out. */
	r->timings.prepare_s = cf_now() - t0 - r->timings.apply_s - r->timings.seeds_s -
	                       (r->timings.load_s + r->timings.hash_s - load0);
	return st;
}

static cf_status apply_build(run *R)
{
	cf_ctx *ctx = R->ctx;
	if (!R->o->is_recreate && !R->o->is_template)
		return apply_plain(R);
	btarget t;
	cf_pg *admin = NULL;
	cf_status st = btarget_init(ctx, &t);
	if (!st)
		st = cf_pg_connect(ctx, t.admin, &admin);
	if (!st)
		st = bcheck_protected_server(ctx, &t, admin,
		                             R->o->is_template ? "re-create the database from a template"
		                                               : "re-create the database");
	if (!st) {
		R->r->database = cf_strdup(t.dbname);
		st = R->o->is_template ? apply_template(R, &t, admin) : apply_recreate(R, &t, admin);
	}
	cf_pg_close(admin);
	btarget_release(&t);
	return st;
}

/* ---- The output file ------------------------------------------------------------ */

static cf_status write_output(run *R)
{
	cf_ctx *ctx = R->ctx;
	const bset *s = R->s;
	cf_build_result *r = R->r;
	double t0 = cf_now();
	char key[BKEY_HEX_LEN + 1];
	boutput_key(ctx, s, R->hash, key);
	cf_status st = CF_OK;
	if (bcache_output_fresh(R->cache, r->output_path, key)) {
		cf_log_debug(ctx, "\"%s\" is up to date", r->output_path);
	} else if (!(st = ensure_loaded(R, false))) {
		cf_prog_phase(R->prog, "writing the schema file", -1);
		boutput_key(ctx, s, R->hash, key); /* the hash of what was read */
		double tw = cf_now();
		char ts[64];
		btimestamp(ts, sizeof(ts));
		cf_buf b;
		cf_buf_init(&b);
		boutput_render(ctx, s, R->hash, ts, &b);
		st = cf_file_write_atomic(ctx, r->output_path, b.data, b.len);
		cf_buf_release(&b);
		r->is_output_written = st == CF_OK;
		t0 = tw; /* reading, if it happened here, is load_s */
	}
	if (!st)
		bcache_save(ctx, R->cache, s, R->hash, r->output_path, key);
	r->timings.write_s = cf_now() - t0;
	return st;
}

/* ---- Results ---------------------------------------------------------------------- */

static void fill_files(cf_build_result *r, const bset *s)
{
	r->files = cf_calloc(s->n + 1, sizeof(cf_build_file));
	r->n_files = s->n;
	for (size_t i = 0; i < s->n; i++) {
		const bfile *f = &s->v[i];
		r->files[i] = (cf_build_file){
			.path = cf_strdup(f->path),
			.relpath = cf_strdup(f->relpath),
			.bytes = f->text ? f->len : (size_t)f->size,
			.n_statements = f->n_stmts,
			.is_seed = f->is_seed,
			.is_parsed = f->script != NULL,
		};
		r->bytes += f->text ? f->len : (size_t)f->size;
		r->n_parsed += f->script != NULL;
		if (!r->is_applied)
			r->n_statements += f->n_stmts;
	}
	r->n_seed_files = s->n_seeds;
	r->n_schema_files = s->n - s->n_seeds;
}

static void fill_errors(cf_build_result *r, const cf_ctx *ctx, const bset *s, bool from_load)
{
	cf_errlist l = {0};
	if (from_load) {
		for (size_t i = 0; i < s->n; i++) {
			const cf_error_item *e = &s->v[i].err;
			if (!e->message)
				continue;
			if (l.n == l.cap) {
				l.cap = l.cap ? l.cap * 2 : 4;
				l.v = cf_realloc(l.v, l.cap * sizeof(cf_error_item));
			}
			l.v[l.n++] = (cf_error_item){e->code, cf_strdup(e->message), cf_strdup(e->detail),
			                             cf_strdup(e->hint), cf_strdup(e->file), e->line,
			                             e->column, cf_strdup(e->sqlstate)};
		}
	} else {
		cf_errlist_push_ctx(&l, ctx);
	}
	r->errors = l.v;
	r->n_errors = l.n;
}

static char *human_bytes(size_t n)
{
	if (n >= 1024 * 1024)
		return cf_asprintf("%.1f MB", (double)n / (1024.0 * 1024.0));
	if (n >= 1024)
		return cf_asprintf("%.1f kB", (double)n / 1024.0);
	return cf_asprintf("%zu bytes", n);
}

static void fill_message(cf_build_result *r)
{
	char cwd[PATH_MAX];
	char *shown = r->output_path && getcwd(cwd, sizeof(cwd))
	                  ? cf_path_relative(cwd, r->output_path)
	                  : cf_strdup(r->output_path);
	size_t n_stmts = r->n_statements;
	if (r->is_cloned)
		for (size_t i = 0; i < r->n_files; i++)
			n_stmts += r->files[i].n_statements;
	char *size = human_bytes(r->bytes);
	char *what = cf_asprintf("%zu file%s (%s, %zu statement%s)", r->n_files,
	                         r->n_files == 1 ? "" : "s", size, n_stmts, n_stmts == 1 ? "" : "s");
	if (r->is_cloned)
		r->message = cf_asprintf("database \"%s\" cloned from template \"%s\" (schema "
		                         "unchanged, %s)", r->database, r->template_name, what);
	else if (r->is_applied)
		r->message = cf_asprintf("built database \"%s\" from %s", r->database, what);
	else if (r->output_path)
		r->message = cf_asprintf("%s %s from %s", r->is_output_written ? "wrote" : "up to date:",
		                         shown, what);
	else
		r->message = cf_asprintf("checked %s", what);
	free(what);
	free(size);
	free(shown);
}

void cf_build_result_free(cf_build_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++) {
		free(r->files[i].path);
		free(r->files[i].relpath);
	}
	free(r->files);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r->env);
	free(r->hash);
	free(r->output_path);
	free(r->database);
	free(r->template_name);
	free(r);
}

/* ---- cf_build ------------------------------------------------------------------------ */

static cf_status build_steps(run *R)
{
	cf_ctx *ctx = R->ctx;
	const cf_build_options *o = R->o;
	cf_build_result *r = R->r;
	double t = cf_now();
	cf_status st = bdiscover(ctx, o->is_schema_only, false, r->output_path, R->s);
	r->timings.discover_s = cf_now() - t;
	if (st)
		return st;
	R->cache = bcache_load(ctx);
	/* An unchanged tree: the cache knows the hash, and the content is read
	 * only if something needs it (an output to rewrite, a template to build). */
	char hash[CF_SHA256_HEX_LEN + 1];
	if ((!o->is_apply || o->is_template) && bcache_known_hash(R->cache, R->s, hash)) {
		cf_log_debug(ctx, "the files are unchanged since the last build");
		r->hash = cf_strdup(hash);
		R->hash = r->hash;
	} else {
		st = ensure_loaded(R, o->is_apply && !o->is_template);
	}
	if (!st && o->is_apply) {
		st = apply_build(R);
		if (st)
			return st;
		r->is_applied = true;
		r->n_statements = R->stats.n_statements;
		r->n_nontx = R->stats.n_nontx;
		r->n_skipped = R->stats.n_skipped;
		if (R->stats.n_seed_failed) {
			cf_error_set(ctx, CF_ERR_SCHEMA, "%zu of %zu seed files failed",
			             R->stats.n_seed_failed,
			             R->stats.n_seed_failed + R->stats.n_seed_applied);
			cf_error_detail(ctx, "The schema and the other seed files were applied and "
			                "committed (seed.continue_on_error).");
			return CF_ERR_SCHEMA;
		}
	}
	if (st)
		return st;
	if (!o->is_no_output)
		return write_output(R);
	bcache_save(ctx, R->cache, R->s, R->hash, NULL, NULL);
	return CF_OK;
}

cf_status cf_build(cf_ctx *ctx, const cf_build_options *opts, cf_build_result **out)
{
	cf_build_options o = opts ? *opts : (cf_build_options){0};
	o.is_apply = o.is_apply || o.is_recreate || o.is_template;
	cf_build_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	bset s = {0};
	run R = {.ctx = ctx, .o = &o, .s = &s, .r = r,
	         .prog = cf_prog_new(ctx, "build", "statements", "file")};
	cf_status st = need_project(ctx);
	if (!st) {
		r->env = cf_strdup(ctx->env);
		if (!o.is_no_output)
			r->output_path = output_path(ctx, &o);
	}
	if (!st && (o.is_recreate || o.is_template))
		st = bcheck_protected(ctx, o.is_template ? "re-create the database from a template"
		                                         : "re-create the database");
	if (!st)
		st = fire(ctx, "before_build", t0, NULL);
	if (!st)
		st = build_steps(&R);
	if (s.v)
		fill_files(r, &s);
	if (!st)
		st = fire(ctx, "after_build", t0, R.pg);
	cf_prog_free(R.prog, st == CF_OK);
	r->duration_s = cf_now() - t0;
	r->success = st == CF_OK;
	r->changes_detected = r->is_applied || r->is_output_written;
	if (st) {
		cf_hooks_fire_on_error(ctx, R.pg);
		fill_errors(r, ctx, &s, R.is_load_error);
		r->message = cf_strdup(cf_last_error(ctx));
		st = cf_error_code(ctx) ? cf_error_code(ctx) : st;
	} else {
		fill_message(r);
	}
	cf_pg_close(R.pg);
	bapply_stats_release(&R.stats);
	bcache_free(R.cache);
	bset_release(&s);
	return st;
}

cf_status cf_build_list(cf_ctx *ctx, const cf_build_options *opts, cf_build_result **out)
{
	cf_build_options o = opts ? *opts : (cf_build_options){0};
	cf_build_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	bset s = {0};
	cf_status st = need_project(ctx);
	if (!st) {
		r->env = cf_strdup(ctx->env);
		if (!o.is_no_output)
			r->output_path = output_path(ctx, &o);
		st = bdiscover(ctx, o.is_schema_only, false, r->output_path, &s);
	}
	if (s.v)
		fill_files(r, &s);
	r->timings.discover_s = r->duration_s = cf_now() - t0;
	r->success = st == CF_OK;
	if (st) {
		fill_errors(r, ctx, &s, false);
		r->message = cf_strdup(cf_last_error(ctx));
	} else {
		r->message = cf_asprintf("%zu file%s", r->n_files, r->n_files == 1 ? "" : "s");
	}
	bset_release(&s);
	return st;
}

/* ---- cf_seed_apply ------------------------------------------------------------------- */

void cf_seed_result_free(cf_seed_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i].path);
	free(r->files);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r->database);
	free(r);
}

static bapply_opts seed_opts(cf_ctx *ctx, const cf_seed_options *o)
{
	const cf_config *cfg = ctx->cfg;
	bapply_opts ao = apply_opts(ctx);
	ao.is_transaction = true;
	ao.is_sequential = ao.is_sequential || (o && (o->is_sequential || o->is_continue_on_error));
	ao.is_continue = ao.is_sequential && (cfg->seed.continue_on_error ||
	                                      (o && o->is_continue_on_error));
	ao.is_seed_tx_per_file = ao.is_sequential && cfg->seed.transaction_mode &&
	                         strcmp(cfg->seed.transaction_mode, "transaction") == 0;
	ao.sql_error = CF_ERR_SQL;
	ao.phase_schema = "seeding";
	ao.phase_seeds = "seeding";
	return ao;
}

/* COMMITTED: whether the files that ran without error are in the database
 * (the run committed, or each file committed on its own). */
static void seed_fill(cf_seed_result *r, const bset *s, const bapply_stats *st, bool committed)
{
	r->files = cf_calloc(s->n + 1, sizeof(cf_seed_file));
	r->n_files = s->n;
	for (size_t i = 0; i < s->n; i++) {
		bool failed = st->seed_failed ? st->seed_failed[i] : false;
		bool ok = committed && !failed && (st->seed_failed || st->n_seed_applied);
		r->files[i] = (cf_seed_file){cf_strdup(s->v[i].path), s->v[i].n_stmts, ok};
	}
	r->n_applied = committed ? st->n_seed_applied : 0;
	r->n_failed = st->n_seed_failed;
	r->n_statements = committed ? st->n_statements : 0;
}

static cf_status seed_failures(cf_ctx *ctx, const bapply_stats *st)
{
	const cf_error_item *e = &st->seed_errors.v[0];
	cf_error_set(ctx, CF_ERR_SQL, "%zu of %zu seed files failed", st->n_seed_failed,
	             st->n_seed_failed + st->n_seed_applied);
	cf_error_detail(ctx, "First failure: %s:%d:%d: %s", e->file ? e->file : "?", e->line,
	                e->column, e->message);
	cf_error_hint(ctx, "The other seed files were applied and committed.");
	return CF_ERR_SQL;
}

cf_status cf_seed_apply(cf_ctx *ctx, const cf_seed_options *opts, cf_seed_result **out)
{
	cf_seed_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	double t0 = cf_now();
	cf_ctx_clear_error(ctx);
	bset s = {0};
	bapply_stats stats = {0};
	cf_pg *pg = NULL;
	bool ran = false;
	cf_status st = need_project(ctx);
	bapply_opts ao = {0};
	cf_prog *prog = cf_prog_new(ctx, "build", "statements", "file");
	if (!st) {
		ao = seed_opts(ctx, opts);
		ao.prog = prog;
		r->is_sequential = ao.is_sequential;
		st = bdiscover(ctx, false, true, NULL, &s);
	}
	if (!st)
		st = bload(ctx, &s, true, NULL, ao.prog);
	if (!st)
		st = cf_pg_connect_env(ctx, &pg);
	if (!st)
		st = cf_protect_guard_env(ctx, pg, "apply seeds", opts && opts->is_production_ok,
		                          "Pass --yes-i-mean-production if this is the database you "
		                          "mean.");
	if (!st) {
		r->database = cf_strdup(cf_pg_dbname(pg));
		st = bapply(ctx, pg, &s, &ao, &stats);
		ran = st == CF_OK;
		if (!st && !ao.is_sequential)
			stats.n_seed_applied = s.n;
	}
	if (!st && stats.n_seed_failed)
		st = seed_failures(ctx, &stats);
	bool committed = ran || ao.is_seed_tx_per_file;
	if (s.v)
		seed_fill(r, &s, &stats, committed);
	r->duration_s = cf_now() - t0;
	r->success = st == CF_OK;
	r->changes_detected = committed && stats.n_seed_applied > 0;
	if (st) {
		cf_hooks_fire_on_error(ctx, pg && !cf_pg_in_transaction(pg) ? pg : NULL);
		if (stats.seed_errors.n) {
			r->errors = stats.seed_errors.v;
			r->n_errors = stats.seed_errors.n;
			stats.seed_errors = (cf_errlist){0};
		} else {
			cf_errlist l = {0};
			cf_errlist_push_ctx(&l, ctx);
			r->errors = l.v;
			r->n_errors = l.n;
		}
		r->message = cf_strdup(cf_last_error(ctx));
		st = cf_error_code(ctx) ? cf_error_code(ctx) : st;
	} else {
		r->message = cf_asprintf("applied %zu seed file%s (%zu statement%s) to database \"%s\"",
		                         r->n_applied, r->n_applied == 1 ? "" : "s", r->n_statements,
		                         r->n_statements == 1 ? "" : "s", r->database);
	}
	cf_prog_free(prog, st == CF_OK);
	cf_pg_close(pg);
	bapply_stats_release(&stats);
	bset_release(&s);
	return st;
}
