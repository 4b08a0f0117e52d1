/* admin.h: pricewatchd's admin HTTP endpoint (libmicrohttpd): /metrics, /healthz and read-only listing history. */
#ifndef PW_DAEMON_ADMIN_H
#define PW_DAEMON_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/metrics.h"
#include "store/store.h"

/*
 * A health check, called on the admin thread for each GET /healthz: returns
 * true when healthy, else false with a short reason in why (may stay empty).
 * It must be thread-safe with respect to whatever it inspects.
 */
typedef bool (*admin_health_fn)(void *arg, char *why, size_t whylen);

struct admin_opts {
	/*
	 * "HOST:PORT", "[V6ADDR]:PORT" (HOST a numeric address or a name that
	 * resolves locally). NULL, "" or "off": no endpoint (admin_start succeeds
	 * and sets *out to NULL). Port 0 picks a free port (see admin_port).
	 */
	const char *listen;
	/* Bearer token every request must carry ("Authorization: Bearer TOKEN"); NULL or "": none. Copied. */
	const char *token;
	/* Rendered by GET /metrics; borrowed and must outlive the endpoint; NULL: /metrics answers 404. */
	struct metrics *metrics;
	/*
	 * Redis for /api/listings/... and the default Redis health check. The
	 * endpoint opens its own connection (lazily, on its own thread), never
	 * sharing the crawler's. Strings are copied.
	 */
	struct store_opts store;
	/* NULL: /healthz PINGs Redis over the endpoint's own connection. */
	admin_health_fn redis_ok;
	/* NULL: the scheduler is not checked (reported as "ok"). */
	admin_health_fn scheduler_ok;
	void *health_arg;          /* handed to both callbacks */
	/*
	 * Called on the admin thread before each /metrics render with the
	 * endpoint's own Redis connection (NULL while Redis is unreachable): the
	 * place to refresh gauges whose truth lives in Redis. NULL: none.
	 * admin_collect_redis is the one pricewatchd uses.
	 */
	void (*collect)(struct store *st, void *arg);
	void *collect_arg;
};

/*
 * A collect hook for struct pw_metrics (arg): queue depths (jobs in the stream,
 * jobs claimed by a daemon, alerts waiting or in delivery, dead alerts) and,
 * for every scheduled source, its last success time and error streak. These are
 * cluster-wide values read from Redis, the same from every daemon sharing it.
 */
void admin_collect_redis(struct store *st, void *arg);

struct admin;                  /* the running endpoint: its thread, listening socket and Redis connection */

/*
 * Binds the address and starts serving on an internal thread. Start it after
 * the daemon has forked into the background: threads do not survive fork().
 * On failure returns false with a sentence naming the address in err (such as
 * "admin endpoint 127.0.0.1:9466: cannot bind: Address already in use — ...").
 */
bool admin_start(const struct admin_opts *opts, struct admin **out, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
uint16_t admin_port(const struct admin *a);
/* Stops serving (waits for the request in hand), closes the socket and the Redis connection; NULL is fine. */
void admin_stop(struct admin *a);

#endif
