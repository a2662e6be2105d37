# syntax=docker/dockerfile:1
# Engage: a production image. Build stage: the NHS.UK frontend (npm), the translation catalogues
# and the wheel. Runtime: slim Python, the wheel with its PostgreSQL, Redis and S3 extras, an
# unprivileged user, gunicorn with engage/gunicorn_conf.py, a health check on /healthz.

FROM node:22-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.12-slim-bookworm AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml babel.cfg ./
COPY engage ./engage
COPY --from=frontend /src/node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css \
     /src/node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js \
     ./engage/static/vendor/nhsuk/
COPY --from=frontend /src/node_modules/nhsuk-frontend/dist/nhsuk/assets/ ./engage/static/vendor/nhsuk/
RUN pip install "babel>=2.14,<3" \
 && pybabel compile -d engage/translations \
 && pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 ENGAGE_CONFIG=production WEB_BIND=0.0.0.0:8000 \
    ENGAGE_INSTANCE_PATH=/var/lib/engage
# postgresql-client: pg_dump and pg_restore for `engage backup` and `engage restore`. Debian's
# version follows the base image, which is what the image's security updates track.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 engage \
 && useradd --system --uid 10001 --gid engage --home-dir /var/lib/engage --create-home engage
COPY --from=build /wheels /wheels
# Our own wheel; its dependencies are pinned by the ranges in pyproject.toml.
# hadolint ignore=DL3013
RUN wheel=$(ls /wheels/engage-*.whl) && pip install "${wheel}[postgres,redis,s3]" && rm -rf /wheels
USER 10001:10001
WORKDIR /var/lib/engage
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["engage", "serve"]
