/* cmd-bench.c: "pricewatch bench": the KPIs of an inference deployment (latency, throughput, cost per 1,000 inferences). */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"

#define SECONDS_PER_YEAR (365.25 * 86400.0)
#define JOULES_PER_KWH 3.6e6
/* Costs are printed with this many decimals: fixed text, no binary-float noise. */
#define COST_DECIMALS 6

static int cmd_bench_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_bench_entry = {
	.name = "bench",
	.alias = NULL,
	.usage = "[--model FILE] [--backend NAME] [--threads N] [--batch N] [--runs N] [--warmup N] "
	    "[--watts W] [--kwh-price P] [--currency CODE] [--hardware-cost C] [--lifetime-years Y] [--json]",
	.summary = "measure latency, throughput and cost per 1,000 inferences",
	.help =
	    "Options:\n"
	    "  -m, --model FILE        ONNX model (default: the bundled MobileNetV2); every input\n"
	    "                          dimension but the first (batch) must be fixed\n"
	    "  -b, --backend NAME      backends by priority, e.g. \"opencl,cpu\" (default cpu);\n"
	    "                          \"auto\": the fastest by a short measurement; \"all\": every\n"
	    "                          backend that opens here, side by side\n"
	    "  -t, --threads N         OpenMP threads (default: all cores)\n"
	    "      --batch N           images per run (default 1)\n"
	    "      --runs N            timed runs (default 200)\n"
	    "      --warmup N          untimed runs first (default runs/10, 1..30)\n"
	    "      --watts W           power drawn by the machine while it infers (default 65)\n"
	    "      --kwh-price P       electricity price per kWh (default 0.15)\n"
	    "      --currency CODE     currency of the prices, only printed (default USD)\n"
	    "      --hardware-cost C   purchase price of the machine (default 0: not counted)\n"
	    "      --lifetime-years Y  years the hardware is written off over (default 3)\n"
	    "      --plugin-dir DIR    backend plugins (default: $PW_BACKEND_DIR, else the installed ones)\n"
	    "      --json              one JSON object with every figure\n"
	    "  -h, --help              show this help\n"
	    "Latency: p50/p99 (nearest rank) of the wall time of one run of a batch.\n"
	    "Throughput: batch x runs / wall time of the timed runs (images/s).\n"
	    "Cost per 1,000 inferences, with t = 1 / throughput seconds per image:\n"
	    "  energy   = 1000 x t x W / 3,600,000 x P\n"
	    "  hardware = 1000 x t x C / (Y x 365.25 x 86,400)\n"
	    "  total    = energy + hardware, printed with 6 decimals.\n"
	    "The input is a fixed pseudo-random tensor (as bench/ort/ort-bench.js uses).\n",
	.exec = cmd_bench_exec,
};

enum {
	OPT_BATCH = 256, OPT_RUNS, OPT_WARMUP, OPT_WATTS, OPT_KWH, OPT_CURRENCY, OPT_HWCOST, OPT_LIFETIME,
	OPT_PLUGIN_DIR,
};

static const struct option bench_options[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "runs", required_argument, NULL, OPT_RUNS },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "watts", required_argument, NULL, OPT_WATTS },
	{ "kwh-price", required_argument, NULL, OPT_KWH },
	{ "currency", required_argument, NULL, OPT_CURRENCY },
	{ "hardware-cost", required_argument, NULL, OPT_HWCOST },
	{ "lifetime-years", required_argument, NULL, OPT_LIFETIME },
	{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A plain non-negative decimal ("65", "0.15", "1200.50") no larger than max: no hex, exponent, inf or nan. */
static bool
parse_amount(const char *text, double max, double *out)
{
	size_t digits = strspn(text, "0123456789"), frac = 0;
	char *end;

	if (text[digits] == '.')
		frac = strspn(text + digits + 1, "0123456789") + 1;
	if (digits == 0 || text[digits + frac] != '\0' || frac == 1)
		return false;
	*out = strtod(text, &end);
	return *end == '\0' && isfinite(*out) && *out <= max;
}

static bool
valid_currency(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

/* Fills inputs with a deterministic pseudo-image of the model's declared shape, batch first. */
static int
make_inputs(struct cli_ctx *ctx, const infer_model *model, const char *path, int batch, infer_tensor *inputs)
{
	size_t n_in = infer_model_input_count(model);
	uint32_t seed = 12345;

	for (size_t i = 0; i < n_in; i++) {
		const char *name = infer_model_input_name(model, i);
		infer_tensor *t = &inputs[i];
		int64_t n;

		if (infer_model_input_info(model, i, t) != 0 || t->ndim < 0) {
			cli_error(ctx, "%s: input '%s' has no declared shape: time it with pricewatch infer --bench",
			    path, name);
			return CLI_EXIT_ERROR;
		}
		if (t->ndim == 0 && batch != 1) {
			cli_error(ctx, "%s: input '%s' is a scalar: no batch dimension for --batch %d", path, name,
			    batch);
			return CLI_EXIT_USAGE;
		}
		if (t->ndim > 0) {
			if (t->dims[0] >= 0 && t->dims[0] != batch) {
				cli_error(ctx, "%s: input '%s' has a fixed batch of %lld: use --batch %lld", path, name,
				    (long long)t->dims[0], (long long)t->dims[0]);
				return CLI_EXIT_USAGE;
			}
			t->dims[0] = batch;
		}
		for (int d = 1; d < t->ndim; d++)
			if (t->dims[d] < 0) {
				cli_error(ctx, "%s: input '%s' dimension %d is symbolic: pricewatch bench needs fixed "
				    "sizes; time your own tensors with pricewatch infer --bench", path, name, d);
				return CLI_EXIT_ERROR;
			}
		if ((n = infer_tensor_numel(t)) < 0) {
			cli_error(ctx, "%s: input '%s' is too large at batch %d", path, name, batch);
			return CLI_EXIT_ERROR;
		}
		if (t->dtype == INFER_DTYPE_INT64) {
			t->data = xcalloc((size_t)(n > 0 ? n : 1), sizeof(int64_t));
		} else {
			float *v = xcalloc((size_t)(n > 0 ? n : 1), sizeof(float));

			/* The generator of bench/ort/ort-bench.js: values in [0,1). */
			for (int64_t k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				v[k] = (float)(seed >> 8) / 16777216.0f;
			}
			t->data = v;
		}
	}
	return CLI_EXIT_OK;
}

struct costs {
	double watts, kwh_price, hardware_cost, lifetime_years;
	const char *currency;
};

/* The figures derived from one timing. */
struct kpis {
	double ips;        /* images per second */
	double joules;     /* energy per inference */
	double energy, hardware;   /* cost per 1,000 inferences */
};

static struct kpis
kpis_of(int batch, const struct cli_infer_timing *t, const struct costs *k)
{
	struct kpis r = { .ips = t->total_s > 0 ? (double)batch * t->runs / t->total_s : 0 };
	double spi = r.ips > 0 ? 1.0 / r.ips : 0;   /* wall seconds per inference */

	r.energy = 1000.0 * spi * k->watts / JOULES_PER_KWH * k->kwh_price;
	r.hardware = 1000.0 * spi * k->hardware_cost / (k->lifetime_years * SECONDS_PER_YEAR);
	r.joules = spi * k->watts;
	return r;
}

/* One backend's figures as a JSON object (the whole output for one backend, an array entry for all). */
static struct json_object *
report_json(const char *path, const char *backend, int threads, int batch, const struct cli_infer_timing *t,
    const struct costs *k)
{
	struct kpis r = kpis_of(batch, t, k);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "model", json_object_new_string(path));
	json_object_object_add(o, "backend", json_object_new_string(backend));
	json_object_object_add(o, "threads", json_object_new_int(threads));
	json_object_object_add(o, "batch", json_object_new_int(batch));
	json_object_object_add(o, "runs", json_object_new_int(t->runs));
	json_object_object_add(o, "warmup", json_object_new_int(t->warmup));
	json_object_object_add(o, "p50_ms", cli_json_fixed(t->p50_ms, 3));
	json_object_object_add(o, "p99_ms", cli_json_fixed(t->p99_ms, 3));
	json_object_object_add(o, "mean_ms", cli_json_fixed(t->mean_ms, 3));
	json_object_object_add(o, "throughput_ips", cli_json_fixed(r.ips, 3));
	json_object_object_add(o, "joules_per_inference", cli_json_fixed(r.joules, 4));
	json_object_object_add(o, "watts", cli_json_fixed(k->watts, 2));
	json_object_object_add(o, "kwh_price", cli_json_fixed(k->kwh_price, 4));
	json_object_object_add(o, "hardware_cost", cli_json_fixed(k->hardware_cost, 2));
	json_object_object_add(o, "lifetime_years", cli_json_fixed(k->lifetime_years, 2));
	json_object_object_add(o, "currency", json_object_new_string(k->currency));
	json_object_object_add(o, "energy_cost_per_1000", cli_json_fixed(r.energy, COST_DECIMALS));
	json_object_object_add(o, "hardware_cost_per_1000", cli_json_fixed(r.hardware, COST_DECIMALS));
	json_object_object_add(o, "cost_per_1000", cli_json_fixed(r.energy + r.hardware, COST_DECIMALS));
	return o;
}

static void
report(struct cli_ctx *ctx, const char *path, const char *backend, int threads, int batch,
    const struct cli_infer_timing *t, const struct costs *k)
{
	struct kpis r = kpis_of(batch, t, k);

	if (ctx->format == CLI_FORMAT_JSON) {
		out_json_print(ctx->out, report_json(path, backend, threads, batch, t, k));
		return;
	}
	fprintf(ctx->out, "model       %s\n", path);
	fprintf(ctx->out, "setup       backend %s, %d thread%s, batch %d, %d runs after %d warm-up\n", backend,
	    threads, threads == 1 ? "" : "s", batch, t->runs, t->warmup);
	fprintf(ctx->out, "latency     p50 %.3f ms, p99 %.3f ms, mean %.3f ms (one run of the batch)\n",
	    t->p50_ms, t->p99_ms, t->mean_ms);
	fprintf(ctx->out, "throughput  %.1f images/s\n", r.ips);
	fprintf(ctx->out, "energy      %.4f J per inference at %.2f W\n", r.joules, k->watts);
	fprintf(ctx->out, "cost        %.*f %s per 1,000 inferences: energy %.*f at %.4f %s/kWh, "
	    "hardware %.*f (%.2f %s over %.2f years)\n", COST_DECIMALS, r.energy + r.hardware, k->currency,
	    COST_DECIMALS, r.energy, k->kwh_price, k->currency, COST_DECIMALS, r.hardware, k->hardware_cost,
	    k->currency, k->lifetime_years);
}

/* What every timed backend shares. */
struct bench_setup {
	const char *path;
	int threads, batch, warmup, runs;
	struct costs k;
};

/* Opens a session of backend on the model and times it; label receives what to call it ("auto: cpu"). A
 * backend dropped during the timing (a device failure: the CPU ran the rest) is an error, not figures. */
static int
bench_one(struct cli_ctx *ctx, const struct bench_setup *b, const char *backend, struct cli_infer_timing *t,
    char *label, size_t len)
{
	infer_model *model = NULL;
	infer_session *session = NULL;
	infer_tensor *inputs = NULL;
	size_t n_in = 0;
	int rc;

	if ((rc = cli_infer_open(ctx, b->path, backend, b->threads, &model, &session)) != CLI_EXIT_OK)
		return rc;
	n_in = infer_model_input_count(model);
	inputs = xcalloc(n_in > 0 ? n_in : 1, sizeof(*inputs));
	if ((rc = make_inputs(ctx, model, b->path, b->batch, inputs)) == CLI_EXIT_OK)
		rc = cli_infer_time(ctx, session, inputs, n_in, infer_model_output_count(model), b->warmup, b->runs, t);
	if (backend == NULL || strcmp(backend, "auto") != 0)
		snprintf(label, len, "%s", backend != NULL ? backend : "cpu");
	else
		snprintf(label, len, "auto: %s", infer_session_backend(session));
	if (rc == CLI_EXIT_OK && backend != NULL && strcmp(backend, "auto") != 0 && strchr(backend, ',') == NULL &&
	    strcmp(infer_session_backend(session), backend) != 0) {
		cli_error(ctx, "backend '%s' failed during the benchmark and was dropped (the CPU ran the rest): "
		    "no figures for it", backend);
		rc = CLI_EXIT_ERROR;
	}
	for (size_t i = 0; i < n_in; i++)
		infer_tensor_release(&inputs[i]);
	free(inputs);
	infer_session_free(session);
	infer_model_free(model);
	return rc;
}

#define BENCH_MAX_BACKENDS 8

/* --backend all: every backend that opens here, side by side. */
static int
bench_all(struct cli_ctx *ctx, const struct bench_setup *b)
{
	char names[BENCH_MAX_BACKENDS][INFER_BACKEND_NAME_MAX];
	int n = infer_backend_available(NULL, names, BENCH_MAX_BACKENDS), ok = 0;
	int shown = cli_infer_threads_shown(b->threads);
	struct json_object *arr = json_object_new_array();

	if (ctx->format != CLI_FORMAT_JSON) {
		fprintf(ctx->out, "model       %s\n", b->path);
		fprintf(ctx->out, "setup       %d thread%s, batch %d, %d runs after %d warm-up; %.2f W, %.4f %s/kWh, "
		    "hardware %.2f %s over %.2f years\n", shown, shown == 1 ? "" : "s", b->batch, b->runs, b->warmup,
		    b->k.watts, b->k.kwh_price, b->k.currency, b->k.hardware_cost, b->k.currency, b->k.lifetime_years);
		fprintf(ctx->out, "%-12s %10s %10s %12s %12s %16s\n", "backend", "p50 ms", "p99 ms", "images/s",
		    "J/inference", "cost/1000");
	}
	for (int i = 0; i < n; i++) {
		struct cli_infer_timing t;
		struct kpis r;
		char label[64];
		if (bench_one(ctx, b, names[i], &t, label, sizeof(label)) != CLI_EXIT_OK) {
			if (ctx->format != CLI_FORMAT_JSON)
				fprintf(ctx->out, "%-12s failed (see the message above)\n", names[i]);
			continue;
		}
		ok++;
		if (ctx->format == CLI_FORMAT_JSON) {
			json_object_array_add(arr, report_json(b->path, names[i], shown, b->batch, &t, &b->k));
			continue;
		}
		r = kpis_of(b->batch, &t, &b->k);
		fprintf(ctx->out, "%-12s %10.3f %10.3f %12.1f %12.4f %12.*f %s\n", names[i], t.p50_ms, t.p99_ms, r.ips,
		    r.joules, COST_DECIMALS, r.energy + r.hardware, b->k.currency);
	}
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "model", json_object_new_string(b->path));
		json_object_object_add(o, "backends", arr);
		out_json_print(ctx->out, o);
	} else
		json_object_put(arr);
	return ok > 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int
cmd_bench_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_engine_args eng = { 0 };
	struct bench_setup b = { .k = { .watts = 65, .kwh_price = 0.15, .hardware_cost = 0, .lifetime_years = 3,
		.currency = "USD" }, .batch = 1, .runs = 200, .warmup = -1 };
	struct costs *k = &b.k;
	struct cli_infer_timing t;
	char *model_path = NULL, label[64];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:t:h", bench_options, NULL)) != -1) {
		switch (c) {
		case OPT_BATCH:
			if (!cli_infer_parse_count(optarg, 1, 4096, &b.batch))
				return cli_usage_error(ctx, &cmd_bench_entry, "--batch '%s' is not 1..4096", optarg);
			break;
		case OPT_RUNS:
			if (!cli_infer_parse_count(optarg, 1, 1000000, &b.runs))
				return cli_usage_error(ctx, &cmd_bench_entry, "--runs '%s' is not 1..1000000", optarg);
			break;
		case OPT_WARMUP:
			if (!cli_infer_parse_count(optarg, 0, 1000000, &b.warmup))
				return cli_usage_error(ctx, &cmd_bench_entry, "--warmup '%s' is not 0..1000000", optarg);
			break;
		case OPT_WATTS:
			if (!parse_amount(optarg, 1e6, &k->watts))
				return cli_usage_error(ctx, &cmd_bench_entry, "--watts '%s' is not a decimal such as 65",
				    optarg);
			break;
		case OPT_KWH:
			if (!parse_amount(optarg, 1e6, &k->kwh_price))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--kwh-price '%s' is not a decimal such as 0.15", optarg);
			break;
		case OPT_CURRENCY:
			if (!valid_currency(optarg))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--currency '%s' is not a code of letters such as EUR", optarg);
			k->currency = optarg;
			break;
		case OPT_HWCOST:
			if (!parse_amount(optarg, 1e12, &k->hardware_cost))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--hardware-cost '%s' is not a decimal such as 1200", optarg);
			break;
		case OPT_LIFETIME:
			if (!parse_amount(optarg, 100, &k->lifetime_years) || k->lifetime_years <= 0)
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--lifetime-years '%s' is not a decimal in (0, 100]", optarg);
			break;
		case OPT_PLUGIN_DIR:
			/* Read by the engine wherever a plugin is looked up (sessions, --backend all, auto). */
			setenv("PW_BACKEND_DIR", optarg, 1);
			break;
		default:
			if ((rc = cli_engine_option(ctx, &cmd_bench_entry, c, argv, &eng)) >= 0)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, &cmd_bench_entry, "unexpected argument '%s'", argv[optind]);
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_bench_entry, "--csv is not supported here (use --json)");
	if (b.warmup < 0)
		b.warmup = cli_infer_default_warmup(b.runs);

	model_path = eng.model != NULL ? xstrdup(eng.model) : cli_infer_default_model();
	b.path = model_path;
	b.threads = eng.threads;
	if (eng.backend != NULL && strcmp(eng.backend, "all") == 0)
		rc = bench_all(ctx, &b);
	else if ((rc = bench_one(ctx, &b, eng.backend, &t, label, sizeof(label))) == CLI_EXIT_OK)
		report(ctx, model_path, label, cli_infer_threads_shown(b.threads), b.batch, &t, k);
	free(model_path);
	return rc;
}
