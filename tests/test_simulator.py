"""The simulated DataArts Factory API, over real HTTP on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from dlf_simulator import (
    DEMO_ACCESS_KEY,
    DEMO_IAM_DOMAIN,
    DEMO_IAM_PASSWORD,
    DEMO_IAM_USER,
    DEMO_SECRET_KEY,
    DEMO_SECURITY_TOKEN,
    DEMO_TEMP_ACCESS_KEY,
    DEMO_TEMP_SECRET_KEY,
    DEMO_TOKEN,
    NON_ASCII_JOB,
    REAL_TIME_JOB,
    SECOND_WORKSPACE_ID,
    Dataset,
    SimConfig,
    SimulatedDLF,
    bulk_dataset,
    demo_dataset,
)

from tap_dlf_instances.auth import signing

DAY = 86_400_000
T0 = 1_730_851_200_000  # 2024-11-06T00:00:00Z


class Client:
    """Signs each request itself (X-Sdk-Date, Host, Authorization) or sends a token."""

    def __init__(
        self,
        sim: SimulatedDLF,
        *,
        access_key: str = DEMO_ACCESS_KEY,
        secret_key: str = DEMO_SECRET_KEY,
        token: str | None = None,
    ) -> None:
        self.sim = sim
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.session = requests.Session()
        self.project_id = sim.dataset.project_id

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        date: datetime | None = None,
        secret_key: str | None = None,
    ) -> requests.Response:
        raw_path = quote(path, safe="/")
        raw_query = urlencode(params or {}, quote_via=quote)
        sent = dict(headers or {})
        if self.token:
            sent["X-Auth-Token"] = self.token
        else:
            sent["Host"] = f"127.0.0.1:{self.sim.port}"
            sent["X-Sdk-Date"] = signing.sdk_date(date)
            sent["Authorization"] = signing.sign(
                method="GET",
                path=raw_path,
                raw_query=raw_query,
                headers=sent,
                body=None,
                access_key=self.access_key,
                secret_key=secret_key or self.secret_key,
            )
        url = self.sim.url + raw_path + (f"?{raw_query}" if raw_query else "")
        return self.session.get(url, headers=sent, timeout=10)

    def instances(self, job: str, *, headers: Mapping[str, str] | None = None, **params: Any) -> Any:
        return self.get(self.instances_path(job), params, headers)

    def instances_path(self, job: str) -> str:
        return f"/v2/{self.project_id}/factory/jobs/{job}/instances/detail"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    data = demo_dataset(months=2, seed=7, second_workspace=True)
    data.add_job("edge_job")
    # Two instances exactly on the window edges, one inside, two outside; a plan_time tie.
    for plan in (T0 - 1, T0, T0 + 1, T0 + DAY - 1, T0 + DAY, T0 + DAY + 1):
        data.add_instance("edge_job", plan, instance_id=900_000 + plan - T0 + 10)
    data.add_instance("edge_job", T0 + 1, instance_id=990_000)
    return data


@pytest.fixture(scope="module")
def sim(dataset: Dataset) -> Iterator[SimulatedDLF]:
    with SimulatedDLF(dataset, SimConfig(rate_limit_per_user=None)) as server:
        yield server


@pytest.fixture
def client(sim: SimulatedDLF) -> Client:
    sim.set_faults([])
    return Client(sim)


def ids(response: requests.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["instance_id"] for row in response.json()["instances"]]


# --- the instances route ------------------------------------------------------------------


def test_bounds_are_strict_and_order_is_newest_first(client: Client) -> None:
    got = client.instances("edge_job", min_plan_time=T0, max_plan_time=T0 + DAY, limit=100)
    rows = got.json()["instances"]
    assert [r["plan_time"] for r in rows] == [T0 + DAY - 1, T0 + 1, T0 + 1]
    assert [r["instance_id"] for r in rows][1:] == [990_000, 900_011]  # tie: higher id first
    assert got.json()["total"] == 3


def test_window_of_thirty_days_is_the_limit(client: Client) -> None:
    ok = client.instances("edge_job", min_plan_time=T0, max_plan_time=T0 + 30 * DAY)
    assert ok.status_code == 200
    too_long = client.instances("edge_job", min_plan_time=T0, max_plan_time=T0 + 30 * DAY + 1)
    assert too_long.status_code == 400
    assert "one month" in too_long.json()["error_msg"]
    october = client.instances(
        "edge_job", min_plan_time=1_727_740_800_000, max_plan_time=1_730_419_200_000
    )  # 2024-10-01 .. 2024-11-01: a 31-day calendar month
    assert october.status_code == 400


def test_defaults_are_today_until_now(client: Client, sim: SimulatedDLF) -> None:
    now = sim.now_ms()
    got = client.instances("hourly_orders_etl", limit=1000)
    expected = sim.dataset.expected("hourly_orders_etl", now - now % DAY, now + 1)
    assert ids(got) == [inst.instance_id for inst in expected][: len(ids(got))]
    assert got.json()["total"] >= len(expected) - 1


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 400),
        ({"limit": 1001}, 400),
        ({"limit": 1000}, 200),
        ({"limit": "ten"}, 400),
        ({"offset": -1}, 400),
        ({"min_plan_time": "1.5"}, 400),
        ({"status": "done"}, 400),
        ({"instance_type": 3}, 400),
        ({"force_success": "yes"}, 400),
    ],
)
def test_parameters_are_checked(client: Client, params: dict[str, Any], status: int) -> None:
    window: dict[str, Any] = {"min_plan_time": T0, "max_plan_time": T0 + DAY}
    assert client.instances("edge_job", **{**window, **params}).status_code == status


def test_default_limit_is_ten(client: Client, sim: SimulatedDLF) -> None:
    now = sim.now_ms()
    got = client.instances("quarter_hour_sync", min_plan_time=now - 5 * DAY, max_plan_time=now)
    assert len(ids(got)) == 10
    assert got.json()["total"] > 400


def test_offset_is_a_page_index_by_default(client: Client, sim: SimulatedDLF) -> None:
    now = sim.now_ms()
    window: dict[str, Any] = {"min_plan_time": now - 5 * DAY, "max_plan_time": now}
    everything = [i.instance_id for i in sim.dataset.expected("quarter_hour_sync", **_w(window))]
    page2 = ids(client.instances("quarter_hour_sync", limit=7, offset=2, **window))
    assert page2 == everything[14:21]


def test_offset_as_row_offset(dataset: Dataset) -> None:
    with SimulatedDLF(dataset, SimConfig(offset_mode="row", rate_limit_per_user=None)) as row_sim:
        now = row_sim.now_ms()
        window: dict[str, Any] = {"min_plan_time": now - 5 * DAY, "max_plan_time": now}
        everything = [i.instance_id for i in dataset.expected("quarter_hour_sync", **_w(window))]
        got = ids(Client(row_sim).instances("quarter_hour_sync", limit=7, offset=2, **window))
        assert got == everything[2:9]


def _w(window: Mapping[str, int]) -> dict[str, Any]:
    return {"min_time": window["min_plan_time"], "max_time": window["max_plan_time"]}


def test_unknown_job(client: Client) -> None:
    got = client.instances("no_such_job")
    assert got.status_code == 400
    assert got.json() == {"error_code": "DLF.0100", "error_msg": "The job does not exists."}


def test_non_ascii_job_name(client: Client, sim: SimulatedDLF) -> None:
    now = sim.now_ms()
    got = client.instances(NON_ASCII_JOB, min_plan_time=now - 20 * DAY, max_plan_time=now)
    rows = got.json()["instances"]
    assert len(rows) == 10
    assert {r["job_name"] for r in rows} == {NON_ASCII_JOB}


def test_real_time_sub_jobs(client: Client, sim: SimulatedDLF) -> None:
    now = sim.now_ms()
    window: dict[str, Any] = {"min_plan_time": now - 2 * DAY, "max_plan_time": now}
    sub = client.instances(f"{REAL_TIME_JOB}_kafka_ingest", **window).json()["instances"]
    assert sub
    assert {r["instance_type"] for r in sub} == {6}
    assert all("job_id" not in r and "version" not in r for r in sub)
    assert client.instances(REAL_TIME_JOB, **window).status_code == 400
    detail = client.get(f"/v2/{client.project_id}/factory/jobs/{REAL_TIME_JOB}").json()
    assert [n["name"] for n in detail["nodes"]] == ["kafka_ingest", "flink_agg"]


def test_status_and_flag_filters(client: Client, sim: SimulatedDLF) -> None:
    sim.dataset.add_job("flags_job")
    base = T0 + 5 * DAY
    sim.add_instance("flags_job", base + 1, status="success", force_success=True)
    sim.add_instance("flags_job", base + 2, status="success", ignore_success=True)
    sim.add_instance("flags_job", base + 3, status="fail")
    sim.add_instance("flags_job", base + 4, status="running", instance_type=5)
    window: dict[str, Any] = {"min_plan_time": base, "max_plan_time": base + DAY}
    got = client.instances("flags_job", status="success", **window).json()
    assert got["total"] == 2
    forced = client.instances("flags_job", status="success", force_success="true", **window)
    assert [r["plan_time"] for r in forced.json()["instances"]] == [base + 1]
    # The flags only narrow a "success" query.
    assert client.instances("flags_job", force_success="true", **window).json()["total"] == 4
    patch = client.instances("flags_job", instance_type=5, **window).json()["instances"]
    assert [(r["status"], "end_time" in r, "execute_time" in r) for r in patch] == [("running", False, False)]


def test_start_time_filter_mode(dataset: Dataset) -> None:
    dataset.add_job("late_job")
    early = dataset.add_instance("late_job", T0 - DAY, start_time=T0 + 60_000, instance_type=5)
    on_time = dataset.add_instance("late_job", T0 + 60_000)
    config = SimConfig(filter_field="start_time", rate_limit_per_user=None)
    with SimulatedDLF(dataset, config) as start_sim:
        got = Client(start_sim).instances("late_job", min_plan_time=T0, max_plan_time=T0 + DAY)
        assert ids(got) == [on_time.instance_id, early.instance_id]


def test_fractional_execute_time_and_optional_fields(client: Client, sim: SimulatedDLF) -> None:
    sim.dataset.add_job("exec_job")
    sim.add_instance("exec_job", T0 + 10, execute_time=0.3, version=None, job_id=None)
    row = client.instances("exec_job", min_plan_time=T0, max_plan_time=T0 + DAY).json()
    assert row["instances"][0]["execute_time"] == 0.3
    assert "version" not in row["instances"][0]
    assert "job_id" not in row["instances"][0]


# --- the jobs list ------------------------------------------------------------------------


def test_jobs_list_paging_and_filters(client: Client, sim: SimulatedDLF) -> None:
    path = f"/v2/{client.project_id}/factory/jobs"
    everything = client.get(path, {"limit": 100}).json()
    names = [job["name"] for job in everything["jobs"]]
    assert everything["total"] == len(names)
    assert REAL_TIME_JOB in names
    assert f"{REAL_TIME_JOB}_kafka_ingest" not in names
    assert "ws2_daily_export" not in names  # another workspace
    page1 = client.get(path, {"limit": 2, "offset": 1}).json()
    assert [job["name"] for job in page1["jobs"]] == names[2:4]
    assert client.get(path, {"limit": 101}).status_code == 400
    realtime = client.get(path, {"job_type": "REAL_TIME"}).json()
    assert [job["name"] for job in realtime["jobs"]] == [REAL_TIME_JOB]
    assert client.get(path, {"job_name": "daily"}).json()["total"] == 1
    other = client.get(path, headers={"workspace": SECOND_WORKSPACE_ID}).json()
    assert [job["name"] for job in other["jobs"]] == ["ws2_daily_export"]
    keys = {"name", "job_type", "status", "create_user", "create_time", "owner", "priority"}
    assert keys | {"path", "last_update_time"} <= everything["jobs"][0].keys()


def test_jobs_list_row_offset(dataset: Dataset) -> None:
    with SimulatedDLF(dataset, SimConfig(offset_mode="row", rate_limit_per_user=None)) as row_sim:
        client = Client(row_sim)
        path = f"/v2/{client.project_id}/factory/jobs"
        names = [job["name"] for job in client.get(path, {"limit": 100}).json()["jobs"]]
        got = client.get(path, {"limit": 2, "offset": 1}).json()["jobs"]
        assert [job["name"] for job in got] == names[1:3]


# --- gateway: routes, projects, workspaces ----------------------------------------------


def test_unknown_route_and_project(client: Client) -> None:
    missing = client.get(f"/v1/{client.project_id}/jobs")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "APIGW.0101"
    assert client.get(f"/v2/{'0' * 32}/factory/jobs").status_code == 403


def test_workspaces(client: Client, dataset: Dataset) -> None:
    other = client.instances("ws2_daily_export", headers={"workspace": SECOND_WORKSPACE_ID})
    assert other.status_code == 200
    assert client.instances("ws2_daily_export").status_code == 400  # not in the default one
    unknown = client.instances("edge_job", headers={"workspace": "f" * 32})
    assert unknown.status_code == 403
    with SimulatedDLF(dataset, SimConfig(require_workspace=True)) as strict:
        got = Client(strict).instances("edge_job")
        assert (got.status_code, got.json()["error_code"]) == (400, "APIGW.0106")


# --- authentication -----------------------------------------------------------------------


def test_aksk_bad_signature_and_unknown_key(client: Client, sim: SimulatedDLF) -> None:
    bad = client.get(f"/v2/{client.project_id}/factory/jobs", secret_key="wrong")
    assert bad.status_code == 401
    assert bad.json()["error_code"] == "APIGW.0301"
    assert "verify aksk signature fail" in bad.json()["error_msg"]
    stranger = Client(sim, access_key="UNKNOWNAK")
    assert stranger.get(f"/v2/{client.project_id}/factory/jobs").status_code == 401
    assert client.get(f"/v2/{client.project_id}/factory/jobs").status_code == 200


def test_aksk_query_must_be_sent_as_signed(client: Client, sim: SimulatedDLF) -> None:
    path = client.instances_path("edge_job")
    headers = {"Host": f"127.0.0.1:{sim.port}", "X-Sdk-Date": signing.sdk_date()}
    headers["Authorization"] = signing.sign(
        method="GET",
        path=path,
        raw_query="limit=5",
        headers=headers,
        body=None,
        access_key=DEMO_ACCESS_KEY,
        secret_key=DEMO_SECRET_KEY,
    )
    sent_other = requests.get(sim.url + path + "?limit=6", headers=headers, timeout=5)
    assert sent_other.status_code == 401


def test_aksk_clock_skew(client: Client) -> None:
    path = f"/v2/{client.project_id}/factory/jobs"
    now = datetime.now(UTC)
    assert client.get(path, date=now - timedelta(minutes=14)).status_code == 200
    skewed = client.get(path, date=now - timedelta(minutes=16))
    assert (skewed.status_code, skewed.json()["error_code"]) == (401, "APIGW.0303")


def test_aksk_lockout_after_five_failures(client: Client, sim: SimulatedDLF) -> None:
    path = f"/v2/{client.project_id}/factory/jobs"
    try:
        for _ in range(5):
            assert client.get(path, secret_key="wrong").status_code == 401
        locked = client.get(path)
        assert locked.status_code == 401
        assert "locked" in locked.json()["error_msg"]
    finally:
        sim.unlock(DEMO_ACCESS_KEY)
    assert client.get(path).status_code == 200


def test_temporary_credentials_need_a_signed_security_token(sim: SimulatedDLF) -> None:
    temp = Client(sim, access_key=DEMO_TEMP_ACCESS_KEY, secret_key=DEMO_TEMP_SECRET_KEY)
    path = f"/v2/{temp.project_id}/factory/jobs"
    assert temp.get(path, headers={"X-Security-Token": DEMO_SECURITY_TOKEN}).status_code == 200
    assert temp.get(path).status_code == 401
    assert temp.get(path, headers={"X-Security-Token": "forged"}).status_code == 401


def test_static_token(sim: SimulatedDLF) -> None:
    token = Client(sim, token=DEMO_TOKEN)
    assert token.get(f"/v2/{token.project_id}/factory/jobs").status_code == 200
    assert Client(sim, token="MIIbogus").get(f"/v2/{token.project_id}/factory/jobs").status_code == 401


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def iam_login(url: str, project_id: str, password: str = DEMO_IAM_PASSWORD) -> requests.Response:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": DEMO_IAM_USER,
                        "password": password,
                        "domain": {"name": DEMO_IAM_DOMAIN},
                    }
                },
            },
            "scope": {"project": {"id": project_id}},
        }
    }
    return requests.post(f"{url}/v3/auth/tokens", json=body, timeout=5)


def test_iam_login_and_token_expiry(dataset: Dataset) -> None:
    clock = FakeClock()
    config = SimConfig(token_ttl_seconds=2, rate_limit_per_user=None)
    with SimulatedDLF(dataset, config, clock=clock) as iam_sim:
        assert iam_login(iam_sim.url, dataset.project_id, "wrong").json() == {
            "error": {
                "code": 401,
                "message": "The username or password is wrong.",
                "title": "Unauthorized",
            }
        }
        login = iam_login(iam_sim.url, dataset.project_id)
        assert login.status_code == 201
        assert login.json()["token"]["expires_at"].endswith("Z")
        client = Client(iam_sim, token=login.headers["X-Subject-Token"])
        path = f"/v2/{dataset.project_id}/factory/jobs"
        assert client.get(path).status_code == 200
        clock.now += 2.5
        expired = client.get(path)
        assert (expired.status_code, expired.json()["error_code"]) == (401, "APIGW.0301")


def test_token_scoped_to_another_project_is_refused(dataset: Dataset) -> None:
    with SimulatedDLF(dataset) as iam_sim:
        iam_sim.auth.add_static_token("MIIother", DEMO_IAM_USER, project_id="1" * 32)
        client = Client(iam_sim, token="MIIother")
        assert client.get(f"/v2/{dataset.project_id}/factory/jobs").status_code == 403


# --- rate limiting and latency ------------------------------------------------------------


@pytest.mark.parametrize(("retry_after", "header"), [(None, None), (2, "2")])
def test_rate_limit_per_user(dataset: Dataset, retry_after: int | None, header: str | None) -> None:
    clock = FakeClock()
    config = SimConfig(rate_limit_per_user=3, retry_after=retry_after)
    with SimulatedDLF(dataset, config, clock=clock) as limited:
        aksk, token = Client(limited), Client(limited, token=DEMO_TOKEN)
        path = f"/v2/{dataset.project_id}/factory/jobs"
        # AK/SK and token belong to one user: they share the budget.
        got = [aksk.get(path).status_code, token.get(path).status_code, aksk.get(path).status_code]
        throttled = token.get(path)
        assert got == [200, 200, 200]
        assert throttled.status_code == 429
        assert throttled.json() == {
            "error_code": "APIGW.0308",
            "error_msg": "The throttling threshold has been reached: policy user over "
            "ratelimit,limit:3,time:1 second",
        }
        assert throttled.headers.get("Retry-After") == header
        clock.now += 1.01
        assert aksk.get(path).status_code == 200
        stats = limited.stats()
        assert stats["throttled"] == 1
        assert stats["peak_rate_per_user"][DEMO_IAM_USER] == 4
        assert stats["requests_per_status"] == {"200": 4, "429": 1}


def test_latency_does_not_serialize_requests(dataset: Dataset) -> None:
    config = SimConfig(latency_ms=300, rate_limit_per_user=None)
    with SimulatedDLF(dataset, config) as slow:
        path = f"/v2/{dataset.project_id}/factory/jobs"
        codes: list[int] = []
        threads = [
            threading.Thread(target=lambda: codes.append(Client(slow).get(path).status_code))
            for _ in range(6)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert codes == [200] * 6
        assert 0.3 <= elapsed < 1.2


# --- faults -------------------------------------------------------------------------------


def test_fault_status_times_and_path(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "status", "status": 503, "times": 2, "path_contains": "edge_job"}])
    window: dict[str, Any] = {"min_plan_time": T0, "max_plan_time": T0 + DAY}
    assert client.get(f"/v2/{client.project_id}/factory/jobs").status_code == 200
    codes = [client.instances("edge_job", **window).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_fault_every_nth_forever(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "status", "status": 500, "every": 3, "times": None}])
    path = f"/v2/{client.project_id}/factory/jobs"
    assert [client.get(path).status_code for _ in range(6)] == [200, 200, 500, 200, 200, 500]


def test_fault_throttle(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "throttle", "retry_after": 1}])
    got = client.get(f"/v2/{client.project_id}/factory/jobs")
    assert (got.status_code, got.headers["Retry-After"]) == (429, "1")
    assert got.json()["error_code"] == "APIGW.0308"


@pytest.mark.parametrize("status", [200, 502])
def test_fault_html(client: Client, sim: SimulatedDLF, status: int) -> None:
    sim.set_faults([{"kind": "html", "status": status}])
    got = client.get(f"/v2/{client.project_id}/factory/jobs")
    assert got.status_code == status
    assert got.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        got.json()


def test_fault_truncated(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "truncated"}])
    got = client.get(f"/v2/{client.project_id}/factory/jobs")
    assert got.status_code == 200
    assert int(got.headers["Content-Length"]) == len(got.content)
    with pytest.raises(requests.JSONDecodeError):
        got.json()
    assert client.get(f"/v2/{client.project_id}/factory/jobs").json()["total"] > 0


def test_fault_drop(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "drop"}])
    with pytest.raises(requests.ConnectionError):
        client.get(f"/v2/{client.project_id}/factory/jobs")
    assert client.get(f"/v2/{client.project_id}/factory/jobs").status_code == 200


def test_fault_slow(client: Client, sim: SimulatedDLF) -> None:
    sim.set_faults([{"kind": "slow", "seconds": 0.4}])
    started = time.monotonic()
    assert client.get(f"/v2/{client.project_id}/factory/jobs").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_fault_rules_are_validated(sim: SimulatedDLF) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sim.set_faults([{"kind": "explode"}])
    got = requests.post(f"{sim.url}/_sim/faults", json=[{"kind": "status", "oops": 1}], timeout=5)
    assert got.status_code == 400


def test_faults_never_touch_iam(sim: SimulatedDLF, dataset: Dataset) -> None:
    sim.set_faults([{"kind": "status", "times": None}])
    try:
        assert iam_login(sim.url, dataset.project_id).status_code == 201
    finally:
        sim.set_faults([])


# --- admin routes and time passing --------------------------------------------------------


def test_admin_routes(sim: SimulatedDLF, client: Client) -> None:
    sim.dataset.add_job("admin_job")
    added = requests.post(
        f"{sim.url}/_sim/instances",
        json={"instances": [{"job_name": "admin_job", "plan_time": T0 + 100, "status": "running"}]},
        timeout=5,
    ).json()["instances"][0]
    assert "end_time" not in added
    changed = requests.post(
        f"{sim.url}/_sim/instances",
        json=[{"instance_id": added["instance_id"], "status": "success", "end_time": T0 + 200}],
        timeout=5,
    ).json()["instances"][0]
    assert (changed["status"], changed["end_time"]) == ("success", T0 + 200)
    rows = client.instances("admin_job", min_plan_time=T0, max_plan_time=T0 + DAY).json()
    assert rows["instances"][0]["status"] == "success"
    requests.post(f"{sim.url}/_sim/faults", json={"faults": [{"kind": "drop"}]}, timeout=5)
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json()["faults"][0]["kind"] == "drop"
    sim.set_faults([])
    stats = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    assert stats["requests_per_route"]["instances"] > 0
    assert {"requests_total", "requests_per_user", "peak_rate_per_user", "now_ms"} <= stats.keys()
    config = requests.get(f"{sim.url}/_sim/tap-config?auth=iam", timeout=5).json()
    assert config["iam_url"] == config["api_url"] == sim.url


def test_advance_reports_exactly_what_changed(dataset: Dataset) -> None:
    with SimulatedDLF(dataset, SimConfig(rate_limit_per_user=None)) as adv_sim:
        client = Client(adv_sim)
        now = adv_sim.now_ms()
        live = {
            inst.instance_id
            for name in dataset.job_names()
            for inst in dataset.instances(name)
            if inst.status in ("running", "waiting", "running-exception")
        }
        result = requests.post(f"{adv_sim.url}/_sim/advance", json={}, timeout=5).json()
        assert live <= set(result["updated_ids"])
        assert result["added_ids"]
        for change in result["jobs"]:
            for iid in change["updated"]:
                inst = dataset.get_instance(iid)
                assert inst is not None
                assert inst.status in ("success", "fail", "manual-stop")
                assert inst.end_time is not None
            for iid in change["added"]:
                inst = dataset.get_instance(iid)
                assert inst is not None
                assert inst.job_name == change["job_name"]
                assert now - DAY < inst.plan_time < now + 1000
        added = set(result["added_ids"])
        assert added == {i for job_ids in result["added"].values() for i in job_ids}
        assert set(result["updated_ids"]) == {i for v in result["updated"].values() for i in v}
        # the client reads the default workspace; the dataset has a second one too
        added_here = {
            iid
            for change in result["jobs"]
            if change["workspace"] == dataset.default_workspace
            for iid in change["added"]
        }
        seen: set[int] = set()
        for name in dataset.job_names():
            got = client.instances(name, limit=1000, min_plan_time=now - DAY - 1, max_plan_time=now + 5000)
            seen |= set(ids(got))
        assert added_here
        assert added_here <= seen


def test_demo_dataset_is_deterministic_and_realistic() -> None:
    now = datetime(2024, 11, 6, 9, 30, tzinfo=UTC)
    first, second = demo_dataset(now, months=1, seed=3), demo_dataset(now, months=1, seed=3)
    assert first.instances("hourly_orders_etl") == second.instances("hourly_orders_etl")
    rows = [inst for name in first.job_names() for inst in first.instances(name)]
    assert 1000 < len(rows) < 20000
    assert len({inst.instance_id for inst in rows}) == len(rows)
    assert {inst.instance_type for inst in rows} >= {0, 2, 5, 6}
    assert {"success", "fail", "running", "waiting", "skip-by-depend"} <= {i.status for i in rows}
    assert any(inst.force_success for inst in rows)
    daily = first.instances("daily_sales_report")
    assert all(inst.plan_time % DAY == 0 for inst in daily)


def test_bulk_dataset() -> None:
    started = time.monotonic()
    data = bulk_dataset(20, 5000, interval_seconds=60)
    assert time.monotonic() - started < 2
    assert data.instance_count() == 100_000
    with SimulatedDLF(data, SimConfig(rate_limit_per_user=None)) as bulk:
        client = Client(bulk)
        now = bulk.now_ms()
        got = client.instances("bulk_job_0003", limit=1000, min_plan_time=now - DAY, max_plan_time=now)
        assert got.json()["total"] == len(data.expected("bulk_job_0003", now - DAY, now))
        assert len(ids(got)) == 1000
        assert got.json()["instances"][0]["status"] == "running"
