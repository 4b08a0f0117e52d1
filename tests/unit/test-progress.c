/* test-progress.c: the progress bar's line rendering, and that plain (non-tty) mode writes nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"

Test(progress, renders_bar_count_percent_rate_and_eta)
{
	char buf[256];

	progress_render(buf, sizeof(buf), "crawl", 6, 24, 2000, NULL, 0);
	cr_expect_str_eq(buf, "crawl [######                  ] 6/24  25%  eta 6s  3.0/s");
	progress_render(buf, sizeof(buf), "crawl", 24, 24, 4000, NULL, 0);
	cr_expect_str_eq(buf, "crawl [########################] 24/24 100%  6.0/s");
	progress_render(buf, sizeof(buf), "import", 7, 0, 1000, "sku-7", 0);
	cr_expect_str_eq(buf, "import 7  7.0/s  sku-7");
}

Test(progress, item_is_clipped_to_the_width_and_buffer_is_bounded)
{
	char buf[256], tiny[8];

	/* The bar alone is 51 columns: at 40 the item is left out, at 70 it is cut with an ellipsis. */
	progress_render(buf, sizeof(buf), "x", 1, 2, 1000, "https://shop.example/a/very/long/path", 40);
	cr_expect(strstr(buf, "https") == NULL, "%s", buf);
	progress_render(buf, sizeof(buf), "x", 1, 2, 1000, "https://shop.example/a/very/long/path", 70);
	cr_expect(strstr(buf, "  https://shop") != NULL, "%s", buf);
	cr_expect(strstr(buf, "…") != NULL, "%s", buf);
	cr_expect(strstr(buf, "/path") == NULL, "%s", buf);
	progress_render(tiny, sizeof(tiny), "label", 1, 2, 1000, NULL, 0);
	cr_expect_eq(strlen(tiny), 7);
}

Test(progress, plain_mode_writes_nothing_bar_mode_redraws_and_clears)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct progress p;

	progress_start(&p, f, "fetch", 3, 0);
	progress_step(&p, "a");
	progress_step(&p, "b");
	progress_done(&p);
	fflush(f);
	cr_expect_eq(len, 0, "plain mode wrote '%s'", text);

	progress_start(&p, f, "fetch", 2, 1);
	progress_step(&p, "a");
	progress_step(&p, "b");
	fflush(f);
	cr_expect(strstr(text, "\rfetch [") != NULL, "%s", text);
	cr_expect(strstr(text, "2/2 100%") != NULL, "%s", text);
	progress_done(&p);
	fclose(f);
	cr_expect_eq(text[len - 1], '\r');
	free(text);
}
