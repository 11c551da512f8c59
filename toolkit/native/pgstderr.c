/* toolkit.native.pgstderr: the PostgreSQL stderr scanner's one pass over a buffer (issue #12).
 *
 * scan(text, mark, program, want, ts_slot, session_slot, pid_slot, first_line)
 *
 * ``text`` is a buffer of whole records (a line break at its very end ends its last line).
 * The rules below are those of the old prefix regex over the folded buffer (every continuation
 * line break "\n\t" replaced by ``mark``, a character the buffer does not hold:
 * StderrParser.fold_mark), character for character, without making that folded copy: the C
 * pass reads each "\n\t" as the one character ``mark`` (RD/NX/PV below), so each record line
 * with its continuation lines is one line here, and the classes of the regex (Python's \d, \s
 * and \w on str: Py_UNICODE_ISDECIMAL, Py_UNICODE_ISSPACE, Py_UNICODE_ISALNUM) see what it saw.
 *
 * ``program`` is the compiled log_line_prefix (toolkit.queries.pg_prefix.prefix_program), a
 * tree of nested tuples, interpreted by a backtracking matcher that tries the alternatives in
 * the order a regular expression engine does (lazy: shortest first, greedy: longest first,
 * alternation: left first), so the first way of matching the prefix that is followed by a
 * severity is the one the regex found:
 *     (0, text)                       literal text
 *     (1, class, min, max, greedy)    a character class repeated min..max times (max -1: no bound)
 *     (2, (node, ...))                a sequence
 *     (3, node)                       an optional node (greedy: tried first)
 *     (4, (node, ...))                alternatives, tried left to right
 *     (5, slot, node)                 a captured field (slot: its position in the slots)
 * After the prefix: the severity (2-12 upper-case letters of any script, an optional digit 1-5,
 * ":  "), then ``duration: X ms`` and a verb (statement, parse, bind, execute [fetch from],
 * plan, with a portal/statement name) as the message head, then the message; a line with a verb
 * takes the next line into its record when that line is the same prefix text followed by
 * "DETAIL:  parameters: " (PostgreSQL writes one prefix for all lines of a message).
 *
 * Returns None when the buffer holds a line the reader must account for on the full scan (the
 * Python rules of StderrParser.parse): a line that is not the prefix and a severity, a
 * severity that is not English, a DETAIL/HINT/... line without its record, a translated
 * duration message, a duration over 20 characters or in other digits, a time stamp that is not
 * 19 or 23 characters with ".ddd" milliseconds. Else a tuple of columns of the query-event
 * records (LOG with a duration or a verb), in file order:
 *     first_line   bytearray, int64: each record's first input line (from ``first_line``)
 *     nlines       bytearray, int64: its input lines (continuations, DETAIL, ... included)
 *     others       int: the input lines of all other records (server events)
 *     fields       list of lists of str: the prefix slots named in ``want`` ("" where absent)
 *     session      list of str: the session slot's text, or the pid's where it is empty; None
 *                  when the prefix has neither
 *     dur          list of str: the duration text in ms ("" when none)
 *     verb         list of str ("" when none)
 *     message      list of str: the statement or plan, continuation line breaks restored
 *     parameters   list: the DETAIL "parameters: " text (line breaks restored) or None
 *     seconds      list of str: the time stamps' first 19 characters each time they change
 *                  (every distinct second, for the Python check of a valid calendar time)
 *     lines        int: the input lines of the buffer (continuation lines included)
 *     verb_code    bytearray, int64: 0 no verb, 1 statement, 2 parse, 3 bind, 4 execute fetch
 *                  from, 5 execute, 6 plan (the digest's rules work on codes, not on the text)
 *     dur_ms       bytearray, float64: the duration in ms (NaN: none), as float() reads the text
 * Columns of strings rather than codes: the consumers (pg_digest, pg_events) factorize the few
 * they group by; what the C pass saves is the regex's per-line tuples and their re-picking.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

enum { N_LIT, N_REP, N_SEQ, N_OPT, N_ALT, N_CAP, N_SEV, N_FIX, N_SEC };
enum { C_DIGIT, C_NOTNL, C_HOST, C_HEX, C_UPDIG, C_NOTSPACE, C_TZ, C_SPACE, C_SIGN, C_NCLASS };

/* the severities a reader knows (pg_events.ENGLISH: records, then the lines of a record) and
 * the message heads' verbs */
static const char *const PRIMARY[] = {"LOG", "ERROR", "WARNING", "FATAL", "PANIC", "NOTICE", "INFO",
                                      "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5", NULL};
static const char *const SECONDARY[] = {"DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION", NULL};
static const char *const VERBS[] = {"statement", "parse", "bind", "execute fetch from", "execute", "plan", NULL};

#define MAX_SLOTS 32
#define MAX_DEPTH 64
#define MAX_NODES 2048

typedef struct Node {
    int kind;
    int cls;
    Py_ssize_t min, max;
    int greedy;
    int slot;
    Py_UCS4 *lit;
    Py_ssize_t litlen;
    signed char *cls_at;      /* N_FIX: per character, its class, or -1: the literal lit[i] */
    struct Node **kids;
    Py_ssize_t nkids;
} Node;

static void free_node(Node *n)
{
    if (n == NULL)
        return;
    for (Py_ssize_t i = 0; i < n->nkids; i++)
        free_node(n->kids[i]);
    PyMem_Free(n->kids);
    PyMem_Free(n->lit);
    PyMem_Free(n->cls_at);
    PyMem_Free(n);
}

static Node *new_node(int kind)
{
    Node *n = PyMem_Calloc(1, sizeof(Node));
    if (n == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    n->kind = kind;
    n->slot = -1;
    return n;
}

static int small_int(PyObject *o, long lo, long hi, long *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < lo || v > hi) {
        PyErr_Format(PyExc_ValueError, "prefix program: %ld out of range", v);
        return -1;
    }
    *out = v;
    return 0;
}

static Node *parse_node(PyObject *t, int depth, int *st);

/* Whether a node matches a fixed number of characters in exactly one way (a literal, a class
 * repeated n times exactly): a run of such nodes has no alternatives to try, so it is matched
 * as one N_FIX node (a time stamp's 11 nodes become one) with the same result. */
static int is_fixed(const Node *n)
{
    return n->kind == N_LIT || (n->kind == N_REP && n->min == n->max && n->max <= 64);
}

static Py_ssize_t fixed_len(const Node *n)
{
    return n->kind == N_LIT ? n->litlen : n->min;
}

/* Runs of two or more fixed nodes of sequence n fused into N_FIX nodes. */
static int fuse(Node *n)
{
    Py_ssize_t out = 0;
    for (Py_ssize_t i = 0; i < n->nkids;) {
        Py_ssize_t j = i, len = 0;
        while (j < n->nkids && is_fixed(n->kids[j]))
            len += fixed_len(n->kids[j++]);
        if (j - i < 2) {
            n->kids[out++] = n->kids[i];
            i = j > i ? j : i + 1;
            continue;
        }
        Node *f = new_node(N_FIX);
        if (f == NULL)
            return -1;
        f->litlen = len;
        f->lit = PyMem_Calloc(len ? (size_t)len : 1, sizeof(Py_UCS4));
        f->cls_at = PyMem_Calloc(len ? (size_t)len : 1, 1);
        if (f->lit == NULL || f->cls_at == NULL) {
            free_node(f);
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t at = 0;
        for (Py_ssize_t k = i; k < j; k++) {
            Node *c = n->kids[k];
            for (Py_ssize_t x = 0; x < fixed_len(c); x++, at++) {
                f->cls_at[at] = c->kind == N_LIT ? -1 : (signed char)c->cls;
                f->lit[at] = c->kind == N_LIT ? c->lit[x] : 0;
            }
            free_node(c);
            n->kids[k] = NULL;
        }
        n->kids[out++] = f;
        i = j;
    }
    for (Py_ssize_t k = out; k < n->nkids; k++)
        n->kids[k] = NULL;
    n->nkids = out;
    return 0;
}

static int parse_kids(Node *n, PyObject *seq, int depth, int *st)
{
    if (!PyTuple_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "prefix program: expected a tuple of nodes");
        return -1;
    }
    Py_ssize_t k = PyTuple_GET_SIZE(seq);
    n->kids = PyMem_Calloc(k ? (size_t)k : 1, sizeof(Node *));
    if (n->kids == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        n->kids[i] = parse_node(PyTuple_GET_ITEM(seq, i), depth + 1, st);
        if (n->kids[i] == NULL)
            return -1;
        n->nkids = i + 1;
    }
    return 0;
}

static Node *parse_node(PyObject *t, int depth, int *st)
{
    long kind, v;
    if (depth > MAX_DEPTH) {
        PyErr_SetString(PyExc_ValueError, "prefix program: nested too deeply");
        return NULL;
    }
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2) {
        PyErr_SetString(PyExc_TypeError, "prefix program: a node is a tuple (kind, ...)");
        return NULL;
    }
    if (++st[1] > MAX_NODES) {  /* (the matcher recurses once or twice per node) */
        PyErr_SetString(PyExc_ValueError, "prefix program: too many nodes");
        return NULL;
    }
    if (small_int(PyTuple_GET_ITEM(t, 0), N_LIT, N_CAP, &kind) < 0)
        return NULL;
    Node *n = new_node((int)kind);
    if (n == NULL)
        return NULL;
    Py_ssize_t size = PyTuple_GET_SIZE(t);
    switch (kind) {
    case N_LIT: {
        PyObject *s = PyTuple_GET_ITEM(t, 1);
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "prefix program: a literal is a str");
            goto fail;
        }
        n->litlen = PyUnicode_GET_LENGTH(s);
        n->lit = PyUnicode_AsUCS4Copy(s);
        if (n->lit == NULL)
            goto fail;
        break;
    }
    case N_REP:
        if (size != 5) {
            PyErr_SetString(PyExc_ValueError, "prefix program: (1, class, min, max, greedy)");
            goto fail;
        }
        if (small_int(PyTuple_GET_ITEM(t, 1), 0, C_NCLASS - 1, &v) < 0)
            goto fail;
        n->cls = (int)v;
        if (small_int(PyTuple_GET_ITEM(t, 2), 0, 1 << 20, &v) < 0)
            goto fail;
        n->min = v;
        if (small_int(PyTuple_GET_ITEM(t, 3), -1, 1 << 20, &v) < 0)
            goto fail;
        n->max = v < 0 ? PY_SSIZE_T_MAX : v;
        if (n->max < n->min) {
            PyErr_SetString(PyExc_ValueError, "prefix program: max < min");
            goto fail;
        }
        if (small_int(PyTuple_GET_ITEM(t, 4), 0, 1, &v) < 0)
            goto fail;
        n->greedy = (int)v;
        break;
    case N_SEQ:
    case N_ALT:
        if (parse_kids(n, PyTuple_GET_ITEM(t, 1), depth, st) < 0)
            goto fail;
        if (kind == N_SEQ && fuse(n) < 0)
            goto fail;
        break;
    case N_OPT:
        n->kids = PyMem_Calloc(1, sizeof(Node *));
        if (n->kids == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        n->kids[0] = parse_node(PyTuple_GET_ITEM(t, 1), depth + 1, st);
        if (n->kids[0] == NULL)
            goto fail;
        n->nkids = 1;
        break;
    case N_CAP:
        if (size != 3) {
            PyErr_SetString(PyExc_ValueError, "prefix program: (5, slot, node)");
            goto fail;
        }
        if (small_int(PyTuple_GET_ITEM(t, 1), 0, MAX_SLOTS - 1, &v) < 0)
            goto fail;
        n->slot = (int)v;
        if (n->slot + 1 > st[0])
            st[0] = n->slot + 1;
        n->kids = PyMem_Calloc(1, sizeof(Node *));
        if (n->kids == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        n->kids[0] = parse_node(PyTuple_GET_ITEM(t, 2), depth + 1, st);
        if (n->kids[0] == NULL)
            goto fail;
        n->nkids = 1;
        break;
    }
    return n;
fail:
    free_node(n);
    return NULL;
}

/* ------------------------------------------------------------------------------ matching */

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t end;           /* the line's end: no node reads at or past it */
    Py_ssize_t cap[2 * MAX_SLOTS];
    Py_ssize_t pre_end, sev_start, sev_end;
    long steps;               /* backtracking budget of one line */
    Py_UCS4 mk;               /* the character a continuation line break stands for */
    Py_ssize_t hi;            /* the matcher read [line start, hi); PY_SSIZE_T_MAX: it met the end */
} M;

#define CH(m, i) PyUnicode_READ((m)->kind, (m)->data, (i))

/* Continuation line breaks ("\n\t") are read as ONE character, ``mk``, the one the old
 * regex saw in the folded text (StderrParser.fold_mark: a character the buffer does not hold),
 * without making that folded copy: inside a record line [pos, end) every "\n" starts one. RD
 * reads the character at raw position i, NX steps past it, PV steps back to the one before
 * (not before ``lo``). */
static inline Py_UCS4 RD(const M *m, Py_ssize_t i)
{
    Py_UCS4 c = CH(m, i);
    return c == '\n' ? m->mk : c;
}

static inline Py_ssize_t NX(const M *m, Py_ssize_t i)
{
    return i + (CH(m, i) == '\n' ? 2 : 1);
}

static inline Py_ssize_t PV(const M *m, Py_ssize_t i, Py_ssize_t lo)
{
    return (i - 2 >= lo && CH(m, i - 1) == '\t' && CH(m, i - 2) == '\n') ? i - 2 : i - 1;
}

/* The matcher reads through these, which note how far it read (m->hi): a later line whose
 * text is the same over that stretch gets the same match (the prefix memo in scan()). A test
 * that meets the line's end makes the match depend on where the line ends: no memo then. */
static inline int END(M *m, Py_ssize_t q)
{
    if (q >= m->end) {
        m->hi = PY_SSIZE_T_MAX;
        return 1;
    }
    if (q >= m->hi)
        m->hi = q + 1;
    return 0;
}

static inline Py_UCS4 RDH(M *m, Py_ssize_t i)
{
    if (i >= m->hi)
        m->hi = i + 1;
    return RD(m, i);
}

static inline Py_UCS4 CHH(M *m, Py_ssize_t i)
{
    if (i >= m->hi)
        m->hi = i + 1;
    return CH(m, i);
}

/* \d of a str pattern: any decimal digit (ASCII ones without a table look-up) */
static inline int is_decimal(Py_UCS4 c)
{
    return c < 128 ? (c >= '0' && c <= '9') : Py_UNICODE_ISDECIMAL(c);
}

static int in_class(int cls, Py_UCS4 c)
{
    switch (cls) {
    case C_DIGIT:
        return is_decimal(c);
    case C_NOTNL:
        return c != '\n';
    case C_HOST:
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'
               || c == '.' || c == ':' || c == '%' || c == '-';
    case C_HEX:
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    case C_UPDIG:
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    case C_NOTSPACE:
        return !Py_UNICODE_ISSPACE(c);
    case C_TZ:
        return !Py_UNICODE_ISSPACE(c) && c != ']' && c != ':' && c != ',';
    case C_SPACE:
        return c == ' ';
    case C_SIGN:
        return c == '+' || c == '-';
    }
    return 0;
}

/* [^\W\d_a-z]: a word character that is no decimal digit, no '_' and no ASCII lower-case letter */
static inline int is_sev_char(Py_UCS4 c)
{
    if (c < 128)
        return c >= 'A' && c <= 'Z';
    return Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c);
}

typedef struct Cont {
    const Node *n;      /* N_SEQ: the rest of it from kid i; N_CAP: its end */
    Py_ssize_t i;
    Py_ssize_t start;
    const struct Cont *next;
} Cont;

static Py_ssize_t go(M *m, const Node *n, Py_ssize_t pos, const Cont *k);
static int starts(M *m, Py_ssize_t pos, Py_ssize_t limit, const char *s);

static Py_ssize_t resume(M *m, Py_ssize_t pos, const Cont *k)
{
    while (k != NULL && k->n->kind == N_SEQ && k->i >= k->n->nkids)
        k = k->next;
    if (k == NULL)
        return pos;
    if (k->n->kind == N_SEQ) {
        Cont c = {k->n, k->i + 1, 0, k->next};
        return go(m, k->n->kids[k->i], pos, &c);
    }
    /* N_CAP: the field ends here; undone if what follows fails */
    int s = k->n->slot;
    Py_ssize_t os = m->cap[2 * s], oe = m->cap[2 * s + 1];
    m->cap[2 * s] = k->start;
    m->cap[2 * s + 1] = pos;
    Py_ssize_t r = resume(m, pos, k->next);
    if (r < 0) {
        m->cap[2 * s] = os;
        m->cap[2 * s + 1] = oe;
    }
    return r;
}

/* The severity after the prefix: [^\W\d_a-z]{2,12}[1-5]?:  (the run of such characters is
 * maximal: a shorter one is followed by another of them, never by a digit or ':') */
static Py_ssize_t severity(M *m, Py_ssize_t pos)
{
    Py_ssize_t q = pos;
    while (q - pos <= 12 && !END(m, q) && is_sev_char(CHH(m, q)))
        q++;
    if (q - pos < 2 || q - pos > 12)
        return -1;
    Py_ssize_t s_end = q;
    if (!END(m, q)) {
        Py_UCS4 c = CHH(m, q);
        if (c >= '1' && c <= '5')
            s_end = ++q;
    }
    if (END(m, q + 2) || CHH(m, q) != ':' || CHH(m, q + 1) != ' ' || CHH(m, q + 2) != ' ')
        return -1;
    m->pre_end = pos;
    m->sev_start = pos;
    m->sev_end = s_end;
    return q + 3;
}

/* The node the continuation runs first (through sequences and field ends), or NULL: what a lazy
 * repetition before it tests a position with before trying the rest there. */
static const Node *peek(const Cont *k)
{
    while (k != NULL) {
        if (k->n->kind == N_SEQ && k->i < k->n->nkids) {
            const Node *n = k->n->kids[k->i];
            while ((n->kind == N_SEQ && n->nkids > 0) || n->kind == N_CAP)
                n = n->kids[0];
            return n;
        }
        k = k->next;
    }
    return NULL;
}

/* Whether a match of node n may start with c (1 when unsure: n is then simply tried). */
static int may_start(const Node *n, Py_UCS4 c)
{
    if (n == NULL)
        return 1;
    switch (n->kind) {
    case N_LIT:
        return n->litlen == 0 || n->lit[0] == c;
    case N_REP:
        return n->min == 0 || in_class(n->cls, c);  /* (c: the character as the regex saw it) */
    case N_SEV:
        return is_sev_char(c);
    case N_FIX:
        return n->litlen == 0 || (n->cls_at[0] < 0 ? n->lit[0] == c : in_class(n->cls_at[0], c));
    }
    return 1;
}

static Py_ssize_t go(M *m, const Node *n, Py_ssize_t pos, const Cont *k)
{
    if (--m->steps < 0)
        return -2;  /* too much backtracking: the line is left to the full scan */
    switch (n->kind) {
    case N_LIT:
        /* (a literal holds neither "\n" nor a mark character: prefix_program refuses those,
         * so a raw "\n" and the mark it stands for fail alike) */
        if (n->litlen > 0 && END(m, pos + n->litlen - 1))
            return -1;
        for (Py_ssize_t i = 0; i < n->litlen; i++)
            if (CHH(m, pos + i) != n->lit[i])
                return -1;
        return resume(m, pos + n->litlen, k);
    case N_REP: {
        /* c characters taken, q: the raw position after them */
        Py_ssize_t c = 0, q = pos;
        if (n->greedy) {
            while (c < n->max && !END(m, q) && in_class(n->cls, RDH(m, q))) {
                q = NX(m, q);
                c++;
            }
            if (c < n->min)
                return -1;
            for (;; c--) {
                Py_ssize_t r = resume(m, q, k);
                if (r != -1 || c == n->min)
                    return r;
                q = PV(m, q, pos);
            }
        }
        while (c < n->min) {
            if (END(m, q) || !in_class(n->cls, RDH(m, q)))
                return -1;
            q = NX(m, q);
            c++;
        }
        const Node *after = peek(k);
        Py_UCS4 first = after == NULL ? 0 : after->kind == N_LIT && after->litlen ? after->lit[0]
                        : after->kind == N_FIX && after->litlen && after->cls_at[0] < 0 ? after->lit[0] : 0;
        if (n->cls == C_NOTNL && n->max == PY_SSIZE_T_MAX && m->kind == PyUnicode_1BYTE_KIND && first > 0
            && first < 256 && first != '\n' && first != '\t') {
            /* "[^\n]*?" before a literal: every character of the line is in the class (a line
             * break inside it is a continuation, the mark), so the places to try are those
             * where the literal's first character is, found by memchr, then the line's end */
            const char *b = (const char *)m->data;
            while (q < m->end) {
                const char *f = memchr(b + q, (int)first, (size_t)(m->end - q));
                if (f == NULL)
                    break;
                q = f - b;
                if (q >= m->hi)
                    m->hi = q + 1;  /* (read up to here) */
                Py_ssize_t r = resume(m, q, k);
                if (r != -1)
                    return r;
                q++;
            }
            q = m->end;
            m->hi = PY_SSIZE_T_MAX;  /* (read to the line's end) */
            return resume(m, q, k);
        }
        for (;;) {
            /* (at the line's end only an empty node may follow: tried as well) */
            if (END(m, q) || may_start(after, RDH(m, q))) {
                Py_ssize_t r = resume(m, q, k);
                if (r != -1)
                    return r;
            }
            if (c >= n->max || END(m, q) || !in_class(n->cls, RDH(m, q)))
                return -1;
            q = NX(m, q);
            c++;
        }
    }
    case N_SEQ: {
        Cont c = {n, 0, 0, k};
        return resume(m, pos, &c);
    }
    case N_FIX: {
        Py_ssize_t q = pos;
        for (Py_ssize_t i = 0; i < n->litlen; i++) {
            if (END(m, q))
                return -1;
            Py_UCS4 c = RDH(m, q);
            if (n->cls_at[i] < 0 ? c != n->lit[i] : !in_class(n->cls_at[i], c))
                return -1;
            q = NX(m, q);
        }
        return resume(m, q, k);
    }
    case N_OPT: {
        Py_ssize_t r = go(m, n->kids[0], pos, k);
        return r != -1 ? r : resume(m, pos, k);
    }
    case N_ALT:
        for (Py_ssize_t i = 0; i < n->nkids; i++) {
            Py_ssize_t r = go(m, n->kids[i], pos, k);
            if (r != -1)
                return r;
        }
        return -1;
    case N_CAP: {
        Cont c = {n, 0, pos, k};
        return go(m, n->kids[0], pos, &c);
    }
    case N_SEV: {
        Py_ssize_t r = severity(m, pos);
        return r < 0 ? -1 : resume(m, r, k);
    }
    case N_SEC: /* (?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  (no word begins another) */
        for (int i = 0; SECONDARY[i]; i++) {
            Py_ssize_t len = (Py_ssize_t)strlen(SECONDARY[i]);
            if (starts(m, pos, m->end, SECONDARY[i]) && starts(m, pos + len, m->end, ":  "))
                return resume(m, pos + len + 3, k);
        }
        return -1;
    }
    return -1;
}

/* ------------------------------------------------------------------------------ outputs */

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} I64;

static int i64_push(I64 *a, int64_t x)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 1024;
        int64_t *v = PyMem_Realloc(a->v, (size_t)cap * sizeof(int64_t));
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int push_new(PyObject *list, PyObject *item)
{
    if (item == NULL)
        return -1;
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

/* text[a:b] with each continuation line break "\n\t" as "\n" (marks: 0 when it holds none) */
static PyObject *restored(PyObject *text, Py_ssize_t a, Py_ssize_t b, Py_ssize_t marks, PyObject *brk,
                          PyObject *nl)
{
    PyObject *s = PyUnicode_Substring(text, a, b);
    if (s == NULL || marks == 0)
        return s;
    PyObject *r = PyUnicode_Replace(s, brk, nl, -1);
    Py_DECREF(s);
    return r;
}

/* Repeated values (user, database, application, client, pid, session, zone; statements of
 * prepared queries) are made once: a small table per column, indexed by a hash of the text,
 * holds the last str made for each entry; equal text gives that str again. The lists returned
 * hold the same values as before, with fewer objects (memory) and hashes already cached. */
#define CACHE_BITS 10
typedef struct {
    PyObject *s[1 << CACHE_BITS];
} Cache;

static void cache_clear(Cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < (1 << CACHE_BITS); i++)
        Py_CLEAR(c->s[i]);
}

static PyObject *cached(Cache *c, PyObject *text, M *m, Py_ssize_t a, Py_ssize_t b)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(b - a);
    for (Py_ssize_t i = a; i < b; i++)
        h = (h ^ CH(m, i)) * 1099511628211ULL;
    PyObject **slot = &c->s[(h ^ (h >> 31)) & ((1 << CACHE_BITS) - 1)];
    PyObject *o = *slot;
    if (o != NULL && PyUnicode_GET_LENGTH(o) == b - a) {
        int same = 1;
        if ((int)PyUnicode_KIND(o) == m->kind)
            same = memcmp(PyUnicode_DATA(o), (const char *)m->data + a * m->kind, (size_t)((b - a) * m->kind)) == 0;
        else
            for (Py_ssize_t i = 0; same && i < b - a; i++)
                same = PyUnicode_READ_CHAR(o, i) == CH(m, a + i);
        if (same) {
            Py_INCREF(o);
            return o;
        }
    }
    PyObject *n = PyUnicode_Substring(text, a, b);
    if (n == NULL)
        return NULL;
    Py_INCREF(n);
    Py_XSETREF(*slot, n);
    return n;
}

/* whether text[a:b] is the ASCII string s (b - a == strlen(s)) */
static int span_is(M *m, Py_ssize_t a, Py_ssize_t b, const char *s)
{
    Py_ssize_t len = (Py_ssize_t)strlen(s);
    if (b - a != len)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (CH(m, a + i) != (Py_UCS4)(unsigned char)s[i])
            return 0;
    return 1;
}

/* whether text at pos (before limit) starts with the ASCII string s */
static int starts(M *m, Py_ssize_t pos, Py_ssize_t limit, const char *s)
{
    Py_ssize_t len = (Py_ssize_t)strlen(s);
    if (pos + len > limit)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (CH(m, pos + i) != (Py_UCS4)(unsigned char)s[i])
            return 0;
    return 1;
}

/* the end of "\d+" from pos (pos itself when no digit) */
static Py_ssize_t digits(M *m, Py_ssize_t pos)
{
    while (pos < m->end && is_decimal(CH(m, pos)))
        pos++;
    return pos;
}

/* TRANSLATED_DURATION: ^[^\W\d_]+ ?: \d+[.,]\d+ ms  (a duration message in another language) */
static int translated_duration(M *m, Py_ssize_t p)
{
    Py_ssize_t q = p;
    while (q < m->end) {
        Py_UCS4 c = CH(m, q);
        if (!(Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c)))
            break;
        q++;
    }
    if (q == p)
        return 0;
    if (q < m->end && CH(m, q) == ' ')
        q++;
    if (!starts(m, q, m->end, ": "))
        return 0;
    Py_ssize_t d = digits(m, q + 2);
    if (d == q + 2 || d >= m->end || (CH(m, d) != '.' && CH(m, d) != ','))
        return 0;
    Py_ssize_t e = digits(m, d + 1);
    return e > d + 1 && starts(m, e, m->end, " ms  ");
}

#define MEMOS 8
typedef struct {
    Py_ssize_t at, len, p, pre_end, sev_start, sev_end;
    Py_ssize_t cap[2 * MAX_SLOTS];
} Memo;

/* whether text[a:a+len] == text[b:b+len] */
static int same_text(const M *m, Py_ssize_t a, Py_ssize_t b, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < len; i++)
        if (CH(m, a + i) != CH(m, b + i))
            return 0;
    return 1;
}

/* The end of the record line that starts at pos: the first "\n" not followed by "\t" (or L);
 * its continuation line breaks in *marks, the first one's position in *first (-1: none). */
static Py_ssize_t line_end(const M *m, Py_ssize_t L, Py_ssize_t pos, Py_ssize_t *marks, Py_ssize_t *first)
{
    Py_ssize_t n = 0, e;
    *first = -1;
    if (m->kind == PyUnicode_1BYTE_KIND) {
        const char *b = (const char *)m->data;
        for (e = pos;;) {
            const char *q = memchr(b + e, '\n', (size_t)(L - e));
            if (q == NULL) {
                e = L;
                break;
            }
            e = q - b;
            if (e + 1 < L && b[e + 1] == '\t') {
                if (n++ == 0)
                    *first = e;
                e += 2;
                continue;
            }
            break;
        }
    } else {
        for (e = pos; e < L; e++)
            if (CH(m, e) == '\n') {
                if (e + 1 < L && CH(m, e + 1) == '\t') {
                    if (n++ == 0)
                        *first = e;
                    e++;
                    continue;
                }
                break;
            }
    }
    *marks = n;
    return e;
}

/* text[a:b] with its continuation line breaks as the mark character (a field value as the old
 * regex took it from the folded text: only where a line break falls inside the prefix) */
static PyObject *marked(PyObject *text, Py_ssize_t a, Py_ssize_t b, PyObject *brk, PyObject *mark)
{
    PyObject *s = PyUnicode_Substring(text, a, b);
    if (s == NULL)
        return NULL;
    PyObject *r = PyUnicode_Replace(s, brk, mark, -1);
    Py_DECREF(s);
    return r;
}

static PyObject *scan(PyObject *self, PyObject *args)
{
    PyObject *text, *mark, *program, *want;
    int ts_slot, session_slot, pid_slot;
    long long first_line;
    (void)self;
    if (!PyArg_ParseTuple(args, "UUOO!iiiL", &text, &mark, &program, &PyTuple_Type, &want, &ts_slot,
                          &session_slot, &pid_slot, &first_line))
        return NULL;
    if (PyUnicode_GET_LENGTH(mark) != 1) {
        PyErr_SetString(PyExc_ValueError, "mark: one character");
        return NULL;
    }
    Py_UCS4 mk = PyUnicode_READ_CHAR(mark, 0);
    int st[2] = {0, 0};  /* slots, nodes */
    Node *prefix = parse_node(program, 0, st);
    if (prefix == NULL)
        return NULL;
    Py_ssize_t nwant = PyTuple_GET_SIZE(want);
    int wslot[MAX_SLOTS];
    if (nwant > MAX_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "want: too many slots");
        free_node(prefix);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nwant; i++) {
        long v;
        if (small_int(PyTuple_GET_ITEM(want, i), 0, MAX_SLOTS - 1, &v) < 0) {
            free_node(prefix);
            return NULL;
        }
        wslot[i] = (int)v;
    }
    if (ts_slot >= MAX_SLOTS || session_slot >= MAX_SLOTS || pid_slot >= MAX_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "slot out of range");
        free_node(prefix);
        return NULL;
    }
    /* the whole line program: the prefix, then the severity */
    Node sev = {0};
    sev.kind = N_SEV;
    sev.slot = -1;
    Node *top_kids[2] = {prefix, &sev};
    Node top = {0};
    top.kind = N_SEQ;
    top.slot = -1;
    top.kids = top_kids;
    top.nkids = 2;

    PyObject *result = NULL, *nl = NULL, *fields = NULL, *session = NULL, *durs = NULL, *verbs = NULL;
    PyObject *msgs = NULL, *params = NULL, *seconds = NULL, *empty = NULL, *brk = NULL;
    I64 firsts = {0}, counts = {0}, vcodes = {0}, durms = {0};
    Cache *caches = NULL;  /* one per wanted field, then session, verb, message */
    M m;
    m.kind = PyUnicode_KIND(text);
    m.data = PyUnicode_DATA(text);
    m.mk = mk;
    Py_ssize_t L = PyUnicode_GET_LENGTH(text);
    int unreadable = 0;
    if (L > 0 && CH(&m, L - 1) == '\n')
        L--;  /* the buffer's last line break ends its last line: no blank line after it */

    nl = PyUnicode_FromString("\n");
    brk = PyUnicode_FromString("\n\t");
    empty = PyUnicode_FromString("");
    fields = PyList_New(nwant);
    durs = PyList_New(0);
    verbs = PyList_New(0);
    msgs = PyList_New(0);
    params = PyList_New(0);
    seconds = PyList_New(0);
    if (!nl || !brk || !empty || !fields || !durs || !verbs || !msgs || !params || !seconds)
        goto done;
    caches = PyMem_Calloc((size_t)nwant + 3, sizeof(Cache));
    if (caches == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < nwant; i++) {
        PyObject *l = PyList_New(0);
        if (l == NULL)
            goto done;
        PyList_SET_ITEM(fields, i, l);
    }
    if (session_slot >= 0 || pid_slot >= 0) {
        session = PyList_New(0);
        if (session == NULL)
            goto done;
    }

    int64_t line_no = first_line;
    int64_t phys = 0;  /* the input lines read */
    int64_t others = 0;
    int head = 0;            /* the record before: 0 none, 1 a query record (the last row), 2 another */
    Py_ssize_t last_sec = -1;  /* where the last second pushed to ``seconds`` starts */
    Py_ssize_t pos = 0;
    /* The last lines matched (one per session, mostly) and how much of each the matcher read:
     * lines of one session within one time stamp often start with the same text, and the
     * match only depends on that text */
    Memo memo[MEMOS];
    memset(memo, 0, sizeof memo);
    int next_memo = 0;
    if (L == 0)
        unreadable = 1;  /* one blank line: the full scan says so */
    while (!unreadable) {
        Py_ssize_t marks, first_brk;
        Py_ssize_t e = line_end(&m, L, pos, &marks, &first_brk);
        m.end = e;
        Py_ssize_t p = -1;
        int hit = -1;
        for (int k = 0; k < MEMOS && hit < 0; k++) {
            Memo *mo = &memo[k];
            if (mo->len > 0 && e - pos >= mo->len
                && (m.kind == PyUnicode_1BYTE_KIND
                        ? memcmp((const char *)m.data + mo->at, (const char *)m.data + pos, (size_t)mo->len) == 0
                        : same_text(&m, mo->at, pos, mo->len)))
                hit = k;
        }
        if (hit >= 0) {
            /* the same text as a memo's line over all the matcher read there: its match */
            Memo *mo = &memo[hit];
            Py_ssize_t d = pos - mo->at;
            for (int s = 0; s < 2 * MAX_SLOTS; s++)
                m.cap[s] = mo->cap[s] >= 0 ? mo->cap[s] + d : -1;
            m.pre_end = mo->pre_end + d;
            m.sev_start = mo->sev_start + d;
            m.sev_end = mo->sev_end + d;
            p = mo->p + d;
        } else {
            m.steps = 1 << 20;
            m.hi = pos;
            for (int s = 0; s < 2 * MAX_SLOTS; s++)
                m.cap[s] = -1;
            p = go(&m, &top, pos, NULL);
            if (p < 0) {  /* not the prefix and a severity (or too costly to decide) */
                unreadable = 1;
                break;
            }
            Memo *mo = &memo[next_memo];
            next_memo = (next_memo + 1) % MEMOS;
            mo->len = m.hi <= e ? m.hi - pos : 0;
            mo->at = pos;
            memcpy(mo->cap, m.cap, sizeof mo->cap);
            mo->pre_end = m.pre_end;
            mo->sev_start = m.sev_start;
            mo->sev_end = m.sev_end;
            mo->p = p;
        }
        int primary = 0, secondary = 0;
        for (int i = 0; PRIMARY[i]; i++)
            if (span_is(&m, m.sev_start, m.sev_end, PRIMARY[i])) {
                primary = 1;
                break;
            }
        if (!primary)
            for (int i = 0; SECONDARY[i]; i++)
                if (span_is(&m, m.sev_start, m.sev_end, SECONDARY[i])) {
                    secondary = 1;
                    break;
                }
        if (!primary && (!secondary || head == 0)) {  /* foreign severity; DETAIL without record */
            unreadable = 1;
            break;
        }
        int is_log = span_is(&m, m.sev_start, m.sev_end, "LOG");
        /* (a continuation line break inside the prefix: its fields hold the mark, as they did) */
        int brk_in_prefix = first_brk >= 0 && first_brk < m.pre_end;
        /* duration: (?P<dur>\d+(?:\.\d+)?) ms(?:  |$|(?=mark)) */
        Py_ssize_t dur_a = p, dur_b = p;
        if (starts(&m, p, e, "duration: ")) {
            Py_ssize_t a = p + 10, b = digits(&m, a);
            if (b > a) {
                if (b + 1 < e && CH(&m, b) == '.' && is_decimal(CH(&m, b + 1)))
                    b = digits(&m, b + 1);
                if (starts(&m, b, e, " ms")) {
                    Py_ssize_t q = b + 3;
                    if (starts(&m, q, e, "  ")) {
                        dur_a = a, dur_b = b, p = q + 2;
                    } else if (q == e || CH(&m, q) == '\n') {
                        dur_a = a, dur_b = b, p = q;
                    }
                }
            }
        }
        /* (?P<verb>statement|...)(?: [^:\n mark]*?)?:(?: |$|(?=mark)) */
        Py_ssize_t verb_a = p, verb_b = p;
        int verb_code = 0;
        for (int v = 0; VERBS[v]; v++) {
            if (!starts(&m, p, e, VERBS[v]))
                continue;
            Py_ssize_t q = p + (Py_ssize_t)strlen(VERBS[v]), colon = -1;
            if (q < e && CH(&m, q) == ' ') {
                Py_ssize_t r = q + 1;
                while (r < e && CH(&m, r) != ':' && CH(&m, r) != '\n')
                    r++;
                if (r < e && CH(&m, r) == ':' && (r + 1 == e || CH(&m, r + 1) == ' ' || CH(&m, r + 1) == '\n'))
                    colon = r;
            }
            if (colon < 0 && q < e && CH(&m, q) == ':' && (q + 1 == e || CH(&m, q + 1) == ' ' || CH(&m, q + 1) == '\n'))
                colon = q;
            if (colon < 0)
                continue;
            verb_a = p, verb_b = q;
            verb_code = v + 1;
            p = colon + 1 + (colon + 1 < e && CH(&m, colon + 1) == ' ');
            break;
        }
        Py_ssize_t msg_a = p;
        /* the DETAIL "parameters:" line of a line with a verb, under the same prefix text */
        Py_ssize_t dp_a = -1, dp_b = -1, dp_marks = 0, dp_all = 0;
        if (verb_b > verb_a && e < L) {
            Py_ssize_t plen = m.pre_end - pos, d = e + 1, i = 0;
            while (i < plen && d + i < L && CH(&m, d + i) == CH(&m, pos + i))
                i++;
            if (i == plen) {
                Py_ssize_t h = d + plen;
                if (starts(&m, h, L, "DETAIL:  ") && (starts(&m, h + 9, L, "parameters: ") || starts(&m, h + 9, L, "Parameters: "))) {
                    Py_ssize_t m2, f2;
                    dp_a = h + 9;
                    dp_b = line_end(&m, L, d, &m2, &f2);
                    dp_all = m2;
                    for (Py_ssize_t j = f2 >= dp_a ? f2 : dp_a; m2 && j < dp_b; j++)
                        dp_marks += CH(&m, j) == '\n';
                }
            }
        }
        phys += 1 + marks + (dp_a >= 0 ? 1 + dp_all : 0);
        if (brk_in_prefix) {
            /* the old count: the message's continuation lines only (one inside the prefix is
             * lost to the accounting, as by the full scan's count: kept as it was) */
            marks = 0;
            for (Py_ssize_t j = msg_a; j < e; j++)
                marks += CH(&m, j) == '\n';
        }
        int64_t n_lines = 1 + marks + (dp_a >= 0 ? 1 + dp_marks : 0);
        if (dp_a >= 0 && !primary) {
            unreadable = 1;
            break;
        }
        if (secondary) {
            if (head == 1) {
                counts.v[counts.n - 1] += n_lines;
                if (span_is(&m, m.sev_start, m.sev_end, "DETAIL")
                    && (starts(&m, p, e, "parameters: ") || starts(&m, p, e, "Parameters: "))) {
                    PyObject *s = restored(text, p + 12, e, marks, brk, nl);
                    if (s == NULL)
                        goto done;
                    Py_ssize_t last = PyList_GET_SIZE(params) - 1;
                    PyObject *old = PyList_GET_ITEM(params, last);
                    PyList_SET_ITEM(params, last, s);
                    Py_DECREF(old);
                }
            } else {
                others += n_lines;
            }
        } else {
            /* a primary record: the readers' checks of its time stamp and duration */
            if (ts_slot >= 0 && m.cap[2 * ts_slot] >= 0) {
                Py_ssize_t a = m.cap[2 * ts_slot], len = m.cap[2 * ts_slot + 1] - a;
                if (len != 0 && len != 19 && len != 23) {
                    unreadable = 1;
                    break;
                }
                if (len == 23) {
                    if (CH(&m, a + 19) != '.') {
                        unreadable = 1;
                        break;
                    }
                    for (int i = 20; i < 23; i++) {
                        Py_UCS4 c = CH(&m, a + i);
                        if (c < '0' || c > '9')
                            unreadable = 1;
                    }
                    if (unreadable)
                        break;
                }
                if (len) {
                    int same = last_sec >= 0;
                    for (int i = 0; same && i < 19; i++)
                        same = CH(&m, a + i) == CH(&m, last_sec + i);
                    if (!same) {
                        if (push_new(seconds, PyUnicode_Substring(text, a, a + 19)) < 0)
                            goto done;
                        last_sec = a;
                    }
                }
            }
            if (dur_b - dur_a > 20) {
                unreadable = 1;
                break;
            }
            for (Py_ssize_t i = dur_a; i < dur_b; i++)
                if (CH(&m, i) >= 128)
                    unreadable = 1;
            if (unreadable)
                break;
            int query = is_log && (dur_b > dur_a || verb_b > verb_a);
            if (!query) {
                if (is_log && translated_duration(&m, msg_a)) {
                    unreadable = 1;
                    break;
                }
                others += n_lines;
                head = 2;
            } else {
                head = 1;
                /* the duration in ms as a float64 (ASCII digits checked above: what float() reads) */
                double ms = Py_NAN;
                if (dur_b > dur_a) {
                    char buf[24];
                    for (Py_ssize_t i = dur_a; i < dur_b; i++)
                        buf[i - dur_a] = (char)CH(&m, i);
                    buf[dur_b - dur_a] = '\0';
                    ms = PyOS_string_to_double(buf, NULL, NULL);
                    if (ms == -1.0 && PyErr_Occurred())
                        goto done;
                }
                int64_t bits;
                memcpy(&bits, &ms, sizeof bits);
                if (i64_push(&firsts, line_no) < 0 || i64_push(&counts, n_lines) < 0
                    || i64_push(&vcodes, verb_code) < 0 || i64_push(&durms, bits) < 0)
                    goto done;
                for (Py_ssize_t i = 0; i < nwant; i++) {
                    int s = wslot[i];
                    PyObject *col = PyList_GET_ITEM(fields, i);
                    PyObject *v;
                    if (m.cap[2 * s] >= 0 && brk_in_prefix)
                        v = marked(text, m.cap[2 * s], m.cap[2 * s + 1], brk, mark);
                    else if (m.cap[2 * s] >= 0)
                        v = s == ts_slot ? PyUnicode_Substring(text, m.cap[2 * s], m.cap[2 * s + 1])
                                         : cached(&caches[i], text, &m, m.cap[2 * s], m.cap[2 * s + 1]);
                    else {
                        v = empty;
                        Py_INCREF(v);
                    }
                    if (push_new(col, v) < 0)
                        goto done;
                }
                if (session != NULL) {
                    PyObject *v;
                    int s = session_slot;
                    if (s < 0 || m.cap[2 * s] < 0 || m.cap[2 * s + 1] == m.cap[2 * s])
                        s = pid_slot >= 0 ? pid_slot : s;
                    if (s >= 0 && m.cap[2 * s] >= 0 && brk_in_prefix)
                        v = marked(text, m.cap[2 * s], m.cap[2 * s + 1], brk, mark);
                    else if (s >= 0 && m.cap[2 * s] >= 0)
                        v = cached(&caches[nwant], text, &m, m.cap[2 * s], m.cap[2 * s + 1]);
                    else {
                        v = empty;
                        Py_INCREF(v);
                    }
                    if (push_new(session, v) < 0)
                        goto done;
                }
                if (push_new(durs, PyUnicode_Substring(text, dur_a, dur_b)) < 0
                    || push_new(verbs, cached(&caches[nwant + 1], text, &m, verb_a, verb_b)) < 0
                    || push_new(msgs, marks ? restored(text, msg_a, e, marks, brk, nl)
                                            : cached(&caches[nwant + 2], text, &m, msg_a, e)) < 0)
                    goto done;
                if (dp_a >= 0) {
                    if (push_new(params, restored(text, dp_a + 12, dp_b, dp_marks, brk, nl)) < 0)
                        goto done;
                } else if (PyList_Append(params, Py_None) < 0) {
                    goto done;
                }
            }
        }
        line_no += n_lines;
        if (dp_a >= 0)
            e = dp_b;
        if (e >= L)
            break;
        pos = e + 1;
    }
    if (unreadable) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    {
        PyObject *fb = PyByteArray_FromStringAndSize((const char *)firsts.v, (Py_ssize_t)(firsts.n * sizeof(int64_t)));
        PyObject *cb = fb ? PyByteArray_FromStringAndSize((const char *)counts.v, (Py_ssize_t)(counts.n * sizeof(int64_t))) : NULL;
        PyObject *vb = cb ? PyByteArray_FromStringAndSize((const char *)vcodes.v, (Py_ssize_t)(vcodes.n * sizeof(int64_t))) : NULL;
        PyObject *db = vb ? PyByteArray_FromStringAndSize((const char *)durms.v, (Py_ssize_t)(durms.n * sizeof(int64_t))) : NULL;
        if (db != NULL)
            result = Py_BuildValue("NNLOOOOOOOLNN", fb, cb, (long long)others, fields, session ? session : Py_None,
                                   durs, verbs, msgs, params, seconds, (long long)phys, vb, db);
        else {
            Py_XDECREF(fb);
            Py_XDECREF(cb);
            Py_XDECREF(vb);
        }
    }
done:
    if (caches != NULL) {
        for (Py_ssize_t i = 0; i < nwant + 3; i++)
            cache_clear(&caches[i]);
        PyMem_Free(caches);
    }
    free_node(prefix);
    PyMem_Free(firsts.v);
    PyMem_Free(vcodes.v);
    PyMem_Free(durms.v);
    PyMem_Free(counts.v);
    Py_XDECREF(nl);
    Py_XDECREF(brk);
    Py_XDECREF(empty);
    Py_XDECREF(fields);
    Py_XDECREF(session);
    Py_XDECREF(durs);
    Py_XDECREF(verbs);
    Py_XDECREF(msgs);
    Py_XDECREF(params);
    Py_XDECREF(seconds);
    return result;
}

#define CAPSULE "toolkit.native.pgstderr.program"

static void capsule_free(PyObject *capsule)
{
    free_node(PyCapsule_GetPointer(capsule, CAPSULE));
}

/* compiled(program): the program parsed once, for the many calls of line_record */
static PyObject *compiled(PyObject *self, PyObject *program)
{
    (void)self;
    int st[2] = {0, 0};  /* slots, nodes */
    Node *n = parse_node(program, 0, st);
    if (n == NULL)
        return NULL;
    PyObject *c = PyCapsule_New(n, CAPSULE, capsule_free);
    if (c == NULL)
        free_node(n);
    return c;
}

/* line_record(line, compiled, session_slot, pid_slot): one physical line as the cut rules read
 * it (StderrParser.cut, boundary): None when it starts with a TAB, is a DETAIL/HINT/...
 * line (the prefix, then one of those words and ":  ", as the old secondary regex matched) or
 * does not match the prefix and a severity; Ellipsis when the matcher gave up (too much
 * backtracking: the caller asks the regex); else (severity, message, session, pid), the last
 * two None where the prefix has no such field or it did not take part. */
static PyObject *line_record(PyObject *self, PyObject *args)
{
    PyObject *line, *program;
    int session_slot, pid_slot;
    (void)self;
    if (!PyArg_ParseTuple(args, "UOii", &line, &program, &session_slot, &pid_slot))
        return NULL;
    if (session_slot >= MAX_SLOTS || pid_slot >= MAX_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "slot out of range");
        return NULL;
    }
    Node *prefix = PyCapsule_GetPointer(program, CAPSULE);  /* (a TypeError/ValueError if not) */
    if (prefix == NULL)
        return NULL;
    M m;
    memset(&m, 0, sizeof m);
    m.kind = PyUnicode_KIND(line);
    m.data = PyUnicode_DATA(line);
    m.mk = 0x110000;  /* (no character: a physical line holds no continuation) */
    m.end = PyUnicode_GET_LENGTH(line);
    PyObject *result = NULL;
    if (m.end > 0 && CH(&m, 0) == '\t') {
        result = Py_None;
        goto out;
    }
    Node last = {0};
    last.slot = -1;
    Node *kids[2] = {prefix, &last};
    Node top = {0};
    top.kind = N_SEQ;
    top.slot = -1;
    top.kids = kids;
    top.nkids = 2;
    Py_ssize_t r = -1;
    for (int pass = 0; pass < 2; pass++) {
        last.kind = pass == 0 ? N_SEC : N_SEV;
        m.steps = 1 << 20;
        m.hi = 0;
        for (int s = 0; s < 2 * MAX_SLOTS; s++)
            m.cap[s] = -1;
        r = go(&m, &top, 0, NULL);
        if (r == -2) {
            result = Py_Ellipsis;
            goto out;
        }
        if (pass == 0 && r >= 0) {  /* a secondary line: no record of its own */
            result = Py_None;
            goto out;
        }
    }
    if (r < 0) {
        result = Py_None;
        goto out;
    }
    {
        PyObject *v[4] = {PyUnicode_Substring(line, m.sev_start, m.sev_end), PyUnicode_Substring(line, r, m.end),
                          NULL, NULL};
        int slots[2] = {session_slot, pid_slot};
        int ok = v[0] != NULL && v[1] != NULL;
        for (int i = 0; ok && i < 2; i++) {
            int s = slots[i];
            if (s >= 0 && m.cap[2 * s] >= 0)
                ok = (v[2 + i] = PyUnicode_Substring(line, m.cap[2 * s], m.cap[2 * s + 1])) != NULL;
            else {
                v[2 + i] = Py_None;
                Py_INCREF(Py_None);
            }
        }
        if (ok)
            result = PyTuple_Pack(4, v[0], v[1], v[2], v[3]);
        for (int i = 0; i < 4; i++)
            Py_XDECREF(v[i]);
        return result;
    }
out:
    Py_XINCREF(result);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(text, mark, program, want, ts_slot, session_slot, pid_slot, first_line) -> the query-event "
     "records of a folded stderr buffer as columns, or None where the full scan must read it (see the "
     "module's source for the columns)."},
    {"compiled", compiled, METH_O, "compiled(program) -> the program parsed once (a capsule for line_record)."},
    {"line_record", line_record, METH_VARARGS,
     "line_record(line, compiled, session_slot, pid_slot) -> None, Ellipsis or (severity, message, "
     "session, pid): one physical line as the cut rules read it."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "toolkit.native.pgstderr",
                                    "The PostgreSQL stderr scanner's one pass (C).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_pgstderr(void) { return PyModule_Create(&module); }
