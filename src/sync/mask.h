/*
 * mask.h -- what the strategy files of src/sync share: the keyed hash of a
 * value, a keyed digit stream, and one masker per strategy (strat_mask in
 * strategy.c dispatches to them). Private to src/sync.
 */
#ifndef CF_SYNC_MASK_H
#define CF_SYNC_MASK_H

#include "sync.h"

#include <stdint.h>

/* The iban lookalike maker used by text_redact has no public name. */
#define ST_IBAN_DOMAIN "iban"

/* The keyed hash of one value: HMAC-SHA256 under the rule's key (derived
 * with keyed BLAKE2b from the master key, the strategy and the seed). */
void mask_kh(const mask_rule *r, const void *in, size_t n, unsigned char out[32]);
/* The I-th little-endian 64-bit word of a hash. */
uint64_t mask_u64(const unsigned char *h, int i);
/* Drops leading and trailing white space from S[0..*N). */
void mask_trim(const char **s, size_t *n);

/* An endless keyed digit (or byte) stream drawn from a value's hash. */
typedef struct drbg {
	const mask_rule *r;
	unsigned char h[32];
	int word;
	uint64_t cur;
	int left;
} drbg;

/* Seeds G with the keyed hash of IN[0..N). */
void drbg_init(drbg *g, const mask_rule *r, const void *in, size_t n);
uint64_t drbg_u64(drbg *g);
/* A digit 0..9. */
int drbg_digit(drbg *g);

/* The maskers: each appends the masked text form of IN[0..N) to OUT (see
 * strat_mask for the contract). */
mask_rc mask_email(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_digits(const mask_rule *r, const char *in, size_t n, long keep, cf_buf *out);
mask_rc mask_name(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_hash(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_partial(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_date(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why);
mask_rc mask_timestamp(const mask_rule *r, const char *in, size_t n, cf_buf *out,
                       const char **why);
mask_rc mask_numeric(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                     const char **why);
mask_rc mask_ip(const mask_rule *r, vtype t, const char *in, size_t n, cf_buf *out,
                const char **why);
mask_rc mask_card(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_iban(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_uuid(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_text_redact(const mask_rule *r, const char *in, size_t n, cf_buf *out);
mask_rc mask_plugin(const mask_rule *r, const char *in, size_t n, cf_buf *out, const char **why);

/* ---- json (jsonmask.c) ---- */

/* Parses a json path ("$.a.b", "a.b", "$.items[*].card", "$.\"e-mail\"",
 * "$['a.b']", "$.**.email", "$") into its steps, NULL-terminated (caller
 * frees each and the array), or returns NULL with *WHY. */
char **json_path_parse(const char *path, const char **why);

#endif
