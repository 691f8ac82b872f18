/*
 * _csvscan: one pass over a block of CSV bytes straight to typed Arrow buffers.
 *
 * Why C: Arrow's own CSV reader tops out near 1M rows/s on MOLO members (wide rows, quoted
 * multi-line notes) on two cores, and it neither gives physical line numbers nor the raw
 * text of a record. This scanner does both in the same pass, and releases the GIL so that
 * members parse on every core.
 *
 * It is a fast path, never the judge: it accepts only what it can convert exactly as
 * `typing.py` would, and otherwise says so. A value it will not convert is reported as
 * SCAN_VALUE with its column (the caller rescans the block with that column as text, and
 * typing.py decides, quarantining with reasons); anything structural the exact tokenizer
 * would reject (field count, stray quotes, invalid UTF-8, unterminated quotes) is reported as
 * SCAN_STRUCT (the caller re-reads the member with the exact tokenizer).
 *
 * Structure follows csv_tokenizer.py (PostgreSQL COPY CSV): `,` separates, `"` quotes with
 * `""` as an escaped quote, CRLF / LF / CR end a record outside quotes, an unquoted empty
 * field is NULL, a quoted empty field is the empty string, an empty line is skipped (but
 * counted), and the last record may lack a terminator.
 *
 * The file also holds `values_csv`, the same kind of one-pass rewrite for mysqldump VALUES
 * lists (at its end): one extension module, sharing the digit and SIMD helpers, is simpler to
 * build and to fall back from than two; hence a file longer than the project's usual modules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { K_SKIP = 0, K_STRING = 1, K_INT = 2, K_DECIMAL = 3, K_DATE = 4, K_TIMESTAMP = 5, K_BOOL = 6 };
enum { SCAN_OK = 0, SCAN_STRUCT = 1, SCAN_VALUE = 2, SCAN_NOMEM = 3 };

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(buf_t *b, const void *src, size_t n) {
    if (buf_reserve(b, n)) return -1;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

/* An unchecked append: the per-row buffers are grown for a whole run of rows at once
 * (grow_rows), so a value costs a store, not a capacity check per column. */
#define PUT(b, T, v)                                     \
    do {                                                 \
        T put_tmp_ = (v);                                \
        memcpy((b)->p + (b)->len, &put_tmp_, sizeof(T)); \
        (b)->len += sizeof(T);                           \
    } while (0)

static const size_t kind_width[] = {0, 4, 8, 16, 4, 8, 1}; /* bytes per value, by kind */

typedef struct {
    int kind, scale, precision;
    buf_t valid;  /* one byte per row, packed into a bitmap at the end */
    buf_t values; /* fixed-width values, or int32 offsets for strings */
    buf_t data;   /* string bytes */
    int64_t nulls;
    size_t max_len; /* longest string value, in bytes: a VARCHAR limit needs no check below it */
} col_t;

typedef struct {
    int status;
    int bad_col;
    int64_t bad_line;
    const char *why;
} result_t;

/* ---- value conversion: strict formats only, anything else is SCAN_VALUE ---- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_int64(const unsigned char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) return -1;
    uint64_t v = 0;
    size_t safe = i + 19 < n ? i + 19 : n; /* 19 digits never overflow 64 bits: no check */
    for (; i < safe; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    for (; i < n; i++) {
        if (!is_digit(s[i])) return -1;
        unsigned d = s[i] - '0';
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) return -1;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
    }
    return 0;
}

/* [-+]digits[.digits]: at most `scale` fraction digits (typing.py would round more, so the
 * text path handles those), and |value| < 10^(precision-scale). */
static int parse_decimal(const unsigned char *s, size_t n, int precision, int scale, __int128 *out) {
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    __int128 v = 0;
    int int_digits = 0, frac_digits = 0, significant = 0;
    for (; i < n && is_digit(s[i]); i++) {
        if (significant || s[i] != '0') significant++;
        v = v * 10 + (s[i] - '0');
        int_digits++;
        if (significant > 38) return -1;
    }
    if (int_digits == 0) return -1;
    if (i < n) {
        if (s[i] != '.') return -1;
        i++;
        for (; i < n && is_digit(s[i]); i++) {
            if (++frac_digits > scale) return -1;
            v = v * 10 + (s[i] - '0');
        }
        if (frac_digits == 0 || i != n) return -1;
    }
    if (significant > precision - scale) return -1;
    for (int k = frac_digits; k < scale; k++) v *= 10;
    *out = neg ? -v : v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    /* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num(const unsigned char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int valid_ymd(int y, int m, int d) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DD; returns 1 for the zero date (NULL), 0 for a date, -1 otherwise */
static int parse_ymd(const unsigned char *s, int64_t *days) {
    if (s[4] != '-' || s[7] != '-') return -1;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 0 || m < 0 || d < 0) return -1;
    if (y == 0 && m == 0 && d == 0) return 1;
    if (!valid_ymd(y, m, d)) return -1;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

static int parse_date(const unsigned char *s, size_t n, int32_t *out, int *is_null) {
    int64_t days;
    if (n != 10) return -1;
    int r = parse_ymd(s, &days);
    if (r < 0) return -1;
    *is_null = r == 1;
    *out = r == 1 ? 0 : (int32_t)days;
    return 0;
}

/* YYYY-MM-DD, or that + (' '|'T') + HH:MM[:SS[.f{1,6}]] */
static int parse_timestamp(const unsigned char *s, size_t n, int64_t *out, int *is_null) {
    int64_t days;
    if (n < 10) return -1;
    int r = parse_ymd(s, &days);
    if (r < 0) return -1;
    if (n == 10) {
        *is_null = r == 1;
        *out = r == 1 ? 0 : days * 86400000000LL;
        return 0;
    }
    if (r == 1) {
        /* only the exact zero datetime is NULL to typing.py */
        if (n == 19 && memcmp(s + 10, " 00:00:00", 9) == 0) {
            *is_null = 1;
            *out = 0;
            return 0;
        }
        return -1;
    }
    if (n < 16 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':') return -1;
    int hh = num(s + 11, 2), mi = num(s + 14, 2), ss = 0;
    int64_t micros = 0;
    if (hh < 0 || mi < 0 || hh > 23 || mi > 59) return -1;
    if (n > 16) {
        if (n < 19 || s[16] != ':') return -1;
        ss = num(s + 17, 2);
        if (ss < 0 || ss > 59) return -1;
        if (n > 19) {
            size_t frac = n - 20;
            if (s[19] != '.' || frac < 1 || frac > 6) return -1;
            int f = num(s + 20, (int)frac);
            if (f < 0) return -1;
            micros = f;
            for (size_t k = frac; k < 6; k++) micros *= 10;
        }
    }
    *is_null = 0;
    *out = ((days * 86400 + hh * 3600 + mi * 60 + ss) * 1000000LL) + micros;
    return 0;
}

static int word_is(const unsigned char *s, size_t n, const char *w) {
    size_t k = strlen(w);
    if (n != k) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c != (unsigned char)w[i]) return 0;
    }
    return 1;
}

/* typing.py lowercases then looks the word up: any casing of these words converts */
static int parse_bool(const unsigned char *s, size_t n, uint8_t *out) {
    static const char *yes[] = {"true", "t", "1", "yes", "y"};
    static const char *no[] = {"false", "f", "0", "no", "n"};
    for (int i = 0; i < 5; i++) {
        if (word_is(s, n, yes[i])) {
            *out = 1;
            return 0;
        }
        if (word_is(s, n, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* strict UTF-8 as Python's decoder: no overlongs, no surrogates, nothing above U+10FFFF */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) need = 2;
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else return 0;
        if (i + need >= n) return 0; /* truncated sequence */
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += need + 1;
    }
    return 1;
}

/* ---- the scan ---- */

/* The first byte in [p, end) equal to a, b, c or d (end if none); the bytes before it are
 * OR-ed into *hi, whose top bit then says "not ASCII, check UTF-8". 16 bytes at a time
 * where SSE2 exists: text columns (notes, memos) are most of a MOLO member's bytes. */
static inline const unsigned char *find4(const unsigned char *p, const unsigned char *end, unsigned char a,
                                         unsigned char b, unsigned char c, unsigned char d,
                                         unsigned char *hi) {
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    const __m128i vc = _mm_set1_epi8((char)c), vd = _mm_set1_epi8((char)d);
    while (p + 16 <= end) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
        unsigned hit = (unsigned)_mm_movemask_epi8(m), high = (unsigned)_mm_movemask_epi8(x);
        if (hit) {
            unsigned at = (unsigned)__builtin_ctz(hit);
            if (high & ((1u << at) - 1)) *hi |= 0x80;
            return p + at;
        }
        if (high) *hi |= 0x80;
        p += 16;
    }
#endif
    for (; p < end; p++) {
        unsigned char x = *p;
        if (x == a || x == b || x == c || x == d) return p;
        *hi |= x;
    }
    return end;
}

typedef struct {
    const unsigned char *s; /* field bytes (inside the quotes, escapes not undone) */
    size_t n;
    int quoted, escaped, high;
} field_t;

static int append_string(col_t *c, const field_t *f, const unsigned char *input_end) {
    uint8_t valid = f->quoted || f->n;
    PUT(&c->valid, uint8_t, valid);
    c->nulls += !valid;
    if (buf_reserve(&c->data, f->n + 16)) return -1; /* 16: room for the short-value copy */
    if (!f->escaped) {
#if defined(__SSE2__)
        /* most values are short: one 16-byte copy beats a call to memcpy */
        if (f->n <= 16 && f->s + 16 <= input_end)
            _mm_storeu_si128((__m128i *)(c->data.p + c->data.len), _mm_loadu_si128((const __m128i *)f->s));
        else
#endif
            memcpy(c->data.p + c->data.len, f->s, f->n);
        c->data.len += f->n;
    } else {
        char *w = c->data.p + c->data.len;
        for (size_t i = 0; i < f->n; i++) {
            *w++ = (char)f->s[i];
            if (f->s[i] == '"') i++; /* `""` inside quotes is one quote */
        }
        c->data.len = (size_t)(w - c->data.p);
    }
    if (c->data.len > INT32_MAX) return -1;
    size_t len = c->data.len - (size_t)((const int32_t *)(c->values.p + c->values.len))[-1];
    if (len > c->max_len) c->max_len = len;
    PUT(&c->values, int32_t, (int32_t)c->data.len);
    return 0;
}

/* 0 = appended, 1 = the value needs typing.py, -1 = out of memory */
static int append_typed(col_t *c, const field_t *f) {
    uint8_t valid = 1;
    if (f->n == 0) { /* quoted or not, an empty non-text cell is NULL */
        valid = 0;
    } else if (f->escaped || f->high) {
        return 1;
    }
    int is_null = 0;
    switch (c->kind) {
    case K_INT: {
        int64_t v = 0;
        if (valid && parse_int64(f->s, f->n, &v)) return 1;
        PUT(&c->values, int64_t, v);
        break;
    }
    case K_DECIMAL: {
        __int128 v = 0;
        if (valid && parse_decimal(f->s, f->n, c->precision, c->scale, &v)) return 1;
        PUT(&c->values, __int128, v);
        break;
    }
    case K_DATE: {
        int32_t v = 0;
        if (valid && parse_date(f->s, f->n, &v, &is_null)) return 1;
        PUT(&c->values, int32_t, v);
        break;
    }
    case K_TIMESTAMP: {
        int64_t v = 0;
        if (valid && parse_timestamp(f->s, f->n, &v, &is_null)) return 1;
        PUT(&c->values, int64_t, v);
        break;
    }
    case K_BOOL: {
        uint8_t v = 0;
        if (valid && parse_bool(f->s, f->n, &v)) return 1;
        PUT(&c->values, uint8_t, v);
        break;
    }
    default:
        return 1;
    }
    valid = valid && !is_null;
    c->nulls += !valid;
    PUT(&c->valid, uint8_t, valid);
    return 0;
}

typedef struct {
    const unsigned char *p, *end;
    int final;
    int64_t line;
    int ncols;
    col_t *cols;
    buf_t lines, starts, ends;
    int64_t rows, row_cap;
    size_t consumed;
    field_t *fields;
} scan_t;

/* Parse one record at p. Returns 1 = record parsed (fields filled), 0 = incomplete (need more
 * bytes), -1 = structural problem (r->why set). *next is where the next record starts,
 * *rec_end where this one's bytes end (terminator excluded), *breaks the line breaks inside. */
static int next_record(scan_t *st, const unsigned char *p, const unsigned char **next,
                       const unsigned char **rec_end, int *nfields, int64_t *breaks, result_t *r) {
    const unsigned char *end = st->end;
    int k = 0;
    *breaks = 0;
    for (;;) {
        field_t f = {0};
        if (p < end && *p == '"') {
            const unsigned char *q = p + 1;
            f.quoted = 1;
            f.s = q;
            unsigned char hi = 0;
            for (;;) {
                const unsigned char *hit = find4(q, end, '"', '\n', '\r', '"', &hi);
                if (hit < end && *hit != '"') {
                    /* a line break inside the value: CRLF counts once, as a reader counts lines */
                    if (*hit == '\n' || !(hit + 1 < end && hit[1] == '\n')) (*breaks)++;
                    q = hit + 1;
                    continue;
                }
                f.high = hi >> 7;
                if (hit >= end) {
                    if (!st->final) return 0;
                    r->why = "unterminated quoted field";
                    return -1;
                }
                if (hit + 1 >= end && !st->final) return 0; /* `"` or `""`? need the next byte */
                if (hit + 1 < end && hit[1] == '"') {
                    f.escaped = 1;
                    q = hit + 2;
                    continue;
                }
                f.n = (size_t)(hit - f.s);
                p = hit + 1;
                break;
            }
        } else {
            f.s = p;
            unsigned char hi = 0;
            p = find4(p, end, ',', '\n', '\r', '"', &hi);
            if (p < end && *p == '"') {
                r->why = "quote character inside an unquoted field";
                return -1;
            }
            f.n = (size_t)(p - f.s);
            f.high = hi >> 7;
        }
        if (k < st->ncols) st->fields[k] = f;
        k++;
        if (p >= end) {
            if (!st->final) return 0;
            *rec_end = p;
            *next = p;
            *nfields = k;
            return 1;
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\n' || *p == '\r') {
            *rec_end = p;
            if (*p == '\r') {
                if (p + 1 >= end && !st->final) return 0; /* CR or CRLF? */
                if (p + 1 < end && p[1] == '\n') p++;
            }
            *next = p + 1;
            *nfields = k;
            return 1;
        }
        r->why = "characters after a closing quote";
        return -1;
    }
}

/* room for at least twice the rows seen so far in every per-row buffer */
static int grow_rows(scan_t *st) {
    size_t cap = st->row_cap ? (size_t)st->row_cap * 2 : 1024;
    size_t more = cap - (size_t)st->rows;
    if (buf_reserve(&st->lines, more * 8) || buf_reserve(&st->starts, more * 8) ||
        buf_reserve(&st->ends, more * 8))
        return -1;
    for (int i = 0; i < st->ncols; i++) {
        col_t *c = &st->cols[i];
        if (c->kind == K_SKIP) continue;
        if (buf_reserve(&c->valid, more) || buf_reserve(&c->values, more * kind_width[c->kind])) return -1;
    }
    st->row_cap = (int64_t)cap;
    return 0;
}

static void scan(scan_t *st, result_t *r) {
    const unsigned char *p = st->p;
    const unsigned char *base = st->p;
    r->status = SCAN_OK;
    while (p < st->end) {
        const unsigned char *next, *rec_end;
        int nfields;
        int64_t breaks;
        int got = next_record(st, p, &next, &rec_end, &nfields, &breaks, r);
        if (got == 0) break;
        if (got < 0) {
            r->status = SCAN_STRUCT;
            r->bad_line = st->line;
            return;
        }
        if (rec_end == p && nfields == 1 && !st->fields[0].quoted) {
            /* an empty line: skipped, as the exact tokenizer does, but it is a line */
            st->line += 1;
            p = next;
            st->consumed = (size_t)(p - base);
            continue;
        }
        if (nfields != st->ncols) {
            r->status = SCAN_STRUCT;
            r->bad_line = st->line;
            r->why = "record has a different number of fields than the header";
            return;
        }
        for (int i = 0; i < st->ncols; i++) {
            field_t *f = &st->fields[i];
            if (f->high && !utf8_valid(f->s, f->n)) {
                r->status = SCAN_STRUCT;
                r->bad_line = st->line;
                r->why = "record is not valid UTF-8";
                return;
            }
        }
        if (st->rows == st->row_cap && grow_rows(st)) {
            r->status = SCAN_NOMEM;
            return;
        }
        for (int i = 0; i < st->ncols; i++) {
            col_t *c = &st->cols[i];
            int rc;
            if (c->kind == K_SKIP) continue;
            rc = c->kind == K_STRING ? append_string(c, &st->fields[i], st->end)
                                     : append_typed(c, &st->fields[i]);
            if (rc < 0) {
                r->status = SCAN_NOMEM;
                return;
            }
            if (rc > 0) {
                r->status = SCAN_VALUE;
                r->bad_col = i;
                r->bad_line = st->line;
                return;
            }
        }
        PUT(&st->lines, int64_t, st->line);
        PUT(&st->starts, int64_t, (int64_t)(p - base));
        PUT(&st->ends, int64_t, (int64_t)(rec_end - base));
        st->rows++;
        st->line += 1 + breaks;
        p = next;
        st->consumed = (size_t)(p - base);
    }
}

/* ---- Python glue ---- */

static PyObject *pack_bits(const buf_t *bytes_per_row, int64_t rows) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, (rows + 7) / 8);
    if (!out) return NULL;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(out);
    const unsigned char *v = (const unsigned char *)bytes_per_row->p;
    memset(w, 0, (size_t)((rows + 7) / 8));
    for (int64_t i = 0; i < rows; i++) w[i >> 3] |= (unsigned char)((v[i] != 0) << (i & 7));
    return out;
}

/* A scan's output handed to Python without a copy: the buffer-protocol object owns the
 * malloc'd memory and frees it when Arrow lets go of it. Copying into `bytes` instead cost a
 * memmove and, in a fresh worker, the page faults of a second set of buffers. */
typedef struct {
    PyObject_HEAD
    char *p;
    Py_ssize_t len;
} owned_t;

static int owned_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    owned_t *o = (owned_t *)self;
    return PyBuffer_FillInfo(view, self, o->p, o->len, 1, flags);
}

static void owned_dealloc(PyObject *self) {
    free(((owned_t *)self)->p);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs owned_as_buffer = {owned_getbuffer, NULL};

static PyTypeObject owned_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_csvscan.Owned",
    .tp_basicsize = sizeof(owned_t),
    .tp_dealloc = owned_dealloc,
    .tp_as_buffer = &owned_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Read-only bytes a scan produced, freed with the object.",
};

/* takes b's memory (b is left empty); shrinks it to its length first */
static PyObject *as_bytes(buf_t *b) {
    owned_t *o = PyObject_New(owned_t, &owned_type);
    if (!o) return NULL;
    char *p = b->p;
    if (!p || !b->len) {
        free(p);
        p = malloc(1);
        if (!p) {
            Py_DECREF(o);
            return PyErr_NoMemory();
        }
    } else {
        char *shrunk = realloc(p, b->len);
        if (shrunk) p = shrunk;
    }
    o->p = p;
    o->len = (Py_ssize_t)b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return (PyObject *)o;
}

static void free_cols(col_t *cols, int n) {
    if (!cols) return;
    for (int i = 0; i < n; i++) {
        free(cols[i].valid.p);
        free(cols[i].values.p);
        free(cols[i].data.p);
    }
    free(cols);
}

static PyObject *column_tuple(col_t *c, int64_t rows) {
    if (c->kind == K_SKIP) Py_RETURN_NONE;
    PyObject *valid = c->nulls ? pack_bits(&c->valid, rows) : (Py_INCREF(Py_None), Py_None);
    PyObject *values = c->kind == K_BOOL ? pack_bits(&c->values, rows) : as_bytes(&c->values);
    PyObject *data = c->kind == K_STRING ? as_bytes(&c->data) : (Py_INCREF(Py_None), Py_None);
    if (!valid || !values || !data) {
        Py_XDECREF(valid);
        Py_XDECREF(values);
        Py_XDECREF(data);
        return NULL;
    }
    return Py_BuildValue("(iNNNLn)", c->kind, valid, values, data, (long long)c->nulls, (Py_ssize_t)c->max_len);
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer view, kinds, scales, precisions;
    long long first_line;
    int final;
    if (!PyArg_ParseTuple(args, "y*y*y*y*Lp", &view, &kinds, &scales, &precisions, &first_line, &final))
        return NULL;
    PyObject *out = NULL;
    int ncols = (int)kinds.len;
    scan_t st = {0};
    result_t r = {0};
    st.p = view.buf;
    st.end = st.p + view.len;
    st.final = final;
    st.line = first_line;
    st.ncols = ncols;
    st.cols = calloc((size_t)(ncols ? ncols : 1), sizeof(col_t));
    st.fields = calloc((size_t)(ncols ? ncols : 1), sizeof(field_t));
    if (ncols < 1 || scales.len != ncols || precisions.len != ncols) {
        PyErr_SetString(PyExc_ValueError, "kinds, scales and precisions must have one byte per column");
        goto done;
    }
    if (!st.cols || !st.fields) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0; i < ncols; i++) {
        col_t *c = &st.cols[i];
        c->kind = ((unsigned char *)kinds.buf)[i];
        c->scale = ((unsigned char *)scales.buf)[i];
        c->precision = ((unsigned char *)precisions.buf)[i];
        if (c->kind > K_BOOL) {
            PyErr_SetString(PyExc_ValueError, "csv scan: unknown column kind");
            goto done;
        }
        if (c->kind == K_STRING) {
            int32_t zero = 0;
            if (buf_put(&c->values, &zero, 4)) {
                PyErr_NoMemory();
                goto done;
            }
        }
    }
    Py_BEGIN_ALLOW_THREADS
    scan(&st, &r);
    Py_END_ALLOW_THREADS
    if (r.status == SCAN_NOMEM) {
        PyErr_SetString(PyExc_MemoryError, "csv scan: out of memory or a block over 2 GB of text");
        goto done;
    }
    {
        PyObject *cols = PyList_New(ncols);
        if (!cols) goto done;
        if (r.status == SCAN_OK) {
            for (int i = 0; i < ncols; i++) {
                PyObject *t = column_tuple(&st.cols[i], st.rows);
                if (!t) {
                    Py_DECREF(cols);
                    goto done;
                }
                PyList_SET_ITEM(cols, i, t);
            }
        } else {
            for (int i = 0; i < ncols; i++) {
                Py_INCREF(Py_None);
                PyList_SET_ITEM(cols, i, Py_None);
            }
        }
        out = Py_BuildValue("(inLLNNNNiLs)", r.status, (Py_ssize_t)st.consumed, (long long)st.line,
                            (long long)st.rows, cols, as_bytes(&st.lines), as_bytes(&st.starts),
                            as_bytes(&st.ends), r.bad_col, (long long)r.bad_line, r.why ? r.why : "");
    }
done:
    free_cols(st.cols, ncols);
    free(st.fields);
    free(st.lines.p);
    free(st.starts.p);
    free(st.ends.p);
    PyBuffer_Release(&view);
    PyBuffer_Release(&kinds);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&precisions);
    return out;
}

/* ---- mysqldump VALUES lists -> CSV for Arrow's reader ----
 *
 * `(1,'a\'b',NULL),(2,...)` (tuples separated by `,` or MariaDB's `,\n`) of numbers, NULL and
 * single-quoted strings only -> one CSV line per tuple for Arrow (quote `'`, escape `\`, doubled
 * quotes), MySQL escapes rewritten into what Arrow's escape handling yields (the rules of
 * mysqldump_fast._REWRITE). Tuple separators are found outside strings only, so a `),(` inside
 * a string stays text. Anything else outside strings — a malformed number such as `1-2`,
 * `_binary`, hex or bit literals, spaces, comments — makes it return None: the exact tokenizer
 * reads that statement. */

static int is_number(const unsigned char *s, size_t n) {
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && is_digit(s[i])) i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        while (i < n && is_digit(s[i])) i++, exp++;
        if (!exp) return 0;
    }
    return i == n;
}

/* the bytes written, or -1 when the list is not plain */
static Py_ssize_t values_to_csv(const unsigned char *p, const unsigned char *end, unsigned char *out,
                                Py_ssize_t *rows) {
    unsigned char *w = out;
    *rows = 0;
    for (;;) {
        if (p >= end || *p != '(') return -1;
        p++;
        for (;;) { /* one field */
            if (p < end && *p == '\'') {
                *w++ = *p++;
                for (;;) {
                    if (p >= end) return -1;
                    unsigned char c = *p;
                    if (c == '\\') {
                        if (p + 1 >= end) return -1;
                        unsigned char x = p[1];
                        p += 2;
                        switch (x) {
                        case '\'': case '"': *w++ = '\\'; *w++ = x; break;
                        case '0': *w++ = 0; break;
                        case 'n': *w++ = '\n'; break;
                        case 'r': *w++ = '\r'; break;
                        case 'Z': *w++ = 0x1a; break;
                        case 't': *w++ = '\t'; break;
                        case 'b': *w++ = '\b'; break;
                        case '\\': *w++ = '\\'; *w++ = '\\'; break;
                        case '%': case '_': *w++ = '\\'; *w++ = '\\'; *w++ = x; break;
                        default: *w++ = x; /* MySQL drops the backslash of an unknown escape */
                        }
                        continue;
                    }
                    if (c == '\'') {
                        if (p + 1 < end && p[1] == '\'') { /* a doubled quote stays doubled */
                            *w++ = c;
                            *w++ = c;
                            p += 2;
                            continue;
                        }
                        *w++ = c;
                        p++;
                        break;
                    }
                    *w++ = c;
                    p++;
                }
            } else {
                const unsigned char *t = p;
                while (p < end && *p != ',' && *p != ')') p++;
                size_t n = (size_t)(p - t);
                if (!(n == 4 && memcmp(t, "NULL", 4) == 0) && !is_number(t, n)) return -1;
                memcpy(w, t, n);
                w += n;
            }
            if (p >= end) return -1;
            if (*p == ',') {
                *w++ = ',';
                p++;
                continue;
            }
            if (*p != ')') return -1; /* e.g. a comment right after a string */
            p++;
            break;
        }
        (*rows)++;
        if (p == end) return (Py_ssize_t)(w - out);
        if (*p != ',') return -1;
        p++;
        if (p < end && *p == '\n') p++;
        *w++ = '\n';
    }
}

static PyObject *py_values_csv(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start, rows = 0, n;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*n", &view, &start)) return NULL;
    if (start < 0 || start > view.len) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "values_csv: start outside the text");
        return NULL;
    }
    /* escapes grow by at most one byte per two read (`\%` -> `\\%`) */
    unsigned char *out = malloc((size_t)(view.len - start) * 2 + 16);
    if (!out) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    n = values_to_csv((const unsigned char *)view.buf + start, (const unsigned char *)view.buf + view.len, out,
                      &rows);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *result;
    if (n < 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = Py_BuildValue("(y#n)", (const char *)out, n, rows);
    }
    free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"values_csv", py_values_csv, METH_VARARGS,
     "values_csv(statement, start) -> (csv, tuples), or None when the VALUES list at `start` is not "
     "plain (numbers, NULL and single-quoted strings only)"},
    {"scan", py_scan, METH_VARARGS,
     "scan(block, kinds, scales, precisions, first_line, final) -> (status, consumed, next_line, rows, "
     "columns, lines, starts, ends, bad_column, bad_line, why)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__csvscan(void) {
    if (PyType_Ready(&owned_type) < 0) return NULL;
    return PyModule_Create(&module);
}
