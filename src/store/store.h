/* store.h: listings and their price history in Redis (hash per listing, stream of change points). */
#ifndef PW_STORE_STORE_H
#define PW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/money.h"

#define STORE_SCHEMA_VERSION 1

enum availability {
	AVAIL_UNKNOWN = 0,
	AVAIL_IN_STOCK,
	AVAIL_OUT_OF_STOCK,
	AVAIL_PREORDER,
	AVAIL_BACKORDER,
	AVAIL_LIMITED,
	AVAIL_DISCONTINUED,
};
/* "in_stock", "out_of_stock", ...; availability_parse also takes schema.org URLs and short names. */
const char *availability_name(enum availability a);
enum availability availability_parse(const char *text);

/* Result codes shared by every store call. */
enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_UNREACHABLE = 3,     /* connection refused, timed out, lost */
	STORE_ERROR = 4,           /* Redis replied with an error, or data was malformed */
	STORE_SCHEMA_MISMATCH = 5,
};

struct store_opts {
	const char *url;           /* redis://[user:pass@]host:port/db or unix:///path.sock?db=N */
	const char *prefix;        /* default "pw:" */
	const char *user;          /* ACL user (overrides the URL's) */
	const char *password;      /* overrides the URL's; never logged */
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
};

struct store;                  /* opaque; owns one hiredis context and reconnects with backoff */

/* Connects, authenticates, selects the db and checks/sets pw:schema. err gets a sentence naming the URL. */
enum store_status store_open(struct store **out, const struct store_opts *opts, char *err, size_t errlen);
void store_close(struct store *st);
/* Last error text (names the URL and the fix where it can). Owned by the store. */
const char *store_error(const struct store *st);
/* PING; reconnects first (with backoff) if the connection was lost. */
enum store_status store_ping(struct store *st);

/* One observation of a listing, as extracted from a page. Strings are borrowed. */
struct observation {
	const char *source;        /* config source name */
	const char *listing_id;    /* stable id, see store_listing_id() */
	const char *url;
	const char *title;
	const char *brand;
	const char *sku;
	const char *gtin;
	const char *mpn;
	const char *image_url;
	const char *extractor;     /* "jsonld", "microdata", ... */
	struct money price;        /* price.currency[0] == 0: no price seen */
	enum availability availability;
	int64_t observed_ms;       /* wall clock of the fetch */
};

/*
 * Records an observation atomically (one Lua script on the server): always
 * updates the listing hash and last-seen; appends to the history stream only
 * when price, currency or availability changed. *changed (may be NULL) says
 * whether a history entry was written. Safe with many daemons at once.
 */
enum store_status store_record(struct store *st, const struct observation *obs, bool *changed);

/* Marks a listing seen without a new observation (HTTP 304). */
enum store_status store_touch(struct store *st, const char *listing_id, int64_t seen_ms);

/* A listing as read back; strings are owned by the struct, freed by store_listing_free. */
struct listing {
	char *id, *source, *url, *title, *brand, *sku, *gtin, *mpn, *image_url, *extractor;
	struct money price;
	enum availability availability;
	int64_t first_seen_ms, last_seen_ms, last_change_ms;
};
void store_listing_free(struct listing *l);

enum store_status store_get_listing(struct store *st, const char *listing_id, struct listing *out);
/* All listings, or those of one source (source NULL: all), sorted by id. */
enum store_status store_list_listings(struct store *st, const char *source,
    struct listing **out, size_t *n_out);
void store_listings_free(struct listing *ls, size_t n);

/* One change point of the history stream. */
struct history_point {
	int64_t time_ms;           /* entry id's millisecond part */
	struct money price;
	enum availability availability;
};
/* Change points with since_ms <= time <= until_ms (use 0 / INT64_MAX for open ends), oldest first. Caller frees *out. */
enum store_status store_history(struct store *st, const char *listing_id, int64_t since_ms,
    int64_t until_ms, struct history_point **out, size_t *n_out);

/*
 * Builds the stable listing id: "SOURCE:sku:SKU", else "SOURCE:gtin:GTIN",
 * else "SOURCE:url:<first 16 hex of SHA-256 of the normalised URL>". Writes into buf.
 */
bool store_listing_id(const char *source, const char *sku, const char *gtin, const char *url,
    char *buf, size_t buflen);

/*
 * The store's connection, shared with other store-level modules (jobs.c) so
 * they keep its reconnect/backoff behaviour. Replies are hiredis objects owned
 * by the caller (freeReplyObject).
 */
struct redisReply;
/* The key prefix, such as "pw:". Owned by the store. */
const char *store_prefix(const struct store *st);
/* Sets the text store_error() returns. */
void store_set_error(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Turns an error reply into STORE_ERROR with a message naming the URL and what was being done. */
enum store_status store_reply_error(struct store *st, const struct redisReply *r, const char *what);
/* Runs one command (argv borrowed); *reply may be an error reply, which the caller inspects and frees. */
enum store_status store_command(struct store *st, int argc, const char **argv, struct redisReply **reply);
/* The same with argument lengths (lens NULL: strlen), for binary values such as cached bodies. */
enum store_status store_command_len(struct store *st, int argc, const char **argv, const size_t *lens,
    struct redisReply **reply);
/* EVALSHA (EVAL on NOSCRIPT) of a Lua script; an error reply becomes STORE_ERROR and *reply is NULL. */
enum store_status store_script(struct store *st, const char *body, int nkeys, const char **args, int nargs,
    const char *what, struct redisReply **reply);

#endif
