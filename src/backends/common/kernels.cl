/* kernels.cl: the device kernels of the OpenCL and CUDA backends, written once in a macro dialect that each backend's prelude maps. */
/*
 * The prelude defines: KERNEL (a kernel entry), DEVICE (a helper function), GLOBAL (device memory),
 * LOCAL (work-group shared memory), BARRIER (work-group barrier), GID0, LID0, LID1, GRP0, GRP1, GRP2,
 * FMINF, FMAXF, EXPF. Tensors are dense NCHW float32; sizes are int (the host keeps every tensor below
 * 2^28 elements). Launches are 1-D over `total` items (rounded up to the work-group size, hence the
 * bounds checks) except pw_gemm, which is 3-D: 16x16 work-groups over 64x64 tiles, and the batch.
 * Activation codes (act): 0 none, 1 clamp to [lo, hi] (Relu, Clip), 2 HardSwish, 3 Sigmoid,
 * 4 HardSigmoid (alpha = lo, beta = hi). Binary codes: 0 Add, 1 Sub, 2 Mul, 3 Div.
 * No double quotes or backslashes in this file: it is embedded as a C string.
 */

DEVICE float pw_act(float v, int act, float lo, float hi)
{
	if (act == 1)
		return FMINF(FMAXF(v, lo), hi);
	if (act == 2)
		return v * FMINF(FMAXF(v + 3.0f, 0.0f), 6.0f) / 6.0f;
	if (act == 3)
		return 1.0f / (1.0f + EXPF(-v));
	if (act == 4)
		return FMAXF(0.0f, FMINF(1.0f, lo * v + hi));
	return v;
}

/* Splits the flat index i of a [..., h, w] tensor into x (within w), y (within h); returns the leading index. */
DEVICE int pw_split_hw(int i, int w, int h, int *x, int *y)
{
	*x = i % w;
	*y = (i / w) % h;
	return i / w / h;
}

/* Direct 2-D convolution, one output element per item: groups (depthwise too), strides, dilations, pads. */
KERNEL void pw_conv2d(GLOBAL const float *x, GLOBAL const float *w, GLOBAL const float *bias, GLOBAL float *y,
    int total, int C, int H, int W, int M, int OH, int OW, int KH, int KW, int SH, int SW, int DH, int DW,
    int PT, int PL, int G, int has_bias, int act, float lo, float hi)
{
	int i = GID0;
	if (i >= total)
		return;
	int ow, oh;
	int t = pw_split_hw(i, OW, OH, &ow, &oh);
	int m = t % M;
	int n = t / M;
	int cpg = C / G;
	int g = m / (M / G);
	float acc = has_bias ? bias[m] : 0.0f;
	for (int c = 0; c < cpg; c++) {
		GLOBAL const float *xc = x + ((n * C + g * cpg + c) * H) * W;
		GLOBAL const float *wc = w + ((m * cpg + c) * KH) * KW;
		for (int kh = 0; kh < KH; kh++) {
			int ih = oh * SH - PT + kh * DH;
			if (ih < 0 || ih >= H)
				continue;
			for (int kw = 0; kw < KW; kw++) {
				int iw = ow * SW - PL + kw * DW;
				if (iw >= 0 && iw < W)
					acc += xc[ih * W + iw] * wc[kh * KW + kw];
			}
		}
	}
	y[i] = pw_act(acc, act, lo, hi);
}

/* Y[b][r][c] = act(alpha * sum_k A[b][r][k] B[b][k][c] + beta * Cb[b][r][c]) with every operand addressed by
 * (row stride, column stride, batch stride), so transposes, broadcast bias and 1x1 convolutions are all this
 * kernel. A 16x16 work-group computes a 64x64 tile of Y, each item 4x4 outputs (rows ty + 16i, columns
 * tx + 16j) from 64x16 slices of A and 16x64 slices of B staged in local memory. Y is dense (row stride N). */
#define PW_TM 64
#define PW_TK 16
KERNEL void pw_gemm(GLOBAL const float *A, GLOBAL const float *B, GLOBAL const float *Cb, GLOBAL float *Y,
    int M, int N, int K, int a_rs, int a_cs, int a_bs, int b_rs, int b_cs, int b_bs, int c_rs, int c_cs,
    int c_bs, int has_c, float alpha, float beta, int act, float lo, float hi)
{
	LOCAL float As[PW_TK][PW_TM + 1];
	LOCAL float Bs[PW_TK][PW_TM + 1];
	int tx = LID0, ty = LID1, tid = LID1 * 16 + LID0;
	int row0 = GRP1 * PW_TM, col0 = GRP0 * PW_TM, b = GRP2;
	GLOBAL const float *a = A + b * a_bs;
	GLOBAL const float *bb = B + b * b_bs;
	float acc[4][4];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			acc[i][j] = 0.0f;
	for (int k0 = 0; k0 < K; k0 += PW_TK) {
		for (int l = 0; l < 4; l++) {
			int e = tid + l * 256;
			int r = e / PW_TK, ka = e % PW_TK, kb = e / PW_TM, c = e % PW_TM;
			As[ka][r] = row0 + r < M && k0 + ka < K ? a[(row0 + r) * a_rs + (k0 + ka) * a_cs] : 0.0f;
			Bs[kb][c] = k0 + kb < K && col0 + c < N ? bb[(k0 + kb) * b_rs + (col0 + c) * b_cs] : 0.0f;
		}
		BARRIER;
		for (int k = 0; k < PW_TK; k++) {
			float av[4], bv[4];
			for (int i = 0; i < 4; i++) {
				av[i] = As[k][ty + 16 * i];
				bv[i] = Bs[k][tx + 16 * i];
			}
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++)
					acc[i][j] += av[i] * bv[j];
		}
		BARRIER;
	}
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			int row = row0 + ty + 16 * i, col = col0 + tx + 16 * j;
			if (row < M && col < N) {
				float v = alpha * acc[i][j];
				if (has_c)
					v += beta * Cb[b * c_bs + row * c_rs + col * c_cs];
				Y[(b * M + row) * N + col] = pw_act(v, act, lo, hi);
			}
		}
}

/* Numpy-broadcast binary op over a rank-4 output [d0][d1][d2][d3]; sa/sb are each operand's element
 * strides (0 on broadcast dimensions). */
KERNEL void pw_binary(GLOBAL const float *a, GLOBAL const float *b, GLOBAL float *y, int total, int op,
    int d1, int d2, int d3, int sa0, int sa1, int sa2, int sa3, int sb0, int sb1, int sb2, int sb3,
    int act, float lo, float hi)
{
	int i = GID0;
	if (i >= total)
		return;
	int i3 = i % d3;
	int t = i / d3;
	int i2 = t % d2;
	t = t / d2;
	int i1 = t % d1;
	int i0 = t / d1;
	float u = a[i0 * sa0 + i1 * sa1 + i2 * sa2 + i3 * sa3];
	float v = b[i0 * sb0 + i1 * sb1 + i2 * sb2 + i3 * sb3];
	float r = op == 0 ? u + v : op == 1 ? u - v : op == 2 ? u * v : u / v;
	y[i] = pw_act(r, act, lo, hi);
}

KERNEL void pw_unary(GLOBAL const float *x, GLOBAL float *y, int total, int act, float lo, float hi)
{
	int i = GID0;
	if (i < total)
		y[i] = pw_act(x[i], act, lo, hi);
}

/* Max or average pooling over the last two dimensions; avg divides by the window clipped to the padded
 * extent (count_include_pad) or by the valid elements, as the reference kernel does. */
KERNEL void pw_pool2d(GLOBAL const float *x, GLOBAL float *y, int total, int H, int W, int OH, int OW, int KH,
    int KW, int SH, int SW, int DH, int DW, int PT, int PL, int PB, int PR, int is_max, int include_pad)
{
	int i = GID0;
	if (i >= total)
		return;
	int ow, oh;
	int p = pw_split_hw(i, OW, OH, &ow, &oh);
	GLOBAL const float *xp = x + p * H * W;
	float mx = -FLT_MAX, acc = 0.0f;
	int valid = 0;
	int hs = oh * SH - PT, ws = ow * SW - PL;
	int he = hs + (KH - 1) * DH + 1, we = ws + (KW - 1) * DW + 1;
	if (he > H + PB)
		he = H + PB;
	if (we > W + PR)
		we = W + PR;
	int cnt = ((he - hs + DH - 1) / DH) * ((we - ws + DW - 1) / DW);
	for (int kh = 0; kh < KH; kh++) {
		int ih = hs + kh * DH;
		if (ih < 0 || ih >= H)
			continue;
		for (int kw = 0; kw < KW; kw++) {
			int iw = ws + kw * DW;
			if (iw < 0 || iw >= W)
				continue;
			float v = xp[ih * W + iw];
			mx = FMAXF(mx, v);
			acc += v;
			valid++;
		}
	}
	if (is_max)
		y[i] = valid > 0 ? mx : -FLT_MAX;
	else {
		int div = include_pad ? cnt : valid;
		y[i] = div > 0 ? acc / (float)div : 0.0f;
	}
}

/* Mean of each of `total` planes of hw elements. */
KERNEL void pw_gap(GLOBAL const float *x, GLOBAL float *y, int total, int hw)
{
	int i = GID0;
	if (i >= total)
		return;
	GLOBAL const float *xp = x + i * hw;
	float acc = 0.0f;
	for (int k = 0; k < hw; k++)
		acc += xp[k];
	y[i] = acc / (float)hw;
}

/* y[o][offset + j] = x[o][j] for rows of inner_in elements placed in rows of inner_out: Concat's slices, and a
 * plain copy (Reshape, Flatten, Squeeze, Unsqueeze) with inner_in = inner_out = total. */
KERNEL void pw_copy(GLOBAL const float *x, GLOBAL float *y, int total, int inner_in, int inner_out, int offset)
{
	int i = GID0;
	if (i >= total)
		return;
	int o = i / inner_in;
	int j = i % inner_in;
	y[o * inner_out + offset + j] = x[i];
}
