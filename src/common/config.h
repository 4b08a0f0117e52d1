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
};

struct config_inference {
	char *model;               /* ONNX file; NULL: the bundled default */
	char *backend;             /* "auto", "cpu", "reference", ... */
	int64_t threads;           /* 0: one per core */
};

struct config_source {
	char *name;                /* from [source "NAME"] */
	char **urls;               /* start URLs (list) */
	size_t n_urls;
	int64_t interval_ms;
	char *currency;            /* default currency when a page omits it, may be NULL */
	bool enabled;
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
	int line;
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
