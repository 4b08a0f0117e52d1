/* kernels.cu: the kernels of kernels.cl compiled by nvcc for the CUDA backend, exposed as a table in gpu_kernel order. */
#include <cfloat>

#define KERNEL extern "C" __global__
#define DEVICE static __device__ __forceinline__
#define GLOBAL
#define LOCAL __shared__
#define BARRIER __syncthreads()
#define GID0 ((int)(blockIdx.x * blockDim.x + threadIdx.x))
#define LID0 ((int)threadIdx.x)
#define LID1 ((int)threadIdx.y)
#define GRP0 ((int)blockIdx.x)
#define GRP1 ((int)blockIdx.y)
#define GRP2 ((int)blockIdx.z)
#define FMINF fminf
#define FMAXF fmaxf
#define EXPF expf

#include "backends/common/kernels.cl"

/* Same order as enum gpu_kernel (gpu.h). */
extern "C" __attribute__((visibility("hidden"))) const void *const pw_cuda_kernels[] = {
	(const void *)pw_conv2d, (const void *)pw_gemm, (const void *)pw_binary, (const void *)pw_unary,
	(const void *)pw_pool2d, (const void *)pw_gap, (const void *)pw_copy,
};
