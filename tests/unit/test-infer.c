/* test-infer.c: unit tests of the inference core (placeholder, filled below). */
#include <criterion/criterion.h>

#include "pricewatch/infer.h"

Test(infer, status_names)
{
	cr_assert_str_eq(infer_status_name(INFER_E_UNSUPPORTED), "unsupported");
}
