/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/app/mtls_http.c: the first HTTP response status read from
 * the server's decrypted application data. Every case is fed whole, record by
 * record, one byte per call, split in two at every offset and in random chunks,
 * and must give the same answer each way, as soon as its bytes are there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_http.h"
#include "unit_check.h"

/* Real server bytes: each array is what one server sent over one TLS 1.3
 * connection, decrypted, every application-data record in order; *_records
 * gives the records' lengths. Made on 127.0.0.1 with Debian 12's nginx 1.22.1
 * (listen 127.0.0.1:18443 ssl http2; `location = /ok { return 200 "ok\n"; }`,
 * `/bad { return 400; }`, `/forbidden { return 403; }`, EC P-256 self-signed
 * certificate, private prefix, run in the foreground as our own process) and
 * Node.js 20's http2.createSecureServer (port 18444,
 * stream.respond({':status': 302 or 201, location: '/ok'}): nghttp2 Huffman-codes
 * the value). Clients: SSLKEYLOGFILE=keylog curl 7.88.1 -k --http2 (and
 * --http1.1 for the nginx_h1_* arrays); captured with tcpdump -i lo on the port;
 * each record's bytes are the "Decrypted TLS" sections of
 * tshark -o tls.keylog_file:keylog -r cap -Y 'tcp.srcport==PORT &&
 * tls.record.content_type==23' -x. tshark shows the same :status in each. */

static const uint8_t nginx_h2_200[] = {
    0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x80,
    0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x04,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x88, 0x76,
    0x89, 0xaa, 0x63, 0x55, 0xe5, 0x80, 0xae, 0x21, 0x2e, 0x1f, 0x61, 0x96, 0xd0, 0x7a, 0xbe,
    0x94, 0x64, 0x0a, 0x69, 0x3f, 0x75, 0x04, 0x01, 0x38, 0xa0, 0x85, 0x71, 0x97, 0x6e, 0x05,
    0xb5, 0x31, 0x68, 0xdf, 0x5f, 0x87, 0x49, 0x7c, 0xa5, 0x8a, 0xe8, 0x19, 0xaa, 0x5c, 0x01,
    0x33, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x6f, 0x6b, 0x0a,
};
static const size_t nginx_h2_200_records[] = {40, 9, 69};

static const uint8_t nginx_h2_400[] = {
    0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x80, 0x00,
    0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x04, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x32, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x8c, 0x76, 0x89, 0xaa, 0x63, 0x55,
    0xe5, 0x80, 0xae, 0x21, 0x2e, 0x1f, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x64, 0x0a, 0x69, 0x3f,
    0x75, 0x04, 0x01, 0x38, 0xa0, 0x85, 0x71, 0x97, 0x6e, 0x05, 0xb5, 0x31, 0x68, 0xdf, 0x5f, 0x87,
    0x49, 0x7c, 0xa5, 0x89, 0xd3, 0x4d, 0x1f, 0x5c, 0x03, 0x31, 0x35, 0x37, 0x00, 0x00, 0x9d, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x3c, 0x68, 0x74, 0x6d, 0x6c, 0x3e, 0x0d, 0x0a, 0x3c, 0x68, 0x65,
    0x61, 0x64, 0x3e, 0x3c, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x3e, 0x34, 0x30, 0x30, 0x20, 0x42, 0x61,
    0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x3c, 0x2f, 0x74, 0x69, 0x74, 0x6c, 0x65,
    0x3e, 0x3c, 0x2f, 0x68, 0x65, 0x61, 0x64, 0x3e, 0x0d, 0x0a, 0x3c, 0x62, 0x6f, 0x64, 0x79, 0x3e,
    0x0d, 0x0a, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x3c, 0x68, 0x31, 0x3e, 0x34, 0x30,
    0x30, 0x20, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x3c, 0x2f, 0x68,
    0x31, 0x3e, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x0d, 0x0a, 0x3c, 0x68, 0x72,
    0x3e, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2f, 0x31,
    0x2e, 0x32, 0x32, 0x2e, 0x31, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x0d, 0x0a,
    0x3c, 0x2f, 0x62, 0x6f, 0x64, 0x79, 0x3e, 0x0d, 0x0a, 0x3c, 0x2f, 0x68, 0x74, 0x6d, 0x6c, 0x3e,
    0x0d, 0x0a,
};
static const size_t nginx_h2_400_records[] = {40, 9, 225};

static const uint8_t nginx_h2_403[] = {
    0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x80, 0x00,
    0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x04, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x36, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x48, 0x03, 0x34, 0x30, 0x33, 0x76,
    0x89, 0xaa, 0x63, 0x55, 0xe5, 0x80, 0xae, 0x21, 0x2e, 0x1f, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94,
    0x64, 0x0a, 0x69, 0x3f, 0x75, 0x04, 0x01, 0x38, 0xa0, 0x85, 0x71, 0x97, 0x6e, 0x05, 0xb5, 0x31,
    0x68, 0xdf, 0x5f, 0x87, 0x49, 0x7c, 0xa5, 0x89, 0xd3, 0x4d, 0x1f, 0x5c, 0x03, 0x31, 0x35, 0x33,
    0x00, 0x00, 0x99, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x3c, 0x68, 0x74, 0x6d, 0x6c, 0x3e, 0x0d,
    0x0a, 0x3c, 0x68, 0x65, 0x61, 0x64, 0x3e, 0x3c, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x3e, 0x34, 0x30,
    0x33, 0x20, 0x46, 0x6f, 0x72, 0x62, 0x69, 0x64, 0x64, 0x65, 0x6e, 0x3c, 0x2f, 0x74, 0x69, 0x74,
    0x6c, 0x65, 0x3e, 0x3c, 0x2f, 0x68, 0x65, 0x61, 0x64, 0x3e, 0x0d, 0x0a, 0x3c, 0x62, 0x6f, 0x64,
    0x79, 0x3e, 0x0d, 0x0a, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x3c, 0x68, 0x31, 0x3e,
    0x34, 0x30, 0x33, 0x20, 0x46, 0x6f, 0x72, 0x62, 0x69, 0x64, 0x64, 0x65, 0x6e, 0x3c, 0x2f, 0x68,
    0x31, 0x3e, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x0d, 0x0a, 0x3c, 0x68, 0x72,
    0x3e, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2f, 0x31,
    0x2e, 0x32, 0x32, 0x2e, 0x31, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x0d, 0x0a,
    0x3c, 0x2f, 0x62, 0x6f, 0x64, 0x79, 0x3e, 0x0d, 0x0a, 0x3c, 0x2f, 0x68, 0x74, 0x6d, 0x6c, 0x3e,
    0x0d, 0x0a,
};
static const size_t nginx_h2_403_records[] = {40, 9, 225};

static const uint8_t nginx_h1_200[] = {
    0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x20, 0x32, 0x30, 0x30, 0x20, 0x4f, 0x4b,
    0x0d, 0x0a, 0x53, 0x65, 0x72, 0x76, 0x65, 0x72, 0x3a, 0x20, 0x6e, 0x67, 0x69, 0x6e, 0x78,
    0x2f, 0x31, 0x2e, 0x32, 0x32, 0x2e, 0x31, 0x0d, 0x0a, 0x44, 0x61, 0x74, 0x65, 0x3a, 0x20,
    0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x33, 0x30, 0x20, 0x4e, 0x6f, 0x76, 0x20, 0x32, 0x30, 0x32,
    0x36, 0x20, 0x32, 0x32, 0x3a, 0x33, 0x37, 0x3a, 0x31, 0x35, 0x20, 0x47, 0x4d, 0x54, 0x0d,
    0x0a, 0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x54, 0x79, 0x70, 0x65, 0x3a, 0x20,
    0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x0d, 0x0a, 0x43, 0x6f, 0x6e,
    0x74, 0x65, 0x6e, 0x74, 0x2d, 0x4c, 0x65, 0x6e, 0x67, 0x74, 0x68, 0x3a, 0x20, 0x33, 0x0d,
    0x0a, 0x43, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x6b, 0x65,
    0x65, 0x70, 0x2d, 0x61, 0x6c, 0x69, 0x76, 0x65, 0x0d, 0x0a, 0x0d, 0x0a, 0x6f, 0x6b, 0x0a,
};
static const size_t nginx_h1_200_records[] = {150};

static const uint8_t nginx_h1_400[] = {
    0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x20, 0x34, 0x30, 0x30, 0x20, 0x42, 0x61, 0x64,
    0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x0d, 0x0a, 0x53, 0x65, 0x72, 0x76, 0x65, 0x72,
    0x3a, 0x20, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2f, 0x31, 0x2e, 0x32, 0x32, 0x2e, 0x31, 0x0d, 0x0a,
    0x44, 0x61, 0x74, 0x65, 0x3a, 0x20, 0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x33, 0x30, 0x20, 0x4e, 0x6f,
    0x76, 0x20, 0x32, 0x30, 0x32, 0x36, 0x20, 0x32, 0x32, 0x3a, 0x33, 0x37, 0x3a, 0x31, 0x35, 0x20,
    0x47, 0x4d, 0x54, 0x0d, 0x0a, 0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x54, 0x79, 0x70,
    0x65, 0x3a, 0x20, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x68, 0x74, 0x6d, 0x6c, 0x0d, 0x0a, 0x43, 0x6f,
    0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x4c, 0x65, 0x6e, 0x67, 0x74, 0x68, 0x3a, 0x20, 0x31, 0x35,
    0x37, 0x0d, 0x0a, 0x43, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x63,
    0x6c, 0x6f, 0x73, 0x65, 0x0d, 0x0a, 0x0d, 0x0a, 0x3c, 0x68, 0x74, 0x6d, 0x6c, 0x3e, 0x0d, 0x0a,
    0x3c, 0x68, 0x65, 0x61, 0x64, 0x3e, 0x3c, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x3e, 0x34, 0x30, 0x30,
    0x20, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x3c, 0x2f, 0x74, 0x69,
    0x74, 0x6c, 0x65, 0x3e, 0x3c, 0x2f, 0x68, 0x65, 0x61, 0x64, 0x3e, 0x0d, 0x0a, 0x3c, 0x62, 0x6f,
    0x64, 0x79, 0x3e, 0x0d, 0x0a, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x3c, 0x68, 0x31,
    0x3e, 0x34, 0x30, 0x30, 0x20, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74,
    0x3c, 0x2f, 0x68, 0x31, 0x3e, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x0d, 0x0a,
    0x3c, 0x68, 0x72, 0x3e, 0x3c, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72, 0x3e, 0x6e, 0x67, 0x69, 0x6e,
    0x78, 0x2f, 0x31, 0x2e, 0x32, 0x32, 0x2e, 0x31, 0x3c, 0x2f, 0x63, 0x65, 0x6e, 0x74, 0x65, 0x72,
    0x3e, 0x0d, 0x0a, 0x3c, 0x2f, 0x62, 0x6f, 0x64, 0x79, 0x3e, 0x0d, 0x0a, 0x3c, 0x2f, 0x68, 0x74,
    0x6d, 0x6c, 0x3e, 0x0d, 0x0a,
};
static const size_t nginx_h1_400_records[] = {309};

static const uint8_t node_h2_302[] = {
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x48, 0x82, 0x64,
    0x02, 0x0f, 0x1f, 0x03, 0x2f, 0x6f, 0x6b, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x64, 0x0a,
    0x69, 0x3f, 0x75, 0x04, 0x01, 0x38, 0xa0, 0x85, 0x71, 0x97, 0x6e, 0x32, 0xea, 0x98, 0xb4,
    0x6f, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x78, 0x0a,
};
static const size_t node_h2_302_records[] = {18, 54};

static const uint8_t node_h2_201[] = {
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x01, 0x04, 0x00, 0x00, 0x00, 0x01, 0x48, 0x82, 0x10,
    0x03, 0x0f, 0x1f, 0x03, 0x2f, 0x6f, 0x6b, 0x61, 0x96, 0xd0, 0x7a, 0xbe, 0x94, 0x64, 0x0a,
    0x69, 0x3f, 0x75, 0x04, 0x01, 0x38, 0xa0, 0x85, 0x71, 0x97, 0x6e, 0x32, 0xea, 0x98, 0xb4,
    0x6f, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x78, 0x0a,
};
static const size_t node_h2_201_records[] = {9, 9, 54};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* What a case must give: a status, or none (and then whether the reader is still
 * waiting for more bytes, or gave up). */
typedef struct {
    uint16_t status; /* 0: none */
    mtls_http_protocol_t protocol;
    size_t known_at;    /* bytes it takes to know the status (0: not checked) */
    bool still_waiting; /* no status, and the reader still wants data at the end */
} expect_t;

typedef struct {
    uint16_t status; /* 0: none */
    mtls_http_protocol_t protocol;
    size_t known_at; /* bytes fed, up to the end of the call that returned true */
    int true_count;
    bool wants_data;
} outcome_t;

enum { CHUNK_WHOLE, CHUNK_RECORDS, CHUNK_BYTES, CHUNK_SPLIT, CHUNK_RANDOM };
static const char *const chunking_names[] = {"whole", "records", "bytes", "split", "random"};

/* Feeds `bytes` in chunks: all at once, as the records were, one byte per call,
 * in two at `parameter`, or in random sizes seeded by `parameter`. */
static outcome_t feed(const uint8_t *bytes, size_t length, const size_t *records,
                      size_t record_count, int chunking, size_t parameter)
{
    mtls_http_reader_t reader;
    mtls_http_reader_init(&reader);
    outcome_t outcome = {0};
    uint32_t random = (uint32_t)parameter * 2654435761u + 1;
    size_t at = 0, record = 0;
    while (at < length) {
        size_t chunk = length - at;
        switch (chunking) {
        case CHUNK_RECORDS: chunk = record < record_count ? records[record++] : chunk; break;
        case CHUNK_BYTES: chunk = 1; break;
        case CHUNK_SPLIT: chunk = at < parameter ? parameter - at : chunk; break;
        case CHUNK_RANDOM:
            random = random * 1103515245u + 12345u;
            chunk = 1 + (random >> 16) % 24;
            break;
        default: break;
        }
        if (chunk > length - at)
            chunk = length - at;
        uint16_t status = 0;
        mtls_http_protocol_t protocol = 0;
        if (mtls_http_reader_feed(&reader, bytes + at, chunk, &status, &protocol)) {
            outcome.true_count++;
            outcome.status = status;
            outcome.protocol = protocol;
            outcome.known_at = at + chunk;
        }
        at += chunk;
    }
    outcome.wants_data = mtls_http_reader_wants_data(&reader);
    return outcome;
}

static bool outcome_matches(const outcome_t *outcome, const expect_t *expect, int chunking,
                            size_t parameter)
{
    bool ok = outcome->status == expect->status && outcome->true_count == (expect->status != 0);
    if (expect->status)
        ok = ok && outcome->protocol == expect->protocol && !outcome->wants_data;
    else
        ok = ok && outcome->wants_data == expect->still_waiting;
    if (expect->known_at && chunking == CHUNK_BYTES)
        ok = ok && outcome->known_at == expect->known_at;
    static int reported;
    if (!ok && reported++ < 3) /* the first few mismatches show what broke */
        fprintf(stderr,
                "  fed %s (%zu): status %u protocol %d at %zu, %d true, wants data %d; "
                "expected status %u protocol %d at %zu, waiting %d\n",
                chunking_names[chunking], parameter, outcome->status, (int)outcome->protocol,
                outcome->known_at, outcome->true_count, outcome->wants_data, expect->status,
                (int)expect->protocol, expect->known_at, expect->still_waiting);
    return ok;
}

/* Every chunking gives the expected answer. */
static bool reads_as(const uint8_t *bytes, size_t length, const size_t *records,
                     size_t record_count, expect_t expect)
{
    bool ok = true;
    outcome_t outcome = feed(bytes, length, records, record_count, CHUNK_WHOLE, 0);
    ok = outcome_matches(&outcome, &expect, CHUNK_WHOLE, 0) && ok;
    if (records) {
        outcome = feed(bytes, length, records, record_count, CHUNK_RECORDS, 0);
        ok = outcome_matches(&outcome, &expect, CHUNK_RECORDS, 0) && ok;
    }
    outcome = feed(bytes, length, records, record_count, CHUNK_BYTES, 0);
    ok = outcome_matches(&outcome, &expect, CHUNK_BYTES, 0) && ok;
    for (size_t split = 1; split < length; split++) {
        outcome = feed(bytes, length, records, record_count, CHUNK_SPLIT, split);
        ok = outcome_matches(&outcome, &expect, CHUNK_SPLIT, split) && ok;
    }
    for (size_t seed = 0; seed < 16; seed++) {
        outcome = feed(bytes, length, records, record_count, CHUNK_RANDOM, seed);
        ok = outcome_matches(&outcome, &expect, CHUNK_RANDOM, seed) && ok;
    }
    return ok;
}

static expect_t status_at(uint16_t status, mtls_http_protocol_t protocol, size_t known_at)
{
    return (expect_t){status, protocol, known_at, false};
}

static const expect_t gives_up = {0, 0, 0, false};
static const expect_t still_waiting = {0, 0, 0, true};

/* Hand-built byte streams: HTTP/2 frames (RFC 9113 4.1) appended one by one. */
typedef struct {
    uint8_t bytes[1024];
    size_t length;
} stream_t;

static void put(stream_t *s, const void *data, size_t length)
{
    memcpy(s->bytes + s->length, data, length);
    s->length += length;
}

static void put_frame(stream_t *s, unsigned type, unsigned flags, uint32_t stream_id,
                      const uint8_t *payload, size_t length)
{
    const uint8_t header[9] = {(uint8_t)(length >> 16),
                               (uint8_t)(length >> 8),
                               (uint8_t)length,
                               (uint8_t)type,
                               (uint8_t)flags,
                               (uint8_t)(stream_id >> 24),
                               (uint8_t)(stream_id >> 16),
                               (uint8_t)(stream_id >> 8),
                               (uint8_t)stream_id};
    put(s, header, sizeof(header));
    if (length)
        put(s, payload, length);
}

enum {
    DATA = 0,
    HEADERS = 1,
    PRIORITY = 2,
    RST_STREAM = 3,
    SETTINGS = 4,
    PUSH_PROMISE = 5,
    PING = 6,
    GOAWAY = 7,
    WINDOW_UPDATE = 8,
    CONTINUATION = 9,
};
#define END_STREAM  0x01
#define ACK         0x01
#define END_HEADERS 0x04
#define PADDED      0x08
#define PRIORITY_F  0x20

/* The server's preface as nginx sends it: SETTINGS, then a WINDOW_UPDATE. */
static void put_server_preface(stream_t *s)
{
    static const uint8_t settings[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x80,
                                       0x00, 0x04, 0x00, 0x01, 0x00, 0x00};
    static const uint8_t increment[] = {0x7f, 0xff, 0x00, 0x00};
    put_frame(s, SETTINGS, 0, 0, settings, sizeof(settings));
    put_frame(s, WINDOW_UPDATE, 0, 0, increment, sizeof(increment));
}

/* A response's HEADERS on stream 1 after the preface. */
static stream_t response(const uint8_t *block, size_t length, unsigned flags)
{
    stream_t s = {.length = 0};
    put_server_preface(&s);
    put_frame(&s, HEADERS, flags, 1, block, length);
    return s;
}

#define PREFACE_LENGTH (9 + 12 + 9 + 4)

/* HTTP/1.x */

static void http1_nginx_200_real_bytes(void)
{
    CHECK(reads_as(nginx_h1_200, sizeof(nginx_h1_200), nginx_h1_200_records,
                   COUNT(nginx_h1_200_records), status_at(200, MTLS_HTTP_1, 12)));
}

static void http1_nginx_400_real_bytes(void)
{
    CHECK(reads_as(nginx_h1_400, sizeof(nginx_h1_400), nginx_h1_400_records,
                   COUNT(nginx_h1_400_records), status_at(400, MTLS_HTTP_1, 12)));
}

static void http1_status_split_across_records(void)
{
    static const char text[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    static const size_t records[] = {6, 4, 1, 1, 34};
    CHECK(reads_as((const uint8_t *)text, strlen(text), records, COUNT(records),
                   status_at(403, MTLS_HTTP_1, 12)));
}

static void http1_0_status_line(void)
{
    static const char text[] = "HTTP/1.0 301 Moved Permanently\r\n";
    CHECK(reads_as((const uint8_t *)text, strlen(text), NULL, 0, status_at(301, MTLS_HTTP_1, 12)));
}

static void http1_status_without_reason(void)
{
    static const char text[] = "HTTP/1.1 999\r\n";
    CHECK(reads_as((const uint8_t *)text, strlen(text), NULL, 0, status_at(999, MTLS_HTTP_1, 12)));
}

static void http1_malformed_status_gives_up(void)
{
    static const char *const texts[] = {
        "HTTP/1.1 2x0 OK\r\n", "HTTP/1.1 099 Low\r\n", "HTTP/1.1  200 OK\r\n",
        "HTTP/1.2 200 OK\r\n", "HTTP/2 200\r\n\r\n",   "http/1.1 200 OK\r\n",
    };
    for (size_t i = 0; i < COUNT(texts); i++) {
        bool ok = reads_as((const uint8_t *)texts[i], strlen(texts[i]), NULL, 0, gives_up);
        if (!ok)
            fprintf(stderr, "  for \"%s\"\n", texts[i]);
        CHECK(ok);
    }
}

static void http1_cut_before_status_waits(void)
{
    static const char text[] = "HTTP/1.1 20";
    CHECK(reads_as((const uint8_t *)text, strlen(text), NULL, 0, still_waiting));
}

/* HTTP/1.x with the reason phrase kept (mtls_http_reader_init_with_reason):
 * the status comes at the end of the line, with its reason, fed whole or one
 * byte per call. */
typedef struct {
    const char *text;
    uint16_t status; /* 0: none */
    const char *reason;
    bool waiting; /* no status: the reader still wants data */
} reason_case_t;

static bool reads_reason(const reason_case_t *c)
{
    bool ok = true;
    size_t length = strlen(c->text);
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        mtls_http_reader_t reader;
        mtls_http_reader_init_with_reason(&reader);
        uint16_t status = 0, found = 0;
        mtls_http_protocol_t protocol = 0;
        size_t known_at = 0;
        int count = 0;
        for (size_t at = 0; at < length;) {
            size_t chunk = bytewise ? 1 : length;
            if (mtls_http_reader_feed(&reader, (const uint8_t *)c->text + at, chunk, &status,
                                      &protocol)) {
                count++;
                found = status;
                known_at = at + chunk;
            }
            at += chunk;
        }
        bool good = found == c->status && count == (c->status != 0);
        if (c->status) {
            const char *line_end = strchr(c->text, '\n');
            good = good && protocol == MTLS_HTTP_1 &&
                   strcmp(mtls_http_reader_reason(&reader), c->reason) == 0;
            if (bytewise && line_end)
                good = good && known_at == (size_t)(line_end - c->text) + 1;
        } else {
            good = good && mtls_http_reader_wants_data(&reader) == c->waiting &&
                   strcmp(mtls_http_reader_reason(&reader), "") == 0;
        }
        if (!good)
            fprintf(stderr, "  \"%s\" fed %s: status %u reason \"%s\" at %zu\n", c->text,
                    bytewise ? "bytewise" : "whole", found, mtls_http_reader_reason(&reader),
                    known_at);
        ok = ok && good;
    }
    return ok;
}

static void http1_reason_phrase_kept(void)
{
    static const reason_case_t cases[] = {
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 403, "Forbidden", false},
        {"HTTP/1.1 496 SSL Certificate Required\r\n", 496, "SSL Certificate Required", false},
        {"HTTP/1.0 302 Found\nLocation: /\n\n", 302, "Found", false},
        {"HTTP/1.1 401 \r\n\r\n", 401, "", false},
        {"HTTP/1.1 200\r\n\r\n", 200, "", false},
        {"HTTP/1.1 400 Bad\x01Request\r\n", 400, "Bad?Request", false},
        /* 31 characters are kept; a longer reason ends with "..." */
        {"HTTP/1.1 403 Forbidden: Client certificate required\r\n", 403,
         "Forbidden: Client certificat...", false},
        {"HTTP/1.1 403 Forbidden: thirty-one character\r\n", 403, "Forbidden: thirty-one character",
         false},
        {"HTTP/1.1 403 Forbidden: thirty-one characters\r\n", 403,
         "Forbidden: thirty-one charac...", false},
        {"HTTP/1.1 2000 OK\r\n", 0, "", false},
        {"HTTP/1.1 403Forbidden\r\n", 0, "", false},
        {"HTTP/1.1 403 Forb", 0, "", true},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        CHECK(reads_reason(&cases[i]));
}

static void http2_reason_is_empty_and_phrases_are_standard(void)
{
    mtls_http_reader_t reader;
    mtls_http_reader_init_with_reason(&reader);
    uint16_t status = 0;
    mtls_http_protocol_t protocol = 0;
    REQUIRE(mtls_http_reader_feed(&reader, nginx_h2_403, sizeof(nginx_h2_403), &status, &protocol));
    CHECK(status == 403 && protocol == MTLS_HTTP_2);
    CHECK(strcmp(mtls_http_reader_reason(&reader), "") == 0);
    /* Without init_with_reason, nothing is kept. */
    mtls_http_reader_init(&reader);
    REQUIRE(mtls_http_reader_feed(&reader, nginx_h1_400, sizeof(nginx_h1_400), &status, &protocol));
    CHECK(strcmp(mtls_http_reader_reason(&reader), "") == 0);
}

/* HTTP/2: real bytes */

static void http2_nginx_indexed_200_real_bytes(void)
{
    /* SETTINGS + WINDOW_UPDATE (40), SETTINGS ACK (9), HEADERS header (9), 0x88. */
    CHECK(reads_as(nginx_h2_200, sizeof(nginx_h2_200), nginx_h2_200_records,
                   COUNT(nginx_h2_200_records), status_at(200, MTLS_HTTP_2, 40 + 9 + 9 + 1)));
}

static void http2_indexed_400_real_bytes(void)
{
    CHECK(reads_as(nginx_h2_400, sizeof(nginx_h2_400), nginx_h2_400_records,
                   COUNT(nginx_h2_400_records), status_at(400, MTLS_HTTP_2, 40 + 9 + 9 + 1)));
}

static void http2_plain_literal_403_real_bytes(void)
{
    /* 0x48 0x03 "403": literal with incremental indexing, name index 8, plain value. */
    CHECK(reads_as(nginx_h2_403, sizeof(nginx_h2_403), nginx_h2_403_records,
                   COUNT(nginx_h2_403_records), status_at(403, MTLS_HTTP_2, 40 + 9 + 9 + 5)));
}

static void http2_status_huffman_literal_after_settings(void)
{
    /* SETTINGS and its ACK in one record, then 0x48 0x82 0x64 0x02: "302" in
     * exactly 16 bits of Huffman code. */
    CHECK(reads_as(node_h2_302, sizeof(node_h2_302), node_h2_302_records,
                   COUNT(node_h2_302_records), status_at(302, MTLS_HTTP_2, 18 + 9 + 4)));
}

static void http2_huffman_literal_with_padding_real_bytes(void)
{
    /* 0x48 0x82 0x10 0x03: "201" in 15 bits, then one bit of EOS padding. */
    CHECK(reads_as(node_h2_201, sizeof(node_h2_201), node_h2_201_records,
                   COUNT(node_h2_201_records), status_at(201, MTLS_HTTP_2, 9 + 9 + 9 + 4)));
}

static void http2_cut_inside_headers_waits(void)
{
    /* The nginx 200 stream up to the HEADERS frame header: the status is still to come. */
    CHECK(reads_as(nginx_h2_200, 40 + 9 + 9, NULL, 0, still_waiting));
}

/* HTTP/2: hand-built cases of RFC 9113 and RFC 7541 */

static void http2_every_indexed_status(void)
{
    static const uint16_t statuses[] = {200, 204, 206, 304, 400, 404, 500};
    for (unsigned index = 8; index <= 14; index++) {
        const uint8_t block[] = {(uint8_t)(0x80 | index), 0x5f, 0x87};
        stream_t s = response(block, sizeof(block), END_HEADERS);
        CHECK(reads_as(s.bytes, s.length, NULL, 0,
                       status_at(statuses[index - 8], MTLS_HTTP_2, PREFACE_LENGTH + 10)));
    }
}

static void http2_literal_without_and_never_indexed(void)
{
    /* 0000 1001 (without indexing, name ":status" at 9), 0001 1110 (never indexed, 14). */
    static const uint8_t without[] = {0x09, 0x03, '5', '0', '3'};
    static const uint8_t never[] = {0x1e, 0x03, '4', '2', '9'};
    stream_t s = response(without, sizeof(without), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(503, MTLS_HTTP_2, s.length)));
    s = response(never, sizeof(never), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(429, MTLS_HTTP_2, s.length)));
}

static void http2_huffman_digits_3_to_9(void)
{
    /* "379" = 011001 011101 011111, padded with 6 ones; "845" = 011110 011010 011011 + 111111. */
    static const uint8_t block_379[] = {0x48, 0x83, 0x65, 0xd7, 0xff};
    static const uint8_t block_845[] = {0x48, 0x83, 0x79, 0xa6, 0xff};
    stream_t s = response(block_379, sizeof(block_379), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(379, MTLS_HTTP_2, s.length)));
    s = response(block_845, sizeof(block_845), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(845, MTLS_HTTP_2, s.length)));
}

static void http2_padded_and_priority_headers(void)
{
    /* Pad length 4, stream dependency and weight, 0x8d (404), 4 bytes of padding. */
    static const uint8_t payload[] = {0x04, 0x00, 0x00, 0x00, 0x03, 0x0f,
                                      0x8d, 0x00, 0x00, 0x00, 0x00};
    stream_t s = response(payload, sizeof(payload), END_HEADERS | PADDED | PRIORITY_F);
    CHECK(reads_as(s.bytes, s.length, NULL, 0,
                   status_at(404, MTLS_HTTP_2, PREFACE_LENGTH + 9 + 1 + 5 + 1)));
}

static void http2_table_size_updates_before_status(void)
{
    /* Size update to 4096 (0x3f 0xe1 0x1f), then to 0 (0x20), then 0x8e (500). */
    static const uint8_t block[] = {0x3f, 0xe1, 0x1f, 0x20, 0x8e};
    stream_t s = response(block, sizeof(block), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(500, MTLS_HTTP_2, s.length)));
}

static void http2_other_frames_are_skipped_across_records(void)
{
    static const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t priority[5] = {0, 0, 0, 0, 16};
    static const uint8_t rst[4] = {0, 0, 0, 8};
    static const uint8_t goaway[8] = {0, 0, 0, 0x7f, 0, 0, 0, 0};
    static const uint8_t window[4] = {0, 0, 0x10, 0};
    static uint8_t unknown[300];
    memset(unknown, 0x88, sizeof(unknown)); /* would read as 200 if it were not skipped */
    stream_t s = {.length = 0};
    put_server_preface(&s);
    put_frame(&s, SETTINGS, ACK, 0, NULL, 0);
    put_frame(&s, PING, 0, 0, ping, sizeof(ping));
    put_frame(&s, PRIORITY, 0, 3, priority, sizeof(priority));
    put_frame(&s, RST_STREAM, 0, 3, rst, sizeof(rst));
    put_frame(&s, 0xfa, 0, 1, unknown, sizeof(unknown));
    put_frame(&s, WINDOW_UPDATE, 0, 1, window, sizeof(window));
    put_frame(&s, GOAWAY, 0, 0, goaway, sizeof(goaway));
    put_frame(&s, DATA, 0, 2, unknown, 10);
    put_frame(&s, CONTINUATION, END_HEADERS, 2, unknown, 3);
    static const uint8_t block[] = {0x89};
    size_t before = s.length;
    put_frame(&s, HEADERS, END_HEADERS | END_STREAM, 1, block, sizeof(block));
    static const size_t records[] = {40, 9, 17, 30, 100, 200, 20, 50, 1, 1, 1, 1000};
    CHECK(reads_as(s.bytes, s.length, records, COUNT(records),
                   status_at(204, MTLS_HTTP_2, before + 10)));
}

static void http2_pushed_response_is_skipped(void)
{
    /* PUSH_PROMISE on stream 1 for stream 2, the pushed HEADERS (200) on stream 2,
     * then the answer to the client's request on stream 1 (404). */
    static const uint8_t promise[] = {0x00, 0x00, 0x00, 0x02, 0x82, 0x87, 0x84};
    static const uint8_t pushed[] = {0x88};
    static const uint8_t answer[] = {0x8d};
    stream_t s = {.length = 0};
    put_server_preface(&s);
    put_frame(&s, PUSH_PROMISE, END_HEADERS, 1, promise, sizeof(promise));
    put_frame(&s, HEADERS, END_HEADERS, 2, pushed, sizeof(pushed));
    put_frame(&s, HEADERS, END_HEADERS, 1, answer, sizeof(answer));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, status_at(404, MTLS_HTTP_2, s.length)));
}

static void http2_first_header_not_status_gives_up(void)
{
    /* 0xb6 is "server" (index 54), 0xbe the dynamic table (62), 0x81 ":authority". */
    static const uint8_t blocks[][2] = {{0xb6, 0x88}, {0xbe, 0x88}, {0x81, 0x88},
                                        {0x80, 0x88}, {0x4f, 0x88}, {0x0f, 0x00}};
    for (size_t i = 0; i < COUNT(blocks); i++) {
        stream_t s = response(blocks[i], sizeof(blocks[i]), END_HEADERS);
        bool ok = reads_as(s.bytes, s.length, NULL, 0, gives_up);
        if (!ok)
            fprintf(stderr, "  for block 0x%02x\n", blocks[i][0]);
        CHECK(ok);
    }
}

static void http2_new_name_literal_gives_up(void)
{
    static const uint8_t block[] = {0x40, 0x07, ':',  's', 't', 'a', 't',
                                    'u',  's',  0x03, '2', '0', '0'};
    stream_t s = response(block, sizeof(block), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_status_in_continuation_gives_up(void)
{
    /* The HEADERS fragment holds only a table size update; :status comes in CONTINUATION. */
    static const uint8_t update[] = {0x3f, 0xe1, 0x1f};
    static const uint8_t status[] = {0x88};
    stream_t s = {.length = 0};
    put_server_preface(&s);
    put_frame(&s, HEADERS, 0, 1, update, sizeof(update));
    put_frame(&s, CONTINUATION, END_HEADERS, 1, status, sizeof(status));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_status_value_not_3_digits_gives_up(void)
{
    static const uint8_t blocks[][6] = {
        {0x48, 0x02, '2', '0'},               /* 2 plain characters */
        {0x48, 0x04, '2', '0', '0', '0'},     /* 4 */
        {0x48, 0x03, '2', 'x', '0'},          /* not a digit */
        {0x48, 0x03, '0', '9', '9'},          /* under 100 */
        {0x48, 0x83, 0x64, 0x02, 0x00},       /* "302" then a byte of zeros: not padding */
        {0x48, 0x82, 0x64, 0x1f},             /* "30", then bits neither a digit nor padding */
        {0x48, 0x83, 0x64, 0x02, 0xff},       /* "302", then 8 bits of padding: over 7 */
        {0x48, 0x81, 0x1f},                   /* too short for 3 digits */
        {0x48, 0x82, 0x1c, 0x6b},             /* "ae.." Huffman: not digits */
        {0x48, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* a length of 2^28 and more */
    };
    for (size_t i = 0; i < COUNT(blocks); i++) {
        stream_t s = response(blocks[i], sizeof(blocks[i]), END_HEADERS);
        bool ok = reads_as(s.bytes, s.length, NULL, 0, gives_up);
        if (!ok)
            fprintf(stderr, "  for block %zu\n", i);
        CHECK(ok);
    }
}

static void http2_padding_past_frame_gives_up(void)
{
    static const uint8_t payload[] = {0x02, 0x88};
    stream_t s = response(payload, sizeof(payload), END_HEADERS | PADDED);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_headers_on_stream_zero_gives_up(void)
{
    static const uint8_t block[] = {0x88};
    stream_t s = {.length = 0};
    put_server_preface(&s);
    put_frame(&s, HEADERS, END_HEADERS, 0, block, sizeof(block));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_empty_headers_gives_up(void)
{
    stream_t s = response(NULL, 0, END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_too_many_size_updates_gives_up(void)
{
    /* :status after more table size updates than the reader buffers. */
    uint8_t block[MTLS_HTTP_BUFFER_SIZE + 1];
    memset(block, 0x20, sizeof(block) - 1);
    block[sizeof(block) - 1] = 0x88;
    stream_t s = response(block, sizeof(block), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_integer_past_32_bits_gives_up(void)
{
    /* A table size update whose fifth continuation byte goes past 32 bits, and one
     * that never ends within the frame. */
    static const uint8_t huge[] = {0x3f, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x88};
    static const uint8_t endless[] = {0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x88};
    stream_t s = response(huge, sizeof(huge), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
    s = response(endless, sizeof(endless), END_HEADERS);
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

static void http2_first_frame_not_settings_gives_up(void)
{
    static const uint8_t settings[6] = {0, 3, 0, 0, 0, 100};
    static const uint8_t window[4] = {0, 0, 0x10, 0};
    static const uint8_t block[] = {0x88};
    stream_t s = {.length = 0};
    put_frame(&s, WINDOW_UPDATE, 0, 0, window, sizeof(window));
    put_frame(&s, HEADERS, END_HEADERS, 1, block, sizeof(block));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
    s.length = 0; /* a SETTINGS ACK first */
    put_frame(&s, SETTINGS, ACK, 0, NULL, 0);
    put_frame(&s, HEADERS, END_HEADERS, 1, block, sizeof(block));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
    s.length = 0; /* SETTINGS on a stream */
    put_frame(&s, SETTINGS, 0, 1, settings, sizeof(settings));
    put_frame(&s, HEADERS, END_HEADERS, 1, block, sizeof(block));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
    s.length = 0; /* SETTINGS whose length is not a multiple of 6 */
    put_frame(&s, SETTINGS, 0, 0, settings, 5);
    put_frame(&s, HEADERS, END_HEADERS, 1, block, sizeof(block));
    CHECK(reads_as(s.bytes, s.length, NULL, 0, gives_up));
}

/* Neither HTTP/1 nor HTTP/2 */

static void not_http_gives_up(void)
{
    static const char *const texts[] = {
        "SSH-2.0-OpenSSH_9.2p1\r\n",
        "220 mail.example ESMTP\r\n",
        "* OK IMAP4rev1 ready\r\n",
        "+OK POP3 ready\r\n",
        "HTTP/1.1",
        "H",
    };
    for (size_t i = 0; i < COUNT(texts); i++) {
        size_t length = strlen(texts[i]);
        /* A cut status-line prefix waits; anything else is given up on. */
        expect_t expect = strncmp(texts[i], "HTTP/1.1 ", length) == 0 ? still_waiting : gives_up;
        bool ok = reads_as((const uint8_t *)texts[i], length, NULL, 0, expect);
        if (!ok)
            fprintf(stderr, "  for \"%s\"\n", texts[i]);
        CHECK(ok);
    }
    /* A TLS record header (as if the caller fed ciphertext): given up within 9 bytes. */
    static const uint8_t record[] = {0x17, 0x03, 0x03, 0x00, 0x45, 0xaa, 0xbb, 0xcc, 0xdd};
    CHECK(reads_as(record, sizeof(record), NULL, 0, gives_up));
}

/* The API's promises */

static void after_status_nothing_is_read(void)
{
    mtls_http_reader_t reader;
    mtls_http_reader_init(&reader);
    uint16_t status = 0;
    mtls_http_protocol_t protocol = 0;
    REQUIRE(mtls_http_reader_feed(&reader, nginx_h2_200, sizeof(nginx_h2_200), &status, &protocol));
    CHECK(status == 200 && protocol == MTLS_HTTP_2);
    CHECK(!mtls_http_reader_wants_data(&reader));
    status = 0, protocol = 0;
    CHECK(!mtls_http_reader_feed(&reader, nginx_h2_400, sizeof(nginx_h2_400), &status, &protocol));
    CHECK(!mtls_http_reader_feed(&reader, NULL, 0, &status, &protocol));
    CHECK(status == 0 && protocol == 0); /* untouched */
}

static void empty_feeds_change_nothing(void)
{
    mtls_http_reader_t reader, initial;
    mtls_http_reader_init(&reader);
    initial = reader;
    uint16_t status = 0;
    mtls_http_protocol_t protocol = 0;
    CHECK(!mtls_http_reader_feed(&reader, NULL, 0, &status, &protocol));
    CHECK(memcmp(&reader, &initial, sizeof(reader)) == 0);
    CHECK(mtls_http_reader_wants_data(&reader));
    /* Between the bytes of a real stream too. */
    bool found = false;
    for (size_t i = 0; i < sizeof(node_h2_302); i++) {
        CHECK(!mtls_http_reader_feed(&reader, NULL, 0, &status, &protocol));
        found = mtls_http_reader_feed(&reader, node_h2_302 + i, 1, &status, &protocol) || found;
    }
    CHECK(found && status == 302 && protocol == MTLS_HTTP_2);
}

static void zeroed_reader_is_a_new_reader(void)
{
    mtls_http_reader_t reader, zeroed;
    memset(&zeroed, 0, sizeof(zeroed));
    memset(&reader, 0xa5, sizeof(reader));
    mtls_http_reader_init(&reader);
    CHECK(memcmp(&reader, &zeroed, sizeof(reader)) == 0);
    CHECK(sizeof(mtls_http_reader_t) <= 64);
}

/* Hostile input: random streams and mutated real ones, in random chunks, never
 * read out of bounds (valgrind, sanitizers), give a status in range and the same
 * answer however they are chunked. */
static void random_and_mutated_bytes_are_safe(void)
{
    static const struct {
        const uint8_t *bytes;
        size_t length;
    } seeds[] = {
        {nginx_h2_200, sizeof(nginx_h2_200)},
        {nginx_h2_403, sizeof(nginx_h2_403)},
        {node_h2_302, sizeof(node_h2_302)},
        {node_h2_201, sizeof(node_h2_201)},
        {nginx_h1_200, 40},
    };
    uint32_t state = 2024;
    uint8_t bytes[320];
    for (int round = 0; round < 6000; round++) {
        size_t length;
        state = state * 1103515245u + 12345u;
        if (round % 4 == 0) {
            length = 1 + (state >> 16) % sizeof(bytes);
            for (size_t i = 0; i < length; i++) {
                state = state * 1103515245u + 12345u;
                bytes[i] = (uint8_t)(state >> 16);
            }
        } else {
            size_t seed = (state >> 16) % COUNT(seeds);
            length = seeds[seed].length;
            memcpy(bytes, seeds[seed].bytes, length);
            for (int flips = 1 + round % 3; flips > 0; flips--) {
                state = state * 1103515245u + 12345u;
                size_t at = (state >> 16) % length;
                /* Mostly in the frame headers and the start of the header block. */
                if (round % 2)
                    at %= 72;
                state = state * 1103515245u + 12345u;
                bytes[at < length ? at : 0] = (uint8_t)(state >> 16);
            }
        }
        outcome_t whole = feed(bytes, length, NULL, 0, CHUNK_WHOLE, 0);
        outcome_t single = feed(bytes, length, NULL, 0, CHUNK_BYTES, 0);
        outcome_t chunks = feed(bytes, length, NULL, 0, CHUNK_RANDOM, (size_t)round);
        CHECK(whole.true_count <= 1);
        CHECK(whole.status == 0 || (whole.status >= 100 && whole.status <= 999));
        CHECK(whole.status == single.status && whole.status == chunks.status);
        CHECK(whole.protocol == single.protocol && whole.protocol == chunks.protocol);
        CHECK(whole.wants_data == single.wants_data && whole.wants_data == chunks.wants_data);
        CHECK(single.known_at <= chunks.known_at);
    }
}

static const unit_test_t tests[] = {
    UNIT_TEST(http1_nginx_200_real_bytes),
    UNIT_TEST(http1_nginx_400_real_bytes),
    UNIT_TEST(http1_status_split_across_records),
    UNIT_TEST(http1_0_status_line),
    UNIT_TEST(http1_status_without_reason),
    UNIT_TEST(http1_malformed_status_gives_up),
    UNIT_TEST(http1_cut_before_status_waits),
    UNIT_TEST(http1_reason_phrase_kept),
    UNIT_TEST(http2_reason_is_empty_and_phrases_are_standard),
    UNIT_TEST(http2_nginx_indexed_200_real_bytes),
    UNIT_TEST(http2_indexed_400_real_bytes),
    UNIT_TEST(http2_plain_literal_403_real_bytes),
    UNIT_TEST(http2_status_huffman_literal_after_settings),
    UNIT_TEST(http2_huffman_literal_with_padding_real_bytes),
    UNIT_TEST(http2_cut_inside_headers_waits),
    UNIT_TEST(http2_every_indexed_status),
    UNIT_TEST(http2_literal_without_and_never_indexed),
    UNIT_TEST(http2_huffman_digits_3_to_9),
    UNIT_TEST(http2_padded_and_priority_headers),
    UNIT_TEST(http2_table_size_updates_before_status),
    UNIT_TEST(http2_other_frames_are_skipped_across_records),
    UNIT_TEST(http2_pushed_response_is_skipped),
    UNIT_TEST(http2_first_header_not_status_gives_up),
    UNIT_TEST(http2_new_name_literal_gives_up),
    UNIT_TEST(http2_status_in_continuation_gives_up),
    UNIT_TEST(http2_status_value_not_3_digits_gives_up),
    UNIT_TEST(http2_padding_past_frame_gives_up),
    UNIT_TEST(http2_headers_on_stream_zero_gives_up),
    UNIT_TEST(http2_empty_headers_gives_up),
    UNIT_TEST(http2_too_many_size_updates_gives_up),
    UNIT_TEST(http2_integer_past_32_bits_gives_up),
    UNIT_TEST(http2_first_frame_not_settings_gives_up),
    UNIT_TEST(not_http_gives_up),
    UNIT_TEST(after_status_nothing_is_read),
    UNIT_TEST(empty_feeds_change_nothing),
    UNIT_TEST(zeroed_reader_is_a_new_reader),
    UNIT_TEST(random_and_mutated_bytes_are_safe),
};

int main(void)
{
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
