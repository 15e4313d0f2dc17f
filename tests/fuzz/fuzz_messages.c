/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of mtls_certificate_parse() and
 * mtls_certificate_request_parse() (plugin/wire/mtls_messages.h).
 *
 * Input: one control byte, then one handshake message from its type byte.
 * Control bit 0: the connection speaks TLS 1.3; bits 1-4: the arrays hold
 * 16 - n blobs (0: NULL arrays). Both parsers read every message; a message
 * with bytes past the length in its header must read as the same message
 * without them. Seeds: the Certificate and CertificateRequest messages of the
 * sample captures, clear and decrypted (tests/fuzz/make-corpus.sh).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_messages.h"

#define MAX_BLOBS 16

/* The blobs lie inside the message, in order, without overlapping. */
static void check_blobs(const mtls_der_t *blobs, size_t count, const uint8_t *message,
                        size_t length)
{
    const uint8_t *end_of_previous = message;
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(blobs[i].data != NULL);
        FUZZ_CHECK(blobs[i].data >= end_of_previous);
        FUZZ_CHECK(blobs[i].length <= length - (size_t)(blobs[i].data - message));
        fuzz_touch(blobs[i].data, blobs[i].length);
        end_of_previous = blobs[i].data + blobs[i].length;
    }
}

typedef struct {
    bool certificate_read, request_read;
    mtls_certificate_msg_t certificate;
    mtls_certificate_request_msg_t request;
    size_t chain_offsets[MAX_BLOBS], chain_lengths[MAX_BLOBS];
    size_t name_offsets[MAX_BLOBS], name_lengths[MAX_BLOBS];
} reading_t;

static void read_message(const uint8_t *message, size_t length, bool tls13, size_t capacity,
                         reading_t *reading)
{
    mtls_der_t chain[MAX_BLOBS], names[MAX_BLOBS];
    memset(reading, 0, sizeof(*reading));

    mtls_certificate_msg_t *certificate = &reading->certificate;
    reading->certificate_read = mtls_certificate_parse(
        message, length, tls13, capacity ? chain : NULL, capacity, certificate);
    FUZZ_CHECK(reading->certificate_read == certificate->complete);
    FUZZ_CHECK(certificate->count <= capacity && certificate->count <= certificate->total);
    FUZZ_CHECK(!certificate->empty || certificate->total == 0);
    if (reading->certificate_read)
        FUZZ_CHECK(length >= 4 && message[0] == MTLS_HS_CERTIFICATE);
    check_blobs(chain, certificate->count, message, length);
    for (size_t i = 0; i < certificate->count; i++) {
        reading->chain_offsets[i] = (size_t)(chain[i].data - message);
        reading->chain_lengths[i] = chain[i].length;
    }

    mtls_certificate_request_msg_t *request = &reading->request;
    reading->request_read = mtls_certificate_request_parse(
        message, length, tls13, capacity ? names : NULL, capacity, request);
    FUZZ_CHECK(reading->request_read == request->complete);
    FUZZ_CHECK(request->count <= capacity && request->count <= request->total);
    FUZZ_CHECK(tls13 || request->context_length == 0);
    FUZZ_CHECK(request->has_ca_list || (request->count == 0 && request->ca_list_length == 0));
    /* The list's length field, as the message says: inside the body it declares,
     * though a message cut by the capture may hold fewer bytes. */
    if (length >= 4)
        FUZZ_CHECK(request->ca_list_length <=
                   ((size_t)message[1] << 16 | (size_t)message[2] << 8 | message[3]));
    else
        FUZZ_CHECK(request->ca_list_length == 0);
    if (reading->request_read)
        FUZZ_CHECK(length >= 4 && message[0] == MTLS_HS_CERTIFICATE_REQUEST);
    check_blobs(names, request->count, message, length);
    for (size_t i = 0; i < request->count; i++) {
        reading->name_offsets[i] = (size_t)(names[i].data - message);
        reading->name_lengths[i] = names[i].length;
    }
    FUZZ_CHECK(!(reading->certificate_read && reading->request_read));
}

static bool same_reading(const reading_t *a, const reading_t *b)
{
    const mtls_certificate_msg_t *ca = &a->certificate, *cb = &b->certificate;
    const mtls_certificate_request_msg_t *ra = &a->request, *rb = &b->request;
    return a->certificate_read == b->certificate_read && a->request_read == b->request_read &&
           ca->empty == cb->empty && ca->complete == cb->complete && ca->count == cb->count &&
           ca->total == cb->total && ra->context_length == rb->context_length &&
           ra->has_ca_list == rb->has_ca_list && ra->ca_list_length == rb->ca_list_length &&
           ra->count == rb->count && ra->total == rb->total && ra->complete == rb->complete &&
           memcmp(a->chain_offsets, b->chain_offsets, sizeof(a->chain_offsets)) == 0 &&
           memcmp(a->chain_lengths, b->chain_lengths, sizeof(a->chain_lengths)) == 0 &&
           memcmp(a->name_offsets, b->name_offsets, sizeof(a->name_offsets)) == 0 &&
           memcmp(a->name_lengths, b->name_lengths, sizeof(a->name_lengths)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t control = data[0];
    bool tls13 = control & 1u;
    size_t capacity = MAX_BLOBS - ((control >> 1) & 0x0fu);
    if (capacity == 1 && (control & 0x20))
        capacity = 0;
    const uint8_t *message = data + 1;
    size_t length = size - 1;

    static reading_t reading, trimmed;
    read_message(length ? message : NULL, length, tls13, capacity, &reading);

    /* Bytes past the header's length are ignored: a copy without them reads the same. */
    if (length >= 4) {
        size_t whole = 4 + ((size_t)message[1] << 16 | (size_t)message[2] << 8 | message[3]);
        if (whole < length) {
            uint8_t *copy = malloc(whole);
            if (copy) {
                memcpy(copy, message, whole);
                read_message(copy, whole, tls13, capacity, &trimmed);
                FUZZ_CHECK(same_reading(&reading, &trimmed));
                free(copy);
            }
        }
    }
    return 0;
}
