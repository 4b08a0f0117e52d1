/* private.c: starts, reuses and stops the daemon's own redis-server on a unix socket in its state directory. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "common/util.h"
#include "store/private.h"

#define START_WAIT_MS 5000
#define STOP_WAIT_MS 15000      /* SHUTDOWN fsyncs the AOF; give a big one time */
#define POLL_MS 50

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static const char *
server_path(void)
{
	const char *env = getenv("PW_REDIS_SERVER");

	return env != NULL && env[0] != '\0' ? env : REDIS_SERVER_PATH;
}

/* mkdir -p with mode 0700 for what it creates; existing directories are left as they are. */
static bool
make_dirs(const char *dir, char *err, size_t errlen)
{
	char *p = xstrdup(dir);
	bool ok = true;

	for (char *s = p + 1; ok; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			(void)pw_snprintf(err, errlen, "cannot create the state directory %s: %s", p, strerror(errno));
			ok = false;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (ok) {
		struct stat sb;
		if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
			(void)pw_snprintf(err, errlen, "state directory %s is not a directory", dir);
			ok = false;
		}
	}
	return ok;
}

/*
 * 1: answers PING; 0: no server there (or not ready: LOADING, refused);
 * the text of the last problem goes into why.
 */
static int
ping_socket(const char *path, char *why, size_t whylen)
{
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	redisContext *c = redisConnectUnixWithTimeout(path, tv);
	redisReply *r;
	int up = 0;

	if (c == NULL) {
		(void)pw_snprintf(why, whylen, "out of memory");
		return 0;
	}
	if (c->err != 0) {
		(void)pw_snprintf(why, whylen, "%s", c->errstr);
		redisFree(c);
		return 0;
	}
	(void)redisSetTimeout(c, tv);
	r = redisCommand(c, "PING");
	if (r == NULL)
		(void)pw_snprintf(why, whylen, "%s", c->errstr);
	else if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
		up = 1;
	else
		(void)pw_snprintf(why, whylen, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply to PING");
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return up;
}

/* Opens (creating) a lock file in the state dir; close-on-exec so redis-server never inherits a lock. */
static int
open_lock(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(path);
	return fd;
}

static void
lock_wait(int fd, int op)
{
	while (flock(fd, op) == -1 && errno == EINTR)
		;
}

static void
free_strings(struct private_redis *pr)
{
	free(pr->state_dir);
	free(pr->socket_path);
	free(pr->url);
	pr->state_dir = pr->socket_path = pr->url = NULL;
}

/* In the child: its own process group (a terminal's Ctrl-C must not kill it before the daemon flushes), then exec. */
static _Noreturn void
exec_server(const char *server, const char *dir, const char *sock, const char *logfile)
{
	int fd;

	(void)setpgid(0, 0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			(void)close(fd);
	}
	/* stderr stays: an exec failure or a bad option shows up in the daemon's own log */
	execl(server, server,
	    "--port", "0",
	    "--unixsocket", sock,
	    "--unixsocketperm", "700",
	    "--dir", dir,
	    "--appendonly", "yes",
	    "--appendfsync", "everysec",
	    "--save", "",
	    "--daemonize", "no",
	    "--logfile", logfile,
	    (char *)NULL);
	_exit(127);
}

static bool
start_locked(struct private_redis *pr, const char *state_dir, char *err, size_t errlen)
{
	const char *server = server_path();
	char why[256] = "no answer";
	char *logfile = NULL;
	pid_t pid;
	int64_t deadline;

	pr->state_dir = xstrdup(state_dir);
	pr->socket_path = xasprintf("%s/redis.sock", state_dir);
	pr->url = xasprintf("unix://%s", pr->socket_path);
	if (strlen(pr->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		(void)pw_snprintf(err, errlen,
		    "state directory %s is too long for a unix socket path (%s is over 107 bytes); choose a shorter state-dir",
		    state_dir, pr->socket_path);
		free_strings(pr);
		return false;
	}
	if (ping_socket(pr->socket_path, why, sizeof(why)) == 1) {
		log_info("reusing the private redis-server already listening on %s", pr->socket_path);
		return true;
	}

	logfile = xasprintf("%s/redis.log", state_dir);
	if (access(server, X_OK) == -1) {
		(void)pw_snprintf(err, errlen, "cannot run %s: %s — install the Debian package redis-server, "
		    "set PW_REDIS_SERVER, or set redis.url in pricewatch.conf", server, strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid == -1) {
		(void)pw_snprintf(err, errlen, "cannot start %s for %s: fork: %s", server, state_dir, strerror(errno));
		goto fail;
	}
	if (pid == 0)
		exec_server(server, state_dir, pr->socket_path, logfile);
	(void)setpgid(pid, pid);       /* both sides, so there is no window where it is in our group */
	pr->pid = pid;

	deadline = time_mono_ms() + START_WAIT_MS;
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			pr->pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				(void)pw_snprintf(err, errlen, "cannot execute %s for state directory %s", server, state_dir);
			else
				(void)pw_snprintf(err, errlen,
				    "%s exited (status %d) while starting in %s; see %s (another redis-server on the socket? a bad AOF?)",
				    server, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), state_dir, logfile);
			goto fail;
		}
		if (ping_socket(pr->socket_path, why, sizeof(why)) == 1)
			break;
		if (time_mono_ms() >= deadline) {
			(void)pw_snprintf(err, errlen,
			    "%s did not answer on %s within %d ms (last: %s); see %s", server, pr->socket_path,
			    START_WAIT_MS, why, logfile);
			(void)kill(pid, SIGTERM);
			(void)waitpid(pid, NULL, 0);
			pr->pid = 0;
			goto fail;
		}
		sleep_ms(POLL_MS);
	}
	log_info("started private redis-server (pid %ld) on %s, data in %s", (long)pid, pr->socket_path, state_dir);
	free(logfile);
	return true;
fail:
	free(logfile);
	free_strings(pr);
	return false;
}

bool
private_redis_start(struct private_redis *pr, const char *state_dir, char *err, size_t errlen)
{
	int start_fd;
	bool ok;

	memset(pr, 0, sizeof(*pr));
	pr->users_fd = -1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (state_dir == NULL || state_dir[0] != '/') {
		(void)pw_snprintf(err, errlen, "state directory \"%s\" must be an absolute path",
		    state_dir != NULL ? state_dir : "");
		return false;
	}
	if (!make_dirs(state_dir, err, errlen))
		return false;
	/*
	 * redis.start serialises "is it up? else start it" and "am I the last
	 * user? then stop it", so two processes never start two servers on one
	 * socket, and nobody shuts a server down under a process attaching to it.
	 */
	start_fd = open_lock(state_dir, "redis.start");
	pr->users_fd = open_lock(state_dir, "redis.users");
	if (start_fd == -1 || pr->users_fd == -1) {
		(void)pw_snprintf(err, errlen, "cannot create lock files in the state directory %s: %s",
		    state_dir, strerror(errno));
		if (start_fd != -1)
			close(start_fd);
		if (pr->users_fd != -1)
			close(pr->users_fd);
		pr->users_fd = -1;
		return false;
	}
	lock_wait(start_fd, LOCK_EX);
	ok = start_locked(pr, state_dir, err, errlen);
	if (ok)
		lock_wait(pr->users_fd, LOCK_SH);
	else {
		close(pr->users_fd);
		pr->users_fd = -1;
	}
	close(start_fd);
	return ok;
}

/* Waits up to ms for pid to exit; true when it did. */
static bool
wait_exit(pid_t pid, int64_t ms)
{
	int64_t deadline = time_mono_ms() + ms;

	for (;;) {
		pid_t w = waitpid(pid, NULL, WNOHANG);
		if (w == pid || (w == -1 && errno == ECHILD))
			return true;
		if (time_mono_ms() >= deadline)
			return false;
		sleep_ms(POLL_MS);
	}
}

/* Asks the server to SHUTDOWN (it flushes the AOF); true when it accepted or the connection closed. */
static bool
send_shutdown(const char *socket_path)
{
	struct timeval tv = { .tv_sec = 5, .tv_usec = 0 };
	redisContext *c = redisConnectUnixWithTimeout(socket_path, tv);
	bool asked = false;

	if (c != NULL && c->err == 0) {
		/* the reply is normally the connection closing */
		redisReply *r;

		(void)redisSetTimeout(c, tv);
		r = redisCommand(c, "SHUTDOWN");
		if (r == NULL || r->type != REDIS_REPLY_ERROR)
			asked = true;
		else
			log_warnx("private redis-server on %s refused SHUTDOWN: %s", socket_path, r->str);
		if (r != NULL)
			freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return asked;
}

void
private_redis_stop(struct private_redis *pr)
{
	char why[128];
	int start_fd;
	bool last;

	/* Never started (or start failed, which already released everything). */
	if (pr == NULL || pr->socket_path == NULL)
		return;
	start_fd = open_lock(pr->state_dir, "redis.start");
	if (start_fd != -1)
		lock_wait(start_fd, LOCK_EX);
	/* Converting our shared lock to exclusive succeeds only when nobody else holds one. */
	last = pr->users_fd >= 0 && flock(pr->users_fd, LOCK_EX | LOCK_NB) == 0;
	if (last) {
		bool asked = send_shutdown(pr->socket_path);

		if (pr->pid > 0) {
			if (!asked)
				(void)kill(pr->pid, SIGTERM);   /* redis-server also flushes the AOF on SIGTERM */
			if (!wait_exit(pr->pid, STOP_WAIT_MS)) {
				log_warnx("private redis-server (pid %ld) in %s did not stop; killing it",
				    (long)pr->pid, pr->state_dir);
				(void)kill(pr->pid, SIGKILL);
				(void)waitpid(pr->pid, NULL, 0);
			}
		} else {
			/* Not our child: wait until the socket stops answering. */
			int64_t deadline = time_mono_ms() + STOP_WAIT_MS;

			while (ping_socket(pr->socket_path, why, sizeof(why)) == 1 && time_mono_ms() < deadline)
				sleep_ms(POLL_MS);
		}
	} else if (pr->pid > 0)
		log_info("private redis-server on %s stays up for its other users", pr->socket_path);
	pr->pid = 0;
	if (pr->users_fd >= 0)
		close(pr->users_fd);
	pr->users_fd = -1;
	if (start_fd != -1)
		close(start_fd);
	free_strings(pr);
}
