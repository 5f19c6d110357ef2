/*
 * audit.c -- an example confiture plugin with hook callbacks only.
 *
 * Appends one line per event to the file named by CONFITURE_AUDIT_FILE
 * (default: confiture-audit.log in the working directory), for every medium:
 *
 *   2026-11-22T10:00:00Z production after_migration 20260101120000 add_users ok 42ms
 *
 * and refuses to start a migration when CONFITURE_AUDIT_FREEZE is set: a
 * non-zero return from a before_* callback aborts the operation.
 *
 *   cc -shared -fPIC -I/usr/local/include -o audit.so audit.c
 *   # confiture.yaml
 *   plugins: [contrib/plugins/audit.so]
 */
#include <confiture.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int audit(void *ud, const cf_hook_event *ev)
{
	(void)ud;
	if (getenv("CONFITURE_AUDIT_FREEZE") && strcmp(ev->event, "before_migrate") == 0)
		return 1; /* a deploy freeze: nothing migrates */
	const char *path = getenv("CONFITURE_AUDIT_FILE");
	FILE *f = fopen(path && *path ? path : "confiture-audit.log", "a");
	if (!f)
		return 0; /* auditing must not break the operation */
	char when[32];
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(f, "%s %s %s", when, ev->env, ev->event);
	if (ev->migration_version)
		fprintf(f, " %s %s", ev->migration_version, ev->migration_name);
	if (ev->table)
		fprintf(f, " %s", ev->table);
	if (ev->success >= 0)
		fprintf(f, " %s", ev->success ? "ok" : "failed");
	if (ev->elapsed_ms >= 0)
		fprintf(f, " %lldms", ev->elapsed_ms);
	fputc('\n', f);
	fclose(f);
	return 0;
}

static const cf_plugin_hook HOOKS[] = {{"*", audit, NULL}};

static const cf_plugin PLUGIN = {
	.abi_version = CF_PLUGIN_ABI_VERSION,
	.name = "audit",
	.version = "1.0",
	.hooks = HOOKS,
	.n_hooks = sizeof(HOOKS) / sizeof(*HOOKS),
};

const cf_plugin *confiture_plugin(void)
{
	return &PLUGIN;
}
