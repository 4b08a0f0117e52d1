/* redis-store.c: opens the project's store on a test redis-server (its own archive member, so tests without the store still link). */
#include <criterion/criterion.h>
#include <string.h>

#include "harness/redis.h"
#include "store/store.h"

struct store *
test_redis_open_store(const struct test_redis *r)
{
	struct store_opts so;
	struct store *st = NULL;
	char err[512];

	memset(&so, 0, sizeof(so));
	so.url = r->url;
	so.prefix = "pw:";
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 5000;
	cr_assert_eq(store_open(&st, &so, err, sizeof(err)), STORE_OK, "%s", err);
	return st;
}
