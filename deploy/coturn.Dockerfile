# coturn for the NLB: STUN/TURN on 3478 (UDP and TCP), relays on 49152-65535/udp,
# REST-API credentials (use-auth-secret) with the secret from SSM (TURN_SECRET).
# The configuration is written at start by arbiter_server.turn_config, the module the
# local stack uses too (standard library only: it is all of Arbiter this image needs).
# Build context: the repository root.
FROM coturn/coturn:4.6

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-minimal \
 && rm -rf /var/lib/apt/lists/*
COPY arbiter_server/__init__.py /opt/arbiter/arbiter_server/__init__.py
COPY arbiter_server/turn_config.py /opt/arbiter/arbiter_server/turn_config.py
COPY deploy/coturn-entrypoint.sh /usr/local/bin/arbiter-turn
COPY deploy/coturn-healthcheck.sh /usr/local/bin/arbiter-turn-health
RUN chmod 0755 /usr/local/bin/arbiter-turn /usr/local/bin/arbiter-turn-health
ENV PYTHONPATH=/opt/arbiter PYTHONDONTWRITEBYTECODE=1
USER nobody:nogroup

EXPOSE 3478/udp 3478/tcp
ENTRYPOINT ["/usr/local/bin/arbiter-turn"]
