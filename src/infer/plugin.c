/* plugin.c: opens backends by name (the built-in CPU one, or a plugin shared object loaded with dlopen and checked against the ABI), lists those that open here, and picks one for "auto" by measurement. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#ifndef PW_PLUGIN_DIR
#define PW_PLUGIN_DIR "/usr/local/lib/pricewatch/backends"
#endif

int
infer_backend_check(const pw_backend_ops *be, infer_error *err)
{
	if (be->abi_version != PW_BACKEND_ABI_VERSION) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' was built for ABI version %u, this engine uses %u",
		    be->name != NULL ? be->name : "?", be->abi_version, PW_BACKEND_ABI_VERSION);
		return -1;
	}
	if (be->struct_size < sizeof(pw_backend_ops) || be->name == NULL || be->probe == NULL ||
	    be->supports == NULL || be->compile == NULL || be->execute == NULL || be->release == NULL ||
	    be->shutdown == NULL) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' lacks a required entry point",
		    be->name != NULL ? be->name : "?");
		return -1;
	}
	return 0;
}

/* The plugin directory: dir, else $PW_BACKEND_DIR, else the installed one. */
static const char *
plugin_dir(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		dir = getenv("PW_BACKEND_DIR");
	return dir != NULL && dir[0] != '\0' ? dir : PW_PLUGIN_DIR;
}

/* Plugin names become file names: only [a-z0-9_-], so a name cannot reach outside the directory. */
static int
valid_name(const char *name, size_t len)
{
	if (len == 0 || len > 32)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-'))
			return 0;
	return 1;
}

int
infer_backend_open(const char *name, size_t len, const char *dir, struct infer_backend *b, infer_error *err)
{
	char path[4096];
	pw_backend_entry_fn entry;
	void *sym;

	memset(b, 0, sizeof(*b));
	if (!valid_name(name, len)) {
		infer_err(err, INFER_E_BACKEND, "backend name '%.*s' is invalid (use a-z, 0-9, _ and -)", (int)(len > 64 ? 64 : len),
		    name);
		return -1;
	}
	if (len == 3 && memcmp(name, "cpu", 3) == 0)
		b->ops = infer_cpu_backend();
	else {
		dir = plugin_dir(dir);
		if (snprintf(path, sizeof(path), "%s/pw-backend-%.*s.so", dir, (int)len, name) >= (int)sizeof(path)) {
			infer_err(err, INFER_E_BACKEND, "backend directory path too long");
			return -1;
		}
		b->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (b->dl == NULL) {
			const char *why = dlerror();
			infer_err(err, INFER_E_BACKEND, "backend '%.*s': cannot load %s: %s", (int)len, name, path,
			    why != NULL ? why : "unknown error");
			return -1;
		}
		sym = dlsym(b->dl, PW_BACKEND_ENTRY_SYMBOL);
		if (sym == NULL) {
			infer_err(err, INFER_E_BACKEND, "backend '%.*s': %s has no %s symbol", (int)len, name, path,
			    PW_BACKEND_ENTRY_SYMBOL);
			infer_backend_close(b);
			return -1;
		}
		/* POSIX guarantees data and function pointers convert for dlsym results. */
		memcpy(&entry, &sym, sizeof(entry));
		b->ops = entry();
		if (b->ops == NULL) {
			infer_err(err, INFER_E_BACKEND, "backend '%.*s': %s returned no ops table", (int)len, name,
			    PW_BACKEND_ENTRY_SYMBOL);
			infer_backend_close(b);
			return -1;
		}
	}
	if (infer_backend_check(b->ops, err) < 0 || b->ops->probe(&b->ctx, err) < 0) {
		b->ops = NULL;
		infer_backend_close(b);
		return -1;
	}
	if (b->ops->buffer_alloc != NULL) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' uses device memory; this scheduler supports only "
		    "host-memory backends so far", b->ops->name);
		infer_backend_close(b);
		return -1;
	}
	b->opened = 1;
	return 0;
}

void
infer_backend_close(struct infer_backend *b)
{
	if (b->ops != NULL && b->opened)
		b->ops->shutdown(b->ctx);
	if (b->dl != NULL)
		dlclose(b->dl);
	memset(b, 0, sizeof(*b));
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
infer_backend_available(const char *dir, char (*names)[INFER_BACKEND_NAME_MAX], int max)
{
	static const char prefix[] = "pw-backend-", suffix[] = ".so";
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (max < 1)
		return 0;
	snprintf(names[n++], INFER_BACKEND_NAME_MAX, "cpu");
	dir = plugin_dir(dir);
	if ((d = opendir(dir)) == NULL)
		return n;
	while (n < max && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), nl;
		struct infer_backend b;
		infer_error err;
		if (len <= sizeof(prefix) - 1 + sizeof(suffix) - 1 || strncmp(e->d_name, prefix, sizeof(prefix) - 1) != 0 ||
		    strcmp(e->d_name + len - (sizeof(suffix) - 1), suffix) != 0)
			continue;
		nl = len - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
		if (!valid_name(e->d_name + sizeof(prefix) - 1, nl) ||
		    infer_backend_open(e->d_name + sizeof(prefix) - 1, nl, dir, &b, &err) < 0)
			continue;
		infer_backend_close(&b);
		snprintf(names[n++], INFER_BACKEND_NAME_MAX, "%.*s", (int)nl, e->d_name + sizeof(prefix) - 1);
	}
	closedir(d);
	qsort(names + 1, (size_t)(n - 1), sizeof(*names), compare_names);
	return n;
}

/* FNV-1a, 64 bits: cache keys only (nothing here needs a cryptographic hash). */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}

#define FNV_SEED 14695981039346656037ull

/* The model: its operators, and every constant's shape and bytes. */
static uint64_t
model_key(const infer_model *m)
{
	uint64_t h = fnv(FNV_SEED, &m->n_nodes, sizeof(m->n_nodes));

	for (int i = 0; i < m->n_nodes; i++)
		h = fnv(h, m->nodes[i].op_type, strlen(m->nodes[i].op_type) + 1);
	for (int v = 0; v < m->n_values; v++) {
		const infer_tensor *t = m->values[v].konst;
		int64_t n;
		if (t == NULL || (n = infer_tensor_numel(t)) < 0)
			continue;
		h = fnv(h, t->dims, (size_t)t->ndim * sizeof(t->dims[0]));
		h = fnv(h, t->data, (size_t)n * infer_dtype_size(t->dtype));
	}
	return h;
}

/* The machine: host name, CPU model, and each plugin file (name, size, time), so a new driver build or an
 * added card measures again. */
static uint64_t
machine_key(const char *dir, char (*names)[INFER_BACKEND_NAME_MAX], int n)
{
	char buf[512] = "";
	uint64_t h = FNV_SEED;
	FILE *f;

	if (gethostname(buf, sizeof(buf) - 1) == 0)
		h = fnv(h, buf, strlen(buf));
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "model name", 10) == 0) {
				h = fnv(h, buf, strlen(buf));
				break;
			}
		fclose(f);
	}
	for (int i = 0; i < n; i++) {
		struct stat st;
		h = fnv(h, names[i], strlen(names[i]) + 1);
		if (snprintf(buf, sizeof(buf), "%s/pw-backend-%s.so", dir, names[i]) < (int)sizeof(buf) &&
		    stat(buf, &st) == 0) {
			h = fnv(h, &st.st_size, sizeof(st.st_size));
			h = fnv(h, &st.st_mtime, sizeof(st.st_mtime));
		}
	}
	return h;
}

/* Fills calibration inputs of the declared shapes (a symbolic batch becomes 1); -1 when a shape is unknown. */
static int
calibration_inputs(const infer_model *m, infer_tensor *in, infer_error *err)
{
	for (int i = 0; i < m->n_inputs; i++) {
		const infer_tensor *decl = &m->values[m->inputs[i]].decl;
		int64_t n, dims[INFER_MAX_DIMS];
		if (decl->ndim < 0)
			return -1;
		for (int d = 0; d < decl->ndim; d++)
			if ((dims[d] = decl->dims[d]) < 0 && (d > 0 || (dims[d] = 1) < 0))
				return -1;
		if (infer_tensor_alloc(&in[i], decl->dtype, decl->ndim, dims, err) < 0)
			return -1;
		n = infer_tensor_numel(&in[i]);
		for (int64_t k = 0; decl->dtype == INFER_DTYPE_FLOAT && k < n; k++)
			((float *)in[i].data)[k] = (float)(k % 251) / 251.0f;
	}
	return 0;
}

/* Milliseconds per run of m on backend name: one untimed run (kernel builds, weight uploads), then the best of
 * three; a negative value when the backend cannot run the model. */
static double
calibrate(const infer_model *m, const infer_session_opts *o, const char *name, infer_tensor *in)
{
	infer_session_opts so = *o;
	infer_tensor *out = calloc((size_t)m->n_outputs + 1, sizeof(*out));
	infer_session *s;
	infer_error err;
	double best = -1;

	so.backend = name;
	if (out == NULL || (s = infer_session_create(m, &so, &err)) == NULL) {
		free(out);
		return -1;
	}
	for (int r = 0; r < 4; r++) {
		struct timespec t0, t1;
		double dt;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (infer_run(s, in, (size_t)m->n_inputs, out, (size_t)m->n_outputs, &err) < 0) {
			best = -1;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		for (int k = 0; k < m->n_outputs; k++)
			infer_tensor_release(&out[k]);
		/* A backend that had to be dropped has not run the model: it does not compete. */
		if (strcmp(infer_session_backend(s), name) != 0) {
			best = -1;
			break;
		}
		if (r > 0 && (best < 0 || dt < best))
			best = dt;
	}
	infer_session_free(s);
	free(out);
	return best;
}

/* The cached choice for (model, machine), or 0 when none. Lines: MODELKEY MACHINEKEY NAME MS. */
static int
cache_lookup(const char *path, uint64_t mk, uint64_t hk, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[256], name[INFER_BACKEND_NAME_MAX];
	unsigned long long a, b;
	double ms;
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%llx %llx %32s %lf", &a, &b, name, &ms) == 4 && a == mk && b == hk &&
		    valid_name(name, strlen(name))) {
			snprintf(out, len, "%s", name);
			found = 1;
		}
	fclose(f);
	return found;
}

/* Appends the choice, keeping the other models' and machines' lines (write a copy, then rename). */
static void
cache_store(const char *path, uint64_t mk, uint64_t hk, const char *name, double ms)
{
	char tmp[4200], line[256];
	FILE *in = fopen(path, "r"), *out;
	unsigned long long a, b;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp) ||
	    (out = fopen(tmp, "w")) == NULL) {
		if (in != NULL)
			fclose(in);
		return;
	}
	while (in != NULL && fgets(line, sizeof(line), in) != NULL)
		if (sscanf(line, "%llx %llx", &a, &b) == 2 && !(a == mk && b == hk))
			fputs(line, out);
	if (in != NULL)
		fclose(in);
	fprintf(out, "%016llx %016llx %s %.3f\n", (unsigned long long)mk, (unsigned long long)hk, name, ms);
	if (fclose(out) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

#define AUTO_MAX_BACKENDS 8

int
infer_backend_auto(const infer_model *m, const infer_session_opts *o, char *out, size_t len, infer_error *err)
{
	char names[AUTO_MAX_BACKENDS][INFER_BACKEND_NAME_MAX], path[4096] = "", report[384] = "";
	infer_tensor *in = calloc((size_t)m->n_inputs + 1, sizeof(*in));
	const char *dir = plugin_dir(o->plugin_dir);
	int n = infer_backend_available(o->plugin_dir, names, AUTO_MAX_BACKENDS), best = 0;
	double best_ms = -1;
	uint64_t mk = 0, hk = 0;
	size_t used = 0;

	snprintf(out, len, "cpu");
	if (in == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory choosing a backend");
		return -1;
	}
	if (o->cache_dir != NULL && o->cache_dir[0] != '\0' &&
	    snprintf(path, sizeof(path), "%s/backend-choice", o->cache_dir) < (int)sizeof(path)) {
		mk = model_key(m);
		hk = machine_key(dir, names, n);
		if (cache_lookup(path, mk, hk, out, len))
			goto done;
	}
	if (n < 2 || calibration_inputs(m, in, err) < 0)
		goto done;   /* only the CPU, or shapes unknown until run time: the CPU needs no measuring */
	for (int i = 0; i < n; i++) {
		double ms = calibrate(m, o, names[i], in);
		if (used < sizeof(report))
			used += (size_t)snprintf(report + used, sizeof(report) - used, "%s%s %s", i > 0 ? ", " : "", names[i],
			    ms < 0 ? "failed" : "");
		if (ms >= 0 && used < sizeof(report))
			used += (size_t)snprintf(report + used, sizeof(report) - used, "%.2f ms", ms);
		if (ms >= 0 && (best_ms < 0 || ms < best_ms)) {
			best_ms = ms;
			best = i;
		}
	}
	snprintf(out, len, "%s", names[best]);
	fprintf(stderr, "pricewatch: inference backend auto: chose '%s' (measured per run: %s)\n", out, report);
	if (path[0] != '\0' && best_ms >= 0)
		cache_store(path, mk, hk, out, best_ms);
done:
	for (int i = 0; i < m->n_inputs; i++)
		infer_tensor_release(&in[i]);
	free(in);
	return 0;
}
