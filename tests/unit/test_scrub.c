/* Unit tests: finding and masking a secret in every form it is written in. */
#include "t.h"
#include "buf.h"
#include "scrub.h"
#include "secret.h"

static void check_scrub(const cf_strv *s, const char *in, const char *want, const char *what)
{
	char *got = cf_scrub_secrets(s, in);
	CHECK_STR(got, want, what);
	cf_secret_free(got);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	cf_strv s;
	cf_strv_init(&s);
	cf_strv_push(&s, "p!ss w'rd");
	cf_strv_push(&s, "ab");         /* too short to be searched for */
	cf_strv_push(&s, "s3cret");

	CHECK(cf_scrub_has_secret(&s, "x=p!ss w'rd"), "the raw form is found");
	CHECK(cf_scrub_has_secret(&s, "postgresql://u:p%21ss%20w%27rd@h/db"), "percent-encoded");
	CHECK(cf_scrub_has_secret(&s, "postgresql://u:p%21ss+w%27rd@h/db"), "with + for a space");
	CHECK(cf_scrub_has_secret(&s, "postgresql://u:p%21SS%20w%27rd@h/db") == false,
	      "letters are not case-folded (the hex of %%XX is)");
	CHECK(cf_scrub_has_secret(&s, "u:%70%21%73%73%20%77%27%72%64@h"), "every byte encoded");
	CHECK(cf_scrub_has_secret(&s, "host=h password='p!ss w\\'rd'"), "conninfo-quoted");
	CHECK(cf_scrub_has_secret(&s, "S3CRET s3cre") == false, "near misses are not secrets");
	CHECK(cf_scrub_has_secret(&s, "abc cab") == false, "short secrets are not searched for");

	check_scrub(&s, "postgresql://u:p%21ss%20w%27rd@h/db?x=1", "postgresql://u:***@h/db?x=1",
	            "the encoded form is masked");
	check_scrub(&s, "a s3cret b s3cret", "a *** b ***", "every occurrence");
	check_scrub(&s, "password='p!ss w\\'rd' raw=p!ss w'rd", "password='***' raw=***",
	            "quoted and raw forms in one line");
	check_scrub(&s, "nothing here", "nothing here", "text without a secret is unchanged");
	check_scrub(&s, "", "", "empty text");
	cf_strv_release(&s);
	return t_done();
}
