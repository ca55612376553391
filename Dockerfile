# syntax=docker/dockerfile:1
# Podium server image: `podium server` on 0.0.0.0:5000, as an unprivileged user, with the drivers a
# team needs (PostgreSQL, MySQL/MariaDB, S3). See docs/deploy.md.
#
#   docker build -t podium:dev .
#   docker run -p 5000:5000 podium:dev                      # embedded SQLite in /var/lib/podium
#   docker run -p 5000:5000 -e PODIUM_BACKEND_STORE_URI=postgresql://... \
#              -e PODIUM_ARTIFACTS_DESTINATION=s3://bucket/podium podium:dev --workers 4
#
# Stage 1 builds wheels for Podium and every dependency; stage 2 installs them into a clean
# python:3.11-slim without compilers, pip caches or the source tree.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# compilers only for dependencies without a wheel for this platform; they stay in this stage
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY podium ./podium
RUN pip wheel --wheel-dir /wheels ".[postgres,mysql,s3]"

FROM ${PYTHON_IMAGE} AS runtime
ARG PODIUM_UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
LABEL org.opencontainers.image.title="podium" \
      org.opencontainers.image.description="Podium: an MLflow-compatible model registry server" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid ${PODIUM_UID} podium \
    && useradd --system --uid ${PODIUM_UID} --gid podium --home-dir /var/lib/podium --shell /usr/sbin/nologin podium \
    && install -d -o podium -g podium -m 0750 /var/lib/podium
# the wheels are bind-mounted from the builder, so they never become a layer of this image
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "podium[postgres,mysql,s3]"

# the embedded default (./podium-data) lands here; mount a volume to keep it
WORKDIR /var/lib/podium
USER ${PODIUM_UID}:${PODIUM_UID}
EXPOSE 5000
# /health answers without touching the database (PODIUM_PORT if the port was moved)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('PODIUM_PORT') or '5000'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]
# more flags may follow: `docker run podium --workers 4`; other commands: `--entrypoint podium ... db upgrade`
ENTRYPOINT ["podium", "server", "--host", "0.0.0.0"]
