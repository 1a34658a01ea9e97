# Switchyard's Airflow image: the official Airflow 3.3.2 image plus the project's pinned lock, so the
# containers of docker-compose.yaml run exactly what `make test` tests. dags/, plugins/ and include/
# are mounted by docker-compose.yaml, not copied: edit on the host, the containers see it.
#
#   docker compose build        (docker-compose.yaml builds it as switchyard-airflow:3.3.2)
FROM apache/airflow:3.3.2-python3.11

# Every package pinned with its hash (apache-airflow, the amazon, cncf-kubernetes, standard, slack
# providers, moto for the local AWS, ...). pip runs as the image's airflow user (PIP_USER).
COPY --chown=airflow:0 requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps --require-hashes -r /opt/airflow/requirements.lock

# Refuse to build an image whose Airflow or providers differ from the lock's pins.
RUN python -c 'import re; from importlib.metadata import version; \
pins = dict(re.findall(r"^(apache-airflow[a-z-]*)==([^\s;\\]+)", open("/opt/airflow/requirements.lock").read(), re.M)); \
wrong = {n: (p, version(n)) for n, p in pins.items() if version(n) != p}; \
assert pins and not wrong, f"installed versions differ from requirements.lock (pin, installed): {wrong}"; \
print("image matches requirements.lock:", ", ".join(f"{n}=={v}" for n, v in sorted(pins.items())))'

# Run artefacts (gate pictures, backups, incident reports): written by the tasks (scheduler, with
# LocalExecutor), served by the api-server's Switchyard plugin; a named volume shared by both.
RUN mkdir -p /opt/airflow/artifacts
