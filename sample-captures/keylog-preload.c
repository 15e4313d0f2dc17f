/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * LD_PRELOAD shim for make-app-captures.sh: makes any OpenSSL 3 program
 * (psql/libpq, the mariadb client, mosquitto_pub, ...) append its TLS secrets
 * to the file named by $SSLKEYLOGFILE, in the NSS key log format, by setting
 * OpenSSL's own keylog callback on every SSL_CTX that SSL_new() is given.
 *
 *   cc -shared -fPIC -O2 -o keylog-preload.so keylog-preload.c -ldl -lssl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

static void write_line(const SSL *ssl, const char *line)
{
    (void)ssl;
    const char *path = getenv("SSLKEYLOGFILE");
    if (path == NULL || *path == '\0')
        return;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

SSL *SSL_new(SSL_CTX *ctx)
{
    static SSL *(*real_ssl_new)(SSL_CTX *);
    if (real_ssl_new == NULL)
        real_ssl_new = (SSL * (*)(SSL_CTX *)) dlsym(RTLD_NEXT, "SSL_new");
    if (real_ssl_new == NULL)
        return NULL;
    if (ctx != NULL && SSL_CTX_get_keylog_callback(ctx) == NULL)
        SSL_CTX_set_keylog_callback(ctx, write_line);
    return real_ssl_new(ctx);
}
