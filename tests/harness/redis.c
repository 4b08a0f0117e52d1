/* redis.c: test harness that runs a real, throw-away redis-server on a unix socket in a fresh temp dir. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "redis.h"
#include "run.h"

#define WAIT_MS 5000
#define POLL_MS 20

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* True when something answers PONG on the socket. */
static bool
answers_ping(const char *path)
{
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	redisContext *c = redisConnectUnixWithTimeout(path, tv);
	redisReply *r;
	bool up = false;

	if (c == NULL)
		return false;
	if (c->err == 0) {
		(void)redisSetTimeout(c, tv);
		r = redisCommand(c, "PING");
		up = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
		if (r != NULL)
			freeReplyObject(r);
	}
	redisFree(c);
	return up;
}

void
test_redis_start(struct test_redis *r)
{
	const char *tmp = getenv("TMPDIR");
	const char *server = getenv("PW_REDIS_SERVER");
	char logfile[sizeof(r->dir) + 16];
	pid_t pid;
	int64_t deadline;

	memset(r, 0, sizeof(*r));
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (server == NULL || server[0] == '\0')
		server = "redis-server";
	/* unix socket paths are limited to 107 bytes: fall back to /tmp for a deep TMPDIR */
	if (strlen(tmp) > 60)
		tmp = "/tmp";
	cr_assert(snprintf(r->dir, sizeof(r->dir), "%s/pw-redis-XXXXXX", tmp) < (int)sizeof(r->dir));
	cr_assert_not_null(mkdtemp(r->dir), "mkdtemp %s: %s", r->dir, strerror(errno));
	cr_assert(snprintf(r->socket_path, sizeof(r->socket_path), "%s/redis.sock", r->dir) <
	    (int)sizeof(r->socket_path));
	cr_assert(snprintf(r->url, sizeof(r->url), "unix://%s", r->socket_path) < (int)sizeof(r->url));
	cr_assert(snprintf(logfile, sizeof(logfile), "%s/redis.log", r->dir) < (int)sizeof(logfile));

	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			(void)dup2(fd, STDIN_FILENO);
			(void)dup2(fd, STDOUT_FILENO);
		}
#ifdef __linux__
		/* a crashed test must not leave its server behind */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		execlp(server, server,
		    "--port", "0",
		    "--unixsocket", r->socket_path,
		    "--unixsocketperm", "700",
		    "--dir", r->dir,
		    "--save", "",
		    "--appendonly", "no",
		    "--daemonize", "no",
		    "--logfile", logfile,
		    (char *)NULL);
		fprintf(stderr, "cannot execute %s: %s\n", server, strerror(errno));
		_exit(127);
	}
	r->pid = pid;

	deadline = mono_ms() + WAIT_MS;
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->pid = 0;
			test_remove_tree(r->dir);
			cr_assert_fail("%s exited (status %d) before answering on %s", server,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1, r->socket_path);
		}
		if (answers_ping(r->socket_path))
			return;
		if (mono_ms() >= deadline) {
			test_redis_stop(r);
			cr_assert_fail("%s did not answer PING on a unix socket within %d ms", server, WAIT_MS);
		}
		nap(POLL_MS);
	}
}

void
test_redis_kill(struct test_redis *r)
{
	if (r->pid > 0) {
		(void)kill(r->pid, SIGKILL);
		(void)waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

void
test_redis_stop(struct test_redis *r)
{
	if (r->pid > 0) {
		(void)kill(r->pid, SIGTERM);
		(void)waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	test_remove_tree(r->dir);
	r->dir[0] = '\0';
}
