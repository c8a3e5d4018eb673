# The harness: crew, chaos, mutator, observer (`python -m battle ...`) and the
# seeder (`python -m seed ...`). Compose picks the command.
# Runs as root: chaos talks to the mounted Docker socket, whose group differs
# from host to host, and the observer reads every service's volume.
# Build context: src/ (pyproject.toml battle/ seed/) and docker/harness.Dockerfile.
ARG DEPS_IMAGE
FROM ${DEPS_IMAGE}
COPY src /tmp/src
RUN python -m pip install --no-index --no-deps --no-build-isolation --no-cache-dir \
        --disable-pip-version-check /tmp/src \
 && rm -rf /tmp/src
CMD ["python", "-m", "battle"]
