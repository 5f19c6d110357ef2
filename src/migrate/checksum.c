/*
 * checksum.c -- the migration checksum of the interop contract: SHA-256 hex
 * of the .up.sql bytes with every CRLF counted as LF, so that a checkout on
 * Windows is not a change. A lone CR is kept.
 */
#include "migrate_int.h"
#include "hash.h"

#include <string.h>

void mig_checksum(const char *data, size_t n, char out[65])
{
	cf_sha256 h;
	cf_sha256_init(&h);
	size_t start = 0;
	for (;;) {
		const char *cr = start < n ? memchr(data + start, '\r', n - start) : NULL;
		if (!cr) {
			cf_sha256_update(&h, data + start, n - start);
			break;
		}
		size_t at = (size_t)(cr - data);
		if (at + 1 < n && data[at + 1] == '\n') {
			cf_sha256_update(&h, data + start, at - start); /* drop the CR */
			start = at + 1;
		} else {
			cf_sha256_update(&h, data + start, at + 1 - start);
			start = at + 1;
		}
	}
	unsigned char raw[32];
	cf_sha256_final(&h, raw);
	cf_hex_encode(raw, 32, out);
}
