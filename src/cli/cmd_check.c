/* cmd_check.c -- confiture check: the CI gate. */
#include "cli.h"

cf_status cmd_check(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage(c, "not yet");
}
