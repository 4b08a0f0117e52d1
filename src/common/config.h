/* config.h: the parsed pricewatch.conf (INI via inih), with defaults, validation and file:line errors. */
#ifndef PW_COMMON_CONFIG_H
#define PW_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/pricewatch/pricewatch.conf"

struct config_redis {
	char *url;                 /* NULL or "": the daemon's private redis-server in state-dir */
	char *prefix;              /* key prefix, default "pw:" */
	char *password;            /* read from password-file; never logged */
	char *password_file;
	char *user;                /* ACL user, optional */
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
};

struct config_daemon {
	char *state_dir;           /* default LOCALSTATEDIR/lib/pricewatch */
	char *pid_file;            /* default state-dir/pricewatchd.pid */
	char *log_level;           /* error|warn|info|debug */
	bool syslog;
	char *admin_listen;        /* "127.0.0.1:9466" or "[::1]:9466"; NULL: no admin endpoint ("off" or empty) */
	char *admin_token;         /* bearer token for the admin endpoint, from admin-token-file; never logged */
	char *admin_token_file;
	char *log_file;            /* log-file: append log lines here (reopened on SIGUSR1); NULL: stderr/syslog */
};

struct config_crawl {
	char *user_agent;
	int64_t default_interval_ms;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	uint64_t max_body;
	int64_t max_redirects;
	int64_t concurrency;
	int64_t per_host_delay_ms;
	bool respect_robots;
	int64_t job_timeout_ms;    /* crawl job lease; 0: max(2 x timeout, 60 s), see docs/crawl-jobs.md */
	int64_t max_per_host;      /* max-connections-per-host, default 2 */
	int64_t robots_ttl_ms;     /* robots-ttl: how long a robots.txt stays cached in Redis, default 24 h */
	int64_t retries;           /* retries: extra attempts after a retryable failure, default 3 */
	int64_t retry_delay_ms;    /* retry-delay: first backoff step, default 1 s (doubles, with jitter) */
	int64_t retry_max_delay_ms;/* retry-max-delay: backoff cap (Retry-After above it gives up), default 5 min */
	uint64_t low_speed_limit;  /* low-speed-limit: bytes/s below which a transfer is too slow, default 100 */
	int64_t low_speed_time_ms; /* low-speed-time: for how long, default 30 s (slowloris guard) */
	uint64_t max_image_body;   /* max-image-size: image download limit, default 10 MiB */
};

struct config_inference {
	char *model;               /* ONNX file; NULL: the bundled default */
	char *backend;             /* "auto", "cpu", "reference", ... */
	int64_t threads;           /* 0: one per core */
	char *plugin_dir;          /* plugin-dir: backend plugins (*.so); NULL: PKGLIBDIR/backends */
};

/* [match]: product recognition (docs/matching.md). */
struct config_match {
	bool enabled;              /* enabled: match listings to the catalogue in the daemon, default yes */
	char *threshold;           /* threshold: fused score for a match, decimal text in [0,1], default "0.76" */
	int64_t top_k;             /* top-k: candidates kept per listing, default 5 */
	int64_t min_image_px;      /* min-image-size: shorter side below which the CNN signal is not trusted, default 0: none */
	int64_t max_image_pixels;  /* max-image-pixels: decoded-size limit (decompression bombs), default 40 M */
	char *embedding_output;    /* embedding-output: model output used as the learned signal; NULL: model default */
};

/* Per-source extraction rules: XPath 1.0 expressions; fields are relative to each item. NULL: not set. */
struct config_xpath {
	char *item;                /* item-xpath: one node per listing on the page */
	char *title, *price, *list_price, *currency, *availability;
	char *sku, *gtin, *mpn, *brand, *image, *url, *seller;
	int line;                  /* line of the first *-xpath key, for messages; 0: no rules */
};

struct config_source {
	char *name;                /* from [source "NAME"] */
	char **urls;               /* start URLs (list) */
	size_t n_urls;
	int64_t interval_ms;
	char *currency;            /* default currency when a page omits it, may be NULL */
	bool enabled;
	char **sitemaps;           /* sitemap: sitemap or sitemap-index URLs (list; .gz allowed) */
	size_t n_sitemaps;
	char *sitemap_filter;      /* sitemap-filter: POSIX extended regex a sitemap URL must match; NULL: all */
	char *next_page;           /* next-page: XPath of the "next page" link on a listing page */
	int64_t max_pages;         /* max-pages: cap on pages per crawl (templates, sitemaps, next links), default 1000 */
	bool allow_private;        /* allow-private: page-supplied URLs may resolve to private/loopback addresses */
	char *proxy;               /* proxy: http://, https://, socks5:// or socks5h:// URL */
	char *user_agent;          /* user-agent: overrides [crawl] user-agent */
	char **headers;            /* header: extra request headers "Name: value" (one per header key) */
	size_t n_headers;
	char *cookie_file;         /* cookie-file: Netscape cookie file loaded for this source */
	char decimal_separator;    /* decimal-separator: ',' or '.', 0: decide per price */
	char **tags;               /* tags: labels for rule scopes tag:NAME */
	size_t n_tags;
	int64_t per_host_delay_ms; /* per-host-delay: overrides [crawl]; -1: not set */
	struct config_xpath xpath;
	int line;                  /* line of the section header, for messages */
};

struct config_notifier {
	char *name;
	char *type;                /* "webhook" | "email" | "log" */
	char *url;
	char *secret;              /* from secret-file; never logged */
	char *secret_file;
	char **to;                 /* email recipients */
	size_t n_to;
	char *format;              /* format: webhook payload shape generic|slack|discord|teams, default generic */
	char *from;                /* from: email sender address; NULL: pricewatch@<hostname> */
	char *user;                /* user: SMTP AUTH user */
	char *password;            /* from password-file; never logged */
	char *password_file;
	int64_t digest_ms;         /* digest: batch alerts into one message every this long; 0: send each */
	int64_t timeout_ms;        /* timeout: per delivery, default 10 s */
	int line;
	char *ca_file;             /* ca-file: email: PEM CA certificates to verify the server with; NULL: the system's */
};

struct config_rule {
	char *name;
	char *kind;                /* drop|rise|below|above|lowest|back-in-stock|out-of-stock|any-change|undercut|new-match */
	char *scope;               /* "all", "source:NAME", "listing:ID", "product:SKU" */
	char *percent;             /* kept as text: exact decimal, parsed by the alert module */
	char *amount;
	char *target;
	int64_t days;
	int64_t cooldown_ms;
	char **notify;             /* notifier names */
	size_t n_notify;
	int line;
};

struct config {
	char *path;                /* file it came from, NULL for built-in defaults */
	struct config_redis redis;
	struct config_daemon daemon;
	struct config_crawl crawl;
	struct config_inference inference;
	struct config_match match;
	struct config_source *sources;
	size_t n_sources;
	struct config_notifier *notifiers;
	size_t n_notifiers;
	struct config_rule *rules;
	size_t n_rules;
};

/* Fills *cfg with built-in defaults (no sources). The caller frees with config_free. */
void config_defaults(struct config *cfg);

/*
 * Loads and validates a file on top of the defaults. On failure returns false and
 * writes "FILE:LINE: message" into err; *cfg is then freed and zeroed. An unknown
 * section or key, a bad value, a duplicate name, an unreadable *-file and a rule
 * naming an unknown notifier are all errors; nothing is silently ignored.
 */
bool config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Releases everything config_load/config_defaults allocated; secrets are wiped first. */
void config_free(struct config *cfg);

/* Finds a source by name, or NULL. */
const struct config_source *config_find_source(const struct config *cfg, const char *name);

#endif
