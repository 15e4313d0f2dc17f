/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit tests of plugin/mtls_hello.c: ClientHello and ServerHello read from
 * their bytes, built here field by field as RFC 8446 lays them out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_hello.h"
#include "unit_bytes.h"
#include "unit_check.h"

typedef unit_bytes_t message_t;

static void put_extension(message_t *m, unsigned type, const uint8_t *body, size_t length)
{
    put16(m, type);
    put16(m, (unsigned)length);
    put(m, body, length);
}

/* Handshake header, then version, random and a 32-byte session id. */
static void start(message_t *m, unsigned type, const uint8_t random[32])
{
    m->length = 0;
    put8(m, type);
    put8(m, 0), put16(m, 0); /* length, set by finish() */
    put16(m, 0x0303);
    put(m, random, 32);
    put8(m, 32);
    for (int i = 0; i < 32; i++)
        put8(m, (unsigned)i);
}

static void finish(message_t *m)
{
    size_t body = m->length - 4;
    m->bytes[1] = (uint8_t)(body >> 16);
    m->bytes[2] = (uint8_t)(body >> 8);
    m->bytes[3] = (uint8_t)body;
}

static const uint8_t plain_random[32] = {1, 2, 3};
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* A ClientHello as OpenSSL sends it, shortened: SNI, supported_versions,
 * post_handshake_auth when asked. */
static void client_hello(message_t *m, bool pha, const char *host)
{
    start(m, MTLS_HS_CLIENT_HELLO, plain_random);
    put16(m, 6), put16(m, 0x1302), put16(m, 0x1301), put16(m, 0xc02f); /* suites */
    put8(m, 1), put8(m, 0);                                            /* compression */
    message_t ext = {.length = 0};
    uint8_t sni[64];
    size_t host_length = strlen(host);
    sni[0] = (uint8_t)((host_length + 3) >> 8), sni[1] = (uint8_t)(host_length + 3);
    sni[2] = 0; /* host_name */
    sni[3] = (uint8_t)(host_length >> 8), sni[4] = (uint8_t)host_length;
    memcpy(sni + 5, host, host_length);
    put_extension(&ext, 0, sni, 5 + host_length);
    static const uint8_t versions[] = {4, 0x03, 0x04, 0x03, 0x03};
    put_extension(&ext, 43, versions, sizeof(versions));
    if (pha)
        put_extension(&ext, 49, NULL, 0);
    put16(m, (unsigned)ext.length);
    put(m, ext.bytes, ext.length);
    finish(m);
}

static void server_hello(message_t *m, const uint8_t random[32], bool tls13, bool psk)
{
    start(m, MTLS_HS_SERVER_HELLO, random);
    put16(m, tls13 ? 0x1302 : 0xc02f);
    put8(m, 0);
    message_t ext = {.length = 0};
    if (tls13) {
        static const uint8_t selected[] = {0x03, 0x04};
        put_extension(&ext, 43, selected, sizeof(selected));
    }
    if (psk) {
        static const uint8_t identity[] = {0, 0};
        put_extension(&ext, 41, identity, sizeof(identity));
    }
    put16(m, (unsigned)ext.length);
    put(m, ext.bytes, ext.length);
    finish(m);
}

static void client_hello_gives_sni_and_pha(void)
{
    message_t m;
    mtls_hello_t hello;
    client_hello(&m, true, "mtls.example");
    REQUIRE(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.legacy_version == 0x0303);
    CHECK(hello.pha_offered);
    REQUIRE(hello.server_name_length == strlen("mtls.example"));
    CHECK(memcmp(m.bytes + hello.server_name_offset, "mtls.example", 12) == 0);
    CHECK(hello.selected_version == 0); /* a client's list is not a selection */
    CHECK(!hello.hello_retry && !hello.psk_accepted && hello.cipher_suite == 0);

    client_hello(&m, false, "a");
    REQUIRE(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(!hello.pha_offered);
    CHECK(hello.server_name_length == 1);
}

static void server_hello_gives_version_suite_psk_and_retry(void)
{
    message_t m;
    mtls_hello_t hello;
    server_hello(&m, plain_random, true, true);
    REQUIRE(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.selected_version == 0x0304);
    CHECK(hello.cipher_suite == 0x1302);
    CHECK(hello.psk_accepted);
    CHECK(!hello.hello_retry);
    CHECK(!hello.pha_offered && hello.server_name_length == 0);

    server_hello(&m, hrr_random, true, false);
    REQUIRE(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.hello_retry && !hello.psk_accepted);

    server_hello(&m, plain_random, false, false);
    REQUIRE(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.selected_version == 0 && hello.cipher_suite == 0xc02f);
}

static void hello_without_extensions_is_whole(void)
{
    message_t m;
    mtls_hello_t hello;
    start(&m, MTLS_HS_SERVER_HELLO, plain_random);
    put16(&m, 0x009c);
    put8(&m, 0);
    finish(&m);
    CHECK(mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.cipher_suite == 0x009c);
}

static void other_messages_are_refused(void)
{
    static const uint8_t finished[] = {20, 0, 0, 4, 1, 2, 3, 4};
    mtls_hello_t hello;
    CHECK(!mtls_hello_parse(finished, sizeof(finished), &hello));
    CHECK(!mtls_hello_parse(NULL, 0, &hello));
    CHECK(!mtls_hello_parse(finished, 3, &hello));
}

/* Every prefix of a hello is refused (it is cut short), keeps what it read, and
 * never reads past its end (valgrind and ASan runs check the last part: each
 * prefix is copied to a buffer of exactly its size). */
static void cut_hellos_are_refused_safely(void)
{
    message_t m;
    mtls_hello_t hello;
    for (int kind = 0; kind < 2; kind++) {
        if (kind == 0)
            client_hello(&m, true, "cut.example");
        else
            server_hello(&m, plain_random, true, true);
        for (size_t length = 0; length < m.length; length++) {
            uint8_t *copy = malloc(length ? length : 1);
            REQUIRE(copy != NULL);
            memcpy(copy, m.bytes, length);
            CHECK(!mtls_hello_parse(copy, length, &hello));
            if (kind == 1 && length >= 4 + 2 + 32 + 33 + 2)
                CHECK(hello.cipher_suite == 0x1302);
            free(copy);
        }
    }
}

static void lengths_that_lie_are_refused(void)
{
    message_t m;
    mtls_hello_t hello;
    client_hello(&m, true, "lie.example");
    /* The extensions' length claims more than the message holds. */
    size_t extensions = 4 + 2 + 32 + 33 + 8 + 2;
    m.bytes[extensions] = 0xff;
    CHECK(!mtls_hello_parse(m.bytes, m.length, &hello));
    /* The handshake length claims more than was captured. */
    client_hello(&m, true, "lie.example");
    m.bytes[1] = 0x01;
    CHECK(!mtls_hello_parse(m.bytes, m.length, &hello));
    CHECK(hello.pha_offered); /* read before the end of the capture */
}

/* Random bytes behind a hello header: never a crash, never a read out of bounds. */
static void random_bytes_are_safe(void)
{
    uint32_t state = 12345;
    mtls_hello_t hello;
    for (int round = 0; round < 20000; round++) {
        size_t length = 4 + (state % 300);
        uint8_t *bytes = malloc(length);
        REQUIRE(bytes != NULL);
        for (size_t i = 0; i < length; i++) {
            state = state * 1103515245u + 12345u;
            bytes[i] = (uint8_t)(state >> 16);
        }
        bytes[0] = (uint8_t)(1 + round % 2);
        /* Keep the lengths small so the parser gets deep into the message. */
        if (round % 3 != 0) {
            bytes[1] = 0, bytes[2] = (uint8_t)((length - 4) >> 8), bytes[3] = (uint8_t)(length - 4);
        }
        (void)mtls_hello_parse(bytes, length, &hello);
        CHECK(hello.server_name_length == 0 ||
              (size_t)hello.server_name_offset + hello.server_name_length <= length);
        free(bytes);
    }
}

static const unit_test_t tests[] = {
    UNIT_TEST(client_hello_gives_sni_and_pha),
    UNIT_TEST(server_hello_gives_version_suite_psk_and_retry),
    UNIT_TEST(hello_without_extensions_is_whole),
    UNIT_TEST(other_messages_are_refused),
    UNIT_TEST(cut_hellos_are_refused_safely),
    UNIT_TEST(lengths_that_lie_are_refused),
    UNIT_TEST(random_bytes_are_safe),
};

int main(void)
{
    return run_unit_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
