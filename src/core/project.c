/* project.c -- init, validate-config and doctor: project-level services. */
#include "buf.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "log.h"
#include "pg.h"
#include "scaffold.h"
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- init --------------------------------------------------------------- */

static const char PROJECT_FILE[] =
	"# confiture project file. Every key is documented, with its default, in\n"
	"# confiture.yaml.example of the confiture sources (docs/configuration.md).\n"
	"default_env: local\n"
	"\n"
	"# Keys here apply to every environment; db/environments/NAME.yaml and the\n"
	"# environments: block below override them.\n"
	"migration:\n"
	"  dir: db/migrations\n"
	"  tracking_table: tb_confiture\n"
	"\n"
	"# environments:\n"
	"#   staging:\n"
	"#     database_url: ${STAGING_DATABASE_URL}\n"
	"#   production:\n"
	"#     database_url: ${PRODUCTION_DATABASE_URL}\n"
	"#     protected: true\n"
	"\n"
	"# hooks:\n"
	"#   after_migrate:\n"
	"#     - run: 'echo \"migrated $CONFITURE_DATABASE\"'\n"
	"#       timeout_s: 30\n"
	"#       on_failure: warn\n";

static const char *const GITIGNORE_LINES[] = {".confiture/", "db/generated/"};

void cf_init_result_free(cf_init_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_written; i++)
		free(r->written[i]);
	for (size_t i = 0; i < r->n_kept; i++)
		free(r->kept[i]);
	free(r->written);
	free(r->kept);
	free(r->dir);
	free(r);
}

typedef struct init_file {
	const char *path;
	const char *content;
} init_file;

static size_t init_files(init_file *out, size_t max)
{
	size_t n = 0;
	out[n++] = (init_file){"confiture.yaml", PROJECT_FILE};
	for (const cf_template_file *t = cf_template_files; t->path && n < max; t++)
		out[n++] = (init_file){t->path, t->content};
	return n;
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = cf_realloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = cf_strdup(s);
}

/* Appends the .gitignore lines that are missing. */
static cf_status gitignore_update(cf_ctx *ctx, const char *dir, cf_init_result *r)
{
	char *path = cf_path_join(dir, ".gitignore");
	char *text = NULL;
	cf_status st = CF_OK;
	bool existed = cf_is_file(path);
	if (existed && (st = cf_file_read(ctx, path, &text, NULL)))
		goto done;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, text ? text : "");
	bool changed = false;
	for (size_t i = 0; i < 2; i++) {
		bool has = false;
		for (const char *p = b.data; p && *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (len == strlen(GITIGNORE_LINES[i]) && strncmp(p, GITIGNORE_LINES[i], len) == 0)
				has = true;
			p = nl ? nl + 1 : NULL;
		}
		if (has)
			continue;
		if (b.len && b.data[b.len - 1] != '\n')
			cf_buf_putc(&b, '\n');
		cf_buf_printf(&b, "%s\n", GITIGNORE_LINES[i]);
		changed = true;
	}
	if (changed)
		st = cf_file_write_atomic(ctx, path, b.data, b.len);
	if (!st && changed)
		push(existed ? &r->kept : &r->written, existed ? &r->n_kept : &r->n_written,
		     ".gitignore");
	cf_buf_release(&b);
done:
	free(text);
	free(path);
	return st;
}

cf_status cf_init_project(cf_ctx *ctx, const char *dir, bool force, cf_init_result **out)
{
	*out = NULL;
	const char *d = dir && *dir ? dir : ".";
	cf_status st = cf_mkdirs(ctx, d, 0755);
	if (st)
		return st;
	char real[PATH_MAX];
	if (!realpath(d, real))
		return cf_error_set(ctx, CF_ERR_IO, "could not resolve \"%s\": %s", d, strerror(errno));
	init_file files[128];
	size_t n = init_files(files, 128);
	cf_strv existing;
	cf_strv_init(&existing);
	for (size_t i = 0; i < n; i++) {
		char *p = cf_path_join(real, files[i].path);
		if (cf_is_file(p) || cf_is_dir(p))
			cf_strv_push(&existing, files[i].path);
		free(p);
	}
	if (existing.n && !force) {
		char *list = cf_strv_join(&existing, ", ");
		st = cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to overwrite existing files in \"%s\"",
		                  real);
		cf_error_detail(ctx, "Already there: %s.", list);
		cf_error_hint(ctx, "Use --force to overwrite them, or init into an empty directory.");
		free(list);
		cf_strv_release(&existing);
		return st;
	}
	cf_strv_release(&existing);
	cf_init_result *r = cf_calloc(1, sizeof(*r));
	r->dir = cf_strdup(real);
	for (size_t i = 0; i < n && !st; i++) {
		char *p = cf_path_join(real, files[i].path);
		st = cf_file_write_atomic(ctx, p, files[i].content, strlen(files[i].content));
		if (!st)
			push(&r->written, &r->n_written, files[i].path);
		free(p);
	}
	if (!st)
		st = gitignore_update(ctx, real, r);
	r->success = st == CF_OK;
	*out = r;
	return st;
}

/* ---- validate-config ---------------------------------------------------- */

void cf_validate_result_free(cf_validate_result *r)
{
	if (!r)
		return;
	free(r->project_file);
	for (size_t i = 0; i < r->n_envs; i++)
		free(r->envs[i]);
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->envs);
	free(r->warnings);
	free(r);
}

/* Records an error at ORIGIN ("file:line"). */
static cf_status error_at_origin(cf_ctx *ctx, const char *origin)
{
	const char *colon = origin ? strrchr(origin, ':') : NULL;
	if (colon) {
		char *file = cf_strndup(origin, (size_t)(colon - origin));
		cf_error_at(ctx, file, atoi(colon + 1), 0);
		free(file);
	}
	return CF_ERR_CONFIG;
}

static bool ident_ok(const char *s)
{
	if (!*s || (!isalpha((unsigned char)*s) && *s != '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return strlen(s) < 64;
}

static bool table_name_ok(const char *name)
{
	const char *dot = strchr(name, '.');
	if (!dot)
		return ident_ok(name);
	char *schema = cf_strndup(name, (size_t)(dot - name));
	bool ok = ident_ok(schema) && ident_ok(dot + 1);
	free(schema);
	return ok;
}

static void visit_origin(void *ud, const char *key, const char *value, const char *origin)
{
	(void)value;
	struct {
		const char *key;
		char *origin;
	} *f = ud;
	if (strcmp(key, f->key) == 0)
		cf_str_set(&f->origin, origin);
}

static char *key_origin(const cf_config *cfg, const char *key)
{
	struct {
		const char *key;
		char *origin;
	} f = {key, NULL};
	cf_config_visit(cfg, visit_origin, &f);
	return f.origin;
}

static cf_status check_env(cf_ctx *ctx, const cf_config *cfg, const char *project_dir,
                           cf_validate_result *r)
{
	cf_status st = CF_OK;
	char *bad = NULL;
	if (cfg->database_url && !cf_config_is_embedded(cfg) && *cfg->database_url &&
	    !cf_dsn_valid(cfg->database_url, &bad)) {
		char *origin = key_origin(cfg, "database_url");
		st = cf_error_set(ctx, CF_ERR_CONFIG, "invalid value for \"database_url\": %s", bad);
		cf_error_hint(ctx, "Write a libpq URI (postgresql://user@host:5432/db), key=value "
		                   "pairs, or \"embedded\".");
		error_at_origin(ctx, origin);
		free(origin);
		free(bad);
		return st;
	}
	if (!table_name_ok(cfg->migration.tracking_table)) {
		char *origin = key_origin(cfg, "migration.tracking_table");
		st = cf_error_set(ctx, CF_ERR_CONFIG,
		                  "invalid value for \"migration.tracking_table\": \"%s\" is not a "
		                  "plain table name", cfg->migration.tracking_table);
		cf_error_hint(ctx, "Use letters, digits and underscores, optionally schema.table.");
		error_at_origin(ctx, origin);
		free(origin);
		return st;
	}
	for (size_t i = 0; i < cfg->n_hooks; i++) {
		const cf_hook_decl *h = &cfg->hooks[i];
		char *p = h->sql_file ? cf_path_join(project_dir, h->sql_file) : NULL;
		bool missing = p && !cf_is_file(p);
		free(p);
		if (missing) {
			st = cf_error_set(ctx, CF_ERR_CONFIG, "hook file \"%s\" for \"%s\" does not exist",
			                  h->sql_file, h->event);
			return error_at_origin(ctx, h->origin);
		}
	}
	for (size_t i = 0; i < cfg->plugins.n; i++) {
		char *p = cf_path_join(project_dir, cfg->plugins.v[i]);
		bool missing = !cf_is_file(p);
		free(p);
		if (missing) {
			char *origin = key_origin(cfg, "plugins");
			st = cf_error_set(ctx, CF_ERR_CONFIG, "plugin \"%s\" does not exist",
			                  cfg->plugins.v[i]);
			error_at_origin(ctx, origin);
			free(origin);
			return st;
		}
	}
	for (size_t i = 0; i < cfg->n_include_dirs; i++) {
		const cf_include_dir *d = &cfg->include_dirs[i];
		char *p = cf_path_join(project_dir, d->path);
		if (!cf_is_dir(p) && d->origin) {
			char *w = cf_asprintf("%s: include directory \"%s\" does not exist", d->origin,
			                      d->path);
			push(&r->warnings, &r->n_warnings, w);
			free(w);
		}
		free(p);
	}
	return CF_OK;
}

cf_status cf_validate_config(cf_ctx *ctx, const char *project_dir, const char *env, bool all,
                             cf_validate_result **out)
{
	cf_validate_result *r = cf_calloc(1, sizeof(*r));
	*out = r;
	cf_status st = cf_ctx_load(ctx, project_dir, env);
	if (st)
		return st;
	cf_strv names;
	cf_strv_init(&names);
	char *file = cf_strdup(ctx->project_file);
	r->project_file = cf_strdup(file);
	if (all) {
		st = cf_config_env_names(ctx, ctx->project_dir, file, &names);
		if (!cf_strv_contains(&names, ctx->env))
			cf_strv_push(&names, ctx->env);
	} else {
		cf_strv_push(&names, ctx->env);
	}
	for (size_t i = 0; !st && i < names.n; i++) {
		cf_config *cfg = NULL;
		st = cf_config_load(ctx, ctx->project_dir, file, names.v[i], &ctx->overrides, &cfg);
		if (!st)
			st = check_env(ctx, cfg, ctx->project_dir, r);
		if (st)
			cf_error_context(ctx, "in environment \"%s\"", names.v[i]);
		else
			push(&r->envs, &r->n_envs, names.v[i]);
		cf_config_free(cfg);
	}
	free(file);
	cf_strv_release(&names);
	r->success = st == CF_OK;
	return st;
}

/* ---- doctor --------------------------------------------------------------- */

void cf_doctor_report_free(cf_doctor_report *r)
{
	if (!r)
		return;
	free(r->env);
	free(r->project_dir);
	free(r->project_file);
	free(r->target);
	free(r->server_version);
	free(r->current_user);
	free(r->tracking_table);
	free(r->current_version);
	free(r->ledger_error);
	free(r);
}

static cf_status doctor_probe(cf_pg *pg, cf_doctor_report *r)
{
	cf_pgres *res = NULL;
	const char *params[] = {r->tracking_table};
	cf_status st = cf_pg_query(
		pg,
		"SELECT version(), current_user, "
		"  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
		"  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw'), "
		"  EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgres_fdw'), "
		"  to_regclass($1) IS NOT NULL",
		1, params, &res);
	if (st)
		return st;
	r->server_version = cf_strdup(cf_pgres_get(res, 0, 0));
	r->current_user = cf_strdup(cf_pgres_get(res, 0, 1));
	r->is_superuser = strcmp(cf_pgres_get(res, 0, 2) ? cf_pgres_get(res, 0, 2) : "f", "t") == 0;
	r->has_fdw_available = strcmp(cf_pgres_get(res, 0, 3), "t") == 0;
	r->has_fdw_installed = strcmp(cf_pgres_get(res, 0, 4), "t") == 0;
	r->has_ledger = strcmp(cf_pgres_get(res, 0, 5), "t") == 0;
	cf_pgres_free(res);
	if (!r->has_ledger)
		return CF_OK;
	char *sql = cf_sql_format(pg, "SELECT count(*), max(version) FROM %Q", r->tracking_table);
	st = cf_pg_query(pg, sql, 0, NULL, &res);
	free(sql);
	if (st) {
		/* Seeing the ledger is a finding, not a failure of doctor. */
		r->ledger_error = cf_strdup(cf_last_error(cf_pg_ctx(pg)));
		cf_ctx_clear_error(cf_pg_ctx(pg));
		return CF_OK;
	}
	r->n_applied = atol(cf_pgres_get(res, 0, 0));
	r->current_version = cf_strdup(cf_pgres_get(res, 0, 1));
	cf_pgres_free(res);
	return CF_OK;
}

cf_status cf_doctor(cf_ctx *ctx, cf_doctor_report **out)
{
	cf_doctor_report *r = cf_calloc(1, sizeof(*r));
	*out = r;
	r->env = cf_strdup(ctx->env);
	r->project_dir = cf_strdup(ctx->project_dir);
	r->project_file = cf_strdup(ctx->project_file);
	r->is_embedded = cf_config_is_embedded(ctx->cfg);
	r->tracking_table = cf_strdup(ctx->cfg->migration.tracking_table);
	char *conninfo = NULL;
	cf_pg *pg = NULL;
	cf_status st = cf_ctx_conninfo(ctx, &conninfo);
	r->target = cf_dsn_mask(conninfo ? conninfo : ctx->cfg->database_url);
	double t0 = cf_now();
	if (!st)
		st = cf_pg_connect(ctx, conninfo, &pg);
	cf_secret_free(conninfo);
	if (!st) {
		r->is_connected = true;
		r->connect_ms = (cf_now() - t0) * 1000.0;
		r->server_version_num = cf_pg_server_version(pg);
		free(r->target);
		r->target = cf_strdup(cf_pg_display(pg));
		st = doctor_probe(pg, r);
	}
	cf_pg_close(pg);
	return st;
}
