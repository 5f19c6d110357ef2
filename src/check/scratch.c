/*
 * scratch.c -- throwaway databases for diff and check, and the contexts
 * that build into them.
 *
 * A scratch database is named cf_scratch_PID_N_PURPOSE and created from
 * template0, so nothing a site added to template1 shows up as a difference.
 * scratch_close drops every one of them with WITH (FORCE) on the admin
 * connection opened first, through cf_pg_exec_always, so that it also runs
 * after Ctrl-C (the cancel reaches the statements, not this cleanup).
 */
#include "check.h"
#include "ctx.h"
#include "embedded.h"
#include "log.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cf_status scratch_open(cf_ctx *ctx, const char *url, scratch *s)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	cf_strv_init(&s->dbs);
	pthread_mutex_init(&s->mu, NULL);
	cf_status st = CF_OK;
	if (url && *url)
		s->admin = cf_strdup(url);
	else
		st = cf_embedded_conninfo_for(ctx, "postgres", &s->admin);
	if (!st)
		st = cf_pg_connect(ctx, s->admin, &s->pg);
	if (st) {
		cf_error_context(ctx, "while connecting to the server for scratch databases (%s)",
		                 url && *url ? "--scratch-url" : "the embedded cluster");
		return st;
	}
	s->display = cf_strdup(cf_pg_display(s->pg));
	return CF_OK;
}

cf_status scratch_create(scratch *s, const char *purpose, char **conninfo)
{
	*conninfo = NULL;
	pthread_mutex_lock(&s->mu);
	char *name = cf_asprintf("cf_scratch_%ld_%u_%s", (long)getpid(), ++s->seq, purpose);
	if (strlen(name) > 63)
		name[63] = '\0';
	char *sql = cf_sql_format(s->pg, "CREATE DATABASE %I TEMPLATE template0", name);
	cf_status st = cf_pg_exec(s->pg, sql);
	free(sql);
	if (st) {
		cf_error_context(s->ctx, "while creating scratch database \"%s\" on %s", name,
		                 s->display);
		if (cf_error_sqlstate_get(s->ctx) && strcmp(cf_error_sqlstate_get(s->ctx), "42501") == 0)
			cf_error_hint(s->ctx, "The role needs CREATEDB on the scratch server; point "
			                      "--scratch-url at a server where it may create databases.");
		free(name);
	} else {
		cf_log_debug(s->ctx, "created scratch database \"%s\"", name);
		cf_strv_push_owned(&s->dbs, name);
		*conninfo = cf_dsn_with_dbname(s->admin, s->dbs.v[s->dbs.n - 1]);
	}
	pthread_mutex_unlock(&s->mu);
	return st;
}

void scratch_close(scratch *s)
{
	for (size_t i = 0; s->pg && i < s->dbs.n; i++) {
		char *sql = cf_sql_format(s->pg, "DROP DATABASE IF EXISTS %I WITH (FORCE)", s->dbs.v[i]);
		if (cf_pg_exec_always(s->pg, sql, 0, NULL) == CF_OK)
			cf_log_debug(s->ctx, "dropped scratch database \"%s\"", s->dbs.v[i]);
		else
			cf_log_warning(s->ctx, "could not drop scratch database \"%s\" on %s; drop it by "
			               "hand", s->dbs.v[i], s->display);
		free(sql);
	}
	cf_pg_close(s->pg);
	cf_secret_free(s->admin);
	free(s->display);
	cf_strv_release(&s->dbs);
	pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof(*s));
}

/* ---- Child contexts ---------------------------------------------------------------- */

static void child_log(void *ud, cf_log_level level, const char *msg)
{
	cf_log((cf_ctx *)ud, level == CF_LOG_INFO ? CF_LOG_DEBUG : level, "%s", msg);
}

cf_status scratch_child(cf_ctx *parent, const char *conninfo, cf_ctx **out)
{
	cf_ctx *c = cf_ctx_new();
	*out = c;
	cf_ctx_set_logger(c, child_log, parent);
	free(c->app_name);
	c->app_name = cf_strdup(parent->app_name);
	c->is_hooks_off = true;
	cf_ctx_link_cancel(parent, c);
	cf_status st = CF_OK;
	if (parent->config_file)
		st = cf_ctx_set_config_file(c, parent->config_file);
	/* The caller's flags (--migrations-dir, --lock-timeout...) hold here too. */
	for (size_t i = 0; !st && i < parent->overrides.n; i++) {
		const cf_override *o = &parent->overrides.v[i];
		if (strcmp(o->key, "database_url") != 0 || !conninfo)
			st = cf_ctx_set_option(c, o->key, o->value, o->origin);
	}
	if (!st && conninfo)
		st = cf_ctx_set_database_url(c, conninfo);
	if (!st)
		st = cf_ctx_load(c, parent->project_dir, parent->env);
	if (st)
		cf_error_copy(parent, c);
	return st;
}

void scratch_child_free(cf_ctx *parent, cf_ctx *child)
{
	if (!child)
		return;
	cf_ctx_unlink_cancel(parent, child);
	cf_ctx_free(child);
}

