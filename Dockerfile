# WalkWell worker image: `docker build -t walkwell .` (see docs/deploy.md).
# Two stages: the build stage installs the locked dependencies and the wheel into a venv; the
# runtime stage copies only that venv onto a slim base and runs it as an unprivileged user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock ./
# Exactly the versions tested (hash-checked), then WalkWell itself without re-resolving.
RUN python -m venv /opt/walkwell \
 && /opt/walkwell/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY jobs ./jobs
COPY messages ./messages
COPY migrations ./migrations
RUN /opt/walkwell/bin/pip install --no-cache-dir --no-deps . \
 && /opt/walkwell/bin/walkwell --help > /dev/null

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/walkwell/bin:$PATH \
    LOG_FORMAT=json \
    WALKWELL_LISTEN_HOST=0.0.0.0 \
    WALKWELL_LISTEN_PORT=8080 \
    WALKWELL_HEALTH_HOST=0.0.0.0 \
    WALKWELL_HEALTH_PORT=8081
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/walkwell \
      --shell /usr/sbin/nologin walkwell
COPY --from=build /opt/walkwell /opt/walkwell
USER 10001:10001
# SQLite (one worker, no DATABASE_URL) lands in /var/lib/walkwell/var/walkwell.db: mount a volume.
WORKDIR /var/lib/walkwell
# 8080: the webhook only (publish it behind TLS). 8081: /healthz, /readyz, /metrics (never publish
# it; Prometheus scrapes it over the internal network).
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["walkwell", "healthcheck"]
ENTRYPOINT ["walkwell"]
CMD ["run"]
