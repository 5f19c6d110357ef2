/*
 * fuzz_mapping.c -- the s2s mapping loader (s2s_mapping_parse).
 *
 * The input is a mapping file. It is parsed into entries, whose checks
 * (duplicates, expressions through the SQL parser, batch sizes) run
 * without a database.
 */
#include "fuzz.h"
#include "s2s/s2s.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_clear_env();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	cf_ctx *ctx = cf_ctx_new();
	s2s_mapping m;
	cf_status st = s2s_mapping_parse(ctx, "map.yaml", text, &m);
	if (st == CF_OK) {
		FUZZ_ASSERT(m.n > 0);
		for (size_t i = 0; i < m.n; i++)
			FUZZ_ASSERT(m.v[i].name && m.v[i].target_table);
		s2s_mapping_release(&m);
	} else {
		FUZZ_ASSERT(cf_last_error(ctx) && *cf_last_error(ctx));
	}
	cf_ctx_free(ctx);
	free(text);
	return 0;
}
