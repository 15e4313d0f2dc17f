/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Chunked table and compact frame index. See mtls_index.h.
 */
#include "mtls_index.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ table -- */

/* Tiny at first: many tables hold only a few elements. */
#define TABLE_FIRST_SLOTS 4u

mtls_table_t *mtls_table_new(size_t element_size)
{
    if (element_size == 0 || element_size > SIZE_MAX / MTLS_TABLE_CHUNK_ELEMENTS)
        return NULL;
    mtls_table_t *table = calloc(1, sizeof(*table));
    if (!table)
        return NULL;
    table->element_size = element_size;
    table->chunk_size = element_size * MTLS_TABLE_CHUNK_ELEMENTS;
    return table;
}

void mtls_table_free(mtls_table_t *table)
{
    if (!table)
        return;
    for (uint32_t i = 0; i < table->chunk_slots; i++)
        free(table->chunks[i]);
    free(table->chunks);
    free(table);
}

void *mtls_table_slot(mtls_table_t *table, uint32_t index)
{
    if (!table || index >= MTLS_TABLE_MAX_INDEX)
        return NULL;
    uint32_t chunk = index / MTLS_TABLE_CHUNK_ELEMENTS;
    if (chunk >= table->chunk_slots) {
        /* Doubling only the pointer array: one pointer per chunk, never the elements.
         * MTLS_TABLE_MAX_INDEX keeps slots well below UINT32_MAX. */
        uint32_t slots = table->chunk_slots ? table->chunk_slots : TABLE_FIRST_SLOTS;
        while (slots <= chunk)
            slots *= 2;
        unsigned char **chunks = realloc(table->chunks, slots * sizeof(*chunks));
        if (!chunks)
            return NULL;
        memset(chunks + table->chunk_slots, 0, (slots - table->chunk_slots) * sizeof(*chunks));
        table->chunks = chunks;
        table->chunk_slots = slots;
    }
    if (!table->chunks[chunk]) {
        table->chunks[chunk] = calloc(MTLS_TABLE_CHUNK_ELEMENTS, table->element_size);
        if (!table->chunks[chunk])
            return NULL;
        table->chunks_made++;
    }
    if (index >= table->length)
        table->length = index + 1;
    return table->chunks[chunk] + (size_t)(index % MTLS_TABLE_CHUNK_ELEMENTS) * table->element_size;
}

uint32_t mtls_table_length(const mtls_table_t *table)
{
    return table ? table->length : 0;
}

size_t mtls_table_bytes(const mtls_table_t *table)
{
    if (!table)
        return 0;
    return sizeof(*table) + (size_t)table->chunk_slots * sizeof(*table->chunks) +
           (size_t)table->chunks_made * table->chunk_size;
}

/* ------------------------------------------------------------ frame index -- */

/* One chunk: its first entry in the header, the others delta-coded after it, so
 * every chunk decodes on its own from its header. */
typedef struct {
    uint32_t first_frame;
    uint32_t first_tag;
    uint16_t count; /* entries, the header's included */
    uint16_t used;  /* payload bytes */
    uint8_t payload[];
} fi_chunk_t;

enum {
    /* Header + payload = 256 bytes at most. */
    FI_PAYLOAD_MAX = 256 - sizeof(fi_chunk_t),
    /* The last chunk grows from here, so a small index stays small. */
    FI_PAYLOAD_FIRST = 32,
    /* Two varints of at most 5 bytes (35 bits) each. */
    FI_ENTRY_MAX = 10,
    /* Tags of the last frame kept for the duplicate check without decoding. */
    FI_RECENT = 8,
    FI_FIRST_SLOTS = 4,
};

/* Walks entries in order from the start of a chunk. */
typedef struct {
    const struct mtls_frame_index *index;
    size_t chunk;
    size_t pos;     /* payload offset of the next entry */
    unsigned done;  /* entries of the chunk already returned */
    uint32_t frame; /* the entry just returned */
    uint32_t tag;
} fi_cursor_t;

struct mtls_frame_index {
    fi_chunk_t **chunks;
    size_t chunk_count;
    size_t chunk_slots;
    size_t last_capacity; /* payload bytes allocated for the last chunk */
    size_t chunk_bytes;   /* sum of the chunk allocations */
    size_t entries;
    uint32_t last_frame;
    uint32_t last_tag;
    size_t frame_entries; /* entries of last_frame */
    uint32_t recent[FI_RECENT];
    /* Where the last lookup started reading its frame: every entry before it has
     * a lower frame. Tshark's second pass and a GUI scrolling down ask for frames
     * in order, so each lookup reads on from there instead of from its chunk's
     * start. */
    fi_cursor_t resume;
    uint32_t resume_frame;
    bool resume_valid;
};

/* An entry after the first of its chunk is
 *   varint(zigzag(tag - previous tag) << 2 | f)      f = frame delta when < 3, else 3
 *   [varint(frame delta - 3)]                        only when f == 3
 * so the common entry (same or next frame, tag within +-2047) takes 2 bytes.
 * Deltas are modulo 2^32, so every uint32 value round-trips. */
static size_t put_varint(uint8_t *out, uint64_t value)
{
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[n++] = (uint8_t)value;
    return n;
}

/* Bounded by end, and by 5 bytes: anything else is not something this file wrote. */
static bool get_varint(const uint8_t *data, size_t end, size_t *pos, uint64_t *value)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*pos >= end)
            return false;
        uint8_t byte = data[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

static uint32_t zigzag(uint32_t delta)
{
    return (delta << 1) ^ (0u - (delta >> 31));
}

static uint32_t unzigzag(uint32_t z)
{
    return (z >> 1) ^ (0u - (z & 1u));
}

static size_t encode_entry(uint8_t *out, uint32_t frame_delta, uint32_t tag_delta)
{
    uint64_t f = frame_delta < 3 ? frame_delta : 3;
    size_t n = put_varint(out, (uint64_t)zigzag(tag_delta) << 2 | f);
    if (f == 3)
        n += put_varint(out + n, (uint64_t)frame_delta - 3);
    return n;
}

static void cursor_start(fi_cursor_t *c, const mtls_frame_index_t *index, size_t chunk)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->chunk = chunk;
}

static bool cursor_next(fi_cursor_t *c)
{
    while (c->chunk < c->index->chunk_count) {
        const fi_chunk_t *chunk = c->index->chunks[c->chunk];
        if (c->done == 0) {
            c->frame = chunk->first_frame;
            c->tag = chunk->first_tag;
            c->done = 1;
            c->pos = 0;
            return true;
        }
        if (c->done < chunk->count) {
            uint64_t head, frame_delta;
            if (!get_varint(chunk->payload, chunk->used, &c->pos, &head))
                return false;
            frame_delta = head & 3;
            if (frame_delta == 3) {
                uint64_t rest;
                if (!get_varint(chunk->payload, chunk->used, &c->pos, &rest))
                    return false;
                frame_delta += rest;
            }
            c->frame += (uint32_t)frame_delta;
            c->tag += unzigzag((uint32_t)(head >> 2));
            c->done++;
            return true;
        }
        c->chunk++;
        c->done = 0;
    }
    return false;
}

mtls_frame_index_t *mtls_frame_index_new(void)
{
    return calloc(1, sizeof(mtls_frame_index_t));
}

void mtls_frame_index_free(mtls_frame_index_t *index)
{
    if (!index)
        return;
    for (size_t i = 0; i < index->chunk_count; i++)
        free(index->chunks[i]);
    free(index->chunks);
    free(index);
}

/* The first chunk that can hold entries of frame: entries of a frame may start at
 * the end of the chunk before the first chunk whose first frame is >= frame. */
static size_t first_chunk_of(const mtls_frame_index_t *index, uint32_t frame)
{
    size_t lo = 0, hi = index->chunk_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (index->chunks[mid]->first_frame < frame)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? lo - 1 : 0;
}

static bool last_frame_has(const mtls_frame_index_t *index, uint32_t tag)
{
    size_t kept = index->frame_entries < FI_RECENT ? index->frame_entries : FI_RECENT;
    for (size_t i = 0; i < kept; i++) {
        if (index->recent[i] == tag)
            return true;
    }
    if (index->frame_entries <= FI_RECENT)
        return false;
    /* Rare: a frame with many tags. Exact, so lookup never sees a duplicate. */
    fi_cursor_t c;
    cursor_start(&c, index, first_chunk_of(index, index->last_frame));
    while (cursor_next(&c)) {
        if (c.frame == index->last_frame && c.tag == tag)
            return true;
    }
    return false;
}

/* Appends a chunk whose header holds (frame, tag). The previous last chunk is
 * full: it gives back its unused payload. */
static bool add_chunk(mtls_frame_index_t *index, uint32_t frame, uint32_t tag)
{
    if (index->chunk_count == index->chunk_slots) {
        size_t slots = index->chunk_slots ? index->chunk_slots * 2 : FI_FIRST_SLOTS;
        if (slots > SIZE_MAX / sizeof(*index->chunks))
            return false;
        fi_chunk_t **chunks = realloc(index->chunks, slots * sizeof(*chunks));
        if (!chunks)
            return false;
        index->chunks = chunks;
        index->chunk_slots = slots;
    }
    fi_chunk_t *chunk = malloc(sizeof(fi_chunk_t) + FI_PAYLOAD_FIRST);
    if (!chunk)
        return false;
    chunk->first_frame = frame;
    chunk->first_tag = tag;
    chunk->count = 1;
    chunk->used = 0;

    if (index->chunk_count > 0) {
        fi_chunk_t **last = &index->chunks[index->chunk_count - 1];
        if ((*last)->used < index->last_capacity) {
            fi_chunk_t *shrunk = realloc(*last, sizeof(fi_chunk_t) + (*last)->used);
            if (shrunk) { /* else it keeps its tail, nothing lost */
                index->chunk_bytes -= index->last_capacity - shrunk->used;
                *last = shrunk;
            }
        }
    }
    index->chunks[index->chunk_count++] = chunk;
    index->last_capacity = FI_PAYLOAD_FIRST;
    index->chunk_bytes += sizeof(fi_chunk_t) + FI_PAYLOAD_FIRST;
    return true;
}

/* Appends an encoded entry to the last chunk, growing it, or returns false when
 * it does not fit in FI_PAYLOAD_MAX (or on OOM). */
static bool append_to_last(mtls_frame_index_t *index, const uint8_t *entry, size_t length)
{
    if (index->chunk_count == 0)
        return false;
    fi_chunk_t **last = &index->chunks[index->chunk_count - 1];
    size_t need = (size_t)(*last)->used + length;
    if (need > FI_PAYLOAD_MAX)
        return false;
    if (need > index->last_capacity) {
        size_t capacity = index->last_capacity * 2;
        if (capacity < need)
            capacity = need;
        if (capacity > FI_PAYLOAD_MAX)
            capacity = FI_PAYLOAD_MAX;
        fi_chunk_t *grown = realloc(*last, sizeof(fi_chunk_t) + capacity);
        if (!grown)
            return false;
        index->chunk_bytes += capacity - index->last_capacity;
        index->last_capacity = capacity;
        *last = grown;
    }
    memcpy((*last)->payload + (*last)->used, entry, length);
    (*last)->used = (uint16_t)need;
    (*last)->count++;
    return true;
}

bool mtls_frame_index_add(mtls_frame_index_t *index, uint32_t frame, uint32_t tag)
{
    if (!index)
        return false;
    bool same_frame = false;
    if (index->entries > 0) {
        if (frame < index->last_frame)
            return false;
        same_frame = frame == index->last_frame;
        if (same_frame && last_frame_has(index, tag))
            return true;
    }
    uint8_t entry[FI_ENTRY_MAX];
    size_t length = encode_entry(entry, frame - index->last_frame, tag - index->last_tag);
    /* An entry that does not fit in the last chunk starts the next one; an
     * append that failed on OOM changed nothing, and neither does add_chunk. */
    if (!append_to_last(index, entry, length) && !add_chunk(index, frame, tag))
        return false;

    if (!same_frame)
        index->frame_entries = 0;
    if (index->frame_entries < FI_RECENT)
        index->recent[index->frame_entries] = tag;
    index->frame_entries++;
    index->last_frame = frame;
    index->last_tag = tag;
    index->entries++;
    index->resume_valid = false; /* chunks may have been shrunk or added */
    return true;
}

size_t mtls_frame_index_lookup(mtls_frame_index_t *index, uint32_t frame, uint32_t *tags,
                               size_t max)
{
    if (!index || index->entries == 0 || frame > index->last_frame)
        return 0;
    if (frame == index->last_frame && index->frame_entries <= FI_RECENT) {
        /* The first pass asks for the frame it just added. */
        for (size_t i = 0; i < index->frame_entries && i < max; i++)
            tags[i] = index->recent[i];
        return index->frame_entries;
    }
    size_t found = 0;
    fi_cursor_t c;
    if (index->resume_valid && index->resume_frame <= frame)
        c = index->resume;
    else
        cursor_start(&c, index, first_chunk_of(index, frame));
    fi_cursor_t before = c;
    while (cursor_next(&c)) {
        if (c.frame < frame) {
            before = c;
            continue;
        }
        if (c.frame > frame)
            break;
        if (found < max)
            tags[found] = c.tag;
        found++;
    }
    index->resume = before;
    index->resume_frame = frame;
    index->resume_valid = true;
    return found;
}

size_t mtls_frame_index_count(const mtls_frame_index_t *index)
{
    return index ? index->entries : 0;
}

size_t mtls_frame_index_bytes(const mtls_frame_index_t *index)
{
    if (!index)
        return 0;
    return sizeof(*index) + index->chunk_slots * sizeof(*index->chunks) + index->chunk_bytes;
}

/* ------------------------------------------------------------------ texts -- */

/* Open addressing on the texts' ids (0 = empty slot), at most half full. */
struct mtls_texts {
    char **texts; /* by id - 1 */
    uint32_t count, capacity;
    uint32_t *slots;
    uint32_t slot_count; /* a power of two, or 0 before the first text */
};

#define TEXTS_MAX 0x40000000u /* ids stay far from the slot arithmetic's limits */

static uint32_t text_hash(const char *text)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        hash = (hash ^ *c) * 16777619u;
    return hash;
}

mtls_texts_t *mtls_texts_new(void)
{
    return calloc(1, sizeof(mtls_texts_t));
}

void mtls_texts_free(mtls_texts_t *texts)
{
    if (!texts)
        return;
    for (uint32_t i = 0; i < texts->count; i++)
        free(texts->texts[i]);
    free(texts->texts);
    free(texts->slots);
    free(texts);
}

/* The slot that holds `text`, or the empty slot where it would go. */
static uint32_t *text_slot(const mtls_texts_t *texts, const char *text, uint32_t hash)
{
    uint32_t mask = texts->slot_count - 1;
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t id = texts->slots[i];
        if (id == 0 || strcmp(texts->texts[id - 1], text) == 0)
            return &texts->slots[i];
    }
}

static bool texts_grow(mtls_texts_t *texts)
{
    if (texts->count == texts->capacity) {
        uint32_t capacity = texts->capacity ? texts->capacity * 2 : 8;
        char **grown = realloc(texts->texts, capacity * sizeof(*grown));
        if (!grown)
            return false;
        texts->texts = grown;
        texts->capacity = capacity;
    }
    if (2 * (texts->count + 1) <= texts->slot_count)
        return true;
    uint32_t slot_count = texts->slot_count ? texts->slot_count * 2 : 16;
    uint32_t *slots = calloc(slot_count, sizeof(*slots));
    if (!slots)
        return false;
    uint32_t *old = texts->slots;
    texts->slots = slots;
    texts->slot_count = slot_count;
    for (uint32_t id = 1; id <= texts->count; id++) {
        const char *text = texts->texts[id - 1];
        *text_slot(texts, text, text_hash(text)) = id;
    }
    free(old);
    return true;
}

uint32_t mtls_texts_id(mtls_texts_t *texts, const char *text)
{
    if (!texts || !text || !text[0])
        return 0;
    uint32_t hash = text_hash(text);
    if (texts->slot_count) {
        uint32_t id = *text_slot(texts, text, hash);
        if (id)
            return id;
    }
    if (texts->count >= TEXTS_MAX || !texts_grow(texts))
        return 0;
    size_t length = strlen(text) + 1;
    char *copy = malloc(length);
    if (!copy)
        return 0;
    memcpy(copy, text, length);
    texts->texts[texts->count++] = copy;
    *text_slot(texts, text, hash) = texts->count;
    return texts->count;
}

const char *mtls_texts_get(const mtls_texts_t *texts, uint32_t id)
{
    return texts && id >= 1 && id <= texts->count ? texts->texts[id - 1] : NULL;
}

uint32_t mtls_texts_count(const mtls_texts_t *texts)
{
    return texts ? texts->count : 0;
}
