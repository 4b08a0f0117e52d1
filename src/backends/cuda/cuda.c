/* cuda.c: the "cuda" backend plugin: the shared GPU lowering (gpu-backend.c) on an NVIDIA GPU through the CUDA runtime, one stream and pinned staging buffers. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "backends/common/gpu.h"

/* kernels.cu: the __global__ functions, in enum gpu_kernel order. */
extern const void *const pw_cuda_kernels[GK_COUNT];

struct cu_dev {
	struct gpu_dev dev;       /* first: the shared code sees a struct gpu_dev * */
	cudaStream_t stream;
	void *pinned;             /* page-locked staging buffer for uploads and downloads */
	size_t pinned_cap;
};

static int
cu_fail(struct gpu_dev *dev, cudaError_t rc, const char *what)
{
	dev->oom = rc == cudaErrorMemoryAllocation;
	snprintf(dev->msg, sizeof(dev->msg), "%s failed: %s", what, cudaGetErrorString(rc));
	return -1;
}

static void *
cu_alloc(struct gpu_dev *dev, size_t bytes)
{
	void *p = NULL;
	cudaError_t rc = cudaMalloc(&p, bytes);

	if (rc != cudaSuccess) {
		cu_fail(dev, rc, "cudaMalloc");
		return NULL;
	}
	return p;
}

static void
cu_free(struct gpu_dev *dev, void *buf)
{
	(void)dev;
	cudaFree(buf);
}

/* Grows the pinned staging buffer to bytes. */
static int
staging(struct cu_dev *d, size_t bytes)
{
	cudaError_t rc;

	if (d->pinned_cap >= bytes)
		return 0;
	if (d->pinned != NULL)
		cudaFreeHost(d->pinned);
	d->pinned = NULL;
	d->pinned_cap = 0;
	if ((rc = cudaMallocHost(&d->pinned, bytes)) != cudaSuccess)
		return cu_fail(&d->dev, rc, "cudaMallocHost");
	d->pinned_cap = bytes;
	return 0;
}

/* Both directions: through the pinned buffer on the stream, waited for before returning. */
static int
cu_copy(struct gpu_dev *dev, void *dst, const void *src, size_t bytes, int to_device)
{
	struct cu_dev *d = (struct cu_dev *)dev;
	cudaError_t rc;

	if (staging(d, bytes) < 0)
		return -1;
	if (to_device)
		memcpy(d->pinned, src, bytes);
	rc = cudaMemcpyAsync(to_device ? dst : d->pinned, to_device ? d->pinned : src, bytes,
	    to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, d->stream);
	if (rc == cudaSuccess)
		rc = cudaStreamSynchronize(d->stream);
	if (rc != cudaSuccess)
		return cu_fail(dev, rc, to_device ? "upload" : "download");
	if (!to_device)
		memcpy(dst, d->pinned, bytes);
	return 0;
}

static int
cu_upload(struct gpu_dev *dev, void *dst, const void *src, size_t bytes)
{
	return cu_copy(dev, dst, src, bytes, 1);
}

static int
cu_download(struct gpu_dev *dev, void *dst, const void *src, size_t bytes)
{
	return cu_copy(dev, dst, src, bytes, 0);
}

static int
cu_launch(struct gpu_dev *dev, enum gpu_kernel k, int dims, const size_t *global, const size_t *local,
    const struct gpu_arg *args, int nargs)
{
	struct cu_dev *d = (struct cu_dev *)dev;
	struct gpu_arg copy[GPU_MAX_ARGS];
	void *argv[GPU_MAX_ARGS];
	unsigned g[3] = { 1, 1, 1 }, b[3] = { 1, 1, 1 };
	cudaError_t rc;

	if (nargs > GPU_MAX_ARGS) {
		snprintf(dev->msg, sizeof(dev->msg), "%d kernel arguments (at most %d)", nargs, GPU_MAX_ARGS);
		return -1;
	}
	memcpy(copy, args, (size_t)nargs * sizeof(*args));
	for (int i = 0; i < nargs; i++)
		argv[i] = copy[i].kind == GA_BUF ? (void *)&copy[i].buf : copy[i].kind == GA_INT ? (void *)&copy[i].i :
		    (void *)&copy[i].f;
	for (int i = 0; i < dims && i < 3; i++) {
		b[i] = (unsigned)local[i];
		g[i] = (unsigned)(global[i] / local[i]);
	}
	rc = cudaLaunchKernel(pw_cuda_kernels[k], (dim3){ g[0], g[1], g[2] }, (dim3){ b[0], b[1], b[2] }, argv, 0,
	    d->stream);
	return rc == cudaSuccess ? 0 : cu_fail(dev, rc, "cudaLaunchKernel");
}

static int
cu_finish(struct gpu_dev *dev)
{
	struct cu_dev *d = (struct cu_dev *)dev;
	cudaError_t rc = cudaStreamSynchronize(d->stream);

	return rc == cudaSuccess ? 0 : cu_fail(dev, rc, "cudaStreamSynchronize");
}

static const struct gpu_dev_ops cu_ops = {
	.alloc = cu_alloc, .free = cu_free, .upload = cu_upload, .download = cu_download, .launch = cu_launch,
	.finish = cu_finish,
};

static void
cu_shutdown(void *ctx)
{
	struct cu_dev *d = ctx;

	if (d == NULL)
		return;
	if (d->pinned != NULL)
		cudaFreeHost(d->pinned);
	if (d->stream != NULL)
		cudaStreamDestroy(d->stream);
	free(d);
}

static int
cu_probe(void **ctx, infer_error *err)
{
	struct cu_dev *d;
	struct cudaDeviceProp prop;
	int n = 0;
	cudaError_t rc;

	*ctx = NULL;
	if ((rc = cudaGetDeviceCount(&n)) != cudaSuccess || n == 0) {
		infer_err(err, INFER_E_BACKEND, "cuda: no CUDA device (%s)",
		    rc != cudaSuccess ? cudaGetErrorString(rc) : "none found");
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		infer_err(err, INFER_E_NOMEM, "cuda: out of memory");
		return -1;
	}
	gpu_dev_init(&d->dev, &cu_ops, "CUDA");
	if ((rc = cudaSetDevice(0)) != cudaSuccess || (rc = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess ||
	    (rc = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking)) != cudaSuccess) {
		infer_err(err, INFER_E_BACKEND, "cuda: cannot open device 0: %s", cudaGetErrorString(rc));
		cu_shutdown(d);
		return -1;
	}
	snprintf(d->dev.device_name, sizeof(d->dev.device_name), "%.127s", prop.name);
	*ctx = d;
	return 0;
}

GPU_BACKEND_PLUGIN(cuda_backend, "cuda", 11, cu_probe, cu_shutdown)
