# syntax=docker/dockerfile:1
# tgdigest: one long-running service process. Build: `docker build -t tgdigest .`
# Behind a TLS-intercepting proxy, hand pip the proxy's CA bundle as a build secret:
#   docker build --secret id=pipca,src=/etc/ssl/certs/ca-certificates.crt -t tgdigest .
# (the bundle is only mounted while pip runs; it never lands in a layer).
ARG BASE_IMAGE=python:3.12-slim

# --- stage 1: wheels of the project and every dependency --------------------------------
FROM ${BASE_IMAGE} AS build
# Optional package index (a mirror); empty means pip's default.
ARG PIP_INDEX_URL=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so editing the code does not rebuild them.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pipca \
    if [ -s /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi; \
    if [ -z "$PIP_INDEX_URL" ]; then unset PIP_INDEX_URL; fi; \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip wheel --wheel-dir /wheels --requirement /tmp/requirements.txt
COPY . .
RUN --mount=type=secret,id=pipca \
    if [ -s /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi; \
    if [ -z "$PIP_INDEX_URL" ]; then unset PIP_INDEX_URL; fi; \
    pip wheel --no-deps --wheel-dir /wheels . \
 && sha256sum -- /wheels/*.whl > /wheels/SHA256SUMS

# --- stage 2: slim runtime, only the wheels in a venv -----------------------------------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="tgdigest" \
      org.opencontainers.image.description="Watch Telegram channels, fold repeats into stories, send each subscriber a daily digest." \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TGDIGEST_DB=/data/tgdigest.sqlite
# Wheels are bind-mounted, never copied into a layer. Their checksum list is copied, though:
# some engines (podman 4) do not look into a bind mount to decide whether a cached RUN
# layer is still valid, and a changed list is what makes them install the new wheels.
COPY --from=build /wheels/SHA256SUMS /tmp/wheels.sha256
# The base image's pip installs into the venv, so the venv needs no bootstrapped pip.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    sha256sum --check --quiet /tmp/wheels.sha256 \
 && rm /tmp/wheels.sha256 \
 && python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
        --find-links /wheels /wheels/tgdigest-*.whl \
 && groupadd --gid 10001 tgdigest \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin tgdigest \
 && mkdir -p /data \
 && chown 10001:10001 /data
# Only now put the venv first on PATH: the install above needs the base image's pip.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# /data holds the SQLite database and the Telegram session: mount a volume there.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
# `tgdigest health` exits 1 when the heartbeat is stale or a channel or the sender is stuck.
HEALTHCHECK --interval=60s --timeout=15s --start-period=60s --retries=3 \
    CMD ["tgdigest", "health"]
# `tgdigest run` handles SIGTERM itself (graceful stop within 10 s), so it is safe as PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tgdigest"]
CMD ["run"]
