# Rollcall hub. Build: docker build -t rollcall .   Run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml).
COPY pyproject.toml README.md ./
RUN mkdir -p hub storage loadtests && touch hub/__init__.py storage/__init__.py \
        loadtests/__init__.py \
    && pip install . \
    && pip uninstall -y rollcall \
    && rm -rf hub storage loadtests build *.egg-info

# The application. The pages are read from /app/web beside the package, so install in place.
COPY hub ./hub
COPY storage ./storage
COPY loadtests ./loadtests
COPY web ./web
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app rollcall

USER rollcall
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"

# Migrates on start (safe from several containers at once: an advisory lock serialises it).
# --workers above 1 needs ROLLCALL_REDIS_URL.
CMD ["rollcall", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
