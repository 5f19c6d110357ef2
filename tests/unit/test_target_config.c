/*
 * Unit tests: the configuration side of "never the wrong database" (issue 12
 * §1, §2, §4): protection only a file can lift, the protection scan's
 * files-only and lenient loads, one database per command, an environment
 * file as --config, -d with a bare name, and hook commands kept as written.
 */
#include "t.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "pg.h"

#include <stdlib.h>
#include <unistd.h>

static char proj[64];

static void write_file(const char *rel, const char *text)
{
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(proj, rel);
	char *dir = cf_strdup(p);
	*strrchr(dir, '/') = '\0';
	cf_mkdirs(ctx, dir, 0755);
	cf_file_write_atomic(ctx, p, text, strlen(text));
	free(dir);
	free(p);
	cf_ctx_free(ctx);
}

static void reset_project(void)
{
	cf_ctx *ctx = cf_ctx_new();
	if (proj[0])
		cf_remove_tree(ctx, proj);
	strcpy(proj, "/tmp/cf_tgt_XXXXXX");
	if (!mkdtemp(proj))
		abort();
	cf_ctx_free(ctx);
}

static void test_protection_is_never_lifted(void)
{
	reset_project();
	write_file("db/environments/prod.yaml", "database_url: postgresql://h/app\nprotected: true\n");
	write_file("db/environments/dev.yaml", "database_url: postgresql://h/dev\n");
	setenv("CONFITURE_PROTECTED", "false", 1);
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "prod"), CF_OK, "prod loads");
	CHECK(ctx->cfg->is_protected, "CONFITURE_PROTECTED=false does not lift protection");
	CHECK_INT(cf_ctx_set_option(ctx, "protected", "false", "--api"), CF_OK, "an override is taken");
	CHECK(ctx->cfg->is_protected, "but an override does not lift it either");
	cf_ctx_free(ctx);
	setenv("CONFITURE_PROTECTED", "true", 1);
	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "dev"), CF_OK, "dev loads");
	CHECK(ctx->cfg->is_protected, "CONFITURE_PROTECTED=true adds protection");
	cf_config *cfg = NULL;
	CHECK_INT(cf_config_load_files(ctx, proj, NULL, "dev", false, &cfg), CF_OK, "files only");
	CHECK(cfg && !cfg->is_protected, "a files-only load ignores CONFITURE_PROTECTED");
	cf_config_free(cfg);
	unsetenv("CONFITURE_PROTECTED");
	cf_ctx_free(ctx);
	/* The environment's own file can say false over the project's default. */
	write_file("confiture.yaml", "protected: true\n");
	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "prod"), CF_OK, "loads");
	write_file("db/environments/dev.yaml", "database_url: postgresql://h/dev\nprotected: false\n");
	CHECK_INT(cf_ctx_load(ctx, proj, "dev"), CF_OK, "loads dev");
	CHECK(!ctx->cfg->is_protected, "the environment's file may say protected: false");
	cf_ctx_free(ctx);
}

static void test_files_only_and_lenient(void)
{
	reset_project();
	unsetenv("CF_TT_UNSET");
	write_file("db/environments/prod.yaml",
	           "database_url: ${CF_TT_UNSET}\nprotected: true\nhooks:\n"
	           "  before_build:\n    - run: 'echo ${CF_TT_UNSET}'\n");
	write_file("db/environments/odd.yaml", "database_url: postgresql://h/x\n"
	                                       "protected: ${CF_TT_UNSET}\n");
	cf_ctx *ctx = cf_ctx_new();
	cf_config *cfg = NULL;
	CHECK_INT(cf_config_load_files(ctx, proj, NULL, "prod", true, &cfg), CF_OK,
	          "a lenient load survives an unset variable");
	CHECK(cfg && cfg->is_protected, "and sees the protection");
	CHECK_STR(cfg ? cfg->unresolved_var : NULL, "CF_TT_UNSET", "and names the variable");
	cf_config_free(cfg);
	cfg = NULL;
	CHECK_INT(cf_config_load_files(ctx, proj, NULL, "odd", true, &cfg), CF_OK, "odd loads");
	CHECK(cfg && cfg->is_protected, "protected: ${UNSET} is taken as protected");
	cf_config_free(cfg);
	cfg = NULL;
	CHECK_INT(cf_config_load_files(ctx, proj, NULL, "prod", false, &cfg), CF_ERR_CONFIG,
	          "a strict load does not");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e ? e->message : NULL, "environment variable \"CF_TT_UNSET\" is not set",
	          "the unset variable is named");
	CHECK(e && e->line == 1, "at its line");
	cf_ctx_free(ctx);
}

static void test_hook_commands_as_written(void)
{
	reset_project();
	unsetenv("CF_TT_UNSET");
	setenv("CF_TT_USER", "x; touch pwned", 1);
	write_file("confiture.yaml",
	           "hooks:\n  before_build:\n"
	           "    - run: 'echo ${CF_TT_USER:-x} ${CF_TT_UNSET}'\n"
	           "    - run: 'echo $${CF_TT_USER} $$ $HOME'\n"
	           "    - sql: \"INSERT INTO t VALUES ('${CF_TT_USER}')\"\n"
	           "      timeout_s: 5\n");
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "local"), CF_OK,
	          "an unset variable in a hook command is no error");
	CHECK(ctx->cfg->n_hooks == 3, "three hooks");
	if (ctx->cfg->n_hooks == 3) {
		CHECK_STR(ctx->cfg->hooks[0].run, "echo ${CF_TT_USER:-x} ${CF_TT_UNSET}",
		          "run: keeps ${VAR} for the shell");
		CHECK_STR(ctx->cfg->hooks[1].run, "echo ${CF_TT_USER} $$ $HOME",
		          "$${ is a literal ${; $$ and $VAR stay");
		CHECK_STR(ctx->cfg->hooks[2].sql, "INSERT INTO t VALUES ('${CF_TT_USER}')",
		          "sql: keeps ${VAR} literal");
	}
	cf_ctx_free(ctx);
	write_file("confiture.yaml", "hooks:\n  before_build:\n    - run: 'true'\n"
	                             "      timeout_s: ${CF_TT_UNSET}\n");
	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "local"), CF_ERR_CONFIG,
	          "an unset variable elsewhere in a hook is still an error");
	cf_ctx_free(ctx);
	unsetenv("CF_TT_USER");
}

static void test_one_database_per_command(void)
{
	reset_project();
	write_file("db/environments/staging.yaml", "database_url: postgresql://h/staging\n");
	setenv("CONFITURE_DATABASE_URL", "postgresql://u:pw@prod/app", 1);
	cf_ctx *ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, "staging"), CF_ERR_USAGE,
	          "CONFITURE_DATABASE_URL with an explicit environment is refused");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(e && strstr(e->message, "CONFITURE_DATABASE_URL") && strstr(e->message, "\"staging\""),
	      "the message names both");
	CHECK(e && e->detail && !strstr(e->detail, "pw@"), "the detail masks the password");
	cf_ctx_free(ctx);
	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_set_database_url(ctx, "postgresql://h/other"), CF_OK, "-d");
	CHECK_INT(cf_ctx_load(ctx, proj, "staging"), CF_OK, "an explicit -d still overrides");
	CHECK_STR(ctx->cfg->database_url, "postgresql://h/other", "with -d's database");
	cf_ctx_free(ctx);
	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_load(ctx, proj, NULL), CF_OK, "without -e the variable is honoured");
	cf_ctx_free(ctx);
	unsetenv("CONFITURE_DATABASE_URL");

	ctx = cf_ctx_new();
	CHECK_INT(cf_ctx_set_database_url(ctx, "my db"), CF_OK, "a bare database name");
	CHECK_INT(cf_ctx_load(ctx, proj, NULL), CF_OK, "loads");
	char *db = cf_dsn_dbname(ctx->cfg->database_url);
	CHECK_STR(db, "my db", "-d NAME is dbname=NAME");
	free(db);
	cf_ctx_free(ctx);
}

static void test_env_file_as_config(void)
{
	reset_project();
	write_file("db/environments/production.yaml", "database_url: postgresql://h/app\n");
	write_file("confiture.yaml", "default_env: local\n");
	cf_ctx *ctx = cf_ctx_new();
	char *p = cf_path_join(proj, "db/environments/production.yaml");
	CHECK_INT(cf_ctx_set_config_file(ctx, p), CF_ERR_CONFIG,
	          "an environment file as the project file is refused");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(e && strstr(e->message, "is an environment file, not a project file"), "says why");
	CHECK(e && e->hint && strstr(e->hint, "-e production"), "and what to do");
	free(p);
	p = cf_path_join(proj, "confiture.yaml");
	CHECK_INT(cf_ctx_set_config_file(ctx, p), CF_OK, "the project file is fine");
	free(p);
	cf_ctx_free(ctx);
}

static void test_dsn_resolve(void)
{
	char path[] = "/tmp/cf_tgt_svcXXXXXX";
	int fd = mkstemp(path);
	const char svc[] = "[tt]\nhost=/srv/sock\nport=6543\ndbname=svcdb\nuser=bob\n";
	CHECK(fd >= 0 && write(fd, svc, sizeof(svc) - 1) == (ssize_t)sizeof(svc) - 1, "service file");
	close(fd);
	setenv("PGSERVICEFILE", path, 1);
	cf_dsn_parts p;
	cf_dsn_resolve("service=tt", &p);
	CHECK_STR(p.host, "/srv/sock", "a service's host");
	CHECK_STR(p.port, "6543", "port");
	CHECK_STR(p.dbname, "svcdb", "dbname");
	CHECK_STR(p.user, "bob", "and user are resolved without connecting");
	cf_dsn_parts_release(&p);
	cf_dsn_resolve("service=tt dbname=other sslmode=require", &p);
	CHECK_STR(p.dbname, "other", "the string's own settings win over the service");
	cf_dsn_parts_release(&p);
	char *db = cf_dsn_dbname("service=tt");
	CHECK_STR(db, "svcdb", "cf_dsn_dbname follows the service (build --recreate drops that one)");
	free(db);
	unsetenv("PGSERVICEFILE");
	unlink(path);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	unsetenv("CONFITURE_ENV");
	unsetenv("CONFITURE_DATABASE_URL");
	unsetenv("CONFITURE_PROTECTED");
	test_protection_is_never_lifted();
	test_files_only_and_lenient();
	test_hook_commands_as_written();
	test_one_database_per_command();
	test_env_file_as_config();
	test_dsn_resolve();
	cf_ctx *ctx = cf_ctx_new();
	cf_remove_tree(ctx, proj);
	cf_ctx_free(ctx);
	return t_done();
}
