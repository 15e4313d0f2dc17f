/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of the chunked table and the compact frame index
 * (plugin/mtls_index.[ch]).
 *
 * The frame index is checked against a naive reference (a plain array of
 * pairs, searched linearly) on a large random sequence, and on the shapes that
 * stress its encoding: one frame spread over many chunks, 0 and UINT32_MAX,
 * 5-byte varints. No framework: a table of test functions, the CHECK macro, and
 * a final "N passed, M failed" line; the exit status is non-zero when M > 0.
 */
#include "mtls_index.h"
#include "unit_check.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers -- */

/* xorshift32: fixed seeds, so a failure replays the same way. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static bool all_zero(const unsigned char *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (bytes[i])
            return false;
    }
    return true;
}

typedef struct {
    uint32_t frame;
    uint32_t tag;
} pair_t;

/* The naive reference: every distinct pair in order, and the frame's tags by a
 * linear walk from a hint (frames are sorted). */
typedef struct {
    pair_t *pairs;
    size_t count;
} reference_t;

static bool reference_has(const reference_t *ref, uint32_t frame, uint32_t tag)
{
    for (size_t i = ref->count; i > 0 && ref->pairs[i - 1].frame == frame; i--) {
        if (ref->pairs[i - 1].tag == tag)
            return true;
    }
    return false;
}

/* Adds to both; the reference drops duplicates the way the index must. */
static void add_both(mtls_frame_index_t *index, reference_t *ref, uint32_t frame, uint32_t tag)
{
    CHECK(mtls_frame_index_add(index, frame, tag));
    if (!reference_has(ref, frame, tag))
        ref->pairs[ref->count++] = (pair_t){frame, tag};
}

/* Every frame of the reference, and the gaps between them, looked up in the index. */
static void compare_with_reference(mtls_frame_index_t *index, const reference_t *ref)
{
    enum { MAX_TAGS = 4096 };
    static uint32_t tags[MAX_TAGS];
    unsigned mismatches = 0;
    CHECK(mtls_frame_index_count(index) == ref->count);
    for (size_t i = 0; i < ref->count;) {
        uint32_t frame = ref->pairs[i].frame;
        size_t j = i;
        while (j < ref->count && ref->pairs[j].frame == frame)
            j++;
        size_t n = mtls_frame_index_lookup(index, frame, tags, MAX_TAGS);
        bool same = n == j - i;
        for (size_t k = 0; same && k < n && k < MAX_TAGS; k++)
            same = tags[k] == ref->pairs[i + k].tag;
        if (!same && mismatches++ < 5)
            fprintf(stderr, "  frame %u: index has %zu tags, reference %zu\n", frame, n, j - i);
        /* A frame just before this one that has no entry. */
        if (frame > 0 && (i == 0 || ref->pairs[i - 1].frame < frame - 1)) {
            if (mtls_frame_index_lookup(index, frame - 1, tags, MAX_TAGS) != 0 && mismatches++ < 5)
                fprintf(stderr, "  frame %u has tags in the index only\n", frame - 1);
        }
        i = j;
    }
    CHECK(mismatches == 0);
}

/* ------------------------------------------------------------------ table -- */

typedef struct {
    uint32_t id;
    unsigned char payload[60];
} element_t;

static void table_get_before_slot_is_null(void)
{
    mtls_table_t *table = mtls_table_new(sizeof(element_t));
    REQUIRE(table != NULL);
    CHECK(mtls_table_get(table, 0) == NULL);
    CHECK(mtls_table_get(table, 12345) == NULL);
    CHECK(mtls_table_length(table) == 0);
    /* Slot 300 creates only the second chunk: the first stays absent. */
    CHECK(mtls_table_slot(table, 300) != NULL);
    CHECK(mtls_table_get(table, 0) == NULL);
    CHECK(mtls_table_get(table, 255) == NULL);
    CHECK(mtls_table_get(table, 256) != NULL); /* same chunk as 300, zeroed */
    CHECK(mtls_table_get(table, 512) == NULL);
    CHECK(mtls_table_get(table, UINT32_MAX) == NULL);
    mtls_table_free(table);
    mtls_table_free(NULL);
    CHECK(mtls_table_new(0) == NULL);
    CHECK(mtls_table_new(SIZE_MAX) == NULL);
}

static void table_slot_is_zeroed_and_kept(void)
{
    mtls_table_t *table = mtls_table_new(sizeof(element_t));
    REQUIRE(table != NULL);
    element_t *e = mtls_table_slot(table, 7);
    REQUIRE(e != NULL);
    CHECK(all_zero((const unsigned char *)e, sizeof(*e)));
    e->id = 77;
    e->payload[59] = 1;
    CHECK(mtls_table_slot(table, 7) == e);
    CHECK(mtls_table_get(table, 7) == e);
    CHECK(e->id == 77 && e->payload[59] == 1);
    /* Neighbours in the same chunk are zero and distinct. */
    element_t *next = mtls_table_slot(table, 8);
    REQUIRE(next != NULL);
    CHECK((unsigned char *)next - (unsigned char *)e == (ptrdiff_t)sizeof(element_t));
    CHECK(all_zero((const unsigned char *)next, sizeof(*next)));
    mtls_table_free(table);
}

static void table_pointers_stay_put_while_it_grows(void)
{
    enum { COUNT = 40 * MTLS_TABLE_CHUNK_ELEMENTS + 3 };
    mtls_table_t *table = mtls_table_new(sizeof(element_t));
    REQUIRE(table != NULL);
    static element_t *seen[COUNT];
    for (uint32_t i = 0; i < COUNT; i++) {
        seen[i] = mtls_table_slot(table, i);
        REQUIRE(seen[i] != NULL);
        CHECK(seen[i]->id == 0);
        seen[i]->id = i + 1;
    }
    unsigned moved = 0;
    for (uint32_t i = 0; i < COUNT; i++) {
        if (mtls_table_get(table, i) != seen[i] || seen[i]->id != i + 1)
            moved++;
    }
    CHECK(moved == 0);
    CHECK(mtls_table_length(table) == COUNT);
    /* 41 chunks, no slack on the elements: only the pointer array (64 slots) and
     * the table itself on top. */
    size_t elements = 41 * MTLS_TABLE_CHUNK_ELEMENTS * sizeof(element_t);
    CHECK(mtls_table_bytes(table) >= elements);
    CHECK(mtls_table_bytes(table) <= elements + 64 * sizeof(void *) + 128);
    printf("     table: %u elements of %zu bytes hold %zu bytes\n", (unsigned)COUNT,
           sizeof(element_t), mtls_table_bytes(table));
    mtls_table_free(table);
}

static void table_index_limit_and_length(void)
{
    mtls_table_t *table = mtls_table_new(1);
    REQUIRE(table != NULL);
    CHECK(mtls_table_slot(table, MTLS_TABLE_MAX_INDEX) == NULL);
    CHECK(mtls_table_slot(table, UINT32_MAX) == NULL);
    CHECK(mtls_table_length(table) == 0);
    size_t empty = mtls_table_bytes(table);

    unsigned char *last = mtls_table_slot(table, MTLS_TABLE_MAX_INDEX - 1);
    REQUIRE(last != NULL);
    CHECK(*last == 0);
    CHECK(mtls_table_length(table) == MTLS_TABLE_MAX_INDEX);
    /* Sparse: one chunk, however far the index. */
    CHECK(mtls_table_bytes(table) - empty <=
          MTLS_TABLE_CHUNK_ELEMENTS +
              (MTLS_TABLE_MAX_INDEX / MTLS_TABLE_CHUNK_ELEMENTS) * sizeof(void *));
    CHECK(mtls_table_slot(table, 3) != NULL);
    CHECK(mtls_table_length(table) == MTLS_TABLE_MAX_INDEX); /* the highest, not the last */
    mtls_table_free(table);

    table = mtls_table_new(4);
    REQUIRE(table != NULL);
    CHECK(mtls_table_slot(table, 0) != NULL);
    CHECK(mtls_table_length(table) == 1);
    CHECK(mtls_table_slot(table, 255) != NULL);
    CHECK(mtls_table_length(table) == 256);
    CHECK(mtls_table_slot(table, 256) != NULL);
    CHECK(mtls_table_length(table) == 257);
    mtls_table_free(table);
}

/* ------------------------------------------------------------ frame index -- */

static void frame_index_empty(void)
{
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    uint32_t tags[4] = {9, 9, 9, 9};
    CHECK(mtls_frame_index_lookup(index, 0, tags, 4) == 0);
    CHECK(mtls_frame_index_lookup(index, 1, tags, 4) == 0);
    CHECK(mtls_frame_index_lookup(index, UINT32_MAX, tags, 4) == 0);
    CHECK(tags[0] == 9);
    CHECK(mtls_frame_index_count(index) == 0);
    CHECK(mtls_frame_index_bytes(index) > 0);
    mtls_frame_index_free(index);
    mtls_frame_index_free(NULL);
}

static void frame_index_several_tags_per_frame(void)
{
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    CHECK(mtls_frame_index_add(index, 3, 10));
    CHECK(mtls_frame_index_add(index, 3, 2));
    CHECK(mtls_frame_index_add(index, 3, 7));
    CHECK(mtls_frame_index_add(index, 5, 2));
    CHECK(mtls_frame_index_add(index, 9, 11));
    CHECK(mtls_frame_index_add(index, 9, 10));
    uint32_t tags[8];
    REQUIRE(mtls_frame_index_lookup(index, 3, tags, 8) == 3);
    CHECK(tags[0] == 10 && tags[1] == 2 && tags[2] == 7); /* order added */
    REQUIRE(mtls_frame_index_lookup(index, 5, tags, 8) == 1);
    CHECK(tags[0] == 2);
    REQUIRE(mtls_frame_index_lookup(index, 9, tags, 8) == 2);
    CHECK(tags[0] == 11 && tags[1] == 10);
    CHECK(mtls_frame_index_lookup(index, 4, tags, 8) == 0);
    CHECK(mtls_frame_index_lookup(index, 2, tags, 8) == 0);
    CHECK(mtls_frame_index_lookup(index, 10, tags, 8) == 0);
    CHECK(mtls_frame_index_count(index) == 6);
    mtls_frame_index_free(index);
}

static void frame_index_duplicate_pair_is_ignored(void)
{
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    CHECK(mtls_frame_index_add(index, 4, 1));
    CHECK(mtls_frame_index_add(index, 4, 2));
    CHECK(mtls_frame_index_add(index, 4, 1));
    CHECK(mtls_frame_index_add(index, 4, 2));
    CHECK(mtls_frame_index_count(index) == 2);
    /* Same tag on a later frame is a new pair. */
    CHECK(mtls_frame_index_add(index, 5, 1));
    CHECK(mtls_frame_index_count(index) == 3);
    /* Past the tags kept in memory: 40 tags on one frame, each added three times. */
    for (int round = 0; round < 3; round++) {
        for (uint32_t t = 100; t < 140; t++)
            CHECK(mtls_frame_index_add(index, 6, t));
    }
    CHECK(mtls_frame_index_count(index) == 43);
    uint32_t tags[64];
    REQUIRE(mtls_frame_index_lookup(index, 6, tags, 64) == 40);
    for (uint32_t t = 0; t < 40; t++)
        CHECK(tags[t] == 100 + t);
    REQUIRE(mtls_frame_index_lookup(index, 4, tags, 64) == 2);
    CHECK(tags[0] == 1 && tags[1] == 2);
    mtls_frame_index_free(index);
}

static void frame_index_refuses_out_of_order(void)
{
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    CHECK(mtls_frame_index_add(index, 10, 1));
    size_t bytes = mtls_frame_index_bytes(index);
    CHECK(!mtls_frame_index_add(index, 9, 2));
    CHECK(!mtls_frame_index_add(index, 0, 1));
    CHECK(mtls_frame_index_count(index) == 1);
    CHECK(mtls_frame_index_bytes(index) == bytes);
    uint32_t tags[4];
    CHECK(mtls_frame_index_lookup(index, 9, tags, 4) == 0);
    /* Equal is in order. */
    CHECK(mtls_frame_index_add(index, 10, 2));
    REQUIRE(mtls_frame_index_lookup(index, 10, tags, 4) == 2);
    CHECK(tags[0] == 1 && tags[1] == 2);
    mtls_frame_index_free(index);
}

/* One frame with thousands of tags runs across many chunks, and the chunk found
 * by bisection starts after the frame's first entries. */
static void frame_index_frame_spanning_chunks(void)
{
    enum { MANY = 3000 };
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    for (uint32_t f = 1; f <= 50; f++)
        CHECK(mtls_frame_index_add(index, f, f));
    uint32_t state = 7;
    static uint32_t added[MANY];
    for (uint32_t i = 0; i < MANY; i++) {
        /* Distinct tags with big jumps: 5-byte entries, chunks fill fast. */
        added[i] = (next_random(&state) & 0xfffff000u) | i;
        CHECK(mtls_frame_index_add(index, 51, added[i]));
    }
    CHECK(mtls_frame_index_add(index, 52, 1));
    CHECK(mtls_frame_index_add(index, 52, 2));
    static uint32_t tags[MANY + 10];
    REQUIRE(mtls_frame_index_lookup(index, 51, tags, MANY + 10) == MANY);
    unsigned wrong = 0;
    for (uint32_t i = 0; i < MANY; i++)
        wrong += tags[i] != added[i];
    CHECK(wrong == 0);
    REQUIRE(mtls_frame_index_lookup(index, 52, tags, 4) == 2);
    CHECK(tags[0] == 1 && tags[1] == 2);
    REQUIRE(mtls_frame_index_lookup(index, 50, tags, 4) == 1);
    CHECK(tags[0] == 50);
    CHECK(mtls_frame_index_count(index) == 50 + MANY + 2);
    mtls_frame_index_free(index);
}

static void frame_index_matches_naive_reference(void)
{
    enum { COUNT = 200000 };
    reference_t ref = {malloc(COUNT * sizeof(pair_t)), 0};
    REQUIRE(ref.pairs != NULL);
    mtls_frame_index_t *index = mtls_frame_index_new();
    if (!index) {
        free(ref.pairs);
        REQUIRE(index != NULL);
    }
    uint32_t state = 2463534242u;
    uint32_t frame = 1, tag = 1000;
    for (uint32_t i = 0; i < COUNT; i++) {
        uint32_t r = next_random(&state);
        /* Mostly small steps, sometimes a big one, sometimes a long same-frame run. */
        switch (r % 16) {
        case 0: break;
        case 1: frame += 1 + (r >> 20); break;
        case 2: tag = next_random(&state); break;
        default: frame += (r >> 4) % 3; break;
        }
        uint32_t step = next_random(&state);
        tag += (step % 4001) - 2000; /* modulo 2^32, may cross 0 */
        /* A repeated pair now and then. */
        uint32_t t = (step >> 24) == 0 && ref.count > 0 && ref.pairs[ref.count - 1].frame == frame
                         ? ref.pairs[ref.count - 1].tag
                         : tag;
        add_both(index, &ref, frame, t);
    }
    compare_with_reference(index, &ref);
    printf("     reference: %zu entries over frames 1..%u, %.2f bytes/entry\n", ref.count, frame,
           (double)mtls_frame_index_bytes(index) / (double)ref.count);
    mtls_frame_index_free(index);
    free(ref.pairs);
}

/* Lookups out of order (backwards, random) and lookups between adds: the index
 * remembers where it last read, and must not trust that after a jump back or
 * after an add. */
/* Whether the index gives the frame of the reference's pair k all its tags, in order. */
static bool lookup_matches_reference(mtls_frame_index_t *index, const reference_t *ref, size_t k)
{
    enum { MAX_TAGS = 64 };
    uint32_t tags[MAX_TAGS];
    uint32_t wanted = ref->pairs[k].frame;
    size_t first = k, expected = 0;
    while (first > 0 && ref->pairs[first - 1].frame == wanted)
        first--;
    while (first + expected < ref->count && ref->pairs[first + expected].frame == wanted)
        expected++;
    size_t n = mtls_frame_index_lookup(index, wanted, tags, MAX_TAGS);
    bool same = n == expected;
    for (size_t j = 0; same && j < n && j < MAX_TAGS; j++)
        same = tags[j] == ref->pairs[first + j].tag;
    return same;
}

static void frame_index_lookups_in_any_order(void)
{
    enum { COUNT = 20000 };
    reference_t ref = {malloc(COUNT * sizeof(pair_t)), 0};
    REQUIRE(ref.pairs != NULL);
    mtls_frame_index_t *index = mtls_frame_index_new();
    if (!index) {
        free(ref.pairs);
        REQUIRE(index != NULL);
    }
    uint32_t state = 88172645u, frame = 1, tag = 500;
    unsigned mismatches = 0;
    for (uint32_t i = 0; i < COUNT; i++) {
        uint32_t r = next_random(&state);
        frame += r % 3;
        tag += (r >> 8) % 101 - 50;
        add_both(index, &ref, frame, tag);
        /* Now and then, look up an earlier frame while still adding. */
        if (r % 7 == 0 && !lookup_matches_reference(index, &ref, next_random(&state) % ref.count))
            mismatches++;
    }
    /* Backwards over every frame, then forwards. */
    for (size_t step = 0; step < 2 * ref.count; step++) {
        size_t k = step < ref.count ? ref.count - 1 - step : step - ref.count;
        if (!lookup_matches_reference(index, &ref, k))
            mismatches++;
    }
    CHECK(mismatches == 0);
    mtls_frame_index_free(index);
    free(ref.pairs);
}

static void frame_index_extreme_values(void)
{
    enum { COUNT = 64 };
    reference_t ref = {malloc(COUNT * sizeof(pair_t)), 0};
    REQUIRE(ref.pairs != NULL);
    mtls_frame_index_t *index = mtls_frame_index_new();
    if (!index) {
        free(ref.pairs);
        REQUIRE(index != NULL);
    }
    add_both(index, &ref, 0, 0);
    add_both(index, &ref, 0, UINT32_MAX);
    add_both(index, &ref, 0, 1);
    add_both(index, &ref, 0, 0x80000000u);
    add_both(index, &ref, 1, 0x7fffffffu);
    add_both(index, &ref, 2, 0x80000000u);
    add_both(index, &ref, 3, 0);
    add_both(index, &ref, 6, UINT32_MAX); /* frame delta 3: the first to need a second varint */
    add_both(index, &ref, 0x7fffffffu, 5);
    add_both(index, &ref, 0x80000004u, UINT32_MAX - 1);
    add_both(index, &ref, UINT32_MAX - 1, 0);
    add_both(index, &ref, UINT32_MAX, 0);
    add_both(index, &ref, UINT32_MAX, UINT32_MAX);
    add_both(index, &ref, UINT32_MAX, 0x55555555u);
    add_both(index, &ref, UINT32_MAX, 0);          /* duplicate */
    add_both(index, &ref, UINT32_MAX, UINT32_MAX); /* duplicate */
    CHECK(ref.count == 14);
    compare_with_reference(index, &ref);
    uint32_t tags[8];
    REQUIRE(mtls_frame_index_lookup(index, 0, tags, 8) == 4);
    CHECK(tags[0] == 0 && tags[1] == UINT32_MAX && tags[2] == 1 && tags[3] == 0x80000000u);
    REQUIRE(mtls_frame_index_lookup(index, UINT32_MAX, tags, 8) == 3);
    CHECK(tags[0] == 0 && tags[1] == UINT32_MAX && tags[2] == 0x55555555u);
    CHECK(mtls_frame_index_lookup(index, 4, tags, 8) == 0);
    CHECK(mtls_frame_index_lookup(index, UINT32_MAX - 2, tags, 8) == 0);
    CHECK(!mtls_frame_index_add(index, UINT32_MAX - 1, 1));
    mtls_frame_index_free(index);

    /* Only 5-byte entries: every chunk ends with an entry that did not fit. */
    index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t f = i * 4000000u; /* jumps of 2^22 and more */
        CHECK(mtls_frame_index_add(index, f, (i & 1) ? UINT32_MAX - i : i));
    }
    unsigned wrong = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t f = i * 4000000u;
        if (mtls_frame_index_lookup(index, f, tags, 8) != 1 ||
            tags[0] != ((i & 1) ? UINT32_MAX - i : i))
            wrong++;
        if (mtls_frame_index_lookup(index, f + 1, tags, 8) != 0)
            wrong++;
    }
    CHECK(wrong == 0);
    mtls_frame_index_free(index);
    free(ref.pairs);
}

static void frame_index_lookup_with_small_max(void)
{
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    for (uint32_t t = 1; t <= 5; t++)
        CHECK(mtls_frame_index_add(index, 8, t * 100));
    /* tags[2] is past max: it must stay untouched. */
    uint32_t tags[3] = {0, 0, 0xdeadbeef};
    CHECK(mtls_frame_index_lookup(index, 8, tags, 2) == 5);
    CHECK(tags[0] == 100 && tags[1] == 200 && tags[2] == 0xdeadbeef);
    CHECK(mtls_frame_index_lookup(index, 8, NULL, 0) == 5);
    CHECK(mtls_frame_index_lookup(index, 7, NULL, 0) == 0);
    mtls_frame_index_free(index);
}

/* The plugin's shape: frames 1..N, about one exchange per frame, many
 * connections interleaved so consecutive tags jump by up to ~2000. */
static void frame_index_interleaved_under_4_bytes_per_entry(void)
{
    enum { FRAMES = 1000000 };
    mtls_frame_index_t *index = mtls_frame_index_new();
    REQUIRE(index != NULL);
    uint32_t state = 12345;
    uint32_t newest = 2000;
    for (uint32_t f = 1; f <= FRAMES; f++) {
        uint32_t r = next_random(&state);
        if (r % 50 == 0)
            newest++; /* a new exchange now and then */
        uint32_t tag = newest - (r >> 8) % 2000;
        if (!mtls_frame_index_add(index, f, tag)) {
            CHECK(false);
            break;
        }
        /* Some frames show two exchanges. */
        if (r % 10 == 0)
            CHECK(mtls_frame_index_add(index, f, tag + 1 + (r >> 24)));
    }
    size_t entries = mtls_frame_index_count(index);
    double per_entry = (double)mtls_frame_index_bytes(index) / (double)entries;
    printf("     interleaved: %zu entries, %zu bytes, %.2f bytes/entry\n", entries,
           mtls_frame_index_bytes(index), per_entry);
    CHECK(per_entry < 4.0);
    /* Spot checks at the far end. */
    uint32_t tags[4];
    CHECK(mtls_frame_index_lookup(index, FRAMES, tags, 4) >= 1);
    CHECK(mtls_frame_index_lookup(index, FRAMES + 1, tags, 4) == 0);
    mtls_frame_index_free(index);
}

/* ------------------------------------------------------------------ texts -- */

static void texts_are_kept_once_by_id(void)
{
    mtls_texts_t *texts = mtls_texts_new();
    REQUIRE(texts != NULL);
    CHECK(mtls_texts_id(texts, NULL) == 0 && mtls_texts_id(texts, "") == 0);
    CHECK(mtls_texts_get(texts, 0) == NULL && mtls_texts_get(texts, 1) == NULL);
    char name[32];
    snprintf(name, sizeof(name), "%s", "mail.example");
    uint32_t id = mtls_texts_id(texts, name);
    CHECK(id == 1);
    name[0] = 'M'; /* copied: the caller's buffer may change */
    CHECK(strcmp(mtls_texts_get(texts, id), "mail.example") == 0);
    CHECK(mtls_texts_id(texts, "mail.example") == id);
    CHECK(mtls_texts_id(texts, "Mail.example") == 2);
    CHECK(mtls_texts_count(texts) == 2 && mtls_texts_get(texts, 3) == NULL);
    CHECK(mtls_texts_get(NULL, 1) == NULL && mtls_texts_id(NULL, "x") == 0 &&
          mtls_texts_count(NULL) == 0);
    mtls_texts_free(texts);
    mtls_texts_free(NULL);
}

/* Through many growths of both arrays, every text keeps its id and its copy. */
static void texts_keep_ids_while_growing(void)
{
    enum { N = 5000 };
    mtls_texts_t *texts = mtls_texts_new();
    REQUIRE(texts != NULL);
    static const char *first[N];
    char text[32];
    bool ids_in_order = true;
    for (uint32_t i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "server-%u.example", i);
        ids_in_order = ids_in_order && mtls_texts_id(texts, text) == i + 1;
        first[i] = mtls_texts_get(texts, i + 1);
    }
    CHECK(ids_in_order);
    bool same = true;
    for (uint32_t i = 0; i < N; i++) {
        snprintf(text, sizeof(text), "server-%u.example", i);
        same = same && mtls_texts_id(texts, text) == i + 1 &&
               mtls_texts_get(texts, i + 1) == first[i] && strcmp(first[i], text) == 0;
    }
    CHECK(same);
    CHECK(mtls_texts_count(texts) == N);
    mtls_texts_free(texts);
}

/* ------------------------------------------------------------------ main -- */

static const unit_test_t tests[] = {
    UNIT_TEST(table_get_before_slot_is_null),
    UNIT_TEST(table_slot_is_zeroed_and_kept),
    UNIT_TEST(table_pointers_stay_put_while_it_grows),
    UNIT_TEST(table_index_limit_and_length),
    UNIT_TEST(frame_index_empty),
    UNIT_TEST(frame_index_several_tags_per_frame),
    UNIT_TEST(frame_index_duplicate_pair_is_ignored),
    UNIT_TEST(frame_index_refuses_out_of_order),
    UNIT_TEST(frame_index_frame_spanning_chunks),
    UNIT_TEST(frame_index_matches_naive_reference),
    UNIT_TEST(frame_index_lookups_in_any_order),
    UNIT_TEST(frame_index_extreme_values),
    UNIT_TEST(frame_index_lookup_with_small_max),
    UNIT_TEST(frame_index_interleaved_under_4_bytes_per_entry),
    UNIT_TEST(texts_are_kept_once_by_id),
    UNIT_TEST(texts_keep_ids_while_growing),
};

int main(void)
{
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
