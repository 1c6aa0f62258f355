# paysim where Python is not installed: CI runners, a load-generator VM, Azure Container Instances.
#   docker build -t paysim .
#   docker run --rm -e PAYSIM_ENV=staging -v "$PWD/.paysim:/home/paysim/.paysim" paysim verify RUN_ID
# The image drives Azure environments (simulate, verify, db, hub, metrics). The local stack (paysim
# local, demo, pipeline run) runs from a source checkout with Node.js, and terraform is not in it: run
# `paysim infra` where terraform is, and mount its .paysim/environments/ here.

# python:3.11-slim-bookworm by the digest of its multi-platform index, as docker-library/repo-info
# recorded it (repos/python/remote/3.11-slim-bookworm.md, commit bc9bbb47fc70): Python 3.11.16 on
# Debian 12. Both stages start from it. To move on: docker buildx imagetools inspect <tag>.
FROM python:3.11-slim-bookworm@sha256:fe556eaffd0d96abd8685b83bb8a69addd0dc730fa193669a7df0d49ddcfac02 AS base

# Build stage: paysim and its dependencies into a virtual environment; only that is carried over.
FROM base AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The wheel's inputs only (.dockerignore keeps the rest out); the migrations and profiles reach the
# packages through the symlinks paysim_cli/migrations/sql and paysim_cli/simulator/profiles.
COPY pyproject.toml README.md ./
COPY sql/ sql/
COPY profiles/ profiles/
COPY function/ function/
COPY paysim_cli/ paysim_cli/
RUN python -m venv /opt/paysim \
 && /opt/paysim/bin/pip install --no-cache-dir . \
 && /opt/paysim/bin/paysim --version \
 && /opt/paysim/bin/paysim profiles list

# Runtime stage: the base image, the virtual environment, an unprivileged user. No compiler, no source.
FROM base AS runtime
LABEL org.opencontainers.image.title="paysim" \
      org.opencontainers.image.description="CLI that provisions, migrates, drives and verifies the Azure payment-events pipeline" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/paysim/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 paysim \
 && useradd --system --no-log-init --uid 10001 --gid paysim --create-home --home-dir /home/paysim \
      --shell /usr/sbin/nologin paysim
COPY --from=build /opt/paysim /opt/paysim
# Numeric, so a platform can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
# paysim keeps its state (run manifests, connection profiles) in ./.paysim: the user's home.
WORKDIR /home/paysim
ENTRYPOINT ["paysim"]
CMD ["--help"]
