# Stand-in for nvidia/cuda:12.8.1-base-ubuntu24.04 (scripts/container-base-images.sh builds it), only so that
# deploy/docker/Dockerfile.cuda can be built on a machine without a registry: Debian 12 with the variables the
# NVIDIA Container Toolkit reads. It holds no CUDA library (libtorch brings its own) and was never run on a GPU.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64
CMD ["bash"]
