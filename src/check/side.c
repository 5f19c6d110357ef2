/*
 * side.c -- one side of a comparison: an environment or URL (only read), or
 * a schema built in a scratch database from db/schema (cf_build), from
 * db/migrations (cf_migrate_up), or from a .sql file or directory; then its
 * snapshot.
 */
#include "check.h"
#include "ctx.h"
#include "dbref.h"
#include "fs.h"
#include "log.h"
#include "psqlscript.h"
#include "secret.h"
#include "sqlparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static cf_status resolve_db(cf_ctx *ctx, side *out)
{
	cf_dbref ref;
	cf_status st = cf_dbref_resolve(ctx, out->text, &ref);
	if (st)
		return st;
	out->conninfo = cf_strdup(ref.conninfo);
	out->label = ref.env ? cf_asprintf("%s (%s)", ref.env, ref.display) : cf_strdup(ref.display);
	cf_dbref_release(&ref);
	return CF_OK;
}

cf_status side_resolve(cf_ctx *ctx, const char *text, side *out)
{
	memset(out, 0, sizeof(*out));
	out->text = text;
	if (strcmp(text, "schema") == 0) {
		out->kind = SIDE_SCHEMA;
		out->label = cf_strdup("schema (db/schema, built in a scratch database)");
		return CF_OK;
	}
	if (strcmp(text, "migrations") == 0) {
		out->kind = SIDE_MIGRATIONS;
		out->label = cf_strdup("migrations (replayed in a scratch database)");
		return CF_OK;
	}
	bool is_path = strchr(text, '/') || ends_with(text, ".sql");
	if (cf_dbref_is_url(text) || !is_path) {
		out->kind = cf_dbref_is_url(text) ? SIDE_URL : SIDE_ENV;
		cf_status st = resolve_db(ctx, out);
		/* Not an environment, but a file or directory of that name. */
		if (st != CF_ERR_CONFIG || out->kind == SIDE_URL || !(cf_is_file(text) || cf_is_dir(text)))
			return st;
		cf_ctx_clear_error(ctx);
	}
	out->kind = SIDE_PATH;
	if (!cf_is_file(text) && !cf_is_dir(text)) {
		cf_error_set(ctx, CF_ERR_USAGE, "\"%s\" is neither an environment nor a file or "
		             "directory", text);
		cf_error_hint(ctx, "A side is an environment name, a connection URL, \"schema\", "
		              "\"migrations\", or a path to a .sql file or a directory of them.");
		return CF_ERR_USAGE;
	}
	out->label = cf_strdup(text);
	return CF_OK;
}

cf_status side_scratch(side *sd, scratch *s, const char *purpose)
{
	if (sd->kind == SIDE_ENV || sd->kind == SIDE_URL)
		return CF_OK;
	return scratch_create(s, purpose, &sd->conninfo);
}

void side_release(side *sd)
{
	cf_secret_free(sd->conninfo);
	free(sd->label);
	sc_snapshot_free(sd->snap);
	cf_errlist_release(&sd->errors);
	cf_migrate_result_free(sd->replay);
	memset(sd, 0, sizeof(*sd));
}

/* ---- Building ------------------------------------------------------------------ */

static void take_errors(side *sd, const cf_error_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sd->errors.n == sd->errors.cap) {
			sd->errors.cap = sd->errors.cap ? sd->errors.cap * 2 : 4;
			sd->errors.v = cf_realloc(sd->errors.v, sd->errors.cap * sizeof(*sd->errors.v));
		}
		cf_error_item *it = &sd->errors.v[sd->errors.n++];
		*it = v[i];
		it->message = cf_strdup(v[i].message);
		it->detail = cf_strdup(v[i].detail);
		it->hint = cf_strdup(v[i].hint);
		it->file = cf_strdup(v[i].file);
		it->sqlstate = cf_strdup(v[i].sqlstate);
	}
}

static cf_status build_schema(cf_ctx *ctx, side *sd)
{
	cf_ctx *child = NULL;
	cf_status st = scratch_child(ctx, sd->conninfo, &child);
	if (!st) {
		cf_build_options o = {.is_apply = true, .is_schema_only = true, .is_no_output = true};
		cf_build_result *r = NULL;
		st = cf_build(child, &o, &r);
		if (st) {
			take_errors(sd, r->errors, r->n_errors);
			cf_error_copy(ctx, child);
			cf_error_context(ctx, "while building db/schema in a scratch database");
		}
		cf_build_result_free(r);
	}
	scratch_child_free(ctx, child);
	return st;
}

static cf_status replay(cf_ctx *ctx, side *sd)
{
	cf_ctx *child = NULL;
	cf_status st = scratch_child(ctx, sd->conninfo, &child);
	if (!st) {
		const char *dir = child->cfg->migration.dir ? child->cfg->migration.dir : "db/migrations";
		char *abs = cf_path_join(child->project_dir, dir);
		bool none = !cf_is_dir(abs);
		free(abs);
		if (!none)
			st = cf_migrate_up(child, NULL, &sd->replay);
		if (st) {
			take_errors(sd, sd->replay->errors, sd->replay->n_errors);
			cf_error_copy(ctx, child);
			cf_error_context(ctx, "while replaying the migrations in a scratch database");
		}
	}
	scratch_child_free(ctx, child);
	return st;
}

/* Spaces over TEXT[A, B), newlines kept: lines and columns stay the file's. */
static void blank(char *text, size_t a, size_t b)
{
	for (size_t k = a; k < b; k++)
		if (text[k] != '\n')
			text[k] = ' ';
}

/* Runs FILE as psql would, but for the rows of COPY ... FROM stdin (a
 * schema needs none of them: pg_dump output with its data works). */
static cf_status apply_file(cf_ctx *ctx, cf_pg *pg, const char *file)
{
	char *text = NULL;
	size_t len = 0;
	cf_psql_script ps = {0};
	cf_status st = cf_file_read(ctx, file, &text, &len);
	if (!st)
		st = cf_psql_parse(ctx, file, text, len, true, &ps);
	size_t n_run = 0, done = 0;
	for (size_t i = 0; !st && i < ps.n_blanks; i++)
		blank(text, ps.blanks[i].start, ps.blanks[i].end);
	for (size_t i = 0; !st && i < ps.script->n_stmts; i++) {
		const cf_stmt *t = &ps.script->stmts[i];
		if (t->kind == CF_STMT_COPY_STDIN)
			blank(text, t->offset, t->offset + t->len);
		else
			n_run++;
	}
	if (!st && n_run)
		st = cf_pg_exec_count(pg, text, &done);
	if (st && ps.script && done < n_run) {
		size_t i = 0;
		for (size_t k = 0; i < ps.script->n_stmts; i++)
			if (ps.script->stmts[i].kind != CF_STMT_COPY_STDIN && k++ == done)
				break;
		cf_error_recode(ctx, CF_ERR_SCHEMA);
		cf_error_locate(ctx, file, text, ps.script->stmts[i].offset);
	}
	cf_psql_script_release(&ps);
	free(text);
	return st;
}

static cf_status apply_path(cf_ctx *ctx, side *sd)
{
	cf_pg *pg = NULL;
	cf_strv files;
	cf_strv_init(&files);
	cf_status st = CF_OK;
	if (cf_is_dir(sd->text)) {
		cf_strv all;
		cf_strv_init(&all);
		st = cf_dir_list(ctx, sd->text, true, &all);
		for (size_t i = 0; !st && i < all.n; i++)
			if (ends_with(all.v[i], ".sql"))
				cf_strv_push_owned(&files, cf_path_join(sd->text, all.v[i]));
		cf_strv_release(&all);
	} else {
		cf_strv_push(&files, sd->text);
	}
	if (!st)
		st = cf_pg_connect(ctx, sd->conninfo, &pg);
	for (size_t i = 0; !st && i < files.n; i++)
		st = apply_file(ctx, pg, files.v[i]);
	if (st)
		cf_errlist_push_ctx(&sd->errors, ctx);
	cf_pg_close(pg);
	cf_strv_release(&files);
	return st;
}

cf_status side_prepare(cf_ctx *ctx, side *sd, const sc_filter *filter)
{
	cf_status st = CF_OK;
	if (sd->kind == SIDE_SCHEMA)
		st = build_schema(ctx, sd);
	else if (sd->kind == SIDE_MIGRATIONS)
		st = replay(ctx, sd);
	else if (sd->kind == SIDE_PATH)
		st = apply_path(ctx, sd);
	sd->is_built = !st;
	cf_pg *pg = NULL;
	if (!st)
		st = cf_pg_connect(ctx, sd->conninfo, &pg);
	if (!st)
		st = sc_snapshot_take(pg, filter, &sd->snap);
	cf_pg_close(pg);
	sd->st = st;
	return st;
}

typedef struct prep_job {
	cf_ctx *ctx;
	side *sd;
	const sc_filter *filter;
} prep_job;

static void *prep_thread(void *arg)
{
	prep_job *j = arg;
	side_prepare(j->ctx, j->sd, j->filter);
	return NULL;
}

cf_status side_prepare_both(cf_ctx *ctx, side *a, side *b, const sc_filter *filter)
{
	prep_job jb = {ctx, b, filter};
	pthread_t t;
	bool threaded = pthread_create(&t, NULL, prep_thread, &jb) == 0;
	side_prepare(ctx, a, filter);
	if (threaded)
		pthread_join(t, NULL);
	else
		side_prepare(ctx, b, filter);
	if (cf_ctx_is_cancelled(ctx))
		return cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
	return a->st ? a->st : b->st;
}

void check_filter(cf_ctx *ctx, const cf_diff_opts *opts, sc_filter *f, check_own *own)
{
	memset(f, 0, sizeof(*f));
	own->tables[0] = ctx->cfg->migration.tracking_table ? ctx->cfg->migration.tracking_table
	                                                    : "tb_confiture";
	snprintf(own->progress, sizeof(own->progress), "%s_progress", own->tables[0]);
	own->tables[1] = own->progress;
	f->exclude_tables = own->tables;
	f->n_exclude_tables = 2;
	if (!opts)
		return;
	f->schemas = opts->schemas;
	f->n_schemas = opts->n_schemas;
	f->exclude_schemas = opts->exclude_schemas;
	f->n_exclude_schemas = opts->n_exclude_schemas;
	f->no_privileges = opts->no_privileges;
}
