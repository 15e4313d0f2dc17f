/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of the HTTP status reader (plugin/app/mtls_http.h).
 *
 * Input: one chunking byte, then the server's decrypted application data. The
 * data is fed twice: whole, in one call, to an all-zero reader; then in chunks
 * to a reader from mtls_http_reader_init(). Chunking byte 0 feeds one byte per
 * call; otherwise chunks alternate between 1 + (byte & 0x0f) and
 * 1 + 3 * (byte >> 4) bytes, with an empty call (NULL data) after each chunk
 * when bits 0x88 are both set. Both feeds must find the same status, or none:
 * the reader takes chunks of any size. Seeds: the first bytes the servers of
 * the sample captures answered (HTTP/1.1 and HTTP/2, tests/fuzz/make-corpus.sh).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_http.h"

typedef struct {
    bool found;
    uint16_t status;
    mtls_http_protocol_t protocol;
} answer_t;

/* One call, and what the reader promises of it. */
static void feed(mtls_http_reader_t *reader, const uint8_t *data, size_t length, answer_t *answer)
{
    uint16_t status = 0;
    mtls_http_protocol_t protocol = 0;
    bool wanted = mtls_http_reader_wants_data(reader);
    bool found = mtls_http_reader_feed(reader, data, length, &status, &protocol);
    FUZZ_CHECK(reader->buffered <= MTLS_HTTP_BUFFER_SIZE);
    FUZZ_CHECK(reader->frame_left <= reader->frame_length);
    if (!found)
        return;
    FUZZ_CHECK(!answer->found); /* true once */
    FUZZ_CHECK(wanted);
    FUZZ_CHECK(status >= 100 && status <= 999);
    FUZZ_CHECK(protocol == MTLS_HTTP_1 || protocol == MTLS_HTTP_2);
    FUZZ_CHECK(!mtls_http_reader_wants_data(reader));
    answer->found = true;
    answer->status = status;
    answer->protocol = protocol;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t chunking = data[0];
    const uint8_t *stream = data + 1;
    size_t length = size - 1;

    mtls_http_reader_t whole_reader;
    memset(&whole_reader, 0, sizeof(whole_reader));
    answer_t whole = {false, 0, 0};
    feed(&whole_reader, length ? stream : NULL, length, &whole);

    mtls_http_reader_t reader;
    mtls_http_reader_init(&reader);
    answer_t chunked = {false, 0, 0};
    size_t sizes[2] = {1, 1};
    if (chunking != 0) {
        sizes[0] = 1 + (chunking & 0x0fu);
        sizes[1] = 1 + 3 * (size_t)(chunking >> 4);
    }
    bool empty_calls = (chunking & 0x88) == 0x88;
    for (size_t offset = 0, turn = 0; offset < length; turn++) {
        size_t chunk = sizes[turn & 1];
        if (chunk > length - offset)
            chunk = length - offset;
        feed(&reader, stream + offset, chunk, &chunked);
        offset += chunk;
        if (empty_calls)
            feed(&reader, NULL, 0, &chunked);
    }
    FUZZ_CHECK(whole.found == chunked.found);
    FUZZ_CHECK(whole.status == chunked.status && whole.protocol == chunked.protocol);
    FUZZ_CHECK(mtls_http_reader_wants_data(&whole_reader) == mtls_http_reader_wants_data(&reader));
    if (!mtls_http_reader_wants_data(&whole_reader)) {
        /* After an answer, or after giving up, it reads nothing more. */
        mtls_http_reader_t before = whole_reader;
        feed(&whole_reader, stream, length, &whole);
        FUZZ_CHECK(memcmp(&before, &whole_reader, sizeof(before)) == 0);
    }
    return 0;
}
