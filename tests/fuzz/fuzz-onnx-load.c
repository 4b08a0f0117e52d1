/* fuzz-onnx-load.c: libFuzzer target for the ONNX loader: any bytes must load or fail cleanly, and what loads must run or fail cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pricewatch/infer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	infer_error err;
	infer_model *m = infer_model_load_mem(data, size, "fuzz.onnx", &err);
	infer_session *s;
	infer_tensor in[4] = { 0 }, out[8];
	size_t ni, no;
	int ok = 1;

	if (m == NULL)
		return 0;
	ni = infer_model_input_count(m);
	no = infer_model_output_count(m);
	/* Run only small, fully declared inputs so one case stays fast. */
	if (ni > 4 || no > 8)
		ok = 0;
	for (size_t i = 0; ok && i < ni; i++) {
		infer_tensor info;
		int64_t n;
		infer_model_input_info(m, i, &info);
		if (info.ndim < 0) {
			ok = 0;
			break;
		}
		in[i] = info;
		n = infer_tensor_numel(&info);
		if (n < 0 || n > 4096) {
			ok = 0;
			break;
		}
		in[i].data = calloc((size_t)n + 1, info.dtype == INFER_DTYPE_FLOAT ? sizeof(float) : sizeof(int64_t));
		if (in[i].data == NULL)
			ok = 0;
	}
	/* Bound every intermediate so a hostile but valid graph cannot take minutes or gigabytes. */
	infer_session_opts opts = { .threads = 1, .max_tensor_elems = 1 << 16 };
	if (ok && (s = infer_session_create(m, &opts, &err)) != NULL) {
		if (infer_run(s, in, ni, out, no, &err) == 0)
			for (size_t i = 0; i < no; i++)
				infer_tensor_release(&out[i]);
		infer_session_free(s);
	}
	for (size_t i = 0; i < ni && i < 4; i++)
		free(in[i].data);
	infer_model_free(m);
	return 0;
}
