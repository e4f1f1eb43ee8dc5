# syntax=docker/dockerfile:1
#
# histbot: the Discord study bot, with the seed texts baked in.
#
#   docker build -t histbot .
#   docker run --rm -e DISCORD_TOKEN=... -v histbot-data:/data --stop-timeout 15 histbot
#
# The token comes from the environment at run time; nothing secret is in the image.
# /data holds the index cache, the study-session database, the interaction journal, the
# lock and the heartbeat (HISTBOT_DATA_DIR); one container per /data volume.
#
# Stopping: tini (PID 1) passes docker stop's SIGTERM on to histbot, which answers what it
# has in hand and exits 0 within HISTBOT_SHUTDOWN_TIMEOUT (10 s); keep --stop-timeout (or
# compose's stop_grace_period) above it. The health check reads the heartbeat the running
# bot keeps in /data (python -m bot.health).
#
# PYTHON_IMAGE may be any Debian-based image with python3.11 and its venv module (e.g. one
# made with debootstrap: see benchmarks/docker_stop.py).

ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm

# -- build: install histbot and its dependencies into a virtualenv ---------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
COPY pyproject.toml README.md ./
COPY knowledge ./knowledge
COPY bot ./bot
RUN pip install --no-cache-dir . \
    && python -c "import bot.startup, knowledge; print('histbot installed')"

# -- runtime: the virtualenv, the seed texts, a non-root user -------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="histbot" \
      org.opencontainers.image.description="Discord bot that answers questions about historical texts with exact quotes and citations" \
      org.opencontainers.image.licenses="MIT"

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HISTBOT_SOURCES_DIR=/app/seeds \
    HISTBOT_DATA_DIR=/data

# tini: a real init as PID 1 (forwards signals, reaps the search workers); from the base
# image if it has it, else from Debian's packages.
RUN command -v tini >/dev/null \
    || (apt-get update \
        && apt-get install -y --no-install-recommends tini \
        && rm -rf /var/lib/apt/lists/*)

RUN groupadd --system --gid 10001 histbot \
    && useradd --system --uid 10001 --gid histbot --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin histbot \
    && mkdir -p /app /data \
    && chown histbot:histbot /data

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY seeds ./seeds

USER 10001:10001
VOLUME ["/data"]

STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot.health"]
ENTRYPOINT ["tini", "--", "histbot"]
CMD ["run"]
