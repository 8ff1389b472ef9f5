# Messages Sandbox: docker build -t messages-sandbox . && docker run -p 4010:4010 messages-sandbox
# Build stage: the package installed exactly as the README does (a venv, then pip install .).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY spec ./spec
COPY scenarios ./scenarios
RUN python -m venv /opt/sandbox && /opt/sandbox/bin/pip install --no-cache-dir .

FROM python:3.11-slim
COPY --from=build /opt/sandbox /opt/sandbox
RUN useradd --create-home --uid 10001 sandbox && mkdir /scenarios && chown sandbox /scenarios
ENV PATH=/opt/sandbox/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SANDBOX_PORT=4010 \
    SANDBOX_SCENARIOS=/scenarios
USER sandbox
WORKDIR /home/sandbox
# Your scenario files: docker run -v "$PWD/scenarios:/scenarios:ro" …
VOLUME ["/scenarios"]
EXPOSE 4010
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SANDBOX_PORT', '4010') + '/_sandbox/health', timeout=2)"]
# Exec form: SIGTERM from `docker stop` reaches the sandbox, which stops cleanly.
ENTRYPOINT ["messages-sandbox", "serve", "--host", "0.0.0.0"]
