/* toolkit.native.slowlog: the MySQL / MariaDB / Percona slow-log record finder (issue #12).
 *
 * scan(text, first_line) finds, in ONE pass over a piece of decoded text, the records and the
 * lines no record claims, exactly where the records' regex of toolkit.queries.mysql_slow used to
 * find them (the regex is gone; tests/native/test_slowlog.py keeps it as the oracle):
 *
 *   record = ['# Time: ' TIME ('\n' | ' ' before '# User@Host: ')]      (lazy: the first cut
 *            ['# User@Host: ' USERHOST '\n']                             that lets the rest match)
 *            PRE: '#' lines that are not '# Query_time: ', '# Time: ', '# User@Host: ',
 *                 '# administrator command: '
 *            '# Query_time: ' QT [WS 'Lock_time: ' LT WS 'Rows_sent: ' RS WS 'Rows_examined:'
 *                 [ \t]* RX] TAIL '\n'                  (WS: Unicode white space, line breaks too)
 *            POST: '#' lines that are not '# Time: ', '# User@Host: ', '# Query_time: ',
 *                 '# administrator command: '
 *            ['use ' USE ';\n'] ['SET timestamp=' TS(decimal digits) ';\n']
 *            STATEMENT: lines up to the next line that starts a record (AHEAD: '# Time: ',
 *                 '# User@Host: ', or a run of '#' lines, not administrator commands, holding a
 *                 '# Query_time: ' line); the last line may lack its line break.
 *   junk   = one line no record claims.
 *
 * Server start banners cut the text first (records never cross one: what follows a banner is
 * read as a new text, as the reader did with text.find('started with:') and a regex):
 *   banner = a line ending with 'started with:' that holds ', Version: ' before it,
 *            ['Tcp port:' ... '\n'], ['Time' WS 'Id' WS 'Command' WS 'Argument' ... ('\n' | end)]
 *
 * A statement that does not end with ';\n' and may end inside a string literal (it does not
 * end with ';' before trailing white space and holds an odd number of unescaped ' or ") is read
 * again following string literals, `identifiers`, comments across lines, so that header-like
 * lines inside a literal stay in the statement (what the second regex, with quotes, did).
 *
 * The text is read as UTF-8 (PyUnicode_AsUTF8AndSize: the str's own bytes for ASCII text;
 * 'surrogatepass' for a str holding lone surrogates, which decoded input never does). Every
 * walk is bounds-checked against the text's length: NUL bytes, CR, any code point, empty text,
 * a last line without a line break are ordinary input.
 *
 * Returns (lines, first, nlines, columns, runs, figures):
 *   lines    the text's lines (its line breaks, plus one for a last line without one);
 *   first    bytes of int64: each record's first line (first_line + lines before it);
 *   nlines   bytes of int64: each record's lines;
 *   columns  a tuple of COLUMNS (codes, values) pairs, one per record field, in the order of
 *            FIELDS below: codes is bytes of int32, one code per record, into values, a list of
 *            the distinct texts of that field in this piece (values[0] == '': absent or empty).
 *            Distinct values, hashed here: the Python side parses each distinct header text,
 *            User@Host, time and figure once, and the digest fingerprints each distinct
 *            statement once, without a str per row;
 *   runs     a list of (line, text, count, kind), in line order, for each run of consecutive
 *            junk lines (kind 0; 1: the run holds '# User@Host: ', a record cut before its
 *            '# Query_time:' line) and each banner (kind 2): its first line, its text, its lines;
 *   figures  (query_time, lock_time, rows_sent, rows_examined, status), bytes each, one item per
 *            record: float64 seconds, float64 seconds, int64, int64 (NaN / 0 where not read
 *            here) and a uint8 status (see put_figures): the figures as numbers without a str
 *            per row; the rare ones the C pass cannot decide keep the Python side's rules.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* the record fields, in the order of the returned columns */
enum { F_TIME, F_USERHOST, F_PRE, F_QT, F_LT, F_RS, F_RX, F_TAIL, F_POST, F_USE, F_TS, F_STMT, NFIELDS };

typedef struct { Py_ssize_t a, b; } Span; /* bytes [a, b) of the text; a == b: absent/empty */

typedef struct {
    const unsigned char *s;
    Py_ssize_t n;
    int ascii;          /* the str is ASCII: substrings are copied, not decoded */
    const char *errors; /* NULL, or "surrogatepass" */
    /* AHEAD memo: line starts in [noqt_lo, noqt_hi] start no record (a '#' run without
       '# Query_time: '), so a long run of '#' lines costs one walk, not one per line */
    Py_ssize_t noqt_lo, noqt_hi;
    /* record memo: a record cannot start (without '# Time:') at a line start in [fail_lo, fail_hi] */
    Py_ssize_t fail_lo, fail_hi;
} Text;

static inline int starts(const Text *t, Py_ssize_t p, const char *lit, Py_ssize_t len) {
    return p >= 0 && p + len <= t->n && memcmp(t->s + p, lit, (size_t)len) == 0;
}
#define STARTS(t, p, lit) starts((t), (p), (lit), (Py_ssize_t)(sizeof(lit) - 1))

static inline Py_ssize_t eol(const Text *t, Py_ssize_t p) { /* the '\n' at or after p, else n */
    if (p >= t->n) return t->n;
    const unsigned char *q = memchr(t->s + p, '\n', (size_t)(t->n - p));
    return q ? (Py_ssize_t)(q - t->s) : t->n;
}

/* The code point at byte p (p < n) and its width in bytes. The text is UTF-8 from CPython;
   a truncated or malformed sequence still advances by one byte and never reads past n. */
static inline Py_UCS4 cp_at(const Text *t, Py_ssize_t p, int *w) {
    const unsigned char *s = t->s;
    unsigned c = s[p];
    if (c < 0x80) { *w = 1; return c; }
    int need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (need == 0 || p + need >= t->n) { *w = 1; return c; }
    Py_UCS4 v = c & (0x3F >> need);
    for (int k = 1; k <= need; k++) {
        unsigned d = s[p + k];
        if ((d & 0xC0) != 0x80) { *w = 1; return c; }
        v = (v << 6) | (d & 0x3F);
    }
    *w = need + 1;
    return v;
}

static inline int space_at(const Text *t, Py_ssize_t p, int *w) { /* regex \s (Py_UNICODE_ISSPACE) */
    Py_UCS4 c = cp_at(t, p, w);
    return Py_UNICODE_ISSPACE(c);
}

/* \s+ from p: the end of the run of white space (p itself: none) */
static Py_ssize_t spaces(const Text *t, Py_ssize_t p) {
    int w;
    while (p < t->n && space_at(t, p, &w)) p += w;
    return p;
}

/* \S+ from p: the end of the run of other code points (p itself: none) */
static Py_ssize_t nonspaces(const Text *t, Py_ssize_t p) {
    int w;
    while (p < t->n) {
        unsigned c = t->s[p];
        if (c < 0x80) { /* ASCII: \s is \t\n\v\f\r, space and \x1c-\x1f */
            if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) break;
            p++;
            continue;
        }
        if (space_at(t, p, &w)) break;
        p += w;
    }
    return p;
}

/* a '#' line that is no administrator command (the header lines of AHEAD) */
#define ADMIN "# administrator command: "

/* AHEAD at line start p: does a record start here (the lines from p are '# Time: ',
   '# User@Host: ', or '#' lines, not administrator commands, up to a '# Query_time: ' one)? */
static int ahead(Text *t, Py_ssize_t p) {
    if (p >= t->n || t->s[p] != '#') return 0;
    if (STARTS(t, p, "# Time: ") || STARTS(t, p, "# User@Host: ")) return 1;
    if (p >= t->noqt_lo && p <= t->noqt_hi) return 0;
    Py_ssize_t r = p;
    for (;;) {
        if (STARTS(t, r, "# Query_time: ")) return 1;
        if (r >= t->n || t->s[r] != '#' || STARTS(t, r, ADMIN)) break;
        Py_ssize_t e = eol(t, r);
        if (e >= t->n) break;
        r = e + 1;
    }
    t->noqt_lo = p;
    t->noqt_hi = r;
    return 0;
}

/* The end of the run of lines that are '#' lines with a line break not starting with any of
   '# Query_time: ', '# Time: ', '# User@Host: ' or an administrator command (PRE, POST). */
static Py_ssize_t header_run(const Text *t, Py_ssize_t q) {
    while (q < t->n && t->s[q] == '#') {
        if (STARTS(t, q, "# Query_time: ") || STARTS(t, q, "# Time: ") || STARTS(t, q, "# User@Host: ") ||
            STARTS(t, q, ADMIN))
            break;
        Py_ssize_t e = eol(t, q);
        if (e >= t->n) break;
        q = e + 1;
    }
    return q;
}

/* The statement's tokens from p (quotes mode): up to a line break outside string literals,
   `identifiers` and block comments, or the end. */
static Py_ssize_t tokens(const Text *t, Py_ssize_t r) {
    const unsigned char *s = t->s;
    Py_ssize_t n = t->n;
    while (r < n) {
        unsigned c = s[r];
        if (c == '\n') return r;
        if (c == '\'' || c == '"') {
            Py_ssize_t k = r + 1;
            while (k < n) {
                if (s[k] == '\\') k += 2;
                else if (s[k] == c) break;
                else k++;
            }
            r = (k < n && s[k] == c) ? k + 1 : r + 1; /* an unclosed quote stands for itself */
        } else if (c == '`') {
            const unsigned char *q = r + 1 < n ? memchr(s + r + 1, '`', (size_t)(n - r - 1)) : NULL;
            r = q ? (Py_ssize_t)(q - s) + 1 : r + 1;
        } else if (c == '/' && r + 1 < n && s[r + 1] == '*') {
            Py_ssize_t k = r + 2, end = -1;
            while (k + 1 < n) {
                const unsigned char *q = memchr(s + k, '*', (size_t)(n - k - 1));
                if (!q) break;
                k = (Py_ssize_t)(q - s);
                if (s[k + 1] == '/') { end = k + 2; break; }
                k++;
            }
            r = end >= 0 ? end : r + 1;
        } else if (c == '-' && STARTS(t, r, "-- ")) {
            r = eol(t, r);
        } else {
            r++;
        }
    }
    return r;
}

/* STATEMENT from q: its end. */
static Py_ssize_t statement(Text *t, Py_ssize_t q, int quotes) {
    for (;;) {
        if (q >= t->n || ahead(t, q)) return q;
        Py_ssize_t e = quotes ? tokens(t, q) : eol(t, q);
        if (e < t->n) { q = e + 1; continue; }
        return e; /* the last line, without a line break (non-empty: q < n) */
    }
}

/* Whether a statement as first cut may end inside a string literal (mysql_slow's old
   open_literal): not ending with ';' before trailing white space, an odd number of unescaped
   single or double quotes (\' is escaped, '' is two). */
static int open_literal(const Text *t, Span st) {
    const unsigned char *s = t->s;
    if (st.b <= st.a) return 0;
    if (st.b - st.a >= 2 && s[st.b - 2] == ';' && s[st.b - 1] == '\n') return 0;
    /* rstrip (Unicode white space), then the last code point */
    Py_ssize_t b = st.b;
    while (b > st.a) {
        Py_ssize_t k = b - 1;
        while (k > st.a && (s[k] & 0xC0) == 0x80 && b - k < 4) k--;
        int w;
        Py_UCS4 c = cp_at(t, k, &w);
        if (k + w != b || !Py_UNICODE_ISSPACE(c)) break;
        b = k;
    }
    if (b > st.a && s[b - 1] == ';') return 0;
    Py_ssize_t n1 = 0, e1 = 0, n2 = 0, e2 = 0;
    for (Py_ssize_t k = st.a; k < st.b; k++) {
        unsigned c = s[k];
        if (c == '\'') { n1++; if (k > st.a && s[k - 1] == '\\') e1++; }
        else if (c == '"') { n2++; if (k > st.a && s[k - 1] == '\\') e2++; }
    }
    return ((n1 & 1) && ((n1 - e1) & 1)) || ((n2 & 1) && ((n2 - e2) & 1));
}

typedef struct {
    Span f[NFIELDS];
    Py_ssize_t end;
} Rec;

/* After '# Time:' and '# User@Host:': PRE, the '# Query_time:' line, POST, use, SET timestamp,
   the statement. 1: a record (r filled), 0: none. */
static int rest2(Text *t, Py_ssize_t q, Rec *r) {
    if (q >= t->fail_lo && q <= t->fail_hi) return 0;
    Py_ssize_t q0 = q;
    r->f[F_PRE].a = q;
    q = header_run(t, q);
    r->f[F_PRE].b = q;
    Py_ssize_t stop = q;
    if (!STARTS(t, q, "# Query_time: ")) goto fail;
    Py_ssize_t a = q + 14, b = nonspaces(t, a);
    if (b == a) goto fail;
    r->f[F_QT] = (Span){a, b};
    /* Lock_time, Rows_sent, Rows_examined: all or none */
    {
        int ok = 0;
        Py_ssize_t c = spaces(t, b), la, lb, sa, sb, xa, xb, e;
        if (c > b && STARTS(t, c, "Lock_time: ")) {
            la = c + 11; lb = nonspaces(t, la);
            c = spaces(t, lb);
            if (lb > la && c > lb && STARTS(t, c, "Rows_sent: ")) {
                sa = c + 11; sb = nonspaces(t, sa);
                c = spaces(t, sb);
                if (sb > sa && c > sb && STARTS(t, c, "Rows_examined:")) {
                    xa = c + 14;
                    while (xa < t->n && (t->s[xa] == ' ' || t->s[xa] == '\t')) xa++;
                    xb = nonspaces(t, xa);
                    e = eol(t, xb);
                    if (xb > xa && e < t->n) {
                        ok = 1;
                        r->f[F_LT] = (Span){la, lb};
                        r->f[F_RS] = (Span){sa, sb};
                        r->f[F_RX] = (Span){xa, xb};
                        r->f[F_TAIL] = (Span){xb, e};
                        q = e + 1;
                    }
                }
            }
        }
        if (!ok) {
            e = eol(t, b);
            if (e >= t->n) goto fail;
            r->f[F_LT] = r->f[F_RS] = r->f[F_RX] = (Span){0, 0};
            r->f[F_TAIL] = (Span){b, e};
            q = e + 1;
        }
    }
    r->f[F_POST].a = q;
    q = header_run(t, q);
    r->f[F_POST].b = q;
    r->f[F_USE] = (Span){0, 0};
    if (STARTS(t, q, "use ")) {
        Py_ssize_t e = eol(t, q);
        if (e < t->n && e - 1 >= q + 4 && t->s[e - 1] == ';') {
            r->f[F_USE] = (Span){q + 4, e - 1};
            q = e + 1;
        }
    }
    r->f[F_TS] = (Span){0, 0};
    if (STARTS(t, q, "SET timestamp=")) {
        Py_ssize_t d = q + 14;
        int w;
        while (d < t->n) {
            Py_UCS4 c = cp_at(t, d, &w);
            if (!Py_UNICODE_ISDECIMAL(c)) break;
            d += w;
        }
        if (d > q + 14 && STARTS(t, d, ";\n")) {
            r->f[F_TS] = (Span){q + 14, d};
            q = d + 2;
        }
    }
    r->f[F_STMT].a = q;
    r->f[F_STMT].b = statement(t, q, 0);
    if (open_literal(t, r->f[F_STMT]))
        r->f[F_STMT].b = statement(t, q, 1);
    r->end = r->f[F_STMT].b;
    return 1;
fail:
    /* any line start from q0 to the line that ended the header run reaches the same failure
       (kept for line starts only: a start after '# Time: ... ' mid-line must not replace it, or
       a '# Time:' line with many ' # User@Host: ' cuts would walk the header run once per cut) */
    if (q0 == 0 || t->s[q0 - 1] == '\n') {
        t->fail_lo = q0;
        t->fail_hi = stop;
    }
    return 0;
}

/* After '# Time:': ['# User@Host: ' ... '\n'] then rest2. */
static int rest1(Text *t, Py_ssize_t q, Rec *r) {
    if (STARTS(t, q, "# User@Host: ")) {
        Py_ssize_t e = eol(t, q);
        if (e < t->n) {
            if (rest2(t, e + 1, r)) {
                r->f[F_USERHOST] = (Span){q + 13, e};
                return 1;
            }
        }
    }
    r->f[F_USERHOST] = (Span){0, 0};
    return rest2(t, q, r);
}

/* A record at line start p (1), or none (0: p's line is a junk line). */
static int record(Text *t, Py_ssize_t p, Rec *r) {
    if (STARTS(t, p, "# Time: ")) {
        /* the lazy time value: each cut in turn, ' ' before '# User@Host: ' or the line break */
        Py_ssize_t e = eol(t, p), v = p + 8;
        for (Py_ssize_t k = v; k <= e && k < t->n; k++) {
            Py_ssize_t next;
            if (k == e) next = e + 1;
            else if (t->s[k] == ' ' && STARTS(t, k + 1, "# User@Host: ")) next = k + 1;
            else continue;
            if (rest1(t, next, r)) {
                r->f[F_TIME] = (Span){v, k};
                return 1;
            }
        }
    }
    r->f[F_TIME] = (Span){0, 0};
    return rest1(t, p, r);
}

/* ---- growable buffers and distinct-value columns ------------------------------------------ */

typedef struct { char *p; Py_ssize_t len, cap; } Buf;

static int buf_put(Buf *b, const void *x, Py_ssize_t size) {
    if (b->len + size > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + size) {
            if (cap > PY_SSIZE_T_MAX / 2) { PyErr_NoMemory(); return -1; }
            cap *= 2;
        }
        char *np = PyMem_Realloc(b->p, (size_t)cap);
        if (!np) { PyErr_NoMemory(); return -1; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, x, (size_t)size);
    b->len += size;
    return 0;
}

typedef struct {
    PyObject *values;  /* list of str; [0] = '' */
    Span *spans;       /* each value's bytes in the text */
    uint64_t *hashes;
    Py_ssize_t count, cap;
    int32_t *slots;    /* open addressing: value index + 1, 0 empty */
    size_t nslots;
    Buf codes;         /* int32 per record */
} Col;

static uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, 8 bytes at a time folded */
    Py_ssize_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t x;
        memcpy(&x, s + k, 8);
        h = (h ^ x) * 1099511628211ULL;
        h ^= h >> 29;
    }
    for (; k < n; k++) h = (h ^ s[k]) * 1099511628211ULL;
    h ^= h >> 32;
    return h;
}

static PyObject *substring(const Text *t, Span sp) {
    Py_ssize_t len = sp.b - sp.a;
    if (t->ascii) {
        PyObject *u = PyUnicode_New(len, 127);
        if (!u) return NULL;
        memcpy(PyUnicode_DATA(u), t->s + sp.a, (size_t)len);
        return u;
    }
    return PyUnicode_DecodeUTF8((const char *)t->s + sp.a, len, t->errors);
}

static int col_init(Col *c) {
    memset(c, 0, sizeof(*c));
    c->values = PyList_New(0);
    if (!c->values) return -1;
    PyObject *empty = PyUnicode_New(0, 0);
    if (!empty) return -1;
    int rc = PyList_Append(c->values, empty);
    Py_DECREF(empty);
    if (rc < 0) return -1;
    c->cap = 64;
    c->count = 1;
    c->spans = PyMem_Malloc(sizeof(Span) * (size_t)c->cap);
    c->hashes = PyMem_Malloc(sizeof(uint64_t) * (size_t)c->cap);
    c->nslots = 256;
    c->slots = PyMem_Calloc(c->nslots, sizeof(int32_t));
    if (!c->spans || !c->hashes || !c->slots) { PyErr_NoMemory(); return -1; }
    c->spans[0] = (Span){0, 0};
    c->hashes[0] = 0;
    return 0;
}

static void col_free(Col *c) {
    Py_XDECREF(c->values);
    PyMem_Free(c->spans);
    PyMem_Free(c->hashes);
    PyMem_Free(c->slots);
    PyMem_Free(c->codes.p);
    memset(c, 0, sizeof(*c));
}

static int col_grow_slots(Col *c) {
    size_t n = c->nslots * 2;
    int32_t *slots = PyMem_Calloc(n, sizeof(int32_t));
    if (!slots) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 1; i < c->count; i++) {
        size_t j = (size_t)c->hashes[i] & (n - 1);
        while (slots[j]) j = (j + 1) & (n - 1);
        slots[j] = (int32_t)(i + 1);
    }
    PyMem_Free(c->slots);
    c->slots = slots;
    c->nslots = n;
    return 0;
}

/* The code of span sp's text (a new distinct value if unseen), appended to the column's codes. */
static int col_add(Col *c, const Text *t, Span sp) {
    int32_t code = 0;
    if (sp.b > sp.a) {
        Py_ssize_t len = sp.b - sp.a;
        uint64_t h = hash_bytes(t->s + sp.a, len);
        size_t j = (size_t)h & (c->nslots - 1);
        for (;;) {
            int32_t v = c->slots[j];
            if (!v) break;
            Span o = c->spans[v - 1];
            if (c->hashes[v - 1] == h && o.b - o.a == len && memcmp(t->s + o.a, t->s + sp.a, (size_t)len) == 0) {
                code = v - 1;
                break;
            }
            j = (j + 1) & (c->nslots - 1);
        }
        if (!code) {
            if (c->count >= INT32_MAX - 1) { PyErr_SetString(PyExc_OverflowError, "too many distinct values"); return -1; }
            if (c->count == c->cap) {
                Py_ssize_t cap = c->cap * 2;
                Span *spans = PyMem_Realloc(c->spans, sizeof(Span) * (size_t)cap);
                if (!spans) { PyErr_NoMemory(); return -1; }
                c->spans = spans;
                uint64_t *hashes = PyMem_Realloc(c->hashes, sizeof(uint64_t) * (size_t)cap);
                if (!hashes) { PyErr_NoMemory(); return -1; }
                c->hashes = hashes;
                c->cap = cap;
            }
            PyObject *u = substring(t, sp);
            if (!u) return -1;
            int rc = PyList_Append(c->values, u);
            Py_DECREF(u);
            if (rc < 0) return -1;
            code = (int32_t)c->count;
            c->spans[code] = sp;
            c->hashes[code] = h;
            c->slots[j] = code + 1;
            c->count++;
            if ((size_t)c->count * 2 > c->nslots && col_grow_slots(c) < 0) return -1;
        }
    }
    return buf_put(&c->codes, &code, sizeof(code));
}

static Py_ssize_t count_nl(const Text *t, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t k = 0;
    while (a < b) {
        const unsigned char *q = memchr(t->s + a, '\n', (size_t)(b - a));
        if (!q) break;
        k++;
        a = (Py_ssize_t)(q - t->s) + 1;
    }
    return k;
}

/* A run of lines no record claims (banner 0), kind 0: junk, 1: junk holding '# User@Host: '
   (a record cut before its '# Query_time:' line); or a restart banner (banner 1), kind 2. */
static int add_run(PyObject *runs, const Text *t, Py_ssize_t a, Py_ssize_t b, long long line, long long count,
                   int banner) {
    PyObject *text = substring(t, (Span){a, b});
    if (!text) return -1;
    int kind = banner ? 2 : 0;
    for (Py_ssize_t k = a; !banner && k + 13 <= b; k++) {
        const unsigned char *q = memchr(t->s + k, '#', (size_t)(b - k));
        if (!q) break;
        k = (Py_ssize_t)(q - t->s);
        if (k + 13 <= b && memcmp(q, "# User@Host: ", 13) == 0) { kind = 1; break; }
    }
    PyObject *item = Py_BuildValue("(LNLi)", line, text, count, kind);
    if (!item) return -1;
    int rc = PyList_Append(runs, item);
    Py_DECREF(item);
    return rc;
}

static const unsigned char *find_bytes(const unsigned char *s, Py_ssize_t n, const char *lit, Py_ssize_t len) {
    /* (memmem: the first byte by memchr, then the rest) */
    Py_ssize_t k = 0;
    while (k + len <= n) {
        const unsigned char *q = memchr(s + k, lit[0], (size_t)(n - len + 1 - k));
        if (!q) return NULL;
        if (memcmp(q, lit, (size_t)len) == 0) return q;
        k = (Py_ssize_t)(q - s) + 1;
    }
    return NULL;
}

/* The next server start banner at or after line start pos: *bol its first line's start, *end
   where it ends (both n: none). A banner (mysql_slow's old BANNER regex, kept by the tests):
   a line ending with 'started with:' that holds ', Version: ' before that, then optionally a
   'Tcp port:' line, then optionally 'Time' WS 'Id' WS 'Command' WS 'Argument' and the rest of
   its line (WS: Unicode white space, line breaks too). t->n is the text's end here. */
static int next_banner(Text *t, Py_ssize_t pos, Py_ssize_t *bol, Py_ssize_t *end) {
    static const char tail[] = "started with:\n", version[] = ", Version: ";
    Py_ssize_t n = t->n, k = pos;
    while (k < n) {
        const unsigned char *q = find_bytes(t->s + k, n - k, tail, 14);
        if (!q) break;
        Py_ssize_t hit = (Py_ssize_t)(q - t->s), b = hit;
        while (b > pos && t->s[b - 1] != '\n') b--;
        if (find_bytes(t->s + b, hit - b, version, 11)) {
            Py_ssize_t e = hit + 14;
            if (STARTS(t, e, "Tcp port:")) {
                Py_ssize_t x = eol(t, e);
                if (x < n) e = x + 1;
            }
            if (STARTS(t, e, "Time")) {
                Py_ssize_t c = e + 4, d;
                d = spaces(t, c);
                if (d > c && STARTS(t, d, "Id")) {
                    c = d + 2; d = spaces(t, c);
                    if (d > c && STARTS(t, d, "Command")) {
                        c = d + 7; d = spaces(t, c);
                        if (d > c && STARTS(t, d, "Argument")) {
                            Py_ssize_t x = eol(t, d + 8);
                            e = x < n ? x + 1 : n;
                        }
                    }
                }
            }
            *bol = b;
            *end = e;
            return 0;
        }
        k = hit + 14;
    }
    *bol = *end = n;
    return 0;
}

/* A figure of the '# Query_time:' line read here when it is plain: 0 read (*d or *i), 1 absent
   (empty), 2 anything else (signs, exponents, other digits, '_', NaN, too long, ...): the
   Python side applies its own rules (toolkit.schema) to that row's text. Plain is
   [0-9]+(.[0-9]+)? of at most 30 characters for seconds (PyOS_string_to_double: float()'s own
   correctly rounded conversion; finite and >= 0 by construction) and [0-9]{1,18} for rows
   (always within int64). */
static int figure_float(const Text *t, Span sp, double *d) {
    Py_ssize_t a = sp.a, b = sp.b, k = a;
    if (b == a) return 1;
    if (b - a > 30) return 2;
    while (k < b && t->s[k] >= '0' && t->s[k] <= '9') k++;
    if (k == a) return 2;
    if (k < b && t->s[k] == '.') {
        Py_ssize_t f = ++k;
        while (k < b && t->s[k] >= '0' && t->s[k] <= '9') k++;
        if (k == f) return 2;
    }
    if (k != b) return 2;
    char buf[32];
    memcpy(buf, t->s + a, (size_t)(b - a));
    buf[b - a] = '\0';
    double v = PyOS_string_to_double(buf, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 2; }
    *d = v;
    return 0;
}

static int figure_int(const Text *t, Span sp, int64_t *i) {
    if (sp.b == sp.a) return 1;
    if (sp.b - sp.a > 18) return 2;
    int64_t v = 0;
    for (Py_ssize_t k = sp.a; k < sp.b; k++) {
        unsigned c = t->s[k];
        if (c < '0' || c > '9') return 2;
        v = v * 10 + (int64_t)(c - '0');
    }
    *i = v;
    return 0;
}

/* The four figures of a record into their arrays, and its status byte: bit k (k = 0..3:
   Query_time, Lock_time, Rows_sent, Rows_examined) set when figure k is left to the Python
   side's rules, bit k + 4 when it is absent (NaN / 0 in the arrays then). */
static int put_figures(Buf *vals, Buf *status, const Text *t, const Rec *r) {
    double d[2] = {NAN, NAN};
    int64_t i[2] = {0, 0};
    unsigned char st = 0;
    for (int k = 0; k < 2; k++) {
        int rc = figure_float(t, r->f[F_QT + k], &d[k]);
        if (rc) { st |= (unsigned char)(rc == 1 ? 0x10 << k : 1 << k); d[k] = NAN; }
    }
    for (int k = 0; k < 2; k++) {
        int rc = figure_int(t, r->f[F_RS + k], &i[k]);
        if (rc) { st |= (unsigned char)(rc == 1 ? 0x10 << (k + 2) : 1 << (k + 2)); i[k] = 0; }
    }
    if (buf_put(&vals[0], &d[0], 8) < 0 || buf_put(&vals[1], &d[1], 8) < 0 || buf_put(&vals[2], &i[0], 8) < 0 ||
        buf_put(&vals[3], &i[1], 8) < 0)
        return -1;
    return buf_put(status, &st, 1);
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text;
    long long first_line = 1;
    if (!PyArg_ParseTuple(args, "U|L:scan", &text, &first_line)) return NULL;
    Text t;
    memset(&t, 0, sizeof(t));
    t.noqt_lo = t.fail_lo = 1;
    t.noqt_hi = t.fail_hi = 0; /* (empty memos) */
    PyObject *encoded = NULL;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) { /* lone surrogates (never in decoded input): their UTF-8 form, decoded back alike */
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
        PyErr_Clear();
        encoded = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
        if (!encoded) return NULL;
        s = PyBytes_AS_STRING(encoded);
        n = PyBytes_GET_SIZE(encoded);
        t.errors = "surrogatepass";
    }
    t.s = (const unsigned char *)s;
    t.n = n;
    t.ascii = PyUnicode_IS_ASCII(text);

    Col cols[NFIELDS];
    int ncols = 0;
    Buf first = {0}, nlines = {0}, figs[4] = {{0}}, status = {0};
    PyObject *figtuple = NULL;
    PyObject *runs = NULL, *result = NULL, *coltuple = NULL;
    for (; ncols < NFIELDS; ncols++)
        if (col_init(&cols[ncols]) < 0) { ncols++; goto done; }
    runs = PyList_New(0);
    if (!runs) goto done;

    long long line = first_line;
    Py_ssize_t pos = 0;
    Rec r;
    for (;;) {
        /* the segment up to the next restart banner (or the end): records never cross one */
        Py_ssize_t bol = n, bend = n;
        t.n = n;
        if (next_banner(&t, pos, &bol, &bend) < 0) goto done;
        t.n = bol;
        t.noqt_lo = t.fail_lo = 1;
        t.noqt_hi = t.fail_hi = 0; /* (the memos hold for one segment's end) */
        Py_ssize_t p = pos, junk_at = -1;
        long long junk_line = 0, junk_count = 0;
        while (p < bol) {
            if (record(&t, p, &r)) {
                if (junk_at >= 0) {
                    if (add_run(runs, &t, junk_at, p, junk_line, junk_count, 0) < 0) goto done;
                    junk_at = -1;
                }
                long long nl = (long long)count_nl(&t, p, r.end);
                if (r.end == bol && t.s[r.end - 1] != '\n') nl++;
                if (buf_put(&first, &line, sizeof(line)) < 0 || buf_put(&nlines, &nl, sizeof(nl)) < 0) goto done;
                for (int k = 0; k < NFIELDS; k++)
                    if (col_add(&cols[k], &t, r.f[k]) < 0) goto done;
                if (put_figures(figs, &status, &t, &r) < 0) goto done;
                line += nl;
                p = r.end;
            } else {
                Py_ssize_t e = eol(&t, p);
                if (junk_at < 0) { junk_at = p; junk_line = line; junk_count = 0; }
                junk_count++;
                line++;
                p = e < bol ? e + 1 : bol;
            }
        }
        if (junk_at >= 0 && add_run(runs, &t, junk_at, bol, junk_line, junk_count, 0) < 0) goto done;
        if (bol >= n) break;
        /* the banner: its lines (a last one without a line break counts) */
        t.n = n;
        long long bl = (long long)count_nl(&t, bol, bend) + (t.s[bend - 1] != '\n');
        if (add_run(runs, &t, bol, bend, line, bl, 1) < 0) goto done;
        line += bl;
        pos = bend;
    }
    t.n = n;

    coltuple = PyTuple_New(NFIELDS);
    if (!coltuple) goto done;
    for (int k = 0; k < NFIELDS; k++) {
        PyObject *codes = PyBytes_FromStringAndSize(cols[k].codes.p, cols[k].codes.len);
        if (!codes) goto done;
        PyObject *pair = PyTuple_Pack(2, codes, cols[k].values);
        Py_DECREF(codes);
        if (!pair) goto done;
        PyTuple_SET_ITEM(coltuple, k, pair);
    }
    figtuple = PyTuple_New(5);
    if (!figtuple) goto done;
    for (int k = 0; k < 5; k++) {
        Buf *b = k < 4 ? &figs[k] : &status;
        PyObject *x = PyBytes_FromStringAndSize(b->p, b->len);
        if (!x) goto done;
        PyTuple_SET_ITEM(figtuple, k, x);
    }
    {
        PyObject *fb = PyBytes_FromStringAndSize(first.p, first.len);
        PyObject *nb = fb ? PyBytes_FromStringAndSize(nlines.p, nlines.len) : NULL;
        if (nb)
            result = Py_BuildValue("(LOOOOO)", line - first_line, fb, nb, coltuple, runs, figtuple);
        Py_XDECREF(fb);
        Py_XDECREF(nb);
    }
done:
    for (int k = 0; k < ncols; k++) col_free(&cols[k]);
    PyMem_Free(first.p);
    PyMem_Free(nlines.p);
    for (int k = 0; k < 4; k++) PyMem_Free(figs[k].p);
    PyMem_Free(status.p);
    Py_XDECREF(figtuple);
    Py_XDECREF(runs);
    Py_XDECREF(coltuple);
    Py_XDECREF(encoded);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(text, first_line=1) -> (lines, first, nlines, columns, junk): the slow-log records and\n"
     "junk lines of a piece of text (see the module's source for the columns)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "toolkit.native.slowlog",
    "The slow-log record finder of toolkit.queries.mysql_slow (C, one pass per piece of text).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_slowlog(void) { return PyModule_Create(&module); }
