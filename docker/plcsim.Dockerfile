# The reference plcsim (`python -m sut.plcsim`), as user battle (uid 10001);
# its writable state belongs under /data.
# Build context: src/ (pyproject.toml sut/ seed/) and docker/plcsim.Dockerfile.
ARG DEPS_IMAGE
FROM ${DEPS_IMAGE}
# src/ is the same in the three sut images, so the build cache shares this layer.
COPY src /tmp/src
RUN python -m pip install --no-index --no-deps --no-build-isolation --no-cache-dir \
        --disable-pip-version-check /tmp/src \
 && rm -rf /tmp/src
USER battle
CMD ["python", "-m", "sut.plcsim"]
