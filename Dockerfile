# The hub as a container: slim Python, only runtime dependencies, non-root.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# Every runtime dependency comes from the hashed lock (python3 tasks.py lock), so
# the image runs exactly the versions CI tested; this layer is reused until the
# lock changes.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes --prefix=/install -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY adapters ./adapters
# The hub itself, without dependencies: the lock above already installed them.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-deps --prefix=/install .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUB_ENV=production \
    HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    HUB_KEYS_DIR=/run/hub/keys \
    HUB_SPECS_DIR=/app/specs
RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin hub
COPY --from=build /install /usr/local
WORKDIR /app
COPY specs ./specs
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["hub", "serve"]
