"""What Spark is given to reach the lake: the Hadoop settings :func:`pulse.lake_storage.spark_hadoop_conf`
derives from the ``pulse_lake`` connection, and how the Spark jobs' operator passes them at run time.
(Spark itself on Azurite with these settings: test_spark_on_azurite.py.)"""

from __future__ import annotations

import pytest

from devstack.stack import connection_env
from pulse.lake_storage import LakeStorageError, forget_resolved, spark_hadoop_conf

ROOT = "abfss://lake@pulseacct.dfs.core.windows.net/pulse"
HOST = "pulseacct.dfs.core.windows.net"
KEY = "a2V5LW9mLXRoZS1wdWxzZS10ZXN0cw=="
# Every Azure lake: hadoop-azure's own client metrics off (their read-footer metrics can fail a read).
CLIENT = {"spark.hadoop.fs.azure.metrics.collection.enabled": "false"}


@pytest.fixture
def lake_connection(monkeypatch):
    """Define ``pulse_lake`` (an Airflow connection dict) for this process; records what is masked."""
    masked = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda secret, name=None: masked.append(secret))

    def define(connection: dict) -> list[str]:
        for name, value in connection_env({"pulse_lake": connection}).items():
            monkeypatch.setenv(name, value)
        forget_resolved()
        return masked

    yield define
    forget_resolved()


def test_a_local_lake_needs_no_settings_and_no_connection(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_PULSE_LAKE", raising=False)
    assert spark_hadoop_conf(str(tmp_path)) == {}
    assert spark_hadoop_conf(f"file://{tmp_path}") == {}


def test_an_account_key_becomes_the_lakes_account_key_and_is_masked(lake_connection):
    masked = lake_connection({"conn_type": "adls", "login": "pulseacct", "password": KEY})
    assert spark_hadoop_conf(ROOT) == {f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "SharedKey",
                                       f"spark.hadoop.fs.azure.account.key.{HOST}": KEY, **CLIENT}
    assert KEY in masked


def test_an_emulators_endpoint_sends_abfs_there_over_http_in_blob_mode(lake_connection):
    connection_string = (f"DefaultEndpointsProtocol=http;AccountName=pulseacct;AccountKey={KEY};"
                         "BlobEndpoint=http://127.0.0.1:10000/pulseacct;")
    lake_connection({"conn_type": "wasb", "extra": {"connection_string": connection_string}})
    assert spark_hadoop_conf(ROOT.replace("abfss://", "abfs://")) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "SharedKey",
        f"spark.hadoop.fs.azure.account.key.{HOST}": KEY,
        "spark.hadoop.fs.azure.abfs.endpoint": "127.0.0.1:10000",
        "spark.hadoop.fs.azure.account.hns.enabled": "false",
        "spark.hadoop.fs.azure.fns.account.service.type": "BLOB",
        "spark.hadoop.fs.azure.always.use.https": "false",
        "spark.hadoop.fs.azure.networking.library": "JDK_HTTP_URL_CONNECTION",
        **CLIENT,
    }
    with pytest.raises(LakeStorageError, match=r"endpoint http://127.0.0.1:10000/pulseacct is plain http, which "
                                               r"abfss:// never uses: name the lake abfs://"):
        spark_hadoop_conf(ROOT)


def test_the_accounts_own_blob_endpoint_needs_no_override(lake_connection):
    lake_connection({"conn_type": "adls", "login": "pulseacct", "password": KEY,
                     "host": "https://pulseacct.blob.core.windows.net/"})
    assert all("endpoint" not in key and "https" not in key for key in spark_hadoop_conf(ROOT))


def test_a_sas_token_is_abfs_fixed_token_without_its_question_mark(lake_connection):
    masked = lake_connection({"conn_type": "adls", "login": "pulseacct", "extra": {"sas_token": "?sv=2024&sig=abc"}})
    assert spark_hadoop_conf(ROOT) == {f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "SAS",
                                       f"spark.hadoop.fs.azure.sas.fixed.token.{HOST}": "sv=2024&sig=abc", **CLIENT}
    assert "sv=2024&sig=abc" in masked  # as spark-submit gets it


def test_a_service_principal_signs_in_through_oauth_client_credentials(lake_connection):
    masked = lake_connection({"conn_type": "adls", "login": "app-id", "password": "app-secret",
                              "extra": {"tenant_id": "tenant-1"}})
    assert spark_hadoop_conf(ROOT) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "OAuth",
        f"spark.hadoop.fs.azure.account.oauth.provider.type.{HOST}":
            "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider",
        f"spark.hadoop.fs.azure.account.oauth2.client.endpoint.{HOST}":
            "https://login.microsoftonline.com/tenant-1/oauth2/token",
        f"spark.hadoop.fs.azure.account.oauth2.client.id.{HOST}": "app-id",
        f"spark.hadoop.fs.azure.account.oauth2.client.secret.{HOST}": "app-secret",
        **CLIENT,
    }
    assert "app-secret" in masked


def test_a_managed_identity_signs_in_through_oauth_with_nothing_secret(lake_connection):
    lake_connection({"conn_type": "adls", "login": "pulseacct", "extra": {"managed_identity_client_id": "mi-1"}})
    assert spark_hadoop_conf(ROOT) == {
        f"spark.hadoop.fs.azure.account.auth.type.{HOST}": "OAuth",
        f"spark.hadoop.fs.azure.account.oauth.provider.type.{HOST}":
            "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider",
        f"spark.hadoop.fs.azure.account.oauth2.client.id.{HOST}": "mi-1",
        **CLIENT,
    }


@pytest.mark.parametrize(("uri", "reason"), [
    ("wasbs://lake@pulseacct.blob.core.windows.net/pulse", "WASB was removed in Hadoop 3.5"),
    ("az://lake/pulse", "hadoop-azure needs the account's dfs host"),
])
def test_a_lake_uri_spark_cannot_read_is_refused_with_the_form_it_can(lake_connection, uri, reason):
    lake_connection({"conn_type": "adls", "login": "pulseacct", "password": KEY})
    with pytest.raises(LakeStorageError, match=reason) as refused:
        spark_hadoop_conf(uri)
    assert "abfss://<container>@<account>.dfs.core.windows.net/<path>" in str(refused.value)


def test_the_spark_jobs_get_the_lake_settings_when_they_run_and_a_local_lake_none(lake_connection, monkeypatch,
                                                                                  tmp_path):
    """The operator adds the settings to spark-submit's --conf at run time (the key, masked, with Spark's
    redaction widened to it); for a local lake the command is the provider's own."""
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    from pulse.spark_submit import SPARK_REDACTION_REGEX, LakeSparkSubmitOperator

    masked = lake_connection({"conn_type": "adls", "login": "pulseacct", "password": KEY})
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", '{"conn_type": "spark", "host": "local[2]"}')
    commands = []
    monkeypatch.setattr(SparkSubmitHook, "submit",
                        lambda hook, application, **kw: commands.append(hook._build_spark_submit_command(application)))

    def submitted(lake_root: str) -> list[str]:
        operator = LakeSparkSubmitOperator(task_id="silver", application="job.py", lake_root=lake_root,
                                           conf={"spark.sql.shuffle.partitions": "8"})
        assert KEY not in repr(operator.conf)  # nothing secret before the task runs
        operator.execute(context={})
        return commands.pop()

    remote = submitted(ROOT)
    assert f"spark.hadoop.fs.azure.account.key.{HOST}={KEY}" in remote and KEY in masked
    assert f"spark.redaction.regex={SPARK_REDACTION_REGEX}" in remote
    local = submitted(str(tmp_path))
    assert [arg for arg in local if arg.startswith("spark.")] == ["spark.sql.shuffle.partitions=8"]
