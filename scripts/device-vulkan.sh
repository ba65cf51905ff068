# Sourced by the device scripts, with PSTM set to the binary: the environment pstm needs on the
# GPU machine. The Vulkan loader travels as Debian packages in .gl/; the NVIDIA driver (ICD) is
# already there.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export PSTM_CACHE_DIR=${PSTM_CACHE_DIR:-/tmp/pstm-cache}
if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
if ! "$PSTM" kernels 2>/dev/null | grep -q "^gpu-v0 \+available"; then
    # The loader did not find the driver's manifest in its default places.
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
