/* banner-server.c - used by make-captures.sh (ossl-tls13-banner-* captures).
 * TLS 1.3 server that writes a banner right after its first flight, before it
 * reads the client's Certificate (OpenSSL 0.5-RTT data: SSL_read_early_data()
 * then SSL_write_early_data()), then finishes the handshake. */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s pki port required|optional banner\n", argv[0]);
        return 2;
    }
    const char *pki = argv[1];
    int port = atoi(argv[2]);
    int required = strcmp(argv[3], "required") == 0;
    char path[4096];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    snprintf(path, sizeof path, "%s/server.pem", pki);
    SSL_CTX_use_certificate_chain_file(ctx, path);
    snprintf(path, sizeof path, "%s/server.key", pki);
    SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM);
    snprintf(path, sizeof path, "%s/ca.pem", pki);
    SSL_CTX_load_verify_locations(ctx, path, NULL);
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(path));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    SSL_CTX_set_max_early_data(ctx, 0);

    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1)) {
        perror("bind/listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    int fd = accept(ls, NULL, NULL);
    close(ls);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);

    char buf[256];
    size_t n = 0;
    int r;
    /* cork: the first flight and the banner leave in one TCP segment, so the
     * banner is on the wire before the client can answer the CertificateRequest */
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    do {
        r = SSL_read_early_data(ssl, buf, sizeof buf, &n);
    } while (r == SSL_READ_EARLY_DATA_SUCCESS);
    if (r != SSL_READ_EARLY_DATA_FINISH) {
        printf("SSL_read_early_data failed\n");
        ERR_print_errors_fp(stdout);
        return 1;
    }
    printf("first flight sent, early data status %d, init finished %d\n",
           SSL_get_early_data_status(ssl), SSL_is_init_finished(ssl));
    size_t w = 0;
    if (SSL_write_early_data(ssl, argv[4], strlen(argv[4]), &w) == 1)
        printf("banner written before the client's Certificate was read (%zu bytes)\n", w);
    else {
        printf("SSL_write_early_data failed\n");
        ERR_print_errors_fp(stdout);
    }
    int zero = 0;
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    fflush(stdout);
    if (SSL_do_handshake(ssl) != 1) {
        printf("handshake failed\n");
        ERR_print_errors_fp(stdout);
    } else {
        X509 *peer = SSL_get1_peer_certificate(ssl);
        if (peer) {
            X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
            printf("handshake done, client certificate: %s\n", buf);
        } else
            printf("handshake done, no client certificate\n");
        fflush(stdout);
        int k = SSL_read(ssl, buf, sizeof buf - 1);
        if (k > 0) {
            buf[k] = 0;
            printf("received: %s", buf);
        }
        SSL_write(ssl, "bye\n", 4);
        SSL_shutdown(ssl);
    }
    fflush(stdout);
    close(fd);
    return 0;
}
