/* store.c: listings (hash) and their price history (stream of change points) in Redis, over one hiredis connection that reconnects with backoff. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/money.h"
#include "common/util.h"
#include "store/redis-url.h"
#include "store/store.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_COMMAND_TIMEOUT_MS 10000
#define PIPELINE_BATCH 256      /* HGETALLs sent at once by store_list_listings */
#define HISTORY_PAGE 1000        /* XRANGE COUNT per round trip */
#define STR_(x) #x
#define STR(x) STR_(x)
#define MAX_ARGS 24
#define CONF_HINT "see redis.url in pricewatch.conf"

/* A Lua script run with EVALSHA, falling back to EVAL (which also loads it) on NOSCRIPT. */
struct script {
	const char *body;
	char sha[41];
};

struct store {
	struct redis_url url;
	char where[320];             /* redis_url_describe(): what every message names */
	char *prefix;
	char *user;                  /* effective credentials: opts override the URL's */
	char *password;
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	redisContext *c;             /* NULL while disconnected */
	int64_t backoff_ms;          /* 0 after a good connect; else the current delay */
	int64_t retry_at_ms;         /* monotonic: no connect attempt before this */
	char last_cause[256];        /* why the last connect failed, for fail-fast messages */
	char err[1024];
	struct script record;
	struct script touch;
};

/* One command: argv strings are borrowed and NUL-terminated. */
struct cmd {
	int argc;
	const char *argv[MAX_ARGS];
	const char **ext;            /* when set, used instead of argv (commands longer than MAX_ARGS) */
	const size_t *lens;          /* when set, argument lengths (binary-safe); else strlen */
};

/*
 * The whole of store_record, atomic on the server so many daemons can record
 * the same listing at once: compare with the hash, XADD on change (ids kept
 * monotonic), update the hash, first/last seen, and the indexes.
 * KEYS: listing hash, history stream, listings zset, source set.
 * ARGV: id source url title brand sku gtin mpn image_url extractor price currency availability observed_ms
 * Times stay strings: Lua 5.1 numbers print 14 significant digits at most.
 */
static const char record_lua[] =
	"local lk, hk = KEYS[1], KEYS[2]\n"
	"local price, currency, avail, ms = ARGV[11], ARGV[12], ARGV[13], ARGV[14]\n"
	"local cur = redis.call('HMGET', lk, 'price', 'currency', 'availability', 'last_seen', 'first_seen')\n"
	"local has_price = currency ~= ''\n"
	"local changed\n"
	"if has_price then\n"
	"  changed = price ~= (cur[1] or '') or currency ~= (cur[2] or '') or avail ~= (cur[3] or '')\n"
	"else\n"
	"  changed = avail ~= (cur[3] or '')\n"
	"end\n"
	"local h = {}\n"
	"if changed then\n"
	"  local at = ms\n"
	"  local last = redis.call('XREVRANGE', hk, '+', '-', 'COUNT', 1)\n"
	"  if #last > 0 then\n"
	"    local lms = string.match(last[1][1], '^(%d+)-')\n"
	"    if tonumber(at) <= tonumber(lms) then at = lms end\n"
	"  end\n"
	"  if has_price then\n"
	"    redis.call('XADD', hk, at .. '-*', 'price', price, 'currency', currency, 'availability', avail)\n"
	"  else\n"
	"    redis.call('XADD', hk, at .. '-*', 'price', '', 'currency', '', 'availability', avail)\n"
	"  end\n"
	"  h[#h + 1] = 'last_change'; h[#h + 1] = at\n"
	"end\n"
	"local names = {'source', 'url', 'title', 'brand', 'sku', 'gtin', 'mpn', 'image_url', 'extractor'}\n"
	"for i, f in ipairs(names) do\n"
	"  local v = ARGV[i + 1]\n"
	"  if v ~= '' then\n"
	"    if has_price or f == 'title' then\n"
	"      h[#h + 1] = f; h[#h + 1] = v\n"
	"    else\n"
	"      redis.call('HSETNX', lk, f, v)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if has_price then\n"
	"  h[#h + 1] = 'price'; h[#h + 1] = price\n"
	"  h[#h + 1] = 'currency'; h[#h + 1] = currency\n"
	"end\n"
	"h[#h + 1] = 'availability'; h[#h + 1] = avail\n"
	"if not cur[5] then h[#h + 1] = 'first_seen'; h[#h + 1] = ms end\n"
	"if not cur[4] or tonumber(cur[4]) < tonumber(ms) then h[#h + 1] = 'last_seen'; h[#h + 1] = ms end\n"
	"redis.call('HSET', lk, unpack(h))\n"
	"redis.call('ZADD', KEYS[3], 0, ARGV[1])\n"
	"redis.call('SADD', KEYS[4], ARGV[1])\n"
	"if changed then return 1 end\n"
	"return 0\n";

/* store_touch: last_seen = max(last_seen, ARGV[1]) on an existing listing; 0 when there is none. */
static const char touch_lua[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"local ls = redis.call('HGET', KEYS[1], 'last_seen')\n"
	"if not ls or tonumber(ls) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'last_seen', ARGV[1]) end\n"
	"return 1\n";

static const char *const avail_names[] = {
	[AVAIL_UNKNOWN] = "unknown",
	[AVAIL_IN_STOCK] = "in_stock",
	[AVAIL_OUT_OF_STOCK] = "out_of_stock",
	[AVAIL_PREORDER] = "preorder",
	[AVAIL_BACKORDER] = "backorder",
	[AVAIL_LIMITED] = "limited",
	[AVAIL_DISCONTINUED] = "discontinued",
};

const char *
availability_name(enum availability a)
{
	if ((unsigned)a >= sizeof(avail_names) / sizeof(avail_names[0]))
		return "unknown";
	return avail_names[a];
}

enum availability
availability_parse(const char *text)
{
	static const struct {
		const char *key;         /* lower case, without '_', '-' and spaces */
		enum availability a;
	} table[] = {
		{ "instock", AVAIL_IN_STOCK },
		{ "instoreonly", AVAIL_IN_STOCK },
		{ "onlineonly", AVAIL_IN_STOCK },
		{ "outofstock", AVAIL_OUT_OF_STOCK },
		{ "soldout", AVAIL_OUT_OF_STOCK },
		{ "preorder", AVAIL_PREORDER },
		{ "presale", AVAIL_PREORDER },
		{ "backorder", AVAIL_BACKORDER },
		{ "limitedavailability", AVAIL_LIMITED },
		{ "limited", AVAIL_LIMITED },
		{ "discontinued", AVAIL_DISCONTINUED },
	};
	char key[32];
	size_t n = 0;

	if (text == NULL)
		return AVAIL_UNKNOWN;
	while (isspace((unsigned char)*text))
		text++;
	if (strncasecmp(text, "https://schema.org/", 19) == 0)
		text += 19;
	else if (strncasecmp(text, "http://schema.org/", 18) == 0)
		text += 18;
	for (; *text != '\0'; text++) {
		unsigned char ch = (unsigned char)*text;
		if (ch == '_' || ch == '-' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (n + 1 >= sizeof(key))
			return AVAIL_UNKNOWN;
		key[n++] = (char)tolower(ch);
	}
	key[n] = '\0';
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(key, table[i].key) == 0)
			return table[i].a;
	return AVAIL_UNKNOWN;
}

/* ---- errors ------------------------------------------------------------- */

static void seterr(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(st->err, sizeof(st->err), fmt, ap) < 0)
		st->err[0] = '\0';
	va_end(ap);
}

/* Says why a hiredis context failed, in words a user can act on. */
static void
describe_ctx_error(const struct store *st, const redisContext *c, int64_t timeout_ms, char *buf, size_t buflen)
{
	const char *why = c->errstr[0] != '\0' ? c->errstr : "unknown error";

	if (c->err == REDIS_ERR_EOF)
		why = "the server closed the connection";
	else if (strstr(why, "Resource temporarily unavailable") != NULL ||
	    strstr(why, "timed out") != NULL) {
		(void)pw_snprintf(buf, buflen, "timed out after %" PRId64 " ms", timeout_ms);
		return;
	}
	(void)pw_snprintf(buf, buflen, "%s", why);
	(void)st;
}

/* ---- connection ---------------------------------------------------------- */

static struct timeval
ms_to_tv(int64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

static void
drop_connection(struct store *st)
{
	if (st->c != NULL)
		redisFree(st->c);
	st->c = NULL;
}

/* A failed attempt: the next one waits 100 ms, then 200 ms, ... up to 5 s. */
static void
schedule_retry(struct store *st)
{
	if (st->backoff_ms == 0)
		st->backoff_ms = BACKOFF_MIN_MS;
	else if (st->backoff_ms < BACKOFF_MAX_MS)
		st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : st->backoff_ms * 2;
	st->retry_at_ms = time_mono_ms() + st->backoff_ms;
}

/* Runs one command during the handshake; *reply is NULL on I/O failure. */
static enum store_status
handshake(struct store *st, int argc, const char **argv, const char *what, const char *fix)
{
	redisReply *r = redisCommandArgv(st->c, argc, argv, NULL);
	char why[160];

	if (r == NULL) {
		describe_ctx_error(st, st->c, st->command_timeout_ms, why, sizeof(why));
		(void)pw_snprintf(st->last_cause, sizeof(st->last_cause), "%s", why);
		seterr(st, "cannot reach Redis at %s: %s during %s — is redis-server running? " CONF_HINT,
		    st->where, why, what);
		return STORE_UNREACHABLE;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		(void)pw_snprintf(st->last_cause, sizeof(st->last_cause), "%s", r->str);
		seterr(st, "Redis at %s refused %s: %s — %s", st->where, what, r->str, fix);
		freeReplyObject(r);
		return STORE_ERROR;
	}
	freeReplyObject(r);
	return STORE_OK;
}

/* Connects now (no backoff check), authenticates and selects the db. */
static enum store_status
connect_now(struct store *st)
{
	struct timeval tv = ms_to_tv(st->connect_timeout_ms);
	enum store_status s;
	char why[160];

	drop_connection(st);
	if (st->url.kind == REDIS_URL_UNIX)
		st->c = redisConnectUnixWithTimeout(st->url.path, tv);
	else
		st->c = redisConnectWithTimeout(st->url.host, st->url.port, tv);
	if (st->c == NULL) {
		(void)pw_snprintf(st->last_cause, sizeof(st->last_cause), "out of memory");
		seterr(st, "cannot reach Redis at %s: out of memory", st->where);
		schedule_retry(st);
		return STORE_UNREACHABLE;
	}
	if (st->c->err != 0) {
		describe_ctx_error(st, st->c, st->connect_timeout_ms, why, sizeof(why));
		(void)pw_snprintf(st->last_cause, sizeof(st->last_cause), "%s", why);
		seterr(st, "cannot reach Redis at %s: %s — is redis-server running? " CONF_HINT, st->where, why);
		drop_connection(st);
		schedule_retry(st);
		return STORE_UNREACHABLE;
	}
	tv = ms_to_tv(st->command_timeout_ms);
	if (redisSetTimeout(st->c, tv) != REDIS_OK) {
		seterr(st, "cannot set the command timeout on the connection to Redis at %s", st->where);
		drop_connection(st);
		schedule_retry(st);
		return STORE_UNREACHABLE;
	}
	s = STORE_OK;
	if (st->password != NULL) {
		const char *argv[3] = { "AUTH", st->user != NULL ? st->user : st->password, st->password };
		s = handshake(st, st->user != NULL ? 3 : 2, argv, "the credentials (AUTH)",
		    "check redis.user and redis.password-file in pricewatch.conf");
	}
	if (s == STORE_OK && st->url.db != 0) {
		char db[16];
		(void)pw_snprintf(db, sizeof(db), "%d", st->url.db);
		const char *argv[2] = { "SELECT", db };
		s = handshake(st, 2, argv, "SELECT of the database",
		    "the server has fewer databases (its \"databases\" setting); fix the /db part of redis.url");
	}
	if (s != STORE_OK) {
		drop_connection(st);
		schedule_retry(st);
		return s;
	}
	if (st->backoff_ms != 0)
		log_info("reconnected to Redis at %s", st->where);
	st->backoff_ms = 0;
	st->retry_at_ms = 0;
	return STORE_OK;
}

/* Connected, or connects unless still inside the backoff window (then fails fast). */
static enum store_status
ensure_connected(struct store *st)
{
	int64_t now;

	if (st->c != NULL)
		return STORE_OK;
	now = time_mono_ms();
	if (now < st->retry_at_ms) {
		seterr(st, "cannot reach Redis at %s: %s (next reconnect attempt in %" PRId64 " ms) — is redis-server running? "
		    CONF_HINT, st->where, st->last_cause[0] != '\0' ? st->last_cause : "connection lost",
		    st->retry_at_ms - now);
		return STORE_UNREACHABLE;
	}
	return connect_now(st);
}

static void
free_replies(redisReply **replies, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
		replies[i] = NULL;
	}
}

/*
 * Sends n commands in one pipeline and reads their n replies (caller frees
 * them with free_replies). A lost connection is re-established at once and the
 * batch retried once; every command we send is idempotent, so a batch that ran
 * before the connection broke does no harm when it runs again.
 */
static enum store_status
run_batch(struct store *st, const struct cmd *cmds, size_t n, redisReply **replies)
{
	enum store_status s = STORE_UNREACHABLE;
	char why[160];

	for (size_t i = 0; i < n; i++)
		replies[i] = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t i;
		bool lost = false;

		s = attempt == 0 ? ensure_connected(st) : connect_now(st);
		if (s != STORE_OK)
			return s;
		for (i = 0; i < n && !lost; i++)
			if (redisAppendCommandArgv(st->c, cmds[i].argc,
			    cmds[i].ext != NULL ? cmds[i].ext : (const char **)cmds[i].argv, cmds[i].lens) != REDIS_OK)
				lost = true;
		for (i = 0; i < n && !lost; i++) {
			void *r = NULL;
			if (redisGetReply(st->c, &r) != REDIS_OK || r == NULL)
				lost = true;
			else
				replies[i] = r;
		}
		if (!lost)
			return STORE_OK;
		free_replies(replies, n);
		describe_ctx_error(st, st->c, st->command_timeout_ms, why, sizeof(why));
		(void)pw_snprintf(st->last_cause, sizeof(st->last_cause), "%s", why);
		seterr(st, "lost the connection to Redis at %s: %s — is redis-server running? " CONF_HINT, st->where, why);
		log_warnx("%s", st->err);
		s = st->c->err == REDIS_ERR_PROTOCOL || st->c->err == REDIS_ERR_OOM ? STORE_ERROR : STORE_UNREACHABLE;
		drop_connection(st);
		st->retry_at_ms = 0;
	}
	return s;
}

static enum store_status
run1(struct store *st, const struct cmd *c, redisReply **reply)
{
	return run_batch(st, c, 1, reply);
}

/* An error reply becomes STORE_ERROR with a message naming the URL and what we were doing. */
static enum store_status
reply_error(struct store *st, const redisReply *r, const char *what)
{
	if (strncmp(r->str, "NOAUTH", 6) == 0)
		seterr(st, "Redis at %s needs a password (%s) — set redis.password-file in pricewatch.conf",
		    st->where, r->str);
	else if (strncmp(r->str, "WRONGTYPE", 9) == 0)
		seterr(st, "Redis at %s: %s: %s — another program uses keys under prefix \"%s\"; choose another redis.prefix",
		    st->where, what, r->str, st->prefix);
	else
		seterr(st, "Redis at %s: %s: %s", st->where, what, r->str);
	return STORE_ERROR;
}

static void
script_init(struct script *sc, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	sc->body = body;
	sc->sha[0] = '\0';
	if (EVP_Digest(body, strlen(body), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return;                 /* EVAL every time: slower, still right */
	for (unsigned int i = 0; i < mdlen; i++)
		(void)pw_snprintf(sc->sha + 2 * i, 3, "%02x", md[i]);
}

/* EVALSHA, then EVAL on NOSCRIPT (the server restarted or flushed its script cache). */
static enum store_status
run_script(struct store *st, const struct script *sc, int nkeys, const char **args, int nargs,
    const char *what, redisReply **reply)
{
	struct cmd c = { .argc = 0 };
	char nk[12];
	enum store_status s;

	*reply = NULL;
	if (nargs + 3 > MAX_ARGS) {
		seterr(st, "internal error: too many script arguments for %s", what);
		return STORE_ERROR;
	}
	(void)pw_snprintf(nk, sizeof(nk), "%d", nkeys);
	c.argv[c.argc++] = sc->sha[0] != '\0' ? "EVALSHA" : "EVAL";
	c.argv[c.argc++] = sc->sha[0] != '\0' ? sc->sha : sc->body;
	c.argv[c.argc++] = nk;
	for (int i = 0; i < nargs; i++)
		c.argv[c.argc++] = args[i];
	s = run1(st, &c, reply);
	if (s == STORE_OK && (*reply)->type == REDIS_REPLY_ERROR && strncmp((*reply)->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(*reply);
		*reply = NULL;
		c.argv[0] = "EVAL";
		c.argv[1] = sc->body;
		s = run1(st, &c, reply);
	}
	if (s == STORE_OK && (*reply)->type == REDIS_REPLY_ERROR) {
		s = reply_error(st, *reply, what);
		freeReplyObject(*reply);
		*reply = NULL;
	}
	return s;
}

/* ---- open / close ------------------------------------------------------ */

static enum store_status
check_schema(struct store *st)
{
	char *key = xasprintf("%sschema", st->prefix);
	char want[16];
	struct cmd cmds[2] = {
		{ .argc = 4, .argv = { "SET", key, want, "NX" } },
		{ .argc = 2, .argv = { "GET", key } },
	};
	redisReply *r[2];
	enum store_status s;

	(void)pw_snprintf(want, sizeof(want), "%d", STORE_SCHEMA_VERSION);
	s = run_batch(st, cmds, 2, r);
	if (s == STORE_OK) {
		if (r[0]->type == REDIS_REPLY_ERROR)
			s = reply_error(st, r[0], "setting the schema version");
		else if (r[1]->type == REDIS_REPLY_ERROR)
			s = reply_error(st, r[1], "reading the schema version");
		else if (r[1]->type != REDIS_REPLY_STRING) {
			seterr(st, "Redis at %s: key %s vanished while checking the schema; try again", st->where, key);
			s = STORE_ERROR;
		} else if (strcmp(r[1]->str, want) != 0) {
			seterr(st, "Redis at %s holds pricewatch schema %.32s, this build needs %d (key %s) — "
			    "use another redis.prefix or database, or run the matching pricewatch version",
			    st->where, r[1]->str, STORE_SCHEMA_VERSION, key);
			s = STORE_SCHEMA_MISMATCH;
		}
		free_replies(r, 2);
	}
	free(key);
	return s;
}

/* A write to a dead socket raises SIGPIPE, which kills by default; we want the EPIPE instead. */
static void
ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
}

enum store_status
store_open(struct store **out, const struct store_opts *opts, char *err, size_t errlen)
{
	struct store *st;
	enum store_status s;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	st = xcalloc(1, sizeof(*st));
	if (!redis_url_parse(opts->url, &st->url, st->err, sizeof(st->err))) {
		s = STORE_ERROR;
		goto fail;
	}
	(void)redis_url_describe(&st->url, st->where, sizeof(st->where));
	st->prefix = xstrdup(opts->prefix != NULL ? opts->prefix : "pw:");
	if (opts->user != NULL && opts->user[0] != '\0')
		st->user = xstrdup(opts->user);
	else if (st->url.user != NULL)
		st->user = xstrdup(st->url.user);
	if (opts->password != NULL && opts->password[0] != '\0')
		st->password = xstrdup(opts->password);
	else if (st->url.password != NULL)
		st->password = xstrdup(st->url.password);
	st->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	st->command_timeout_ms = opts->command_timeout_ms > 0 ? opts->command_timeout_ms : DEFAULT_COMMAND_TIMEOUT_MS;
	script_init(&st->record, record_lua);
	script_init(&st->touch, touch_lua);
	ignore_sigpipe();

	s = connect_now(st);
	if (s == STORE_OK)
		s = check_schema(st);
	if (s != STORE_OK)
		goto fail;
	*out = st;
	return STORE_OK;
fail:
	if (err != NULL && errlen > 0)
		(void)pw_snprintf(err, errlen, "%s", st->err);
	store_close(st);
	return s;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	drop_connection(st);
	redis_url_free(&st->url);
	free(st->prefix);
	free(st->user);
	if (st->password != NULL) {
		memset(st->password, 0, strlen(st->password));
		free(st->password);
	}
	free(st);
}

const char *
store_error(const struct store *st)
{
	return st->err;
}

enum store_status
store_ping(struct store *st)
{
	struct cmd c = { .argc = 1, .argv = { "PING" } };
	redisReply *r;
	enum store_status s = run1(st, &c, &r);

	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = reply_error(st, r, "PING");
	freeReplyObject(r);
	return s;
}

/* ---- record / touch ------------------------------------------------------ */

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

enum store_status
store_record(struct store *st, const struct observation *obs, bool *changed)
{
	char price[24] = "", ms[24];
	char *lk, *hk, *idx, *sk;
	redisReply *r;
	enum store_status s;

	if (changed != NULL)
		*changed = false;
	if (obs->listing_id == NULL || obs->listing_id[0] == '\0' || obs->source == NULL || obs->source[0] == '\0') {
		seterr(st, "cannot record an observation without a listing id and a source (url %s)", nz(obs->url));
		return STORE_ERROR;
	}
	if (obs->price.currency[0] != '\0') {
		if (!money_currency_valid(obs->price.currency)) {
			seterr(st, "listing %s: unknown currency \"%.3s\"; not recorded", obs->listing_id,
			    obs->price.currency);
			return STORE_ERROR;
		}
		(void)pw_snprintf(price, sizeof(price), "%" PRId64, obs->price.minor);
	}
	if (obs->observed_ms <= 0) {
		seterr(st, "listing %s: observation time %" PRId64 " is not a positive epoch ms; not recorded",
		    obs->listing_id, obs->observed_ms);
		return STORE_ERROR;
	}
	(void)pw_snprintf(ms, sizeof(ms), "%" PRId64, obs->observed_ms);
	lk = xasprintf("%slisting:%s", st->prefix, obs->listing_id);
	hk = xasprintf("%shist:%s", st->prefix, obs->listing_id);
	idx = xasprintf("%slistings", st->prefix);
	sk = xasprintf("%ssource:%s:listings", st->prefix, obs->source);
	const char *args[] = {
		lk, hk, idx, sk,
		obs->listing_id, obs->source, nz(obs->url), nz(obs->title), nz(obs->brand), nz(obs->sku),
		nz(obs->gtin), nz(obs->mpn), nz(obs->image_url), nz(obs->extractor),
		price, obs->price.currency[0] != '\0' ? obs->price.currency : "",
		availability_name(obs->availability), ms,
	};
	s = run_script(st, &st->record, 4, args, (int)(sizeof(args) / sizeof(args[0])), "recording a listing", &r);
	if (s == STORE_OK) {
		if (r->type != REDIS_REPLY_INTEGER) {
			seterr(st, "Redis at %s: unexpected reply type %d from the record script", st->where, r->type);
			s = STORE_ERROR;
		} else if (changed != NULL) {
			*changed = r->integer == 1;
		}
		freeReplyObject(r);
	}
	free(lk);
	free(hk);
	free(idx);
	free(sk);
	return s;
}

enum store_status
store_touch(struct store *st, const char *listing_id, int64_t seen_ms)
{
	char ms[24];
	char *lk;
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(ms, sizeof(ms), "%" PRId64, seen_ms);
	lk = xasprintf("%slisting:%s", st->prefix, listing_id);
	const char *args[] = { lk, ms };
	s = run_script(st, &st->touch, 1, args, 2, "touching a listing", &r);
	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
			seterr(st, "no listing %s in Redis at %s", listing_id, st->where);
			s = STORE_NOT_FOUND;
		}
		freeReplyObject(r);
	}
	free(lk);
	return s;
}

/* ---- reading ------------------------------------------------------------ */

void
store_listing_free(struct listing *l)
{
	if (l == NULL)
		return;
	free(l->id);
	free(l->source);
	free(l->url);
	free(l->title);
	free(l->brand);
	free(l->sku);
	free(l->gtin);
	free(l->mpn);
	free(l->image_url);
	free(l->extractor);
	memset(l, 0, sizeof(*l));
}

void
store_listings_free(struct listing *ls, size_t n)
{
	if (ls == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_listing_free(&ls[i]);
	free(ls);
}

/* Fills money from the "price"/"currency" texts; empty currency: no price. */
static bool
parse_price(const char *price, const char *currency, struct money *m)
{
	memset(m, 0, sizeof(*m));
	if (currency == NULL || currency[0] == '\0')
		return true;
	if (strlen(currency) != 3 || price == NULL || !parse_int64(price, INT64_MIN, INT64_MAX, &m->minor))
		return false;
	memcpy(m->currency, currency, 4);
	return true;
}

static bool
parse_ms(const char *text, int64_t *out)
{
	*out = 0;
	return text == NULL || text[0] == '\0' || parse_int64(text, 0, INT64_MAX, out);
}

/* Turns an HGETALL reply into *l; every string field is non-NULL ("" when absent). */
static enum store_status
listing_from_reply(struct store *st, const char *id, const redisReply *r, struct listing *l)
{
	const char *price = NULL, *currency = NULL, *avail = NULL;
	const char *first = NULL, *last = NULL, *change = NULL;
	struct {
		const char *name;
		char **dst;
	} strs[] = {
		{ "source", &l->source }, { "url", &l->url }, { "title", &l->title }, { "brand", &l->brand },
		{ "sku", &l->sku }, { "gtin", &l->gtin }, { "mpn", &l->mpn }, { "image_url", &l->image_url },
		{ "extractor", &l->extractor },
	};
	size_t nstrs = sizeof(strs) / sizeof(strs[0]);

	memset(l, 0, sizeof(*l));
	l->id = xstrdup(id);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		for (size_t j = 0; j < nstrs; j++)
			if (strcmp(k->str, strs[j].name) == 0 && *strs[j].dst == NULL)
				*strs[j].dst = xstrndup(v->str, v->len);
		if (strcmp(k->str, "price") == 0)
			price = v->str;
		else if (strcmp(k->str, "currency") == 0)
			currency = v->str;
		else if (strcmp(k->str, "availability") == 0)
			avail = v->str;
		else if (strcmp(k->str, "first_seen") == 0)
			first = v->str;
		else if (strcmp(k->str, "last_seen") == 0)
			last = v->str;
		else if (strcmp(k->str, "last_change") == 0)
			change = v->str;
	}
	for (size_t j = 0; j < nstrs; j++)
		if (*strs[j].dst == NULL)
			*strs[j].dst = xstrdup("");
	l->availability = availability_parse(avail);
	if (!parse_price(price, currency, &l->price) || !parse_ms(first, &l->first_seen_ms) ||
	    !parse_ms(last, &l->last_seen_ms) || !parse_ms(change, &l->last_change_ms)) {
		seterr(st, "Redis at %s: listing %s has a malformed price, currency or time field (key %slisting:%s)",
		    st->where, id, st->prefix, id);
		store_listing_free(l);
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_status
store_get_listing(struct store *st, const char *listing_id, struct listing *out)
{
	char *lk = xasprintf("%slisting:%s", st->prefix, listing_id);
	struct cmd c = { .argc = 2, .argv = { "HGETALL", lk } };
	redisReply *r;
	enum store_status s;

	memset(out, 0, sizeof(*out));
	s = run1(st, &c, &r);
	free(lk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = reply_error(st, r, "reading a listing");
	else if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		seterr(st, "no listing %s in Redis at %s", listing_id, st->where);
		s = STORE_NOT_FOUND;
	} else
		s = listing_from_reply(st, listing_id, r, out);
	freeReplyObject(r);
	return s;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum store_status
store_list_listings(struct store *st, const char *source, struct listing **out, size_t *n_out)
{
	char *key;
	struct cmd c = { .argc = 0 };
	redisReply *ids = NULL;
	char **names = NULL;
	size_t n = 0, got = 0;
	struct listing *ls = NULL;
	enum store_status s;

	*out = NULL;
	*n_out = 0;
	if (source != NULL) {
		key = xasprintf("%ssource:%s:listings", st->prefix, source);
		c.argc = 2;
		c.argv[0] = "SMEMBERS";
		c.argv[1] = key;
	} else {
		key = xasprintf("%slistings", st->prefix);
		c.argc = 4;
		c.argv[0] = "ZRANGE";
		c.argv[1] = key;
		c.argv[2] = "0";
		c.argv[3] = "-1";
	}
	s = run1(st, &c, &ids);
	free(key);
	if (s != STORE_OK)
		return s;
	if (ids->type == REDIS_REPLY_ERROR) {
		s = reply_error(st, ids, "listing the listings");
		goto done;
	}
	if (ids->type != REDIS_REPLY_ARRAY) {
		seterr(st, "Redis at %s: unexpected reply while listing the listings", st->where);
		s = STORE_ERROR;
		goto done;
	}
	n = ids->elements;
	if (n == 0)
		goto done;
	names = xreallocarray(NULL, n, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = ids->element[i]->type == REDIS_REPLY_STRING ? ids->element[i]->str : (char *)"";
	qsort(names, n, sizeof(*names), cmp_strp);      /* SMEMBERS has no order; ZRANGE already sorted */
	ls = xcalloc(n, sizeof(*ls));
	for (size_t base = 0; base < n && s == STORE_OK; base += PIPELINE_BATCH) {
		size_t m = n - base < PIPELINE_BATCH ? n - base : PIPELINE_BATCH;
		struct cmd *cmds = xcalloc(m, sizeof(*cmds));
		redisReply **rs = xcalloc(m, sizeof(*rs));
		char **keys = xcalloc(m, sizeof(*keys));

		for (size_t i = 0; i < m; i++) {
			keys[i] = xasprintf("%slisting:%s", st->prefix, names[base + i]);
			cmds[i].argc = 2;
			cmds[i].argv[0] = "HGETALL";
			cmds[i].argv[1] = keys[i];
		}
		s = run_batch(st, cmds, m, rs);
		for (size_t i = 0; i < m && s == STORE_OK; i++) {
			if (rs[i]->type == REDIS_REPLY_ERROR)
				s = reply_error(st, rs[i], "reading a listing");
			else if (rs[i]->type == REDIS_REPLY_ARRAY && rs[i]->elements > 0) {
				s = listing_from_reply(st, names[base + i], rs[i], &ls[got]);
				if (s == STORE_OK)
					got++;
			}
			/* an id whose hash is gone (deleted meanwhile) is skipped */
		}
		free_replies(rs, m);
		for (size_t i = 0; i < m; i++)
			free(keys[i]);
		free(keys);
		free(rs);
		free(cmds);
	}
done:
	free(names);
	freeReplyObject(ids);
	if (s != STORE_OK) {
		store_listings_free(ls, got);
		return s;
	}
	if (got == 0) {
		free(ls);
		ls = NULL;
	}
	*out = ls;
	*n_out = got;
	return STORE_OK;
}

/* "1700000000123-4" -> 1700000000123 */
static bool
entry_ms(const char *id, int64_t *ms)
{
	char buf[24];
	size_t n = strcspn(id, "-");

	if (n == 0 || n >= sizeof(buf) || id[n] != '-')
		return false;
	memcpy(buf, id, n);
	buf[n] = '\0';
	return parse_int64(buf, 0, INT64_MAX, ms);
}

static bool
history_point_from(const redisReply *e, struct history_point *p)
{
	const char *price = NULL, *currency = NULL, *avail = NULL;
	const redisReply *f;

	memset(p, 0, sizeof(*p));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	if (!entry_ms(e->element[0]->str, &p->time_ms))
		return false;
	f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "price") == 0)
			price = v->str;
		else if (strcmp(k->str, "currency") == 0)
			currency = v->str;
		else if (strcmp(k->str, "availability") == 0)
			avail = v->str;
	}
	p->availability = availability_parse(avail);
	return parse_price(price, currency, &p->price);
}

enum store_status
store_history(struct store *st, const char *listing_id, int64_t since_ms, int64_t until_ms,
    struct history_point **out, size_t *n_out)
{
	char *hk = xasprintf("%shist:%s", st->prefix, listing_id);
	char start[48], end[24];
	struct history_point *pts = NULL;
	size_t n = 0, cap = 0;
	enum store_status s = STORE_OK;

	*out = NULL;
	*n_out = 0;
	if (since_ms <= 0)
		pw_strlcpy(start, "-", sizeof(start));
	else
		(void)pw_snprintf(start, sizeof(start), "%" PRId64, since_ms);
	if (until_ms == INT64_MAX)
		pw_strlcpy(end, "+", sizeof(end));
	else
		(void)pw_snprintf(end, sizeof(end), "%" PRId64, until_ms < 0 ? 0 : until_ms);

	if (until_ms >= 0 && until_ms >= since_ms) {
		for (;;) {
			struct cmd c = { .argc = 6, .argv = { "XRANGE", hk, start, end, "COUNT", STR(HISTORY_PAGE) } };
			redisReply *r;
			size_t m;

			s = run1(st, &c, &r);
			if (s != STORE_OK)
				break;
			if (r->type != REDIS_REPLY_ARRAY) {
				s = r->type == REDIS_REPLY_ERROR ? reply_error(st, r, "reading the price history") : STORE_ERROR;
				if (r->type != REDIS_REPLY_ERROR)
					seterr(st, "Redis at %s: unexpected reply reading history of %s", st->where, listing_id);
				freeReplyObject(r);
				break;
			}
			m = r->elements;
			if (n + m > cap) {
				cap = n + m;
				pts = xreallocarray(pts, cap, sizeof(*pts));
			}
			for (size_t i = 0; i < m && s == STORE_OK; i++) {
				if (!history_point_from(r->element[i], &pts[n])) {
					seterr(st, "Redis at %s: malformed history entry in %s", st->where, hk);
					s = STORE_ERROR;
				} else
					n++;
			}
			/* next page starts after the last id we got (exclusive range) */
			if (s == STORE_OK && m > 0)
				(void)pw_snprintf(start, sizeof(start), "(%s", r->element[m - 1]->element[0]->str);
			freeReplyObject(r);
			if (s != STORE_OK || m < HISTORY_PAGE)
				break;
		}
	}
	if (s == STORE_OK && n == 0) {
		char *lk = xasprintf("%slisting:%s", st->prefix, listing_id);
		struct cmd c = { .argc = 2, .argv = { "EXISTS", lk } };
		redisReply *r;

		s = run1(st, &c, &r);
		free(lk);
		if (s == STORE_OK) {
			if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
				seterr(st, "no listing %s in Redis at %s", listing_id, st->where);
				s = STORE_NOT_FOUND;
			} else if (r->type == REDIS_REPLY_ERROR)
				s = reply_error(st, r, "checking a listing");
			freeReplyObject(r);
		}
	}
	free(hk);
	if (s != STORE_OK) {
		free(pts);
		return s;
	}
	*out = pts;
	*n_out = n;
	return STORE_OK;
}

/* ---- ids ---------------------------------------------------------------- */

/*
 * Minimal URL normalisation so the same page gets the same id: scheme and host
 * lower-cased, fragment dropped, default port (:80 for http, :443 for https)
 * dropped. Path and query are kept as they are: they may be case-sensitive.
 * Returns a new string; the caller frees it.
 */
static char *
normalise_url(const char *url)
{
	char *u = xstrndup(url, strcspn(url, "#"));
	char *sep = strstr(u, "://"), *auth, *host, *hend, *aend;
	bool http, https;

	if (sep == NULL)
		return u;
	for (char *p = u; p < sep; p++)
		*p = (char)tolower((unsigned char)*p);
	http = (size_t)(sep - u) == 4 && strncmp(u, "http", 4) == 0;
	https = (size_t)(sep - u) == 5 && strncmp(u, "https", 5) == 0;
	auth = sep + 3;
	aend = auth + strcspn(auth, "/?");
	host = auth;
	for (char *p = auth; p < aend; p++)
		if (*p == '@')
			host = p + 1;
	if (*host == '[') {
		hend = memchr(host, ']', (size_t)(aend - host));
		hend = hend != NULL ? hend + 1 : aend;
	} else {
		hend = memchr(host, ':', (size_t)(aend - host));
		if (hend == NULL)
			hend = aend;
	}
	for (char *p = host; p < hend; p++)
		*p = (char)tolower((unsigned char)*p);
	if (hend < aend && *hend == ':') {
		size_t plen = (size_t)(aend - hend - 1);
		bool drop = plen == 0 ||
		    (http && plen == 2 && strncmp(hend + 1, "80", 2) == 0) ||
		    (https && plen == 3 && strncmp(hend + 1, "443", 3) == 0);
		if (drop)
			memmove(hend, aend, strlen(aend) + 1);
	}
	return u;
}

bool
store_listing_id(const char *source, const char *sku, const char *gtin, const char *url,
    char *buf, size_t buflen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[17];
	char *norm;
	bool ok;

	if (buflen > 0)
		buf[0] = '\0';
	if (source == NULL || source[0] == '\0')
		return false;
	if (sku != NULL && sku[0] != '\0')
		return pw_snprintf(buf, buflen, "%s:sku:%s", source, sku);
	if (gtin != NULL && gtin[0] != '\0')
		return pw_snprintf(buf, buflen, "%s:gtin:%s", source, gtin);
	if (url == NULL || url[0] == '\0')
		return false;
	norm = normalise_url(url);
	ok = EVP_Digest(norm, strlen(norm), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= 8;
	free(norm);
	if (!ok)
		return false;
	for (int i = 0; i < 8; i++)
		(void)pw_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return pw_snprintf(buf, buflen, "%s:url:%s", source, hex);
}

/* ---- shared connection for store-level modules (jobs.c) ---------------- */

const char *
store_prefix(const struct store *st)
{
	return st->prefix;
}

void
store_set_error(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(st->err, sizeof(st->err), fmt, ap) < 0)
		st->err[0] = '\0';
	va_end(ap);
}

enum store_status
store_reply_error(struct store *st, const struct redisReply *r, const char *what)
{
	return reply_error(st, r, what);
}

enum store_status
store_command(struct store *st, int argc, const char **argv, struct redisReply **reply)
{
	return store_command_len(st, argc, argv, NULL, reply);
}

enum store_status
store_command_len(struct store *st, int argc, const char **argv, const size_t *lens, struct redisReply **reply)
{
	struct cmd c = { .argc = argc, .ext = argv, .lens = lens };

	*reply = NULL;
	if (argc <= 0) {
		seterr(st, "internal error: empty Redis command");
		return STORE_ERROR;
	}
	return run1(st, &c, reply);
}

enum store_status
store_script(struct store *st, const char *body, int nkeys, const char **args, int nargs,
    const char *what, struct redisReply **reply)
{
	struct script sc;
	const char **argv;
	char nk[12];
	enum store_status s;

	*reply = NULL;
	if (nargs < 0 || nargs > 1000000) {
		seterr(st, "internal error: %d script arguments for %s", nargs, what);
		return STORE_ERROR;
	}
	script_init(&sc, body);
	argv = xcalloc((size_t)nargs + 3, sizeof(*argv));
	(void)pw_snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = sc.sha[0] != '\0' ? "EVALSHA" : "EVAL";
	argv[1] = sc.sha[0] != '\0' ? sc.sha : sc.body;
	argv[2] = nk;
	for (int i = 0; i < nargs; i++)
		argv[i + 3] = args[i];
	s = store_command(st, nargs + 3, argv, reply);
	if (s == STORE_OK && (*reply)->type == REDIS_REPLY_ERROR && strncmp((*reply)->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(*reply);
		*reply = NULL;
		argv[0] = "EVAL";
		argv[1] = sc.body;
		s = store_command(st, nargs + 3, argv, reply);
	}
	if (s == STORE_OK && (*reply)->type == REDIS_REPLY_ERROR) {
		s = reply_error(st, *reply, what);
		freeReplyObject(*reply);
		*reply = NULL;
	}
	free(argv);
	return s;
}
