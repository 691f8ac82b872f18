# The image that runs the code location, the webserver and the daemon alike (dagster-k8s uses
# the same image for run and step pods). Configuration comes from the environment only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home \
    MARINA_HOME=/var/lib/marina

WORKDIR /opt/marina
COPY pyproject.toml README.md ./
COPY marina_assets ./marina_assets
RUN pip install . && mkdir -p "$DAGSTER_HOME" "$MARINA_HOME" \
    && useradd --system --home-dir /opt/marina marina && chown -R marina "$DAGSTER_HOME" "$MARINA_HOME"
COPY workspace.yaml ./
COPY sql ./sql

USER marina
EXPOSE 3000
# Override the command for the daemon: ["dagster-daemon", "run", "-w", "workspace.yaml"]
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
