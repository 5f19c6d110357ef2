/*
 * run.c -- one run of an s2s step: --source/--target, connections, hooks,
 * the lock between runs, and the result.
 */
#include "s2s.h"
#include "ctx.h"
#include "hooks.h"
#include "log.h"
#include "secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Session advisory lock class of s2s (the migrate medium uses 1751936052). */
#define S2S_LOCK_CLASS "1751936053"

/* ---- Results ---------------------------------------------------------------- */

static void strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void table_free(cf_s2s_table *t)
{
	free(t->entry);
	free(t->source_table);
	free(t->target_table);
	free(t->status);
	free(t->key_column);
	free(t->message);
	for (size_t i = 0; i < t->n_columns; i++) {
		cf_s2s_column *c = &t->columns[i];
		free(c->source);
		free(c->target);
		free(c->source_type);
		free(c->target_type);
		free(c->cast);
		free(c->expression);
	}
	free(t->columns);
	free(t->mode);
	free(t->source_checksum);
	free(t->target_checksum);
	free(t->diff_range_lo);
	free(t->diff_range_hi);
	free(t->first_diff_key);
	strs_free(t->checked_columns, t->n_checked_columns);
	strs_free(t->unchecked_columns, t->n_unchecked_columns);
}

void cf_s2s_result_free(cf_s2s_result *r)
{
	if (!r)
		return;
	free(r->message);
	free(r->step);
	free(r->source);
	free(r->target);
	free(r->server);
	free(r->staging_schema);
	free(r->fdw_host);
	free(r->fdw_port);
	free(r->fdw_dbname);
	free(r->fdw_user);
	strs_free(r->actions, r->n_actions);
	strs_free(r->hints, r->n_hints);
	for (size_t i = 0; i < r->n_tables; i++)
		table_free(&r->tables[i]);
	free(r->tables);
	cf_errlist l = {r->errors, r->n_errors, r->n_errors};
	cf_errlist_release(&l);
	free(r);
}

/* Appends a table to the result. Pointers to earlier tables stay valid only
 * until the next call: callers add every table before handing any out. */
cf_s2s_table *s2s_result_table(s2s_run *run, const char *entry)
{
	cf_s2s_result *r = run->res;
	r->tables = cf_realloc(r->tables, (r->n_tables + 1) * sizeof(*r->tables));
	cf_s2s_table *t = &r->tables[r->n_tables++];
	memset(t, 0, sizeof(*t));
	t->entry = cf_strdup(entry);
	t->row_estimate = -1;
	t->size_bytes = -1;
	t->source_rows = -1;
	t->target_rows = -1;
	return t;
}

static void push_str(char ***v, size_t *n, char *s)
{
	*v = cf_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

void s2s_result_action(s2s_run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = cf_vasprintf(fmt, ap);
	va_end(ap);
	push_str(&run->res->actions, &run->res->n_actions, s);
	run->res->changes_detected = true;
}

void s2s_result_hint(s2s_run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	push_str(&run->res->hints, &run->res->n_hints, cf_vasprintf(fmt, ap));
	va_end(ap);
}

void s2s_result_message(s2s_run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(run->res->message);
	run->res->message = cf_vasprintf(fmt, ap);
	va_end(ap);
}

/* "{"a","b"}" for a text[] parameter. */
char *s2s_text_array(const char *const *v, size_t n)
{
	cf_buf b;
	cf_buf_init(&b);
	/* Sized once: it may hold a password, and a grown buffer leaves copies. */
	size_t room = 3;
	for (size_t i = 0; i < n; i++)
		room += 2 * strlen(v[i]) + 3;
	cf_buf_reserve(&b, room);
	cf_buf_putc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		cf_buf_puts(&b, i ? ",\"" : "\"");
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				cf_buf_putc(&b, '\\');
			cf_buf_putc(&b, *p);
		}
		cf_buf_putc(&b, '"');
	}
	cf_buf_putc(&b, '}');
	return b.data;
}

/* ---- Errors ------------------------------------------------------------------ */

cf_status s2s_try(cf_pg *pg, const char *sql, int nparams, const char *const *params,
                  char **msg, char **sqlstate)
{
	cf_ctx *ctx = cf_pg_ctx(pg);
	*msg = NULL;
	if (sqlstate)
		*sqlstate = NULL;
	bool in_tx = cf_pg_in_transaction(pg);
	cf_status st = in_tx ? cf_pg_exec(pg, "SAVEPOINT confiture_s2s_try") : CF_OK;
	if (st)
		return st;
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	st = cf_pg_exec_params(pg, sql, nparams, params);
	bool is_real = st == CF_ERR_CANCELLED || cf_pg_is_bad(pg);
	if (st && !is_real) {
		const cf_error_info *e = cf_last_error_info(ctx);
		*msg = cf_strdup(e && e->message ? e->message : "failed");
		if (sqlstate)
			*sqlstate = cf_strdup(e ? e->sqlstate : NULL);
		cf_ctx_clear_error(ctx);
	}
	if (stash.saved)
		cf_error_unstash(ctx, &stash);
	if (is_real)
		return st;
	if (in_tx) {
		cf_status st2 = st ? cf_pg_exec(pg, "ROLLBACK TO SAVEPOINT confiture_s2s_try") : CF_OK;
		if (!st2)
			st2 = cf_pg_exec(pg, "RELEASE SAVEPOINT confiture_s2s_try");
		if (st2) {
			free(*msg);
			*msg = NULL;
			return st2;
		}
	}
	return st;
}

void s2s_error_rewrite(cf_ctx *ctx, cf_status st, const char *file, s2s_pos pos,
                       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *prefix = cf_vasprintf(fmt, ap);
	va_end(ap);
	const cf_error_info *e = cf_last_error_info(ctx);
	char *msg = cf_strdup(e && e->message ? e->message : "");
	char *detail = cf_strdup(e ? e->detail : NULL);
	char *hint = cf_strdup(e ? e->hint : NULL);
	char *state = cf_strdup(e ? e->sqlstate : NULL);
	cf_ctx_clear_error(ctx);
	cf_error_set(ctx, st, "%s: %s", prefix, msg);
	if (detail)
		cf_error_detail(ctx, "%s", detail);
	if (hint)
		cf_error_hint(ctx, "%s", hint);
	if (state)
		cf_error_sqlstate(ctx, state);
	if (file)
		cf_error_at(ctx, file, pos.line, pos.col);
	free(prefix);
	free(msg);
	free(detail);
	free(hint);
	free(state);
}

/* ---- Hooks ---------------------------------------------------------------------- */

cf_status s2s_table_hook(s2s_run *run, cf_pg *pg, const char *event, const char *table,
                         long long rows, int success, double elapsed_s, const char *error)
{
	if (!cf_hooks_any(run->ctx, event))
		return CF_OK;
	cf_hook_fire f = CF_HOOK_FIRE_INIT(event);
	f.step = run->step;
	f.table = table;
	f.rows = rows;
	f.success = success;
	f.elapsed_ms = elapsed_s >= 0 ? (long long)(elapsed_s * 1000) : -1;
	f.error = error;
	f.pg = pg && !cf_pg_is_bad(pg) && !cf_pg_in_transaction(pg) ? pg : NULL;
	/* Hooks of parallel workers run one at a time: they share the context. */
	pthread_mutex_lock(&run->mu);
	cf_status st = cf_hooks_fire(run->ctx, &f);
	pthread_mutex_unlock(&run->mu);
	return st;
}

/* ---- Connections -------------------------------------------------------------- */

cf_status s2s_connect_target(s2s_run *run, cf_pg **out)
{
	return cf_pg_connect(run->ctx, run->tgt_ref.conninfo, out);
}

static cf_status resolve(s2s_run *run, const char *text, const char *what, cf_dbref *ref)
{
	cf_status st = cf_dbref_resolve(run->ctx, text, ref);
	if (st)
		cf_error_context(run->ctx, "while resolving %s \"%s\"", what, text);
	return st;
}

cf_status s2s_run_start(s2s_run *run, cf_ctx *ctx, const cf_s2s_opts *opts, const char *step,
                        bool need_source, cf_s2s_result **out)
{
	memset(run, 0, sizeof(*run));
	run->ctx = ctx;
	run->opts = opts;
	run->step = step;
	run->t0 = cf_now();
	pthread_mutex_init(&run->mu, NULL);
	cf_ctx_clear_error(ctx);
	cf_s2s_result *r = cf_calloc(1, sizeof(*r));
	*out = run->res = r;
	r->step = cf_strdup(step);
	const char *staging = opts->staging_schema && *opts->staging_schema
	                          ? opts->staging_schema
	                          : ctx->cfg->s2s.staging_schema;
	run->staging = cf_strdup(staging && *staging ? staging : "confiture_src");
	run->server = cf_asprintf("%s_server", run->staging);
	r->staging_schema = cf_strdup(run->staging);
	r->server = cf_strdup(run->server);
	if (!opts->target || !*opts->target)
		return cf_error_set(ctx, CF_ERR_USAGE, "missing --target (an environment or a "
		                                       "connection string)");
	if (need_source && (!opts->source || !*opts->source))
		return cf_error_set(ctx, CF_ERR_USAGE, "missing --source (an environment or a "
		                                       "connection string)");
	cf_status st = resolve(run, opts->target, "--target", &run->tgt_ref);
	run->has_tgt_ref = st == CF_OK;
	if (!st && opts->source && *opts->source) {
		st = resolve(run, opts->source, "--source", &run->src_ref);
		run->has_src_ref = st == CF_OK;
	}
	if (st)
		return st;
	r->target = cf_strdup(run->tgt_ref.display);
	r->source = cf_strdup(run->has_src_ref ? run->src_ref.display : NULL);
	if (need_source) {
		st = cf_pg_connect(ctx, run->src_ref.conninfo, &run->src);
		if (st) {
			cf_error_context(ctx, "while connecting to the source");
			return st;
		}
	}
	st = cf_pg_connect(ctx, run->tgt_ref.conninfo, &run->tgt);
	if (st) {
		cf_error_context(ctx, "while connecting to the target");
		return st;
	}
	cf_hook_fire f = CF_HOOK_FIRE_INIT("before_s2s_step");
	f.step = step;
	f.pg = run->tgt;
	st = cf_hooks_fire(ctx, &f);
	run->is_step_open = st == CF_OK;
	return st;
}

cf_status s2s_run_finish(s2s_run *run, cf_status st)
{
	cf_ctx *ctx = run->ctx;
	cf_s2s_result *r = run->res;
	r->duration_s = cf_now() - run->t0;
	if (run->is_step_open) {
		cf_hook_fire f = CF_HOOK_FIRE_INIT("after_s2s_step");
		f.step = run->step;
		f.success = st == CF_OK;
		f.error = st ? cf_last_error(ctx) : NULL;
		f.elapsed_ms = (long long)(r->duration_s * 1000);
		f.rows = strcmp(run->step, "migrate") == 0 ? r->rows_copied : -1;
		f.pg = run->tgt && !cf_pg_is_bad(run->tgt) && !cf_pg_in_transaction(run->tgt) ? run->tgt
		                                                                               : NULL;
		char *err = st ? cf_strdup(f.error) : NULL;
		f.error = err;
		cf_status hst = cf_hooks_fire(ctx, &f);
		free(err);
		if (!st)
			st = hst;
	}
	if (st) {
		cf_hooks_fire_on_error(ctx, run->tgt && !cf_pg_is_bad(run->tgt) ? run->tgt : NULL);
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, ctx);
		r->errors = l.v;
		r->n_errors = l.n;
		if (!r->message)
			r->message = cf_strdup(cf_last_error(ctx));
	}
	r->success = st == CF_OK;
	cf_pg_close(run->src);
	cf_pg_close(run->tgt);
	if (run->has_src_ref)
		cf_dbref_release(&run->src_ref);
	if (run->has_tgt_ref)
		cf_dbref_release(&run->tgt_ref);
	free(run->staging);
	free(run->server);
	pthread_mutex_destroy(&run->mu);
	return st;
}

/* ---- Setup state, reachability, lock ------------------------------------------ */

cf_status s2s_require_setup(s2s_run *run)
{
	const char *p[] = {run->staging, run->server};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(
		run->tgt,
		"SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1),"
		"       EXISTS (SELECT FROM pg_catalog.pg_foreign_server WHERE srvname = $2),"
		"       EXISTS (SELECT FROM pg_catalog.pg_user_mappings"
		"                WHERE srvname = $2 AND (umuser = 0 OR usename = current_user))",
		2, p, &res);
	if (st)
		return st;
	const char *missing = cf_pgres_get(res, 0, 0)[0] != 't'   ? "staging schema"
	                      : cf_pgres_get(res, 0, 1)[0] != 't' ? "foreign server"
	                      : cf_pgres_get(res, 0, 2)[0] != 't' ? "user mapping"
	                                                          : NULL;
	cf_pgres_free(res);
	if (!missing)
		return CF_OK;
	st = cf_error_set(run->ctx, CF_ERR_USAGE, "s2s setup has not been run on the target \"%s\"",
	                  run->tgt_ref.display);
	cf_error_detail(run->ctx, "The %s (\"%s\") is missing.", missing,
	                strcmp(missing, "staging schema") == 0 ? run->staging : run->server);
	cf_error_hint(run->ctx, "Run \"confiture s2s setup --source ... --target ...\" first%s.",
	              strcmp(run->staging, "confiture_src") != 0 ? " with the same --staging-schema"
	                                                         : "");
	return st;
}

/* The foreign server's options, for messages: "host \"h\", port \"p\", ...". */
static char *server_options_text(s2s_run *run, cf_pg *pg)
{
	const char *p[] = {run->server};
	cf_pgres *res = NULL;
	cf_err_stash stash;
	cf_error_stash(run->ctx, &stash);
	cf_status st = cf_pg_query(
		pg,
		"SELECT option_name, option_value FROM pg_catalog.pg_options_to_table("
		"  (SELECT srvoptions FROM pg_catalog.pg_foreign_server WHERE srvname = $1))"
		" WHERE option_name IN ('host', 'port', 'dbname')",
		1, p, &res);
	cf_buf b;
	cf_buf_init(&b);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_buf_printf(&b, "%s%s \"%s\"", b.len ? ", " : "", cf_pgres_get(res, i, 0),
		              cf_pgres_get(res, i, 1));
	cf_pgres_free(res);
	if (st)
		cf_ctx_clear_error(run->ctx);
	cf_error_unstash(run->ctx, &stash);
	char *text = cf_buf_detach(&b);
	return text;
}

cf_status s2s_fdw_error(s2s_run *run, cf_status st)
{
	const cf_error_info *e = cf_last_error_info(run->ctx);
	if (!st || !e || st == CF_ERR_CANCELLED)
		return st;
	const char *msg = e->message ? e->message : "";
	const char *detail = e->detail ? e->detail : "";
	bool is_connect = (e->sqlstate && strncmp(e->sqlstate, "08", 2) == 0) ||
	                  strstr(msg, "could not connect to server") != NULL;
	bool is_password = (e->sqlstate && strcmp(e->sqlstate, "2F003") == 0) ||
	                   strstr(detail, "password") != NULL || strstr(msg, "password") != NULL;
	if (!is_connect && !is_password)
		return st;
	cf_error_recode(run->ctx, CF_ERR_CONNECT);
	char *opts = run->tgt && !cf_pg_is_bad(run->tgt) ? server_options_text(run, run->tgt)
	                                                 : cf_strdup("");
	if (is_password)
		cf_error_hint(run->ctx,
		              "The target server logs in to the source with the user mapping of "
		              "\"%s\". Run \"confiture s2s setup\" again with the source password in "
		              "the URL, PGPASSWORD or ~/.pgpass.",
		              run->server);
	else
		cf_error_hint(run->ctx,
		              "The target server connects to the source itself, from its own host and "
		              "as its own operating-system user, with the foreign server \"%s\"%s%s%s. "
		              "Check that the source is reachable from there; after changing the "
		              "source connection, run \"confiture s2s setup\" again.",
		              run->server, *opts ? " (" : "", opts, *opts ? ")" : "");
	free(opts);
	return CF_ERR_CONNECT;
}

cf_status s2s_probe_source(s2s_run *run, cf_pg *pg)
{
	/* An import limited to a table that cannot exist: postgres_fdw connects,
	 * reads the remote catalog, and imports nothing. */
	char *sql = cf_sql_format(pg, "IMPORT FOREIGN SCHEMA pg_catalog LIMIT TO "
	                              "(confiture_s2s_probe) FROM SERVER %I INTO %I",
	                          run->server, run->staging);
	cf_status st = cf_pg_exec(pg, sql);
	free(sql);
	if (st) {
		st = s2s_fdw_error(run, st);
		cf_error_context(run->ctx, "while checking that the target server reaches the source");
	}
	return st;
}

cf_status s2s_lock(s2s_run *run)
{
	const char *p[] = {run->staging};
	/* A killed run's session may take a moment to go away: retry for 2 s. */
	for (int i = 0; i < 20; i++) {
		char *got = NULL;
		cf_status st = cf_pg_query_value(
			run->tgt, "SELECT pg_catalog.pg_try_advisory_lock(" S2S_LOCK_CLASS ", "
			          "pg_catalog.hashtext($1))",
			1, p, &got);
		bool ok = got && got[0] == 't';
		free(got);
		if (st || ok)
			return st;
		if (cf_ctx_is_cancelled(run->ctx))
			return cf_error_set(run->ctx, CF_ERR_CANCELLED, "interrupted");
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	char *who = NULL;
	cf_pg_query_value(run->tgt,
	                  "SELECT format('PID %s (%s)', a.pid, a.application_name)"
	                  "  FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a"
	                  "    ON a.pid = l.pid"
	                  " WHERE l.locktype = 'advisory' AND l.granted"
	                  "   AND l.classid = " S2S_LOCK_CLASS
	                  "   AND l.objid = pg_catalog.hashtext($1)::oid LIMIT 1",
	                  1, p, &who);
	cf_status st = cf_error_set(run->ctx, CF_ERR_LOCK,
	                            "another confiture s2s run is using the staging schema \"%s\"",
	                            run->staging);
	if (who)
		cf_error_detail(run->ctx, "The lock is held by the session with %s.", who);
	cf_error_hint(run->ctx, "Wait for it to finish, or stop it: the next run continues where "
	                        "it stopped.");
	free(who);
	return st;
}
