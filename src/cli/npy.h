/* npy.h: a strict reader and writer of NumPy .npy tensor files for the inference commands. */
#ifndef PW_CLI_NPY_H
#define PW_CLI_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pricewatch/infer.h"

/* Largest header dictionary accepted (NumPy itself refuses more than 10,000 bytes by default). */
#define NPY_MAX_HEADER_BYTES 65536

/*
 * Reads path into out: format 1.0, 2.0 or 3.0, C order, dtype '<f4' (float), '<f8' (converted to
 * float) or '<i8' (int64). The header's shape must fit INFER_MAX_DIMS dimensions and at most
 * max_elems elements (0: INFER_MAX_TENSOR_ELEMS), and the data must fill the rest of the file
 * exactly, checked against the file size before anything is allocated.
 * Returns true and fills out (the caller owns out->data: infer_tensor_release()); on failure returns
 * false, leaves out cleared and writes a message naming the file and the reason into err.
 */
bool npy_read(const char *path, infer_tensor *out, int64_t max_elems, char *err, size_t errlen);

/*
 * Parses a .npy header dictionary ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }").
 * Fills dtype, ndim and dims of out (data untouched) and *elem_size (bytes per element in the file).
 * Exposed for the unit tests. Returns false with a message (no file name) in err.
 */
bool npy_parse_header(const char *hdr, size_t len, infer_tensor *out, size_t *elem_size,
    char *err, size_t errlen);

/*
 * Writes t as path in format 1.0 (2.0 if the header does not fit): FLOAT as '<f4', INT64 as '<i8',
 * C order, header padded to 64 bytes as NumPy does. Returns false with a message in err.
 */
bool npy_write(const char *path, const infer_tensor *t, char *err, size_t errlen);

#endif
