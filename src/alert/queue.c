/* queue.c: alerts into the pw:alerts stream (atomically with the rule state) and the notifier worker that drains it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "alert/queue.h"
#include "common/log.h"
#include "common/util.h"

#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_BASE_DELAY_MS 1000
#define DEFAULT_MAX_DELAY_MS 300000
#define DEFAULT_CLAIM_IDLE_MS 60000
#define DEFAULT_BATCH 16
#define DELIVERY_TTL_S "2592000"   /* per-channel delivery state is kept 30 days after the entry finished */

/*
 * KEYS: state hash, alerts stream. ARGV: expected last_change_ms ('' = absent),
 * armed, last_fired_ms, last_change_ms, maxlen, then field/value pairs to XADD
 * (none: state only). Returns 0 when the state moved on (lost a race), else 1
 * or the new entry id.
 */
static const char commit_lua[] =
	"local cur = redis.call('HGET', KEYS[1], 'last_change_ms')\n"
	"if (cur or '') ~= ARGV[1] then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'armed', ARGV[2], 'last_fired_ms', ARGV[3], 'last_change_ms', ARGV[4])\n"
	"if #ARGV > 5 then\n"
	"  local f = {}\n"
	"  for i = 6, #ARGV do f[#f + 1] = ARGV[i] end\n"
	"  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(f))\n"
	"end\n"
	"return 1\n";

/*
 * KEYS: dead stream, delivery hash. ARGV: channel, error, attempts, time_ms,
 * then the alert's field/value pairs. Dead-letters one channel's delivery and
 * marks it finished, so a retry of the worker does not add it twice.
 */
static const char dead_lua[] =
	"if redis.call('HGET', KEYS[2], ARGV[1] .. '.state') == 'dead' then return 0 end\n"
	"local f = {'channel', ARGV[1], 'error', ARGV[2], 'attempts', ARGV[3], 'dead_ms', ARGV[4]}\n"
	"for i = 5, #ARGV do f[#f + 1] = ARGV[i] end\n"
	"redis.call('XADD', KEYS[1], 'MAXLEN', '~', '100000', '*', unpack(f))\n"
	"redis.call('HSET', KEYS[2], ARGV[1] .. '.state', 'dead', ARGV[1] .. '.attempts', ARGV[3],\n"
	"  ARGV[1] .. '.error', ARGV[2])\n"
	"return 1\n";

/*
 * KEYS: dead stream, alerts stream. ARGV: dead entry id, delivery key prefix,
 * maxlen. The alert's fields minus the dead-letter ones, channels = the one
 * channel; the delivery key is derived from the entry, hence the prefix.
 */
static const char retry_lua[] =
	"local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
	"if #e == 0 then return 0 end\n"
	"local f, out, ch, id = e[1][2], {}, nil, nil\n"
	"for i = 1, #f, 2 do\n"
	"  local k, v = f[i], f[i + 1]\n"
	"  if k == 'channel' then ch = v\n"
	"  elseif k ~= 'error' and k ~= 'attempts' and k ~= 'dead_ms' and k ~= 'channels' then\n"
	"    if k == 'id' then id = v end\n"
	"    out[#out + 1] = k\n"
	"    out[#out + 1] = v\n"
	"  end\n"
	"end\n"
	"if not ch or not id then return redis.error_reply('dead entry ' .. ARGV[1] .. ' has no channel or id') end\n"
	"out[#out + 1] = 'channels'\n"
	"out[#out + 1] = ch\n"
	"redis.call('HDEL', ARGV[2] .. id, ch .. '.state', ch .. '.attempts', ch .. '.next_ms', ch .. '.error')\n"
	"local nid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(out))\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"return nid\n";

/*
 * KEYS: the channel's digest set, the alert's delivery hash. ARGV: queued
 * time, entry id, channel. The alert waits for the channel's next digest.
 */
static const char digest_add_lua[] =
	"redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])\n"
	"redis.call('HSET', KEYS[2], ARGV[3] .. '.state', 'digest')\n"
	"return 1\n";

/*
 * KEYS: the channel's digest set, its batch hash. ARGV: most alerts, now.
 * Freezes the waiting alerts into the batch (unless one is frozen already:
 * a crash or a failed attempt re-sends exactly that batch, so its key stays
 * the same). Returns the batch's comma-separated entry ids, or nil.
 */
static const char digest_freeze_lua[] =
	"local ids = redis.call('HGET', KEYS[2], 'ids')\n"
	"if ids then return ids end\n"
	"local m = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)\n"
	"if #m == 0 then return false end\n"
	"ids = table.concat(m, ',')\n"
	"redis.call('HSET', KEYS[2], 'ids', ids, 'created_ms', ARGV[2], 'attempts', 0, 'next_ms', 0)\n"
	"redis.call('ZREM', KEYS[1], unpack(m))\n"
	"return ids\n";

const char *
alert_msg_get(const struct alert_msg *msg, const char *name)
{
	for (size_t i = 0; i < msg->n; i++)
		if (strcmp(msg->names[i], name) == 0)
			return msg->values[i];
	return "";
}

void
alert_msg_free(struct alert_msg *msg)
{
	if (msg == NULL)
		return;
	for (size_t i = 0; i < msg->n; i++) {
		free(msg->names[i]);
		free(msg->values[i]);
	}
	free(msg->names);
	free(msg->values);
	free(msg->entry_id);
	memset(msg, 0, sizeof(*msg));
}

/* Appends a field; value is copied (NULL becomes ""). */
static void
msg_add(struct alert_msg *msg, const char *name, const char *value)
{
	msg->names = xreallocarray(msg->names, msg->n + 1, sizeof(*msg->names));
	msg->values = xreallocarray(msg->values, msg->n + 1, sizeof(*msg->values));
	msg->names[msg->n] = xstrdup(name);
	msg->values[msg->n] = xstrdup(value != NULL ? value : "");
	msg->n++;
}

/* Hex SHA-256 of text; text is freed (callers build it with xasprintf). */
static void
sha256_hex_free(char *text, char out[ALERT_KEY_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		/* Cannot happen with a working libcrypto; a fixed key would merge alerts, so abort. */
		log_warnx("alerts: SHA-256 failed");
		abort();
	}
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[ALERT_KEY_HEX] = '\0';
	free(text);
}

void
alert_msg_set(struct alert_msg *msg, const char *name, const char *value)
{
	for (size_t i = 0; i < msg->n; i++)
		if (strcmp(msg->names[i], name) == 0) {
			free(msg->values[i]);
			msg->values[i] = xstrdup(value != NULL ? value : "");
			return;
		}
	msg_add(msg, name, value);
}

void
alert_key(const char *rule, const char *listing_id, int64_t time_ms, char out[ALERT_KEY_HEX + 1])
{
	sha256_hex_free(xasprintf("%s|%s|%" PRId64, rule, listing_id, time_ms), out);
}

void
alert_digest_key(const char *channel, const char *ids, char out[ALERT_KEY_HEX + 1])
{
	sha256_hex_free(xasprintf("digest|%s|%s", channel, ids), out);
}

static void
add_price(struct alert_msg *msg, const char *prefix, const struct money *p)
{
	char name[32], buf[48];

	pw_snprintf(name, sizeof(name), "%s_price", prefix);
	if (p->currency[0] == '\0' || !money_format_decimal(p, buf, sizeof(buf)))
		buf[0] = '\0';
	msg_add(msg, name, buf);
	pw_snprintf(name, sizeof(name), "%s_minor", prefix);
	if (p->currency[0] != '\0')
		pw_snprintf(buf, sizeof(buf), "%" PRId64, p->minor);
	else
		buf[0] = '\0';
	msg_add(msg, name, buf);
	pw_snprintf(name, sizeof(name), "%s_currency", prefix);
	msg_add(msg, name, p->currency);
}

void
alert_msg_build(struct alert_msg *msg, const struct alert_rule *r, const struct change *c)
{
	char key[ALERT_KEY_HEX + 1], buf[64];
	char *channels;
	size_t len = 1, off = 0;

	memset(msg, 0, sizeof(*msg));
	alert_key(r->name, c->listing_id, c->time_ms, key);
	msg_add(msg, "id", key);
	msg_add(msg, "rule", r->name);
	msg_add(msg, "kind", alert_kind_name(r->kind));
	msg_add(msg, "listing", c->listing_id);
	msg_add(msg, "source", c->source);
	msg_add(msg, "url", c->url);
	msg_add(msg, "title", c->title);
	add_price(msg, "old", &c->old_price);
	add_price(msg, "new", &c->new_price);
	msg_add(msg, "old_availability", availability_name(c->old_avail));
	msg_add(msg, "new_availability", availability_name(c->new_avail));
	alert_percent_text(&c->old_price, &c->new_price, buf, sizeof(buf));
	msg_add(msg, "percent", buf);
	time_format_iso(c->time_ms, buf, sizeof(buf));
	msg_add(msg, "time", buf);
	pw_snprintf(buf, sizeof(buf), "%" PRId64, c->time_ms);
	msg_add(msg, "time_ms", buf);
	msg_add(msg, "product", c->match_sku);
	msg_add(msg, "product_title", c->match_sku != NULL ? c->product_title : NULL);
	add_price(msg, "product", &c->product_price);
	if (c->match_sku != NULL && c->match_score > 0)
		pw_snprintf(buf, sizeof(buf), "%.4f", c->match_score);   /* reported only, never compared */
	else
		buf[0] = '\0';
	msg_add(msg, "score", buf);
	for (size_t i = 0; i < r->n_notify; i++)
		len += strlen(r->notify[i]) + 1;
	channels = xmalloc(len);
	channels[0] = '\0';
	for (size_t i = 0; i < r->n_notify; i++)
		off += (size_t)snprintf(channels + off, len - off, "%s%s", i > 0 ? "," : "", r->notify[i]);
	msg_add(msg, "channels", channels);
	free(channels);
}

static char *
pkey(struct store *st, const char *suffix)
{
	return xasprintf("%s%s", store_prefix(st), suffix);
}

static char *
state_key(struct store *st, const char *rule, const char *listing_id)
{
	return xasprintf("%salert:state:%s:%s", store_prefix(st), rule, listing_id);
}

static enum store_status
bad_reply(struct store *st, const redisReply *r, const char *what)
{
	store_set_error(st, "Redis: unexpected reply type %d to %s", r != NULL ? r->type : -1, what);
	return STORE_ERROR;
}

/* Runs a command that must not answer with an error; the reply is freed. */
static enum store_status
run_simple(struct store *st, int argc, const char **argv, const char *what)
{
	redisReply *r;
	enum store_status s = store_command(st, argc, argv, &r);

	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, what);
	freeReplyObject(r);
	return s;
}

enum store_status
alert_queue_init(struct store *st)
{
	char *k = pkey(st, "alerts");
	const char *argv[] = { "XGROUP", "CREATE", k, ALERT_GROUP, "0", "MKSTREAM" };
	redisReply *r;
	enum store_status s = store_command(st, 6, argv, &r);

	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
			s = store_reply_error(st, r, "creating the consumer group " ALERT_GROUP);
		freeReplyObject(r);
	}
	free(k);
	return s;
}

static bool
parse_i64(const char *s, int64_t *out)
{
	return s != NULL && parse_int64(s, INT64_MIN, INT64_MAX, out);
}

enum store_status
alert_state_load(struct store *st, const char *rule, const char *listing_id, struct alert_state *state)
{
	char *k = state_key(st, rule, listing_id);
	const char *argv[] = { "HGETALL", k };
	redisReply *r;
	enum store_status s;

	memset(state, 0, sizeof(*state));
	s = store_command(st, 2, argv, &r);
	free(k);
	if (s != STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
		s = r->type == REDIS_REPLY_ERROR ? store_reply_error(st, r, "reading alert state") :
		    bad_reply(st, r, "HGETALL of an alert state");
		freeReplyObject(r);
		return s;
	}
	state->armed = true;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *n = r->element[i]->str, *v = r->element[i + 1]->str;

		if (n == NULL || v == NULL)
			continue;
		state->present = true;
		if (strcmp(n, "armed") == 0)
			state->armed = strcmp(v, "0") != 0;
		else if (strcmp(n, "last_fired_ms") == 0)
			(void)parse_i64(v, &state->last_fired_ms);
		else if (strcmp(n, "last_change_ms") == 0)
			(void)parse_i64(v, &state->last_change_ms);
	}
	freeReplyObject(r);
	return STORE_OK;
}

enum store_status
alert_commit(struct store *st, const char *rule, const char *listing_id, const struct alert_state *expected,
    const struct alert_state *next, const struct alert_msg *msg, bool *committed, char *entry_id,
    size_t entry_id_len)
{
	char nums[4][24];
	const char **args;
	size_t nargs = 7 + (msg != NULL ? 2 * msg->n : 0);
	char *keys[2] = { state_key(st, rule, listing_id), pkey(st, "alerts") };
	redisReply *r;
	enum store_status s;

	*committed = false;
	if (entry_id != NULL && entry_id_len > 0)
		entry_id[0] = '\0';
	if (expected != NULL && expected->present)
		pw_snprintf(nums[0], sizeof(nums[0]), "%" PRId64, expected->last_change_ms);
	else
		nums[0][0] = '\0';
	pw_snprintf(nums[1], sizeof(nums[1]), "%d", next->armed ? 1 : 0);
	pw_snprintf(nums[2], sizeof(nums[2]), "%" PRId64, next->last_fired_ms);
	pw_snprintf(nums[3], sizeof(nums[3]), "%" PRId64, next->last_change_ms);
	args = xcalloc(nargs, sizeof(*args));
	args[0] = keys[0];
	args[1] = keys[1];
	args[2] = nums[0];
	args[3] = nums[1];
	args[4] = nums[2];
	args[5] = nums[3];
	args[6] = ALERT_STREAM_MAXLEN;
	for (size_t i = 0; msg != NULL && i < msg->n; i++) {
		args[7 + 2 * i] = msg->names[i];
		args[8 + 2 * i] = msg->values[i];
	}
	s = store_script(st, commit_lua, 2, args, (int)nargs, "recording an alert", &r);
	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_INTEGER)
			*committed = r->integer != 0;
		else if (r->type == REDIS_REPLY_STRING) {
			*committed = true;
			if (entry_id != NULL)
				pw_strlcpy(entry_id, r->str, entry_id_len);
		} else
			s = bad_reply(st, r, "the alert commit script");
		freeReplyObject(r);
	}
	free(args);
	free(keys[0]);
	free(keys[1]);
	return s;
}

/* ---- the worker ---- */

/* splitmix64: the jitter only needs to spread retries, not to be unpredictable. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Full jitter: uniform in [0, min(max, base * 2^(attempts-1))]. */
static int64_t
backoff_ms(const struct alert_worker_opts *o, int attempts, uint64_t *rng)
{
	int64_t ceiling = o->base_delay_ms;

	for (int i = 1; i < attempts && ceiling < o->max_delay_ms; i++)
		ceiling *= 2;
	if (ceiling > o->max_delay_ms)
		ceiling = o->max_delay_ms;
	if (ceiling <= 0)
		return 0;
	return (int64_t)(rng_next(rng) % ((uint64_t)ceiling + 1));
}

/* Turns a stream entry reply [id, [f, v, ...]] into msg; false when malformed (or deleted: nil fields). */
bool
alert_msg_from_entry(const redisReply *e, struct alert_msg *msg)
{
	const redisReply *fv;

	memset(msg, 0, sizeof(*msg));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
		return false;
	msg->entry_id = xstrdup(e->element[0]->str);
	fv = e->element[1];
	if (fv->type != REDIS_REPLY_ARRAY || fv->elements % 2 != 0)
		return false;
	for (size_t i = 0; i + 1 < fv->elements; i += 2) {
		if (fv->element[i]->type != REDIS_REPLY_STRING || fv->element[i + 1]->type != REDIS_REPLY_STRING)
			return false;
		msg_add(msg, fv->element[i]->str, fv->element[i + 1]->str);
	}
	return true;
}

/* Collects entries from an array of stream entries into *msgs; ids of unusable entries go to *bad. */
static void
collect_entries(const redisReply *arr, struct alert_msg **msgs, size_t *n, char ***bad, size_t *n_bad)
{
	for (size_t i = 0; arr != NULL && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
		struct alert_msg m;
		const redisReply *e = arr->element[i];

		if (alert_msg_from_entry(e, &m) && alert_msg_get(&m, "id")[0] != '\0') {
			bool dup = false;

			for (size_t j = 0; j < *n; j++)
				if (strcmp((*msgs)[j].entry_id, m.entry_id) == 0)
					dup = true;
			if (dup) {
				alert_msg_free(&m);
				continue;
			}
			*msgs = xreallocarray(*msgs, *n + 1, sizeof(**msgs));
			(*msgs)[(*n)++] = m;
			continue;
		}
		/* A trimmed entry (nil fields) or one that is not an alert: acknowledge it away. */
		if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 && e->element[0]->type == REDIS_REPLY_STRING) {
			*bad = xreallocarray(*bad, *n_bad + 1, sizeof(**bad));
			(*bad)[(*n_bad)++] = xstrdup(e->element[0]->str);
			log_warnx("alerts: entry %s of the alerts stream is not a valid alert; acknowledged and "
			    "skipped", e->element[0]->str);
		}
		alert_msg_free(&m);
	}
}

/* XREADGROUP reply: [[stream, [entries...]]] or nil. */
static void
collect_read(const redisReply *r, struct alert_msg **msgs, size_t *n, char ***bad, size_t *n_bad)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return;
	r = r->element[0];
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return;
	collect_entries(r->element[1], msgs, n, bad, n_bad);
}

struct chan_state {
	char state[16];            /* "", "retry", "delivered", "dead" */
	int attempts;
	int64_t next_ms;
};

static void
chan_state_from(const redisReply *h, const char *ch, struct chan_state *cs)
{
	size_t chl = strlen(ch);

	memset(cs, 0, sizeof(*cs));
	for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
		const char *n = h->element[i]->str, *v = h->element[i + 1]->str;
		int64_t x;

		if (n == NULL || v == NULL || strncmp(n, ch, chl) != 0 || n[chl] != '.')
			continue;
		n += chl + 1;
		if (strcmp(n, "state") == 0)
			pw_strlcpy(cs->state, v, sizeof(cs->state));
		else if (strcmp(n, "attempts") == 0 && parse_int64(v, 0, 1000000, &x))
			cs->attempts = (int)x;
		else if (strcmp(n, "next_ms") == 0 && parse_i64(v, &x))
			cs->next_ms = x;
	}
}

static const struct alert_channel *
find_channel(const struct alert_channel *chs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(chs[i].name, name) == 0)
			return &chs[i];
	return NULL;
}

static enum store_status
dead_letter(struct store *st, const char *dkey, const char *ch, const char *error, int attempts, int64_t now,
    const struct alert_msg *msg)
{
	char *keys[1] = { pkey(st, "alerts:dead") };
	char att[16], t[24];
	size_t nargs = 6 + 2 * msg->n;
	const char **args = xcalloc(nargs, sizeof(*args));
	redisReply *r;
	enum store_status s;

	pw_snprintf(att, sizeof(att), "%d", attempts);
	pw_snprintf(t, sizeof(t), "%" PRId64, now);
	args[0] = keys[0];
	args[1] = dkey;
	args[2] = ch;
	args[3] = error;
	args[4] = att;
	args[5] = t;
	for (size_t i = 0; i < msg->n; i++) {
		args[6 + 2 * i] = msg->names[i];
		args[7 + 2 * i] = msg->values[i];
	}
	s = store_script(st, dead_lua, 2, args, (int)nargs, "dead-lettering an alert", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(args);
	free(keys[0]);
	return s;
}

static char *
digest_key_name(struct store *st, const char *channel, const char *suffix)
{
	return xasprintf("%salert:digest:%s%s", store_prefix(st), channel, suffix);
}

static enum store_status
digest_add(struct store *st, const struct alert_channel *c, const struct alert_msg *msg, const char *dkey,
    int64_t now)
{
	char *zk = digest_key_name(st, c->name, "");
	char t[24];
	const char *args[] = { zk, dkey, t, msg->entry_id != NULL ? msg->entry_id : "", c->name };
	redisReply *r;
	enum store_status s;

	pw_snprintf(t, sizeof(t), "%" PRId64, now);
	s = store_script(st, digest_add_lua, 2, args, 5, "queueing an alert for a digest", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(zk);
	return s;
}

/* Works one entry: one attempt per open channel. *finished: every channel delivered or dead. */
static enum store_status
work_entry(struct store *st, const struct alert_channel *chs, size_t n_chs, const struct alert_worker_opts *o,
    int64_t now, uint64_t *rng, const struct alert_msg *msg, bool *finished, struct alert_worker_stats *stats)
{
	char *dkey = xasprintf("%salert:delivery:%s", store_prefix(st), alert_msg_get(msg, "id"));
	const char *hget[] = { "HGETALL", dkey };
	char *list = xstrdup(alert_msg_get(msg, "channels")), *save = NULL, *ch;
	redisReply *h = NULL;
	enum store_status s;
	bool open = false;

	*finished = false;
	s = store_command(st, 2, hget, &h);
	if (s != STORE_OK)
		goto out;
	if (h->type != REDIS_REPLY_ARRAY) {
		s = h->type == REDIS_REPLY_ERROR ? store_reply_error(st, h, "reading delivery state") :
		    bad_reply(st, h, "HGETALL of a delivery state");
		goto out;
	}
	for (ch = strtok_r(list, ",", &save); ch != NULL && s == STORE_OK; ch = strtok_r(NULL, ",", &save)) {
		struct chan_state cs;
		const struct alert_channel *c;
		char err[512], f1[160], f2[160], f3[160], v1[24], v2[24];
		enum alert_delivery d;

		chan_state_from(h, ch, &cs);
		if (strcmp(cs.state, "delivered") == 0 || strcmp(cs.state, "dead") == 0)
			continue;
		c = find_channel(chs, n_chs, ch);
		if (c != NULL && c->digest_ms > 0 && c->deliver_batch != NULL) {
			/* Waits, still pending, for the channel's digest (flush_digest delivers and settles it). */
			if (strcmp(cs.state, "digest") != 0)
				s = digest_add(st, c, msg, dkey, now);
			open = true;
			continue;
		}
		if (cs.next_ms > now) {
			open = true;       /* waiting out its backoff; the other channels go on */
			continue;
		}
		err[0] = '\0';
		if (c == NULL) {
			pw_snprintf(err, sizeof(err), "no notifier named '%s' is configured", ch);
			d = DELIVERY_PERMANENT;
		} else
			d = c->deliver(c, msg, now, err, sizeof(err));
		cs.attempts++;
		pw_snprintf(f1, sizeof(f1), "%s.state", ch);
		pw_snprintf(f2, sizeof(f2), "%s.attempts", ch);
		pw_snprintf(f3, sizeof(f3), "%s.next_ms", ch);
		pw_snprintf(v1, sizeof(v1), "%d", cs.attempts);
		if (d == DELIVERY_OK) {
			const char *argv[] = { "HSET", dkey, f1, "delivered", f2, v1 };

			s = run_simple(st, 6, argv, "recording a delivery");
			stats->delivered++;
			continue;
		}
		if (d == DELIVERY_RETRY && cs.attempts < o->max_attempts) {
			char f4[160];
			const char *argv[] = { "HSET", dkey, f1, "retry", f2, v1, f3, v2, f4, err };

			pw_snprintf(f4, sizeof(f4), "%s.error", ch);
			pw_snprintf(v2, sizeof(v2), "%" PRId64, now + backoff_ms(o, cs.attempts, rng));
			s = run_simple(st, 10, argv, "recording a failed delivery");
			log_info("alerts: %s to %s failed (attempt %d of %d), will retry: %s",
			    alert_msg_get(msg, "id"), ch, cs.attempts, o->max_attempts, err);
			stats->retried++;
			open = true;
			continue;
		}
		log_warnx("alerts: %s to %s given up after %d attempt(s): %s", alert_msg_get(msg, "id"), ch,
		    cs.attempts, err);
		s = dead_letter(st, dkey, ch, err, cs.attempts, now, msg);
		stats->dead++;
	}
	if (s == STORE_OK && !open) {
		const char *argv[] = { "EXPIRE", dkey, DELIVERY_TTL_S };

		s = run_simple(st, 3, argv, "expiring a delivery state");
		*finished = s == STORE_OK;
	}
out:
	if (h != NULL)
		freeReplyObject(h);
	free(list);
	free(dkey);
	return s;
}

/* One attempt round on an entry, then XACK when it is finished, else keep it ours. */
static enum store_status
settle_entry(struct store *st, const struct alert_channel *chs, size_t n_chs, const struct alert_worker_opts *o,
    int64_t now, uint64_t *rng, const struct alert_msg *msg, struct alert_worker_stats *stats)
{
	char *sk = pkey(st, "alerts");
	bool finished;
	enum store_status s = work_entry(st, chs, n_chs, o, now, rng, msg, &finished, stats);

	if (s == STORE_OK && finished) {
		const char *argv[] = { "XACK", sk, ALERT_GROUP, msg->entry_id };

		s = run_simple(st, 4, argv, "acknowledging an alert");
		if (s == STORE_OK)
			stats->acked++;
	} else if (s == STORE_OK) {
		/* Still ours: reset its idle time so no other worker takes it over while it waits. */
		const char *argv[] = { "XCLAIM", sk, ALERT_GROUP, o->consumer, "0", msg->entry_id, "JUSTID" };

		s = run_simple(st, 7, argv, "keeping an alert in retry");
	}
	free(sk);
	return s;
}

/* The alerts of a frozen digest batch, read back from the stream (trimmed ones are skipped). */
static enum store_status
digest_load(struct store *st, const char *ids, struct alert_msg **msgs, size_t *n)
{
	char *sk = pkey(st, "alerts"), *list = xstrdup(ids), *save = NULL, *id;
	enum store_status s = STORE_OK;

	*msgs = NULL;
	*n = 0;
	for (id = strtok_r(list, ",", &save); id != NULL && s == STORE_OK; id = strtok_r(NULL, ",", &save)) {
		const char *argv[] = { "XRANGE", sk, id, id };
		redisReply *r;
		char **bad = NULL;
		size_t n_bad = 0;

		s = store_command(st, 4, argv, &r);
		if (s != STORE_OK)
			break;
		if (r->type == REDIS_REPLY_ARRAY)
			collect_entries(r, msgs, n, &bad, &n_bad);
		else
			s = r->type == REDIS_REPLY_ERROR ? store_reply_error(st, r, "reading a digest's alerts") :
			    bad_reply(st, r, "XRANGE of a digest alert");
		for (size_t i = 0; i < n_bad; i++)
			free(bad[i]);
		free(bad);
		freeReplyObject(r);
	}
	free(list);
	free(sk);
	return s;
}

/* Marks one channel of every alert of the batch delivered (or dead-letters them all). */
static enum store_status
digest_settle_channel(struct store *st, const struct alert_channel *c, const struct alert_msg *msgs, size_t n,
    enum alert_delivery d, int attempts, const char *err, int64_t now)
{
	enum store_status s = STORE_OK;
	char f1[160], f2[160], v[24];

	pw_snprintf(f1, sizeof(f1), "%s.state", c->name);
	pw_snprintf(f2, sizeof(f2), "%s.attempts", c->name);
	pw_snprintf(v, sizeof(v), "%d", attempts);
	for (size_t i = 0; i < n && s == STORE_OK; i++) {
		char *dkey = xasprintf("%salert:delivery:%s", store_prefix(st), alert_msg_get(&msgs[i], "id"));

		if (d == DELIVERY_OK) {
			const char *argv[] = { "HSET", dkey, f1, "delivered", f2, v };

			s = run_simple(st, 6, argv, "recording a digest delivery");
		} else
			s = dead_letter(st, dkey, c->name, err, attempts, now, &msgs[i]);
		free(dkey);
	}
	return s;
}

/*
 * A digest channel's round: when the oldest waiting alert has waited
 * digest_ms (or a frozen batch is due for another try), one message for the
 * batch. The batch's alerts stay pending until it is delivered or given up;
 * then each is settled (its other channels, XACK) like any entry.
 */
static enum store_status
flush_digest(struct store *st, const struct alert_channel *chs, size_t n_chs, const struct alert_channel *c,
    const struct alert_worker_opts *o, int64_t now, uint64_t *rng, struct alert_worker_stats *stats)
{
	char *zk = digest_key_name(st, c->name, ""), *bk = digest_key_name(st, c->name, ":batch");
	char *ids = NULL, key[ALERT_KEY_HEX + 1], err[512], maxs[16], nows[24];
	struct alert_msg *msgs = NULL;
	size_t n = 0;
	redisReply *r = NULL;
	enum store_status s;
	enum alert_delivery d;
	int64_t next_ms = 0, attempts = 0;

	{
		const char *argv[] = { "HGETALL", bk };

		s = store_command(st, 2, argv, &r);
		if (s != STORE_OK)
			goto out;
		if (r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i + 1 < r->elements; i += 2) {
				const char *f = r->element[i]->str, *v = r->element[i + 1]->str;

				if (f == NULL || v == NULL)
					continue;
				if (strcmp(f, "ids") == 0)
					ids = xstrdup(v);
				else if (strcmp(f, "attempts") == 0)
					(void)parse_int64(v, 0, 1000000, &attempts);
				else if (strcmp(f, "next_ms") == 0)
					(void)parse_i64(v, &next_ms);
			}
		freeReplyObject(r);
		r = NULL;
	}
	if (ids == NULL) {
		const char *argv[] = { "ZRANGE", zk, "0", "0", "WITHSCORES" };
		int64_t first = 0;

		s = store_command(st, 5, argv, &r);
		if (s != STORE_OK)
			goto out;
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[1]->str == NULL ||
		    !parse_i64(r->element[1]->str, &first) || first > now - c->digest_ms)
			goto out;      /* nothing waiting, or the oldest has not waited long enough */
		freeReplyObject(r);
		r = NULL;
		pw_snprintf(maxs, sizeof(maxs), "%d", ALERT_DIGEST_MAX);
		pw_snprintf(nows, sizeof(nows), "%" PRId64, now);
		{
			const char *args[] = { zk, bk, maxs, nows };

			s = store_script(st, digest_freeze_lua, 2, args, 4, "freezing a digest", &r);
		}
		if (s == STORE_OK && r->type == REDIS_REPLY_ERROR)
			s = store_reply_error(st, r, "freezing a digest");
		if (s != STORE_OK || r->type != REDIS_REPLY_STRING)
			goto out;      /* nil: another worker took the waiting alerts into its batch */
		ids = xstrdup(r->str);
		freeReplyObject(r);
		r = NULL;
	}
	if (next_ms > now)
		goto out;          /* a failed batch waits out its backoff */
	if ((s = digest_load(st, ids, &msgs, &n)) != STORE_OK)
		goto out;
	alert_digest_key(c->name, ids, key);
	err[0] = '\0';
	d = n > 0 ? c->deliver_batch(c, msgs, n, key, now, err, sizeof(err)) : DELIVERY_OK;
	attempts++;
	if (d == DELIVERY_RETRY && attempts < o->max_attempts) {
		char a[24], nm[24];
		const char *argv[] = { "HSET", bk, "attempts", a, "next_ms", nm, "error", err };

		pw_snprintf(a, sizeof(a), "%" PRId64, attempts);
		pw_snprintf(nm, sizeof(nm), "%" PRId64, now + backoff_ms(o, (int)attempts, rng));
		log_info("alerts: digest %s of %zu alert(s) to %s failed (attempt %" PRId64 " of %d), will retry: %s",
		    key, n, c->name, attempts, o->max_attempts, err);
		stats->retried++;
		s = run_simple(st, 8, argv, "recording a failed digest");
		goto out;
	}
	if (d == DELIVERY_OK) {
		log_info("alerts: digest %s of %zu alert(s) delivered to %s", key, n, c->name);
		stats->delivered += n;
		stats->digests++;
	} else {
		log_warnx("alerts: digest %s of %zu alert(s) to %s given up after %" PRId64 " attempt(s): %s", key,
		    n, c->name, attempts, err);
		stats->dead += n;
	}
	/* Settle the alerts before dropping the batch: a crash in between re-sends it (same key), never loses it. */
	s = digest_settle_channel(st, c, msgs, n, d, (int)attempts, err, now);
	if (s == STORE_OK) {
		const char *argv[] = { "DEL", bk };

		s = run_simple(st, 2, argv, "closing a digest");
	}
	for (size_t i = 0; i < n && s == STORE_OK; i++)
		s = settle_entry(st, chs, n_chs, o, now, rng, &msgs[i], stats);
out:
	if (r != NULL)
		freeReplyObject(r);
	for (size_t i = 0; i < n; i++)
		alert_msg_free(&msgs[i]);
	free(msgs);
	free(ids);
	free(zk);
	free(bk);
	return s;
}

/* A stream id such as "1790000000000-0" (what a cursor may hold). */
static bool
stream_id_ok(const char *id)
{
	size_t d = strspn(id, "0123456789");

	return d > 0 && d < 21 && id[d] == '-' && strspn(id + d + 1, "0123456789") > 0 &&
	    id[d + 1 + strspn(id + d + 1, "0123456789")] == '\0';
}

/*
 * One batch of the worker's own pending entries, from where the last round
 * stopped (pw:alert:cursor:<consumer>) and round again from the start once
 * the end is reached: alerts parked for a digest never hide the retries of
 * newer entries behind the first batch.
 */
static enum store_status
read_own_pending(struct store *st, const struct alert_worker_opts *o, const char *sk, const char *count,
    struct alert_msg **msgs, size_t *n, char ***bad, size_t *n_bad)
{
	char *ck = xasprintf("%salert:cursor:%s", store_prefix(st), o->consumer);
	char cursor[48] = "0", next[48] = "0";
	const char *get[] = { "GET", ck };
	redisReply *r;
	enum store_status s = store_command(st, 2, get, &r);

	if (s != STORE_OK)
		goto out;
	if (r->type == REDIS_REPLY_STRING && stream_id_ok(r->str))
		pw_strlcpy(cursor, r->str, sizeof(cursor));
	freeReplyObject(r);
	{
		const char *argv[] = { "XREADGROUP", "GROUP", ALERT_GROUP, o->consumer, "COUNT", count,
		    "STREAMS", sk, cursor };

		s = store_command(st, 9, argv, &r);
	}
	if (s != STORE_OK)
		goto out;
	if (r->type == REDIS_REPLY_ERROR) {
		s = store_reply_error(st, r, "reading pending alerts");
		freeReplyObject(r);
		goto out;
	}
	/* [[stream, [entries]]]: a full batch means more may follow; the next round goes on after the last. */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *es = r->element[0]->element[1];

		if (es->elements >= o->batch && es->elements > 0 &&
		    es->element[es->elements - 1]->type == REDIS_REPLY_ARRAY &&
		    es->element[es->elements - 1]->elements >= 1 &&
		    es->element[es->elements - 1]->element[0]->type == REDIS_REPLY_STRING)
			pw_strlcpy(next, es->element[es->elements - 1]->element[0]->str, sizeof(next));
	}
	collect_read(r, msgs, n, bad, n_bad);
	freeReplyObject(r);
	if (strcmp(next, cursor) != 0) {
		const char *set[] = { "SET", ck, next, "PX", "86400000" };

		s = run_simple(st, 5, set, "moving the pending cursor");
	}
out:
	free(ck);
	return s;
}

enum store_status
alert_worker_run_once(struct store *st, const struct alert_channel *channels, size_t n_channels,
    const struct alert_worker_opts *opts, struct alert_worker_stats *stats)
{
	struct alert_worker_opts o = *opts;
	struct alert_worker_stats dummy;
	char *sk = pkey(st, "alerts");
	struct alert_msg *msgs = NULL;
	char **bad = NULL;
	size_t n = 0, n_bad = 0, i;
	char count[24], idle[24], block[24];
	redisReply *r;
	enum store_status s;
	int64_t now;
	uint64_t rng;

	if (stats == NULL)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	if (o.max_attempts <= 0)
		o.max_attempts = DEFAULT_MAX_ATTEMPTS;
	if (o.base_delay_ms == 0)
		o.base_delay_ms = DEFAULT_BASE_DELAY_MS;
	if (o.base_delay_ms < 0)
		o.base_delay_ms = 0;
	if (o.max_delay_ms <= 0)
		o.max_delay_ms = DEFAULT_MAX_DELAY_MS;
	if (o.claim_idle_ms <= 0)
		o.claim_idle_ms = DEFAULT_CLAIM_IDLE_MS;
	if (o.batch == 0)
		o.batch = DEFAULT_BATCH;
	now = o.now_ms > 0 ? o.now_ms : time_now_ms();
	rng = o.seed != 0 ? o.seed : (uint64_t)time_mono_ms() ^ (uint64_t)now;
	pw_snprintf(count, sizeof(count), "%zu", o.batch);
	pw_snprintf(idle, sizeof(idle), "%" PRId64, o.claim_idle_ms);
	pw_snprintf(block, sizeof(block), "%" PRId64, o.block_ms);

	/* 1. our own pending entries: retries, or what we read before a crash under this name */
	if ((s = read_own_pending(st, &o, sk, count, &msgs, &n, &bad, &n_bad)) != STORE_OK)
		goto out;
	{	/* 2. entries a dead worker left behind */
		const char *argv[] = { "XAUTOCLAIM", sk, ALERT_GROUP, o.consumer, idle, "0-0", "COUNT", count };

		s = store_command(st, 8, argv, &r);
		if (s != STORE_OK)
			goto out;
		if (r->type == REDIS_REPLY_ERROR) {
			s = store_reply_error(st, r, "claiming abandoned alerts");
			freeReplyObject(r);
			goto out;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
			collect_entries(r->element[1], &msgs, &n, &bad, &n_bad);
		freeReplyObject(r);
	}
	{	/* 3. new alerts */
		const char *argv[] = { "XREADGROUP", "GROUP", ALERT_GROUP, o.consumer, "COUNT", count,
		    "BLOCK", block, "STREAMS", sk, ">" };
		const char *argv_nb[] = { "XREADGROUP", "GROUP", ALERT_GROUP, o.consumer, "COUNT", count,
		    "STREAMS", sk, ">" };

		s = o.block_ms > 0 ? store_command(st, 11, argv, &r) : store_command(st, 9, argv_nb, &r);
		if (s != STORE_OK)
			goto out;
		if (r->type == REDIS_REPLY_ERROR) {
			s = store_reply_error(st, r, "reading new alerts");
			freeReplyObject(r);
			goto out;
		}
		collect_read(r, &msgs, &n, &bad, &n_bad);
		freeReplyObject(r);
	}
	for (i = 0; i < n_bad && s == STORE_OK; i++) {
		const char *argv[] = { "XACK", sk, ALERT_GROUP, bad[i] };

		s = run_simple(st, 4, argv, "acknowledging a malformed alert");
	}
	for (i = 0; i < n && s == STORE_OK; i++)
		s = settle_entry(st, channels, n_channels, &o, now, &rng, &msgs[i], stats);
	for (i = 0; i < n_channels && s == STORE_OK; i++)
		if (channels[i].digest_ms > 0 && channels[i].deliver_batch != NULL)
			s = flush_digest(st, channels, n_channels, &channels[i], &o, now, &rng, stats);
out:
	for (i = 0; i < n; i++)
		alert_msg_free(&msgs[i]);
	free(msgs);
	for (i = 0; i < n_bad; i++)
		free(bad[i]);
	free(bad);
	free(sk);
	return s;
}

enum store_status
alert_dead_retry(struct store *st, const char *dead_id, char *new_id, size_t new_id_len)
{
	char *keys[2] = { pkey(st, "alerts:dead"), pkey(st, "alerts") };
	char *dprefix = pkey(st, "alert:delivery:");
	const char *args[] = { keys[0], keys[1], dead_id, dprefix, ALERT_STREAM_MAXLEN };
	redisReply *r;
	enum store_status s;

	if (new_id != NULL && new_id_len > 0)
		new_id[0] = '\0';
	s = store_script(st, retry_lua, 2, args, 5, "re-queueing a dead alert", &r);
	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
			store_set_error(st, "no dead alert with id %s", dead_id);
			s = STORE_NOT_FOUND;
		} else if (r->type == REDIS_REPLY_STRING) {
			if (new_id != NULL)
				pw_strlcpy(new_id, r->str, new_id_len);
		} else
			s = bad_reply(st, r, "the dead alert retry script");
		freeReplyObject(r);
	}
	free(dprefix);
	free(keys[0]);
	free(keys[1]);
	return s;
}

/* One pw:hist entry: [id, [price, P, currency, C, availability, A]]. */
static bool
hist_entry(const redisReply *e, int64_t *ms, struct money *price, enum availability *avail)
{
	const char *p = NULL, *cur = NULL, *av = NULL;
	const redisReply *f;
	char idms[24];
	size_t n;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return false;
	n = strcspn(e->element[0]->str, "-");
	if (n == 0 || n >= sizeof(idms))
		return false;
	memcpy(idms, e->element[0]->str, n);
	idms[n] = '\0';
	if (!parse_int64(idms, 0, INT64_MAX, ms))
		return false;
	f = e->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		if (f->element[i]->type != REDIS_REPLY_STRING || f->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(f->element[i]->str, "price") == 0)
			p = f->element[i + 1]->str;
		else if (strcmp(f->element[i]->str, "currency") == 0)
			cur = f->element[i + 1]->str;
		else if (strcmp(f->element[i]->str, "availability") == 0)
			av = f->element[i + 1]->str;
	}
	memset(price, 0, sizeof(*price));
	*avail = availability_parse(av);
	if (cur == NULL || cur[0] == '\0')
		return true;
	if (strlen(cur) != 3 || p == NULL || !parse_int64(p, INT64_MIN, INT64_MAX, &price->minor))
		return false;
	memcpy(price->currency, cur, 4);
	return true;
}

enum store_status
alert_change_from_store(struct store *st, const struct observation *obs, struct change *out)
{
	char *hk = xasprintf("%shist:%s", store_prefix(st), obs->listing_id);
	char end[32];
	const char *argv[] = { "XREVRANGE", hk, end, "-", "COUNT", "2" };
	redisReply *r;
	enum store_status s;
	int64_t ms = 0;

	memset(out, 0, sizeof(*out));
	pw_snprintf(end, sizeof(end), "%" PRId64 "-18446744073709551615", obs->observed_ms);
	s = store_command(st, 6, argv, &r);
	free(hk);
	if (s != STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY) {
		s = r->type == REDIS_REPLY_ERROR ? store_reply_error(st, r, "reading the newest history points") :
		    bad_reply(st, r, "XREVRANGE of a history");
		freeReplyObject(r);
		return s;
	}
	if (r->elements == 0 || !hist_entry(r->element[0], &ms, &out->new_price, &out->new_avail) ||
	    ms != obs->observed_ms) {
		store_set_error(st, "no history point of %s at %" PRId64, obs->listing_id, obs->observed_ms);
		freeReplyObject(r);
		return STORE_NOT_FOUND;
	}
	if (r->elements == 2 && !hist_entry(r->element[1], &ms, &out->old_price, &out->old_avail)) {
		freeReplyObject(r);
		store_set_error(st, "malformed history entry of %s", obs->listing_id);
		return STORE_ERROR;
	}
	freeReplyObject(r);
	out->listing_id = obs->listing_id;
	out->source = obs->source;
	out->url = obs->url;
	out->title = obs->title;
	out->time_ms = obs->observed_ms;
	return STORE_OK;
}
