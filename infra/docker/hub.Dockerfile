# syntax=docker/dockerfile:1.7
# The hub (control plane): `docker build -f infra/docker/hub.Dockerfile -t edh-hub .`
# from the repository root. Built from the project's pyproject.toml with the `hub` extra.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# gcc and the C library's headers compile the connector pipeline's hot modules into the
# wheel (mypyc, setup.py; the image's Python has its headers); the runtime stage copies the
# venv only. libc6-dev follows the base image's libc6, which Debian's updates move.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/edh
COPY pyproject.toml setup.py README.md ./
COPY scripts/compiled.py ./scripts/
COPY contracts ./contracts
COPY connector ./connector
COPY hub ./hub
# The in-process OPA engine declares Python >= 3.14 but works on 3.11 (see docs/architecture.md).
RUN /opt/edh/bin/pip install ".[hub]" \
 && /opt/edh/bin/pip install --no-deps --ignore-requires-python "opa-golib-python-bindings==0.4.4"

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="edh-hub" \
      org.opencontainers.image.description="Education Data Hub control plane" \
      org.opencontainers.image.licenses="EUPL-1.2"
# SoftHSM2: the PKCS#11 token of the pseudonymisation service in the trial topology.
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2=2.6.1-2.1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 edh \
 && useradd --system --uid 10001 --gid edh --home-dir /var/lib/edh --create-home edh
COPY --from=build /opt/edh /opt/edh
COPY policies /opt/edh/policies
COPY --chmod=0755 infra/docker/entrypoint.sh /usr/local/bin/edh-entrypoint
ENV PATH=/opt/edh/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EDH_DATA_DIR=/var/lib/edh \
    EDH_POLICY__DIRECTORY=/opt/edh/policies
USER 10001:10001
WORKDIR /var/lib/edh
VOLUME ["/var/lib/edh"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["edh-entrypoint"]
CMD ["edh", "serve", "--host", "0.0.0.0", "--port", "8000"]
