/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * mtls_udp.h: the UDP datagram of this frame, for the transport adapters that
 * ride on UDP (DTLS, RADIUS for EAP-TLS, QUIC), without a protocol tree.
 */
#ifndef MTLS_UDP_H
#define MTLS_UDP_H

#include <epan/address.h>
#include <epan/packet_info.h>
#include <epan/tvbuff.h>

typedef struct {
    guint32 stream;      /* udp.stream */
    gboolean has_stream; /* FALSE: UDP kept no conversation data for it */
    address src, dst;    /* shallow: pinfo's or the tap's */
    guint32 srcport, dstport;
    const guint8 *payload; /* the captured payload, NULL when empty */
    size_t length;
    gint payload_raw_offset; /* where the payload starts in its data source's bytes,
                                for the TLS/DTLS dissectors' record ids */
} mtls_udp_datagram_t;

/* Finds the protocol ids and taps; from the handoff. */
void mtls_udp_handoff(void);

/* Makes UDP queue each datagram's payload on "udp_follow" from now on (one
 * helper listener for all adapters; frames before it are read from bytes). */
void mtls_udp_want_payloads(void);

/* The innermost UDP layer of this frame with pinfo's ports: from the `udp` and
 * `udp_follow` taps of the same frame (the i-th entry of one pairs with the i-th
 * of the other), or, where taps do not run (tshark -2's first pass), from the
 * frame's bytes (IPv4 without fragments, IPv6 without extension headers) and
 * UDP's conversation data. */
gboolean mtls_udp_datagram(tvbuff_t *tvb, packet_info *pinfo, mtls_udp_datagram_t *out);

/* The scanners' name for a datagram's sender: 0 for the lower endpoint (port,
 * then address), as for TCP. */
unsigned mtls_udp_direction(const mtls_udp_datagram_t *datagram);

#endif /* MTLS_UDP_H */
