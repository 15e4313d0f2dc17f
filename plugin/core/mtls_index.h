/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Two compact containers for the plugin's per-capture state. Plain C, no
 * Wireshark, no GLib.
 *
 * mtls_table_t: fixed-size zeroed elements indexed by uint32, allocated in
 * chunks of MTLS_TABLE_CHUNK_ELEMENTS. Elements never move, so callers may keep
 * pointers to them, and there is no doubling slack on the elements themselves
 * (a GArray of large entries wastes up to half its size).
 *
 * mtls_frame_index_t: an append-only multimap frame number -> tag, filled in
 * frame order during the first pass and read on every visited frame. Entries
 * are delta-coded varints in small chunks: about 2 bytes per entry when
 * consecutive frames differ by 0..2 and consecutive tags by less than ~2000.
 *
 * mtls_texts_t: texts many connections share (server names, application
 * replies), each copied once and named by a 32-bit id until the set is freed.
 */
#ifndef MTLS_INDEX_H
#define MTLS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ table -- */

#define MTLS_TABLE_CHUNK_ELEMENTS 256u
/* Bounds the chunk pointer array (1 Mi pointers) whatever index a caller passes. */
#define MTLS_TABLE_MAX_INDEX (1u << 28)

typedef struct mtls_table mtls_table_t;
/* Its fields are here only so that mtls_table_get() can be inlined (it runs
 * several times a packet): use the functions. */
struct mtls_table {
    size_t element_size;
    size_t chunk_size; /* element_size * MTLS_TABLE_CHUNK_ELEMENTS */
    unsigned char **chunks;
    uint32_t chunk_slots; /* length of chunks[], NULL where never created */
    uint32_t chunks_made;
    uint32_t length;
};

/* NULL on OOM or when element_size is 0 (or too large for a chunk). */
mtls_table_t *mtls_table_new(size_t element_size);
/* NULL is fine. */
void mtls_table_free(mtls_table_t *table);
/* The element at index, or NULL when its chunk was never created. */
static inline void *mtls_table_get(const mtls_table_t *table, uint32_t index)
{
    if (!table || index >= MTLS_TABLE_MAX_INDEX)
        return NULL;
    uint32_t chunk = index / MTLS_TABLE_CHUNK_ELEMENTS;
    if (chunk >= table->chunk_slots || !table->chunks[chunk])
        return NULL;
    return table->chunks[chunk] + (size_t)(index % MTLS_TABLE_CHUNK_ELEMENTS) * table->element_size;
}
/* The element at index, creating its chunk (zeroed) if needed; NULL on OOM or
 * index >= MTLS_TABLE_MAX_INDEX. */
void *mtls_table_slot(mtls_table_t *table, uint32_t index);
/* 1 + the highest index ever passed to mtls_table_slot (successfully), 0 if none. */
uint32_t mtls_table_length(const mtls_table_t *table);
/* Bytes the table holds (chunks + its chunk pointer array + itself), for benchmarks. */
size_t mtls_table_bytes(const mtls_table_t *table);

/* ------------------------------------------------------------ frame index -- */

typedef struct mtls_frame_index mtls_frame_index_t;

/* NULL on OOM. */
mtls_frame_index_t *mtls_frame_index_new(void);
/* NULL is fine. */
void mtls_frame_index_free(mtls_frame_index_t *index);
/* Adds (frame, tag). Returns false and adds nothing when frame is lower than
 * the last frame added (out of order), or on OOM. Adding a pair already present
 * for this same frame is a no-op that returns true: the index never holds a
 * pair twice, so lookup never returns duplicates. The check is O(1) for the
 * first 8 tags of a frame and a scan of the frame's entries beyond that. */
bool mtls_frame_index_add(mtls_frame_index_t *index, uint32_t frame, uint32_t tag);
/* Writes up to max tags of frame, in the order added, into tags (which may be
 * NULL when max is 0); returns how many the frame has (may be more than max).
 * Not const: it remembers where it read, so lookups in frame order are cheap. */
size_t mtls_frame_index_lookup(mtls_frame_index_t *index, uint32_t frame, uint32_t *tags,
                               size_t max);
/* Entries (distinct pairs) added. */
size_t mtls_frame_index_count(const mtls_frame_index_t *index);
/* Bytes held (chunks + chunk pointer array + itself), for benchmarks. */
size_t mtls_frame_index_bytes(const mtls_frame_index_t *index);

/* ------------------------------------------------------------------ texts -- */

typedef struct mtls_texts mtls_texts_t;

/* NULL on OOM. */
mtls_texts_t *mtls_texts_new(void);
/* NULL is fine. Every text it gave out goes with it. */
void mtls_texts_free(mtls_texts_t *texts);
/* The id of `text` (1, 2, ...), copied at its first call; 0 for NULL, "" or
 * on OOM. */
uint32_t mtls_texts_id(mtls_texts_t *texts, const char *text);
/* The text with this id, or NULL (0, unknown ids, NULL texts). */
const char *mtls_texts_get(const mtls_texts_t *texts, uint32_t id);
/* Distinct texts held. */
uint32_t mtls_texts_count(const mtls_texts_t *texts);

#endif /* MTLS_INDEX_H */
