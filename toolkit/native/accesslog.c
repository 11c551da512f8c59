/* toolkit.native.accesslog: the access-log scanner's inner loop (issue #12).
 *
 * One function, scan(text, atoms, ngroups), reads a piece of an access log (whole lines; a line
 * break at the end of `text` ends its last line, so "a\n" is one line and "a\n\n" two, the
 * second empty) line by line with the compiled log_format itself: `atoms` is the
 * format's line pattern as toolkit.http.logformat compiles it (CompiledFormat.atoms), a sequence
 * of literals and value patterns, each pattern one of the few the line regex is built from:
 *
 *   LIT      the literal bytes of `arg`
 *   UNTIL    [^C\n]*+   everything up to the first `arg` (a character's UTF-8 bytes)
 *   REST     .*+        the rest of the line
 *   LAZY     [^\n]*?    as little as the atoms after it allow (two variables back to back)
 *   ESCAPED  (?:[^"\\\n]++|\\.)*+   a quoted value with \" and \\ escapes (JSON, Apache)
 *   INT      -?[0-9]++|-
 *   NUM      [0-9.]*+|-
 *   TLOCAL   \d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}
 *   TISO     \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)
 *   LIST     -|[^ ,\n]++(?:(?:, | : )[^ ,\n]++)*+
 *
 * and each atom may open and/or close a capture group (a group may span atoms: Apache's
 * "[%t]", endpoints' joined "$status $body_bytes_sent"). The matcher tries each atom's
 * candidate ends in the order Python's backtracking `re` tries them (possessive runs have one,
 * an alternation or an optional part several, a lazy run every character boundary from the
 * shortest), so the first full match is the one the line regex `^(?:ATOMS)$` finds, with the
 * same groups. Two things it leaves to the caller, as "undecided" (status 3): a line where a
 * `\d` meets a non-ASCII byte (Python's `\d` matches every Unicode decimal digit, this matcher
 * ASCII only) and a line whose backtracking exceeds a step budget (the regex takes as long
 * as it takes).
 *
 * Returns (nlines, status, codes, uniques, others):
 *   nlines   the number of lines of `text` (line breaks + 1, the final one not counted);
 *   status   bytearray, one byte per line: 0 matched, 1 empty, 2 does not match, 3 undecided;
 *   codes    per group a bytearray of nlines int64: the line's code into that group's distinct
 *            values (-1 where the line did not match), so the caller wraps it with
 *            np.frombuffer(..., dtype=np.int64) and converts per distinct value;
 *   uniques  per group the list of distinct values (str) in order of first appearance;
 *   others   the text (str) of every line that did not match (status != 0), in line order:
 *            the caller's skip reasons, tolerant retry and slow path read them.
 *
 * The distinct values are hashed here because a log's columns repeat a few values (clients,
 * statuses, agents): the caller converts each distinct value once and gathers rows by code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { LIT = 0, UNTIL, REST, LAZY, ESCAPED, INT_, NUM, TLOCAL, TISO, LIST };
enum { MATCHED = 0, EMPTY = 1, BAD = 2, UNDECIDED = 3 };

#define MAX_ATOMS 256
#define MAX_GROUPS 128
#define STEP_BUDGET 200000 /* candidate tries per line before the line is left undecided */
#define MAX_CANDS 64       /* TISO: at most (digits + 1) * 3 ends are kept, the rest undecided */

typedef struct {
    int kind;
    const char *arg;
    Py_ssize_t arglen;
    int open, close;
} Atom;

typedef struct {
    const Atom *atoms;
    int natoms;
    const char *end;      /* the line's end */
    long steps;
    int uncertain;        /* a \d met a non-ASCII byte, or the budget ran out */
    const char *gstart[MAX_GROUPS];
    const char *gend[MAX_GROUPS];
} Matcher;

static inline int is_digit(Matcher *m, const char *p)
{
    /* an ASCII digit; a non-ASCII byte where \d is asked may be a Unicode digit to Python */
    if (p >= m->end)
        return 0;
    unsigned char c = (unsigned char)*p;
    if (c >= 0x80) {
        m->uncertain = 1;
        return 0;
    }
    return c >= '0' && c <= '9';
}

static inline int is_alpha(const char *p, const char *end)
{
    if (p >= end)
        return 0;
    unsigned char c = (unsigned char)*p;
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int digits(Matcher *m, const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (!is_digit(m, p + i))
            return 0;
    return 1;
}

/* The length of the UTF-8 character at p (1 for a byte that starts none: never past end). */
static inline Py_ssize_t char_len(const char *p, const char *end)
{
    unsigned char c = (unsigned char)*p;
    Py_ssize_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return n <= end - p ? n : end - p;
}

/* TLOCAL at p: its end or NULL. */
/* LIST's run from p (not the '-' alternative): [^ ,\n]++(?:(?:, | : )[^ ,\n]++)*+, possessive,
 * so it has one end; NULL when no value starts at p. (`e` is the line's end: no \n before it.) */
static const char *list_end(const char *p, const char *e)
{
    const char *q = p;
    while (q < e && *q != ' ' && *q != ',')
        q++;
    if (q == p)
        return NULL;
    for (;;) {
        const char *r;
        if (e - q >= 2 && q[0] == ',' && q[1] == ' ')
            r = q + 2;
        else if (e - q >= 3 && q[0] == ' ' && q[1] == ':' && q[2] == ' ')
            r = q + 3;
        else
            return q;
        const char *s = r;
        while (s < e && *s != ' ' && *s != ',')
            s++;
        if (s == r)
            return q;
        q = s;
    }
}

static const char *time_local(Matcher *m, const char *p)
{
    const char *e = m->end;
    if (e - p < 26)
        return NULL;
    if (!digits(m, p, 2) || p[2] != '/' || !is_alpha(p + 3, e) || !is_alpha(p + 4, e) || !is_alpha(p + 5, e)
        || p[6] != '/' || !digits(m, p + 7, 4) || p[11] != ':' || !digits(m, p + 12, 2) || p[14] != ':'
        || !digits(m, p + 15, 2) || p[17] != ':' || !digits(m, p + 18, 2) || p[20] != ' '
        || (p[21] != '+' && p[21] != '-') || !digits(m, p + 22, 4))
        return NULL;
    return p + 26;
}

/* TISO at p: its candidate ends in the regex's order (fraction longest first, then none; the
 * zone "+hh:mm" before "+hhmm", or "Z"); returns how many. */
static int time_iso(Matcher *m, const char *p, const char **out)
{
    const char *e = m->end;
    int n = 0;
    if (e - p < 19)
        return 0;
    if (!digits(m, p, 4) || p[4] != '-' || !digits(m, p + 5, 2) || p[7] != '-' || !digits(m, p + 8, 2)
        || p[10] != 'T' || !digits(m, p + 11, 2) || p[13] != ':' || !digits(m, p + 14, 2) || p[16] != ':'
        || !digits(m, p + 17, 2))
        return 0;
    const char *base = p + 19;
    Py_ssize_t nfrac = 0;
    if (base < e && *base == '.') {
        while (is_digit(m, base + 1 + nfrac))
            nfrac++;
    }
    /* fraction choices: ".d{k}" for k = nfrac .. 1, then none */
    for (Py_ssize_t k = nfrac; k >= 0; k--) {
        const char *z = k ? base + 1 + k : base;
        if (z < e && (*z == '+' || *z == '-') && digits(m, z + 1, 2)) {
            if (z + 3 < e && z[3] == ':' && digits(m, z + 4, 2)) {
                if (n >= MAX_CANDS) { m->uncertain = 1; return n; }
                out[n++] = z + 6;
            }
            if (digits(m, z + 3, 2)) {
                if (n >= MAX_CANDS) { m->uncertain = 1; return n; }
                out[n++] = z + 5;
            }
        } else if (z < e && *z == 'Z') {
            if (n >= MAX_CANDS) { m->uncertain = 1; return n; }
            out[n++] = z + 1;
        }
    }
    return n;
}

/* The UTF-8 of a str (its cached form), or for a str holding lone surrogates (which strict
 * UTF-8 refuses) their "surrogatepass" bytes in *holder (a new bytes object the caller
 * releases): a surrogate is then three non-ASCII bytes, which no atom or grammar rule stops
 * at, and the values decode back to the same characters ("surrogatepass" again). */
static const char *utf8_of(PyObject *str, PyObject **holder, Py_ssize_t *size)
{
    *holder = NULL;
    const char *data = PyUnicode_AsUTF8AndSize(str, size);
    if (data != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
        return data;
    PyErr_Clear();
    *holder = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
    if (*holder == NULL)
        return NULL;
    *size = PyBytes_GET_SIZE(*holder);
    return PyBytes_AS_STRING(*holder);
}

static int match_from(Matcher *m, int ai, const char *p);

/* Try `end` as the end of atom ai (started at p) and the atoms after it. */
static int then(Matcher *m, int ai, const char *p, const char *end)
{
    const Atom *a = &m->atoms[ai];
    const char *save_s = NULL, *save_e = NULL;
    if (a->open >= 0)
        save_s = m->gstart[a->open], m->gstart[a->open] = p;
    if (a->close >= 0)
        save_e = m->gend[a->close], m->gend[a->close] = end;
    if (match_from(m, ai + 1, end))
        return 1;
    if (a->open >= 0)
        m->gstart[a->open] = save_s;
    if (a->close >= 0)
        m->gend[a->close] = save_e;
    return 0;
}

static int match_from(Matcher *m, int ai, const char *p)
{
    const char *e = m->end;
    if (ai == m->natoms)
        return p == e;
    if (++m->steps > STEP_BUDGET) {
        m->uncertain = 1;
        return 0;
    }
    const Atom *a = &m->atoms[ai];
    const char *q;
    switch (a->kind) {
    case LIT:
        if (e - p < a->arglen || memcmp(p, a->arg, (size_t)a->arglen) != 0)
            return 0;
        return then(m, ai, p, p + a->arglen);
    case UNTIL:
        q = p;
        if (a->arglen == 1) {
            q = memchr(p, a->arg[0], (size_t)(e - p));
            if (q == NULL)
                q = e;
        } else {
            while (q < e && !(e - q >= a->arglen && memcmp(q, a->arg, (size_t)a->arglen) == 0))
                q++;
        }
        return then(m, ai, p, q);
    case REST:
        return then(m, ai, p, e);
    case LAZY:
        for (q = p;; q += char_len(q, e)) {
            if (then(m, ai, p, q))
                return 1;
            if (m->uncertain || q >= e)
                return 0;
        }
    case ESCAPED:
        q = p;
        while (q < e && *q != '"') {
            if (*q == '\\') {
                if (q + 1 >= e)
                    break; /* "\\." needs a character after the backslash */
                q += 1 + char_len(q + 1, e);
            } else {
                q++;
            }
        }
        return then(m, ai, p, q);
    case INT_:
        if (p < e && *p == '-') {
            q = p + 1;
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            if (q > p + 1 && then(m, ai, p, q))
                return 1;
            return then(m, ai, p, p + 1); /* the alternative "-" */
        }
        q = p;
        while (q < e && *q >= '0' && *q <= '9')
            q++;
        return q > p && then(m, ai, p, q);
    case NUM:
        q = p;
        while (q < e && ((*q >= '0' && *q <= '9') || *q == '.'))
            q++;
        if (then(m, ai, p, q))
            return 1;
        return q == p && p < e && *p == '-' && then(m, ai, p, p + 1);
    case TLOCAL:
        q = time_local(m, p);
        return q != NULL && then(m, ai, p, q);
    case TISO: {
        const char *ends[MAX_CANDS];
        int n = time_iso(m, p, ends);
        for (int i = 0; i < n; i++)
            if (then(m, ai, p, ends[i]))
                return 1;
        return 0;
    }
    case LIST:
        if (p < e && *p == '-' && then(m, ai, p, p + 1))
            return 1;
        q = list_end(p, e);
        return q != NULL && then(m, ai, p, q);
    }
    return 0;
}

/* The first candidate of every atom, in a loop: the path the regex tries first, which is the
 * match on almost every line of a log. Returns 1 when it matches the whole line (groups set),
 * 0 when it does not (the caller then runs the backtracking match_from, which tries this path
 * first too and then the others). */
static int match_first(Matcher *m, const char *p)
{
    const char *e = m->end;
    for (int ai = 0; ai < m->natoms; ai++) {
        const Atom *a = &m->atoms[ai];
        const char *q = p;
        switch (a->kind) {
        case LIT:
            if (e - p < a->arglen || memcmp(p, a->arg, (size_t)a->arglen) != 0)
                return 0;
            q = p + a->arglen;
            break;
        case UNTIL:
            if (a->arglen != 1)
                return 0; /* (left to match_from) */
            q = memchr(p, a->arg[0], (size_t)(e - p));
            if (q == NULL)
                q = e;
            break;
        case REST:
            q = e;
            break;
        case LAZY:
            q = p;
            break;
        case ESCAPED:
            while (q < e && *q != '"') {
                if (*q == '\\') {
                    if (q + 1 >= e)
                        break;
                    q += 1 + char_len(q + 1, e);
                } else {
                    q++;
                }
            }
            break;
        case INT_:
            if (q < e && *q == '-')
                q++;
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            if (q == p)
                return 0;
            break;
        case NUM:
            while (q < e && ((*q >= '0' && *q <= '9') || *q == '.'))
                q++;
            break;
        case TLOCAL:
            q = time_local(m, p);
            if (q == NULL)
                return 0;
            break;
        case TISO: {
            const char *ends[MAX_CANDS];
            if (time_iso(m, p, ends) == 0)
                return 0;
            q = ends[0];
            break;
        }
        case LIST:
            if (q < e && *q == '-') {
                q++;
                break;
            }
            q = list_end(p, e);
            if (q == NULL)
                return 0;
            break;
        default:
            return 0;
        }
        if (a->open >= 0)
            m->gstart[a->open] = p;
        if (a->close >= 0)
            m->gend[a->close] = q;
        p = q;
    }
    return p == e;
}

/* ------------------------------------------------------------------ distinct values, hashed */

typedef struct {
    const char *p;
    Py_ssize_t len;
    uint64_t hash;
} Key;

typedef struct {
    Key *keys;          /* by code */
    Py_ssize_t n, cap;
    int64_t *slots;     /* code + 1, 0 empty */
    Py_ssize_t nslots;  /* a power of two */
} Table;

static uint64_t hash_bytes(const char *p, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

static int table_init(Table *t)
{
    t->n = 0;
    t->cap = 64;
    t->nslots = 128;
    t->keys = PyMem_Malloc(sizeof(Key) * (size_t)t->cap);
    t->slots = PyMem_Calloc((size_t)t->nslots, sizeof(int64_t));
    if (t->keys == NULL || t->slots == NULL) {
        PyMem_Free(t->keys);
        PyMem_Free(t->slots);
        t->keys = NULL;
        t->slots = NULL;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void table_free(Table *t)
{
    PyMem_Free(t->keys);
    PyMem_Free(t->slots);
    t->keys = NULL;
    t->slots = NULL;
}

static int table_grow(Table *t)
{
    Py_ssize_t ns = t->nslots * 2;
    if (ns > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(int64_t)) {
        PyErr_NoMemory();
        return -1;
    }
    int64_t *slots = PyMem_Calloc((size_t)ns, sizeof(int64_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t c = 0; c < t->n; c++) {
        Py_ssize_t i = (Py_ssize_t)(t->keys[c].hash & (uint64_t)(ns - 1));
        while (slots[i])
            i = (i + 1) & (ns - 1);
        slots[i] = c + 1;
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    return 0;
}

/* The code of the value p[:n], added when new; -1 on a memory error. */
static int64_t table_code(Table *t, const char *p, Py_ssize_t n)
{
    uint64_t h = hash_bytes(p, n);
    Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)(t->nslots - 1));
    for (;;) {
        int64_t s = t->slots[i];
        if (s == 0)
            break;
        Key *k = &t->keys[s - 1];
        if (k->hash == h && k->len == n && memcmp(k->p, p, (size_t)n) == 0)
            return s - 1;
        i = (i + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        if (t->cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(Key)) {
            PyErr_NoMemory();
            return -1;
        }
        Key *keys = PyMem_Realloc(t->keys, sizeof(Key) * (size_t)(t->cap * 2));
        if (keys == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->keys = keys;
        t->cap *= 2;
    }
    int64_t code = t->n++;
    t->keys[code].p = p;
    t->keys[code].len = n;
    t->keys[code].hash = h;
    t->slots[i] = code + 1;
    if (t->n * 2 > t->nslots && table_grow(t) < 0)
        return -1;
    return code;
}

static PyObject *table_values(const Table *t)
{
    PyObject *list = PyList_New(t->n);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t c = 0; c < t->n; c++) {
        PyObject *s = PyUnicode_DecodeUTF8(t->keys[c].p, t->keys[c].len, "surrogatepass");
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, c, s);
    }
    return list;
}

/* ------------------------------------------------------------------------- request lines */

/* One request line "METHOD target [HTTP/x]" split as the grammar of toolkit.http.scanner
 * states it (its fullmatch):
 *
 *   METHOD   [A-Za-z][A-Za-z0-9_-]{0,31}, then one space;
 *   path     text:  (?:[^ "?\\\n]++|\\.)*+   (an escape pair is one character of the target)
 *            JSON:  [^ ?]*                   (values already decoded);
 *   query    optional: "?" then  text: (?:[^ "\\\n]++|\\.)*+   JSON: [^ ]*;
 *   protocol optional: " HTTP/" then 1 to 5 of [0-9.], at the end of the line.
 *
 * Each run above has one way to end that lets the rest match (what follows it is a character
 * the run cannot take), so the walk below finds the regex's one match or none. Returns 1 and
 * the parts' byte offsets, or 0 (malformed). */
typedef struct {
    Py_ssize_t method_end, target_start, path_end, query_start, target_end, proto_start;
    int has_query, has_proto;
} Request;

static Py_ssize_t escaped_run(const char *s, Py_ssize_t i, Py_ssize_t n, int stop_query)
{
    while (i < n) {
        char c = s[i];
        if (c == ' ' || c == '"' || c == '\n' || (stop_query && c == '?'))
            break;
        if (c == '\\') {
            if (i + 1 >= n || s[i + 1] == '\n')
                break; /* "\\." needs a character (not a line break) after the backslash */
            i += 1 + char_len(s + i + 1, s + n);
        } else {
            i++;
        }
    }
    return i;
}

static int split_request(const char *s, Py_ssize_t n, int text, Request *r)
{
    Py_ssize_t i = 0;
    if (!is_alpha(s, s + n))
        return 0;
    while (i < n && (is_alpha(s + i, s + n) || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
        i++;
    if (i > 32 || i >= n || s[i] != ' ')
        return 0;
    r->method_end = i;
    r->target_start = ++i;
    if (text) {
        i = escaped_run(s, i, n, 1);
    } else {
        while (i < n && s[i] != ' ' && s[i] != '?')
            i++;
    }
    r->path_end = i;
    r->has_query = 0;
    if (i < n && s[i] == '?') {
        r->has_query = 1;
        r->query_start = ++i;
        if (text) {
            i = escaped_run(s, i, n, 0);
        } else {
            while (i < n && s[i] != ' ')
                i++;
        }
    }
    r->target_end = i;
    r->has_proto = 0;
    if (i == n)
        return 1;
    if (n - i < 7 || memcmp(s + i, " HTTP/", 6) != 0 || n - i - 6 > 5)
        return 0;
    for (Py_ssize_t k = i + 6; k < n; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || s[k] == '.'))
            return 0;
    r->has_proto = 1;
    r->proto_start = i + 1;
    return 1;
}

static int set_part(PyObject *list, Py_ssize_t k, const char *p, Py_ssize_t n)
{
    PyObject *v = PyUnicode_DecodeUTF8(p, n, "surrogatepass");
    if (v == NULL)
        return -1;
    PyList_SET_ITEM(list, k, v);
    return 0;
}

/* A few values (methods, protocols) as one object each: the lines of a log use a handful, and
 * a table's rows then share them (memory, and grouping by object: object_codes). */
#define FEW 16
typedef struct {
    PyObject *obj[FEW];
    int n;
} Few;

static int set_few(PyObject *list, Py_ssize_t k, const char *p, Py_ssize_t n, Few *few)
{
    for (int i = 0; i < few->n; i++) {
        Py_ssize_t len;
        /* (a method or protocol is ASCII: its UTF-8 is the str's own, never refused) */
        const char *have = PyUnicode_AsUTF8AndSize(few->obj[i], &len);
        if (have == NULL)
            return -1;
        if (len == n && memcmp(have, p, (size_t)n) == 0) {
            Py_INCREF(few->obj[i]);
            PyList_SET_ITEM(list, k, few->obj[i]);
            return 0;
        }
    }
    if (set_part(list, k, p, n) < 0)
        return -1;
    if (few->n < FEW) {
        few->obj[few->n] = PyList_GET_ITEM(list, k);
        Py_INCREF(few->obj[few->n]);
        few->n++;
    }
    return 0;
}

static PyObject *split_requests(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *lines;
    int text;
    if (!PyArg_ParseTuple(args, "Op", &lines, &text))
        return NULL;
    PyObject *fast = PySequence_Fast(lines, "lines must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *parts[5] = {NULL, NULL, NULL, NULL, NULL}; /* method, url, path, query, protocol */
    PyObject *malformed = PyByteArray_FromStringAndSize(NULL, n);
    PyObject *result = NULL, *holder = NULL;
    Few methods = {{NULL}, 0}, protocols = {{NULL}, 0};
    if (malformed == NULL)
        goto done;
    char *bad = PyByteArray_AS_STRING(malformed);
    for (int j = 0; j < 5; j++) {
        parts[j] = PyList_New(n);
        if (parts[j] == NULL)
            goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *line = PySequence_Fast_GET_ITEM(fast, k);
        Request r = {0};
        const char *s = NULL;
        Py_ssize_t len = 0;
        bad[k] = 0;
        Py_CLEAR(holder);
        if (line != Py_None) {
            if (!PyUnicode_Check(line)) {
                PyErr_SetString(PyExc_TypeError, "a request line must be str or None");
                goto done;
            }
            s = utf8_of(line, &holder, &len);
            if (s == NULL)
                goto done;
        }
        if (s == NULL || !split_request(s, len, text, &r)) {
            bad[k] = s != NULL;
            for (int j = 0; j < 5; j++) {
                Py_INCREF(Py_None);
                PyList_SET_ITEM(parts[j], k, Py_None);
            }
            continue;
        }
        if (set_few(parts[0], k, s, r.method_end, &methods) < 0
            || set_part(parts[2], k, s + r.target_start, r.path_end - r.target_start) < 0)
            goto done;
        if (r.target_end == r.path_end) { /* no query: the url is the path (one string) */
            PyObject *path = PyList_GET_ITEM(parts[2], k);
            Py_INCREF(path);
            PyList_SET_ITEM(parts[1], k, path);
        } else if (set_part(parts[1], k, s + r.target_start, r.target_end - r.target_start) < 0) {
            goto done;
        }
        if (r.has_query && r.target_end > r.query_start) {
            if (set_part(parts[3], k, s + r.query_start, r.target_end - r.query_start) < 0)
                goto done;
        } else { /* an empty query is None */
            Py_INCREF(Py_None);
            PyList_SET_ITEM(parts[3], k, Py_None);
        }
        if (r.has_proto) {
            if (set_few(parts[4], k, s + r.proto_start, len - r.proto_start, &protocols) < 0)
                goto done;
        } else {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(parts[4], k, Py_None);
        }
    }
    result = Py_BuildValue("(OOOOOO)", parts[0], parts[1], parts[2], parts[3], parts[4], malformed);
done:
    Py_XDECREF(holder);
    for (int i = 0; i < methods.n; i++)
        Py_DECREF(methods.obj[i]);
    for (int i = 0; i < protocols.n; i++)
        Py_DECREF(protocols.obj[i]);
    Py_DECREF(fast);
    for (int j = 0; j < 5; j++)
        Py_XDECREF(parts[j]);
    Py_XDECREF(malformed);
    return result;
}

/* ----------------------------------------------------------------- rows of shared objects */

/* object_codes(column) -> (codes, objects): a 1-D object array's rows as codes (bytearray of
 * int64) into the distinct objects it holds (a list, by first row), told apart by identity,
 * not value. The scanner's columns hold one string object per distinct value (its rows share
 * them), so a consumer grouping a table's rows (endpoints of an http_requests table) gets its
 * groups from a pointer hash here and compares values only among the few distinct objects
 * (pandas.factorize over them), instead of hashing and comparing every row's string. */
static PyObject *object_codes(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_RECORDS_RO) < 0)
        return NULL;
    PyObject *codes = NULL, *objects = NULL, *result = NULL;
    int64_t *slots = NULL;
    PyObject **keys = NULL;
    if (view.ndim != 1 || view.format == NULL || strcmp(view.format, "O") != 0
        || view.itemsize != (Py_ssize_t)sizeof(PyObject *)) {
        PyErr_SetString(PyExc_TypeError, "object_codes needs a 1-D object array");
        goto done;
    }
    Py_ssize_t n = view.shape[0], stride = view.strides ? view.strides[0] : view.itemsize;
    if (n > PY_SSIZE_T_MAX / 8) {
        PyErr_NoMemory();
        goto done;
    }
    codes = PyByteArray_FromStringAndSize(NULL, n * 8);
    objects = PyList_New(0);
    if (codes == NULL || objects == NULL)
        goto done;
    int64_t *out = (int64_t *)PyByteArray_AS_STRING(codes);
    Py_ssize_t nslots = 64, used = 0;
    slots = PyMem_Calloc((size_t)nslots, sizeof(int64_t));
    keys = PyMem_Malloc(sizeof(PyObject *) * 32);
    Py_ssize_t cap = 32;
    if (slots == NULL || keys == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *last = NULL;
    int64_t last_code = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o;
        memcpy(&o, (const char *)view.buf + i * stride, sizeof(o));
        if (o == last && last_code >= 0) {
            out[i] = last_code;
            continue;
        }
        uint64_t h = (uint64_t)(uintptr_t)o * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 32;
        Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(nslots - 1));
        int64_t code = -1;
        while (slots[j]) {
            if (keys[slots[j] - 1] == o) {
                code = slots[j] - 1;
                break;
            }
            j = (j + 1) & (nslots - 1);
        }
        if (code < 0) {
            if (o == NULL) { /* (an array never holds NULL; a buffer might) */
                PyErr_SetString(PyExc_ValueError, "a NULL object in the column");
                goto done;
            }
            if (PyList_Append(objects, o) < 0)
                goto done;
            if (used == cap) {
                if (cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(PyObject *)) {
                    PyErr_NoMemory();
                    goto done;
                }
                PyObject **k2 = PyMem_Realloc(keys, sizeof(PyObject *) * (size_t)(cap * 2));
                if (k2 == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                keys = k2;
                cap *= 2;
            }
            code = used;
            keys[used++] = o;
            slots[j] = code + 1;
            if (used * 2 > nslots) { /* grow the table */
                Py_ssize_t ns = nslots * 2;
                int64_t *s2 = PyMem_Calloc((size_t)ns, sizeof(int64_t));
                if (s2 == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                for (Py_ssize_t c = 0; c < used; c++) {
                    uint64_t hc = (uint64_t)(uintptr_t)keys[c] * 0x9E3779B97F4A7C15ULL;
                    hc ^= hc >> 32;
                    Py_ssize_t t = (Py_ssize_t)(hc & (uint64_t)(ns - 1));
                    while (s2[t])
                        t = (t + 1) & (ns - 1);
                    s2[t] = c + 1;
                }
                PyMem_Free(slots);
                slots = s2;
                nslots = ns;
            }
        }
        out[i] = code;
        last = o;
        last_code = code;
    }
    result = Py_BuildValue("(OO)", codes, objects);
done:
    PyMem_Free(slots);
    PyMem_Free(keys);
    Py_XDECREF(codes);
    Py_XDECREF(objects);
    PyBuffer_Release(&view);
    return result;
}

/* ------------------------------------------------------------------------------- the module */

static int parse_atoms(PyObject *seq, Atom *atoms, int *natoms, int ngroups)
{
    PyObject *fast = PySequence_Fast(seq, "atoms must be a sequence");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > MAX_ATOMS) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "at most %d atoms", MAX_ATOMS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        int kind, open, close;
        const char *arg;
        Py_ssize_t arglen;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "iy#ii", &kind, &arg, &arglen, &open, &close)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "an atom is (kind, bytes, open, close)");
            Py_DECREF(fast);
            return -1;
        }
        if (kind < LIT || kind > LIST || open < -1 || open >= ngroups || close < -1 || close >= ngroups
            || ((kind == LIT || kind == UNTIL) && arglen < 1)) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "bad atom");
            return -1;
        }
        atoms[i].kind = kind;
        atoms[i].arg = arg; /* (kept alive by `seq`, held by the caller for the call) */
        atoms[i].arglen = arglen;
        atoms[i].open = open;
        atoms[i].close = close;
    }
    *natoms = (int)n;
    Py_DECREF(fast);
    return 0;
}

static PyObject *scan(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *text, *atoms_seq;
    int ngroups;
    if (!PyArg_ParseTuple(args, "UOi", &text, &atoms_seq, &ngroups))
        return NULL;
    if (ngroups < 0 || ngroups > MAX_GROUPS) {
        PyErr_Format(PyExc_ValueError, "at most %d groups", MAX_GROUPS);
        return NULL;
    }
    Atom atoms[MAX_ATOMS];
    int natoms = 0;
    if (parse_atoms(atoms_seq, atoms, &natoms, ngroups) < 0)
        return NULL;
    Py_ssize_t size;
    PyObject *holder;
    const char *data = utf8_of(text, &holder, &size);
    if (data == NULL)
        return NULL;
    if (size > 0 && data[size - 1] == '\n')
        size--; /* (the piece's last line break ends its last line) */
    const char *dend = data + size;

    Py_ssize_t nlines = 1;
    for (const char *q = data; (q = memchr(q, '\n', (size_t)(dend - q))) != NULL; q++)
        nlines++;

    PyObject *status = NULL, *codes = NULL, *uniques = NULL, *others = NULL, *result = NULL;
    Table tables[MAX_GROUPS];
    int ntables = 0;
    Matcher *m = PyMem_Malloc(sizeof(Matcher));
    if (m == NULL) {
        Py_XDECREF(holder);
        PyErr_NoMemory();
        return NULL;
    }
    m->atoms = atoms;
    m->natoms = natoms;
    if (nlines > PY_SSIZE_T_MAX / 8) {
        PyErr_NoMemory();
        goto done;
    }
    status = PyByteArray_FromStringAndSize(NULL, nlines);
    codes = PyList_New(ngroups);
    others = PyList_New(0);
    if (status == NULL || codes == NULL || others == NULL)
        goto done;
    int64_t *code_arr[MAX_GROUPS];
    for (int g = 0; g < ngroups; g++) {
        PyObject *b = PyByteArray_FromStringAndSize(NULL, nlines * 8);
        if (b == NULL)
            goto done;
        PyList_SET_ITEM(codes, g, b);
        code_arr[g] = (int64_t *)PyByteArray_AS_STRING(b);
    }
    for (; ntables < ngroups; ntables++)
        if (table_init(&tables[ntables]) < 0)
            goto done;
    /* each group's value on the last matched line: a log's columns often repeat the value of
     * the line before (a status, a cache status, an agent), which then costs no hashing */
    const char *last_p[MAX_GROUPS];
    Py_ssize_t last_n[MAX_GROUPS];
    int64_t last_c[MAX_GROUPS];
    for (int g = 0; g < ngroups; g++)
        last_c[g] = -1, last_p[g] = NULL, last_n[g] = 0;
    char *st = PyByteArray_AS_STRING(status);

    const char *p = data;
    for (Py_ssize_t li = 0; li < nlines; li++) {
        const char *nl = memchr(p, '\n', (size_t)(dend - p));
        const char *le = nl ? nl : dend;
        int s;
        if (le == p) {
            s = EMPTY;
        } else {
            m->end = le;
            m->steps = 0;
            m->uncertain = 0;
            for (int g = 0; g < ngroups; g++)
                m->gstart[g] = m->gend[g] = NULL;
            int ok = match_first(m, p);
            if (!ok && !m->uncertain) {
                for (int g = 0; g < ngroups; g++)
                    m->gstart[g] = m->gend[g] = NULL;
                ok = match_from(m, 0, p);
            }
            s = m->uncertain ? UNDECIDED : ok ? MATCHED : BAD;
        }
        st[li] = (char)s;
        if (s == MATCHED) {
            for (int g = 0; g < ngroups; g++) {
                const char *gs = m->gstart[g], *ge = m->gend[g];
                if (gs == NULL || ge == NULL || ge < gs) { /* a group the atoms never set */
                    gs = p;
                    ge = p;
                }
                Py_ssize_t len = ge - gs;
                int64_t c;
                if (last_c[g] >= 0 && last_n[g] == len && memcmp(last_p[g], gs, (size_t)len) == 0) {
                    c = last_c[g];
                } else {
                    c = table_code(&tables[g], gs, len);
                    if (c < 0)
                        goto done;
                    last_c[g] = c, last_p[g] = gs, last_n[g] = len;
                }
                code_arr[g][li] = c;
            }
        } else {
            for (int g = 0; g < ngroups; g++)
                code_arr[g][li] = -1;
            PyObject *line = PyUnicode_DecodeUTF8(p, le - p, "surrogatepass");
            if (line == NULL)
                goto done;
            int err = PyList_Append(others, line);
            Py_DECREF(line);
            if (err < 0)
                goto done;
        }
        p = nl ? nl + 1 : dend;
    }
    uniques = PyList_New(ngroups);
    if (uniques == NULL)
        goto done;
    for (int g = 0; g < ngroups; g++) {
        PyObject *vals = table_values(&tables[g]);
        if (vals == NULL)
            goto done;
        PyList_SET_ITEM(uniques, g, vals);
    }
    result = Py_BuildValue("(nOOOO)", nlines, status, codes, uniques, others);
done:
    for (int g = 0; g < ntables; g++)
        table_free(&tables[g]);
    PyMem_Free(m);
    Py_XDECREF(holder);
    Py_XDECREF(status);
    Py_XDECREF(codes);
    Py_XDECREF(uniques);
    Py_XDECREF(others);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(text, atoms, ngroups) -> (nlines, status, codes, uniques, others): the lines of text "
     "matched by the format's atoms (see the module's source for the atoms and the results)."},
    {"split_requests", split_requests, METH_VARARGS,
     "split_requests(lines, text) -> (method, url, path, query, protocol, malformed): request lines "
     "(str or None) split into lists of parts (None where absent; an empty query is None) and a "
     "bytearray, 1 where a line is not 'METHOD target [HTTP/x]'; text: the grammar of a text log "
     "(escapes still in), else of JSON lines."},
    {"object_codes", object_codes, METH_O,
     "object_codes(column) -> (codes, objects): a 1-D object array's rows as int64 codes "
     "(bytearray) into the distinct objects (by identity) it holds, in order of first row."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "toolkit.native.accesslog",
    "The access-log scanner's inner loop: lines matched against a compiled log_format's atoms, "
    "values as codes into distinct values (toolkit.http.scanner calls it).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_accesslog(void) { return PyModule_Create(&module); }
