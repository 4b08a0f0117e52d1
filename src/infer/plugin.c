/* plugin.c: opens backends by name: the built-in CPU one, or a plugin shared object loaded with dlopen and checked against the ABI. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (dir == NULL || dir[0] == '\0')
			dir = getenv("PW_BACKEND_DIR");
		if (dir == NULL || dir[0] == '\0')
			dir = PW_PLUGIN_DIR;
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
