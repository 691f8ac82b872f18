/*
 * _pgcopy: Arrow columns -> the rows of PostgreSQL's binary COPY format, in one pass.
 *
 * Why C: the vectorised encoder in pg_binary.py builds every field as its own Arrow array and
 * joins them per row, several full passes over the data per column; on the benchmark table it
 * costs about a second of client CPU per million rows, CPU that the PostgreSQL backend ingesting
 * the COPY on the other core wants. Here a first pass sizes the payload and a second writes
 * each row straight into it, with the GIL released for both.
 *
 * It is a fast path, never the judge: pg_binary.py's numpy code is the reference, and this
 * must write the very same bytes for every (Arrow type, target column) pair `encodable`
 * accepts. A column spec outside what is implemented here raises `Unsupported` and the caller
 * encodes the batch with the numpy code instead.
 *
 * Column specs come from pg_binary.py as (kind, offset, validity, values, data, p1, p2): the
 * array's buffers (buffer protocol) with the array's offset, so sliced arrays are read where
 * Arrow reads them (the validity and boolean bitmaps at bit offset+i, the values at index
 * offset+i). Validity is None when the array has no NULLs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* Arrow buffers are native-endian and the decimal128 low word is read as the first 8 bytes:
 * fail the (optional) build and let pg_binary.py's numpy code encode instead */
#error "_pgcopy assumes a little-endian machine"
#endif

enum { K_NULL = 0, K_INT = 1, K_NUMERIC = 2, K_STRING = 3, K_DATE = 4, K_TIMESTAMP = 5, K_BOOL = 6 };

#define PG_EPOCH_DAYS 10957                                /* 2000-01-01 - 1970-01-01 */
#define PG_EPOCH_US (INT64_C(10957) * 86400 * 1000000)     /* the same, in microseconds */

static PyObject *Unsupported;

typedef struct {
    int kind;
    int64_t offset;
    const uint8_t *validity; /* NULL: every value is valid */
    const uint8_t *values;   /* fixed-width values, string offsets or the boolean bitmap */
    const uint8_t *data;     /* string bytes */
    int64_t data_len;
    int p1, p2; /* K_INT: width, signed; K_NUMERIC: precision, scale; K_STRING: offset width */
    int int_groups, frac_groups;
    uint64_t frac_mul; /* 10^(4 * frac_groups - scale): the fraction padded to whole groups */
    Py_buffer views[3];
    int held[3];
} col_t;

static inline int bit(const uint8_t *bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

static inline uint8_t *put16(uint8_t *w, uint16_t v) {
    v = __builtin_bswap16(v);
    memcpy(w, &v, 2);
    return w + 2;
}

static inline uint8_t *put32(uint8_t *w, uint32_t v) {
    v = __builtin_bswap32(v);
    memcpy(w, &v, 4);
    return w + 4;
}

static inline uint8_t *put64(uint8_t *w, uint64_t v) {
    v = __builtin_bswap64(v);
    memcpy(w, &v, 8);
    return w + 8;
}

static inline int64_t load_int(const uint8_t *p, int width, int is_signed) {
    switch (width) {
    case 1:
        return is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return is_signed ? (int64_t)(int16_t)v : (int64_t)v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return is_signed ? (int64_t)(int32_t)v : (int64_t)v;
    }
    default: {
        int64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static inline int64_t load_offset(const col_t *c, int64_t i) {
    if (c->p1 == 4) {
        int32_t v;
        memcpy(&v, c->values + 4 * i, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, c->values + 8 * i, 8);
    return v;
}

/* magnitude -> (integer part, fractional part) for a scale: constant divisors, so the compiler
 * multiplies instead of issuing a 64-bit division per value */
#define SPLIT_CASE(s, p10)   \
    case s:                  \
        *ip = mag / (p10);   \
        *fp = mag % (p10);   \
        break;

static inline void split(uint64_t mag, int scale, uint64_t *ip, uint64_t *fp) {
    switch (scale) {
        SPLIT_CASE(0, UINT64_C(1))
        SPLIT_CASE(1, UINT64_C(10))
        SPLIT_CASE(2, UINT64_C(100))
        SPLIT_CASE(3, UINT64_C(1000))
        SPLIT_CASE(4, UINT64_C(10000))
        SPLIT_CASE(5, UINT64_C(100000))
        SPLIT_CASE(6, UINT64_C(1000000))
        SPLIT_CASE(7, UINT64_C(10000000))
        SPLIT_CASE(8, UINT64_C(100000000))
        SPLIT_CASE(9, UINT64_C(1000000000))
        SPLIT_CASE(10, UINT64_C(10000000000))
        SPLIT_CASE(11, UINT64_C(100000000000))
        SPLIT_CASE(12, UINT64_C(1000000000000))
        SPLIT_CASE(13, UINT64_C(10000000000000))
        SPLIT_CASE(14, UINT64_C(100000000000000))
    default:
        SPLIT_CASE(15, UINT64_C(1000000000000000))
    }
}

/* NUMERIC as pg_binary._numeric writes it: a fixed number of base-10000 digit groups for the
 * column's precision and scale, zero groups kept (PostgreSQL strips them on input), weight
 * int_groups - 1, sign 0x4000 when negative, dscale = scale. Only the decimal's low 64 bits
 * are read, as numpy does (the whole value at precision <= 18), and a group beyond int_groups
 * is dropped the same way (each group is taken modulo 10000). */
static inline uint8_t *put_numeric(uint8_t *w, const col_t *c, int64_t j) {
    int64_t v;
    memcpy(&v, c->values + 16 * j, 8);
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, ip, fp;
    int ig = c->int_groups, fg = c->frac_groups, nd = ig + fg;
    split(mag, c->p2, &ip, &fp);
    fp *= c->frac_mul;
    w = put32(w, (uint32_t)(8 + 2 * nd));
    w = put16(w, (uint16_t)nd);
    w = put16(w, (uint16_t)(int16_t)(ig - 1));
    w = put16(w, v < 0 ? 0x4000 : 0);
    w = put16(w, (uint16_t)c->p2);
    for (int k = ig - 1; k >= 0; k--) {
        put16(w + 2 * k, (uint16_t)(ip % 10000));
        ip /= 10000;
    }
    w += 2 * ig;
    for (int k = fg - 1; k >= 0; k--) {
        put16(w + 2 * k, (uint16_t)(fp % 10000));
        fp /= 10000;
    }
    return w + 2 * fg;
}

/* the bytes of one column's fields over rows [0, n), or -1 when a string's offsets point
 * outside its data */
static int64_t column_size(const col_t *c, int64_t n) {
    int64_t nulls = 0, width;
    if (c->kind == K_NULL) return 4 * n;
    if (c->validity)
        for (int64_t i = 0; i < n; i++) nulls += !bit(c->validity, c->offset + i);
    switch (c->kind) {
    case K_INT:
    case K_TIMESTAMP:
        width = 8;
        break;
    case K_DATE:
        width = 4;
        break;
    case K_BOOL:
        width = 1;
        break;
    case K_NUMERIC:
        width = 8 + 2 * (c->int_groups + c->frac_groups);
        break;
    default: { /* K_STRING */
        int64_t total = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t j = c->offset + i;
            if (c->validity && !bit(c->validity, j)) continue;
            int64_t start = load_offset(c, j), end = load_offset(c, j + 1);
            if (start < 0 || end < start || end > c->data_len || end - start > INT32_MAX) return -1;
            total += end - start;
        }
        return 4 * n + total;
    }
    }
    return 4 * n + (n - nulls) * width;
}

static void encode(uint8_t *w, const col_t *cols, int ncols, int64_t n, uint16_t nfields, const uint8_t *tail,
                   size_t tail_len) {
    for (int64_t i = 0; i < n; i++) {
        w = put16(w, nfields);
        for (int k = 0; k < ncols; k++) {
            const col_t *c = &cols[k];
            int64_t j = c->offset + i;
            if (c->kind == K_NULL || (c->validity && !bit(c->validity, j))) {
                w = put32(w, UINT32_MAX); /* length -1: NULL */
                continue;
            }
            switch (c->kind) {
            case K_INT:
                w = put32(w, 8);
                w = put64(w, (uint64_t)load_int(c->values + (size_t)j * c->p1, c->p1, c->p2));
                break;
            case K_NUMERIC:
                w = put_numeric(w, c, j);
                break;
            case K_STRING: {
                int64_t start = load_offset(c, j), len = load_offset(c, j + 1) - start;
                w = put32(w, (uint32_t)len);
                memcpy(w, c->data + start, (size_t)len);
                w += len;
                break;
            }
            case K_DATE: {
                uint32_t days;
                memcpy(&days, c->values + 4 * j, 4);
                w = put32(w, 4);
                w = put32(w, days - PG_EPOCH_DAYS); /* wraps as numpy's int32 does */
                break;
            }
            case K_TIMESTAMP: {
                uint64_t us;
                memcpy(&us, c->values + 8 * j, 8);
                w = put32(w, 8);
                w = put64(w, us - (uint64_t)PG_EPOCH_US);
                break;
            }
            default: /* K_BOOL */
                w = put32(w, 1);
                *w++ = (uint8_t)bit(c->values, j);
                break;
            }
        }
        memcpy(w, tail, tail_len);
        w += tail_len;
    }
}

static int unsupported(const char *why) {
    PyErr_SetString(Unsupported, why);
    return -1;
}

static int too_short(const char *what) {
    PyErr_Format(PyExc_ValueError, "pgcopy: the %s buffer is shorter than the array", what);
    return -1;
}

/* take hold of one buffer of a column spec (None -> NULL pointer, length 0) */
static int hold(col_t *c, int slot, PyObject *obj, const uint8_t **ptr, int64_t *len) {
    *ptr = NULL;
    *len = 0;
    if (obj == Py_None) return 0;
    if (PyObject_GetBuffer(obj, &c->views[slot], PyBUF_SIMPLE) < 0) return -1;
    c->held[slot] = 1;
    *ptr = c->views[slot].buf;
    *len = c->views[slot].len;
    return 0;
}

static int parse_column(PyObject *spec, col_t *c, int64_t n) {
    PyObject *validity, *values, *data;
    long long offset;
    int64_t vlen, dlen, needed, end;
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "pgcopy: a column spec must be a tuple");
        return -1;
    }
    if (!PyArg_ParseTuple(spec, "iLOOOii", &c->kind, &offset, &validity, &values, &data, &c->p1, &c->p2)) return -1;
    if (c->kind < K_NULL || c->kind > K_BOOL) return unsupported("pgcopy: unknown column kind");
    if (offset < 0 || offset > INT64_MAX / 16 - n - 1) {
        PyErr_SetString(PyExc_ValueError, "pgcopy: array offset out of range");
        return -1;
    }
    c->offset = offset;
    end = offset + n;
    if (hold(c, 0, validity, &c->validity, &vlen) < 0 || hold(c, 1, values, &c->values, &vlen) < 0 ||
        hold(c, 2, data, &c->data, &dlen) < 0)
        return -1;
    c->data_len = dlen;
    if (!c->data) c->data = (const uint8_t *)""; /* all strings empty: never read, but not NULL */
    if (n && c->validity && c->views[0].len < (end + 7) / 8) return too_short("validity");
    if (c->kind == K_NULL) return 0;
    switch (c->kind) {
    case K_INT:
        if (!((c->p1 == 1 || c->p1 == 2 || c->p1 == 4 || c->p1 == 8) && (c->p2 == 0 || c->p2 == 1)))
            return unsupported("pgcopy: integer width");
        if (c->p1 == 8 && !c->p2) return unsupported("pgcopy: uint64 does not fit a bigint");
        needed = end * c->p1;
        break;
    case K_NUMERIC: {
        int precision = c->p1, scale = c->p2;
        /* numpy's formula for other shapes (scale > precision, negative scale) is left to numpy */
        if (precision < 1 || precision > 18 || scale < 0 || scale > 15 || scale > precision)
            return unsupported("pgcopy: decimal precision or scale");
        c->int_groups = (precision - scale + 3) / 4;
        c->frac_groups = (scale + 3) / 4;
        c->frac_mul = 1;
        for (int i = 0; i < 4 * c->frac_groups - scale; i++) c->frac_mul *= 10;
        needed = end * 16;
        break;
    }
    case K_STRING:
        if (c->p1 != 4 && c->p1 != 8) return unsupported("pgcopy: string offset width");
        needed = (end + 1) * c->p1;
        break;
    case K_DATE:
        needed = end * 4;
        break;
    case K_TIMESTAMP:
        needed = end * 8;
        break;
    default: /* K_BOOL */
        needed = (end + 7) / 8;
        break;
    }
    if (n && (!c->values || vlen < needed)) return too_short("values");
    return 0;
}

static void release_columns(col_t *cols, int ncols) {
    for (int k = 0; k < ncols; k++)
        for (int s = 0; s < 3; s++)
            if (cols[k].held[s]) PyBuffer_Release(&cols[k].views[s]);
    PyMem_Free(cols);
}

static PyObject *py_encode_rows(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *specs, *out = NULL;
    Py_buffer tail;
    int tail_fields;
    (void)self;
    if (!PyArg_ParseTuple(args, "nOy*i", &n, &specs, &tail, &tail_fields)) return NULL;
    PyObject *seq = PySequence_Fast(specs, "pgcopy: columns must be a sequence");
    if (!seq) {
        PyBuffer_Release(&tail);
        return NULL;
    }
    Py_ssize_t ncols = PySequence_Fast_GET_SIZE(seq);
    col_t *cols = PyMem_Calloc(ncols ? (size_t)ncols : 1, sizeof(col_t));
    if (!cols) {
        PyErr_NoMemory();
        goto done;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "pgcopy: negative row count");
        goto done;
    }
    if (n > INT32_MAX) { /* keeps every size below within int64 */
        unsupported("pgcopy: over 2^31 rows in one batch");
        goto done;
    }
    if (ncols + tail_fields > INT16_MAX || tail_fields < 0) {
        unsupported("pgcopy: field count outside int16");
        goto done;
    }
    for (Py_ssize_t k = 0; k < ncols; k++)
        if (parse_column(PySequence_Fast_GET_ITEM(seq, k), &cols[k], n) < 0) goto done;

    int64_t total = 0, bad = 0;
    Py_BEGIN_ALLOW_THREADS
    total = (int64_t)n * (2 + (int64_t)tail.len);
    for (Py_ssize_t k = 0; k < ncols; k++) {
        int64_t size = column_size(&cols[k], n);
        if (size < 0 || __builtin_add_overflow(total, size, &total)) {
            bad = 1;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "pgcopy: string offsets outside the data buffer, or a payload too big");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (!out) goto done;
    /* the bytes object is not shared with anyone until it is returned: safe to fill unlocked */
    uint8_t *w = (uint8_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    encode(w, cols, (int)ncols, n, (uint16_t)(ncols + tail_fields), tail.buf, (size_t)tail.len);
    Py_END_ALLOW_THREADS
done:
    if (cols) release_columns(cols, (int)ncols);
    Py_DECREF(seq);
    PyBuffer_Release(&tail);
    return out;
}

static PyMethodDef methods[] = {
    {"encode_rows", py_encode_rows, METH_VARARGS,
     "encode_rows(n, columns, tail, tail_fields) -> bytes: n rows in binary COPY format (no header "
     "or trailer); columns are (kind, offset, validity, values, data, p1, p2) specs"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pgcopy", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pgcopy(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Unsupported = PyErr_NewExceptionWithDoc("marina_assets.warehouse._pgcopy.Unsupported",
                                            "A column spec this encoder does not implement: use the numpy encoder.",
                                            PyExc_ValueError, NULL);
    if (!Unsupported || PyModule_AddObjectRef(m, "Unsupported", Unsupported) < 0) {
        Py_XDECREF(Unsupported);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
