# KD Studio on a GPU server: the Streamlit app, which starts its own local worker.
#
#   docker build -t kdstudio .
#   docker run --gpus all -p 127.0.0.1:8501:8501 -v kdstudio-data:/data kdstudio
#
# TensorFlow comes from PyPI as tensorflow[and-cuda]: the CUDA and cuDNN libraries are pip
# wheels, so the host needs only the NVIDIA driver and the NVIDIA Container Toolkit
# (--gpus all). Without a GPU the same image trains on the CPU.
FROM python:3.11-slim-bookworm

# Must equal the tensorflow pin in requirements.txt (tests/test_packaging.py checks it).
ARG TF_VERSION=2.21.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KDCORE_HOME=/data \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

RUN groupadd --gid 10001 kdstudio \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin kdstudio \
    && mkdir -p /data \
    && chown 10001:10001 /data

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt "tensorflow[and-cuda]==${TF_VERSION}"

COPY .streamlit/ .streamlit/
COPY kdcore/ kdcore/
COPY pages/ pages/
COPY app.py ./

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

# Inside the container the app listens on all interfaces (.streamlit/config.toml keeps
# localhost for local use); publish the port on 127.0.0.1 and put authentication in front.
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
