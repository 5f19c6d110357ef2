/*
 * embedded.c -- a project-local PostgreSQL under .confiture/pg/.
 *
 * Reached only through a unix socket in a private directory, with trust
 * authentication: the socket directory's permissions are the access control.
 * Tuned for development (fsync off); it is not meant to hold data you cannot
 * rebuild. When confiture runs as root the server runs as "postgres", and
 * when the project path is too long for a socket path, or unreachable for
 * that user, the cluster lives in /tmp and .confiture/pg links to it.
 */
#include "embedded.h"
#include "buf.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "log.h"
#include "pg.h"
#include "proc.h"
#include "secret.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVER_USER "postgres"
#define EMBEDDED_PORT 5432
#define SOCKET_MAX 100 /* sun_path is 108 bytes, minus "/.s.PGSQL.5432" */

static bool has_server_bins(const char *dir)
{
	static const char *const bins[] = {"initdb", "pg_ctl", "postgres"};
	for (size_t i = 0; i < 3; i++) {
		char *p = cf_path_join(dir, bins[i]);
		bool ok = access(p, X_OK) == 0;
		free(p);
		if (!ok)
			return false;
	}
	return true;
}

/* Newest /usr/lib/postgresql/N/bin, by numeric version. */
static char *newest_debian_bindir(void)
{
	DIR *d = opendir("/usr/lib/postgresql");
	if (!d)
		return NULL;
	long best = -1;
	char *found = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		long v;
		if (cf_parse_long(de->d_name, &v) != 0 || v <= best)
			continue;
		char *bin = cf_asprintf("/usr/lib/postgresql/%s/bin", de->d_name);
		if (has_server_bins(bin)) {
			free(found);
			found = bin;
			best = v;
		} else {
			free(bin);
		}
	}
	closedir(d);
	return found;
}

static char *path_bindir(void)
{
	const char *path = getenv("PATH");
	cf_strv dirs;
	cf_strv_init(&dirs);
	cf_strv_split(&dirs, path ? path : "", ':');
	char *found = NULL;
	for (size_t i = 0; i < dirs.n && !found; i++)
		if (has_server_bins(dirs.v[i]))
			found = cf_strdup(dirs.v[i]);
	cf_strv_release(&dirs);
	return found;
}

char *cf_pg_bindir(cf_ctx *ctx)
{
	const char *env = getenv("PG_BINDIR");
	if (env && *env) {
		if (has_server_bins(env))
			return cf_strdup(env);
		cf_error_set(ctx, CF_ERR_CONNECT,
		             "PG_BINDIR \"%s\" does not hold the PostgreSQL server binaries", env);
		cf_error_detail(ctx, "The embedded cluster needs initdb, pg_ctl and postgres.");
		cf_error_hint(ctx, "Point PG_BINDIR at a directory such as /usr/lib/postgresql/15/bin.");
		return NULL;
	}
	char *dir = newest_debian_bindir();
	if (!dir)
		dir = path_bindir();
	if (dir)
		return dir;
	cf_error_set(ctx, CF_ERR_CONNECT, "PostgreSQL server binaries not found");
	cf_error_detail(ctx, "The embedded cluster needs initdb, pg_ctl and postgres; looked in "
	                     "PG_BINDIR, /usr/lib/postgresql/*/bin and PATH.");
	cf_error_hint(ctx, "Install them (apt-get install postgresql-15), set PG_BINDIR, or set "
	                   "database_url to use another server.");
	return NULL;
}

/* ---- Where the cluster lives ---------------------------------------------- */

typedef struct cluster {
	char *link;      /* PROJECT/.confiture/pg */
	char *dir;       /* the real directory (== link unless relocated) */
	char *data;      /* dir/data */
	char *run;       /* dir/run (socket directory) */
	char *bin;       /* server binaries, NULL until needed */
	const char *run_as; /* server OS user when root, else NULL */
} cluster;

static void cluster_release(cluster *c)
{
	free(c->link);
	free(c->dir);
	free(c->data);
	free(c->run);
	free(c->bin);
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* Can the server user reach (traverse) every directory up to PATH? */
static bool server_can_reach(const char *path)
{
	if (!is_root())
		return true;
	unsigned uid, gid;
	if (!cf_user_ids(SERVER_USER, &uid, &gid))
		return false;
	char *p = cf_strdup(path);
	bool ok = true;
	for (char *s = p;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		struct stat stbuf;
		if (*p && stat(p, &stbuf) == 0) {
			mode_t need = stbuf.st_uid == uid ? S_IXUSR : stbuf.st_gid == gid ? S_IXGRP : S_IXOTH;
			if (!(stbuf.st_mode & need))
				ok = false;
		}
		*s = c;
		if (!c || !ok)
			break;
	}
	free(p);
	return ok;
}

static void cluster_paths(cluster *c, const char *dir)
{
	c->dir = cf_strdup(dir);
	c->data = cf_path_join(dir, "data");
	c->run = cf_path_join(dir, "run");
}

/* Resolves the cluster's directories; creates them when CREATE. */
static cf_status cluster_locate(cf_ctx *ctx, cluster *c, bool create)
{
	memset(c, 0, sizeof(*c));
	c->run_as = is_root() ? SERVER_USER : NULL;
	c->link = cf_path_join(ctx->project_dir, ".confiture/pg");
	char real[PATH_MAX];
	if (realpath(c->link, real)) {
		cluster_paths(c, real);
		return CF_OK;
	}
	char *parent = cf_path_join(ctx->project_dir, ".confiture");
	bool relocate = strlen(c->link) + strlen("/run") > SOCKET_MAX ||
	                !server_can_reach(ctx->project_dir);
	cf_status st = CF_OK;
	if (!create) {
		cluster_paths(c, c->link);
	} else if (relocate) {
		char hex[65];
		cf_sha256_hex(ctx->project_dir, strlen(ctx->project_dir), hex);
		hex[12] = '\0';
		char *tmp = cf_asprintf("/tmp/confiture-pg-%s", hex);
		st = cf_mkdirs(ctx, parent, 0755);
		if (!st && mkdir(tmp, 0700) != 0 && errno != EEXIST)
			st = cf_error_set(ctx, CF_ERR_IO, "could not create directory \"%s\": %s", tmp,
			                  strerror(errno));
		if (!st && symlink(tmp, c->link) != 0 && errno != EEXIST)
			st = cf_error_set(ctx, CF_ERR_IO, "could not create link \"%s\": %s", c->link,
			                  strerror(errno));
		cluster_paths(c, tmp);
		free(tmp);
	} else {
		/* .confiture is traversable; pg/ itself is private to the server user. */
		st = cf_mkdirs(ctx, parent, 0755);
		if (!st && mkdir(c->link, 0700) != 0 && errno != EEXIST)
			st = cf_error_set(ctx, CF_ERR_IO, "could not create directory \"%s\": %s", c->link,
			                  strerror(errno));
		cluster_paths(c, c->link);
	}
	free(parent);
	return st;
}

/* ---- Running the server binaries ------------------------------------------ */

static cf_status run_bin(cf_ctx *ctx, const cluster *c, const char *const *args,
                         const char *log, cf_proc_result *r)
{
	const char *argv[16];
	size_t n = 0;
	char *prog = cf_path_join(c->bin, args[0]);
	argv[n++] = prog;
	for (size_t i = 1; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cf_proc_opts o = {.argv = argv, .cwd = "/", .log_path = log, .run_as = c->run_as};
	cf_status st = cf_proc_run(ctx, &o, r);
	free(prog);
	return st;
}

static bool cluster_running(cf_ctx *ctx, const cluster *c)
{
	char *pidfile = cf_path_join(c->data, "postmaster.pid");
	char *text = NULL;
	bool alive = false;
	if (cf_is_file(pidfile) && cf_file_read(ctx, pidfile, &text, NULL) == CF_OK) {
		long pid = atol(text);
		/* A SIGKILLed postmaster may linger as a zombie until reaped. */
		char *status = cf_asprintf("/proc/%ld/status", pid);
		char *st_text = NULL;
		for (int tries = 0; pid > 0 && tries < 50; tries++) {
			free(st_text);
			st_text = NULL;
			if (cf_file_read(ctx, status, &st_text, NULL) != CF_OK) {
				cf_ctx_clear_error(ctx);
				break;
			}
			if (!strstr(st_text, "State:\tZ")) {
				alive = true;
				break;
			}
			usleep(100000);
		}
		free(st_text);
		free(status);
	}
	cf_ctx_clear_error(ctx);
	free(text);
	free(pidfile);
	return alive;
}

static cf_status cluster_chown(cf_ctx *ctx, const cluster *c)
{
	unsigned uid, gid;
	if (!c->run_as)
		return CF_OK;
	if (!cf_user_ids(c->run_as, &uid, &gid)) {
		cf_error_set(ctx, CF_ERR_CONNECT, "running as root, but OS user \"%s\" does not exist",
		             c->run_as);
		cf_error_hint(ctx, "PostgreSQL refuses to run as root; the postgresql-15 package "
		                   "creates the \"postgres\" user.");
		return CF_ERR_CONNECT;
	}
	if (chown(c->dir, uid, gid) != 0)
		return cf_error_set(ctx, CF_ERR_IO, "could not change owner of \"%s\": %s", c->dir,
		                    strerror(errno));
	return CF_OK;
}

static cf_status cluster_initdb(cf_ctx *ctx, const cluster *c)
{
	char *log = cf_path_join(c->dir, "initdb.log");
	const char *args[] = {"initdb", "-D", c->data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
	                      "--locale=C", "--no-sync", "--no-instructions", NULL};
	cf_log_info(ctx, "initializing the embedded cluster in %s", c->link);
	cf_proc_result r;
	cf_status st = cluster_chown(ctx, c);
	if (!st)
		st = run_bin(ctx, c, args, log, &r);
	if (!st && r.exit_code != 0) {
		st = cf_error_set(ctx, CF_ERR_CONNECT, "could not initialize the embedded cluster");
		cf_error_detail(ctx, "initdb failed; its log is %s.", log);
	}
	char *conf = cf_path_join(c->data, "postgresql.conf");
	char *extra = cf_asprintf("\n# confiture embedded cluster\n"
	                          "listen_addresses = ''\n"
	                          "port = %d\n"
	                          "unix_socket_directories = '%s'\n"
	                          "unix_socket_permissions = 0700\n"
	                          "fsync = off\n"
	                          "synchronous_commit = off\n"
	                          "full_page_writes = off\n",
	                          EMBEDDED_PORT, c->run);
	if (!st) {
		int fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0 || write(fd, extra, strlen(extra)) != (ssize_t)strlen(extra))
			st = cf_error_set(ctx, CF_ERR_IO, "could not write \"%s\": %s", conf,
			                  strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(extra);
	free(conf);
	free(log);
	return st;
}

static cf_status cluster_make_run_dir(cf_ctx *ctx, const cluster *c)
{
	if (mkdir(c->run, 0700) != 0 && errno != EEXIST)
		return cf_error_set(ctx, CF_ERR_IO, "could not create directory \"%s\": %s", c->run,
		                    strerror(errno));
	unsigned uid, gid;
	if (c->run_as && cf_user_ids(c->run_as, &uid, &gid) && chown(c->run, uid, gid) != 0)
		return cf_error_set(ctx, CF_ERR_IO, "could not change owner of \"%s\": %s", c->run,
		                    strerror(errno));
	return CF_OK;
}

static cf_status cluster_start(cf_ctx *ctx, const cluster *c)
{
	char *log = cf_path_join(c->dir, "server.log");
	const char *args[] = {"pg_ctl", "-D", c->data, "-l", log, "-w", "-t", "60", "start", NULL};
	cf_proc_result r;
	cf_status st = cluster_make_run_dir(ctx, c);
	if (!st)
		st = run_bin(ctx, c, args, NULL, &r);
	if (!st && r.exit_code != 0) {
		st = cf_error_set(ctx, CF_ERR_CONNECT, "could not start the embedded cluster");
		cf_error_detail(ctx, "pg_ctl start failed; the server log is %s.", log);
	}
	free(log);
	return st;
}

/* Serializes init and start between concurrent confiture processes. */
static int cluster_lock(const cluster *c)
{
	char *path = cf_path_join(c->dir, "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

static void cluster_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static cf_status need_bin(cf_ctx *ctx, cluster *c)
{
	if (!c->bin)
		c->bin = cf_pg_bindir(ctx);
	return c->bin ? CF_OK : cf_error_code(ctx);
}

static cf_status need_project(cf_ctx *ctx)
{
	if (ctx->project_dir)
		return CF_OK;
	return cf_error_set(ctx, CF_ERR_USAGE, "no project loaded (call cf_ctx_load first)");
}

/* Initializes and starts the cluster, without touching databases. */
static cf_status embedded_boot(cf_ctx *ctx)
{
	cluster c;
	cf_status st = need_project(ctx);
	if (st)
		return st;
	st = cluster_locate(ctx, &c, true);
	if (!st)
		st = need_bin(ctx, &c);
	int lock = st ? -1 : cluster_lock(&c);
	char *version = cf_path_join(c.data, "PG_VERSION");
	if (!st && !cf_is_file(version))
		st = cluster_initdb(ctx, &c);
	if (!st && !cluster_running(ctx, &c))
		st = cluster_start(ctx, &c);
	cluster_unlock(lock);
	free(version);
	cluster_release(&c);
	return st;
}

cf_status cf_embedded_stop(cf_ctx *ctx)
{
	cluster c;
	cf_status st = need_project(ctx);
	if (st)
		return st;
	st = cluster_locate(ctx, &c, false);
	if (!st && cluster_running(ctx, &c)) {
		st = need_bin(ctx, &c);
		const char *args[] = {"pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop", NULL};
		cf_proc_result r;
		if (!st)
			st = run_bin(ctx, &c, args, NULL, &r);
		if (!st && r.exit_code != 0)
			st = cf_error_set(ctx, CF_ERR_CONNECT, "could not stop the embedded cluster");
	}
	cluster_release(&c);
	return st;
}

cf_status cf_embedded_destroy(cf_ctx *ctx)
{
	cf_status st = cf_embedded_stop(ctx);
	if (st)
		return st;
	cluster c;
	st = cluster_locate(ctx, &c, false);
	if (!st && strcmp(c.dir, c.link) != 0)
		st = cf_remove_tree(ctx, c.dir);
	if (!st)
		st = cf_remove_tree(ctx, c.link);
	cluster_release(&c);
	return st;
}

static char *conninfo_for(const cluster *c, const char *dbname)
{
	char *host = cf_dsn_quote(c->run);
	char *db = cf_dsn_quote(dbname);
	char *s = cf_asprintf("host=%s port=%d user=postgres dbname=%s", host, EMBEDDED_PORT, db);
	free(host);
	free(db);
	return s;
}

cf_status cf_embedded_status_get(cf_ctx *ctx, cf_embedded_status **out)
{
	cluster c;
	cf_status st = need_project(ctx);
	if (st)
		return st;
	st = cluster_locate(ctx, &c, false);
	if (st)
		return st;
	cf_embedded_status *s = cf_calloc(1, sizeof(*s));
	char *version = cf_path_join(c.data, "PG_VERSION");
	s->is_initialized = cf_is_file(version);
	s->is_running = s->is_initialized && cluster_running(ctx, &c);
	if (s->is_running) {
		char *pidfile = cf_path_join(c.data, "postmaster.pid"), *text = NULL;
		if (cf_file_read(ctx, pidfile, &text, NULL) == CF_OK)
			s->pid = atoi(text);
		cf_ctx_clear_error(ctx);
		free(text);
		free(pidfile);
	}
	s->data_dir = cf_strdup(c.data);
	s->socket_dir = cf_strdup(c.run);
	s->port = EMBEDDED_PORT;
	s->bin_dir = cf_pg_bindir(ctx);
	cf_ctx_clear_error(ctx);
	s->url = conninfo_for(&c, ctx->env ? ctx->env : "local");
	free(version);
	cluster_release(&c);
	*out = s;
	return CF_OK;
}

void cf_embedded_status_free(cf_embedded_status *st)
{
	if (!st)
		return;
	free(st->data_dir);
	free(st->socket_dir);
	free(st->bin_dir);
	free(st->url);
	free(st);
}

/* Creates DBNAME on the cluster when it does not exist yet. */
static cf_status ensure_database(cf_ctx *ctx, const cluster *c, const char *dbname)
{
	char *admin = conninfo_for(c, "postgres");
	cf_pg *pg = NULL;
	char *exists = NULL;
	cf_status st = cf_pg_connect(ctx, admin, &pg);
	const char *params[] = {dbname};
	if (!st)
		st = cf_pg_query_value(pg, "SELECT 1 FROM pg_database WHERE datname = $1", 1, params,
		                       &exists);
	if (!st && !exists) {
		char *sql = cf_sql_format(pg, "CREATE DATABASE %I", dbname);
		st = cf_pg_exec(pg, sql);
		/* Another process may have created it meanwhile. */
		if (st == CF_ERR_SQL && cf_error_sqlstate_get(ctx) &&
		    strcmp(cf_error_sqlstate_get(ctx), "42P04") == 0) {
			cf_ctx_clear_error(ctx);
			st = CF_OK;
		}
		free(sql);
	}
	free(exists);
	cf_pg_close(pg);
	free(admin);
	return st;
}

cf_status cf_embedded_conninfo(cf_ctx *ctx, char **out)
{
	return cf_embedded_conninfo_for(ctx, ctx->env, out);
}

cf_status cf_embedded_conninfo_for(cf_ctx *ctx, const char *env, char **out)
{
	*out = NULL;
	cf_status st = embedded_boot(ctx);
	cluster c;
	if (st)
		return st;
	st = cluster_locate(ctx, &c, false);
	if (!st)
		st = ensure_database(ctx, &c, env);
	if (!st)
		*out = conninfo_for(&c, env);
	cluster_release(&c);
	return st;
}

cf_status cf_embedded_start(cf_ctx *ctx)
{
	char *conninfo = NULL;
	cf_status st = cf_embedded_conninfo_for(ctx, ctx->env ? ctx->env : "local", &conninfo);
	cf_secret_free(conninfo);
	return st;
}
