/* cpu.c: picks the CPU kernel variant once, from the CPU's features and the PW_CPU override. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

static int
cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq");
#else
	return 0;
#endif
}

enum infer_cpu_level
infer_cpu_level(void)
{
	static int cached = -1;
	int best, lvl;
	const char *force;

#ifdef PW_BACKEND_PLUGIN
	/* The "reference" plugin runs the plain C loops only. */
	return CPU_REFERENCE;
#endif
	if ((lvl = __atomic_load_n(&cached, __ATOMIC_RELAXED)) >= 0)
		return (enum infer_cpu_level)lvl;
	best = cpu_has_avx2() ? (cpu_has_avx512() ? CPU_AVX512 : CPU_AVX2) : CPU_GENERIC;
	lvl = best;
	force = getenv("PW_CPU");
	if (force != NULL && force[0] != '\0') {
		if (strcmp(force, "generic") == 0)
			lvl = CPU_GENERIC;
		else if (strcmp(force, "avx2") == 0)
			lvl = CPU_AVX2 <= best ? CPU_AVX2 : best;
		else if (strcmp(force, "avx512") == 0)
			lvl = best;
		else if (strcmp(force, "reference") == 0)
			lvl = CPU_REFERENCE;
	}
	/* Threads racing here all compute the same value. */
	__atomic_store_n(&cached, lvl, __ATOMIC_RELAXED);
	return (enum infer_cpu_level)lvl;
}

const char *
infer_cpu_level_name(enum infer_cpu_level lvl)
{
	switch (lvl) {
	case CPU_REFERENCE: return "reference";
	case CPU_GENERIC: return "generic";
	case CPU_AVX2: return "avx2";
	case CPU_AVX512: return "avx512";
	}
	return "?";
}
