/*
 * secret.h -- keyed hashing, randomness and wiping through libsodium (the
 * only user of libsodium).
 */
#ifndef CF_SECRET_H
#define CF_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* Wipes N bytes at P in a way the compiler cannot elide. */
void cf_memzero(void *p, size_t n);
/* Wipes and frees a NUL-terminated string. NULL is a no-op. */
void cf_secret_free(char *s);

/* Fills OUT with N cryptographically random bytes. */
void cf_random_bytes(void *out, size_t n);
/* A random RFC 4122 version 4 UUID as text (37 bytes with NUL). */
void cf_uuid_v4(char out[37]);

/*
 * Keyed BLAKE2b of DATA: OUTLEN bytes (16..64) into OUT. KEY may be any
 * length; it is first reduced to 32 bytes with unkeyed BLAKE2b when longer.
 */
void cf_keyed_hash(const void *key, size_t keylen, const void *data, size_t n,
                   unsigned char *out, size_t outlen);

/* Streaming keyed BLAKE2b, for hashing several fields without copying. */
typedef struct cf_keyed_state {
	unsigned char opaque[384] __attribute__((aligned(64)));
} cf_keyed_state;
void cf_keyed_init(cf_keyed_state *st, const void *key, size_t keylen, size_t outlen);
void cf_keyed_update(cf_keyed_state *st, const void *data, size_t n);
void cf_keyed_final(cf_keyed_state *st, unsigned char *out, size_t outlen);

/* A uniform 64-bit value from a keyed hash of DATA (for deterministic picks). */
uint64_t cf_keyed_u64(const void *key, size_t keylen, const void *data, size_t n);

#endif
