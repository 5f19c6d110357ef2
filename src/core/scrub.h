/*
 * scrub.h -- finding and masking secrets in every form they are written in.
 *
 * A password reaches text raw ("p!ss"), percent-encoded in a URL ("p%21ss",
 * "p%21ss" with "+" for a space), or quoted in a key=value conninfo
 * ("password='p\'ss'"). The matcher takes each byte of a secret in any of
 * those spellings, so one pass finds every form, mixed ones included.
 */
#ifndef CF_SCRUB_H
#define CF_SCRUB_H

#include "buf.h"

#include <stdbool.h>

/* Secrets shorter than this are not searched for: a two-letter "password"
 * would mask half of every line, and protects nothing. */
#define CF_SCRUB_MIN_LEN 4

/* True when TEXT holds one of SECRETS in any form. */
bool cf_scrub_has_secret(const cf_strv *secrets, const char *text);

/* TEXT with every form of every secret replaced by "***". Caller frees
 * (with cf_secret_free: the input may have held secrets). */
char *cf_scrub_secrets(const cf_strv *secrets, const char *text);

#endif
