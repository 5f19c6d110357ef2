/* hash.c -- SHA-256 and HMAC through OpenSSL. */
/* The SHA256_* functions (cf_hmac_key) are deprecated in OpenSSL 3 in favour
 * of EVP, whose per-call dispatch costs more than hashing a short value. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>
#include <stdlib.h>

void cf_sha256_init(cf_sha256 *h)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort(); /* only fails on allocation failure */
	h->md = md;
}

void cf_sha256_update(cf_sha256 *h, const void *data, size_t n)
{
	if (n)
		EVP_DigestUpdate((EVP_MD_CTX *)h->md, data, n);
}

void cf_sha256_final(cf_sha256 *h, unsigned char out[32])
{
	unsigned int len = 32;
	EVP_DigestFinal_ex((EVP_MD_CTX *)h->md, out, &len);
	cf_sha256_release(h);
}

void cf_sha256_release(cf_sha256 *h)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)h->md);
	h->md = NULL;
}

void cf_sha256_raw(const void *data, size_t n, unsigned char out[32])
{
	cf_sha256 h;
	cf_sha256_init(&h);
	cf_sha256_update(&h, data, n);
	cf_sha256_final(&h, out);
}

void cf_hex_encode(const unsigned char *raw, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

void cf_sha256_hex(const void *data, size_t n, char out[CF_SHA256_HEX_LEN + 1])
{
	unsigned char raw[32];
	cf_sha256_raw(data, n, raw);
	cf_hex_encode(raw, 32, out);
}

void cf_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

/* ---- cf_hmac_key (added for sync, medium 3) ------------------------------- */

typedef struct hmac_pads {
	SHA256_CTX inner, outer;
} hmac_pads;

_Static_assert(sizeof(cf_hmac_key) >= sizeof(hmac_pads), "cf_hmac_key too small");

void cf_hmac_key_init(cf_hmac_key *k, const void *key, size_t keylen)
{
	unsigned char block[64], pad[64];
	memset(block, 0, sizeof(block));
	if (keylen > sizeof(block))
		SHA256(key, keylen, block);
	else
		memcpy(block, key, keylen);
	hmac_pads *p = (hmac_pads *)k->opaque;
	for (int i = 0; i < 64; i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&p->inner);
	SHA256_Update(&p->inner, pad, sizeof(pad));
	for (int i = 0; i < 64; i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&p->outer);
	SHA256_Update(&p->outer, pad, sizeof(pad));
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
}

void cf_hmac_key_hash(const cf_hmac_key *k, const void *data, size_t n, unsigned char out[32])
{
	const hmac_pads *p = (const hmac_pads *)k->opaque;
	unsigned char ih[32];
	SHA256_CTX c = p->inner;
	SHA256_Update(&c, data, n);
	SHA256_Final(ih, &c);
	c = p->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	/* SHA256_Final wipes the context's data block; what is left (chaining
	 * values, the inner digest) reveals nothing of DATA. */
	SHA256_Final(out, &c);
}

void cf_hmac_key_wipe(cf_hmac_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

uint64_t cf_fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}
