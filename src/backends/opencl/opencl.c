/* opencl.c: the "opencl" backend plugin: the shared GPU lowering (gpu-backend.c) on an OpenCL 1.2 device, kernels built from source embedded in the .so. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "backends/common/gpu.h"

/* The dialect of kernels.cl mapped to OpenCL C, then the kernels (kernels-cl.h is generated from kernels.cl). */
static const char prelude[] =
	"#define KERNEL __kernel\n#define DEVICE\n#define GLOBAL __global\n#define LOCAL __local\n"
	"#define BARRIER barrier(CLK_LOCAL_MEM_FENCE)\n#define GID0 ((int)get_global_id(0))\n"
	"#define LID0 ((int)get_local_id(0))\n#define LID1 ((int)get_local_id(1))\n"
	"#define GRP0 ((int)get_group_id(0))\n#define GRP1 ((int)get_group_id(1))\n#define GRP2 ((int)get_group_id(2))\n"
	"#define FMINF fmin\n#define FMAXF fmax\n#define EXPF exp\n";
static const char kernels_src[] =
#include "backends/common/kernels-cl.h"
	;

struct cl_dev {
	struct gpu_dev dev;       /* first: the shared code sees a struct gpu_dev * */
	cl_context context;
	cl_command_queue queue;
	cl_program program;
	cl_kernel kernels[GK_COUNT];
};

static int
cl_fail(struct gpu_dev *dev, cl_int rc, const char *what)
{
	dev->oom = rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES || rc == CL_OUT_OF_HOST_MEMORY;
	snprintf(dev->msg, sizeof(dev->msg), "%s failed (OpenCL error %d)%s", what, (int)rc,
	    dev->oom ? ": out of device memory" : "");
	return -1;
}

static void *
cl_alloc(struct gpu_dev *dev, size_t bytes)
{
	struct cl_dev *d = (struct cl_dev *)dev;
	cl_int rc;
	cl_mem m = clCreateBuffer(d->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);

	if (m == NULL) {
		cl_fail(dev, rc, "clCreateBuffer");
		return NULL;
	}
	return m;
}

static void
cl_free(struct gpu_dev *dev, void *buf)
{
	(void)dev;
	clReleaseMemObject(buf);
}

static int
cl_upload(struct gpu_dev *dev, void *dst, const void *src, size_t bytes)
{
	struct cl_dev *d = (struct cl_dev *)dev;
	cl_int rc = clEnqueueWriteBuffer(d->queue, dst, CL_TRUE, 0, bytes, src, 0, NULL, NULL);

	return rc == CL_SUCCESS ? 0 : cl_fail(dev, rc, "clEnqueueWriteBuffer");
}

static int
cl_download(struct gpu_dev *dev, void *dst, const void *src, size_t bytes)
{
	struct cl_dev *d = (struct cl_dev *)dev;
	cl_int rc = clEnqueueReadBuffer(d->queue, (cl_mem)(uintptr_t)src, CL_TRUE, 0, bytes, dst, 0, NULL, NULL);

	return rc == CL_SUCCESS ? 0 : cl_fail(dev, rc, "clEnqueueReadBuffer");
}

static int
cl_launch(struct gpu_dev *dev, enum gpu_kernel k, int dims, const size_t *global, const size_t *local,
    const struct gpu_arg *args, int nargs)
{
	struct cl_dev *d = (struct cl_dev *)dev;
	cl_kernel kern = d->kernels[k];
	cl_int rc = CL_SUCCESS;

	for (int i = 0; i < nargs && rc == CL_SUCCESS; i++) {
		cl_mem m = args[i].buf;
		if (args[i].kind == GA_BUF)
			rc = clSetKernelArg(kern, (cl_uint)i, sizeof(m), &m);
		else if (args[i].kind == GA_INT)
			rc = clSetKernelArg(kern, (cl_uint)i, sizeof(cl_int), &args[i].i);
		else
			rc = clSetKernelArg(kern, (cl_uint)i, sizeof(cl_float), &args[i].f);
	}
	if (rc != CL_SUCCESS)
		return cl_fail(dev, rc, "clSetKernelArg");
	rc = clEnqueueNDRangeKernel(d->queue, kern, (cl_uint)dims, NULL, global, local, 0, NULL, NULL);
	return rc == CL_SUCCESS ? 0 : cl_fail(dev, rc, "clEnqueueNDRangeKernel");
}

static int
cl_finish(struct gpu_dev *dev)
{
	struct cl_dev *d = (struct cl_dev *)dev;
	cl_int rc = clFinish(d->queue);

	return rc == CL_SUCCESS ? 0 : cl_fail(dev, rc, "clFinish");
}

static const struct gpu_dev_ops cl_ops = {
	.alloc = cl_alloc, .free = cl_free, .upload = cl_upload, .download = cl_download, .launch = cl_launch,
	.finish = cl_finish,
};

static void
cl_shutdown(void *ctx)
{
	struct cl_dev *d = ctx;

	if (d == NULL)
		return;
	for (int k = 0; k < GK_COUNT; k++)
		if (d->kernels[k] != NULL)
			clReleaseKernel(d->kernels[k]);
	if (d->program != NULL)
		clReleaseProgram(d->program);
	if (d->queue != NULL)
		clReleaseCommandQueue(d->queue);
	if (d->context != NULL)
		clReleaseContext(d->context);
	free(d);
}

/* The first GPU of any platform, else the first device of any type (PoCL's CPU device in CI). */
static int
pick_device(cl_device_id *out, infer_error *err)
{
	cl_platform_id plats[8];
	cl_uint np = 0, nd = 0;

	if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS || np == 0) {
		infer_err(err, INFER_E_BACKEND, "opencl: no OpenCL platform (install an ICD such as pocl-opencl-icd)");
		return -1;
	}
	for (cl_uint pass = 0; pass < 2; pass++)
		for (cl_uint p = 0; p < np && p < 8; p++)
			if (clGetDeviceIDs(plats[p], pass == 0 ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_ALL, 1, out, &nd) ==
			    CL_SUCCESS && nd > 0)
				return 0;
	infer_err(err, INFER_E_BACKEND, "opencl: %u platform(s) but no device", (unsigned)np);
	return -1;
}

static int
build_program(struct cl_dev *d, cl_device_id dev, infer_error *err)
{
	const char *parts[2] = { prelude, kernels_src };
	cl_int rc;

	d->program = clCreateProgramWithSource(d->context, 2, parts, NULL, &rc);
	if (d->program == NULL) {
		infer_err(err, INFER_E_BACKEND, "opencl: clCreateProgramWithSource failed (%d)", (int)rc);
		return -1;
	}
	if ((rc = clBuildProgram(d->program, 1, &dev, "-cl-std=CL1.2", NULL, NULL)) != CL_SUCCESS) {
		char log[384] = "";
		clGetProgramBuildInfo(d->program, dev, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log, NULL);
		infer_err(err, INFER_E_BACKEND, "opencl: building the kernels failed (%d): %s", (int)rc, log);
		return -1;
	}
	for (int k = 0; k < GK_COUNT; k++)
		if ((d->kernels[k] = clCreateKernel(d->program, gpu_kernel_names[k], &rc)) == NULL) {
			infer_err(err, INFER_E_BACKEND, "opencl: kernel %s: error %d", gpu_kernel_names[k], (int)rc);
			return -1;
		}
	return 0;
}

static int
cl_probe(void **ctx, infer_error *err)
{
	struct cl_dev *d = calloc(1, sizeof(*d));
	cl_device_id dev;
	cl_int rc;

	*ctx = NULL;
	if (d == NULL) {
		infer_err(err, INFER_E_NOMEM, "opencl: out of memory");
		return -1;
	}
	gpu_dev_init(&d->dev, &cl_ops, "OpenCL");
	if (pick_device(&dev, err) < 0)
		goto fail;
	clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof(d->dev.device_name) - 1, d->dev.device_name, NULL);
	if ((d->context = clCreateContext(NULL, 1, &dev, NULL, NULL, &rc)) == NULL ||
	    (d->queue = clCreateCommandQueue(d->context, dev, 0, &rc)) == NULL) {
		infer_err(err, INFER_E_BACKEND, "opencl: cannot open device '%s' (%d)", d->dev.device_name, (int)rc);
		goto fail;
	}
	if (build_program(d, dev, err) < 0)
		goto fail;
	*ctx = d;
	return 0;
fail:
	cl_shutdown(d);
	return -1;
}

GPU_BACKEND_PLUGIN(opencl_backend, "opencl", 10, cl_probe, cl_shutdown)
