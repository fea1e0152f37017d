# Logship collector and workers: one image, the command picks the role.
#
#   docker build -t logship .
#   docker run --rm logship --help
#   docker run -p 8888:8888 -e BROKER_URL=amqp://... logship collector
#   docker run -e BROKER_URL=amqp://... -e LOGSHIP_DATABASE_URL=postgresql://... logship worker
#   docker run -p 8888:8888 -v logship-data:/var/lib/logship logship up --data-dir /var/lib/logship
#
# The builder stage's install steps live in packaging/docker/install.sh, which CI also runs
# (packaging/docker/ci-install.sh) so that they cannot rot. See compose.yaml for a full stack.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md schema.sql ./
COPY logship ./logship
COPY agent ./agent
COPY collector ./collector
COPY workers ./workers
COPY analysis ./analysis
COPY packaging/docker/install.sh /usr/local/bin/logship-install
RUN sh /usr/local/bin/logship-install /opt/logship /src \
    && /opt/logship/bin/python -m compileall -q /opt/logship/lib

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="logship" \
      org.opencontainers.image.description="Logship collector and Celery storage workers"
RUN groupadd --system --gid 10001 logship \
    && useradd --system --uid 10001 --gid logship --home-dir /var/lib/logship \
       --shell /usr/sbin/nologin logship \
    && mkdir -p /var/lib/logship \
    && chown logship:logship /var/lib/logship
COPY --from=builder /opt/logship /opt/logship
ENV PATH=/opt/logship/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOGSHIP_SCHEMA_FILE=/opt/logship/share/logship/schema.sql \
    HOST=0.0.0.0 \
    PORT=8888 \
    STORAGE_PATH=/var/lib/logship/received \
    LOGSHIP_BROKER_DIR=/var/lib/logship/broker
WORKDIR /var/lib/logship
VOLUME ["/var/lib/logship"]
USER 10001:10001
EXPOSE 8888
ENTRYPOINT ["logship"]
CMD ["collector"]
