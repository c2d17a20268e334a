# stocky: the API image (also runs `stocky train`, `stocky scheduler`, `mlflow server`).
#
#   docker build -t stocky .
#   docker run -p 8000:8000 -v stocky-data:/data stocky
#
# The default command (`start`, see docker/entrypoint.sh) trains the default ticker when no
# champion model exists yet, then serves on 0.0.0.0:8000, so a plain `docker run` gives a
# working API offline from the prices bundled in the installed packages. Any other command runs
# as given: `docker run stocky stocky train --all`, `docker run stocky stocky serve`.
#
# BASE_IMAGE must provide python3 (3.11+) with the venv module and update-ca-certificates.
# Both stages use it, so the venv copied between them finds the same interpreter path.
# Extra CA certificates (a TLS-intercepting proxy): put PEM files named *.crt in docker/certs/
# (git-ignored) before building; pip trusts them at build time and the image at run time.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder

# Pinned so both bases (official image, plain Debian) build with the same installer.
ARG PIP_VERSION=26.3

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1

COPY docker/certs/ /usr/local/share/ca-certificates/stocky/
RUN update-ca-certificates \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir "pip==${PIP_VERSION}"

WORKDIR /build

# Dependencies first, cached until pyproject.toml, the lock or the version change: here the
# package is only its __init__ (and an empty README); the real one is installed over it below.
COPY pyproject.toml requirements.lock requirements-nodeps.lock ./
COPY src/stocky/__init__.py src/stocky/__init__.py
RUN touch README.md \
    && /opt/venv/bin/python -m pip install --no-cache-dir -c requirements.lock . \
    && /opt/venv/bin/python -m pip install --no-cache-dir --no-deps -r requirements-nodeps.lock

COPY README.md ./
COPY src/ src/
RUN /opt/venv/bin/python -m pip install --no-cache-dir --no-deps --force-reinstall . \
    && /opt/venv/bin/stocky version


FROM ${BASE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="stocky" \
      org.opencontainers.image.description="One-step-ahead stock-price forecasts (ARIMA) over a REST API, with MLflow model lifecycle." \
      org.opencontainers.image.licenses="MIT"

COPY docker/certs/ /usr/local/share/ca-certificates/stocky/
COPY docker/entrypoint.sh /usr/local/bin/stocky-entrypoint

# A fixed numeric uid/gid: volumes and Kubernetes' runAsNonRoot can rely on it.
RUN update-ca-certificates \
    && chmod 0755 /usr/local/bin/stocky-entrypoint \
    && groupadd --system --gid 10001 stocky \
    && useradd --system --no-log-init --uid 10001 --gid stocky \
       --home-dir /data --no-create-home --shell /usr/sbin/nologin stocky \
    && mkdir -p /data \
    && chown stocky:stocky /data

COPY --from=builder /opt/venv /opt/venv

# One BLAS thread: statsmodels fits are ~20x slower with more on a busy small machine.
# requests and curl_cffi (Yahoo Finance) read the system bundle, extra CAs included.
# No MLflow usage telemetry from a server; COLUMNS keeps `stocky train`'s table whole in logs.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    MLFLOW_DISABLE_TELEMETRY=true \
    COLUMNS=120 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    STOCKY_HOME=/data \
    STOCKY_HOST=0.0.0.0 \
    STOCKY_PORT=8000

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# Liveness only (GET /health); the first start may train for a minute before serving.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('STOCKY_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["stocky-entrypoint"]
CMD ["start"]
