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
	int users_fd;              /* shared flock on state_dir/redis.users while we use it; -1 when none */
};

/*
 * Makes sure a private redis-server serves state_dir: reuses one that already
 * answers on state_dir/redis.sock, otherwise starts redis-server (AOF on, data in
 * state_dir, no TCP port) and waits until it answers PING. Returns false with a
 * message naming the state dir and redis-server path on failure.
 */
bool private_redis_start(struct private_redis *pr, const char *state_dir, char *err, size_t errlen);
/*
 * Several processes share one private server (the daemon, and CLI calls made
 * while it runs): each holds a shared lock on state_dir/redis.users while it
 * uses the server. private_redis_stop shuts the server down (SHUTDOWN, data
 * saved) only when the caller is its last user, whoever started it; otherwise
 * it leaves it running for the others. Frees the struct's strings.
 */
void private_redis_stop(struct private_redis *pr);

#endif
