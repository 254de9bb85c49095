# syntax=docker/dockerfile:1.7
# The connector (vendor side): `docker build -f infra/docker/connector.Dockerfile -t edh-connector .`
# from the repository root. Built from pyproject.toml with no extra: no DuckDB, OPA or UI.

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
RUN python -m venv /opt/edh-connector
COPY pyproject.toml setup.py README.md ./
COPY scripts/compiled.py ./scripts/
COPY contracts ./contracts
COPY connector ./connector
COPY hub ./hub
RUN /opt/edh-connector/bin/pip install .

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="edh-connector" \
      org.opencontainers.image.description="Education Data Hub connector (xAPI endpoint and pipeline)" \
      org.opencontainers.image.licenses="EUPL-1.2"
RUN groupadd --system --gid 10002 edh \
 && useradd --system --uid 10002 --gid edh --home-dir /var/lib/edh-connector --create-home edh
COPY --from=build /opt/edh-connector /opt/edh-connector
COPY --chmod=0755 infra/docker/entrypoint.sh /usr/local/bin/edh-entrypoint
ENV PATH=/opt/edh-connector/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EDH_CONNECTOR_DATA_DIR=/var/lib/edh-connector
USER 10002:10002
WORKDIR /var/lib/edh-connector
VOLUME ["/var/lib/edh-connector"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/xapi/about', timeout=4)"]
ENTRYPOINT ["edh-entrypoint"]
CMD ["edh-connector", "run"]
