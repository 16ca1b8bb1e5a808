"""deJPEG: detect JPEG compression (never / once / twice) and remove JPEG artifacts."""
import os

# Before NumPy loads: its BLAS (OpenBLAS) would start a spinning thread per core for the
# small 8x8 DCT products here, while TensorFlow runs its own pool; under concurrent requests
# those threads only fight for the CPU (`make loadtest` on 2 cores: 14.5 requests/s with
# one, server/loadtest-results.json; 5.2 in an ad-hoc run without the limit).  An explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
