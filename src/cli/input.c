/* input.c: reads a command's input file (or standard input) whole, up to a limit the command chooses. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"

/* Start small: most pages and robots.txt files are far below their limits. */
#define INPUT_FIRST_CAP ((size_t)64 * 1024)

char *
cli_read_input(const char *path, size_t max, size_t *len_out)
{
	size_t cap, len = 0;
	char *buf;
	FILE *f;
	int saved;

	/* max + 1 below holds the terminating NUL. */
	if (max == SIZE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		return NULL;
	cap = max < INPUT_FIRST_CAP ? max : INPUT_FIRST_CAP;
	buf = xmalloc(cap + 1);
	for (;;) {
		size_t n;

		if (len == cap) {
			if (cap >= max)
				break;
			cap = cap > max / 2 ? max : cap * 2;
			buf = xreallocarray(buf, cap + 1, 1);
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		saved = errno != 0 ? errno : EIO;
		if (f != stdin)
			fclose(f);
		else
			clearerr(stdin);
		free(buf);
		errno = saved;
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	*len_out = len;
	return buf;
}
