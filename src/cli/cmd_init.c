/* cmd_init.c -- confiture init [DIR] [--force] */
#include "cli.h"

#include <stdio.h>

static const struct option OPTIONS[] = {
	{"force", no_argument, 0, 'F'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
const cli_opts cli_init_opts = {"h", OPTIONS};

cf_status cmd_init(cli *c, int argc, char **argv)
{
	bool force = false;
	const char *dir = NULL;
	for (;;) {
		int ch;
		while ((ch = cli_getopt(c, argc, argv, cli_init_opts.shortopts, cli_init_opts.longopts)) != -1) {
			if (ch == 'h')
				return cli_help(c);
			if (ch == '?')
				return CF_ERR_USAGE;
			force = true;
		}
		if (optind >= argc)
			break;
		if (dir)
			return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
		dir = argv[optind++];
	}
	if (!dir)
		dir = c->project_dir ? c->project_dir : ".";
	cf_init_result *r = NULL;
	cf_status st = cf_init_project(c->ctx, dir, force, &r);
	if (!st && c->format == CLI_JSON) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_kv_str(&j, "dir", r->dir);
		cf_json_kv_strs(&j, "written", r->written, r->n_written);
		cf_json_kv_strs(&j, "updated", r->kept, r->n_kept);
		cli_json_end(c, &j, &b);
	} else if (!st) {
		for (size_t i = 0; i < r->n_written; i++)
			printf("created  %s\n", r->written[i]);
		for (size_t i = 0; i < r->n_kept; i++)
			printf("updated  %s\n", r->kept[i]);
		fprintf(stderr, "confiture: project ready in %s\n"
		                "confiture: next: cd %s && confiture build --apply\n",
		        r->dir, dir);
	}
	cf_init_result_free(r);
	return st;
}
