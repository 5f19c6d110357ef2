/*
 * fuzz_config.c -- the config loader: YAML -> layered config -> validation.
 *
 * The input is the project file, confiture.yaml. When it holds a line
 * "#%env", what follows that line is db/environments/local.yaml. The
 * project is then validated as `validate-config --all` does, and every
 * setting is visited as `doctor` shows it (DSN parsing and masking included).
 * Plugins are switched off by an override: the loader must not dlopen
 * whatever path an input names.
 */
#include "fuzz.h"
#include "config.h"
#include "ctx.h"

static void visit(void *ud, const char *key, const char *value, const char *origin)
{
	size_t *n = ud;
	*n += strlen(key) + strlen(value ? value : "") + strlen(origin ? origin : "");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_clear_env();
	unsetenv("PGSERVICEFILE");
	fuzz_dir();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char marker[] = "\n#%env\n";
	const uint8_t *env = memmem(data, size, marker, sizeof(marker) - 1);
	size_t project_len = env ? (size_t)(env - data) : size;
	fuzz_put("confiture.yaml", data, project_len);
	if (env) {
		env += sizeof(marker) - 1;
		fuzz_put("db/environments/local.yaml", env, size - (size_t)(env - data));
	} else {
		fuzz_put("db/environments/local.yaml", NULL, 0);
	}

	cf_ctx *ctx = cf_ctx_new();
	if (cf_ctx_set_option(ctx, "plugins", "", "fuzz") != CF_OK)
		abort();
	cf_validate_result *r = NULL;
	cf_status st = cf_validate_config(ctx, fuzz_dir(), NULL, true, &r);
	if (st == CF_OK) {
		size_t n = 0;
		cf_config_visit(ctx->cfg, visit, &n);
		FUZZ_ASSERT(ctx->cfg->migration.tracking_table && ctx->cfg->name);
	} else {
		/* Every failure explains itself. */
		const char *msg = cf_last_error(ctx);
		FUZZ_ASSERT(msg && *msg);
	}
	cf_validate_result_free(r);
	cf_ctx_free(ctx);
	return 0;
}
