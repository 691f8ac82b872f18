# The image that runs the code location, the webserver and the daemon alike (dagster-k8s uses
# the same image for run and step pods). Configuration comes from the environment only.

# Build stage: the CSV scanner and the PostgreSQL COPY encoder are C extensions
# (marina_assets/parsing/_csvscan.c, marina_assets/warehouse/_pgcopy.c). The slim image has no
# compiler, and without one the install would quietly fall back to the slower Arrow reader and
# numpy encoder, so the wheel is built here and the build fails if an extension is missing.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY marina_assets ./marina_assets
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && pip install --no-cache-dir --no-deps --target /tmp/check /wheels/*.whl \
    && PYTHONPATH=/tmp/check python -c "import marina_assets.parsing._csvscan, marina_assets.warehouse._pgcopy"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home \
    MARINA_HOME=/var/lib/marina

WORKDIR /opt/marina
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels && mkdir -p "$DAGSTER_HOME" "$MARINA_HOME" \
    && useradd --system --home-dir /opt/marina marina && chown -R marina "$DAGSTER_HOME" "$MARINA_HOME"
COPY workspace.yaml ./
COPY sql ./sql

USER marina
EXPOSE 3000
# Override the command for the daemon: ["dagster-daemon", "run", "-w", "workspace.yaml"]
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
