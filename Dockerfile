# The appliance status service image: `appliance serve-status --in-cluster --port 8080`.
#
# Built from this package (the same code as the CLI), run by
# flux/base/platform/appliance-status.yaml as uid 10001 with a read-only root filesystem.
#   docker build -t ghcr.io/nine-minds/alga-appliance-status:<version> .
# The published image is built without Docker, reproducibly, by scripts/build_status_image.py
# (docs/status-service.md, "Building the image"): the same user, entrypoint, environment,
# ports and /opt/appliance/releases, but not the same bytes (here a python:3.11-slim base and
# wheels resolved at build time instead of the locked ones).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY appliance_cli ./appliance_cli
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels /wheels/*.whl

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALGA_APPLIANCE_RELEASES_DIR=/opt/appliance/releases \
    ALGA_APPLIANCE_HOME=/tmp/appliance-home
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels alga-appliance-cli \
 && rm -rf /wheels \
 && groupadd --system --gid 10001 appliance \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin appliance
# Release manifests (image tags, sizes) for the status classifier; no secrets, no site files.
COPY releases /opt/appliance/releases
USER 10001:10001
# 8080: the page (HTTPS with the mounted certificate); 8081: plain /healthz and a redirect
EXPOSE 8080 8081
# /healthz over plain HTTP: on 8081 when the certificate is mounted (8080 is then HTTPS), else on 8080
HEALTHCHECK --interval=20s --timeout=5s \
  CMD ["python", "-c", "import sys, urllib.request as u\nfor p in (8081, 8080):\n    try:\n        sys.exit(u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=2).status != 200)\n    except OSError:\n        pass\nsys.exit(1)"]
ENTRYPOINT ["appliance", "serve-status", "--in-cluster", "--port", "8080"]
