/* jobs.c: crawl jobs through Redis (due zset, jobs stream with consumer group, leases, per-source state) over the store's connection. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/util.h"
#include "store/jobs.h"

#define BACKOFF_MAX_SHIFT 6
#define BACKOFF_CAP_MS (24LL * 3600 * 1000)

/*
 * The tick. KEYS: due zset, jobs stream, open hash. ARGV: now, then per
 * source: name, interval, jitter, spread. Times are formatted with %.0f: Lua
 * 5.1 numbers are doubles (exact far beyond epoch ms), and tostring() would
 * switch to exponent notation above 14 digits.
 */
static const char tick_lua[] =
	"local now = tonumber(ARGV[1])\n"
	"local n, nextdue = 0, nil\n"
	"for i = 2, #ARGV, 4 do\n"
	"  local m = ARGV[i]\n"
	"  local sc = redis.call('ZSCORE', KEYS[1], m)\n"
	"  if not sc then\n"
	"    sc = now + tonumber(ARGV[i + 3])\n"
	"    redis.call('ZADD', KEYS[1], string.format('%.0f', sc), m)\n"
	"  else\n"
	"    sc = tonumber(sc)\n"
	"  end\n"
	"  if sc <= now then\n"
	"    local open = redis.call('HGET', KEYS[3], m)\n"
	"    local busy = false\n"
	"    if open then busy = #redis.call('XRANGE', KEYS[2], open, open) > 0 end\n"
	"    if not busy then\n"
	"      local id = redis.call('XADD', KEYS[2], '*', 'source', m, 'url', '',\n"
	"        'due', string.format('%.0f', sc), 'attempt', '1')\n"
	"      redis.call('HSET', KEYS[3], m, id)\n"
	"      n = n + 1\n"
	"    end\n"
	"    sc = now + tonumber(ARGV[i + 1]) + tonumber(ARGV[i + 2])\n"
	"    redis.call('ZADD', KEYS[1], string.format('%.0f', sc), m)\n"
	"  end\n"
	"  if not nextdue or sc < nextdue then nextdue = sc end\n"
	"end\n"
	"if n > 0 then\n"
	"  redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%.0f', now - 86400000))\n"
	"end\n"
	"return {n, string.format('%.0f', nextdue or -1)}\n";

/* --once. KEYS: due, jobs, open. ARGV: now, then per source: name, next due. Returns the new ids. */
static const char enqueue_lua[] =
	"local ids = {}\n"
	"for i = 2, #ARGV, 2 do\n"
	"  local m = ARGV[i]\n"
	"  local id = redis.call('XADD', KEYS[2], '*', 'source', m, 'url', '', 'due', ARGV[1], 'attempt', '1')\n"
	"  redis.call('HSET', KEYS[3], m, id)\n"
	"  local sc = redis.call('ZSCORE', KEYS[1], m)\n"
	"  if not sc or tonumber(sc) < tonumber(ARGV[i + 1]) then\n"
	"    redis.call('ZADD', KEYS[1], ARGV[i + 1], m)\n"
	"  end\n"
	"  ids[#ids + 1] = id\n"
	"end\n"
	"return ids\n";

/* KEYS: jobs, open. ARGV: group, id, source. XDEL right after XACK keeps the stream to the jobs in flight. */
static const char ack_lua[] =
	"local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[3])\n"
	"end\n"
	"return n\n";

/* KEYS: jobs, open. ARGV: group, id, source, url, due, attempt. Re-adds then acks: never a moment without the job. */
static const char release_lua[] =
	"if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
	"local id = redis.call('XADD', KEYS[1], '*', 'source', ARGV[3], 'url', ARGV[4], 'due', ARGV[5], 'attempt', ARGV[6])\n"
	"redis.call('XDEL', KEYS[1], ARGV[2])\n"
	"if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then redis.call('HSET', KEYS[2], ARGV[3], id) end\n"
	"return 1\n";

/* KEYS: jobs. ARGV: group, consumer, id. Renews the lease only when consumer still holds the job. */
static const char extend_lua[] =
	"local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)\n"
	"if #p == 1 and p[1][2] == ARGV[2] then\n"
	"  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* KEYS: jobs. ARGV: group, consumer. */
static const char leave_lua[] =
	"local ok, cs = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])\n"
	"if not ok then return 0 end\n"
	"for _, c in ipairs(cs) do\n"
	"  local name, pending\n"
	"  for j = 1, #c, 2 do\n"
	"    if c[j] == 'name' then name = c[j + 1] elseif c[j] == 'pending' then pending = c[j + 1] end\n"
	"  end\n"
	"  if name == ARGV[2] and pending == 0 then\n"
	"    return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
	"  end\n"
	"end\n"
	"return 0\n";

/*
 * KEYS: source hash, due zset. ARGV: ok, now, error, interval, source name,
 * max shift, cap. Returns {streak, next_due}.
 */
static const char state_lua[] =
	"local h, now = KEYS[1], tonumber(ARGV[2])\n"
	"redis.call('HINCRBY', h, 'crawls', 1)\n"
	"if ARGV[1] == '1' then\n"
	"  redis.call('HSET', h, 'last_ok_ms', ARGV[2], 'error_streak', '0')\n"
	"  local sc = redis.call('ZSCORE', KEYS[2], ARGV[5])\n"
	"  if sc then redis.call('HSET', h, 'next_due_ms', sc) else sc = '0' end\n"
	"  return {0, sc}\n"
	"end\n"
	"local streak = redis.call('HINCRBY', h, 'error_streak', 1)\n"
	"local iv = tonumber(ARGV[4])\n"
	"local shift = streak\n"
	"if shift > tonumber(ARGV[6]) then shift = tonumber(ARGV[6]) end\n"
	"local wait = iv * (2 ^ shift)\n"
	"local cap = tonumber(ARGV[7])\n"
	"if cap < iv then cap = iv end\n"
	"if wait > cap then wait = cap end\n"
	"local nd = string.format('%.0f', now + wait)\n"
	"redis.call('HSET', h, 'last_error', ARGV[3], 'last_error_ms', ARGV[2], 'next_due_ms', nd)\n"
	"if redis.call('ZSCORE', KEYS[2], ARGV[5]) then\n"
	"  redis.call('ZADD', KEYS[2], nd, ARGV[5])\n"
	"else\n"
	"  nd = '0'\n"
	"end\n"
	"return {streak, nd}\n";

/* Key names are built per call: the prefix belongs to the store. Caller frees. */
static char *
key(struct store *st, const char *suffix)
{
	return xasprintf("%s%s", store_prefix(st), suffix);
}

static bool
parse_i64(const char *s, int64_t *out)
{
	return s != NULL && parse_int64(s, INT64_MIN, INT64_MAX, out);
}

/* The {integer, "time"} reply of the tick and source-state scripts. */
static bool
int_and_time_reply(const redisReply *r, int64_t *n, int64_t *t)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_STRING || !parse_i64(r->element[1]->str, t))
		return false;
	*n = r->element[0]->integer;
	return true;
}

static enum store_status
bad_reply(struct store *st, const redisReply *r, const char *what)
{
	store_set_error(st, "Redis: unexpected reply type %d to %s", r != NULL ? r->type : -1, what);
	return STORE_ERROR;
}

enum store_status
jobs_init(struct store *st)
{
	char *jk = key(st, "jobs");
	/*
	 * From id 0, not "$": when the group vanished (Redis restarted empty) a
	 * tick may already have added jobs to a fresh stream, and each is the only
	 * job of its source (pw:jobs:open) until someone runs it.
	 */
	const char *argv[] = { "XGROUP", "CREATE", jk, JOBS_GROUP, "0", "MKSTREAM" };
	redisReply *r;
	enum store_status s;

	s = store_command(st, 6, argv, &r);
	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
			s = store_reply_error(st, r, "creating the consumer group " JOBS_GROUP);
		freeReplyObject(r);
	}
	free(jk);
	return s;
}

enum store_status
jobs_schedule_tick(struct store *st, const struct jobs_source *srcs, size_t n, int64_t now_ms,
    size_t *enqueued, int64_t *next_due_ms)
{
	char *keys[3] = { key(st, "due"), key(st, "jobs"), key(st, "jobs:open") };
	const char **args;
	char (*nums)[24];
	size_t i, nargs;
	redisReply *r;
	enum store_status s;
	int64_t nd, count;

	if (enqueued != NULL)
		*enqueued = 0;
	if (next_due_ms != NULL)
		*next_due_ms = INT64_MAX;
	if (n > 100000) {
		store_set_error(st, "too many sources (%zu) for one scheduler tick", n);
		s = STORE_ERROR;
		goto out_keys;
	}
	if (n == 0) {
		s = STORE_OK;
		goto out_keys;
	}
	nargs = 3 + 1 + 4 * n;
	args = xcalloc(nargs, sizeof(*args));
	nums = xcalloc(1 + 3 * n, sizeof(*nums));
	args[0] = keys[0];
	args[1] = keys[1];
	args[2] = keys[2];
	(void)pw_snprintf(nums[0], sizeof(nums[0]), "%" PRId64, now_ms);
	args[3] = nums[0];
	for (i = 0; i < n; i++) {
		char *iv = nums[1 + 3 * i], *jit = nums[2 + 3 * i], *spr = nums[3 + 3 * i];

		(void)pw_snprintf(iv, sizeof(nums[0]), "%" PRId64, srcs[i].interval_ms > 0 ? srcs[i].interval_ms : 1);
		(void)pw_snprintf(jit, sizeof(nums[0]), "%" PRId64, srcs[i].jitter_ms);
		(void)pw_snprintf(spr, sizeof(nums[0]), "%" PRId64, srcs[i].spread_ms > 0 ? srcs[i].spread_ms : 0);
		args[4 + 4 * i] = srcs[i].name;
		args[5 + 4 * i] = iv;
		args[6 + 4 * i] = jit;
		args[7 + 4 * i] = spr;
	}
	s = store_script(st, tick_lua, 3, args, (int)nargs, "scheduling due crawls", &r);
	if (s == STORE_OK) {
		if (!int_and_time_reply(r, &count, &nd))
			s = bad_reply(st, r, "the scheduler tick");
		else {
			if (enqueued != NULL)
				*enqueued = (size_t)count;
			if (next_due_ms != NULL)
				*next_due_ms = nd;
		}
		freeReplyObject(r);
	}
	free(nums);
	free(args);
out_keys:
	for (i = 0; i < 3; i++)
		free(keys[i]);
	return s;
}

enum store_status
jobs_enqueue_now(struct store *st, const struct jobs_source *srcs, size_t n, int64_t now_ms,
    char (*ids)[JOBS_ID_MAX])
{
	char *keys[3] = { key(st, "due"), key(st, "jobs"), key(st, "jobs:open") };
	const char **args;
	char (*nums)[24];
	size_t i, nargs;
	redisReply *r;
	enum store_status s = STORE_OK;

	if (n == 0 || n > 100000) {
		if (n != 0) {
			store_set_error(st, "too many sources (%zu) to enqueue at once", n);
			s = STORE_ERROR;
		}
		goto out_keys;
	}
	nargs = 3 + 1 + 2 * n;
	args = xcalloc(nargs, sizeof(*args));
	nums = xcalloc(1 + n, sizeof(*nums));
	args[0] = keys[0];
	args[1] = keys[1];
	args[2] = keys[2];
	(void)pw_snprintf(nums[0], sizeof(nums[0]), "%" PRId64, now_ms);
	args[3] = nums[0];
	for (i = 0; i < n; i++) {
		int64_t iv = srcs[i].interval_ms > 0 ? srcs[i].interval_ms : 1;

		(void)pw_snprintf(nums[1 + i], sizeof(nums[0]), "%" PRId64, now_ms + iv + srcs[i].jitter_ms);
		args[4 + 2 * i] = srcs[i].name;
		args[5 + 2 * i] = nums[1 + i];
	}
	s = store_script(st, enqueue_lua, 3, args, (int)nargs, "enqueueing crawl jobs", &r);
	if (s == STORE_OK) {
		if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
			s = bad_reply(st, r, "enqueueing crawl jobs");
		else
			for (i = 0; i < n; i++) {
				if (r->element[i]->type != REDIS_REPLY_STRING ||
				    !pw_snprintf(ids[i], JOBS_ID_MAX, "%s", r->element[i]->str)) {
					s = bad_reply(st, r->element[i], "enqueueing crawl jobs");
					break;
				}
			}
		freeReplyObject(r);
	}
	free(nums);
	free(args);
out_keys:
	for (i = 0; i < 3; i++)
		free(keys[i]);
	return s;
}

/* Fills j from a stream entry [id, [field, value, ...]]; false for a deleted or malformed entry. */
static bool
job_from_entry(const redisReply *e, struct job *j)
{
	const redisReply *f;
	size_t k;

	memset(j, 0, sizeof(*j));
	if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
		return false;
	if (!pw_snprintf(j->id, sizeof(j->id), "%s", e->element[0]->str))
		return false;
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return false;
	for (k = 0; k + 1 < f->elements; k += 2) {
		const char *name = f->element[k]->str, *val = f->element[k + 1]->str;

		if (f->element[k]->type != REDIS_REPLY_STRING || f->element[k + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(name, "source") == 0 && j->source == NULL)
			j->source = xstrdup(val);
		else if (strcmp(name, "url") == 0 && j->url == NULL)
			j->url = xstrdup(val);
		else if (strcmp(name, "due") == 0)
			(void)parse_i64(val, &j->due_ms);
		else if (strcmp(name, "attempt") == 0)
			(void)parse_i64(val, &j->attempt);
	}
	if (j->source == NULL || j->source[0] == '\0') {
		free(j->source);
		free(j->url);
		memset(j, 0, sizeof(*j));
		(void)pw_snprintf(j->id, sizeof(j->id), "%s", e->element[0]->str);
		return false;
	}
	if (j->url == NULL)
		j->url = xstrdup("");
	return true;
}

void
jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(jobs[i].source);
		free(jobs[i].url);
	}
	free(jobs);
}

/* Acks and deletes an entry by id (a malformed or dropped job). */
static enum store_status
ack_id(struct store *st, const char *id, const char *source)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	(void)pw_snprintf(j.id, sizeof(j.id), "%s", id);
	j.source = (char *)(source != NULL ? source : "");
	return jobs_ack(st, &j);
}

enum store_status
jobs_claim(struct store *st, const char *consumer, size_t max, int64_t block_ms, struct job **out, size_t *n_out)
{
	char *jk = key(st, "jobs");
	char count[24], block[24];
	const char *argv[11];
	int argc = 0;
	redisReply *r = NULL;
	enum store_status s = STORE_OK;
	size_t i, n = 0;

	*out = NULL;
	*n_out = 0;
	(void)pw_snprintf(count, sizeof(count), "%zu", max > 0 ? max : 1);
	(void)pw_snprintf(block, sizeof(block), "%" PRId64, block_ms > 0 ? block_ms : 0);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = JOBS_GROUP;
	argv[argc++] = consumer;
	argv[argc++] = "COUNT";
	argv[argc++] = count;
	/* BLOCK 0 would wait for ever: without blocking, leave the option out. */
	if (block_ms > 0) {
		argv[argc++] = "BLOCK";
		argv[argc++] = block;
	}
	argv[argc++] = "STREAMS";
	argv[argc++] = jk;
	argv[argc++] = ">";
	for (int attempt = 0; attempt < 2; attempt++) {
		s = store_command(st, argc, argv, &r);
		if (s != STORE_OK)
			goto out;
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0 && attempt == 0) {
			/* The stream or group vanished (Redis restarted empty, FLUSHDB): recreate it. */
			freeReplyObject(r);
			r = NULL;
			s = jobs_init(st);
			if (s != STORE_OK)
				goto out;
			continue;
		}
		break;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		s = store_reply_error(st, r, "claiming crawl jobs");
		goto out;
	}
	if (r->type == REDIS_REPLY_NIL)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->elements != 2 || r->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		s = bad_reply(st, r, "XREADGROUP");
		goto out;
	}
	{
		const redisReply *entries = r->element[0]->element[1];

		*out = xcalloc(entries->elements > 0 ? entries->elements : 1, sizeof(**out));
		for (i = 0; i < entries->elements; i++) {
			if (job_from_entry(entries->element[i], &(*out)[n]))
				n++;
			else if ((*out)[n].id[0] != '\0')
				(void)ack_id(st, (*out)[n].id, NULL);   /* malformed: nobody can run it */
		}
	}
	*n_out = n;
out:
	if (r != NULL)
		freeReplyObject(r);
	free(jk);
	if (s != STORE_OK) {
		jobs_free(*out, n);
		*out = NULL;
		*n_out = 0;
	}
	return s;
}

/* Delivery counts of consumer's pending jobs between first and last (inclusive), matched into jobs[]. */
static enum store_status
fetch_deliveries(struct store *st, const char *consumer, struct job *jobs, size_t n)
{
	char *jk = key(st, "jobs");
	char count[24];
	const char *argv[] = { "XPENDING", jk, JOBS_GROUP, jobs[0].id, jobs[n - 1].id, count, consumer };
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(count, sizeof(count), "%zu", n + 64);
	s = store_command(st, 7, argv, &r);
	free(jk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *p = r->element[i];

			if (p->type != REDIS_REPLY_ARRAY || p->elements != 4 || p->element[0]->type != REDIS_REPLY_STRING ||
			    p->element[3]->type != REDIS_REPLY_INTEGER)
				continue;
			for (size_t k = 0; k < n; k++)
				if (strcmp(jobs[k].id, p->element[0]->str) == 0)
					jobs[k].attempt = p->element[3]->integer;
		}
	} else if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "reading job deliveries");
	freeReplyObject(r);
	return s;
}

/* Records a dropped job in the source's hash without moving its schedule (its interval is not known here). */
static enum store_status
note_dropped(struct store *st, const char *source, const char *msg)
{
	char *hk = xasprintf("%ssource:%s", store_prefix(st), source);
	char now[24];
	const char *argv[] = { "HSET", hk, "last_error", msg, "last_error_ms", now };
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(now, sizeof(now), "%" PRId64, time_now_ms());
	s = store_command(st, 6, argv, &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(hk);
	return s;
}

enum store_status
jobs_reclaim(struct store *st, const char *consumer, int64_t min_idle_ms, size_t max, struct job **out,
    size_t *n_out)
{
	char *jk = key(st, "jobs");
	char idle[24], count[24];
	redisReply *r = NULL;
	enum store_status s;
	size_t i, n = 0, keep = 0;
	const redisReply *entries;

	*out = NULL;
	*n_out = 0;
	(void)pw_snprintf(idle, sizeof(idle), "%" PRId64, min_idle_ms > 0 ? min_idle_ms : 0);
	(void)pw_snprintf(count, sizeof(count), "%zu", max > 0 ? max : 1);
	{
		const char *argv[] = { "XAUTOCLAIM", jk, JOBS_GROUP, consumer, idle, "0-0", "COUNT", count };

		s = store_command(st, 8, argv, &r);
	}
	free(jk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR) {
		if (strncmp(r->str, "NOGROUP", 7) == 0)
			s = jobs_init(st);  /* nothing to reclaim in a group that did not exist */
		else
			s = store_reply_error(st, r, "reclaiming crawl jobs");
		goto out;
	}
	/* Redis 7: [next-id, entries, deleted-ids]; 6.2 had no third element and nil entries for deleted ones. */
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
		s = bad_reply(st, r, "XAUTOCLAIM");
		goto out;
	}
	entries = r->element[1];
	*out = xcalloc(entries->elements > 0 ? entries->elements : 1, sizeof(**out));
	for (i = 0; i < entries->elements; i++) {
		if (job_from_entry(entries->element[i], &(*out)[n]))
			n++;
		else if ((*out)[n].id[0] != '\0')
			(void)ack_id(st, (*out)[n].id, NULL);
	}
	/* Delivery counts are advisory: without them the jobs still run. */
	if (n > 0)
		(void)fetch_deliveries(st, consumer, *out, n);
	/* Poison jobs: every daemon that took one died or hung. Drop them instead of dying again. */
	for (i = 0; i < n; i++) {
		struct job *j = &(*out)[i];

		if (j->attempt > JOBS_MAX_DELIVERIES) {
			char msg[160];

			(void)pw_snprintf(msg, sizeof(msg), "job %s dropped after %" PRId64 " deliveries: every daemon "
			    "that took it died or timed out", j->id, j->attempt);
			(void)note_dropped(st, j->source, msg);
			(void)ack_id(st, j->id, j->source);
			free(j->source);
			free(j->url);
			continue;
		}
		if (keep != i)
			(*out)[keep] = *j;
		keep++;
	}
	n = keep;
	*n_out = n;
out:
	freeReplyObject(r);
	if (s != STORE_OK) {
		jobs_free(*out, n);
		*out = NULL;
		*n_out = 0;
	}
	return s;
}

enum store_status
jobs_extend(struct store *st, const char *consumer, const char *id, bool *held)
{
	char *jk = key(st, "jobs");
	const char *args[] = { jk, JOBS_GROUP, consumer, id };
	redisReply *r;
	enum store_status s;

	*held = false;
	s = store_script(st, extend_lua, 1, args, 4, "renewing a job lease", &r);
	if (s == STORE_OK) {
		*held = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
		freeReplyObject(r);
	}
	free(jk);
	return s;
}

enum store_status
jobs_ack(struct store *st, const struct job *j)
{
	char *jk = key(st, "jobs"), *ok = key(st, "jobs:open");
	const char *args[] = { jk, ok, JOBS_GROUP, j->id, j->source != NULL ? j->source : "" };
	redisReply *r;
	enum store_status s;

	s = store_script(st, ack_lua, 2, args, 5, "acknowledging a crawl job", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(jk);
	free(ok);
	return s;
}

enum store_status
jobs_release(struct store *st, const struct job *j)
{
	char *jk = key(st, "jobs"), *ok = key(st, "jobs:open");
	char due[24], attempt[24];
	const char *args[] = { jk, ok, JOBS_GROUP, j->id, j->source, j->url != NULL ? j->url : "", due, attempt };
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(due, sizeof(due), "%" PRId64, j->due_ms);
	(void)pw_snprintf(attempt, sizeof(attempt), "%" PRId64, j->attempt > 0 ? j->attempt : 1);
	s = store_script(st, release_lua, 2, args, 8, "handing a crawl job back", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(jk);
	free(ok);
	return s;
}

enum store_status
jobs_exists(struct store *st, const char *id, bool *exists)
{
	char *jk = key(st, "jobs");
	const char *argv[] = { "XRANGE", jk, id, id };
	redisReply *r;
	enum store_status s;

	*exists = false;
	s = store_command(st, 4, argv, &r);
	free(jk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ARRAY)
		*exists = r->elements > 0;
	else if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "looking up a crawl job");
	freeReplyObject(r);
	return s;
}

enum store_status
jobs_forget_sources(struct store *st, const char *const *names, size_t n)
{
	char *dk = key(st, "due"), *ok = key(st, "jobs:open");
	enum store_status s = STORE_OK;

	for (size_t i = 0; i < n && s == STORE_OK; i++) {
		const char *zrem[] = { "ZREM", dk, names[i] };
		const char *hdel[] = { "HDEL", ok, names[i] };
		redisReply *r;

		s = store_command(st, 3, zrem, &r);
		if (s == STORE_OK) {
			if (r->type == REDIS_REPLY_ERROR)
				s = store_reply_error(st, r, "removing a source from the schedule");
			freeReplyObject(r);
		}
		if (s == STORE_OK)
			s = store_command(st, 3, hdel, &r);
		if (s == STORE_OK) {
			if (r->type == REDIS_REPLY_ERROR)
				s = store_reply_error(st, r, "removing a source from the schedule");
			freeReplyObject(r);
		}
	}
	free(dk);
	free(ok);
	return s;
}

enum store_status
jobs_leave(struct store *st, const char *consumer)
{
	char *jk = key(st, "jobs");
	const char *args[] = { jk, JOBS_GROUP, consumer };
	redisReply *r;
	enum store_status s;

	s = store_script(st, leave_lua, 1, args, 3, "leaving the consumer group", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	free(jk);
	return s;
}

int64_t
jobs_backoff_ms(int64_t interval_ms, int64_t streak)
{
	int64_t shift = streak < BACKOFF_MAX_SHIFT ? streak : BACKOFF_MAX_SHIFT;
	int64_t cap = interval_ms > BACKOFF_CAP_MS ? interval_ms : BACKOFF_CAP_MS;
	int64_t wait;

	if (interval_ms <= 0)
		interval_ms = 1;
	if (shift < 0)
		shift = 0;
	if (interval_ms > (INT64_MAX >> BACKOFF_MAX_SHIFT))
		return interval_ms;
	wait = interval_ms << shift;
	return wait < cap ? wait : cap;
}

enum store_status
source_state_update(struct store *st, const char *name, bool ok, const char *error, int64_t now_ms,
    int64_t interval_ms, int64_t *streak, int64_t *next_due_ms)
{
	char *hk = xasprintf("%ssource:%s", store_prefix(st), name), *dk = key(st, "due");
	char now[24], iv[24], shift[8], cap[24];
	const char *args[] = { hk, dk, ok ? "1" : "0", now, error != NULL ? error : "", iv, name, shift, cap };
	redisReply *r;
	enum store_status s;
	int64_t nd, n;

	if (streak != NULL)
		*streak = 0;
	if (next_due_ms != NULL)
		*next_due_ms = 0;
	(void)pw_snprintf(now, sizeof(now), "%" PRId64, now_ms);
	(void)pw_snprintf(iv, sizeof(iv), "%" PRId64, interval_ms > 0 ? interval_ms : 1);
	(void)pw_snprintf(shift, sizeof(shift), "%d", BACKOFF_MAX_SHIFT);
	(void)pw_snprintf(cap, sizeof(cap), "%lld", (long long)BACKOFF_CAP_MS);
	s = store_script(st, state_lua, 2, args, 9, "recording the state of a source", &r);
	if (s == STORE_OK) {
		if (!int_and_time_reply(r, &n, &nd))
			s = bad_reply(st, r, "the source state script");
		else {
			if (streak != NULL)
				*streak = n;
			if (next_due_ms != NULL)
				*next_due_ms = nd;
		}
		freeReplyObject(r);
	}
	free(hk);
	free(dk);
	return s;
}

enum store_status
source_state_get(struct store *st, const char *name, struct source_state *out)
{
	char *hk = xasprintf("%ssource:%s", store_prefix(st), name);
	const char *argv[] = { "HGETALL", hk };
	redisReply *r;
	enum store_status s;

	memset(out, 0, sizeof(*out));
	s = store_command(st, 2, argv, &r);
	free(hk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "reading the state of a source");
	else if (r->type != REDIS_REPLY_ARRAY)
		s = bad_reply(st, r, "HGETALL");
	else if (r->elements == 0) {
		store_set_error(st, "source %s has not been crawled yet", name);
		s = STORE_NOT_FOUND;
	} else
		for (size_t k = 0; k + 1 < r->elements; k += 2) {
			const char *f = r->element[k]->str, *v = r->element[k + 1]->str;

			if (r->element[k]->type != REDIS_REPLY_STRING || r->element[k + 1]->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(f, "last_ok_ms") == 0)
				(void)parse_i64(v, &out->last_ok_ms);
			else if (strcmp(f, "last_error_ms") == 0)
				(void)parse_i64(v, &out->last_error_ms);
			else if (strcmp(f, "error_streak") == 0)
				(void)parse_i64(v, &out->error_streak);
			else if (strcmp(f, "next_due_ms") == 0)
				(void)parse_i64(v, &out->next_due_ms);
			else if (strcmp(f, "crawls") == 0)
				(void)parse_i64(v, &out->crawls);
			else if (strcmp(f, "last_error") == 0 && out->last_error == NULL)
				out->last_error = xstrdup(v);
		}
	freeReplyObject(r);
	return s;
}

void
source_state_free(struct source_state *s)
{
	if (s == NULL)
		return;
	free(s->last_error);
	s->last_error = NULL;
}
