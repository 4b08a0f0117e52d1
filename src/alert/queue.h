/* queue.h: the durable alerts queue: pw:alerts stream, consumer group "notifiers", per-channel retries and pw:alerts:dead. */
#ifndef PW_ALERT_QUEUE_H
#define PW_ALERT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/rules.h"
#include "store/store.h"

#define ALERT_GROUP "notifiers"
#define ALERT_KEY_HEX 64           /* idempotency key: hex SHA-256 */
#define ALERT_STREAM_MAXLEN "100000"   /* approximate trim of pw:alerts (acked history for the CLI) */

/*
 * One alert as stream fields (names and values owned by the struct). The
 * fields are: id (idempotency key), rule, kind, listing, source, url, title,
 * old_price / new_price (exact decimal text, empty without a price),
 * old_minor / new_minor, old_currency / new_currency, old_availability /
 * new_availability, percent (signed, two decimals, may be empty), time (ISO
 * 8601 UTC), time_ms, channels (comma-separated notifier names), and for
 * listings matched to a catalogue product: product (SKU), product_title,
 * product_price / product_minor / product_currency (its own price), score
 * (similarity, decimal text); these are empty without a match.
 */
struct alert_msg {
	char *entry_id;            /* stream entry id once read back ("1790000000000-0"), else NULL */
	size_t n;
	char **names;
	char **values;
};
/* Value of a field, or "" when absent. Owned by msg. */
const char *alert_msg_get(const struct alert_msg *msg, const char *name);
void alert_msg_free(struct alert_msg *msg);
/* Sets a field (appends it when absent); value is copied, NULL becomes "". */
void alert_msg_set(struct alert_msg *msg, const char *name, const char *value);

/* Idempotency key: hex SHA-256 of "rule|listing|time_ms" (ALERT_KEY_HEX chars + NUL into out). */
void alert_key(const char *rule, const char *listing_id, int64_t time_ms, char out[ALERT_KEY_HEX + 1]);

/* Fills msg with the fields of the alert rule r raised for change c. */
void alert_msg_build(struct alert_msg *msg, const struct alert_rule *r, const struct change *c);

/* Creates the consumer group (from id 0, MKSTREAM); an existing group is fine. */
enum store_status alert_queue_init(struct store *st);

/*
 * Loads pw:alert:state:<rule>:<listing> (absent: state->present false).
 */
enum store_status alert_state_load(struct store *st, const char *rule, const char *listing_id,
    struct alert_state *state);

/*
 * Atomically (one Lua script): checks the state hash still has the
 * last_change_ms the decision was made on (expected, NULL: absent), writes
 * *next, and when msg is not NULL appends it to pw:alerts. *committed is false
 * when another process changed the state first (decide again). The entry id
 * (when added) is copied into entry_id (at least 32 bytes, may be NULL).
 */
enum store_status alert_commit(struct store *st, const char *rule, const char *listing_id,
    const struct alert_state *expected, const struct alert_state *next, const struct alert_msg *msg,
    bool *committed, char *entry_id, size_t entry_id_len);

/* Result of one delivery attempt on one channel. */
enum alert_delivery {
	DELIVERY_OK = 0,
	DELIVERY_RETRY,            /* transient: try again after a backoff */
	DELIVERY_PERMANENT,        /* will never work as is: straight to pw:alerts:dead */
};

/* A delivery channel (a configured notifier). deliver writes a sentence into err on failure. */
struct alert_channel {
	const char *name;          /* borrowed from the config */
	enum alert_delivery (*deliver)(const struct alert_channel *ch, const struct alert_msg *msg,
	    int64_t now_ms, char *err, size_t errlen);
	void *arg;                 /* the channel's own settings */
	/*
	 * Digest channels (digest_ms > 0 and deliver_batch set): alerts wait,
	 * pending in the stream, and go out together as one message once the
	 * oldest has waited digest_ms. key is the batch's idempotency key
	 * (stable across redeliveries of the same batch).
	 */
	int64_t digest_ms;
	enum alert_delivery (*deliver_batch)(const struct alert_channel *ch, const struct alert_msg *msgs,
	    size_t n, const char *key, int64_t now_ms, char *err, size_t errlen);
};

/* Most alerts in one digest message; the rest go in the next one. */
#define ALERT_DIGEST_MAX 200

/* Idempotency key of a digest: hex SHA-256 of "digest|channel|entry ids" (out: ALERT_KEY_HEX + 1 bytes). */
void alert_digest_key(const char *channel, const char *ids, char out[ALERT_KEY_HEX + 1]);

struct alert_worker_opts {
	const char *consumer;      /* consumer name in the group, unique per worker (e.g. host:pid) */
	int max_attempts;          /* per channel, the first included; 0: 5 */
	int64_t base_delay_ms;     /* backoff ceiling after the first failure, doubles; < 0: 0; 0: 1000 */
	int64_t max_delay_ms;      /* 0: 300000 */
	int64_t claim_idle_ms;     /* entries idle this long in another consumer are taken over; 0: 60000 */
	int64_t block_ms;          /* wait for new alerts; 0: do not block */
	int64_t now_ms;            /* 0: the wall clock (tests pass a fixed time) */
	size_t batch;              /* entries per read; 0: 16 */
	uint64_t seed;             /* jitter generator seed; 0: from the clock */
};

struct alert_worker_stats {
	size_t delivered;          /* channel deliveries that succeeded (each alert of a digest counts) */
	size_t digests;            /* digest messages delivered */
	size_t retried;            /* failed attempts scheduled for another try */
	size_t dead;               /* channel deliveries moved to pw:alerts:dead */
	size_t acked;              /* entries finished on every channel and acknowledged */
};

/*
 * One round of a notifier worker: a batch of its own pending entries
 * (retries that are due; pw:alert:cursor:<consumer> walks through them over
 * the rounds), entries of dead workers (XAUTOCLAIM), then new ones, then the
 * digests that are due. For each entry
 * and each of its channels still open, one attempt; a failure waits with
 * exponential backoff and full jitter, one channel's wait never holds back
 * the others. An entry is XACKed only once every channel delivered or went
 * to pw:alerts:dead. Per-channel state lives in pw:alert:delivery:<key>.
 */
enum store_status alert_worker_run_once(struct store *st, const struct alert_channel *channels,
    size_t n_channels, const struct alert_worker_opts *opts, struct alert_worker_stats *stats);

/*
 * A stream entry reply ([id, [field, value, ...]]) as an alert_msg; false
 * when malformed. For readers of pw:alerts (the CLI). msg is freed with
 * alert_msg_free either way.
 */
struct redisReply;
bool alert_msg_from_entry(const struct redisReply *entry, struct alert_msg *msg);

/*
 * Re-queues one pw:alerts:dead entry (as "pricewatch alerts retry ID" does):
 * a new pw:alerts entry for that channel only, same idempotency key, the
 * channel's delivery state reset, the dead entry removed, in one step.
 * new_id (may be NULL) gets the new entry id. STORE_NOT_FOUND: no such entry.
 */
enum store_status alert_dead_retry(struct store *st, const char *dead_id, char *new_id, size_t new_id_len);

/*
 * The change an observation just recorded (store_record said changed): the
 * two newest points of pw:hist:<id> up to obs->observed_ms give old and new.
 * A first sighting has no old price and AVAIL_UNKNOWN. Strings in *out are
 * borrowed from obs. STORE_NOT_FOUND: no history point at observed_ms.
 */
enum store_status alert_change_from_store(struct store *st, const struct observation *obs, struct change *out);

#endif
