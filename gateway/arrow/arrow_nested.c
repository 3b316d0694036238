/*
 * arrow_nested.c: the Arrow IPC encoder for columns whose types no query result has:
 * ints of any width, binary, lists, structs, maps and dense unions. Flight SQL's
 * metadata results need them (CommandGetSqlInfo's `value` is a dense union of utf8,
 * bool, int64, int32, list<utf8> and map<int32, list<int32>>; CommandGetTables'
 * `table_schema` is binary). arrow_encode.c owns the public encoder object and calls in
 * here when it was made with arrow_encoder_new_nested.
 *
 * Schema: each Field carries its name, nullable flag, type tag and type table (always
 * present), and its children (a vector of Fields, empty for leaves). Type tables:
 * Int{bitWidth, is_signed}, Map{keysSorted}, Union{mode = Dense (1), typeIds = the
 * child type ids as a vector of int32}; Bool, Utf8, Binary, List and Struct_ are empty
 * tables. A map's one child is the non-nullable struct "entries" of a non-nullable key
 * and a value, as the Arrow format requires.
 *
 * RecordBatch: FieldNodes and Buffers in depth-first pre-order of the fields, the way
 * readers consume them. Per node (V5):
 *   Bool          validity, values bit-packed (LSB first)
 *   Int           validity, values (bit_width / 8 bytes each, little-endian)
 *   Utf8, Binary  validity, offsets (n + 1 int32 from 0), bytes
 *   List, Map     validity, offsets (n + 1 int32 from 0), then the child
 *   Struct        validity, then each child (same rows)
 *   Dense union   type ids (int8), offsets (int32, one per row) into the child of that
 *                 type id, then each child: NO validity buffer (Arrow V5)
 * Validity buffers have length 0 when the node's rows have no null; otherwise ceil(n/8)
 * bytes with an exact null_count. Every buffer starts 8-aligned and is zero-padded.
 *
 * Splitting by top-level rows [lo, hi): a list or map passes its child the range
 * [offsets[lo], offsets[hi]); a struct passes [lo, hi); a dense union passes each child
 * the smallest range covering the offsets its rows use, and re-bases those offsets to
 * it. The same walk, without writing, gives the exact body size, so the encoder can
 * binary-search the longest run of rows within the byte budget (the RecordBatch header
 * length is fixed per schema: it holds as many nodes and buffers whatever the rows).
 *
 * The arrays come from the gateway, not the network, but are checked whole before a
 * byte is written (lengths, null counts against bitmaps, monotone offsets inside their
 * child, union type ids and per-child monotone offsets), so a bug upstream becomes
 * ST_EINVAL, never an out-of-bounds read.
 */
#include <stdlib.h>
#include <string.h>

#include "arrow_int.h"

#define MAX_DEPTH 16
#define MAX_TYPES 1024
#define MAX_UNION_CHILDREN 127

struct ntype {
    char *name;
    enum arrow_kind kind;
    bool nullable;
    uint8_t bit_width;
    bool is_signed, keys_sorted;
    uint32_t n_children;
    uint32_t *child;         /* indexes into arrow_nested.types */
    int32_t *type_ids;       /* DENSE_UNION: the id of each child */
    int8_t id_to_child[128]; /* DENSE_UNION: child index of a type id, -1 when unused */
};

struct arrow_nested {
    struct ntype *types; /* pre-order */
    uint32_t n_types, cap_types;
    uint32_t *top; /* the columns */
    uint32_t n_top;
    uint32_t n_buffers;
    int64_t (*nodes)[2];
    int64_t (*buffers)[2];
    const struct arrow_array *cols; /* the current batch; NULL for an empty one */
};

static size_t
pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static uint32_t
buffers_of(enum arrow_kind k)
{
    switch (k) {
    case ARROW_KIND_UTF8:
    case ARROW_KIND_BINARY:
        return 3;
    case ARROW_KIND_STRUCT:
        return 1;
    default: /* BOOL, INT: validity + values; LIST, MAP: validity + offsets; UNION: ids + offsets */
        return 2;
    }
}

static uint8_t
tag_of(enum arrow_kind k)
{
    switch (k) {
    case ARROW_KIND_BOOL:
        return ARROW_T_BOOL;
    case ARROW_KIND_INT:
        return ARROW_T_INT;
    case ARROW_KIND_UTF8:
        return ARROW_T_UTF8;
    case ARROW_KIND_BINARY:
        return ARROW_T_BINARY;
    case ARROW_KIND_LIST:
        return ARROW_T_LIST;
    case ARROW_KIND_STRUCT:
        return ARROW_T_STRUCT;
    case ARROW_KIND_MAP:
        return ARROW_T_MAP;
    case ARROW_KIND_DENSE_UNION:
        return ARROW_T_UNION;
    }
    return ARROW_T_NONE;
}

/* ---- the type tree ---------------------------------------------------------------------- */

void
arrow__nested_free(struct arrow_nested *n)
{
    if (!n) return;
    for (uint32_t i = 0; i < n->n_types; i++) {
        free(n->types[i].name);
        free(n->types[i].child);
        free(n->types[i].type_ids);
    }
    free(n->types);
    free(n->top);
    free(n->nodes);
    free(n->buffers);
    free(n);
}

static enum st_code
check_type(const struct arrow_type *t, const char *name, struct st_error *err)
{
    uint32_t nc = t->n_children;
    if (nc && !t->children)
        return st_error_set(err, ST_EINVAL, "arrow field \"%s\" has %u children and no array",
                            name, nc);
    switch (t->kind) {
    case ARROW_KIND_BOOL:
    case ARROW_KIND_UTF8:
    case ARROW_KIND_BINARY:
        break;
    case ARROW_KIND_INT:
        if (t->bit_width != 8 && t->bit_width != 16 && t->bit_width != 32 && t->bit_width != 64)
            return st_error_set(err, ST_EINVAL, "arrow field \"%s\" has an int bit width of %u",
                                name, t->bit_width);
        break;
    case ARROW_KIND_LIST:
        if (nc != 1)
            return st_error_set(err, ST_EINVAL, "arrow list \"%s\" needs 1 child, has %u", name,
                                nc);
        return ST_OK;
    case ARROW_KIND_STRUCT:
        return ST_OK;
    case ARROW_KIND_MAP: {
        const struct arrow_type *e = nc == 1 ? &t->children[0] : NULL;
        if (!e || e->kind != ARROW_KIND_STRUCT || e->nullable || e->n_children != 2 ||
            !e->children || e->children[0].nullable)
            return st_error_set(err, ST_EINVAL,
                                "arrow map \"%s\" needs one non-nullable struct child of a "
                                "non-nullable key and a value",
                                name);
        return ST_OK;
    }
    case ARROW_KIND_DENSE_UNION: {
        bool seen[128] = {false};
        if (nc < 1 || nc > MAX_UNION_CHILDREN || !t->type_ids)
            return st_error_set(err, ST_EINVAL,
                                "arrow union \"%s\" needs 1..%d children with type ids", name,
                                MAX_UNION_CHILDREN);
        for (uint32_t i = 0; i < nc; i++) {
            int8_t id = t->type_ids[i];
            if (id < 0 || seen[id])
                return st_error_set(err, ST_EINVAL,
                                    "arrow union \"%s\": type id %d of child %u is negative or "
                                    "repeated",
                                    name, id, i);
            seen[id] = true;
        }
        return ST_OK;
    }
    default:
        return st_error_set(err, ST_EINVAL, "arrow field \"%s\" has unknown kind %d", name,
                            (int)t->kind);
    }
    if (nc)
        return st_error_set(err, ST_EINVAL, "arrow field \"%s\" of a leaf type has children",
                            name);
    return ST_OK;
}

/* Copy t (and its subtree, pre-order) into n->types; *idx = its index. */
static enum st_code
add_type(struct arrow_nested *n, const struct arrow_type *t, unsigned depth, uint32_t *idx,
         struct st_error *err)
{
    const char *name = t->name ? t->name : "";
    if (depth > MAX_DEPTH)
        return st_error_set(err, ST_EINVAL, "arrow field \"%s\" is nested deeper than %d", name,
                            MAX_DEPTH);
    ST_TRY(check_type(t, name, err));
    if (n->n_types == MAX_TYPES)
        return st_error_set(err, ST_EINVAL, "an arrow schema of more than %d fields", MAX_TYPES);
    if (n->n_types == n->cap_types) {
        uint32_t cap = n->cap_types ? n->cap_types * 2 : 8;
        struct ntype *nt = realloc(n->types, cap * sizeof *nt);
        if (!nt) return st_error_set(err, ST_ENOMEM, "allocating an arrow schema");
        n->types = nt;
        n->cap_types = cap;
    }
    uint32_t me = n->n_types++;
    struct ntype *x = &n->types[me];
    memset(x, 0, sizeof *x);
    memset(x->id_to_child, -1, sizeof x->id_to_child);
    x->kind = t->kind;
    x->nullable = t->nullable;
    x->bit_width = t->bit_width;
    x->is_signed = t->is_signed;
    x->keys_sorted = t->keys_sorted;
    x->name = strdup(name);
    if (!x->name) return st_error_set(err, ST_ENOMEM, "allocating an arrow schema");
    if (t->n_children) {
        x->child = calloc(t->n_children, sizeof *x->child);
        if (!x->child) return st_error_set(err, ST_ENOMEM, "allocating an arrow schema");
    }
    if (t->kind == ARROW_KIND_DENSE_UNION) {
        x->type_ids = calloc(t->n_children, sizeof *x->type_ids);
        if (!x->type_ids) return st_error_set(err, ST_ENOMEM, "allocating an arrow schema");
        for (uint32_t i = 0; i < t->n_children; i++) {
            x->type_ids[i] = t->type_ids[i];
            x->id_to_child[t->type_ids[i]] = (int8_t)i;
        }
    }
    n->n_buffers += buffers_of(t->kind);
    for (uint32_t i = 0; i < t->n_children; i++) {
        uint32_t ci = 0;
        ST_TRY(add_type(n, &t->children[i], depth + 1, &ci, err));
        n->types[me].child[i] = ci; /* n->types may have moved */
        n->types[me].n_children = i + 1;
    }
    *idx = me;
    return ST_OK;
}

struct arrow_nested *
arrow__nested_new(const struct arrow_type *fields, uint32_t n_fields, struct st_error *err)
{
    struct arrow_nested *n = calloc(1, sizeof *n);
    if (!n || !(n->top = calloc(n_fields ? n_fields : 1, sizeof *n->top))) {
        free(n);
        st_error_set(err, ST_ENOMEM, "allocating an arrow encoder");
        return NULL;
    }
    for (uint32_t i = 0; i < n_fields; i++) {
        if (add_type(n, &fields[i], 0, &n->top[i], err) != ST_OK) {
            arrow__nested_free(n);
            return NULL;
        }
        n->n_top = i + 1;
    }
    n->nodes = calloc(n->n_types ? n->n_types : 1, sizeof *n->nodes);
    n->buffers = calloc(n->n_buffers ? n->n_buffers : 1, sizeof *n->buffers);
    if (!n->nodes || !n->buffers) {
        arrow__nested_free(n);
        st_error_set(err, ST_ENOMEM, "allocating an arrow encoder");
        return NULL;
    }
    return n;
}

/* ---- schema ----------------------------------------------------------------------------- */

static size_t
write_type(struct fbw *w, const struct ntype *t)
{
    switch (t->kind) {
    case ARROW_KIND_INT: {
        struct fbw_field f[] = {{INT_BITWIDTH, FBW_I32, t->bit_width, 0},
                                {INT_SIGNED, FBW_U8, t->is_signed, 0}};
        return fbw_table(w, f, 2);
    }
    case ARROW_KIND_MAP: {
        struct fbw_field f[] = {{MAP_KEYS_SORTED, FBW_U8, t->keys_sorted, 0}};
        return fbw_table(w, f, 1);
    }
    case ARROW_KIND_DENSE_UNION: {
        struct fbw_field f[] = {{UNION_MODE, FBW_I16, ARROW_UNION_DENSE, 0},
                                {UNION_TYPE_IDS, FBW_OFFSET, 0, 0}};
        size_t tt = fbw_table(w, f, 2);
        fbw_patch(w, f[1].pos, fbw_i32_vector(w, t->type_ids, t->n_children));
        return tt;
    }
    default: /* Bool, Utf8, Binary, List, Struct_: empty tables, still present */
        return fbw_table(w, NULL, 0);
    }
}

/* The Field table of type idx, patched into the uoffset slot at `slot`. */
static void
write_field(struct fbw *w, const struct arrow_nested *n, uint32_t idx, size_t slot)
{
    const struct ntype *t = &n->types[idx];
    struct fbw_field ff[] = {
        {FIELD_NAME, FBW_OFFSET, 0, 0},
        {FIELD_NULLABLE, FBW_U8, t->nullable, 0},
        {FIELD_TYPE_TYPE, FBW_U8, tag_of(t->kind), 0},
        {FIELD_TYPE, FBW_OFFSET, 0, 0},
        {FIELD_CHILDREN, FBW_OFFSET, 0, 0},
    };
    fbw_patch(w, slot, fbw_table(w, ff, 5));
    fbw_patch(w, ff[0].pos, fbw_string(w, t->name, strlen(t->name)));
    fbw_patch(w, ff[3].pos, write_type(w, t));
    size_t vec = fbw_offset_vector(w, t->n_children);
    fbw_patch(w, ff[4].pos, vec);
    for (uint32_t i = 0; i < t->n_children; i++)
        write_field(w, n, t->child[i], vec + 4 + 4 * (size_t)i);
}

enum st_code
arrow__nested_schema(struct arrow_nested *n, struct st_buf *header, const struct arrow_kv *md,
                     uint32_t n_md, struct st_error *err)
{
    struct fbw w;
    st_buf_reset(header);
    fbw_init(&w, header);
    size_t hdr = arrow__write_message(&w, ARROW_HDR_SCHEMA, 0);
    struct fbw_field sf[] = {{SCHEMA_FIELDS, FBW_OFFSET, 0, 0},
                             {SCHEMA_METADATA, FBW_OFFSET, 0, 0}};
    fbw_patch(&w, hdr, fbw_table(&w, sf, n_md ? 2 : 1));
    size_t vec = fbw_offset_vector(&w, n->n_top);
    fbw_patch(&w, sf[0].pos, vec);
    for (uint32_t i = 0; i < n->n_top; i++)
        write_field(&w, n, n->top[i], vec + 4 + 4 * (size_t)i);
    if (n_md) arrow__write_kv_vector(&w, sf[1].pos, md, n_md);
    return arrow__fb_done(&w, err);
}

static enum st_code
write_rb_header(struct arrow_nested *n, int64_t rows, size_t body_len, struct st_buf *header,
                struct st_error *err)
{
    struct fbw w;
    st_buf_reset(header);
    fbw_init(&w, header);
    size_t hdr = arrow__write_message(&w, ARROW_HDR_RECORD_BATCH, (int64_t)body_len);
    struct fbw_field f[] = {
        {RB_LENGTH, FBW_I64, (uint64_t)rows, 0},
        {RB_NODES, FBW_OFFSET, 0, 0},
        {RB_BUFFERS, FBW_OFFSET, 0, 0},
    };
    fbw_patch(&w, hdr, fbw_table(&w, f, 3));
    fbw_patch(&w, f[1].pos, fbw_struct16_vector(&w, n->nodes, n->n_types));
    fbw_patch(&w, f[2].pos, fbw_struct16_vector(&w, n->buffers, n->n_buffers));
    return arrow__fb_done(&w, err);
}

enum st_code
arrow__nested_header_len(struct arrow_nested *n, struct st_buf *header, size_t *len,
                         struct st_error *err)
{
    ST_TRY(write_rb_header(n, 0, 0, header, err));
    *len = header->len;
    return ST_OK;
}

/* ---- checking a batch ------------------------------------------------------------------- */

#define BAD(...) st_error_set(err, ST_EINVAL, __VA_ARGS__)

/* offsets[0..len] non-decreasing from >= 0; *end = offsets[len]. */
static enum st_code
check_offsets(const int32_t *o, int64_t len, const char *col, const char *name, int64_t *end,
              struct st_error *err)
{
    if (!o) return BAD("arrow column \"%s\": \"%s\" has no offsets", col, name);
    if (o[0] < 0) return BAD("arrow column \"%s\": offsets of \"%s\" start below 0", col, name);
    for (int64_t i = 0; i < len; i++)
        if (o[i + 1] < o[i])
            return BAD("arrow column \"%s\": offsets of \"%s\" decrease at row %lld", col, name,
                       (long long)i + 1);
    *end = o[len];
    return ST_OK;
}

/* The array a for type idx has at least `need` rows and is consistent below. */
static enum st_code
check_array(const struct arrow_nested *n, uint32_t idx, const struct arrow_array *a, int64_t need,
            bool exact, const char *col, struct st_error *err)
{
    const struct ntype *t = &n->types[idx];
    int64_t len = a->length;
    if (len < 0 || len < need || (exact && len != need))
        return BAD("arrow column \"%s\": \"%s\" has %lld rows, %lld needed", col, t->name,
                   (long long)len, (long long)need);
    if (a->null_count < 0 || a->null_count > len)
        return BAD("arrow column \"%s\": \"%s\" has a null count of %lld in %lld rows", col,
                   t->name, (long long)a->null_count, (long long)len);
    if (a->null_count > 0) {
        if (t->kind == ARROW_KIND_DENSE_UNION || !t->nullable)
            return BAD("arrow column \"%s\": \"%s\" has nulls but cannot", col, t->name);
        if (!a->validity)
            return BAD("arrow column \"%s\": \"%s\" has nulls and no bitmap", col, t->name);
        if (len - arrow__count_valid(a->validity, 0, (uint64_t)len) != a->null_count)
            return BAD("arrow column \"%s\": the bitmap of \"%s\" disagrees with its null count",
                       col, t->name);
    }
    if (t->n_children && !a->children)
        return BAD("arrow column \"%s\": \"%s\" has no child arrays", col, t->name);
    int64_t end;
    switch (t->kind) {
    case ARROW_KIND_BOOL:
    case ARROW_KIND_INT:
        if (len && !a->values) return BAD("arrow column \"%s\": \"%s\" has no values", col, t->name);
        return ST_OK;
    case ARROW_KIND_UTF8:
    case ARROW_KIND_BINARY:
        ST_TRY(check_offsets(a->offsets, len, col, t->name, &end, err));
        if (end > a->offsets[0] && !a->values)
            return BAD("arrow column \"%s\": \"%s\" has no bytes", col, t->name);
        return ST_OK;
    case ARROW_KIND_LIST:
    case ARROW_KIND_MAP:
        ST_TRY(check_offsets(a->offsets, len, col, t->name, &end, err));
        return check_array(n, t->child[0], &a->children[0], end, false, col, err);
    case ARROW_KIND_STRUCT:
        for (uint32_t i = 0; i < t->n_children; i++)
            ST_TRY(check_array(n, t->child[i], &a->children[i], len, false, col, err));
        return ST_OK;
    case ARROW_KIND_DENSE_UNION: {
        int64_t next[MAX_UNION_CHILDREN]; /* per child: 1 + the last offset seen */
        for (uint32_t k = 0; k < t->n_children; k++)
            next[k] = 0;
        if (len && (!a->type_ids || !a->offsets))
            return BAD("arrow column \"%s\": union \"%s\" has no type ids or offsets", col,
                       t->name);
        for (int64_t i = 0; i < len; i++) {
            int8_t id = a->type_ids[i];
            int k = id >= 0 ? t->id_to_child[id] : -1;
            if (k < 0)
                return BAD("arrow column \"%s\": union \"%s\" row %lld has type id %d, which "
                           "names no child",
                           col, t->name, (long long)i, id);
            int32_t o = a->offsets[i];
            if (o < 0 || (int64_t)o + 1 < next[k])
                return BAD("arrow column \"%s\": union \"%s\" row %lld has offset %d, out of "
                           "order",
                           col, t->name, (long long)i, o);
            next[k] = (int64_t)o + 1;
        }
        for (uint32_t k = 0; k < t->n_children; k++)
            ST_TRY(check_array(n, t->child[k], &a->children[k], next[k], false, col, err));
        return ST_OK;
    }
    }
    return BAD("arrow column \"%s\": unknown kind", col);
}

enum st_code
arrow__nested_begin(struct arrow_nested *n, const struct arrow_array *cols, int64_t n_rows,
                     struct st_error *err)
{
    n->cols = NULL;
    if (!cols) {
        if (n_rows != 0) return BAD("an empty arrow batch has %lld rows", (long long)n_rows);
        return ST_OK;
    }
    if (n_rows < 0) return BAD("an arrow batch of %lld rows", (long long)n_rows);
    for (uint32_t c = 0; c < n->n_top; c++)
        ST_TRY(check_array(n, n->top[c], &cols[c], n_rows, true, n->types[n->top[c]].name, err));
    n->cols = cols;
    return ST_OK;
}

#undef BAD

/* ---- the body walk ---------------------------------------------------------------------- */

struct walk {
    struct arrow_nested *n;
    struct st_buf *body; /* NULL: measure only */
    size_t len;          /* body bytes so far, padded */
    uint32_t ni, bi;     /* next FieldNode, next Buffer */
    enum st_code rc;
};

/* Record a buffer of len bytes at the current body offset; returns its zeroed bytes to
 * fill, or NULL (measuring, empty, or after an error). */
static uint8_t *
buf_add(struct walk *w, size_t len)
{
    size_t padded = pad8(len);
    uint8_t *dst = NULL;
    if (w->body) {
        w->n->buffers[w->bi][0] = (int64_t)w->len;
        w->n->buffers[w->bi][1] = (int64_t)len;
        if (padded && w->rc == ST_OK) {
            w->rc = st_buf_reserve(w->body, padded);
            if (w->rc == ST_OK) {
                dst = w->body->data + w->body->len;
                memset(dst, 0, padded);
                w->body->len += padded;
            }
        }
    }
    w->bi++;
    w->len += padded;
    return dst;
}

static void
node_add(struct walk *w, int64_t len, int64_t nulls)
{
    if (w->body) {
        w->n->nodes[w->ni][0] = len;
        w->n->nodes[w->ni][1] = nulls;
    }
    w->ni++;
}

/* n + 1 offsets from o[lo], re-based to 0. */
static void
put_offsets(struct walk *w, const int32_t *o, int64_t lo, int64_t n)
{
    uint8_t *d = buf_add(w, ((size_t)n + 1) * 4);
    if (!d || !o) return; /* without an array the one offset stays 0 */
    for (int64_t i = 0; i <= n; i++)
        st_store_u32le(d + 4 * (size_t)i, (uint32_t)(o[lo + i] - o[lo]));
}

/* Rows [lo, hi) of array a (NULL: an empty batch, lo == hi == 0) of type idx. */
static void
walk_node(struct walk *w, uint32_t idx, const struct arrow_array *a, int64_t lo, int64_t hi)
{
    const struct ntype *t = &w->n->types[idx];
    int64_t n = hi - lo, nulls = 0;
    if (a && n > 0 && a->null_count > 0)
        nulls = n - arrow__count_valid(a->validity, (uint64_t)lo, (uint64_t)hi);
    node_add(w, n, nulls);
    if (t->kind != ARROW_KIND_DENSE_UNION) {
        uint8_t *v = buf_add(w, nulls ? ((size_t)n + 7) / 8 : 0);
        if (v)
            arrow__copy_bits(v, a->validity, ((size_t)a->length + 7) / 8, (uint64_t)lo,
                             (uint64_t)n);
    }
    switch (t->kind) {
    case ARROW_KIND_BOOL: {
        uint8_t *d = buf_add(w, ((size_t)n + 7) / 8);
        const uint8_t *v = a ? (const uint8_t *)a->values + lo : NULL;
        if (d)
            for (int64_t i = 0; i < n; i++)
                if (v[i]) d[i >> 3] |= (uint8_t)(1u << (i & 7));
        return;
    }
    case ARROW_KIND_INT: {
        size_t wd = t->bit_width / 8;
        uint8_t *d = buf_add(w, (size_t)n * wd);
        if (d) memcpy(d, (const uint8_t *)a->values + (size_t)lo * wd, (size_t)n * wd);
        return;
    }
    case ARROW_KIND_UTF8:
    case ARROW_KIND_BINARY: {
        put_offsets(w, a ? a->offsets : NULL, lo, n);
        size_t bytes = a ? (size_t)(a->offsets[hi] - a->offsets[lo]) : 0;
        uint8_t *d = buf_add(w, bytes);
        if (d) memcpy(d, (const uint8_t *)a->values + a->offsets[lo], bytes);
        return;
    }
    case ARROW_KIND_LIST:
    case ARROW_KIND_MAP:
        put_offsets(w, a ? a->offsets : NULL, lo, n);
        walk_node(w, t->child[0], a ? &a->children[0] : NULL, a ? a->offsets[lo] : 0,
                  a ? a->offsets[hi] : 0);
        return;
    case ARROW_KIND_STRUCT:
        for (uint32_t i = 0; i < t->n_children; i++)
            walk_node(w, t->child[i], a ? &a->children[i] : NULL, lo, hi);
        return;
    case ARROW_KIND_DENSE_UNION: {
        /* the range of each child that rows [lo, hi) use: [first[k], last[k] + 1) */
        int64_t first[MAX_UNION_CHILDREN], last[MAX_UNION_CHILDREN];
        for (uint32_t k = 0; k < t->n_children; k++) {
            first[k] = 0;
            last[k] = -1;
        }
        for (int64_t r = lo; r < hi; r++) {
            int k = t->id_to_child[a->type_ids[r]];
            if (last[k] < 0) first[k] = a->offsets[r];
            last[k] = a->offsets[r]; /* offsets grow per child (checked) */
        }
        uint8_t *ids = buf_add(w, (size_t)n);
        if (ids) memcpy(ids, a->type_ids + lo, (size_t)n);
        uint8_t *offs = buf_add(w, (size_t)n * 4);
        if (offs)
            for (int64_t r = lo; r < hi; r++) {
                int k = t->id_to_child[a->type_ids[r]];
                st_store_u32le(offs + 4 * (size_t)(r - lo), (uint32_t)(a->offsets[r] - first[k]));
            }
        for (uint32_t k = 0; k < t->n_children; k++)
            walk_node(w, t->child[k], a ? &a->children[k] : NULL, first[k], last[k] + 1);
        return;
    }
    }
}

static void
walk_rows(struct walk *w, int64_t lo, int64_t hi)
{
    struct arrow_nested *n = w->n;
    for (uint32_t c = 0; c < n->n_top; c++)
        walk_node(w, n->top[c], n->cols ? &n->cols[c] : NULL, lo, hi);
}

size_t
arrow__nested_body_len(struct arrow_nested *n, int64_t lo, int64_t hi)
{
    struct walk w = {.n = n};
    walk_rows(&w, lo, hi);
    return w.len;
}

enum st_code
arrow__nested_encode(struct arrow_nested *n, int64_t lo, int64_t hi, size_t headroom,
                     struct st_buf *header, struct st_buf *body, struct st_error *err)
{
    struct walk w = {.n = n, .body = body};
    st_buf_reset(body);
    w.rc = st_buf_reserve(body, headroom + arrow__nested_body_len(n, lo, hi));
    if (w.rc == ST_OK) body->len = headroom; /* the body starts after the headroom */
    walk_rows(&w, lo, hi);
    if (w.rc != ST_OK)
        return st_error_set(err, w.rc, "encoding arrow record batch: %s", st_strerror(w.rc));
    if (w.ni != n->n_types || w.bi != n->n_buffers || w.len != body->len - headroom)
        return st_error_set(err, ST_EINTERNAL, "arrow nested encoder lost count of its buffers");
    return write_rb_header(n, hi - lo, w.len, header, err);
}
