/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * libFuzzer harness of mtls_hello_parse() (plugin/wire/mtls_hello.h): the input
 * is one handshake message from its type byte, as the scanner hands it over.
 * Seeds: the ClientHellos and ServerHellos of the sample captures
 * (tests/fuzz/make-corpus.sh).
 */
#include <string.h>

#include "fuzz_common.h"
#include "mtls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mtls_hello_t hello;
    memset(&hello, 0xa5, sizeof(hello)); /* the parser must set every field */
    bool parsed = mtls_hello_parse(data, size, &hello);
    fuzz_touch(&hello, sizeof(hello));
    if (parsed)
        FUZZ_CHECK(size >= 4 &&
                   (data[0] == MTLS_HS_CLIENT_HELLO || data[0] == MTLS_HS_SERVER_HELLO));
    if (hello.server_name_length > 0) {
        /* The name lies inside the message: the glue reads it from there. */
        FUZZ_CHECK(size > 0 && data[0] == MTLS_HS_CLIENT_HELLO);
        FUZZ_CHECK(hello.server_name_offset >= 4);
        FUZZ_CHECK((size_t)hello.server_name_offset + hello.server_name_length <= size);
        fuzz_touch(data + hello.server_name_offset, hello.server_name_length);
    } else {
        FUZZ_CHECK(hello.server_name_offset == 0);
    }
    if (size > 0 && data[0] == MTLS_HS_CLIENT_HELLO)
        FUZZ_CHECK(!hello.hello_retry && !hello.psk_accepted && hello.selected_version == 0 &&
                   hello.cipher_suite == 0);
    if (size > 0 && data[0] == MTLS_HS_SERVER_HELLO)
        FUZZ_CHECK(!hello.pha_offered);
    return 0;
}
