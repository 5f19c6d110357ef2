/* proc.c -- fork/exec with pipes, timeouts and privilege dropping. */
#include "proc.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

bool cf_user_ids(const char *user, unsigned *uid, unsigned *gid)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

static void close_from(int lowfd)
{
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

/* In the child: never returns. Reports exec failure through ERRFD. */
static void child(const cf_proc_opts *o, int in_fd, int out_fd, int errfd)
{
	setsid();
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(in_fd, 0);
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	if (errfd != 3) {
		dup2(errfd, 3);
		errfd = 3;
	}
	fcntl(errfd, F_SETFD, FD_CLOEXEC);
	close_from(4);
	int err = 0;
	if (o->cwd && chdir(o->cwd) != 0)
		err = errno;
	if (!err && o->run_as && geteuid() == 0) {
		unsigned uid, gid;
		if (!cf_user_ids(o->run_as, &uid, &gid))
			err = ESRCH;
		else if (initgroups(o->run_as, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			err = errno;
	}
	if (!err) {
		char *const *envp = o->envp ? (char *const *)o->envp : environ;
		if (strchr(o->argv[0], '/'))
			execve(o->argv[0], (char *const *)o->argv, envp);
		else
			execvpe(o->argv[0], (char *const *)o->argv, envp);
		err = errno;
	}
	ssize_t w = write(errfd, &err, sizeof(err));
	(void)w;
	_exit(127);
}

static int open_output(const cf_proc_opts *o, int pipe_w)
{
	if (o->log_path)
		return open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (o->output)
		return pipe_w;
	return open("/dev/null", O_WRONLY | O_CLOEXEC);
}

/*
 * A child may exit without reading its stdin. Writing to that pipe raises
 * SIGPIPE, which would kill a caller that did not ignore it: block it in
 * this thread while pumping and swallow what was raised.
 */
typedef struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
		struct timespec zero = {0, 0};
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Pumps stdin and output until both are done or the deadline passes. */
static bool pump(const cf_proc_opts *o, int in_w, int out_r, double deadline)
{
	size_t written = 0;
	char buf[8192];
	while (in_w >= 0 || out_r >= 0) {
		struct pollfd p[2];
		int n = 0, iw = -1, ir = -1;
		if (in_w >= 0) {
			p[n] = (struct pollfd){.fd = in_w, .events = POLLOUT};
			iw = n++;
		}
		if (out_r >= 0) {
			p[n] = (struct pollfd){.fd = out_r, .events = POLLIN};
			ir = n++;
		}
		int wait_ms = -1;
		if (deadline > 0) {
			double left = deadline - cf_now();
			if (left <= 0) {
				if (in_w >= 0)
					close(in_w);
				if (out_r >= 0)
					close(out_r);
				return false;
			}
			wait_ms = (int)(left * 1000) + 1;
		}
		int r = poll(p, (nfds_t)n, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue; /* the deadline check above ends the loop */
		if (iw >= 0 && p[iw].revents) {
			ssize_t k = write(in_w, o->stdin_data + written, o->stdin_len - written);
			if (k > 0)
				written += (size_t)k;
			if (k < 0 || written >= o->stdin_len) {
				close(in_w);
				in_w = -1;
			}
		}
		if (ir >= 0 && p[ir].revents) {
			ssize_t k = read(out_r, buf, sizeof(buf));
			if (k > 0) {
				cf_buf_append(o->output, buf, (size_t)k);
			} else if (k == 0 || errno != EINTR) {
				close(out_r);
				out_r = -1;
			}
		}
	}
	return true;
}

/* Waits for PID until DEADLINE; returns false on timeout. */
static bool wait_child(pid_t pid, int *status, double deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, deadline > 0 ? WNOHANG : 0);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true;
		if (deadline > 0 && cf_now() >= deadline)
			return false;
		if (r == 0)
			usleep(2000);
	}
}

static void kill_group(pid_t pid, int *status)
{
	kill(-pid, SIGTERM);
	if (!wait_child(pid, status, cf_now() + 2.0)) {
		kill(-pid, SIGKILL);
		waitpid(pid, status, 0);
	}
}

cf_status cf_proc_run(cf_ctx *ctx, const cf_proc_opts *o, cf_proc_result *r)
{
	memset(r, 0, sizeof(*r));
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	int in_fd = -1, out_fd = -1;
	cf_status st = CF_OK;
	if (pipe2(err_p, O_CLOEXEC) != 0 || (o->stdin_data && pipe2(in_p, O_CLOEXEC) != 0) ||
	    (o->output && !o->log_path && pipe2(out_p, O_CLOEXEC) != 0)) {
		st = cf_error_set(ctx, CF_ERR_IO, "could not create a pipe: %s", strerror(errno));
		goto done;
	}
	in_fd = o->stdin_data ? in_p[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
	out_fd = open_output(o, out_p[1]);
	if (in_fd < 0 || out_fd < 0) {
		st = cf_error_set(ctx, CF_ERR_IO, "could not open \"%s\": %s",
		                  o->log_path ? o->log_path : "/dev/null", strerror(errno));
		goto done;
	}
	double deadline = o->timeout_ms > 0 ? cf_now() + (double)o->timeout_ms / 1000.0 : 0;
	pid_t pid = fork();
	if (pid < 0) {
		st = cf_error_set(ctx, CF_ERR_IO, "could not start \"%s\": %s", o->argv[0],
		                  strerror(errno));
		goto done;
	}
	if (pid == 0)
		child(o, in_fd, out_fd, err_p[1]);
	close(err_p[1]);
	err_p[1] = -1;
	if (in_fd != in_p[0])
		close(in_fd);
	if (out_fd != out_p[1])
		close(out_fd);
	in_fd = out_fd = -1;
	close(in_p[0]);
	close(out_p[1]);
	in_p[0] = out_p[1] = -1;
	int child_err = 0;
	if (read(err_p[0], &child_err, sizeof(child_err)) == (ssize_t)sizeof(child_err)) {
		int status;
		waitpid(pid, &status, 0);
		st = cf_error_set(ctx, CF_ERR_IO, "could not run \"%s\": %s", o->argv[0],
		                  strerror(child_err));
		goto done;
	}
	sigpipe_guard guard;
	sigpipe_block(&guard);
	bool in_time = pump(o, in_p[1], out_p[0], deadline);
	sigpipe_restore(&guard);
	in_p[1] = out_p[0] = -1; /* closed by pump, or abandoned below */
	int status = 0;
	if (!in_time || !wait_child(pid, &status, deadline)) {
		r->timed_out = true;
		kill_group(pid, &status);
	}
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
done:
	for (int i = 0; i < 2; i++) {
		if (in_p[i] >= 0)
			close(in_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	if (in_fd >= 0 && in_fd != in_p[0])
		close(in_fd);
	if (out_fd >= 0 && out_fd != out_p[1])
		close(out_fd);
	return st;
}
