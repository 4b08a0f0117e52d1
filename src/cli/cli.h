/* cli.h: the pricewatch CLI's internal interface: context, command table, option resolution and output emitters. */
#ifndef PW_CLI_CLI_H
#define PW_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "pricewatch/infer.h"
#include "store/private.h"
#include "store/store.h"

/* Exit codes that scripts can rely on; documented in pricewatch(1). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_NOT_FOUND = 1,    /* unknown listing, or no data in the range asked for */
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_UNREACHABLE = 3,  /* cannot reach Redis */
	CLI_EXIT_ERROR = 4,
};

enum cli_format { CLI_FORMAT_TABLE = 0, CLI_FORMAT_JSON, CLI_FORMAT_CSV };

/* Environment variable naming the Redis URL (between --redis and the config file in precedence). */
#define CLI_ENV_REDIS "PRICEWATCH_REDIS"

/* Everything one invocation needs; lives on cli_run's stack. */
struct cli_ctx {
	FILE *out;                 /* results (stdout in the real binary) */
	FILE *err;                 /* "pricewatch: ..." messages (stderr) */

	const char *config_path;   /* -c FILE, or NULL for CONFIG_DEFAULT_PATH */
	const char *redis_opt;     /* --redis URL, or NULL when not given */
	enum cli_format format;
	bool format_set;           /* --json or --csv was given (to catch both at once) */

	struct config cfg;
	bool cfg_loaded;
	char *redis_url;           /* resolved URL, owned; "" means the private store */
	const char *redis_from;    /* "--redis", CLI_ENV_REDIS, the config path or "defaults" */

	struct store *store;       /* opened lazily by cli_store_open */
	struct private_redis priv;
	bool priv_used;            /* priv must be released with private_redis_stop */
};

/* One command, tmux style: each cmd-NAME.c defines one of these. */
struct cmd_entry {
	const char *name;
	const char *alias;         /* may be NULL */
	const char *usage;         /* arguments after the name, for "usage: pricewatch NAME ..." */
	const char *summary;       /* one line for the command list */
	const char *help;          /* option lines for "pricewatch help NAME"; may be NULL */
	int (*exec)(struct cli_ctx *ctx, int argc, char **argv);   /* argv[0] is the command name */
};

/* cmd.c */
extern const struct cmd_entry *const cmd_table[];
/* Runs one invocation: global options, then the command. Returns an enum cli_exit value. */
int cli_run(int argc, char **argv, FILE *out, FILE *err);
/* Finds a command by name, alias or unique prefix; NULL if none (or ambiguous). */
const struct cmd_entry *cmd_find(const char *name);
/* Prints "pricewatch: " + message + newline to ctx->err. */
void cli_error(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a usage error and "usage: pricewatch NAME USAGE"; returns CLI_EXIT_USAGE. */
int cli_usage_error(struct cli_ctx *ctx, const struct cmd_entry *entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports a getopt failure (c is '?' or ':') for entry (NULL: global options); returns CLI_EXIT_USAGE. */
int cli_option_error(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv);
/* Prints the full help of one command to f. */
void cmd_print_help(FILE *f, const struct cmd_entry *entry);
/* Sets ctx->format from --json/--csv; false (message printed) when both are given. */
bool cli_set_format(struct cli_ctx *ctx, enum cli_format format);
/*
 * Loads the configuration (once) and resolves the Redis URL with the precedence
 * --redis > $PRICEWATCH_REDIS > config file > built-in default (private store).
 * Returns CLI_EXIT_OK or an exit code after printing the error.
 */
int cli_resolve(struct cli_ctx *ctx);
/* Picks the Redis URL by precedence; returns the winner and sets *from to its name. Pure, for tests. */
const char *cli_pick_redis_url(const char *opt, const char *env, const char *cfg_url,
    const char *cfg_path, const char **from);
/* Resolves, starts the private redis-server if needed, and opens the store. Returns an exit code. */
int cli_store_open(struct cli_ctx *ctx);
/* Releases the store, the private redis-server (if this process started it) and the config. */
void cli_ctx_release(struct cli_ctx *ctx);
/* Returns a copy of a Redis URL with its password replaced by "***", for messages. Caller frees. */
char *cli_redact_url(const char *url);
/* Maps a store status to an exit code. */
int cli_exit_from_store(enum store_status status);
/*
 * Parses a --since/--until value: a duration with a unit ("30d", "12h": that long
 * before now_ms) or an absolute time accepted by time_parse_iso ("2026-01-31",
 * "2026-01-31T12:00Z", epoch seconds). A bare number is epoch seconds.
 */
bool cli_parse_time_arg(const char *text, int64_t now_ms, int64_t *ms_out);

/* output.c */
/* Display width of a UTF-8 string in terminal columns (wide CJK = 2, combining = 0; bad bytes = 1). */
size_t out_display_width(const char *s);
/*
 * Returns a newly allocated copy of s, safe for a terminal (control characters and
 * invalid UTF-8 become '?'), cut at a character boundary to at most max_width
 * columns with a trailing "…" when it was cut. max_width 0 means no limit. Caller frees.
 */
char *out_display_clip(const char *s, size_t max_width);
/* Returns a newly allocated copy with invalid UTF-8 replaced by U+FFFD (JSON must be UTF-8). Caller frees. */
char *out_utf8_fix(const char *s);
/* Writes one CSV field with RFC 4180 quoting (only when needed); NULL is an empty field. */
void out_csv_field(FILE *f, const char *s);
/* Writes a CSV record of n fields terminated by CRLF. */
void out_csv_row(FILE *f, const char *const *fields, size_t n);

/* A table built row by row and printed with columns sized by display width. */
enum out_align { OUT_LEFT = 0, OUT_RIGHT };
struct out_table {
	size_t ncols;
	const char *const *headers;  /* borrowed */
	const enum out_align *align; /* borrowed; NULL: all left */
	char **cells;                /* nrows * ncols sanitised copies, owned */
	size_t nrows, cap;
};
void out_table_init(struct out_table *t, size_t ncols, const char *const *headers,
    const enum out_align *align);
/* Adds a row of ncols strings (NULL prints as "-"); the strings are copied. */
void out_table_add(struct out_table *t, const char *const *row);
/*
 * Prints the header and rows. When width > 0 the LAST column is clipped so that
 * lines fit in width columns (never below a few columns); 0 means no clipping.
 */
void out_table_print(FILE *f, const struct out_table *t, size_t width);
void out_table_free(struct out_table *t);
/* Width for table clipping: fd's terminal width if it is a tty, else $COLUMNS, else 0 (no limit). */
size_t out_terminal_width(int fd);
/* Formats a money value as plain decimal ("19.99") into buf; "" when there is no price. */
void out_money(const struct money *m, char *buf, size_t buflen);
/* Formats epoch ms as ISO UTC into buf (>= 32 bytes); "" for 0 (never seen). */
void out_time(int64_t ms, char *buf, size_t buflen);

/* --color=WHEN: auto colours only a terminal; NO_COLOR (non-empty) turns colour off in every mode. */
enum out_color { OUT_COLOR_AUTO = 0, OUT_COLOR_ALWAYS, OUT_COLOR_NEVER };
/* Parses "auto", "always"/"yes", "never"/"no" (NULL: auto); false on anything else. */
bool out_color_parse(const char *text, enum out_color *mode);
/* Whether to write ANSI colour to f: never with NO_COLOR, else always, never, or when f is a tty. */
bool out_color_wanted(FILE *f, enum out_color mode);
/*
 * Writes a Unicode sparkline (U+2581..U+2588, one character per value; a space
 * where present[i] is false) of n values into buf, scaled between their min and
 * max. Stops at a character boundary when buf is full; returns the characters written.
 */
size_t out_sparkline(const int64_t *values, const bool *present, size_t n, char *buf, size_t buflen);

/* JSON helpers (json-c); each returns a new object owned by the caller (json_object_put). */
struct json_object;
struct json_object *out_json_listing(const struct listing *l);
struct json_object *out_json_history_point(const struct history_point *p);
/* getopt codes of --json and --csv for cli_common_option (above any command's own option codes). */
#define CLI_OPT_JSON 0x7f00
#define CLI_OPT_CSV 0x7f01
/*
 * The tail of a command's getopt switch: CLI_OPT_JSON and CLI_OPT_CSV set the
 * output format, 'h' prints entry's help, anything else ('?', ':') is a usage
 * error. Returns -1 when parsing goes on, else the exit code to return.
 */
int cli_common_option(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv);
/* A new JSON string of s made valid UTF-8 (out_utf8_fix), or NULL (JSON null) when s is NULL. */
struct json_object *out_json_str(const char *s);
/* Adds member key: s made valid UTF-8 (out_utf8_fix), or null when s is NULL or empty. */
void out_json_add_str(struct json_object *o, const char *key, const char *s);
/* Writes obj pretty-printed plus a newline and releases it. */
void out_json_print(FILE *f, struct json_object *obj);

/* cmd-history.c */
extern const struct cmd_entry cmd_history_entry;

/* cmd-chart.c */
extern const struct cmd_entry cmd_chart_entry;

/* cmd-listings.c */
extern const struct cmd_entry cmd_listings_entry;

/* cmd-infer.c: the command, and what embed and bench share with it */
extern const struct cmd_entry cmd_infer_entry;
/* Latency of timed runs: nearest-rank percentiles, as bench/ort/ort-bench.js computes them. */
struct cli_infer_timing {
	int runs, warmup;
	double p50_ms, p99_ms, mean_ms, min_ms, max_ms;
	double total_s;            /* wall time of the timed runs, for throughput */
};
/* The bundled model: $PW_TOP_SRCDIR/data/models/... when that exists (tests, a source tree), else
 * PKGDATADIR/models/mobilenetv2-nsfwjs.onnx. Caller frees. */
char *cli_infer_default_model(void);
/* Parses a whole decimal integer in [min, max]. */
bool cli_infer_parse_count(const char *text, int64_t min, int64_t max, int *out);
/* --model, --backend and --threads, which infer, embed and bench share. */
struct cli_engine_args {
	const char *model;         /* -m FILE, or NULL: the command's default */
	const char *backend;       /* -b NAME, or NULL: the engine's default */
	int threads;               /* -t N, or 0: what OpenMP picks */
};
/*
 * The tail of a getopt switch for a command that runs a model: 'm', 'b' and 't'
 * fill *args, anything else goes to cli_common_option. Returns -1 when parsing
 * goes on, else the exit code to return.
 */
int cli_engine_option(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv,
    struct cli_engine_args *args);
/* The thread count to report: threads, or what OpenMP uses when it is 0. */
int cli_infer_threads_shown(int threads);
/* Warm-up runs used when none are asked for: runs / 10, within 1..30. */
int cli_infer_default_warmup(int runs);
/* Loads path and opens a session; on failure prints the engine's message, returns an exit code
 * and leaves both NULL. The caller frees the session, then the model. */
int cli_infer_open(struct cli_ctx *ctx, const char *path, const char *backend, int threads,
    infer_model **model, infer_session **session);
/* Checks input i's file tensor against the model's declared type and shape; prints what is wrong. */
int cli_infer_check_input(struct cli_ctx *ctx, const infer_model *model, size_t i, const infer_tensor *t,
    const char *file);
/* Runs warmup untimed then runs timed runs (outputs freed outside the timing); returns an exit code. */
int cli_infer_time(struct cli_ctx *ctx, infer_session *session, const infer_tensor *inputs, size_t n_inputs,
    size_t n_outputs, int warmup, int runs, struct cli_infer_timing *timing);
/* "(1, 3, 224, 224)", "(3,)" or "()" into buf. */
void cli_infer_shape_text(const infer_tensor *t, char *buf, size_t len);
/* A JSON number written with exactly `decimals` decimals (no %.17g noise); NULL (JSON null) if not finite. */
struct json_object *cli_json_fixed(double v, int decimals);

/* cmd-embed.c */
extern const struct cmd_entry cmd_embed_entry;

/* cmd-bench.c */
extern const struct cmd_entry cmd_bench_entry;

/* input.c */
/*
 * Reads path ("-": standard input) whole, but at most max bytes, so a command can
 * tell "too large" (ask for one byte over its own limit) without swallowing
 * gigabytes. Returns a malloc'd buffer (caller frees) with a NUL after the len_out
 * bytes, or NULL with errno set.
 */
char *cli_read_input(const char *path, size_t max, size_t *len_out);

/* cmd-extract.c */
extern const struct cmd_entry cmd_extract_entry;

/* cmd-robots.c */
extern const struct cmd_entry cmd_robots_entry;

/* cmd-price.c */
extern const struct cmd_entry cmd_price_entry;

/* cmd-status.c */
extern const struct cmd_entry cmd_status_entry;

/* cmd-alerts.c */
extern const struct cmd_entry cmd_alerts_entry;

/* cmd-crawl.c */
extern const struct cmd_entry cmd_crawl_entry;

/* cmd-notify.c */
extern const struct cmd_entry cmd_notify_entry;

/* cmd-catalog.c: the command, and what cmd-match.c shares with it */
extern const struct cmd_entry cmd_catalog_entry;
struct descriptor_model;
/* Opens the image model the config names ([inference] model, [match] embedding-output); prints why not
 * and returns an exit code. The caller frees *model with descriptor_model_free(). */
int cli_descriptor_model_open(struct cli_ctx *ctx, struct descriptor_model **model);
/* An image's bytes from a local path or an http(s) URL (crawler limits, SSRF guard unless allow_private),
 * at most [crawl] max-image-size. Returns a malloc'd buffer (caller frees) or NULL with err set. */
unsigned char *cli_image_read(struct cli_ctx *ctx, const char *src, bool allow_private, size_t *len, char *err,
    size_t errlen);

/* cmd-match.c */
extern const struct cmd_entry cmd_match_entry;

#endif
