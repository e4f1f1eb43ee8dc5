# syntax=docker/dockerfile:1
#
# histbot: the Discord study bot, with the seed texts baked in.
#
#   docker build -t histbot .
#   docker run --rm -e DISCORD_TOKEN=... -v histbot-data:/data histbot
#
# The token comes from the environment at run time; nothing secret is in the image.
# /data holds the index cache and the study-session database (HISTBOT_DATA_DIR).

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

ENTRYPOINT ["histbot"]
CMD ["run"]
