/* private.h: the embedded default store, a redis-server we start ourselves on a unix socket in the state directory. */
#ifndef PW_STORE_PRIVATE_H
#define PW_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct private_redis {
	char *state_dir;
	char *socket_path;         /* state_dir/redis.sock */
	char *url;                 /* "unix://<socket_path>" for store_open */
	pid_t pid;                 /* >0 when we started it; 0 when we reuse one already listening */
};

/*
 * Makes sure a private redis-server serves state_dir: reuses one that already
 * answers on state_dir/redis.sock, otherwise starts redis-server (AOF on, data in
 * state_dir, no TCP port) and waits until it answers PING. Returns false with a
 * message naming the state dir and redis-server path on failure.
 */
bool private_redis_start(struct private_redis *pr, const char *state_dir, char *err, size_t errlen);
/* Stops it with SHUTDOWN (data saved) only if we started it; frees the struct's strings. */
void private_redis_stop(struct private_redis *pr);

#endif
