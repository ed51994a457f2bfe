# Stand-in for postgres:15 (scripts/container-base-images.sh builds it): Debian 12's PostgreSQL 15 with an
# entrypoint that does what the official one does with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB
# (postgres-entrypoint.sh), the server's programs (pg_isready...) on PATH, data in /var/lib/postgresql/data.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# No cluster from the package's install script: the entrypoint creates one in PGDATA on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main-cluster.conf \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
