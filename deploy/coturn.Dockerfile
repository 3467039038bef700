# coturn for the NLB: STUN/TURN on 3478 (UDP and TCP), relays on 49152-65535/udp,
# REST-API credentials (use-auth-secret) with the secret from SSM (TURN_SECRET).
# Build context: the repository root.
FROM coturn/coturn:4.6

COPY deploy/coturn-entrypoint.sh /usr/local/bin/arbiter-turn
COPY deploy/coturn-healthcheck.sh /usr/local/bin/arbiter-turn-health
USER root
RUN chmod 0755 /usr/local/bin/arbiter-turn /usr/local/bin/arbiter-turn-health
USER nobody:nogroup

EXPOSE 3478/udp 3478/tcp
ENTRYPOINT ["/usr/local/bin/arbiter-turn"]
