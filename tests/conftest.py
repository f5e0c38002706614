"""Shared test fixtures: where the real data lives, and a skip when it is absent."""

from pathlib import Path

import pytest

# Every child process of the run is stopped when the run ends, however it ends (tests/process_guard.py).
pytest_plugins = ["tests.process_guard"]

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


# What a test needs decides its markers, so `make test-fast` (-m "not spark and not e2e and not browser")
# never starts Spark, a browser or a DAG run, even in a test that forgot its module's pytestmark.
_MARKERS_BY_FIXTURE = {"spark": "spark", "spark_cluster": "e2e", "runner": "e2e", "probe_dag_airflow": "e2e",
                       "azurite": "e2e", "browser": "browser"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for fixture, marker in _MARKERS_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
    _longest_modules_first(items)


def _longest_modules_first(items) -> None:
    """Modules that run DAGs come first, then those that start Spark, then the rest, each module's tests
    together and in their order. `make test` runs the suite on two pytest-xdist workers, a module at a
    time (``--dist loadfile``); starting with the modules that take minutes lets both finish together
    instead of one running an end-to-end module alone at the end."""
    def weight(item) -> int:
        return 0 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("spark") else 2

    module_weight, module_order = {}, {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        module_order.setdefault(module, len(module_order))
        module_weight[module] = min(module_weight.get(module, 2), weight(item))
    items.sort(key=lambda item: (module_weight[m := item.nodeid.split("::", 1)[0]], module_order[m]))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real datasets beside the checkout (../shared/realdata)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA}: these tests need ../shared/realdata beside the checkout")
    return REALDATA


_SPARK_SESSIONS: list = []


@pytest.fixture(scope="session")
def spark():
    """The local Spark session every test that needs Spark shares (real Spark, small and quiet), with the
    settings the jobs set themselves (``spark_jobs.common.job.SESSION_CONF``)."""
    from pyspark.sql import SparkSession

    from pulse.config import spark_conf, spark_jars
    from spark_jobs.common.job import spark_session
    from tests.spark_tuning import TINY_DATA

    # How the jobs run under spark-submit, with the suite's tiny-data settings below (one partition each).
    conf = {**spark_conf(), "spark.ui.enabled": "false", "spark.jars": ",".join(spark_jars())}
    # One session lives for the whole suite (thousands of jobs): keep little of each finished job, stage and
    # query for the status store (the UI is off; CI ran out of heap there), and give the driver room.
    conf.update(TINY_DATA)  # the same results, less fixed cost per query (tests/spark_tuning.py)
    conf.update({"spark.ui.retainedJobs": "50", "spark.ui.retainedStages": "50", "spark.ui.retainedTasks": "1000",
                 "spark.sql.ui.retainedExecutions": "20", "spark.driver.memory": "2g"})
    builder = SparkSession.builder.master("local[2]")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = spark_session("pulse-tests", builder)
    session.sparkContext.setLogLevel("ERROR")
    _SPARK_SESSIONS.append(session)
    yield session
    _SPARK_SESSIONS.clear()
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_spark_caches():
    """After each test module, the shared session forgets the Delta logs and cached data the module read:
    every test writes tables of its own, and Delta keeps each table's snapshot until the cache expires."""
    yield
    for session in _SPARK_SESSIONS:
        session.catalog.clearCache()
        session._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


@pytest.fixture(scope="session")
def postgres() -> dict:
    """A real PostgreSQL server for the test session (the pgserver wheel), stopped afterwards.

    Its data directory is not under pytest's temporary root: as root, pgserver runs the server as a user
    of its own and opens the folders above the data directory to it, and every pytest session that starts
    closes its root again (mode 0700), which made the server panic mid-run. Yields the
    ``pulse_warehouse`` connection as an Airflow connection dict."""
    import atexit
    import shutil
    import tempfile

    from pgserver.postgres_server import PostgresServer

    from devstack.stack import start_postgres, stop_postgres

    folder = Path(tempfile.mkdtemp(prefix="pulse-test-pg-"))
    pgdata = folder / "pgdata"
    conn = start_postgres(pgdata)
    yield conn
    stop_postgres(pgdata)
    shutil.rmtree(folder, ignore_errors=True)
    server = PostgresServer._instances.pop(pgdata.resolve(), None)
    if server is not None:
        atexit.unregister(server._cleanup)


@pytest.fixture
def pg_conn(postgres):
    """A psycopg connection to a fresh, empty database of the test server."""
    import uuid

    import psycopg

    admin = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname="postgres",
                            autocommit=True)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE DATABASE {name}")
    conn = psycopg.connect(host=postgres["host"], port=postgres["port"], user="postgres", dbname=name,
                           autocommit=True)
    yield conn
    conn.close()
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A Spark standalone cluster on localhost (master and one worker from the pyspark wheel), shared by
    the e2e tests that send a run's Spark jobs to it; stopped at the end of the session."""
    from tests.scale_out.cluster import standalone_cluster

    with standalone_cluster(tmp_path_factory.mktemp("spark_cluster")) as cluster:
        yield cluster
