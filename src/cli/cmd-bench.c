/* cmd-bench.c: "pricewatch bench": the KPIs of an inference deployment (latency, throughput, cost per 1,000 inferences). */
#include "config.h"

#include <getopt.h>
#include <math.h>
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
	    "  -b, --backend NAME      backends by priority, e.g. \"reference,cpu\" (default cpu)\n"
	    "  -t, --threads N         OpenMP threads (default: all cores)\n"
	    "      --batch N           images per run (default 1)\n"
	    "      --runs N            timed runs (default 200)\n"
	    "      --warmup N          untimed runs first (default runs/10, 1..30)\n"
	    "      --watts W           power drawn by the machine while it infers (default 65)\n"
	    "      --kwh-price P       electricity price per kWh (default 0.15)\n"
	    "      --currency CODE     currency of the prices, only printed (default USD)\n"
	    "      --hardware-cost C   purchase price of the machine (default 0: not counted)\n"
	    "      --lifetime-years Y  years the hardware is written off over (default 3)\n"
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
	OPT_JSON = 256, OPT_BATCH, OPT_RUNS, OPT_WARMUP, OPT_WATTS, OPT_KWH, OPT_CURRENCY, OPT_HWCOST,
	OPT_LIFETIME,
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
	{ "json", no_argument, NULL, OPT_JSON },
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

static void
report(struct cli_ctx *ctx, const char *path, const char *backend, int threads, int batch,
    const struct cli_infer_timing *t, const struct costs *k)
{
	double ips = t->total_s > 0 ? (double)batch * t->runs / t->total_s : 0;
	double spi = ips > 0 ? 1.0 / ips : 0;   /* wall seconds per inference */
	double energy = 1000.0 * spi * k->watts / JOULES_PER_KWH * k->kwh_price;
	double hardware = 1000.0 * spi * k->hardware_cost / (k->lifetime_years * SECONDS_PER_YEAR);
	double joules = spi * k->watts;

	if (ctx->format == CLI_FORMAT_JSON) {
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
		json_object_object_add(o, "throughput_ips", cli_json_fixed(ips, 3));
		json_object_object_add(o, "joules_per_inference", cli_json_fixed(joules, 4));
		json_object_object_add(o, "watts", cli_json_fixed(k->watts, 2));
		json_object_object_add(o, "kwh_price", cli_json_fixed(k->kwh_price, 4));
		json_object_object_add(o, "hardware_cost", cli_json_fixed(k->hardware_cost, 2));
		json_object_object_add(o, "lifetime_years", cli_json_fixed(k->lifetime_years, 2));
		json_object_object_add(o, "currency", json_object_new_string(k->currency));
		json_object_object_add(o, "energy_cost_per_1000", cli_json_fixed(energy, COST_DECIMALS));
		json_object_object_add(o, "hardware_cost_per_1000", cli_json_fixed(hardware, COST_DECIMALS));
		json_object_object_add(o, "cost_per_1000", cli_json_fixed(energy + hardware, COST_DECIMALS));
		out_json_print(ctx->out, o);
		return;
	}
	fprintf(ctx->out, "model       %s\n", path);
	fprintf(ctx->out, "setup       backend %s, %d thread%s, batch %d, %d runs after %d warm-up\n", backend,
	    threads, threads == 1 ? "" : "s", batch, t->runs, t->warmup);
	fprintf(ctx->out, "latency     p50 %.3f ms, p99 %.3f ms, mean %.3f ms (one run of the batch)\n",
	    t->p50_ms, t->p99_ms, t->mean_ms);
	fprintf(ctx->out, "throughput  %.1f images/s\n", ips);
	fprintf(ctx->out, "energy      %.4f J per inference at %.2f W\n", joules, k->watts);
	fprintf(ctx->out, "cost        %.*f %s per 1,000 inferences: energy %.*f at %.4f %s/kWh, "
	    "hardware %.*f (%.2f %s over %.2f years)\n", COST_DECIMALS, energy + hardware, k->currency,
	    COST_DECIMALS, energy, k->kwh_price, k->currency, COST_DECIMALS, hardware, k->hardware_cost,
	    k->currency, k->lifetime_years);
}

static int
cmd_bench_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *model_arg = NULL, *backend = NULL;
	struct costs k = { .watts = 65, .kwh_price = 0.15, .hardware_cost = 0, .lifetime_years = 3,
		.currency = "USD" };
	int threads = 0, batch = 1, runs = 200, warmup = -1, c, rc;
	char *model_path = NULL;
	infer_model *model = NULL;
	infer_session *session = NULL;
	infer_tensor *inputs = NULL;
	struct cli_infer_timing t;
	size_t n_in = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:t:h", bench_options, NULL)) != -1) {
		switch (c) {
		case 'm':
			model_arg = optarg;
			break;
		case 'b':
			backend = optarg;
			break;
		case 't':
			if (!cli_infer_parse_count(optarg, 1, 1024, &threads))
				return cli_usage_error(ctx, &cmd_bench_entry, "--threads '%s' is not 1..1024", optarg);
			break;
		case OPT_BATCH:
			if (!cli_infer_parse_count(optarg, 1, 4096, &batch))
				return cli_usage_error(ctx, &cmd_bench_entry, "--batch '%s' is not 1..4096", optarg);
			break;
		case OPT_RUNS:
			if (!cli_infer_parse_count(optarg, 1, 1000000, &runs))
				return cli_usage_error(ctx, &cmd_bench_entry, "--runs '%s' is not 1..1000000", optarg);
			break;
		case OPT_WARMUP:
			if (!cli_infer_parse_count(optarg, 0, 1000000, &warmup))
				return cli_usage_error(ctx, &cmd_bench_entry, "--warmup '%s' is not 0..1000000", optarg);
			break;
		case OPT_WATTS:
			if (!parse_amount(optarg, 1e6, &k.watts))
				return cli_usage_error(ctx, &cmd_bench_entry, "--watts '%s' is not a decimal such as 65",
				    optarg);
			break;
		case OPT_KWH:
			if (!parse_amount(optarg, 1e6, &k.kwh_price))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--kwh-price '%s' is not a decimal such as 0.15", optarg);
			break;
		case OPT_CURRENCY:
			if (!valid_currency(optarg))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--currency '%s' is not a code of letters such as EUR", optarg);
			k.currency = optarg;
			break;
		case OPT_HWCOST:
			if (!parse_amount(optarg, 1e12, &k.hardware_cost))
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--hardware-cost '%s' is not a decimal such as 1200", optarg);
			break;
		case OPT_LIFETIME:
			if (!parse_amount(optarg, 100, &k.lifetime_years) || k.lifetime_years <= 0)
				return cli_usage_error(ctx, &cmd_bench_entry,
				    "--lifetime-years '%s' is not a decimal in (0, 100]", optarg);
			break;
		case OPT_JSON:
			if (!cli_set_format(ctx, CLI_FORMAT_JSON))
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			cmd_print_help(ctx->out, &cmd_bench_entry);
			return CLI_EXIT_OK;
		default:
			return cli_option_error(ctx, &cmd_bench_entry, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, &cmd_bench_entry, "unexpected argument '%s'", argv[optind]);
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_bench_entry, "--csv is not supported here (use --json)");
	if (warmup < 0)
		warmup = cli_infer_default_warmup(runs);

	model_path = model_arg != NULL ? xstrdup(model_arg) : cli_infer_default_model();
	if ((rc = cli_infer_open(ctx, model_path, backend, threads, &model, &session)) != CLI_EXIT_OK)
		goto done;
	n_in = infer_model_input_count(model);
	inputs = xcalloc(n_in > 0 ? n_in : 1, sizeof(*inputs));
	if ((rc = make_inputs(ctx, model, model_path, batch, inputs)) != CLI_EXIT_OK)
		goto done;
	rc = cli_infer_time(ctx, session, inputs, n_in, infer_model_output_count(model), warmup, runs, &t);
	if (rc != CLI_EXIT_OK)
		goto done;
	report(ctx, model_path, backend != NULL ? backend : "cpu", cli_infer_threads_shown(threads), batch, &t, &k);

done:
	for (size_t i = 0; inputs != NULL && i < n_in; i++)
		infer_tensor_release(&inputs[i]);
	free(inputs);
	if (session != NULL)
		infer_session_free(session);
	if (model != NULL)
		infer_model_free(model);
	free(model_path);
	return rc;
}
