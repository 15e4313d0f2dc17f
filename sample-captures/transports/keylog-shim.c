/* keylog-shim.c: LD_PRELOAD helper for the sample captures only.
 *
 * OpenSSL 3.0 programs that have no key-log option of their own (eapol_test,
 * wpa_supplicant and hostapd 2.10; FreeRADIUS 3.2 has one: SSLKEYLOGFILE) write
 * their TLS secrets in
 * the NSS key log format to the file named by MTLS_KEYLOG when this library is
 * preloaded.  It wraps SSL_CTX_new() and installs a key-log callback on every
 * new context.
 *
 * MTLS_NO_CLIENT_CERT=1 (for the empty-certificate EAP-TLS captures only):
 * wpa_supplicant 2.10 refuses to start EAP-TLS without a private key, and
 * checks the key against a certificate with SSL_check_private_key(); with this
 * variable set that check succeeds, so eapol_test runs EAP-TLS with a key but no
 * certificate and OpenSSL answers the CertificateRequest with an empty
 * Certificate message.  Everything on the wire is still the unchanged peers'.
 *
 * Build: cc -shared -fPIC -O2 -o keylog-shim.so keylog-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>

static void mtls_keylog_line(const SSL *ssl, const char *line)
{
    const char *path = getenv("MTLS_KEYLOG");
    FILE *f;

    (void)ssl;
    if (path == NULL || *path == '\0')
        return;
    f = fopen(path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method)
{
    static SSL_CTX *(*real_new)(const SSL_METHOD *);
    SSL_CTX *ctx;

    if (real_new == NULL)
        real_new = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
    if (real_new == NULL)
        return NULL;
    ctx = real_new(method);
    if (ctx != NULL)
        SSL_CTX_set_keylog_callback(ctx, mtls_keylog_line);
    return ctx;
}

SSL_CTX *SSL_CTX_new_ex(OSSL_LIB_CTX *libctx, const char *propq, const SSL_METHOD *method)
{
    static SSL_CTX *(*real_new_ex)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *);
    SSL_CTX *ctx;

    if (real_new_ex == NULL)
        real_new_ex = (SSL_CTX * (*)(OSSL_LIB_CTX *, const char *, const SSL_METHOD *))
            dlsym(RTLD_NEXT, "SSL_CTX_new_ex");
    if (real_new_ex == NULL)
        return NULL;
    ctx = real_new_ex(libctx, propq, method);
    if (ctx != NULL)
        SSL_CTX_set_keylog_callback(ctx, mtls_keylog_line);
    return ctx;
}

int SSL_check_private_key(const SSL *ssl)
{
    static int (*real_check)(const SSL *);
    const char *nocert = getenv("MTLS_NO_CLIENT_CERT");

    if (nocert != NULL && *nocert == '1')
        return 1;
    if (real_check == NULL)
        real_check = (int (*)(const SSL *))dlsym(RTLD_NEXT, "SSL_check_private_key");
    return real_check != NULL ? real_check(ssl) : 0;
}
