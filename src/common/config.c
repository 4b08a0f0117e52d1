/* config.c: loads pricewatch.conf (INI via libinih) on top of the defaults, validating every key with "FILE:LINE: message" errors. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <regex.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/log.h"
#include "common/money.h"
#include "common/util.h"

#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/pricewatch"
#define DEFAULT_USER_AGENT "pricewatch/" PACKAGE_VERSION " (+https://example.invalid/pricewatch)"
#define PID_FILE_NAME "pricewatchd.pid"
/* Longest accepted line; inih puts its line buffer of this size on the stack. */
#define CONFIG_MAX_LINE 8192
/* Secrets are small; anything bigger is a wrong path, not a password. */
#define SECRET_MAX 4096
#define NAME_MAX_LEN 64

enum section {
	SEC_NONE,
	SEC_REDIS,
	SEC_DAEMON,
	SEC_CRAWL,
	SEC_INFERENCE,
	SEC_MATCH,
	SEC_SOURCE,
	SEC_NOTIFIER,
	SEC_RULE,
};

/* Parser state shared by the line reader and the key handler. */
struct loader {
	struct config *cfg;
	const char *path;
	char *dir;             /* directory of the config file, for relative *-file paths */
	FILE *fp;
	char *line;            /* the line inih is working on (getline buffer) */
	size_t line_cap;
	int lineno;            /* number of the line last handed to inih */
	enum section sec;
	bool pid_file_set;
	bool failed;
	char *err;
	size_t errlen;
};

static const char *const rule_kinds[] = {
	"drop", "rise", "below", "above", "lowest", "back-in-stock", "out-of-stock",
	"any-change", "undercut", "new-match",
};

/* Records the first error only, as "FILE:LINE: message"; always returns false. */
__attribute__((format(printf, 3, 4)))
static bool
fail(struct loader *ld, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (ld->failed)
		return false;
	ld->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		pw_snprintf(ld->err, ld->errlen, "%s:%d: %s", ld->path, line, msg);
	else
		pw_snprintf(ld->err, ld->errlen, "%s: %s", ld->path, msg);
	return false;
}

/* Replaces *slot with a copy of value (NULL for an empty value when empty_is_null). */
static void
set_string(char **slot, const char *value, bool empty_is_null)
{
	free(*slot);
	*slot = (empty_is_null && *value == '\0') ? NULL : xstrdup(value);
}

static void
list_append(char ***list, size_t *n, const char *item)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(item);
}

static void
list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Overwrites and frees a secret so it does not linger in freed heap memory. */
static void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static bool
set_duration(struct loader *ld, const char *sec, const char *key, const char *value,
    bool allow_zero, int64_t *out)
{
	int64_t ms;

	if (!parse_duration_ms(value, &ms))
		return fail(ld, ld->lineno, "[%s] %s: bad duration '%s': expected a number with a "
		    "unit ms, s, m, h, d or w, such as 30s or 1h30m", sec, key, value);
	if (ms == 0 && !allow_zero)
		return fail(ld, ld->lineno, "[%s] %s: duration '%s' must be greater than zero",
		    sec, key, value);
	*out = ms;
	return true;
}

static bool
set_bool(struct loader *ld, const char *sec, const char *key, const char *value, bool *out)
{
	if (!parse_bool(value, out))
		return fail(ld, ld->lineno, "[%s] %s: bad boolean '%s': expected yes or no "
		    "(also true/false, on/off, 1/0)", sec, key, value);
	return true;
}

static bool
set_int(struct loader *ld, const char *sec, const char *key, const char *value,
    int64_t min, int64_t max, int64_t *out)
{
	if (!parse_int64(value, min, max, out))
		return fail(ld, ld->lineno, "[%s] %s: bad integer '%s': expected a whole number "
		    "from %lld to %lld", sec, key, value, (long long)min, (long long)max);
	return true;
}

/* Resolves a relative *-file path against the config file's directory; the caller frees. */
static char *
resolve_path(const struct loader *ld, const char *file)
{
	if (file[0] == '/' || ld->dir == NULL)
		return xstrdup(file);
	return xasprintf("%s/%s", ld->dir, file);
}

/*
 * Reads a secret from a *-file key into *secret and records the resolved path.
 * The error names the file, never its content.
 */
static bool
set_secret_file(struct loader *ld, const char *sec, const char *key, const char *value,
    char **path_slot, char **secret)
{
	char *path, *data;
	size_t len;

	if (*value == '\0')
		return fail(ld, ld->lineno, "[%s] %s: empty file name: expected the path of a file "
		    "holding the secret", sec, key);
	path = resolve_path(ld, value);
	data = read_file(path, SECRET_MAX, &len);
	if (data == NULL) {
		int e = errno;
		fail(ld, ld->lineno, "[%s] %s: cannot read '%s': %s", sec, key, path,
		    e == EFBIG ? "file too large for a secret (over 4096 bytes)" : strerror(e));
		free(path);
		return false;
	}
	/* A trailing newline (or CRLF) is how editors end files, not part of the secret. */
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (len == 0 || strlen(data) != len) {
		fail(ld, ld->lineno, "[%s] %s: '%s' %s", sec, key, path,
		    len == 0 ? "is empty: expected the secret on its first line" :
		    "contains a NUL byte");
		secret_free(data);
		free(path);
		return false;
	}
	secret_free(*secret);
	*secret = data;
	free(*path_slot);
	*path_slot = path;
	return true;
}

/* True when url starts with one of the schemes (case-insensitive) followed by "://" and more. */
static bool
url_has_scheme(const char *url, const char *const *schemes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], len) == 0 && strncmp(url + len, "://", 3) == 0 &&
		    url[len + 3] != '\0')
			return true;
	}
	return false;
}

static bool
valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/*
 * Splits a comma/whitespace-separated list and hands each item to add.
 * Returns false when add fails (it has reported the error).
 */
static bool
split_list(struct loader *ld, const char *value,
    bool (*add)(struct loader *, const char *), size_t *count)
{
	char *copy = xstrdup(value), *save = NULL, *tok;
	bool ok = true;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL && ok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		ok = add(ld, tok);
		if (ok)
			(*count)++;
	}
	free(copy);
	return ok;
}

static struct config_source *
cur_source(struct loader *ld)
{
	return &ld->cfg->sources[ld->cfg->n_sources - 1];
}

static struct config_notifier *
cur_notifier(struct loader *ld)
{
	return &ld->cfg->notifiers[ld->cfg->n_notifiers - 1];
}

static struct config_rule *
cur_rule(struct loader *ld)
{
	return &ld->cfg->rules[ld->cfg->n_rules - 1];
}

static bool
unknown_key(struct loader *ld, const char *sec, const char *key, const char *known)
{
	return fail(ld, ld->lineno, "unknown key '%s' in section [%s]; expected one of: %s",
	    key, sec, known);
}

/* A secret written inline would end up in backups and `ps` output of editors; refuse it. */
static bool
inline_secret(struct loader *ld, const char *sec, const char *key)
{
	return fail(ld, ld->lineno, "[%s] %s: secrets are not accepted inline: put it in a file "
	    "and name that file with %s-file", sec, key, key);
}

static bool
redis_key(struct loader *ld, const char *key, const char *value)
{
	struct config_redis *r = &ld->cfg->redis;
	static const char *const schemes[] = { "redis", "unix" };

	if (strcmp(key, "url") == 0) {
		if (*value != '\0' && !url_has_scheme(value, schemes, 2))
			/* The URL may carry a password: name the problem, not the value. */
			return fail(ld, ld->lineno, "[redis] url: invalid URL scheme: expected "
			    "redis://HOST:PORT/DB or unix:///PATH.sock (or empty for the private "
			    "redis-server)");
		set_string(&r->url, value, true);
		return true;
	}
	if (strcmp(key, "prefix") == 0) {
		if (*value == '\0' || strpbrk(value, " \t") != NULL)
			return fail(ld, ld->lineno, "[redis] prefix: bad prefix '%s': expected a "
			    "non-empty key prefix without spaces, such as pw:", value);
		set_string(&r->prefix, value, false);
		return true;
	}
	if (strcmp(key, "user") == 0) {
		set_string(&r->user, value, true);
		return true;
	}
	if (strcmp(key, "password") == 0)
		return inline_secret(ld, "redis", key);
	if (strcmp(key, "password-file") == 0)
		return set_secret_file(ld, "redis", key, value, &r->password_file, &r->password);
	if (strcmp(key, "connect-timeout") == 0)
		return set_duration(ld, "redis", key, value, false, &r->connect_timeout_ms);
	if (strcmp(key, "command-timeout") == 0)
		return set_duration(ld, "redis", key, value, false, &r->command_timeout_ms);
	return unknown_key(ld, "redis", key,
	    "url, prefix, user, password-file, connect-timeout, command-timeout");
}

/* "HOST:PORT" or "[V6]:PORT" with a port from 1 to 65535. */
static bool
valid_listen(const char *value)
{
	const char *colon = strrchr(value, ':');
	int64_t port;

	if (colon == NULL || colon == value)
		return false;
	if (value[0] == '[' && colon[-1] != ']')
		return false;
	return parse_int64(colon + 1, 1, 65535, &port);
}

static bool
daemon_key(struct loader *ld, const char *key, const char *value)
{
	struct config_daemon *d = &ld->cfg->daemon;

	if (strcmp(key, "state-dir") == 0) {
		if (*value == '\0')
			return fail(ld, ld->lineno, "[daemon] state-dir: empty: expected a directory");
		set_string(&d->state_dir, value, false);
		return true;
	}
	if (strcmp(key, "pid-file") == 0) {
		if (*value == '\0')
			return fail(ld, ld->lineno, "[daemon] pid-file: empty: expected a file path");
		set_string(&d->pid_file, value, false);
		ld->pid_file_set = true;
		return true;
	}
	if (strcmp(key, "log-level") == 0) {
		if (log_level_parse(value) < 0)
			return fail(ld, ld->lineno, "[daemon] log-level: unknown level '%s': expected "
			    "error, warn, info or debug", value);
		set_string(&d->log_level, value, false);
		return true;
	}
	if (strcmp(key, "syslog") == 0)
		return set_bool(ld, "daemon", key, value, &d->syslog);
	if (strcmp(key, "admin-listen") == 0) {
		if (strcmp(value, "off") == 0)
			value = "";
		if (*value != '\0' && !valid_listen(value))
			return fail(ld, ld->lineno, "[daemon] admin-listen: bad address '%s': expected "
			    "HOST:PORT such as 127.0.0.1:9466 or [::1]:9466, or off to disable", value);
		set_string(&d->admin_listen, value, true);
		return true;
	}
	if (strcmp(key, "admin-token") == 0)
		return inline_secret(ld, "daemon", key);
	if (strcmp(key, "admin-token-file") == 0)
		return set_secret_file(ld, "daemon", key, value, &d->admin_token_file, &d->admin_token);
	if (strcmp(key, "log-file") == 0) {
		set_string(&d->log_file, value, true);
		if (d->log_file != NULL && d->log_file[0] != '/') {
			char *abs = resolve_path(ld, d->log_file);

			free(d->log_file);
			d->log_file = abs;
		}
		return true;
	}
	return unknown_key(ld, "daemon", key, "state-dir, pid-file, log-level, syslog, admin-listen, "
	    "admin-token-file, log-file");
}

static bool
crawl_key(struct loader *ld, const char *key, const char *value)
{
	struct config_crawl *c = &ld->cfg->crawl;

	if (strcmp(key, "user-agent") == 0) {
		if (*value == '\0')
			return fail(ld, ld->lineno, "[crawl] user-agent: empty: expected a product "
			    "token such as pricewatch/1.0 (+URL)");
		set_string(&c->user_agent, value, false);
		return true;
	}
	if (strcmp(key, "interval") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->default_interval_ms);
	if (strcmp(key, "connect-timeout") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->connect_timeout_ms);
	if (strcmp(key, "timeout") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->timeout_ms);
	if (strcmp(key, "per-host-delay") == 0)
		return set_duration(ld, "crawl", key, value, true, &c->per_host_delay_ms);
	if (strcmp(key, "max-body") == 0) {
		if (!parse_size(value, &c->max_body) || c->max_body == 0)
			return fail(ld, ld->lineno, "[crawl] max-body: bad size '%s': expected a "
			    "positive number of bytes with an optional unit B, kB, KiB, MB, MiB, GB "
			    "or GiB, such as 8MiB", value);
		return true;
	}
	if (strcmp(key, "max-redirects") == 0)
		return set_int(ld, "crawl", key, value, 0, 50, &c->max_redirects);
	if (strcmp(key, "concurrency") == 0)
		return set_int(ld, "crawl", key, value, 1, 1024, &c->concurrency);
	if (strcmp(key, "respect-robots") == 0)
		return set_bool(ld, "crawl", key, value, &c->respect_robots);
	if (strcmp(key, "job-timeout") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->job_timeout_ms);
	if (strcmp(key, "max-connections-per-host") == 0)
		return set_int(ld, "crawl", key, value, 1, 256, &c->max_per_host);
	if (strcmp(key, "robots-ttl") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->robots_ttl_ms);
	if (strcmp(key, "retries") == 0)
		return set_int(ld, "crawl", key, value, 0, 20, &c->retries);
	if (strcmp(key, "retry-delay") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->retry_delay_ms);
	if (strcmp(key, "retry-max-delay") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->retry_max_delay_ms);
	if (strcmp(key, "low-speed-limit") == 0) {
		if (!parse_size(value, &c->low_speed_limit))
			return fail(ld, ld->lineno, "[crawl] low-speed-limit: bad size '%s': expected "
			    "bytes per second with an optional unit B, kB, KiB, such as 100B; 0 turns it off",
			    value);
		return true;
	}
	if (strcmp(key, "low-speed-time") == 0)
		return set_duration(ld, "crawl", key, value, false, &c->low_speed_time_ms);
	if (strcmp(key, "max-image-size") == 0) {
		if (!parse_size(value, &c->max_image_body) || c->max_image_body == 0)
			return fail(ld, ld->lineno, "[crawl] max-image-size: bad size '%s': expected a "
			    "positive number of bytes with an optional unit, such as 10MiB", value);
		return true;
	}
	return unknown_key(ld, "crawl", key, "user-agent, interval, connect-timeout, timeout, "
	    "max-body, max-redirects, concurrency, per-host-delay, max-connections-per-host, "
	    "respect-robots, robots-ttl, retries, retry-delay, retry-max-delay, low-speed-limit, "
	    "low-speed-time, max-image-size, job-timeout");
}

static bool
inference_key(struct loader *ld, const char *key, const char *value)
{
	struct config_inference *in = &ld->cfg->inference;

	if (strcmp(key, "model") == 0) {
		set_string(&in->model, value, true);
		return true;
	}
	if (strcmp(key, "backend") == 0) {
		if (!valid_name(value))
			return fail(ld, ld->lineno, "[inference] backend: bad backend name '%s': "
			    "expected auto, cpu, reference or a plugin name", value);
		set_string(&in->backend, value, false);
		return true;
	}
	if (strcmp(key, "threads") == 0)
		return set_int(ld, "inference", key, value, 0, 4096, &in->threads);
	if (strcmp(key, "plugin-dir") == 0) {
		free(in->plugin_dir);
		in->plugin_dir = *value == '\0' ? NULL : resolve_path(ld, value);
		return true;
	}
	return unknown_key(ld, "inference", key, "model, backend, threads, plugin-dir");
}

/* Checks a score text "0.8" / "1" / "0.75": a decimal in [0, 1]. */
static bool
unit_score_text(const char *text)
{
	const char *p = text;

	if (*p == '1') {
		p++;
		if (*p == '.')
			for (p++; *p == '0'; p++)
				;
		return *p == '\0';
	}
	if (*p != '0')
		return false;
	p++;
	if (*p == '\0')
		return true;
	if (*p != '.' || p[1] == '\0')
		return false;
	for (p++; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static bool
match_key(struct loader *ld, const char *key, const char *value)
{
	struct config_match *m = &ld->cfg->match;

	if (strcmp(key, "enabled") == 0)
		return set_bool(ld, "match", key, value, &m->enabled);
	if (strcmp(key, "threshold") == 0) {
		if (!unit_score_text(value))
			return fail(ld, ld->lineno, "[match] threshold: bad score '%s': expected a "
			    "decimal between 0 and 1, such as 0.8", value);
		set_string(&m->threshold, value, false);
		return true;
	}
	if (strcmp(key, "top-k") == 0)
		return set_int(ld, "match", key, value, 1, 1000, &m->top_k);
	if (strcmp(key, "min-image-size") == 0)
		return set_int(ld, "match", key, value, 0, 65536, &m->min_image_px);
	if (strcmp(key, "max-image-pixels") == 0)
		return set_int(ld, "match", key, value, 1, (int64_t)1 << 32, &m->max_image_pixels);
	if (strcmp(key, "embedding-output") == 0) {
		set_string(&m->embedding_output, value, true);
		return true;
	}
	return unknown_key(ld, "match", key, "enabled, threshold, top-k, min-image-size, "
	    "max-image-pixels, embedding-output");
}

static bool
add_source_url(struct loader *ld, const char *url)
{
	static const char *const schemes[] = { "http", "https", "file" };
	struct config_source *s = cur_source(ld);

	if (!url_has_scheme(url, schemes, 3))
		return fail(ld, ld->lineno, "[source \"%s\"] url: invalid URL scheme in '%s': "
		    "expected an http://, https:// or file:// URL", s->name, url);
	list_append(&s->urls, &s->n_urls, url);
	return true;
}

static bool
add_source_sitemap(struct loader *ld, const char *url)
{
	static const char *const schemes[] = { "http", "https", "file" };
	struct config_source *s = cur_source(ld);

	if (!url_has_scheme(url, schemes, 3))
		return fail(ld, ld->lineno, "[source \"%s\"] sitemap: invalid URL scheme in '%s': "
		    "expected an http://, https:// or file:// URL", s->name, url);
	list_append(&s->sitemaps, &s->n_sitemaps, url);
	return true;
}

static bool
add_source_tag(struct loader *ld, const char *tag)
{
	struct config_source *s = cur_source(ld);

	if (!valid_name(tag))
		return fail(ld, ld->lineno, "[source \"%s\"] tags: bad tag '%s': expected 1 to %d "
		    "characters from A-Z a-z 0-9 _ . -", s->name, tag, NAME_MAX_LEN);
	list_append(&s->tags, &s->n_tags, tag);
	return true;
}

static bool
source_key(struct loader *ld, const char *key, const char *value)
{
	struct config_source *s = cur_source(ld);
	size_t added = 0;
	char sec[NAME_MAX_LEN + 16];

	pw_snprintf(sec, sizeof(sec), "source \"%s\"", s->name);
	if (strcmp(key, "url") == 0) {
		if (!split_list(ld, value, add_source_url, &added))
			return false;
		if (added == 0)
			return fail(ld, ld->lineno, "[%s] url: empty: expected one or more URLs", sec);
		return true;
	}
	if (strcmp(key, "interval") == 0)
		return set_duration(ld, sec, key, value, false, &s->interval_ms);
	if (strcmp(key, "currency") == 0) {
		if (!money_currency_valid(value))
			return fail(ld, ld->lineno, "[%s] currency: unknown currency '%s': expected an "
			    "ISO 4217 code in upper case, such as EUR or USD", sec, value);
		set_string(&s->currency, value, false);
		return true;
	}
	if (strcmp(key, "enabled") == 0)
		return set_bool(ld, sec, key, value, &s->enabled);
	if (strcmp(key, "sitemap") == 0) {
		if (!split_list(ld, value, add_source_sitemap, &added))
			return false;
		if (added == 0)
			return fail(ld, ld->lineno, "[%s] sitemap: empty: expected one or more URLs", sec);
		return true;
	}
	if (strcmp(key, "sitemap-filter") == 0) {
		regex_t re;
		int rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);

		if (rc != 0) {
			char why[128];

			regerror(rc, &re, why, sizeof(why));
			return fail(ld, ld->lineno, "[%s] sitemap-filter: bad regular expression '%s': %s",
			    sec, value, why);
		}
		regfree(&re);
		set_string(&s->sitemap_filter, value, true);
		return true;
	}
	if (strcmp(key, "next-page") == 0) {
		set_string(&s->next_page, value, true);
		return true;
	}
	if (strcmp(key, "max-pages") == 0)
		return set_int(ld, sec, key, value, 1, 1000000, &s->max_pages);
	if (strcmp(key, "allow-private") == 0)
		return set_bool(ld, sec, key, value, &s->allow_private);
	if (strcmp(key, "proxy") == 0) {
		static const char *const schemes[] = { "http", "https", "socks4", "socks4a", "socks5",
			"socks5h" };

		if (*value != '\0' && !url_has_scheme(value, schemes, 6))
			return fail(ld, ld->lineno, "[%s] proxy: invalid proxy URL '%s': expected "
			    "http://, https://, socks4://, socks5:// or socks5h://HOST:PORT", sec, value);
		set_string(&s->proxy, value, true);
		return true;
	}
	if (strcmp(key, "user-agent") == 0) {
		set_string(&s->user_agent, value, true);
		return true;
	}
	if (strcmp(key, "header") == 0) {
		const char *colon = strchr(value, ':');

		if (colon == NULL || colon == value || strcspn(value, " \t") < (size_t)(colon - value))
			return fail(ld, ld->lineno, "[%s] header: bad header '%s': expected 'Name: value'",
			    sec, value);
		list_append(&s->headers, &s->n_headers, value);
		return true;
	}
	if (strcmp(key, "cookie-file") == 0) {
		free(s->cookie_file);
		s->cookie_file = *value == '\0' ? NULL : resolve_path(ld, value);
		return true;
	}
	if (strcmp(key, "decimal-separator") == 0) {
		if ((value[0] != ',' && value[0] != '.') || value[1] != '\0')
			return fail(ld, ld->lineno, "[%s] decimal-separator: bad separator '%s': "
			    "expected , or .", sec, value);
		s->decimal_separator = value[0];
		return true;
	}
	if (strcmp(key, "tags") == 0)
		return split_list(ld, value, add_source_tag, &added);
	if (strcmp(key, "per-host-delay") == 0)
		return set_duration(ld, sec, key, value, true, &s->per_host_delay_ms);
	{
		static const struct { const char *key; size_t off; } xp[] = {
			{ "item-xpath", offsetof(struct config_xpath, item) },
			{ "title-xpath", offsetof(struct config_xpath, title) },
			{ "price-xpath", offsetof(struct config_xpath, price) },
			{ "list-price-xpath", offsetof(struct config_xpath, list_price) },
			{ "currency-xpath", offsetof(struct config_xpath, currency) },
			{ "availability-xpath", offsetof(struct config_xpath, availability) },
			{ "sku-xpath", offsetof(struct config_xpath, sku) },
			{ "gtin-xpath", offsetof(struct config_xpath, gtin) },
			{ "mpn-xpath", offsetof(struct config_xpath, mpn) },
			{ "brand-xpath", offsetof(struct config_xpath, brand) },
			{ "image-xpath", offsetof(struct config_xpath, image) },
			{ "url-xpath", offsetof(struct config_xpath, url) },
			{ "seller-xpath", offsetof(struct config_xpath, seller) },
		};

		for (size_t i = 0; i < sizeof(xp) / sizeof(xp[0]); i++) {
			if (strcmp(key, xp[i].key) != 0)
				continue;
			if (*value == '\0')
				return fail(ld, ld->lineno, "[%s] %s: empty: expected an XPath expression",
				    sec, key);
			set_string((char **)((char *)&s->xpath + xp[i].off), value, false);
			if (s->xpath.line == 0)
				s->xpath.line = ld->lineno;
			return true;
		}
	}
	return unknown_key(ld, sec, key, "url, interval, currency, enabled, sitemap, sitemap-filter, "
	    "next-page, max-pages, allow-private, proxy, user-agent, header, cookie-file, "
	    "decimal-separator, tags, per-host-delay, item-xpath, title-xpath, price-xpath, "
	    "list-price-xpath, currency-xpath, availability-xpath, sku-xpath, gtin-xpath, mpn-xpath, "
	    "brand-xpath, image-xpath, url-xpath, seller-xpath");
}

static bool
add_recipient(struct loader *ld, const char *addr)
{
	struct config_notifier *n = cur_notifier(ld);
	const char *at = strchr(addr, '@');

	if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return fail(ld, ld->lineno, "[notifier \"%s\"] to: bad address '%s': expected "
		    "user@domain", n->name, addr);
	list_append(&n->to, &n->n_to, addr);
	return true;
}

static bool
notifier_key(struct loader *ld, const char *key, const char *value)
{
	struct config_notifier *n = cur_notifier(ld);
	size_t added = 0;
	char sec[NAME_MAX_LEN + 16];

	pw_snprintf(sec, sizeof(sec), "notifier \"%s\"", n->name);
	if (strcmp(key, "type") == 0) {
		if (strcmp(value, "webhook") != 0 && strcmp(value, "email") != 0 &&
		    strcmp(value, "log") != 0)
			return fail(ld, ld->lineno, "[%s] type: unknown type '%s': expected webhook, "
			    "email or log", sec, value);
		set_string(&n->type, value, false);
		return true;
	}
	if (strcmp(key, "url") == 0) {
		static const char *const schemes[] = { "http", "https", "smtp", "smtps" };

		if (!url_has_scheme(value, schemes, 4))
			return fail(ld, ld->lineno, "[%s] url: invalid URL scheme in '%s': expected "
			    "http:// or https:// (webhook), smtp:// or smtps:// (email)", sec, value);
		set_string(&n->url, value, false);
		return true;
	}
	if (strcmp(key, "secret") == 0)
		return inline_secret(ld, sec, key);
	if (strcmp(key, "secret-file") == 0)
		return set_secret_file(ld, sec, key, value, &n->secret_file, &n->secret);
	if (strcmp(key, "to") == 0) {
		if (!split_list(ld, value, add_recipient, &added))
			return false;
		if (added == 0)
			return fail(ld, ld->lineno, "[%s] to: empty: expected one or more addresses", sec);
		return true;
	}
	if (strcmp(key, "format") == 0) {
		static const char *const formats[] = { "generic", "slack", "discord", "teams" };

		for (size_t i = 0; i < 4; i++)
			if (strcmp(value, formats[i]) == 0) {
				set_string(&n->format, value, false);
				return true;
			}
		return fail(ld, ld->lineno, "[%s] format: unknown format '%s': expected generic, "
		    "slack, discord or teams", sec, value);
	}
	if (strcmp(key, "from") == 0) {
		const char *at = strchr(value, '@');

		if (at == NULL || at == value || at[1] == '\0')
			return fail(ld, ld->lineno, "[%s] from: bad address '%s': expected user@domain",
			    sec, value);
		set_string(&n->from, value, false);
		return true;
	}
	if (strcmp(key, "user") == 0) {
		set_string(&n->user, value, true);
		return true;
	}
	if (strcmp(key, "password") == 0)
		return inline_secret(ld, sec, key);
	if (strcmp(key, "password-file") == 0)
		return set_secret_file(ld, sec, key, value, &n->password_file, &n->password);
	if (strcmp(key, "digest") == 0)
		return set_duration(ld, sec, key, value, true, &n->digest_ms);
	if (strcmp(key, "timeout") == 0)
		return set_duration(ld, sec, key, value, false, &n->timeout_ms);
	if (strcmp(key, "ca-file") == 0) {
		FILE *f = fopen(value, "r");

		if (f == NULL)
			return fail(ld, ld->lineno, "[%s] ca-file: cannot read %s: %s", sec, value, strerror(errno));
		fclose(f);
		set_string(&n->ca_file, value, false);
		return true;
	}
	return unknown_key(ld, sec, key, "type, url, secret-file, to, format, from, user, "
	    "password-file, digest, timeout, ca-file");
}

/*
 * Checks a decimal text such as "10", "12.5" or "19.99": digits, at most one
 * point, at most 4 fraction digits. *scaled gets the value times 10^4.
 */
static bool
decimal_text(const char *text, int64_t *scaled)
{
	const char *p = text;
	int64_t v = 0;
	int frac = -1;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; *p != '\0'; p++) {
		if (*p == '.' && frac < 0) {
			frac = 0;
			if (!isdigit((unsigned char)p[1]))
				return false;
			continue;
		}
		if (!isdigit((unsigned char)*p) || frac >= 4)
			return false;
		if (frac >= 0)
			frac++;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return false;
	}
	for (frac = frac < 0 ? 0 : frac; frac < 4; frac++)
		if (__builtin_mul_overflow(v, 10, &v))
			return false;
	*scaled = v;
	return true;
}

static bool
add_notify(struct loader *ld, const char *name)
{
	struct config_rule *r = cur_rule(ld);

	if (!valid_name(name))
		return fail(ld, ld->lineno, "[rule \"%s\"] notify: bad notifier name '%s'",
		    r->name, name);
	list_append(&r->notify, &r->n_notify, name);
	return true;
}

static bool
valid_scope(const char *value)
{
	static const char *const prefixes[] = { "source:", "listing:", "product:", "tag:" };

	if (strcmp(value, "all") == 0)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t len = strlen(prefixes[i]);
		if (strncmp(value, prefixes[i], len) == 0 && value[len] != '\0' &&
		    strpbrk(value + len, " \t") == NULL)
			return true;
	}
	return false;
}

static bool
rule_key(struct loader *ld, const char *key, const char *value)
{
	struct config_rule *r = cur_rule(ld);
	size_t added = 0;
	int64_t scaled;
	char sec[NAME_MAX_LEN + 16];

	pw_snprintf(sec, sizeof(sec), "rule \"%s\"", r->name);
	if (strcmp(key, "kind") == 0) {
		for (size_t i = 0; i < sizeof(rule_kinds) / sizeof(rule_kinds[0]); i++) {
			if (strcmp(value, rule_kinds[i]) == 0) {
				set_string(&r->kind, value, false);
				return true;
			}
		}
		return fail(ld, ld->lineno, "[%s] kind: unknown kind '%s': expected drop, rise, "
		    "below, above, lowest, back-in-stock, out-of-stock, any-change, undercut or "
		    "new-match", sec, value);
	}
	if (strcmp(key, "percent") == 0) {
		if (!decimal_text(value, &scaled) || scaled <= 0 || scaled > 100 * 10000)
			return fail(ld, ld->lineno, "[%s] percent: bad percentage '%s': expected a "
			    "number above 0 and at most 100, with at most 4 decimals", sec, value);
		set_string(&r->percent, value, false);
		return true;
	}
	if (strcmp(key, "amount") == 0 || strcmp(key, "target") == 0) {
		bool amount = key[0] == 'a';

		if (!decimal_text(value, &scaled) || (amount && scaled == 0))
			return fail(ld, ld->lineno, "[%s] %s: bad amount '%s': expected a %s decimal "
			    "number such as 19.99, with at most 4 decimals", sec, key, value,
			    amount ? "positive" : "non-negative");
		set_string(amount ? &r->amount : &r->target, value, false);
		return true;
	}
	if (strcmp(key, "days") == 0)
		return set_int(ld, sec, key, value, 1, 3650, &r->days);
	if (strcmp(key, "scope") == 0) {
		if (!valid_scope(value))
			return fail(ld, ld->lineno, "[%s] scope: bad scope '%s': expected all, "
			    "source:NAME, listing:ID, product:SKU or tag:NAME", sec, value);
		set_string(&r->scope, value, false);
		return true;
	}
	if (strcmp(key, "cooldown") == 0)
		return set_duration(ld, sec, key, value, true, &r->cooldown_ms);
	if (strcmp(key, "notify") == 0) {
		if (!split_list(ld, value, add_notify, &added))
			return false;
		if (added == 0)
			return fail(ld, ld->lineno, "[%s] notify: empty: expected notifier names", sec);
		return true;
	}
	return unknown_key(ld, sec, key, "kind, percent, amount, target, days, scope, cooldown, notify");
}

/* inih's key handler; the section comes from our own tracking (see read_line). */
static int
handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;

	(void)section;
	if (ld->failed)
		return 0;
	switch (ld->sec) {
	case SEC_NONE:
		return fail(ld, ld->lineno, "key '%s' outside any section: put it under a [section] "
		    "header such as [crawl]", name);
	case SEC_REDIS: return redis_key(ld, name, value);
	case SEC_DAEMON: return daemon_key(ld, name, value);
	case SEC_CRAWL: return crawl_key(ld, name, value);
	case SEC_INFERENCE: return inference_key(ld, name, value);
	case SEC_MATCH: return match_key(ld, name, value);
	case SEC_SOURCE: return source_key(ld, name, value);
	case SEC_NOTIFIER: return notifier_key(ld, name, value);
	case SEC_RULE: return rule_key(ld, name, value);
	}
	return 0;
}

/* Checks what a section needs as a whole, once all its keys are read. */
static bool
finish_section(struct loader *ld)
{
	switch (ld->sec) {
	case SEC_SOURCE: {
		struct config_source *s = cur_source(ld);

		if (s->n_urls == 0)
			return fail(ld, s->line, "[source \"%s\"] has no url: expected at least one "
			    "'url = https://...' line", s->name);
		break;
	}
	case SEC_NOTIFIER: {
		struct config_notifier *n = cur_notifier(ld);

		if (n->type == NULL)
			return fail(ld, n->line, "[notifier \"%s\"] has no type: expected "
			    "'type = webhook', 'email' or 'log'", n->name);
		if (strcmp(n->type, "webhook") == 0 &&
		    (n->url == NULL || strncasecmp(n->url, "http", 4) != 0))
			return fail(ld, n->line, "[notifier \"%s\"] webhook needs 'url = https://...'",
			    n->name);
		if (strcmp(n->type, "email") == 0 && n->n_to == 0)
			return fail(ld, n->line, "[notifier \"%s\"] email needs 'to = ADDRESS, ...'",
			    n->name);
		if (strcmp(n->type, "email") == 0 && n->url != NULL &&
		    strncasecmp(n->url, "smtp", 4) != 0)
			return fail(ld, n->line, "[notifier \"%s\"] email url must be smtp:// or "
			    "smtps://", n->name);
		break;
	}
	case SEC_RULE: {
		struct config_rule *r = cur_rule(ld);

		if (r->kind == NULL)
			return fail(ld, r->line, "[rule \"%s\"] has no kind: expected 'kind = drop' "
			    "or another kind", r->name);
		if ((strcmp(r->kind, "drop") == 0 || strcmp(r->kind, "rise") == 0) &&
		    r->percent == NULL && r->amount == NULL)
			return fail(ld, r->line, "[rule \"%s\"] kind %s needs 'percent' or 'amount'",
			    r->name, r->kind);
		if ((strcmp(r->kind, "below") == 0 || strcmp(r->kind, "above") == 0) &&
		    r->target == NULL)
			return fail(ld, r->line, "[rule \"%s\"] kind %s needs 'target'", r->name, r->kind);
		break;
	}
	default:
		break;
	}
	return true;
}

/* Finds the line a name was first defined on, or 0. */
static int
name_line(const struct loader *ld, enum section sec, const char *name)
{
	const struct config *c = ld->cfg;

	for (size_t i = 0; sec == SEC_SOURCE && i < c->n_sources; i++)
		if (strcmp(c->sources[i].name, name) == 0)
			return c->sources[i].line;
	for (size_t i = 0; sec == SEC_NOTIFIER && i < c->n_notifiers; i++)
		if (strcmp(c->notifiers[i].name, name) == 0)
			return c->notifiers[i].line;
	for (size_t i = 0; sec == SEC_RULE && i < c->n_rules; i++)
		if (strcmp(c->rules[i].name, name) == 0)
			return c->rules[i].line;
	return 0;
}

/* Starts a [TYPE "NAME"] section: validates the name and appends a new entry. */
static bool
open_named(struct loader *ld, enum section sec, const char *type, const char *rest)
{
	struct config *c = ld->cfg;
	const char *q;
	char name[NAME_MAX_LEN + 1];
	size_t len;
	int first;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	q = *rest == '"' ? strchr(rest + 1, '"') : NULL;
	if (q == NULL || q[1] != '\0')
		return fail(ld, ld->lineno, "section [%s] needs a quoted name: expected "
		    "[%s \"NAME\"]", type, type);
	len = (size_t)(q - rest - 1);
	if (len == 0 || len > NAME_MAX_LEN) {
		return fail(ld, ld->lineno, "bad %s name: expected 1 to %d characters from "
		    "A-Z a-z 0-9 _ . -", type, NAME_MAX_LEN);
	}
	memcpy(name, rest + 1, len);
	name[len] = '\0';
	if (!valid_name(name))
		return fail(ld, ld->lineno, "bad %s name '%s': expected 1 to %d characters from "
		    "A-Z a-z 0-9 _ . -", type, name, NAME_MAX_LEN);
	if ((first = name_line(ld, sec, name)) != 0)
		return fail(ld, ld->lineno, "duplicate %s name '%s' (first defined on line %d)",
		    type, name, first);

	switch (sec) {
	case SEC_SOURCE: {
		struct config_source *s;

		c->sources = xreallocarray(c->sources, c->n_sources + 1, sizeof(*c->sources));
		s = &c->sources[c->n_sources++];
		memset(s, 0, sizeof(*s));
		s->name = xstrdup(name);
		s->enabled = true;
		s->max_pages = 1000;
		s->per_host_delay_ms = -1;
		s->line = ld->lineno;
		break;
	}
	case SEC_NOTIFIER: {
		struct config_notifier *n;

		c->notifiers = xreallocarray(c->notifiers, c->n_notifiers + 1, sizeof(*c->notifiers));
		n = &c->notifiers[c->n_notifiers++];
		memset(n, 0, sizeof(*n));
		n->name = xstrdup(name);
		n->format = xstrdup("generic");
		n->timeout_ms = 10 * 1000;
		n->line = ld->lineno;
		break;
	}
	default: {
		struct config_rule *r;

		c->rules = xreallocarray(c->rules, c->n_rules + 1, sizeof(*c->rules));
		r = &c->rules[c->n_rules++];
		memset(r, 0, sizeof(*r));
		r->name = xstrdup(name);
		r->scope = xstrdup("all");
		r->cooldown_ms = 3600 * 1000;
		r->line = ld->lineno;
		break;
	}
	}
	ld->sec = sec;
	return true;
}

/* Handles a "[...]" header line: closes the previous section and opens the new one. */
static bool
open_section(struct loader *ld, const char *start)
{
	static const struct {
		const char *name;
		enum section sec;
		bool named;
	} kinds[] = {
		{ "redis", SEC_REDIS, false },
		{ "daemon", SEC_DAEMON, false },
		{ "crawl", SEC_CRAWL, false },
		{ "inference", SEC_INFERENCE, false },
		{ "match", SEC_MATCH, false },
		{ "source", SEC_SOURCE, true },
		{ "notifier", SEC_NOTIFIER, true },
		{ "rule", SEC_RULE, true },
	};
	const char *close = strchr(start, ']'), *after;
	char header[CONFIG_MAX_LINE];
	size_t len, word;

	if (close == NULL)
		return fail(ld, ld->lineno, "malformed section header: missing ']'");
	for (after = close + 1; *after == ' ' || *after == '\t' || *after == '\r' || *after == '\n';
	    after++)
		;
	if (*after != '\0' && *after != ';' && *after != '#')
		return fail(ld, ld->lineno, "malformed section header: unexpected text after ']'");
	if (!finish_section(ld))
		return false;

	/* Trim the header's inside and split "TYPE rest". */
	start++;
	while (*start == ' ' || *start == '\t')
		start++;
	len = (size_t)(close - start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	memcpy(header, start, len);
	header[len] = '\0';
	word = strcspn(header, " \t\"");

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) != word || strncmp(header, kinds[i].name, word) != 0)
			continue;
		if (kinds[i].named)
			return open_named(ld, kinds[i].sec, kinds[i].name, header + word);
		if (header[word] != '\0')
			return fail(ld, ld->lineno, "section [%s] takes no name: expected [%s]",
			    kinds[i].name, kinds[i].name);
		ld->sec = kinds[i].sec;
		return true;
	}
	return fail(ld, ld->lineno, "unknown section [%s]: expected [redis], [daemon], [crawl], "
	    "[inference], [match], [source \"NAME\"], [notifier \"NAME\"] or [rule \"NAME\"]", header);
}

/*
 * inih's reader callback: hands over one line at a time and counts lines, so
 * every error knows its line. It also spots section headers itself: the
 * Debian build of inih does not call the handler for a new section (an empty
 * [source "x"] would go unnoticed) and cuts section names at 50 bytes.
 * Returning NULL stops the parse; ld->failed then holds the reason.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	const char *start;
	ssize_t n;

	if (ld->failed)
		return NULL;
	errno = 0;
	n = getline(&ld->line, &ld->line_cap, ld->fp);
	if (n < 0) {
		if (ferror(ld->fp))
			fail(ld, ld->lineno + 1, "read error: %s", strerror(errno));
		else
			finish_section(ld);
		return NULL;
	}
	ld->lineno++;
	if (memchr(ld->line, '\0', (size_t)n) != NULL) {
		fail(ld, ld->lineno, "line contains a NUL byte");
		return NULL;
	}
	if (n >= num) {
		fail(ld, ld->lineno, "line too long: at most %d bytes", num - 2);
		return NULL;
	}
	start = ld->line;
	if (ld->lineno == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '[' && !open_section(ld, start))
		return NULL;
	memcpy(str, ld->line, (size_t)n + 1);
	return str;
}

/* Checks references between sections, once the whole file is read. */
static bool
check_references(struct loader *ld)
{
	const struct config *c = ld->cfg;

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct config_rule *r = &c->rules[i];

		for (size_t j = 0; j < r->n_notify; j++)
			if (name_line(ld, SEC_NOTIFIER, r->notify[j]) == 0)
				return fail(ld, r->line, "[rule \"%s\"] notify: unknown notifier '%s': "
				    "expected the name of a [notifier \"NAME\"] section", r->name,
				    r->notify[j]);
		if (strncmp(r->scope, "source:", 7) == 0 &&
		    name_line(ld, SEC_SOURCE, r->scope + 7) == 0)
			return fail(ld, r->line, "[rule \"%s\"] scope: unknown source '%s'", r->name,
			    r->scope + 7);
	}
	return true;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->redis.prefix = xstrdup("pw:");
	cfg->redis.connect_timeout_ms = 2000;
	cfg->redis.command_timeout_ms = 5000;

	cfg->daemon.state_dir = xstrdup(DEFAULT_STATE_DIR);
	cfg->daemon.pid_file = xstrdup(DEFAULT_STATE_DIR "/" PID_FILE_NAME);
	cfg->daemon.log_level = xstrdup("info");
	cfg->daemon.syslog = false;
	cfg->daemon.admin_listen = xstrdup("127.0.0.1:9466");

	cfg->crawl.user_agent = xstrdup(DEFAULT_USER_AGENT);
	cfg->crawl.default_interval_ms = 3600 * 1000;
	cfg->crawl.connect_timeout_ms = 10 * 1000;
	cfg->crawl.timeout_ms = 30 * 1000;
	cfg->crawl.max_body = 8 * 1024 * 1024;
	cfg->crawl.max_redirects = 5;
	cfg->crawl.concurrency = 8;
	cfg->crawl.per_host_delay_ms = 1000;
	cfg->crawl.respect_robots = true;
	cfg->crawl.max_per_host = 2;
	cfg->crawl.robots_ttl_ms = 24 * 3600 * 1000LL;
	cfg->crawl.retries = 3;
	cfg->crawl.retry_delay_ms = 1000;
	cfg->crawl.retry_max_delay_ms = 5 * 60 * 1000;
	cfg->crawl.low_speed_limit = 100;
	cfg->crawl.low_speed_time_ms = 30 * 1000;
	cfg->crawl.max_image_body = 10 * 1024 * 1024;

	cfg->match.enabled = true;
	cfg->match.threshold = xstrdup("0.76");   /* FUSE_THRESHOLD, from the evaluation (bench/RESULTS.md) */
	cfg->match.top_k = 5;
	cfg->match.min_image_px = 0;             /* the embedding is trusted at every size (docs/matching.md) */
	cfg->match.max_image_pixels = 40 * 1000 * 1000;

	cfg->inference.backend = xstrdup("auto");
	cfg->inference.threads = 0;
}

/* Saved inih settings: they are process-wide globals in Debian's build. */
struct ini_settings {
	bool multiline, stop_on_first_error, use_stack;
	int max_line;
};

static void
ini_settings_apply(struct ini_settings *saved)
{
	saved->multiline = ini_allow_multiline;
	saved->stop_on_first_error = ini_stop_on_first_error;
	saved->use_stack = ini_use_stack;
	saved->max_line = ini_max_line;
	/* Indented lines are keys, not continuations; stop at the first error. */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	ini_use_stack = true;
	ini_max_line = CONFIG_MAX_LINE;
}

static void
ini_settings_restore(const struct ini_settings *saved)
{
	ini_allow_multiline = saved->multiline;
	ini_stop_on_first_error = saved->stop_on_first_error;
	ini_use_stack = saved->use_stack;
	ini_max_line = saved->max_line;
}

bool
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct loader ld;
	struct ini_settings saved;
	const char *slash;
	int r;

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	slash = strrchr(path, '/');
	ld.dir = slash == NULL ? NULL : slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));

	ld.fp = fopen(path, "re");
	if (ld.fp == NULL) {
		fail(&ld, 0, "cannot open: %s", strerror(errno));
		goto failed;
	}

	ini_settings_apply(&saved);
	r = ini_parse_stream(read_line, &ld, handle_key, &ld);
	ini_settings_restore(&saved);

	/* inih reports lines it cannot parse (no '=' or ':') only by number. */
	if (r > 0 && !ld.failed)
		fail(&ld, r, "malformed line: expected 'key = value', a [section] header or a "
		    "comment starting with # or ;");
	else if (r < 0 && !ld.failed)
		fail(&ld, 0, "cannot parse: out of memory");
	if (ld.failed || !check_references(&ld))
		goto failed;

	/* Values that default to other values, now that the whole file is known. */
	if (!ld.pid_file_set) {
		free(cfg->daemon.pid_file);
		cfg->daemon.pid_file = xasprintf("%s/%s", cfg->daemon.state_dir, PID_FILE_NAME);
	}
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].interval_ms == 0)
			cfg->sources[i].interval_ms = cfg->crawl.default_interval_ms;

	fclose(ld.fp);
	free(ld.line);
	free(ld.dir);
	return true;

failed:
	if (ld.fp != NULL)
		fclose(ld.fp);
	/* The line buffer may hold a secret-looking value; wipe it too. */
	if (ld.line != NULL)
		explicit_bzero(ld.line, ld.line_cap);
	free(ld.line);
	free(ld.dir);
	config_free(cfg);
	return false;
}

void
config_free(struct config *cfg)
{
	free(cfg->path);

	free(cfg->redis.url);
	free(cfg->redis.prefix);
	secret_free(cfg->redis.password);
	free(cfg->redis.password_file);
	free(cfg->redis.user);

	free(cfg->daemon.state_dir);
	free(cfg->daemon.pid_file);
	free(cfg->daemon.log_level);
	free(cfg->daemon.admin_listen);
	secret_free(cfg->daemon.admin_token);
	free(cfg->daemon.admin_token_file);
	free(cfg->daemon.log_file);

	free(cfg->crawl.user_agent);
	free(cfg->inference.model);
	free(cfg->inference.backend);
	free(cfg->inference.plugin_dir);
	free(cfg->match.threshold);
	free(cfg->match.embedding_output);

	for (size_t i = 0; i < cfg->n_sources; i++) {
		free(cfg->sources[i].name);
		list_free(cfg->sources[i].urls, cfg->sources[i].n_urls);
		struct config_source *s = &cfg->sources[i];

		free(s->currency);
		list_free(s->sitemaps, s->n_sitemaps);
		free(s->sitemap_filter);
		free(s->next_page);
		free(s->proxy);
		free(s->user_agent);
		list_free(s->headers, s->n_headers);
		free(s->cookie_file);
		list_free(s->tags, s->n_tags);
		free(s->xpath.item);
		free(s->xpath.title);
		free(s->xpath.price);
		free(s->xpath.list_price);
		free(s->xpath.currency);
		free(s->xpath.availability);
		free(s->xpath.sku);
		free(s->xpath.gtin);
		free(s->xpath.mpn);
		free(s->xpath.brand);
		free(s->xpath.image);
		free(s->xpath.url);
		free(s->xpath.seller);
	}
	free(cfg->sources);

	for (size_t i = 0; i < cfg->n_notifiers; i++) {
		struct config_notifier *n = &cfg->notifiers[i];

		free(n->name);
		free(n->type);
		free(n->url);
		secret_free(n->secret);
		free(n->secret_file);
		list_free(n->to, n->n_to);
		free(n->format);
		free(n->from);
		free(n->user);
		secret_free(n->password);
		free(n->password_file);
		free(n->ca_file);
	}
	free(cfg->notifiers);

	for (size_t i = 0; i < cfg->n_rules; i++) {
		struct config_rule *r = &cfg->rules[i];

		free(r->name);
		free(r->kind);
		free(r->scope);
		free(r->percent);
		free(r->amount);
		free(r->target);
		list_free(r->notify, r->n_notify);
	}
	free(cfg->rules);
	memset(cfg, 0, sizeof(*cfg));
}

const struct config_source *
config_find_source(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (strcmp(cfg->sources[i].name, name) == 0)
			return &cfg->sources[i];
	return NULL;
}
