/*
 * pseudonym.c -- an example confiture plugin: the "pseudonym" strategy.
 *
 * Masks a value into a readable, deterministic pseudonym such as
 * "Brave Otter 4821": same value and key, same pseudonym, in every table.
 * It shows the whole strategy ABI: parameters checked once in init, the
 * rule's derived key used through the host's keyed hash, output written
 * through the host, state released at the end.
 *
 *   cc -shared -fPIC -I/usr/local/include -o pseudonym.so pseudonym.c
 *
 *   # confiture.yaml
 *   plugins: [contrib/plugins/pseudonym.so]
 *   # db/sync/anonymization.yaml
 *   users:
 *     - {column: nickname, strategy: "plugin:pseudonym", digits: 4, separator: " "}
 */
#include <confiture.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ADJECTIVES[] = {
	"Brave", "Calm", "Clever", "Eager", "Gentle", "Happy", "Jolly", "Kind", "Lively", "Lucky",
	"Mellow", "Nimble", "Proud", "Quick", "Quiet", "Swift", "Tidy", "Witty", "Bold", "Bright",
};
static const char *const ANIMALS[] = {
	"Otter", "Falcon", "Badger", "Heron", "Lynx", "Marten", "Panda", "Puffin", "Quokka", "Raven",
	"Salmon", "Tapir", "Walrus", "Wombat", "Yak", "Zebra", "Bison", "Crane", "Dingo", "Gecko",
};
#define N_ADJ (sizeof(ADJECTIVES) / sizeof(*ADJECTIVES))
#define N_ANIMAL (sizeof(ANIMALS) / sizeof(*ANIMALS))

typedef struct state {
	int digits;          /* 0..8 digits after the words */
	char separator[8];
} state;

static int init(void **out, const char *const *keys, const char *const *values, size_t n,
                char *err, size_t errlen)
{
	state *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	s->digits = 4;
	strcpy(s->separator, " ");
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i], "digits") == 0) {
			char *end;
			long d = strtol(values[i], &end, 10);
			if (*end || d < 0 || d > 8) {
				snprintf(err, errlen, "digits must be an integer from 0 to 8");
				free(s);
				return 1;
			}
			s->digits = (int)d;
		} else if (strcmp(keys[i], "separator") == 0) {
			if (strlen(values[i]) >= sizeof(s->separator)) {
				snprintf(err, errlen, "separator is at most 7 bytes");
				free(s);
				return 1;
			}
			strcpy(s->separator, values[i]);
		} else {
			snprintf(err, errlen, "unknown parameter \"%s\" (known: digits, separator)", keys[i]);
			free(s);
			return 1;
		}
	}
	*out = s;
	return 0;
}

static int mask(void *st, const cf_mask_in *in, cf_mask_out *out)
{
	const state *s = st;
	unsigned char h[16];
	in->host->keyed_hash(in->key, in->keylen, in->value, in->len, h, sizeof(h));
	unsigned long long v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%s%s%s", ADJECTIVES[v % N_ADJ], s->separator,
	                 ANIMALS[(v / N_ADJ) % N_ANIMAL]);
	if (s->digits > 0) {
		unsigned long long mod = 1;
		for (int i = 0; i < s->digits; i++)
			mod *= 10;
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%0*llu", s->separator, s->digits,
		              (v / (N_ADJ * N_ANIMAL)) % mod);
	}
	in->host->write(out, buf, (size_t)n);
	return 0;
}

static void release(void *st)
{
	free(st);
}

static const cf_plugin_strategy STRATEGIES[] = {
	{"pseudonym", init, mask, release},
};

static const cf_plugin PLUGIN = {
	.abi_version = CF_PLUGIN_ABI_VERSION,
	.name = "pseudonym",
	.version = "1.0",
	.strategies = STRATEGIES,
	.n_strategies = 1,
};

const cf_plugin *confiture_plugin(void);
const cf_plugin *confiture_plugin(void)
{
	return &PLUGIN;
}
