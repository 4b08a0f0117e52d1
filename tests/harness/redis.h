/* redis.h: starts a real redis-server for a test on a unix socket in a fresh temp dir, and stops it. */
#ifndef PW_TEST_REDIS_H
#define PW_TEST_REDIS_H

#include <sys/types.h>

struct test_redis {
	char dir[256];             /* mkdtemp'd directory holding the socket and data */
	char socket_path[320];
	char url[352];             /* "unix:///.../redis.sock" */
	pid_t pid;
};

/* Starts redis-server ($PW_REDIS_SERVER or redis-server on PATH); aborts the test on failure. */
void test_redis_start(struct test_redis *r);
/* Kills it, waits, and removes the directory. */
void test_redis_stop(struct test_redis *r);
/* SIGKILLs it (to test "Redis went away") without cleaning up, so test_redis_stop still works. */
void test_redis_kill(struct test_redis *r);

struct store;
/* Opens the store (prefix "pw:") on r; fails the test when it cannot. The caller closes it (store_close). */
struct store *test_redis_open_store(const struct test_redis *r);

#endif
