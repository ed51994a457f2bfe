# Stand-in for mcr.microsoft.com/dotnet/aspnet:10.0 (scripts/container-base-images.sh builds it): Debian 12
# with the libraries of the official runtime-deps images and the build machine's .NET runtimes
# (context: dotnet/, holding only `dotnet`, `host` and the two shared frameworks), and the same unprivileged
# user: `app`, UID and GID 1654, in APP_UID.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
ENV APP_UID=1654 \
    ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 tzdata zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid=$APP_UID app \
    && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app
COPY dotnet/ /usr/share/dotnet/
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
