/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The EAP-TLS scanner: RADIUS packets (UDP payloads) and EAPOL frames in, the
 * engine's events of each EAP-TLS session out. Plain C, no Wireshark.
 *
 * Sessions. RADIUS: an Access-Request without State starts one (its label is
 * the Calling-Station-Id, else the User-Name); an Access-Request with State
 * continues the session whose last Access-Challenge carried that State; every
 * answer (Access-Challenge, -Accept, -Reject) belongs to the session of the
 * request it answers, found by the RADIUS Identifier per NAS endpoint (the
 * final answer carries no State; answers come out of order when supplicants
 * share a NAS socket). EAPOL: one session per supplicant MAC (the sender of
 * EAP-Responses); the authenticator's frames go to the PAE group address, so
 * they are tied to the session of the supplicant that authenticator talks to:
 * the one its unicast frames name, else the one it was bound to, else the most
 * recently active supplicant without an authenticator. With several supplicants
 * on one segment talking to one authenticator through the group address, the
 * authenticator's frames cannot be told apart and go to the first session it
 * was bound to (a documented limit).
 *
 * EAP-TLS (type 13): fragments are reassembled per session and direction (the M
 * bit; the L bit is only a hint: FreeRADIUS sets it on every fragment,
 * wpa_supplicant on the first only), retransmitted EAP packets (the same
 * Identifier again in the same direction) are dropped, empty acknowledgements
 * ignored. Each reassembled message is a piece of that direction's TLS record
 * stream and is fed to the TCP TLS stream scanner (mtls_tls_stream.h) as one
 * synthetic segment, so records, messages and inference work as over TCP.
 * EAP-Success / EAP-Failure (with the Access-Accept / Access-Reject carrying
 * them) are the session's outer result; the session then ends.
 *
 * Memory is bounded: at most MTLS_EAP_MAX_SESSIONS live sessions (the least
 * recently active one is ended to make room), MTLS_EAP_MAX_NAS NAS endpoints
 * remembered, and a message longer than MTLS_EAP_MAX_MESSAGE is handed to the
 * TLS scanner in pieces of that size.
 */
#ifndef MTLS_EAP_H
#define MTLS_EAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtls_engine.h"
#include "mtls_tls_stream.h"

#define MTLS_EAP_MAX_SESSIONS 1024
#define MTLS_EAP_MAX_NAS      64
#define MTLS_EAP_MAX_MESSAGE  (64u * 1024u)
/* An endpoint as the caller names it (opaque bytes: address and port). */
#define MTLS_EAP_MAX_KEY 32
/* Session labels longer than this are cut. */
#define MTLS_EAP_MAX_LABEL 63

/* What the caller sees of a session. */
typedef struct {
    uint32_t id;       /* 1, 2, ... in order of creation, never reused */
    bool radius;       /* false: EAPOL */
    const char *label; /* Calling-Station-Id / User-Name as on the wire (non-printable bytes
                          as '.'), or the supplicant's MAC "02:00:00:00:00:01"; "" when none */
    /* RADIUS: the NAS and the server endpoint keys the caller passed; EAPOL: the
     * supplicant's and the authenticator's MAC (server_length 0 while unknown). */
    const uint8_t *client;
    size_t client_length;
    const uint8_t *server;
    size_t server_length;
    void *user; /* the caller's, NULL at first */
} mtls_eap_session_t;

typedef struct {
    /* One TLS event of a session's stream (as mtls_tls_stream.h reports it, with
     * its handshake message when it has one); from_server: sent by the RADIUS
     * server / authenticator. */
    void (*event)(void *context, mtls_eap_session_t *session, bool from_server,
                  const mtls_event_t *event, const uint8_t *message, size_t message_length);
    /* The dissector's plaintext of a protected record of this frame (may be NULL). */
    bool (*plaintext)(void *context, mtls_eap_session_t *session, bool from_server,
                      const mtls_tls_protected_record_t *record, mtls_tls_plaintext_t *plaintext);
    /* The outer decision that ends the session (may be NULL). */
    void (*outer)(void *context, mtls_eap_session_t *session, mtls_outer_t outer);
    /* The session is over (after its outer result, superseded, evicted, logged
     * off, or the scanner is freed): the caller frees `user`. */
    void (*session_end)(void *context, mtls_eap_session_t *session);
} mtls_eap_callbacks_t;

typedef struct mtls_eap mtls_eap_t;

/* NULL on OOM. */
mtls_eap_t *mtls_eap_new(void);
/* Ends every live session (session_end, with `context`) and frees everything. */
void mtls_eap_free(mtls_eap_t *eap, const mtls_eap_callbacks_t *callbacks, void *context);
/* Bytes the scanner holds now (sessions, buffers, TLS scanners). */
size_t mtls_eap_memory(const mtls_eap_t *eap);
/* Live sessions now. */
unsigned mtls_eap_sessions(const mtls_eap_t *eap);

/* One RADIUS packet: the UDP payload and both endpoints (opaque keys of at
 * most MTLS_EAP_MAX_KEY bytes; longer ones are cut). Returns false when it is not
 * a RADIUS packet the scanner reads (too short, a code other than 1, 2, 3, 11). */
typedef struct {
    uint32_t frame;
    int64_t time_ns;
    const uint8_t *payload;
    size_t length;
    const uint8_t *src;
    size_t src_length;
    const uint8_t *dst;
    size_t dst_length;
} mtls_eap_radius_packet_t;

bool mtls_eap_radius(mtls_eap_t *eap, const mtls_eap_radius_packet_t *packet,
                     const mtls_eap_callbacks_t *callbacks, void *context);

/* One EAPOL frame: the MAC addresses and the bytes from the EAPOL header
 * (version, type, length, body). Returns false when it is not read. */
typedef struct {
    uint32_t frame;
    int64_t time_ns;
    uint8_t src[6];
    uint8_t dst[6];
    const uint8_t *eapol;
    size_t length;
} mtls_eap_eapol_frame_t;

bool mtls_eap_eapol(mtls_eap_t *eap, const mtls_eap_eapol_frame_t *frame,
                    const mtls_eap_callbacks_t *callbacks, void *context);

/* An Ethernet frame (destination, source, EtherType, up to two 802.1Q / 802.1ad
 * tags) carrying EAPOL (EtherType 0x888E): fills the addresses and where the
 * EAPOL header starts. */
bool mtls_eap_ethernet_locate(const uint8_t *frame, size_t length, uint8_t src[6], uint8_t dst[6],
                              size_t *eapol_offset);

#endif /* MTLS_EAP_H */
