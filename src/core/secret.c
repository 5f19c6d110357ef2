/* secret.c -- libsodium: keyed BLAKE2b, randomness, wiping. */
#include "secret.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(cf_keyed_state) >= sizeof(crypto_generichash_state),
               "cf_keyed_state too small");

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_setup(void)
{
	if (sodium_init() < 0)
		abort(); /* no usable randomness source: nothing is safe */
}

static void ensure_sodium(void)
{
	pthread_once(&sodium_once, sodium_setup);
}

void cf_memzero(void *p, size_t n)
{
	sodium_memzero(p, n);
}

void cf_secret_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

void cf_random_bytes(void *out, size_t n)
{
	ensure_sodium();
	randombytes_buf(out, n);
}

void cf_uuid_v4(char out[37])
{
	unsigned char b[16];
	static const char hex[] = "0123456789abcdef";
	cf_random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	char *o = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[b[i] >> 4];
		*o++ = hex[b[i] & 15];
	}
	*o = '\0';
}

/* Keys longer than the BLAKE2b maximum are reduced first. */
static size_t fit_key(const void *key, size_t keylen, unsigned char fitted[32],
                      const unsigned char **use)
{
	if (keylen <= crypto_generichash_KEYBYTES_MAX) {
		*use = key;
		return keylen;
	}
	crypto_generichash(fitted, 32, key, keylen, NULL, 0);
	*use = fitted;
	return 32;
}

void cf_keyed_init(cf_keyed_state *st, const void *key, size_t keylen, size_t outlen)
{
	ensure_sodium();
	unsigned char fitted[32];
	const unsigned char *k;
	size_t kl = fit_key(key, keylen, fitted, &k);
	crypto_generichash_init((crypto_generichash_state *)st->opaque, k, kl, outlen);
	sodium_memzero(fitted, sizeof(fitted));
}

void cf_keyed_update(cf_keyed_state *st, const void *data, size_t n)
{
	crypto_generichash_update((crypto_generichash_state *)st->opaque, data, n);
}

void cf_keyed_final(cf_keyed_state *st, unsigned char *out, size_t outlen)
{
	crypto_generichash_final((crypto_generichash_state *)st->opaque, out, outlen);
	sodium_memzero(st, sizeof(*st));
}

void cf_keyed_hash(const void *key, size_t keylen, const void *data, size_t n,
                   unsigned char *out, size_t outlen)
{
	ensure_sodium();
	unsigned char fitted[32];
	const unsigned char *k;
	size_t kl = fit_key(key, keylen, fitted, &k);
	crypto_generichash(out, outlen, data, n, k, kl);
	sodium_memzero(fitted, sizeof(fitted));
}

uint64_t cf_keyed_u64(const void *key, size_t keylen, const void *data, size_t n)
{
	unsigned char h[16];
	cf_keyed_hash(key, keylen, data, n, h, sizeof(h));
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return v;
}
