# Stand-in for nginx:1.28-alpine (scripts/container-base-images.sh builds it): Debian 12's nginx 1.22 and wget
# (the compose health check uses it), with the official images' unprivileged user `nginx`, UID and GID 101,
# owning /var/cache/nginx. nginx 1.22 has no `resolve` on upstream servers (1.27.3+), so compose runs it with
# deploy/nginx/upstream.static.conf (GATEWAY_UPSTREAM), which resolves the replicas' name at start and reload.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# The user first, so that no package takes UID 101.
RUN groupadd --system --gid 101 nginx \
    && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx \
    && apt-get update \
    && apt-get install -y --no-install-recommends nginx wget \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/cache/nginx \
    && chown nginx:nginx /var/cache/nginx \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
