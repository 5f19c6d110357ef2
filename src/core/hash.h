/* hash.h -- SHA-256 through OpenSSL (the only user of OpenSSL), and FNV-1a for
 * in-memory tables. */
#ifndef CF_HASH_H
#define CF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CF_SHA256_HEX_LEN 64

typedef struct cf_sha256 {
	void *md; /* EVP_MD_CTX */
} cf_sha256;

void cf_sha256_init(cf_sha256 *h);
void cf_sha256_update(cf_sha256 *h, const void *data, size_t n);
/* Writes 32 raw bytes to OUT and releases H. */
void cf_sha256_final(cf_sha256 *h, unsigned char out[32]);
/* Releases H without a result (error paths). */
void cf_sha256_release(cf_sha256 *h);

/* FNV-1a of N bytes at P, continuing from H (CF_FNV1A_SEED to start): a
 * fast hash for lookups in memory, not for anything an attacker chooses. */
#define CF_FNV1A_SEED 14695981039346656037ULL
uint64_t cf_fnv1a(const void *p, size_t n, uint64_t h);

void cf_sha256_raw(const void *data, size_t n, unsigned char out[32]);
/* Lowercase hex of DATA's digest into OUT (65 bytes). */
void cf_sha256_hex(const void *data, size_t n, char out[CF_SHA256_HEX_LEN + 1]);
void cf_hex_encode(const unsigned char *raw, size_t n, char *out);

/* HMAC-SHA256 of DATA under KEY. */
void cf_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[32]);

/*
 * HMAC-SHA256 with the key's pads absorbed once, for hashing many short
 * values under one key: two SHA-256 blocks per value under 56 bytes (SHA
 * extensions when the CPU has them), no allocation. Copy-free and
 * thread-safe: hashing only reads K. Wipe K when done.
 */
typedef struct cf_hmac_key {
	unsigned char opaque[256] __attribute__((aligned(16)));
} cf_hmac_key;
void cf_hmac_key_init(cf_hmac_key *k, const void *key, size_t keylen);
void cf_hmac_key_hash(const cf_hmac_key *k, const void *data, size_t n, unsigned char out[32]);
void cf_hmac_key_wipe(cf_hmac_key *k);

#endif
