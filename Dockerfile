# One image for web (daphne), worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# OpenCV and MediaPipe need these shared libraries at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 postgresql-client \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt

COPY . .
# The manifest of hashed static files is built once, here; these throwaway values only let the
# settings load (production refuses to start without real ones).
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY=collectstatic-only-build-secret-not-used-at-run-time-0123456789 \
    ENCRYPTION_KEY=0000000000000000000000000000000000000000000000000000000000000000 \
    JWT_SIGNING_KEY=1111111111111111111111111111111111111111111111111111111111111111 \
    python manage.py collectstatic --noinput

RUN useradd --create-home procto && mkdir -p /app/media && chown procto /app/media
USER procto
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "procto.asgi:application"]
