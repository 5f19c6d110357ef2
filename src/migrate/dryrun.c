/*
 * dryrun.c -- trying pending migrations and rolling them back: up
 * --dry-run-execute and preflight --against.
 *
 * A dry run must accept what the real run accepts, and refuse what it
 * refuses, although it runs everything in one transaction that it rolls
 * back. So each migration runs as the real run would run it, in a savepoint
 * standing for its transaction: its text, then the session reset (and, for
 * --dry-run-execute, its ledger row), then what the COMMIT would check:
 * the deferred constraints (SET CONSTRAINTS ALL IMMEDIATE, itself undone by
 * a savepoint, so that the migrations after it still see them deferred).
 *
 * Two things only a real commit gives, and a dry run cannot try past them:
 *   - a migration that runs outside a transaction (CREATE INDEX
 *     CONCURRENTLY, ...);
 *   - a use of an enum value that an earlier migration of this run added
 *     (ALTER TYPE ... ADD VALUE): PostgreSQL allows it only once the value
 *     is committed ("unsafe use of new value"), which the real run does
 *     between the two migrations.
 * The dry run stops there, and says which migrations it could not try, and
 * why; what came before it was tried.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* SQLSTATE of "unsafe use of new value" of an enum. */
#define UNSAFE_ENUM "55P04"

/* Does SC itself add enum values? Then its own use of one fails in the
 * real run too. */
static bool adds_enum_value(const mig_script *sc)
{
	for (size_t k = 0; k < mig_script_count(sc); k++)
		if (strcmp(sc->parsed->stmts[mig_script_nth(sc, k)].node, "alter_enum_stmt") == 0)
			return true;
	return false;
}

/* Runs SQL keeping the error already recorded, if any. */
static void exec_quietly(mig_session *s, const char *sql)
{
	cf_err_stash stash;
	cf_error_stash(s->ctx, &stash);
	cf_pg_exec(s->pg, sql);
	cf_ctx_clear_error(s->ctx);
	cf_error_unstash(s->ctx, &stash);
}

/* What a COMMIT would check: deferred constraints and constraint triggers. */
static cf_status commit_checks(mig_session *s)
{
	cf_status st = cf_pg_exec(s->pg, "SAVEPOINT confiture_commit; SET CONSTRAINTS ALL IMMEDIATE");
	if (st) {
		cf_error_context(s->ctx, "while checking what its COMMIT would (deferred constraints)");
		return st;
	}
	return cf_pg_exec(s->pg, "ROLLBACK TO SAVEPOINT confiture_commit; "
	                         "RELEASE SAVEPOINT confiture_commit");
}

typedef enum dry_outcome { DRY_OK, DRY_FAILED, DRY_NOT_TRIED } dry_outcome;

/*
 * Tries F in a savepoint. DRY_FAILED leaves the error recorded (and the
 * savepoint rolled back); a broken connection or a cancel is returned.
 */
static cf_status try_one(mig_dry *d, const mig_file *f, const mig_script *sc, dry_outcome *out)
{
	mig_session *s = &d->op->sess;
	*out = DRY_OK;
	cf_status st = cf_pg_exec(s->pg, "SAVEPOINT confiture_dry");
	if (st)
		return st;
	char *tail = mig_tail(s, d->with_ledger ? f : NULL, MIG_UP, f->checksum, -1);
	st = mig_exec_script(s, sc, tail);
	free(tail);
	if (!st)
		st = commit_checks(s);
	if (!st)
		return cf_pg_exec(s->pg, "RELEASE SAVEPOINT confiture_dry");
	if (st == CF_ERR_CANCELLED || cf_pg_is_bad(s->pg))
		return st;
	const char *state = cf_error_sqlstate_get(s->ctx);
	*out = state && strcmp(state, UNSAFE_ENUM) == 0 && !adds_enum_value(sc) ? DRY_NOT_TRIED
	                                                                       : DRY_FAILED;
	exec_quietly(s, "ROLLBACK TO SAVEPOINT confiture_dry; RELEASE SAVEPOINT confiture_dry");
	return CF_OK;
}

/* Marks FILES[I..N) not tried, the first with WHY, the others after it. */
static void not_tried(mig_dry *d, mig_file **files, size_t i, size_t n, const char *why)
{
	for (size_t k = i; k < n; k++) {
		cf_migration *e = mig_res_add(&d->op->m, files[k]->version, files[k]->name);
		mig_entry_fill(e, files[k], NULL);
		e->status = "not_tried";
		e->note = k == i ? cf_strdup(why)
		                 : cf_asprintf("not tried: it comes after %s", files[i]->base);
	}
	d->n_not_tried = n - i;
	mig_res_warn(&d->op->m, d->op->ctx,
	             "%s stopped before %s: %s; %zu migration%s (%s%s) were not tried",
	             d->what, files[i]->base, why, n - i, n - i == 1 ? "" : "s", files[i]->base,
	             n - i > 1 ? " and the ones after it" : "");
}

cf_status mig_dry_run(mig_dry *d, mig_file **files, mig_script *scripts, size_t n)
{
	cf_ctx *ctx = d->op->ctx;
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < n; i++) {
		mig_file *f = files[i];
		mig_script *sc = &scripts[i];
		if (sc->is_nontx) {
			char *why = cf_asprintf("it runs outside a transaction (%s), which a dry run "
			                        "cannot roll back", sc->nontx_why);
			not_tried(d, files, i, n, why);
			free(why);
			break;
		}
		if (cf_ctx_is_cancelled(ctx))
			return cf_error_set(ctx, CF_ERR_CANCELLED, "interrupted");
		double t0 = cf_now();
		dry_outcome out;
		st = try_one(d, f, sc, &out);
		if (st)
			break;
		if (out == DRY_NOT_TRIED) {
			char *why = cf_asprintf("it uses an enum value that an earlier migration of this "
			                        "run adds (%s), usable only once that one commits, as it "
			                        "does in the real run",
			                        cf_last_error(ctx));
			cf_ctx_clear_error(ctx);
			not_tried(d, files, i, n, why);
			free(why);
			break;
		}
		cf_migration *e = mig_res_add(&d->op->m, f->version, f->name);
		mig_entry_fill(e, f, NULL);
		e->execution_time_ms = (long)((cf_now() - t0) * 1000);
		if (out == DRY_OK) {
			e->status = "would_apply";
			d->n_tried++;
			continue;
		}
		e->status = "failed";
		d->n_failed++;
		cf_error_context(ctx, "while applying migration \"%s\"", f->base);
		if (!d->keep_going)
			return cf_error_code(ctx);
		cf_error_recode(ctx, CF_ERR_PREFLIGHT);
		cf_errlist_push_ctx(&d->op->m.errs, ctx);
		cf_ctx_clear_error(ctx);
	}
	return st;
}
