/*
 * guard.c -- a small process that puts the target's foreign keys and
 * triggers back if confiture dies in the middle of a sync (kill -9, the OOM
 * killer, a second Ctrl-C).
 *
 * Before the run drops anything, it forks the guard (twice, so that init
 * adopts it and it is never anyone's zombie) in its own session, with no
 * descriptor but one end of a pipe: not the run's sockets, so that the
 * server sees the run's sessions end when the run dies. The guard blocks on
 * the pipe. A run that put everything back writes one byte and closes it:
 * the guard exits. When the pipe closes without that byte, the run is gone:
 * the guard connects to the target, waits for the run's sessions to end (it
 * takes the sync's advisory lock, which the run held), restores what
 * confiture.sync_restore records (constraints.c), marks the run interrupted,
 * and exits. The guard writes nothing anywhere and never exits the caller.
 */
#include "sync.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_SQL "SELECT pg_advisory_lock(1751936052, 1937337955)"
#define UNLOCK_SQL "SELECT pg_advisory_unlock(1751936052, 1937337955)"
#define MARK_SQL                                                                                   \
	"UPDATE confiture.sync_history SET outcome = 'interrupted', finished_at = now(), error = $2 " \
	"WHERE run_id = $1 AND outcome = 'running'"

static void nap(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Connects, retrying for about a minute: the run may have died because the
 * target was unreachable for a while. */
static cf_pg *connect_retrying(cf_ctx *ctx, const char *conninfo)
{
	double wait = 0.5;
	for (int attempt = 0; attempt < 12; attempt++) {
		cf_pg *pg = NULL;
		if (cf_pg_connect(ctx, conninfo, &pg) == CF_OK)
			return pg;
		cf_ctx_clear_error(ctx);
		nap(wait);
		wait = wait < 8 ? wait * 2 : 8;
	}
	return NULL;
}

static void recover(const char *conninfo, const char *run_id)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = connect_retrying(ctx, conninfo);
	if (pg && cf_pg_exec(pg, LOCK_WAIT_SQL) == CF_OK) {
		cf_strv failed;
		cf_strv_init(&failed);
		cf_status st = sync_constraints_restore(ctx, pg, NULL, &failed);
		cf_strv_release(&failed);
		const char *params[] = {run_id, st ? "confiture died during the sync; its guard could "
		                                     "not restore every foreign key and trigger"
		                                   : "confiture died during the sync; its guard restored "
		                                     "the target's foreign keys and triggers"};
		cf_ctx_clear_error(ctx);
		cf_pg_exec_params(pg, MARK_SQL, 2, params);
		cf_pg_exec(pg, UNLOCK_SQL);
	}
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

/* The guard itself: FD is the pipe's read end. Never returns. */
static void guard_main(int fd, char *conninfo, char *run_id)
{
	char c = 0;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (!(n == 1 && c == 'd'))
		recover(conninfo, run_id);
	cf_secret_free(conninfo);
	free(run_id);
	_exit(0);
}

/* In the first child: detach, keep only the pipe, fork the guard, leave. */
static void launch(int rfd, char *conninfo, char *run_id)
{
	pid_t g = fork();
	if (g != 0) {
		cf_secret_free(conninfo);
		free(run_id);
		_exit(g < 0 ? 1 : 0);
	}
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (rfd != 3)
		dup2(rfd, 3);
	/* Above all the run's sockets: the server must see them close. */
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close(fd);
	guard_main(3, conninfo, run_id);
}

cf_status sync_guard_spawn(cf_ctx *ctx, const char *target, const char *run_id, int *fd)
{
	int p[2];
	*fd = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return cf_error_set(ctx, CF_ERR_IO, "could not start the sync's guard: %s",
		                    strerror(errno));
	/* Copies made before the fork: the guard owns them. */
	char *conninfo = cf_strdup(target), *id = cf_strdup(run_id);
	pid_t mid = fork();
	if (mid == 0)
		launch(p[0], conninfo, id);
	cf_secret_free(conninfo);
	free(id);
	close(p[0]);
	if (mid < 0) {
		close(p[1]);
		return cf_error_set(ctx, CF_ERR_IO, "could not start the sync's guard: %s",
		                    strerror(errno));
	}
	int status;
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	*fd = p[1];
	return CF_OK;
}

void sync_guard_done(int *fd, bool restored)
{
	if (*fd < 0)
		return;
	if (restored) {
		ssize_t w = write(*fd, "d", 1);
		(void)w;
	}
	close(*fd);
	*fd = -1;
}

cf_status sync_guard_start(runner *R)
{
	return sync_guard_spawn(R->ctx, R->to.conninfo, R->run_id, &R->guard_fd);
}

void sync_guard_release(runner *R, bool restored)
{
	sync_guard_done(&R->guard_fd, restored);
}
