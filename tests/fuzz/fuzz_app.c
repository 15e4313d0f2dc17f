/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the application-answer reader (plugin/app/mtls_app.h):
 * protocol recognition, the HTTP, SMTP, IMAP, POP3, LDAP, MySQL, PostgreSQL and
 * MQTT readers.
 *
 * Input: one chunking byte, the server port (2 bytes, big-endian), then turns:
 * a direction byte (bit 0x80: from the server), a length (2 bytes, big-endian)
 * and that many bytes of decrypted application data (fewer at the input's end).
 * The turns are fed twice: each in one call to one reader; then in chunks to
 * another. Chunking byte 0 feeds one byte per call; otherwise chunks alternate
 * between 1 + (byte & 0x0f) and 1 + 3 * (byte >> 4) bytes, with an empty call
 * (NULL data) after each chunk when bits 0x88 are both set. Both readers must
 * give the same decisive answer, or none, and the same first answer: the
 * reader takes chunks of any size. Every reply is NUL-terminated printable
 * ASCII. Then the first reader is restarted and fed the turns again (the
 * renegotiation path), and so is a reader made from its memo, which must read
 * them alike. Seeds: the decrypted application data of the sample
 * captures' connections, and a transcript per protocol
 * (tests/fuzz/make_corpus.py).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_app.h"

#define MAX_TURNS 256

typedef struct {
    bool from_server;
    const uint8_t *bytes;
    size_t length;
} turn_t;

typedef struct {
    int decisive;
    mtls_app_answer_t answer;
} result_t;

static void check_answer(const mtls_app_answer_t *answer)
{
    FUZZ_CHECK(answer->protocol > MTLS_APP_UNKNOWN && answer->protocol < MTLS_APP_PROTOCOL_COUNT);
    FUZZ_CHECK(memchr(answer->reply, '\0', sizeof(answer->reply)) != NULL);
    for (const char *c = answer->reply; *c; c++)
        FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e);
    fuzz_touch_string(answer->reply);
}

/* One call, and what the reader promises of it. */
static void feed(mtls_app_reader_t *reader, bool from_server, const uint8_t *data, size_t length,
                 result_t *result)
{
    bool wanted = mtls_app_reader_wants_data(reader);
    size_t memory = mtls_app_reader_memory(reader);
    mtls_app_answer_t answer;
    memset(&answer, 0, sizeof(answer));
    bool decisive = mtls_app_reader_feed(reader, from_server, data, length, &answer);
    FUZZ_CHECK(mtls_app_reader_memory(reader) == memory); /* fixed memory */
    if (!decisive)
        return;
    FUZZ_CHECK(wanted && length > 0);
    FUZZ_CHECK(!mtls_app_reader_wants_data(reader));
    check_answer(&answer);
    result->decisive++;
    result->answer = answer;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size, 0};
    uint8_t chunking = fuzz_u8(&in);
    uint16_t port = fuzz_u16(&in);
    turn_t turns[MAX_TURNS];
    size_t count = 0;
    while (fuzz_left(&in) > 0 && count < MAX_TURNS) {
        uint8_t direction = fuzz_u8(&in);
        size_t length = fuzz_u16(&in), taken;
        const uint8_t *bytes = fuzz_bytes(&in, length, &taken);
        turns[count++] = (turn_t){(direction & 0x80) != 0, bytes, taken};
    }

    mtls_app_reader_t *whole_reader = mtls_app_reader_new(port);
    mtls_app_reader_t *reader = mtls_app_reader_new(port);
    if (!whole_reader || !reader) {
        mtls_app_reader_free(whole_reader);
        mtls_app_reader_free(reader);
        return 0;
    }
    result_t whole = {0}, chunked = {0};
    for (size_t t = 0; t < count; t++)
        feed(whole_reader, turns[t].from_server, turns[t].bytes, turns[t].length, &whole);

    size_t sizes[2] = {1, 1};
    if (chunking != 0) {
        sizes[0] = 1 + (chunking & 0x0fu);
        sizes[1] = 1 + 3 * (size_t)(chunking >> 4);
    }
    bool empty_calls = (chunking & 0x88) == 0x88;
    size_t turn_of_chunk = 0;
    for (size_t t = 0; t < count; t++) {
        for (size_t offset = 0; offset < turns[t].length; turn_of_chunk++) {
            size_t chunk = sizes[turn_of_chunk & 1];
            if (chunk > turns[t].length - offset)
                chunk = turns[t].length - offset;
            feed(reader, turns[t].from_server, turns[t].bytes + offset, chunk, &chunked);
            offset += chunk;
            if (empty_calls)
                feed(reader, turns[t].from_server, NULL, 0, &chunked);
        }
    }

    FUZZ_CHECK(whole.decisive <= 1 && chunked.decisive <= 1);
    FUZZ_CHECK(whole.decisive == chunked.decisive);
    if (whole.decisive) {
        FUZZ_CHECK(whole.answer.protocol == chunked.answer.protocol);
        FUZZ_CHECK(whole.answer.has_status == chunked.answer.has_status);
        FUZZ_CHECK(whole.answer.status == chunked.answer.status);
        FUZZ_CHECK(whole.answer.refused == chunked.answer.refused);
        FUZZ_CHECK(strcmp(whole.answer.reply, chunked.answer.reply) == 0);
    }
    FUZZ_CHECK(mtls_app_reader_wants_data(whole_reader) == mtls_app_reader_wants_data(reader));
    mtls_app_answer_t first_whole, first_chunked;
    bool has_first = mtls_app_reader_first_answer(whole_reader, &first_whole);
    FUZZ_CHECK(has_first == mtls_app_reader_first_answer(reader, &first_chunked));
    if (has_first) {
        FUZZ_CHECK(!whole.decisive);
        check_answer(&first_whole);
        FUZZ_CHECK(!first_whole.refused);
        FUZZ_CHECK(strcmp(first_whole.reply, first_chunked.reply) == 0);
    }

    /* After the answer, or after giving up, nothing more is read. */
    if (!mtls_app_reader_wants_data(whole_reader) && count > 0) {
        result_t after = {0};
        feed(whole_reader, turns[0].from_server, turns[0].bytes, turns[0].length, &after);
        FUZZ_CHECK(after.decisive == 0);
    }

    /* A renegotiation: start over, read the same bytes again; a reader made
     * from the memo (the glue frees readers that answered) reads them alike. */
    mtls_app_reader_t *from_memo =
        mtls_app_reader_from_memo(port, mtls_app_reader_memo(whole_reader));
    mtls_app_reader_restart(whole_reader);
    result_t again = {0}, again_memo = {0};
    for (size_t t = 0; t < count; t++)
        feed(whole_reader, turns[t].from_server, turns[t].bytes, turns[t].length, &again);
    FUZZ_CHECK(again.decisive <= 1);
    if (from_memo) {
        for (size_t t = 0; t < count; t++)
            feed(from_memo, turns[t].from_server, turns[t].bytes, turns[t].length, &again_memo);
        FUZZ_CHECK(again_memo.decisive == again.decisive);
        if (again.decisive)
            FUZZ_CHECK(strcmp(again.answer.reply, again_memo.answer.reply) == 0 &&
                       again.answer.status == again_memo.answer.status &&
                       again.answer.refused == again_memo.answer.refused);
        FUZZ_CHECK(mtls_app_reader_wants_data(from_memo) ==
                   mtls_app_reader_wants_data(whole_reader));
    }

    mtls_app_reader_free(from_memo);
    mtls_app_reader_free(whole_reader);
    mtls_app_reader_free(reader);
    return 0;
}
