/*
 * lint.c -- cf_lint: which files, how each will run, what the server is,
 * then the rules over each file in order.
 */
#include "lint_int.h"
#include "config.h"
#include "ctx.h"
#include "embedded.h"
#include "error.h"
#include "fs.h"
#include "log.h"
#include "pg.h"
#include "psqlscript.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OLDEST_PG 130000 /* the oldest version confiture supports (its ledger needs 13) */

void lint_run_release(lint_run *run)
{
	free(run->severity);
	cf_strv_release(&run->pending_tables);
	for (size_t i = 0; i < run->n_columns; i++) {
		free(run->columns[i].table);
		free(run->columns[i].column);
		free(run->columns[i].type);
	}
	free(run->columns);
	/* findings move to the result */
}

static void strs_push(char ***v, size_t *n, char *s)
{
	*v = cf_realloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

static void assume(cf_lint_result *r, char *text)
{
	strs_push(&r->assumptions, &r->n_assumptions, text);
}

/* PATH as shown: relative to the working directory when inside it. */
static char *shown(const char *path)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return cf_strdup(path);
	return cf_path_relative(cwd, path);
}

/* ---- The server ------------------------------------------------------------------ */

/* Is a database configured that lint may ask without starting anything? */
static bool has_database(cf_ctx *ctx, bool env_too)
{
	const cf_config *cfg = ctx->cfg;
	if (!ctx->project_dir)
		return false;
	if (cf_config_is_embedded(cfg)) {
		cf_embedded_status *es = NULL;
		bool up = cf_embedded_status_get(ctx, &es) == CF_OK && es->is_running;
		cf_embedded_status_free(es);
		cf_ctx_clear_error(ctx);
		return up;
	}
	if (cfg->database_url && *cfg->database_url)
		return true;
	return env_too && (getenv("PGHOST") || getenv("PGDATABASE") || getenv("PGSERVICE"));
}

static bool setting_on(cf_pg *pg, const char *name)
{
	char *v = NULL;
	const char *params[] = {name};
	bool on = cf_pg_query_value(pg, "SELECT current_setting($1)", 1, params, &v) == CF_OK && v &&
	          strcmp(v, "0") != 0;
	free(v);
	return on;
}

/* The server's version and the timeouts its sessions start with. */
static void ask_server(cf_ctx *ctx, lint_run *run, cf_lint_result *r, bool set_version)
{
	cf_pg *pg = NULL;
	if (cf_pg_connect_env(ctx, &pg) != CF_OK) {
		assume(r, cf_asprintf("could not connect (%s): assumed PostgreSQL %d.%d", cf_last_error(ctx),
		                      run->pg_version / 10000, run->pg_version % 10000));
		cf_ctx_clear_error(ctx);
		return;
	}
	if (set_version) {
		run->pg_version = cf_pg_server_version(pg);
		r->pg_version_from = "server";
	}
	run->session_lock_timeout = setting_on(pg, "lock_timeout");
	run->session_statement_timeout = setting_on(pg, "statement_timeout");
	cf_ctx_clear_error(ctx);
	cf_pg_close(pg);
}

static cf_status pg_version(cf_ctx *ctx, const cf_lint_opts *opts, lint_run *run,
                            cf_lint_result *r, bool ask, bool env_too)
{
	run->pg_version = OLDEST_PG;
	r->pg_version_from = "oldest supported";
	const char *cfgv = ctx->cfg->lint.pg_version;
	if (opts && opts->pg_version) {
		run->pg_version = lint_parse_pg_version(opts->pg_version);
		r->pg_version_from = "--pg-version";
		if (!run->pg_version) {
			cf_error_set(ctx, CF_ERR_USAGE, "invalid PostgreSQL version \"%s\"", opts->pg_version);
			cf_error_hint(ctx, "Give a major version such as 13 or 15.4.");
			return CF_ERR_USAGE;
		}
	} else if (cfgv) {
		run->pg_version = lint_parse_pg_version(cfgv);
		r->pg_version_from = "lint.pg_version";
		if (!run->pg_version) {
			cf_error_set(ctx, CF_ERR_CONFIG, "invalid value for \"lint.pg_version\": \"%s\"",
			             cfgv);
			cf_config_error_at_key(ctx, ctx->cfg, "lint.pg_version");
			cf_error_hint(ctx, "Give a major version such as 13 or 15.4.");
			return CF_ERR_CONFIG;
		}
	}
	bool offline = opts && opts->is_offline;
	if (ask && !offline && has_database(ctx, env_too))
		ask_server(ctx, run, r, strcmp(r->pg_version_from, "oldest supported") == 0);
	else if (strcmp(r->pg_version_from, "oldest supported") == 0)
		assume(r, cf_asprintf("no database to ask: assumed PostgreSQL %d (the oldest "
		                      "supported); --pg-version or lint.pg_version sets another",
		                      OLDEST_PG / 10000));
	return CF_OK;
}

/* ---- Files ----------------------------------------------------------------------------- */

/*
 * Blanks what psql reads as no SQL (COPY ... FROM stdin data, pg_dump's
 * \restrict lines), newlines kept, so that lint parses the SQL that build and
 * migrate run, at the same lines. A file psql would refuse is left as it is:
 * the parser then reports it.
 */
static void blank_psql_lines(cf_ctx *ctx, const char *file, char *text, size_t len)
{
	if (!memchr(text, '\\', len))
		return;
	cf_psql_script ps;
	if (cf_psql_parse(ctx, file, text, len, true, &ps) == CF_OK) {
		for (size_t i = 0; i < ps.n_blanks; i++)
			for (size_t k = ps.blanks[i].start; k < ps.blanks[i].end && k < len; k++)
				if (text[k] != '\n')
					text[k] = ' ';
		cf_psql_script_release(&ps);
	}
	cf_ctx_clear_error(ctx);
}

/* Reads ABS and how it will run into a job of B (the rules run later, in
 * lint_batch_run). */
static cf_status lint_one(cf_ctx *ctx, lint_batch *b, const char *abs, lint_kind kind,
                          bool runs_in_tx)
{
	char *text = NULL;
	size_t len = 0;
	cf_status st = cf_file_read(ctx, abs, &text, &len);
	if (st)
		return st;
	char *name = shown(abs);
	lint_input *in = &lint_batch_add(b, name, text, len)->in;
	in->kind = kind;
	in->runs_in_tx = runs_in_tx;
	cf_migration_mode mode;
	if (kind == LINT_MIGRATION) {
		cf_status ms = cf_migration_mode_of(ctx, name, text, len, &mode);
		const cf_error_info *e = cf_last_error_info(ctx);
		if (ms == CF_OK) {
			in->runs_in_tx = mode.is_transactional;
		} else if (e && e->sqlstate && strcmp(e->sqlstate, "42601") == 0) {
			/* A syntax error: the engine reports it. */
		} else if (e) {
			in->refused = cf_strdup(e->message);
			in->refused_line = e->line;
			in->refused_column = e->column;
		}
		cf_ctx_clear_error(ctx);
	}
	blank_psql_lines(ctx, name, text, len);
	return CF_OK;
}

/* Is ABS a migration of the loaded project ({VERSION}_{name}.up.sql in its dir)? */
static bool is_project_migration(cf_ctx *ctx, const char *abs)
{
	if (!ctx->project_dir)
		return false;
	char *dir = cf_path_join(ctx->project_dir, ctx->cfg->migration.dir);
	size_t n = strlen(dir);
	bool inside = strncmp(abs, dir, n) == 0 && abs[n] == '/' && !strchr(abs + n + 1, '/');
	free(dir);
	size_t l = strlen(abs);
	return inside && l > 7 && strcmp(abs + l - 7, ".up.sql") == 0 && strchr(cf_path_base(abs), '_');
}

static char *absolute(const char *path)
{
	char buf[PATH_MAX];
	if (path[0] == '/')
		return cf_strdup(path);
	if (!getcwd(buf, sizeof(buf)))
		return cf_strdup(path);
	return cf_path_join(buf, path);
}

static bool is_sql(const char *p)
{
	size_t n = strlen(p);
	return n > 4 && strcmp(p + n - 4, ".sql") == 0;
}

static cf_status lint_paths(cf_ctx *ctx, const cf_lint_opts *opts, lint_batch *b)
{
	bool tx = opts->assume_in_transaction == 1;
	for (size_t i = 0; i < opts->n_paths; i++) {
		char *abs = absolute(opts->paths[i]);
		cf_status st = CF_OK;
		if (cf_is_dir(abs)) {
			cf_strv files;
			cf_strv_init(&files);
			st = cf_dir_list(ctx, abs, true, &files);
			for (size_t k = 0; !st && k < files.n; k++) {
				if (!is_sql(files.v[k]))
					continue;
				char *f = cf_path_join(abs, files.v[k]);
				bool mig = is_project_migration(ctx, f);
				st = lint_one(ctx, b, f, mig ? LINT_MIGRATION : LINT_PLAIN, tx);
				free(f);
			}
			cf_strv_release(&files);
		} else if (!cf_is_file(abs)) {
			st = cf_error_set(ctx, CF_ERR_IO, "could not read \"%s\": no such file or directory",
			                  opts->paths[i]);
		} else {
			bool mig = is_project_migration(ctx, abs);
			st = lint_one(ctx, b, abs, mig ? LINT_MIGRATION : LINT_PLAIN, tx);
		}
		free(abs);
		if (st)
			return st;
	}
	return CF_OK;
}

/* Pending (or all) migrations, in version order. Earlier applied ones only
 * feed the column model. */
static cf_status lint_migrations(cf_ctx *ctx, const cf_lint_opts *opts, lint_batch *b,
                                 cf_lint_result *r)
{
	bool all = opts && opts->is_all;
	cf_migrate_opts mo = {.offline = opts && opts->is_offline};
	cf_migrate_result *mr = NULL;
	cf_status st = cf_migrate_status(ctx, &mo, &mr);
	bool guess = false;
	if (st == CF_ERR_CONNECT) {
		assume(r, cf_asprintf("could not read the ledger (%s): every migration counts as "
		                      "pending", cf_last_error(ctx)));
		cf_ctx_clear_error(ctx);
		cf_migrate_result_free(mr);
		mo.offline = true;
		mr = NULL;
		st = cf_migrate_status(ctx, &mo, &mr);
		guess = true;
	}
	if (st == CF_ERR_NO_LEDGER || st == CF_ERR_CHECK)
		st = CF_OK; /* no ledger: nothing applied; pending: that is the point */
	if (!st && mr->is_offline && !guess && !all)
		assume(r, cf_strdup("no database: every migration counts as pending"));
	for (size_t i = 0; !st && i < mr->n_migrations; i++) {
		const cf_migration *m = &mr->migrations[i];
		if (!m->file)
			continue;
		bool pending = strcmp(m->status, "pending") == 0 || strcmp(m->status, "unknown") == 0;
		char *abs = cf_path_join(ctx->project_dir, m->file);
		if (pending || all) {
			st = lint_one(ctx, b, abs, LINT_MIGRATION, true);
		} else {
			char *text = NULL;
			size_t len = 0;
			if (cf_file_read(ctx, abs, &text, &len) == CF_OK) {
				blank_psql_lines(ctx, m->file, text, len);
				lint_batch_add(b, cf_strdup(m->file), text, len)->is_model_only = true;
			}
			cf_ctx_clear_error(ctx);
		}
		free(abs);
	}
	cf_migrate_result_free(mr);
	return st;
}

/* The schema files, as the build finds them (seeds and excluded files left
 * out), in build order. */
static cf_status lint_schema(cf_ctx *ctx, lint_batch *lb)
{
	cf_build_result *b = NULL;
	cf_build_options o = {.is_schema_only = true};
	cf_status st = cf_build_list(ctx, &o, &b);
	for (size_t i = 0; !st && i < b->n_files; i++)
		st = lint_one(ctx, lb, b->files[i].path, LINT_SCHEMA, ctx->cfg->build.transaction);
	cf_build_result_free(b);
	return st;
}

/* ---- Result -------------------------------------------------------------------------- */

static void result_finish(cf_lint_result *r, lint_run *run, cf_ctx *ctx)
{
	r->findings = run->findings;
	r->n_findings = run->n_findings;
	run->findings = NULL;
	r->n_statements = run->n_statements;
	r->pg_version = run->pg_version;
	for (size_t i = 0; i < r->n_findings; i++) {
		cf_lint_severity s = r->findings[i].severity;
		r->n_error_findings += s == CF_LINT_ERROR;
		r->n_warning_findings += s == CF_LINT_WARNING;
		r->n_info_findings += s == CF_LINT_INFO;
	}
	r->success = r->n_error_findings == 0;
	const char *block = ctx->cfg->lint.block_on;
	r->is_blocking = block && ((strcmp(block, "error") == 0 && r->n_error_findings) ||
	                           (strcmp(block, "warning") == 0 &&
	                            (r->n_error_findings || r->n_warning_findings)));
	r->message = cf_asprintf("%zu file%s, %zu statement%s: %zu error%s, %zu warning%s, %zu info",
	                         r->n_files, r->n_files == 1 ? "" : "s", r->n_statements,
	                         r->n_statements == 1 ? "" : "s", r->n_error_findings,
	                         r->n_error_findings == 1 ? "" : "s", r->n_warning_findings,
	                         r->n_warning_findings == 1 ? "" : "s", r->n_info_findings);
}

static void result_error(cf_lint_result *r, cf_ctx *ctx, cf_status st)
{
	const cf_error_info *e = cf_last_error_info(ctx);
	if (!e)
		return;
	r->errors = cf_calloc(1, sizeof(cf_error_item));
	r->n_errors = 1;
	r->errors[0] = (cf_error_item){st,          cf_strdup(e->message), cf_strdup(e->detail),
	                               cf_strdup(e->hint), cf_strdup(e->file), e->line,
	                               e->column,   cf_strdup(e->sqlstate)};
}

cf_status cf_lint(cf_ctx *ctx, const cf_lint_opts *opts, cf_lint_result **out)
{
	cf_lint_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	double t0 = cf_now();
	lint_run run = {.ctx = ctx};
	cf_strv_init(&run.pending_tables);
	bool paths = opts && opts->n_paths;
	bool schema = !paths && opts && opts->is_schema;
	r->scope = paths ? "paths" : schema ? "schema" : opts && opts->is_all ? "all" : "pending";
	cf_status st = lint_settings(ctx, opts, &run);
	if (!st)
		st = pg_version(ctx, opts, &run, r, true, !paths && !schema);
	if (!st && !paths && !ctx->project_dir)
		st = cf_error_set(ctx, CF_ERR_USAGE, "no project loaded to find migrations in");
	lint_batch b = {0};
	if (!st)
		st = paths ? lint_paths(ctx, opts, &b)
		     : schema ? lint_schema(ctx, &b)
		              : lint_migrations(ctx, opts, &b, r);
	if (!st)
		lint_batch_run(&run, &b);
	for (size_t i = 0; !st && i < b.n; i++)
		if (!b.jobs[i].is_model_only)
			strs_push(&r->files, &r->n_files, cf_strdup(b.jobs[i].in.file));
	lint_batch_release(&b);
	result_finish(r, &run, ctx);
	lint_run_release(&run);
	if (st)
		result_error(r, ctx, st);
	else if (!r->success)
		st = CF_ERR_CHECK;
	r->duration_s = cf_now() - t0;
	return st;
}

cf_status cf_lint_check_config(cf_ctx *ctx)
{
	if (!ctx->cfg)
		return cf_error_set(ctx, CF_ERR_USAGE, "no project loaded to check");
	lint_run run = {.ctx = ctx};
	cf_strv_init(&run.pending_tables);
	cf_lint_result *r = cf_calloc(1, sizeof(*r));
	cf_status st = lint_settings(ctx, NULL, &run);
	if (!st)
		st = pg_version(ctx, NULL, &run, r, false, false);
	cf_lint_result_free(r);
	lint_run_release(&run);
	return st;
}

void cf_lint_result_free(cf_lint_result *r)
{
	if (!r)
		return;
	free(r->message);
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i]);
	free(r->files);
	for (size_t i = 0; i < r->n_findings; i++) {
		cf_lint_finding *f = &r->findings[i];
		free(f->file);
		free(f->message);
		free(f->statement);
		for (size_t k = 0; k < f->n_objects; k++)
			free(f->objects[k]);
		free(f->objects);
	}
	free(r->findings);
	for (size_t i = 0; i < r->n_assumptions; i++)
		free(r->assumptions[i]);
	free(r->assumptions);
	for (size_t i = 0; i < r->n_errors; i++) {
		cf_error_item *e = &r->errors[i];
		free(e->message);
		free(e->detail);
		free(e->hint);
		free(e->file);
		free(e->sqlstate);
	}
	free(r->errors);
	free(r);
}
