/* hash.c -- SHA-256 and HMAC through OpenSSL. */
#include "hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
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
