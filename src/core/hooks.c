/* hooks.c -- hook events: API callbacks, shell commands and SQL. */
#include "hooks.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "pg.h"
#include "proc.h"
#include "scrub.h"
#include "secret.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *const EVENTS[] = {
	"before_build",     "after_build",
	"before_migrate",   "before_migration", "after_migration", "migration_failed",
	"after_migrate",
	"before_sync",      "before_sync_table", "after_sync_table", "after_sync",
	"before_s2s_step",  "after_s2s_step",
	"on_error",         NULL,
};

const char *const *cf_hook_events(void)
{
	return EVENTS;
}

static bool is_event(const char *name)
{
	for (size_t i = 0; EVENTS[i]; i++)
		if (strcmp(EVENTS[i], name) == 0)
			return true;
	return false;
}

static bool is_before(const char *event)
{
	return strncmp(event, "before_", 7) == 0;
}

cf_status cf_hook_register(cf_ctx *ctx, const char *event, cf_hook_fn fn, void *ud)
{
	return cf_hook_register_from(ctx, event, fn, ud, "api");
}

cf_status cf_hook_register_from(cf_ctx *ctx, const char *event, cf_hook_fn fn, void *ud,
                                const char *origin)
{
	if (!fn || !event || (strcmp(event, "*") != 0 && !is_event(event))) {
		cf_error_set(ctx, CF_ERR_USAGE, "unknown hook event \"%s\"", event ? event : "(null)");
		const char *best = event ? cf_closest(event, EVENTS, sizeof(EVENTS) / sizeof(*EVENTS) - 1)
		                         : NULL;
		if (best)
			cf_error_hint(ctx, "Did you mean \"%s\"?", best);
		return CF_ERR_USAGE;
	}
	ctx->hook_cbs = cf_realloc(ctx->hook_cbs, (ctx->n_hook_cbs + 1) * sizeof(cf_hook_cb));
	ctx->hook_cbs[ctx->n_hook_cbs++] = (cf_hook_cb){cf_strdup(event), fn, ud, cf_strdup(origin)};
	return CF_OK;
}

bool cf_hooks_any(const cf_ctx *ctx, const char *event)
{
	if (ctx->is_hooks_off)
		return false;
	for (size_t i = 0; i < ctx->n_hook_cbs; i++)
		if (strcmp(ctx->hook_cbs[i].event, "*") == 0 ||
		    strcmp(ctx->hook_cbs[i].event, event) == 0)
			return true;
	for (size_t i = 0; ctx->cfg && i < ctx->cfg->n_hooks; i++)
		if (strcmp(ctx->cfg->hooks[i].event, event) == 0)
			return true;
	return false;
}

/* ---- Context ----------------------------------------------------------------- */

typedef struct hook_ctx {
	cf_hook_event ev;
	char *database;
	char *error;   /* the failure, scrubbed */
	char *json;
	char rows[32], elapsed[32];
} hook_ctx;

static char *database_name(cf_ctx *ctx, cf_pg *pg)
{
	if (pg)
		return cf_strdup(cf_pg_dbname(pg));
	if (!ctx->cfg)
		return cf_strdup("");
	if (cf_config_is_embedded(ctx->cfg))
		return cf_strdup(ctx->env ? ctx->env : "");
	return cf_dsn_dbname(ctx->cfg->database_url);
}

static void hook_ctx_init(hook_ctx *h, cf_ctx *ctx, const cf_hook_fire *f)
{
	memset(h, 0, sizeof(*h));
	h->database = database_name(ctx, f->pg);
	h->error = f->error ? cf_scrub_secrets(&ctx->secrets, f->error) : NULL;
	h->ev = (cf_hook_event){
		.event = f->event,
		.env = ctx->env ? ctx->env : "",
		.database = h->database,
		.migration_version = f->migration_version,
		.migration_name = f->migration_name,
		.table = f->table,
		.rows = f->rows,
		.success = f->success,
		.error = h->error,
		.elapsed_ms = f->elapsed_ms,
		.execution_id = ctx->execution_id,
		.step = f->step,
	};
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "event", f->event);
	cf_json_kv_str(&j, "env", h->ev.env);
	cf_json_kv_str(&j, "database", h->database);
	cf_json_kv_str(&j, "execution_id", ctx->execution_id);
	cf_json_kv_str(&j, "migration_version", f->migration_version);
	cf_json_kv_str(&j, "migration_name", f->migration_name);
	cf_json_kv_str(&j, "table", f->table);
	cf_json_kv_str(&j, "step", f->step);
	cf_json_kv_count(&j, "rows", f->rows);
	cf_json_key(&j, "success");
	if (f->success >= 0)
		cf_json_bool(&j, f->success == 1);
	else
		cf_json_null(&j);
	cf_json_kv_str(&j, "error", h->error);
	cf_json_kv_count(&j, "elapsed_ms", f->elapsed_ms);
	cf_json_obj_end(&j);
	h->json = b.data;
	h->ev.json = h->json;
}

static void hook_ctx_release(hook_ctx *h)
{
	free(h->database);
	free(h->error);
	free(h->json);
}

/* A connection string with a password in it, ours or not, is a secret. */
static bool has_dsn_password(const char *value)
{
	if (!strstr(value, "://") && !strstr(value, "password"))
		return false;
	char *pw = cf_dsn_password(value);
	bool has = pw && *pw;
	cf_secret_free(pw);
	return has;
}

/* Inherited variables that could carry a secret, in any of its written forms
 * (raw, percent-encoded, inside a conninfo), never reach a hook. */
static bool is_secret_var(const cf_ctx *ctx, const char *entry)
{
	static const char *const names[] = {"PGPASSWORD=", "CONFITURE_DATABASE_URL=",
	                                    "CONFITURE_ANON_KEY=", "DATABASE_URL="};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	if (ctx->cfg && ctx->cfg->sync.key_env) {
		size_t n = strlen(ctx->cfg->sync.key_env);
		if (strncmp(entry, ctx->cfg->sync.key_env, n) == 0 && entry[n] == '=')
			return true;
	}
	const char *val = strchr(entry, '=');
	if (val && (cf_scrub_has_secret(&ctx->secrets, val + 1) || has_dsn_password(val + 1)))
		return true;
	return strncmp(entry, "CONFITURE_", 10) == 0; /* ours are set below */
}

static void env_add(cf_strv *env, const char *name, const char *value)
{
	if (value)
		cf_strv_push_owned(env, cf_asprintf("%s=%s", name, value));
}

static void hook_env(const cf_ctx *ctx, const hook_ctx *h, cf_strv *env)
{
	for (char **e = environ; *e; e++)
		if (!is_secret_var(ctx, *e))
			cf_strv_push(env, *e);
	const cf_hook_event *ev = &h->ev;
	env_add(env, "CONFITURE_EVENT", ev->event);
	env_add(env, "CONFITURE_ENV", ev->env);
	env_add(env, "CONFITURE_DATABASE", ev->database);
	env_add(env, "CONFITURE_EXECUTION_ID", ev->execution_id);
	env_add(env, "CONFITURE_MIGRATION_VERSION", ev->migration_version);
	env_add(env, "CONFITURE_MIGRATION_NAME", ev->migration_name);
	env_add(env, "CONFITURE_TABLE", ev->table);
	env_add(env, "CONFITURE_STEP", ev->step);
	env_add(env, "CONFITURE_ERROR", ev->error);
	if (ev->rows >= 0)
		cf_strv_push_owned(env, cf_asprintf("CONFITURE_ROWS=%lld", ev->rows));
	if (ev->success >= 0)
		env_add(env, "CONFITURE_SUCCESS", ev->success ? "true" : "false");
	if (ev->elapsed_ms >= 0)
		cf_strv_push_owned(env, cf_asprintf("CONFITURE_ELAPSED_MS=%lld", ev->elapsed_ms));
	env_add(env, "CONFITURE_PROJECT_DIR", ctx->project_dir);
}

/* ---- Running ---------------------------------------------------------------- */

/* A hook may print a secret it found elsewhere: its output is scrubbed. */
static void log_output(cf_ctx *ctx, const cf_hook_decl *d, const cf_buf *out)
{
	char *clean = cf_scrub_secrets(&ctx->secrets, out->data ? out->data : "");
	const char *p = clean;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			cf_log_info(ctx, "hook %s: %.*s", d->event, (int)n, p);
		p = nl ? nl + 1 : NULL;
	}
	free(clean);
}

static cf_status run_shell(cf_ctx *ctx, const cf_hook_decl *d, const hook_ctx *h)
{
	cf_strv env;
	cf_strv_init(&env);
	hook_env(ctx, h, &env);
	const char *argv[] = {"/bin/sh", "-c", d->run, NULL};
	cf_buf out;
	cf_buf_init(&out);
	cf_proc_opts o = {.argv = argv, .envp = (const char *const *)env.v, .cwd = ctx->project_dir,
	                  .stdin_data = h->json, .stdin_len = strlen(h->json), .output = &out,
	                  .timeout_ms = d->timeout_s * 1000};
	cf_proc_result r;
	cf_status st = cf_proc_run(ctx, &o, &r);
	log_output(ctx, d, &out);
	if (!st && r.timed_out)
		st = cf_error_set(ctx, CF_ERR_VALIDATION, "hook for \"%s\" timed out after %ld s",
		                  d->event, d->timeout_s);
	else if (!st && r.exit_code != 0)
		st = r.signal ? cf_error_set(ctx, CF_ERR_VALIDATION,
		                             "hook for \"%s\" was killed by signal %d", d->event, r.signal)
		              : cf_error_set(ctx, CF_ERR_VALIDATION,
		                             "hook for \"%s\" failed with exit code %d", d->event,
		                             r.exit_code);
	if (st)
		cf_error_detail(ctx, "The hook is declared at %s: %s", d->origin, d->run);
	cf_memzero(out.data, out.len);
	cf_buf_release(&out);
	cf_strv_release(&env);
	return st;
}

static cf_status hook_sql_text(cf_ctx *ctx, const cf_hook_decl *d, char **out)
{
	if (d->sql) {
		*out = cf_strdup(d->sql);
		return CF_OK;
	}
	char *path = cf_path_join(ctx->project_dir, d->sql_file);
	cf_status st = cf_file_read(ctx, path, out, NULL);
	if (st)
		cf_error_detail(ctx, "The hook for \"%s\" is declared at %s.", d->event, d->origin);
	free(path);
	return st;
}

static cf_status run_sql(cf_ctx *ctx, const cf_hook_decl *d, cf_pg *pg)
{
	char *sql = NULL;
	cf_pg *own = NULL;
	cf_status st = hook_sql_text(ctx, d, &sql);
	if (!st && !pg) {
		st = cf_pg_connect_env(ctx, &own);
		pg = own;
	}
	/* A warn-only hook must not poison the caller's transaction. */
	bool guard = !st && !d->is_abort && cf_pg_in_transaction(pg);
	if (guard)
		st = cf_pg_exec(pg, "SAVEPOINT confiture_hook");
	if (!st) {
		st = cf_pg_exec(pg, sql);
		if (st) {
			cf_error_context(ctx, "in the SQL hook for \"%s\" declared at %s", d->event,
			                 d->origin);
			if (guard)
				cf_pg_exec(pg, "ROLLBACK TO SAVEPOINT confiture_hook");
		} else if (guard) {
			st = cf_pg_exec(pg, "RELEASE SAVEPOINT confiture_hook");
		}
	}
	cf_pg_close(own);
	free(sql);
	return st;
}

static cf_status run_decl(cf_ctx *ctx, const cf_hook_decl *d, const hook_ctx *h, cf_pg *pg)
{
	cf_log_debug(ctx, "running hook for %s (%s)", d->event, d->origin);
	return d->run ? run_shell(ctx, d, h) : run_sql(ctx, d, pg);
}

/* Reports a failed hook: abort keeps the error, warn logs and clears it. */
static cf_status settle(cf_ctx *ctx, cf_status st, bool is_abort)
{
	if (!st || is_abort)
		return st;
	cf_log_warning(ctx, "%s (on_failure: warn, continuing)", cf_last_error(ctx));
	cf_ctx_clear_error(ctx);
	return CF_OK;
}

static cf_status run_callbacks(cf_ctx *ctx, const cf_hook_fire *f, const hook_ctx *h)
{
	for (size_t i = 0; i < ctx->n_hook_cbs; i++) {
		const cf_hook_cb *cb = &ctx->hook_cbs[i];
		if (strcmp(cb->event, "*") != 0 && strcmp(cb->event, f->event) != 0)
			continue;
		if (cb->fn(cb->ud, &h->ev) == 0)
			continue;
		if (is_before(f->event))
			return cf_error_set(ctx, CF_ERR_VALIDATION, "hook callback for \"%s\" aborted",
			                    f->event);
		cf_log_warning(ctx, "hook callback for \"%s\" returned an error", f->event);
	}
	return CF_OK;
}

cf_status cf_hooks_fire(cf_ctx *ctx, const cf_hook_fire *f)
{
	if (!cf_hooks_any(ctx, f->event))
		return CF_OK;
	cf_err_stash stash;
	cf_error_stash(ctx, &stash);
	hook_ctx h;
	hook_ctx_init(&h, ctx, f);
	cf_status st = f->part == CF_HOOKS_SQL ? CF_OK : run_callbacks(ctx, f, &h);
	for (size_t i = 0; !st && ctx->cfg && i < ctx->cfg->n_hooks; i++) {
		const cf_hook_decl *d = &ctx->cfg->hooks[i];
		bool is_sql = d->run == NULL;
		if (strcmp(d->event, f->event) != 0 || (f->part == CF_HOOKS_SQL && !is_sql) ||
		    (f->part == CF_HOOKS_OUTSIDE && is_sql))
			continue;
		st = settle(ctx, run_decl(ctx, d, &h, f->pg), d->is_abort);
	}
	hook_ctx_release(&h);
	if (stash.saved) {
		/* Reporting a failure: the original error stays the one reported. */
		if (st)
			cf_log_warning(ctx, "%s", cf_last_error(ctx));
		cf_error_unstash(ctx, &stash);
		return cf_error_code(ctx);
	}
	return st;
}

void cf_hooks_fire_on_error(cf_ctx *ctx, cf_pg *pg)
{
	if (!cf_hooks_any(ctx, "on_error") || !cf_error_is_set(ctx))
		return;
	char *msg = cf_strdup(cf_last_error(ctx));
	cf_hook_fire f = CF_HOOK_FIRE_INIT("on_error");
	f.success = 0;
	f.error = msg;
	f.pg = pg && !cf_pg_is_bad(pg) && !cf_pg_in_transaction(pg) ? pg : NULL;
	cf_hooks_fire(ctx, &f);
	free(msg);
}

/* ---- Introspection --------------------------------------------------------- */

size_t cf_hooks_list(const cf_ctx *ctx, cf_hook_info **out)
{
	size_t n = ctx->n_hook_cbs + (ctx->cfg ? ctx->cfg->n_hooks : 0), k = 0;
	cf_hook_info *v = cf_calloc(n + 1, sizeof(*v));
	for (size_t e = 0; EVENTS[e]; e++) {
		for (size_t i = 0; i < ctx->n_hook_cbs; i++) {
			const cf_hook_cb *cb = &ctx->hook_cbs[i];
			if (strcmp(cb->event, EVENTS[e]) == 0 || (e == 0 && strcmp(cb->event, "*") == 0))
				v[k++] = (cf_hook_info){.event = cb->event, .kind = "callback",
				                        .action = "(C callback)", .is_abort = true,
				                        .origin = cb->origin};
		}
		for (size_t i = 0; ctx->cfg && i < ctx->cfg->n_hooks; i++) {
			const cf_hook_decl *d = &ctx->cfg->hooks[i];
			if (strcmp(d->event, EVENTS[e]) != 0)
				continue;
			v[k++] = (cf_hook_info){
				.event = d->event,
				.kind = d->run ? "run" : d->sql ? "sql" : "sql_file",
				.action = d->run ? d->run : d->sql ? d->sql : d->sql_file,
				.timeout_s = d->timeout_s,
				.is_abort = d->is_abort,
				.origin = d->origin,
			};
		}
	}
	*out = v;
	return k;
}

cf_status cf_hooks_test(cf_ctx *ctx, const char *event)
{
	if (!is_event(event)) {
		cf_error_set(ctx, CF_ERR_USAGE, "unknown hook event \"%s\"", event);
		const char *best = cf_closest(event, EVENTS, sizeof(EVENTS) / sizeof(*EVENTS) - 1);
		if (best)
			cf_error_hint(ctx, "Did you mean \"%s\"?", best);
		return CF_ERR_USAGE;
	}
	cf_hook_fire f = CF_HOOK_FIRE_INIT(event);
	bool per_migration = strstr(event, "migration") && strcmp(event, "before_migrate") != 0;
	if (per_migration || strcmp(event, "migration_failed") == 0) {
		f.migration_version = "20260101000000";
		f.migration_name = "sample_migration";
	}
	if (strstr(event, "table")) {
		f.table = "public.sample_table";
		f.rows = 42;
	}
	if (strstr(event, "s2s"))
		f.step = "migrate";
	if (strncmp(event, "after_", 6) == 0) {
		f.success = 1;
		f.elapsed_ms = 12;
	}
	if (strcmp(event, "migration_failed") == 0 || strcmp(event, "on_error") == 0) {
		f.success = 0;
		f.error = "sample error";
	}
	return cf_hooks_fire(ctx, &f);
}
