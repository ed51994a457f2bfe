# Stand-in for mcr.microsoft.com/dotnet/sdk:10.0 (scripts/container-base-images.sh builds it): Debian 12 with
# the build machine's .NET SDK folder (context: dotnet/) and its extra trusted certificates (context: certs/),
# so that `dotnet restore` works through a TLS-intercepting proxy.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 tzdata zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY certs/ /usr/local/share/ca-certificates/
COPY dotnet/ /usr/share/dotnet/
RUN update-ca-certificates && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
# As the official SDK images set them.
ENV DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_NOLOGO=true \
    DOTNET_GENERATE_ASPNET_CERTIFICATE=false \
    NUGET_XMLDOC_MODE=skip
CMD ["bash"]
