# A throwaway Postgres for cloud-db, from Debian's own postgresql package, for
# sites where the postgres:16 image cannot be pulled. It takes the same
# interface as the official image: POSTGRES_PASSWORD / POSTGRES_USER /
# POSTGRES_DB / POSTGRES_HOST_AUTH_METHOD, PGDATA=/var/lib/postgresql/data,
# port 5432, `pg_isready` on PATH.
# Build context: docker/postgres.Dockerfile docker/postgres-entrypoint.sh.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG PG_MAJOR=15
# The Debian package would create and start a cluster of its own; the
# entrypoint makes one in the volume on first start instead.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "postgresql-${PG_MAJOR}" tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data \
 && chmod 2777 /var/run/postgresql \
 && ln -s "/usr/lib/postgresql/${PG_MAJOR}/bin" /usr/lib/postgresql/bin
ENV PATH=/usr/lib/postgresql/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY docker/postgres-entrypoint.sh /usr/local/bin/battle-postgres-entrypoint
RUN chmod 755 /usr/local/bin/battle-postgres-entrypoint
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT is Postgres' "fast shutdown": clients are cut, no wait for them to leave.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/bin/tini", "--", "battle-postgres-entrypoint"]
CMD ["postgres"]
