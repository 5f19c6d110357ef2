/* cmd_validate_config.c -- confiture validate-config [--all] */
#include "cli.h"

#include <stdio.h>

static const struct option OPTIONS[] = {
	{"all", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
const cli_opts cli_validate_config_opts = {"h", OPTIONS};

cf_status cmd_validate_config(cli *c, int argc, char **argv)
{
	bool all = false;
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_validate_config_opts.shortopts, cli_validate_config_opts.longopts)) != -1) {
		if (ch == 'h')
			return cli_help(c);
		if (ch == '?')
			return CF_ERR_USAGE;
		all = true;
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	cf_status st = c->config_file ? cf_ctx_set_config_file(c->ctx, c->config_file) : CF_OK;
	if (!st && c->database_url)
		st = cf_ctx_set_database_url(c->ctx, c->database_url);
	cf_validate_result *r = NULL;
	if (!st)
		st = cf_validate_config(c->ctx, c->project_dir, c->env, all, &r);
	bool lint_bad = false; /* lint's section names rules that only lint knows */
	if (!st)
		lint_bad = (st = cf_lint_check_config(c->ctx)) != CF_OK;
	if (c->format == CLI_JSON && r) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, st == CF_OK);
		cf_json_kv_str(&j, "project_file", r->project_file);
		cf_json_kv_strs(&j, "environments", r->envs, r->n_envs);
		cli_json_warnings(&j, r->warnings, r->n_warnings);
		cli_json_end(c, &j, &b);
	} else if (r) {
		for (size_t i = 0; i < r->n_warnings; i++)
			cli_logger(c, CF_LOG_WARNING, r->warnings[i]);
		for (size_t i = 0; !lint_bad && i < r->n_envs; i++)
			printf("ok  environment %s\n", r->envs[i]);
		if (!st)
			printf("ok  %s\n", r->project_file ? r->project_file : "(no project file)");
	}
	cf_validate_result_free(r);
	return st;
}
