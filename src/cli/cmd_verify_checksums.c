/* cmd_verify_checksums.c -- confiture verify-checksums [--fix] */
#include "cli.h"

static const struct option OPTIONS[] = {
	{"help", no_argument, 0, 'h'}, {"fix", no_argument, 0, 'F'}, {0, 0, 0, 0}};
const cli_opts cli_verify_checksums_opts = {"h", OPTIONS};

cf_status cmd_verify_checksums(cli *c, int argc, char **argv)
{
	cf_migrate_opts o = {0};
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_verify_checksums_opts.shortopts, cli_verify_checksums_opts.longopts)) != -1) {
		if (ch == 'h')
			return cli_help(c);
		if (ch == '?')
			return CF_ERR_USAGE;
		o.fix = true;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	cf_status st = cli_load(c);
	if (!st && o.fix)
		st = cli_target(c, NULL);
	if (st)
		return st;
	cf_migrate_result *r = NULL;
	st = cf_verify_checksums(c->ctx, &o, &r);
	return cli_migrate_render(c, r, st);
}
