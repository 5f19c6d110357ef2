/* Unit tests: YAML positions, ${VAR}, layering, unknown keys, precursor keys. */
#include "t.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"

#include <stdlib.h>
#include <unistd.h>

static char proj[64];

static void write_file(const char *rel, const char *text)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(proj, rel);
	cf_file_write_atomic(ctx, p, text, strlen(text));
	free(p);
	cf_ctx_free(ctx);
}

static void reset_project(void)
{
	cf_ctx *ctx = cf_ctx_new();
	if (proj[0])
		cf_remove_tree(ctx, proj);
	strcpy(proj, "/tmp/cf_cfg_XXXXXX");
	mkdtemp(proj);
	cf_ctx_free(ctx);
}

/* Loads ENV of the scratch project; returns the status, leaves ctx for inspection. */
static cf_status load(cf_ctx *ctx, const char *env)
{
	return cf_ctx_load(ctx, proj, env);
}

static void test_yaml_positions(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ydoc *doc = NULL;
	const char *text = "a: 1\nb:\n  - x\n  - 'y'\nc: {d: ~}\n";
	CHECK_INT(cf_yaml_parse(ctx, "t.yaml", text, strlen(text), 0, &doc), CF_OK, "parses");
	cf_ynode *b = cf_ynode_get(doc->root, "b");
	CHECK(b && b->kind == CF_Y_SEQ && b->n == 2, "sequence");
	CHECK_INT(b->v[1]->line, 4, "item line");
	CHECK_INT(b->v[1]->column, 5, "item column");
	CHECK(b->v[1]->is_quoted, "quoted scalar");
	CHECK(cf_ynode_get(cf_ynode_get(doc->root, "c"), "d")->kind == CF_Y_NULL, "~ is null");
	cf_ydoc_free(doc);

	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	CHECK_INT(cf_yaml_parse(ctx, "bad.yaml", bad, strlen(bad), 0, &doc), CF_ERR_CONFIG,
	          "malformed YAML is a config error");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->file, "bad.yaml", "malformed YAML names the file");
	CHECK(e->line == 3, "malformed YAML names the line (got %d)", e->line);
	cf_ctx_clear_error(ctx);

	const char *dup = "a: 1\na: 2\n";
	CHECK_INT(cf_yaml_parse(ctx, "dup.yaml", dup, strlen(dup), 0, &doc), CF_ERR_CONFIG,
	          "duplicate keys are an error");
	CHECK_STR(cf_last_error(ctx), "duplicate key \"a\" in \"dup.yaml\"", "duplicate key message");
	CHECK_INT(cf_last_error_info(ctx)->line, 2, "duplicate key line");
	cf_ctx_clear_error(ctx);

	const char *anchors = "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n";
	CHECK_INT(cf_yaml_parse(ctx, "m.yaml", anchors, strlen(anchors), 0, &doc), CF_OK, "anchors");
	cf_ynode *d = cf_ynode_get(doc->root, "derived");
	CHECK_STR(cf_ynode_get(d, "x")->str, "1", "merge key brings x");
	CHECK_STR(cf_ynode_get(d, "y")->str, "3", "own keys win over merged ones");
	cf_ydoc_free(doc);
	cf_ctx_free(ctx);
}

static void test_expand(void)
{
	char *missing = NULL;
	setenv("CF_T_HOST", "db.example", 1);
	unsetenv("CF_T_NOPE");
	setenv("CF_T_EMPTY", "", 1);
	char *s = cf_expand_vars("postgresql://${CF_T_HOST}:${CF_T_PORT:-5432}/x", &missing);
	CHECK_STR(s, "postgresql://db.example:5432/x", "${VAR} and ${VAR:-default}");
	free(s);
	s = cf_expand_vars("${CF_T_EMPTY:-fallback}", &missing);
	CHECK_STR(s, "fallback", ":- applies to an empty variable too");
	free(s);
	s = cf_expand_vars("cost $5 and $${CF_T_HOST}", &missing);
	CHECK_STR(s, "cost $5 and ${CF_T_HOST}", "$$ escapes, lone $ stays");
	free(s);
	s = cf_expand_vars("a ${CF_T_NOPE} b", &missing);
	CHECK(s == NULL, "a missing variable fails");
	CHECK_STR(missing, "CF_T_NOPE", "and is named");
	free(missing);
}

static void test_layering(void)
{
	reset_project();
	write_file("confiture.yaml",
	           "default_env: dev\n"
	           "migration:\n  lock_timeout_ms: 1000\n  dir: top/migrations\n"
	           "environments:\n  dev:\n    migration:\n      lock_timeout_ms: 2000\n"
	           "      strict_mode: true\n"
	           "  prod:\n    protected: true\n");
	write_file("db/environments/dev.yaml",
	           "database_url: postgresql://u:s3cret@h/dev\nmigration:\n  lock_timeout_ms: 3000\n");
	cf_ctx *ctx = cf_ctx_new();
	setenv("CONFITURE_MIGRATION_STRICT_MODE", "false", 1);
	CHECK_INT(load(ctx, NULL), CF_OK, "loads default_env");
	CHECK_STR(cf_ctx_env(ctx), "dev", "default_env picks the environment");
	CHECK_INT(ctx->cfg->migration.lock_timeout_ms, 3000, "env file beats confiture.yaml");
	CHECK_STR(ctx->cfg->migration.dir, "top/migrations", "top-level keys apply to every env");
	CHECK(!ctx->cfg->migration.strict_mode, "CONFITURE_* beats the files");
	unsetenv("CONFITURE_MIGRATION_STRICT_MODE");
	CHECK_INT(cf_ctx_set_option(ctx, "migration.lock_timeout_ms", "4000", "--lock-timeout"), CF_OK,
	          "flag override");
	CHECK_INT(ctx->cfg->migration.lock_timeout_ms, 4000, "flags beat everything");
	cf_ctx_free(ctx);

	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "prod"), CF_OK, "environment only in confiture.yaml");
	CHECK(ctx->cfg->is_protected, "protected from environments:");
	CHECK_INT(ctx->cfg->migration.lock_timeout_ms, 1000, "top-level value when env has none");
	cf_ctx_free(ctx);

	ctx = cf_ctx_new();
	setenv("CONFITURE_ENV", "prod", 1);
	CHECK_INT(load(ctx, NULL), CF_OK, "CONFITURE_ENV");
	CHECK_STR(cf_ctx_env(ctx), "prod", "CONFITURE_ENV beats default_env");
	unsetenv("CONFITURE_ENV");
	cf_ctx_free(ctx);
}

static void test_errors(void)
{
	reset_project();
	write_file("db/environments/local.yaml", "databse_url: x\n");
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_ERR_CONFIG, "unknown key is a config error");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "unknown key \"databse_url\" in the environment", "unknown key message");
	CHECK_STR(e->hint, "Did you mean \"database_url\"?", "did you mean");
	CHECK_INT(e->line, 1, "unknown key line");
	CHECK(e->file && strstr(e->file, "db/environments/local.yaml"), "unknown key file");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "migration:\n  lock_timeout_ms: soon\n");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_ERR_CONFIG, "wrong type is a config error");
	e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "invalid value for \"migration.lock_timeout_ms\": expected an integer "
	                      "from 0 to 2147483647, got \"soon\"", "wrong type message");
	CHECK_INT(e->line, 2, "wrong type line");
	CHECK_INT(e->column, 20, "wrong type column");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "migration:\n  trackng_table: t\n");
	ctx = cf_ctx_new();
	load(ctx, "local");
	CHECK_STR(cf_last_error(ctx), "unknown key \"trackng_table\" in section \"migration\"",
	          "unknown nested key names the section");
	CHECK_STR(cf_last_error_info(ctx)->hint, "Did you mean \"tracking_table\"?", "nested hint");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "database_url: postgresql://${CF_T_MISSING}/db\n");
	unsetenv("CF_T_MISSING");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_ERR_CONFIG, "dangling ${VAR}");
	CHECK_STR(cf_last_error(ctx), "environment variable \"CF_T_MISSING\" is not set",
	          "the missing variable is named");
	CHECK_INT(cf_last_error_info(ctx)->line, 1, "at its line");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "database_url: embedded\n");
	write_file("db/environments/staging.yaml", "database_url: postgresql:///s\n");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "stagin"), CF_ERR_CONFIG, "unknown environment");
	e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "unknown environment \"stagin\"", "unknown env message");
	CHECK_STR(e->detail, "Defined environments: local, staging.", "lists the environments");
	CHECK_STR(e->hint, "Did you mean \"staging\"?", "suggests the closest");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml",
	           "hooks:\n  before_migratoin:\n    - run: 'true'\n");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_ERR_CONFIG, "unknown hook event");
	CHECK_STR(cf_last_error_info(ctx)->hint, "Did you mean \"before_migration\"?",
	          "hook event did-you-mean");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "build:\n  sort_mode: random\n");
	ctx = cf_ctx_new();
	load(ctx, "local");
	CHECK_STR(cf_last_error(ctx), "invalid value for \"build.sort_mode\": expected one of "
	                              "path|alphabetical|hex, got \"random\"", "enum message");
	cf_ctx_free(ctx);
}

static void test_precursor_file(void)
{
	reset_project();
	/* An environment file as the Python precursor writes it. */
	write_file("db/environments/local.yaml",
	           "name: local\n"
	           "database_url: postgresql://localhost/confiture_local\n"
	           "include_dirs:\n"
	           "  - db/schema\n"
	           "  - path: db/extra\n    recursive: false\n    include: ['*.sql']\n"
	           "    order: 10\n    auto_discover: true\n"
	           "exclude_dirs: []\n"
	           "auto_backup: false\nrequire_confirmation: false\n"
	           "build:\n  sort_mode: hex\n  separators: {style: line_comment}\n"
	           "  validate_comments: {enabled: true, fail_on_spillover: true}\n  two_pass: false\n"
	           "migration:\n  tracking_table: confiture_migrations\n"
	           "  locking: {enabled: true, timeout_ms: 5000}\n  view_helpers: auto\n"
	           "seed:\n  execution_mode: sequential\n  profiles: {lean: {include: ['0*.sql']}}\n"
	           "pggit: {enabled: false}\n");
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_OK, "a precursor env file loads");
	if (cf_error_is_set(ctx))
		printf("    %s\n", cf_last_error(ctx));
	const cf_config *c = ctx->cfg;
	CHECK_STR(c->migration.tracking_table, "confiture_migrations", "tracking_table");
	CHECK_INT(c->migration.lock_timeout_ms, 5000, "locking.timeout_ms");
	CHECK_STR(c->build.separator_style, "line_comment", "separators: {style}");
	CHECK_STR(c->build.sort_mode, "hex", "sort_mode");
	CHECK_STR(c->seed.execution_mode, "sequential", "seed.execution_mode");
	CHECK_INT(c->n_include_dirs, 2, "two include dirs");
	CHECK(c->n_include_dirs == 2 && !c->include_dirs[1].recursive && c->include_dirs[1].order == 10,
	      "dict include_dirs entry");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml",
	           "database:\n  host: db.internal\n  port: 5433\n  database: app\n  user: me\n"
	           "  password: pw\n");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_OK, "precursor database: map");
	CHECK_STR(ctx->cfg->database_url, "host='db.internal' port='5433' dbname='app' user='me' "
	                                  "password='pw'", "folded into a conninfo");
	cf_ctx_free(ctx);

	write_file("db/environments/local.yaml", "build:\n  separators: mysql\n"
	                                          "  validate_comments: false\n");
	ctx = cf_ctx_new();
	CHECK_INT(load(ctx, "local"), CF_OK, "scalar shorthand for sections");
	CHECK_STR(ctx->cfg->build.separator_style, "mysql", "separators: STYLE");
	CHECK(!ctx->cfg->build.validate_comments, "validate_comments: BOOL");
	cf_ctx_free(ctx);
}

static void test_local_default(void)
{
	reset_project();
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(load(ctx, NULL), CF_OK, "an empty project loads");
	CHECK_STR(cf_ctx_env(ctx), "local", "local is the default environment");
	CHECK(cf_config_is_embedded(ctx->cfg), "local without database_url is embedded");
	CHECK_INT(ctx->cfg->n_include_dirs, 2, "default include_dirs");
	CHECK(ctx->cfg->include_dirs[0].origin == NULL, "default include dirs have no origin");
	cf_ctx_free(ctx);
	setenv("CONFITURE_INCLUDE_DIRS", "sql/a, sql/b", 1);
	ctx = cf_ctx_new();
	load(ctx, NULL);
	CHECK(ctx->cfg->n_include_dirs == 2 && strcmp(ctx->cfg->include_dirs[1].path, "sql/b") == 0,
	      "CONFITURE_INCLUDE_DIRS is a comma-separated list");
	CHECK_STR(ctx->cfg->include_dirs[1].origin, "env CONFITURE_INCLUDE_DIRS",
	          "and its dirs carry that origin");
	unsetenv("CONFITURE_INCLUDE_DIRS");
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	unsetenv("CONFITURE_ENV");
	test_yaml_positions();
	test_expand();
	test_layering();
	test_errors();
	test_precursor_file();
	test_local_default();
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, proj);
	cf_ctx_free(ctx);
	return t_done();
}
