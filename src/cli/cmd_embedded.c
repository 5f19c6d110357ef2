/* cmd_embedded.c -- confiture embedded start|stop|status|url|destroy */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void status_json(cli *c, const cf_embedded_status *s)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, true);
	cf_json_kv_bool(&j, "initialized", s->is_initialized);
	cf_json_kv_bool(&j, "running", s->is_running);
	cf_json_key(&j, "pid");
	if (s->pid)
		cf_json_int(&j, s->pid);
	else
		cf_json_null(&j);
	cf_json_kv_str(&j, "data_dir", s->data_dir);
	cf_json_kv_str(&j, "socket_dir", s->socket_dir);
	cf_json_kv_int(&j, "port", s->port);
	cf_json_kv_str(&j, "bin_dir", s->bin_dir);
	cf_json_kv_str(&j, "url", s->url);
	cli_json_end(c, &j, &b);
}

static void status_text(const char *action, const cf_embedded_status *s)
{
	if (strcmp(action, "url") == 0) {
		printf("%s\n", s->url);
		return;
	}
	printf("%s\n", !s->is_initialized ? "not initialized" : s->is_running ? "running" : "stopped");
	if (s->is_running)
		printf("pid       %d\n", s->pid);
	printf("data      %s\nsocket    %s\nport      %d\nbinaries  %s\nurl       %s\n",
	       s->data_dir, s->socket_dir, s->port, s->bin_dir ? s->bin_dir : "(not found)",
	       s->url);
}

static const struct option OPTIONS[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
const cli_action cli_embedded_actions[] = {
	{"start", NULL, CLI_V_NONE, 0, NULL},  {"stop", NULL, CLI_V_NONE, 0, NULL},
	{"status", NULL, CLI_V_NONE, 0, NULL}, {"url", NULL, CLI_V_NONE, 0, NULL},
	{"destroy", NULL, CLI_V_NONE, 0, NULL}, {0},
};

const cli_opts cli_embedded_opts = {"h", OPTIONS};

cf_status cmd_embedded(cli *c, int argc, char **argv)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_embedded_opts.shortopts, cli_embedded_opts.longopts)) != -1)
		return ch == 'h' ? cli_help(c) : CF_ERR_USAGE;
	if (optind >= argc)
		return cli_usage(c, "missing action (start, stop, status, url or destroy)");
	const char *action = argv[optind];
	if (!cli_find_action(cli_find_command("embedded"), action))
		return cli_usage(c, "unknown action \"%s\" (start, stop, status, url or destroy)", action);
	c->action = action;
	if (optind + 1 < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind + 1]);
	cf_status st = cli_load(c);
	if (st)
		return st;
	if (strcmp(action, "start") == 0 || strcmp(action, "url") == 0)
		st = cf_embedded_start(c->ctx);
	else if (strcmp(action, "stop") == 0)
		st = cf_embedded_stop(c->ctx);
	else if (strcmp(action, "destroy") == 0)
		st = cf_embedded_destroy(c->ctx);
	cf_embedded_status *s = NULL;
	if (!st)
		st = cf_embedded_status_get(c->ctx, &s);
	if (!st && c->format == CLI_JSON)
		status_json(c, s);
	else if (!st)
		status_text(action, s);
	cf_embedded_status_free(s);
	return st;
}
