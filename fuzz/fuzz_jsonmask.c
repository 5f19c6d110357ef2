/*
 * fuzz_jsonmask.c -- the json strategy's masker (src/sync/jsonmask.c).
 *
 * The first input byte picks one of a few rules (keys at any depth, paths
 * with wildcards, different inner strategies); the rest is the json value.
 * Whatever the masker accepts, its output must be JSON it accepts again, and
 * a value it refuses leaves the output buffer as it was.
 */
#include "fuzz.h"
#include "sync/sync.h"
#include "ydoc.h"

static const char *const RULES[] = {
	"{strategy: json, keys: [email, name, card]}",
	"{strategy: json, keys: [email], with: hash}",
	("{strategy: json, paths: ['$.customer.email', '$.items[*].card', 'a.*.c'], "
	 "with: {strategy: email, keep_domain: true}}"),
	"{strategy: json, paths: ['$'], with: {strategy: partial, keep_first: 1, keep_last: 1}}",
	"{strategy: json, keys: [n, x], with: {strategy: numeric, percent: 10}}",
	"{strategy: json, keys: [t], with: text_redact}",
	"{strategy: json, keys: [d], with: date}",
	"{strategy: json, keys: [k], with: {strategy: constant, value: '\"quoted\\\\ \\u00e9'}}",
};
#define N_RULES (sizeof(RULES) / sizeof(*RULES))

static mask_rule rules[N_RULES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsigned char master[32];
	memset(master, 7, sizeof(master));
	for (size_t i = 0; i < N_RULES; i++) {
		cf_ctx *ctx = cf_ctx_new();
		cf_ydoc *doc = NULL;
		if (cf_yaml_parse(ctx, "rule.yaml", RULES[i], strlen(RULES[i]), 0, &doc) ||
		    strat_parse(ctx, doc, doc->root, NULL, 0, &rules[i])) {
			fprintf(stderr, "rule %zu: %s\n", i, cf_last_error(ctx));
			abort();
		}
		strat_prime(&rules[i], master);
		cf_ydoc_free(doc);
		cf_ctx_free(ctx);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const mask_rule *r = &rules[data[0] % N_RULES];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	cf_buf out;
	cf_buf_init(&out);
	cf_buf_puts(&out, "prefix");
	const char *why = NULL;
	mask_rc rc = json_mask(r, in, n, &out, &why);
	if (rc == MASK_OK) {
		FUZZ_ASSERT(out.len >= 6 && memcmp(out.data, "prefix", 6) == 0);
		cf_buf again;
		cf_buf_init(&again);
		const char *why2 = NULL;
		mask_rc rc2 = json_mask(r, out.data + 6, out.len - 6, &again, &why2);
		if (rc2 != MASK_OK) {
			fprintf(stderr, "masked output is not JSON (%s): %.*s\n", why2, (int)(out.len - 6),
			        out.data + 6);
			abort();
		}
		cf_buf_release(&again);
	} else {
		FUZZ_ASSERT(rc == MASK_FAIL && why);
		FUZZ_ASSERT(out.len == 6 && strcmp(out.data, "prefix") == 0);
	}
	cf_buf_release(&out);
	return 0;
}
