# The Python runtime every battle image shares: a venv with the project's
# dependencies, installed from a wheelhouse made on the host (no index needed).
# Works on the debootstrap base (Debian python3 + python3-venv) and on
# python:3.11-slim alike. Build context: this file + wheelhouse/ (with
# requirements.txt in it).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS venv
ARG PYTHON=python3
# Lets the bootstrap remove this stage (wheelhouse copy included) once the image is built.
LABEL battle.stage=pydeps-venv
COPY wheelhouse /wheelhouse
# python3 -m venv gives the venv its own pip (ensurepip): the base needs no pip.
RUN ${PYTHON} -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-index --find-links /wheelhouse --no-cache-dir \
        --disable-pip-version-check -r /wheelhouse/requirements.txt

FROM ${BASE_IMAGE}
# tini as PID 1 forwards signals and reaps zombies. The debootstrap base has it
# (and procps) already; python:3.11-slim does not, and has a registry-era network.
RUN if ! command -v tini >/dev/null || ! command -v ps >/dev/null; then \
        apt-get update \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini procps \
     && apt-get clean \
     && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin battle \
 && mkdir -p /data \
 && chown battle:battle /data
COPY --from=venv /opt/venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
WORKDIR /data
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python"]
