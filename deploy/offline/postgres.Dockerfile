# Stand-in for postgres:17-trixie: Debian's postgresql-17 with an entrypoint that honours the
# official image's variables (POSTGRES_USER, POSTGRES_PASSWORD[_FILE], POSTGRES_DB, PGDATA).
FROM loupe-offline/debian:trixie
RUN apt-get update && apt-get install -y postgresql-17 util-linux && rm -rf /var/lib/apt/lists/* \
 && rm -rf /var/lib/postgresql/17 /etc/postgresql/17/main \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PATH=/usr/lib/postgresql/17/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
