# The SFU: one task per room, started by the ECS launcher with
#   python -m arbiter_server.sfu --room ROOM --signaling WSS_URL
# and ARBITER_SFU_TOKEN / ARBITER_ICE_SERVERS in the environment override.
# Build context: the repository root (arbiter-server deploy does this).
FROM python:3.11-slim

# ARBITER_SKIP_WEB_BUILD: the SFU serves no page, and the image has neither Node.js nor the
# web SDK (setup.py builds the package without the demo page).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 ARBITER_SKIP_WEB_BUILD=1

WORKDIR /app
COPY pyproject.toml setup.py README.md LICENSE ./
COPY arbiter_protocol ./arbiter_protocol
COPY arbiter_server ./arbiter_server
COPY arbiter_rtc ./arbiter_rtc
RUN pip install ".[server]" && useradd --system --uid 10001 arbiter

USER arbiter
ENTRYPOINT []
CMD ["python", "-m", "arbiter_server.sfu", "--help"]
