# Production image: gunicorn (uvicorn workers) serving helpdesk.asgi, pages and websockets;
# the same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH="/app/.venv/bin:$PATH"

# gettext provides msgfmt for `manage.py compilemessages`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN pip install "uv>=0.5"

WORKDIR /app

# Dependencies first, so this layer is reused until the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --no-cache

COPY . .

# Settings refuse to import without SECRET_KEY and would otherwise look for the
# embedded dev services, so these build-time commands get dummy values; nothing
# connects to them. `mkdir -p locale` keeps compilemessages from failing on a
# checkout where locale/ has no catalogues yet (git does not keep empty dirs).
RUN mkdir -p locale \
    && export SECRET_KEY=build \
              DATABASE_URL=postgres://x@localhost/x \
              REDIS_URL=redis://localhost:6379/0 \
    && python manage.py compilemessages --ignore .venv \
    && python manage.py collectstatic --noinput

# Unprivileged user; /data/media is where the compose file mounts uploads, and a
# fresh named volume takes its ownership from this directory.
RUN groupadd --system app \
    && useradd --system --gid app --create-home --home-dir /home/app app \
    && mkdir -p /data/media \
    && chown app:app /data/media
USER app

EXPOSE 8000

# Processes, threads and the database pool come from the settings (WEB_PROCESSES,
# WEB_THREADS, DB_POOL_*), read by helpdesk/gunicorn_conf.py; see docs/operations.md.
CMD ["gunicorn", "helpdesk.asgi:application", "--config", "python:helpdesk.gunicorn_conf", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
