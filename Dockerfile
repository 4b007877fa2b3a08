# syntax=docker/dockerfile:1
# Build stage: build a wheel of Nexus and its pinned dependencies.
FROM python:3.11.7-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: only the installed package, the bundled content and a data volume.
FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEXUS_DB_PATH=/data/nexus.db \
    NEXUS_HEARTBEAT_PATH=/data/heartbeat \
    NEXUS_CONTENT_DIR=/app/content
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels "nexus-bot==0.1.0" \
    && rm -rf /wheels \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY content ./content
USER 10001:10001
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["nexus-bot", "healthcheck"]
ENTRYPOINT ["nexus-bot"]
CMD ["run"]
