/*
 * fuzz_rules.c -- the anonymization rules loader, and the rules it accepts.
 *
 * The input is db/sync/anonymization.yaml. A file that loads gets a key, and
 * every rule then masks a fixed set of sample values of each type it accepts:
 * strategy parameters come from the file (lengths, counts, characters,
 * regexes), so a loaded rule must mask without crashing.
 */
#include "fuzz.h"
#include "sync/sync.h"

static const struct {
	vcol col;
	const char *value;
} SAMPLES[] = {
	{{VT_TEXT, -1, -1}, "Jane Doe <jane.doe@corp.example>, +1 415 555 0100, 4111 1111 1111 1111"},
	{{VT_TEXT, -1, -1}, ""},
	{{VT_BPCHAR, -1, -1}, "ab   "},
	{{VT_INT4, -1, -1}, "-2147483648"},
	{{VT_INT8, -1, -1}, "9223372036854775807"},
	{{VT_FLOAT8, -1, -1}, "1.5e300"},
	{{VT_NUMERIC, 5, 2}, "999.99"},
	{{VT_NUMERIC, -1, -1}, "-0.000000000000000000001"},
	{{VT_DATE, -1, -1}, "2024-02-29"},
	{{VT_TIMESTAMPTZ, -1, -1}, "1999-12-31 23:59:59.999999+05:30"},
	{{VT_TIMESTAMP, -1, -1}, "infinity"},
	{{VT_UUID, -1, -1}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{{VT_INET, -1, -1}, "2001:db8::1/64"},
	{{VT_CIDR, -1, -1}, "10.0.0.0/8"},
	{{VT_JSONB, -1, -1}, "{\"email\": \"a@b.co\", \"items\": [{\"card\": 4111111111111111}]}"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_clear_env();
	setenv("CF_FUZZ_KEY", "a fixed key for fuzzing, 32 bytes+", 1);
	fuzz_dir();
	return 0;
}

static void mask_samples(const mask_rule *r)
{
	cf_buf out;
	cf_buf_init(&out);
	for (size_t i = 0; i < sizeof(SAMPLES) / sizeof(*SAMPLES); i++) {
		if (!strat_accepts(r, SAMPLES[i].col.vt) || strat_is_pushdown(r))
			continue;
		const char *why = NULL;
		out.len = 0;
		mask_rc rc = strat_mask(r, SAMPLES[i].col, SAMPLES[i].value, strlen(SAMPLES[i].value),
		                        &out, &why);
		FUZZ_ASSERT(rc != MASK_FAIL || why);
	}
	cf_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_put("rules.yaml", data, size);
	char path[256];
	snprintf(path, sizeof(path), "%s/rules.yaml", fuzz_dir());
	cf_ctx *ctx = cf_ctx_new();
	sync_rules *r = NULL;
	cf_status st = rules_load(ctx, path, "rules.yaml", &r);
	if (!st)
		st = rules_set_key(ctx, r, "CF_FUZZ_KEY", true);
	FUZZ_ASSERT(st == CF_OK || (cf_last_error(ctx) && *cf_last_error(ctx)));
	for (size_t t = 0; !st && t < r->n_tables; t++)
		for (size_t k = 0; k < r->tables[t].n_rules; k++)
			mask_samples(&r->tables[t].rules[k]);
	rules_free(r);
	cf_ctx_free(ctx);
	return 0;
}
