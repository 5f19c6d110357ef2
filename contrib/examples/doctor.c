/*
 * doctor.c -- the smallest libconfiture program: load a project's config,
 * connect, and report, with the library's log routed to stderr.
 *
 *   cc doctor.c $(pkg-config --cflags --libs confiture) -o doctor
 *   ./doctor [PROJECT_DIR [ENV]]
 */
#include <confiture.h>
#include <stdio.h>

static void logger(void *ud, cf_log_level level, const char *msg)
{
	(void)ud;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	fprintf(stderr, "[%s] %s\n", names[level], msg);
}

int main(int argc, char **argv)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_logger(ctx, logger, NULL);
	cf_ctx_set_app_name(ctx, "doctor-example");
	cf_doctor_report *r = NULL;
	cf_status st = cf_ctx_load(ctx, argc > 1 ? argv[1] : ".", argc > 2 ? argv[2] : NULL);
	if (st == CF_OK)
		st = cf_doctor(ctx, &r);
	if (st != CF_OK) {
		const cf_error_info *e = cf_last_error_info(ctx);
		fprintf(stderr, "failed (%s): %s\n", cf_status_name(st), e ? e->message : "?");
	} else {
		printf("env=%s connected=%d server=%d ledger=%s\n", r->env, r->is_connected,
		       r->server_version_num, r->has_ledger ? "yes" : "no");
	}
	cf_doctor_report_free(r);
	cf_ctx_free(ctx);
	return st == CF_OK ? 0 : 1;
}
