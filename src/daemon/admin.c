/* admin.c: the admin HTTP endpoint on libmicrohttpd: routing, bearer token, /metrics, /healthz and listing history as JSON. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/admin.h"
#include "store/jobs.h"

#define ADMIN_MAX_CONNECTIONS 32
#define ADMIN_CONNECTION_TIMEOUT_S 15
/* After a failed connect, requests answer from the last error for this long instead of dialling again. */
#define ADMIN_STORE_RETRY_MS 1000
#define HISTORY_PREFIX "/api/listings/"
#define HISTORY_SUFFIX "/history"
#define JSON_TYPE "application/json"
/* The alerts stream's consumer group (see DESIGN: pw:alerts, group "notifiers"). */
#define ALERTS_GROUP "notifiers"
/* Sources read back per scrape at most; more would make /metrics slow. */
#define COLLECT_MAX_SOURCES 1000

struct admin {
	struct MHD_Daemon *mhd;
	int fd;                    /* listening socket; MHD closes it on stop */
	uint16_t port;
	char *listen;
	char *token;               /* NULL: no authentication */
	struct metrics *metrics;
	/* Copies of the store options, so the caller's config may be reloaded meanwhile. */
	char *url, *prefix, *user, *password;
	struct store_opts so;
	/* Touched only by MHD's single internal thread, so no lock is needed. */
	struct store *st;
	int64_t store_failed_ms;   /* monotonic time of the last failed connect, 0 when none */
	char store_err[512];
	admin_health_fn redis_ok, scheduler_ok;
	void *health_arg;
	void (*collect)(struct store *, void *);
	void *collect_arg;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Routes libmicrohttpd's own messages (bad requests, resource limits) to our log. */
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warnx("admin endpoint: %s", msg);
}

/*
 * Splits "HOST:PORT" / "[V6]:PORT" into host and port. The brackets are
 * dropped; a bare IPv6 address without brackets is refused as ambiguous.
 */
static bool
split_listen(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(addr, ':'), *h = addr;
	size_t n;
	int64_t p;

	if (colon == NULL || !parse_int64(colon + 1, 0, 65535, &p))
		return false;
	n = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (n < 3 || addr[n - 1] != ']')
			return false;
		h = addr + 1;
		n -= 2;
	} else if (memchr(addr, ':', n) != NULL) {
		return false;
	}
	if (n == 0 || n >= hostlen || pw_strlcpy(port, colon + 1, portlen) >= portlen)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return true;
}

/* Resolves, binds and listens; returns the socket or -1 with a sentence in err. */
static int
open_listener(const char *addr, bool *v6, uint16_t *port, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[256], portstr[8];
	int fd, one = 1, rc, e;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (!split_listen(addr, host, sizeof(host), portstr, sizeof(portstr))) {
		pw_snprintf(err, errlen, "admin endpoint '%s': bad address: expected HOST:PORT such as "
		    "127.0.0.1:9466 or [::1]:9466, or off (see daemon.admin-listen in pricewatch.conf)",
		    addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	/* "[...]" holds an IPv6 address, never a name to look up. */
	if (addr[0] == '[') {
		hints.ai_family = AF_INET6;
		hints.ai_flags |= AI_NUMERICHOST;
	}
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || res == NULL) {
		pw_snprintf(err, errlen, "admin endpoint %s: cannot resolve '%s': %s (see "
		    "daemon.admin-listen in pricewatch.conf)", addr, host, gai_strerror(rc));
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, res->ai_protocol);
	if (fd < 0) {
		e = errno;
		pw_snprintf(err, errlen, "admin endpoint %s: cannot create a socket: %s", addr,
		    strerror(e));
		freeaddrinfo(res);
		return -1;
	}
	/* Restarting the daemon must not wait for old connections in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	*v6 = res->ai_family == AF_INET6;
	if (*v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		e = errno;
		pw_snprintf(err, errlen, "admin endpoint %s: cannot bind: %s%s", addr, strerror(e),
		    e == EADDRINUSE ? " — another program (or another pricewatchd) listens there; "
		    "choose another port with daemon.admin-listen, or set it to off" :
		    e == EADDRNOTAVAIL ? " — that address is not on this machine" :
		    e == EACCES ? " — ports below 1024 need privileges" : "");
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	memset(&ss, 0, sizeof(ss));
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	*port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Queues a response taking ownership of body (malloc'd, freed by libmicrohttpd). */
static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned int status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"pricewatchd\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Serialises obj (consumed) and queues it. */
static enum MHD_Result
respond_json(struct MHD_Connection *conn, unsigned int status, struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *body = xasprintf("%s\n", text);

	json_object_put(obj);
	return respond(conn, status, JSON_TYPE, body, strlen(body));
}

/* {"error": "..."} with the given status. */
__attribute__((format(printf, 3, 4)))
static enum MHD_Result
respond_error(struct MHD_Connection *conn, unsigned int status, const char *fmt, ...)
{
	struct json_object *obj = json_object_new_object();
	char msg[1024], *fixed;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may quote a decoded path: keep the JSON valid UTF-8 whatever the client sent. */
	fixed = out_utf8_fix(msg);
	json_object_object_add(obj, "error", json_object_new_string(fixed));
	free(fixed);
	return respond_json(conn, status, obj);
}

/* Constant-time check of "Authorization: Bearer TOKEN" (scheme case-insensitive, RFC 6750). */
static bool
authorized(const struct admin *a, struct MHD_Connection *conn)
{
	const char *h;
	size_t n;

	if (a->token == NULL)
		return true;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	return n == strlen(a->token) && CRYPTO_memcmp(h, a->token, n) == 0;
}

/* The endpoint's own Redis connection, opened on first use; NULL (reason in a->store_err) when unreachable. */
static struct store *
admin_store(struct admin *a)
{
	enum store_status s;

	if (a->st != NULL)
		return a->st;
	if (a->so.url == NULL) {
		pw_strlcpy(a->store_err, "no Redis URL given to the admin endpoint", sizeof(a->store_err));
		return NULL;
	}
	if (a->store_failed_ms != 0 && time_mono_ms() - a->store_failed_ms < ADMIN_STORE_RETRY_MS)
		return NULL;
	s = store_open(&a->st, &a->so, a->store_err, sizeof(a->store_err));
	if (s != STORE_OK) {
		if (a->st != NULL) {
			store_close(a->st);
			a->st = NULL;
		}
		a->store_failed_ms = time_mono_ms();
		return NULL;
	}
	a->store_failed_ms = 0;
	return a->st;
}

static bool
own_redis_ok(struct admin *a, char *why, size_t whylen)
{
	struct store *st = admin_store(a);

	if (st == NULL) {
		pw_strlcpy(why, a->store_err, whylen);
		return false;
	}
	if (store_ping(st) != STORE_OK) {
		pw_strlcpy(why, store_error(st), whylen);
		return false;
	}
	return true;
}

static enum MHD_Result
serve_healthz(struct admin *a, struct MHD_Connection *conn)
{
	struct json_object *obj = json_object_new_object(), *errors = json_object_new_object();
	char why[512];
	bool redis, sched = true, any_error = false;

	why[0] = '\0';
	redis = a->redis_ok != NULL ? a->redis_ok(a->health_arg, why, sizeof(why)) :
	    own_redis_ok(a, why, sizeof(why));
	json_object_object_add(obj, "redis", json_object_new_string(redis ? "ok" : "down"));
	if (!redis) {
		json_object_object_add(errors, "redis", json_object_new_string(why[0] != '\0' ? why :
		    "unreachable"));
		any_error = true;
	}
	why[0] = '\0';
	if (a->scheduler_ok != NULL)
		sched = a->scheduler_ok(a->health_arg, why, sizeof(why));
	json_object_object_add(obj, "scheduler", json_object_new_string(sched ? "ok" : "down"));
	if (!sched) {
		json_object_object_add(errors, "scheduler", json_object_new_string(why[0] != '\0' ? why :
		    "not running"));
		any_error = true;
	}
	if (any_error)
		json_object_object_add(obj, "errors", errors);
	else
		json_object_put(errors);
	return respond_json(conn, redis && sched ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, obj);
}

static enum MHD_Result
serve_metrics(struct admin *a, struct MHD_Connection *conn)
{
	size_t len;
	char *text;

	if (a->collect != NULL)
		a->collect(admin_store(a), a->collect_arg);
	text = metrics_render(a->metrics, &len);

	if (text == NULL)
		return respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory rendering metrics");
	return respond(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text, len);
}

/* Reads the optional ?since= / ?until= (epoch seconds, YYYY-MM-DD or ISO time, UTC). */
static bool
time_arg(struct MHD_Connection *conn, const char *name, int64_t *ms)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	if (v == NULL)
		return true;
	return time_parse_iso(v, ms);
}

/* Same document as `pricewatch history --json`: {"listing": {...}, "history": [...]}. */
static enum MHD_Result
serve_history(struct admin *a, struct MHD_Connection *conn, const char *id)
{
	struct store *st;
	struct listing l;
	struct history_point *pts = NULL;
	struct json_object *doc, *hist;
	int64_t since = 0, until = INT64_MAX;
	size_t n = 0;
	enum store_status s;

	if (!time_arg(conn, "since", &since) || !time_arg(conn, "until", &until))
		return respond_error(conn, MHD_HTTP_BAD_REQUEST, "since/until: expected epoch seconds, "
		    "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z");
	if (since > until)
		return respond_error(conn, MHD_HTTP_BAD_REQUEST, "since is after until");
	if ((st = admin_store(a)) == NULL)
		return respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", a->store_err);
	memset(&l, 0, sizeof(l));
	s = store_get_listing(st, id, &l);
	if (s == STORE_NOT_FOUND)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "no listing '%s'", id);
	if (s != STORE_OK)
		return respond_error(conn, s == STORE_UNREACHABLE ? MHD_HTTP_SERVICE_UNAVAILABLE :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read listing '%s': %s", id, store_error(st));
	s = store_history(st, id, since, until, &pts, &n);
	if (s != STORE_OK && s != STORE_NOT_FOUND) {
		store_listing_free(&l);
		return respond_error(conn, s == STORE_UNREACHABLE ? MHD_HTTP_SERVICE_UNAVAILABLE :
		    MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the history of '%s': %s", id,
		    store_error(st));
	}
	if (s == STORE_NOT_FOUND)
		n = 0;
	doc = json_object_new_object();
	hist = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(hist, out_json_history_point(&pts[i]));
	json_object_object_add(doc, "listing", out_json_listing(&l));
	json_object_object_add(doc, "history", hist);
	free(pts);
	store_listing_free(&l);
	return respond_json(conn, MHD_HTTP_OK, doc);
}

/*
 * The listing id of "/api/listings/<id>/history", or NULL. libmicrohttpd has
 * already percent-decoded the path, so an id may contain '/' (sent as %2F):
 * the id is everything between the prefix and the final suffix.
 */
static char *
history_id(const char *url)
{
	size_t n = strlen(url), pl = strlen(HISTORY_PREFIX), sl = strlen(HISTORY_SUFFIX);

	if (n <= pl + sl || strncmp(url, HISTORY_PREFIX, pl) != 0 ||
	    strcmp(url + n - sl, HISTORY_SUFFIX) != 0)
		return NULL;
	return xstrndup(url + pl, n - pl - sl);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct admin *a = cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	enum { R_NONE, R_METRICS, R_HEALTHZ, R_HISTORY } route = R_NONE;
	enum MHD_Result ret;
	char *id = NULL;

	/* Bodies are never read: every route is a GET, so answer on the first call. */
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") == 0 && a->metrics != NULL)
		route = R_METRICS;
	else if (strcmp(url, "/healthz") == 0)
		route = R_HEALTHZ;
	else if ((id = history_id(url)) != NULL)
		route = R_HISTORY;

	/* Without the token nothing is revealed, not even which paths exist. */
	if (!authorized(a, conn)) {
		free(id);
		return respond_error(conn, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token "
		    "(see daemon.admin-token-file in pricewatch.conf)");
	}
	if (route == R_NONE)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "no such path; try /metrics, /healthz or "
		    "/api/listings/ID/history");
	if (!get) {
		free(id);
		return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: only "
		    "GET and HEAD");
	}
	switch (route) {
	case R_METRICS:
		ret = serve_metrics(a, conn);
		break;
	case R_HEALTHZ:
		ret = serve_healthz(a, conn);
		break;
	default:
		ret = serve_history(a, conn, id);
		break;
	}
	free(id);
	return ret;
}

/* Runs one command (argv borrowed); returns the reply, possibly an error reply (caller frees), or NULL. */
static redisReply *
command(struct store *st, int argc, const char **argv)
{
	redisReply *r = NULL;

	if (store_command(st, argc, argv, &r) != STORE_OK) {
		if (r != NULL)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* An integer reply's value; -1 for anything else (a missing key answers 0 itself). */
static long long
reply_int(redisReply *r)
{
	long long v = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return v;
}

/* XPENDING's total for group on key: 0 when the stream or group does not exist, -1 on failure. */
static long long
pending_count(struct store *st, const char *key, const char *group)
{
	const char *argv[] = { "XPENDING", key, group };
	redisReply *r = command(st, 3, argv);
	long long v = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR && (strstr(r->str, "NOGROUP") != NULL || strstr(r->str, "no such key") != NULL))
		v = 0;
	else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_INTEGER)
		v = r->element[0]->integer;
	freeReplyObject(r);
	return v;
}

/*
 * Alerts waiting or in delivery: the group's pending entries plus its lag
 * (entries not yet delivered, Redis 7). Without the group, the stream's length.
 */
static long long
alerts_waiting(struct store *st, const char *key)
{
	const char *xinfo[] = { "XINFO", "GROUPS", key }, *xlen[] = { "XLEN", key };
	redisReply *r = command(st, 3, xinfo);
	long long v = -1;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return reply_int(command(st, 2, xlen));
	}
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t g = 0; g < r->elements; g++) {
			redisReply *grp = r->element[g];
			long long pending = -1, lag = -1;
			bool ours = false;

			if (grp->type != REDIS_REPLY_ARRAY)
				continue;
			for (size_t i = 0; i + 1 < grp->elements; i += 2) {
				redisReply *k = grp->element[i], *val = grp->element[i + 1];

				if (k->type != REDIS_REPLY_STRING && k->type != REDIS_REPLY_STATUS)
					continue;
				if (strcmp(k->str, "name") == 0 && val->type == REDIS_REPLY_STRING)
					ours = strcmp(val->str, ALERTS_GROUP) == 0;
				else if (strcmp(k->str, "pending") == 0 && val->type == REDIS_REPLY_INTEGER)
					pending = val->integer;
				else if (strcmp(k->str, "lag") == 0 && val->type == REDIS_REPLY_INTEGER)
					lag = val->integer;
			}
			if (ours && pending >= 0)
				v = pending + (lag > 0 ? lag : 0);
		}
		if (v < 0)
			v = 0;
	}
	freeReplyObject(r);
	return v;
}

static void
set_depth(const struct pw_metrics *pm, const char *queue, long long v)
{
	if (v >= 0)
		metric_set(pm->queue_depth, METRIC_LABELS(queue), (double)v);
}

void
admin_collect_redis(struct store *st, void *arg)
{
	const struct pw_metrics *pm = arg;
	const char *prefix;
	char *jobs, *alerts, *dead, *due;
	const char *xlen[2] = { "XLEN", NULL }, *zrange[4] = { "ZRANGE", NULL, "0", NULL };
	char last[16];
	redisReply *r;

	if (st == NULL || pm == NULL)
		return;
	prefix = store_prefix(st);
	jobs = xasprintf("%sjobs", prefix);
	alerts = xasprintf("%salerts", prefix);
	dead = xasprintf("%salerts:dead", prefix);
	due = xasprintf("%sdue", prefix);

	xlen[1] = jobs;
	set_depth(pm, "jobs", reply_int(command(st, 2, xlen)));
	set_depth(pm, "jobs_claimed", pending_count(st, jobs, JOBS_GROUP));
	set_depth(pm, "alerts", alerts_waiting(st, alerts));
	xlen[1] = dead;
	set_depth(pm, "alerts_dead", reply_int(command(st, 2, xlen)));

	/* Every scheduled source, cluster-wide; sources that left pw:due leave the metrics too. */
	zrange[1] = due;
	pw_snprintf(last, sizeof(last), "%d", COLLECT_MAX_SOURCES - 1);
	zrange[3] = last;
	r = command(st, 4, zrange);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
		metric_clear(pm->last_success);
		metric_clear(pm->error_streak);
		for (size_t i = 0; i < r->elements; i++) {
			struct source_state ss;
			const char *name;

			if (r->element[i]->type != REDIS_REPLY_STRING)
				continue;
			name = r->element[i]->str;
			memset(&ss, 0, sizeof(ss));
			if (source_state_get(st, name, &ss) != STORE_OK)
				continue;
			if (ss.last_ok_ms > 0)
				metric_set(pm->last_success, METRIC_LABELS(name), (double)ss.last_ok_ms / 1000.0);
			metric_set(pm->error_streak, METRIC_LABELS(name), (double)ss.error_streak);
			source_state_free(&ss);
		}
	}
	if (r != NULL)
		freeReplyObject(r);
	free(jobs);
	free(alerts);
	free(dead);
	free(due);
}

bool
admin_start(const struct admin_opts *opts, struct admin **out, char *err, size_t errlen)
{
	struct admin *a;
	bool v6 = false;
	uint16_t port = 0;
	unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int fd;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (opts->listen == NULL || opts->listen[0] == '\0' || strcmp(opts->listen, "off") == 0)
		return true;
	fd = open_listener(opts->listen, &v6, &port, err, errlen);
	if (fd < 0)
		return false;
	if (v6)
		flags |= MHD_USE_IPv6;

	a = xcalloc(1, sizeof(*a));
	a->fd = fd;
	a->port = port;
	a->listen = xstrdup(opts->listen);
	a->token = dup_or_null(opts->token);
	a->metrics = opts->metrics;
	a->url = dup_or_null(opts->store.url);
	a->prefix = dup_or_null(opts->store.prefix);
	a->user = dup_or_null(opts->store.user);
	a->password = dup_or_null(opts->store.password);
	a->so = opts->store;
	a->so.url = a->url;
	a->so.prefix = a->prefix;
	a->so.user = a->user;
	a->so.password = a->password;
	a->redis_ok = opts->redis_ok;
	a->scheduler_ok = opts->scheduler_ok;
	a->health_arg = opts->health_arg;
	a->collect = opts->collect;
	a->collect_arg = opts->collect_arg;

	/* The logger goes first, so that messages about the other options reach our log too. */
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, a,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)ADMIN_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)ADMIN_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_END);
	if (a->mhd == NULL) {
		pw_snprintf(err, errlen, "admin endpoint %s: libmicrohttpd could not start its server "
		    "thread (see the log above)", opts->listen);
		close(fd);
		a->fd = -1;
		admin_stop(a);
		return false;
	}
	{
		/* With port 0 the log says which port was picked. */
		size_t n = strlen(a->listen);
		char picked[24] = "";

		if (n >= 2 && strcmp(a->listen + n - 2, ":0") == 0)
			pw_snprintf(picked, sizeof(picked), " (port %u)", (unsigned)a->port);
		log_info("admin endpoint listening on %s%s%s", a->listen, picked,
		    a->token != NULL ? ", bearer token required" : "");
	}
	*out = a;
	return true;
}

uint16_t
admin_port(const struct admin *a)
{
	return a != NULL ? a->port : 0;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	/* Joins the server thread and closes the listening socket. */
	if (a->mhd != NULL)
		MHD_stop_daemon(a->mhd);
	if (a->st != NULL)
		store_close(a->st);
	free(a->listen);
	secret_free(a->token);
	secret_free(a->url);     /* a URL may carry a password */
	free(a->prefix);
	free(a->user);
	secret_free(a->password);
	free(a);
}
