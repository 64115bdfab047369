# One image for every service of docker-compose.yml: the Airflow 3 components, the Celery
# workers that run the pipeline's tasks, and the TTHC API emulator.
# Dependencies come from requirements.txt at build time (exact pins), never from
# _PIP_ADDITIONAL_REQUIREMENTS at container start.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    TTHC_HOME=/opt/tthc

# uid 50000 / gid 0: the convention of the official Airflow image, so volumes made for it work.
RUN useradd --create-home --uid 50000 --gid 0 --home-dir /home/airflow airflow \
    && mkdir -p /opt/airflow /opt/tthc/warehouse \
    && chown -R 50000:0 /opt/airflow /opt/tthc

WORKDIR /opt/tthc

COPY requirements.txt ./requirements.txt
RUN pip install -r requirements.txt

COPY pyproject.toml ./pyproject.toml
COPY etl/ ./etl/
COPY dags/ ./dags/
COPY sql/ ./sql/
COPY expectations/ ./expectations/
# Editable: the package reads sql/ and expectations/ beside it. The DAGs import it installed.
RUN pip install --no-deps -e .

# The warehouse paths point into the named volume.
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/tthc/dags \
    TTHC_WAREHOUSE=/opt/tthc/warehouse/tthc.duckdb \
    TTHC_RAW_DIR=/opt/tthc/warehouse/raw \
    TTHC_PUBLISHED=/opt/tthc/warehouse/published/tthc.duckdb

USER 50000
CMD ["airflow", "version"]
